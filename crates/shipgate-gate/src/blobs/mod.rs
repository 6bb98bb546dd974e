//! Content-addressed blob storage.
//!
//! A blob's key is the lowercase hex SHA-256 of its bytes. Where the bytes
//! live is a [`BlobStore`]: a directory on the gate's disk ([`DirStore`],
//! the default) or an S3-compatible bucket ([`S3Store`], for several
//! replicas). Everything that must hold whatever the backend is lives here,
//! in [`Blobs`]: the bytes are hashed and counted while they stream, and a
//! store is told to make them visible under their key only after size and
//! digest matched what the client announced — all BEFORE the database
//! transaction that references the blob commits. A crash therefore leaves
//! at worst an unreferenced blob, which [`Blobs::sweep`] removes.

mod configured;
mod copy;
mod dir;
mod error;
mod holds;
mod local;
mod s3;
mod settings;
mod sweep;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

pub use configured::open_configured;
pub use copy::{CopyReport, copy_all};
pub use dir::DirStore;
pub use error::BlobError;
pub use holds::Holds;
pub use local::LocalBlob;
pub use s3::S3Store;
pub use settings::{BlobLocation, S3Settings, check_settings};
pub use sweep::{SweepError, SweepReport};
pub use writer::{BlobWriter, put_verified};

/// A blob's bytes, read as a stream.
pub type BlobReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// One blob a store lists (for the orphan sweep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// The key (hex SHA-256).
    pub key: String,
    /// Its size in bytes.
    pub len: u64,
    /// When it was last written, in seconds since the Unix epoch.
    pub modified: i64,
}

/// Where blobs live. Keys given to a store are always valid blob keys
/// ([`is_blob_key`]); a store never hashes or checks sizes itself —
/// [`BlobWriter`] does that before it calls [`BlobUpload::commit`].
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Names the store for messages (`directory /srv/gate/blobs`,
    /// `s3://bucket/prefix`); never contains a secret.
    fn describe(&self) -> String;

    /// Starts writing the blob that will be `key` (`size` bytes). Nothing is
    /// visible under `key` until [`BlobUpload::commit`] returns.
    async fn begin(&self, key: &str, size: u64) -> Result<Box<dyn BlobUpload>, BlobError>;

    /// Opens a blob for reading; [`BlobError::NotFound`] when it is absent.
    async fn open(&self, key: &str) -> Result<BlobReader, BlobError>;

    /// The size of a blob, or `None` when it is absent.
    async fn len(&self, key: &str) -> Result<Option<u64>, BlobError>;

    /// When a blob was last written (Unix seconds), or `None` when absent.
    async fn modified(&self, key: &str) -> Result<Option<i64>, BlobError>;

    /// Deletes a blob; deleting an absent blob is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Every blob in the store (entries that are not blob keys are skipped).
    async fn list(&self) -> Result<Vec<StoredBlob>, BlobError>;

    /// Removes what interrupted uploads left behind that is not a blob
    /// (a directory's temp files); returns how many.
    async fn remove_leftovers(&self) -> Result<usize, BlobError>;

    /// The blob as a file on this machine, for code that needs a path
    /// (archive checks, registry uploads). A remote store downloads it into
    /// `scratch` and checks its digest on the way.
    async fn local_file(&self, key: &str, scratch: &Path) -> Result<LocalBlob, BlobError>;

    /// Checks that the store answers (for `/healthz`).
    async fn probe(&self) -> Result<(), BlobError>;
}

/// One blob being written to a [`BlobStore`]. Dropping it without
/// [`commit`](BlobUpload::commit) abandons it: nothing becomes visible.
#[async_trait::async_trait]
pub trait BlobUpload: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError>;

    /// Makes the bytes visible under the key given to [`BlobStore::begin`],
    /// durably; when it returns `Ok`, the store has confirmed them.
    async fn commit(self: Box<Self>) -> Result<(), BlobError>;

    /// Abandons the upload and frees what it used in the store.
    async fn abort(self: Box<Self>);
}

/// The gate's blobs: a store, the holds of requests in flight, and a
/// scratch directory for local copies of remote blobs.
///
/// Blobs written by requests still in flight are *held* (a count per key,
/// recorded in the request's [`Holds`]): a failed or cancelled request
/// deletes the blobs it wrote, but only those that no committed release
/// references and no other in-flight request holds. A hold is taken before
/// the store makes a blob visible, so a delete can never remove a blob
/// another request of this process is about to reference; other replicas
/// are protected by the sweep's grace period (see [`sweep`](Self::sweep)).
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn BlobStore>,
    holds: holds::HoldCounts,
    scratch: PathBuf,
    grace_seconds: u64,
}

impl Blobs {
    /// Blobs in `store`; `scratch` is a local directory for temporary copies.
    pub fn new(store: Arc<dyn BlobStore>, scratch: impl Into<PathBuf>) -> Self {
        Self {
            store,
            holds: holds::HoldCounts::default(),
            scratch: scratch.into(),
            grace_seconds: 0,
        }
    }

    /// Shared with other replicas: a blob written less than `seconds` ago
    /// is never deleted (it may be about to be referenced by another
    /// replica's release), and [`sweep_due`](Self::sweep_due) says the
    /// periodic sweep should run.
    pub fn with_grace(mut self, seconds: u64) -> Self {
        self.grace_seconds = seconds;
        self
    }

    /// The grace period in seconds (0: the store has one writer).
    pub fn grace_seconds(&self) -> u64 {
        self.grace_seconds
    }

    /// Blobs in a directory (created if needed), the embedded default.
    pub fn open_dir(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        let store = DirStore::open(&dir)?;
        Ok(Self::new(Arc::new(store), dir))
    }

    /// The store underneath.
    pub fn store(&self) -> &dyn BlobStore {
        self.store.as_ref()
    }

    /// A shared handle on the store underneath.
    pub fn store_arc(&self) -> Arc<dyn BlobStore> {
        Arc::clone(&self.store)
    }

    /// Opens a stored blob for reading.
    pub async fn open_read(&self, key: &str) -> Result<BlobReader, BlobError> {
        check_key(key)?;
        self.store.open(key).await
    }

    /// The blob as a local file (see [`BlobStore::local_file`]).
    pub async fn local_file(&self, key: &str) -> Result<LocalBlob, BlobError> {
        check_key(key)?;
        self.store.local_file(key, &self.scratch).await
    }
}

/// A blob key is exactly 64 lowercase hex digits.
pub fn is_blob_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_key(key: &str) -> Result<(), BlobError> {
    if is_blob_key(key) {
        Ok(())
    } else {
        Err(BlobError::NotAKey)
    }
}

#[cfg(test)]
mod contract_tests;
