//! The on-disk JWKS cache of the CLI, so that a CI job verifying several
//! tokens, or a script calling `shipgate oidc verify` in a loop, does not
//! fetch the issuer's documents every time.
//!
//! One JSON file per issuer, `<sha256(issuer) in hex>.json`, in
//! `$SHIPGATE_CACHE_DIR` / `--cache-dir` (chosen by the CLI), else
//! `$XDG_CACHE_HOME/shipgate/jwks/`, else `~/.cache/shipgate/jwks/`:
//!
//! ```json
//! {"version":1,"issuer":"https://ci.example.com","jwks_uri":"https://ci.example.com/.well-known/jwks.json",
//!  "fetched_at":1800000000,"max_age":300,"refetched_at":null,"jwks":{"keys":[...]}}
//! ```
//!
//! `fetched_at` and `max_age` (from `Cache-Control`) say how long the keys
//! are fresh; `refetched_at` is the last refetch triggered by an unknown
//! `kid` (kept so that the 60 s floor holds across processes). Files are
//! written atomically (temporary file, then rename) with mode 0600. A file
//! that does not parse, names another issuer or is dated in the future is
//! ignored with a warning and the documents are fetched again; the keys in a
//! file go through the same JWKS checks as fetched ones.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::parse_object;

const VERSION: u32 = 1;

/// A directory of cached JWKS documents.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

/// One cached issuer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CacheEntry {
    pub version: u32,
    pub issuer: String,
    pub jwks_uri: String,
    pub fetched_at: u64,
    pub max_age: u64,
    pub refetched_at: Option<u64>,
    pub jwks: Value,
}

impl DiskCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> DiskCache {
        DiskCache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/shipgate/jwks` (when absolute), else
    /// `$HOME/.cache/shipgate/jwks`; `None` when neither is set.
    pub fn default_dir() -> Option<PathBuf> {
        let xdg = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        let base = xdg.or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".cache"))
        })?;
        Some(base.join("shipgate").join("jwks"))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that caches `issuer`.
    pub fn path_for(&self, issuer: &str) -> PathBuf {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, issuer.as_bytes());
        self.dir
            .join(format!("{}.json", hex::encode(digest.as_ref())))
    }

    /// Reads the entry for `issuer`; any problem is logged and yields `None`.
    pub(crate) fn load(&self, issuer: &str, now: u64) -> Option<CacheEntry> {
        let path = self.path_for(issuer);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
            Err(err) => {
                tracing::info!(
                    "JWKS cache {}: unreadable ({err}); fetching again",
                    path.display()
                );
                return None;
            }
        };
        let entry = parse_object(&bytes)
            .map_err(|err| err.to_string())
            .and_then(|map| {
                serde_json::from_value::<CacheEntry>(Value::Object(map)).map_err(|e| e.to_string())
            });
        let problem = match &entry {
            Err(err) => Some(format!("corrupt ({err})")),
            Ok(e) if e.version != VERSION => Some(format!("unknown version {}", e.version)),
            Ok(e) if e.issuer != issuer => Some(format!("written for issuer {:?}", e.issuer)),
            // A little slack for clocks; further in the future is not a real fetch.
            Ok(e) if e.fetched_at > now + 60 || e.refetched_at.is_some_and(|r| r > now + 60) => {
                Some("dated in the future".to_owned())
            }
            Ok(_) => None,
        };
        match problem {
            Some(problem) => {
                tracing::info!(
                    "JWKS cache {}: {problem}; ignoring it and fetching again",
                    path.display()
                );
                None
            }
            None => entry.ok(),
        }
    }

    /// Writes the entry atomically; a failure is logged, not fatal (the
    /// cache only saves fetches).
    pub(crate) fn store(&self, entry: &CacheEntry) {
        if let Err(err) = self.try_store(entry) {
            tracing::info!("JWKS cache {}: not written: {err}", self.dir.display());
        }
    }

    fn try_store(&self, entry: &CacheEntry) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".jwks-")
            .tempfile_in(&self.dir)?;
        serde_json::to_writer(&mut tmp, entry)?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.path_for(&entry.issuer))
            .map_err(|err| err.error)?;
        Ok(())
    }
}

pub(crate) fn new_entry(
    issuer: &str,
    jwks_uri: &str,
    jwks: Value,
    fetched_at: u64,
    max_age: u64,
) -> CacheEntry {
    CacheEntry {
        version: VERSION,
        issuer: issuer.to_owned(),
        jwks_uri: jwks_uri.to_owned(),
        fetched_at,
        max_age,
        refetched_at: None,
        jwks,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DiskCache, new_entry};

    #[test]
    fn round_trips_and_ignores_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().join("jwks"));
        let iss = "https://ci.example.com";
        assert!(cache.load(iss, 1000).is_none());
        let entry = new_entry(
            iss,
            "https://ci.example.com/jwks",
            json!({"keys": []}),
            1000,
            300,
        );
        cache.store(&entry);
        let back = cache.load(iss, 1000).unwrap();
        assert_eq!(back.fetched_at, 1000);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(cache.path_for(iss))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Dated in the future.
        assert!(cache.load(iss, 900).is_none());
        // Another issuer's file under this name.
        let other = new_entry("https://evil.example", "x", json!({"keys": []}), 1000, 300);
        std::fs::write(cache.path_for(iss), serde_json::to_vec(&other).unwrap()).unwrap();
        assert!(cache.load(iss, 1000).is_none());
        // Garbage, duplicate names, unknown members.
        for garbage in [
            &b"{"[..],
            b"\x00\x01",
            br#"{"version":1,"version":1}"#,
            br#"{"version":1,"issuer":"https://ci.example.com","jwks_uri":"x","fetched_at":1,"max_age":1,"refetched_at":null,"jwks":{},"extra":1}"#,
        ] {
            std::fs::write(cache.path_for(iss), garbage).unwrap();
            assert!(cache.load(iss, 1000).is_none());
        }
    }
}
