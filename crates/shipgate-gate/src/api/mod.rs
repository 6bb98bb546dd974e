//! The HTTP API under `/v1/`, described by `/v1/openapi.json`.
//!
//! Routes are listed once in [`routes`]; the router is built from that list
//! and a test checks that every listed route is in the OpenAPI document.

mod decide;
mod error;
mod execution;
mod log;
pub mod openapi;
mod read;
mod stage;
mod staged_files;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::routing::{MethodRouter, get, post};

pub use error::{ApiError, REFUSED_MESSAGE};

use crate::blobs::Blobs;
use crate::config::GateConfig;
use crate::execution::ExecutionIssuer;
use crate::publishers::PublisherAuth;
use crate::secrets::SecretsKey;
use crate::signing::GateKey;
use crate::storage::Db;
use crate::tlog::service::LogService;

/// Largest JSON body accepted by the non-upload routes.
const SMALL_BODY_LIMIT: usize = 64 * 1024;
/// Longest bearer token accepted (a GitHub OIDC token is about 1-2 KiB).
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// The parts a running gate is made of (what [`AppState::new`] bundles).
#[derive(Debug)]
pub struct Parts {
    /// The loaded gate.toml.
    pub config: GateConfig,
    /// The database.
    pub db: Db,
    /// The blob store.
    pub blobs: Blobs,
    /// The gate's signing key.
    pub key: GateKey,
    /// The key that seals TOTP secrets at rest.
    pub secrets: SecretsKey,
    /// Trusted-publisher checks for staging.
    pub publishers: PublisherAuth,
    /// The execution-token issuer.
    pub execution: ExecutionIssuer,
    /// The transparency-log service.
    pub log: LogService,
    /// Registry credentials and the publish worker's bell.
    pub publishing: crate::publish_worker::Publishing,
}

type Inner = Parts;

impl AppState {
    /// Bundles the gate's parts.
    pub fn new(parts: Parts) -> Self {
        Self {
            inner: Arc::new(parts),
        }
    }

    /// The key that seals TOTP secrets at rest.
    pub fn secrets(&self) -> &SecretsKey {
        &self.inner.secrets
    }

    /// A handle on the database (to close it at shutdown).
    pub fn db_handle(&self) -> Db {
        self.inner.db.clone()
    }

    /// The loaded gate.toml.
    pub fn config(&self) -> &GateConfig {
        &self.inner.config
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The blob store.
    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// Registry credentials and the publish worker's bell.
    pub fn publishing(&self) -> &crate::publish_worker::Publishing {
        &self.inner.publishing
    }

    pub(crate) fn key(&self) -> &GateKey {
        &self.inner.key
    }

    fn publishers(&self) -> &PublisherAuth {
        &self.inner.publishers
    }

    /// The gate's public URL (with the bound port when configured as `:0`).
    pub(crate) fn public_url(&self) -> &str {
        &self.inner.config.public_url
    }

    /// The dev issuer's request token, when this gate serves a token endpoint.
    pub(crate) fn dev_request_token(&self) -> Option<&str> {
        self.inner.config.dev_issuer_request_token.as_deref()
    }

    /// The execution-token issuer.
    pub(crate) fn execution(&self) -> &ExecutionIssuer {
        &self.inner.execution
    }

    pub(crate) fn log(&self) -> &LogService {
        &self.inner.log
    }

    /// The dev issuer's documents, when this gate serves one.
    pub(crate) fn dev_documents(&self) -> Option<&Arc<shipgate_oidc::server::Documents>> {
        self.inner.publishers.dev_documents()
    }
}

/// Every route: (method, path in OpenAPI syntax, handler).
pub fn routes(max_upload: u64) -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    // The multipart framing around the files is small; allow 1 MiB of it.
    let upload_limit = usize::try_from(max_upload.saturating_add(1 << 20)).unwrap_or(usize::MAX);
    vec![
        ("get", "/v1/info", get(read::info)),
        ("get", "/v1/openapi.json", get(openapi::serve)),
        ("get", "/v1/releases", get(read::list)),
        ("get", "/v1/releases/{id}", get(read::show)),
        ("post", "/v1/releases/{id}/approve", post(decide::approve)),
        (
            "get",
            "/v1/releases/{id}/files/{file}",
            get(staged_files::download),
        ),
        ("post", "/v1/releases/{id}/reject", post(decide::reject)),
        (
            "post",
            "/v1/releases/{id}/execution-token",
            post(execution::issue),
        ),
        (
            "post",
            "/v1/packages/{name}/versions/{version}",
            post(stage::stage).layer(DefaultBodyLimit::max(upload_limit)),
        ),
        (
            "get",
            "/v1/packages/{name}/versions/{version}/manifest",
            get(read::manifest),
        ),
        (
            "get",
            "/v1/packages/{name}/versions/{version}/manifest.minisig",
            get(read::signature),
        ),
        (
            "get",
            "/v1/packages/{name}/versions/{version}/files/{file}",
            get(read::file),
        ),
        (
            "get",
            "/v1/packages/{name}/versions/{version}/release",
            get(log::released_version),
        ),
        ("get", "/v1/log/checkpoint", get(log::checkpoint)),
        ("get", "/v1/log/key", get(log::key)),
        ("get", "/v1/log/entries", get(log::entries)),
        ("get", "/v1/log/proof/inclusion", get(log::inclusion)),
        ("get", "/v1/log/proof/consistency", get(log::consistency)),
    ]
}

/// The gate's router.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (_, path, handler) in routes(state.config().max_upload_bytes) {
        router = router.route(path, handler);
    }
    router = crate::publishers::dev_issuer_routes(router, &state);
    router = crate::execution::routes(router);
    router = crate::health::routes(router);
    router = crate::web::routes(router);
    router = crate::metrics::instrument(router);
    router
        .fallback(|| async { ApiError::not_found("no such route (see /v1/openapi.json)") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT))
        .with_state(state)
}

/// The bearer token of a request, or a refusal.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::refused("no Authorization header"))?
        .to_str()
        .map_err(|_| ApiError::refused("Authorization header is not visible ASCII"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::refused("Authorization header is not `Bearer TOKEN`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::refused("Authorization scheme is not Bearer"));
    }
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::refused("bearer token is empty or too long"));
    }
    Ok(token)
}

/// True for anything shaped like a JWT (`xxx.yyy.zzz`): a CI token.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
}
