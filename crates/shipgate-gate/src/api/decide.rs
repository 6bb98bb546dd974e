//! `POST /v1/releases/{id}/approve` and `/reject`: maintainer token (Bearer)
//! plus a TOTP code in the body. A CI token is never accepted here.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::openapi::{ApproveBody, RejectBody};
use super::read::release_id;
use super::{ApiError, AppState, bearer, looks_like_jwt};
use crate::approvals::{Decision, DecisionError, Outcome, Verdict, decide};
use crate::storage::ReleaseState;
use shipgate_protocol::names::{self, RejectReasonError};
use shipgate_protocol::openapi::ReleaseIdText;
use shipgate_protocol::wire::{DecisionRequest, DecisionResponse, ErrorBody};

/// Approve a staged release (maintainer token and TOTP code); releases it once the quorum is met.
#[utoipa::path(post, path = "/v1/releases/{id}/approve",
    params(("id" = ReleaseIdText, Path, description = "Release id."),),
    request_body(content = ApproveBody, content_type = "application/json"),
    security(("maintainer" = [])),
    responses(
        (status = 200, description = "Decision recorded.", body = DecisionResponse),
        (status = 400, description = "Malformed id or body (a `reason` is refused), or a code that is not 8 digits (not counted as a wrong code).", body = ErrorBody),
        (status = 401, description = "Credentials refused: missing, unknown or locked-out maintainer token, a CI token, a wrong or replayed code, or a maintainer not allowed for the package (the reason is only logged).", body = ErrorBody),
        (status = 404, description = "No such release.", body = ErrorBody),
        (status = 409, description = "The release is not staged, this maintainer already approved it, or its package is no longer configured.", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn approve(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DecisionResponse>, ApiError> {
    let id = release_id(path)?;
    let request = parse(body)?;
    if request.reason.is_some() {
        return Err(ApiError::bad_request(
            "`reason` is only accepted when rejecting",
        ));
    }
    run(&state, id, &headers, request.code, Verdict::Approve).await
}

/// Reject a staged release with a reason.
#[utoipa::path(post, path = "/v1/releases/{id}/reject",
    params(("id" = ReleaseIdText, Path, description = "Release id."),),
    request_body(content = RejectBody, content_type = "application/json"),
    security(("maintainer" = [])),
    responses(
        (status = 200, description = "Decision recorded.", body = DecisionResponse),
        (status = 400, description = "Malformed id or body (a missing, blank or too long `reason`, or one with control or invisible formatting characters), or a code that is not 8 digits (not counted as a wrong code).", body = ErrorBody),
        (status = 401, description = "Credentials refused: missing, unknown or locked-out maintainer token, a CI token, a wrong or replayed code, or a maintainer not allowed for the package (the reason is only logged).", body = ErrorBody),
        (status = 404, description = "No such release.", body = ErrorBody),
        (status = 409, description = "The release is not staged, this maintainer already approved it, or its package is no longer configured.", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn reject(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DecisionResponse>, ApiError> {
    let id = release_id(path)?;
    let request = parse(body)?;
    let reason = request.reason.unwrap_or_default();
    let reason = names::reject_reason(&reason).map_err(|err| {
        ApiError::bad_request(match err {
            RejectReasonError::Empty => "a rejection needs a non-empty `reason`".to_owned(),
            RejectReasonError::TooLong => "`reason` must be at most 2000 bytes".to_owned(),
            // Shown to maintainers and CI logs: line breaks are fine, anything
            // that drives a terminal or hides/reorders text is not.
            RejectReasonError::Deceptive(c) => format!(
                "`reason` contains {}; control and invisible formatting characters are refused (line breaks are fine)",
                shipgate_protocol::untrusted::code_point(c)
            ),
            _ => "`reason` is refused".to_owned(),
        })
    })?;
    let verdict = Verdict::Reject {
        reason: reason.to_owned(),
    };
    run(&state, id, &headers, request.code, verdict).await
}

fn parse(body: Result<Bytes, BytesRejection>) -> Result<DecisionRequest, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("the request body is larger than 64 KiB")
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

async fn run(
    state: &AppState,
    id: i64,
    headers: &HeaderMap,
    code: String,
    verdict: Verdict,
) -> Result<Json<DecisionResponse>, ApiError> {
    let token = bearer(headers)?;
    if looks_like_jwt(token) {
        // Precise in the log, generic to the caller.
        return Err(ApiError::refused(format!(
            "a JWT (CI token) was presented to decide on release {id}; only maintainer credentials can approve or reject"
        )));
    }
    // Something that cannot be a code (six digits from an authenticator
    // entry made before codes had eight, a typo) is refused as malformed
    // without counting against the lockout budget: it cannot succeed, so
    // not counting it gives a guesser nothing.
    let digits = usize::from(crate::credentials::TOTP_DIGITS);
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(format!(
            "`code` must be the {digits}-digit TOTP code (not counted as a wrong code)"
        )));
    }
    let decision = Decision {
        release: id,
        maintainer_token: token,
        code: &code,
        verdict,
        now: crate::unix_now(),
    };
    let key = state.key();
    let sign = |release: &crate::storage::ReleaseDetail| key.sign_release(release);
    let outcome = decide(
        state.db(),
        state.config(),
        state.secrets(),
        &sign,
        &decision,
    )
    .await
    .map_err(|err| match err {
        DecisionError::Refused(reason) => {
            ApiError::refused(format!("decision on release {id}: {reason}"))
        }
        DecisionError::NotFound(_) => ApiError::not_found(err.to_string()),
        DecisionError::NotStaged { .. } | DecisionError::AlreadyApproved(_) => {
            ApiError::conflict(err.to_string())
        }
        DecisionError::UnknownPackage(_) => ApiError::conflict(err.to_string()),
        DecisionError::Storage(storage) => storage.into(),
        other => ApiError::internal(other),
    })?;
    if matches!(outcome, Outcome::Released { .. }) {
        state.publishing().wake();
    }
    let (state_after, manifest_sha256) = match outcome {
        Outcome::Approved { .. } => (ReleaseState::Staged, None),
        Outcome::Released {
            manifest_sha256, ..
        } => (ReleaseState::Released, Some(manifest_sha256)),
        Outcome::Rejected => (ReleaseState::Rejected, None),
    };
    // Re-read for the numbers the answer shows (committed state).
    let detail = state.db().release(id).await?;
    let approvals = detail.as_ref().map_or(0, |d| d.approvals.len());
    let approvals = u32::try_from(approvals).unwrap_or(u32::MAX);
    let quorum = detail
        .and_then(|d| state.config().package(&d.summary.package).map(|p| p.quorum))
        .unwrap_or(0);
    tracing::info!(
        release = id,
        state = state_after.as_str(),
        approvals,
        "decision recorded"
    );
    Ok(Json(DecisionResponse {
        id,
        state: state_after,
        approvals,
        quorum,
        manifest_sha256,
    }))
}
