//! Text that came from outside the gate (CI token claims, rejection reasons,
//! names) and is later shown to a person. Some characters make such text lie
//! on a terminal or in a review: control characters can move the cursor,
//! erase lines or retitle the window (`ESC [`, `ESC ]`), and invisible
//! format characters can reorder what is displayed (right-to-left override)
//! or make two different strings look the same (zero-width space). The gate
//! refuses them where it accepts such text, and the CLI escapes them when it
//! prints what a gate answered, so an older or hostile gate cannot drive the
//! maintainer's terminal either.

use icu_properties::props::BinaryProperty as _;
use icu_properties::props::{
    BidiControl, DefaultIgnorableCodePoint, EnumeratedProperty as _, GeneralCategory,
    GeneralCategoryGroup,
};

/// `true` for a character that must not reach a terminal as is. Decided
/// from the Unicode Character Database (through ICU4X's `icu_properties`,
/// the Unicode Consortium's own library, so the set follows new Unicode
/// versions instead of a hand-kept list):
///
/// - general categories Cc (controls: C0, DEL, C1), Cf (format: bidi
///   marks, embeddings, overrides and isolates, zero-width characters,
///   U+061C, U+180E, the interlinear annotation characters U+FFF9-FFFB, the
///   Tags block), Co (private use), Cs (surrogates), Zl and Zp (line and
///   paragraph separators);
/// - Bidi_Control (characters that reorder the text around them);
/// - Default_Ignorable_Code_Point (characters that render as nothing, such
///   as the Hangul fillers, variation selectors and unassigned ignorables).
pub fn is_deceptive(c: char) -> bool {
    let hidden_categories = GeneralCategoryGroup::Control
        .union(GeneralCategoryGroup::Format)
        .union(GeneralCategoryGroup::PrivateUse)
        .union(GeneralCategoryGroup::Surrogate)
        .union(GeneralCategoryGroup::LineSeparator)
        .union(GeneralCategoryGroup::ParagraphSeparator);
    hidden_categories.contains(GeneralCategory::for_char(c))
        || BidiControl::for_char(c)
        || DefaultIgnorableCodePoint::for_char(c)
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
        for c in [
            'a', ' ', '/', 'é', 'ü', '\u{2014}', '\u{2215}', '漢', 'ا', '😀', '\u{301}',
        ] {
            assert!(!is_deceptive(c), "{}", code_point(c));
        }
        assert_eq!(first_deceptive("prod\u{1b}]0;pwned\u{7}"), Some('\u{1b}'));
        assert_eq!(first_deceptive("refs/tags/v1.0.0"), None);
    }

    /// One row per kind of character that can make printed text lie; every
    /// one must be escaped, and the escaped text must hold none of them.
    pub(crate) const HOSTILE: &[(&str, &str)] = &[
        ("C0 control", "a\u{1}b"),
        ("NUL", "a\0b"),
        ("newline", "a\nforged line"),
        ("carriage return", "a\roverwritten"),
        ("DEL", "a\u{7f}"),
        ("C1 control (CSI)", "a\u{9b}31m"),
        ("C1 next line", "a\u{85}b"),
        ("CSI sequence", "\u{1b}[31mred\u{1b}[0m"),
        ("cursor up and erase", "ok\u{1b}[1A\u{1b}[2K"),
        ("OSC title", "\u{1b}]0;PWNED\u{7}"),
        (
            "OSC 8 hyperlink",
            "\u{1b}]8;;https://evil.example\u{1b}\\x\u{1b}]8;;\u{1b}\\",
        ),
        ("right-to-left override", "x.txt\u{202e}gpj.exe"),
        ("left-to-right embedding", "a\u{202a}b\u{202c}"),
        ("isolates", "a\u{2066}b\u{2069}"),
        ("right-to-left mark", "a\u{200f}"),
        ("Arabic letter mark U+061C", "a\u{61c}b"),
        ("Mongolian vowel separator U+180E", "a\u{180e}b"),
        ("interlinear annotation U+FFF9", "a\u{fff9}b"),
        ("interlinear annotation U+FFFA", "a\u{fffa}b"),
        ("interlinear annotation U+FFFB", "a\u{fffb}b"),
        ("tag U+E0000", "a\u{e0000}"),
        ("language tag U+E0001", "a\u{e0001}"),
        ("tag letter U+E0041", "a\u{e0041}"),
        ("cancel tag U+E007F", "a\u{e007f}"),
        ("zero-width space", "a\u{200b}b"),
        ("zero-width joiner", "a\u{200d}b"),
        ("zero-width no-break space", "\u{feff}a"),
        ("word joiner", "a\u{2060}b"),
        ("soft hyphen", "a\u{ad}b"),
        ("Hangul filler", "\u{3164}"),
        ("line separator", "a\u{2028}b"),
        ("paragraph separator", "a\u{2029}b"),
        ("private use", "a\u{e000}b"),
        ("variation selector", "a\u{fe0f}"),
    ];

    #[test]
    fn every_hostile_kind_is_escaped() {
        for (kind, text) in HOSTILE {
            let hostile = text.chars().find(|&c| is_deceptive(c));
            assert!(hostile.is_some(), "{kind}: nothing found in {text:?}");
            let escaped = escape_for_terminal(text);
            assert_eq!(first_deceptive(&escaped), None, "{kind}: {escaped:?}");
            assert!(
                escaped.chars().all(|c| c == ' ' || !c.is_whitespace()),
                "{kind}: {escaped:?}"
            );
            assert!(!escaped.contains('\u{1b}'), "{kind}");
        }
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
