//! Issuing tokens: standard claims plus any extra claims, signed by one key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::b64;
use crate::fetch::check_url;
use crate::keydir::{KeyDirError, SigningKey};
use crate::numeric_date::MAX_NUMERIC_DATE;

/// Longest lifetime a token may be issued with. Execution tokens are meant
/// to live minutes; a day is a generous ceiling.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// The default lifetime.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Claims the issuer sets itself; `--claim` may not override them.
pub const RESERVED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"];

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The issuer is not an https URL (or http to a loopback address):
    /// verifiers would refuse to fetch its keys.
    #[error("issuer {0:?} must be an https URL (or http to 127.0.0.1/[::1])")]
    BadIssuer(String),
    /// Empty subject or audience.
    #[error("the {0} must not be empty")]
    Empty(&'static str),
    /// A lifetime of zero or above [`MAX_TTL`].
    #[error("lifetime {0}s is outside 1s..=24h")]
    Ttl(u64),
    /// An extra claim tries to set a registered claim.
    #[error("claim `{0}` is set by the issuer and cannot be given")]
    ReservedClaim(String),
    /// The clock (or the time given to [`Issuer::issue_at`]) is before 1970,
    /// or so late that `exp` would be after the year 9999.
    #[error("the clock is outside 1970..9999")]
    Clock,
    /// The key could not sign.
    #[error(transparent)]
    Sign(#[from] KeyDirError),
}

/// What to put in a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `sub`.
    pub subject: String,
    /// `aud`: one audience is written as a string, several as an array.
    pub audience: Vec<String>,
    /// Lifetime: `exp = iat + ttl`.
    pub ttl: Duration,
    /// Extra claims (execution or release claims such as `execution_id`,
    /// `commit_sha`, `digest`).
    pub claims: Map<String, Value>,
}

/// A signed token and the claims it carries.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: u64,
}

/// Signs tokens for one issuer with one key (the newest of KEYDIR).
#[derive(Debug, Clone)]
pub struct Issuer {
    issuer: String,
    key: SigningKey,
}

impl Issuer {
    /// An issuer for `issuer` (an https URL, or http to loopback).
    pub fn new(issuer: &str, key: SigningKey) -> Result<Issuer, IssueError> {
        check_url(issuer).map_err(|_| IssueError::BadIssuer(issuer.to_owned()))?;
        Ok(Issuer {
            issuer: issuer.to_owned(),
            key,
        })
    }

    /// The issuer URL (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Issues a token now.
    pub fn issue(&self, request: &TokenRequest) -> Result<IssuedToken, IssueError> {
        self.issue_at(request, SystemTime::now())
    }

    /// Issues a token as of `now`: `iat = nbf = now`, a random 128-bit `jti`.
    pub fn issue_at(
        &self,
        request: &TokenRequest,
        now: SystemTime,
    ) -> Result<IssuedToken, IssueError> {
        if request.subject.is_empty() {
            return Err(IssueError::Empty("subject"));
        }
        if request.audience.is_empty() || request.audience.iter().any(String::is_empty) {
            return Err(IssueError::Empty("audience"));
        }
        let ttl = request.ttl.as_secs();
        if ttl == 0 || request.ttl > MAX_TTL {
            return Err(IssueError::Ttl(ttl));
        }
        if let Some(name) = request
            .claims
            .keys()
            .find(|name| RESERVED_CLAIMS.contains(&name.as_str()))
        {
            return Err(IssueError::ReservedClaim(name.clone()));
        }
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| IssueError::Clock)?
            .as_secs();
        // A token verifiers would refuse (exp beyond MAX_NUMERIC_DATE) is
        // not issued.
        let exp = iat
            .checked_add(ttl)
            .filter(|exp| i64::try_from(*exp).is_ok_and(|exp| exp <= MAX_NUMERIC_DATE))
            .ok_or(IssueError::Clock)?;
        let jti = random_id();
        let aud = match request.audience.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(request.subject));
        claims.insert("aud".into(), aud);
        claims.insert("iat".into(), json!(iat));
        claims.insert("nbf".into(), json!(iat));
        claims.insert("exp".into(), json!(exp));
        claims.insert("jti".into(), json!(jti));
        for (name, value) in &request.claims {
            claims.insert(name.clone(), value.clone());
        }
        let header = json!({
            "alg": self.key.algorithm().as_str(),
            "kid": self.key.kid(),
            "typ": "JWT",
        });
        let signing_input = format!(
            "{}.{}",
            b64::encode(header.to_string()),
            b64::encode(Value::Object(claims).to_string())
        );
        let signature = self.key.sign_b64(signing_input.as_bytes())?;
        Ok(IssuedToken {
            token: format!("{signing_input}.{signature}"),
            jti,
            expires_at: exp,
        })
    }
}

/// 128 random bits, base64url.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // aws-lc's RNG does not fail on supported platforms; an all-zero id
    // would still be unique enough to be caught by a replay guard.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("the system random generator failed");
    }
    b64::encode(bytes)
}
