//! `POST /v1/releases/{id}/execution-token`: the CI run that staged a
//! release, authenticated again with a fresh OIDC token of its own, gets a
//! short-lived token signed by the gate and bound to the released release.
//!
//! Checked in this order: the release exists (404) and is released (409:
//! staged or rejected releases get no token); the CI token passes the same
//! checks as staging — issuer allowlist, signature, audience, the package's
//! trusted-publisher bindings — and its `jti` is burned (a replay is
//! refused); its identity is the run that staged the release
//! ([`crate::execution::same_run`]). Every refusal of the credential is the
//! generic 401; the reason is logged.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use super::read::release_id;
use super::{ApiError, AppState, bearer};
use crate::execution::{IssueFailure, same_run};
use crate::publishers::AuthError;
use crate::storage::{IssuedExecutionToken, ReleaseState};
use shipgate_protocol::openapi::ReleaseIdText;
use shipgate_protocol::wire::{ErrorBody, ExecutionTokenResponse};

/// A short-lived execution token bound to a released release, for the CI run that staged it.
///
/// Authenticate with a fresh CI OIDC token (audience from `/v1/info`) that matches the package's trusted-publisher binding and the staging provenance: same repository and owner id, workflow and ref, commit, run id and environment. Each CI token is usable once; a request refused before the token is checked (404, 409, 501) does not use it up.
#[utoipa::path(post, path = "/v1/releases/{id}/execution-token",
    params(("id" = ReleaseIdText, Path, description = "Release id."),),
    security(("ci" = [])),
    responses(
        (status = 200, description = "The execution token.", body = ExecutionTokenResponse),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 401, description = "CI token missing or refused, replayed, or not from the run that staged the release (the reason is only logged).", body = ErrorBody),
        (status = 404, description = "No such release.", body = ErrorBody),
        (status = 409, description = "The release is staged or rejected, not released, or its package is no longer configured.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
        (status = 501, description = "This gate cannot issue execution tokens (its public_url is not https).", body = ErrorBody),
        (status = 503, description = "The CI provider's keys are unreachable.", body = ErrorBody),
    ))]
pub(super) async fn issue(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<ExecutionTokenResponse>, ApiError> {
    let id = release_id(path)?;
    let token = bearer(&headers)?;
    let release = state
        .db()
        .release(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no release with id {id}")))?;
    let (package, version) = (&release.summary.package, &release.summary.version);
    if release.summary.state != ReleaseState::Released {
        return Err(ApiError::conflict(format!(
            "release {id} ({package} {version}) is {}; execution tokens are issued only for released releases",
            release.summary.state.as_str()
        )));
    }
    let package_config = state.config().package(package).ok_or_else(|| {
        ApiError::conflict(format!("package {package} is not configured on this gate"))
    })?;
    // Refuse before touching the CI token when no token could be issued
    // anyway (the caller keeps its token for a gate that can).
    if let Err(disabled) = state.execution().documents() {
        return Err(ApiError::not_implemented(disabled.to_string()));
    }

    let caller = state
        .publishers()
        .authorize(token, package_config, state.db())
        .await
        .map_err(|err| match err {
            AuthError::Refused(reason) => ApiError::refused(format!(
                "execution token for release {id} ({package} {version}): {reason}"
            )),
            AuthError::Unavailable(reason) => {
                ApiError::unavailable(format!("cannot verify CI tokens for {package}: {reason}"))
            }
            AuthError::Internal(err) => err.into(),
        })?;
    same_run(&release.provenance, &caller).map_err(|reason| {
        ApiError::refused(format!(
            "execution token for release {id} ({package} {version}): not the run that staged it: {reason}"
        ))
    })?;

    let (_, signed) = state
        .db()
        .released_version(package, version)
        .await?
        .filter(|(detail, _)| detail.summary.id == id)
        .ok_or_else(|| {
            ApiError::internal(format!("release {id} is released without a manifest"))
        })?;
    let digest = hex::encode(Sha256::digest(&signed.manifest));
    let audience = package_config.execution_audience();
    let issued = state
        .execution()
        .issue(&release, &digest, &audience)
        .map_err(|err| match err {
            IssueFailure::Disabled(disabled) => ApiError::not_implemented(disabled.to_string()),
            other => ApiError::internal(other),
        })?;

    // The token is handed out only once its event is durable.
    let mut tx = state.db().begin_write().await?;
    tx.record_execution_token(
        &IssuedExecutionToken {
            release: id,
            requested_by: &caller.subject,
            jti: &issued.jti,
            audience: &audience,
            expires_at: issued.expires_at,
            digest: &digest,
        },
        crate::unix_now(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        release = id,
        %package,
        %version,
        jti = %issued.jti,
        %audience,
        "execution token issued"
    );
    Ok(Json(ExecutionTokenResponse {
        token: issued.token,
        issuer: state.execution().issuer().to_owned(),
        audience,
        expires_at: issued.expires_at,
        jti: issued.jti,
        release_id: id,
        package: package.clone(),
        version: version.clone(),
        digest,
    }))
}
