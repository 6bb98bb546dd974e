//! A workflow file's text with fast conversions between character indices
//! (what the YAML parser reports), byte offsets (what edits need) and
//! line/column positions (what users read).

/// One position in a source file. `line` and `column` are 1-based; `column`
/// counts Unicode scalar values (characters), like the YAML parser does and
/// like SARIF's `unicodeCodePoints` column kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A half-open range of the source, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteRange {
    pub start: usize,
    pub end: usize,
}

/// How many characters lie between two checkpoints of the char→byte table.
const CHECKPOINT_EVERY: usize = 64;

/// The text of one audited file plus the tables that map positions.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the current directory when possible).
    pub display: String,
    pub text: String,
    /// Byte offset where each line starts (line 1 at index 0).
    line_starts: Vec<usize>,
    /// Whether the text is pure ASCII (then char index == byte offset).
    ascii: bool,
    /// Byte offset of every `CHECKPOINT_EVERY`-th character (only when not ASCII).
    checkpoints: Vec<usize>,
}

impl SourceFile {
    pub fn new(display: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let ascii = text.is_ascii();
        let checkpoints = if ascii {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(CHECKPOINT_EVERY)
                .map(|(byte, _)| byte)
                .collect()
        };
        Self {
            display: display.into(),
            text,
            line_starts,
            ascii,
            checkpoints,
        }
    }

    /// Byte offset of the character with index `char_index` (clamped to the end).
    pub fn byte_of_char(&self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.text.len());
        }
        let block = char_index / CHECKPOINT_EVERY;
        let Some(&start) = self.checkpoints.get(block) else {
            return self.text.len();
        };
        let skip = char_index % CHECKPOINT_EVERY;
        self.text
            .get(start..)
            .and_then(|rest| rest.char_indices().nth(skip).map(|(b, _)| start + b))
            .unwrap_or(self.text.len())
    }

    /// Line and column (both 1-based, column in characters) of a byte offset.
    pub fn position_of_byte(&self, byte: usize) -> Position {
        let byte = self.floor_char_boundary(byte.min(self.text.len()));
        let line_index = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self.text.get(line_start..byte).map_or(0, |s| {
            if self.ascii {
                s.len()
            } else {
                s.chars().count()
            }
        });
        Position {
            line: line_index + 1,
            column: column + 1,
        }
    }

    /// Number of lines (a final line without a newline counts).
    pub fn line_count(&self) -> usize {
        if self.text.ends_with('\n') {
            self.line_starts.len() - 1
        } else {
            self.line_starts.len()
        }
    }

    /// Text of a 1-based line without its line break ("" when out of range).
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let s = self.text.get(start..end).unwrap_or("");
        s.trim_end_matches('\n').trim_end_matches('\r')
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        line.checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
            .copied()
    }

    /// The text of a byte range ("" when the range is not valid).
    pub fn slice(&self, range: ByteRange) -> &str {
        self.text.get(range.start..range.end).unwrap_or("")
    }

    fn floor_char_boundary(&self, mut byte: usize) -> usize {
        while byte > 0 && !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_chars_to_bytes_and_positions_with_non_ascii() {
        let text = format!("a: é\n{}x: ü\n", "ß".repeat(200));
        let src = SourceFile::new("t.yml", text.clone());
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            assert_eq!(src.byte_of_char(ci), bi, "char {ci}");
        }
        let x = text.find('x').unwrap();
        assert_eq!(
            src.position_of_byte(x),
            Position {
                line: 2,
                column: 201
            }
        );
        assert_eq!(src.line(2), format!("{}x: ü", "ß".repeat(200)));
        assert_eq!(src.line_count(), 2);
        assert_eq!(src.byte_of_char(10_000), text.len());
    }

    #[test]
    fn ascii_fast_path() {
        let src = SourceFile::new("t.yml", "ab\ncd");
        assert_eq!(src.byte_of_char(4), 4);
        assert_eq!(src.position_of_byte(4), Position { line: 2, column: 2 });
        assert_eq!(src.line(3), "");
        assert_eq!(src.line_count(), 2);
    }
}
