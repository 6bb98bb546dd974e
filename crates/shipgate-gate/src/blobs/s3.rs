//! Blobs as objects in an S3-compatible bucket (`blobs = "s3://BUCKET/PREFIX"`),
//! so that several gate replicas share them.
//!
//! An object's key is `PREFIX/SHA256`. Nothing is written under that key
//! until the whole upload arrived and [`super::BlobWriter`] checked its size
//! and digest:
//! - a blob of up to [`SINGLE_PUT_MAX`] bytes is kept in memory while it
//!   streams in and then written with one conditional PUT (`If-None-Match:
//!   *`), so two replicas storing the same digest never overwrite each
//!   other mid-write;
//! - a larger blob goes up as a multipart upload, [`PART_SIZE`] bytes per
//!   part and at most [`PARTS_IN_FLIGHT`] parts in flight (bounded memory),
//!   and S3 shows nothing under the key until the final
//!   CompleteMultipartUpload, which is sent only after the digest matched;
//!   an upload that fails or is refused is aborted.
//!
//! Every PUT and part carries its SHA-256 (`x-amz-checksum-sha256`), so the
//! server refuses bytes damaged on the way. Downloads for local use are
//! hashed again and refused when they differ from their key.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
    WriteMultipart,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{
    BlobError, BlobReader, BlobStore, BlobUpload, LocalBlob, S3Settings, StoredBlob, is_blob_key,
};

/// Largest blob written with a single PUT (kept in memory until then).
pub const SINGLE_PUT_MAX: u64 = 8 << 20;
/// Bytes per part of a multipart upload (S3's minimum is 5 MiB).
pub const PART_SIZE: usize = 8 << 20;
/// Parts of one upload sent at once; with [`PART_SIZE`] this bounds an
/// upload's memory.
pub const PARTS_IN_FLIGHT: usize = 2;

/// A bucket (and key prefix) holding blobs.
#[derive(Debug, Clone)]
pub struct S3Store {
    store: Arc<AmazonS3>,
    prefix: String,
    name: String,
}

impl S3Store {
    /// Connects to `bucket` (objects under `prefix`) with `settings` and
    /// the standard AWS variables. Nothing is sent until the first request.
    pub fn open(bucket: &str, prefix: &str, settings: &S3Settings) -> Result<Self, BlobError> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: settings.max_retries.unwrap_or(3),
            retry_timeout: Duration::from_secs(settings.retry_timeout_seconds.unwrap_or(30)),
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_virtual_hosted_style_request(!settings.path_style.unwrap_or(true))
            .with_retry(retry);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if settings.allow_http {
            builder = builder.with_allow_http(true);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(|e| BlobError::Config {
            field: "blobs_s3",
            message: e.to_string(),
        })?;
        let name = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        Ok(Self {
            store: Arc::new(store),
            prefix: prefix.to_owned(),
            name,
        })
    }

    fn object(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn failed(&self, key: &str, err: object_store::Error) -> BlobError {
        failed(&self.name, key, err)
    }
}

fn failed(store: &str, key: &str, err: object_store::Error) -> BlobError {
    match err {
        object_store::Error::NotFound { .. } => BlobError::NotFound {
            key: key.to_owned(),
        },
        source => BlobError::ObjectStore {
            store: store.to_owned(),
            source,
        },
    }
}

fn checked(key: &str) -> Result<(), BlobError> {
    if is_blob_key(key) {
        Ok(())
    } else {
        Err(BlobError::NotAKey)
    }
}

#[async_trait::async_trait]
impl BlobStore for S3Store {
    fn describe(&self) -> String {
        self.name.clone()
    }

    async fn begin(&self, key: &str, size: u64) -> Result<Box<dyn BlobUpload>, BlobError> {
        checked(key)?;
        let path = self.object(key);
        if size <= SINGLE_PUT_MAX {
            let capacity = usize::try_from(size).unwrap_or(0);
            return Ok(Box::new(SmallUpload {
                store: Arc::clone(&self.store),
                name: self.name.clone(),
                key: key.to_owned(),
                path,
                size,
                bytes: Vec::with_capacity(capacity),
            }));
        }
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| self.failed(key, e))?;
        Ok(Box::new(LargeUpload {
            store: Arc::clone(&self.store),
            name: self.name.clone(),
            key: key.to_owned(),
            path,
            size,
            writer: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
        }))
    }

    async fn open(&self, key: &str) -> Result<BlobReader, BlobError> {
        checked(key)?;
        let got = self
            .store
            .get(&self.object(key))
            .await
            .map_err(|e| self.failed(key, e))?;
        let stream = got.into_stream().map_err(std::io::Error::other);
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    async fn len(&self, key: &str) -> Result<Option<u64>, BlobError> {
        checked(key)?;
        match self.store.head(&self.object(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.failed(key, err)),
        }
    }

    async fn modified(&self, key: &str) -> Result<Option<i64>, BlobError> {
        checked(key)?;
        match self.store.head(&self.object(key)).await {
            Ok(meta) => Ok(Some(meta.last_modified.timestamp())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.failed(key, err)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        checked(key)?;
        match self.store.delete(&self.object(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.failed(key, err)),
        }
    }

    async fn list(&self) -> Result<Vec<StoredBlob>, BlobError> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let mut listing = self.store.list(prefix.as_ref());
        let mut blobs = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| self.failed("(listing)", e))?;
            let location = meta.location.as_ref();
            let name = if self.prefix.is_empty() {
                location
            } else {
                match location
                    .strip_prefix(self.prefix.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                {
                    Some(name) => name,
                    None => continue,
                }
            };
            // Objects that are not blobs (deeper paths, other names) are
            // not ours to sweep.
            if is_blob_key(name) {
                blobs.push(StoredBlob {
                    key: name.to_owned(),
                    len: meta.size,
                    modified: meta.last_modified.timestamp(),
                });
            }
        }
        Ok(blobs)
    }

    async fn remove_leftovers(&self) -> Result<usize, BlobError> {
        // Unfinished multipart uploads are invisible and cannot be listed
        // through this client; a bucket lifecycle rule
        // (AbortIncompleteMultipartUpload) removes them.
        Ok(0)
    }

    async fn local_file(&self, key: &str, scratch: &Path) -> Result<LocalBlob, BlobError> {
        checked(key)?;
        tokio::fs::create_dir_all(scratch).await?;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let path = scratch.join(format!(".download-{}", hex::encode(random)));
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        // Deletes the partial file on any error below.
        let local = LocalBlob::temporary(path);
        let got = self
            .store
            .get(&self.object(key))
            .await
            .map_err(|e| self.failed(key, e))?;
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.failed(key, e))?;
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        let actual = hex::encode(hasher.finalize());
        if actual != key {
            return Err(BlobError::Damaged {
                key: key.to_owned(),
                actual,
            });
        }
        Ok(local)
    }

    async fn probe(&self) -> Result<(), BlobError> {
        // Any answer from the bucket, "no such object" included, shows it
        // is reachable and the credentials are accepted.
        let probe = self.object(&"0".repeat(64));
        match self.store.head(&probe).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.failed("(probe)", err)),
        }
    }
}

/// Checks that the store now holds `size` bytes under `path`.
async fn confirm(
    store: &AmazonS3,
    name: &str,
    key: &str,
    path: &ObjectPath,
    size: u64,
) -> Result<(), BlobError> {
    let meta = store.head(path).await.map_err(|e| failed(name, key, e))?;
    if meta.size == size {
        Ok(())
    } else {
        Err(BlobError::ObjectStore {
            store: name.to_owned(),
            source: object_store::Error::Generic {
                store: "S3",
                source: format!(
                    "{key}: the store holds {} bytes after the upload, not {size}",
                    meta.size
                )
                .into(),
            },
        })
    }
}

/// A blob of at most [`SINGLE_PUT_MAX`] bytes, kept in memory until commit.
struct SmallUpload {
    store: Arc<AmazonS3>,
    name: String,
    key: String,
    path: ObjectPath,
    size: u64,
    bytes: Vec<u8>,
}

#[async_trait::async_trait]
impl BlobUpload for SmallUpload {
    async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        // The writer refuses bytes past the announced size, which is at
        // most SINGLE_PUT_MAX here.
        self.bytes.extend_from_slice(&chunk);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), BlobError> {
        let payload = PutPayload::from(Bytes::from(self.bytes));
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.path, payload.clone(), create)
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                // Someone stored these bytes before (the key is their
                // digest). Written again, byte for byte the same, so its
                // last-modified time restarts the sweep's grace period:
                // an orphan that another replica's sweep is about to
                // delete becomes young again before we reference it.
                self.store
                    .put(&self.path, payload)
                    .await
                    .map_err(|e| failed(&self.name, &self.key, e))?;
            }
            Err(err) => return Err(failed(&self.name, &self.key, err)),
        }
        confirm(&self.store, &self.name, &self.key, &self.path, self.size).await
    }

    async fn abort(self: Box<Self>) {}
}

/// A blob larger than [`SINGLE_PUT_MAX`], sent as a multipart upload.
struct LargeUpload {
    store: Arc<AmazonS3>,
    name: String,
    key: String,
    path: ObjectPath,
    size: u64,
    writer: WriteMultipart,
}

#[async_trait::async_trait]
impl BlobUpload for LargeUpload {
    async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        self.writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| failed(&self.name, &self.key, e))?;
        self.writer.put(chunk);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), BlobError> {
        let Self {
            store,
            name,
            key,
            path,
            size,
            writer,
        } = *self;
        // Completing makes the object visible. A concurrent completion of
        // the same key by another replica carries the same verified bytes,
        // and S3 replaces an object atomically, so readers see one whole
        // copy or the other.
        writer.finish().await.map_err(|e| failed(&name, &key, e))?;
        confirm(&store, &name, &key, &path, size).await
    }

    async fn abort(self: Box<Self>) {
        if let Err(err) = self.writer.abort().await {
            tracing::warn!(%err, blob = %self.key, "aborting an unfinished multipart upload");
        }
    }
}
