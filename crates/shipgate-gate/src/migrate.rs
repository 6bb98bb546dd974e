//! `shipgate admin migrate --to-database postgres://...`: moves a stopped
//! gate's embedded database into an empty PostgreSQL database, and proves
//! the copy whole (every table row for row, the log's size and root, and a
//! root recomputed from the copied leaves; see `storage/copy.rs`).
//!
//! With `--to-blobs s3://BUCKET/PREFIX` it also copies every blob the
//! database references from the gate's blob store into that bucket (reached
//! as `[blobs_s3]` in gate.toml or the standard AWS variables say), each one
//! streamed and hashed on the way and visible there only when its bytes hash
//! to its key (see `blobs/copy.rs`).
//!
//! The source stays as it was, so going back is starting the gate without
//! the `database` (and `blobs`) settings.

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
    /// `--to-blobs` is not an `s3://` location, or names the store the gate
    /// already uses.
    #[error("--to-blobs: {0}")]
    BadBlobTarget(String),
    /// Opening a blob store, or copying a blob, failed (blobs already copied
    /// stay in the target; running the command again checks them and goes on).
    #[error("blobs: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
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
    /// The blob copy, when `--to-blobs` was given.
    pub blobs: Option<BlobMigration>,
}

/// What the blob copy did.
#[derive(Debug, Clone, Serialize)]
pub struct BlobMigration {
    /// The target (`s3://BUCKET/PREFIX`).
    pub target: String,
    /// Blobs copied and verified.
    pub copied: usize,
    /// Blobs the target already held with the right bytes (hashed).
    pub already_present: usize,
    /// Bytes copied.
    pub bytes: u64,
}

/// Copies the embedded database of `config` (gate stopped) into the empty
/// PostgreSQL database at `to_database`, then verifies the copy.
pub async fn migrate(
    config: &GateConfig,
    to_database: &str,
    to_blobs: Option<&str>,
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
    // Both blob stores are opened before anything is copied, so a wrong
    // bucket or missing credentials stop the command before the database
    // copy starts.
    let blob_stores = match to_blobs {
        Some(target) => Some(open_blob_stores(config, target)?),
        None => None,
    };
    let source = Db::open(&data).await?;
    let target = Db::connect(&target_location).await?;
    let copied = source.copy_into_database(&target).await;
    let referenced = source.referenced_blobs().await;
    source.close().await;
    target.close().await;
    let copied = copied?;
    let referenced = referenced?;
    let blobs = match blob_stores {
        Some((from, to, target)) => {
            let mut keys: Vec<String> = referenced.iter().cloned().collect();
            keys.sort();
            let report = crate::blobs::copy_all(from.store(), to.as_ref(), &keys).await?;
            Some(BlobMigration {
                target,
                copied: report.copied,
                already_present: report.already_present,
                bytes: report.bytes,
            })
        }
        None => None,
    };
    Ok(MigrateReport {
        database: target_location.to_string(),
        rows: copied
            .rows
            .iter()
            .map(|(table, rows)| ((*table).to_owned(), *rows))
            .collect(),
        log_size: copied.log.size,
        log_root: copied.log.root.to_hex(),
        referenced_blobs: referenced.len(),
        blobs,
    })
}

/// The gate's own blob store and the `s3://` target of `--to-blobs`.
fn open_blob_stores(
    config: &GateConfig,
    target: &str,
) -> Result<
    (
        crate::blobs::Blobs,
        Box<dyn crate::blobs::BlobStore>,
        String,
    ),
    MigrateError,
> {
    use crate::blobs::{BlobLocation, S3Store};
    let location = BlobLocation::parse(Some(target))
        .map_err(|err| MigrateError::BadBlobTarget(err.to_string()))?;
    let (bucket, prefix) = match location {
        BlobLocation::S3 { bucket, prefix } => (bucket, prefix),
        BlobLocation::DataDir => {
            return Err(MigrateError::BadBlobTarget(
                "give an s3://BUCKET/PREFIX location".into(),
            ));
        }
    };
    if config.blobs.as_deref() == Some(target) {
        return Err(MigrateError::BadBlobTarget(format!(
            "the gate already keeps its blobs in {target}"
        )));
    }
    let (from, _grace) = crate::blobs::open_configured(config)?;
    let settings = config.blobs_s3.clone().unwrap_or_default();
    let to = S3Store::open(&bucket, &prefix, &settings)?;
    Ok((from, Box::new(to), target.to_owned()))
}
