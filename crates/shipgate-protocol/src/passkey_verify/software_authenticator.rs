//! A software authenticator for tests (feature `software-authenticator`):
//! it holds a P-256 or Ed25519 key and builds what a browser and an
//! authenticator build for an assertion — authenticator data, clientDataJSON
//! — and signs them, so tests exercise the verifier with real signatures
//! rather than fixtures. Keys are derived from a name, so a test can
//! rebuild the same credential. Never for production use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Algorithm;
use crate::passkey::{DecisionCommitment, decision_challenge};

enum Key {
    Es256(Box<p256::ecdsa::SigningKey>),
    EdDsa(Box<ed25519_dalek::SigningKey>),
}

/// One credential on a software authenticator.
pub struct SoftwareAuthenticator {
    key: Key,
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The relying party id it is bound to.
    pub rp_id: String,
    /// The last signature counter used; stays 0 when not counting.
    pub counter: u32,
    /// Whether the authenticator keeps a signature counter.
    pub counting: bool,
}

impl SoftwareAuthenticator {
    /// A credential whose key is derived from `name`.
    pub fn new(alg: Algorithm, name: &str, rp_id: &str) -> SoftwareAuthenticator {
        let seed: [u8; 32] = Sha256::digest(format!("key {name}")).into();
        let key = match alg {
            // A SHA-256 output is a valid P-256 scalar except with
            // negligible probability; the names tests use are fixed.
            Algorithm::Es256 => Key::Es256(Box::new(
                p256::ecdsa::SigningKey::from_slice(&seed).unwrap_or_else(|_| {
                    panic!("software authenticator: {name:?} gives no P-256 key")
                }),
            )),
            Algorithm::EdDsa => Key::EdDsa(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed))),
        };
        let credential_id = Sha256::digest(format!("credential {name}"))[..16].to_vec();
        SoftwareAuthenticator {
            key,
            credential_id,
            rp_id: rp_id.to_owned(),
            counter: 0,
            counting: false,
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> Algorithm {
        match self.key {
            Key::Es256(_) => Algorithm::Es256,
            Key::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// The public key as the enrolment leaf holds it.
    pub fn public_key(&self) -> Vec<u8> {
        match &self.key {
            Key::Es256(key) => key.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            Key::EdDsa(key) => key.verifying_key().to_bytes().to_vec(),
        }
    }

    /// The credential id, base64url.
    pub fn credential_id_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    /// The `passkey` object of its `passkey_enrolled` leaf.
    pub fn enrolment(&self) -> Value {
        json!({
            "alg": self.alg().cose(),
            "credential_id": self.credential_id_b64(),
            "public_key": URL_SAFE_NO_PAD.encode(self.public_key()),
            "rp_id": self.rp_id,
        })
    }

    /// Authenticator data: rpIdHash, flags, counter.
    pub fn authenticator_data(&self, flags: u8, counter: u32) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&counter.to_be_bytes());
        data
    }

    /// clientDataJSON as Chromium writes it.
    pub fn client_data_json(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
            URL_SAFE_NO_PAD.encode(challenge)
        )
        .into_bytes()
    }

    /// The signature over `authenticator_data || SHA-256(client_data_json)`.
    pub fn sign(&self, authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
        let mut message = authenticator_data.to_vec();
        message.extend_from_slice(&Sha256::digest(client_data_json));
        match &self.key {
            Key::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(&message);
                signature.to_der().as_bytes().to_vec()
            }
            Key::EdDsa(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(&message).to_bytes().to_vec()
            }
        }
    }

    /// The `passkey` object of a decision leaf, from its parts.
    pub fn decision_detail(
        &self,
        commitment: &DecisionCommitment<'_>,
        authenticator_data: &[u8],
        client_data_json: &[u8],
        signature: &[u8],
    ) -> Value {
        json!({
            "authenticator_data": URL_SAFE_NO_PAD.encode(authenticator_data),
            "client_data_json": URL_SAFE_NO_PAD.encode(client_data_json),
            "credential_id": self.credential_id_b64(),
            "manifest_sha256": commitment.manifest_sha256,
            "nonce": commitment.nonce,
            "origin": commitment.origin,
            "rp_id": self.rp_id,
            "signature": URL_SAFE_NO_PAD.encode(signature),
        })
    }

    /// An honest decision: user present and verified, the next counter
    /// value (when counting), signed; returns the `passkey` object.
    pub fn decide(&mut self, commitment: &DecisionCommitment<'_>) -> Value {
        if self.counting {
            self.counter += 1;
        }
        let challenge = decision_challenge(commitment)
            .unwrap_or_else(|e| panic!("software authenticator: {e}"));
        let data = self.authenticator_data(0x05, self.counter);
        let client = Self::client_data_json("webauthn.get", &challenge, commitment.origin);
        let signature = self.sign(&data, &client);
        self.decision_detail(commitment, &data, &client, &signature)
    }
}

/// A fresh-looking nonce derived from `name` (16 bytes, base64url).
pub fn nonce(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(format!("nonce {name}"))[..16])
}
