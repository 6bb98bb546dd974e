//! Maintainer rows: enrolment, status and the TOTP bookkeeping.

use sqlx::{Row, SqliteConnection};

use super::{Db, MaintainerRecord, StorageError, WriteTx};

async fn load(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Option<MaintainerRecord>, StorageError> {
    let Some(row) = sqlx::query(
        "SELECT name, token_hash, totp_secret, last_totp_step, enrolled_at, locked_at, revoked_at \
         FROM maintainers WHERE name = ?",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let packages = sqlx::query_scalar(
        "SELECT package FROM maintainer_packages WHERE maintainer = ? ORDER BY package",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(MaintainerRecord {
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        last_totp_step: row.try_get("last_totp_step")?,
        enrolled_at: row.try_get("enrolled_at")?,
        locked_at: row.try_get("locked_at")?,
        revoked_at: row.try_get("revoked_at")?,
        packages,
    }))
}

impl Db {
    /// A maintainer's record.
    pub async fn maintainer(&self, name: &str) -> Result<Option<MaintainerRecord>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, name).await
    }
}

impl WriteTx {
    /// A maintainer's record as seen inside this transaction.
    pub async fn maintainer(
        &mut self,
        name: &str,
    ) -> Result<Option<MaintainerRecord>, StorageError> {
        load(&mut self.tx, name).await
    }

    /// Enrols a maintainer (or re-enrols a revoked one with new credentials).
    /// An active maintainer is refused: revoke first, so that replacing
    /// credentials is always an explicit, logged decision.
    pub async fn enroll(
        &mut self,
        name: &str,
        token_hash: &str,
        totp_secret: &str,
        packages: &[String],
        now: i64,
    ) -> Result<(), StorageError> {
        match self.maintainer(name).await? {
            Some(existing) if existing.revoked_at.is_none() => {
                return Err(StorageError::AlreadyEnrolled(name.to_owned()));
            }
            Some(_) => {
                sqlx::query("DELETE FROM maintainer_packages WHERE maintainer = ?")
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query("DELETE FROM totp_failures WHERE maintainer = ?")
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query(
                    "UPDATE maintainers SET token_hash = ?, totp_secret = ?, last_totp_step = 0, \
                     enrolled_at = ?, locked_at = NULL, revoked_at = NULL WHERE name = ?",
                )
                .bind(token_hash)
                .bind(totp_secret)
                .bind(now)
                .bind(name)
                .execute(&mut *self.tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO maintainers (name, token_hash, totp_secret, enrolled_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(name)
                .bind(token_hash)
                .bind(totp_secret)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        for package in packages {
            sqlx::query("INSERT INTO maintainer_packages (maintainer, package) VALUES (?, ?)")
                .bind(name)
                .bind(package)
                .execute(&mut *self.tx)
                .await?;
        }
        self.event(
            now,
            "maintainer_enrolled",
            None,
            "admin",
            serde_json::json!({ "maintainer": name, "packages": packages }),
        )
        .await
    }

    /// Clears a lock and the failure history.
    pub async fn unlock(&mut self, name: &str, now: i64) -> Result<(), StorageError> {
        let updated = sqlx::query("UPDATE maintainers SET locked_at = NULL WHERE name = ?")
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StorageError::NoSuchMaintainer(name.to_owned()));
        }
        sqlx::query("DELETE FROM totp_failures WHERE maintainer = ?")
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        self.event(
            now,
            "maintainer_unlocked",
            None,
            "admin",
            serde_json::json!({ "maintainer": name }),
        )
        .await
    }

    /// Revokes a maintainer: their credentials stop working and their
    /// approvals of releases still staged no longer count (they are removed,
    /// and the event lists them). Returns the releases whose approval was
    /// withdrawn.
    pub async fn revoke(&mut self, name: &str, now: i64) -> Result<Vec<i64>, StorageError> {
        let updated = sqlx::query(
            "UPDATE maintainers SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(name)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StorageError::NoSuchMaintainer(name.to_owned()));
        }
        let withdrawn: Vec<i64> = sqlx::query_scalar(
            "SELECT a.release_id FROM approvals a JOIN releases r ON r.id = a.release_id \
             WHERE a.maintainer = ? AND r.state = 'staged' ORDER BY a.release_id",
        )
        .bind(name)
        .fetch_all(&mut *self.tx)
        .await?;
        for release in &withdrawn {
            sqlx::query("DELETE FROM approvals WHERE maintainer = ? AND release_id = ?")
                .bind(name)
                .bind(release)
                .execute(&mut *self.tx)
                .await?;
        }
        self.event(
            now,
            "maintainer_revoked",
            None,
            "admin",
            serde_json::json!({ "maintainer": name, "withdrawn_approvals": withdrawn }),
        )
        .await?;
        Ok(withdrawn)
    }

    /// Records a failed TOTP attempt and returns how many failures happened
    /// since `window_start` (this one included).
    pub async fn record_totp_failure(
        &mut self,
        name: &str,
        now: i64,
        window_start: i64,
    ) -> Result<u32, StorageError> {
        sqlx::query("DELETE FROM totp_failures WHERE maintainer = ? AND failed_at < ?")
            .bind(name)
            .bind(window_start)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO totp_failures (maintainer, failed_at) VALUES (?, ?)")
            .bind(name)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM totp_failures WHERE maintainer = ? AND failed_at >= ?",
        )
        .bind(name)
        .bind(window_start)
        .fetch_one(&mut *self.tx)
        .await?;
        u32::try_from(count).map_err(|_| StorageError::Corrupt("totp_failures"))
    }

    /// Locks a maintainer until an admin unlocks them.
    pub async fn lock(&mut self, name: &str, failures: u32, now: i64) -> Result<(), StorageError> {
        sqlx::query("UPDATE maintainers SET locked_at = ? WHERE name = ? AND locked_at IS NULL")
            .bind(now)
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        self.event(
            now,
            "maintainer_locked",
            None,
            "gate",
            serde_json::json!({ "maintainer": name, "failures": failures }),
        )
        .await
    }

    /// Burns a TOTP step (no code of this or an earlier step is accepted
    /// again) and clears the failure history.
    pub async fn accept_totp_step(&mut self, name: &str, step: i64) -> Result<(), StorageError> {
        sqlx::query("UPDATE maintainers SET last_totp_step = ? WHERE name = ?")
            .bind(step)
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM totp_failures WHERE maintainer = ?")
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
