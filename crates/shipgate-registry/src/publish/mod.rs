//! Publishing approved files to the registries people install from.
//!
//! One module per protocol: npm publish documents, PyPI's legacy upload API,
//! the cargo registry web API. Every publish first asks the registry whether it already
//! holds the version: with exactly these bytes the publish is done
//! ([`Published::already_present`]); with other bytes it is a [`PublishError::Conflict`]
//! and nothing is sent. Registries that refuse a duplicate upload are asked again, so a
//! publish that raced another one still ends in `Published` or `Conflict`.

mod cargo;
mod cargo_metadata;
mod credential;
mod error;
mod http;
mod npm;
mod pypi;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::TargetKind;
use crate::artifact::Limits;

pub use credential::{Credential, CredentialError};
pub use error::PublishError;

/// Where to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The protocol.
    pub kind: TargetKind,
    /// npm: the registry URL (`https://registry.npmjs.org/`). PyPI: the upload URL
    /// (`https://upload.pypi.org/legacy/`, or a pypiserver's root). cargo: the sparse
    /// index URL (`sparse+https://index.crates.io/`); the API URL is read from its
    /// `config.json`.
    pub registry: String,
    /// npm only: the dist-tag to point at the new version (`latest` when unset).
    pub tag: Option<String>,
    /// PyPI only: the simple index used to see what the index already holds. When unset:
    /// `https://pypi.org/simple/` for PyPI, `https://test.pypi.org/simple/` for TestPyPI,
    /// else `<registry>/simple/` (pypiserver).
    pub index: Option<String>,
}

impl Target {
    /// A target of `kind` at `registry`, no tag, default index.
    pub fn new(kind: TargetKind, registry: impl Into<String>) -> Self {
        Target {
            kind,
            registry: registry.into(),
            tag: None,
            index: None,
        }
    }

    /// The same target with an npm dist-tag.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// The same target with an explicit PyPI simple index URL.
    pub fn with_index(mut self, index: impl Into<String>) -> Self {
        self.index = Some(index.into());
        self
    }
}

/// One file to publish: the name it was staged under, where its bytes are, and the
/// SHA-256 they must have (checked before and while sending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishFile {
    /// The staged file name (`pkg-1.0.0.tgz`, `pkg-1.0-py3-none-any.whl`, ...).
    pub file_name: String,
    /// The file on disk.
    pub path: PathBuf,
    /// Lowercase hex SHA-256 of the approved bytes.
    pub sha256: String,
}

/// A successful publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Published {
    /// Where the release can be fetched: the npm tarball URL, the PyPI project page on
    /// the simple index, the crate's download URL.
    pub url: String,
    /// Each file and the integrity the registry records for it.
    pub files: Vec<PublishedFile>,
    /// True when the registry already held exactly these bytes and nothing was sent.
    pub already_present: bool,
}

/// One published file and its integrity string as the registry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedFile {
    /// The file name.
    pub file_name: String,
    /// npm: `sha512-<base64>` (`dist.integrity`); PyPI and cargo: `sha256:<hex>`.
    pub integrity: String,
}

/// Timeouts and limits for publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishOptions {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest silence while sending or waiting for an answer (not the whole upload,
    /// which for a large tarball takes as long as it takes).
    pub read_timeout: Duration,
    /// Limits for reading the artifact's metadata before publishing.
    pub limits: Limits,
}

impl Default for PublishOptions {
    /// 10 s to connect, 60 s of silence, default [`Limits`].
    fn default() -> Self {
        PublishOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            limits: Limits::default(),
        }
    }
}

impl PublishOptions {
    /// Options with the given timeouts and default limits.
    pub fn with_timeouts(connect_timeout: Duration, read_timeout: Duration) -> Self {
        PublishOptions {
            connect_timeout,
            read_timeout,
            limits: Limits::default(),
        }
    }
}

/// Publishes with one HTTP client (reuse it: it pools connections).
#[derive(Debug, Clone)]
pub struct Publisher {
    client: reqwest::Client,
    options: PublishOptions,
}

impl Publisher {
    /// A publisher with the given options.
    pub fn new(options: PublishOptions) -> Result<Self, PublishError> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            // Redirects are not followed: a registry that moves is a configuration change,
            // and a credential must not follow a redirect anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PublishError::Permanent {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Publisher { client, options })
    }

    /// Publishes `files` (one npm tarball; wheels and sdists; one `.crate`) to `target`.
    ///
    /// Idempotent: a version the registry already holds with exactly these bytes returns
    /// `Published { already_present: true, .. }`; with other bytes,
    /// [`PublishError::Conflict`] and nothing is overwritten. For PyPI every file is
    /// checked before any is uploaded, so a conflict on one file uploads none.
    pub async fn publish(
        &self,
        target: &Target,
        credential: &Credential,
        files: &[PublishFile],
    ) -> Result<Published, PublishError> {
        let registry =
            url::Url::parse(target.registry.trim_start_matches("sparse+")).map_err(|e| {
                PublishError::Permanent {
                    detail: format!("registry URL {:?} is not a URL: {e}", target.registry),
                }
            })?;
        if !registry.username().is_empty() || registry.password().is_some() {
            return Err(PublishError::Permanent {
                detail:
                    "the registry URL must not carry credentials; use the token file or variable"
                        .to_owned(),
            });
        }
        if !matches!(registry.scheme(), "http" | "https") {
            return Err(PublishError::Permanent {
                detail: format!("registry URL {:?} is not http(s)", target.registry),
            });
        }
        if files.is_empty() {
            return Err(PublishError::Permanent {
                detail: "no files to publish".to_owned(),
            });
        }
        let ctx = Context {
            client: &self.client,
            credential,
            limits: &self.options.limits,
        };
        let outcome = match target.kind {
            TargetKind::Npm => npm::publish(&ctx, target, files).await,
            TargetKind::Pypi => pypi::publish(&ctx, target, files).await,
            TargetKind::Cargo => cargo::publish(&ctx, target, files).await,
        };
        // Errors are already scrubbed of the credential; nothing else here carries it.
        match &outcome {
            Ok(published) => tracing::info!(
                kind = %target.kind,
                url = %published.url,
                already_present = published.already_present,
                "published"
            ),
            Err(error) => {
                tracing::warn!(kind = %target.kind, registry = %target.registry, %error, "publish failed")
            }
        }
        outcome
    }
}

/// What every protocol needs.
pub(crate) struct Context<'a> {
    pub(crate) client: &'a reqwest::Client,
    pub(crate) credential: &'a Credential,
    pub(crate) limits: &'a Limits,
}

/// [`Publisher::publish`] with default options.
pub async fn publish(
    target: &Target,
    credential: &Credential,
    files: &[PublishFile],
) -> Result<Published, PublishError> {
    Publisher::new(PublishOptions::default())?
        .publish(target, credential, files)
        .await
}

/// The registry URL with exactly one trailing slash, for joining paths onto.
pub(crate) fn base_url(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// Reads an artifact for publishing on a blocking thread (archive reading is synchronous).
pub(crate) async fn read_artifact(
    kind: TargetKind,
    file: &PublishFile,
    limits: &Limits,
) -> Result<crate::artifact::ReadArtifact, PublishError> {
    let name = file.file_name.clone();
    let path = file.path.clone();
    let limits = *limits;
    tokio::task::spawn_blocking(move || crate::artifact::read(kind, &name, &path, &limits))
        .await
        .map_err(|e| PublishError::Permanent {
            detail: format!("reading {} failed: {e}", file.file_name),
        })?
        .map_err(PublishError::from)
}

#[cfg(test)]
mod tests {
    use super::{Credential, PublishFile, PublishOptions, Publisher, Target};
    use crate::TargetKind;

    fn assert_send<T: Send>(_: &T) {}

    /// The gate runs publishes on spawned tasks: the future must be `Send`.
    #[test]
    fn publishing_can_run_on_a_spawned_task() {
        let publisher = Publisher::new(PublishOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let target = Target::new(TargetKind::Npm, "http://127.0.0.1:9/");
        let credential = Credential::token("t");
        let files: Vec<PublishFile> = Vec::new();
        let future = publisher.publish(&target, &credential, &files);
        assert_send(&future);
    }
}
