//! Python wheels (PEP 427): a zip with one `NAME-VERSION.dist-info` directory holding
//! `METADATA`, `WHEEL` and optionally `entry_points.txt`; the file name repeats the name
//! and version and lists the compatibility tags `WHEEL` declares.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::limits::read_at_most;
use super::python_meta::{self, CoreMetadata};
use super::{
    ArtifactError, ArtifactFormat, ArtifactInfo, Declarations, Limits, Metadata, ReadArtifact,
    paths, sha256_hex, utf8,
};
use crate::TargetKind;

const FORMAT: &str = "zip archive";

/// The parts of a wheel file name.
pub(crate) struct WheelName {
    pub(crate) name: String,
    pub(crate) version: String,
    /// Every `python-abi-platform` tag the (compressed) tag parts expand to.
    pub(crate) tags: BTreeSet<String>,
    /// The python tag part as written (`py3`, `cp311.cp312`), sent as `pyversion`.
    pub(crate) python_tag: String,
}

fn is_tag_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Splits and checks `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
pub(crate) fn parse_file_name(file: &str) -> Result<WheelName, ArtifactError> {
    let bad = |detail: String| ArtifactError::FileName {
        file: file.to_owned(),
        detail,
    };
    let stem = file
        .strip_suffix(".whl")
        .ok_or_else(|| bad("does not end in .whl".to_owned()))?;
    let parts: Vec<&str> = stem.split('-').collect();
    let (name, version, build, tags) = match parts.as_slice() {
        [n, v, py, abi, plat] => (*n, *v, None, [*py, *abi, *plat]),
        [n, v, b, py, abi, plat] => (*n, *v, Some(*b), [*py, *abi, *plat]),
        _ => {
            return Err(bad(
                "is not NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl (PEP 427)".to_owned(),
            ));
        }
    };
    if !python_meta::is_valid_python_name(name) || name.contains('-') {
        return Err(bad(format!("has an invalid distribution part {name:?}")));
    }
    python_meta::normalize_python_version(version)
        .map_err(|e| bad(format!("has an invalid version part {version:?}: {e}")))?;
    if let Some(build) = build
        && !(build.starts_with(|c: char| c.is_ascii_digit())
            && build
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(bad(format!(
            "has an invalid build tag {build:?} (must start with a digit)"
        )));
    }
    for tag in tags {
        if !is_tag_part(tag) {
            return Err(bad(format!("has an invalid compatibility tag {tag:?}")));
        }
    }
    let mut expanded = BTreeSet::new();
    for py in tags[0].split('.') {
        for abi in tags[1].split('.') {
            for plat in tags[2].split('.') {
                expanded.insert(format!("{py}-{abi}-{plat}"));
            }
        }
    }
    Ok(WheelName {
        name: name.to_owned(),
        version: version.to_owned(),
        tags: expanded,
        python_tag: tags[0].to_owned(),
    })
}

/// Whether a wheel path lands in site-packages' top directory when installed (where a
/// `.pth` file takes effect): the wheel root, or `*.data/purelib/` or `*.data/platlib/`.
fn installs_to_site_root(path: &str) -> bool {
    if !path.contains('/') {
        return true;
    }
    let (top, rest) = paths::split_top(path);
    if top.ends_with(".data") {
        for scheme in ["purelib/", "platlib/"] {
            if let Some(inner) = rest.strip_prefix(scheme) {
                return !inner.contains('/');
            }
        }
    }
    false
}

fn malformed(file: &str, error: impl std::fmt::Display) -> ArtifactError {
    ArtifactError::Malformed {
        file: file.to_owned(),
        format: FORMAT,
        detail: error.to_string(),
    }
}

pub(super) fn read(
    file: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ReadArtifact, ArtifactError> {
    let wheel_name = parse_file_name(file)?;
    let opened = File::open(path).map_err(|source| ArtifactError::Io {
        file: file.to_owned(),
        source,
    })?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(opened)).map_err(|e| malformed(file, e))?;
    if archive.len() as u64 > limits.max_entries {
        return Err(ArtifactError::TooManyEntries {
            file: file.to_owned(),
            limit: limits.max_entries,
        });
    }
    // The reader indexes entries by name, so a repeated name would silently hide one of
    // them: ask it before anything else.
    if archive.has_duplicate_names() {
        return Err(ArtifactError::DuplicateEntry {
            file: file.to_owned(),
            entry: "(a name in the zip directory)".to_owned(),
        });
    }
    // Local headers that disagree with the directory (what one tool extracts is not what
    // another reads), and entries sharing bytes (the overlapping-entries zip bomb).
    archive
        .validate_header_consistency()
        .map_err(|e| malformed(file, e))?;
    if archive
        .has_overlapping_entries()
        .map_err(|e| malformed(file, e))?
    {
        return Err(malformed(file, "entries overlap (a zip bomb technique)"));
    }

    // First pass over the central directory only: paths, kinds, declared sizes.
    let mut seen = HashSet::new();
    let mut dist_info_dirs = BTreeSet::new();
    let mut pth_indices = Vec::new();
    let mut expanded: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| malformed(file, e))?;
        let clean = paths::clean(file, entry.name_raw())?;
        if entry.is_symlink() {
            return Err(ArtifactError::NotRegular {
                file: file.to_owned(),
                entry: clean,
                what: "symbolic link",
            });
        }
        expanded = expanded.saturating_add(entry.size());
        if expanded > limits.max_expanded_bytes {
            return Err(ArtifactError::TooLarge {
                file: file.to_owned(),
                limit: limits.max_expanded_bytes,
            });
        }
        if entry.is_dir() {
            continue;
        }
        if !seen.insert(clean.clone()) {
            return Err(ArtifactError::DuplicateEntry {
                file: file.to_owned(),
                entry: clean,
            });
        }
        let (top, _) = paths::split_top(&clean);
        if top.ends_with(".dist-info") {
            dist_info_dirs.insert(top.to_owned());
        }
        if clean.ends_with(".pth") && installs_to_site_root(&clean) {
            pth_indices.push((index, clean));
        }
    }
    let dist_info = match dist_info_dirs.len() {
        1 => dist_info_dirs.into_iter().next().unwrap_or_default(),
        0 => {
            return Err(ArtifactError::MissingMetadata {
                file: file.to_owned(),
                entry: "*.dist-info/METADATA".to_owned(),
            });
        }
        _ => {
            return Err(ArtifactError::DuplicateEntry {
                file: file.to_owned(),
                entry: format!(
                    "*.dist-info directory ({})",
                    dist_info_dirs.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
    };

    let metadata_path = format!("{dist_info}/METADATA");
    let wheel_path = format!("{dist_info}/WHEEL");
    let entry_points_path = format!("{dist_info}/entry_points.txt");
    let mut read_entry = |wanted: &str| -> Result<Option<Vec<u8>>, ArtifactError> {
        if !seen.contains(wanted) {
            return Ok(None);
        }
        let mut entry = archive.by_name(wanted).map_err(|e| malformed(file, e))?;
        match read_at_most(&mut entry as &mut dyn Read, limits.max_metadata_bytes) {
            Ok(Some(bytes)) => Ok(Some(bytes)),
            Ok(None) => Err(ArtifactError::MetadataTooLarge {
                file: file.to_owned(),
                entry: wanted.to_owned(),
                limit: limits.max_metadata_bytes,
            }),
            Err(e) => Err(malformed(file, e)),
        }
    };
    let metadata_bytes =
        read_entry(&metadata_path)?.ok_or_else(|| ArtifactError::MissingMetadata {
            file: file.to_owned(),
            entry: metadata_path.clone(),
        })?;
    let wheel_bytes = read_entry(&wheel_path)?.ok_or_else(|| ArtifactError::MissingMetadata {
        file: file.to_owned(),
        entry: wheel_path.clone(),
    })?;
    let entry_points = read_entry(&entry_points_path)?;
    let mut pth_files = Vec::new();
    for (_, pth) in &pth_indices {
        if let Some(bytes) = read_entry(pth)? {
            pth_files.push((pth.clone(), sha256_hex(&bytes)));
        }
    }

    let metadata_text = utf8(file, &metadata_path, metadata_bytes)?;
    let metadata = CoreMetadata::parse(file, &metadata_path, &metadata_text)?;
    let nv = python_meta::name_version(file, &metadata_path, &metadata)?;
    check_names(file, &wheel_name, &dist_info, &nv)?;
    let wheel_text = utf8(file, &wheel_path, wheel_bytes)?;
    check_wheel_file(file, &wheel_path, &wheel_text, &wheel_name)?;

    let mut declares = Declarations::default();
    let requires = python_meta::requires_dist(metadata.all("Requires-Dist"));
    if !requires.is_empty() {
        declares
            .dependencies
            .insert("requires-dist".to_owned(), requires);
    }
    if let Some(bytes) = entry_points {
        let text = utf8(file, &entry_points_path, bytes)?;
        python_meta::add_entry_points(&mut declares, &text);
    }
    declares.pth_files.extend(pth_files);

    Ok(ReadArtifact {
        info: ArtifactInfo {
            kind: TargetKind::Pypi,
            format: ArtifactFormat::Wheel,
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

/// The file name and the `.dist-info` directory must name what `METADATA` names.
fn check_names(
    file: &str,
    wheel_name: &WheelName,
    dist_info: &str,
    nv: &python_meta::NameVersion,
) -> Result<(), ArtifactError> {
    let mismatch = |field: &str, found: &str, expected: &str| ArtifactError::Mismatch {
        file: file.to_owned(),
        field: field.to_owned(),
        found: found.to_owned(),
        expected: expected.to_owned(),
    };
    if python_meta::normalize_python_name(&wheel_name.name) != nv.normalized_name {
        return Err(mismatch(
            "file name's distribution",
            &wheel_name.name,
            &nv.name,
        ));
    }
    if python_meta::normalize_python_version(&wheel_name.version)
        .ok()
        .as_deref()
        != Some(nv.normalized_version.as_str())
    {
        return Err(mismatch(
            "file name's version",
            &wheel_name.version,
            &nv.version,
        ));
    }
    let stem = dist_info.trim_end_matches(".dist-info");
    let (dir_name, dir_version) = stem.rsplit_once('-').unwrap_or((stem, ""));
    let expected_dir = format!("{}-{}.dist-info", wheel_name.name, wheel_name.version);
    if python_meta::normalize_python_name(dir_name) != nv.normalized_name
        || python_meta::normalize_python_version(dir_version)
            .ok()
            .as_deref()
            != Some(nv.normalized_version.as_str())
    {
        return Err(mismatch(".dist-info directory", dist_info, &expected_dir));
    }
    Ok(())
}

/// `WHEEL` must be version 1.x and declare exactly the tags the file name carries.
fn check_wheel_file(
    file: &str,
    entry: &str,
    text: &str,
    wheel_name: &WheelName,
) -> Result<(), ArtifactError> {
    let invalid = |field: &str, detail: String| ArtifactError::InvalidField {
        file: file.to_owned(),
        entry: entry.to_owned(),
        field: field.to_owned(),
        detail,
    };
    let meta = CoreMetadata::parse(file, entry, text)?;
    let version = meta
        .get("Wheel-Version")
        .map(str::trim)
        .ok_or_else(|| invalid("Wheel-Version", "is missing".to_owned()))?;
    if version.split('.').next() != Some("1") {
        return Err(invalid(
            "Wheel-Version",
            format!("{version:?} is not a 1.x wheel format this reader understands"),
        ));
    }
    let declared: BTreeSet<String> = meta.all("Tag").map(|t| t.trim().to_owned()).collect();
    if declared != wheel_name.tags {
        return Err(ArtifactError::Mismatch {
            file: file.to_owned(),
            field: format!("{entry} Tag lines"),
            found: declared.into_iter().collect::<Vec<_>>().join(" "),
            expected: wheel_name
                .tags
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
    Ok(())
}
