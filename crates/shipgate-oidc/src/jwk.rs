//! Public keys as JSON Web Keys (RFC 7517/7518/8037): strict parsing, the
//! algorithm pin, publishing and the RFC 7638 thumbprint used as `kid`.

use serde_json::{Map, Value, json};

use crate::alg::Algorithm;
use crate::b64;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 requires 2048).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (aws-lc verifies 2048..=8192).
pub const MAX_RSA_BITS: usize = 8192;

/// The public part of a key of one of the three supported types. The type
/// alone decides the algorithm: a key never verifies with any other.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicJwk {
    /// `kty: RSA`: modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// `kty: EC, crv: P-256`: the affine coordinates, 32 bytes each.
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// `kty: OKP, crv: Ed25519`: the 32-byte public key.
    Ed25519 { x: Vec<u8> },
}

impl std::fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicJwk({}, {})", self.algorithm(), self.thumbprint())
    }
}

/// Why a JWK was not accepted as a verification key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// A required member is missing or is not a string.
    #[error("member `{0}` is missing or not a string")]
    MissingMember(&'static str),
    /// A member is not valid unpadded base64url.
    #[error("member `{0}` is not unpadded base64url")]
    BadBase64(&'static str),
    /// The key type or curve is not one shipgate verifies with.
    #[error("unsupported key type {0}")]
    Unsupported(String),
    /// The JWK names an algorithm that its key type does not allow.
    #[error("`alg` {found:?} does not match the key type, which verifies only {pinned}")]
    AlgorithmMismatch { found: String, pinned: Algorithm },
    /// `use` is present and is not `sig`, or `key_ops` lacks `verify`.
    #[error("the key is not meant for signature verification (`use`/`key_ops`)")]
    NotForSignatures,
    /// The JWK contains private key members: publishing them lets anyone sign.
    #[error("the JWK contains private key material (`{0}`)")]
    PrivateMaterial(&'static str),
    /// An RSA modulus outside 2048..=8192 bits.
    #[error("RSA modulus of {0} bits (accepted: 2048 to 8192)")]
    RsaSize(usize),
    /// A coordinate or key of the wrong length.
    #[error("member `{0}` has the wrong length")]
    BadLength(&'static str),
    /// The crypto library refused the key (not on the curve, bad exponent, ...).
    #[error("the key is malformed: {0}")]
    Malformed(String),
}

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl PublicJwk {
    /// The one algorithm this key verifies with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicJwk::Rsa { .. } => Algorithm::RS256,
            PublicJwk::P256 { .. } => Algorithm::ES256,
            PublicJwk::Ed25519 { .. } => Algorithm::EdDSA,
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the required members
    /// in lexicographic order, no whitespace. shipgate uses it as the `kid`.
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicJwk::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64::encode(e),
                b64::encode(n)
            ),
            PublicJwk::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64::encode(x),
                b64::encode(y)
            ),
            PublicJwk::Ed25519 { x } => {
                format!(
                    r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                    b64::encode(x)
                )
            }
        };
        b64::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// The RSA modulus size in bits (0 for other key types).
    pub fn rsa_bits(&self) -> usize {
        match self {
            PublicJwk::Rsa { n, .. } => modulus_bits(n),
            _ => 0,
        }
    }

    /// The JWK as published in a JWKS: type members plus `kid`, `alg`, `use`.
    pub fn to_published_json(&self, kid: &str) -> Value {
        let alg = self.algorithm().as_str();
        match self {
            PublicJwk::Rsa { n, e } => json!({
                "kty": "RSA", "kid": kid, "alg": alg, "use": "sig",
                "n": b64::encode(n), "e": b64::encode(e),
            }),
            PublicJwk::P256 { x, y } => json!({
                "kty": "EC", "kid": kid, "alg": alg, "use": "sig", "crv": "P-256",
                "x": b64::encode(x), "y": b64::encode(y),
            }),
            PublicJwk::Ed25519 { x } => json!({
                "kty": "OKP", "kid": kid, "alg": alg, "use": "sig", "crv": "Ed25519",
                "x": b64::encode(x),
            }),
        }
    }

    /// Parses one JWK object from a JWKS. Refuses keys that are not for
    /// signatures, whose `alg` disagrees with their type, that carry private
    /// members, or RSA keys under 2048 bits. (`kid` is the caller's concern.)
    pub fn from_json(jwk: &Map<String, Value>) -> Result<PublicJwk, JwkError> {
        for member in PRIVATE_MEMBERS {
            if jwk.contains_key(member) {
                return Err(JwkError::PrivateMaterial(member));
            }
        }
        let kty = string_member(jwk, "kty")?;
        let key = match kty {
            "RSA" => {
                let n = strip_leading_zeros(bytes_member(jwk, "n")?);
                let e = strip_leading_zeros(bytes_member(jwk, "e")?);
                let bits = modulus_bits(&n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(JwkError::RsaSize(bits));
                }
                if e.is_empty() || e.len() > 8 {
                    return Err(JwkError::BadLength("e"));
                }
                PublicJwk::Rsa { n, e }
            }
            "EC" => {
                let crv = string_member(jwk, "crv")?;
                if crv != "P-256" {
                    return Err(JwkError::Unsupported(format!("EC curve {crv:?}")));
                }
                let x = fixed_member(jwk, "x", 32)?;
                let y = fixed_member(jwk, "y", 32)?;
                PublicJwk::P256 { x, y }
            }
            "OKP" => {
                let crv = string_member(jwk, "crv")?;
                if crv != "Ed25519" {
                    return Err(JwkError::Unsupported(format!("OKP curve {crv:?}")));
                }
                PublicJwk::Ed25519 {
                    x: fixed_member(jwk, "x", 32)?,
                }
            }
            other => return Err(JwkError::Unsupported(format!("kty {other:?}"))),
        };
        let pinned = key.algorithm();
        if let Some(alg) = jwk.get("alg") {
            let found = alg.as_str().unwrap_or_default();
            if found != pinned.as_str() {
                return Err(JwkError::AlgorithmMismatch {
                    found: alg.to_string(),
                    pinned,
                });
            }
        }
        if jwk.get("use").is_some_and(|u| u != "sig") {
            return Err(JwkError::NotForSignatures);
        }
        if let Some(ops) = jwk.get("key_ops") {
            let verifies = ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
            if !verifies {
                return Err(JwkError::NotForSignatures);
            }
        }
        Ok(key)
    }
}

fn string_member<'a>(jwk: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JwkError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or(JwkError::MissingMember(name))
}

fn bytes_member(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwkError> {
    b64::decode(string_member(jwk, name)?).ok_or(JwkError::BadBase64(name))
}

fn fixed_member(
    jwk: &Map<String, Value>,
    name: &'static str,
    len: usize,
) -> Result<Vec<u8>, JwkError> {
    let bytes = bytes_member(jwk, name)?;
    if bytes.len() != len {
        return Err(JwkError::BadLength(name));
    }
    Ok(bytes)
}

/// Some publishers (Java's `BigInteger`) prefix a zero octet; the value is
/// the same, so accept it and normalise.
fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn modulus_bits(n: &[u8]) -> usize {
    match n.iter().position(|b| *b != 0) {
        Some(first) => (n.len() - first) * 8 - n[first].leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{JwkError, PublicJwk};
    use crate::json::parse_object;

    /// The RSA key of RFC 7638 §3.1 and the thumbprint the RFC gives for it.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn parse(doc: &str) -> Result<PublicJwk, JwkError> {
        PublicJwk::from_json(&parse_object(doc.as_bytes()).unwrap())
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let jwk = parse(&format!(
            r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#
        ))
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(jwk.rsa_bits(), 2048);
    }

    #[test]
    fn a_leading_zero_octet_does_not_change_the_key() {
        let mut n = vec![0u8];
        n.extend(crate::b64::decode(RFC7638_N).unwrap());
        let padded = crate::b64::encode(&n);
        let jwk = parse(&format!(r#"{{"kty":"RSA","n":"{padded}","e":"AQAB"}}"#)).unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn alg_is_pinned_by_key_type() {
        let doc = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"HS256"}}"#);
        assert!(matches!(
            parse(&doc),
            Err(JwkError::AlgorithmMismatch { .. })
        ));
        let doc = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"PS256"}}"#);
        assert!(matches!(
            parse(&doc),
            Err(JwkError::AlgorithmMismatch { .. })
        ));
        let x = crate::b64::encode([7u8; 32]);
        let doc = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","alg":"ES256"}}"#);
        assert!(matches!(
            parse(&doc),
            Err(JwkError::AlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn refuses_small_rsa_hmac_private_and_unsupported_keys() {
        let small = crate::b64::encode([0xc5u8; 128]);
        assert_eq!(
            parse(&format!(r#"{{"kty":"RSA","n":"{small}","e":"AQAB"}}"#)),
            Err(JwkError::RsaSize(1024))
        );
        assert!(matches!(
            parse(r#"{"kty":"oct","k":"c2VjcmV0"}"#),
            Err(JwkError::PrivateMaterial("k"))
        ));
        assert!(matches!(
            parse(r#"{"kty":"oct","kid":"a"}"#),
            Err(JwkError::Unsupported(_))
        ));
        let x = crate::b64::encode([7u8; 32]);
        assert!(matches!(
            parse(&format!(
                r#"{{"kty":"EC","crv":"P-384","x":"{x}","y":"{x}"}}"#
            )),
            Err(JwkError::Unsupported(_))
        ));
        assert!(matches!(
            parse(&format!(r#"{{"kty":"OKP","crv":"Ed448","x":"{x}"}}"#)),
            Err(JwkError::Unsupported(_))
        ));
        assert_eq!(
            parse(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{x}"}}"#
            )),
            Err(JwkError::PrivateMaterial("d"))
        );
        assert_eq!(
            parse(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","use":"enc"}}"#
            )),
            Err(JwkError::NotForSignatures)
        );
        assert_eq!(
            parse(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","key_ops":["encrypt"]}}"#
            )),
            Err(JwkError::NotForSignatures)
        );
        assert_eq!(
            parse(r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#),
            Err(JwkError::BadLength("x"))
        );
        assert_eq!(
            parse(r#"{"kty":"OKP","crv":"Ed25519","x":"AA=A"}"#),
            Err(JwkError::BadBase64("x"))
        );
        assert_eq!(
            parse(r#"{"crv":"Ed25519"}"#),
            Err(JwkError::MissingMember("kty"))
        );
    }
}
