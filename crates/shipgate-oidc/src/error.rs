//! The verifier's errors. A caller of `shipgate oidc verify` sees only
//! "token verification failed"; these types carry the precise reason for the
//! log (and for tests, which assert the exact rule that fired).

use crate::fetch::FetchError;
use crate::json::JsonError;
use crate::signature::SignatureError;

/// Which part of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The claims.
    Payload,
    /// The signature.
    Signature,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// Why a token was refused: anything wrong with the token itself. Maps to
/// "token verification failed" (exit 1) in the CLI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Longer than [`crate::MAX_TOKEN_BYTES`].
    #[error("token of {0} bytes exceeds the 16 KiB limit")]
    TooLarge(usize),
    /// Not exactly three non-empty dot-separated parts (JWE, JSON
    /// serialization, unsigned and detached forms all land here).
    #[error("not a compact JWS with three non-empty parts")]
    NotCompact,
    /// A part has characters outside unpadded base64url, or bad trailing bits.
    #[error("the {0} is not unpadded base64url")]
    NotBase64Url(Part),
    /// A part is not a JSON object, or has duplicate member names.
    #[error("the {0} is refused: {1}")]
    BadJson(Part, JsonError),
    /// `alg` is missing, not a string or not RS256/ES256/EdDSA.
    #[error("algorithm {0} is not allowed (only RS256, ES256, EdDSA)")]
    AlgorithmNotAllowed(String),
    /// `kid` missing, empty, not a string or longer than 256 bytes.
    #[error("the header has no usable `kid`")]
    MissingKid,
    /// A `crit` header: shipgate understands no JWS extension, so any is refused.
    #[error("the header has a `crit` member")]
    CriticalHeader,
    /// A `typ` other than `JWT`.
    #[error("the header's `typ` {0} is not JWT")]
    WrongType(String),
    /// The token's issuer is not the pinned one (or not on the allow-list).
    #[error("issuer {found} is not the expected issuer")]
    IssuerMismatch { found: String },
    /// No key with this `kid` in the issuer's JWKS (after at most one refetch).
    #[error("no key {kid:?} in the issuer's JWKS (refetch {refetch})")]
    UnknownKid { kid: String, refetch: &'static str },
    /// The signature check failed.
    #[error("signature: {0}")]
    Signature(SignatureError),
    /// A required claim is absent.
    #[error("the `{0}` claim is missing")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (a string `exp`, a float `iat`, ...).
    #[error("the `{0}` claim has the wrong JSON type")]
    ClaimType(String),
    /// `aud` does not contain the expected audience.
    #[error("audience is not {expected:?}")]
    AudienceMismatch { expected: String },
    /// `aud` names other audiences too (allowed only with `allow_extra_audiences`).
    #[error("the token names {0} audiences")]
    ExtraAudiences(usize),
    /// A time claim (`exp`, `nbf`, `iat`) is an integer outside
    /// `0..=MAX_NUMERIC_DATE` (negative, or after the year 9999).
    #[error("the `{claim}` claim {value} is not a time between 1970 and 9999")]
    TimeOutOfRange {
        /// The claim.
        claim: String,
        /// Its value, as the token wrote it.
        value: String,
    },
    /// `exp` is further after now than the verifier's `max_exp_ahead`.
    #[error("expires at {exp}, more than {max}s after now ({now})")]
    ExpiresTooFarAhead {
        /// The token's `exp`.
        exp: i64,
        /// The verifier's clock.
        now: i64,
        /// The bound, in seconds.
        max: u64,
    },
    /// `exp` (plus leeway) is in the past.
    #[error("expired at {exp} (now {now}, leeway {leeway}s)")]
    Expired { exp: i64, now: i64, leeway: u64 },
    /// `nbf` (minus leeway) is in the future.
    #[error("not valid before {nbf} (now {now}, leeway {leeway}s)")]
    NotYetValid { nbf: i64, now: i64, leeway: u64 },
    /// `iat` (minus leeway) is in the future.
    #[error("issued in the future at {iat} (now {now}, leeway {leeway}s)")]
    IssuedInFuture { iat: i64, now: i64, leeway: u64 },
    /// An expected claim is absent or empty.
    #[error("expected claim `{0}` is missing or empty")]
    ExpectedClaimMissing(String),
    /// An expected claim has another value.
    #[error("claim `{claim}` does not match the expected {expected}")]
    ExpectedClaimMismatch { claim: String, expected: String },
    /// The `jti` was seen before.
    #[error("token id (jti) {0:?} was already used")]
    Replayed(String),
}

/// Everything [`crate::Verifier::verify`] can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token was refused (exit 1 in the CLI).
    #[error("token refused: {0}")]
    Rejected(#[from] Rejection),
    /// The issuer's keys could not be obtained: network, discovery or
    /// configuration trouble, not the token's fault (exit 2 in the CLI).
    #[error(transparent)]
    Keys(#[from] FetchError),
}

impl VerifyError {
    /// The rejection, when the token itself was refused.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            VerifyError::Rejected(r) => Some(r),
            VerifyError::Keys(_) => None,
        }
    }
}

impl From<SignatureError> for Rejection {
    fn from(err: SignatureError) -> Self {
        Rejection::Signature(err)
    }
}

impl From<SignatureError> for VerifyError {
    fn from(err: SignatureError) -> Self {
        VerifyError::Rejected(Rejection::Signature(err))
    }
}
