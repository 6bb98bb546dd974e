//! The witness's HTTP API:
//!
//! - `POST /add-checkpoint` (C2SP `tlog-witness`): 200 with the cosignature
//!   line; 400 malformed; 403 not signed by the log's key; 404 unknown log;
//!   409 with the witness's size (`text/x.tlog.size`) when `old` is not it,
//!   or another root at the same size; 422 a bad consistency proof.
//! - `GET /key`: the witness's verifier key, one line.
//! - `GET /checkpoint?origin=ORIGIN`: the latest checkpoint it cosigned for a
//!   log, as the log signed it (for monitors comparing views).
//!
//! Every error body is one text line saying why.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use shipgate_log::add_checkpoint::{MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE, size_body};

use crate::witness::{AddError, Witness};

/// The server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("witness server: {0}")]
    Io(#[from] std::io::Error),
}

const TEXT: &str = "text/plain; charset=utf-8";

fn text(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, TEXT)], body).into_response()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    // The state is written and fsynced under the witness's lock: off the
    // async threads.
    let task = {
        let witness = witness.clone();
        tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now()))
    };
    let result = match task.await {
        Ok(result) => result,
        Err(_) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed\n".into(),
            );
        }
    };
    match result {
        Ok(lines) => text(StatusCode::OK, lines),
        Err(AddError::WrongOldSize { size, old }) => {
            tracing::info!(old, size, "add-checkpoint: old size is not ours");
            (
                StatusCode::CONFLICT,
                [(CONTENT_TYPE, SIZE_CONTENT_TYPE)],
                size_body(size),
            )
                .into_response()
        }
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::error!(%error, "add-checkpoint failed");
            } else {
                tracing::info!(%error, status = status.as_u16(), "add-checkpoint refused");
            }
            let body = match &error {
                // The size is what a client needs to recover (spec: 409 body).
                AddError::Fork { size } => {
                    return (
                        StatusCode::CONFLICT,
                        [(CONTENT_TYPE, SIZE_CONTENT_TYPE)],
                        size_body(*size),
                    )
                        .into_response();
                }
                AddError::State(_) | AddError::Sign(_) => {
                    "the witness could not save its state\n".to_owned()
                }
                other => format!("{other}\n"),
            };
            text(status, body)
        }
    }
}

async fn key(State(witness): State<Arc<Witness>>) -> Response {
    text(StatusCode::OK, format!("{}\n", witness.verifier()))
}

async fn checkpoint(
    State(witness): State<Arc<Witness>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(origin) = query.get("origin") else {
        return text(StatusCode::BAD_REQUEST, "missing ?origin=\n".into());
    };
    match (witness.size(origin), witness.latest_note(origin)) {
        (None, _) => text(StatusCode::NOT_FOUND, "unknown log\n".into()),
        (Some(_), None) => text(StatusCode::NOT_FOUND, "nothing cosigned yet\n".into()),
        (Some(_), Some(note)) => text(StatusCode::OK, note),
    }
}

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/key", get(key))
        .route("/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(witness)
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Arc<Witness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Binds `addr`, calls `on_bound` with the bound address, and serves on its
/// own runtime until SIGTERM or ctrl-c.
pub fn serve_blocking(
    addr: std::net::SocketAddr,
    witness: Witness,
    on_bound: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        on_bound(listener.local_addr()?);
        serve(listener, Arc::new(witness), shutdown_signal()).await
    })
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
