//! The release manifest a gate signs, built the same way on both sides: the
//! gate signs it and a client rebuilds it from the announced files to check
//! what it fetched; and the key fingerprint users compare and pin.

use std::str::FromStr;

use sha2::{Digest, Sha256};
use shipgate_manifest::{Manifest, ModuleName, ModuleVersion, PublicKey, RelPath, Sha256Digest};

use crate::release::ReleaseFile;

/// SHA-256 (hex) of a public key's raw bytes: what users compare and pin.
pub fn fingerprint(key: &PublicKey) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key.to_base64())
        .unwrap_or_default();
    hex::encode(Sha256::digest(raw))
}

/// The release manifest for a package version and its files.
pub fn release_manifest(
    package: &str,
    version: &str,
    files: &[ReleaseFile],
) -> Result<Manifest, String> {
    let name = ModuleName::new(package).map_err(|e| format!("package name {e}"))?;
    let version = ModuleVersion::new(version).map_err(|e| format!("version {e}"))?;
    let entries = files
        .iter()
        .map(|f| {
            let path =
                RelPath::new(f.path.clone()).map_err(|e| format!("file {:?}: {e}", f.path))?;
            let digest = Sha256Digest::from_str(&f.sha256)
                .map_err(|_| format!("file {:?}: bad sha256", f.path))?;
            Ok((path, f.size, digest))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Manifest::from_files(name, version, entries).map_err(|e| e.to_string())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
