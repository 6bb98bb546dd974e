//! The passkey part of the log replay: which credentials exist, whose they
//! are, whether they still stand, and whether each passkey decision is a
//! valid assertion by one of them, made once.
//!
//! Kept apart from [`super::replay`] because it is one concept with its own
//! state: credentials (from `passkey_enrolled`, ended by `passkey_revoked`
//! or by revoking their maintainer), the last signature counter of each,
//! and every nonce already used.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shipgate_protocol::leaf::LogEvent;
use shipgate_protocol::passkey::Decision;
use shipgate_protocol::passkey_verify::{
    DecisionContext, EnrolledPasskey, PasskeyAssertion, PasskeyRevocation, verify_decision,
};

/// One enrolled credential.
#[derive(Debug)]
struct Credential {
    maintainer: String,
    key: EnrolledPasskey,
    enrolled_at: u64,
    /// The leaf that ended it.
    revoked_at: Option<u64>,
    /// The last non-zero signature counter and the leaf that carried it.
    last_count: Option<(u32, u64)>,
}

/// Why a passkey leaf breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PasskeyFault {
    /// Malformed enrolment or revocation.
    Malformed(String),
    /// A decision whose assertion does not stand.
    Invalid(String),
    /// A nonce used again, or a counter that did not increase.
    Replayed(String),
}

/// A passkey decision that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedDecision {
    /// The credential, base64url.
    pub credential_id: String,
    /// The digest the assertion commits to.
    pub manifest_sha256: String,
}

/// The credentials and nonces seen so far.
#[derive(Debug, Default)]
pub(crate) struct Passkeys {
    credentials: HashMap<Vec<u8>, Credential>,
    nonces: HashMap<String, u64>,
}

impl Passkeys {
    /// A `passkey_enrolled` leaf.
    pub(crate) fn enrolled(&mut self, index: u64, event: &LogEvent) -> Result<(), PasskeyFault> {
        let Some(maintainer) = event.detail_str("maintainer").filter(|m| !m.is_empty()) else {
            return Err(PasskeyFault::Malformed(
                "is a passkey_enrolled without a maintainer".into(),
            ));
        };
        let key = EnrolledPasskey::from_detail(event.detail.get("passkey")).map_err(|e| {
            PasskeyFault::Malformed(format!("is a passkey_enrolled for {maintainer} whose {e}"))
        })?;
        if let Some(earlier) = self.credentials.get(&key.credential_id) {
            return Err(PasskeyFault::Malformed(format!(
                "enrols credential {} for {maintainer}, but it was already enrolled at leaf {} (for {})",
                URL_SAFE_NO_PAD.encode(&key.credential_id),
                earlier.enrolled_at,
                earlier.maintainer
            )));
        }
        self.credentials.insert(
            key.credential_id.clone(),
            Credential {
                maintainer: maintainer.to_owned(),
                key,
                enrolled_at: index,
                revoked_at: None,
                last_count: None,
            },
        );
        Ok(())
    }

    /// A `passkey_revoked` leaf.
    pub(crate) fn revoked(&mut self, index: u64, event: &LogEvent) -> Result<(), PasskeyFault> {
        let revocation = PasskeyRevocation::from_detail(&event.detail)
            .map_err(|e| PasskeyFault::Malformed(format!("is a passkey_revoked whose {e}")))?;
        let id = URL_SAFE_NO_PAD.encode(&revocation.credential_id);
        match self.credentials.get_mut(&revocation.credential_id) {
            Some(credential) if credential.maintainer == revocation.maintainer => {
                credential.revoked_at.get_or_insert(index);
                Ok(())
            }
            Some(credential) => Err(PasskeyFault::Malformed(format!(
                "revokes credential {id} as {}'s, but it was enrolled for {}",
                revocation.maintainer, credential.maintainer
            ))),
            None => Err(PasskeyFault::Malformed(format!(
                "revokes credential {id}, which was never enrolled"
            ))),
        }
    }

    /// A `maintainer_revoked` leaf ends all of the maintainer's credentials,
    /// for good (a re-enrolled maintainer enrols new ones).
    pub(crate) fn maintainer_revoked(&mut self, index: u64, name: &str) {
        for credential in self.credentials.values_mut() {
            if credential.maintainer == name {
                credential.revoked_at.get_or_insert(index);
            }
        }
    }

    /// Checks the passkey decision of leaf `index` (`approved` or
    /// `rejected`) on a release whose staged files give `staged_digest`
    /// (`None`: they do not form a manifest).
    pub(crate) fn decision(
        &mut self,
        index: u64,
        event: &LogEvent,
        decision: Decision,
        staged_digest: Option<&str>,
    ) -> Result<CheckedDecision, PasskeyFault> {
        let invalid = |why: String| PasskeyFault::Invalid(why);
        let assertion = PasskeyAssertion::from_detail(event.detail.get("passkey"))
            .map_err(|e| invalid(e.to_string()))?;
        let id = URL_SAFE_NO_PAD.encode(&assertion.credential_id);
        let credential = self
            .credentials
            .get(&assertion.credential_id)
            .ok_or_else(|| invalid(format!("uses credential {id}, which was never enrolled")))?;
        if credential.maintainer != event.actor {
            return Err(invalid(format!(
                "uses credential {id}, which is {}'s, not {}'s",
                credential.maintainer, event.actor
            )));
        }
        if let Some(at) = credential.revoked_at {
            return Err(invalid(format!(
                "uses credential {id}, which was revoked at leaf {at}"
            )));
        }
        let (Some(release_id), Some(package), Some(version)) =
            (event.release_id, &event.package, &event.version)
        else {
            return Err(invalid("names no release, package or version".into()));
        };
        let context = DecisionContext {
            release_id,
            package,
            version,
            decision,
        };
        let verified = verify_decision(&assertion, &credential.key, &context)
            .map_err(|e| invalid(e.to_string()))?;
        match staged_digest {
            Some(digest) if digest == assertion.manifest_sha256 => {}
            Some(digest) => {
                return Err(invalid(format!(
                    "commits to manifest {}, but the release's staged files give manifest {digest}",
                    assertion.manifest_sha256
                )));
            }
            None => {
                return Err(invalid(
                    "is about a release whose staged files do not form a manifest".into(),
                ));
            }
        }
        if let Some(first) = self.nonces.get(&assertion.nonce) {
            return Err(PasskeyFault::Replayed(format!(
                "uses nonce {} again (first used at leaf {first}): an assertion counts once",
                assertion.nonce
            )));
        }
        // A counter of 0 means the authenticator keeps none (WebAuthn).
        let count = verified.sign_count;
        if let Some((last, at)) = credential.last_count
            && count <= last
        {
            return Err(PasskeyFault::Replayed(format!(
                "has signature counter {count} for credential {id}, not above the {last} at leaf {at}: a cloned authenticator or a replay"
            )));
        }
        self.nonces.insert(assertion.nonce.clone(), index);
        if count > 0
            && let Some(credential) = self.credentials.get_mut(&assertion.credential_id)
        {
            credential.last_count = Some((count, index));
        }
        Ok(CheckedDecision {
            credential_id: id,
            manifest_sha256: assertion.manifest_sha256,
        })
    }
}

#[cfg(test)]
#[path = "passkeys_tests.rs"]
mod tests;
