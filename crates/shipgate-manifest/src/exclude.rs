//! What a module manifest leaves out. Keep this list short: everything not
//! listed here is part of the module and is hashed and signed.
//!
//! - at the module root only: `shipgate.manifest`, `shipgate.manifest.minisig`;
//! - directories anywhere: `.git`, `__pycache__`, `.mypy_cache`,
//!   `.pytest_cache`, `.ruff_cache`, `.idea`, `.vscode`, and `.cache` directly
//!   under `node_modules`;
//! - files anywhere: `.git` (worktree link), `.DS_Store`, `*.pyc`, `*.swp`,
//!   `*~`.

use crate::module::{MANIFEST_FILE, SIGNATURE_FILE};

/// Directory names skipped wherever they appear.
pub const EXCLUDED_DIRS: &[&str] = &[
    ".git",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".idea",
    ".vscode",
];

/// File names skipped wherever they appear.
pub const EXCLUDED_FILES: &[&str] = &[".git", ".DS_Store"];

/// File name suffixes skipped wherever they appear.
pub const EXCLUDED_SUFFIXES: &[&str] = &[".pyc", ".swp", "~"];

/// Is the directory at module-relative `path` (file name `name`) skipped?
pub fn is_excluded_dir(path: &str, name: &str) -> bool {
    EXCLUDED_DIRS.contains(&name)
        || (name == ".cache"
            && (path == "node_modules/.cache" || path.ends_with("/node_modules/.cache")))
}

/// Is the file (or symlink) at module-relative `path` skipped?
pub fn is_excluded_file(path: &str, name: &str) -> bool {
    path == MANIFEST_FILE
        || path == SIGNATURE_FILE
        || EXCLUDED_FILES.contains(&name)
        || EXCLUDED_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_only_the_documented_names() {
        assert!(is_excluded_file("shipgate.manifest", "shipgate.manifest"));
        assert!(!is_excluded_file(
            "sub/shipgate.manifest",
            "shipgate.manifest"
        ));
        assert!(is_excluded_file("a/b.pyc", "b.pyc"));
        assert!(is_excluded_file("a/.b.swp", ".b.swp"));
        assert!(is_excluded_file("notes~", "notes~"));
        assert!(is_excluded_file("x/.DS_Store", ".DS_Store"));
        assert!(!is_excluded_file("main.py", "main.py"));
        assert!(is_excluded_dir("a/__pycache__", "__pycache__"));
        assert!(is_excluded_dir("web/node_modules/.cache", ".cache"));
        assert!(!is_excluded_dir("web/.cache", ".cache"));
        assert!(!is_excluded_dir("src", "src"));
    }
}
