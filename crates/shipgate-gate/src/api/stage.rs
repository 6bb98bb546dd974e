//! `POST /v1/packages/{name}/versions/{version}`: CI stages a release.
//!
//! The body is `multipart/form-data`: a first part `announce` with the JSON
//! list of every file (name, size, sha256), then one part `file.N` per file
//! carrying the bytes of `files[N]`. Each file streams into the blob store
//! while it is hashed; nothing is held in memory. The release row, its files
//! and the `staged` event are inserted in one transaction after every blob is
//! durable, so a crash leaves the release fully staged or absent.
//!
//! Refused: a missing or refused CI token (checked before any byte of the
//! body is read), an unknown package, a version already staged or released, a
//! malformed announcement, a hostile or duplicate file name, more than
//! [`MAX_FILES`] files, an announcement whose `staged` log leaf would be
//! larger than [`MAX_WRITTEN_LEAF_BYTES`] (checked before any file is
//! stored, so that every leaf fits in a page of `/v1/log/entries`), a file
//! not announced or announced but not sent, a size or digest mismatch, and a
//! body over the configured cap.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;

use super::openapi::StageForm;
use super::read::{canonical_number, package_version};
use super::{ApiError, AppState, bearer};
use crate::blobs::{BlobError, Holds, is_blob_key};
use crate::publishers::AuthError;
use crate::storage::{NewRelease, ReleaseFile, ReleaseState, StorageError, staged_leaf_len};
use shipgate_protocol::leaf::MAX_WRITTEN_LEAF_BYTES;
use shipgate_protocol::names;
use shipgate_protocol::openapi::{PackageName, VersionName};
use shipgate_protocol::wire::{
    AnnouncedFile, ErrorBody, MAX_RELEASE_FILES, StageAnnouncement, StageResponse,
};

/// Most files in one release.
pub const MAX_FILES: usize = MAX_RELEASE_FILES;
/// Largest announcement part.
const MAX_ANNOUNCEMENT: usize = 1 << 20;

/// Stage a release (CI token).
///
/// `multipart/form-data`: a first part `announce` (JSON `{"files": [{name, size, sha256}]}`), then parts `file.N` with the bytes of `files[N]`. The version and the package's limits are checked before the CI token, so a refusal there does not use the token up; the token is checked before a byte of the body is read.
#[utoipa::path(post, path = "/v1/packages/{name}/versions/{version}",
    params(("name" = PackageName, Path, description = "Package name."),
        ("version" = VersionName, Path, description = "Version."),),
    request_body(content = StageForm, content_type = "multipart/form-data"),
    security(("ci" = [])),
    responses(
        (status = 201, description = "Staged.", body = StageResponse),
        (status = 400, description = "Malformed name, version or body, a file name outside the allowlist, a duplicate, unannounced or missing part, or a size or digest mismatch.", body = ErrorBody),
        (status = 401, description = "CI token missing or refused (the reason is only logged).", body = ErrorBody),
        (status = 404, description = "Package not configured.", body = ErrorBody),
        (status = 408, description = "The upload stalled for longer than the gate's idle_timeout_seconds (code request_timeout).", body = ErrorBody),
        (status = 409, description = "Version already staged or released (code conflict), or the package's limits (max_pending_releases, max_staged_bytes) refuse it (code limit_exceeded).", body = ErrorBody),
        (status = 413, description = "Body over the gate's max_upload_bytes, an announce part over 1 MiB, a release over the package's max_release_bytes, or a log entry that would be too large.", body = ErrorBody),
        (status = 422, description = "For a package with registry targets: a staged file no target publishes, or an archive whose name or version is not the staged one (code artifact_refused).", body = ErrorBody),
        (status = 500, description = "Internal error (the cause is in the server log).", body = ErrorBody),
        (status = 503, description = "The CI provider's keys are unreachable.", body = ErrorBody),
    ))]
pub(super) async fn stage(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Result<(StatusCode, Json<StageResponse>), ApiError> {
    let (parts, body) = request.into_parts();
    let admitted = match admit(&state, path, &parts.headers).await {
        Ok(admitted) => admitted,
        Err(err) => {
            drain_briefly(body).await;
            return Err(err);
        }
    };
    let Admitted {
        package,
        version,
        provenance,
    } = admitted;
    let request = Request::from_parts(parts, body);
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|e| {
            ApiError::bad_request(format!("expected multipart/form-data: {}", e.body_text()))
        })?;
    // Blobs this request wrote stay held until it ends; if it fails (or is
    // cancelled) they are deleted unless something else references or holds
    // them.
    let mut holds = state.blobs().holds(state.db().clone());
    let result = receive_and_commit(
        &state,
        &mut multipart,
        NewRelease {
            package: package.clone(),
            version: version.clone(),
            provenance,
            files: Vec::new(),
        },
        &mut holds,
    )
    .await;
    holds.end(result.is_err()).await;
    let (id, new) = result?;
    tracing::info!(release = id, %package, %version, files = new.files.len(), "staged");
    let mut files = new.files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((
        StatusCode::CREATED,
        Json(StageResponse {
            id,
            package,
            version,
            state: ReleaseState::Staged,
            files,
        }),
    ))
}

/// What staging learned before reading the upload.
struct Admitted {
    package: String,
    version: String,
    provenance: crate::storage::Provenance,
}

/// Everything checked before the upload is read: the package, the version,
/// the limits, the CI token and the announced length.
async fn admit(
    state: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: &axum::http::HeaderMap,
) -> Result<Admitted, ApiError> {
    let (package, version) = package_version(path)?;
    let package_config = state.config().package(&package).ok_or_else(|| {
        ApiError::not_found(format!(
            "package {package:?} is not configured on this gate"
        ))
    })?;

    // What can be refused without the token is refused before it is
    // checked, so that the CI job can retry with the same token (checking
    // it burns its `jti`).
    if state.db().version_taken(&package, &version).await? {
        return Err(taken(&package, &version));
    }
    let limits = state.config().limits_for(package_config);
    let usage = state.db().package_usage(&package).await?;
    limits
        .admit(usage.pending, usage.bytes, 0)
        .map_err(|e| ApiError::limit_exceeded(&package, &e))?;

    // Authenticate before reading the body.
    let token = bearer(headers)?;
    let provenance = state
        .publishers()
        .authorize(token, package_config, state.db())
        .await
        .map_err(|err| match err {
            AuthError::Refused(reason) => {
                ApiError::refused(format!("staging {package} {version}: {reason}"))
            }
            AuthError::Unavailable(reason) => {
                ApiError::unavailable(format!("cannot verify CI tokens for {package}: {reason}"))
            }
            AuthError::Internal(err) => err.into(),
        })?;

    if let Some(length) = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > state.config().max_upload_bytes.saturating_add(1 << 20)
    {
        return Err(too_large(state.config().max_upload_bytes));
    }
    Ok(Admitted {
        package,
        version,
        provenance,
    })
}

/// Most of a refused upload the gate still reads before answering.
const DRAIN_LIMIT: usize = 1 << 20;

/// Reads and drops up to [`DRAIN_LIMIT`] bytes of a refused upload, for at
/// most two seconds, before the refusal is sent: a client still writing a
/// small upload would otherwise see the connection closed under it (a
/// broken pipe) instead of the answer that says why.
async fn drain_briefly(body: axum::body::Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            seen = seen.saturating_add(chunk.len());
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}

/// Reads the announcement and the file parts into the blob store, then
/// inserts the release in one transaction.
async fn receive_and_commit(
    state: &AppState,
    multipart: &mut Multipart,
    mut new: NewRelease,
    holds: &mut Holds,
) -> Result<(i64, NewRelease), ApiError> {
    let idle = Duration::from_secs(state.config().idle_timeout_seconds);
    let announced = read_announcement(multipart, state.config().max_upload_bytes, idle).await?;
    new.files = announced
        .iter()
        .map(|f| ReleaseFile {
            path: f.name.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
        })
        .collect();
    check_leaf_size(&new)?;
    let announced_bytes = announced
        .iter()
        .fold(0u64, |sum, f| sum.saturating_add(f.size));
    let limits = state
        .config()
        .package(&new.package)
        .map(|p| state.config().limits_for(p));
    if let Some(limits) = limits {
        let usage = state.db().package_usage(&new.package).await?;
        limits
            .admit(usage.pending, usage.bytes, announced_bytes)
            .map_err(|e| ApiError::limit_exceeded(&new.package, &e))?;
    }
    let mut received: Vec<bool> = vec![false; announced.len()];

    while let Some(mut field) = within(idle, multipart.next_field()).await? {
        let part = field.name().unwrap_or_default().to_owned();
        let index = part
            .strip_prefix("file.")
            .and_then(canonical_number)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n < announced.len())
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unexpected part {part:?}: after `announce`, only parts file.0 .. file.{} are accepted",
                    announced.len().saturating_sub(1)
                ))
            })?;
        if received[index] {
            return Err(ApiError::bad_request(format!(
                "part {part:?} was sent twice"
            )));
        }
        let file = &announced[index];
        let mut writer = state
            .blobs()
            .writer(file.size, &file.sha256)
            .await
            .map_err(ApiError::internal)?;
        while let Some(chunk) = within(idle, field.chunk()).await? {
            writer
                .write(&chunk)
                .await
                .map_err(|e| blob_error(&file.name, e))?;
        }
        writer
            .finish(holds)
            .await
            .map_err(|e| blob_error(&file.name, e))?;
        received[index] = true;
    }
    if let Some(missing) = received.iter().position(|r| !r) {
        return Err(ApiError::bad_request(format!(
            "file {:?} was announced but its part file.{missing} was not sent",
            announced[missing].name
        )));
    }

    let artifacts = check_artifacts(state, &new).await?;
    let now = crate::unix_now();
    let mut tx = state.db().begin_write().await?;
    if let Some(limits) = limits {
        // Authoritative: stagings of one package that raced past the
        // checks above see each other here.
        let usage = tx.package_usage(&new.package).await?;
        limits
            .admit(usage.pending, usage.bytes, announced_bytes)
            .map_err(|e| ApiError::limit_exceeded(&new.package, &e))?;
    }
    let id = match tx.insert_staged(&new, now).await {
        Ok(id) => id,
        Err(StorageError::VersionTaken { .. }) => {
            return Err(taken(&new.package, &new.version));
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(json) = &artifacts {
        tx.set_artifacts(id, json).await?;
    }
    tx.commit().await?;
    Ok((id, new))
}

/// Refuses a release whose `staged` leaf would be larger than the log takes.
pub(crate) fn check_leaf_size(new: &NewRelease) -> Result<(), ApiError> {
    let length = staged_leaf_len(new)
        .map_err(|e| ApiError::bad_request(format!("the release cannot be logged: {e}")))?;
    if length > MAX_WRITTEN_LEAF_BYTES {
        return Err(ApiError::too_large(format!(
            "the release's log entry would be {length} bytes, more than the {MAX_WRITTEN_LEAF_BYTES} accepted: stage fewer files or shorter names"
        )));
    }
    Ok(())
}

/// For a package with registry targets: the staged archives must be what
/// the targets publish, stating the staged name and version.
async fn check_artifacts(state: &AppState, new: &NewRelease) -> Result<Option<String>, ApiError> {
    let Some(package) = state.config().package(&new.package) else {
        return Ok(None);
    };
    crate::artifacts::check_staged(state.blobs(), package, &new.version, &new.files)
        .await
        .map_err(|reason| {
            ApiError::unprocessable(format!(
                "staging {} {} refused: {reason}",
                new.package, new.version
            ))
        })
}

fn taken(package: &str, version: &str) -> ApiError {
    ApiError::conflict(format!(
        "{package} {version} is already staged or released; stage a new version"
    ))
}

fn too_large(cap: u64) -> ApiError {
    ApiError::too_large(format!(
        "the upload is larger than this gate's cap of {cap} bytes"
    ))
}

/// The next piece of an upload, unless the client pauses longer than
/// `idle`: a trickled upload would otherwise hold its connection and a blob
/// writer open for as long as the client likes.
async fn within<T>(
    idle: Duration,
    next: impl Future<Output = Result<T, MultipartError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(idle, next)
        .await
        .map_err(|_| {
            ApiError::timeout(format!(
                "the upload stalled: nothing arrived for {} s",
                idle.as_secs()
            ))
        })?
        .map_err(multipart_error)
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(format!("upload refused: {}", err.body_text()))
    } else {
        ApiError::bad_request(format!("malformed multipart body: {}", err.body_text()))
    }
}

fn blob_error(name: &str, err: BlobError) -> ApiError {
    match err {
        BlobError::Io(e) => ApiError::internal(format!("storing {name}: {e}")),
        other => ApiError::bad_request(format!("file {name:?}: {other}")),
    }
}

/// Reads and checks the `announce` part.
async fn read_announcement(
    multipart: &mut Multipart,
    max_total: u64,
    idle: Duration,
) -> Result<Vec<AnnouncedFile>, ApiError> {
    let mut field = within(idle, multipart.next_field()).await?.ok_or_else(|| {
        ApiError::bad_request("the body has no parts; the first must be `announce`")
    })?;
    if field.name() != Some("announce") {
        return Err(ApiError::bad_request(format!(
            "the first part must be `announce` (the JSON list of files), not {:?}",
            field.name().unwrap_or_default()
        )));
    }
    let mut json = Vec::new();
    while let Some(chunk) = within(idle, field.chunk()).await? {
        if json.len() + chunk.len() > MAX_ANNOUNCEMENT {
            return Err(ApiError::too_large(
                "the `announce` part is larger than 1 MiB",
            ));
        }
        json.extend_from_slice(&chunk);
    }
    let announcement: StageAnnouncement = serde_json::from_slice(&json)
        .map_err(|e| ApiError::bad_request(format!("`announce` part: {e}")))?;
    check_announcement(&announcement.files, max_total)?;
    Ok(announcement.files)
}

/// The rules an announcement must follow.
pub(crate) fn check_announcement(files: &[AnnouncedFile], max_total: u64) -> Result<(), ApiError> {
    if files.is_empty() {
        return Err(ApiError::bad_request("`announce` lists no files"));
    }
    if files.len() > MAX_FILES {
        return Err(ApiError::bad_request(format!(
            "`announce` lists {} files; at most {MAX_FILES} are accepted",
            files.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    for file in files {
        names::file(&file.name)?;
        if !seen.insert(file.name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "file name {:?} is announced twice",
                file.name
            )));
        }
        if !is_blob_key(&file.sha256) {
            return Err(ApiError::bad_request(format!(
                "file {:?}: sha256 must be 64 lowercase hex digits",
                file.name
            )));
        }
        total = total.saturating_add(file.size);
    }
    if total > max_total {
        return Err(too_large(max_total));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, size: u64) -> AnnouncedFile {
        AnnouncedFile {
            name: name.into(),
            size,
            sha256: "a".repeat(64),
        }
    }

    #[test]
    fn announcements_are_checked() {
        assert!(check_announcement(&[f("a", 1), f("b", 2)], 10).is_ok());
        for (files, status) in [
            (vec![], StatusCode::BAD_REQUEST),
            (vec![f("a", 1), f("a", 1)], StatusCode::BAD_REQUEST),
            (vec![f("../a", 1)], StatusCode::BAD_REQUEST),
            (vec![f("a", 6), f("b", 5)], StatusCode::PAYLOAD_TOO_LARGE),
            (
                vec![f("a", u64::MAX), f("b", u64::MAX)],
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
        ] {
            assert_eq!(check_announcement(&files, 10).unwrap_err().status(), status);
        }
        let mut upper = f("a", 1);
        upper.sha256 = "A".repeat(64);
        assert!(check_announcement(&[upper], 10).is_err());
        let many: Vec<AnnouncedFile> = (0..=MAX_FILES).map(|i| f(&format!("f{i}"), 0)).collect();
        assert!(check_announcement(&many, 10).is_err());
    }

    fn release(files: usize, subject_len: usize) -> NewRelease {
        NewRelease {
            package: "p".repeat(64),
            version: "v".repeat(64),
            provenance: crate::storage::Provenance {
                subject: "s".repeat(subject_len),
                ..Default::default()
            },
            files: (0..files)
                .map(|i| ReleaseFile {
                    path: format!("{i:0>255}"),
                    size: (1 << 53) - 1,
                    sha256: "a".repeat(64),
                })
                .collect(),
        }
    }

    /// The largest announcement accepted (most files, longest names,
    /// largest sizes) fits the leaf cap with room for token claims; a leaf
    /// pushed over it (here by a long subject) is refused with a 413.
    #[test]
    fn the_staged_leaf_is_bounded() {
        let largest = release(MAX_FILES, 64);
        let length = staged_leaf_len(&largest).unwrap();
        assert!(length < MAX_WRITTEN_LEAF_BYTES * 3 / 4, "{length}");
        assert!(check_leaf_size(&largest).is_ok());
        let over = release(MAX_FILES, MAX_WRITTEN_LEAF_BYTES - length + 100);
        assert_eq!(
            check_leaf_size(&over).unwrap_err().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
