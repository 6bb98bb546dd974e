//! Blobs as files in a directory (`DATA/blobs/`), the embedded default.
//!
//! A blob's file name is its key. Bytes are written to `.tmp-RANDOM` in the
//! same directory while they stream in (so memory does not grow with the
//! artifact); on commit the file is fsynced, renamed to its key, and the
//! directory is fsynced. A crash leaves at worst a temp file, which
//! [`BlobStore::remove_leftovers`] deletes.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use shipgate_fs::sync_dir;
use tokio::io::AsyncWriteExt;

use super::{BlobError, BlobReader, BlobStore, BlobUpload, LocalBlob, StoredBlob, is_blob_key};

const TEMP_PREFIX: &str = ".tmp-";

/// A directory of blob files.
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// Opens (creating if needed) the blob directory.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
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

    fn checked_path(&self, key: &str) -> Result<PathBuf, BlobError> {
        self.path(key).ok_or(BlobError::NotAKey)
    }
}

fn unix_seconds(at: std::time::SystemTime) -> i64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn not_found(key: &str, err: io::Error) -> BlobError {
    if err.kind() == io::ErrorKind::NotFound {
        BlobError::NotFound {
            key: key.to_owned(),
        }
    } else {
        err.into()
    }
}

#[async_trait::async_trait]
impl BlobStore for DirStore {
    fn describe(&self) -> String {
        format!("directory {}", self.dir.display())
    }

    async fn begin(&self, key: &str, _size: u64) -> Result<Box<dyn BlobUpload>, BlobError> {
        let target = self.checked_path(key)?;
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
        Ok(Box::new(DirUpload {
            file,
            temp: TempGuard(Some(temp)),
            target,
            dir: self.dir.clone(),
        }))
    }

    async fn open(&self, key: &str) -> Result<BlobReader, BlobError> {
        let file = tokio::fs::File::open(self.checked_path(key)?)
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(Box::pin(file))
    }

    async fn len(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match tokio::fs::metadata(self.checked_path(key)?).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    async fn modified(&self, key: &str) -> Result<Option<i64>, BlobError> {
        match tokio::fs::metadata(self.checked_path(key)?).await {
            Ok(meta) => Ok(Some(unix_seconds(meta.modified()?))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.checked_path(key)?).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn list(&self) -> Result<Vec<StoredBlob>, BlobError> {
        let dir = self.dir.clone();
        let listed = tokio::task::spawn_blocking(move || -> io::Result<Vec<StoredBlob>> {
            let mut blobs = Vec::new();
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !is_blob_key(name) {
                    continue;
                }
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    // Deleted since the directory was read.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(err),
                };
                let modified = unix_seconds(meta.modified()?);
                blobs.push(StoredBlob {
                    key: name.to_owned(),
                    len: meta.len(),
                    modified,
                });
            }
            Ok(blobs)
        });
        Ok(listed
            .await
            .map_err(|e| io::Error::other(e.to_string()))??)
    }

    async fn remove_leftovers(&self) -> Result<usize, BlobError> {
        let dir = self.dir.clone();
        let removed = tokio::task::spawn_blocking(move || -> io::Result<usize> {
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(TEMP_PREFIX))
                {
                    std::fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
            if removed > 0 {
                sync_dir(&dir)?;
            }
            Ok(removed)
        });
        Ok(removed
            .await
            .map_err(|e| io::Error::other(e.to_string()))??)
    }

    async fn local_file(&self, key: &str, _scratch: &Path) -> Result<LocalBlob, BlobError> {
        let path = self.checked_path(key)?;
        if !tokio::fs::try_exists(&path).await? {
            return Err(BlobError::NotFound {
                key: key.to_owned(),
            });
        }
        Ok(LocalBlob::stored(path))
    }

    async fn probe(&self) -> Result<(), BlobError> {
        tokio::fs::metadata(&self.dir).await?;
        Ok(())
    }
}

/// A blob being written to a temp file.
#[derive(Debug)]
struct DirUpload {
    file: tokio::fs::File,
    temp: TempGuard,
    target: PathBuf,
    dir: PathBuf,
}

#[async_trait::async_trait]
impl BlobUpload for DirUpload {
    async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        self.file.write_all(&chunk).await?;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<(), BlobError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let temp = self
            .temp
            .0
            .take()
            .ok_or_else(|| io::Error::other("blob already committed"))?;
        if let Err(err) = tokio::fs::rename(&temp, &self.target).await {
            let _ = std::fs::remove_file(&temp);
            return Err(err.into());
        }
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || sync_dir(&dir))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(())
    }

    async fn abort(self: Box<Self>) {
        // The temp guard removes the file.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn leftovers_are_temp_files_only() {
        let dir = crate::private_files::private_tempdir();
        let store = DirStore::open(dir.path()).unwrap();
        let kept = "a".repeat(64);
        std::fs::write(dir.path().join(&kept), b"x").unwrap();
        std::fs::write(dir.path().join(".tmp-0123"), b"half an upl").unwrap();
        std::fs::write(dir.path().join("README"), b"not ours").unwrap();
        assert_eq!(store.remove_leftovers().await.unwrap(), 1);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, vec!["README".to_string(), kept.clone()]);
        let listed = store.list().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, kept);
    }

    #[test]
    fn keys_cannot_escape_the_directory() {
        let store = DirStore::open(crate::private_files::private_tempdir().path()).unwrap();
        assert!(store.path("../etc/passwd").is_none());
        assert!(store.path(&"A".repeat(64)).is_none());
        assert!(store.path(&"a".repeat(63)).is_none());
        assert!(store.path(&"a".repeat(64)).is_some());
    }
}
