//! The scale-out backend: a PostgreSQL database shared by every replica.
//!
//! What the gate relies on, and how it gets it here:
//! - **One writer at a time, across replicas.** Every write transaction
//!   starts by taking one transaction-scoped advisory lock
//!   (`pg_advisory_xact_lock`), released by the commit or rollback. Writers
//!   are serialised exactly as SQLite's `BEGIN IMMEDIATE` serialises them,
//!   so the read-then-write steps inside a transaction (the next log index
//!   from `log_state`, the last TOTP step, the failure counts, the quota)
//!   see every earlier commit of every replica, and the log has one head:
//!   no gaps, no forks. Under `READ COMMITTED` each statement after the lock
//!   sees all transactions committed before the lock was granted.
//! - **Replay guards in the schema.** Used CI token ids, approvals, leaf
//!   indexes and live versions are unique keys; the statements that write
//!   them use `ON CONFLICT DO NOTHING` and count rows, because in PostgreSQL
//!   a failed statement aborts the whole transaction (SQLite keeps it).
//! - **Durable commits.** Each session sets `synchronous_commit = on`, so
//!   a commit is flushed (and, with synchronous standbys, replicated) before
//!   the gate answers, whatever the server's default. `fsync` is the
//!   server's setting: the gate warns at start when it is off.
//! - **Bounded waits.** A connection is waited for at most
//!   [`ACQUIRE_TIMEOUT`], so a replica that lost its database fails its
//!   health check and refuses writes quickly instead of hanging; the pool
//!   reconnects by itself once the database answers again.

use std::time::Duration;

use sqlx::Executor;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use super::AnyPool;
use sqlx::migrate::Migration;

use super::{StorageError, migration};

/// The advisory lock key every write transaction takes ("shipgate" in ASCII).
pub(super) const WRITE_LOCK_KEY: i64 = 0x7368_6970_6761_7465;

/// Longest wait for a pooled connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per replica.
const MAX_CONNECTIONS: u32 = 16;

/// Connects to `url` (`postgres://` or `postgresql://`). The password may
/// come from the URL, `PGPASSWORD` or a `~/.pgpass` file.
pub(super) async fn connect(url: &str) -> Result<AnyPool, StorageError> {
    let options: AnyConnectOptions = url.parse()?;
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET synchronous_commit = on").await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    let fsync: Option<String> = sqlx::query_scalar("SELECT current_setting('fsync')")
        .fetch_optional(&pool)
        .await?;
    if fsync.as_deref() != Some("on") {
        tracing::warn!(
            "the PostgreSQL server runs with fsync off: a crash of its machine can lose acknowledged approvals"
        );
    }
    Ok(pool)
}

/// Takes the write lock inside the transaction just begun.
pub(super) async fn lock_writers(conn: &mut sqlx::AnyConnection) -> Result<(), StorageError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK_KEY)
        .execute(conn)
        .await?;
    Ok(())
}

/// The schema migrations for PostgreSQL, oldest first: the same versions
/// and names as the SQLite ones, in PostgreSQL's dialect (`BYTEA` for
/// `BLOB`, `BIGINT` keys).
pub(super) fn migrations() -> Vec<Migration> {
    vec![
        migration(
            1,
            "init",
            include_str!("../../migrations/postgres/0001_init.sql"),
        ),
        migration(
            2,
            "log",
            include_str!("../../migrations/postgres/0002_log.sql"),
        ),
        migration(
            3,
            "totp_budget",
            include_str!("../../migrations/postgres/0003_totp_budget.sql"),
        ),
        migration(
            4,
            "limits",
            include_str!("../../migrations/postgres/0004_limits.sql"),
        ),
        migration(
            5,
            "publish",
            include_str!("../../migrations/postgres/0005_publish.sql"),
        ),
        migration(
            6,
            "passkeys",
            include_str!("../../migrations/postgres/0006_passkeys.sql"),
        ),
        migration(
            7,
            "webhooks",
            include_str!("../../migrations/postgres/0007_webhooks.sql"),
        ),
    ]
}
