//! `GET /releases/{id}/files/{file}`: a staged file, for a signed-in
//! maintainer of the release's package (the same rule as the API's
//! `/v1/releases/{id}/files/{file}`, with the session instead of a token).

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::WebError;
use super::guard;
use super::release::release_id;
use crate::api::AppState;
use shipgate_protocol::names;

/// `GET /releases/{id}/files/{file}`.
pub async fn download(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Path((raw_id, file)) = path.map_err(|e| WebError::bad_request(e.body_text()))?;
    let id = release_id(Ok(Path(raw_id)))?;
    names::file(&file).map_err(|e| WebError::bad_request(e.to_string()))?;
    let (_, session) = guard::session(&state, &headers)
        .await?
        .ok_or_else(|| WebError::forbidden("sign in to download staged files"))?;
    let detail = state
        .db()
        .release(id)
        .await?
        .ok_or_else(|| WebError::not_found(format!("no release with id {id}")))?;
    let package = &detail.summary.package;
    let listed = state
        .config()
        .package(package)
        .is_some_and(|p| p.maintainers.contains(&session.maintainer));
    let enrolled = state
        .db()
        .maintainer(&session.maintainer)
        .await?
        .is_some_and(|m| m.packages.contains(package));
    if !(listed && enrolled) {
        return Err(WebError::refused(format!(
            "{} asked for a staged file of {package}, which they do not maintain",
            session.maintainer
        )));
    }
    let entry = detail
        .files
        .iter()
        .find(|f| f.path == file)
        .ok_or_else(|| WebError::not_found(format!("release {id} has no such file")))?;
    let handle = state.blobs().open_read(&entry.sha256).await.map_err(|e| {
        WebError::not_found(format!("the bytes of this file are no longer stored ({e})"))
    })?;
    let body = Body::from_stream(ReaderStream::with_capacity(handle, 64 * 1024));
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (CONTENT_LENGTH, entry.size.to_string()),
            // Always a download, never rendered: the bytes are untrusted.
            (CONTENT_DISPOSITION, "attachment".to_owned()),
        ],
        body,
    )
        .into_response())
}
