//! WebAuthn through `webauthn-rs`: registering a passkey, and checking an
//! assertion against a challenge the gate chose.
//!
//! webauthn-rs makes its own random challenge for every ceremony, but a
//! decision's challenge must be `decision_challenge(...)` (see
//! `shipgate_protocol::passkey`), so that the assertion commits to the
//! release, its manifest digest and the decision. We use the crate's
//! supported `danger-allow-state-serialisation` feature: the ceremony's
//! state (`PasskeyAuthentication`) is serialised, its `challenge` replaced
//! with ours and deserialised again, and the crate's own
//! `finish_passkey_authentication` then checks everything (type, challenge,
//! origin, rp id hash, flags, user verification, signature, counter). The
//! state is never sent to the browser and never stored: it is rebuilt from
//! the credentials that stand at the moment the answer arrives, so a
//! credential revoked in between is refused and the counter is the latest.
//! The lower-level webauthn-rs-core API would need us to assemble the
//! verification steps ourselves, which is the part we must not write.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    COSEAlgorithm, COSEKeyType, CreationChallengeResponse, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::storage::StoredPasskey;

/// Why a passkey ceremony failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// The gate's `public_url` cannot be a WebAuthn origin (an IP address,
    /// or not http(s)).
    #[error(
        "public_url {0:?} cannot carry passkeys: it must be https://HOST or http://localhost (a host name, not an IP address)"
    )]
    Origin(String),
    /// A stored record could not be read back.
    #[error("stored passkey state is unreadable: {0}")]
    State(String),
    /// The authenticator made a key of an algorithm the log cannot carry.
    #[error("the passkey uses COSE algorithm {0}; only ES256 (-7) and EdDSA (-8) are accepted")]
    Algorithm(i64),
    /// webauthn-rs refused the browser's answer.
    #[error("WebAuthn: {0}")]
    Refused(String),
}

/// The gate as a WebAuthn relying party.
#[derive(Debug)]
pub struct RelyingParty {
    webauthn: Webauthn,
    rp_id: String,
    origin: String,
}

/// What a verified assertion tells the gate.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    /// The credential that signed (base64url).
    pub credential_id: String,
    /// webauthn-rs's record of it after this use.
    pub passkey: String,
    /// The authenticator's signature counter (0: it keeps none).
    pub counter: u32,
}

/// A COSE algorithm's registered number (-7 ES256, -8 EdDSA).
fn cose_number(alg: COSEAlgorithm) -> i64 {
    // The enum is `repr(i32)` with the registry's numbers as discriminants.
    i64::from(alg as i32)
}

/// The base64url (no padding) text WebAuthn uses for bytes.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl RelyingParty {
    /// The relying party for a gate reachable at `public_url`.
    pub fn from_public_url(public_url: &str) -> Result<Self, PasskeyError> {
        let bad = || PasskeyError::Origin(public_url.to_owned());
        let url = Url::parse(public_url).map_err(|_| bad())?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad());
        }
        let rp_id = url.domain().ok_or_else(bad)?.to_owned();
        // Browsers offer WebAuthn on http only for localhost.
        if url.scheme() == "http" && rp_id != "localhost" {
            return Err(bad());
        }
        let origin = url.origin().ascii_serialization();
        let origin_url = Url::parse(&origin).map_err(|_| bad())?;
        let webauthn = WebauthnBuilder::new(&rp_id, &origin_url)
            .and_then(|b| b.rp_name("shipgate").build())
            .map_err(|_| bad())?;
        Ok(Self {
            webauthn,
            rp_id,
            origin,
        })
    }

    /// The origin browsers report (`scheme://host[:port]`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The relying party id (the host).
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// Starts registering a passkey for `maintainer`: the options for the
    /// browser and the state to keep (JSON).
    pub fn start_registration(
        &self,
        maintainer: &str,
        existing: &[StoredPasskey],
    ) -> Result<(CreationChallengeResponse, String), PasskeyError> {
        let digest = Sha256::digest(maintainer.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        let exclude = existing
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .collect::<Vec<_>>();
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(Uuid::from_bytes(id), maintainer, maintainer, Some(exclude))
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        // Only keys the log's format carries (see shipgate_protocol::passkey).
        options
            .public_key
            .pub_key_cred_params
            .retain(|p| p.alg == cose_number(COSEAlgorithm::ES256));
        let state =
            serde_json::to_string(&state).map_err(|e| PasskeyError::State(e.to_string()))?;
        Ok((options, state))
    }

    /// Finishes a registration: the credential to store (its `enrolled_at`
    /// is filled in by the caller).
    pub fn finish_registration(
        &self,
        maintainer: &str,
        response: &RegisterPublicKeyCredential,
        state: &str,
    ) -> Result<StoredPasskey, PasskeyError> {
        let state: PasskeyRegistration =
            serde_json::from_str(state).map_err(|e| PasskeyError::State(e.to_string()))?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(response, &state)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let key = passkey.get_public_key();
        let alg = cose_number(key.type_);
        let public_key = match (&key.type_, &key.key) {
            (COSEAlgorithm::ES256, COSEKeyType::EC_EC2(ec)) => {
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&ec.x);
                point.extend_from_slice(&ec.y);
                point
            }
            (COSEAlgorithm::EDDSA, COSEKeyType::EC_OKP(okp)) => okp.x.clone(),
            _ => return Err(PasskeyError::Algorithm(alg)),
        };
        let record =
            serde_json::to_string(&passkey).map_err(|e| PasskeyError::State(e.to_string()))?;
        Ok(StoredPasskey {
            credential_id: b64url(passkey.cred_id()),
            maintainer: maintainer.to_owned(),
            alg,
            public_key: b64url(&public_key),
            rp_id: self.rp_id.clone(),
            passkey: record,
            sign_count: 0,
            enrolled_at: 0,
            revoked_at: None,
        })
    }

    /// The state of an authentication by one of `credentials` whose
    /// challenge is `challenge`, with the options for the browser.
    fn authentication(
        &self,
        credentials: &[StoredPasskey],
        challenge: &[u8],
    ) -> Result<(RequestChallengeResponse, PasskeyAuthentication), PasskeyError> {
        let passkeys = credentials
            .iter()
            .map(|c| serde_json::from_str::<Passkey>(&c.passkey))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PasskeyError::State(e.to_string()))?;
        let (mut options, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        options.public_key.challenge = challenge.to_vec();
        let mut state =
            serde_json::to_value(&state).map_err(|e| PasskeyError::State(e.to_string()))?;
        let slot = state
            .get_mut("ast")
            .and_then(|ast| ast.get_mut("challenge"))
            .ok_or_else(|| {
                PasskeyError::State("no challenge in the authentication state".into())
            })?;
        *slot = serde_json::Value::from(b64url(challenge));
        let state =
            serde_json::from_value(state).map_err(|e| PasskeyError::State(e.to_string()))?;
        Ok((options, state))
    }

    /// The browser's options for signing `challenge` with one of
    /// `credentials`.
    pub fn request_options(
        &self,
        credentials: &[StoredPasskey],
        challenge: &[u8],
    ) -> Result<RequestChallengeResponse, PasskeyError> {
        Ok(self.authentication(credentials, challenge)?.0)
    }

    /// Checks an assertion over `challenge` by one of `credentials` (the
    /// ones that stand now, with their latest counters).
    pub fn verify(
        &self,
        credentials: &[StoredPasskey],
        challenge: &[u8],
        response: &PublicKeyCredential,
    ) -> Result<VerifiedAssertion, PasskeyError> {
        let (_, state) = self.authentication(credentials, challenge)?;
        let result = self
            .webauthn
            .finish_passkey_authentication(response, &state)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let credential_id = b64url(result.cred_id());
        let stored = credentials
            .iter()
            .find(|c| c.credential_id == credential_id)
            .ok_or_else(|| PasskeyError::Refused("unknown credential".into()))?;
        let mut passkey: Passkey = serde_json::from_str(&stored.passkey)
            .map_err(|e| PasskeyError::State(e.to_string()))?;
        // webauthn-rs already refuses a non-zero counter that does not grow
        // past the stored one; the stored counter is kept here too, so the
        // gate can show it and never depend on the crate's record alone.
        let counter = result.counter();
        if counter != 0 && i64::from(counter) <= stored.sign_count {
            return Err(PasskeyError::Refused(format!(
                "signature counter {counter} does not exceed {}",
                stored.sign_count
            )));
        }
        passkey.update_credential(&result);
        let passkey =
            serde_json::to_string(&passkey).map_err(|e| PasskeyError::State(e.to_string()))?;
        Ok(VerifiedAssertion {
            credential_id,
            passkey,
            counter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_come_from_the_public_url() {
        let rp = RelyingParty::from_public_url("https://gate.example.org/").unwrap();
        assert_eq!(rp.origin(), "https://gate.example.org");
        assert_eq!(rp.rp_id(), "gate.example.org");
        let rp = RelyingParty::from_public_url("http://localhost:8443").unwrap();
        assert_eq!(rp.origin(), "http://localhost:8443");
        assert_eq!(rp.rp_id(), "localhost");
    }

    #[test]
    fn ip_addresses_and_other_schemes_cannot_carry_passkeys() {
        for url in [
            "http://127.0.0.1:8080",
            "http://gate.example.org",
            "ftp://gate.example.org",
            "not a url",
            "",
        ] {
            assert!(
                matches!(
                    RelyingParty::from_public_url(url),
                    Err(PasskeyError::Origin(_))
                ),
                "{url}"
            );
        }
    }
}
