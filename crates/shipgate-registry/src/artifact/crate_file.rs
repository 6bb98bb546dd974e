//! `.crate` files (`cargo package`): `NAME-VERSION.crate` holding one directory
//! `NAME-VERSION/` with the normalised `Cargo.toml` that states the name and version and
//! declares dependencies, a build script and whether the crate is a proc-macro.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{
    ArtifactError, ArtifactFormat, ArtifactInfo, Declarations, FileDigest, Limits, Metadata,
    ReadArtifact, paths, tar_walk, utf8,
};
use crate::TargetKind;

/// Dependency tables, with the legacy underscore spellings cargo still reads.
const DEPENDENCY_TABLES: [(&str, &str); 5] = [
    ("dependencies", "dependencies"),
    ("dev-dependencies", "dev-dependencies"),
    ("dev_dependencies", "dev-dependencies"),
    ("build-dependencies", "build-dependencies"),
    ("build_dependencies", "build-dependencies"),
];

pub(super) fn read(
    file: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ReadArtifact, ArtifactError> {
    let stem = file.strip_suffix(".crate").unwrap_or(file);
    let manifest_path = format!("{stem}/Cargo.toml");
    let mut manifest = None;
    // Every file's digest, so the build script is found wherever the manifest puts it and
    // whatever order the archive has.
    let mut digests: HashMap<String, String> = HashMap::new();
    let mut readmes: HashMap<String, Vec<u8>> = HashMap::new();
    tar_walk::walk(file, path, limits, |entry| {
        let (top, rest) = paths::split_top(&entry.path);
        if top != stem {
            return Err(ArtifactError::UnsafePath {
                file: file.to_owned(),
                entry: entry.path.clone(),
                why: "lies outside the NAME-VERSION/ directory the file name announces",
            });
        }
        if entry.is_dir {
            return Ok(());
        }
        let rest = rest.to_owned();
        if entry.path == manifest_path {
            manifest = Some(entry.read_metadata()?);
        } else if !rest.contains('/') && rest.to_ascii_lowercase().starts_with("readme") {
            let bytes = entry.read_metadata()?;
            digests.insert(rest.clone(), super::sha256_hex(&bytes));
            readmes.insert(rest, bytes);
        } else {
            let digest = entry.sha256()?;
            digests.insert(rest, digest);
        }
        Ok(())
    })?;

    let bytes = manifest.ok_or_else(|| ArtifactError::MissingMetadata {
        file: file.to_owned(),
        entry: manifest_path.clone(),
    })?;
    let text = utf8(file, &manifest_path, bytes)?;
    let invalid = |field: &str, detail: String| ArtifactError::InvalidField {
        file: file.to_owned(),
        entry: manifest_path.clone(),
        field: field.to_owned(),
        detail,
    };
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| invalid("(document)", format!("is not valid TOML: {}", e.message())))?;
    let package = table
        .get("package")
        .and_then(|p| p.as_table())
        .ok_or_else(|| invalid("[package]", "is missing".to_owned()))?;
    let string = |key: &str| -> Result<String, ArtifactError> {
        match package.get(key) {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(toml::Value::String(_)) => {
                Err(invalid(&format!("[package] {key}"), "is empty".to_owned()))
            }
            Some(_) => Err(invalid(
                &format!("[package] {key}"),
                "is not a string".to_owned(),
            )),
            None => Err(invalid(
                &format!("[package] {key}"),
                "is missing".to_owned(),
            )),
        }
    };
    let name = string("name")?;
    let version = string("version")?;
    if !is_valid_crate_name(&name) {
        return Err(invalid(
            "[package] name",
            format!("{name:?} is not a valid crate name (ASCII letters, digits, - and _)"),
        ));
    }
    let expected_stem = format!("{name}-{version}");
    if stem != expected_stem {
        return Err(ArtifactError::Mismatch {
            file: file.to_owned(),
            field: "file name and archive directory".to_owned(),
            found: stem.to_owned(),
            expected: expected_stem,
        });
    }

    let mut declares = Declarations {
        dependencies: dependencies(&table),
        ..Declarations::default()
    };
    let build_path = match package.get("build") {
        Some(toml::Value::String(p)) => Some(p.trim_start_matches("./").to_owned()),
        Some(toml::Value::Boolean(false)) => None,
        _ => Some("build.rs".to_owned()),
    };
    declares.build_script = build_path.and_then(|p| {
        digests.get(&p).map(|sha256| FileDigest {
            path: p.clone(),
            sha256: sha256.clone(),
        })
    });
    declares.proc_macro = table
        .get("lib")
        .and_then(|l| l.as_table())
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);

    let readme_name = match package.get("readme") {
        Some(toml::Value::String(p)) => Some(p.trim_start_matches("./").to_owned()),
        Some(toml::Value::Boolean(false)) => None,
        _ => ["README.md", "README.txt", "README"]
            .into_iter()
            .find(|n| readmes.contains_key(*n))
            .map(str::to_owned),
    };
    let readme = readme_name
        .and_then(|n| readmes.remove(&n))
        .and_then(|bytes| String::from_utf8(bytes).ok());

    Ok(ReadArtifact {
        info: ArtifactInfo {
            kind: TargetKind::Cargo,
            format: ArtifactFormat::Crate,
            file_name: file.to_owned(),
            normalized_name: name.clone(),
            normalized_version: version.clone(),
            name,
            version,
            declares,
        },
        metadata: Metadata::Cargo {
            manifest: table,
            readme,
        },
    })
}

/// Dependencies by kind (`target.<cfg>.` in front for platform-specific ones), name to
/// the requirement as written (a string, or the inline table).
fn dependencies(table: &toml::Table) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut add = |prefix: &str, section: &toml::Table| {
        for (key, kind) in DEPENDENCY_TABLES {
            if let Some(deps) = section.get(key).and_then(|d| d.as_table()) {
                let entry = out.entry(format!("{prefix}{kind}")).or_default();
                for (name, spec) in deps {
                    let text = spec
                        .as_str()
                        .map_or_else(|| spec.to_string(), str::to_owned);
                    entry.insert(name.clone(), text);
                }
            }
        }
    };
    add("", table);
    if let Some(targets) = table.get("target").and_then(|t| t.as_table()) {
        for (cfg, section) in targets {
            if let Some(section) = section.as_table() {
                add(&format!("target.{cfg}."), section);
            }
        }
    }
    out.retain(|_, deps| !deps.is_empty());
    out
}

/// What crates.io accepts as a name: ASCII letter first, then letters, digits, `-`, `_`,
/// at most 64 characters.
fn is_valid_crate_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
