//! Module manifests, hashing, Ed25519 (minisign) signatures and the
//! branch-aware trust policy: the logic behind `shipgate keygen`, `sign`,
//! `verify` and `policy explain`.
//!
//! The main pieces, in the order a release flows through them:
//!
//! - [`Manifest`]: the canonical list of a module's files (path, size,
//!   SHA-256, symlinks with their target) plus its name and version.
//!   [`Manifest::to_bytes`] gives the one byte form, [`Manifest::parse`]
//!   reads it back strictly. [`Manifest::from_files`] builds one from an
//!   explicit list (a release manifest for uploaded artifacts).
//! - [`tree`]: walks a directory (never following symlinks), hashes every
//!   file across all cores with a fixed buffer each ([`hash`]), builds a
//!   manifest for it and diffs a tree against a manifest.
//! - [`keys`] and [`signature`]: minisign key pairs and prehashed (`ED`)
//!   signatures whose trusted comment binds name, version, manifest SHA-256
//!   and time ([`TrustedComment`]).
//! - [`module`]: the per-directory operations the CLI runs (write the
//!   manifest, sign it, verify a module under a [`Mode`]).
//! - [`policy`]: contexts, modes, `shipgate.toml` and the resolution that
//!   picks a mode (with the rule that chose it).
//! - [`git`] and [`github`]: `--changed-since` module selection and the fork
//!   check that keeps fork code away from the signing key.
//!
//! Every function returns a typed error; none prints or exits.

pub mod digest;
pub mod exclude;
pub mod git;
pub mod github;
pub mod hash;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod module;
pub mod policy;
pub mod signature;
pub mod tree;
pub mod walk;

pub use digest::Sha256Digest;
pub use keys::{GeneratedKeyPair, KeyError, KeyId, PublicKey, SecretKeyFile, SigningKey};
pub use manifest::{
    Entry, EntryKind, LinkTarget, Manifest, ManifestError, ModuleName, ModuleVersion, ParseError,
    RelPath,
};
pub use module::{MANIFEST_FILE, SIGNATURE_FILE};
pub use policy::{Context, Mode};
pub use signature::{SignatureFile, TrustedComment};
