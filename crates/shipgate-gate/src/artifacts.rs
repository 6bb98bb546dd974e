//! Archives of packages with registry targets: checked at staging (each
//! target's files must state the staged name and version), shown to the
//! reviewer (what they declare, and what changed since the previous
//! released version).

use std::path::PathBuf;

use shipgate_protocol::wire::ArtifactReview;
use shipgate_registry::artifact::{Declarations, Limits, accepts, check_release, diff};
use shipgate_registry::{ArtifactInfo, TargetKind};

use crate::blobs::{Blobs, LocalBlob};
use crate::config::PackageConfig;
use crate::storage::ReleaseFile;

/// Checks the staged `files` (already in the blob store) against every
/// target of `package`. Returns the JSON to store with the release (`None`
/// for a package without targets), or one line naming the file and field.
pub async fn check_staged(
    blobs: &Blobs,
    package: &PackageConfig,
    version: &str,
    files: &[ReleaseFile],
) -> Result<Option<String>, String> {
    if package.targets.is_empty() {
        return Ok(None);
    }
    if let Some(stray) = files
        .iter()
        .find(|f| !package.targets.iter().any(|t| accepts(t.kind, &f.path)))
    {
        let kinds: Vec<&str> = package.targets.iter().map(|t| t.kind.as_str()).collect();
        return Err(format!(
            "{}: no registry target of {} publishes this file (targets: {})",
            stray.path,
            package.name,
            kinds.join(", ")
        ));
    }
    let mut jobs = Vec::new();
    // Local copies of remote blobs; deleted when the checks are done.
    let mut local: Vec<LocalBlob> = Vec::new();
    for target in &package.targets {
        let mut picked: Vec<(String, PathBuf)> = Vec::new();
        for file in files.iter().filter(|f| accepts(target.kind, &f.path)) {
            let blob = blobs
                .local_file(&file.sha256)
                .await
                .map_err(|e| format!("{}: not readable from the blob store: {e}", file.path))?;
            picked.push((file.path.clone(), blob.path().to_owned()));
            local.push(blob);
        }
        let name = target.name.clone().unwrap_or_else(|| package.name.clone());
        jobs.push((target.kind, picked, name));
    }
    let version = version.to_owned();
    let infos = tokio::task::spawn_blocking(move || check_all(jobs, &version))
        .await
        .map_err(|e| format!("reading the archives failed: {e}"))??;
    drop(local);
    serde_json::to_string(&infos)
        .map(Some)
        .map_err(|e| format!("cannot record the archives: {e}"))
}

type TargetFiles = (TargetKind, Vec<(String, PathBuf)>, String);

fn check_all(jobs: Vec<TargetFiles>, version: &str) -> Result<Vec<ArtifactInfo>, String> {
    let mut all: Vec<ArtifactInfo> = Vec::new();
    for (kind, files, name) in jobs {
        let refs: Vec<(&str, &std::path::Path)> = files
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_path()))
            .collect();
        let infos = check_release(kind, &refs, &name, version, &Limits::default())
            .map_err(|e| e.to_string())?;
        for info in infos {
            // Two targets of one kind read the same files once for review.
            if !all
                .iter()
                .any(|a| a.file_name == info.file_name && a.kind == info.kind)
            {
                all.push(info);
            }
        }
    }
    Ok(all)
}

/// The reviewer's view: each archive, and what its declarations changed
/// against the previous released version's.
pub fn review(
    artifacts: &str,
    previous: Option<(String, Option<String>)>,
) -> Option<ArtifactReview> {
    let infos: Vec<ArtifactInfo> = serde_json::from_str(artifacts).ok()?;
    let (previous_version, previous_infos) = match previous {
        Some((version, json)) => (
            Some(version),
            json.and_then(|j| serde_json::from_str::<Vec<ArtifactInfo>>(&j).ok())
                .unwrap_or_default(),
        ),
        None => (None, Vec::new()),
    };
    let changes = diff(
        &Declarations::merged(&previous_infos),
        &Declarations::merged(&infos),
    );
    let to_values = |v: &[_]| -> Vec<serde_json::Value> {
        v.iter()
            .filter_map(|x| serde_json::to_value(x).ok())
            .collect()
    };
    Some(ArtifactReview {
        files: infos
            .iter()
            .filter_map(|i| serde_json::to_value(i).ok())
            .collect(),
        previous_version,
        changes: to_values(&changes.changes),
        loud: changes.loud,
    })
}
