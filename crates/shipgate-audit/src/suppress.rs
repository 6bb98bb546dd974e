//! Inline suppressions: a comment `# shipgate: ignore[rule-id]` (or a
//! comma-separated list of ids) at the end of the finding's line, or on a
//! comment-only line just above it. (A trailing comment on the line above
//! does not count: it belongs to that line's own node.)

use crate::source::SourceFile;

const MARKER: &str = "shipgate: ignore[";

/// The rule ids an inline comment on this line ignores.
fn ignored_on_line(line: &str) -> Vec<&str> {
    let Some(hash) = line.find('#') else {
        return Vec::new();
    };
    let comment = &line[hash..];
    let Some(start) = comment
        .find(MARKER)
        .or_else(|| comment.find("shipgate:ignore["))
    else {
        return Vec::new();
    };
    let after = &comment[start..];
    let Some(open) = after.find('[') else {
        return Vec::new();
    };
    let Some(close) = after[open..].find(']') else {
        return Vec::new();
    };
    after[open + 1..open + close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `rule` is ignored inline for a finding on `line` (1-based).
pub fn inline_ignored(src: &SourceFile, line: usize, rule: &str) -> bool {
    let here = ignored_on_line(src.line(line));
    let above_line = if line > 1 { src.line(line - 1) } else { "" };
    let above = if above_line.trim_start().starts_with('#') {
        ignored_on_line(above_line)
    } else {
        Vec::new()
    };
    here.into_iter().chain(above).any(|id| id == rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inline_comments() {
        let src = SourceFile::new(
            "t.yml",
            "# shipgate: ignore[unpinned-action, template-injection]\n- uses: a/b@v1\nx: 1 # shipgate: ignore[missing-root-permissions]\ny: \"shipgate: ignore[z]\"\n",
        );
        assert!(inline_ignored(&src, 2, "unpinned-action"));
        assert!(inline_ignored(&src, 2, "template-injection"));
        assert!(!inline_ignored(&src, 2, "other"));
        assert!(inline_ignored(&src, 3, "missing-root-permissions"));
        assert!(!inline_ignored(&src, 4, "z"), "not in a comment");
        assert!(
            !inline_ignored(&src, 4, "missing-root-permissions"),
            "trailing comment of the line above"
        );
    }
}
