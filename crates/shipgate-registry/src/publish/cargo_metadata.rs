//! The JSON metadata `cargo publish` derives from `Cargo.toml` for
//! `PUT /api/v1/crates/new`, built from the packaged (normalised) `Cargo.toml`.

use serde_json::{Value, json};

/// Where crates.io's own dependencies live, as cargo names them when publishing elsewhere.
const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";

/// The JSON metadata cargo derives from `Cargo.toml` for `PUT /api/v1/crates/new`.
pub(super) fn publish_metadata(
    manifest: &toml::Table,
    readme: Option<&str>,
    to_crates_io: bool,
) -> Value {
    let empty = toml::Table::new();
    let package = manifest
        .get("package")
        .and_then(|p| p.as_table())
        .unwrap_or(&empty);
    let text = |key: &str| package.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let list = |key: &str| -> Vec<String> {
        package
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let features: serde_json::Map<String, Value> = manifest
        .get("features")
        .and_then(|f| f.as_table())
        .map(|f| {
            f.iter()
                .map(|(k, v)| {
                    let values: Vec<String> = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    (k.clone(), json!(values))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut deps = Vec::new();
    let mut add = |target: Option<&str>, section: &toml::Table| {
        for (table, kind) in [
            ("dependencies", "normal"),
            ("dev-dependencies", "dev"),
            ("dev_dependencies", "dev"),
            ("build-dependencies", "build"),
            ("build_dependencies", "build"),
        ] {
            let Some(table) = section.get(table).and_then(|t| t.as_table()) else {
                continue;
            };
            for (key, spec) in table {
                deps.push(dependency(key, spec, kind, target, to_crates_io));
            }
        }
    };
    add(None, manifest);
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for (cfg, section) in targets {
            if let Some(section) = section.as_table() {
                add(Some(cfg), section);
            }
        }
    }
    json!({
        "name": text("name"),
        "vers": text("version"),
        "deps": deps,
        "features": features,
        "authors": list("authors"),
        "description": text("description"),
        "documentation": text("documentation"),
        "homepage": text("homepage"),
        "readme": readme,
        "readme_file": text("readme"),
        "keywords": list("keywords"),
        "categories": list("categories"),
        "license": text("license"),
        "license_file": text("license-file"),
        "repository": text("repository"),
        "badges": {},
        "links": text("links"),
        "rust_version": text("rust-version"),
    })
}

/// One dependency as cargo sends it: the real crate name, the requirement with cargo's
/// default `^`, and the name used in `Cargo.toml` when it differs.
fn dependency(
    key: &str,
    spec: &toml::Value,
    kind: &str,
    target: Option<&str>,
    to_crates_io: bool,
) -> Value {
    let empty = toml::Table::new();
    let (table, req) = match spec {
        toml::Value::String(req) => (&empty, Some(req.as_str())),
        toml::Value::Table(t) => (t, t.get("version").and_then(|v| v.as_str())),
        _ => (&empty, None),
    };
    let get_str = |k: &str| table.get(k).and_then(|v| v.as_str());
    let get_bool = |k: &str| table.get(k).and_then(|v| v.as_bool());
    let package = get_str("package");
    let features: Vec<String> = table
        .get("features")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let registry = match get_str("registry-index") {
        Some(index) => Some(index.to_owned()),
        None if to_crates_io => None,
        None => Some(CRATES_IO_INDEX.to_owned()),
    };
    json!({
        "name": package.unwrap_or(key),
        "version_req": req.map_or_else(|| "*".to_owned(), caret_default),
        "features": features,
        "optional": get_bool("optional").unwrap_or(false),
        "default_features": get_bool("default-features").or_else(|| get_bool("default_features")).unwrap_or(true),
        "target": target,
        "kind": kind,
        "registry": registry,
        "explicit_name_in_toml": package.map(|_| key),
    })
}

/// `1.2` means `^1.2` to cargo, and cargo sends it spelled out.
fn caret_default(req: &str) -> String {
    req.split(',')
        .map(|part| {
            let part = part.trim();
            if part.starts_with(|c: char| c.is_ascii_digit()) {
                format!("^{part}")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{caret_default, publish_metadata};

    #[test]
    fn requirements_get_cargos_caret() {
        assert_eq!(caret_default("1.2"), "^1.2");
        assert_eq!(caret_default(">=1, <2"), ">=1, <2");
        assert_eq!(caret_default("=0.1.0"), "=0.1.0");
    }

    #[test]
    fn metadata_names_renamed_and_target_dependencies_as_cargo_does() {
        let manifest: toml::Table = toml::from_str(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nauthors = [\"A\"]\n\
             [dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\n\
             json = { version = \"1.0\", package = \"serde_json\", optional = true }\n\
             [target.'cfg(unix)'.build-dependencies]\ncc = \"1.2\"\n\
             [features]\nfull = [\"dep:json\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let meta = publish_metadata(&manifest, Some("readme"), false);
        assert_eq!(meta["name"], "demo");
        assert_eq!(meta["vers"], "0.1.0");
        assert_eq!(meta["readme"], "readme");
        assert_eq!(meta["features"]["full"][0], "dep:json");
        let deps = meta["deps"].as_array().unwrap_or_else(|| panic!("no deps"));
        let json = deps
            .iter()
            .find(|d| d["name"] == "serde_json")
            .unwrap_or_else(|| panic!("{deps:?}"));
        assert_eq!(json["explicit_name_in_toml"], "json");
        assert_eq!(json["version_req"], "^1.0");
        assert_eq!(json["optional"], true);
        assert_eq!(
            json["registry"],
            "https://github.com/rust-lang/crates.io-index"
        );
        let cc = deps
            .iter()
            .find(|d| d["name"] == "cc")
            .unwrap_or_else(|| panic!("{deps:?}"));
        assert_eq!(cc["kind"], "build");
        assert_eq!(cc["target"], "cfg(unix)");
        let to_crates_io = publish_metadata(&manifest, None, true);
        assert!(to_crates_io["deps"][0]["registry"].is_null());
    }
}
