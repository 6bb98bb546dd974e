//! What a client asks of the witnesses' cosignatures on the gate's
//! checkpoint (`fetch` and `log verify` with `--witness`): at least
//! `required` of the given witness keys must have a valid C2SP
//! `cosignature/v1` line on the checkpoint, and with `max_age` the newest
//! valid one must be recent.
//!
//! Why: the gate's own signature cannot show that other clients see the
//! same log. A witness cosigns a checkpoint only if it extends the one it
//! cosigned before, so a gate showing a forked history to one client cannot
//! get it cosigned; and a gate that freezes (keeps serving an old view) can
//! no longer get fresh cosignatures, which `max_age` catches.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use shipgate_log::CosignatureVerifier;
use shipgate_log::note::SignedNote;

/// Largest witness key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;
/// A cosignature dated further in the future than this is not valid.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 600;

/// The witnesses a client requires.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    /// The trusted witness keys.
    pub witnesses: Vec<CosignatureVerifier>,
    /// How many must have cosigned.
    pub required: usize,
    /// How old the newest valid cosignature may be.
    pub max_age: Option<Duration>,
}

/// The witness check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WitnessReport {
    /// The witnesses whose cosignature verified, with its timestamp.
    pub cosigned_by: Vec<(String, u64)>,
    /// How many were required.
    pub required: usize,
    /// Age in seconds of the newest valid cosignature.
    pub newest_age_seconds: Option<u64>,
}

/// The witness check could not run or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// A `--witness` file is unreadable or not a witness verifier key.
    #[error("--witness {path}: {message}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// More cosignatures required than witnesses given, or none.
    #[error(
        "--witnesses-required {required} with {given} --witness key(s): it must be between 1 and {given}"
    )]
    BadRequired {
        /// Required.
        required: usize,
        /// Given.
        given: usize,
    },
    /// `--max-age` or `--witnesses-required` without `--witness`.
    #[error("--max-age and --witnesses-required need at least one --witness KEYFILE")]
    NoWitnesses,
    /// Fewer valid cosignatures than required.
    #[error("the gate's checkpoint has {valid} valid witness cosignature(s), {required} required: {}", .problems.join("; "))]
    NotEnough {
        /// Valid cosignatures.
        valid: usize,
        /// Required.
        required: usize,
        /// Per witness without a valid cosignature: what is wrong.
        problems: Vec<String>,
    },
    /// The newest valid cosignature is older than `max_age`.
    #[error(
        "the newest witness cosignature (by {witness}) is {age_seconds}s old, more than --max-age {max_age_seconds}s: the gate's log may be frozen"
    )]
    TooOld {
        /// The witness.
        witness: String,
        /// Its age.
        age_seconds: u64,
        /// The limit.
        max_age_seconds: u64,
    },
}

impl WitnessPolicy {
    /// The policy of the CLI flags; `None` when no witness is given.
    pub fn from_files(
        files: &[PathBuf],
        required: Option<usize>,
        max_age: Option<Duration>,
    ) -> Result<Option<WitnessPolicy>, WitnessError> {
        if files.is_empty() {
            if required.is_some() || max_age.is_some() {
                return Err(WitnessError::NoWitnesses);
            }
            return Ok(None);
        }
        let witnesses = files
            .iter()
            .map(|path| read_key_file(path))
            .collect::<Result<Vec<_>, _>>()?;
        let required = required.unwrap_or(witnesses.len());
        if required == 0 || required > witnesses.len() {
            return Err(WitnessError::BadRequired {
                required,
                given: witnesses.len(),
            });
        }
        Ok(Some(WitnessPolicy {
            witnesses,
            required,
            max_age,
        }))
    }

    /// Checks the cosignatures of a checkpoint note (already verified with
    /// the gate key) at time `now` (Unix seconds).
    pub fn check(&self, note: &str, now: u64) -> Result<WitnessReport, WitnessError> {
        let parsed = SignedNote::parse(note.as_bytes()).map_err(|e| WitnessError::NotEnough {
            valid: 0,
            required: self.required,
            problems: vec![e.to_string()],
        })?;
        let mut cosigned_by: Vec<(String, u64)> = Vec::new();
        let mut problems = Vec::new();
        for witness in &self.witnesses {
            if cosigned_by.iter().any(|(name, _)| name == witness.name()) {
                continue; // the same key given twice counts once
            }
            match witness.check(&parsed) {
                Ok(time) if time > now.saturating_add(MAX_CLOCK_SKEW_SECONDS) => {
                    problems.push(format!(
                        "{}: the cosignature is dated {}s in the future",
                        witness.name(),
                        time - now
                    ))
                }
                Ok(time) => cosigned_by.push((witness.name().to_owned(), time)),
                Err(e) => problems.push(e.to_string()),
            }
        }
        if cosigned_by.len() < self.required {
            return Err(WitnessError::NotEnough {
                valid: cosigned_by.len(),
                required: self.required,
                problems,
            });
        }
        let newest = cosigned_by.iter().max_by_key(|(_, time)| *time);
        let newest_age_seconds = newest.map(|(_, time)| now.saturating_sub(*time));
        if let (Some(max_age), Some((witness, _)), Some(age)) =
            (self.max_age, newest, newest_age_seconds)
            && age > max_age.as_secs()
        {
            return Err(WitnessError::TooOld {
                witness: witness.clone(),
                age_seconds: age,
                max_age_seconds: max_age.as_secs(),
            });
        }
        Ok(WitnessReport {
            cosigned_by,
            required: self.required,
            newest_age_seconds,
        })
    }
}

/// Reads a witness verifier key file (one line, `<name>+<key ID>+<base64>`).
fn read_key_file(path: &Path) -> Result<CosignatureVerifier, WitnessError> {
    use std::io::Read as _;
    let fail = |message: String| WitnessError::KeyFile {
        path: path.to_owned(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    let line = text.trim();
    if line.starts_with("PRIVATE+KEY+") {
        return Err(fail(
            "this is a witness PRIVATE key; pass its .pub file (the verifier key)".into(),
        ));
    }
    CosignatureVerifier::parse(line).map_err(|e| fail(e.to_string()))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use shipgate_log::{Checkpoint, CosignatureSigner, Hash, NoteSigner};

    use super::*;

    fn witness(seed: u8) -> CosignatureSigner {
        CosignatureSigner::from_ed25519_seed(&format!("w{seed}.test"), &[seed; 32]).unwrap()
    }

    fn note(cosigners: &[(&CosignatureSigner, u64)]) -> String {
        let log = NoteSigner::from_ed25519_seed("gate.test", &[1; 32]).unwrap();
        let checkpoint = Checkpoint::new("gate.test", 3, Hash([4; 32]));
        let mut note = checkpoint.sign(&log).unwrap();
        for (signer, time) in cosigners {
            note.push_str(
                &signer
                    .cosign(&checkpoint.to_text().unwrap(), *time)
                    .unwrap(),
            );
        }
        note
    }

    fn policy(
        witnesses: &[&CosignatureSigner],
        required: usize,
        max_age: Option<u64>,
    ) -> WitnessPolicy {
        WitnessPolicy {
            witnesses: witnesses.iter().map(|w| w.verifier()).collect(),
            required,
            max_age: max_age.map(Duration::from_secs),
        }
    }

    #[test]
    fn counts_valid_cosignatures_and_their_age() {
        let (a, b, c) = (witness(2), witness(3), witness(4));
        let cosigned = note(&[(&a, 1000), (&b, 1100)]);
        let report = policy(&[&a, &b], 2, Some(60))
            .check(&cosigned, 1130)
            .unwrap();
        assert_eq!(report.cosigned_by.len(), 2);
        assert_eq!(report.newest_age_seconds, Some(30));
        // c never cosigned: 2 of 3 is enough when 2 are required, not 3.
        policy(&[&a, &b, &c], 2, None)
            .check(&cosigned, 1130)
            .unwrap();
        let err = policy(&[&a, &b, &c], 3, None)
            .check(&cosigned, 1130)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("2 valid witness cosignature(s), 3 required"),
            "{err}"
        );
        assert!(err.to_string().contains("w4.test"), "{err}");
        // Too old.
        let err = policy(&[&a, &b], 1, Some(60))
            .check(&cosigned, 1200)
            .unwrap_err();
        assert_eq!(
            err,
            WitnessError::TooOld {
                witness: "w3.test".into(),
                age_seconds: 100,
                max_age_seconds: 60
            }
        );
        // Dated in the future: not valid.
        let future = note(&[(&a, 10_000)]);
        assert!(policy(&[&a], 1, None).check(&future, 1000).is_err());
        // The same key twice counts once.
        let once = note(&[(&a, 1000)]);
        assert!(policy(&[&a, &a], 2, None).check(&once, 1000).is_err());
        // No cosignature at all.
        assert!(policy(&[&a], 1, None).check(&note(&[]), 1000).is_err());
    }

    #[test]
    fn key_files_and_flags_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("w.pub");
        std::fs::write(&good, format!("{}\n", witness(2).verifier())).unwrap();
        let private = dir.path().join("w.key");
        std::fs::write(&private, witness(2).private_key()).unwrap();
        let garbage = dir.path().join("g.pub");
        std::fs::write(&garbage, "not a key").unwrap();
        assert!(
            WitnessPolicy::from_files(&[], None, None)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            WitnessPolicy::from_files(&[], Some(1), None).unwrap_err(),
            WitnessError::NoWitnesses
        );
        let p = WitnessPolicy::from_files(std::slice::from_ref(&good), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(p.required, 1);
        for required in [0, 2] {
            assert!(matches!(
                WitnessPolicy::from_files(std::slice::from_ref(&good), Some(required), None),
                Err(WitnessError::BadRequired { .. })
            ));
        }
        for bad in [private, garbage, dir.path().join("missing")] {
            assert!(matches!(
                WitnessPolicy::from_files(&[bad], None, None),
                Err(WitnessError::KeyFile { .. })
            ));
        }
    }
}
