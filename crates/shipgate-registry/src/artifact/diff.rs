//! What changed in what a package declares between two releases.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Declarations, FileDigest};

/// npm scripts that run on the installer's machine (`prepare` also for git dependencies).
const INSTALL_SCRIPTS: [&str; 6] = [
    "preinstall",
    "install",
    "postinstall",
    "prepare",
    "preprepare",
    "postprepare",
];

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Subject {
    /// An npm script.
    Script,
    /// A dependency (the key is `kind name`).
    Dependency,
    /// An npm `bin` entry.
    Bin,
    /// A Python entry point (`group:name`).
    EntryPoint,
    /// A Python `.pth` file.
    PthFile,
    /// A crate's build script.
    BuildScript,
    /// A crate becoming (or ceasing to be) a procedural macro.
    ProcMacro,
}

/// Whether something appeared, changed or went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New in this release.
    Added,
    /// Present in both, with another value.
    Changed,
    /// Gone in this release.
    Removed,
}

/// One difference between two releases' [`Declarations`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What it is about.
    pub subject: Subject,
    /// Added, changed or removed.
    pub change: ChangeKind,
    /// Which one: script name, `kind name` of a dependency, bin name, `group:name`, path.
    pub key: String,
    /// The previous value, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The new value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Whether reviewers must look at this one: an install script, a `.pth` file, a build
    /// script or a proc-macro added or changed.
    pub loud: bool,
}

/// Every difference, and whether any is loud.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationsDiff {
    /// The differences, grouped by subject, sorted by key.
    pub changes: Vec<Change>,
    /// Whether any change is loud.
    pub loud: bool,
}

/// Compares the declarations of a previous release with a new one.
///
/// For the first release of a package, pass `&Declarations::default()` as `previous`:
/// everything shows as added, install scripts and the like loudly.
pub fn diff(previous: &Declarations, new: &Declarations) -> DeclarationsDiff {
    let mut changes = Vec::new();
    compare(
        &mut changes,
        Subject::Script,
        &previous.scripts,
        &new.scripts,
        |key| INSTALL_SCRIPTS.contains(&key),
    );
    let flatten = |d: &Declarations| -> BTreeMap<String, String> {
        d.dependencies
            .iter()
            .flat_map(|(kind, deps)| {
                deps.iter()
                    .map(move |(n, v)| (format!("{kind} {n}"), v.clone()))
            })
            .collect()
    };
    compare(
        &mut changes,
        Subject::Dependency,
        &flatten(previous),
        &flatten(new),
        |_| false,
    );
    compare(
        &mut changes,
        Subject::Bin,
        &previous.bins,
        &new.bins,
        |_| false,
    );
    compare(
        &mut changes,
        Subject::EntryPoint,
        &previous.entry_points,
        &new.entry_points,
        |_| false,
    );
    compare(
        &mut changes,
        Subject::PthFile,
        &previous.pth_files,
        &new.pth_files,
        |_| true,
    );
    let build = |b: &Option<FileDigest>| -> BTreeMap<String, String> {
        b.iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect()
    };
    compare(
        &mut changes,
        Subject::BuildScript,
        &build(&previous.build_script),
        &build(&new.build_script),
        |_| true,
    );
    if previous.proc_macro != new.proc_macro {
        changes.push(Change {
            subject: Subject::ProcMacro,
            change: if new.proc_macro {
                ChangeKind::Added
            } else {
                ChangeKind::Removed
            },
            key: "proc-macro".to_owned(),
            before: Some(previous.proc_macro.to_string()),
            after: Some(new.proc_macro.to_string()),
            loud: new.proc_macro,
        });
    }
    let loud = changes.iter().any(|c| c.loud);
    DeclarationsDiff { changes, loud }
}

/// Added, changed and removed keys; `loud_key` marks keys that are loud when added or
/// changed (removing an install script is good news).
fn compare(
    out: &mut Vec<Change>,
    subject: Subject,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    loud_key: impl Fn(&str) -> bool,
) {
    for (key, new_value) in after {
        let change = match before.get(key) {
            None => ChangeKind::Added,
            Some(old) if old != new_value => ChangeKind::Changed,
            Some(_) => continue,
        };
        out.push(Change {
            subject,
            change,
            key: key.clone(),
            before: before.get(key).cloned(),
            after: Some(new_value.clone()),
            loud: loud_key(key),
        });
    }
    for (key, old_value) in before {
        if !after.contains_key(key) {
            out.push(Change {
                subject,
                change: ChangeKind::Removed,
                key: key.clone(),
                before: Some(old_value.clone()),
                after: None,
                loud: false,
            });
        }
    }
}
