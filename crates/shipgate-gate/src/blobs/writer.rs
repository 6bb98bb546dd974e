//! Writing one blob: the bytes are counted and hashed as they stream to the
//! store, and the store is told to make them visible only when size and
//! digest match what was announced.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::{BlobError, BlobStore, BlobUpload, Blobs, Holds, check_key};

/// A blob being written. Dropping it before [`BlobWriter::finish`] abandons
/// the upload (an aborted upload leaves nothing visible).
pub struct BlobWriter {
    upload: Option<Box<dyn BlobUpload>>,
    hasher: Sha256,
    written: u64,
    expected_size: u64,
    expected_sha256: String,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("written", &self.written)
            .field("expected_size", &self.expected_size)
            .field("expected_sha256", &self.expected_sha256)
            .finish_non_exhaustive()
    }
}

impl Blobs {
    /// Starts writing a blob that must be exactly `expected_size` bytes with
    /// SHA-256 `expected_sha256` (hex).
    pub async fn writer(
        &self,
        expected_size: u64,
        expected_sha256: &str,
    ) -> Result<BlobWriter, BlobError> {
        BlobWriter::begin(self.store(), expected_size, expected_sha256).await
    }
}

impl BlobWriter {
    /// Starts writing to `store` directly (no holds: for copies between
    /// stores and tests).
    pub async fn begin(
        store: &dyn BlobStore,
        expected_size: u64,
        expected_sha256: &str,
    ) -> Result<Self, BlobError> {
        let expected_sha256 = expected_sha256.to_ascii_lowercase();
        check_key(&expected_sha256)?;
        let upload = store.begin(&expected_sha256, expected_size).await?;
        Ok(Self {
            upload: Some(upload),
            hasher: Sha256::new(),
            written: 0,
            expected_size,
            expected_sha256,
        })
    }

    /// Appends a chunk, refusing to go past the announced size.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        let len = chunk.len() as u64;
        if self.written.saturating_add(len) > self.expected_size {
            return Err(BlobError::TooLong {
                expected: self.expected_size,
            });
        }
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| std::io::Error::other("blob already finished"))?;
        self.hasher.update(chunk);
        upload.write(Bytes::copy_from_slice(chunk)).await?;
        self.written += len;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Checks size and digest; the upload is abandoned when they differ.
    fn verify(&mut self) -> Result<String, BlobError> {
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
        Ok(actual)
    }

    /// Checks size and digest, has the store make the blob durable and
    /// visible under its key, and returns the key (the hex SHA-256). The
    /// blob stays held by `holds` until they end.
    pub async fn finish(mut self, holds: &mut Holds) -> Result<String, BlobError> {
        let key = self.verified_upload().await?;
        let upload = self.take_upload()?;
        // Held before it becomes visible, so a cancelled or failing request
        // elsewhere in this process never deletes it under us.
        holds.hold(&key).await;
        upload.commit().await?;
        Ok(key)
    }

    /// Like [`finish`](Self::finish), without holds.
    pub async fn finish_unheld(mut self) -> Result<String, BlobError> {
        let key = self.verified_upload().await?;
        self.take_upload()?.commit().await?;
        Ok(key)
    }

    async fn verified_upload(&mut self) -> Result<String, BlobError> {
        match self.verify() {
            Ok(key) => Ok(key),
            Err(err) => {
                self.abort().await;
                Err(err)
            }
        }
    }

    /// Abandons the upload now.
    pub async fn abort(&mut self) {
        if let Some(upload) = self.upload.take() {
            upload.abort().await;
        }
    }

    fn take_upload(&mut self) -> Result<Box<dyn BlobUpload>, BlobError> {
        self.upload
            .take()
            .ok_or_else(|| std::io::Error::other("blob already finished").into())
    }
}

/// Puts the bytes of `stream` into `store` as the blob `sha256` of `size`
/// bytes: streamed, verified, visible only when complete and correct.
/// Returns the key.
pub async fn put_verified<S, E>(
    store: &dyn BlobStore,
    size: u64,
    sha256: &str,
    stream: S,
) -> Result<String, BlobError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BlobError>,
{
    let mut writer = BlobWriter::begin(store, size, sha256).await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let result = match chunk {
            Ok(chunk) => writer.write(&chunk).await,
            Err(err) => Err(err.into()),
        };
        if let Err(err) = result {
            writer.abort().await;
            return Err(err);
        }
    }
    writer.finish_unheld().await
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // A request cancelled mid-upload (or a refused chunk): free what the
        // store keeps for an unfinished upload, in the background.
        if let Some(upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(upload.abort());
        }
    }
}
