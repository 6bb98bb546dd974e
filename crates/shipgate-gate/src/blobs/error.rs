//! Why a blob could not be stored or read.

use std::io;

/// Why a blob could not be stored or read.
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
    /// A key that is not 64 lowercase hex digits (never sent to a store).
    #[error("not a blob key (64 lowercase hex digits)")]
    NotAKey,
    /// The store has no blob under this key.
    #[error("blob {key} is not stored")]
    NotFound {
        /// The key.
        key: String,
    },
    /// A stored blob's bytes are not what its key says (read back from a
    /// store and checked).
    #[error("blob {key} is damaged: it hashes to {actual}")]
    Damaged {
        /// The key.
        key: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// The local file system failed.
    #[error("blob store I/O error: {0}")]
    Io(#[from] io::Error),
    /// The object store failed or could not be reached (the message never
    /// contains credentials).
    #[error("object store {store}: {source}")]
    ObjectStore {
        /// Which store (`s3://bucket/prefix`).
        store: String,
        /// What the object store client reported.
        #[source]
        source: object_store::Error,
    },
    /// The `blobs` setting or `[blobs_s3]` is unusable.
    #[error("{field}: {message}")]
    Config {
        /// The setting (`blobs`, `blobs_s3.endpoint`, ...).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
