//! Approving or rejecting a release with a passkey.
//!
//! `POST /releases/{id}/decision/options` (signed in, CSRF token) makes the
//! challenge: `decision_challenge` of the gate's origin, the release, its
//! package and version, the digest of the release manifest computed from the
//! staged files, the decision and a fresh nonce. `POST .../finish` takes the
//! assertion, checks it with webauthn-rs against that challenge and the
//! maintainer's standing credentials, and records the decision through the
//! same path as a TOTP decision ([`crate::approvals::decide_checked`]), with
//! the whole assertion in the leaf (see `shipgate_protocol::passkey`).
//!
//! Refused: a ceremony of another release, maintainer or purpose; an
//! expired or already answered one (each nonce is spent once, in the
//! database); a credential that is revoked or not the maintainer's; an
//! assertion that does not verify (counted like a wrong TOTP code, with the
//! same lockout); a counter that does not grow; a revoked or locked
//! maintainer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shipgate_protocol::passkey::{Decision, DecisionCommitment, decision_challenge};

use super::WebError;
use super::guard::{self, random_token};
use super::passkey::b64url;
use super::release::release_id;
use super::signin::{CEREMONY_SECONDS, FinishBody, parse_json};
use crate::api::AppState;
use crate::approvals::{CheckedDecision, DecisionError, Outcome, Refusal, Verdict, decide_checked};
use crate::lockout;
use crate::storage::{Ceremony, ReleaseDetail, ReleaseState, WriteTx};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsBody {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

/// The digest of the manifest the gate will sign for `release` (the same
/// bytes `GateKey::sign_release` signs).
pub fn manifest_digest(release: &ReleaseDetail) -> Result<String, WebError> {
    let manifest = shipgate_protocol::manifest::release_manifest(
        &release.summary.package,
        &release.summary.version,
        &release.files,
    )
    .map_err(WebError::internal)?;
    Ok(manifest.sha256().to_hex())
}

fn parse_decision(word: &str) -> Option<Decision> {
    match word {
        "approve" => Some(Decision::Approve),
        "reject" => Some(Decision::Reject),
        _ => None,
    }
}

fn refused(reason: Refusal, context: &str) -> WebError {
    WebError::refused(format!("{context}: {reason}")).json()
}

/// `POST /releases/{id}/decision/options`.
pub async fn options(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let id = release_id(path).map_err(WebError::json)?;
    let rp = guard::relying_party(&state).map_err(WebError::json)?;
    let (_, session) = guard::signed_in_post(&state, &headers, &rp).await?;
    let OptionsBody { decision, reason } = parse_json(&body, "decision request")?;
    let decision = parse_decision(&decision)
        .ok_or_else(|| WebError::bad_request("`decision` must be approve or reject").json())?;
    let reason = match (decision, reason) {
        (Decision::Approve, None) => None,
        (Decision::Approve, Some(_)) => {
            return Err(WebError::bad_request("`reason` is only accepted when rejecting").json());
        }
        (Decision::Reject, reason) => {
            let reason = reason.unwrap_or_default();
            shipgate_protocol::names::reject_reason(&reason).map_err(|_| {
                WebError::bad_request(
                    "a rejection needs a reason: 1 to 2000 bytes, no control or invisible formatting characters",
                )
                .json()
            })?;
            Some(reason)
        }
    };
    let maintainer = &session.maintainer;
    let context = format!("decision options of {maintainer} for release {id}");
    let release = state
        .db()
        .release(id)
        .await?
        .ok_or_else(|| WebError::not_found(format!("no release with id {id}")).json())?;
    if release.summary.state != ReleaseState::Staged {
        return Err(WebError::conflict(format!(
            "release {id} is already {}",
            release.summary.state.as_str()
        ))
        .json());
    }
    let package = &release.summary.package;
    let listed = state
        .config()
        .package(package)
        .is_some_and(|p| p.maintainers.contains(maintainer));
    let enrolled = state
        .db()
        .maintainer(maintainer)
        .await?
        .is_some_and(|m| m.packages.contains(package));
    if !(listed && enrolled) {
        return Err(refused(Refusal::NotMaintainerOfPackage, &context));
    }
    let credentials = state.db().active_passkeys(maintainer).await?;
    if credentials.is_empty() {
        return Err(refused(Refusal::UnknownCredential, &context));
    }
    let manifest_sha256 = manifest_digest(&release)?;
    let nonce = random_token()?;
    let commitment = DecisionCommitment {
        origin: rp.origin(),
        release_id: id,
        package,
        version: &release.summary.version,
        manifest_sha256: &manifest_sha256,
        decision,
        nonce: &nonce,
    };
    let challenge = decision_challenge(&commitment).map_err(|e| WebError::internal(e).json())?;
    let options = rp
        .request_options(&credentials, &challenge)
        .map_err(|e| WebError::internal(e).json())?;
    let now = crate::unix_now();
    let ceremony = Ceremony {
        id: random_token()?,
        purpose: "decision".into(),
        maintainer: maintainer.clone(),
        state: b64url(&challenge),
        release_id: Some(id),
        decision: Some(decision.as_str().into()),
        reason,
        manifest_sha256: Some(manifest_sha256.clone()),
        nonce: Some(nonce.clone()),
        origin: Some(rp.origin().to_owned()),
        expires_at: now + CEREMONY_SECONDS,
    };
    let mut tx = state.db().begin_write().await?;
    tx.start_ceremony(&ceremony, now).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "ceremony": ceremony.id,
        "options": options,
        "commitment": commitment.text().map_err(|e| WebError::internal(e).json())?,
    })))
}

/// Commits what a refusal spent (the ceremony, the nonce, a counted
/// failure), then refuses.
async fn refuse(tx: WriteTx, reason: Refusal, context: &str) -> WebError {
    if let Err(err) = tx.commit().await {
        return WebError::internal(err).json();
    }
    refused(reason, context)
}

/// `POST /releases/{id}/decision/finish`.
pub async fn finish(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let id = release_id(path).map_err(WebError::json)?;
    let rp = guard::relying_party(&state).map_err(WebError::json)?;
    let (_, session) = guard::signed_in_post(&state, &headers, &rp).await?;
    let FinishBody {
        ceremony,
        credential,
    } = parse_json(&body, "decision answer")?;
    let maintainer = session.maintainer.as_str();
    let context = format!("passkey decision of {maintainer} on release {id}");
    let now = crate::unix_now();
    let mut tx = state.db().begin_write().await?;
    let Some(ceremony) = tx.take_ceremony(&ceremony, now).await? else {
        return Err(refuse(tx, Refusal::StaleChallenge, &context).await);
    };
    let matches = ceremony.purpose == "decision"
        && ceremony.maintainer == maintainer
        && ceremony.release_id == Some(id)
        && ceremony.origin.as_deref() == Some(rp.origin());
    let (Some(nonce), Some(manifest_sha256), Some(decision)) = (
        ceremony.nonce.clone(),
        ceremony.manifest_sha256.clone(),
        ceremony.decision.as_deref().and_then(parse_decision),
    ) else {
        return Err(refuse(tx, Refusal::StaleChallenge, &context).await);
    };
    if !matches {
        return Err(refuse(tx, Refusal::StaleChallenge, &context).await);
    }
    if !tx.spend_nonce(&nonce, now).await? {
        return Err(refuse(tx, Refusal::StaleChallenge, &context).await);
    }
    let Some(record) = tx.maintainer(maintainer).await? else {
        return Err(refuse(tx, Refusal::UnknownMaintainer, &context).await);
    };
    if record.revoked_at.is_some() {
        return Err(refuse(tx, Refusal::Revoked, &context).await);
    }
    match record.lock_reason {
        Some(lockout::LockReason::Failures) => {
            return Err(refuse(tx, Refusal::Locked, &context).await);
        }
        Some(lockout::LockReason::Budget) => {
            return Err(refuse(tx, Refusal::LockedUntilReenrolled, &context).await);
        }
        None => {}
    }
    // The challenge is rebuilt from what the release is now: had its files
    // changed since the options were made, the digest would differ and the
    // assertion would not verify.
    let Some(release) = tx.release(id).await? else {
        return Err(WebError::not_found(format!("no release with id {id}")).json());
    };
    let current_digest = manifest_digest(&release)?;
    let commitment = DecisionCommitment {
        origin: rp.origin(),
        release_id: id,
        package: &release.summary.package,
        version: &release.summary.version,
        manifest_sha256: &current_digest,
        decision,
        nonce: &nonce,
    };
    let challenge = decision_challenge(&commitment).map_err(|e| WebError::internal(e).json())?;
    if current_digest != manifest_sha256 || b64url(&challenge) != ceremony.state {
        return Err(refuse(tx, Refusal::StaleChallenge, &context).await);
    }
    let credentials = tx.active_passkeys(maintainer).await?;
    let presented = b64url(&credential.raw_id);
    if !credentials.iter().any(|c| c.credential_id == presented) {
        return Err(refuse(tx, Refusal::UnknownCredential, &context).await);
    }
    let verified = match rp.verify(&credentials, &challenge, &credential) {
        Ok(verified) => verified,
        Err(err) => {
            tracing::warn!(maintainer, release = id, error = %err, "passkey assertion refused");
            let (recent_since, year_since) = lockout::window_starts(now);
            let counts = tx
                .record_totp_failure(maintainer, now, recent_since, year_since)
                .await?;
            if let Some(reason) = lockout::lock_for(counts) {
                tx.lock(maintainer, reason, counts, now).await?;
                tracing::warn!(
                    maintainer,
                    reason = reason.as_str(),
                    "maintainer locked after refused passkey assertions"
                );
            }
            return Err(refuse(tx, Refusal::BadAssertion, &context).await);
        }
    };
    tx.passkey_used(
        &verified.credential_id,
        &verified.passkey,
        i64::from(verified.counter),
    )
    .await?;
    let response = &credential.response;
    let mut evidence = Map::new();
    evidence.insert("approval".into(), Value::from("passkey"));
    evidence.insert(
        "passkey".into(),
        json!({
            "authenticator_data": b64url(&response.authenticator_data),
            "client_data_json": b64url(&response.client_data_json),
            "credential_id": verified.credential_id,
            "manifest_sha256": manifest_sha256,
            "nonce": nonce,
            "origin": rp.origin(),
            "rp_id": rp.rp_id(),
            "signature": b64url(&response.signature),
        }),
    );
    let verdict = match decision {
        Decision::Approve => Verdict::Approve,
        Decision::Reject => Verdict::Reject {
            reason: ceremony.reason.clone().unwrap_or_default(),
        },
    };
    let key = state.key();
    let sign = |release: &crate::storage::ReleaseDetail| key.sign_release(release);
    let checked = CheckedDecision {
        release: id,
        maintainer,
        enrolled_for: &record.packages,
        verdict: &verdict,
        evidence: &evidence,
        now,
    };
    let outcome = decide_checked(tx, state.config(), &sign, &checked)
        .await
        .map_err(|err| match err {
            DecisionError::Refused(reason) => refused(reason, &context),
            DecisionError::NotFound(_) => WebError::not_found(err.to_string()).json(),
            DecisionError::NotStaged { .. }
            | DecisionError::AlreadyApproved(_)
            | DecisionError::UnknownPackage(_) => WebError::conflict(err.to_string()).json(),
            other => WebError::internal(other).json(),
        })?;
    let (state_after, manifest) = match outcome {
        Outcome::Approved { .. } => (ReleaseState::Staged, None),
        Outcome::Released {
            manifest_sha256, ..
        } => {
            state.publishing().wake();
            (ReleaseState::Released, Some(manifest_sha256))
        }
        Outcome::Rejected => (ReleaseState::Rejected, None),
    };
    let detail = state.db().release(id).await?;
    let approvals = detail.as_ref().map_or(0, |d| d.approvals.len());
    let quorum = detail
        .and_then(|d| state.config().package(&d.summary.package).map(|p| p.quorum))
        .unwrap_or(0);
    tracing::info!(
        release = id,
        maintainer,
        state = state_after.as_str(),
        "passkey decision recorded"
    );
    Ok(Json(json!({
        "id": id,
        "state": state_after,
        "approvals": approvals,
        "quorum": quorum,
        "manifest_sha256": manifest,
    })))
}
