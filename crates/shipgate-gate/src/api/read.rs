//! Read-only routes: info, releases, one release with its diff, and the
//! released manifest, signature and files (streamed from the blob store).

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use super::{ApiError, AppState};
use crate::storage::{ReleaseDetail, ReleaseState, SignedManifest};
use shipgate_protocol::names;
use shipgate_protocol::openapi::{
    Binary, FileName, PackageName, PageLimit, ReleaseIdText, VersionName,
};
use shipgate_protocol::wire::ErrorBody;
use shipgate_protocol::wire::{
    GateInfo, RELEASES_PAGE_DEFAULT, RELEASES_PAGE_MAX, ReleaseList, ReleaseQuery, ReleaseView,
};

/// A number written the one way it can be: ASCII digits, no sign, no
/// leading zero. `01`, `+1` and `１` are not aliases of `1` (two spellings of
/// one resource make caches, logs and allow-lists disagree).
pub(super) fn canonical_number(raw: &str) -> Option<u64> {
    let digits_only = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    let no_leading_zero = raw == "0" || !raw.starts_with('0');
    (digits_only && no_leading_zero).then(|| raw.parse().ok())?
}

/// Parses a release id from the path.
pub(super) fn release_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    canonical_number(&raw)
        .and_then(|n| i64::try_from(n).ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "release id {raw:?} is not a positive integer written in plain digits"
            ))
        })
}

/// Parses and validates `{name}` and `{version}`.
pub(super) fn package_version(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(String, String), ApiError> {
    let Path((name, version)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    names::package(&name)?;
    names::version(&version)?;
    Ok((name, version))
}

/// The gate's public key, fingerprint, log origin and the audience CI tokens must carry.
#[utoipa::path(get, path = "/v1/info", responses(
    (status = 200, description = "Gate information.", body = GateInfo),
))]
pub(super) async fn info(State(state): State<AppState>) -> Json<GateInfo> {
    let config = state.config();
    Json(GateInfo {
        service: "shipgate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        public_url: config.public_url.clone(),
        audience: config.audience.clone(),
        public_key: state.key().public_key_text().to_owned(),
        key_fingerprint: state.key().fingerprint().to_owned(),
        log_origin: state.log().signer().origin().to_owned(),
        log_key: state.log().signer().verifier_key(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    state: Option<String>,
    package: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

/// Releases, newest first, one page at a time.
#[utoipa::path(get, path = "/v1/releases",
    params(
        ("state" = Option<ReleaseState>, Query, description = "Only releases in this state."),
        ("package" = Option<PackageName>, Query, description = "Only releases of this package."),
        ("before" = Option<ReleaseIdText>, Query, description = "Only releases with a smaller id: the previous page's `next_before`."),
        ("limit" = Option<PageLimit>, Query, description = "Releases per page, 1 to 500 (default 100)."),
    ),
    responses(
        (status = 200, description = "One page of releases.", body = ReleaseList),
        (status = 400, description = "Unknown state, malformed package, before or limit, or an unknown parameter.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ReleaseList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = match query.state.as_deref() {
        None => None,
        Some(text) => Some(ReleaseState::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "state {text:?} is not one of staged, released, rejected"
            ))
        })?),
    };
    let before = match query.before.as_deref() {
        None => None,
        Some(text) => Some(
            canonical_number(text)
                .and_then(|n| i64::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "before {text:?} is not a release id (a positive integer)"
                    ))
                })?,
        ),
    };
    let limit = match query.limit.as_deref() {
        None => RELEASES_PAGE_DEFAULT,
        Some(text) => canonical_number(text)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=RELEASES_PAGE_MAX).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "limit {text:?} is not a whole number from 1 to {RELEASES_PAGE_MAX}"
                ))
            })?,
    };
    if let Some(package) = query.package.as_deref() {
        names::package(package).map_err(|e| ApiError::bad_request(format!("package: {e}")))?;
    }
    // One more than asked tells whether a next page exists.
    let mut releases = state
        .db()
        .list_releases(&ReleaseQuery {
            state: filter,
            package: query.package.as_deref(),
            before,
            limit: Some(limit.saturating_add(1)),
        })
        .await?;
    let next_before = if releases.len() > limit as usize {
        releases.truncate(limit as usize);
        releases.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Json(ReleaseList {
        releases,
        next_before,
    }))
}

/// One release: files, provenance, approvals and the diff against the previous released version.
#[utoipa::path(get, path = "/v1/releases/{id}",
    params(("id" = ReleaseIdText, Path, description = "Release id."),),
    responses(
        (status = 200, description = "The release.", body = ReleaseView),
        (status = 400, description = "Malformed id.", body = ErrorBody),
        (status = 404, description = "No such release.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ReleaseView>, ApiError> {
    let id = release_id(path)?;
    let detail = state
        .db()
        .release(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no release with id {id}")))?;
    let previous = state
        .db()
        .previous_released(&detail.summary.package, id)
        .await?;
    let quorum = state
        .config()
        .package(&detail.summary.package)
        .map_or(0, |p| p.quorum);
    let log_index = state.db().released_log_index(id).await?;
    let (artifacts, targets) = publishing_view(&state, &detail).await?;
    Ok(Json(ReleaseView {
        artifacts,
        targets,
        log_index,
        diff: crate::diff::diff(previous, &detail.files),
        summary: detail.summary,
        provenance: detail.provenance,
        files: detail.files,
        approvals: detail.approvals,
        quorum,
        reject_reason: detail.reject_reason,
    }))
}

/// For packages with registry targets: what the archives declare against
/// the previous released version, and each target's publishing state.
async fn publishing_view(
    state: &AppState,
    detail: &ReleaseDetail,
) -> Result<
    (
        Option<shipgate_protocol::wire::ArtifactReview>,
        Vec<shipgate_protocol::wire::TargetStatus>,
    ),
    ApiError,
> {
    let id = detail.summary.id;
    let review = match state.db().artifacts(id).await? {
        Some(json) => {
            let previous = state
                .db()
                .previous_released_artifacts(&detail.summary.package, id)
                .await?;
            crate::artifacts::review(&json, previous)
        }
        None => None,
    };
    let mut targets = state.db().publish_status(id).await?;
    if targets.is_empty()
        && detail.summary.state == ReleaseState::Staged
        && let Some(package) = state.config().package(&detail.summary.package)
    {
        targets = package
            .targets
            .iter()
            .map(|t| shipgate_protocol::wire::TargetStatus {
                kind: t.kind.as_str().to_owned(),
                registry: t.registry.clone(),
                state: "staged".to_owned(),
                attempts: 0,
                last_error: None,
                url: None,
                integrity: Vec::new(),
            })
            .collect();
    }
    Ok((review, targets))
}

/// The released `{name}` `{version}` with its signed manifest, or 404.
pub(super) async fn released(
    state: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(ReleaseDetail, SignedManifest), ApiError> {
    let (name, version) = package_version(path)?;
    state
        .db()
        .released_version(&name, &version)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("{name} {version} is not released on this gate"))
        })
}

/// The signed release manifest (released versions only).
#[utoipa::path(get, path = "/v1/packages/{name}/versions/{version}/manifest",
    params(("name" = PackageName, Path, description = "Package name."),
        ("version" = VersionName, Path, description = "Version."),),
    responses(
        (status = 200, description = "The manifest bytes.", content_type = "application/octet-stream", body = Binary),
        (status = 400, description = "Malformed name or version.", body = ErrorBody),
        (status = 404, description = "Not released.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn manifest(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (_, signed) = released(&state, path).await?;
    Ok((
        [(CONTENT_TYPE, "application/octet-stream")],
        signed.manifest,
    )
        .into_response())
}

/// The manifest's minisign signature (verify it with the key in `/v1/info`).
#[utoipa::path(get, path = "/v1/packages/{name}/versions/{version}/manifest.minisig",
    params(("name" = PackageName, Path, description = "Package name."),
        ("version" = VersionName, Path, description = "Version."),),
    responses(
        (status = 200, description = "The minisign signature file.", content_type = "text/plain", body = String),
        (status = 400, description = "Malformed name or version.", body = ErrorBody),
        (status = 404, description = "Not released.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn signature(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (_, signed) = released(&state, path).await?;
    Ok((
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        signed.signature,
    )
        .into_response())
}

/// One released file, streamed.
#[utoipa::path(get, path = "/v1/packages/{name}/versions/{version}/files/{file}",
    params(("name" = PackageName, Path, description = "Package name."),
        ("version" = VersionName, Path, description = "Version."),
        ("file" = FileName, Path, description = "File name."),
    ),
    responses(
        (status = 200, description = "The file's bytes.", content_type = "application/octet-stream", body = Binary),
        (status = 400, description = "Malformed name, version or file name.", body = ErrorBody),
        (status = 404, description = "Not released, or no such file.", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
    ))]
pub(super) async fn file(
    State(state): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((name, version, file)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    names::package(&name)?;
    names::version(&version)?;
    names::file(&file)?;
    let (entry, blob) = state
        .db()
        .released_file(&name, &version, &file)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("{name} {version} has no released file {file:?}"))
        })?;
    let handle = state
        .blobs()
        .open_read(&blob)
        .await
        .map_err(|e| ApiError::internal(format!("blob {blob} of {name} {version}: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::canonical_number;

    #[test]
    fn numbers_have_one_spelling() {
        assert_eq!(canonical_number("0"), Some(0));
        assert_eq!(canonical_number("42"), Some(42));
        assert_eq!(canonical_number("18446744073709551615"), Some(u64::MAX));
        for other in [
            "",
            "01",
            "00",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1e3",
            "１",
            "٣",
            "18446744073709551616",
        ] {
            assert_eq!(canonical_number(other), None, "{other:?}");
        }
    }
}
