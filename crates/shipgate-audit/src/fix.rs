//! `--fix`: surgical edits of the source text at the spans the findings
//! carry (never a re-serialisation, so comments and formatting survive),
//! verified by re-parsing and re-auditing before anything is written.

use std::path::Path;

use crate::discover::InputFile;
use crate::engine::{Report, audit_source};
use crate::error::AuditError;
use crate::finding::{Edit, FixSafety};

/// What `--fix` did (or refused to do) to one file.
#[derive(Debug, Clone)]
pub struct FileFix {
    pub display: String,
    /// One line per applied fix.
    pub applied: Vec<String>,
    /// Unified diff of the change ("" when nothing changed).
    pub diff: String,
    /// Why the file was left untouched, when the fixed text failed verification.
    pub refused: Option<String>,
}

/// Applies non-overlapping edits (sorted by position) to a text. Identical
/// duplicates are applied once; an edit overlapping an earlier one is skipped.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut edits: Vec<&Edit> = edits.iter().collect();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    edits.dedup_by(|a, b| a == b);
    let mut out = String::with_capacity(text.len() + 64);
    let mut cursor = 0;
    for e in edits {
        if e.range.start < cursor || e.range.end > text.len() {
            continue;
        }
        let (Some(before), true) = (
            text.get(cursor..e.range.start),
            text.is_char_boundary(e.range.end),
        ) else {
            continue;
        };
        out.push_str(before);
        out.push_str(&e.text);
        cursor = e.range.end;
    }
    out.push_str(text.get(cursor..).unwrap_or(""));
    out
}

/// Plans, verifies and writes the fixes of `mode` for every file in the report.
pub fn apply_fixes(
    files: &[InputFile],
    report: &Report,
    mode: FixSafety,
) -> Result<Vec<FileFix>, AuditError> {
    let mut out = Vec::new();
    for file in files {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.file == file.display)
            .filter(|f| f.fix.as_ref().is_some_and(|fix| fix.safety <= mode))
            .collect();
        if findings.is_empty() {
            continue;
        }
        let Some(source) = report.sources.get(&file.display) else {
            continue;
        };
        let edits: Vec<Edit> = findings
            .iter()
            .flat_map(|f| f.fix.iter().flat_map(|x| x.edits.clone()))
            .collect();
        let fixed = apply_edits(&source.text, &edits);
        if fixed == source.text {
            continue;
        }
        let mut result = FileFix {
            display: file.display.clone(),
            applied: Vec::new(),
            diff: String::new(),
            refused: None,
        };
        // Verify: the result parses, and each fixed finding is gone.
        let (_, after) = audit_source(&file.display, file.kind, fixed.as_bytes());
        let broken = after.iter().find(|f| f.rule.id == "invalid-workflow");
        let remaining = findings.iter().find(|f| {
            after.iter().any(|g| {
                g.rule.id == f.rule.id
                    && g.location.yaml_path == f.location.yaml_path
                    && g.message == f.message
            })
        });
        let is_link =
            std::fs::symlink_metadata(&file.path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            result.refused = Some(
                "the file is a symbolic link; `--fix` does not write through links (fix the file it points to); left unchanged"
                    .to_owned(),
            );
        } else if let Some(b) = broken {
            result.refused = Some(format!(
                "the fixed file would not be a valid workflow ({}); left unchanged",
                b.message
            ));
        } else if let Some(r) = remaining {
            result.refused = Some(format!(
                "the fix did not remove `{}` ({}); left unchanged",
                r.rule.id, r.message
            ));
        } else {
            write_atomically(&file.path, &fixed)?;
            let mut seen = Vec::new();
            for f in &findings {
                if let Some(fix) = &f.fix {
                    let line = format!(
                        "{}:{}: {} ({})",
                        file.display, f.location.start.line, fix.description, f.rule.id
                    );
                    if !seen.contains(&fix.description) {
                        seen.push(fix.description.clone());
                        result.applied.push(line);
                    }
                }
            }
            result.diff = similar::TextDiff::from_lines(source.text.as_str(), fixed.as_str())
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("a/{}", file.display.trim_start_matches('/')),
                    &format!("b/{}", file.display.trim_start_matches('/')),
                )
                .to_string();
        }
        out.push(result);
    }
    Ok(out)
}

/// Writes through a fresh temporary file in the same directory (created with
/// `O_EXCL` under an unpredictable name, so a symlink planted in the
/// repository cannot redirect the write), fsyncs it, renames it over the
/// original and fsyncs the directory, so a crash leaves either the old or
/// the new workflow, never half of one. A workflow that is itself a symlink
/// is refused: renaming over it would replace the link, and following it
/// would write outside the repository.
fn write_atomically(path: &Path, text: &str) -> Result<(), AuditError> {
    use std::io::Write as _;
    let err = |source| AuditError::Write {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(err)?;
    if meta.file_type().is_symlink() {
        return Err(AuditError::SymlinkTarget {
            path: path.to_owned(),
        });
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".shipgate-fix-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    // Keep the workflow's mode (the temporary file is created 0600).
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    // The rename is durable only once the directory entry is on disk.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ByteRange;

    fn edit(start: usize, end: usize, text: &str) -> Edit {
        Edit {
            range: ByteRange { start, end },
            text: text.to_owned(),
        }
    }

    #[test]
    fn applies_sorted_edits_and_skips_overlaps() {
        let text = "abcdef";
        let out = apply_edits(
            text,
            &[
                edit(4, 4, "X"),
                edit(0, 1, "A"),
                edit(0, 1, "A"),
                edit(0, 2, "Z"),
            ],
        );
        assert_eq!(out, "AbcdXef");
    }
}
