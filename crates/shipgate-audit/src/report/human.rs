//! `--format human`: rustc/zizmor-style annotated snippets.
//!
//! ```text
//! error[unpinned-action]: `actions/checkout` is pinned to `v4`, which can move, not to a full commit SHA
//!   --> .github/workflows/ci.yml:9:15
//!    |
//!  9 |       - uses: actions/checkout@v4
//!    |               ^^^^^^^^^^^^^^^^^^^ not pinned to a commit SHA
//!    |
//!    = severity: medium, confidence: high
//! ```
//!
//! Colour only when asked (the binary asks when stdout is a terminal and
//! `NO_COLOR` is unset). Tabs are shown as four spaces, with underlines
//! shifted to match.

use super::visible::visible;
use crate::engine::Report;
use crate::finding::{Finding, Location, Severity};
use crate::source::SourceFile;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn level(&self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;36",
        };
        self.wrap(code, text)
    }
    fn gutter(&self, text: &str) -> String {
        self.wrap("1;34", text)
    }
    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
}

const TAB: &str = "    ";

/// Display width of the first `chars` characters of a line (tabs = 4).
fn width(line: &str, chars: usize) -> usize {
    line.chars()
        .take(chars)
        .map(|c| if c == '\t' { TAB.len() } else { 1 })
        .sum()
}

struct Mark<'a> {
    loc: &'a Location,
    primary: bool,
}

fn snippet(
    out: &mut String,
    src: Option<&SourceFile>,
    marks: &mut [Mark<'_>],
    severity: Severity,
    p: &Paint,
) {
    let Some(src) = src else { return };
    marks.sort_by_key(|m| (m.loc.start.line, m.loc.start.column));
    let last_line = marks.iter().map(|m| m.loc.start.line).max().unwrap_or(1);
    let pad = last_line.to_string().len();
    let bar = p.gutter(&format!("{:pad$} |", ""));
    out.push_str(&format!("{bar}\n"));
    let mut previous: Option<usize> = None;
    for mark in marks.iter() {
        let line_no = mark.loc.start.line;
        let line = src.line(line_no);
        if previous.is_some_and(|prev| line_no > prev + 1) {
            out.push_str(&p.gutter(&format!("{:pad$}...\n", "")));
        }
        if previous != Some(line_no) {
            out.push_str(&format!(
                "{} {}\n",
                p.gutter(&format!("{line_no:>pad$} |")),
                visible(&line.replace('\t', TAB))
            ));
        }
        previous = Some(line_no);
        let start = mark.loc.start.column.saturating_sub(1);
        let line_chars = line.chars().count();
        let end = if mark.loc.end.line == line_no {
            mark.loc.end.column.saturating_sub(1)
        } else {
            line_chars
        }
        .clamp(start, line_chars.max(start));
        let lead = width(line, start);
        let len = (width(line, end) - lead).max(1);
        let glyph = if mark.primary { "^" } else { "-" };
        let underline = glyph.repeat(len);
        let underline = if mark.primary {
            p.level(severity, &underline)
        } else {
            p.gutter(&underline)
        };
        let label = visible(&mark.loc.label);
        let label = if mark.primary {
            p.level(severity, &label)
        } else {
            p.gutter(&label)
        };
        out.push_str(&format!("{bar} {:lead$}{underline} {label}\n", ""));
    }
    out.push_str(&format!("{bar}\n"));
}

fn finding(out: &mut String, f: &Finding, src: Option<&SourceFile>, p: &Paint) {
    let level = super::level(f.severity);
    out.push_str(&format!(
        "{}{} {}\n",
        p.level(f.severity, &format!("{level}[{}]", f.rule.id)),
        p.bold(":"),
        p.bold(&visible(&f.message))
    ));
    let pad = f
        .related
        .iter()
        .chain(std::iter::once(&f.location))
        .map(|l| l.start.line)
        .max()
        .unwrap_or(1)
        .to_string()
        .len();
    out.push_str(&format!(
        "{}{} {}:{}:{}\n",
        " ".repeat(pad),
        p.gutter("-->"),
        visible(&f.file),
        f.location.start.line,
        f.location.start.column
    ));
    let mut marks: Vec<Mark<'_>> = std::iter::once(Mark {
        loc: &f.location,
        primary: true,
    })
    .chain(f.related.iter().map(|loc| Mark {
        loc,
        primary: false,
    }))
    .collect();
    if src.is_some() {
        snippet(out, src, &mut marks, f.severity, p);
    }
    let eq = p.gutter("=");
    let indent = " ".repeat(pad + 1);
    out.push_str(&format!(
        "{indent}{eq} severity: {}, confidence: {}\n",
        f.severity, f.confidence
    ));
    out.push_str(&format!("{indent}{eq} why: {}\n", visible(f.explanation())));
    out.push_str(&format!("{indent}{eq} fix: {}\n", f.rule.fix));
    if let Some(fix) = &f.fix {
        let flag = match fix.safety {
            crate::finding::FixSafety::Safe => "--fix",
            crate::finding::FixSafety::All => "--fix=all",
        };
        out.push_str(&format!(
            "{indent}{eq} auto-fix ({flag}): {}\n",
            visible(&fix.description)
        ));
    }
    out.push_str(&format!("{indent}{eq} docs: {}\n\n", f.rule.help_uri()));
}

/// Renders every finding and a summary line.
pub fn render(report: &Report, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    for f in &report.findings {
        finding(&mut out, f, report.sources.get(&f.file), &p);
    }
    let files = report.files.len();
    let files_word = if files == 1 { "file" } else { "files" };
    let mut summary = if report.findings.is_empty() {
        format!("no findings in {files} {files_word}")
    } else {
        let n = report.findings.len();
        format!(
            "{n} finding{} ({} high, {} medium, {} low) in {files} {files_word}",
            if n == 1 { "" } else { "s" },
            report.count(Severity::High),
            report.count(Severity::Medium),
            report.count(Severity::Low),
        )
    };
    if report.suppressed > 0 {
        summary.push_str(&format!(
            "; {} suppressed (see them with --no-ignores)",
            report.suppressed
        ));
    }
    if report.below_threshold > 0 {
        summary.push_str(&format!(
            "; {} below --min-severity",
            report.below_threshold
        ));
    }
    let fixable = report.findings.iter().filter(|f| f.fix.is_some()).count();
    if fixable > 0 {
        summary.push_str(&format!("; {fixable} fixable with --fix or --fix=all"));
    }
    out.push_str(&p.bold(&summary));
    out.push('\n');
    out
}
