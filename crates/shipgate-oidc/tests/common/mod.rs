//! Helpers shared by the integration tests: keys made once, hand-crafted
//! tokens, and a real HTTP issuer on loopback whose documents a test can
//! change and whose hits it can count.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use shipgate_oidc::{Algorithm, SigningKey};

pub const ISS: &str = "https://ci.example.com";
pub const AUD: &str = "deploy";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One key per algorithm, generated once per test binary (RSA is slow).
pub struct Keys {
    pub rsa: SigningKey,
    pub ec: SigningKey,
    pub ed: SigningKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: SigningKey::generate(Algorithm::RS256).unwrap().0,
        ec: SigningKey::generate(Algorithm::ES256).unwrap().0,
        ed: SigningKey::generate(Algorithm::EdDSA).unwrap().0,
    })
}

impl Keys {
    pub fn all(&self) -> [&SigningKey; 3] {
        [&self.rsa, &self.ec, &self.ed]
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": self.all().iter().map(|k| k.public_jwk().to_published_json(k.kid())).collect::<Vec<_>>()})
    }

    pub fn key_set(&self) -> shipgate_oidc::KeySet {
        shipgate_oidc::KeySet::from_keys(self.all().iter().map(|k| k.verifying_key().unwrap()))
    }
}

/// The usual header for `key`.
pub fn header(key: &SigningKey) -> Value {
    json!({"alg": key.algorithm().as_str(), "kid": key.kid(), "typ": "JWT"})
}

/// Good claims for ISS/AUD, valid for ten minutes.
pub fn claims() -> Value {
    let now = now();
    json!({"iss": ISS, "sub": "execution:42", "aud": AUD, "iat": now, "nbf": now,
           "exp": now + 600, "jti": "jti-1", "node_id": "deploy-prod"})
}

/// Signs header and payload given as raw JSON text (so tests can write
/// duplicate names or odd types) with `key`.
pub fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign_b64(input.as_bytes()).unwrap();
    format!("{input}.{sig}")
}

pub fn sign(key: &SigningKey, header: &Value, payload: &Value) -> String {
    sign_raw(key, &header.to_string(), &payload.to_string())
}

/// Signs `claims` with the usual header.
pub fn token(key: &SigningKey, claims: &Value) -> String {
    sign(key, &header(key), claims)
}

/// A loopback HTTP issuer serving discovery and a JWKS a test can replace.
pub struct TestIssuer {
    pub url: String,
    state: Arc<IssuerState>,
}

pub struct IssuerState {
    pub discovery: Mutex<Value>,
    pub jwks: Mutex<Value>,
    pub cache_control: Mutex<String>,
    pub discovery_hits: AtomicUsize,
    pub jwks_hits: AtomicUsize,
    pub other_hits: AtomicUsize,
}

impl TestIssuer {
    /// Starts on 127.0.0.1:<free port> with `jwks`; discovery names the URL.
    pub async fn start(jwks: Value) -> TestIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(IssuerState {
            discovery: Mutex::new(json!({"issuer": url, "jwks_uri": format!("{url}/jwks")})),
            jwks: Mutex::new(jwks),
            cache_control: Mutex::new("public, max-age=300".into()),
            discovery_hits: AtomicUsize::new(0),
            jwks_hits: AtomicUsize::new(0),
            other_hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks_doc))
            .fallback(other)
            .with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestIssuer { url, state }
    }

    pub fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    pub fn set_discovery(&self, doc: Value) {
        *self.state.discovery.lock().unwrap() = doc;
    }

    pub fn set_cache_control(&self, value: &str) {
        *self.state.cache_control.lock().unwrap() = value.into();
    }

    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    pub fn other_hits(&self) -> usize {
        self.state.other_hits.load(Ordering::SeqCst)
    }
}

async fn discovery(State(s): State<Arc<IssuerState>>) -> impl IntoResponse {
    s.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let body = s.discovery.lock().unwrap().to_string();
    let cc = s.cache_control.lock().unwrap().clone();
    ([(header::CACHE_CONTROL, cc)], body)
}

async fn jwks_doc(State(s): State<Arc<IssuerState>>) -> impl IntoResponse {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let body = s.jwks.lock().unwrap().to_string();
    let cc = s.cache_control.lock().unwrap().clone();
    ([(header::CACHE_CONTROL, cc)], body)
}

async fn other(State(s): State<Arc<IssuerState>>) -> impl IntoResponse {
    s.other_hits.fetch_add(1, Ordering::SeqCst);
    (axum::http::StatusCode::NOT_FOUND, "")
}
