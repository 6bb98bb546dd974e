//! The one signature check every token goes through (and the Wycheproof
//! vectors too): a key verifies only with the algorithm its type pins.
//!
//! Verification calls aws-lc-rs (the backend jsonwebtoken uses for signing)
//! with a public key parsed once, when the JWKS is read. jsonwebtoken's own
//! `crypto::verify` rebuilds the key from its components on every call; for
//! RSA that redoes the modulus setup and costs 15-40% of the throughput
//! measured by `bench/oidc`. Parsing up front also means a key the crypto
//! library refuses (a point not on the curve, a bad exponent) is left out of
//! the key set when the JWKS is read, with a reason, instead of failing
//! every token later.

use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};

use crate::alg::Algorithm;
use crate::jwk::{JwkError, PublicJwk};

/// A public key ready to verify signatures: the JWK, its `kid` and the key
/// parsed once by the crypto library.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: String,
    jwk: PublicJwk,
    key: ParsedPublicKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({} {:?})", self.jwk.algorithm(), self.kid)
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header's algorithm is not the one the key's type allows.
    #[error("the token says {header} but key {kid:?} verifies only {pinned}")]
    AlgorithmMismatch {
        header: Algorithm,
        pinned: Algorithm,
        kid: String,
    },
    /// An ES256 signature whose `r` or `s` is zero (the "psychic signature"
    /// bug, CVE-2022-21449): refused before the crypto library sees it.
    #[error("ECDSA signature with r or s equal to zero")]
    EcdsaZeroScalar,
    /// The signature has the wrong length for the algorithm.
    #[error("signature of {0} bytes has the wrong length")]
    WrongLength(usize),
    /// The signature does not verify under the key.
    #[error("the signature does not verify")]
    Invalid,
}

impl VerifyingKey {
    /// Builds a key from a JWK; fails when the crypto library refuses it.
    pub fn new(kid: impl Into<String>, jwk: PublicJwk) -> Result<VerifyingKey, JwkError> {
        let parsed = match &jwk {
            PublicJwk::Rsa { n, e } => RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256),
            PublicJwk::P256 { x, y } => {
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            }
            PublicJwk::Ed25519 { x } => ParsedPublicKey::new(&ED25519, x),
        };
        let key = parsed.map_err(|err| JwkError::Malformed(err.to_string()))?;
        Ok(VerifyingKey {
            kid: kid.into(),
            jwk,
            key,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The only algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.jwk.algorithm()
    }

    /// Verifies `signature` over `message` for a token whose header says
    /// `header_alg`.
    pub fn verify(
        &self,
        header_alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let pinned = self.algorithm();
        if header_alg != pinned {
            return Err(SignatureError::AlgorithmMismatch {
                header: header_alg,
                pinned,
                kid: self.kid.clone(),
            });
        }
        match pinned {
            Algorithm::ES256 => check_ecdsa_p256_shape(signature)?,
            Algorithm::EdDSA if signature.len() != 64 => {
                return Err(SignatureError::WrongLength(signature.len()));
            }
            _ => {}
        }
        self.key
            .verify_sig(message, signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// JWS ES256 signatures are `r || s`, 32 bytes each (RFC 7518 §3.4).
fn check_ecdsa_p256_shape(signature: &[u8]) -> Result<(), SignatureError> {
    if signature.len() != 64 {
        return Err(SignatureError::WrongLength(signature.len()));
    }
    let (r, s) = signature.split_at(32);
    if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
        return Err(SignatureError::EcdsaZeroScalar);
    }
    Ok(())
}
