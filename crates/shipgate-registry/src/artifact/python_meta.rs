//! Python core metadata (`METADATA` in wheels, `PKG-INFO` in sdists), PEP 503 names,
//! PEP 440 versions and `entry_points.txt`.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::{ArtifactError, Declarations};

/// PEP 503 normalised name: lowercase, every run of `-`, `_` and `.` becomes one `-`.
pub fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// Whether `name` is a valid distribution name (core metadata: ASCII letters and digits,
/// with `.`, `_`, `-` inside).
pub(crate) fn is_valid_python_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && bytes.first().is_some_and(edge_ok)
        && bytes.last().is_some_and(edge_ok)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// PEP 440 normalised version (`1.0.0-Alpha1` becomes `1.0.0a1`), or why it is not one.
pub fn normalize_python_version(version: &str) -> Result<String, String> {
    pep440_rs::Version::from_str(version.trim())
        .map(|v| v.to_string())
        .map_err(|e| e.to_string())
}

/// The fields of a core metadata file, in order, and its description.
#[derive(Debug, Clone)]
pub(crate) struct CoreMetadata {
    /// `(field name as written, value)`, repeated fields repeated.
    pub(crate) fields: Vec<(String, String)>,
    /// The description: the message body, or the `Description` field of older versions.
    pub(crate) description: Option<String>,
}

impl CoreMetadata {
    /// Parses an RFC 822-style core metadata file (headers, blank line, description).
    pub(crate) fn parse(file: &str, entry: &str, text: &str) -> Result<Self, ArtifactError> {
        let (headers, body_at) =
            mailparse::parse_headers(text.as_bytes()).map_err(|e| ArtifactError::InvalidField {
                file: file.to_owned(),
                entry: entry.to_owned(),
                field: "(headers)".to_owned(),
                detail: format!("cannot be parsed: {e}"),
            })?;
        let fields: Vec<(String, String)> = headers
            .iter()
            .map(|h| (h.get_key(), h.get_value()))
            .collect();
        let body = text.get(body_at..).unwrap_or("").trim_end();
        let description = if body.trim().is_empty() {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Description"))
                .map(|(_, v)| v.clone())
        } else {
            Some(body.to_owned())
        };
        Ok(CoreMetadata {
            fields,
            description,
        })
    }

    /// The first value of a field (case-insensitive).
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated field.
    pub(crate) fn all<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.as_str())
    }
}

/// Name, version and their normalised forms, checked.
pub(crate) struct NameVersion {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) normalized_name: String,
    pub(crate) normalized_version: String,
}

/// Reads and validates `Name` and `Version`.
pub(crate) fn name_version(
    file: &str,
    entry: &str,
    meta: &CoreMetadata,
) -> Result<NameVersion, ArtifactError> {
    let invalid = |field: &str, detail: String| ArtifactError::InvalidField {
        file: file.to_owned(),
        entry: entry.to_owned(),
        field: field.to_owned(),
        detail,
    };
    let name = meta
        .get("Name")
        .map(str::trim)
        .ok_or_else(|| invalid("Name", "is missing".to_owned()))?;
    if !is_valid_python_name(name) {
        return Err(invalid(
            "Name",
            format!("{name:?} is not a valid distribution name"),
        ));
    }
    let version = meta
        .get("Version")
        .map(str::trim)
        .ok_or_else(|| invalid("Version", "is missing".to_owned()))?;
    let normalized_version = normalize_python_version(version).map_err(|e| {
        invalid(
            "Version",
            format!("{version:?} is not a PEP 440 version: {e}"),
        )
    })?;
    Ok(NameVersion {
        normalized_name: normalize_python_name(name),
        name: name.to_owned(),
        version: version.to_owned(),
        normalized_version,
    })
}

/// `Requires-Dist` lines grouped by the distribution they name (PEP 503 normalised).
pub(crate) fn requires_dist<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        let line = line.trim();
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .unwrap_or(line.len());
        let name = normalize_python_name(&line[..end]);
        grouped.entry(name).or_default().push(line.to_owned());
    }
    grouped
        .into_iter()
        .map(|(name, lines)| (name, lines.join(", ")))
        .collect()
}

/// Adds the entry points of an `entry_points.txt` (INI: `[group]`, `name = object`).
pub(crate) fn add_entry_points(declares: &mut Declarations, text: &str) {
    let mut group = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = inner.trim().to_owned();
            continue;
        }
        if let Some((name, object)) = line.split_once('=') {
            declares
                .entry_points
                .insert(format!("{group}:{}", name.trim()), object.trim().to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_valid_python_name, normalize_python_name, normalize_python_version};

    #[test]
    fn names_normalise_as_pep_503_says() {
        assert_eq!(normalize_python_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_python_name("FRIENDLY_BARD"), "friendly-bard");
        assert_eq!(normalize_python_name("friendly.__-bard"), "friendly-bard");
        assert!(is_valid_python_name("a.b_c-d9"));
        assert!(!is_valid_python_name("-leading"));
        assert!(!is_valid_python_name("tr\u{e4}iling"));
        assert!(!is_valid_python_name(""));
    }

    #[test]
    fn versions_normalise_as_pep_440_says() {
        assert_eq!(
            normalize_python_version("1.0.0-Alpha1").as_deref(),
            Ok("1.0.0a1")
        );
        assert_eq!(
            normalize_python_version("v1.0-rc.2").as_deref(),
            Ok("1.0rc2")
        );
        assert_eq!(
            normalize_python_version("1.0.post1").as_deref(),
            Ok("1.0.post1")
        );
        assert!(normalize_python_version("one").is_err());
    }
}
