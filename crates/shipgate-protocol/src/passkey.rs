//! What a passkey decision commits to, so that anyone holding the log can
//! check it without trusting the gate.
//!
//! A maintainer who approves or rejects a release in the browser signs a
//! WebAuthn assertion whose challenge is [`decision_challenge`]: the SHA-256
//! of a short text naming the gate's origin, the release, its package and
//! version, the digest of the manifest the gate will sign, the decision and
//! a fresh nonce. The assertion therefore cannot be moved to another
//! release, another digest, another gate or the opposite decision, and the
//! nonce makes each one usable once.
//!
//! The log records, in the `detail` of the `approved` / `rejected` leaf:
//!
//! ```text
//! "approval": "passkey",                      ("totp" for a TOTP decision)
//! "passkey": {
//!   "authenticator_data": base64url,          (no padding, as WebAuthn does)
//!   "client_data_json":  base64url,
//!   "credential_id":     base64url,
//!   "manifest_sha256":   hex,                 (64 lowercase hex digits)
//!   "nonce":             base64url,
//!   "origin":            "https://gate.example.org",
//!   "rp_id":             "gate.example.org",
//!   "signature":         base64url            (ES256: DER; EdDSA: 64 bytes)
//! }
//! ```
//!
//! and in the `detail` of the `passkey_enrolled` leaf (one per credential):
//!
//! ```text
//! "maintainer": name,
//! "passkey": {
//!   "alg": -7 | -8,                           (COSE: ES256 or EdDSA)
//!   "credential_id": base64url,
//!   "public_key": base64url,                  (ES256: SEC1 uncompressed point,
//!                                              65 bytes; EdDSA: 32 bytes)
//!   "rp_id": "gate.example.org"
//! }
//! ```
//!
//! A `passkey_revoked` leaf (`"maintainer"`, `"credential_id"`) ends a
//! credential; revoking the maintainer ends all of theirs.

use sha2::{Digest, Sha256};

/// The first line of every decision commitment; a new encoding gets a new
/// first line, never new meanings for this one.
pub const DECISION_COMMITMENT_V1: &str = "shipgate passkey decision v1";

/// What a maintainer decides about a staged release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Count towards the quorum.
    Approve,
    /// Reject the release.
    Reject,
}

impl Decision {
    /// The word the commitment and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// Everything a decision commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCommitment<'a> {
    /// The gate's web origin (`https://host[:port]`), as the browser reports it.
    pub origin: &'a str,
    /// The release id.
    pub release_id: i64,
    /// Its package.
    pub package: &'a str,
    /// Its version.
    pub version: &'a str,
    /// The SHA-256 (lowercase hex) of the release manifest the gate signs.
    pub manifest_sha256: &'a str,
    /// The decision.
    pub decision: Decision,
    /// A fresh random nonce from the gate, base64url without padding.
    pub nonce: &'a str,
}

/// A commitment field holds a character that would let two different
/// commitments produce the same text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the decision's {0} holds a line break or is empty")]
pub struct CommitmentError(pub &'static str);

impl DecisionCommitment<'_> {
    /// The text that is hashed: one `key value` line per field, in a fixed
    /// order, after [`DECISION_COMMITMENT_V1`].
    pub fn text(&self) -> Result<String, CommitmentError> {
        let fields: [(&'static str, &str); 6] = [
            ("origin", self.origin),
            ("package", self.package),
            ("version", self.version),
            ("manifest", self.manifest_sha256),
            ("decision", self.decision.as_str()),
            ("nonce", self.nonce),
        ];
        for (name, value) in fields {
            if value.is_empty() || value.contains(['\n', '\r']) {
                return Err(CommitmentError(name));
            }
        }
        Ok(format!(
            "{DECISION_COMMITMENT_V1}\norigin {}\nrelease {}\npackage {}\nversion {}\nmanifest {}\ndecision {}\nnonce {}\n",
            self.origin,
            self.release_id,
            self.package,
            self.version,
            self.manifest_sha256,
            self.decision.as_str(),
            self.nonce,
        ))
    }
}

/// The WebAuthn challenge for a decision: SHA-256 of its commitment text.
/// In `clientDataJSON` it appears base64url-encoded without padding.
pub fn decision_challenge(
    commitment: &DecisionCommitment<'_>,
) -> Result<[u8; 32], CommitmentError> {
    Ok(Sha256::digest(commitment.text()?.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DecisionCommitment<'static> {
        DecisionCommitment {
            origin: "https://gate.example.org",
            release_id: 7,
            package: "demo",
            version: "1.2.3",
            manifest_sha256: "ab".repeat(32).leak(),
            decision: Decision::Approve,
            nonce: "bm9uY2U",
        }
    }

    #[test]
    fn the_text_names_every_field_in_order() {
        let text = sample().text().unwrap();
        assert!(text.starts_with("shipgate passkey decision v1\norigin https://gate.example.org\nrelease 7\npackage demo\nversion 1.2.3\nmanifest abab"));
        assert!(text.ends_with("decision approve\nnonce bm9uY2U\n"));
    }

    #[test]
    fn every_field_changes_the_challenge() {
        let base = decision_challenge(&sample()).unwrap();
        let mut other = sample();
        other.release_id = 8;
        assert_ne!(decision_challenge(&other).unwrap(), base);
        let mut other = sample();
        other.decision = Decision::Reject;
        assert_ne!(decision_challenge(&other).unwrap(), base);
        let mut other = sample();
        other.origin = "https://evil.example";
        assert_ne!(decision_challenge(&other).unwrap(), base);
        let mut other = sample();
        other.nonce = "b3RoZXI";
        assert_ne!(decision_challenge(&other).unwrap(), base);
    }

    #[test]
    fn line_breaks_and_empty_fields_are_refused() {
        let mut bad = sample();
        bad.version = "1.0\nmanifest 00";
        assert_eq!(bad.text(), Err(CommitmentError("version")));
        let mut bad = sample();
        bad.nonce = "";
        assert_eq!(bad.text(), Err(CommitmentError("nonce")));
    }
}
