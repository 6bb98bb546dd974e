//! The repository's GoReleaser configuration, when it is on disk: a
//! configuration whose `release:` is a draft (`draft: true`) or off
//! (`disable: true`), and that publishes nowhere else (no images, blobs,
//! uploads, package repositories), makes `goreleaser release` publish
//! nothing a user can install: someone publishes the draft later.
//! Homebrew, Scoop, winget and krew entries only open pull requests or push
//! formulas to a tap, which the release rules do not count as publishing.

use std::path::Path;

use crate::source::SourceFile;

/// Largest configuration read.
const MAX_CONFIG_BYTES: u64 = 512 * 1024;

/// GoReleaser's default configuration names, in its order.
const DEFAULT_NAMES: &[&str] = &[
    ".config/goreleaser.yml",
    ".config/goreleaser.yaml",
    ".goreleaser.yml",
    ".goreleaser.yaml",
    "goreleaser.yml",
    "goreleaser.yaml",
];

/// Sections that publish somewhere besides the GitHub release.
const PUBLISHING_SECTIONS: &[&str] = &[
    "dockers",
    "dockers_v2",
    "docker_manifests",
    "kos",
    "blobs",
    "publishers",
    "uploads",
    "artifactories",
    "snapcrafts",
    "chocolateys",
    "aurs",
    "aur_sources",
    "nix",
    "npms",
    "cloudsmiths",
    "furies",
    "dockerhub",
];

/// Whether the configuration `goreleaser` reads (`--config`/`-f` in `args`,
/// or a default name) only drafts the release (see the module docs).
/// `false` when it cannot be read or says anything else.
pub fn only_drafts(root: &Path, args: &str) -> bool {
    let named = config_option(args);
    let text = match named {
        Some(path) => crate::repo_files::read_inside(root, Path::new(&path), MAX_CONFIG_BYTES),
        None => DEFAULT_NAMES.iter().find_map(|name| {
            crate::repo_files::read_inside(root, Path::new(name), MAX_CONFIG_BYTES)
        }),
    };
    let Some(text) = text else { return false };
    let Ok(doc) = crate::yaml::load(&SourceFile::new("goreleaser.yml", &text)) else {
        return false;
    };
    let root = &doc.root;
    let Some(release) = root.get("release") else {
        return false;
    };
    let set = |key: &str| release.get(key).is_some_and(|v| v.is_true());
    if !(set("draft") || set("disable")) {
        return false;
    }
    !PUBLISHING_SECTIONS.iter().any(|section| {
        root.get(section).is_some_and(|v| {
            v.as_seq().is_none_or(|items| !items.is_empty())
                && v.as_map().is_none_or(|m| !m.is_empty())
        })
    })
}

/// The path given with `--config`, `--config=`, `-f` or `-f=` in `args`.
fn config_option(args: &str) -> Option<String> {
    let mut words = args.split_whitespace();
    while let Some(w) = words.next() {
        if w == "--config" || w == "-f" {
            return words.next().map(str::to_owned);
        }
        if let Some(v) = w
            .strip_prefix("--config=")
            .or_else(|| w.strip_prefix("-f="))
        {
            return Some(v.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_config(name: &str, text: &str, args: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        only_drafts(dir.path(), args)
    }

    #[test]
    fn drafts_without_other_destinations_publish_nothing() {
        let draft =
            "version: 2\nbuilds: [{goos: [linux]}]\nrelease:\n  draft: true\nbrews:\n  - name: x\n";
        assert!(with_config(".goreleaser.yml", draft, "release --clean"));
        assert!(with_config(".config/goreleaser.yaml", draft, "release"));
        assert!(with_config(
            "ci/gr.yml",
            draft,
            "release --config ci/gr.yml"
        ));
        assert!(with_config(
            "ci/gr.yml",
            "release: {disable: true}\n",
            "release -f=ci/gr.yml"
        ));
        // Published releases, other destinations, templates, unreadable files.
        assert!(!with_config(
            ".goreleaser.yml",
            "release:\n  draft: false\n",
            "release"
        ));
        assert!(!with_config(".goreleaser.yml", "builds: []\n", "release"));
        assert!(!with_config(
            ".goreleaser.yml",
            "release: {draft: true}\ndockers:\n  - image_templates: [ghcr.io/a/b]\n",
            "release"
        ));
        assert!(!with_config(
            ".goreleaser.yml",
            "release: {draft: '{{ .Env.DRAFT }}'}\n",
            "release"
        ));
        assert!(!with_config(
            "other.yml",
            "release: {draft: true}\n",
            "release"
        ));
        assert!(!with_config(".goreleaser.yml", "release: [\n", "release"));
        assert!(!with_config(
            ".goreleaser.yml",
            "release: {draft: true}\n",
            "release -f ../x.yml"
        ));
    }
}
