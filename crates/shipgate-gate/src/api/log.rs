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
use shipgate_protocol::wire::{ConsistencyProofView, InclusionProofView, ReleasedVersion};

impl From<LogServiceError> for ApiError {
    fn from(err: LogServiceError) -> Self {
        match err {
            LogServiceError::BadRange(message) => ApiError::bad_request(message),
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

pub(super) async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stored = state
        .log()
        .checkpoint(state.db(), crate::unix_now())
        .await?;
    Ok(text(stored.note))
}

pub(super) async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.log().signer().verifier_key()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntriesQuery {
    start: u64,
    end: u64,
}

/// A page of leaves: at most [`shipgate_protocol::wire::MAX_LOG_ENTRIES`]
/// and [`shipgate_protocol::wire::MAX_LOG_PAGE_BYTES`], encoded while the
/// service's page permit is held (see `tlog::service`).
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

pub(super) async fn consistency(
    State(state): State<AppState>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let ConsistencyQuery { from, to } = query(q)?;
    let proof = state.log().consistency_proof(state.db(), from, to).await?;
    Ok(Json(ConsistencyProofView { from, to, proof }))
}

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
