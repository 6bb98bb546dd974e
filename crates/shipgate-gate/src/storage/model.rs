//! Plain data read from and written to the database. The types a client
//! sees too (states, provenance, files, approvals) live in
//! `shipgate_protocol::release` and are re-exported here.

pub use shipgate_protocol::release::*;

/// A maintainer's stored credentials and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintainerRecord {
    /// User name.
    pub name: String,
    /// Hex SHA-256 of the maintainer token.
    pub token_hash: String,
    /// Base32 TOTP secret.
    pub totp_secret: String,
    /// Last TOTP step accepted.
    pub last_totp_step: i64,
    /// When enrolled.
    pub enrolled_at: i64,
    /// Locked after too many failed codes (see [`crate::lockout`]).
    pub locked_at: Option<i64>,
    /// Why, when locked.
    pub lock_reason: Option<crate::lockout::LockReason>,
    /// Revoked by an admin.
    pub revoked_at: Option<i64>,
    /// Packages enrolled for.
    pub packages: Vec<String>,
}

/// A released version's signed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    /// The manifest bytes as signed.
    pub manifest: Vec<u8>,
    /// The minisign signature file text.
    pub signature: String,
}
