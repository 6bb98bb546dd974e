//! `sign --changed-since`: which modules under a root differ from a git
//! ref, and what their version was there. Runs the real `git`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exclude::{is_excluded_dir, is_excluded_file};
use crate::manifest::{Manifest, ModuleVersion};
use crate::module::{MANIFEST_FILE, SIGNATURE_FILE};

/// A git operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    /// The ref does not name a commit.
    #[error("{}: git ref '{git_ref}' does not name a commit", root.display())]
    UnknownRef {
        /// The root.
        root: PathBuf,
        /// The ref.
        git_ref: String,
    },
    /// git exited with an error.
    #[error("{}: `git {args}` failed: {stderr}", root.display())]
    Failed {
        /// The root.
        root: PathBuf,
        /// The arguments.
        args: String,
        /// git's first stderr line.
        stderr: String,
    },
    /// A path git printed is not UTF-8.
    #[error("{}: git printed a path that is not UTF-8", .0.display())]
    NotUtf8(PathBuf),
    /// Walking the root failed.
    #[error("{}: cannot read: {source}", path.display())]
    Walk {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn git(root: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(GitError::Spawn)
}

fn git_ok(root: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = git(root, args)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(GitError::Failed {
            root: root.to_path_buf(),
            args: args.join(" "),
            stderr: stderr.lines().next().unwrap_or("").to_string(),
        });
    }
    Ok(out.stdout)
}

fn split_nul(root: &Path, bytes: Vec<u8>) -> Result<Vec<String>, GitError> {
    bytes
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8(p.to_vec()).map_err(|_| GitError::NotUtf8(root.to_path_buf())))
        .collect()
}

/// Checks that `git_ref` names a commit.
pub fn check_ref(root: &Path, git_ref: &str) -> Result<(), GitError> {
    let spec = format!("{git_ref}^{{commit}}");
    let out = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )?;
    if out.status.success() {
        Ok(())
    } else {
        Err(GitError::UnknownRef {
            root: root.to_path_buf(),
            git_ref: git_ref.to_string(),
        })
    }
}

/// Paths under `root` (relative to it) that differ between `git_ref` and
/// the working tree: tracked changes (staged or not, deletions included)
/// and untracked files that are not ignored.
pub fn changed_paths(root: &Path, git_ref: &str) -> Result<Vec<String>, GitError> {
    check_ref(root, git_ref)?;
    let tracked = git_ok(
        root,
        &[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--relative",
            git_ref,
            "--",
            ".",
        ],
    )?;
    let untracked = git_ok(
        root,
        &[
            "ls-files",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            ".",
        ],
    )?;
    let mut paths = split_nul(root, tracked)?;
    paths.extend(split_nul(root, untracked)?);
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// The module's manifest version at `git_ref` (`None`: no manifest there).
pub fn version_at_ref(
    root: &Path,
    git_ref: &str,
    module: &str,
) -> Result<Option<ModuleVersion>, GitError> {
    let rel = if module.is_empty() {
        MANIFEST_FILE.to_string()
    } else {
        format!("{module}/{MANIFEST_FILE}")
    };
    let out = git(root, &["show", &format!("{git_ref}:./{rel}")])?;
    if !out.status.success() {
        return Ok(None);
    }
    let origin = format!("{git_ref}:{rel}");
    // An unreadable old manifest only means there is no old version to bump from.
    Ok(Manifest::parse(&out.stdout, &origin)
        .ok()
        .map(|m| m.version().clone()))
}

/// Module directories under `root` (relative, `""` for the root itself):
/// every directory holding a `shipgate.manifest`, skipping excluded
/// directories and never following symlinks. Sorted.
pub fn find_modules(root: &Path) -> Result<Vec<String>, GitError> {
    let mut modules = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            !(e.file_type().is_dir()
                && e.depth() > 0
                && is_excluded_dir(&rel, &e.file_name().to_string_lossy()))
        });
    for item in walker {
        let entry = item.map_err(|e| GitError::Walk {
            path: e
                .path()
                .map_or_else(|| root.to_path_buf(), Path::to_path_buf),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
        })?;
        if entry.file_type().is_file() && entry.file_name() == MANIFEST_FILE {
            let dir = entry.path().parent().unwrap_or(root);
            let rel = dir.strip_prefix(root).unwrap_or(dir);
            let rel = rel
                .to_str()
                .ok_or_else(|| GitError::NotUtf8(dir.to_path_buf()))?;
            modules.push(rel.to_string());
        }
    }
    modules.sort();
    Ok(modules)
}

/// One module's fate under `--changed-since`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleChange {
    /// Module directory relative to the root (`""`: the root).
    pub module: String,
    /// Changed paths inside it (relative to the root), excluding its
    /// signature file and excluded files.
    pub changed: Vec<String>,
}

/// For every module under `root`, the paths that differ from `git_ref`.
/// A change to the module's signature alone does not count.
pub fn modules_changed_since(root: &Path, git_ref: &str) -> Result<Vec<ModuleChange>, GitError> {
    let changed = changed_paths(root, git_ref)?;
    let modules = find_modules(root)?;
    Ok(modules
        .into_iter()
        .map(|module| {
            let prefix = if module.is_empty() {
                String::new()
            } else {
                format!("{module}/")
            };
            let changed = changed
                .iter()
                .filter(|path| path.starts_with(&prefix) && counts_as_change(&path[prefix.len()..]))
                .cloned()
                .collect();
            ModuleChange { module, changed }
        })
        .collect())
}

/// Does a change at module-relative `inside` make the module changed?
/// Its signature and excluded files (caches, `.git`, ...) do not; its
/// manifest does (a checksum-only refresh must be signed).
fn counts_as_change(inside: &str) -> bool {
    let segments: Vec<&str> = inside.split('/').collect();
    let Some((name, dirs)) = segments.split_last() else {
        return false;
    };
    let in_excluded_dir =
        (1..=dirs.len()).any(|n| is_excluded_dir(&dirs[..n].join("/"), dirs[n - 1]));
    inside != SIGNATURE_FILE
        && !in_excluded_dir
        && (inside == MANIFEST_FILE || !is_excluded_file(inside, name))
}

/// `--bump` needs a semantic version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version '{0}' is not a semantic version (MAJOR.MINOR.PATCH), so it cannot be bumped")]
pub struct NotSemver(pub String);

fn semver_of(version: &ModuleVersion) -> Result<semver::Version, NotSemver> {
    semver::Version::parse(version.as_str()).map_err(|_| NotSemver(version.to_string()))
}

/// Bumps a semantic version (pre-release and build metadata are dropped).
pub fn bump(version: &ModuleVersion, part: BumpPart) -> Result<ModuleVersion, NotSemver> {
    let mut v = semver_of(version)?;
    match part {
        BumpPart::Major => {
            v.major += 1;
            v.minor = 0;
            v.patch = 0;
        }
        BumpPart::Minor => {
            v.minor += 1;
            v.patch = 0;
        }
        BumpPart::Patch => v.patch += 1,
    }
    v.pre = semver::Prerelease::EMPTY;
    v.build = semver::BuildMetadata::EMPTY;
    ModuleVersion::new(v.to_string()).map_err(|_| NotSemver(v.to_string()))
}

/// Which part of the version `--bump` raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BumpPart {
    /// `x.y.Z`
    Patch,
    /// `x.Y.0`
    Minor,
    /// `X.0.0`
    Major,
}

/// The version a changed module gets with `--bump`: if it was already
/// raised above its version at the ref, it is kept (re-running the signing
/// job does not bump twice); otherwise it is the ref's version bumped. A
/// module new since the ref keeps its version.
pub fn bumped_version(
    current: &ModuleVersion,
    at_ref: Option<&ModuleVersion>,
    part: BumpPart,
) -> Result<ModuleVersion, NotSemver> {
    let Some(at_ref) = at_ref else {
        return Ok(current.clone());
    };
    let target = bump(at_ref, part)?;
    let now = semver_of(current)?;
    let old = semver_of(at_ref)?;
    if now > old {
        Ok(current.clone())
    } else {
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ModuleVersion {
        ModuleVersion::new(s).unwrap()
    }

    #[test]
    fn bumps_semver_and_never_twice() {
        assert_eq!(bump(&v("1.2.3"), BumpPart::Patch).unwrap(), v("1.2.4"));
        assert_eq!(bump(&v("1.2.3"), BumpPart::Minor).unwrap(), v("1.3.0"));
        assert_eq!(bump(&v("1.2.3-rc.1"), BumpPart::Major).unwrap(), v("2.0.0"));
        assert!(bump(&v("v1"), BumpPart::Patch).is_err());
        assert_eq!(
            bumped_version(&v("1.0.0"), Some(&v("1.0.0")), BumpPart::Minor).unwrap(),
            v("1.1.0")
        );
        assert_eq!(
            bumped_version(&v("1.1.0"), Some(&v("1.0.0")), BumpPart::Minor).unwrap(),
            v("1.1.0")
        );
        assert_eq!(
            bumped_version(&v("0.3.0"), None, BumpPart::Patch).unwrap(),
            v("0.3.0")
        );
    }
}
