//! The gate as an OIDC issuer of execution tokens (pillar 2 meets pillar 4).
//!
//! When a release is released, the CI job that staged it may ask for a
//! short-lived token bound to that release: its id, package, version, the
//! SHA-256 of the gate-signed manifest and the commit, repository, workflow
//! and run it was built from. A deploy step (or the system it deploys to)
//! checks it with `shipgate oidc verify --issuer GATE_URL --audience AUD
//! --expect digest=... --expect commit_sha=...` against the gate's own
//! discovery document and JWKS.
//!
//! Keys live in `DATA/oidc-keys/` (a `shipgate oidc` key directory). On
//! first start one key of the configured algorithm is generated. Rotation is
//! the key directory's: `shipgate oidc keygen --dir DATA/oidc-keys` while the
//! gate runs; the directory is re-read when its listing changes, the new key
//! signs from then on, and every key in the directory stays published until
//! its file is deleted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use shipgate_oidc::documents::{DISCOVERY_PATH, JWKS_PATH};
use shipgate_oidc::server::Documents;
use shipgate_oidc::{IssueError, IssuedToken, Issuer, KeyDir, KeyDirError, TokenRequest};

use crate::api::AppState;
use crate::config::GateConfig;
use crate::storage::{Provenance, ReleaseDetail};

/// The key directory below the data directory.
pub const KEY_DIR: &str = "oidc-keys";

/// Why the execution-token issuer could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutionKeyError {
    /// The key directory could not be read, or a key could not be made.
    #[error("execution-token keys in {path}: {source}")]
    Keys {
        /// The key directory.
        path: PathBuf,
        /// What went wrong.
        source: KeyDirError,
    },
    /// The key directory or a key in it is open to other users.
    #[error(transparent)]
    Permissions(#[from] crate::private_files::PrivateFileError),
}

/// Why the gate does not issue execution tokens (reported per request).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Disabled {
    /// `public_url` cannot be an OIDC issuer: verifiers fetch its keys over
    /// https only (or plain http to a loopback IP, for tests).
    #[error(
        "this gate does not issue execution tokens: its public_url {0:?} is not an https URL (or http to a loopback IP), so no verifier would fetch its keys"
    )]
    PublicUrl(String),
}

/// Why a token was not issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueFailure {
    /// This gate does not issue execution tokens.
    #[error(transparent)]
    Disabled(#[from] Disabled),
    /// Signing failed (a key the backend could not use).
    #[error("signing an execution token: {0}")]
    Sign(#[from] IssueError),
}

/// Signs execution tokens and serves the documents that verify them.
#[derive(Debug)]
pub struct ExecutionIssuer {
    issuer: String,
    ttl: Duration,
    documents: Result<Arc<Documents>, Disabled>,
}

impl ExecutionIssuer {
    /// Opens (creating on first start) `DATA/oidc-keys/` and sets up the
    /// issuer `config.public_url`. A `public_url` that cannot be an issuer
    /// does not stop the gate: it serves releases, and refuses execution
    /// tokens with a message saying why.
    pub fn open(config: &GateConfig) -> Result<Self, ExecutionKeyError> {
        let issuer = issuer_url(&config.public_url);
        let ttl = config.execution_tokens.ttl();
        if shipgate_oidc::check_url(&issuer).is_err() {
            let disabled = Disabled::PublicUrl(config.public_url.clone());
            tracing::warn!("{disabled}");
            return Ok(Self {
                issuer,
                ttl,
                documents: Err(disabled),
            });
        }
        let dir = config.data_dir().join(KEY_DIR);
        let keys_err = |source| ExecutionKeyError::Keys {
            path: dir.clone(),
            source,
        };
        crate::private_files::check_private_key_dir(&dir, "execution-token key directory")?;
        let keydir = KeyDir::new(&dir);
        let has_keys = match keydir.listing() {
            Ok(listing) => listing != shipgate_oidc::Listing::default(),
            Err(KeyDirError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                false
            }
            Err(err) => return Err(keys_err(err)),
        };
        if !has_keys {
            let algorithm = config.execution_tokens.algorithm();
            let key = keydir.generate(algorithm).map_err(keys_err)?;
            tracing::info!(
                kid = key.kid(),
                %algorithm,
                path = %key.path().display(),
                "created the execution-token signing key"
            );
        }
        let documents = Documents::load(keydir, &issuer).map_err(keys_err)?;
        Ok(Self {
            issuer,
            ttl,
            documents: Ok(Arc::new(documents)),
        })
    }

    /// The issuer URL (`iss`): the gate's public URL without a trailing `/`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The lifetime of each token.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The published documents, or why there are none.
    pub fn documents(&self) -> Result<&Arc<Documents>, &Disabled> {
        self.documents.as_ref()
    }

    /// Signs an execution token for `release` (which must be released),
    /// whose signed manifest has SHA-256 `digest`.
    pub fn issue(
        &self,
        release: &ReleaseDetail,
        digest: &str,
        audience: &str,
    ) -> Result<IssuedToken, IssueFailure> {
        let documents = self.documents.as_ref().map_err(Clone::clone)?;
        let issuer = Issuer::new(&self.issuer, documents.signing_key())?;
        let request = TokenRequest {
            subject: subject(release),
            audience: vec![audience.to_owned()],
            ttl: self.ttl,
            claims: release_claims(release, digest),
        };
        Ok(issuer.issue(&request)?)
    }
}

/// The issuer URL for a gate at `public_url`.
pub fn issuer_url(public_url: &str) -> String {
    public_url.trim_end_matches('/').to_owned()
}

/// `sub`: `release:<package>@<version>`.
pub fn subject(release: &ReleaseDetail) -> String {
    format!(
        "release:{}@{}",
        release.summary.package, release.summary.version
    )
}

/// Most files named in a token's `files` claim: each costs about 130 bytes
/// of token, and verifiers refuse tokens over 16 KiB. A release with more
/// files is checked against its signed manifest (the `digest` claim).
pub const MAX_FILES_CLAIM: usize = 64;

/// The `files` claim: each released file's name and SHA-256, so a deploy
/// step checks the bytes it received, not only the manifest's digest.
fn files_claim(release: &ReleaseDetail) -> Option<Value> {
    (release.files.len() <= MAX_FILES_CLAIM).then(|| {
        Value::Array(
            release
                .files
                .iter()
                .map(|f| json!({ "name": f.path, "sha256": f.sha256 }))
                .collect(),
        )
    })
}

/// The claims that bind a token to one release and the run that built it.
pub fn release_claims(release: &ReleaseDetail, digest: &str) -> Map<String, Value> {
    let p = &release.provenance;
    let mut claims = json!({
        "release_id": release.summary.id,
        "package": release.summary.package,
        "version": release.summary.version,
        "digest": digest,
        "commit_sha": p.commit_sha,
        "repository": p.repository,
        "workflow": p.workflow,
        "ref": p.git_ref,
        "run_id": p.run_id,
        "approved_by": release.approvals.iter().map(|a| a.maintainer.as_str()).collect::<Vec<_>>(),
    });
    if let (Some(files), Some(map)) = (files_claim(release), claims.as_object_mut()) {
        map.insert("files".to_owned(), files);
    }
    match claims {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Checks that the CI identity asking for a token (`now`, from its verified
/// token) is the run that staged the release (`staged`, recorded at staging):
/// same issuer, repository and owner id, same workflow file at the same ref,
/// same commit, same run id (a re-run attempt of that run is the same run)
/// and same deployment environment. Returns the first difference.
pub fn same_run(staged: &Provenance, now: &Provenance) -> Result<(), String> {
    let fields: [(&str, Option<&str>, Option<&str>); 8] = [
        ("issuer", Some(&staged.issuer), Some(&now.issuer)),
        (
            "repository",
            Some(&staged.repository),
            Some(&now.repository),
        ),
        (
            "repository_owner_id",
            staged.repository_owner_id.as_deref(),
            now.repository_owner_id.as_deref(),
        ),
        ("workflow", Some(&staged.workflow), Some(&now.workflow)),
        ("ref", Some(&staged.git_ref), Some(&now.git_ref)),
        (
            "commit_sha",
            Some(&staged.commit_sha),
            Some(&now.commit_sha),
        ),
        ("run_id", Some(&staged.run_id), Some(&now.run_id)),
        (
            "environment",
            staged.environment.as_deref(),
            now.environment.as_deref(),
        ),
    ];
    let show =
        |value: Option<&str>| value.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}"));
    for (name, before, after) in fields {
        if before != after {
            return Err(format!(
                "`{name}` is {} but the release was staged with {}",
                show(after),
                show(before)
            ));
        }
    }
    Ok(())
}

/// `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`
/// at the root of the gate (its `public_url` is the issuer).
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route(DISCOVERY_PATH, get(discovery))
        .route(JWKS_PATH, get(jwks))
}

fn json_document(body: Arc<str>) -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, shipgate_oidc::server::CACHE_CONTROL),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn discovery(State(state): State<AppState>) -> Response {
    match state.execution().documents() {
        Ok(docs) => json_document(docs.refresh().0),
        Err(disabled) => crate::api::ApiError::not_found(disabled.to_string()).into_response(),
    }
}

async fn jwks(State(state): State<AppState>) -> Response {
    match state.execution().documents() {
        Ok(docs) => json_document(docs.refresh().1),
        Err(disabled) => crate::api::ApiError::not_found(disabled.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Approval, Provenance, ReleaseState, ReleaseSummary};

    fn config(dir: &std::path::Path, public_url: &str, extra: &str) -> GateConfig {
        let text = format!(
            "listen = \"127.0.0.1:0\"\npublic_url = \"{public_url}\"\ndata_dir = \"data\"\ngate_key = \"gate.key\"\naudience = \"a\"\n{extra}\n"
        );
        GateConfig::parse(&text, std::path::Path::new("gate.toml"), dir).unwrap()
    }

    fn released() -> ReleaseDetail {
        ReleaseDetail {
            summary: ReleaseSummary {
                id: 7,
                package: "hello".into(),
                version: "1.2.0".into(),
                state: ReleaseState::Released,
                created_at: 1,
                decided_at: Some(2),
            },
            provenance: Provenance {
                repository: "acme/hello".into(),
                workflow: "acme/hello/.github/workflows/release.yml@refs/tags/v1.2.0".into(),
                git_ref: "refs/tags/v1.2.0".into(),
                commit_sha: "ab".repeat(20),
                run_id: "99".into(),
                ..Provenance::default()
            },
            files: vec![crate::storage::ReleaseFile {
                path: "hello.tgz".into(),
                size: 3,
                sha256: "ef".repeat(32),
            }],
            approvals: vec![Approval {
                maintainer: "alice".into(),
                approved_at: 2,
            }],
            reject_reason: None,
        }
    }

    fn payload(token: &str) -> Value {
        use base64::Engine;
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn first_start_creates_one_key_of_the_configured_algorithm_and_reuses_it() {
        let dir = crate::private_files::private_tempdir();
        let config = config(
            dir.path(),
            "http://127.0.0.1:9/",
            "[execution_tokens]\nalgorithm = \"ES256\"\nttl = \"5m\"",
        );
        let issuer = ExecutionIssuer::open(&config).unwrap();
        assert_eq!(issuer.issuer(), "http://127.0.0.1:9");
        let ring = KeyDir::new(dir.path().join("data").join(KEY_DIR))
            .load()
            .unwrap();
        assert_eq!(ring.keys().len(), 1);
        assert_eq!(ring.newest().algorithm(), shipgate_oidc::Algorithm::ES256);
        // A second start keeps the key.
        ExecutionIssuer::open(&config).unwrap();
        let again = KeyDir::new(dir.path().join("data").join(KEY_DIR))
            .load()
            .unwrap();
        assert_eq!(again.keys().len(), 1);

        let token = issuer
            .issue(&released(), &"cd".repeat(32), "deploy:hello")
            .unwrap();
        let claims = payload(&token.token);
        assert_eq!(claims["sub"], "release:hello@1.2.0");
        assert_eq!(claims["aud"], "deploy:hello");
        assert_eq!(claims["iss"], "http://127.0.0.1:9");
        assert_eq!(claims["release_id"], 7);
        assert_eq!(claims["digest"], "cd".repeat(32));
        assert_eq!(claims["commit_sha"], "ab".repeat(20));
        assert_eq!(claims["run_id"], "99");
        assert_eq!(claims["approved_by"], json!(["alice"]));
        assert_eq!(
            claims["files"],
            json!([{ "name": "hello.tgz", "sha256": "ef".repeat(32) }])
        );
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            300
        );
    }

    #[test]
    fn only_the_run_that_staged_matches() {
        let staged = released().provenance;
        assert!(same_run(&staged, &staged.clone()).is_ok());
        let mut other = staged.clone();
        other.run_id = "100".into();
        let err = same_run(&staged, &other).unwrap_err();
        assert!(err.contains("run_id"), "{err}");
        let mut other = staged.clone();
        other.repository = "acme/fork".into();
        assert!(
            same_run(&staged, &other)
                .unwrap_err()
                .contains("repository")
        );
        let mut other = staged.clone();
        other.environment = Some("release".into());
        assert!(
            same_run(&staged, &other)
                .unwrap_err()
                .contains("environment")
        );
        let mut other = staged.clone();
        other.commit_sha = "00".repeat(20);
        assert!(
            same_run(&staged, &other)
                .unwrap_err()
                .contains("commit_sha")
        );
    }

    #[test]
    fn a_public_url_that_cannot_be_an_issuer_disables_tokens_only() {
        let dir = crate::private_files::private_tempdir();
        let config = config(dir.path(), "http://gate.internal:8080", "");
        let issuer = ExecutionIssuer::open(&config).unwrap();
        let err = issuer.issue(&released(), "x", "deploy:hello").unwrap_err();
        assert!(matches!(err, IssueFailure::Disabled(_)));
        let err = err.to_string();
        assert!(err.contains("public_url"), "{err}");
        assert!(!dir.path().join("data").join(KEY_DIR).exists());
    }

    #[test]
    fn a_broken_key_directory_stops_the_start() {
        let dir = crate::private_files::private_tempdir();
        let keys = dir.path().join("data").join(KEY_DIR);
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(keys.join("20260101T000000.000000000Z-rs256.pem"), "junk").unwrap();
        let config = config(dir.path(), "https://gate.example.com", "");
        let err = ExecutionIssuer::open(&config).unwrap_err().to_string();
        assert!(err.contains("oidc-keys"), "{err}");
    }
}
