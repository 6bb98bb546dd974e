//! The two signature algorithms passkeys use here, each parsed strictly:
//! ES256 signatures in DER exactly as encoded (a second encoding of the same
//! numbers is refused), Ed25519 with strict verification (no small-order
//! keys, canonical S).

use p256::ecdsa::signature::Verifier as _;

use super::{Algorithm, EnrolledPasskey, PasskeyError};

/// Refuses a public key that is not a valid key of its algorithm, so a
/// broken enrolment is reported at its own leaf.
pub(super) fn check_public_key(credential: &EnrolledPasskey) -> Result<(), PasskeyError> {
    match credential.alg {
        Algorithm::Es256 => es256_key(&credential.public_key).map(|_| ()),
        Algorithm::EdDsa => ed25519_key(&credential.public_key).map(|_| ()),
    }
}

/// Verifies `signature` over `message` with the credential's key.
pub(super) fn verify(
    credential: &EnrolledPasskey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PasskeyError> {
    match credential.alg {
        Algorithm::Es256 => {
            let key = es256_key(&credential.public_key)?;
            let not_der = PasskeyError::BadSignatureEncoding("an ECDSA signature in DER");
            let parsed =
                p256::ecdsa::Signature::from_der(signature).map_err(|_| not_der.clone())?;
            // DER has one encoding per value; compare to be sure no lenient
            // parse let another through.
            if parsed.to_der().as_bytes() != signature {
                return Err(not_der);
            }
            key.verify(message, &parsed)
                .map_err(|_| PasskeyError::BadSignature)
        }
        Algorithm::EdDsa => {
            let key = ed25519_key(&credential.public_key)?;
            let bytes: &[u8; 64] = signature
                .try_into()
                .map_err(|_| PasskeyError::BadSignatureEncoding("a 64-byte Ed25519 signature"))?;
            let parsed = ed25519_dalek::Signature::from_bytes(bytes);
            key.verify_strict(message, &parsed)
                .map_err(|_| PasskeyError::BadSignature)
        }
    }
}

fn es256_key(bytes: &[u8]) -> Result<p256::ecdsa::VerifyingKey, PasskeyError> {
    // Uncompressed only, as the format says: one encoding per key.
    if bytes.len() != 65 || bytes.first() != Some(&0x04) {
        return Err(PasskeyError::BadPublicKey(
            "ES256 (SEC1 uncompressed, 65 bytes)",
        ));
    }
    p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
        .map_err(|_| PasskeyError::BadPublicKey("ES256 (SEC1 uncompressed, 65 bytes)"))
}

fn ed25519_key(bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey, PasskeyError> {
    let bytes: &[u8; 32] = bytes
        .try_into()
        .map_err(|_| PasskeyError::BadPublicKey("Ed25519 (32 bytes)"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
        .map_err(|_| PasskeyError::BadPublicKey("Ed25519 (32 bytes)"))?;
    if key.is_weak() {
        return Err(PasskeyError::BadPublicKey("Ed25519 (32 bytes)"));
    }
    Ok(key)
}
