//! The logs a witness follows: `ORIGIN=VERIFIER-KEY` (the log's signed-note
//! verifier key, `<name>+<key ID>+base64(0x01 || key)`); `VERIFIER-KEY`
//! alone means the origin is the key's name, as for shipgate gates.

use shipgate_log::{KeyError, NoteVerifier};

/// One followed log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// The checkpoint origin (first line).
    pub origin: String,
    /// The key its checkpoints must be signed with.
    pub verifier: NoteVerifier,
}

/// A `--log` value is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogKeyError {
    /// The origin is empty or holds a control character.
    #[error("the log origin {0:?} is empty or holds a control character")]
    BadOrigin(String),
    /// The verifier key does not parse.
    #[error("the log's verifier key: {0}")]
    Key(#[from] KeyError),
    /// The same origin is given twice.
    #[error("the log {0:?} is given twice")]
    Duplicate(String),
}

impl LogKey {
    /// Reads `ORIGIN=VKEY` or `VKEY`.
    pub fn parse(value: &str) -> Result<LogKey, LogKeyError> {
        // A verifier key never holds '=' before its second '+' (names hold
        // no '='... but base64 does at its end): split on the first '=' only
        // when it comes before any '+'.
        let (origin, vkey) = match value.split_once('=') {
            Some((origin, vkey)) if !origin.contains('+') => (Some(origin), vkey),
            _ => (None, value),
        };
        let verifier = NoteVerifier::parse(vkey.trim())?;
        let origin = origin.unwrap_or(verifier.name()).to_owned();
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(LogKeyError::BadOrigin(origin));
        }
        Ok(LogKey { origin, verifier })
    }

    /// Checks that no origin is given twice.
    pub fn check_unique(logs: &[LogKey]) -> Result<(), LogKeyError> {
        for (i, log) in logs.iter().enumerate() {
            if logs[..i].iter().any(|l| l.origin == log.origin) {
                return Err(LogKeyError::Duplicate(log.origin.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shipgate_log::NoteSigner;

    use super::*;

    #[test]
    fn reads_origin_and_key() {
        let key = NoteSigner::from_ed25519_seed("gate.test", &[1; 32])
            .unwrap()
            .verifier();
        let plain = LogKey::parse(&key.to_string()).unwrap();
        assert_eq!(plain.origin, "gate.test");
        let named = LogKey::parse(&format!("example.com/log={key}")).unwrap();
        assert_eq!(named.origin, "example.com/log");
        assert_eq!(named.verifier, key);
        for bad in ["", "=", "x=", "gate.test+00000000+AQ==", "a=b+c+d"] {
            assert!(LogKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(LogKey::check_unique(&[plain.clone(), named]).is_ok());
        assert!(matches!(
            LogKey::check_unique(&[plain.clone(), plain]),
            Err(LogKeyError::Duplicate(_))
        ));
    }
}
