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

/// Builds the `shipgate-oidc` binding for one `[[package.publisher]]`.
pub fn binding(publisher: &PublisherConfig) -> Binding {
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
                workflow: file.to_owned(),
                workflow_source: match &publisher.workflow_repository {
                    Some(repository) => WorkflowSource::Reusable {
                        repository: repository.clone(),
                    },
                    None => WorkflowSource::Caller,
                },
                environment: publisher.environment.clone(),
                ref_pattern: publisher.ref_glob.clone(),
            })
        }
        Provider::Gitlab => Binding::GitLab(GitLabBinding {
            issuer: publisher.issuer.clone(),
            project_path: publisher.repository.clone(),
            project_id: publisher.repository_owner_id.clone(),
            ci_config_path: publisher.workflow.clone(),
            environment: publisher.environment.clone(),
            ref_pattern: publisher.ref_glob.clone(),
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
        let exp = forget_after
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        async move {
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
