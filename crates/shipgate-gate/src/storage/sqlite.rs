//! The embedded backend: one SQLite file in the data directory.
//!
//! Settings, and why:
//! - `journal_mode=WAL`: readers never block the writer, so `shipgate admin`
//!   can change the database while `shipgate serve` runs.
//! - `synchronous=FULL`: in WAL mode `NORMAL` keeps the database consistent
//!   but may lose the last commits on power loss. A commit here is a promise
//!   to someone (an approval acknowledged to a maintainer, a TOTP step or a CI
//!   token id burned so it cannot be replayed, a release announced as signed),
//!   so every commit is fsynced before the gate answers.
//! - `foreign_keys=ON`: SQLite ignores `REFERENCES` otherwise.
//! - `secure_delete=ON`: deleted and overwritten rows are zeroed, so a secret
//!   replaced by its sealed form does not linger in a free page.
//! - `busy_timeout` of 30 s: another process (`shipgate admin`) holding the
//!   write lock is waited for, not failed on.
//! - write transactions start with `BEGIN IMMEDIATE`, so two writers queue on
//!   the busy timeout instead of failing to upgrade a read lock midway.
//!
//! The pragmas are set on every new connection (the pool is sqlx's `Any`
//! pool, whose SQLite options come from a URL that cannot carry them).

use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migration;
use sqlx::{ConnectOptions, Executor};

use super::{AnyPool, DB_FILE, StorageError, migration};
use crate::private_files;

/// The statement that starts a write transaction.
pub(super) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Set on every connection, in this order (`journal_mode` needs no other
/// statement running on the connection).
const PRAGMAS: [&str; 5] = [
    "PRAGMA busy_timeout = 30000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA secure_delete = ON",
];

/// Opens (creating if needed) `DATA/gate.db`.
///
/// The data directory is created 0700 and refused when other users may
/// access it; the database and its `-wal`/`-shm` files are made 0600
/// before SQLite opens them (it gives its journal files the database
/// file's mode), which also tightens the 0644 files of older gates.
pub(super) async fn connect(data_dir: &Path) -> Result<AnyPool, StorageError> {
    private_files::ensure_private_dir(data_dir, "data directory")?;
    let db_path = data_dir.join(DB_FILE);
    for (suffix, create) in [("", true), ("-wal", false), ("-shm", false)] {
        let path = data_dir.join(format!("{DB_FILE}{suffix}"));
        if private_files::make_private(&path, create, "database file")? {
            tracing::warn!(path = %path.display(), "made the database file mode 0600 (it was readable by other users)");
        }
    }
    // The typed options build the URL (percent-encoding the path); the
    // `Any` driver parses it back.
    let url = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db_path)
        .create_if_missing(true)
        .to_url_lossy();
    let options = sqlx::any::AnyConnectOptions::from_url(&url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(|conn, _| {
            Box::pin(async move {
                for pragma in PRAGMAS {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Truncates the write-ahead log (after secrets were sealed, so no copy of
/// a plain row stays in it).
pub(super) async fn truncate_wal(pool: &AnyPool) -> Result<(), StorageError> {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await?;
    Ok(())
}

/// The embedded schema migrations, oldest first. Their bytes are what
/// existing databases recorded (sqlx checks a checksum): never edit one,
/// add the next.
pub(super) fn migrations() -> Vec<Migration> {
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
        migration(
            7,
            "webhooks",
            include_str!("../../migrations/0007_webhooks.sql"),
        ),
    ]
}
