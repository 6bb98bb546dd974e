//! The strict pre-parse of a compact JWS, before any key is looked up.
//!
//! Only `header.payload.signature` with three non-empty unpadded base64url
//! parts, at most 16 KiB in total. The header must be a JSON object without
//! duplicate names whose `alg` is on the allow-list (exact case) and whose
//! `kid` is a non-empty string; `crit` is refused (no extension is
//! understood); `jwk`, `jku`, `x5u`, `x5c`, `x5t` are never read, so a token
//! cannot bring its own key (RFC 8725 §3.10).

use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::b64;
use crate::error::{Part, Rejection};
use crate::json::parse_object;

/// Largest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Longest `kid` accepted, in bytes (a `kid` is an opaque map key; RFC 7638
/// thumbprints are 43 characters).
pub const MAX_KID_BYTES: usize = 256;

/// A token that passed the pre-parse; nothing in it is trusted yet.
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
    pub(crate) claims: Map<String, Value>,
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Vec<u8>,
}

impl UnverifiedToken<'_> {
    /// The header's algorithm (on the allow-list).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The header's key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The unverified `iss` claim, for routing to the right verifier only.
    pub fn unverified_issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }
}

/// Pre-parses `token` (see the module documentation).
pub fn parse(token: &str) -> Result<UnverifiedToken<'_>, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::TooLarge(token.len()));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::NotCompact);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(Rejection::NotCompact);
    }
    let header_bytes = b64::decode(header).ok_or(Rejection::NotBase64Url(Part::Header))?;
    let header =
        parse_object(&header_bytes).map_err(|err| Rejection::BadJson(Part::Header, err))?;
    let (alg, kid) = check_header(&header)?;

    let payload_bytes = b64::decode(payload).ok_or(Rejection::NotBase64Url(Part::Payload))?;
    let claims =
        parse_object(&payload_bytes).map_err(|err| Rejection::BadJson(Part::Payload, err))?;
    let signature_bytes = b64::decode(signature).ok_or(Rejection::NotBase64Url(Part::Signature))?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(UnverifiedToken {
        alg,
        kid,
        claims,
        signing_input,
        signature: signature_bytes,
    })
}

fn check_header(header: &Map<String, Value>) -> Result<(Algorithm, String), Rejection> {
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::from_jose(name)
            .ok_or_else(|| Rejection::AlgorithmNotAllowed(name.clone()))?,
        Some(other) => return Err(Rejection::AlgorithmNotAllowed(other.to_string())),
        None => return Err(Rejection::AlgorithmNotAllowed("(none given)".into())),
    };
    if header.contains_key("crit") {
        return Err(Rejection::CriticalHeader);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(other) => return Err(Rejection::WrongType(other.to_string())),
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid.clone(),
        _ => return Err(Rejection::MissingKid),
    };
    Ok((alg, kid))
}
