//! Python source distributions (PEP 625): `NAME-VERSION.tar.gz` holding one directory
//! `NAME-VERSION/` with `PKG-INFO`; entry points come from `*.egg-info/entry_points.txt`
//! or `pyproject.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use super::python_meta::{self, CoreMetadata};
use super::{
    ArtifactError, ArtifactFormat, ArtifactInfo, Declarations, Limits, Metadata, ReadArtifact,
    paths, tar_walk, utf8,
};
use crate::TargetKind;

pub(super) fn read(
    file: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ReadArtifact, ArtifactError> {
    let stem = file.strip_suffix(".tar.gz").unwrap_or(file);
    let (file_dist, file_version) =
        stem.rsplit_once('-')
            .ok_or_else(|| ArtifactError::FileName {
                file: file.to_owned(),
                detail: "is not NAME-VERSION.tar.gz (PEP 625)".to_owned(),
            })?;
    let pkg_info_path = format!("{stem}/PKG-INFO");
    let pyproject_path = format!("{stem}/pyproject.toml");
    let mut pkg_info = None;
    let mut pyproject = None;
    let mut egg_entry_points = Vec::new();
    let mut pth_files = BTreeMap::new();
    tar_walk::walk(file, path, limits, |entry| {
        let (top, rest) = paths::split_top(&entry.path);
        let (top_ok, rest) = (top == stem, rest.to_owned());
        if !top_ok {
            return Err(ArtifactError::UnsafePath {
                file: file.to_owned(),
                entry: entry.path.clone(),
                why: "lies outside the NAME-VERSION/ directory the file name announces",
            });
        }
        if entry.is_dir {
            return Ok(());
        }
        if entry.path == pkg_info_path {
            pkg_info = Some(entry.read_metadata()?);
        } else if entry.path == pyproject_path {
            pyproject = Some(entry.read_metadata()?);
        } else if rest.ends_with(".egg-info/entry_points.txt") && rest.split('/').count() <= 3 {
            let bytes = entry.read_metadata()?;
            egg_entry_points.push((entry.path.clone(), bytes));
        } else if rest.ends_with(".pth") {
            let digest = entry.sha256()?;
            pth_files.insert(rest.to_owned(), digest);
        }
        Ok(())
    })?;

    let bytes = pkg_info.ok_or_else(|| ArtifactError::MissingMetadata {
        file: file.to_owned(),
        entry: pkg_info_path.clone(),
    })?;
    let text = utf8(file, &pkg_info_path, bytes)?;
    let metadata = CoreMetadata::parse(file, &pkg_info_path, &text)?;
    let nv = python_meta::name_version(file, &pkg_info_path, &metadata)?;
    let mismatch = |field: &str, found: &str, expected: &str| ArtifactError::Mismatch {
        file: file.to_owned(),
        field: field.to_owned(),
        found: found.to_owned(),
        expected: expected.to_owned(),
    };
    if python_meta::normalize_python_name(file_dist) != nv.normalized_name {
        return Err(mismatch("file name's distribution", file_dist, &nv.name));
    }
    if python_meta::normalize_python_version(file_version)
        .ok()
        .as_deref()
        != Some(nv.normalized_version.as_str())
    {
        return Err(mismatch("file name's version", file_version, &nv.version));
    }

    let mut declares = Declarations::default();
    let requires = python_meta::requires_dist(metadata.all("Requires-Dist"));
    if !requires.is_empty() {
        declares
            .dependencies
            .insert("requires-dist".to_owned(), requires);
    }
    for (entry, bytes) in egg_entry_points {
        let text = utf8(file, &entry, bytes)?;
        python_meta::add_entry_points(&mut declares, &text);
    }
    if let Some(bytes) = pyproject {
        let text = utf8(file, &pyproject_path, bytes)?;
        add_pyproject(file, &pyproject_path, &text, &mut declares)?;
    }
    declares.pth_files = pth_files;

    Ok(ReadArtifact {
        info: ArtifactInfo {
            kind: TargetKind::Pypi,
            format: ArtifactFormat::Sdist,
            file_name: file.to_owned(),
            name: nv.name,
            version: nv.version,
            normalized_name: nv.normalized_name,
            normalized_version: nv.normalized_version,
            declares,
        },
        metadata: Metadata::Python(metadata),
    })
}

/// Entry points and dependencies a `pyproject.toml` `[project]` table declares (PEP 621).
fn add_pyproject(
    file: &str,
    entry: &str,
    text: &str,
    declares: &mut Declarations,
) -> Result<(), ArtifactError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ArtifactError::InvalidField {
        file: file.to_owned(),
        entry: entry.to_owned(),
        field: "(document)".to_owned(),
        detail: format!("is not valid TOML: {}", e.message()),
    })?;
    let Some(project) = table.get("project").and_then(|p| p.as_table()) else {
        return Ok(());
    };
    let mut groups: Vec<(String, &toml::Table)> = Vec::new();
    if let Some(t) = project.get("scripts").and_then(|t| t.as_table()) {
        groups.push(("console_scripts".to_owned(), t));
    }
    if let Some(t) = project.get("gui-scripts").and_then(|t| t.as_table()) {
        groups.push(("gui_scripts".to_owned(), t));
    }
    if let Some(all) = project.get("entry-points").and_then(|t| t.as_table()) {
        for (group, t) in all {
            if let Some(t) = t.as_table() {
                groups.push((group.clone(), t));
            }
        }
    }
    for (group, table) in groups {
        for (name, object) in table {
            let object = object
                .as_str()
                .map_or_else(|| object.to_string(), str::to_owned);
            declares
                .entry_points
                .entry(format!("{group}:{name}"))
                .or_insert(object);
        }
    }
    // PKG-INFO lists Requires-Dist only when the backend writes them; fall back to the
    // static list in pyproject.toml.
    if !declares.dependencies.contains_key("requires-dist")
        && let Some(deps) = project.get("dependencies").and_then(|d| d.as_array())
    {
        let lines: Vec<&str> = deps.iter().filter_map(|d| d.as_str()).collect();
        let grouped = python_meta::requires_dist(lines.into_iter());
        if !grouped.is_empty() {
            declares
                .dependencies
                .insert("requires-dist".to_owned(), grouped);
        }
    }
    Ok(())
}
