//! Everything the binary writes to stdout and stderr goes through here, for
//! two reasons:
//!
//! - Nothing the user did not write reaches the terminal as is. Human text
//!   is escaped with [`escape_for_terminal`] line by line (control,
//!   bidirectional, invisible and private-use characters become visible
//!   `\u{..}` escapes; our own line breaks stay). JSON is escaped the JSON
//!   way (`\uXXXX`), so it stays valid and parses to the same value.
//!   Machine output that must stay byte-exact (a token, an audit report in
//!   SARIF) goes through [`raw`].
//! - A closed stdout is not an error worth a panic: `shipgate ... | head`
//!   or `| true` closes the pipe early, and writing then fails with
//!   `BrokenPipe`. The process exits quietly (status 0, like other tools
//!   whose reader went away) instead of panicking with exit 101.

use std::io::Write as _;

use shipgate_protocol::untrusted::{escape_for_terminal, is_deceptive};

/// Where text goes.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// `text` with every deceptive character escaped, keeping line breaks.
pub fn human(text: &str) -> String {
    text.split('\n')
        .map(escape_for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Serialised JSON with every deceptive character inside its strings
/// written as a JSON `\uXXXX` escape (UTF-16 surrogate pairs above U+FFFF).
/// `serde_json` already escapes controls inside strings, so a raw line
/// break in its output is layout and is kept.
pub fn json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && is_deceptive(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `text` as is. On stdout a closed pipe ends the process quietly;
/// a failing stderr is ignored (there is nowhere left to report it).
/// Whether anything was written to stdout yet (a `--json` command that
/// already printed its report must not get a second JSON object).
static WROTE_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once anything went to stdout.
pub fn wrote_stdout() -> bool {
    WROTE_STDOUT.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn raw(stream: Stream, text: &str) {
    let result = match stream {
        Stream::Out => {
            WROTE_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
        Stream::Err => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            Ok(())
        }
    };
    if let Err(err) = result {
        // The reader went away (or stdout is unusable): nothing more can be
        // said on it, and saying it on stderr would only add noise.
        let _ = err;
        std::process::exit(0);
    }
}

/// `println!` for human text: escaped, and quiet on a closed stdout.
macro_rules! outln {
    () => { $crate::output::raw($crate::output::Stream::Out, "\n") };
    ($($arg:tt)*) => {
        $crate::output::raw(
            $crate::output::Stream::Out,
            &format!("{}\n", $crate::output::human(&format!($($arg)*))),
        )
    };
}

/// `eprintln!` for human text: escaped.
macro_rules! errln {
    () => { $crate::output::raw($crate::output::Stream::Err, "\n") };
    ($($arg:tt)*) => {
        $crate::output::raw(
            $crate::output::Stream::Err,
            &format!("{}\n", $crate::output::human(&format!($($arg)*))),
        )
    };
}

/// `eprint!` for human text (a prompt): escaped.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::output::raw(
            $crate::output::Stream::Err,
            &$crate::output::human(&format!($($arg)*)),
        )
    };
}

/// `println!` for JSON: deceptive characters as JSON escapes.
macro_rules! jsonln {
    ($($arg:tt)*) => {
        $crate::output::raw(
            $crate::output::Stream::Out,
            &format!("{}\n", $crate::output::json(&format!($($arg)*))),
        )
    };
}

/// `println!` for byte-exact machine output (a token, a SARIF report).
macro_rules! rawln {
    ($($arg:tt)*) => {
        $crate::output::raw($crate::output::Stream::Out, &format!("{}\n", format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_text_keeps_line_breaks_and_escapes_the_rest() {
        assert_eq!(
            human("a\u{1b}]0;x\u{7}\nb\u{202e}c"),
            "a\\u{1b}]0;x\\u{7}\nb\\u{202e}c"
        );
        assert_eq!(human("✓ ok — café"), "✓ ok — café");
    }

    #[test]
    fn json_stays_valid_and_means_the_same() {
        let value = serde_json::json!({"name": "x\u{202e}y\u{e0041}\u{1b}[31m", "n": 1});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = json(&text);
        assert!(
            safe.chars().all(|c| c == '\n' || !is_deceptive(c)),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }
}
