//! Trusted publishers: which CI identity may stage which package.
//!
//! A staging request's token is verified by `shipgate-oidc` (issuer
//! allowlist built from the config, keys from the issuer's discovery and
//! JWKS, signature, audience = the gate's announced audience, time claims),
//! then matched claim by claim against the package's bindings, and finally
//! its `jti` is recorded in the gate database so it can never be used again.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shipgate_oidc::binding::{Binding, GitHubBinding, GitLabBinding, WorkflowSource};
use shipgate_oidc::documents::{DISCOVERY_PATH, JWKS_PATH};
use shipgate_oidc::server::Documents;
use shipgate_oidc::{
    DEFAULT_LEEWAY, KeyDir, Rejection, RemoteOptions, ReplayGuard, Validation, VerifierSet,
    VerifyError,
};

use crate::api::AppState;
use crate::config::{GateConfig, PackageConfig, Provider, PublisherConfig};
use crate::credentials::TOKEN_PREFIX;
use crate::storage::{Db, Provenance, StorageError};

/// The path under `public_url` where a dev gate serves its stand-in CI issuer.
pub const DEV_ISSUER_PATH: &str = "/dev-issuer";

/// Why a CI token could not be used.
#[derive(Debug)]
pub enum AuthError {
    /// Refused; the reason is for the log only.
    Refused(String),
    /// The issuer's keys could not be fetched (not the caller's fault).
    Unavailable(String),
    /// The gate's database failed.
    Internal(StorageError),
}

/// Verifies CI tokens for staging.
#[derive(Debug)]
pub struct PublisherAuth {
    verifiers: VerifierSet,
    audience: String,
    bindings: HashMap<String, Vec<Binding>>,
    dev_documents: Option<Arc<Documents>>,
}

/// Builds the `shipgate-oidc` binding for one `[[package.publisher]]` (a
/// validated one: the config refused any binding missing a required field).
/// `"*"` for `environment` or `ref` becomes "any".
pub fn binding(publisher: &PublisherConfig) -> Binding {
    let environment = publisher.required_environment().map(str::to_owned);
    let ref_pattern = publisher.required_ref().map(str::to_owned);
    match publisher.provider {
        Provider::Github => {
            let file = publisher
                .workflow
                .trim_start_matches("./")
                .trim_start_matches(".github/workflows/");
            Binding::GitHub(GitHubBinding {
                issuer: publisher.issuer.clone(),
                repository: publisher.repository.clone(),
                repository_owner_id: publisher.repository_owner_id.clone().unwrap_or_default(),
                repository_id: publisher.repository_id.clone(),
                workflow: file.to_owned(),
                workflow_source: match &publisher.workflow_repository {
                    Some(repository) => WorkflowSource::Reusable {
                        repository: repository.clone(),
                    },
                    None => WorkflowSource::Caller,
                },
                environment,
                ref_pattern,
                events: publisher.accepted_events(),
            })
        }
        Provider::Gitlab => Binding::GitLab(GitLabBinding {
            issuer: publisher.issuer.clone(),
            project_path: publisher.repository.clone(),
            project_id: publisher.project_id.clone().unwrap_or_default(),
            ci_config_path: publisher.workflow.clone(),
            environment,
            ref_pattern,
        }),
    }
}

impl PublisherAuth {
    /// Builds the issuer allowlist and bindings from the config. Nothing is
    /// fetched until the first token arrives.
    pub fn from_config(config: &GateConfig) -> Result<Self, String> {
        let issuers: BTreeSet<&str> = config
            .packages
            .iter()
            .flat_map(|p| p.publishers.iter().map(|b| b.issuer.as_str()))
            .collect();
        let verifiers =
            VerifierSet::remote(issuers, &RemoteOptions::default()).map_err(|e| e.to_string())?;
        let bindings = config
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.publishers.iter().map(binding).collect()))
            .collect();
        let dev_documents = match config.dev_issuer_keys_path() {
            Some(dir) => {
                let issuer = dev_issuer_url(&config.public_url);
                let documents = Documents::load(KeyDir::new(dir), &issuer)
                    .map_err(|e| format!("dev issuer keys: {e}"))?;
                Some(Arc::new(documents))
            }
            None => None,
        };
        Ok(Self {
            verifiers,
            audience: config.audience.clone(),
            bindings,
            dev_documents,
        })
    }

    /// Checks `token` against the bindings of `package` and burns its `jti`.
    pub async fn authorize(
        &self,
        token: &str,
        package: &PackageConfig,
        db: &Db,
    ) -> Result<Provenance, AuthError> {
        if token.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::Refused(
                "a maintainer token was presented; staging takes a CI OIDC token".into(),
            ));
        }
        let validation = Validation::new(self.audience.clone());
        let verified =
            self.verifiers
                .verify(token, &validation)
                .await
                .map_err(|err| match err {
                    VerifyError::Keys(e) => AuthError::Unavailable(e.to_string()),
                    other => AuthError::Refused(other.to_string()),
                })?;
        let bindings = self
            .bindings
            .get(&package.name)
            .map_or(&[][..], Vec::as_slice);
        if bindings.is_empty() {
            return Err(AuthError::Refused(format!(
                "package {} has no [[package.publisher]] binding",
                package.name
            )));
        }
        let mut mismatches = Vec::new();
        let mut matched = None;
        for binding in bindings {
            match binding.check(&verified.claims) {
                Ok(provenance) => {
                    matched = Some(provenance);
                    break;
                }
                Err(err) => mismatches.push(err.to_string()),
            }
        }
        let Some(found) = matched else {
            return Err(AuthError::Refused(format!(
                "no trusted-publisher binding of {} matches: {}",
                package.name,
                mismatches.join("; ")
            )));
        };
        let claims = &verified.claims;
        let owned = |name: &str| claims.get_str(name).map(str::to_owned);
        let provenance = Provenance {
            issuer: found.issuer,
            subject: claims.subject().unwrap_or_default().to_owned(),
            repository: found.repository,
            repository_owner_id: owned("repository_owner_id").or_else(|| owned("project_id")),
            workflow: found.workflow,
            git_ref: found.git_ref,
            commit_sha: found.commit_sha,
            run_id: found.run_id,
            environment: found.environment,
            event_name: owned("event_name").or_else(|| owned("pipeline_source")),
        };
        // Maintainers read these values to decide; one that could redraw
        // their terminal or is not a commit/run id refuses the whole token.
        crate::provenance::check(&provenance)
            .map_err(|err| AuthError::Refused(format!("provenance of {}: {err}", package.name)))?;
        let guard = DbReplayGuard {
            db,
            failure: Mutex::new(None),
        };
        if let Err(err) = verified.check_replay(&guard, DEFAULT_LEEWAY).await {
            if let Ok(mut slot) = guard.failure.lock()
                && let Some(storage) = slot.take()
            {
                return Err(AuthError::Internal(storage));
            }
            return Err(AuthError::Refused(err.to_string()));
        }
        Ok(provenance)
    }
}

/// The `jti` replay guard on the gate database: one row per token id, kept
/// until the token can no longer verify. Atomic: the insert is a primary-key
/// insert inside a write transaction.
struct DbReplayGuard<'a> {
    db: &'a Db,
    failure: Mutex<Option<StorageError>>,
}

impl ReplayGuard for DbReplayGuard<'_> {
    fn check_and_remember(
        &self,
        jti: &str,
        forget_after: SystemTime,
    ) -> impl Future<Output = Result<(), VerifyError>> + Send {
        // The verifier only passes times it checked (1970..9999 plus
        // leeway); anything else is refused rather than stored as "expired
        // at 0" and pruned at once.
        let exp = forget_after
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok());
        async move {
            let Some(exp) = exp else {
                return Err(Rejection::TimeOutOfRange {
                    claim: "exp".into(),
                    value: format!("{forget_after:?}"),
                }
                .into());
            };
            let result = async {
                let mut tx = self.db.begin_write().await?;
                let fresh = tx.record_jti(jti, exp, crate::unix_now()).await?;
                tx.commit().await?;
                Ok::<bool, StorageError>(fresh)
            }
            .await;
            match result {
                Ok(true) => Ok(()),
                Ok(false) => Err(Rejection::Replayed(jti.to_owned()).into()),
                Err(err) => {
                    if let Ok(mut slot) = self.failure.lock() {
                        *slot = Some(err);
                    }
                    Err(Rejection::Replayed(jti.to_owned()).into())
                }
            }
        }
    }
}

/// The dev issuer's URL for a gate at `public_url`.
pub fn dev_issuer_url(public_url: &str) -> String {
    format!("{}{DEV_ISSUER_PATH}", public_url.trim_end_matches('/'))
}

/// Adds the dev issuer's discovery and JWKS routes when configured.
pub fn dev_issuer_routes(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    if state.dev_documents().is_none() {
        return router;
    }
    router
        .route(
            &format!("{DEV_ISSUER_PATH}{DISCOVERY_PATH}"),
            get(dev_discovery),
        )
        .route(&format!("{DEV_ISSUER_PATH}{JWKS_PATH}"), get(dev_jwks))
        .route(
            crate::dev_token::DEV_TOKEN_PATH,
            get(crate::dev_token::token),
        )
}

fn json(body: Arc<str>) -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, shipgate_oidc::server::CACHE_CONTROL),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn dev_discovery(State(state): State<AppState>) -> Response {
    match state.dev_documents() {
        Some(docs) => json(docs.refresh().0),
        None => crate::api::ApiError::not_found("no dev issuer").into_response(),
    }
}

async fn dev_jwks(State(state): State<AppState>) -> Response {
    match state.dev_documents() {
        Some(docs) => json(docs.refresh().1),
        None => crate::api::ApiError::not_found("no dev issuer").into_response(),
    }
}

impl PublisherAuth {
    /// The dev issuer's documents, when configured.
    pub fn dev_documents(&self) -> Option<&Arc<Documents>> {
        self.dev_documents.as_ref()
    }
}

#[cfg(test)]
mod tests {
    //! The gate's token path end to end, without HTTP in front: a real
    //! issuer on loopback (discovery + JWKS), the config as an operator
    //! writes it, the real database for `jti`s.

    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use shipgate_oidc::server::Documents;
    use shipgate_oidc::{Algorithm, KeyDir, SigningKey};

    use super::{AuthError, PublisherAuth};
    use crate::config::GateConfig;
    use crate::storage::Db;

    struct Issuer {
        url: String,
        key: SigningKey,
        _dir: tempfile::TempDir,
    }

    async fn issuer() -> Issuer {
        let dir = tempfile::tempdir().unwrap();
        let keydir = KeyDir::new(dir.path().join("keys"));
        keydir.generate(Algorithm::EdDSA).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let documents = Arc::new(Documents::load(keydir, &url).unwrap());
        let key = documents.signing_key();
        let app = shipgate_oidc::server::router(documents);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Issuer {
            url,
            key,
            _dir: dir,
        }
    }

    /// A gate whose package `hello` is bound to acme/hello on `issuer`;
    /// `binding` adds or replaces lines of the binding.
    async fn gate(
        issuer: &Issuer,
        binding: &str,
    ) -> (GateConfig, PublisherAuth, Db, tempfile::TempDir) {
        let text = format!(
            r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"

[[package]]
name = "hello"
maintainers = ["alice"]

[[package.publisher]]
provider = "github"
issuer = "{}"
repository = "acme/hello"
repository_owner_id = "42"
workflow = ".github/workflows/release.yml"
{binding}
"#,
            issuer.url
        );
        let dir = crate::private_files::private_tempdir();
        let config = GateConfig::parse(&text, "gate.toml".as_ref(), dir.path()).unwrap();
        let auth = PublisherAuth::from_config(&config).unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        (config, auth, db, dir)
    }

    fn now() -> i64 {
        crate::unix_now()
    }

    /// Claims of a release job of acme/hello at tag v1.0.0.
    fn claims(issuer: &Issuer, jti: &str) -> Value {
        let t = now();
        json!({
            "iss": issuer.url, "aud": "shipgate-test", "sub": "repo:acme/hello:environment:release",
            "iat": t, "nbf": t, "exp": t + 300, "jti": jti,
            "repository": "acme/hello", "repository_owner_id": "42", "repository_id": "74",
            "workflow_ref": "acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0",
            "ref": "refs/tags/v1.0.0", "sha": "ab".repeat(20), "run_id": "1",
            "environment": "release", "event_name": "push",
        })
    }

    /// Signs a payload given as JSON text (so numbers reach the verifier as
    /// written: `2^64`, `1e30`).
    fn sign_raw(issuer: &Issuer, payload: &str) -> String {
        let header = json!({"alg": "EdDSA", "kid": issuer.key.kid(), "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload)
        );
        format!("{input}.{}", issuer.key.sign_b64(input.as_bytes()).unwrap())
    }

    fn sign(issuer: &Issuer, claims: &Value) -> String {
        sign_raw(issuer, &claims.to_string())
    }

    async fn stage(
        auth: &PublisherAuth,
        config: &GateConfig,
        db: &Db,
        token: &str,
    ) -> Result<(), String> {
        let package = config.package("hello").unwrap();
        match auth.authorize(token, package, db).await {
            Ok(_) => Ok(()),
            Err(AuthError::Refused(reason)) => Err(reason),
            Err(other) => panic!("not a refusal: {other:?}"),
        }
    }

    #[tokio::test]
    async fn hostile_exp_values_never_stage_and_never_panic() {
        let issuer = issuer().await;
        let (config, auth, db, _dir) =
            gate(&issuer, "environment = \"release\"\nref = \"refs/tags/v*\"").await;
        for (i, raw) in [
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551616",
            "1e30",
            "-1",
            "\"123\"",
            "1.5",
            "253402300800",
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = claims(&issuer, &format!("hostile-{i}"));
            c.as_object_mut().unwrap().remove("exp");
            let text = c.to_string();
            let payload = format!("{},\"exp\":{raw}}}", &text[..text.len() - 1]);
            let token = sign_raw(&issuer, &payload);
            // Once was a panic (2^63-1) or five stagings (2^63): never now.
            for attempt in 0..5 {
                let reason = stage(&auth, &config, &db, &token).await.unwrap_err();
                assert!(
                    reason.contains("`exp` claim"),
                    "exp={raw} #{attempt}: {reason}"
                );
            }
        }
        // A year and a day ahead is refused too; half a year is fine and
        // its jti stays burned for that long.
        let mut c = claims(&issuer, "too-far");
        c["exp"] = json!(now() + 366 * 86_400);
        let reason = stage(&auth, &config, &db, &sign(&issuer, &c))
            .await
            .unwrap_err();
        assert!(reason.contains("more than 31536000s after now"), "{reason}");
        let mut c = claims(&issuer, "half-a-year");
        let exp = now() + 180 * 86_400;
        c["exp"] = json!(exp);
        let token = sign(&issuer, &c);
        stage(&auth, &config, &db, &token).await.unwrap();
        for _ in 0..5 {
            let reason = stage(&auth, &config, &db, &token).await.unwrap_err();
            assert!(reason.contains("already used"), "{reason}");
        }
        let mut tx = db.begin_write().await.unwrap();
        let fresh = tx
            .record_jti("half-a-year", exp, now() + 90 * 86_400)
            .await
            .unwrap();
        assert!(!fresh, "still remembered three months later");
    }

    #[tokio::test]
    async fn bindings_refuse_pull_requests_and_events_a_release_does_not_run_on() {
        let issuer = issuer().await;
        let (config, auth, db, _dir) = gate(&issuer, "environment = \"*\"\nref = \"*\"").await;
        let refused = [
            (json!({"ref": "refs/pull/1/merge"}), "pull request"),
            (
                json!({"event_name": "pull_request"}),
                "not one the binding accepts",
            ),
            (
                json!({"event_name": "pull_request_target"}),
                "refused for publishing",
            ),
            (
                json!({"event_name": "issue_comment"}),
                "not one the binding accepts",
            ),
        ];
        for (i, (changes, needle)) in refused.iter().enumerate() {
            let mut c = claims(&issuer, &format!("r{i}"));
            for (k, v) in changes.as_object().unwrap() {
                c[k] = v.clone();
            }
            let reason = stage(&auth, &config, &db, &sign(&issuer, &c))
                .await
                .unwrap_err();
            assert!(reason.contains(needle), "{changes}: {reason}");
        }
        // "*" accepts any environment (or none) and any other ref.
        let mut c = claims(&issuer, "any");
        c["ref"] = json!("refs/heads/main");
        c.as_object_mut().unwrap().remove("environment");
        stage(&auth, &config, &db, &sign(&issuer, &c))
            .await
            .unwrap();

        // Listed events, and a pinned repository id.
        let (config, auth, db, _dir) = gate(
            &issuer,
            "environment = \"release\"\nref = \"refs/tags/v*\"\nevents = [\"issue_comment\"]\nrepository_id = \"74\"",
        )
        .await;
        let mut c = claims(&issuer, "comment");
        c["event_name"] = json!("issue_comment");
        stage(&auth, &config, &db, &sign(&issuer, &c))
            .await
            .unwrap();
        let reason = stage(
            &auth,
            &config,
            &db,
            &sign(&issuer, &claims(&issuer, "push")),
        )
        .await
        .unwrap_err();
        assert!(reason.contains("\"push\" is not one"), "{reason}");
        let mut c = claims(&issuer, "recreated");
        c["event_name"] = json!("issue_comment");
        c["repository_id"] = json!("75");
        let reason = stage(&auth, &config, &db, &sign(&issuer, &c))
            .await
            .unwrap_err();
        assert!(reason.contains("repository_id"), "{reason}");
    }
}
