//! The review diff: what changed since the previous released version.

use std::collections::BTreeMap;

use crate::storage::ReleaseFile;
use shipgate_protocol::wire::{ChangedFile, Diff};

/// Compares `current` with the previous release's files (`None`: there is
/// no previous release, so every file is added).
pub fn diff(previous: Option<(String, Vec<ReleaseFile>)>, current: &[ReleaseFile]) -> Diff {
    let (previous_version, old_files) = match previous {
        Some((version, files)) => (Some(version), files),
        None => (None, Vec::new()),
    };
    let old: BTreeMap<&str, &ReleaseFile> =
        old_files.iter().map(|f| (f.path.as_str(), f)).collect();
    let new: BTreeMap<&str, &ReleaseFile> = current.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut result = Diff {
        previous_version,
        ..Diff::default()
    };
    for (path, file) in &new {
        match old.get(path) {
            None => result.added.push((*file).clone()),
            Some(before) if before.sha256 == file.sha256 => result.unchanged += 1,
            Some(before) => result.changed.push(ChangedFile {
                path: (*path).to_owned(),
                old_size: before.size,
                new_size: file.size,
                size_delta: size_delta(before.size, file.size),
                old_sha256: before.sha256.clone(),
                new_sha256: file.sha256.clone(),
            }),
        }
    }
    for (path, file) in &old {
        if !new.contains_key(path) {
            result.removed.push((*file).clone());
        }
    }
    result
}

fn size_delta(old: u64, new: u64) -> i64 {
    let old = i64::try_from(old).unwrap_or(i64::MAX);
    let new = i64::try_from(new).unwrap_or(i64::MAX);
    new.saturating_sub(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, size: u64, digest: char) -> ReleaseFile {
        ReleaseFile {
            path: path.into(),
            size,
            sha256: digest.to_string().repeat(64),
        }
    }

    #[test]
    fn first_release_adds_everything() {
        let d = diff(None, &[f("a", 1, 'a')]);
        assert_eq!(d.previous_version, None);
        assert_eq!(d.added.len(), 1);
    }

    #[test]
    fn reports_added_removed_changed_and_unchanged() {
        let old = vec![f("same", 5, 'a'), f("grows", 10, 'b'), f("gone", 3, 'c')];
        let new = vec![f("same", 5, 'a'), f("grows", 25, 'd'), f("new", 7, 'e')];
        let d = diff(Some(("1.0".into(), old)), &new);
        assert_eq!(d.previous_version.as_deref(), Some("1.0"));
        assert_eq!(d.added, vec![f("new", 7, 'e')]);
        assert_eq!(d.removed, vec![f("gone", 3, 'c')]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].size_delta, 15);
        assert_eq!(d.unchanged, 1);
        let shrink = diff(Some(("1".into(), vec![f("x", 10, 'a')])), &[f("x", 4, 'b')]);
        assert_eq!(shrink.changed[0].size_delta, -6);
    }
}
