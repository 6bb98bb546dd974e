//! GitHub Actions `${{ ... }}` expressions: finding them in strings and
//! listing the context paths they read (`github.event.issue.title`,
//! `secrets.NPM_TOKEN`, ...). This is a scanner, not an evaluator: it is
//! enough to know *what* an expression reads.

/// One `${{ ... }}` in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression<'a> {
    /// The whole `${{ ... }}` text, as written.
    pub raw: &'a str,
    /// What is between the braces.
    pub inner: &'a str,
}

/// Every expression in `text`, in order. An unterminated `${{` ends the scan.
pub fn expressions(text: &str) -> Vec<Expression<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(open) = rest.find("${{") {
        let after = open + 3;
        let Some(close) = find_close(&rest[after..]) else {
            break;
        };
        let end = after + close + 2;
        out.push(Expression {
            raw: &text[base + open..base + end],
            inner: &rest[after..after + close],
        });
        base += end;
        rest = &rest[end..];
    }
    out
}

/// An `if:` condition's expression text: without the `${{ }}` around it
/// when it is written with one (GitHub accepts both forms), trimmed.
pub fn condition_text(condition: &str) -> &str {
    let text = condition.trim();
    text.strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        .unwrap_or(text)
        .trim()
}

/// The string literals an expression can evaluate to (`'release --clean'`
/// in `github.event_name == 'push' && 'release --clean' || 'build'`): its
/// literals, without those compared with `==` or `!=` (`'push'`). `''`
/// inside a literal is a quote.
pub fn result_literals(inner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = inner;
    let mut before = String::new();
    while let Some(open) = rest.find('\'') {
        before.push_str(&rest[..open]);
        let mut literal = String::new();
        let mut end = rest.len();
        let mut chars = rest[open + 1..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                end = open + 1 + i + 1;
                break;
            }
            literal.push(c);
        }
        rest = &rest[end..];
        let compared = |t: &str| t.ends_with("==") || t.ends_with("!=");
        let after = rest.trim_start();
        if !compared(before.trim_end()) && !after.starts_with("==") && !after.starts_with("!=") {
            out.push(literal);
        }
        before.clear();
    }
    out
}

/// Position of the closing `}}`, skipping string literals ('...').
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The context paths an expression reads, lower-cased, with index access
/// normalised: `github.event['issue'].title` → `github.event.issue.title`,
/// `commits[0].message` → `commits.*.message`.
pub fn context_paths(inner: &str) -> Vec<String> {
    let chars: Vec<char> = inner.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Skip a string literal ('' is an escaped quote).
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut path = String::new();
            let mut segment = String::new();
            loop {
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-')
                {
                    segment.push(chars[i].to_ascii_lowercase());
                    i += 1;
                }
                push_segment(&mut path, &segment);
                segment.clear();
                if i < chars.len() && chars[i] == '.' {
                    i += 1;
                    if i < chars.len() && chars[i] == '*' {
                        push_segment(&mut path, "*");
                        i += 1;
                        if i < chars.len() && chars[i] == '.' {
                            i += 1;
                            continue;
                        }
                        break;
                    }
                    continue;
                }
                if i < chars.len() && chars[i] == '[' {
                    // Index: ['name'], [0], [*] or an expression.
                    let close = chars[i..].iter().position(|&c| c == ']').map(|p| i + p);
                    let Some(close) = close else { break };
                    let inside: String = chars[i + 1..close].iter().collect();
                    let inside = inside.trim();
                    let seg = if let Some(name) =
                        inside.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                    {
                        name.to_ascii_lowercase()
                    } else {
                        "*".to_owned()
                    };
                    push_segment(&mut path, &seg);
                    i = close + 1;
                    if i < chars.len() && chars[i] == '.' {
                        i += 1;
                        continue;
                    }
                    if i < chars.len() && chars[i] == '[' {
                        continue;
                    }
                }
                break;
            }
            // A function call like `toJSON(` is not a context.
            let is_call = chars.get(i) == Some(&'(');
            if !is_call && !is_literal(&path) {
                paths.push(path);
            }
            continue;
        }
        i += 1;
    }
    paths
}

fn push_segment(path: &mut String, seg: &str) {
    if seg.is_empty() {
        return;
    }
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(seg);
}

fn is_literal(path: &str) -> bool {
    matches!(path, "true" | "false" | "null")
}

/// Whether a dotted context path matches a pattern where `*` matches one segment.
pub fn path_matches(path: &str, pattern: &str) -> bool {
    let mut p = path.split('.');
    let mut q = pattern.split('.');
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if b == "*" || a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// Whether `path` is a proper prefix of `pattern` (the expression expands a
/// whole object that contains the dangerous field, like `toJSON(github.event)`).
pub fn path_contains(path: &str, pattern: &str) -> bool {
    let n = path.split('.').count();
    let head: Vec<&str> = pattern.split('.').take(n).collect();
    n < pattern.split('.').count() && path_matches(path, &head.join("."))
}

/// The secrets an expression reads (upper-cased names), `*` for `toJSON(secrets)`
/// or a computed index.
pub fn secrets_read(inner: &str) -> Vec<String> {
    context_paths(inner)
        .into_iter()
        .filter_map(|p| {
            if p == "secrets" {
                return Some("*".to_owned());
            }
            p.strip_prefix("secrets.")
                .map(|name| name.split('.').next().unwrap_or(name).to_ascii_uppercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_expressions() {
        let e = expressions("a ${{ github.head_ref }} b ${{ format('}}', x) }} ${{ broken");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].raw, "${{ github.head_ref }}");
        assert_eq!(e[1].inner, " format('}}', x) ");
    }

    #[test]
    fn lists_context_paths() {
        assert_eq!(
            context_paths(" github.event['issue'].title || github.event.commits[0].message "),
            vec!["github.event.issue.title", "github.event.commits.*.message"]
        );
        assert_eq!(
            context_paths("toJSON(github.event) && 'github.head_ref' == true"),
            vec!["github.event"]
        );
        assert_eq!(
            context_paths("github.event.pages.*.page_name"),
            vec!["github.event.pages.*.page_name"]
        );
        assert_eq!(
            context_paths("SECRETS.Npm_Token"),
            vec!["secrets.npm_token"]
        );
    }

    #[test]
    fn matches_patterns() {
        assert!(path_matches(
            "github.event.commits.*.message",
            "github.event.commits.*.message"
        ));
        assert!(path_matches(
            "github.event.pages.3.page_name",
            "github.event.pages.*.page_name"
        ));
        assert!(!path_matches(
            "github.event.issue.number",
            "github.event.issue.title"
        ));
        assert!(path_contains("github.event", "github.event.issue.title"));
        assert!(!path_contains(
            "github.event.issue.title",
            "github.event.issue.title"
        ));
        assert!(path_contains("github", "github.head_ref"));
    }

    #[test]
    fn lists_result_literals() {
        assert_eq!(
            result_literals(" github.event_name == 'push' && 'release --clean' || 'it''s' "),
            vec!["release --clean", "it's"]
        );
        assert_eq!(
            result_literals("'tag' != github.ref_type && 'a' || 'b'"),
            vec!["a", "b"]
        );
        assert!(result_literals("inputs.args").is_empty());
        // An unterminated literal runs to the end.
        assert_eq!(result_literals("'abc"), vec!["abc"]);
    }

    #[test]
    fn lists_secrets() {
        assert_eq!(secrets_read(" secrets.npm_token "), vec!["NPM_TOKEN"]);
        assert_eq!(secrets_read("toJSON(secrets)"), vec!["*"]);
        assert_eq!(secrets_read("secrets['PYPI']"), vec!["PYPI"]);
        assert!(secrets_read("github.token").is_empty());
    }
}
