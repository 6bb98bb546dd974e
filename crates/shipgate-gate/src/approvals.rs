//! Approving and rejecting a staged release: the two-factor check, the
//! failure lockout, the quorum and the release itself.
//!
//! Everything a decision changes happens in ONE database transaction: the
//! TOTP step burned (or the failure counted and maybe the lock), the approval
//! and its event, and — when the quorum is met — the signed manifest, the
//! state `released` and its event. Refusals that change state (a failed code)
//! commit that change and nothing else.

use std::fmt;

use serde_json::{Map, Value};

use crate::config::{ApprovalMode, GateConfig, PackageConfig};
use crate::credentials;
use crate::lockout::{self, LockReason};
use crate::secrets::SecretsKey;
use crate::storage::{Db, ReleaseDetail, ReleaseState, SignedManifest, StorageError, WriteTx};

/// Approve, or reject with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Count towards the quorum.
    Approve,
    /// Refuse the release for good (the version may be staged again).
    Reject {
        /// Shown in `release show` and the event log.
        reason: String,
    },
}

/// What a successful decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Approval recorded; the quorum is not met yet.
    Approved {
        /// Distinct approvals so far.
        approvals: u32,
        /// Approvals needed.
        quorum: u32,
    },
    /// Approval recorded, quorum met: signed and released.
    Released {
        /// Distinct approvals.
        approvals: u32,
        /// SHA-256 (hex) of the signed manifest.
        manifest_sha256: String,
    },
    /// Rejected.
    Rejected,
}

/// Why credentials were refused. Never shown to the caller (who only learns
/// "refused"); logged by the server for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not shaped like a maintainer token (a CI JWT lands here).
    MalformedToken,
    /// The token names no enrolled maintainer.
    UnknownMaintainer,
    /// The token does not match the stored hash.
    WrongToken,
    /// The maintainer was revoked.
    Revoked,
    /// The maintainer is locked after too many failed codes within 15
    /// minutes (an admin may unlock).
    Locked,
    /// The maintainer used up the yearly budget of failed codes (only
    /// re-enrolment unlocks).
    LockedUntilReenrolled,
    /// The TOTP code is wrong for the current time.
    BadCode,
    /// The TOTP code's step was already used.
    ReusedCode,
    /// Valid credentials, but not a maintainer of the release's package.
    NotMaintainerOfPackage,
    /// A TOTP decision for a package whose gate.toml says
    /// `approval = "passkey"`.
    PasskeyRequired,
    /// The passkey assertion did not verify (wrong signature, challenge,
    /// origin, or a counter that did not grow).
    BadAssertion,
    /// The passkey assertion answered a challenge that was already used,
    /// expired, or made for another release, maintainer or decision.
    StaleChallenge,
    /// The credential is not (or no longer) registered to this maintainer.
    UnknownCredential,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MalformedToken => "not a maintainer token",
            Self::UnknownMaintainer => "no such maintainer",
            Self::WrongToken => "maintainer token does not match",
            Self::Revoked => "maintainer is revoked",
            Self::Locked => "maintainer is locked (too many wrong TOTP codes within 15 minutes)",
            Self::LockedUntilReenrolled => {
                "maintainer is locked until re-enrolled (the yearly budget of wrong TOTP codes is used up)"
            }
            Self::BadCode => "wrong TOTP code",
            Self::ReusedCode => "TOTP code already used",
            Self::NotMaintainerOfPackage => "not a maintainer of this package",
            Self::PasskeyRequired => "the package requires a passkey decision (TOTP refused)",
            Self::BadAssertion => "the passkey assertion does not verify",
            Self::StaleChallenge => {
                "the passkey assertion answers a used, expired or different challenge"
            }
            Self::UnknownCredential => "the passkey is not registered to this maintainer (or revoked)",
        })
    }
}

/// Why a decision did not go through.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The credentials were refused (the reason is for the log only).
    #[error("credentials refused ({0})")]
    Refused(Refusal),
    /// No release with this id.
    #[error("no release with id {0}")]
    NotFound(i64),
    /// The release is no longer staged.
    #[error("release {id} is already {state}")]
    NotStaged {
        /// Release id.
        id: i64,
        /// Its state.
        state: &'static str,
    },
    /// This maintainer already approved this release.
    #[error("you already approved release {0}")]
    AlreadyApproved(i64),
    /// The release's package is no longer in the gate's config.
    #[error("package {0} is not configured on this gate")]
    UnknownPackage(String),
    /// Signing the release manifest failed.
    #[error("signing the release manifest failed: {0}")]
    Signing(String),
    /// A stored credential could not be used.
    #[error(transparent)]
    Credential(#[from] credentials::CredentialError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Signs a release manifest for a release whose quorum was just met.
pub type SignFn<'a> =
    &'a (dyn Fn(&ReleaseDetail) -> Result<(SignedManifest, String), String> + Sync);

/// A maintainer's request about one release.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// The release id.
    pub release: i64,
    /// The maintainer token presented.
    pub maintainer_token: &'a str,
    /// The TOTP code presented.
    pub code: &'a str,
    /// Approve or reject.
    pub verdict: Verdict,
    /// The time to check the code against (Unix seconds).
    pub now: i64,
}

/// Runs a maintainer's decision.
pub async fn decide(
    db: &Db,
    config: &GateConfig,
    secrets: &SecretsKey,
    sign: SignFn<'_>,
    decision: &Decision<'_>,
) -> Result<Outcome, DecisionError> {
    let Decision {
        release: id,
        maintainer_token,
        code,
        ref verdict,
        now,
    } = *decision;
    let owner = credentials::token_owner(maintainer_token)
        .ok_or(DecisionError::Refused(Refusal::MalformedToken))?;
    let mut tx = db.begin_write().await?;
    let maintainer = tx
        .maintainer(owner)
        .await?
        .ok_or(DecisionError::Refused(Refusal::UnknownMaintainer))?;
    if !credentials::token_matches(maintainer_token, &maintainer.token_hash) {
        return Err(DecisionError::Refused(Refusal::WrongToken));
    }
    if maintainer.revoked_at.is_some() {
        return Err(DecisionError::Refused(Refusal::Revoked));
    }
    // A wrong token returned above, before anything was counted: no one can
    // lock a maintainer out by sending requests in their name.
    match maintainer.lock_reason {
        Some(LockReason::Failures) => return Err(DecisionError::Refused(Refusal::Locked)),
        Some(LockReason::Budget) => {
            return Err(DecisionError::Refused(Refusal::LockedUntilReenrolled));
        }
        None => {}
    }

    let now_u = u64::try_from(now).unwrap_or(0);
    let totp_secret = secrets
        .open(owner, &maintainer.totp_secret)
        .map_err(|e| DecisionError::Storage(StorageError::Secrets(e)))?;
    let step = credentials::totp_step(&totp_secret, code, now_u)?;
    let refusal = match step {
        None => Some(Refusal::BadCode),
        Some(step) if step <= maintainer.last_totp_step => Some(Refusal::ReusedCode),
        Some(_) => None,
    };
    if let Some(refusal) = refusal {
        let (recent_since, year_since) = lockout::window_starts(now);
        let counts = tx
            .record_totp_failure(owner, now, recent_since, year_since)
            .await?;
        if let Some(reason) = lockout::lock_for(counts) {
            tx.lock(owner, reason, counts, now).await?;
            tracing::warn!(
                maintainer = owner,
                reason = reason.as_str(),
                failures_15_minutes = counts.recent,
                failures_365_days = counts.year,
                "maintainer locked after wrong TOTP codes"
            );
        }
        tx.commit().await?;
        return Err(DecisionError::Refused(refusal));
    }
    let step = step.unwrap_or_default();
    if !tx.accept_totp_step(owner, step).await? {
        // Spent meanwhile (the write lock makes this unreachable; the
        // conditional update is the database's own guard).
        return Err(DecisionError::Refused(Refusal::ReusedCode));
    }

    // From here on the code is spent whatever happens next: a decision that
    // fails (refused, or its signing or storage failed) is undone back to
    // this mark and the burned step still commits.
    let mut evidence = Map::new();
    evidence.insert("approval".into(), Value::from("totp"));
    let checked = CheckedDecision {
        release: id,
        maintainer: owner,
        enrolled_for: &maintainer.packages,
        verdict,
        evidence: &evidence,
        now,
    };
    decide_checked(tx, config, sign, &checked).await
}

/// A decision whose second factor was already checked in `tx` (a TOTP step
/// accepted, or a passkey assertion verified and its nonce spent).
#[derive(Debug)]
pub struct CheckedDecision<'a> {
    /// The release id.
    pub release: i64,
    /// The maintainer deciding.
    pub maintainer: &'a str,
    /// The packages they are enrolled for.
    pub enrolled_for: &'a [String],
    /// Approve or reject.
    pub verdict: &'a Verdict,
    /// What goes into the decision's log leaf besides `maintainer`:
    /// `approval` (`totp` or `passkey`) and, for a passkey, the assertion.
    pub evidence: &'a Map<String, Value>,
    /// Unix seconds.
    pub now: i64,
}

/// Applies a checked decision. What `tx` did before (the spent TOTP step
/// or passkey nonce) commits whatever happens: a decision that fails
/// (refused, or its signing or storage failed) is undone back to a mark
/// set here, and the spent factor still commits.
pub async fn decide_checked(
    mut tx: WriteTx,
    config: &GateConfig,
    sign: SignFn<'_>,
    decision: &CheckedDecision<'_>,
) -> Result<Outcome, DecisionError> {
    tx.mark().await?;
    let result = apply(&mut tx, config, sign, decision).await;
    match result {
        Ok(outcome) => {
            tx.commit().await?;
            Ok(outcome)
        }
        Err(err) => {
            if let Err(burn) = burn_step_only(tx).await {
                tracing::error!(
                    maintainer = decision.maintainer,
                    error = %burn,
                    "could not keep the second factor spent after a failed decision"
                );
            }
            Err(err)
        }
    }
}

/// Undoes a failed decision but commits the spent second factor before it.
async fn burn_step_only(mut tx: WriteTx) -> Result<(), StorageError> {
    tx.rollback_to_mark().await?;
    tx.commit().await
}

async fn apply(
    tx: &mut WriteTx,
    config: &GateConfig,
    sign: SignFn<'_>,
    decision: &CheckedDecision<'_>,
) -> Result<Outcome, DecisionError> {
    let CheckedDecision {
        release: id,
        maintainer,
        enrolled_for,
        verdict,
        evidence,
        now,
    } = *decision;
    let release = tx.release(id).await?.ok_or(DecisionError::NotFound(id))?;
    let package = &release.summary.package;
    let package_config = config
        .package(package)
        .ok_or_else(|| DecisionError::UnknownPackage(package.clone()))?;
    let listed = package_config.maintainers.iter().any(|m| m == maintainer);
    let enrolled = enrolled_for.iter().any(|p| p == package);
    if !(listed && enrolled) {
        return Err(DecisionError::Refused(Refusal::NotMaintainerOfPackage));
    }
    let by_passkey = evidence.get("approval").and_then(Value::as_str) == Some("passkey");
    if package_config.approval == ApprovalMode::Passkey && !by_passkey {
        return Err(DecisionError::Refused(Refusal::PasskeyRequired));
    }
    if release.summary.state != ReleaseState::Staged {
        return Err(DecisionError::NotStaged {
            id,
            state: release.summary.state.as_str(),
        });
    }
    match verdict {
        Verdict::Reject { reason } => {
            tx.mark_rejected_with(id, maintainer, reason, evidence, now)
                .await?;
            Ok(Outcome::Rejected)
        }
        Verdict::Approve => {
            match tx.add_approval_with(id, maintainer, evidence, now).await {
                Ok(_) => {}
                Err(StorageError::AlreadyApproved { .. }) => {
                    return Err(DecisionError::AlreadyApproved(id));
                }
                Err(err) => return Err(err.into()),
            }
            let approvals = current_approvals(tx, package_config, id, now).await?;
            if approvals < package_config.quorum {
                return Ok(Outcome::Approved {
                    approvals,
                    quorum: package_config.quorum,
                });
            }
            let (signed, manifest_sha256) = sign(&release).map_err(DecisionError::Signing)?;
            tx.mark_released(id, &signed, &manifest_sha256, now).await?;
            // The outbox: publishing jobs commit with `released` or not at all.
            tx.enqueue_publish_jobs(id, &package_config.targets, now)
                .await?;
            Ok(Outcome::Released {
                approvals,
                manifest_sha256,
            })
        }
    }
}

/// Counts the approvals of `release` that still stand: each from a
/// maintainer who, at this moment, is listed for the package in gate.toml,
/// enrolled for it and not revoked. An approval that no longer stands (the
/// maintainer was taken off the package since) is withdrawn and logged, so
/// it neither counts now nor appears among the release's approvers.
async fn current_approvals(
    tx: &mut WriteTx,
    package: &PackageConfig,
    release: i64,
    now: i64,
) -> Result<u32, DecisionError> {
    let mut standing = 0u32;
    for approver in tx.approvers(release).await? {
        let listed = package.maintainers.contains(&approver);
        let record = tx.maintainer(&approver).await?;
        let enrolled = record
            .as_ref()
            .is_some_and(|r| r.revoked_at.is_none() && r.packages.contains(&package.name));
        if listed && enrolled {
            standing = standing.saturating_add(1);
        } else {
            let reason = if listed {
                "no longer enrolled for the package"
            } else {
                "no longer listed for the package in gate.toml"
            };
            tx.withdraw_approval(release, &approver, reason, now)
                .await?;
        }
    }
    Ok(standing)
}
