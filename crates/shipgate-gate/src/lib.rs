//! The release gate server: configuration, storage, blobs, maintainer
//! credentials, approvals and the HTTP API. What it shares with its clients
//! (API bodies, name rules, log leaves) is in `shipgate-protocol`; the client
//! itself is `shipgate-client`.
//!
//! CI stages a release with its OIDC identity; maintainers approve it with a
//! personal token and a TOTP code; when the quorum is met the gate signs the
//! release manifest with its own key and serves the files read-only.

// The hand-written OpenAPI document is one large `json!` literal.
#![recursion_limit = "512"]

pub mod admin;
pub mod api;
pub mod approvals;
pub mod artifacts;
pub mod backup;
pub mod blobs;
pub mod config;
pub mod credentials;
pub mod dev;
mod dev_token;
mod diff;
pub mod execution;
pub mod health;
pub mod limits;
pub mod lockout;
pub mod maintenance;
pub mod metrics;
pub mod migrate;
pub mod private_files;
pub mod provenance;
pub mod publish_worker;
pub mod publishers;
pub mod secrets;
pub mod server;
pub mod signing;
pub mod storage;
pub mod targets;
pub mod tlog;
pub mod tls;
pub mod web;
pub mod webhook_config;
pub mod webhook_message;
pub mod webhook_worker;

/// Current Unix time in seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Runs a future to completion on a fresh single-threaded runtime (for the
/// CLI's local commands such as `shipgate admin`).
pub fn block_on<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future))
}
