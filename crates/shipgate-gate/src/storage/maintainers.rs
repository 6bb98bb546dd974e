//! Maintainer rows: enrolment, status and the TOTP bookkeeping.

use sqlx::{AnyConnection, Row};

use super::{Db, MaintainerRecord, StorageError, WriteTx};
use crate::lockout::{FailureCounts, LockReason};

async fn load(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<MaintainerRecord>, StorageError> {
    let Some(row) = sqlx::query(
        "SELECT name, token_hash, totp_secret, last_totp_step, enrolled_at, locked_at, \
         lock_reason, revoked_at FROM maintainers WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let packages = sqlx::query_scalar(
        "SELECT package FROM maintainer_packages WHERE maintainer = $1 ORDER BY package",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let locked_at: Option<i64> = row.try_get("locked_at")?;
    let reason: Option<String> = row.try_get("lock_reason")?;
    let lock_reason = match (locked_at, reason) {
        (None, _) => None,
        // A lock written before the budget existed.
        (Some(_), None) => Some(LockReason::Failures),
        (Some(_), Some(text)) => {
            Some(LockReason::parse(&text).ok_or(StorageError::Corrupt("maintainers.lock_reason"))?)
        }
    };
    Ok(Some(MaintainerRecord {
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        last_totp_step: row.try_get("last_totp_step")?,
        enrolled_at: row.try_get("enrolled_at")?,
        locked_at,
        lock_reason,
        revoked_at: row.try_get("revoked_at")?,
        packages,
    }))
}

/// Counts a maintainer's failed codes: not forgiven since `recent_since`,
/// and all since `year_since`.
async fn count_failures(
    conn: &mut AnyConnection,
    name: &str,
    recent_since: i64,
    year_since: i64,
) -> Result<FailureCounts, StorageError> {
    let row = sqlx::query(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN failed_at >= $1 AND NOT cleared THEN 1 ELSE 0 END), 0) AS BIGINT) AS recent, \
           CAST(COALESCE(SUM(CASE WHEN failed_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS year \
         FROM totp_failures WHERE maintainer = $3",
    )
    .bind(recent_since)
    .bind(year_since)
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    let count = |column: &str| -> Result<u32, StorageError> {
        let n: i64 = row.try_get(column)?;
        u32::try_from(n).map_err(|_| StorageError::Corrupt("totp_failures"))
    };
    Ok(FailureCounts {
        recent: count("recent")?,
        year: count("year")?,
    })
}

impl Db {
    /// A maintainer's record.
    pub async fn maintainer(&self, name: &str) -> Result<Option<MaintainerRecord>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, name).await
    }

    /// Every maintainer ever enrolled (revoked ones included), by name.
    pub async fn maintainers(&self) -> Result<Vec<MaintainerRecord>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM maintainers ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
        let mut records = Vec::with_capacity(names.len());
        for name in names {
            records.extend(load(&mut conn, &name).await?);
        }
        Ok(records)
    }

    /// A maintainer's failed codes for both lockout rules (see
    /// [`crate::lockout::window_starts`]).
    pub async fn failure_counts(
        &self,
        name: &str,
        recent_since: i64,
        year_since: i64,
    ) -> Result<FailureCounts, StorageError> {
        let mut conn = self.pool.acquire().await?;
        count_failures(&mut conn, name, recent_since, year_since).await
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
                sqlx::query("DELETE FROM maintainer_packages WHERE maintainer = $1")
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query("DELETE FROM totp_failures WHERE maintainer = $1")
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await?;
                // New credentials: the stolen-token budget starts afresh
                // (the old token no longer works at all).
                sqlx::query(
                    "UPDATE maintainers SET token_hash = $1, totp_secret = $2, last_totp_step = 0, \
                     enrolled_at = $3, locked_at = NULL, lock_reason = NULL, revoked_at = NULL \
                     WHERE name = $4",
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
                     VALUES ($1, $2, $3, $4)",
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
            sqlx::query("INSERT INTO maintainer_packages (maintainer, package) VALUES ($1, $2)")
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

    /// Replaces every TOTP secret still stored in plain text (rows written
    /// before secrets were sealed) with `seal(name, secret)`. Returns how
    /// many rows changed.
    pub async fn seal_plain_totp_secrets(
        &mut self,
        seal: impl Fn(&str, &str) -> Result<String, crate::secrets::SecretsError>,
    ) -> Result<usize, StorageError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, totp_secret FROM maintainers ORDER BY name")
                .fetch_all(&mut *self.tx)
                .await?;
        let mut sealed = 0;
        for (name, secret) in rows {
            if crate::secrets::is_sealed(&secret) {
                continue;
            }
            let stored = seal(&name, &secret).map_err(StorageError::Secrets)?;
            sqlx::query("UPDATE maintainers SET totp_secret = $1 WHERE name = $2")
                .bind(stored)
                .bind(&name)
                .execute(&mut *self.tx)
                .await?;
            sealed += 1;
        }
        Ok(sealed)
    }

    /// Lifts a lock after too many failures within 15 minutes and forgives
    /// those failures for that rule. They still count against the yearly
    /// budget, and a budget lock is never lifted here: only re-enrolment
    /// does that.
    pub async fn unlock(&mut self, name: &str, now: i64) -> Result<(), StorageError> {
        let record = self
            .maintainer(name)
            .await?
            .ok_or_else(|| StorageError::NoSuchMaintainer(name.to_owned()))?;
        if record.lock_reason == Some(LockReason::Budget) {
            return Err(StorageError::LockedUntilReenrolled(name.to_owned()));
        }
        let updated = sqlx::query(
            "UPDATE maintainers SET locked_at = NULL, lock_reason = NULL \
             WHERE name = $1 AND (lock_reason IS NULL OR lock_reason <> 'budget')",
        )
        .bind(name)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StorageError::NoSuchMaintainer(name.to_owned()));
        }
        self.forgive_failures(name).await?;
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
            "UPDATE maintainers SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
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
             WHERE a.maintainer = $1 AND r.state = 'staged' ORDER BY a.release_id",
        )
        .bind(name)
        .fetch_all(&mut *self.tx)
        .await?;
        for release in &withdrawn {
            sqlx::query("DELETE FROM approvals WHERE maintainer = $1 AND release_id = $2")
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

    /// A maintainer's failed codes as seen inside this transaction.
    pub async fn failure_counts(
        &mut self,
        name: &str,
        recent_since: i64,
        year_since: i64,
    ) -> Result<FailureCounts, StorageError> {
        count_failures(&mut self.tx, name, recent_since, year_since).await
    }

    /// Records a failed TOTP attempt and returns the counts for both rules
    /// (this failure included). Failures older than `year_since` are pruned:
    /// no rule looks at them any more.
    pub async fn record_totp_failure(
        &mut self,
        name: &str,
        now: i64,
        recent_since: i64,
        year_since: i64,
    ) -> Result<FailureCounts, StorageError> {
        sqlx::query("DELETE FROM totp_failures WHERE maintainer = $1 AND failed_at < $2")
            .bind(name)
            .bind(year_since)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO totp_failures (maintainer, failed_at) VALUES ($1, $2)")
            .bind(name)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        count_failures(&mut self.tx, name, recent_since, year_since).await
    }

    /// Locks a maintainer for `reason` (a budget lock replaces a shorter one).
    pub async fn lock(
        &mut self,
        name: &str,
        reason: LockReason,
        counts: FailureCounts,
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE maintainers SET locked_at = COALESCE(locked_at, $1), lock_reason = $2 \
             WHERE name = $3",
        )
        .bind(now)
        .bind(reason.as_str())
        .bind(name)
        .execute(&mut *self.tx)
        .await?;
        self.event(
            now,
            "maintainer_locked",
            None,
            "gate",
            serde_json::json!({
                "maintainer": name,
                "reason": reason.as_str(),
                "failures_15_minutes": counts.recent,
                "failures_365_days": counts.year,
            }),
        )
        .await
    }

    /// Burns a TOTP step (no code of this or an earlier step is accepted
    /// again) and forgives earlier failures for the 15-minute rule. Returns
    /// false, changing nothing, when this step or a later one is already
    /// spent: the database, not the caller's earlier read, has the last word.
    pub async fn accept_totp_step(&mut self, name: &str, step: i64) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE maintainers SET last_totp_step = $1 WHERE name = $2 AND last_totp_step < $1",
        )
        .bind(step)
        .bind(name)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        self.forgive_failures(name).await?;
        Ok(true)
    }

    /// Marks every failure so far as forgiven for the 15-minute rule (the
    /// yearly budget still counts them).
    async fn forgive_failures(&mut self, name: &str) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE totp_failures SET cleared = TRUE WHERE maintainer = $1 AND NOT cleared",
        )
        .bind(name)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
