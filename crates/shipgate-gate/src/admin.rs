//! Local administration (`shipgate admin ...`): enrol, unlock, revoke and
//! inspect maintainers. It works on the config file and data directory directly —
//! there is deliberately no HTTP route for it, so no network credential (and
//! no CI token) can ever enrol anyone. It may run while the server runs:
//! SQLite in WAL mode serialises the writers.

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use serde::Serialize;

use crate::config::GateConfig;
use crate::credentials::{self, CredentialError, NewCredentials};
use crate::lockout::{self, FailureCounts, LockReason};
use crate::storage::{Db, MaintainerRecord, StorageError};
use shipgate_protocol::names::{self, InvalidName};

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
    /// The secrets key could not be loaded, or a secret not sealed.
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    /// The gate's `public_url` cannot carry passkeys.
    #[error(transparent)]
    Passkey(#[from] crate::web::passkey::PasskeyError),
    /// No standing passkey of the maintainer has this credential id.
    #[error(
        "{user:?} has no passkey with credential id {credential_id:?} (or it is already revoked)"
    )]
    UnknownPasskey {
        /// The maintainer.
        user: String,
        /// The credential id given.
        credential_id: String,
    },
    /// Randomness was unavailable.
    #[error("no randomness available: {0}")]
    Random(String),
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
    let secrets = config.secrets_key()?;
    let sealed = secrets.seal(user, &creds.totp_secret)?;
    let db = Db::connect(&config.database()?).await?;
    db.seal_plain_secrets(&secrets).await?;
    let mut tx = db.begin_write().await?;
    tx.enroll(user, &creds.token_hash, &sealed, &wanted, now)
        .await?;
    tx.commit().await?;
    db.close().await;
    Ok(creds)
}

/// Creates a one-time link (valid for an hour) with which `user`, an
/// enrolled maintainer, registers a passkey in the browser. Returns the URL;
/// the gate keeps only the SHA-256 of its token.
pub async fn passkey_link(config: &GateConfig, user: &str, now: i64) -> Result<String, AdminError> {
    names::maintainer(user)?;
    // Refuse early when browsers could not use the link.
    crate::web::passkey::RelyingParty::from_public_url(&config.public_url)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AdminError::Random(e.to_string()))?;
    let token = crate::web::passkey::b64url(&bytes);
    let db = Db::connect(&config.database()?).await?;
    let mut tx = db.begin_write().await?;
    let standing = tx
        .maintainer(user)
        .await?
        .is_some_and(|m| m.revoked_at.is_none());
    if !standing {
        return Err(StorageError::NoSuchMaintainer(user.to_owned()).into());
    }
    tx.create_enrolment_link(
        &crate::web::guard::token_hash(&token),
        user,
        now,
        now + crate::web::ENROLMENT_LINK_SECONDS,
    )
    .await?;
    tx.commit().await?;
    db.close().await;
    Ok(format!(
        "{}/enrol/{token}",
        config.public_url.trim_end_matches('/')
    ))
}

/// Revokes one passkey of `user` (logged as `passkey_revoked`).
pub async fn revoke_passkey(
    config: &GateConfig,
    user: &str,
    credential_id: &str,
    now: i64,
) -> Result<(), AdminError> {
    names::maintainer(user)?;
    let db = Db::connect(&config.database()?).await?;
    let mut tx = db.begin_write().await?;
    if !tx.revoke_passkey(user, credential_id, now).await? {
        return Err(AdminError::UnknownPasskey {
            user: user.to_owned(),
            credential_id: credential_id.to_owned(),
        });
    }
    tx.commit().await?;
    db.close().await;
    Ok(())
}

/// A maintainer's standing passkeys.
pub async fn passkeys(
    config: &GateConfig,
    user: &str,
) -> Result<Vec<crate::storage::StoredPasskey>, AdminError> {
    names::maintainer(user)?;
    let db = Db::connect(&config.database()?).await?;
    let list = db.active_passkeys(user).await?;
    db.close().await;
    Ok(list)
}

/// Unlocks `user` after a 15-minute TOTP lockout and returns their failure
/// counts (the yearly budget keeps counting). A maintainer who used up the
/// yearly budget is refused ([`StorageError::LockedUntilReenrolled`]).
pub async fn unlock(
    config: &GateConfig,
    user: &str,
    now: i64,
) -> Result<FailureCounts, AdminError> {
    names::maintainer(user)?;
    let db = Db::connect(&config.database()?).await?;
    let mut tx = db.begin_write().await?;
    tx.unlock(user, now).await?;
    let (recent_since, year_since) = lockout::window_starts(now);
    let counts = tx.failure_counts(user, recent_since, year_since).await?;
    tx.commit().await?;
    db.close().await;
    Ok(counts)
}

/// A maintainer as `shipgate admin status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaintainerStatus {
    /// User name.
    pub name: String,
    /// `active`, `locked` or `revoked`.
    pub state: &'static str,
    /// Why locked (`failures`: `admin unlock` lifts it; `budget`: only
    /// re-enrolment does).
    pub lock_reason: Option<LockReason>,
    /// When locked (Unix seconds).
    pub locked_at: Option<i64>,
    /// When (last) enrolled.
    pub enrolled_at: i64,
    /// When revoked.
    pub revoked_at: Option<i64>,
    /// Packages enrolled for.
    pub packages: Vec<String>,
    /// Wrong codes counted by each lockout rule now.
    pub failures: FailureCounts,
}

impl MaintainerStatus {
    fn new(record: MaintainerRecord, failures: FailureCounts) -> Self {
        let state = if record.revoked_at.is_some() {
            "revoked"
        } else if record.lock_reason.is_some() {
            "locked"
        } else {
            "active"
        };
        Self {
            name: record.name,
            state,
            lock_reason: record.lock_reason,
            locked_at: record.locked_at,
            enrolled_at: record.enrolled_at,
            revoked_at: record.revoked_at,
            packages: record.packages,
            failures,
        }
    }
}

/// The state of every maintainer (or only `user`), with their failure
/// counts at `now`.
pub async fn status(
    config: &GateConfig,
    user: Option<&str>,
    now: i64,
) -> Result<Vec<MaintainerStatus>, AdminError> {
    if let Some(user) = user {
        names::maintainer(user)?;
    }
    let db = Db::connect(&config.database()?).await?;
    let records = match user {
        Some(user) => vec![
            db.maintainer(user)
                .await?
                .ok_or_else(|| StorageError::NoSuchMaintainer(user.to_owned()))?,
        ],
        None => db.maintainers().await?,
    };
    let (recent_since, year_since) = lockout::window_starts(now);
    let mut statuses = Vec::with_capacity(records.len());
    for record in records {
        let counts = db
            .failure_counts(&record.name, recent_since, year_since)
            .await?;
        statuses.push(MaintainerStatus::new(record, counts));
    }
    db.close().await;
    Ok(statuses)
}

/// Revokes `user`; returns the staged releases whose approval was withdrawn.
pub async fn revoke(config: &GateConfig, user: &str, now: i64) -> Result<Vec<i64>, AdminError> {
    names::maintainer(user)?;
    let db = Db::connect(&config.database()?).await?;
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
    use crate::approvals::{Decision, DecisionError, Outcome, Refusal, SignFn, Verdict, decide};
    use crate::credentials::totp_code;
    use crate::lockout::{self, FailureCounts, LockReason};
    use crate::storage::tests::{TestDb, event_kinds, temp_db};

    /// A decision on `release` with `maintainer_token` and `code` at `now`;
    /// `sign` signs the manifest when the decision reaches the quorum.
    #[allow(clippy::too_many_arguments)]
    async fn try_decide(
        db: &Db,
        config: &GateConfig,
        sign: SignFn<'_>,
        release: i64,
        maintainer_token: &str,
        code: &str,
        verdict: Verdict,
        now: i64,
    ) -> Result<Outcome, DecisionError> {
        let decision = Decision {
            release,
            maintainer_token,
            code,
            verdict,
            now,
        };
        let secrets = config.secrets_key().unwrap();
        decide(db, config, &secrets, sign, &decision).await
    }

    /// An approval of `release` with `token` and `code` at `now`, without a
    /// signing key (a decision that reaches the quorum fails to sign).
    async fn approve(
        db: &Db,
        config: &GateConfig,
        release: i64,
        token: &str,
        code: &str,
        now: i64,
    ) -> Result<Outcome, DecisionError> {
        let verdict = Verdict::Approve;
        try_decide(db, config, &no_signing, release, token, code, verdict, now).await
    }

    /// A rejection of `release` for `reason`, like [`approve`].
    async fn reject(
        db: &Db,
        config: &GateConfig,
        release: i64,
        token: &str,
        code: &str,
        reason: &str,
        now: i64,
    ) -> Result<Outcome, DecisionError> {
        let verdict = Verdict::Reject {
            reason: reason.into(),
        };
        try_decide(db, config, &no_signing, release, token, code, verdict, now).await
    }

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
        GateConfig::parse(&text, Path::new("gate.toml"), data).unwrap()
    }

    /// A gate in a temp dir (`hello` at `quorum`) with `users` (name,
    /// package) enrolled at time 0 and one release of `hello` staged:
    /// (dir, config, db, their credentials in order, the release id).
    async fn gate_with_staged<const N: usize>(
        quorum: u32,
        users: [(&str, &str); N],
    ) -> (TestDb, GateConfig, Db, [NewCredentials; N], i64) {
        let dir = TestDb::new().await;
        let mut config = config(dir.path());
        config.database = dir.database_setting();
        config.packages[0].quorum = quorum;
        let mut credentials = Vec::new();
        for (user, package) in users {
            credentials.push(
                enroll(&config, user, &[(*package).to_owned()], 0)
                    .await
                    .unwrap(),
            );
        }
        let db = dir.open().await;
        let id = stage(&db).await;
        let Ok(credentials) = credentials.try_into() else {
            unreachable!("one credential per user")
        };
        (dir, config, db, credentials, id)
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
        let dir = TestDb::new().await;
        let mut config = config(dir.path());
        config.database = dir.database_setting();
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
        let mut config = config(dir.path());
        config.database = dir.database_setting();
        let alice = enroll(&config, "alice", &["hello".into()], 0)
            .await
            .unwrap();
        let db = dir.open().await;
        let id = stage(&db).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();

        let outcome = approve(&db, &config, id, &alice.token, &code, t0)
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
        let err = approve(&db, &config, id, &alice.token, &code, t0 + 1)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::ReusedCode)),
            "{err}"
        );
        // The previous step's code is also spent (step <= last used).
        let old = totp_code(&alice.totp_secret, (t0 - 30) as u64).unwrap();
        let err = approve(&db, &config, id, &alice.token, &old, t0 + 2)
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
        let err = approve(&db, &config, id, &alice.token, &next, t0 + 30)
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
            let err = approve(&db, &config, id, &alice.token, "00000000", t0 + 40 + i)
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
        let err = reject(&db, &config, id, &alice.token, &later, "x", t0 + 90)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::Locked)),
            "{err}"
        );

        unlock(&config, "alice", t0 + 100).await.unwrap();
        let outcome = reject(&db, &config, id, &alice.token, &later, "bad", t0 + 90)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Rejected);
        let kinds = event_kinds(&db).await;
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
        let (_dir, config, db, [alice, bob], id) =
            gate_with_staged(2, [("alice", "hello"), ("bob", "hello")]).await;
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
            Verdict::Approve,
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
            Verdict::Approve,
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
        let manifest = shipgate_client::fetch::verify(
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
            Verdict::Reject { reason: "x".into() },
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
        let kinds = event_kinds(&db).await;
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

    /// If signing fails, nothing of the decision is kept (one transaction),
    /// but the TOTP step is spent: the same code cannot be tried again.
    #[tokio::test]
    async fn a_failed_signature_rolls_the_decision_back_but_burns_the_code() {
        let (_dir, config, db, [alice], id) = gate_with_staged(1, [("alice", "hello")]).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();
        let err = approve(&db, &config, id, &alice.token, &code, t0)
            .await
            .unwrap_err();
        assert!(matches!(err, DecisionError::Signing(_)), "{err}");
        let release = db.release(id).await.unwrap().unwrap();
        assert!(release.approvals.is_empty());
        assert_eq!(release.summary.state, crate::storage::ReleaseState::Staged);
        let step = t0 / 30;
        assert_eq!(
            db.maintainer("alice")
                .await
                .unwrap()
                .unwrap()
                .last_totp_step,
            step
        );
        let again = approve(&db, &config, id, &alice.token, &code, t0 + 1)
            .await
            .unwrap_err();
        assert!(
            matches!(again, DecisionError::Refused(Refusal::ReusedCode)),
            "{again}"
        );
        // No approval and no event of the failed decision were kept.
        let kinds = crate::storage::tests::event_kinds(&db).await;
        assert!(!kinds.iter().any(|k| k == "approved"), "{kinds:?}");
    }

    /// Quorum counts only maintainers who may approve when the decision is
    /// taken: an approval by someone taken off the package since is
    /// withdrawn (and logged), not counted.
    #[tokio::test]
    async fn approvals_of_maintainers_taken_off_the_package_do_not_count() {
        let dir = crate::private_files::private_tempdir();
        let text = |maintainers: &str| {
            format!(
                "listen = \"127.0.0.1:0\"\npublic_url = \"http://gate.test:8080\"\n\
                 data_dir = \"{}\"\ngate_key = \"gate.key\"\naudience = \"shipgate\"\n\
                 [[package]]\nname = \"hello\"\nmaintainers = [{maintainers}]\nquorum = 2\n",
                dir.path().display()
            )
        };
        let before = GateConfig::parse(
            &text("\"alice\", \"bob\", \"carol\""),
            Path::new("gate.toml"),
            dir.path(),
        )
        .unwrap();
        let hello = ["hello".to_owned()];
        let alice = enroll(&before, "alice", &hello, 0).await.unwrap();
        let bob = enroll(&before, "bob", &hello, 0).await.unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let id = stage(&db).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();
        let first = approve(&db, &before, id, &alice.token, &code, t0)
            .await
            .unwrap();
        assert!(
            matches!(first, Outcome::Approved { approvals: 1, .. }),
            "{first:?}"
        );

        // alice is taken off the package (she stays enrolled: she may
        // maintain others); the gate restarts with the new config.
        let after = GateConfig::parse(
            &text("\"bob\", \"carol\""),
            Path::new("gate.toml"),
            dir.path(),
        )
        .unwrap();
        let code = totp_code(&bob.totp_secret, t0 as u64).unwrap();
        let second = approve(&db, &after, id, &bob.token, &code, t0)
            .await
            .unwrap();
        assert!(
            matches!(
                second,
                Outcome::Approved {
                    approvals: 1,
                    quorum: 2
                }
            ),
            "{second:?}"
        );
        let release = db.release(id).await.unwrap().unwrap();
        assert_eq!(release.summary.state, crate::storage::ReleaseState::Staged);
        let approvers: Vec<_> = release
            .approvals
            .iter()
            .map(|a| a.maintainer.as_str())
            .collect();
        assert_eq!(approvers, ["bob"]);
        let kinds = crate::storage::tests::event_kinds(&db).await;
        assert!(kinds.iter().any(|k| k == "approval_withdrawn"), "{kinds:?}");
    }

    #[tokio::test]
    async fn failures_spread_over_more_than_15_minutes_do_not_lock() {
        let (_dir, config, db, [bob], id) = gate_with_staged(2, [("bob", "hello")]).await;
        let t0 = 1_800_000_000;
        for i in 0..8 {
            // 4 minutes apart: never 5 inside one 15-minute window.
            let _ = approve(&db, &config, id, &bob.token, "00000000", t0 + i * 240).await;
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
        let (_dir, config, db, [alice, carol], id) =
            gate_with_staged(2, [("alice", "hello"), ("carol", "other")]).await;
        let t0 = 1_800_000_000;
        let code = totp_code(&carol.totp_secret, t0 as u64).unwrap();
        let err = approve(&db, &config, id, &carol.token, &code, t0)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::NotMaintainerOfPackage)),
            "{err}"
        );
        // A forged token with alice's name and a wrong secret.
        let forged = format!("sgm_alice_{}", "A".repeat(43));
        let code = totp_code(&alice.totp_secret, t0 as u64).unwrap();
        let err = approve(&db, &config, id, &forged, &code, t0)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::WrongToken)),
            "{err}"
        );
        // A JWT is not a maintainer token.
        let err = approve(&db, &config, id, "eyJh.eyJz.c2ln", &code, t0)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::MalformedToken)),
            "{err}"
        );
        // Revoked: refused, and a pending approval is withdrawn.
        let outcome = approve(&db, &config, id, &alice.token, &code, t0)
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
        let err = approve(&db, &config, id, &alice.token, &next, t0 + 30)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::Revoked)),
            "{err}"
        );
    }

    async fn counts(db: &Db, name: &str, now: i64) -> FailureCounts {
        let (recent, year) = lockout::window_starts(now);
        db.failure_counts(name, recent, year).await.unwrap()
    }

    /// A wrong code that is surely wrong at `now` (not one of the 3 accepted).
    fn wrong_code(secret: &str, now: i64) -> String {
        let accepted: Vec<String> = [-30, 0, 30]
            .iter()
            .map(|d| totp_code(secret, (now + d) as u64).unwrap())
            .collect();
        ["00000000", "11111111", "22222222", "33333333"]
            .into_iter()
            .find(|c| !accepted.iter().any(|a| a == c))
            .unwrap()
            .to_owned()
    }

    /// One approval with a wrong code at `now`, which must be refused.
    async fn fail_once(db: &Db, config: &GateConfig, id: i64, who: &NewCredentials, now: i64) {
        let code = wrong_code(&who.totp_secret, now);
        assert!(
            approve(db, config, id, &who.token, &code, now)
                .await
                .is_err()
        );
    }

    /// The slow attacker: never 5 failures in 15 minutes, so the short rule
    /// never fires; the 30th failure within 365 days locks until
    /// re-enrolment, which `unlock` cannot lift.
    #[tokio::test]
    async fn slow_guessing_is_stopped_by_the_yearly_budget() {
        let (_dir, config, db, [alice], id) = gate_with_staged(1, [("alice", "hello")]).await;
        let t0 = 1_800_000_000;
        let mut now = t0;
        for n in 1..=lockout::YEARLY_BUDGET {
            // 4 minutes apart: at most 4 failures in any 15 minutes.
            now = t0 + i64::from(n) * 240;
            let err = approve(
                &db,
                &config,
                id,
                &alice.token,
                &wrong_code(&alice.totp_secret, now),
                now,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(err, DecisionError::Refused(Refusal::BadCode)),
                "{n}: {err}"
            );
            let record = db.maintainer("alice").await.unwrap().unwrap();
            let c = counts(&db, "alice", now).await;
            assert!(c.recent <= 4, "{n}: {c:?}");
            assert_eq!(c.year, n);
            if n < lockout::YEARLY_BUDGET {
                assert_eq!(record.lock_reason, None, "not locked after {n}");
            } else {
                assert_eq!(record.lock_reason, Some(LockReason::Budget));
            }
        }
        // Even the right code is refused now, and `unlock` cannot help.
        now += 60;
        let good = totp_code(&alice.totp_secret, now as u64).unwrap();
        let err = approve(&db, &config, id, &alice.token, &good, now)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DecisionError::Refused(Refusal::LockedUntilReenrolled)),
            "{err}"
        );
        let err = unlock(&config, "alice", now).await.unwrap_err();
        assert!(
            matches!(
                err,
                AdminError::Storage(StorageError::LockedUntilReenrolled(_))
            ),
            "{err}"
        );
        let shown = status(&config, Some("alice"), now).await.unwrap();
        assert_eq!(shown[0].state, "locked");
        assert_eq!(shown[0].lock_reason, Some(LockReason::Budget));
        assert_eq!(shown[0].failures.year, lockout::YEARLY_BUDGET);
        // A year later the failures have aged out, but the lock stays: it is
        // not a window, it waits for re-enrolment.
        let later = now + lockout::BUDGET_WINDOW_SECONDS + 1;
        assert_eq!(counts(&db, "alice", later).await.year, 0);
        let good = totp_code(&alice.totp_secret, later as u64).unwrap();
        assert!(
            approve(&db, &config, id, &alice.token, &good, later)
                .await
                .is_err()
        );

        // Re-enrolment: new token and secret, budget afresh; the old token is dead.
        revoke(&config, "alice", now + 1).await.unwrap();
        let fresh = enroll(&config, "alice", &["hello".into()], now + 2)
            .await
            .unwrap();
        assert_eq!(
            counts(&db, "alice", now + 2).await,
            FailureCounts::default()
        );
        let stolen = approve(&db, &config, id, &alice.token, &good, now + 3)
            .await
            .unwrap_err();
        assert!(
            matches!(stolen, DecisionError::Refused(Refusal::WrongToken)),
            "{stolen}"
        );
        let code = totp_code(&fresh.totp_secret, (now + 3) as u64).unwrap();
        let outcome = approve(&db, &config, id, &fresh.token, &code, now + 3).await;
        assert!(
            matches!(outcome, Err(DecisionError::Signing(_))),
            "quorum 1 reached: {outcome:?}"
        );
        let kinds = event_kinds(&db).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "maintainer_locked").count(),
            1
        );
    }

    /// The fast attacker with a lenient admin: every 5 failures lock, every
    /// unlock forgives them for the 15-minute rule only, and accepted codes
    /// in between do not reset the budget either. The 30th failure locks
    /// for good.
    #[tokio::test]
    async fn unlocks_and_accepted_codes_do_not_reset_the_yearly_budget() {
        let (_dir, config, db, [bob], id) = gate_with_staged(2, [("bob", "hello")]).await;
        let mut now = 1_800_000_000;
        let rounds = lockout::YEARLY_BUDGET / lockout::SHORT_LIMIT;
        for round in 1..=rounds {
            for _ in 0..lockout::SHORT_LIMIT {
                now += 1;
                fail_once(&db, &config, id, &bob, now).await;
            }
            let record = db.maintainer("bob").await.unwrap().unwrap();
            let c = counts(&db, "bob", now).await;
            assert_eq!(c.year, round * lockout::SHORT_LIMIT);
            if round < rounds {
                assert_eq!(
                    record.lock_reason,
                    Some(LockReason::Failures),
                    "round {round}"
                );
                let after = unlock(&config, "bob", now).await.unwrap();
                assert_eq!(
                    after,
                    FailureCounts {
                        recent: 0,
                        year: c.year
                    }
                );
                // The real bob approves in between: his code is accepted (the
                // release needs 2, so it stays staged) and forgives nothing
                // more than the unlock did.
                now += 30;
                let good = totp_code(&bob.totp_secret, now as u64).unwrap();
                let result = approve(&db, &config, id, &bob.token, &good, now).await;
                assert!(
                    matches!(
                        result,
                        Ok(Outcome::Approved { .. }) | Err(DecisionError::AlreadyApproved(_))
                    ),
                    "{result:?}"
                );
                assert_eq!(counts(&db, "bob", now).await.year, c.year);
            } else {
                assert_eq!(record.lock_reason, Some(LockReason::Budget));
                assert!(unlock(&config, "bob", now).await.is_err());
            }
        }
        let locks: Vec<String> = db
            .events()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "maintainer_locked")
            .map(|e| e.detail)
            .collect();
        assert_eq!(locks.len() as u32, rounds);
        assert!(locks[0].contains(r#""reason":"failures""#), "{}", locks[0]);
        assert!(
            locks.last().unwrap().contains(r#""reason":"budget""#),
            "{locks:?}"
        );
        assert!(
            locks.last().unwrap().contains(r#""failures_365_days":30"#),
            "{locks:?}"
        );
    }

    /// Failures older than 365 days no longer count, and are pruned.
    #[tokio::test]
    async fn the_budget_window_slides() {
        let (_dir, config, db, [alice], id) = gate_with_staged(2, [("alice", "hello")]).await;
        let t0 = 1_800_000_000;
        for i in 0..(lockout::YEARLY_BUDGET - 1) {
            let now = t0 + i64::from(i) * 240;
            fail_once(&db, &config, id, &alice, now).await;
        }
        assert_eq!(
            counts(&db, "alice", t0 + 10_000).await.year,
            lockout::YEARLY_BUDGET - 1
        );
        // A year and a day after the first failure, one more failure: the
        // old ones fell out of the window, so this is not the 30th.
        let later = t0 + lockout::BUDGET_WINDOW_SECONDS + 24 * 3600;
        fail_once(&db, &config, id, &alice, later).await;
        let record = db.maintainer("alice").await.unwrap().unwrap();
        assert_eq!(record.lock_reason, None);
        assert_eq!(
            counts(&db, "alice", later).await,
            FailureCounts { recent: 1, year: 1 }
        );
        // Counted from a day before the window's end, the 29 old failures
        // would still be in it: they are not, because they were pruned.
        let close = t0 + lockout::BUDGET_WINDOW_SECONDS - 24 * 3600;
        assert_eq!(counts(&db, "alice", close).await.year, 1, "old rows pruned");
    }

    /// Nobody can lock a maintainer out by name: a wrong token is refused
    /// before the code is looked at, and counts for nothing.
    #[tokio::test]
    async fn wrong_tokens_never_count_against_the_maintainer() {
        let (_dir, config, db, [alice], id) = gate_with_staged(2, [("alice", "hello")]).await;
        let forged = format!("sgm_alice_{}", "A".repeat(43));
        let t0 = 1_800_000_000;
        for i in 0..(2 * lockout::YEARLY_BUDGET) {
            let now = t0 + i64::from(i);
            let err = approve(&db, &config, id, &forged, "00000000", now)
                .await
                .unwrap_err();
            assert!(
                matches!(err, DecisionError::Refused(Refusal::WrongToken)),
                "{err}"
            );
        }
        assert_eq!(
            counts(&db, "alice", t0 + 100).await,
            FailureCounts::default()
        );
        assert_eq!(
            db.maintainer("alice").await.unwrap().unwrap().lock_reason,
            None
        );
        let good = totp_code(&alice.totp_secret, (t0 + 100) as u64).unwrap();
        let outcome = approve(&db, &config, id, &alice.token, &good, t0 + 100)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::Approved {
                approvals: 1,
                quorum: 2
            }
        );
    }
}
