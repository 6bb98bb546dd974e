//! Entry paths in archives: relative, inside the package, no way out.

use super::ArtifactError;

/// Checks an entry path and returns it with `.` components and trailing `/` removed.
///
/// Refuses absolute paths (`/x`, `C:\x`), `..` components, backslashes (Windows
/// extractors treat them as separators) and NUL. Empty paths are refused too.
pub(crate) fn clean(file: &str, raw: &[u8]) -> Result<String, ArtifactError> {
    let unsafe_path = |why| ArtifactError::UnsafePath {
        file: file.to_owned(),
        entry: String::from_utf8_lossy(raw).into_owned(),
        why,
    };
    let text = std::str::from_utf8(raw).map_err(|_| unsafe_path("is not UTF-8"))?;
    if text.starts_with('/') {
        return Err(unsafe_path("is an absolute path"));
    }
    if text.contains('\\') || text.contains('\0') {
        return Err(unsafe_path("contains a backslash or NUL"));
    }
    if text.len() >= 2 && text.as_bytes()[1] == b':' {
        return Err(unsafe_path("is an absolute path"));
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path("climbs out of the archive with `..`")),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path("is empty"));
    }
    Ok(parts.join("/"))
}

/// Splits `top/rest` into its first component and the rest (empty for `top` itself).
pub(crate) fn split_top(path: &str) -> (&str, &str) {
    match path.split_once('/') {
        Some((top, rest)) => (top, rest),
        None => (path, ""),
    }
}
