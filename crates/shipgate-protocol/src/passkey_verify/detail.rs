//! Reading the `passkey` objects of log leaves strictly: every field the
//! format names, no other, each within its size, base64url in its one
//! canonical form. A verifier that tolerated an extra key or a second
//! spelling of the same bytes could be shown two leaves that mean one thing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::PasskeyError;

/// WebAuthn caps credential ids at 1023 bytes.
pub const MAX_CREDENTIAL_ID: usize = 1023;
/// Authenticator data: 37 bytes plus extensions; far above what browsers
/// send for an assertion.
pub const MAX_AUTHENTICATOR_DATA: usize = 4096;
/// clientDataJSON: about 150 bytes from browsers, plus fields they may add.
pub const MAX_CLIENT_DATA_JSON: usize = 4096;
/// A DER ES256 signature is at most 72 bytes, Ed25519 64; a little room
/// above so that a malformed DER signature is reported as such.
pub const MAX_SIGNATURE: usize = 80;
/// A SEC1 uncompressed P-256 point.
pub const MAX_PUBLIC_KEY: usize = 65;
/// Nonces: 16 to 64 random bytes.
pub const MIN_NONCE: usize = 16;
/// See [`MIN_NONCE`].
pub const MAX_NONCE: usize = 64;
/// An origin or relying party id (a DNS name is at most 253 characters).
pub const MAX_ORIGIN: usize = 300;

/// The algorithm of an enrolled credential (COSE numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// COSE -7: ECDSA P-256 with SHA-256.
    Es256,
    /// COSE -8: Ed25519.
    EdDsa,
}

impl Algorithm {
    /// From its COSE number.
    pub fn from_cose(alg: i64) -> Result<Algorithm, PasskeyError> {
        match alg {
            -7 => Ok(Algorithm::Es256),
            -8 => Ok(Algorithm::EdDsa),
            other => Err(PasskeyError::UnsupportedAlgorithm(other)),
        }
    }

    /// Its COSE number.
    pub fn cose(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::EdDsa => -8,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }
}

/// One credential, from the `passkey` object of a `passkey_enrolled` leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledPasskey {
    /// Its algorithm.
    pub alg: Algorithm,
    /// The credential id (raw bytes).
    pub credential_id: Vec<u8>,
    /// The public key: SEC1 uncompressed (ES256) or 32 bytes (EdDSA),
    /// already checked to be a valid key.
    pub public_key: Vec<u8>,
    /// The relying party id it was created for.
    pub rp_id: String,
}

impl EnrolledPasskey {
    /// Reads and checks the `passkey` object of a `passkey_enrolled` leaf
    /// (the key must be a valid point of its algorithm).
    pub fn from_detail(passkey: Option<&Value>) -> Result<EnrolledPasskey, PasskeyError> {
        let mut fields = Fields::new(passkey, &["alg", "credential_id", "public_key", "rp_id"])?;
        let alg = match fields.take("passkey.alg")? {
            Value::Number(n) => n
                .as_i64()
                .ok_or(PasskeyError::WrongType("passkey.alg"))
                .and_then(Algorithm::from_cose)?,
            _ => return Err(PasskeyError::WrongType("passkey.alg")),
        };
        let credential_id = fields.base64("passkey.credential_id", 1, MAX_CREDENTIAL_ID)?;
        let public_key = fields.base64("passkey.public_key", 1, MAX_PUBLIC_KEY)?;
        let rp_id = fields.rp_id()?;
        let enrolled = EnrolledPasskey {
            alg,
            credential_id,
            public_key,
            rp_id,
        };
        super::signature::check_public_key(&enrolled)?;
        Ok(enrolled)
    }
}

/// One decision's assertion, from the `passkey` object of an `approved` or
/// `rejected` leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyAssertion {
    /// WebAuthn authenticator data (raw).
    pub authenticator_data: Vec<u8>,
    /// clientDataJSON (raw bytes, as signed).
    pub client_data_json: Vec<u8>,
    /// The credential used (raw).
    pub credential_id: Vec<u8>,
    /// The manifest digest the decision commits to (64 lowercase hex).
    pub manifest_sha256: String,
    /// The gate's nonce (base64url, as committed).
    pub nonce: String,
    /// The gate's web origin.
    pub origin: String,
    /// The relying party id.
    pub rp_id: String,
    /// The signature (raw: DER for ES256, 64 bytes for EdDSA).
    pub signature: Vec<u8>,
}

impl PasskeyAssertion {
    /// Reads the `passkey` object of a decision leaf strictly.
    pub fn from_detail(passkey: Option<&Value>) -> Result<PasskeyAssertion, PasskeyError> {
        let mut fields = Fields::new(
            passkey,
            &[
                "authenticator_data",
                "client_data_json",
                "credential_id",
                "manifest_sha256",
                "nonce",
                "origin",
                "rp_id",
                "signature",
            ],
        )?;
        let authenticator_data =
            fields.base64("passkey.authenticator_data", 1, MAX_AUTHENTICATOR_DATA)?;
        let client_data_json =
            fields.base64("passkey.client_data_json", 1, MAX_CLIENT_DATA_JSON)?;
        let credential_id = fields.base64("passkey.credential_id", 1, MAX_CREDENTIAL_ID)?;
        let manifest_sha256 = fields.string("passkey.manifest_sha256", 64)?;
        if manifest_sha256.len() != 64
            || !manifest_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(PasskeyError::Invalid {
                field: "passkey.manifest_sha256",
                reason: "is not 64 lowercase hex digits",
            });
        }
        fields.base64("passkey.nonce", MIN_NONCE, MAX_NONCE)?;
        let nonce = fields.string("passkey.nonce", MAX_NONCE.div_ceil(3) * 4)?;
        let origin = fields.string("passkey.origin", MAX_ORIGIN)?;
        let rp_id = fields.rp_id()?;
        let signature = fields.base64("passkey.signature", 1, MAX_SIGNATURE)?;
        Ok(PasskeyAssertion {
            authenticator_data,
            client_data_json,
            credential_id,
            manifest_sha256,
            nonce,
            origin,
            rp_id,
            signature,
        })
    }
}

/// A `passkey_revoked` leaf's detail: exactly `maintainer` and
/// `credential_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRevocation {
    /// Whose credential.
    pub maintainer: String,
    /// Which credential (raw).
    pub credential_id: Vec<u8>,
}

impl PasskeyRevocation {
    /// Reads a `passkey_revoked` detail.
    pub fn from_detail(detail: &Map<String, Value>) -> Result<PasskeyRevocation, PasskeyError> {
        let maintainer = match detail.get("maintainer") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            Some(_) => return Err(PasskeyError::WrongType("maintainer")),
            None => return Err(PasskeyError::Missing("maintainer")),
        };
        let credential_id = match detail.get("credential_id") {
            Some(Value::String(text)) => check_base64("credential_id", text, 1, MAX_CREDENTIAL_ID)?,
            Some(_) => return Err(PasskeyError::WrongType("credential_id")),
            None => return Err(PasskeyError::Missing("credential_id")),
        };
        Ok(PasskeyRevocation {
            maintainer,
            credential_id,
        })
    }
}

/// The fields of one `passkey` object, taken one by one.
struct Fields<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn new(passkey: Option<&'a Value>, known: &[&str]) -> Result<Fields<'a>, PasskeyError> {
        let object = match passkey {
            Some(Value::Object(object)) => object,
            Some(_) => return Err(PasskeyError::WrongType("passkey")),
            None => return Err(PasskeyError::Missing("passkey")),
        };
        if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
            // Bounded: a key may be long, the message need not be.
            let shown: String = unknown.chars().take(64).collect();
            return Err(PasskeyError::UnknownField(shown));
        }
        Ok(Fields { object })
    }

    fn take(&mut self, field: &'static str) -> Result<&'a Value, PasskeyError> {
        let key = field.strip_prefix("passkey.").unwrap_or(field);
        self.object.get(key).ok_or(PasskeyError::Missing(field))
    }

    fn string(&mut self, field: &'static str, max: usize) -> Result<String, PasskeyError> {
        match self.take(field)? {
            Value::String(text) if text.len() > max => Err(PasskeyError::TooLong { field, max }),
            Value::String(text) if text.is_empty() => Err(PasskeyError::Invalid {
                field,
                reason: "is empty",
            }),
            Value::String(text) => Ok(text.clone()),
            _ => Err(PasskeyError::WrongType(field)),
        }
    }

    fn base64(
        &mut self,
        field: &'static str,
        min: usize,
        max: usize,
    ) -> Result<Vec<u8>, PasskeyError> {
        match self.take(field)? {
            Value::String(text) => check_base64(field, text, min, max),
            _ => Err(PasskeyError::WrongType(field)),
        }
    }

    /// A relying party id: a lowercase host name or IP address.
    fn rp_id(&mut self) -> Result<String, PasskeyError> {
        let rp_id = self.string("passkey.rp_id", 253)?;
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b);
        if !rp_id.bytes().all(allowed) {
            return Err(PasskeyError::Invalid {
                field: "passkey.rp_id",
                reason: "is not a lowercase host name",
            });
        }
        Ok(rp_id)
    }
}

/// Decodes base64url without padding, refusing any other spelling of the
/// same bytes (padding, the standard alphabet, non-zero trailing bits) and
/// sizes outside `min..=max` bytes.
fn check_base64(
    field: &'static str,
    text: &str,
    min: usize,
    max: usize,
) -> Result<Vec<u8>, PasskeyError> {
    if text.len() > max.div_ceil(3) * 4 {
        return Err(PasskeyError::TooLong { field, max });
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| PasskeyError::NotBase64Url(field))?;
    if URL_SAFE_NO_PAD.encode(&bytes) != text {
        return Err(PasskeyError::NotBase64Url(field));
    }
    if bytes.len() > max {
        return Err(PasskeyError::TooLong { field, max });
    }
    if bytes.len() < min {
        return Err(PasskeyError::Invalid {
            field,
            reason: "is too short",
        });
    }
    Ok(bytes)
}
