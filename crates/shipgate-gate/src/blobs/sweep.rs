//! The orphan sweep: blobs that no committed release references (an upload
//! whose transaction never committed, a crash between the two) are deleted.
//!
//! Safe with several replicas sharing one store:
//! - a blob is deleted only if no committed row references it, checked in
//!   the database for that blob right before its delete (not only in a
//!   snapshot taken before the listing);
//! - a blob written less than `grace` seconds ago is never deleted: another
//!   replica may be about to commit the release that references it. A
//!   replica that reuses an existing blob writes it again first (see
//!   [`super::S3Store`]), which restarts its grace period;
//! - a blob held by a request of this process is never deleted.

use super::{BlobError, Blobs};
use crate::storage::{Db, StorageError};

/// What a sweep removed and kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Temp files left by an interrupted upload.
    pub temp_files: usize,
    /// Complete blobs that no release references (an upload whose
    /// transaction never committed).
    pub unreferenced: usize,
    /// Unreferenced blobs kept because they are younger than the grace
    /// period (or held by a request in flight).
    pub kept_young: usize,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The blob store failed.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// The database could not say which blobs are referenced.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Blobs {
    /// Removes temp files, and blobs that no release in `db` references and
    /// that were last written at least `grace_seconds` before `now` (Unix
    /// seconds). With one process and no upload in flight (the directory
    /// store at startup) a grace of 0 is safe.
    pub async fn sweep(
        &self,
        db: &Db,
        grace_seconds: u64,
        now: i64,
    ) -> Result<SweepReport, SweepError> {
        let mut report = SweepReport {
            temp_files: self.store.remove_leftovers().await?,
            ..SweepReport::default()
        };
        let listed = self.store.list().await?;
        // Taken after the listing: a release committed before this query
        // is seen here, one committed after it is caught by the per-blob
        // check below.
        let referenced = db.referenced_blobs().await?;
        let grace = i64::try_from(grace_seconds).unwrap_or(i64::MAX);
        for blob in listed {
            if referenced.contains(&blob.key) {
                continue;
            }
            if now.saturating_sub(blob.modified) < grace || self.is_held(&blob.key).await {
                report.kept_young += 1;
                continue;
            }
            if db.blob_referenced(&blob.key).await? {
                continue;
            }
            self.store.delete(&blob.key).await?;
            report.unreferenced += 1;
        }
        Ok(report)
    }
}
