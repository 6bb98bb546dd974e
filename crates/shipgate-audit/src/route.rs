//! Symbolic locations: a YAML path like `jobs.publish.steps[2].run` that is
//! resolved to a byte range (and so to line/column) only when a finding is
//! built. Rules speak in routes; the engine turns them into positions.

use std::fmt;

use crate::source::{ByteRange, SourceFile};
use crate::yaml::Node;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path from the document root to one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Route(Vec<Segment>);

impl Route {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut next = self.0.clone();
        next.push(Segment::Key(key.to_owned()));
        Self(next)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.0.clone();
        next.push(Segment::Index(index));
        Self(next)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The node this route names, if it exists.
    pub fn resolve<'a>(&self, root: &'a Node) -> Option<&'a Node> {
        self.0.iter().try_fold(root, |node, seg| match seg {
            Segment::Key(k) => node.get(k),
            Segment::Index(i) => node.as_seq()?.get(*i),
        })
    }

    /// The key node of the last segment (for `jobs.publish`, the `publish` key).
    pub fn resolve_key<'a>(&self, root: &'a Node) -> Option<&'a Node> {
        let (last, parent) = self.0.split_last()?;
        let parent = Route(parent.to_vec()).resolve(root)?;
        match last {
            Segment::Key(k) => parent.entry(k).map(|e| &e.key),
            Segment::Index(i) => parent.as_seq()?.get(*i),
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
                    if plain {
                        if i > 0 {
                            f.write_str(".")?;
                        }
                        f.write_str(k)?;
                    } else {
                        write!(f, "[{k:?}]")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Which part of the named node a location covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The mapping key (e.g. the `publish:` of a job).
    Key,
    /// The value node.
    Value,
    /// From the key to the end of the value.
    Entry,
}

/// A symbolic location: a route, the part of it, and optionally a piece of
/// text inside it to underline (e.g. `${{ github.head_ref }}` inside `run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub route: Route,
    pub part: Part,
    pub needle: Option<String>,
    /// Which occurrence of the needle (0 = first), when it appears more than once.
    pub occurrence: usize,
}

impl Loc {
    pub fn value(route: Route) -> Self {
        Self {
            route,
            part: Part::Value,
            needle: None,
            occurrence: 0,
        }
    }

    pub fn key(route: Route) -> Self {
        Self {
            route,
            part: Part::Key,
            needle: None,
            occurrence: 0,
        }
    }

    pub fn entry(route: Route) -> Self {
        Self {
            route,
            part: Part::Entry,
            needle: None,
            occurrence: 0,
        }
    }

    pub fn with_needle(mut self, needle: impl Into<String>) -> Self {
        let needle = needle.into();
        if !needle.is_empty() {
            self.needle = Some(needle);
        }
        self
    }

    pub fn nth(mut self, occurrence: usize) -> Self {
        self.occurrence = occurrence;
        self
    }

    /// Byte range of this location, or `None` when the route does not exist.
    pub fn resolve(&self, root: &Node, src: &SourceFile) -> Option<ByteRange> {
        let range = match self.part {
            Part::Value => self.route.resolve(root)?.range,
            Part::Key => self.route.resolve_key(root)?.range,
            Part::Entry => {
                let key = self.route.resolve_key(root)?.range;
                let value = self.route.resolve(root)?.range;
                ByteRange {
                    start: key.start,
                    end: value.end.max(key.end),
                }
            }
        };
        let Some(needle) = &self.needle else {
            return Some(trim_trailing_space(range, src));
        };
        // The needle is searched in the raw source of the node, so it is
        // found in block scalars too (where the value is re-indented).
        let found = src
            .slice(range)
            .match_indices(needle.as_str())
            .nth(self.occurrence)
            .map(|(offset, _)| ByteRange {
                start: range.start + offset,
                end: range.start + offset + needle.len(),
            });
        Some(found.unwrap_or_else(|| trim_trailing_space(range, src)))
    }
}

/// Block scalars end after their trailing newline; underline only the text.
fn trim_trailing_space(range: ByteRange, src: &SourceFile) -> ByteRange {
    let text = src.slice(range);
    let trimmed = text.trim_end();
    ByteRange {
        start: range.start,
        end: range.start + trimmed.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    #[test]
    fn displays_like_a_yaml_path() {
        let r = Route::root()
            .key("jobs")
            .key("publish")
            .key("steps")
            .index(2)
            .key("run");
        assert_eq!(r.to_string(), "jobs.publish.steps[2].run");
        assert_eq!(Route::root().key("a.b").to_string(), "[\"a.b\"]");
    }

    #[test]
    fn resolves_keys_values_and_needles() {
        let src = SourceFile::new(
            "t.yml",
            "jobs:\n  a:\n    steps:\n      - run: |\n          echo ${{ github.head_ref }}\n",
        );
        let doc = load(&src).unwrap();
        let route = Route::root()
            .key("jobs")
            .key("a")
            .key("steps")
            .index(0)
            .key("run");
        let loc = Loc::value(route.clone()).with_needle("${{ github.head_ref }}");
        let range = loc.resolve(&doc.root, &src).unwrap();
        assert_eq!(src.slice(range), "${{ github.head_ref }}");
        let p = src.position_of_byte(range.start);
        assert_eq!((p.line, p.column), (5, 16));
        let key = Loc::key(Route::root().key("jobs").key("a"))
            .resolve(&doc.root, &src)
            .unwrap();
        assert_eq!(src.slice(key), "a");
        assert!(
            Loc::value(Route::root().key("nope"))
                .resolve(&doc.root, &src)
                .is_none()
        );
    }
}
