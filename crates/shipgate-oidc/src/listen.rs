//! The accept loop of shipgate's servers (`shipgate oidc serve` and the
//! release gate): HTTP/1.1 connections with the limits a server on the open
//! network needs, which `axum::serve` does not set.
//!
//! - Request headers must arrive within the idle timeout, and a keep-alive
//!   connection may sit idle between requests only that long (hyper's
//!   header-read timeout covers both); otherwise any client could hold a
//!   connection, and with enough of them every file descriptor, forever.
//! - Headers may take at most [`MAX_HEADER_BUFFER`] bytes of buffer per
//!   connection (hyper's default, ~400 KB, let 5,000 unfinished requests
//!   hold 2 GB).
//! - At most `max_connections` connections are served at once; further
//!   clients wait in the kernel's listen backlog until one closes.
//! - On shutdown the listener closes, requests in flight finish, then the
//!   function returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Header bytes buffered per connection (tokens are capped at 16 KiB).
pub const MAX_HEADER_BUFFER: usize = 64 * 1024;

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Header read and keep-alive idle timeout.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 20 s idle timeout, 1024 connections.
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(20),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_maybe_tls(listener, router, limits, None, shutdown).await;
}

/// Like [`serve`], over TLS when `tls` is given: the handshake must finish
/// within the idle timeout and holds a connection slot while it runs, so
/// the same limits hold for TLS clients as for plain ones.
pub async fn serve_maybe_tls(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        .max_buf_size(MAX_HEADER_BUFFER);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: say so, back off
                    // a little instead of spinning, keep serving.
                    tracing::warn!(%err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers go out as soon as they are written: with Nagle's algorithm
        // a streamed body (a file download) written after its headers waits
        // for the client's delayed ACK, about 40 ms per response (seen in
        // the load drill as a 40 ms floor on `fetch`).
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY on a connection");
        }
        let service = TowerToHyperService::new(router.clone());
        let Some(acceptor) = tls.clone() else {
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(%peer, %err, "connection ended with an error");
                }
                drop(permit);
            });
            continue;
        };
        let watcher = graceful.watcher();
        let http = http.clone();
        let handshake_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => {
                        tracing::debug!(%peer, %err, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let connection = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
            if let Err(err) = connection.await {
                tracing::debug!(%peer, %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running {DRAIN_TIMEOUT:?} after shutdown were cut off");
    }
}
