//! The shape a release's provenance must have before the gate stores it.
//!
//! Provenance comes from claims of a CI token that verified and matched a
//! trusted-publisher binding, but the binding only pins some claims
//! (repository, owner, workflow, optionally environment and a ref pattern);
//! the others (`sha`, `run_id`, `sub`, the rest of `workflow_ref`, ...) are
//! whatever the CI run put there. Maintainers later read them in `shipgate
//! release show` and `shipgate approve` to decide, so a value that could
//! redraw their terminal (`\n`, ESC sequences) or display as something it is
//! not (bidirectional overrides, zero-width characters) is refused, and the
//! two fields with a fixed format are held to it.

use crate::storage::Provenance;
use shipgate_protocol::untrusted::{code_point, first_deceptive};

/// A provenance value the gate refuses to record (for the server log only:
/// the caller gets the generic refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("claim `{claim}` is {value:?}: {problem}")]
pub struct BadProvenance {
    /// The claim (field) that was refused.
    pub claim: &'static str,
    /// Its value (debug-escaped when displayed).
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Checks every field of `provenance`: no control or invisible format
/// character anywhere; the commit is 40 (SHA-1) or 64 (SHA-256) lowercase
/// hex digits; the run id is decimal digits.
pub fn check(provenance: &Provenance) -> Result<(), BadProvenance> {
    let p = provenance;
    let fields: [(&'static str, Option<&str>); 10] = [
        ("iss", Some(&p.issuer)),
        ("sub", Some(&p.subject)),
        ("repository", Some(&p.repository)),
        ("repository_owner_id", p.repository_owner_id.as_deref()),
        ("workflow_ref", Some(&p.workflow)),
        ("ref", Some(&p.git_ref)),
        ("sha", Some(&p.commit_sha)),
        ("run_id", Some(&p.run_id)),
        ("environment", p.environment.as_deref()),
        ("event_name", p.event_name.as_deref()),
    ];
    for (claim, value) in fields {
        let Some(value) = value else { continue };
        if let Some(c) = first_deceptive(value) {
            return Err(bad(
                claim,
                value,
                format!(
                    "it contains {}, a control or invisible formatting character",
                    code_point(c)
                ),
            ));
        }
    }
    if !is_commit_sha(&p.commit_sha) {
        return Err(bad(
            "sha",
            &p.commit_sha,
            "a commit must be 40 or 64 lowercase hex digits".into(),
        ));
    }
    if !is_run_id(&p.run_id) {
        return Err(bad(
            "run_id",
            &p.run_id,
            "a run id must be 1 to 20 decimal digits".into(),
        ));
    }
    Ok(())
}

fn bad(claim: &'static str, value: &str, problem: String) -> BadProvenance {
    BadProvenance {
        claim,
        value: value.to_owned(),
        problem,
    }
}

/// A git object id: SHA-1 (40) or SHA-256 (64) in lowercase hex, as both
/// GitHub and GitLab write it.
fn is_commit_sha(sha: &str) -> bool {
    matches!(sha.len(), 40 | 64)
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// GitHub's `run_id` and GitLab's `pipeline_id` are numbers sent as strings;
/// 20 digits hold any `u64`.
fn is_run_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Provenance {
        Provenance {
            issuer: "https://token.actions.githubusercontent.com".into(),
            subject: "repo:acme/hello:environment:release".into(),
            repository: "acme/hello".into(),
            repository_owner_id: Some("42".into()),
            workflow: "acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0".into(),
            git_ref: "refs/tags/v1.0.0".into(),
            commit_sha: "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1".into(),
            run_id: "987654321".into(),
            environment: Some("release".into()),
            event_name: Some("push".into()),
        }
    }

    #[test]
    fn accepts_ordinary_provenance() {
        assert_eq!(check(&good()), Ok(()));
        let sha256 = Provenance {
            commit_sha: "0123456789abcdef".repeat(4),
            environment: None,
            event_name: None,
            repository_owner_id: None,
            ..good()
        };
        assert_eq!(check(&sha256), Ok(()));
    }

    /// Puts a value into one field.
    type Setter = fn(&mut Provenance, String);

    #[test]
    fn refuses_terminal_tricks_in_every_field() {
        let hostile = [
            "0000000\n  repository  acme/trusted (owner id 1)\x1b[1A\x1b[2K",
            "prod\x1b]0;pwned\x07",
            "x\u{202E}y",
            "x\u{200B}",
            "x\u{2028}y",
            "x\u{FEFF}",
            "x\u{AD}",
            "x\r",
        ];
        let setters: [(&str, Setter); 10] = [
            ("iss", |p, v| p.issuer = v),
            ("sub", |p, v| p.subject = v),
            ("repository", |p, v| p.repository = v),
            ("repository_owner_id", |p, v| {
                p.repository_owner_id = Some(v)
            }),
            ("workflow_ref", |p, v| p.workflow = v),
            ("ref", |p, v| p.git_ref = v),
            ("sha", |p, v| p.commit_sha = v),
            ("run_id", |p, v| p.run_id = v),
            ("environment", |p, v| p.environment = Some(v)),
            ("event_name", |p, v| p.event_name = Some(v)),
        ];
        for (claim, set) in setters {
            for value in hostile {
                let mut p = good();
                set(&mut p, value.to_owned());
                let err = check(&p).unwrap_err();
                assert_eq!(err.claim, claim, "{value:?}");
                // The log line shows the value escaped.
                assert!(!err.to_string().contains('\x1b'), "{err}");
                assert!(!err.to_string().contains('\n'), "{err}");
            }
        }
    }

    #[test]
    fn names_the_offending_character() {
        let p = Provenance {
            environment: Some("prod\x1b]0;pwned\x07".into()),
            ..good()
        };
        let err = check(&p).unwrap_err();
        assert!(err.to_string().contains("U+001B"), "{err}");
        assert!(err.to_string().contains("environment"), "{err}");
    }

    #[test]
    fn commit_and_run_id_have_a_fixed_shape() {
        for sha in [
            "",
            "4e9b7dbc",
            "4E9B7DBC0C1D2E3F40516273849506A7B8C9D0E1",
            "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e",
            "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1a",
            "g000000000000000000000000000000000000000",
            "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e ",
        ] {
            let p = Provenance {
                commit_sha: sha.into(),
                ..good()
            };
            assert_eq!(check(&p).unwrap_err().claim, "sha", "{sha:?}");
        }
        for run in ["", "-1", "1.0", "12a", " 1", "１２", &"9".repeat(21)] {
            let p = Provenance {
                run_id: run.into(),
                ..good()
            };
            assert_eq!(check(&p).unwrap_err().claim, "run_id", "{run:?}");
        }
    }
}
