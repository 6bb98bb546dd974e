//! The gate's database: SQLite through `sqlx` (runtime `query()`, no macros),
//! with the schema in `migrations/` embedded in the binary.
//!
//! Transaction boundaries are explicit: reads go through [`Db`]; every state
//! change happens inside one [`WriteTx`] (release rows, files, approvals,
//! maintainer status AND the `events` rows that record the change), which is
//! committed once or rolled back as a whole.
//!
//! SQLite settings, and why:
//! - `journal_mode=WAL`: readers never block the writer, so `shipgate admin`
//!   can change the database while `shipgate serve` runs.
//! - `synchronous=FULL`: in WAL mode `NORMAL` keeps the database consistent
//!   but may lose the last commits on power loss. A commit here is a promise
//!   to someone (an approval acknowledged to a maintainer, a TOTP step or a CI
//!   token id burned so it cannot be replayed, a release announced as signed),
//!   so every commit is fsynced before the gate answers.
//! - `foreign_keys=ON`: SQLite ignores `REFERENCES` otherwise.
//! - write transactions start with `BEGIN IMMEDIATE` so two writers queue on
//!   the busy timeout instead of failing to upgrade a read lock midway (the
//!   one SQLite-specific statement; PostgreSQL would use `SELECT … FOR UPDATE`).
//! - within one process, writers first take their turn on a fair (FIFO)
//!   async lock, and only then a pool connection. SQLite admits one writer at
//!   a time and makes the others poll its lock with growing sleeps (up to
//!   100 ms): without the turn, a wave of writers (the load drill's 500
//!   approvals at a TOTP step boundary) would park most of the pool's
//!   connections in that polling, readers would wait for a connection, and
//!   the lock would go to whoever polled at the right moment rather than to
//!   the oldest. The busy timeout remains for other processes
//!   (`shipgate admin`).

mod decisions;
mod execution_tokens;
mod log;
mod maintainers;
pub mod model;
mod ops;
mod outbox;
mod passkeys;
mod policy;
mod quota;
mod release_events;
mod releases;
mod sessions;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqlStr, Sqlite, Transaction};

use crate::private_files;

pub use execution_tokens::IssuedExecutionToken;
pub use log::{LogEntry, LogHead, StoredCheckpoint};
pub use model::*;
pub use ops::{OpsFigures, migration_versions};
pub use outbox::{JobOutcome, PublishJob};
pub use passkeys::{Ceremony, StoredPasskey};
pub use policy::PackagePolicy;
pub use quota::{PackageUsage, Sweepable};
pub use releases::staged_leaf_len;
pub use sessions::WebSession;

/// Database file name inside the data directory.
pub const DB_FILE: &str = "gate.db";

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The version is already staged or released for this package.
    #[error("{package} {version} is already staged or released")]
    VersionTaken {
        /// Package.
        package: String,
        /// Version.
        version: String,
    },
    /// The maintainer is already enrolled (and not revoked).
    #[error("maintainer {0:?} is already enrolled")]
    AlreadyEnrolled(String),
    /// The maintainer used up the yearly budget of wrong TOTP codes: only
    /// re-enrolment (revoke, then enrol with new credentials) unlocks them.
    #[error(
        "maintainer {0:?} is locked until re-enrolled: the yearly budget of wrong TOTP codes is used up"
    )]
    LockedUntilReenrolled(String),
    /// No such maintainer.
    #[error("no maintainer named {0:?} is enrolled")]
    NoSuchMaintainer(String),
    /// The maintainer already approved this release.
    #[error("{maintainer} already approved release {release}")]
    AlreadyApproved {
        /// Release id.
        release: i64,
        /// Maintainer.
        maintainer: String,
    },
    /// The data directory or a database file is open to other users.
    #[error(transparent)]
    Permissions(#[from] crate::private_files::PrivateFileError),
    /// A secret could not be sealed or opened.
    #[error(transparent)]
    Secrets(crate::secrets::SecretsError),
    /// A row holds a value the gate never writes (a corrupted database).
    #[error("database holds an unexpected value in {0}")]
    Corrupt(&'static str),
    /// An event cannot be written as a transparency-log leaf.
    #[error("transparency log: {0}")]
    Leaf(#[from] crate::tlog::LeafError),
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// True when `err` is a UNIQUE / PRIMARY KEY violation.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The embedded schema migrations, oldest first.
fn migrations() -> Vec<Migration> {
    let migration = |version, name, sql| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            SqlStr::from_static(sql),
            false,
        )
    };
    vec![
        migration(1, "init", include_str!("../../migrations/0001_init.sql")),
        migration(2, "log", include_str!("../../migrations/0002_log.sql")),
        migration(
            3,
            "totp_budget",
            include_str!("../../migrations/0003_totp_budget.sql"),
        ),
        migration(
            4,
            "limits",
            include_str!("../../migrations/0004_limits.sql"),
        ),
        migration(
            5,
            "publish",
            include_str!("../../migrations/0005_publish.sql"),
        ),
        migration(
            6,
            "passkeys",
            include_str!("../../migrations/0006_passkeys.sql"),
        ),
    ]
}

fn migrator() -> Migrator {
    Migrator::with_migrations(migrations())
}

/// A handle on the database (cheap to clone).
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
    /// Writers of this process take turns here, in arrival order.
    writers: Arc<tokio::sync::Mutex<()>>,
}

impl Db {
    /// Opens (creating if needed) `DATA/gate.db` and applies the migrations.
    ///
    /// The data directory is created 0700 and refused when other users may
    /// access it; the database and its `-wal`/`-shm` files are made 0600
    /// before SQLite opens them (it gives its journal files the database
    /// file's mode), which also tightens the 0644 files of older gates.
    pub async fn open(data_dir: &Path) -> Result<Self, StorageError> {
        private_files::ensure_private_dir(data_dir, "data directory")?;
        let db_path = data_dir.join(DB_FILE);
        for (suffix, create) in [("", true), ("-wal", false), ("-shm", false)] {
            let path = data_dir.join(format!("{DB_FILE}{suffix}"));
            if private_files::make_private(&path, create, "database file")? {
                tracing::warn!(path = %path.display(), "made the database file mode 0600 (it was readable by other users)");
            }
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(db_path)
            // Deleted and overwritten rows are zeroed, so a secret replaced
            // by its sealed form does not linger in a free page.
            .pragma("secure_delete", "ON")
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        let db = Self {
            pool,
            writers: Arc::default(),
        };
        // The Rust half of migration 2: leaves for events written before
        // the log existed (a no-op afterwards).
        db.backfill_log().await?;
        Ok(db)
    }

    /// Seals the TOTP secrets older gates stored in plain text, then
    /// truncates the write-ahead log so no copy of a plain row stays in it
    /// (overwritten rows are zeroed by `secure_delete`). A no-op once done.
    pub async fn seal_plain_secrets(
        &self,
        key: &crate::secrets::SecretsKey,
    ) -> Result<usize, StorageError> {
        let mut tx = self.begin_write().await?;
        let sealed = tx
            .seal_plain_totp_secrets(|name, secret| key.seal(name, secret))
            .await?;
        tx.commit().await?;
        if sealed > 0 {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
            tracing::warn!(
                maintainers = sealed,
                "sealed TOTP secrets that were stored in plain text"
            );
        }
        Ok(sealed)
    }

    /// Starts the one transaction a state change happens in.
    /// Waits for this process's earlier writers (in order), then starts an
    /// immediate transaction. Never call it while holding a [`WriteTx`].
    pub async fn begin_write(&self) -> Result<WriteTx, StorageError> {
        let turn = self.writers.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Every blob key some release references (for the startup sweep).
    pub async fn referenced_blobs(&self) -> Result<HashSet<String>, StorageError> {
        let rows = sqlx::query(
            "SELECT DISTINCT f.blob_key FROM release_files f JOIN releases r ON r.id = f.release_id \
             WHERE r.blobs_purged_at IS NULL",
        )
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("blob_key").map_err(Into::into))
            .collect()
    }

    /// All events in order (for tests and, later, the transparency log).
    pub async fn events(&self) -> Result<Vec<Event>, StorageError> {
        let rows =
            sqlx::query("SELECT seq, at, kind, release_id, actor, detail FROM events ORDER BY seq")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Event {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    release_id: row.try_get("release_id")?,
                    actor: row.try_get("actor")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the log (1-based, gapless for committed events).
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// `staged`, `approved`, `released`, `rejected`, `maintainer_enrolled`, ...
    pub kind: String,
    /// The release concerned, if any.
    pub release_id: Option<i64>,
    /// Who caused it (a CI subject, a maintainer, `admin`).
    pub actor: String,
    /// JSON object with the details.
    pub detail: String,
}

/// The one transaction a state change happens in. Dropping it without
/// [`WriteTx::commit`] rolls everything back.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    /// This writer's turn; the next one starts when the transaction is
    /// committed or rolled back (fields drop in order: `tx` first).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Raw access for tests that simulate a tampered database.
    #[cfg(test)]
    pub(crate) fn connection(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    /// Marks the current point of this transaction, so that what follows
    /// can be undone with [`rollback_to_mark`](Self::rollback_to_mark) while
    /// what came before still commits (a spent TOTP step stays spent when
    /// the decision after it fails).
    pub async fn mark(&mut self) -> Result<(), StorageError> {
        sqlx::query("SAVEPOINT decision_mark")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Undoes everything since [`mark`](Self::mark).
    pub async fn rollback_to_mark(&mut self) -> Result<(), StorageError> {
        sqlx::query("ROLLBACK TO decision_mark")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Makes every change of this transaction durable at once.
    pub async fn commit(self) -> Result<(), StorageError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Appends an event in this transaction, and its leaf to the
    /// transparency log: both commit together or not at all.
    pub async fn event(
        &mut self,
        at: i64,
        kind: &str,
        release_id: Option<i64>,
        actor: &str,
        detail: serde_json::Value,
    ) -> Result<(), StorageError> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO events (at, kind, release_id, actor, detail) VALUES (?, ?, ?, ?, ?) \
             RETURNING seq",
        )
        .bind(at)
        .bind(kind)
        .bind(release_id)
        .bind(actor)
        .bind(detail.to_string())
        .fetch_one(&mut *self.tx)
        .await?;
        self.log_event(seq, at, kind, release_id, actor, &detail)
            .await?;
        Ok(())
    }

    /// Records a CI token id; false if it was already used (a replay).
    /// Ids whose token has expired are pruned first (they can no longer be
    /// replayed: the verifier refuses an expired token).
    pub async fn record_jti(
        &mut self,
        jti: &str,
        exp: i64,
        now: i64,
    ) -> Result<bool, StorageError> {
        sqlx::query("DELETE FROM used_jtis WHERE exp < ?")
            .bind(now - 3600)
            .execute(&mut *self.tx)
            .await?;
        let inserted = sqlx::query("INSERT INTO used_jtis (jti, exp) VALUES (?, ?)")
            .bind(jti)
            .bind(exp)
            .execute(&mut *self.tx)
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(err) if is_unique_violation(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) async fn temp_db() -> (tempfile::TempDir, Db) {
        let dir = crate::private_files::private_tempdir();
        let db = Db::open(dir.path()).await.unwrap();
        (dir, db)
    }

    /// The kinds of every event so far, in order.
    pub(crate) async fn event_kinds(db: &Db) -> Vec<String> {
        db.events()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[tokio::test]
    async fn opens_twice_with_wal_full_sync_and_foreign_keys() {
        let (dir, db) = temp_db().await;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        // A second handle (as `shipgate admin` opens while the server runs).
        let again = Db::open(dir.path()).await.unwrap();
        assert!(again.events().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn jti_is_accepted_once() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        assert!(tx.record_jti("abc", 2000, 1000).await.unwrap());
        assert!(!tx.record_jti("abc", 2000, 1000).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        assert!(!tx.record_jti("abc", 2000, 1500).await.unwrap());
        assert!(tx.record_jti("other", 2000, 1500).await.unwrap());
    }

    #[tokio::test]
    async fn dropped_transaction_leaves_nothing() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        tx.event(1, "test", None, "me", serde_json::json!({}))
            .await
            .unwrap();
        drop(tx);
        assert!(db.events().await.unwrap().is_empty());
    }
}
