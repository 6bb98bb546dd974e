//! npm package tarballs: everything under `package/`, `package/package.json` states the
//! name and version and declares scripts, dependencies and `bin` entries.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{
    ArtifactError, ArtifactFormat, ArtifactInfo, Declarations, Limits, Metadata, ReadArtifact,
    paths, tar_walk, utf8,
};
use crate::TargetKind;

const MANIFEST: &str = "package/package.json";

/// The dependency fields npm installs from (or records), in `package.json` spelling.
const DEPENDENCY_KINDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

pub(super) fn read(
    file: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ReadArtifact, ArtifactError> {
    let mut manifest: Option<Vec<u8>> = None;
    let mut has_binding_gyp = false;
    tar_walk::walk(file, path, limits, |entry| {
        let (top, rest) = paths::split_top(&entry.path);
        if top != "package" {
            return Err(ArtifactError::UnsafePath {
                file: file.to_owned(),
                entry: entry.path.clone(),
                why: "lies outside package/ (npm pack puts everything there)",
            });
        }
        if entry.is_dir {
            return Ok(());
        }
        match rest {
            "package.json" => manifest = Some(entry.read_metadata()?),
            "binding.gyp" => has_binding_gyp = true,
            _ => {}
        }
        Ok(())
    })?;
    let bytes = manifest.ok_or_else(|| ArtifactError::MissingMetadata {
        file: file.to_owned(),
        entry: MANIFEST.to_owned(),
    })?;
    let text = utf8(file, MANIFEST, bytes)?;
    let invalid = |field: &str, detail: String| ArtifactError::InvalidField {
        file: file.to_owned(),
        entry: MANIFEST.to_owned(),
        field: field.to_owned(),
        detail,
    };
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| invalid("(document)", format!("is not valid JSON: {e}")))?;
    let Value::Object(object) = json else {
        return Err(invalid("(document)", "is not a JSON object".to_owned()));
    };
    let name = required_string(&object, "name").map_err(|d| invalid("name", d))?;
    let version = required_string(&object, "version").map_err(|d| invalid("version", d))?;
    let declares = declarations(&object, &name, has_binding_gyp);
    Ok(ReadArtifact {
        info: ArtifactInfo {
            kind: TargetKind::Npm,
            format: ArtifactFormat::NpmTarball,
            file_name: file.to_owned(),
            normalized_name: name.clone(),
            normalized_version: version.clone(),
            name,
            version,
            declares,
        },
        metadata: Metadata::Npm(object),
    })
}

fn required_string(object: &Map<String, Value>, field: &str) -> Result<String, String> {
    match object.get(field) {
        None => Err("is missing".to_owned()),
        Some(Value::String(s)) if s.trim().is_empty() => Err("is empty".to_owned()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err("is not a string".to_owned()),
    }
}

/// Any JSON value as one line of text (strings as themselves).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn declarations(object: &Map<String, Value>, name: &str, has_binding_gyp: bool) -> Declarations {
    let mut declares = Declarations::default();
    if let Some(Value::Object(scripts)) = object.get("scripts") {
        for (key, value) in scripts {
            declares.scripts.insert(key.clone(), as_text(value));
        }
    }
    // npm runs `node-gyp rebuild` as the install script of a package with a binding.gyp
    // and neither install nor preinstall script, unless `gypfile` is false.
    let gyp_off = object.get("gypfile") == Some(&Value::Bool(false));
    if has_binding_gyp
        && !gyp_off
        && !declares.scripts.contains_key("install")
        && !declares.scripts.contains_key("preinstall")
    {
        declares.scripts.insert(
            "install".to_owned(),
            "node-gyp rebuild (implied by binding.gyp)".to_owned(),
        );
    }
    for kind in DEPENDENCY_KINDS {
        if let Some(Value::Object(deps)) = object.get(kind) {
            let entry: BTreeMap<String, String> =
                deps.iter().map(|(k, v)| (k.clone(), as_text(v))).collect();
            if !entry.is_empty() {
                declares.dependencies.insert(kind.to_owned(), entry);
            }
        }
    }
    for kind in ["bundleDependencies", "bundledDependencies"] {
        if let Some(Value::Array(names)) = object.get(kind) {
            let entry: BTreeMap<String, String> = names
                .iter()
                .map(|n| (as_text(n), "bundled".to_owned()))
                .collect();
            if !entry.is_empty() {
                declares
                    .dependencies
                    .entry("bundleDependencies".to_owned())
                    .or_default()
                    .extend(entry);
            }
        }
    }
    match object.get("bin") {
        // A single string names one command, called like the package without its scope.
        Some(Value::String(target)) => {
            let command = name.rsplit('/').next().unwrap_or(name);
            declares.bins.insert(command.to_owned(), target.clone());
        }
        Some(Value::Object(bins)) => {
            for (key, value) in bins {
                declares.bins.insert(key.clone(), as_text(value));
            }
        }
        _ => {}
    }
    declares
}
