//! The transparency-log routes: the signed checkpoint, its verifier key,
//! leaves, inclusion and consistency proofs, and where a released version's
//! `released` event sits in the log.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::read::released;
use super::{ApiError, AppState};
use crate::tlog::service::LogServiceError;
use shipgate_protocol::openapi::{PackageName, VersionName};
use shipgate_protocol::wire::{
    ConsistencyProofView, ErrorBody, InclusionProofView, LogEntries, ReleasedVersion,
};

impl From<LogServiceError> for ApiError {
    fn from(err: LogServiceError) -> Self {
        match err {
            LogServiceError::BadRange(message) => ApiError::bad_request(message),
            LogServiceError::Storage(storage) => storage.into(),
            other => ApiError::internal(other),
        }
    }
}

fn text(body: String) -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// The latest checkpoint: a C2SP tlog-checkpoint (origin, tree size, base64 root hash) in a C2SP signed note, signed with the gate key under the origin's name, followed by the C2SP cosignature/v1 lines of the witnesses that cosigned it.
#[utoipa::path(get, path = "/v1/log/checkpoint", responses(
    (status = 200, description = "The signed note.", content_type = "text/plain", body = String),
    (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
))]
pub(super) async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stored = state
        .log()
        .checkpoint(state.db(), crate::unix_now())
        .await?;
    Ok(text(state.log().witnesses().cosigned_note(&stored)))
}

/// The checkpoint verifier key, `<origin>+<key id>+<base64 key>`, one line.
#[utoipa::path(get, path = "/v1/log/key", responses(
    (status = 200, description = "The verifier key.", content_type = "text/plain", body = String),
))]
pub(super) async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.log().signer().verifier_key()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntriesQuery {
    start: u64,
    end: u64,
}

/// Leaves `start..end` (end exclusive; at most 1000 and about 4 MiB per answer, never none: ask again from the next index).
#[utoipa::path(get, path = "/v1/log/entries",
    params(
        ("start" = u64, Query, description = "First leaf index."),
        ("end" = u64, Query, description = "One past the last leaf index, at most the tree size."),
    ),
    responses(
        (status = 200, description = "Leaves.", body = LogEntries),
        (status = 400, description = "A missing, malformed or unknown parameter, or a range outside the log.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
/// The page is encoded while the log service's page permit is held.
pub(super) async fn entries(
    State(state): State<AppState>,
    q: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let EntriesQuery { start, end } = query(q)?;
    let body = state.log().entries_page(state.db(), start, end).await?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InclusionQuery {
    index: u64,
    size: u64,
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves.
#[utoipa::path(get, path = "/v1/log/proof/inclusion",
    params(
        ("index" = u64, Query, description = "Leaf index."),
        ("size" = u64, Query, description = "Tree size (from a checkpoint), at most the current size."),
    ),
    responses(
        (status = 200, description = "The proof.", body = InclusionProofView),
        (status = 400, description = "A missing, malformed or unknown parameter, index not below size, or size beyond the log.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn inclusion(
    State(state): State<AppState>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let InclusionQuery { index, size } = query(q)?;
    let proof = state.log().inclusion_proof(state.db(), index, size).await?;
    Ok(Json(InclusionProofView { index, size, proof }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// Consistency proof from the tree of `from` leaves to the tree of `to` leaves.
#[utoipa::path(get, path = "/v1/log/proof/consistency",
    params(
        ("from" = u64, Query, description = "Older tree size."),
        ("to" = u64, Query, description = "Newer tree size, at most the current size."),
    ),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProofView),
        (status = 400, description = "A missing, malformed or unknown parameter, from > to, or to beyond the log.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn consistency(
    State(state): State<AppState>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let ConsistencyQuery { from, to } = query(q)?;
    let proof = state.log().consistency_proof(state.db(), from, to).await?;
    Ok(Json(ConsistencyProofView { from, to, proof }))
}

/// Where a released version's `released` event is in the transparency log (fetch then asks for its inclusion proof).
#[utoipa::path(get, path = "/v1/packages/{name}/versions/{version}/release",
    params(("name" = PackageName, Path, description = "Package name."),
        ("version" = VersionName, Path, description = "Version."),),
    responses(
        (status = 200, description = "The released version.", body = ReleasedVersion),
        (status = 400, description = "Malformed name or version.", body = ErrorBody),
        (status = 404, description = "Not released.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn released_version(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ReleasedVersion>, ApiError> {
    let (detail, signed) = released(&state, path).await?;
    let id = detail.summary.id;
    let log_index =
        state.db().released_log_index(id).await?.ok_or_else(|| {
            ApiError::internal(format!("release {id} has no `released` log leaf"))
        })?;
    Ok(Json(ReleasedVersion {
        release_id: id,
        package: detail.summary.package,
        version: detail.summary.version,
        manifest_sha256: shipgate_protocol::manifest::sha256_hex(&signed.manifest),
        log_index,
    }))
}
