//! The HTTP client the CLI uses (`stage`, `releases`, `release show`,
//! `approve`, `reject`, `fetch`). Uploads and downloads stream: a file is
//! read and sent (or received and written) in 64 KiB chunks, never held
//! whole in memory.
//!
//! A gate (or whatever answers at its URL) is not trusted to be well
//! behaved: every answer the client reads into memory has a size cap (a
//! JSON body, an error body, a checkpoint, a proof, a CI token), and every
//! call has an overall deadline (see [`Timeouts`]), so a server that never
//! answers or sends an endless body cannot hang or exhaust a CI job.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Response, StatusCode};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use shipgate_protocol::untrusted::escape_for_terminal;
use shipgate_protocol::wire::{
    AnnouncedFile, DecisionRequest, DecisionResponse, ErrorBody, ExecutionTokenResponse, GateInfo,
    ReleaseList, ReleaseQuery, ReleaseView, StageAnnouncement, StageResponse,
};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The gate URL is not an http(s) URL.
    #[error("gate URL {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    /// The URL would send credentials or trust a key over an unprotected
    /// network: plain http to a host that is not a loopback address.
    #[error("gate URL {url:?} refused: {reason}")]
    Insecure {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The gate could not be reached or the transfer broke.
    #[error("cannot reach the gate at {url}: {message}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The transport error.
        message: String,
    },
    /// The gate answered with an error.
    #[error("the gate refused: {message} ({status} {code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code (`unauthorized`, `conflict`, ...).
        code: String,
        /// The gate's message.
        message: String,
    },
    /// The gate's answer was not what the API describes.
    #[error("unexpected answer from {url}: {message}")]
    Decode {
        /// The URL requested.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The call did not complete within its deadline (see [`Timeouts`]).
    #[error("no complete answer from {url} within {}s", after.as_secs())]
    TimedOut {
        /// The URL requested.
        url: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The answer is larger than the client accepts for this call.
    #[error("the answer from {url} is larger than {limit} bytes; refusing to read it")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// A download ended (the connection closed or broke) before all the
    /// bytes the caller expected had arrived.
    #[error("the transfer from {url} ended after {received} bytes: {message}")]
    BodyEnded {
        /// The URL requested.
        url: String,
        /// Bytes received before it ended.
        received: u64,
        /// What ended it.
        message: String,
    },
    /// Two files to stage have the same name.
    #[error("two files to stage are both named {0:?}; files are staged by base name")]
    DuplicateName(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl ClientError {
    /// True when the gate refused credentials (HTTP 401).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Api { status: 401, .. })
    }
}

/// Receives transfer progress (the CLI draws a bar with it).
pub trait Progress: Send + Sync {
    /// A transfer of `total` bytes starts.
    fn start(&self, label: &str, total: u64);
    /// `bytes` more were transferred.
    fn advance(&self, bytes: u64);
    /// The transfer finished.
    fn finish(&self);
}

/// Progress that is not shown.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Deadlines of the client's calls. Separate from `stage --wait`'s
/// timeout, which bounds the whole wait for a decision (each poll of which
/// is one call with these deadlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// A whole call that reads or sends a bounded body: from sending the
    /// request to the last byte of the answer.
    pub request: Duration,
    /// A whole upload or download of release files (`stage`, `fetch`),
    /// which may be large.
    pub transfer: Duration,
    /// The longest silence within any call: no byte for this long ends it.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            request: Duration::from_secs(120),
            transfer: Duration::from_secs(3600),
            idle: Duration::from_secs(60),
        }
    }
}

/// A client for one gate.
#[derive(Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    timeouts: Timeouts,
}

/// Largest JSON answer to a small call (`/v1/info`, a decision, a stage,
/// an execution token, a release's log entry, a proof).
const MAX_SMALL_ANSWER: usize = 1 << 20;
/// Largest answer describing releases (a list, or one release with up to
/// its files and its difference from the last release).
const MAX_RELEASES_ANSWER: usize = 32 << 20;
/// Largest error body read (its message is shown; the rest is noise).
const MAX_ERROR_BODY: usize = 64 << 10;
/// Largest answer of a CI provider's token endpoint (a JWT in JSON).
const MAX_TOKEN_ANSWER: usize = 64 << 10;

const CHUNK: usize = 64 * 1024;

impl Client {
    /// A client for the gate at `url` (e.g. `https://gate.example.com`)
    /// with the default [`Timeouts`].
    pub fn new(url: &str) -> Result<Self, ClientError> {
        Self::with_timeouts(url, Timeouts::default())
    }

    /// A client for the gate at `url` with the given deadlines.
    pub fn with_timeouts(url: &str, timeouts: Timeouts) -> Result<Self, ClientError> {
        let base = url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || reqwest::Url::parse(&base).is_err()
        {
            return Err(ClientError::BadUrl(url.to_owned()));
        }
        // Maintainer tokens, TOTP codes and CI tokens travel to the gate, and
        // `fetch` may learn the gate's key on first use from it: over plain
        // http a network attacker could take them or swap the key. The same
        // rule as for OIDC issuers: https, or http to a loopback address.
        shipgate_oidc::check_url(&base).map_err(|e| match e {
            shipgate_oidc::FetchError::UrlNotAllowed { reason, .. } => ClientError::Insecure {
                url: url.to_owned(),
                reason,
            },
            _ => ClientError::BadUrl(url.to_owned()),
        })?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
            // The gate never redirects; following one could carry a
            // credential-bearing request somewhere the rule above refuses.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.idle)
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.clone(),
                message: e.to_string(),
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        Ok(Self {
            base,
            http,
            runtime,
            timeouts,
        })
    }

    /// The gate's base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The deadlines this client uses.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Runs one bounded call: it ends with [`ClientError::TimedOut`] when
    /// it has not completed within `limit`, whatever the server does.
    fn call<T>(
        &self,
        url: &str,
        limit: Duration,
        work: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        self.runtime.block_on(async {
            match tokio::time::timeout(limit, work).await {
                Ok(result) => result,
                Err(_) => Err(ClientError::TimedOut {
                    url: url.to_owned(),
                    after: limit,
                }),
            }
        })
    }

    /// A GET of a JSON body of at most `cap` bytes, within the request deadline.
    fn get_capped_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        cap: usize,
    ) -> Result<T, ClientError> {
        self.call(url, self.timeouts.request, async {
            let response = send(url, self.http.get(url)).await?;
            json(url, response, cap).await
        })
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Result<GateInfo, ClientError> {
        self.get_capped_json(&self.url("/v1/info"), MAX_SMALL_ANSWER)
    }

    /// `GET /v1/releases[?state=&package=&before=&limit=]`: one page.
    pub fn list(&self, query: &ReleaseQuery<'_>) -> Result<ReleaseList, ClientError> {
        let mut params = Vec::new();
        if let Some(state) = query.state {
            params.push(format!("state={}", state.as_str()));
        }
        if let Some(package) = query.package {
            params.push(format!("package={}", encode_query_value(package)));
        }
        if let Some(before) = query.before {
            params.push(format!("before={before}"));
        }
        if let Some(limit) = query.limit {
            params.push(format!("limit={limit}"));
        }
        let url = if params.is_empty() {
            self.url("/v1/releases")
        } else {
            self.url(&format!("/v1/releases?{}", params.join("&")))
        };
        self.get_capped_json(&url, MAX_RELEASES_ANSWER)
    }

    /// `GET /v1/releases/{id}`.
    pub fn show(&self, id: i64) -> Result<ReleaseView, ClientError> {
        self.get_capped_json(
            &self.url(&format!("/v1/releases/{id}")),
            MAX_RELEASES_ANSWER,
        )
    }

    /// `GET /v1/releases/{id}`, giving up after `timeout` (used while
    /// waiting, so that a hung connection cannot outlast the wait).
    pub fn show_within(
        &self,
        id: i64,
        timeout: std::time::Duration,
    ) -> Result<ReleaseView, ClientError> {
        let url = self.url(&format!("/v1/releases/{id}"));
        self.call(&url, timeout.min(self.timeouts.request), async {
            let response = send(&url, self.http.get(&url)).await?;
            json(&url, response, MAX_RELEASES_ANSWER).await
        })
    }

    /// Approves (`reason: None`) or rejects a release.
    pub fn decide(
        &self,
        id: i64,
        maintainer_token: &str,
        code: &str,
        reason: Option<&str>,
    ) -> Result<DecisionResponse, ClientError> {
        let action = if reason.is_some() {
            "reject"
        } else {
            "approve"
        };
        let url = self.url(&format!("/v1/releases/{id}/{action}"));
        let body = DecisionRequest {
            code: code.to_owned(),
            reason: reason.map(str::to_owned),
        };
        self.call(&url, self.timeouts.request, async {
            let request = self
                .http
                .post(&url)
                .bearer_auth(maintainer_token)
                .json(&body);
            let response = send(&url, request).await?;
            json(&url, response, MAX_SMALL_ANSWER).await
        })
    }

    /// `POST /v1/releases/{id}/execution-token` with a (fresh) CI token.
    pub fn execution_token(
        &self,
        id: i64,
        ci_token: &str,
    ) -> Result<ExecutionTokenResponse, ClientError> {
        let url = self.url(&format!("/v1/releases/{id}/execution-token"));
        self.call(&url, self.timeouts.request, async {
            let request = self.http.post(&url).bearer_auth(ci_token);
            let response = send(&url, request).await?;
            json(&url, response, MAX_SMALL_ANSWER).await
        })
    }

    /// Stages `files` as `package version`: hashes each file, announces
    /// names, sizes and digests, then streams the bytes.
    pub fn stage(
        &self,
        package: &str,
        version: &str,
        files: &[PathBuf],
        ci_token: &str,
        progress: Arc<dyn Progress>,
    ) -> Result<StageResponse, ClientError> {
        let url = self.url(&format!("/v1/packages/{package}/versions/{version}"));
        self.call(&url, self.timeouts.transfer, async {
            let mut announced = Vec::with_capacity(files.len());
            for path in files {
                let name = base_name(path)?;
                if announced.iter().any(|a: &AnnouncedFile| a.name == name) {
                    return Err(ClientError::DuplicateName(name));
                }
                let (size, sha256) = hash_file(path, progress.as_ref()).await?;
                announced.push(AnnouncedFile { name, size, sha256 });
            }
            let total: u64 = announced.iter().map(|a| a.size).sum();
            let announcement = serde_json::to_vec(&StageAnnouncement {
                files: announced.clone(),
            })
            .map_err(|e| ClientError::Decode {
                url: url.clone(),
                message: e.to_string(),
            })?;
            let mut form = Form::new().part(
                "announce",
                Part::bytes(announcement)
                    .mime_str("application/json")
                    .map_err(|e| ClientError::Decode {
                        url: url.clone(),
                        message: e.to_string(),
                    })?,
            );
            progress.start("uploading", total);
            for (index, (path, file)) in files.iter().zip(&announced).enumerate() {
                let handle = open(path).await?;
                let counter = progress.clone();
                let stream = ReaderStream::with_capacity(handle, CHUNK).inspect(move |chunk| {
                    if let Ok(bytes) = chunk {
                        counter.advance(bytes.len() as u64);
                    }
                });
                let part = Part::stream_with_length(Body::wrap_stream(stream), file.size);
                form = form.part(format!("file.{index}"), part);
            }
            let request = self.http.post(&url).bearer_auth(ci_token).multipart(form);
            let result = send(&url, request).await;
            progress.finish();
            json(&url, result?, MAX_SMALL_ANSWER).await
        })
    }

    /// Downloads `path` to `dest`, streaming, and returns (size, sha256).
    /// Stops as soon as more than `max_size` bytes arrive. `dest` is created
    /// new; nothing is left behind on failure.
    pub fn download(
        &self,
        path: &str,
        dest: &Path,
        max_size: u64,
        progress: &dyn Progress,
    ) -> Result<(u64, String), ClientError> {
        let url = self.url(path);
        let result = self.call(&url, self.timeouts.transfer, async {
            // A gate that accepted the connection and then closed it without
            // an answer (a stored file it cannot read to the end) did not
            // deliver the file: that is reported as a transfer that ended
            // after 0 bytes, not as an unreachable gate.
            let response = self.http.get(&url).send().await.map_err(|e| {
                if e.is_connect() || e.is_timeout() || e.is_builder() {
                    unreachable(&url, &e)
                } else {
                    ClientError::BodyEnded {
                        url: url.clone(),
                        received: 0,
                        message: error_chain(&e),
                    }
                }
            })?;
            let response = check(&url, response).await?;
            if response.content_length().is_some_and(|n| n > max_size) {
                return Err(ClientError::TooLarge {
                    url: url.clone(),
                    limit: max_size,
                });
            }
            progress.start("downloading", response.content_length().unwrap_or(0));
            let result = write_stream(&url, response, dest, max_size, progress).await;
            progress.finish();
            result
        });
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }

    /// [`Client::download`] with a maintainer token (staged files are for
    /// the package's maintainers only).
    pub fn download_as_maintainer(
        &self,
        path: &str,
        maintainer_token: &str,
        dest: &Path,
        max_size: u64,
        progress: &dyn Progress,
    ) -> Result<(u64, String), ClientError> {
        let url = self.url(path);
        self.runtime.block_on(async {
            let request = self.http.get(&url).bearer_auth(maintainer_token);
            let response = check(&url, send(&url, request).await?).await?;
            progress.start("downloading", response.content_length().unwrap_or(0));
            let result = write_stream(&url, response, dest, max_size, progress).await;
            progress.finish();
            if result.is_err() {
                let _ = std::fs::remove_file(dest);
            }
            result
        })
    }

    /// GETs a small body (manifest, signature) into memory, up to `limit` bytes.
    pub fn get_bytes(&self, path: &str, limit: usize) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path);
        self.call(&url, self.timeouts.request, async {
            let response = send(&url, self.http.get(&url)).await?;
            let response = check(&url, response).await?;
            read_capped(&url, response, limit).await
        })
    }

    /// Fetches a GitHub Actions OIDC token for `audience`
    /// (`ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub fn github_actions_token(
        &self,
        request_url: &str,
        request_token: &str,
        audience: &str,
    ) -> Result<String, ClientError> {
        let mut url = reqwest::Url::parse(request_url)
            .map_err(|_| ClientError::BadUrl(request_url.to_owned()))?;
        url.query_pairs_mut().append_pair("audience", audience);
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.path()
        );
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            value: String,
        }
        self.call(&shown, self.timeouts.request, async {
            let request = self.http.get(url).bearer_auth(request_token);
            let response = send(&shown, request).await?;
            let answer: TokenAnswer = json(&shown, response, MAX_TOKEN_ANSWER).await?;
            Ok(answer.value)
        })
    }
}

fn unreachable(url: &str, err: &reqwest::Error) -> ClientError {
    let message = error_chain(err);
    ClientError::Unreachable {
        url: url.to_owned(),
        message,
    }
}

/// An error and its causes, `a: b: c`.
fn error_chain(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    message
}

/// Reads a body of at most `limit` bytes: refused as soon as the announced
/// length or the bytes received pass it, so an endless body costs nothing.
async fn read_capped(
    url: &str,
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let too_large = || ClientError::TooLarge {
        url: url.to_owned(),
        limit: limit as u64,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, &e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn send(url: &str, request: reqwest::RequestBuilder) -> Result<Response, ClientError> {
    request.send().await.map_err(|e| unreachable(url, &e))
}

/// Turns an error status into [`ClientError::Api`] with the gate's message.
async fn check(url: &str, response: Response) -> Result<Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // An unreadable or oversized error body still reports the status.
    let bytes = read_capped(url, response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
        // Escaped here because every caller ends up printing it.
        Ok(body) => ClientError::Api {
            status: status.as_u16(),
            code: escape_for_terminal(&body.error.code),
            message: escape_for_terminal(&body.error.message),
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: status_code_name(status),
            message: format!(
                "HTTP {status} without an error body from {url}; is this a shipgate gate?"
            ),
        },
    })
}

fn status_code_name(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace(' ', "_")
}

async fn json<T: serde::de::DeserializeOwned>(
    url: &str,
    response: Response,
    limit: usize,
) -> Result<T, ClientError> {
    let response = check(url, response).await?;
    let bytes = read_capped(url, response, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
        url: url.to_owned(),
        message: e.to_string(),
    })
}

async fn open(path: &Path) -> Result<tokio::fs::File, ClientError> {
    tokio::fs::File::open(path)
        .await
        .map_err(|source| ClientError::Io {
            path: path.to_owned(),
            source,
        })
}

/// A file's name as staged: its base name.
fn base_name(path: &Path) -> Result<String, ClientError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "has no UTF-8 file name"),
        })
}

/// Size and SHA-256 of a file, read in chunks.
async fn hash_file(path: &Path, progress: &dyn Progress) -> Result<(u64, String), ClientError> {
    let io_err = |source| ClientError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open(path).await?;
    let total = file.metadata().await.map_err(io_err)?.len();
    progress.start("hashing", total);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).await.map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
        progress.advance(n as u64);
    }
    progress.finish();
    Ok((size, hex::encode(hasher.finalize())))
}

async fn write_stream(
    url: &str,
    response: Response,
    dest: &Path,
    max_size: u64,
    progress: &dyn Progress,
) -> Result<(u64, String), ClientError> {
    use tokio::io::AsyncWriteExt;
    let io_err = |source| ClientError::Io {
        path: dest.to_owned(),
        source,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .await
        .map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        // The answer started: an error now means the body ended early
        // (closed, cut or stalled), which the caller reports as a short file.
        let chunk = chunk.map_err(|e| ClientError::BodyEnded {
            url: url.to_owned(),
            received: size,
            message: error_chain(&e),
        })?;
        size += chunk.len() as u64;
        if size > max_size {
            return Err(ClientError::Decode {
                url: url.to_owned(),
                message: format!("the gate sent more than the {max_size} bytes the manifest lists"),
            });
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io_err)?;
        progress.advance(chunk.len() as u64);
    }
    file.flush().await.map_err(io_err)?;
    file.sync_all().await.map_err(io_err)?;
    Ok((size, hex::encode(hasher.finalize())))
}

/// Hex SHA-256 of bytes (a convenience for the demo and tests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Largest checkpoint note accepted (the signed-note limit).
const MAX_CHECKPOINT: usize = shipgate_log::note::MAX_NOTE_BYTES;
/// Largest JSON answer for a page of log entries (1000 leaves).
const MAX_ENTRIES_ANSWER: usize = 64 << 20;

/// The transparency-log routes.
impl Client {
    /// GETs a JSON body of at most `limit` bytes.
    fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        limit: usize,
    ) -> Result<T, ClientError> {
        let bytes = self.get_bytes(path, limit)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            url: self.url(path),
            message: e.to_string(),
        })
    }

    /// `GET /v1/packages/{name}/versions/{version}/release`.
    pub fn released_version(
        &self,
        package: &str,
        version: &str,
    ) -> Result<shipgate_protocol::wire::ReleasedVersion, ClientError> {
        self.get_json(
            &format!("/v1/packages/{package}/versions/{version}/release"),
            MAX_SMALL_ANSWER,
        )
    }

    /// `GET /v1/log/checkpoint`: the signed note, unverified.
    pub fn log_checkpoint(&self) -> Result<Vec<u8>, ClientError> {
        self.get_bytes("/v1/log/checkpoint", MAX_CHECKPOINT)
    }

    /// `GET /v1/log/entries?start=&end=` (the gate may return fewer).
    pub fn log_entries(
        &self,
        start: u64,
        end: u64,
    ) -> Result<shipgate_protocol::wire::LogEntries, ClientError> {
        self.get_json(
            &format!("/v1/log/entries?start={start}&end={end}"),
            MAX_ENTRIES_ANSWER,
        )
    }

    /// `GET /v1/log/proof/inclusion?index=&size=`.
    pub fn log_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<shipgate_protocol::wire::InclusionProofView, ClientError> {
        self.get_json(
            &format!("/v1/log/proof/inclusion?index={index}&size={size}"),
            MAX_SMALL_ANSWER,
        )
    }

    /// `GET /v1/log/proof/consistency?from=&to=`.
    pub fn log_consistency_proof(
        &self,
        from: u64,
        to: u64,
    ) -> Result<shipgate_protocol::wire::ConsistencyProofView, ClientError> {
        self.get_json(
            &format!("/v1/log/proof/consistency?from={from}&to={to}"),
            MAX_SMALL_ANSWER,
        )
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
