//! The blob store `gate.toml` names.

use std::sync::Arc;

use super::{BlobError, BlobLocation, Blobs, S3Store};
use crate::config::GateConfig;

/// The gate's blobs as configured, and the grace period (seconds) of the
/// startup sweep: none for the data directory (one gate process owns it,
/// and nothing is in flight before it serves), the configured one for a
/// bucket that other replicas write to.
pub fn open_configured(config: &GateConfig) -> Result<(Blobs, u64), BlobError> {
    let data = config.data_dir();
    match BlobLocation::parse(config.blobs.as_deref())? {
        BlobLocation::DataDir => Ok((Blobs::open_dir(data.join("blobs"))?, 0)),
        BlobLocation::S3 { bucket, prefix } => {
            let settings = config.blobs_s3.clone().unwrap_or_default();
            let store = S3Store::open(&bucket, &prefix, &settings)?;
            let scratch = data.join("blob-downloads");
            // Copies a crashed process was still using; this process has
            // none yet.
            match std::fs::remove_dir_all(&scratch) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err.into()),
            }
            let grace = settings.sweep_grace_seconds();
            Ok((
                Blobs::new(Arc::new(store), scratch).with_grace(grace),
                grace,
            ))
        }
    }
}
