//! `--format github`: workflow commands that GitHub turns into annotations,
//! `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=T::message`.
//! Escaping as GitHub's runner does: `%`, `\r`, `\n` in the message;
//! additionally `:` and `,` in property values.

use crate::engine::Report;
use crate::finding::Severity;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let command = match f.severity {
            Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "notice",
        };
        let title = format!("shipgate audit: {} ({} severity)", f.rule.id, f.severity);
        let message = format!(
            "{}\n\n{}\n\nFix: {}\nDocs: {}",
            f.message,
            f.explanation(),
            f.rule.fix,
            f.rule.help_uri()
        );
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(&f.file),
            f.location.start.line,
            f.location.start.column,
            f.location.end.line,
            f.location.end.column,
            escape_property(&title),
            escape_data(&message),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_runner() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
