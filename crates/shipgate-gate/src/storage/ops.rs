//! What operations need from the database: a write probe for `/healthz`,
//! figures for `/metrics`, an online copy for backups, and the facts a
//! restore compares.

use sqlx::Row;

use super::{Db, StorageError};

/// Figures for `/metrics`, read at scrape time.
#[derive(Debug, Default)]
pub struct OpsFigures {
    /// (state, count).
    pub releases_by_state: Vec<(String, i64)>,
    /// (event kind, count).
    pub events_by_kind: Vec<(String, i64)>,
    /// Enrolled, not revoked, locked maintainers.
    pub locked_maintainers: i64,
}

impl Db {
    /// Proves the database takes writes: takes the write lock, writes a row
    /// and rolls it back (nothing is kept).
    pub async fn probe_write(&self) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO used_jtis (jti, exp) VALUES ('healthz-probe', 0) ON CONFLICT DO NOTHING",
        )
        .execute(&mut *tx.tx)
        .await?;
        tx.tx.rollback().await?;
        Ok(())
    }

    /// Releases by state, events by kind and locked maintainers.
    pub async fn ops_figures(&self) -> Result<OpsFigures, StorageError> {
        let pairs = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<(String, i64)>, StorageError> {
            rows.iter()
                .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
                .collect()
        };
        let releases = sqlx::query("SELECT state, COUNT(*) FROM releases GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let events = sqlx::query("SELECT kind, COUNT(*) FROM events GROUP BY kind")
            .fetch_all(&self.pool)
            .await?;
        let locked: i64 = sqlx::query(
            "SELECT COUNT(*) FROM maintainers WHERE locked_at IS NOT NULL AND revoked_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(OpsFigures {
            releases_by_state: pairs(releases)?,
            events_by_kind: pairs(events)?,
            locked_maintainers: locked,
        })
    }

    /// Writes a consistent copy of the database to the file `target`
    /// (which must not exist or be empty) while the gate keeps running:
    /// SQLite's `VACUUM INTO` copies one snapshot inside a read transaction.
    /// A PostgreSQL database is backed up with PostgreSQL's own tools.
    pub async fn copy_into(&self, target: &str) -> Result<(), StorageError> {
        if self.backend != super::Backend::Sqlite {
            return Err(StorageError::EmbeddedOnly("an online copy into a file"));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The schema versions this binary knows (a backup with others is refused).
pub fn migration_versions() -> Vec<i64> {
    super::migrations().iter().map(|m| m.version).collect()
}
