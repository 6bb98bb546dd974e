//! Local administration (`shipgate admin ...`): enrol, unlock and revoke
//! maintainers. It works on the config file and data directory directly —
//! there is deliberately no HTTP route for it, so no network credential (and
//! no CI token) can ever enrol anyone. It may run while the server runs:
//! SQLite in WAL mode serialises the writers.

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::config::GateConfig;
use crate::credentials::{self, CredentialError, NewCredentials};
use crate::names::{self, InvalidName};
use crate::storage::{Db, StorageError};

/// Why an admin action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// A user or package name is malformed.
    #[error(transparent)]
    Name(#[from] InvalidName),
    /// `--package` names a package the config does not define.
    #[error("package {0:?} is not defined in the gate config")]
    UnknownPackage(String),
    /// The config does not list the user as a maintainer of the package.
    #[error("{user:?} is not listed in `maintainers` of package {package:?} in the gate config")]
    NotListed {
        /// The user.
        user: String,
        /// The package.
        package: String,
    },
    /// No `--package` given.
    #[error("at least one --package is required")]
    NoPackage,
    /// Generating credentials failed.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The database refused (already enrolled, no such maintainer, ...).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Enrols `user` for `packages` and returns the credentials to hand over.
pub async fn enroll(
    config: &GateConfig,
    user: &str,
    packages: &[String],
    now: i64,
) -> Result<NewCredentials, AdminError> {
    names::maintainer(user)?;
    if packages.is_empty() {
        return Err(AdminError::NoPackage);
    }
    let mut wanted: Vec<String> = packages.to_vec();
    wanted.sort();
    wanted.dedup();
    for package in &wanted {
        let pc = config
            .package(package)
            .ok_or_else(|| AdminError::UnknownPackage(package.clone()))?;
        if !pc.maintainers.iter().any(|m| m == user) {
            return Err(AdminError::NotListed {
                user: user.to_owned(),
                package: package.clone(),
            });
        }
    }
    let creds = credentials::generate(user, &issuer_label(config))?;
    let db = Db::open(&config.data_dir()).await?;
    let mut tx = db.begin_write().await?;
    tx.enroll(user, &creds.token_hash, &creds.totp_secret, &wanted, now)
        .await?;
    tx.commit().await?;
    db.close().await;
    Ok(creds)
}

/// Unlocks `user` after a TOTP lockout.
pub async fn unlock(config: &GateConfig, user: &str, now: i64) -> Result<(), AdminError> {
    names::maintainer(user)?;
    let db = Db::open(&config.data_dir()).await?;
    let mut tx = db.begin_write().await?;
    tx.unlock(user, now).await?;
    tx.commit().await?;
    db.close().await;
    Ok(())
}

/// Revokes `user`; returns the staged releases whose approval was withdrawn.
pub async fn revoke(config: &GateConfig, user: &str, now: i64) -> Result<Vec<i64>, AdminError> {
    names::maintainer(user)?;
    let db = Db::open(&config.data_dir()).await?;
    let mut tx = db.begin_write().await?;
    let withdrawn = tx.revoke(user, now).await?;
    tx.commit().await?;
    db.close().await;
    Ok(withdrawn)
}

/// The issuer label authenticator apps show next to the code.
fn issuer_label(config: &GateConfig) -> String {
    let host = config
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or(&config.public_url)
        .trim_end_matches('/');
    format!("shipgate {host}").replace(':', " ")
}

/// A QR code of `text` drawn with Unicode half blocks, for a terminal.
/// Returns `None` when the text is too long for a QR code.
pub fn terminal_qr(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::approvals::{Decision, DecisionError, Outcome, Refusal, Verdict, decide};

    #[allow(clippy::too_many_arguments)]
    async fn try_decide(
        db: &Db,
        config: &GateConfig,
        sign: crate::approvals::SignFn<'_>,
        release: i64,
        maintainer_token: &str,
        code: &str,
        verdict: &Verdict,
        now: i64,
    ) -> Result<Outcome, DecisionError> {
        let decision = Decision {
            release,
            maintainer_token,
            code,
            verdict: verdict.clone(),
            now,
        };
        decide(db, config, sign, &decision).await
    }
    use crate::credentials::totp_code;
    use crate::storage::tests::temp_db;

    fn config(data: &Path) -> GateConfig {
        let text = format!(
            r#"
listen = "127.0.0.1:0"
public_url = "http://gate.test:8080"
data_dir = "{}"
gate_key = "gate.key"
audience = "shipgate"
[[package]]
name = "hello"
maintainers = ["alice", "bob"]
quorum = 2
[[package]]
name = "other"
maintainers = ["carol"]
"#,
            data.display()
        );
        GateConfig::parse(&text, Path::new("gate.toml"), Path::new("/")).unwrap()
    }

    fn no_signing(
        _: &crate::storage::ReleaseDetail,
    ) -> Result<(crate::storage::SignedManifest, String), String> {
        Err("signing is not part of this test".into())
    }

    async fn stage(db: &Db) -> i64 {
        let mut tx = db.begin_write().await.unwrap();
        let release = crate::storage::NewRelease {
            package: "hello".into(),
            version: "1.0".into(),
            provenance: Default::default(),
            files: vec![],
        };
        let id = tx.insert_staged(&release, 1).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    #[tokio::test]
    async fn enrolment_checks_the_config_and_refuses_a_second_enrolment() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let err = enroll(&config, "alice", &["nope".into()], 1)
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::UnknownPackage(_)), "{err}");
        let err = enroll(&config, "alice", &["other".into()], 1)
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::NotListed { .. }), "{err}");
        let err = enroll(&config, "alice", &[], 1).await.unwrap_err();
        assert!(matches!(err, AdminError::NoPackage), "{err}");
        let err = enroll(&config, "al_ice", &["hello".into()], 1)
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::Name(_)), "{err}");

        let creds = enroll(&config, "alice", &["hello".into()], 1)
            .await
            .unwrap();
        assert!(
            creds.otpauth_uri.contains("shipgate%20gate.test%208080")
                || creds.otpauth_uri.contains("issuer="),
            "{}",
            creds.otpauth_uri
        );
        let err = enroll(&config, "alice", &["hello".into()], 2)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AdminError::Storage(StorageError::AlreadyEnrolled(_))),
            "{err}"
        );
        // Revoked maintainers can be enrolled again with fresh credentials.
        revoke(&config, "alice", 3).await.unwrap();
        let again = enroll(&config, "alice", &["hello".into()], 4)
            .await
            .unwrap();
        assert_ne!(again.token, creds.token);
        assert!(matches!(
            unlock(&config, "nobody", 5).await.unwrap_err(),
            AdminError::Storage(StorageError::NoSuchMaintainer(_))
        ));
        assert!(terminal_qr(&again.otpauth_uri).unwrap().contains('█'));
    }

    /// TOTP replay, lockout after 5 failures in 15 minutes, and unlock — with
    /// an injected clock (`now` is passed explicitly).
    #[tokio::test]
    async fn totp_codes_are_single_use_and_failures_lock_the_maintainer() {
        let (dir, _) = temp_db().await;
        let config = config(dir.path());
        let alice = enroll(&config, "alice", &["hello".into()], 0)
            .await
            .unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let id = stage(&db).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();

        let outcome = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap();
        assert_eq!(
            outcome,
            Outcome::Approved {
                approvals: 1,
                quorum: 2
            }
        );
        // The same code again (same step) is refused as reused, even a second later.
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &code,
            &Verdict::Approve,
            t0 + 1,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::ReusedCode)),
            "{err}"
        );
        // The previous step's code is also spent (step <= last used).
        let old = totp_code(&alice.totp_secret, (t0 - 30) as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &old,
            &Verdict::Approve,
            t0 + 2,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                DecisionError::Refused(Refusal::ReusedCode)
                    | DecisionError::Refused(Refusal::BadCode)
            ),
            "{err}"
        );
        // A fresh code for the next step works but alice already approved.
        let next = totp_code(&alice.totp_secret, (t0 + 30) as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &next,
            &Verdict::Approve,
            t0 + 30,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, DecisionError::AlreadyApproved(_)), "{err}");

        // That success cleared the failure history: 5 wrong codes in the
        // window are needed to lock, 4 are not enough.
        for i in 0..5 {
            if i == 4 {
                assert!(
                    db.maintainer("alice")
                        .await
                        .unwrap()
                        .unwrap()
                        .locked_at
                        .is_none()
                );
            }
            let err = try_decide(
                &db,
                &config,
                &no_signing,
                id,
                &alice.token,
                "000000",
                &Verdict::Approve,
                t0 + 40 + i,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    DecisionError::Refused(Refusal::BadCode | Refusal::ReusedCode)
                ),
                "{err}"
            );
        }
        let record = db.maintainer("alice").await.unwrap().unwrap();
        assert!(record.locked_at.is_some(), "locked after 5 failures");
        // Locked: even a correct fresh code is refused.
        let later = totp_code(&alice.totp_secret, (t0 + 90) as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &later,
            &Verdict::Reject { reason: "x".into() },
            t0 + 90,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::Locked)),
            "{err}"
        );

        unlock(&config, "alice", t0 + 100).await.unwrap();
        let outcome = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &later,
            &Verdict::Reject {
                reason: "bad".into(),
            },
            t0 + 90,
        )
        .await
        .unwrap();
        assert_eq!(outcome, Outcome::Rejected);
        let kinds: Vec<String> = db
            .events()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "maintainer_enrolled",
                "staged",
                "approved",
                "maintainer_locked",
                "maintainer_unlocked",
                "rejected"
            ]
        );
    }

    /// Quorum 2: the second distinct approval signs and releases in the same
    /// transaction; a third decision is refused as the release is no longer staged.
    #[tokio::test]
    async fn the_quorum_releases_with_a_signed_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let alice = enroll(&config, "alice", &["hello".into()], 0)
            .await
            .unwrap();
        let bob = enroll(&config, "bob", &["hello".into()], 0).await.unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let id = stage(&db).await;
        let pair = shipgate_manifest::keys::generate_key_pair(None).unwrap();
        let secret = shipgate_manifest::SecretKeyFile::parse(&pair.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        let key = crate::signing::GateKey::from_key(secret);
        let sign = |r: &crate::storage::ReleaseDetail| key.sign_release(r);
        let t0 = 1_800_000_000;
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();
        let first = try_decide(
            &db,
            &config,
            &sign,
            id,
            &alice.token,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap();
        assert_eq!(
            first,
            Outcome::Approved {
                approvals: 1,
                quorum: 2
            }
        );
        assert!(db.released_version("hello", "1.0").await.unwrap().is_none());
        let code = totp_code(&bob.totp_secret, t0 as u64).unwrap();
        let second = try_decide(
            &db,
            &config,
            &sign,
            id,
            &bob.token,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap();
        let Outcome::Released {
            approvals: 2,
            manifest_sha256,
        } = second
        else {
            panic!("{second:?}")
        };
        let (detail, signed) = db.released_version("hello", "1.0").await.unwrap().unwrap();
        assert_eq!(detail.approvals.len(), 2);
        let public = shipgate_manifest::PublicKey::parse(key.public_key_text(), "p").unwrap();
        let manifest = crate::fetch::verify(
            &signed.manifest,
            signed.signature.as_bytes(),
            &public,
            "hello",
            "1.0",
        )
        .unwrap();
        assert_eq!(manifest.sha256().to_hex(), manifest_sha256);
        let code = totp_code(&alice.totp_secret, (t0 + 30) as u64).unwrap();
        let late = try_decide(
            &db,
            &config,
            &sign,
            id,
            &alice.token,
            &code,
            &Verdict::Reject { reason: "x".into() },
            t0 + 30,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                late,
                DecisionError::NotStaged {
                    state: "released",
                    ..
                }
            ),
            "{late}"
        );
        let kinds: Vec<String> = db
            .events()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "maintainer_enrolled",
                "maintainer_enrolled",
                "staged",
                "approved",
                "approved",
                "released"
            ]
        );
    }

    /// If signing fails, nothing of the decision is kept (one transaction).
    #[tokio::test]
    async fn a_failed_signature_rolls_the_whole_decision_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.packages[0].quorum = 1;
        let alice = enroll(&config, "alice", &["hello".into()], 0)
            .await
            .unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let id = stage(&db).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, DecisionError::Signing(_)), "{err}");
        let release = db.release(id).await.unwrap().unwrap();
        assert!(release.approvals.is_empty());
        assert_eq!(release.summary.state, crate::storage::ReleaseState::Staged);
        // The code was not burned either: the whole transaction rolled back.
        assert_eq!(
            db.maintainer("alice")
                .await
                .unwrap()
                .unwrap()
                .last_totp_step,
            0
        );
    }

    #[tokio::test]
    async fn failures_spread_over_more_than_15_minutes_do_not_lock() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let bob = enroll(&config, "bob", &["hello".into()], 0).await.unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let id = stage(&db).await;
        let t0 = 1_800_000_000;
        for i in 0..8 {
            // 4 minutes apart: never 5 inside one 15-minute window.
            let _ = try_decide(
                &db,
                &config,
                &no_signing,
                id,
                &bob.token,
                "000000",
                &Verdict::Approve,
                t0 + i * 240,
            )
            .await;
        }
        assert!(
            db.maintainer("bob")
                .await
                .unwrap()
                .unwrap()
                .locked_at
                .is_none()
        );
    }

    #[tokio::test]
    async fn wrong_maintainer_tokens_and_other_packages_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let alice = enroll(&config, "alice", &["hello".into()], 0)
            .await
            .unwrap();
        let carol = enroll(&config, "carol", &["other".into()], 0)
            .await
            .unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let id = stage(&db).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&carol.totp_secret, t0 as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &carol.token,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::NotMaintainerOfPackage)),
            "{err}"
        );
        // A forged token with alice's name and a wrong secret.
        let forged = format!("sgm_alice_{}", "A".repeat(43));
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &forged,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::WrongToken)),
            "{err}"
        );
        // A JWT is not a maintainer token.
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            "eyJh.eyJz.c2ln",
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::MalformedToken)),
            "{err}"
        );
        // Revoked: refused, and a pending approval is withdrawn.
        let outcome = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &code,
            &Verdict::Approve,
            t0,
        )
        .await
        .unwrap();
        assert_eq!(
            outcome,
            Outcome::Approved {
                approvals: 1,
                quorum: 2
            }
        );
        assert_eq!(revoke(&config, "alice", t0 + 1).await.unwrap(), vec![id]);
        assert!(db.release(id).await.unwrap().unwrap().approvals.is_empty());
        let next = totp_code(&alice.totp_secret, (t0 + 30) as u64).unwrap();
        let err = try_decide(
            &db,
            &config,
            &no_signing,
            id,
            &alice.token,
            &next,
            &Verdict::Approve,
            t0 + 30,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::Revoked)),
            "{err}"
        );
    }
}
