//! `GET /v1/releases/{id}/files/{file}`: a release's files as staged, for
//! the maintainers of its package only (to look inside before approving).
//! Staged files are private: a CI token, no token or another package's
//! maintainer is refused.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::read::release_id;
use super::{ApiError, AppState, bearer, looks_like_jwt};
use crate::credentials;
use shipgate_protocol::names;
use shipgate_protocol::openapi::{Binary, FileName, ReleaseIdText};
use shipgate_protocol::wire::ErrorBody;

/// One staged file of a release, streamed, for its package's maintainers.
#[utoipa::path(get, path = "/v1/releases/{id}/files/{file}",
    security(("maintainer" = [])),
    params(("id" = ReleaseIdText, Path, description = "Release id."),
        ("file" = FileName, Path, description = "File name."),
    ),
    responses(
        (status = 200, description = "The file's bytes as staged.", content_type = "application/octet-stream", body = Binary),
        (status = 400, description = "Malformed id or file name.", body = ErrorBody),
        (status = 401, description = "No maintainer token, a CI token, or not a maintainer of the release's package (the reason is only logged).", body = ErrorBody),
        (status = 404, description = "No such file in the release, or its bytes are no longer stored.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn download(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((raw_id, file)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = release_id(Ok(Path(raw_id)))?;
    names::file(&file)?;
    let token = bearer(&headers)?;
    if looks_like_jwt(token) {
        return Err(ApiError::refused(format!(
            "a JWT (CI token) asked for a staged file of release {id}; staged files are for maintainers only"
        )));
    }
    let owner = credentials::token_owner(token)
        .ok_or_else(|| ApiError::refused("not a maintainer token"))?;
    let maintainer = state
        .db()
        .maintainer(owner)
        .await?
        .filter(|m| credentials::token_matches(token, &m.token_hash))
        .ok_or_else(|| {
            ApiError::refused(format!("maintainer token of {owner:?} does not match"))
        })?;
    if maintainer.revoked_at.is_some() || maintainer.lock_reason.is_some() {
        return Err(ApiError::refused(format!(
            "maintainer {owner:?} is revoked or locked"
        )));
    }
    let detail = state
        .db()
        .release(id)
        .await?
        .ok_or_else(|| ApiError::refused(format!("release {id} does not exist")))?;
    let package = &detail.summary.package;
    let listed = state
        .config()
        .package(package)
        .is_some_and(|p| p.maintainers.iter().any(|m| m == owner));
    if !(listed && maintainer.packages.iter().any(|p| p == package)) {
        return Err(ApiError::refused(format!(
            "{owner:?} is not a maintainer of {package}"
        )));
    }
    let entry = detail
        .files
        .iter()
        .find(|f| f.path == file)
        .ok_or_else(|| ApiError::not_found(format!("release {id} has no file {file:?}")))?;
    let handle = state.blobs().open_read(&entry.sha256).await.map_err(|e| {
        ApiError::not_found(format!(
            "release {id}: the bytes of {file:?} are no longer stored ({e})"
        ))
    })?;
    let body = Body::from_stream(ReaderStream::with_capacity(handle, 64 * 1024));
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (CONTENT_LENGTH, entry.size.to_string()),
        ],
        body,
    )
        .into_response())
}
