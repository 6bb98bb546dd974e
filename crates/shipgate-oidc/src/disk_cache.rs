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
//! written atomically (temporary file, then rename) with mode 0600 in a
//! directory created 0700. A file that does not parse, names another issuer
//! or is dated in the future is ignored and the documents are fetched again;
//! the keys in a file go through the same JWKS checks as fetched ones.
//!
//! The file is not trusted further than a fetch would be:
//! - the stored `max_age` is clamped to [`MAX_CACHED_LIFETIME`] (24 h, the
//!   most a fetch ever grants), so a file claiming ten years cannot pin keys
//!   for ten years;
//! - on Unix, a cache directory or file that the current user does not own,
//!   or that its group or other users may write, is treated as absent (with
//!   a warning naming it and why): on a shared runner such a file could have
//!   been planted with an attacker's keys. Nothing is written into such a
//!   directory either.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fetch::MAX_MAX_AGE;
use crate::json::parse_object;

const VERSION: u32 = 1;

/// The longest a cached JWKS is used before it is fetched again, whatever
/// `max_age` the file says: the same 24 h bound a fetch's `Cache-Control`
/// gets.
pub const MAX_CACHED_LIFETIME: Duration = MAX_MAX_AGE;

/// The largest cache file read (a JWKS response is capped lower still).
const MAX_FILE_BYTES: u64 = 1 << 20;

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
    /// The entry's `max_age` is clamped to [`MAX_CACHED_LIFETIME`].
    pub(crate) fn load(&self, issuer: &str, now: u64) -> Option<CacheEntry> {
        let path = self.path_for(issuer);
        if let Some(problem) = untrusted_dir(&self.dir) {
            tracing::warn!(
                "JWKS cache directory {}: {problem}; ignoring the cache and fetching the keys",
                self.dir.display()
            );
            return None;
        }
        let bytes = match read_trusted(&path) {
            Ok(bytes) => bytes,
            Err(Unusable::Absent) => return None,
            Err(Unusable::Untrusted(problem)) => {
                tracing::warn!(
                    "JWKS cache {}: {problem}; ignoring it and fetching the keys",
                    path.display()
                );
                return None;
            }
            Err(Unusable::Io(err)) => {
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
        let soon = now.saturating_add(60);
        let problem = match &entry {
            Err(err) => Some(format!("corrupt ({err})")),
            Ok(e) if e.version != VERSION => Some(format!("unknown version {}", e.version)),
            Ok(e) if e.issuer != issuer => Some(format!("written for issuer {:?}", e.issuer)),
            // A little slack for clocks; further in the future is not a real fetch.
            Ok(e) if e.fetched_at > soon || e.refetched_at.is_some_and(|r| r > soon) => {
                Some("dated in the future".to_owned())
            }
            Ok(_) => None,
        };
        match (problem, entry) {
            (None, Ok(mut entry)) => {
                entry.max_age = entry.max_age.min(MAX_CACHED_LIFETIME.as_secs());
                Some(entry)
            }
            (problem, _) => {
                tracing::info!(
                    "JWKS cache {}: {}; ignoring it and fetching again",
                    path.display(),
                    problem.unwrap_or_default()
                );
                None
            }
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
        if let Some(problem) = untrusted_dir(&self.dir) {
            return Err(std::io::Error::other(problem));
        }
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

/// Why a cache file is not used.
enum Unusable {
    /// There is no file.
    Absent,
    /// It exists but another user owns it, others may write it, or it is
    /// not a regular file (or is too large to be a cache file).
    Untrusted(String),
    /// It could not be read.
    Io(std::io::Error),
}

/// Reads `path`, checking owner, mode and type on the opened file itself
/// (so what is checked is what is read).
fn read_trusted(path: &Path) -> Result<Vec<u8>, Unusable> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(err) => return Err(Unusable::Io(err)),
    };
    let meta = file.metadata().map_err(Unusable::Io)?;
    if !meta.is_file() {
        return Err(Unusable::Untrusted("not a regular file".into()));
    }
    if let Some(problem) = untrusted_owner_or_mode(&meta) {
        return Err(Unusable::Untrusted(problem));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Unusable::Untrusted(format!(
            "{} bytes, more than a cache file holds",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(Unusable::Io)?;
    Ok(bytes)
}

/// Why the cache directory must not be used, if it exists and is not ours
/// alone. A missing directory is fine (nothing to read; created 0700).
fn untrusted_dir(dir: &Path) -> Option<String> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Some("not a directory".into()),
        Ok(meta) => untrusted_owner_or_mode(&meta),
        Err(_) => None,
    }
}

/// `Some(reason)` when another user owns the file or directory, or its
/// group or other users may write to it.
#[cfg(unix)]
fn untrusted_owner_or_mode(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Some(format!(
            "owned by uid {}, not by the current user (uid {me})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "mode {mode:03o} lets other users write it (fix: `chmod go-w`)"
        ));
    }
    None
}

/// Elsewhere the platform's access control decides.
#[cfg(not(unix))]
fn untrusted_owner_or_mode(_meta: &std::fs::Metadata) -> Option<String> {
    None
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

    use super::{DiskCache, MAX_CACHED_LIFETIME, new_entry};

    #[test]
    fn a_stored_lifetime_is_clamped_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().join("jwks"));
        let iss = "https://ci.example.com";
        let ten_years = 10 * 365 * 86_400;
        cache.store(&new_entry(iss, "x", json!({"keys": []}), 1000, ten_years));
        let back = cache.load(iss, 1000).unwrap();
        assert_eq!(back.max_age, MAX_CACHED_LIFETIME.as_secs());
        assert_eq!(back.max_age, 86_400);
    }

    #[cfg(unix)]
    #[test]
    fn owner_and_mode_decide_trust() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};

        use super::{untrusted_dir, untrusted_owner_or_mode};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"{}").unwrap();
        let set = |mode: u32| {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            untrusted_owner_or_mode(&std::fs::metadata(&file).unwrap())
        };
        assert_eq!(set(0o600), None);
        assert_eq!(
            set(0o644),
            None,
            "readable by others is not a planting risk"
        );
        for mode in [0o602, 0o620, 0o666, 0o777] {
            let problem = set(mode).unwrap();
            assert!(problem.contains("other users write"), "{mode:o}: {problem}");
        }
        set(0o600);
        // A file of another user: only root can make one; anyone else
        // finds one in `/`, which root owns.
        let me = rustix::process::geteuid().as_raw();
        let theirs = if me == 0 {
            std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
            file.clone()
        } else {
            std::path::PathBuf::from("/")
        };
        let meta = std::fs::metadata(&theirs).unwrap();
        assert_ne!(meta.uid(), me);
        let problem = untrusted_owner_or_mode(&meta).unwrap();
        assert!(problem.contains("not by the current user"), "{problem}");
        // The directory: missing is fine (created 0700), a file is not a directory.
        assert_eq!(untrusted_dir(&dir.path().join("missing")), None);
        assert!(untrusted_dir(&theirs).is_some());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            untrusted_dir(dir.path())
                .unwrap()
                .contains("other users write")
        );
    }

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
