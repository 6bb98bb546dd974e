//! The three signature algorithms shipgate accepts, and nothing else.
//!
//! The allow-list is closed on purpose (RFC 8725 §3.1, §3.2): `none` in any
//! spelling, every `HS*` (the RSA-public-key-as-HMAC-secret confusion), `PS*`,
//! `ES384`, ... are refused before any key is looked up. Names compare with
//! exact case, as RFC 7515 requires.

use std::fmt;

/// A JWS algorithm on shipgate's allow-list. Each key type verifies with
/// exactly one of them: RSA → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA keys of 2048 bits or more).
    RS256,
    /// ECDSA on P-256 with SHA-256, signature in the fixed 64-byte JWS form.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every accepted algorithm, in the order documents list them.
    pub const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    /// The `alg` value exactly as it appears in a JOSE header or a JWK.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Parses an `alg` value with exact case; anything off the allow-list is `None`.
    pub fn from_jose(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// Parses a command-line spelling (case-insensitive: `rs256`, `EdDSA`, ...).
    pub fn from_user(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
    }

    /// The lower-case tag used in key file names (`rs256`, `es256`, `eddsa`).
    pub fn file_tag(self) -> &'static str {
        match self {
            Algorithm::RS256 => "rs256",
            Algorithm::ES256 => "es256",
            Algorithm::EdDSA => "eddsa",
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Algorithm;

    #[test]
    fn only_the_three_exact_names_are_allowed() {
        for name in ["RS256", "ES256", "EdDSA"] {
            assert_eq!(Algorithm::from_jose(name).map(|a| a.as_str()), Some(name));
        }
        for refused in [
            "none", "None", "NONE", "nOnE", "", "HS256", "HS384", "HS512", "rs256", "Rs256",
            "RS384", "RS512", "PS256", "ES384", "ES512", "ES256K", "EDDSA", "eddsa", "Ed25519",
            "RS256 ", " RS256",
        ] {
            assert_eq!(Algorithm::from_jose(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn user_spelling_is_case_insensitive() {
        assert_eq!(Algorithm::from_user("eddsa"), Some(Algorithm::EdDSA));
        assert_eq!(Algorithm::from_user("Es256"), Some(Algorithm::ES256));
        assert_eq!(Algorithm::from_user("hs256"), None);
    }
}
