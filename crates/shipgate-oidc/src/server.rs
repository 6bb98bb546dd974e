//! Serving discovery and the JWKS over HTTP (`shipgate oidc serve`).
//!
//! Both documents are answered with `Cache-Control: public, max-age=300`:
//! verifiers may cache keys for five minutes (a short time to notice a
//! removed key; a new key needs no wait, as a token signed by a key a
//! verifier does not know makes it refetch). KEYDIR is re-read when its
//! listing (names, sizes, mtimes) changes, checked on each request — a
//! directory read and a few `stat`s, no file watcher. If the new contents do
//! not load, the last good documents keep being served and the error is
//! logged.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::documents::{DISCOVERY_PATH, JWKS_PATH, render};
use crate::keydir::{KeyDir, KeyDirError, KeyRing, Listing, SigningKey};

/// The `Cache-Control` value of both documents.
pub const CACHE_CONTROL: &str = "public, max-age=300";

/// What the server serves, reloaded when KEYDIR changes.
#[derive(Debug)]
pub struct Documents {
    keydir: KeyDir,
    issuer: String,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    /// The listing last loaded (or last failed to load: not retried until it
    /// changes again, so one broken file does not flood the log).
    listing: Listing,
    /// The keys the documents were rendered from: an issuer that signs with
    /// `ring.newest()` signs only with a key it publishes.
    ring: KeyRing,
    discovery: Arc<str>,
    jwks: Arc<str>,
}

impl Documents {
    /// Loads KEYDIR now: the server does not start with a broken directory.
    pub fn load(keydir: KeyDir, issuer: &str) -> Result<Documents, KeyDirError> {
        let listing = keydir.listing()?;
        let ring = keydir.load()?;
        let (discovery, jwks) = render(issuer, &ring);
        Ok(Documents {
            keydir,
            issuer: issuer.to_owned(),
            current: Mutex::new(Current {
                listing,
                ring,
                discovery: discovery.into(),
                jwks: jwks.into(),
            }),
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Re-reads KEYDIR if its listing changed; returns (discovery, JWKS).
    pub fn refresh(&self) -> (Arc<str>, Arc<str>) {
        let current = self.reload_if_changed();
        (current.discovery.clone(), current.jwks.clone())
    }

    /// Re-reads KEYDIR if its listing changed and returns the newest key of
    /// the published set: the key to sign with. A key added to KEYDIR signs
    /// from the next call on, and it is in the JWKS from that moment too.
    pub fn signing_key(&self) -> SigningKey {
        self.reload_if_changed().ring.newest().clone()
    }

    fn reload_if_changed(&self) -> std::sync::MutexGuard<'_, Current> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match self.keydir.listing() {
            Ok(listing) if listing != current.listing => {
                current.listing = listing;
                match self.keydir.load() {
                    Ok(ring) => {
                        let (discovery, jwks) = render(&self.issuer, &ring);
                        current.discovery = discovery.into();
                        current.jwks = jwks.into();
                        tracing::info!(
                            keys = ring.keys().len(),
                            "key directory changed; documents reloaded"
                        );
                        current.ring = ring;
                    }
                    Err(err) => tracing::error!(
                        "key directory changed but does not load ({err}); still serving the previous keys"
                    ),
                }
            }
            Ok(_) => {}
            Err(err) => {
                tracing::error!("key directory unreadable ({err}); still serving the previous keys")
            }
        }
        current
    }
}

/// Routes for both documents below the issuer URL's path (an issuer
/// `https://ci.example.com/tenant` serves `/tenant/.well-known/...`).
pub fn router(documents: Arc<Documents>) -> Router {
    let base = issuer_path(documents.issuer());
    Router::new()
        .route(&format!("{base}{DISCOVERY_PATH}"), get(discovery))
        .route(&format!("{base}{JWKS_PATH}"), get(jwks))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(documents)
}

/// Serves until the process ends, with the default connection limits.
pub async fn serve(
    listener: tokio::net::TcpListener,
    documents: Arc<Documents>,
) -> std::io::Result<()> {
    crate::listen::serve(
        listener,
        router(documents),
        crate::listen::Limits::default(),
        std::future::pending(),
    )
    .await;
    Ok(())
}

fn issuer_path(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

async fn discovery(State(docs): State<Arc<Documents>>) -> Response {
    json_response(docs.refresh().0)
}

async fn jwks(State(docs): State<Arc<Documents>>) -> Response {
    json_response(docs.refresh().1)
}

fn json_response(body: Arc<str>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Binds a TCP listener (port 0 picks a free port) and returns it with the
/// address it is bound to.
pub async fn bind(
    addr: std::net::SocketAddr,
) -> std::io::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Runs `future` on a new single-threaded runtime (for command-line use:
/// the library's futures need a tokio runtime; the gate has its own).
pub fn block_on<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

/// An issuer URL whose port is 0 gets `port` (the port actually bound), so
/// that `--issuer http://127.0.0.1:0 --listen 127.0.0.1:0` works for tests
/// and scripts: `http://127.0.0.1:0/x` → `http://127.0.0.1:4321/x`. Other
/// issuers are returned unchanged.
pub fn issuer_with_bound_port(issuer: &str, port: u16) -> String {
    let Ok(mut url) = url::Url::parse(issuer) else {
        return issuer.to_owned();
    };
    if url.port() != Some(0) || url.set_port(Some(port)).is_err() {
        return issuer.to_owned();
    }
    let text = url.to_string();
    // `Url` writes an empty path as "/"; keep the issuer's own spelling.
    if issuer.ends_with('/') {
        text
    } else {
        text.trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{Documents, issuer_with_bound_port};
    use crate::{Algorithm, KeyDir};

    #[test]
    fn the_signing_key_is_the_newest_published_one() {
        let dir = tempfile::tempdir().unwrap();
        let keydir = KeyDir::new(dir.path());
        let first = keydir.generate(Algorithm::EdDSA).unwrap();
        let docs = Documents::load(keydir.clone(), "https://issuer.example").unwrap();
        assert_eq!(docs.signing_key().kid(), first.kid());
        // A key added while serving signs from the next call, and is published.
        let second = keydir.generate(Algorithm::ES256).unwrap();
        assert_eq!(docs.signing_key().kid(), second.kid());
        let jwks = docs.refresh().1;
        assert!(jwks.contains(first.kid()) && jwks.contains(second.kid()));
        // A broken file keeps the last good set (and its signing key).
        std::fs::write(
            dir.path().join("29990101T000000.000000000Z-rs256.pem"),
            "not a key",
        )
        .unwrap();
        assert_eq!(docs.signing_key().kid(), second.kid());
    }

    #[test]
    fn port_zero_takes_the_bound_port() {
        assert_eq!(
            issuer_with_bound_port("http://127.0.0.1:0", 4321),
            "http://127.0.0.1:4321"
        );
        assert_eq!(
            issuer_with_bound_port("http://127.0.0.1:0/tenant", 4321),
            "http://127.0.0.1:4321/tenant"
        );
        assert_eq!(
            issuer_with_bound_port("https://ci.example.com", 4321),
            "https://ci.example.com"
        );
        assert_eq!(
            issuer_with_bound_port("http://[::1]:0/", 8080),
            "http://[::1]:8080/"
        );
    }
}
