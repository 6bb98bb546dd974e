//! The gate's database, on one of two backends with one set of queries.
//!
//! - **Embedded (default)**: an SQLite file in the data directory
//!   ([`sqlite`]); nothing to install, one gate process (plus `shipgate
//!   admin` beside it).
//! - **PostgreSQL** (`database = "postgres://..."` in `gate.toml`,
//!   [`postgres`]): several replicas share one database.
//!
//! How the two share the code: every query runs through sqlx's `Any` driver
//! (runtime `query()`, no macros), written once in the SQL both dialects
//! accept: numbered `$N` parameters (SQLite takes them too), `ON CONFLICT
//! ... DO NOTHING`, `RETURNING`, `CAST(... AS BIGINT)` where PostgreSQL would
//! otherwise widen a sum to `NUMERIC`, and keys assigned as `MAX + 1` inside
//! the serialised write transaction (gapless on both). What differs is
//! behind [`Backend`]: how to connect (pragmas or session settings), the
//! migrations (`migrations/` for SQLite, unchanged since they were applied;
//! `migrations/postgres/` with the same versions), how a write transaction
//! takes the one write lock (`BEGIN IMMEDIATE`, or a transaction-scoped
//! advisory lock), and the few maintenance statements only one dialect has.
//!
//! A new migration is added to both lists (`sqlite.rs`, `postgres.rs`) with
//! the same version and name (a test compares them), and a new table to the
//! copy list of `copy.rs` (a test compares it with the schema). A statement
//! must not rely on catching a constraint violation inside a write
//! transaction: PostgreSQL aborts the transaction at the first failed
//! statement, so write `ON CONFLICT ... DO NOTHING` and count the rows.
//!
//! Transaction boundaries are explicit: reads go through [`Db`]; every state
//! change happens inside one [`WriteTx`] (release rows, files, approvals,
//! maintainer status AND the `events` rows that record the change, AND the
//! event's log leaf), which is committed once or rolled back as a whole.
//! Writers are serialised by the database itself (see the backend modules),
//! so correctness never depends on anything held in one process: two
//! replicas, or `shipgate admin` beside `shipgate serve`, are safe.
//!
//! Within one process, writers also take their turn on a fair (FIFO) async
//! lock before they take a pool connection. That is for throughput only:
//! SQLite admits one writer at a time and makes the others poll its lock
//! with growing sleeps (up to 100 ms), and PostgreSQL parks a connection on
//! the advisory lock for each waiting writer. Without the turn, a wave of
//! writers (the load drill's 500 approvals at a TOTP step boundary) would
//! hold most of the pool's connections while waiting, readers would wait
//! for a connection, and the lock would go to whoever polled at the right
//! moment rather than to the oldest.

mod copy;
mod decisions;
mod execution_tokens;
mod log;
mod maintainers;
pub mod model;
mod ops;
mod outbox;
mod passkeys;
mod policy;
pub mod postgres;
mod quota;
mod release_events;
mod releases;
mod sessions;
mod sqlite;
#[cfg(test)]
mod test_db;
mod webhooks;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A pool of connections to either backend.
pub(crate) type AnyPool = sqlx::Pool<Any>;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, Row, SqlStr, Transaction};

pub use copy::CopyReport;
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
pub use webhooks::{DeliveryOutcome, QueuedWebhookEvent, WebhookDelivery, WebhookFigures};

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
    /// The database to copy into already holds rows (in this table).
    #[error("the target database is not empty (table {0} holds rows): migrate into a new database")]
    TargetNotEmpty(&'static str),
    /// A copied table (or the log) reads back different from the source.
    #[error("the copy differs from the source in {0}")]
    CopyDiffers(&'static str),
    /// The `database` setting is not a usable location.
    #[error("database: {0}")]
    Location(String),
    /// The operation exists for the embedded database only (PostgreSQL has
    /// its own tools for it, such as `pg_dump`).
    #[error("{0} is only possible with the embedded database")]
    EmbeddedOnly(&'static str),
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

impl StorageError {
    /// True when the database could not be reached or is shutting down (as
    /// opposed to refusing or failing the statement): the request may
    /// succeed later, on this replica or another, so the gate answers 503.
    pub fn is_unavailable(&self) -> bool {
        let Self::Sql(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's connection exceptions (class 08), an operator
            // intervention such as a shutdown (57P0x), and a read-only
            // server (a standby after a failover, 25006).
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08") || code.starts_with("57P") || code == "25006"
            }),
            _ => false,
        }
    }
}

/// One embedded migration.
fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(name),
        MigrationType::Simple,
        SqlStr::from_static(sql),
        false,
    )
}

/// The schema migrations of the embedded backend, oldest first.
fn migrations() -> Vec<Migration> {
    sqlite::migrations()
}

/// Where the gate keeps its state (`database` in `gate.toml`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// The embedded SQLite file `gate.db` in this data directory.
    Embedded(PathBuf),
    /// A PostgreSQL database (`postgres://` or `postgresql://` URL).
    Postgres(String),
}

impl Location {
    /// The location for a `database` setting: absent means embedded in
    /// `data_dir`. Anything but a PostgreSQL URL is refused with the reason.
    pub fn parse(database: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        let Some(url) = database else {
            return Ok(Self::Embedded(data_dir.to_owned()));
        };
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        match parsed.scheme() {
            "postgres" | "postgresql" => Ok(Self::Postgres(url.to_owned())),
            other => Err(format!(
                "unsupported scheme {other:?}: use postgres://USER@HOST/DATABASE, or leave `database` out for the embedded database"
            )),
        }
    }

    /// True for the embedded database.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Self::Embedded(_))
    }
}

/// Shown in logs and messages: the password is never shown.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded(dir) => write!(f, "{}", dir.join(DB_FILE).display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        // Cannot fail for a URL with a host (one with a
                        // password has one).
                        let _ = parsed.set_password(Some("REDACTED"));
                    }
                    write!(f, "{parsed}")
                }
                Err(_) => f.write_str("postgres://(unparsable URL)"),
            },
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

/// Which database a [`Db`] talks to: what the dialects do differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite,
    /// A shared PostgreSQL database.
    Postgres,
}

impl Backend {
    /// This backend's migrations, oldest first.
    fn migrations(self) -> Vec<Migration> {
        match self {
            Self::Sqlite => sqlite::migrations(),
            Self::Postgres => postgres::migrations(),
        }
    }

    /// Begins a write transaction holding the database's one write lock.
    async fn begin_write(self, pool: &AnyPool) -> Result<Transaction<'static, Any>, StorageError> {
        match self {
            Self::Sqlite => Ok(pool.begin_with(sqlite::BEGIN_WRITE).await?),
            Self::Postgres => {
                let mut tx = pool.begin().await?;
                postgres::lock_writers(&mut tx).await?;
                Ok(tx)
            }
        }
    }
}

/// A handle on the database (cheap to clone).
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Writers of this process take turns here, in arrival order.
    writers: Arc<tokio::sync::Mutex<()>>,
}

impl Db {
    /// Opens (creating if needed) the embedded database `DATA/gate.db` and
    /// applies the migrations (see [`sqlite::connect`] for the file modes).
    pub async fn open(data_dir: &Path) -> Result<Self, StorageError> {
        Self::connect(&Location::Embedded(data_dir.to_owned())).await
    }

    /// Connects to the database at `location` and applies the migrations
    /// (several replicas starting at once apply each migration once).
    pub async fn connect(location: &Location) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let (pool, backend) = match location {
            Location::Embedded(dir) => (sqlite::connect(dir).await?, Backend::Sqlite),
            Location::Postgres(url) => (postgres::connect(url).await?, Backend::Postgres),
        };
        Migrator::with_migrations(backend.migrations())
            .run(&pool)
            .await?;
        let db = Self {
            pool,
            backend,
            writers: Arc::default(),
        };
        // The Rust half of migration 2: leaves for events written before
        // the log existed (a no-op afterwards).
        db.backfill_log().await?;
        Ok(db)
    }

    /// The backend this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
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
            if self.backend == Backend::Sqlite {
                sqlite::truncate_wal(&self.pool).await?;
            }
            tracing::warn!(
                maintainers = sealed,
                "sealed TOTP secrets that were stored in plain text"
            );
        }
        Ok(sealed)
    }

    /// Starts the one transaction a state change happens in.
    /// Waits for this process's earlier writers (in order), then starts a
    /// transaction holding the database's write lock. Never call it while
    /// holding a [`WriteTx`].
    pub async fn begin_write(&self) -> Result<WriteTx, StorageError> {
        let turn = self.writers.clone().lock_owned().await;
        let tx = self.backend.begin_write(&self.pool).await?;
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
    tx: Transaction<'static, Any>,
    /// This writer's turn; the next one starts when the transaction is
    /// committed or rolled back (fields drop in order: `tx` first).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Raw access for tests that simulate a tampered database.
    #[cfg(test)]
    pub(crate) fn connection(&mut self) -> &mut sqlx::AnyConnection {
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
    /// transparency log, and queues it for the webhooks that hear of its
    /// kind: all commit together or not at all.
    pub async fn event(
        &mut self,
        at: i64,
        kind: &str,
        release_id: Option<i64>,
        actor: &str,
        detail: serde_json::Value,
    ) -> Result<(), StorageError> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO events (seq, at, kind, release_id, actor, detail) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), $1, $2, $3, $4, $5) \
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
        self.queue_for_webhooks(seq, kind, release_id).await?;
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
        sqlx::query("DELETE FROM used_jtis WHERE exp < $1")
            .bind(now - 3600)
            .execute(&mut *self.tx)
            .await?;
        // DO NOTHING rather than catching the unique violation: in
        // PostgreSQL a failed statement aborts the whole transaction.
        let inserted = sqlx::query(
            "INSERT INTO used_jtis (jti, exp) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(exp)
        .execute(&mut *self.tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) use super::test_db::TestDb;

    /// A new database on this run's backend (see [`TestDb`]) and a handle.
    pub(crate) async fn temp_db() -> (TestDb, Db) {
        let test_db = TestDb::new().await;
        let db = test_db.open().await;
        (test_db, db)
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
    async fn opens_twice_with_durable_settings() {
        let (dir, db) = temp_db().await;
        match db.backend() {
            Backend::Sqlite => {
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
            }
            Backend::Postgres => {
                let sync: String =
                    sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                        .fetch_one(&db.pool)
                        .await
                        .unwrap();
                assert_eq!(sync, "on");
            }
        }
        // A second handle (as `shipgate admin` opens while the server runs,
        // or another replica).
        let again = dir.open().await;
        assert!(again.events().await.unwrap().is_empty());
    }

    #[test]
    fn both_backends_know_the_same_schema_versions() {
        let names = |list: Vec<Migration>| -> Vec<(i64, String)> {
            list.into_iter()
                .map(|m| (m.version, m.description.into_owned()))
                .collect()
        };
        assert_eq!(
            names(Backend::Sqlite.migrations()),
            names(Backend::Postgres.migrations())
        );
    }

    #[test]
    fn locations_parse_and_never_show_a_password() {
        let data = Path::new("/srv/gate/data");
        assert_eq!(
            Location::parse(None, data).unwrap(),
            Location::Embedded(data.to_owned())
        );
        let pg =
            Location::parse(Some("postgres://gate:s3cret@db.internal:5432/gate"), data).unwrap();
        assert!(!pg.is_embedded());
        let shown = format!("{pg} {pg:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal:5432/gate"), "{shown}");
        for bad in ["mysql://x/y", "gate.db", "sqlite://gate.db", ""] {
            assert!(Location::parse(Some(bad), data).is_err(), "{bad}");
        }
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
