//! The dev issuer's GitHub-compatible token endpoint (dev gates and tests
//! only): `GET {public_url}/dev-issuer/token?audience=AUD` with
//! `Authorization: Bearer <dev_issuer_request_token>` answers
//! `{"value": "<JWT>"}`, exactly what GitHub Actions' endpoint at
//! `ACTIONS_ID_TOKEN_REQUEST_URL` answers. So `shipgate stage` (and `stage
//! --wait`, which asks for a second, fresh token after the approval) run
//! against a dev gate the same way they run in GitHub Actions.
//!
//! The token carries GitHub-shaped claims for the dev sample package by
//! default; the query may set `repository`, `repository_owner_id`,
//! `workflow` (file path), `ref`, `sha`, `run_id` and `environment`, as a
//! real runner's job context would, so tests can act as several runs.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use shipgate_oidc::{Issuer, TokenRequest};
use subtle::ConstantTimeEq;

use crate::api::{ApiError, AppState};
use crate::dev::{DEV_OWNER_ID, DEV_REPOSITORY};
use crate::publishers::dev_issuer_url;

/// The path of the endpoint.
pub const DEV_TOKEN_PATH: &str = "/dev-issuer/token";
/// Lifetime of a dev CI token (GitHub's are valid for minutes too).
const TTL: Duration = Duration::from_secs(300);
/// The query parameters the endpoint reads.
const PARAMS: [&str; 8] = [
    "audience",
    "repository",
    "repository_owner_id",
    "workflow",
    "ref",
    "sha",
    "run_id",
    "environment",
];

/// Answers like GitHub's token endpoint.
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (Some(expected), Some(documents)) = (
        state.dev_request_token(),
        state.dev_documents().map(|d| d.as_ref()),
    ) else {
        return Err(ApiError::not_found("this gate has no dev token endpoint"));
    };
    let presented = crate::api::bearer(&headers)?;
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ApiError::refused("dev token endpoint: wrong request token"));
    }
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(unknown) = query.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {unknown:?}; accepted: {}",
            PARAMS.join(", ")
        )));
    }
    let get = |name: &str, default: &str| {
        query
            .get(name)
            .map_or_else(|| default.to_owned(), Clone::clone)
    };
    let audience = get("audience", "");
    if audience.is_empty() {
        return Err(ApiError::bad_request(
            "the `audience` parameter is required",
        ));
    }
    let repository = get("repository", DEV_REPOSITORY);
    let git_ref = get("ref", "refs/heads/main");
    let workflow = get("workflow", ".github/workflows/release.yml");
    let workflow_ref = format!("{repository}/{workflow}@{git_ref}");
    let environment = query.get("environment").cloned();
    let subject = match &environment {
        Some(env) => format!("repo:{repository}:environment:{env}"),
        None => format!("repo:{repository}:ref:{git_ref}"),
    };
    let mut claims = Map::new();
    for (name, value) in [
        ("repository", json!(repository)),
        (
            "repository_owner_id",
            json!(get("repository_owner_id", DEV_OWNER_ID)),
        ),
        ("workflow_ref", json!(workflow_ref)),
        ("job_workflow_ref", json!(workflow_ref)),
        ("ref", json!(git_ref)),
        ("sha", json!(get("sha", &"0".repeat(40)))),
        ("run_id", json!(get("run_id", "1"))),
        ("run_attempt", json!("1")),
        ("event_name", json!("push")),
    ] {
        claims.insert(name.to_owned(), value);
    }
    if let Some(env) = environment {
        claims.insert("environment".into(), json!(env));
    }
    let issuer = Issuer::new(&dev_issuer_url(state.public_url()), documents.signing_key())
        .map_err(|e| ApiError::internal(format!("dev issuer: {e}")))?;
    let issued = issuer
        .issue(&TokenRequest {
            subject,
            audience: vec![audience],
            ttl: TTL,
            claims,
        })
        .map_err(|e| ApiError::bad_request(format!("cannot mint: {e}")))?;
    Ok(Json(json!({ "value": issued.token })))
}
