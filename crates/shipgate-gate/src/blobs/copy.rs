//! Copying blobs between stores (moving a gate from its data directory to
//! a bucket), every byte checked against its key on the way.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{BlobError, BlobStore, check_key, put_verified};

/// What [`copy_all`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Blobs copied.
    pub copied: usize,
    /// Blobs the target already held, with the right bytes (checked).
    pub already_present: usize,
    /// Bytes copied.
    pub bytes: u64,
}

/// Copies each of `digests` from `from` to `to`. Each blob is streamed
/// (memory does not grow with its size), hashed on the way, and becomes
/// visible in `to` only when its bytes hash to its key; a blob `to`
/// already holds is read back and hashed instead of copied. Stops at the
/// first blob that is missing, damaged or cannot be written.
pub async fn copy_all(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    digests: &[String],
) -> Result<CopyReport, BlobError> {
    let mut report = CopyReport::default();
    for key in digests {
        check_key(key)?;
        let size = from.len(key).await?.ok_or_else(|| BlobError::NotFound {
            key: key.to_owned(),
        })?;
        if to.len(key).await? == Some(size) && hash_of(to, key).await? == *key {
            report.already_present += 1;
            continue;
        }
        let reader = from.open(key).await?;
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024)
            .map_err(BlobError::from);
        put_verified(to, size, key, stream).await?;
        report.copied += 1;
        report.bytes = report.bytes.saturating_add(size);
    }
    Ok(report)
}

/// The SHA-256 (hex) of a stored blob's bytes.
pub(super) async fn hash_of(store: &dyn BlobStore, key: &str) -> Result<String, BlobError> {
    let mut reader = store.open(key).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
