//! Several issuers at once (the gate: GitHub Actions, GitLab, its own), with
//! an allow-list consulted before any network fetch: a token naming an issuer
//! that is not configured is refused without contacting anyone, so a token
//! cannot make the gate fetch from a URL of the attacker's choosing.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::claims::Validation;
use crate::error::VerifyError;
use crate::fetch::FetchError;
use crate::remote::RemoteOptions;
use crate::token;
use crate::verifier::{VerifiedToken, Verifier, foreign_issuer};

/// One verifier per allowed issuer.
#[derive(Debug, Default)]
pub struct VerifierSet {
    verifiers: BTreeMap<String, Verifier>,
}

impl VerifierSet {
    /// An empty set (every token refused).
    pub fn new() -> VerifierSet {
        VerifierSet::default()
    }

    /// Remote verifiers for each issuer of the allow-list (URLs checked now,
    /// nothing fetched).
    pub fn remote<'a>(
        issuers: impl IntoIterator<Item = &'a str>,
        options: &RemoteOptions,
    ) -> Result<VerifierSet, FetchError> {
        let mut set = VerifierSet::new();
        for issuer in issuers {
            set.insert(Verifier::remote(issuer, options.clone())?);
        }
        Ok(set)
    }

    /// Adds (or replaces) the verifier of its issuer.
    pub fn insert(&mut self, verifier: Verifier) {
        self.verifiers
            .insert(verifier.issuer().to_owned(), verifier);
    }

    /// True when `issuer` is on the allow-list.
    pub fn allows(&self, issuer: &str) -> bool {
        self.verifiers.contains_key(issuer)
    }

    /// Verifies a token from any allowed issuer.
    pub async fn verify(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<VerifiedToken, VerifyError> {
        self.verify_at(token, validation, SystemTime::now()).await
    }

    /// Verifies a token from any allowed issuer as of `now`.
    pub async fn verify_at(
        &self,
        token: &str,
        validation: &Validation,
        now: SystemTime,
    ) -> Result<VerifiedToken, VerifyError> {
        let parsed = token::parse(token)?;
        let verifier = parsed
            .unverified_issuer()
            .and_then(|issuer| self.verifiers.get(issuer))
            .ok_or_else(|| foreign_issuer(&parsed))?;
        verifier.verify_parsed(parsed, validation, now).await
    }
}
