//! Caps on everything read from outside, so hostile input cannot exhaust
//! memory. Each is checked before the data is held in memory.

/// Largest manifest file accepted (bytes). 32 MiB holds about 250,000 entries.
pub const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// Most entries in one manifest, and most files in one module tree.
pub const MAX_ENTRIES: usize = 200_000;

/// Longest relative path or symlink target (bytes), as Linux's `PATH_MAX`.
pub const MAX_PATH_BYTES: usize = 4096;

/// Longest module name or version (bytes).
pub const MAX_LABEL_BYTES: usize = 128;

/// Largest signature file accepted (minisign allows 8 KiB trusted comments).
pub const MAX_SIGNATURE_BYTES: u64 = 16 * 1024;

/// Largest key file accepted (a minisign key file is under 400 bytes).
pub const MAX_KEY_FILE_BYTES: u64 = 4 * 1024;

/// Largest GitHub Actions event payload read for the fork check.
pub const MAX_EVENT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Largest `shipgate.toml` read.
pub const MAX_POLICY_FILE_BYTES: u64 = 1024 * 1024;
