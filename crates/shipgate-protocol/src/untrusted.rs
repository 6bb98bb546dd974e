//! Text that came from outside the gate (CI token claims, rejection reasons,
//! names) and is later shown to a person. Some characters make such text lie
//! on a terminal or in a review: control characters can move the cursor,
//! erase lines or retitle the window (`ESC [`, `ESC ]`), and invisible
//! format characters can reorder what is displayed (right-to-left override)
//! or make two different strings look the same (zero-width space). The gate
//! refuses them where it accepts such text, and the CLI escapes them when it
//! prints what a gate answered, so an older or hostile gate cannot drive the
//! maintainer's terminal either.

/// `true` for a character that must not reach a terminal as is: a control
/// character or an invisible Unicode format/separator character.
pub fn is_deceptive(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Invisible characters that change how the text around them is displayed:
/// soft hyphen, zero-width spaces and joiners, bidirectional marks,
/// embeddings, overrides and isolates, invisible operators, the byte-order
/// mark, the line and paragraph separators, and the Hangul fillers (which
/// render as nothing in most fonts).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// The first deceptive character of `text`, if any.
pub fn first_deceptive(text: &str) -> Option<char> {
    text.chars().find(|&c| is_deceptive(c))
}

/// `U+202E`: how an error message names a character without printing it.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// `text` with every deceptive character replaced by a visible Rust-style
/// escape (`\n`, `\u{1b}`, `\u{202e}`); everything else is kept, so ordinary
/// non-ASCII text stays readable.
pub fn escape_for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_deceptive(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_control_and_invisible_format_characters() {
        for c in [
            '\0', '\n', '\r', '\t', '\x1b', '\x7f', '\u{85}', '\u{AD}', '\u{115F}', '\u{200B}',
            '\u{200E}', '\u{2028}', '\u{2029}', '\u{202A}', '\u{202E}', '\u{2060}', '\u{2066}',
            '\u{2069}', '\u{FEFF}',
        ] {
            assert!(is_deceptive(c), "{}", code_point(c));
        }
        for c in ['a', ' ', '/', 'é', 'ü', '\u{2014}', '\u{2215}', '漢'] {
            assert!(!is_deceptive(c), "{}", code_point(c));
        }
        assert_eq!(first_deceptive("prod\u{1b}]0;pwned\u{7}"), Some('\u{1b}'));
        assert_eq!(first_deceptive("refs/tags/v1.0.0"), None);
    }

    #[test]
    fn names_code_points() {
        assert_eq!(code_point('\u{202E}'), "U+202E");
        assert_eq!(code_point('\n'), "U+000A");
        assert_eq!(code_point('\u{1F600}'), "U+1F600");
    }

    #[test]
    fn escapes_what_would_drive_a_terminal() {
        assert_eq!(
            escape_for_terminal("0000000\n  repository  acme/trusted\x1b[1A\x1b[2K"),
            "0000000\\n  repository  acme/trusted\\u{1b}[1A\\u{1b}[2K"
        );
        assert_eq!(
            escape_for_terminal("x.txt\u{202E}gpj.exe"),
            "x.txt\\u{202e}gpj.exe"
        );
        assert_eq!(escape_for_terminal("a\u{200B}"), "a\\u{200b}");
        assert_eq!(
            escape_for_terminal("prod\x1b]0;pwned\x07"),
            "prod\\u{1b}]0;pwned\\u{7}"
        );
        // Readable text, including non-ASCII, is left alone.
        assert_eq!(escape_for_terminal("café naïve — ok"), "café naïve — ok");
    }
}
