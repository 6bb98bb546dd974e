//! Which files to audit for the paths on the command line.
//!
//! - A file is audited as given (`action.yml`/`action.yaml` as an action,
//!   anything else as a workflow), whatever its name.
//! - A directory with `.github/workflows/` is a repository root: its
//!   `.github/workflows/*.yml|yaml` plus every `action.yml|yaml` under it
//!   (hidden directories other than `.github`, `node_modules`, `target` and
//!   `vendor` are skipped; symlinked directories are not followed).
//! - Any other directory (a folder of checkouts, a folder of workflow files)
//!   is walked: its own `*.yml|yaml`, the `.github/workflows/*.yml|yaml` of
//!   every repository below it, and every `action.yml|yaml` below it.
//!
//! Walks skip `.git` and other hidden directories (but not `.github`),
//! `node_modules`, `target` and `vendor`, never follow symbolic links to
//! directories, and are bounded in depth and entries.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::model::FileKind;

/// One file to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    /// How the path is shown in output (as it was reached from the argument).
    pub display: String,
    pub kind: FileKind,
}

/// Deepest directory level searched for `action.yml` files.
const MAX_WALK_DEPTH: usize = 24;
/// Most entries looked at while searching, to bound huge trees.
const MAX_WALK_ENTRIES: usize = 200_000;

pub fn discover(paths: &[PathBuf]) -> Result<Vec<InputFile>, AuditError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|_| AuditError::PathNotFound { path: path.clone() })?;
        let found = if meta.is_dir() {
            directory(path)?
        } else {
            vec![path.clone()]
        };
        for file in found {
            if seen.insert(file.clone()) {
                out.push(input(file));
            }
        }
    }
    if out.is_empty() {
        let paths = paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(AuditError::NoWorkflows { paths });
    }
    Ok(out)
}

fn input(path: PathBuf) -> InputFile {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let kind = if matches!(name, "action.yml" | "action.yaml") {
        FileKind::Action
    } else {
        FileKind::Workflow
    };
    let display = path.to_string_lossy().replace('\\', "/");
    let display = display.strip_prefix("./").unwrap_or(&display).to_owned();
    InputFile {
        path,
        display,
        kind,
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let entries = std::fs::read_dir(dir).map_err(|source| AuditError::ReadDir {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    Ok(files)
}

fn directory(dir: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let workflows = dir.join(".github").join("workflows");
    if workflows.is_dir() {
        let mut out: Vec<PathBuf> = list(&workflows)?
            .into_iter()
            .filter(|p| is_yaml(p))
            .collect();
        out.extend(walk(dir).actions);
        return Ok(out);
    }
    let mut out: Vec<PathBuf> = list(dir)?
        .into_iter()
        .filter(|p| is_yaml(p) && !p.is_dir())
        .filter(|p| {
            !matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("action.yml" | "action.yaml")
            )
        })
        .collect();
    let found = walk(dir);
    out.extend(found.workflows);
    out.extend(found.actions);
    Ok(out)
}

/// What a walk found, each list sorted.
struct Walked {
    /// `*.yml|yaml` directly in a `.github/workflows` directory below the root.
    workflows: Vec<PathBuf>,
    actions: Vec<PathBuf>,
}

/// Walks `root` for nested repositories' workflows and for `action.yml|yaml`
/// files, bounded in depth and size.
fn walk(root: &Path) -> Walked {
    let mut workflows = Vec::new();
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), 0usize)];
    let mut budget = MAX_WALK_ENTRIES;
    'walk: while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries.into_iter().rev() {
            if budget == 0 {
                break 'walk;
            }
            budget -= 1;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            // `file_type` does not follow links: a linked directory is not walked.
            if file_type.is_dir() {
                let skip = (name.starts_with('.') && name != ".github")
                    || matches!(&*name, "node_modules" | "target" | "vendor");
                if !skip && depth < MAX_WALK_DEPTH {
                    stack.push((entry.path(), depth + 1));
                }
            } else if file_type.is_symlink() {
                continue;
            } else if matches!(&*name, "action.yml" | "action.yaml") {
                out.push(entry.path());
            } else if depth > 0
                && is_yaml(&entry.path())
                && dir.file_name().is_some_and(|n| n == "workflows")
                && dir
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == ".github")
            {
                workflows.push(entry.path());
            }
        }
    }
    out.sort();
    workflows.sort();
    Walked {
        workflows,
        actions: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_workflows_and_actions_in_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
        std::fs::create_dir_all(root.join(".github/actions/setup")).unwrap();
        std::fs::create_dir_all(root.join("node_modules/x")).unwrap();
        std::fs::write(root.join(".github/workflows/ci.yml"), "").unwrap();
        std::fs::write(root.join(".github/workflows/release.yaml"), "").unwrap();
        std::fs::write(root.join(".github/workflows/notes.md"), "").unwrap();
        std::fs::write(root.join(".github/actions/setup/action.yml"), "").unwrap();
        std::fs::write(root.join("node_modules/x/action.yml"), "").unwrap();
        std::fs::write(root.join("other.yml"), "").unwrap();
        let found = discover(&[root.to_owned()]).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ".github/workflows/ci.yml",
                ".github/workflows/release.yaml",
                ".github/actions/setup/action.yml"
            ]
        );
        assert_eq!(found[2].kind, FileKind::Action);
    }

    #[test]
    fn a_folder_of_checkouts_is_walked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("a/.github/workflows/ci.yml", ""),
            ("a/.github/workflows/release.yaml", ""),
            ("a/.github/workflows/old/skip.yml", ""),
            ("a/.github/workflows/README.md", ""),
            ("group/b/.github/workflows/publish.yml", ""),
            ("group/b/.github/actions/build/action.yaml", ""),
            ("group/b/node_modules/c/.github/workflows/x.yml", ""),
            ("group/b/target/.github/workflows/x.yml", ""),
            ("d/.git/.github/workflows/x.yml", ""),
            ("loose.yml", ""),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        // A link to a directory outside is not followed.
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join(".github/workflows")).unwrap();
        std::fs::write(outside.path().join(".github/workflows/out.yml"), "").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
        let found = discover(&[root.to_owned()]).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            vec![
                "loose.yml",
                "a/.github/workflows/ci.yml",
                "a/.github/workflows/release.yaml",
                "group/b/.github/workflows/publish.yml",
                "group/b/.github/actions/build/action.yaml",
            ]
        );
    }

    #[test]
    fn missing_paths_and_empty_directories_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            discover(&[dir.path().join("nope")]),
            Err(AuditError::PathNotFound { .. })
        ));
        assert!(matches!(
            discover(&[dir.path().to_owned()]),
            Err(AuditError::NoWorkflows { .. })
        ));
    }
}
