//! Content-addressed blob store under `DATA/blobs/`.
//!
//! A blob's file name is the lowercase hex SHA-256 of its bytes. Bytes are
//! written to `.tmp-RANDOM` in the same directory while they are hashed (so
//! memory does not grow with the artifact), checked against the size and
//! digest the client announced, fsynced, renamed to their final name, and the
//! directory is fsynced — all BEFORE the database transaction that references
//! the blob commits. A crash therefore leaves at worst an unreferenced blob or
//! a temp file, which [`BlobStore::sweep`] removes at startup.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use shipgate_fs::sync_dir;
use tokio::io::AsyncWriteExt;

const TEMP_PREFIX: &str = ".tmp-";

/// Why a blob could not be stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// More bytes arrived than the size announced for the file.
    #[error("more than the announced {expected} bytes were sent")]
    TooLong {
        /// The announced size.
        expected: u64,
    },
    /// The stream ended before the announced size was reached.
    #[error("{actual} bytes were sent but {expected} were announced")]
    TooShort {
        /// The announced size.
        expected: u64,
        /// What arrived.
        actual: u64,
    },
    /// The bytes do not hash to the announced SHA-256.
    #[error("SHA-256 is {actual}, but {expected} was announced")]
    DigestMismatch {
        /// The announced digest (hex).
        expected: String,
        /// The digest of what arrived (hex).
        actual: String,
    },
    /// The file system failed.
    #[error("blob store I/O error: {0}")]
    Io(#[from] io::Error),
}

/// What a startup sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Temp files left by an interrupted upload.
    pub temp_files: usize,
    /// Complete blobs that no release references (an upload whose
    /// transaction never committed).
    pub unreferenced: usize,
}

/// The blob directory.
///
/// Blobs written by requests still in flight are *held* (a count per key,
/// recorded in the request's [`Holds`]): a failed or cancelled request
/// deletes the blobs it wrote, but only those that no committed release
/// references and no other in-flight request holds. A hold is taken before
/// the rename that makes a blob visible, so a delete can never remove a blob
/// another request is about to reference.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    holds: Arc<tokio::sync::Mutex<HashMap<String, usize>>>,
}

impl BlobStore {
    /// Opens (creating if needed) the blob directory.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            holds: Arc::default(),
        })
    }

    /// An empty set of holds for one request; blobs it finishes are held
    /// until [`Holds::end`], or until it is dropped.
    pub fn holds(&self, db: crate::storage::Db) -> Holds {
        Holds {
            store: self.clone(),
            db,
            keys: Vec::new(),
        }
    }

    /// Releases the holds a request took. With `discard_from`, each blob that
    /// is then neither held nor referenced by a release in that database is
    /// deleted (the request failed; its bytes are garbage).
    pub async fn release(
        &self,
        keys: &[String],
        discard_from: Option<&crate::storage::Db>,
    ) -> Result<(), crate::storage::StorageError> {
        let mut holds = self.holds.lock().await;
        for key in keys {
            let remaining = match holds.get_mut(key) {
                Some(count) => {
                    *count = count.saturating_sub(1);
                    *count
                }
                None => 0,
            };
            if remaining == 0 {
                holds.remove(key);
                if let Some(db) = discard_from
                    && !db.blob_referenced(key).await?
                    && let Some(path) = self.path(key)
                {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        Ok(())
    }

    /// Deletes each of `keys` that no live release references and no
    /// request holds (the files of expired and purged releases). Returns
    /// how many were deleted.
    pub async fn discard_unreferenced(
        &self,
        keys: &[String],
        db: &crate::storage::Db,
    ) -> Result<usize, crate::storage::StorageError> {
        let holds = self.holds.lock().await;
        let mut deleted = 0;
        for key in keys {
            if holds.contains_key(key) || db.blob_referenced(key).await? {
                continue;
            }
            if let Some(path) = self.path(key)
                && std::fs::remove_file(path).is_ok()
            {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// The directory holding the blobs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the blob with this key. Keys are validated so a key read from
    /// anywhere can never name a file outside the directory.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        is_blob_key(key).then(|| self.dir.join(key))
    }

    /// Starts writing a blob that must be exactly `expected_size` bytes with
    /// SHA-256 `expected_sha256` (lowercase hex).
    pub async fn writer(
        &self,
        expected_size: u64,
        expected_sha256: &str,
    ) -> Result<BlobWriter, BlobError> {
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", hex::encode(random)));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?;
        Ok(BlobWriter {
            file,
            temp: TempGuard(Some(temp)),
            store: self.clone(),
            hasher: Sha256::new(),
            written: 0,
            expected_size,
            expected_sha256: expected_sha256.to_ascii_lowercase(),
        })
    }

    /// Opens a stored blob for reading.
    pub async fn open_read(&self, key: &str) -> io::Result<tokio::fs::File> {
        let path = self
            .path(key)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a blob key"))?;
        tokio::fs::File::open(path).await
    }

    /// Removes temp files and blobs that `referenced` does not contain. Run it
    /// at startup, before the server accepts uploads (an upload in flight has
    /// a blob that is not referenced yet).
    pub fn sweep(&self, referenced: &HashSet<String>) -> io::Result<SweepReport> {
        let mut report = SweepReport::default();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TEMP_PREFIX) {
                std::fs::remove_file(entry.path())?;
                report.temp_files += 1;
            } else if is_blob_key(name) && !referenced.contains(name) {
                std::fs::remove_file(entry.path())?;
                report.unreferenced += 1;
            }
        }
        if report != SweepReport::default() {
            sync_dir(&self.dir)?;
        }
        Ok(report)
    }
}

/// A blob being written. Dropping it before [`BlobWriter::finish`] removes
/// the temp file (an aborted upload leaves nothing behind).
#[derive(Debug)]
pub struct BlobWriter {
    file: tokio::fs::File,
    temp: TempGuard,
    store: BlobStore,
    hasher: Sha256,
    written: u64,
    expected_size: u64,
    expected_sha256: String,
}

impl BlobWriter {
    /// Appends a chunk, refusing to go past the announced size.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        let len = chunk.len() as u64;
        if self.written.saturating_add(len) > self.expected_size {
            return Err(BlobError::TooLong {
                expected: self.expected_size,
            });
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        self.written += len;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Checks size and digest, makes the blob durable under its final name
    /// and returns its key (the hex SHA-256). The blob stays held by `holds`
    /// until they end.
    pub async fn finish(mut self, holds: &mut Holds) -> Result<String, BlobError> {
        if self.written != self.expected_size {
            return Err(BlobError::TooShort {
                expected: self.expected_size,
                actual: self.written,
            });
        }
        let actual = hex::encode(self.hasher.finalize_reset());
        if actual != self.expected_sha256 {
            return Err(BlobError::DigestMismatch {
                expected: self.expected_sha256.clone(),
                actual,
            });
        }
        self.file.flush().await?;
        self.file.sync_all().await?;
        let temp = self
            .temp
            .0
            .take()
            .ok_or_else(|| io::Error::other("blob already finished"))?;
        let target = self.store.dir.join(&actual);
        {
            // Counted and recorded with no await in between, so a request
            // cancelled here can never leave a hold nobody will release.
            let mut counts = self.store.holds.lock().await;
            *counts.entry(actual.clone()).or_default() += 1;
            holds.keys.push(actual.clone());
        }
        if let Err(err) = tokio::fs::rename(&temp, &target).await {
            let _ = std::fs::remove_file(&temp);
            return Err(err.into());
        }
        let dir = self.store.dir.clone();
        tokio::task::spawn_blocking(move || sync_dir(&dir))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(actual)
    }
}

/// The blobs one staging request holds.
///
/// End them with [`Holds::end`]. A request can also be cancelled at any
/// await (axum drops the handler when its connection closes); dropping the
/// holds then releases them in the background and deletes every blob that
/// no release references and no other request holds, so a client that goes
/// away leaves nothing behind without waiting for a restart's sweep.
#[derive(Debug)]
pub struct Holds {
    store: BlobStore,
    db: crate::storage::Db,
    keys: Vec<String>,
}

impl Holds {
    /// Releases the holds; when the request `failed`, its blobs that nothing
    /// references are deleted. Runs as its own task, so it completes even if
    /// the request is cancelled while it waits. A failure here costs only
    /// disk space until the next startup sweep, so it is logged, not raised.
    pub async fn end(mut self, failed: bool) {
        let keys = std::mem::take(&mut self.keys);
        let store = self.store.clone();
        let db = self.db.clone();
        let task = tokio::spawn(async move { store.release(&keys, failed.then_some(&db)).await });
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%err, "releasing the blobs of a staging request"),
            Err(err) => {
                tracing::error!(%err, "the task releasing a staging request's blobs failed")
            }
        }
    }
}

impl Drop for Holds {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let keys = std::mem::take(&mut self.keys);
        let store = self.store.clone();
        let db = self.db.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = store.release(&keys, Some(&db)).await {
                    tracing::error!(%err, "releasing the blobs of a cancelled staging request");
                }
            });
        }
    }
}

/// Removes the temp file unless the blob was renamed into place.
#[derive(Debug)]
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A blob key is exactly 64 lowercase hex digits.
pub fn is_blob_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn stores_a_blob_under_its_digest_in_chunks() {
        let dir = crate::private_files::private_tempdir();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        let db = crate::storage::Db::open(dir.path()).await.unwrap();
        let mut holds = store.holds(db);
        let data = vec![7u8; 200_000];
        let mut writer = store.writer(data.len() as u64, &sha(&data)).await.unwrap();
        for chunk in data.chunks(65_536) {
            writer.write(chunk).await.unwrap();
        }
        let key = writer.finish(&mut holds).await.unwrap();
        assert_eq!(key, sha(&data));
        assert_eq!(std::fs::read(store.path(&key).unwrap()).unwrap(), data);
        assert_eq!(files(store.dir()), vec![key]);
    }

    #[tokio::test]
    async fn refuses_wrong_size_and_digest_and_leaves_nothing() {
        let dir = crate::private_files::private_tempdir();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        let db = crate::storage::Db::open(dir.path()).await.unwrap();
        let mut holds = store.holds(db);

        let mut w = store.writer(3, &sha(b"abc")).await.unwrap();
        assert!(matches!(
            w.write(b"abcd").await,
            Err(BlobError::TooLong { expected: 3 })
        ));
        drop(w);

        let mut w = store.writer(3, &sha(b"abc")).await.unwrap();
        w.write(b"ab").await.unwrap();
        assert!(matches!(
            w.finish(&mut holds).await,
            Err(BlobError::TooShort {
                expected: 3,
                actual: 2
            })
        ));

        let mut w = store.writer(3, &sha(b"abc")).await.unwrap();
        w.write(b"abd").await.unwrap();
        assert!(matches!(
            w.finish(&mut holds).await,
            Err(BlobError::DigestMismatch { .. })
        ));

        assert!(files(store.dir()).is_empty(), "{:?}", files(store.dir()));
    }

    async fn stored(store: &BlobStore, holds: &mut Holds, data: &[u8]) -> String {
        let mut writer = store.writer(data.len() as u64, &sha(data)).await.unwrap();
        writer.write(data).await.unwrap();
        writer.finish(holds).await.unwrap()
    }

    /// Waits (bounded) for the background release a dropped `Holds` spawns.
    async fn until_gone(path: &Path) -> bool {
        for _ in 0..200 {
            if !path.exists() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_cancelled_request_leaves_no_blob_that_nothing_else_holds() {
        let dir = crate::private_files::private_tempdir();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        let db = crate::storage::Db::open(dir.path()).await.unwrap();

        // Two requests upload the same bytes; the first is cancelled.
        let mut first = store.holds(db.clone());
        let mut second = store.holds(db.clone());
        let key = stored(&store, &mut first, b"same bytes").await;
        stored(&store, &mut second, b"same bytes").await;
        let path = store.path(&key).unwrap();
        drop(first);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(path.exists(), "still held by the second request");

        // The second is cancelled too: now nothing holds or references it.
        drop(second);
        assert!(
            until_gone(&path).await,
            "left behind: {:?}",
            files(store.dir())
        );

        // A request that ends well keeps its blob (its release references it).
        let mut ok = store.holds(db.clone());
        let key = stored(&store, &mut ok, b"kept").await;
        ok.end(false).await;
        assert!(store.path(&key).unwrap().exists());
        // One that ends in failure does not.
        let mut failed = store.holds(db);
        let key = stored(&store, &mut failed, b"refused").await;
        failed.end(true).await;
        assert!(!store.path(&key).unwrap().exists());
    }

    #[test]
    fn sweep_removes_crash_leftovers_and_keeps_referenced_blobs() {
        let dir = crate::private_files::private_tempdir();
        let store = BlobStore::open(dir.path()).unwrap();
        let kept = sha(b"kept");
        let orphan = sha(b"orphan");
        std::fs::write(dir.path().join(&kept), b"kept").unwrap();
        std::fs::write(dir.path().join(&orphan), b"orphan").unwrap();
        std::fs::write(dir.path().join(".tmp-0123"), b"half an upl").unwrap();
        std::fs::write(dir.path().join("README"), b"not ours").unwrap();
        let referenced: HashSet<String> = [kept.clone()].into();
        let report = store.sweep(&referenced).unwrap();
        assert_eq!(
            report,
            SweepReport {
                temp_files: 1,
                unreferenced: 1
            }
        );
        assert_eq!(files(dir.path()), vec![kept, "README".to_string()]);
    }

    #[test]
    fn keys_cannot_escape_the_directory() {
        let store = BlobStore::open(crate::private_files::private_tempdir().path()).unwrap();
        assert!(store.path("../etc/passwd").is_none());
        assert!(store.path(&"A".repeat(64)).is_none());
        assert!(store.path(&"a".repeat(63)).is_none());
        assert!(store.path(&"a".repeat(64)).is_some());
    }
}
