//! Runs the rules over files: read, parse, build the model, check, resolve
//! symbolic locations, then apply configuration and suppressions.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Config;
use crate::discover::InputFile;
use crate::finding::{Draft, Edit, Finding, Fix, Location, Severity, SymbolicEdit};
use crate::model::{Action, FileKind, Workflow};
use crate::route::Loc;
use crate::rules::{self, Context, REGISTRY, invalid_workflow};
use crate::source::{ByteRange, SourceFile};
use crate::suppress::inline_ignored;
use crate::yaml;

/// Largest file audited. Real workflows are a few KiB; 16 MiB leaves room
/// for generated ones while bounding memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// How to filter findings, and what local data the rules may read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Findings below this severity are not reported.
    pub min_severity: Severity,
    /// Ignore inline comments, `[audit.ignore]` and `disable`: show everything.
    pub no_ignores: bool,
    /// Local git clones of actions, as `DIR/<owner>/<repo>`
    /// (`ref-version-mismatch` reads their tags).
    pub actions_dir: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            min_severity: Severity::Low,
            no_ignores: false,
            actions_dir: None,
        }
    }
}

/// One audited file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub display: String,
    pub kind: FileKind,
    /// Whether the file was read (even if it then failed to parse).
    pub read: bool,
}

/// The result of an audit.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<FileOutcome>,
    /// Reported findings, sorted by file, line, column and rule.
    pub findings: Vec<Finding>,
    /// Findings hidden by inline comments or `[audit.ignore]`.
    pub suppressed: usize,
    /// Findings below `--min-severity`.
    pub below_threshold: usize,
    /// Source text of every file that was read, for snippets.
    pub sources: BTreeMap<String, SourceFile>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether no input at all could be read.
    pub fn nothing_read(&self) -> bool {
        self.files.iter().all(|f| !f.read)
    }
}

/// Audits files (in parallel) and applies configuration and suppressions.
pub fn audit(files: &[InputFile], config: &Config, options: &Options) -> Report {
    let results = audit_all(files, options.actions_dir.as_deref());
    let mut report = Report::default();
    for (file, (source, findings)) in files.iter().zip(results) {
        report.files.push(FileOutcome {
            display: file.display.clone(),
            kind: file.kind,
            read: source.is_some(),
        });
        for mut finding in findings {
            let id = finding.rule.id;
            if !options.no_ignores && config.disable.contains(id) {
                continue;
            }
            if let Some(sev) = config.severity.get(id) {
                finding.severity = *sev;
            }
            let line = finding.location.start.line;
            let inline = source.as_ref().is_some_and(|s| inline_ignored(s, line, id));
            if !options.no_ignores && (inline || config.ignores(id, &finding.file, line)) {
                report.suppressed += 1;
                continue;
            }
            if finding.severity < options.min_severity {
                report.below_threshold += 1;
                continue;
            }
            report.findings.push(finding);
        }
        if let Some(source) = source {
            report.sources.insert(file.display.clone(), source);
        }
    }
    report
}

type FileResult = (Option<SourceFile>, Vec<Finding>);

fn audit_all(files: &[InputFile], actions_dir: Option<&Path>) -> Vec<FileResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(files.len().max(1))
        .min(8);
    if workers <= 1 {
        return files.iter().map(|f| audit_file(f, actions_dir)).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<FileResult>>> = files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let result = audit_file(file, actions_dir);
                    if let Some(slot) = slots.get(i)
                        && let Ok(mut slot) = slot.lock()
                    {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(files)
        .map(|(slot, file)| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| audit_file(file, actions_dir))
        })
        .collect()
}

/// Reads and audits one file. Unreadable files become an `invalid-workflow` finding.
pub fn audit_file(file: &InputFile, actions_dir: Option<&Path>) -> FileResult {
    let repository = match file.kind {
        FileKind::Workflow => crate::local_actions::repository_root(&file.path),
        FileKind::Action => None,
    };
    match read(file) {
        Ok(bytes) => audit_bytes(
            &file.display,
            file.kind,
            &bytes,
            actions_dir,
            repository.as_deref(),
        ),
        Err(message) => (None, vec![file_level(&file.display, message)]),
    }
}

fn read(file: &InputFile) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(&file.path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err("cannot read the file: it is not a regular file".to_owned());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {} bytes, more than the {MAX_FILE_BYTES}-byte limit for a workflow",
            meta.len()
        ));
    }
    let f = std::fs::File::open(&file.path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    // The file may grow between the size check and the read: never read past the limit.
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the file is larger than the {MAX_FILE_BYTES}-byte limit for a workflow"
        ));
    }
    Ok(bytes)
}

/// An `invalid-workflow` finding for a file that has no usable text.
fn file_level(display: &str, message: String) -> Finding {
    let start = crate::source::Position { line: 1, column: 1 };
    Finding {
        rule: &invalid_workflow::META,
        severity: invalid_workflow::META.severity,
        confidence: invalid_workflow::META.confidence,
        file: display.to_owned(),
        location: Location {
            start,
            end: start,
            range: ByteRange { start: 0, end: 0 },
            yaml_path: String::new(),
            label: "this file".to_owned(),
        },
        related: Vec::new(),
        message,
        fix: None,
        why: None,
    }
}

fn invalid_at(src: &SourceFile, range: ByteRange, message: String) -> Finding {
    let mut f = file_level(&src.display, message);
    f.location.start = src.position_of_byte(range.start);
    f.location.end = src.position_of_byte(range.end.max(range.start));
    f.location.range = range;
    f.location.label = "here".to_owned();
    f
}

/// Audits one file's bytes. Returns the decoded source (when it is text)
/// and every finding, before configuration and suppressions.
pub fn audit_source(display: &str, kind: FileKind, bytes: &[u8]) -> FileResult {
    audit_source_with(display, kind, bytes, None)
}

/// [`audit_source`], with local clones of actions for `ref-version-mismatch`.
pub fn audit_source_with(
    display: &str,
    kind: FileKind,
    bytes: &[u8],
    actions_dir: Option<&Path>,
) -> FileResult {
    audit_bytes(display, kind, bytes, actions_dir, None)
}

/// [`audit_source_with`], for a file of the repository at `repository`
/// (its local actions are read from there).
fn audit_bytes(
    display: &str,
    kind: FileKind,
    bytes: &[u8],
    actions_dir: Option<&Path>,
    repository: Option<&Path>,
) -> FileResult {
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return (
            None,
            vec![file_level(
                display,
                "binary file (it contains NUL bytes), not a YAML workflow".to_owned(),
            )],
        );
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            return (
                None,
                vec![file_level(
                    display,
                    format!(
                        "not valid UTF-8: invalid byte at offset {at} (line {line}); GitHub reads workflows as UTF-8"
                    ),
                )],
            );
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let src = SourceFile::new(display, text);
    let findings = audit_text(&src, kind, actions_dir, repository);
    (Some(src), findings)
}

fn audit_text(
    src: &SourceFile,
    kind: FileKind,
    actions_dir: Option<&Path>,
    repository: Option<&Path>,
) -> Vec<Finding> {
    // Entered before the document is loaded and dropped after it (locals
    // drop in reverse order): see `memo`.
    let _memo = crate::memo::FileScope::enter(repository);
    let doc = match yaml::load(src) {
        Ok(doc) => doc,
        Err(e) => {
            let range = ByteRange {
                start: e.offset,
                end: next_char(src, e.offset),
            };
            return vec![invalid_at(
                src,
                range,
                format!("invalid YAML: {}", e.message),
            )];
        }
    };
    let mut findings: Vec<Finding> = doc
        .warnings
        .iter()
        .map(|w| invalid_at(src, w.range, w.message.clone()))
        .collect();
    let cx = Context {
        source: src,
        root: &doc.root,
        actions_dir,
    };
    let checked: Result<Vec<Draft>, _> = match kind {
        FileKind::Workflow => Workflow::parse(&doc.root).map(|wf| {
            REGISTRY
                .iter()
                .flat_map(|rule| rule.check_workflow(&wf, &cx))
                .collect()
        }),
        FileKind::Action => Action::parse(&doc.root).map(|action| {
            REGISTRY
                .iter()
                .flat_map(|rule| rule.check_action(&action, &cx))
                .collect()
        }),
    };
    let drafts = checked.unwrap_or_else(|e| {
        let start = doc.root.range.start;
        findings.push(invalid_at(src, ByteRange { start, end: start }, e.message));
        Vec::new()
    });
    let mut seen = std::collections::HashSet::new();
    for draft in drafts {
        let f = resolve(draft, src, &doc);
        if seen.insert((f.rule.id, f.location.range, f.message.clone())) {
            findings.push(f);
        }
    }
    let order = |id: &str| rules::all().position(|m| m.id == id).unwrap_or(usize::MAX);
    findings.sort_by(|a, b| {
        (a.location.start, order(a.rule.id), &a.message).cmp(&(
            b.location.start,
            order(b.rule.id),
            &b.message,
        ))
    });
    findings
}

fn next_char(src: &SourceFile, offset: usize) -> usize {
    src.text
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(offset, |c| offset + c.len_utf8())
}

fn location(loc: &Loc, label: String, src: &SourceFile, doc: &yaml::Document) -> Option<Location> {
    let range = loc.resolve(&doc.root, src)?;
    Some(Location {
        start: src.position_of_byte(range.start),
        end: src.position_of_byte(range.end),
        range,
        yaml_path: loc.route.to_string(),
        label,
    })
}

/// Turns a draft's symbolic locations and edits into file positions.
fn resolve(draft: Draft, src: &SourceFile, doc: &yaml::Document) -> Finding {
    let primary =
        location(&draft.primary, draft.label.clone(), src, doc).unwrap_or_else(|| Location {
            start: src.position_of_byte(doc.root.range.start),
            end: src.position_of_byte(doc.root.range.start),
            range: ByteRange {
                start: doc.root.range.start,
                end: doc.root.range.start,
            },
            yaml_path: draft.primary.route.to_string(),
            label: draft.label.clone(),
        });
    let related = draft
        .related
        .iter()
        .filter_map(|(loc, label)| location(loc, label.clone(), src, doc))
        .collect();
    let fix = draft.fix.as_ref().and_then(|plan| {
        let edits: Option<Vec<Edit>> = plan
            .edits
            .iter()
            .map(|e| resolve_edit(e, src, doc))
            .collect();
        let edits = edits?;
        // Never edit inside an anchored node: the change would reach every alias.
        let in_anchor = edits.iter().any(|e| {
            doc.anchored.iter().any(|a| {
                // An insertion counts as touching the character after it.
                let end = e.range.end.max(e.range.start + 1);
                e.range.start < a.end && end > a.start
            })
        });
        (!in_anchor).then(|| Fix {
            safety: plan.safety,
            description: plan.description.clone(),
            edits,
        })
    });
    Finding {
        rule: draft.meta,
        severity: draft.severity,
        confidence: draft.confidence,
        file: src.display.clone(),
        location: primary,
        related,
        message: draft.message,
        fix,
        why: draft.why,
    }
}

fn resolve_edit(edit: &SymbolicEdit, src: &SourceFile, doc: &yaml::Document) -> Option<Edit> {
    match edit {
        SymbolicEdit::Replace { at, text } => Some(Edit {
            range: at.resolve(&doc.root, src)?,
            text: text.clone(),
        }),
        SymbolicEdit::Insert { at, offset, text } => {
            let range = at.resolve(&doc.root, src)?;
            let pos = range.start + offset;
            (pos <= range.end && src.text.is_char_boundary(pos)).then(|| Edit {
                range: ByteRange {
                    start: pos,
                    end: pos,
                },
                text: text.clone(),
            })
        }
        SymbolicEdit::InsertLinesAfter {
            at,
            indent_of,
            lines,
        } => {
            let end = at.resolve(&doc.root, src)?.end;
            let key = indent_of.resolve(&doc.root, src)?.start;
            let key_line = src.line_start(src.position_of_byte(key).line)?;
            let before_key = src.text.get(key_line..key)?;
            if !before_key.chars().all(|c| c == ' ' || c == '-') {
                return None;
            }
            let indent = " ".repeat(before_key.chars().count());
            // After the end of the line where `at` ends (and its comment).
            let line_end = src
                .text
                .get(end..)?
                .find('\n')
                .map_or(src.text.len(), |p| end + p + 1);
            let newline = if line_end == src.text.len() && !src.text.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            let text: String = std::iter::once(newline.to_owned())
                .chain(lines.split_inclusive('\n').map(|l| format!("{indent}{l}")))
                .collect();
            Some(Edit {
                range: ByteRange {
                    start: line_end,
                    end: line_end,
                },
                text,
            })
        }
        SymbolicEdit::InsertLinesBefore { at, lines } => {
            let range = at.resolve(&doc.root, src)?;
            let position = src.position_of_byte(range.start);
            let line_start = src.line_start(position.line)?;
            let indent = src.text.get(line_start..range.start)?;
            // Only a block mapping key that starts its line can get lines before it.
            if !indent.chars().all(|c| c == ' ') {
                return None;
            }
            let text: String = lines
                .split_inclusive('\n')
                .map(|l| {
                    if l == "\n" {
                        l.to_owned()
                    } else {
                        format!("{indent}{l}")
                    }
                })
                .collect();
            Some(Edit {
                range: ByteRange {
                    start: line_start,
                    end: line_start,
                },
                text,
            })
        }
    }
}
