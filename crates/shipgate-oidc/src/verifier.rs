//! The verifier for one pinned issuer.
//!
//! Order of checks: the strict pre-parse (no network for a malformed token),
//! the unverified `iss` against the pinned issuer (no fetch for a foreign
//! token), the key by `kid` from the issuer's own JWKS only, the signature
//! with the key's one algorithm, then every claim rule and expectation.
//!
//! Nothing on this path logs above `info`: at the default log level every
//! refused token must produce the same output, so a caller cannot learn which
//! check failed. The precise reason is in the returned [`Rejection`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::alg::Algorithm;
use crate::claims::{Claims, Validation, check_registered};
use crate::error::{Rejection, VerifyError};
use crate::fetch::FetchError;
use crate::jwks::KeySet;
use crate::numeric_date;
use crate::remote::{RemoteKeys, RemoteOptions};
use crate::replay::ReplayGuard;
use crate::signature::VerifyingKey;
use crate::token::{self, UnverifiedToken};

/// A token whose signature and claims were verified.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The key that signed it.
    pub kid: String,
    /// Its claims.
    pub claims: Claims,
}

impl VerifiedToken {
    /// Refuses a token whose `jti` was seen before, and remembers this one
    /// until its `exp` plus `leeway` (its real expiry: the verifier refused
    /// any `exp` that is not a time between 1970 and 9999, so the sum is
    /// exact; should it still not be representable, the token is refused
    /// rather than remembered for less). A token without a string `jti` is
    /// refused.
    pub async fn check_replay<G: ReplayGuard + ?Sized>(
        &self,
        guard: &G,
        leeway: std::time::Duration,
    ) -> Result<(), VerifyError> {
        let jti = self
            .claims
            .jti()
            .filter(|jti| !jti.is_empty())
            .ok_or(Rejection::MissingClaim("jti"))?;
        let exp = self.claims.expires_at();
        let forget_after = numeric_date::to_system_time(exp)
            .and_then(|at| at.checked_add(leeway))
            .ok_or_else(|| Rejection::TimeOutOfRange {
                claim: "exp".into(),
                value: exp.to_string(),
            })?;
        guard.check_and_remember(jti, forget_after).await
    }
}

#[derive(Debug)]
enum Keys {
    Static(Arc<KeySet>),
    Remote(Box<RemoteKeys>),
}

/// Verifies tokens of one issuer.
#[derive(Debug)]
pub struct Verifier {
    issuer: String,
    keys: Keys,
}

impl Verifier {
    /// A verifier whose keys are fetched from the issuer (discovery, then
    /// `jwks_uri`) and cached. The issuer URL must be https (or http to a
    /// loopback address); nothing is fetched until the first token.
    pub fn remote(issuer: &str, options: RemoteOptions) -> Result<Verifier, FetchError> {
        Ok(Verifier {
            issuer: issuer.to_owned(),
            keys: Keys::Remote(Box::new(RemoteKeys::new(issuer, options)?)),
        })
    }

    /// A verifier with a fixed key set (an issuer's own keys, tests, benchmarks).
    pub fn with_keys(issuer: &str, keys: KeySet) -> Verifier {
        Verifier {
            issuer: issuer.to_owned(),
            keys: Keys::Static(Arc::new(keys)),
        }
    }

    /// The pinned issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies `token` now.
    pub async fn verify(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<VerifiedToken, VerifyError> {
        self.verify_at(token, validation, SystemTime::now()).await
    }

    /// Verifies `token` as of `now`.
    pub async fn verify_at(
        &self,
        token: &str,
        validation: &Validation,
        now: SystemTime,
    ) -> Result<VerifiedToken, VerifyError> {
        let parsed = token::parse(token)?;
        self.verify_parsed(parsed, validation, now).await
    }

    pub(crate) async fn verify_parsed(
        &self,
        parsed: UnverifiedToken<'_>,
        validation: &Validation,
        now: SystemTime,
    ) -> Result<VerifiedToken, VerifyError> {
        let now_secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if parsed.unverified_issuer() != Some(self.issuer.as_str()) {
            return Err(foreign_issuer(&parsed));
        }
        let key = self.key(&parsed.kid, now_secs).await?;
        finish(&self.issuer, &key, parsed, validation, now_secs)
    }

    async fn key(&self, kid: &str, now: u64) -> Result<Arc<VerifyingKey>, VerifyError> {
        match &self.keys {
            Keys::Static(set) => set.get(kid).ok_or_else(|| {
                Rejection::UnknownKid {
                    kid: kid.to_owned(),
                    refetch: "not possible: fixed key set",
                }
                .into()
            }),
            Keys::Remote(remote) => remote.key(kid, now).await,
        }
    }
}

/// The refusal of a token whose unverified `iss` is not an issuer it may be
/// verified for (before any key is fetched).
pub(crate) fn foreign_issuer(parsed: &UnverifiedToken<'_>) -> VerifyError {
    Rejection::IssuerMismatch {
        found: parsed.unverified_issuer().unwrap_or("(none)").to_owned(),
    }
    .into()
}

/// Signature, registered claims, expectations.
fn finish(
    issuer: &str,
    key: &VerifyingKey,
    parsed: UnverifiedToken<'_>,
    validation: &Validation,
    now: u64,
) -> Result<VerifiedToken, VerifyError> {
    key.verify(
        parsed.alg,
        parsed.signing_input.as_bytes(),
        &parsed.signature,
    )?;
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    check_registered(&parsed.claims, issuer, validation, now)?;
    let claims = Claims::new(parsed.claims);
    for expectation in &validation.expectations {
        expectation.check(&claims)?;
    }
    Ok(VerifiedToken {
        alg: parsed.alg,
        kid: parsed.kid,
        claims,
    })
}
