//! Reading a file of the audited repository (a local action, a script a
//! step runs, package.json) without leaving it: the path must be relative
//! with no `..`, and after symlinks are resolved the file must still be
//! inside the repository, a regular file, no larger than the caller's
//! limit, and UTF-8. Anything else reads as absent: the audit then knows
//! less, it never fails.

use std::path::{Component, Path};

/// The text of `<root>/<rel>`, or `None` (see the module docs).
pub fn read_inside(root: &Path, rel: &Path, max_bytes: u64) -> Option<String> {
    if !rel
        .components()
        .all(|c| matches!(c, Component::CurDir | Component::Normal(_)))
    {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let real = root.join(rel).canonicalize().ok()?;
    if !real.starts_with(&root) {
        return None;
    }
    let meta = std::fs::metadata(&real).ok()?;
    if !meta.is_file() || meta.len() > max_bytes {
        return None;
    }
    std::fs::read_to_string(&real).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_inside_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::write(root.join("scripts/a.sh"), "npm publish\n").unwrap();
        std::fs::write(dir.path().join("outside.sh"), "secret\n").unwrap();
        std::fs::write(root.join("big.sh"), "x".repeat(100)).unwrap();
        std::fs::write(root.join("bin.sh"), [0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(
            read_inside(&root, Path::new("./scripts/a.sh"), 1024).as_deref(),
            Some("npm publish\n")
        );
        assert!(read_inside(&root, Path::new("../outside.sh"), 1024).is_none());
        assert!(read_inside(&root, &dir.path().join("outside.sh"), 1024).is_none());
        assert!(read_inside(&root, Path::new("big.sh"), 10).is_none());
        assert!(read_inside(&root, Path::new("bin.sh"), 1024).is_none());
        assert!(read_inside(&root, Path::new("scripts"), 1024).is_none());
        assert!(read_inside(&root, Path::new("missing.sh"), 1024).is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside.sh"), root.join("link.sh"))
                .unwrap();
            assert!(read_inside(&root, Path::new("link.sh"), 1024).is_none());
        }
    }
}
