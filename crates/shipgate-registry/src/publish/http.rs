//! HTTP plumbing shared by the protocols: error classification, bounded answers, and
//! request bodies streamed from the artifact file.

use bytes::Bytes;
use futures_util::StreamExt as _;
use reqwest::StatusCode;
use sha2::Digest as _;
use tokio::io::AsyncReadExt as _;

use super::{Credential, PublishError, PublishFile};
use crate::artifact::ArtifactError;

/// Registry answers read for decisions (index pages, packuments) are capped at this size.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 << 20;

/// How much of an error answer goes into a message.
const SNIPPET_CHARS: usize = 300;

/// A sending failure (connection refused, reset, timeout): always retriable.
pub(crate) fn send_failed(
    what: &str,
    error: &reqwest::Error,
    credential: &Credential,
) -> PublishError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // The error's own text names the URL (never carrying the credential) and the cause.
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        source = inner.source();
    }
    PublishError::Retriable {
        detail: credential.scrub(&format!("{what} {kind}: {detail}")),
    }
}

/// One line of an answer body: control characters flattened, cut at a few hundred chars.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET_CHARS)
        .collect();
    flat.trim().to_owned()
}

/// An unexpected status: 408, 429 and 5xx are retriable, everything else permanent.
pub(crate) fn status_error(
    what: &str,
    url: &str,
    status: StatusCode,
    body: &[u8],
    credential: &Credential,
) -> PublishError {
    let mut detail = format!("{what}: {url} answered {status}");
    let text = snippet(body);
    if !text.is_empty() {
        detail.push_str(": ");
        detail.push_str(&text);
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        detail.push_str(" (the credential was refused or may not publish this package)");
    }
    let detail = credential.scrub(&detail);
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        PublishError::Retriable { detail }
    } else {
        PublishError::Permanent { detail }
    }
}

/// An answer that is not the protocol (HTML where JSON was due): a proxy or an outage page,
/// so retriable.
pub(crate) fn garbage(
    what: &str,
    url: &str,
    problem: &str,
    body: &[u8],
    credential: &Credential,
) -> PublishError {
    PublishError::Retriable {
        detail: credential.scrub(&format!(
            "{what}: {url} answered something that is not the registry protocol ({problem}): {}",
            snippet(body)
        )),
    }
}

/// Reads an answer body, at most [`MAX_ANSWER_BYTES`].
pub(crate) async fn read_body(
    what: &str,
    response: reqwest::Response,
    credential: &Credential,
) -> Result<Vec<u8>, PublishError> {
    let url = response.url().to_string();
    let mut stream = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| send_failed(what, &e, credential))?;
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(PublishError::Retriable {
                detail: format!("{what}: {url} answered more than {MAX_ANSWER_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The digests registries want, computed in one streaming pass.
pub(crate) struct Digests {
    pub(crate) sha256_hex: String,
    pub(crate) sha1_hex: String,
    pub(crate) sha512: Vec<u8>,
    pub(crate) len: u64,
}

fn io_error(file: &PublishFile, source: std::io::Error) -> PublishError {
    PublishError::Artifact(ArtifactError::Io {
        file: file.file_name.clone(),
        source,
    })
}

/// Hashes the file and checks it is still the staged file (its SHA-256).
pub(crate) async fn digests(file: &PublishFile) -> Result<Digests, PublishError> {
    let mut opened = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| io_error(file, e))?;
    let mut sha256 = sha2::Sha256::new();
    let mut sha512 = sha2::Sha512::new();
    let mut sha1 = sha1::Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = opened.read(&mut buf).await.map_err(|e| io_error(file, e))?;
        if n == 0 {
            break;
        }
        len += n as u64;
        sha256.update(&buf[..n]);
        sha512.update(&buf[..n]);
        sha1.update(&buf[..n]);
    }
    let sha256_hex = hex::encode(sha256.finalize());
    check_sha256(file, &sha256_hex)?;
    Ok(Digests {
        sha256_hex,
        sha1_hex: hex::encode(sha1.finalize()),
        sha512: sha512.finalize().to_vec(),
        len,
    })
}

fn check_sha256(file: &PublishFile, actual: &str) -> Result<(), PublishError> {
    if !actual.eq_ignore_ascii_case(file.sha256.trim()) {
        return Err(PublishError::Artifact(ArtifactError::Mismatch {
            file: file.file_name.clone(),
            field: "SHA-256 of the file".to_owned(),
            found: actual.to_owned(),
            expected: file.sha256.clone(),
        }));
    }
    Ok(())
}

/// How a streamed body transforms the file's chunks.
#[derive(Clone, Copy)]
pub(crate) enum Encoding {
    /// The bytes as they are.
    Raw,
    /// Base64 (standard alphabet, padded), produced chunk by chunk.
    Base64,
}

/// Bytes of chunk read from the file at a time: a multiple of 3 so that base64 chunks
/// concatenate without inner padding.
const CHUNK: usize = 3 * 16 * 1024;

/// A request body: `prefix`, the file (raw or base64), `suffix`, never holding more than
/// one chunk of the file. The file's SHA-256 is checked again as it streams; if it changed
/// since [`digests`], the stream fails before the suffix, so the registry never receives a
/// complete request.
pub(crate) fn file_body(
    file: &PublishFile,
    prefix: Vec<u8>,
    encoding: Encoding,
    suffix: Vec<u8>,
) -> reqwest::Body {
    struct State {
        prefix: Option<Bytes>,
        suffix: Option<Bytes>,
        path: std::path::PathBuf,
        opened: Option<tokio::fs::File>,
        hasher: sha2::Sha256,
        expected: String,
        done: bool,
    }
    let state = State {
        prefix: Some(Bytes::from(prefix)),
        suffix: Some(Bytes::from(suffix)),
        path: file.path.clone(),
        opened: None,
        hasher: sha2::Sha256::new(),
        expected: file.sha256.trim().to_ascii_lowercase(),
        done: false,
    };
    let stream = futures_util::stream::unfold(state, move |mut state| async move {
        if let Some(prefix) = state.prefix.take() {
            return Some((Ok(prefix), state));
        }
        if state.done {
            return None;
        }
        if state.opened.is_none() {
            match tokio::fs::File::open(&state.path).await {
                Ok(f) => state.opened = Some(f),
                Err(e) => {
                    state.done = true;
                    return Some((Err(e), state));
                }
            }
        }
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        // Fill the whole chunk (short reads would break base64 concatenation).
        while filled < CHUNK {
            let Some(opened) = state.opened.as_mut() else {
                break;
            };
            match opened.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    state.done = true;
                    return Some((Err(e), state));
                }
            }
        }
        if filled == 0 {
            state.done = true;
            let actual = hex::encode(std::mem::take(&mut state.hasher).finalize());
            if actual != state.expected {
                return Some((
                    Err(std::io::Error::other(
                        "the file changed while it was being sent",
                    )),
                    state,
                ));
            }
            return state.suffix.take().map(|s| (Ok(s), state));
        }
        buf.truncate(filled);
        state.hasher.update(&buf);
        let chunk = match encoding {
            Encoding::Raw => Bytes::from(buf),
            Encoding::Base64 => {
                use base64::Engine as _;
                Bytes::from(base64::engine::general_purpose::STANDARD.encode(&buf))
            }
        };
        Some((Ok::<Bytes, std::io::Error>(chunk), state))
    });
    reqwest::Body::wrap_stream(stream)
}

/// Length of the base64 encoding (padded) of `len` bytes.
pub(crate) fn base64_len(len: u64) -> u64 {
    len.div_ceil(3) * 4
}
