//! A local action read as it runs at one use: its `inputs.*` take the
//! caller's `with:` values (or the inputs' `default:`), so a step guarded by
//! `if: inputs.cache == 'true'` is skipped when the caller says `cache:
//! false`, and `cache: ${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}`
//! reads as `''` when the caller skips the cache.
//!
//! The evaluator is ours and deliberately small (GitHub's expression
//! language has no Rust implementation to reuse): literals, `inputs.NAME`
//! and `inputs['NAME']`, `!`, `==`, `!=`, `&&`, `||` and parentheses, with
//! GitHub's rules (case-insensitive string equality, other types compared as
//! numbers, `&&`/`||` yielding an operand). Anything else (another context,
//! a function, a caller value that is itself an expression) is unknown, and
//! unknown never skips a step or replaces a value: the reading fails open
//! to "the step may run as written", which keeps findings, not drops them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::expr::expressions;
use crate::yaml::{Entry, Node, Style, Value};

/// Longest expression text evaluated; longer ones are unknown.
const MAX_EXPRESSION: usize = 2048;
/// Deepest nesting of parentheses and `!` evaluated.
const MAX_DEPTH: usize = 32;

/// The input values of one use of a local action (`None`: not known).
#[derive(Debug, Default)]
pub struct Inputs {
    values: BTreeMap<String, Option<String>>,
}

impl Inputs {
    /// The inputs an action declares (`inputs:` of action.yml, with their
    /// defaults) overridden by the caller's `with:`. Names are matched
    /// case-insensitively, as GitHub does.
    pub fn new(declared: Option<&Node>, with: Option<&Node>) -> Self {
        let mut values = BTreeMap::new();
        for entry in declared.and_then(Node::as_map).unwrap_or_default() {
            let Some(name) = entry.key.as_str() else {
                continue;
            };
            let default = entry.value.get("default").map(literal_text);
            // No default: the input is the empty string.
            values.insert(
                name.to_ascii_lowercase(),
                default.unwrap_or(Some(String::new())),
            );
        }
        for entry in with.and_then(Node::as_map).unwrap_or_default() {
            if let Some(name) = entry.key.as_str() {
                values.insert(name.to_ascii_lowercase(), literal_text(&entry.value));
            }
        }
        Inputs { values }
    }

    /// A short, stable description of the known values, to tell uses of
    /// the same action apart.
    pub fn key(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.values {
            if let Some(v) = value {
                out.push_str(name);
                out.push('=');
                out.push_str(v);
                out.push('\u{1f}');
            }
        }
        out
    }

    /// Whether a step's `if:` is certainly false here.
    pub fn rules_out(&self, condition: &str) -> bool {
        let text = condition.trim();
        let inner = match text.strip_prefix("${{").and_then(|t| t.strip_suffix("}}")) {
            Some(inner) if !inner.contains("${{") => inner,
            _ => text,
        };
        matches!(self.evaluate(inner), Val::Known(v) if !v.truthy())
    }

    /// `text` with every `${{ ... }}` replaced by its value; `text` itself
    /// when it has none or some expression is unknown (then it is read as
    /// written).
    pub fn substitute<'t>(&self, text: &'t str) -> Cow<'t, str> {
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
            let Val::Known(value) = self.evaluate(e.inner) else {
                return Cow::Borrowed(text);
            };
            out.push_str(&rest[..at]);
            out.push_str(&value.text());
            rest = &rest[at + e.raw.len()..];
        }
        out.push_str(rest);
        Cow::Owned(out)
    }

    /// A step's `with:` with known expressions replaced, or `None` when
    /// none is (the step's own `with:` is then read).
    pub fn resolve_with(&self, with: Option<&Node>) -> Option<Node> {
        let with = with?;
        let entries = with.as_map()?;
        let mut changed = false;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let value = match entry.value.as_str().map(|t| self.substitute(t)) {
                Some(Cow::Owned(text)) => {
                    changed = true;
                    Node {
                        range: entry.value.range,
                        value: Value::Scalar(Arc::from(text), Style::SingleQuoted),
                    }
                }
                _ => entry.value.clone(),
            };
            out.push(Entry {
                key: entry.key.clone(),
                value,
            });
        }
        changed.then(|| Node {
            range: with.range,
            value: Value::Map(Arc::new(out), None),
        })
    }

    fn evaluate(&self, inner: &str) -> Val {
        if inner.len() > MAX_EXPRESSION {
            return Val::Unknown;
        }
        let tokens = match tokenize(inner) {
            Some(t) => t,
            None => return Val::Unknown,
        };
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            inputs: self,
        };
        let value = parser.or(0);
        if parser.at != tokens.len() {
            return Val::Unknown;
        }
        value
    }
}

/// A caller's or default's text, when it is a plain value (not an
/// expression, not a mapping).
fn literal_text(node: &Node) -> Option<String> {
    let text = node.as_str()?;
    (!text.contains("${{")).then(|| text.to_owned())
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
    inputs: &'p Inputs,
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
        path.extend(self.path_tail(depth));
        match path.as_slice() {
            [context, name] if context == "inputs" => {
                match self.inputs.values.get(&name.to_ascii_lowercase()) {
                    Some(Some(v)) => Val::Known(Known::Text(v.clone())),
                    _ => Val::Unknown,
                }
            }
            _ => Val::Unknown,
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

    fn inputs(declared: &str, with: &str) -> Inputs {
        let d = crate::yaml::load(&crate::source::SourceFile::new("a.yml", declared)).unwrap();
        let w = crate::yaml::load(&crate::source::SourceFile::new("w.yml", with)).unwrap();
        Inputs::new(Some(&d.root), Some(&w.root))
    }

    #[test]
    fn conditions_on_inputs_are_read_with_the_callers_values() {
        let i = inputs(
            "skip-cache:\n  default: 'false'\ncache:\n  default: 'true'\nother: {}\n",
            "skip-cache: true\n",
        );
        assert!(i.rules_out("inputs.skip-cache != 'true'"));
        assert!(i.rules_out("${{ inputs.cache == 'false' }}"));
        assert!(!i.rules_out("inputs.cache == 'TRUE'"));
        assert!(i.rules_out("inputs.other"));
        assert!(i.rules_out("!(inputs.skip-cache == 'true')"));
        assert!(i.rules_out("inputs['skip-cache'] == 'false'"));
        // Unknown never rules out.
        assert!(!i.rules_out("github.event_name == 'push'"));
        assert!(!i.rules_out("inputs.missing == 'x'"));
        assert!(!i.rules_out("success() && inputs.cache == 'false'"));
        assert!(!i.rules_out("inputs.cache == 'false' || github.ref == 'x'"));
        // `&&` short-circuits on a known false left side.
        assert!(i.rules_out("inputs.cache == 'false' && github.ref == 'x'"));
        // A string against a boolean compares as numbers: 'true' is NaN.
        assert!(i.rules_out("inputs.cache == true"));
    }

    #[test]
    fn values_are_substituted_only_when_known() {
        let i = inputs(
            "skip-cache:\n  default: 'false'\nnode: {default: '22'}\n",
            "skip-cache: true\nnode: ${{ matrix.node }}\n",
        );
        assert_eq!(
            i.substitute("${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}"),
            ""
        );
        assert_eq!(i.substitute("v${{ inputs.skip-cache }}-x"), "vtrue-x");
        assert_eq!(i.substitute("${{ inputs.node }}"), "${{ inputs.node }}");
        assert_eq!(i.substitute("plain"), "plain");
        let j = inputs("skip-cache:\n  default: 'false'\n", "{}\n");
        assert_eq!(
            j.substitute("${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}"),
            "pnpm"
        );
    }

    #[test]
    fn hostile_expressions_are_unknown_not_errors() {
        let i = inputs("a: {default: x}\n", "{}\n");
        for text in [
            "'unterminated",
            "((((",
            "inputs.a ==",
            "== ==",
            "inputs.a[",
            "fromJSON('[1]')[0] == 1",
            "@",
            "1.2.3 == x",
            &"(".repeat(10_000),
            &"!".repeat(10_000),
            &"a".repeat(MAX_EXPRESSION + 1),
        ] {
            assert!(!i.rules_out(text), "{text}");
            assert_eq!(i.evaluate(text), Val::Unknown, "{text}");
        }
    }
}
