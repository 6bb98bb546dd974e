//! `GET /healthz`: is this gate able to do its job right now?
//!
//! Four checks, each reported by name: the process answers (it does, or
//! there would be no answer), the database takes a write (a row written and
//! rolled back, under the same writer queue as real requests), the data
//! directory's file system has at least `min_free_disk_bytes` free (a gate
//! that cannot store an upload or fsync a commit should leave the load
//! balancer's pool before it starts failing requests), and the blob store
//! answers (a bucket that cannot be reached fails every staging and fetch). 200 when all pass,
//! 503 otherwise; the body is JSON either way.

use std::path::Path;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::AppState;

/// How long the database write probe may wait for its turn.
const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the blob store may take to answer a probe.
const BLOB_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Adds `GET /healthz` to the gate's public router: the same checks, but
/// only their names and verdicts (free disk space is the operator's
/// business; the metrics listener's `/healthz` shows it).
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/healthz", get(serve_public))
}

/// `GET /healthz` on the public listener.
pub async fn serve_public(state: State<AppState>) -> Response {
    let (status, mut body) = check(state).await;
    if let Some(checks) = body["checks"].as_object_mut() {
        for check in checks.values_mut() {
            *check = json!({ "ok": check["ok"] });
        }
    }
    (status, Json(body)).into_response()
}

/// Free bytes for unprivileged users on the file system holding `dir`.
pub fn free_disk_bytes(dir: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// `GET /healthz` on the metrics listener, with figures and reasons.
pub async fn serve(state: State<AppState>) -> Response {
    let (status, body) = check(state).await;
    (status, Json(body)).into_response()
}

async fn check(State(state): State<AppState>) -> (StatusCode, Value) {
    let database = match tokio::time::timeout(DB_PROBE_TIMEOUT, state.db().probe_write()).await {
        Ok(Ok(())) => json!({ "ok": true }),
        Ok(Err(err)) => {
            tracing::error!(%err, "healthz: database write probe failed");
            json!({ "ok": false, "error": "database does not take writes" })
        }
        Err(_) => {
            tracing::error!("healthz: database write probe timed out");
            json!({ "ok": false, "error": "database write probe timed out" })
        }
    };
    let min = state.config().min_free_disk_bytes;
    let disk = match free_disk_bytes(&state.config().data_dir()) {
        Ok(free) => json!({ "ok": free >= min, "free_bytes": free, "min_free_bytes": min }),
        Err(err) => {
            tracing::error!(%err, "healthz: cannot read free disk space");
            json!({ "ok": false, "error": "cannot read free disk space", "min_free_bytes": min })
        }
    };
    let blobs = match tokio::time::timeout(BLOB_PROBE_TIMEOUT, state.blobs().store().probe()).await
    {
        Ok(Ok(())) => json!({ "ok": true }),
        Ok(Err(err)) => {
            tracing::error!(%err, "healthz: the blob store does not answer");
            json!({ "ok": false, "error": "blob store unreachable" })
        }
        Err(_) => {
            tracing::error!("healthz: the blob store probe timed out");
            json!({ "ok": false, "error": "blob store probe timed out" })
        }
    };
    let checks = json!({
        "process": { "ok": true },
        "database": database,
        "disk": disk,
        "blobs": blobs,
    });
    let healthy = checks
        .as_object()
        .is_some_and(|all| all.values().all(|c| c["ok"] == Value::Bool(true)));
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "ok" } else { "failing" },
        "checks": checks,
    });
    (status, body)
}
