//! A small YAML tree with source spans, built from `saphyr-parser` events.
//!
//! We build our own tree instead of using a generic loader so that hostile
//! input stays cheap: nesting depth is capped, aliases share their target
//! instead of copying it, and the total number of nodes reachable through
//! aliases is counted and capped (the "billion laughs" attack). Duplicate keys
//! and extra documents are recorded, not silently merged.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::source::{ByteRange, SourceFile};

/// Deepest nesting of collections we accept. Real workflows use < 15.
pub const MAX_DEPTH: usize = 128;
/// Most nodes the document may expand to once aliases are followed.
pub const MAX_EXPANDED_NODES: u64 = 2_000_000;

/// How a scalar was written. Only plain scalars can be booleans or null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone)]
pub enum Value {
    Scalar(Arc<str>, Style),
    Seq(Arc<Vec<Node>>),
    Map(Arc<Vec<Entry>>, Option<Arc<KeyIndex>>),
}

/// Position of each scalar key in a large mapping (first occurrence), so
/// lookups in generated workflows with thousands of jobs stay O(1).
pub type KeyIndex = HashMap<Arc<str>, usize>;

/// Mappings with more entries than this get a [`KeyIndex`].
const INDEX_FROM: usize = 16;

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

/// One YAML node and where it is in the source (a byte range; for block
/// scalars the range starts at the first content line, as the parser reports).
#[derive(Debug, Clone)]
pub struct Node {
    pub range: ByteRange,
    pub value: Value,
}

/// Why a file could not be read as YAML. The position is a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub offset: usize,
    pub message: String,
}

/// Problems that do not stop the audit but are reported as `invalid-workflow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlWarning {
    pub range: ByteRange,
    pub message: String,
}

/// The first document of a file plus what we noticed while loading it.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    pub warnings: Vec<YamlWarning>,
    /// Byte ranges of anchored nodes: edits inside them would also change
    /// every alias, so fixes stay out of them.
    pub anchored: Vec<ByteRange>,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn style(&self) -> Option<Style> {
        match &self.value {
            Value::Scalar(_, style) => Some(*style),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(m, _) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Value of `key` in a mapping (scalar keys only).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The whole entry for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries, Some(index)) => entries.get(*index.get(key)?),
            Value::Map(entries, None) => entries.iter().find(|e| e.key.as_str() == Some(key)),
            _ => None,
        }
    }

    /// A plain `true`/`True`/`TRUE` scalar (YAML 1.2 core schema).
    pub fn is_true(&self) -> bool {
        matches!(&self.value, Value::Scalar(s, Style::Plain) if matches!(&**s, "true" | "True" | "TRUE"))
    }

    /// A null node: an empty plain scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s, Style::Plain) if matches!(&**s, "" | "~" | "null" | "Null" | "NULL"))
    }

    /// Scalar text, or each scalar of a sequence (for fields like `branches`).
    pub fn strings(&self) -> Vec<&str> {
        match &self.value {
            Value::Scalar(s, _) => vec![s],
            Value::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            Value::Map(..) => Vec::new(),
        }
    }
}

/// The end (one past the closing quote) of the quoted scalar that starts at
/// byte `start` of `text`. The parser's span of a quoted scalar can run on
/// over the spaces and the comment that follow it; findings and fixes need
/// the scalar alone. `None` when `start` is not a quote or it never closes.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(start)?;
    let mut i = start + 1;
    match quote {
        b'"' => {
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
            None
        }
        b'\'' => {
            while let Some(&b) = bytes.get(i) {
                if b == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(i + 1);
                }
                i += 1;
            }
            None
        }
        _ => None,
    }
}

/// Most times [`load`] rejoins an under-indented flow line and parses again.
const MAX_REFLOWS: usize = 64;
/// Most bytes all those parses may read together, so that a large hostile
/// file cannot make the loader parse it 64 times.
const MAX_REFLOW_BYTES: usize = 32 * 1024 * 1024;

/// Loads the first document of `src`. Later documents are parsed (so that
/// their syntax errors are found) and reported as a warning.
///
/// GitHub (and PyYAML, and most YAML loaders) accept a flow collection
/// whose continuation lines, often the closing `]`, sit at or left of the
/// enclosing block's indentation; the YAML 1.2 parser we use refuses them
/// with "invalid indentation". A line break inside a flow collection is only
/// white space, so when the parser stops there we join that line to the one
/// before (the break and any comment on the line before become spaces: the
/// same number of characters, so every position stays right) and parse again.
pub fn load(src: &SourceFile) -> Result<Document, YamlError> {
    let mut text = std::borrow::Cow::Borrowed(src.text.as_str());
    let mut reflows = 0;
    loop {
        match load_text(src, &text) {
            Err(Failure::Scan {
                char_index,
                message,
                in_flow,
            }) => {
                let offset = src.byte_of_char(char_index);
                if in_flow
                    && message.starts_with("invalid indentation")
                    && reflows < MAX_REFLOWS
                    && (reflows + 2) * text.len() <= MAX_REFLOW_BYTES
                    && let Some(joined) = join_flow_line(&text, char_index)
                {
                    reflows += 1;
                    text = std::borrow::Cow::Owned(joined);
                    continue;
                }
                return Err(YamlError { offset, message });
            }
            Err(Failure::Build(e)) => return Err(e),
            Ok(doc) => return Ok(doc),
        }
    }
}

enum Failure {
    /// The parser refused the text at a character index.
    Scan {
        char_index: usize,
        message: String,
        /// Whether a flow collection (`[`/`{`) was open there.
        in_flow: bool,
    },
    Build(YamlError),
}

fn load_text(src: &SourceFile, text: &str) -> Result<Document, Failure> {
    let mut builder = Builder::new(src);
    // Whether each open collection is a flow one, to know where an error is.
    let mut flow: Vec<bool> = Vec::new();
    let parser = Parser::new_from_str(text);
    for event in parser {
        let (event, span) = event.map_err(|e| Failure::Scan {
            char_index: e.marker().index(),
            message: e.info().to_owned(),
            in_flow: flow.last().copied().unwrap_or(false),
        })?;
        let range = ByteRange {
            start: src.byte_of_char(span.start.index()),
            end: src.byte_of_char(span.end.index()),
        };
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let opener = src.text.get(range.start..).and_then(|t| t.chars().next());
                flow.push(matches!(opener, Some('[' | '{')));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                flow.pop();
            }
            _ => {}
        }
        builder.on_event(event, range).map_err(Failure::Build)?;
    }
    builder.finish().map_err(Failure::Build)
}

/// `text` with the line holding character `char_index` joined to the line
/// before it, when only white space precedes that character on its line.
/// Replaces characters one for one, so character indices do not move.
fn join_flow_line(text: &str, char_index: usize) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let before = chars.get(..char_index)?;
    let line_start = before.iter().rposition(|c| *c == '\n')? + 1;
    if !before[line_start..].iter().all(|c| *c == ' ' || *c == '\t') {
        return None;
    }
    let break_at = line_start - 1;
    let prev_start = chars[..break_at]
        .iter()
        .rposition(|c| *c == '\n')
        .map_or(0, |p| p + 1);
    if let Some(hash) = comment_start(&chars[prev_start..break_at]) {
        for c in &mut chars[prev_start + hash..break_at] {
            *c = ' ';
        }
    }
    for c in &mut chars[break_at..char_index] {
        *c = ' ';
    }
    if break_at > 0 && chars[break_at - 1] == '\r' {
        chars[break_at - 1] = ' ';
    }
    Some(chars.into_iter().collect())
}

/// Where a `#` comment starts on a line (outside quotes, after white space).
fn comment_start(line: &[char]) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, &c) in line.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t') => {
                return Some(i);
            }
            None => {}
        }
    }
    None
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
        weight: u64,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<Entry>,
        keys: HashSet<Arc<str>>,
        key: Option<Node>,
        weight: u64,
    },
}

struct Builder<'a> {
    src: &'a SourceFile,
    stack: Vec<Frame>,
    /// Anchored nodes and their expanded weight (number of nodes).
    anchors: HashMap<usize, (Node, u64)>,
    anchored: Vec<ByteRange>,
    documents: usize,
    first: Option<Node>,
    extra_document_at: Option<ByteRange>,
    warnings: Vec<YamlWarning>,
    expanded: u64,
}

impl<'a> Builder<'a> {
    fn new(src: &'a SourceFile) -> Self {
        Self {
            src,
            stack: Vec::new(),
            anchors: HashMap::new(),
            anchored: Vec::new(),
            documents: 0,
            first: None,
            extra_document_at: None,
            warnings: Vec::new(),
            expanded: 0,
        }
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            offset,
            message: message.into(),
        }
    }

    fn on_event(&mut self, event: Event<'_>, range: ByteRange) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents == 2 {
                    self.extra_document_at = Some(range);
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let range = match style {
                    Style::SingleQuoted | Style::DoubleQuoted => ByteRange {
                        start: range.start,
                        end: quoted_end(&self.src.text, range.start)
                            .map_or(range.end, |end| end.min(range.end)),
                    },
                    _ => range,
                };
                let node = Node {
                    range,
                    value: Value::Scalar(Arc::from(&*text), style),
                };
                self.complete(node, anchor, 1)?;
            }
            Event::Alias(id) => {
                let Some((target, weight)) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(range.start, "alias refers to an unknown anchor"));
                };
                self.complete(target, 0, weight)?;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.error(
                        range.start,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        start: range.start,
                        anchor,
                        items: Vec::new(),
                        weight: 1,
                    }
                } else {
                    Frame::Map {
                        start: range.start,
                        anchor,
                        entries: Vec::new(),
                        keys: HashSet::new(),
                        key: None,
                        weight: 1,
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(self.error(range.start, "unbalanced collection end"));
                };
                let (node, anchor, weight) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                        weight,
                    } => {
                        let end = items.last().map_or(range.end, |n| n.range.end);
                        let node = Node {
                            range: ByteRange {
                                start,
                                end: end.max(start),
                            },
                            value: Value::Seq(Arc::new(items)),
                        };
                        (node, anchor, weight)
                    }
                    Frame::Map {
                        start,
                        anchor,
                        entries,
                        weight,
                        ..
                    } => {
                        let end = entries.last().map_or(range.end, |e| e.value.range.end);
                        let index = (entries.len() > INDEX_FROM).then(|| {
                            let mut index = KeyIndex::new();
                            for (i, e) in entries.iter().enumerate() {
                                if let Value::Scalar(k, _) = &e.key.value {
                                    index.entry(k.clone()).or_insert(i);
                                }
                            }
                            Arc::new(index)
                        });
                        let node = Node {
                            range: ByteRange {
                                start,
                                end: end.max(start),
                            },
                            value: Value::Map(Arc::new(entries), index),
                        };
                        (node, anchor, weight)
                    }
                };
                self.complete(node, anchor, weight)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// A node is finished: record its anchor, count it, and attach it to its parent.
    fn complete(&mut self, node: Node, anchor: usize, weight: u64) -> Result<(), YamlError> {
        self.expanded = self.expanded.saturating_add(weight);
        if self.expanded > MAX_EXPANDED_NODES {
            return Err(self.error(
                node.range.start,
                format!(
                    "the document expands to more than {MAX_EXPANDED_NODES} nodes through aliases"
                ),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), weight));
            self.anchored.push(node.range);
        }
        match self.stack.last_mut() {
            None => {
                if self.documents <= 1 {
                    self.first = Some(node);
                }
            }
            Some(Frame::Seq {
                items,
                weight: parent,
                ..
            }) => {
                *parent = parent.saturating_add(weight);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                keys,
                key,
                weight: parent,
                ..
            }) => {
                *parent = parent.saturating_add(weight);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        if let Value::Scalar(name, _) = &k.value
                            && !keys.insert(name.clone())
                        {
                            self.warnings.push(YamlWarning {
                                range: k.range,
                                message: format!(
                                    "duplicate key `{name}`: GitHub refuses a mapping with the same key twice"
                                ),
                            });
                        }
                        entries.push(Entry {
                            key: k,
                            value: node,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Document, YamlError> {
        if let Some(range) = self.extra_document_at {
            self.warnings.push(YamlWarning {
                range,
                message: format!(
                    "the file holds {} YAML documents; a workflow is one document, only the first was audited",
                    self.documents
                ),
            });
        }
        let root = self.first.ok_or_else(|| YamlError {
            offset: 0,
            message: "the file holds no YAML document".to_owned(),
        })?;
        let _ = self.src;
        Ok(Document {
            root,
            warnings: self.warnings,
            anchored: self.anchored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Document, YamlError> {
        load(&SourceFile::new("t.yml", text))
    }

    #[test]
    fn flow_collections_left_of_the_block_indentation_are_accepted() {
        // Closing `]` at the key's column, further left, items at the key's
        // column, a flow mapping, comments and non-ASCII on joined lines.
        for text in [
            "m:\n  python: [\n    \"3.9\",\n    \"3.10\",\n  ]\nnext: 1\n",
            "a:\n  b:\n    python: [\n      \"3.9\", # é\n      \"3.10\",\n  ]\nnext: 1\n",
            "a:\n  python: [\n  \"3.9\",\n  \"3.10\"\n  ]\nnext: 1\n",
            "a:\n  include: [\n    {os: a,\n     x: 1}, # ü [\n]\nnext: 1\n",
            "a:\r\n  python: [\r\n    x,\r\n  ]\r\nnext: 1\r\n",
        ] {
            let src = SourceFile::new("t.yml", text);
            let doc = load(&src).unwrap_or_else(|e| panic!("{text:?}: {}", e.message));
            let next = doc.root.get("next").unwrap();
            assert_eq!(src.slice(next.range), "1", "{text:?}");
            assert_eq!(src.position_of_byte(next.range.start).column, 7, "{text:?}");
        }
        let src = SourceFile::new("t.yml", "m:\n  p: [\n    x,\n  ]\n");
        let doc = load(&src).unwrap();
        let x = &doc
            .root
            .get("m")
            .unwrap()
            .get("p")
            .unwrap()
            .as_seq()
            .unwrap()[0];
        assert_eq!(src.position_of_byte(x.range.start).line, 3);
        // Still refused: a block mapping under-indented, and a flow
        // collection that never closes.
        assert!(parse("a:\n    b: 1\n  c: 2\n").is_err());
        assert!(parse("a: [\n  x,\n").is_err());
        // Bounded: more under-indented lines than the loader rejoins.
        let many = format!("a:\n  b: [\n{}  ]\n", "x,\n".repeat(MAX_REFLOWS + 1));
        let Err(e) = parse(&many) else {
            panic!("refused after the last rejoin")
        };
        assert!(e.message.contains("indentation"), "{}", e.message);
        let fewer = format!("a:\n  b: [\n{}  ]\n", "x,\n".repeat(MAX_REFLOWS - 2));
        assert!(parse(&fewer).is_ok());
    }

    #[test]
    fn quoted_scalars_end_at_their_closing_quote_not_at_the_comment() {
        let text =
            "a: \"x\\\"y\" # c1\nb: 'it''s'   # c2\nc: \"multi\n  line\" # c3\nd: plain # c4\n";
        let doc = parse(text).unwrap();
        let spans: Vec<&str> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| {
                let r = doc.root.get(k).unwrap().range;
                &text[r.start..r.end]
            })
            .collect();
        assert_eq!(
            spans,
            ["\"x\\\"y\"", "'it''s'", "\"multi\n  line\"", "plain"]
        );
        assert_eq!(quoted_end("\"never closed", 0), None);
        assert_eq!(quoted_end("plain", 0), None);
    }

    #[test]
    fn spans_point_at_nodes_with_non_ascii_before_them() {
        let text = "name: \"héllo\"\nkey: wörld value\nrun: |\n  echo ü\n  npm ci\n";
        let src = SourceFile::new("t.yml", text);
        let doc = load(&src).unwrap();
        let key = doc.root.get("key").unwrap();
        assert_eq!(src.slice(key.range), "wörld value");
        assert_eq!(src.position_of_byte(key.range.start).column, 6);
        let name = doc.root.get("name").unwrap();
        assert_eq!(src.slice(name.range), "\"héllo\"");
        let run = doc.root.get("run").unwrap();
        // Block scalars start at their first content line.
        let p = src.position_of_byte(run.range.start);
        assert_eq!((p.line, p.column), (4, 3));
    }

    #[test]
    fn aliases_share_their_target() {
        let doc = parse("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(
            doc.root.get("b").unwrap().get("k").unwrap().as_str(),
            Some("v")
        );
        assert_eq!(doc.anchored.len(), 1);
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Flow nesting: the parser's own recursion limit or ours, either way an error.
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("nesting") || err.message.contains("recursion"),
            "{err:?}"
        );
        // Block nesting deeper than MAX_DEPTH: our limit.
        let mut text = String::new();
        for depth in 0..200 {
            text.push_str(&format!("{}k{depth}:\n", " ".repeat(depth)));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nesting"), "{err:?}");
    }

    #[test]
    fn duplicate_keys_and_extra_documents_are_warnings() {
        let doc = parse("a: 1\na: 2\n---\nb: 3\n").unwrap();
        assert_eq!(doc.warnings.len(), 2, "{:?}", doc.warnings);
        assert!(doc.warnings[0].message.contains("duplicate key `a`"));
        assert!(doc.warnings[1].message.contains("2 YAML documents"));
    }

    #[test]
    fn on_is_a_string_key_in_yaml_1_2() {
        let doc = parse("on: push\n").unwrap();
        assert_eq!(doc.root.get("on").unwrap().as_str(), Some("push"));
    }

    #[test]
    fn tabs_for_indentation_are_an_error() {
        assert!(parse("a:\n\tb: 1\n").is_err());
    }

    #[test]
    fn empty_file_has_no_document() {
        assert!(parse("").is_err());
        assert!(parse("# only a comment\n").is_err());
    }
}
