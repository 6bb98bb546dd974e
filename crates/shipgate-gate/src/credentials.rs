//! Maintainer credentials: the personal token and the TOTP second factor.
//!
//! A maintainer token is `sgm_NAME_SECRET` where SECRET is 32 random bytes
//! (base64url). Only its SHA-256 is stored; a presented token is hashed and
//! compared in constant time. The name inside lets the gate find the row
//! without comparing against every stored hash.
//!
//! TOTP follows RFC 6238 with HMAC-SHA-1, 30-second steps and 8 digits (RFC
//! 6238 allows 8, the `otpauth://` URI carries `digits=8`, and the major
//! authenticator apps honour it; 6 digits cannot meet the guessing target,
//! see [`crate::lockout`]). The previous and next step are accepted for clock
//! skew. Each step is usable once: the gate stores the last accepted step and
//! refuses a code whose step is not greater.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use shipgate_protocol::names;

/// Prefix of every maintainer token (lets secret scanners recognise a leak).
pub const TOKEN_PREFIX: &str = "sgm_";
/// TOTP step length in seconds.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Digits of a TOTP code.
pub const TOTP_DIGITS: u8 = 8;

/// Why a credential could not be created or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The system random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// The stored TOTP secret is not valid base32 or is too short.
    #[error("stored TOTP secret is unusable: {0}")]
    BadSecret(String),
}

/// Freshly generated credentials, shown once to the maintainer.
#[derive(Debug, Clone)]
pub struct NewCredentials {
    /// The maintainer token (shown once, never stored).
    pub token: String,
    /// Its hash, for the database.
    pub token_hash: String,
    /// Base32 TOTP secret.
    pub totp_secret: String,
    /// `otpauth://totp/...` URI for authenticator apps.
    pub otpauth_uri: String,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], CredentialError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| CredentialError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Generates a token and a TOTP secret for `name`.
pub fn generate(name: &str, issuer: &str) -> Result<NewCredentials, CredentialError> {
    let token = format!(
        "{TOKEN_PREFIX}{name}_{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    );
    // 160 bits, the size RFC 4226 recommends for HMAC-SHA-1.
    let secret = Secret::from(random_bytes::<20>()?);
    let totp_secret = secret.to_base32();
    let otpauth_uri = totp(&totp_secret, Some((name, issuer)))?
        .to_url()
        .map_err(|e| CredentialError::BadSecret(e.to_string()))?;
    Ok(NewCredentials {
        token_hash: hash_token(&token),
        token,
        totp_secret,
        otpauth_uri,
    })
}

/// The maintainer name inside a token, if the token is well-formed.
pub fn token_owner(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (name, secret) = rest.split_once('_')?;
    if names::maintainer(name).is_err() || secret.len() != 43 {
        return None;
    }
    Some(name)
}

/// Constant-time check of a presented token against a stored hash.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    let presented = hash_token(token);
    presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

fn totp(secret_base32: &str, label: Option<(&str, &str)>) -> Result<Totp, CredentialError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| CredentialError::BadSecret(format!("{e:?}")))?;
    let mut builder = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS)
        .with_skew(1)
        .with_step_duration(TOTP_STEP_SECONDS)
        .with_secret(secret);
    if let Some((account, issuer)) = label {
        builder = builder
            .with_account_name(account)
            .with_issuer(Some(issuer.replace(':', "")));
    }
    builder
        .build()
        .map_err(|e| CredentialError::BadSecret(e.to_string()))
}

/// The step a code is valid for at `now` (±1 step), or `None`.
/// Whether the step was already used is the caller's check.
pub fn totp_step(
    secret_base32: &str,
    code: &str,
    now: u64,
) -> Result<Option<i64>, CredentialError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(totp(secret_base32, None)?
        .check(&code, now)
        .and_then(|step| i64::try_from(step).ok()))
}

/// The current code for a secret (for `serve --dev`, the demo and tests).
pub fn totp_code(secret_base32: &str, now: u64) -> Result<String, CredentialError> {
    Ok(totp(secret_base32, None)?.generate(now).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_high_entropy_and_stored_hashed() {
        let a = generate("alice", "shipgate").unwrap();
        let b = generate("alice", "shipgate").unwrap();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with("sgm_alice_"));
        assert_eq!(token_owner(&a.token), Some("alice"));
        assert!(token_matches(&a.token, &a.token_hash));
        assert!(!token_matches(&b.token, &a.token_hash));
        assert!(!a.token_hash.contains(&a.token));
        assert!(
            a.otpauth_uri.starts_with("otpauth://totp/"),
            "{}",
            a.otpauth_uri
        );
        assert!(a.otpauth_uri.contains(&format!("secret={}", a.totp_secret)));
        // Authenticator apps read the code length from the URI.
        assert!(a.otpauth_uri.contains("digits=8"), "{}", a.otpauth_uri);
    }

    #[test]
    fn malformed_tokens_have_no_owner() {
        for t in [
            "",
            "sgm_",
            "sgm_alice",
            "sgm_alice_short",
            "sgx_alice_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sgm_../x_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
        ] {
            assert_eq!(token_owner(t), None, "{t}");
        }
    }

    #[test]
    fn totp_accepts_current_and_adjacent_steps_only() {
        // RFC 6238 appendix B test secret "12345678901234567890" (SHA-1).
        let secret = Secret::from(*b"12345678901234567890").to_base32();
        // RFC 6238 appendix B test vectors (SHA-1, 8 digits).
        for (t, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp_code(&secret, t).unwrap(), code, "T = {t}");
        }
        assert_eq!(totp_step(&secret, "94287082", 59).unwrap(), Some(1));
        assert_eq!(totp_step(&secret, "9428 7082", 59).unwrap(), Some(1));
        // One step later (skew) still accepted, two steps later not.
        assert_eq!(totp_step(&secret, "94287082", 89).unwrap(), Some(1));
        assert_eq!(totp_step(&secret, "94287082", 120).unwrap(), None);
        // The 6-digit form of the same code is refused: only 8 digits count.
        for garbage in [
            "",
            "287082",
            "9428708",
            "942870820",
            "abcdefgh",
            "+4287082",
            "-4287082",
            "９４２８７０８２",
        ] {
            assert_eq!(totp_step(&secret, garbage, 59).unwrap(), None, "{garbage}");
        }
        assert!(totp_step("not base32!", "94287082", 59).is_err());
    }
}
