//! Evaluating GitHub Actions expressions whose values are known: the inputs
//! of a local action at one use, the values of a job's matrix.
//!
//! The evaluator is ours and deliberately small (GitHub's expression
//! language has no Rust implementation to reuse): literals, context paths
//! (`inputs.NAME`, `matrix['NAME']`, resolved by the caller), `!`, `==`,
//! `!=`, `&&`, `||` and parentheses, with GitHub's rules (case-insensitive
//! string equality, other types compared as numbers, `&&`/`||` yielding an
//! operand). Anything else (an unresolved context, a function, an ordering
//! comparison) is unknown, and unknown never rules a step out or replaces a
//! value: the reading fails open to "the step may run as written", which
//! keeps findings rather than dropping them. Input is hostile: length and
//! nesting are bounded and malformed text is unknown, never an error.

use std::borrow::Cow;

use crate::expr::expressions;

/// Longest expression text evaluated; longer ones are unknown.
const MAX_EXPRESSION: usize = 2048;
/// Deepest nesting of parentheses and `!` evaluated.
const MAX_DEPTH: usize = 32;

/// Resolves a context path (lower-cased parts: `["inputs", "cache"]`) to
/// its text, or `None` when it is not known.
pub type Lookup<'l> = &'l dyn Fn(&[String]) -> Option<String>;

/// Whether a condition (`if:`, with or without `${{ }}`) is certainly false.
pub fn condition_is_false(condition: &str, lookup: Lookup<'_>) -> bool {
    // `${{ a }} && ${{ b }}` is text with two expressions, not one.
    let text = condition.trim();
    let inner = match crate::expr::condition_text(text) {
        inner if !inner.contains("${{") => inner,
        _ => text,
    };
    matches!(evaluate(inner, lookup), Val::Known(v) if !v.truthy())
}

/// `text` with every `${{ ... }}` replaced by its value; `text` itself
/// when it has none or some expression is unknown (then it is read as
/// written).
pub fn substitute<'t>(text: &'t str, lookup: Lookup<'_>) -> Cow<'t, str> {
    let found = expressions(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    for e in &found {
        let Some(at) = rest.find(e.raw) else {
            return Cow::Borrowed(text);
        };
        let Val::Known(value) = evaluate(e.inner, lookup) else {
            return Cow::Borrowed(text);
        };
        out.push_str(&rest[..at]);
        out.push_str(&value.text());
        rest = &rest[at + e.raw.len()..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn evaluate(inner: &str, lookup: Lookup<'_>) -> Val {
    if inner.len() > MAX_EXPRESSION {
        return Val::Unknown;
    }
    let Some(tokens) = tokenize(inner) else {
        return Val::Unknown;
    };
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        lookup,
    };
    let value = parser.or(0);
    if parser.at != tokens.len() {
        return Val::Unknown;
    }
    value
}

#[derive(Debug, Clone, PartialEq)]
enum Known {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Known {
    fn truthy(&self) -> bool {
        match self {
            Known::Null => false,
            Known::Bool(b) => *b,
            Known::Number(n) => *n != 0.0 && !n.is_nan(),
            Known::Text(s) => !s.is_empty(),
        }
    }

    fn number(&self) -> f64 {
        match self {
            Known::Null => 0.0,
            Known::Bool(b) => f64::from(u8::from(*b)),
            Known::Number(n) => *n,
            Known::Text(s) if s.trim().is_empty() => 0.0,
            Known::Text(s) => s.trim().parse().unwrap_or(f64::NAN),
        }
    }

    /// GitHub's `==`: strings case-insensitively, other pairs as numbers.
    fn equals(&self, other: &Known) -> bool {
        match (self, other) {
            (Known::Text(a), Known::Text(b)) => a.eq_ignore_ascii_case(b),
            (Known::Null, Known::Null) => true,
            (Known::Bool(a), Known::Bool(b)) => a == b,
            _ => self.number() == other.number(),
        }
    }

    fn text(&self) -> String {
        match self {
            Known::Null => String::new(),
            Known::Bool(b) => b.to_string(),
            Known::Number(n) => n.to_string(),
            Known::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Known(Known),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Text(String),
    Number(f64),
    Word(String),
    Op(&'static str),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return None,
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Text(s));
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(op) = ["==", "!=", "&&", "||", "<=", ">="]
            .into_iter()
            .find(|o| *o == two)
        {
            out.push(Token::Op(op));
            i += 2;
            continue;
        }
        if let Some(op) = ["!", "(", ")", "[", "]", "<", ">", ",", "."]
            .into_iter()
            .find(|o| o.starts_with(c))
        {
            out.push(Token::Op(op));
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == '.')
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Token::Number(s.parse().ok()?));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '-')
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
            continue;
        }
        return None;
    }
    Some(out)
}

struct Parser<'p> {
    tokens: &'p [Token],
    at: usize,
    lookup: Lookup<'p>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Token::Op(o)) if *o == op) {
            self.at += 1;
            return true;
        }
        false
    }

    fn or(&mut self, depth: usize) -> Val {
        let mut left = self.and(depth);
        while self.eat("||") {
            let right = self.and(depth);
            left = match left {
                Val::Known(l) if l.truthy() => Val::Known(l),
                Val::Known(_) => right,
                Val::Unknown => Val::Unknown,
            };
        }
        left
    }

    fn and(&mut self, depth: usize) -> Val {
        let mut left = self.compare(depth);
        while self.eat("&&") {
            let right = self.compare(depth);
            left = match left {
                Val::Known(l) if !l.truthy() => Val::Known(l),
                Val::Known(_) => right,
                Val::Unknown => Val::Unknown,
            };
        }
        left
    }

    fn compare(&mut self, depth: usize) -> Val {
        let left = self.unary(depth);
        let equal = if self.eat("==") {
            true
        } else if self.eat("!=") {
            false
        } else if ["<", ">", "<=", ">="].iter().any(|o| self.eat(o)) {
            self.unary(depth);
            return Val::Unknown;
        } else {
            return left;
        };
        let right = self.unary(depth);
        match (left, right) {
            (Val::Known(l), Val::Known(r)) => Val::Known(Known::Bool(l.equals(&r) == equal)),
            _ => Val::Unknown,
        }
    }

    fn unary(&mut self, depth: usize) -> Val {
        if depth > MAX_DEPTH {
            self.at = self.tokens.len() + 1;
            return Val::Unknown;
        }
        if self.eat("!") {
            return match self.unary(depth + 1) {
                Val::Known(v) => Val::Known(Known::Bool(!v.truthy())),
                Val::Unknown => Val::Unknown,
            };
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Val {
        let Some(token) = self.peek().cloned() else {
            return Val::Unknown;
        };
        self.at += 1;
        match token {
            Token::Text(s) => Val::Known(Known::Text(s)),
            Token::Number(n) => Val::Known(Known::Number(n)),
            Token::Op("(") => {
                let v = self.or(depth + 1);
                if !self.eat(")") {
                    self.at = self.tokens.len() + 1;
                    return Val::Unknown;
                }
                v
            }
            Token::Word(w) => self.word(&w, depth),
            Token::Op(_) => {
                self.at = self.tokens.len() + 1;
                Val::Unknown
            }
        }
    }

    /// A literal word, a context path or a function call.
    fn word(&mut self, word: &str, depth: usize) -> Val {
        match word {
            "true" => return Val::Known(Known::Bool(true)),
            "false" => return Val::Known(Known::Bool(false)),
            "null" => return Val::Known(Known::Null),
            _ => {}
        }
        if self.eat("(") {
            // A function: skip its arguments; the value is unknown.
            let mut open = 1usize;
            while open > 0 {
                match self.peek() {
                    None => {
                        self.at = self.tokens.len() + 1;
                        return Val::Unknown;
                    }
                    Some(Token::Op("(")) => open += 1,
                    Some(Token::Op(")")) => open -= 1,
                    _ => {}
                }
                self.at += 1;
            }
            self.path_tail(depth);
            return Val::Unknown;
        }
        let mut path = vec![word.to_ascii_lowercase()];
        path.extend(self.path_tail(depth).iter().map(|p| p.to_ascii_lowercase()));
        match (self.lookup)(&path) {
            Some(v) => Val::Known(Known::Text(v)),
            None => Val::Unknown,
        }
    }

    /// `.name`, `['name']` and `[*]`/`.*` parts after a context name.
    fn path_tail(&mut self, depth: usize) -> Vec<String> {
        let mut parts = Vec::new();
        loop {
            if self.eat(".") {
                match self.peek().cloned() {
                    Some(Token::Word(w)) => {
                        self.at += 1;
                        parts.push(w);
                    }
                    Some(Token::Number(n)) => {
                        self.at += 1;
                        parts.push(n.to_string());
                    }
                    _ => {
                        parts.push("*".to_owned());
                        self.at += 1;
                    }
                }
            } else if self.eat("[") {
                match self.or(depth + 1) {
                    Val::Known(Known::Text(s)) => parts.push(s),
                    _ => parts.push("*".to_owned()),
                }
                if !self.eat("]") {
                    self.at = self.tokens.len() + 1;
                    return parts;
                }
            } else {
                return parts;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(path: &[String]) -> Option<String> {
        match path {
            [c, n] if c == "inputs" && n == "skip-cache" => Some("true".into()),
            [c, n] if c == "inputs" && n == "cache" => Some("true".into()),
            [c, n] if c == "inputs" && n == "other" => Some(String::new()),
            [c, n] if c == "matrix" && n == "java" => Some("temurin@8".into()),
            _ => None,
        }
    }

    fn is_false(text: &str) -> bool {
        condition_is_false(text, &lookup)
    }

    #[test]
    fn conditions_follow_githubs_rules() {
        assert!(is_false("inputs.skip-cache != 'true'"));
        assert!(is_false("${{ inputs.cache == 'false' }}"));
        assert!(!is_false("inputs.cache == 'TRUE'"));
        assert!(is_false("inputs.other"));
        assert!(is_false("!(inputs.skip-cache == 'true')"));
        assert!(is_false("inputs['skip-cache'] == 'false'"));
        assert!(is_false("matrix.java == 'temurin@11'"));
        assert!(is_false(
            "matrix.java == 'temurin@11' && steps.x.outputs.hit == 'false'"
        ));
        // Unknown never rules out.
        assert!(!is_false("github.event_name == 'push'"));
        assert!(!is_false("inputs.missing == 'x'"));
        assert!(!is_false("success() && inputs.cache == 'false'"));
        assert!(!is_false("inputs.cache == 'false' || github.ref == 'x'"));
        // A string against a boolean compares as numbers: 'true' is NaN.
        assert!(is_false("inputs.cache == true"));
    }

    #[test]
    fn values_are_substituted_only_when_known() {
        assert_eq!(
            substitute(
                "${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}",
                &lookup
            ),
            ""
        );
        assert_eq!(
            substitute("v${{ inputs.skip-cache }}-x", &lookup),
            "vtrue-x"
        );
        assert_eq!(
            substitute("${{ inputs.node }}", &lookup),
            "${{ inputs.node }}"
        );
        assert_eq!(substitute("plain", &lookup), "plain");
    }

    #[test]
    fn hostile_expressions_are_unknown_not_errors() {
        for text in [
            "'unterminated",
            "((((",
            "inputs.cache ==",
            "== ==",
            "inputs.cache[",
            "fromJSON('[1]')[0] == 1",
            "@",
            "1.2.3 == x",
            "inputs.cache < 'x'",
            &"(".repeat(10_000),
            &"!".repeat(10_000),
            &"a".repeat(MAX_EXPRESSION + 1),
        ] {
            assert!(!is_false(text), "{text}");
            assert_eq!(evaluate(text, &lookup), Val::Unknown, "{text}");
        }
    }
}
