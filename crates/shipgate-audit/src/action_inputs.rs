//! A local action read as it runs at one use: its `inputs.*` take the
//! caller's `with:` values (or the inputs' `default:`), so a step guarded by
//! `if: inputs.cache == 'true'` is skipped when the caller says `cache:
//! false`, and `cache: ${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}`
//! reads as `''` when the caller skips the cache (see [`crate::expr_eval`]
//! for what is evaluated; anything unknown is read as written).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::expr_eval;
use crate::yaml::{Entry, Node, Style, Value};

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

    fn lookup(&self, path: &[String]) -> Option<String> {
        match path {
            [context, name] if context == "inputs" => self.values.get(name).cloned().flatten(),
            _ => None,
        }
    }

    /// Whether a step's `if:` is certainly false here.
    pub fn rules_out(&self, condition: &str) -> bool {
        expr_eval::condition_is_false(condition, &|p| self.lookup(p))
    }

    /// `text` with the expressions whose value is known here replaced (all
    /// of them, or `text` as written).
    pub fn substitute<'t>(&self, text: &'t str) -> Cow<'t, str> {
        expr_eval::substitute(text, &|p| self.lookup(p))
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
}

/// A caller's or default's text, when it is a plain value (not an
/// expression, not a mapping).
fn literal_text(node: &Node) -> Option<String> {
    let text = node.as_str()?;
    (!text.contains("${{")).then(|| text.to_owned())
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
    fn the_callers_values_override_defaults() {
        let i = inputs(
            "skip-cache:\n  default: 'false'\nCache:\n  default: 'true'\nother: {}\nnode: {default: '22'}\n",
            "skip-cache: true\nnode: ${{ matrix.node }}\n",
        );
        assert!(i.rules_out("inputs.skip-cache != 'true'"));
        assert!(!i.rules_out("inputs.cache == 'true'"));
        assert!(i.rules_out("inputs.other"));
        assert_eq!(
            i.substitute("${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}"),
            ""
        );
        // A caller value that is itself an expression is unknown.
        assert_eq!(i.substitute("${{ inputs.node }}"), "${{ inputs.node }}");
        let defaults = inputs("skip-cache:\n  default: 'false'\n", "{}\n");
        assert_eq!(
            defaults.substitute("${{ inputs.skip-cache != 'true' && 'pnpm' || '' }}"),
            "pnpm"
        );
    }
}
