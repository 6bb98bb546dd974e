//! What the limits need from the database: how much a package holds in
//! undecided releases, which releases are due to expire, and which rejected
//! releases' files are due to be deleted.

use sqlx::Row;

use super::{Db, StorageError, WriteTx};

/// What a package's undecided releases hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackageUsage {
    /// Staged, undecided releases.
    pub pending: u64,
    /// Bytes of their files.
    pub bytes: u64,
}

/// A release the maintenance task may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweepable {
    /// Release id.
    pub id: i64,
    /// Its package.
    pub package: String,
    /// When it was staged (for expiry) or decided (for retention).
    pub since: i64,
}

/// (PostgreSQL sums BIGINTs as NUMERIC: the cast keeps an integer.)
const USAGE: &str = "SELECT COUNT(DISTINCT r.id) AS pending, CAST(COALESCE(SUM(f.size), 0) AS BIGINT) AS bytes \
     FROM releases r LEFT JOIN release_files f ON f.release_id = r.id \
     WHERE r.package = $1 AND r.state = 'staged'";

fn usage(row: &sqlx::any::AnyRow) -> Result<PackageUsage, StorageError> {
    let pending: i64 = row.try_get("pending")?;
    let bytes: i64 = row.try_get("bytes")?;
    Ok(PackageUsage {
        pending: u64::try_from(pending).map_err(|_| StorageError::Corrupt("releases"))?,
        bytes: u64::try_from(bytes).map_err(|_| StorageError::Corrupt("release_files.size"))?,
    })
}

impl Db {
    /// What `package`'s undecided releases hold now.
    pub async fn package_usage(&self, package: &str) -> Result<PackageUsage, StorageError> {
        let row = sqlx::query(USAGE)
            .bind(package)
            .fetch_one(&self.pool)
            .await?;
        usage(&row)
    }

    /// Undecided releases, with when they were staged.
    pub async fn staged_releases(&self) -> Result<Vec<Sweepable>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, package, created_at AS since FROM releases WHERE state = 'staged' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sweepable).collect()
    }

    /// Rejected (and expired) releases whose files are still stored, with
    /// when they were decided.
    pub async fn rejected_with_files(&self) -> Result<Vec<Sweepable>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, package, COALESCE(decided_at, created_at) AS since FROM releases \
             WHERE state = 'rejected' AND blobs_purged_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sweepable).collect()
    }

    /// The blob keys of `release`'s files.
    pub async fn release_blob_keys(&self, release: i64) -> Result<Vec<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT blob_key FROM release_files WHERE release_id = $1")
                .bind(release)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

fn sweepable(row: &sqlx::any::AnyRow) -> Result<Sweepable, StorageError> {
    Ok(Sweepable {
        id: row.try_get("id")?,
        package: row.try_get("package")?,
        since: row.try_get("since")?,
    })
}

impl WriteTx {
    /// What `package`'s undecided releases hold, inside this transaction
    /// (the authoritative check: two stagings racing see each other).
    pub async fn package_usage(&mut self, package: &str) -> Result<PackageUsage, StorageError> {
        let row = sqlx::query(USAGE)
            .bind(package)
            .fetch_one(&mut *self.tx)
            .await?;
        usage(&row)
    }

    /// Ends a release that waited too long for a decision: rejected with
    /// the reason (the version may be staged again), its files marked for
    /// deletion, and an `expired` event. Its approvals stay on record.
    /// Returns false when it was decided in the meantime.
    pub async fn expire(
        &mut self,
        release: i64,
        reason: &str,
        now: i64,
    ) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE releases SET state = 'rejected', decided_at = $1, reject_reason = $2, \
             blobs_purged_at = $3 WHERE id = $4 AND state = 'staged'",
        )
        .bind(now)
        .bind(reason)
        .bind(now)
        .bind(release)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        self.event(
            now,
            "expired",
            Some(release),
            "gate",
            serde_json::json!({ "reason": reason }),
        )
        .await?;
        Ok(true)
    }

    /// Marks a rejected release's files for deletion (its rows stay).
    pub async fn purge_files(&mut self, release: i64, now: i64) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE releases SET blobs_purged_at = $1 \
             WHERE id = $2 AND state = 'rejected' AND blobs_purged_at IS NULL",
        )
        .bind(now)
        .bind(release)
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}
