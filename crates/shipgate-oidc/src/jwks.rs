//! A JWKS (`{"keys":[...]}`) parsed into the keys the verifier may use,
//! looked up by `kid` as an opaque map key.
//!
//! Keys the verifier cannot use are left out, each with a debug log line:
//! no `kid`, unsupported type, `alg` not matching the type, not for
//! signatures, private members present, RSA under 2048 bits. A `kid` that
//! appears twice is left out entirely: which key it means is ambiguous.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::jwk::PublicJwk;
use crate::signature::VerifyingKey;
use crate::token::MAX_KID_BYTES;

/// Most keys read from one JWKS (more is a broken or hostile document).
pub const MAX_KEYS: usize = 100;

/// Why a JWKS document as a whole is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// No `keys` array.
    #[error("the JWKS has no `keys` array")]
    NoKeysArray,
    /// More than [`MAX_KEYS`] entries.
    #[error("the JWKS has {0} keys (at most {MAX_KEYS} are read)")]
    TooManyKeys(usize),
}

/// The usable keys of one issuer.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
}

impl KeySet {
    /// Parses a JWKS document (already parsed as a strict JSON object).
    pub fn from_jwks(document: &Map<String, Value>) -> Result<KeySet, JwksError> {
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::NoKeysArray)?;
        if entries.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys(entries.len()));
        }
        let mut keys: HashMap<String, Arc<VerifyingKey>> = HashMap::new();
        let mut ambiguous: Vec<String> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let Some(jwk) = entry.as_object() else {
                tracing::debug!(index, "JWKS entry is not an object; skipped");
                continue;
            };
            let kid = match jwk.get("kid") {
                Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid,
                _ => {
                    tracing::debug!(index, "JWKS entry has no usable `kid`; skipped");
                    continue;
                }
            };
            let key = match PublicJwk::from_json(jwk).and_then(|p| VerifyingKey::new(kid, p)) {
                Ok(key) => key,
                Err(err) => {
                    tracing::debug!(index, kid = kid.as_str(), "JWKS key skipped: {err}");
                    continue;
                }
            };
            if keys.insert(kid.clone(), Arc::new(key)).is_some() {
                ambiguous.push(kid.clone());
            }
        }
        for kid in ambiguous {
            tracing::info!(
                kid = kid.as_str(),
                "the JWKS lists this kid twice; neither key is used"
            );
            keys.remove(&kid);
        }
        Ok(KeySet { keys })
    }

    /// A key set from keys already in hand (for an issuer's own keys).
    pub fn from_keys(keys: impl IntoIterator<Item = VerifyingKey>) -> KeySet {
        KeySet {
            keys: keys
                .into_iter()
                .map(|k| (k.kid().to_owned(), Arc::new(k)))
                .collect(),
        }
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.get(kid).cloned()
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{JwksError, KeySet};
    use crate::alg::Algorithm;
    use crate::keydir::SigningKey;

    #[test]
    fn keeps_usable_keys_and_drops_the_rest() {
        let (ed, _) = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let (ec, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let good_ed = ed.public_jwk().to_published_json(ed.kid());
        let good_ec = ec.public_jwk().to_published_json(ec.kid());
        let mut twice = good_ec.clone();
        twice["kid"] = json!("dup");
        let mut twice2 = good_ed.clone();
        twice2["kid"] = json!("dup");
        let mut no_kid = good_ed.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut wrong_alg = good_ec.clone();
        wrong_alg["kid"] = json!("wrong-alg");
        wrong_alg["alg"] = json!("HS256");
        let seven = crate::b64::encode([7u8; 32]);
        let off_curve =
            json!({"kty": "EC", "crv": "P-256", "kid": "off-curve", "x": seven, "y": seven});
        let doc = json!({"keys": [
            good_ed, good_ec, twice, twice2, no_kid, wrong_alg, "not an object",
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, off_curve,
        ]});
        let set = KeySet::from_jwks(doc.as_object().unwrap()).unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.get(ed.kid()).is_some());
        assert!(set.get(ec.kid()).is_some());
        assert!(set.get("dup").is_none());
        assert!(set.get("wrong-alg").is_none());
        assert!(set.get("hmac").is_none());
        assert!(
            set.get("off-curve").is_none(),
            "a point not on P-256 is refused at load"
        );
    }

    #[test]
    fn refuses_documents_without_keys_or_with_too_many() {
        let doc = json!({"keys": {}});
        assert_eq!(
            KeySet::from_jwks(doc.as_object().unwrap()).unwrap_err(),
            JwksError::NoKeysArray
        );
        let doc = json!({"keys": vec![json!({}); 101]});
        assert_eq!(
            KeySet::from_jwks(doc.as_object().unwrap()).unwrap_err(),
            JwksError::TooManyKeys(101)
        );
    }
}
