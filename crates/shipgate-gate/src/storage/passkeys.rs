//! Passkeys: enrolment links, registered credentials, WebAuthn ceremonies in
//! progress and the decision nonces already answered.
//!
//! Single use is enforced by the database, not by a read followed by a
//! write: a link is spent by a conditional `UPDATE` that only one caller can
//! win, a nonce by a `PRIMARY KEY`.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::{Db, StorageError, WriteTx};

/// A credential as the gate keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// base64url (no padding) credential id.
    pub credential_id: String,
    /// Its maintainer.
    pub maintainer: String,
    /// COSE algorithm (-7 ES256, -8 EdDSA).
    pub alg: i64,
    /// The public key in the log's format (base64url).
    pub public_key: String,
    /// The relying party id it was registered for.
    pub rp_id: String,
    /// webauthn-rs's record of the credential (JSON).
    pub passkey: String,
    /// The highest signature counter seen (0: the authenticator has none).
    pub sign_count: i64,
    /// When it was registered (Unix seconds).
    pub enrolled_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A WebAuthn ceremony the gate started and waits to see answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// Random id (base64url), handed to the browser with the options.
    pub id: String,
    /// `signin` or `decision`.
    pub purpose: String,
    /// The maintainer who must answer it.
    pub maintainer: String,
    /// webauthn-rs's authentication state (JSON).
    pub state: String,
    /// For a decision: the release.
    pub release_id: Option<i64>,
    /// For a decision: `approve` or `reject`.
    pub decision: Option<String>,
    /// For a rejection: the reason given.
    pub reason: Option<String>,
    /// For a decision: the manifest digest committed to.
    pub manifest_sha256: Option<String>,
    /// For a decision: the nonce committed to.
    pub nonce: Option<String>,
    /// For a decision: the origin committed to.
    pub origin: Option<String>,
    /// Unix seconds after which the answer is refused.
    pub expires_at: i64,
}

/// The columns of `passkeys`, in one order for every statement (a macro,
/// so statements stay `&'static str`).
macro_rules! passkey_columns {
    () => {
        "credential_id, maintainer, alg, public_key, rp_id, passkey, sign_count, enrolled_at, revoked_at"
    };
}

fn passkey_row(row: &sqlx::any::AnyRow) -> Result<StoredPasskey, StorageError> {
    Ok(StoredPasskey {
        credential_id: row.try_get("credential_id")?,
        maintainer: row.try_get("maintainer")?,
        alg: row.try_get("alg")?,
        public_key: row.try_get("public_key")?,
        rp_id: row.try_get("rp_id")?,
        passkey: row.try_get("passkey")?,
        sign_count: row.try_get("sign_count")?,
        enrolled_at: row.try_get("enrolled_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// The credentials of `maintainer` that still stand: not revoked, and
/// registered during the maintainer's current enrolment (a revoked and
/// re-enrolled maintainer starts with none).
async fn active_passkeys(
    conn: &mut AnyConnection,
    maintainer: &str,
) -> Result<Vec<StoredPasskey>, StorageError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM passkeys p WHERE p.maintainer = $1 \
         AND p.revoked_at IS NULL AND p.enrolled_at >= \
         (SELECT m.enrolled_at FROM maintainers m WHERE m.name = p.maintainer) \
         ORDER BY p.enrolled_at, p.credential_id"
    ))
    .bind(maintainer)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(passkey_row).collect()
}

impl Db {
    /// The maintainer an unspent, unexpired enrolment link belongs to.
    pub async fn enrolment_link(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT maintainer FROM passkey_enrolments \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A maintainer's standing credentials.
    pub async fn active_passkeys(
        &self,
        maintainer: &str,
    ) -> Result<Vec<StoredPasskey>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        active_passkeys(&mut conn, maintainer).await
    }
}

impl WriteTx {
    /// Stores a new enrolment link (only its token's hash).
    pub async fn create_enrolment_link(
        &mut self,
        token_hash: &str,
        maintainer: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO passkey_enrolments (token_hash, maintainer, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(maintainer)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Keeps the registration state of a link whose ceremony just started
    /// (a second start replaces it: only the latest answer can succeed).
    pub async fn set_enrolment_registration(
        &mut self,
        token_hash: &str,
        registration: &str,
        now: i64,
    ) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE passkey_enrolments SET registration = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(registration)
        .bind(token_hash)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Spends a link: returns its maintainer and registration state, or
    /// `None` when it is unknown, expired, already spent or not started.
    pub async fn spend_enrolment_link(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StorageError> {
        let updated = sqlx::query(
            "UPDATE passkey_enrolments SET used_at = $1 WHERE token_hash = $2 \
             AND used_at IS NULL AND expires_at > $3 AND registration IS NOT NULL",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT maintainer, registration FROM passkey_enrolments WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_one(&mut *self.tx)
        .await?;
        let registration: Option<String> = row.try_get("registration")?;
        Ok(Some((
            row.try_get("maintainer")?,
            registration.ok_or(StorageError::Corrupt("passkey_enrolments.registration"))?,
        )))
    }

    /// Stores a registered credential and logs its `passkey_enrolled` leaf.
    /// False when the credential id is already registered (to anyone).
    pub async fn add_passkey(
        &mut self,
        passkey: &StoredPasskey,
        now: i64,
    ) -> Result<bool, StorageError> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO passkeys (",
            passkey_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
             ON CONFLICT (credential_id) DO NOTHING"
        ))
        .bind(&passkey.credential_id)
        .bind(&passkey.maintainer)
        .bind(passkey.alg)
        .bind(&passkey.public_key)
        .bind(&passkey.rp_id)
        .bind(&passkey.passkey)
        .bind(passkey.sign_count)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        // ON CONFLICT rather than catching the error: PostgreSQL aborts the
        // whole transaction on a unique violation.
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        self.event(
            now,
            "passkey_enrolled",
            None,
            &passkey.maintainer,
            json!({
                "maintainer": passkey.maintainer,
                "passkey": {
                    "alg": passkey.alg,
                    "credential_id": passkey.credential_id,
                    "public_key": passkey.public_key,
                    "rp_id": passkey.rp_id,
                },
            }),
        )
        .await?;
        Ok(true)
    }

    /// A maintainer's standing credentials, inside this transaction.
    pub async fn active_passkeys(
        &mut self,
        maintainer: &str,
    ) -> Result<Vec<StoredPasskey>, StorageError> {
        active_passkeys(&mut self.tx, maintainer).await
    }

    /// Records what a successful assertion changed (webauthn-rs's record
    /// and the highest counter seen).
    pub async fn passkey_used(
        &mut self,
        credential_id: &str,
        passkey: &str,
        sign_count: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("UPDATE passkeys SET passkey = $1, sign_count = $2 WHERE credential_id = $3")
            .bind(passkey)
            .bind(sign_count)
            .bind(credential_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Revokes one credential of `maintainer` and logs `passkey_revoked`.
    pub async fn revoke_passkey(
        &mut self,
        maintainer: &str,
        credential_id: &str,
        now: i64,
    ) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE passkeys SET revoked_at = $1 \
             WHERE maintainer = $2 AND credential_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(maintainer)
        .bind(credential_id)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        self.event(
            now,
            "passkey_revoked",
            None,
            "admin",
            json!({ "maintainer": maintainer, "credential_id": credential_id }),
        )
        .await?;
        Ok(true)
    }

    /// Stores a ceremony in progress (and drops expired ones).
    pub async fn start_ceremony(&mut self, c: &Ceremony, now: i64) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO passkey_ceremonies (id, purpose, maintainer, state, release_id, \
             decision, reason, manifest_sha256, nonce, origin, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&c.id)
        .bind(&c.purpose)
        .bind(&c.maintainer)
        .bind(&c.state)
        .bind(c.release_id)
        .bind(&c.decision)
        .bind(&c.reason)
        .bind(&c.manifest_sha256)
        .bind(&c.nonce)
        .bind(&c.origin)
        .bind(c.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Takes a ceremony out (it can be answered once): `None` when unknown
    /// or expired.
    pub async fn take_ceremony(
        &mut self,
        id: &str,
        now: i64,
    ) -> Result<Option<Ceremony>, StorageError> {
        let row = sqlx::query(
            "SELECT id, purpose, maintainer, state, release_id, decision, reason, \
             manifest_sha256, nonce, origin, expires_at FROM passkey_ceremonies WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM passkey_ceremonies WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        let ceremony = Ceremony {
            id: row.try_get("id")?,
            purpose: row.try_get("purpose")?,
            maintainer: row.try_get("maintainer")?,
            state: row.try_get("state")?,
            release_id: row.try_get("release_id")?,
            decision: row.try_get("decision")?,
            reason: row.try_get("reason")?,
            manifest_sha256: row.try_get("manifest_sha256")?,
            nonce: row.try_get("nonce")?,
            origin: row.try_get("origin")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok((ceremony.expires_at > now).then_some(ceremony))
    }

    /// Spends a decision nonce: false when it was already used (a replay).
    pub async fn spend_nonce(&mut self, nonce: &str, now: i64) -> Result<bool, StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO passkey_used_nonces (nonce, used_at) VALUES ($1, $2) \
                 ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{event_kinds, temp_db};
    use super::*;

    async fn with_maintainer(name: &str) -> (super::super::test_db::TestDb, Db) {
        let (dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        tx.enroll(name, "hash", "secret", &["hello".to_owned()], 100)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (dir, db)
    }

    fn passkey(id: &str, maintainer: &str) -> StoredPasskey {
        StoredPasskey {
            credential_id: id.into(),
            maintainer: maintainer.into(),
            alg: -7,
            public_key: "BPub".into(),
            rp_id: "gate.example.org".into(),
            passkey: "{}".into(),
            sign_count: 0,
            enrolled_at: 0,
            revoked_at: None,
        }
    }

    #[tokio::test]
    async fn an_enrolment_link_works_once_and_only_before_it_expires() {
        let (_dir, db) = with_maintainer("alice").await;
        let mut tx = db.begin_write().await.unwrap();
        tx.create_enrolment_link("h1", "alice", 100, 200)
            .await
            .unwrap();
        tx.create_enrolment_link("h2", "alice", 100, 200)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            db.enrolment_link("h1", 150).await.unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(db.enrolment_link("h1", 200).await.unwrap(), None, "expired");
        assert_eq!(db.enrolment_link("nope", 150).await.unwrap(), None);
        let mut tx = db.begin_write().await.unwrap();
        assert_eq!(
            tx.spend_enrolment_link("h1", 150).await.unwrap(),
            None,
            "not started"
        );
        assert!(
            tx.set_enrolment_registration("h1", "{state}", 150)
                .await
                .unwrap()
        );
        assert_eq!(
            tx.spend_enrolment_link("h1", 150).await.unwrap(),
            Some(("alice".to_owned(), "{state}".to_owned()))
        );
        assert_eq!(
            tx.spend_enrolment_link("h1", 151).await.unwrap(),
            None,
            "used"
        );
        assert!(
            !tx.set_enrolment_registration("h1", "{again}", 151)
                .await
                .unwrap()
        );
        assert!(
            tx.set_enrolment_registration("h2", "{s}", 150)
                .await
                .unwrap()
        );
        assert_eq!(
            tx.spend_enrolment_link("h2", 250).await.unwrap(),
            None,
            "expired"
        );
        tx.commit().await.unwrap();
        assert_eq!(db.enrolment_link("h1", 150).await.unwrap(), None);
    }

    #[tokio::test]
    async fn credentials_are_unique_logged_and_revocable() {
        let (_dir, db) = with_maintainer("alice").await;
        let mut tx = db.begin_write().await.unwrap();
        assert!(tx.add_passkey(&passkey("c1", "alice"), 150).await.unwrap());
        assert!(
            !tx.add_passkey(&passkey("c1", "alice"), 151).await.unwrap(),
            "same id"
        );
        assert!(tx.add_passkey(&passkey("c2", "alice"), 152).await.unwrap());
        tx.commit().await.unwrap();
        let active = db.active_passkeys("alice").await.unwrap();
        assert_eq!(active.len(), 2);
        assert_eq!(active[0].enrolled_at, 150);
        let mut tx = db.begin_write().await.unwrap();
        assert!(tx.revoke_passkey("alice", "c1", 160).await.unwrap());
        assert!(
            !tx.revoke_passkey("alice", "c1", 161).await.unwrap(),
            "already"
        );
        assert!(
            !tx.revoke_passkey("bob", "c2", 161).await.unwrap(),
            "not bob's"
        );
        tx.commit().await.unwrap();
        let active = db.active_passkeys("alice").await.unwrap();
        assert_eq!(
            active
                .iter()
                .map(|p| p.credential_id.as_str())
                .collect::<Vec<_>>(),
            ["c2"]
        );
        let kinds = event_kinds(&db).await;
        assert_eq!(kinds.iter().filter(|k| *k == "passkey_enrolled").count(), 2);
        assert_eq!(kinds.last().map(String::as_str), Some("passkey_revoked"));
        let events = db.events().await.unwrap();
        let enrolled: serde_json::Value = serde_json::from_str(
            &events
                .iter()
                .find(|e| e.kind == "passkey_enrolled")
                .unwrap()
                .detail,
        )
        .unwrap();
        assert_eq!(
            enrolled,
            json!({"maintainer": "alice", "passkey": {"alg": -7, "credential_id": "c1",
                "public_key": "BPub", "rp_id": "gate.example.org"}})
        );
    }

    #[tokio::test]
    async fn a_revoked_and_reenrolled_maintainer_starts_without_passkeys() {
        let (_dir, db) = with_maintainer("alice").await;
        let mut tx = db.begin_write().await.unwrap();
        tx.add_passkey(&passkey("old", "alice"), 150).await.unwrap();
        tx.revoke("alice", 160).await.unwrap();
        tx.enroll("alice", "hash2", "secret2", &["hello".to_owned()], 170)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(db.active_passkeys("alice").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn ceremonies_and_nonces_are_answered_once() {
        let (_dir, db) = with_maintainer("alice").await;
        let ceremony = Ceremony {
            id: "cer".into(),
            purpose: "signin".into(),
            maintainer: "alice".into(),
            state: "challenge".into(),
            release_id: None,
            decision: None,
            reason: None,
            manifest_sha256: None,
            nonce: None,
            origin: None,
            expires_at: 500,
        };
        let mut tx = db.begin_write().await.unwrap();
        tx.start_ceremony(&ceremony, 100).await.unwrap();
        assert_eq!(
            tx.take_ceremony("cer", 200).await.unwrap(),
            Some(ceremony.clone())
        );
        assert_eq!(tx.take_ceremony("cer", 200).await.unwrap(), None, "taken");
        tx.start_ceremony(
            &Ceremony {
                id: "late".into(),
                ..ceremony
            },
            100,
        )
        .await
        .unwrap();
        assert_eq!(
            tx.take_ceremony("late", 500).await.unwrap(),
            None,
            "expired"
        );
        assert!(tx.spend_nonce("n1", 100).await.unwrap());
        assert!(!tx.spend_nonce("n1", 101).await.unwrap(), "replayed");
        tx.commit().await.unwrap();
    }
}
