//! Checking a passkey decision from the log alone.
//!
//! Why we verify WebAuthn assertions ourselves instead of asking
//! `webauthn-rs`: a consumer who checks a release holds only the log, not a
//! server's authentication state. `webauthn-rs` verifies an assertion only
//! against the challenge state it issued itself (and keeps the credential in
//! its own types), so it cannot answer the question a consumer asks: "does
//! this stored assertion, with this enrolled public key, prove that the
//! maintainer approved exactly this release?". That check is small and fully
//! specified (WebAuthn Level 3, "Verifying an Authentication Assertion",
//! minus the parts only a live server can do), so it lives here, beside the
//! commitment it checks ([`crate::passkey`]).
//!
//! What is checked, in order (see [`verify_decision`]):
//! 1. `client_data_json` is a JSON object without duplicate keys, its
//!    `type` is `webauthn.get`, its `challenge` is the base64url (no
//!    padding) of [`crate::passkey::decision_challenge`] over the leaf's
//!    release, package, version, decision and the passkey's origin,
//!    manifest digest and nonce, its `origin` is the passkey's origin, and
//!    it is not `crossOrigin`;
//! 2. the origin's host is the relying party id or one of its subdomains,
//!    and that relying party id is the one the credential was enrolled for;
//! 3. `authenticator_data` holds at least 37 bytes, starts with SHA-256 of
//!    the relying party id, and has the user-present flag set;
//! 4. the signature over `authenticator_data || SHA-256(client_data_json)`
//!    verifies with the enrolled key (ES256: ECDSA P-256 with SHA-256, DER
//!    signature; EdDSA: Ed25519, strict verification).
//!
//! What the log replay adds (it needs more than one leaf): the credential
//! was enrolled earlier for the acting maintainer and not revoked, the
//! manifest digest is the one recomputed from the release's `staged` leaf
//! and named by its `released` leaf, sign counters increase and nonces are
//! used once.
//!
//! A high-S ECDSA signature is accepted: authenticators are not required to
//! normalise S, so refusing it would refuse real approvals. Its twin
//! signature proves nothing new, because the nonce makes each assertion
//! usable once whatever its bytes.

mod client_data;
mod detail;
mod signature;
#[cfg(any(test, feature = "software-authenticator"))]
pub mod software_authenticator;
#[cfg(test)]
mod tests;

pub use detail::{Algorithm, EnrolledPasskey, PasskeyAssertion, PasskeyRevocation};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::passkey::{CommitmentError, Decision, DecisionCommitment, decision_challenge};

/// Flag bit 0 of the authenticator data: the user was present.
const FLAG_USER_PRESENT: u8 = 0x01;
/// Flag bit 2 of the authenticator data: the user was verified (PIN,
/// biometrics).
const FLAG_USER_VERIFIED: u8 = 0x04;
/// rpIdHash (32) + flags (1) + signCount (4).
pub const MIN_AUTHENTICATOR_DATA: usize = 37;

/// Why a passkey decision or enrolment does not check out. Every variant
/// names the field at fault; none holds secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// A required field is absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A field the format does not define (a verifier that ignored it
    /// could be shown meaning it does not check).
    #[error("passkey.{0} is not a field of the format")]
    UnknownField(String),
    /// A field holds the wrong JSON type.
    #[error("{0} has the wrong type")]
    WrongType(&'static str),
    /// A field is larger than the format allows.
    #[error("{field} is longer than the {max} bytes allowed")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit, in bytes (decoded, for base64url fields).
        max: usize,
    },
    /// A field is not base64url without padding, in its one canonical form.
    #[error("{0} is not canonical base64url without padding")]
    NotBase64Url(&'static str),
    /// A field's value is outside what the format allows.
    #[error("{field} {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `client_data_json` is not one JSON object with distinct keys.
    #[error("passkey.client_data_json is not a JSON object with distinct keys: {0}")]
    ClientDataNotJson(String),
    /// `client_data_json` is for another ceremony than an assertion.
    #[error("passkey.client_data_json has type {0:?}, not \"webauthn.get\"")]
    ClientDataType(String),
    /// The signed challenge is not the one this decision commits to: the
    /// assertion was made for another release, version, digest, decision,
    /// nonce or origin.
    #[error(
        "passkey.client_data_json's challenge is not the one this decision commits to (another release, version, manifest, decision, nonce or origin)"
    )]
    ChallengeMismatch,
    /// The browser reported another origin than the one the leaf names.
    #[error("passkey.client_data_json's origin {got:?} is not passkey.origin {expected:?}")]
    OriginMismatch {
        /// From `client_data_json`.
        got: String,
        /// From the leaf.
        expected: String,
    },
    /// The assertion was made inside a frame of another site.
    #[error(
        "passkey.client_data_json says crossOrigin: the decision was made inside another site's frame"
    )]
    CrossOrigin,
    /// The origin is not on the relying party id.
    #[error("passkey.origin {origin:?} is not on passkey.rp_id {rp_id:?}")]
    OriginNotOnRpId {
        /// The origin.
        origin: String,
        /// The relying party id.
        rp_id: String,
    },
    /// The assertion names another relying party than the enrolment.
    #[error(
        "passkey.rp_id {assertion:?} is not the rp_id {enrolled:?} the credential was enrolled for"
    )]
    RpIdMismatch {
        /// From the decision.
        assertion: String,
        /// From the enrolment.
        enrolled: String,
    },
    /// The authenticator data is too short to be an assertion's.
    #[error(
        "passkey.authenticator_data is {0} bytes, shorter than the {MIN_AUTHENTICATOR_DATA} of any assertion"
    )]
    AuthenticatorDataTooShort(usize),
    /// The authenticator signed for another relying party.
    #[error("passkey.authenticator_data's rpIdHash is not SHA-256 of {0:?}")]
    RpIdHashMismatch(String),
    /// The user-present flag is clear: nobody touched the authenticator.
    #[error("passkey.authenticator_data's user-present flag is clear")]
    UserNotPresent,
    /// The decision names another credential than the one checked.
    #[error("passkey.credential_id is not the enrolled credential's")]
    CredentialMismatch,
    /// A COSE algorithm other than ES256 (-7) and EdDSA (-8).
    #[error("passkey.alg {0} is not ES256 (-7) or EdDSA (-8)")]
    UnsupportedAlgorithm(i64),
    /// The enrolled public key is not a key of its algorithm.
    #[error("passkey.public_key is not a valid {0} public key")]
    BadPublicKey(&'static str),
    /// The signature is not in the encoding its algorithm uses.
    #[error("passkey.signature is not {0}")]
    BadSignatureEncoding(&'static str),
    /// The signature does not verify with the enrolled key.
    #[error("passkey.signature does not verify with the enrolled credential's key")]
    BadSignature,
    /// The leaf's release, package or version cannot form a commitment.
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
}

/// The release a decision leaf is about, and the decision it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionContext<'a> {
    /// The leaf's release id.
    pub release_id: i64,
    /// The leaf's package.
    pub package: &'a str,
    /// The leaf's version.
    pub version: &'a str,
    /// `approved` leaves: approve; `rejected` leaves: reject.
    pub decision: Decision,
}

/// What a verified assertion says beyond "valid".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The authenticator's signature counter (0: it keeps none).
    pub sign_count: u32,
    /// The user-verified flag (PIN or biometrics, not only presence).
    pub user_verified: bool,
}

/// Checks one decision's assertion against the credential it names (see
/// the module documentation for the steps).
pub fn verify_decision(
    assertion: &PasskeyAssertion,
    credential: &EnrolledPasskey,
    context: &DecisionContext<'_>,
) -> Result<VerifiedAssertion, PasskeyError> {
    if assertion.credential_id != credential.credential_id {
        return Err(PasskeyError::CredentialMismatch);
    }
    if assertion.rp_id != credential.rp_id {
        return Err(PasskeyError::RpIdMismatch {
            assertion: assertion.rp_id.clone(),
            enrolled: credential.rp_id.clone(),
        });
    }
    if !origin_is_on_rp_id(&assertion.origin, &assertion.rp_id) {
        return Err(PasskeyError::OriginNotOnRpId {
            origin: assertion.origin.clone(),
            rp_id: assertion.rp_id.clone(),
        });
    }

    let commitment = DecisionCommitment {
        origin: &assertion.origin,
        release_id: context.release_id,
        package: context.package,
        version: context.version,
        manifest_sha256: &assertion.manifest_sha256,
        decision: context.decision,
        nonce: &assertion.nonce,
    };
    let challenge = URL_SAFE_NO_PAD.encode(decision_challenge(&commitment)?);
    let client = client_data::ClientData::parse(&assertion.client_data_json)?;
    if client.kind != "webauthn.get" {
        return Err(PasskeyError::ClientDataType(client.kind));
    }
    // Both sides are canonical base64url, so equal challenges are equal
    // strings.
    if client.challenge != challenge {
        return Err(PasskeyError::ChallengeMismatch);
    }
    if client.origin != assertion.origin {
        return Err(PasskeyError::OriginMismatch {
            got: client.origin,
            expected: assertion.origin.clone(),
        });
    }
    if client.cross_origin {
        return Err(PasskeyError::CrossOrigin);
    }

    let data = &assertion.authenticator_data;
    let (Some(rp_id_hash), Some(&flags), Some(count)) =
        (data.get(..32), data.get(32), data.get(33..37))
    else {
        return Err(PasskeyError::AuthenticatorDataTooShort(data.len()));
    };
    if rp_id_hash != Sha256::digest(assertion.rp_id.as_bytes()).as_slice() {
        return Err(PasskeyError::RpIdHashMismatch(assertion.rp_id.clone()));
    }
    if flags & FLAG_USER_PRESENT == 0 {
        return Err(PasskeyError::UserNotPresent);
    }
    let sign_count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);

    let mut signed = Vec::with_capacity(data.len() + 32);
    signed.extend_from_slice(data);
    signed.extend_from_slice(&Sha256::digest(&assertion.client_data_json));
    signature::verify(credential, &signed, &assertion.signature)?;
    Ok(VerifiedAssertion {
        sign_count,
        user_verified: flags & FLAG_USER_VERIFIED != 0,
    })
}

/// True when the origin (`http[s]://host[:port]`, nothing after) has the
/// relying party id as its host or as a parent domain of its host, the
/// rule browsers apply before they let a site use a credential.
pub fn origin_is_on_rp_id(origin: &str, rp_id: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', '\\']) {
        return false;
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    !rp_id.is_empty()
        && (host == rp_id
            || host
                .strip_suffix(rp_id)
                .is_some_and(|prefix| prefix.ends_with('.')))
}
