//! OIDC execution tokens for shipgate: keys, issuing, JWKS and discovery
//! documents, a strict verifier, trusted-publisher bindings and replay
//! protection.
//!
//! # Issuing
//! ```no_run
//! # use shipgate_oidc::*;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keydir = KeyDir::new("keys");
//! keydir.generate(Algorithm::RS256)?;                 // once; rotate by adding keys
//! let ring = keydir.load()?;                          // every key, oldest first
//! let issuer = Issuer::new("https://ci.example.com", ring.newest().clone())?;
//! let token = issuer.issue(&TokenRequest {
//!     subject: "execution:42".into(),
//!     audience: vec!["deploy".into()],
//!     ttl: DEFAULT_TTL,
//!     claims: serde_json::json!({"commit_sha": "abc123"}).as_object().cloned().unwrap_or_default(),
//! })?;
//! documents::publish("https://ci.example.com", &ring, "site".as_ref())?;
//! # let _ = token; Ok(()) }
//! ```
//!
//! # Verifying
//! ```no_run
//! # use shipgate_oidc::*;
//! # async fn f(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::remote("https://ci.example.com", RemoteOptions::default())?;
//! let mut validation = Validation::new("deploy");
//! validation.expectations.push(Expectation::exact("commit_sha", "abc123")?);
//! match verifier.verify(token, &validation).await {
//!     Ok(verified) => println!("{}", verified.claims.to_json()),
//!     Err(VerifyError::Rejected(reason)) => tracing::info!("refused: {reason}"),
//!     Err(VerifyError::Keys(err)) => return Err(err.into()),
//!     Err(other) => return Err(other.into()),
//! }
//! # Ok(()) }
//! ```
//!
//! The gate verifies CI tokens with a [`VerifierSet`] (an issuer allow-list
//! consulted before any fetch), matches them against a [`binding::Binding`]
//! and refuses replays with a [`ReplayGuard`].

mod alg;
mod allowlist;
mod b64;
pub mod binding;
mod claims;
mod disk_cache;
pub mod documents;
mod duration;
mod error;
mod expect;
mod fetch;
mod issuer;
mod json;
mod jwk;
mod jwks;
mod keydir;
pub mod listen;
mod numeric_date;
mod remote;
mod replay;
pub mod server;
mod signature;
mod timestamp;
pub use timestamp::civil_from_days;
mod token;
mod verifier;

pub use alg::Algorithm;
pub use allowlist::VerifierSet;
pub use claims::{Claims, DEFAULT_LEEWAY, MAX_EXP_AHEAD, Validation};
pub use disk_cache::DiskCache;
pub use duration::{DurationError, parse_duration};
pub use error::{Part, Rejection, VerifyError};
pub use expect::{Expectation, ExpectationError};
pub use fetch::{FetchError, FetchOptions, check_url, discovery_url};
pub use issuer::{
    DEFAULT_TTL, IssueError, IssuedToken, Issuer, MAX_TTL, RESERVED_CLAIMS, TokenRequest,
};
pub use json::JsonError;
pub use jwk::{JwkError, PublicJwk};
pub use jwks::{JwksError, KeySet};
pub use keydir::{KeyDir, KeyDirError, KeyRing, Listing, SigningKey};
pub use numeric_date::MAX_NUMERIC_DATE;
pub use remote::{RemoteKeys, RemoteOptions};
pub use replay::{InMemoryReplayGuard, ReplayGuard};
pub use signature::{SignatureError, VerifyingKey};
pub use token::{MAX_TOKEN_BYTES, UnverifiedToken, parse as parse_unverified};
pub use verifier::{VerifiedToken, Verifier};
