//! `shipgate admin migrate --to-database postgres://...`: moves a stopped
//! gate's embedded database into an empty PostgreSQL database, and proves
//! the copy whole (every table row for row, the log's size and root, and a
//! root recomputed from the copied leaves; see `storage/copy.rs`).
//!
//! The source stays as it was, so going back is starting the gate without
//! the `database` setting. Blobs are not moved here: they stay where the
//! blob store keeps them; [`MigrateReport::referenced_blobs`] lists the
//! keys a blob copy must carry over.

use std::path::PathBuf;

use serde::Serialize;

use crate::backup::{BackupError, ServeLock};
use crate::config::GateConfig;
use crate::storage::{DB_FILE, Db, Location, StorageError};

/// What can go wrong migrating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The gate's config already names a PostgreSQL database.
    #[error("this gate already uses {0}: there is no embedded database to migrate")]
    NotEmbedded(String),
    /// There is no embedded database in the data directory.
    #[error("no database at {0} (is data_dir right?)")]
    NoDatabase(PathBuf),
    /// `--to-database` is not a PostgreSQL URL.
    #[error("--to-database: {0}")]
    BadTarget(String),
    /// A gate is serving the data directory, or it cannot be locked.
    #[error(transparent)]
    Lock(#[from] BackupError),
    /// Reading, writing or verifying failed (nothing is half-copied: the
    /// copy is one transaction of the target).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What was copied and verified.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateReport {
    /// The target, without its password.
    pub database: String,
    /// Rows per table (the same in both databases).
    pub rows: Vec<(String, u64)>,
    /// The log size (the same in both).
    pub log_size: u64,
    /// The log root, hex (the same in both).
    pub log_root: String,
    /// Blob keys the database references (for the blob store's copy).
    pub referenced_blobs: usize,
}

/// Copies the embedded database of `config` (gate stopped) into the empty
/// PostgreSQL database at `to_database`, then verifies the copy.
pub async fn migrate(
    config: &GateConfig,
    to_database: &str,
) -> Result<MigrateReport, MigrateError> {
    let source_location = config.database()?;
    if !source_location.is_embedded() {
        return Err(MigrateError::NotEmbedded(source_location.to_string()));
    }
    let target_location =
        Location::parse(Some(to_database), &config.data_dir()).map_err(MigrateError::BadTarget)?;
    let data = config.data_dir();
    let _lock = ServeLock::acquire(&data)?;
    if !data.join(DB_FILE).exists() {
        return Err(MigrateError::NoDatabase(data.join(DB_FILE)));
    }
    let source = Db::open(&data).await?;
    let target = Db::connect(&target_location).await?;
    let copied = source.copy_into_database(&target).await;
    let referenced = source.referenced_blobs().await;
    source.close().await;
    target.close().await;
    let copied = copied?;
    Ok(MigrateReport {
        database: target_location.to_string(),
        rows: copied
            .rows
            .iter()
            .map(|(table, rows)| ((*table).to_owned(), *rows))
            .collect(),
        log_size: copied.log.size,
        log_root: copied.log.root.to_hex(),
        referenced_blobs: referenced?.len(),
    })
}
