//! What the human report prints from the audited files (source lines,
//! messages and labels that quote job names, commands, file names) is
//! hostile input: a workflow can hold escape sequences that retitle or
//! repaint the reader's terminal, or bidi overrides that make a line read
//! differently from what runs. Such characters are shown as U+FFFD, one
//! character for one, so underlines stay aligned. The classification comes
//! from the Unicode Character Database through ICU4X (`icu_properties`),
//! the same rule the rest of shipgate applies to untrusted text.

use std::borrow::Cow;

use icu_properties::props::BinaryProperty as _;
use icu_properties::props::{
    BidiControl, DefaultIgnorableCodePoint, EnumeratedProperty as _, GeneralCategory,
    GeneralCategoryGroup,
};

/// Shown in place of a character that must not reach a terminal.
const REPLACEMENT: char = '\u{FFFD}';

fn is_hidden(c: char) -> bool {
    let groups = GeneralCategoryGroup::Control
        .union(GeneralCategoryGroup::Format)
        .union(GeneralCategoryGroup::PrivateUse)
        .union(GeneralCategoryGroup::Surrogate)
        .union(GeneralCategoryGroup::LineSeparator)
        .union(GeneralCategoryGroup::ParagraphSeparator);
    groups.contains(GeneralCategory::for_char(c))
        || BidiControl::for_char(c)
        || DefaultIgnorableCodePoint::for_char(c)
}

/// `text` with every control, format, bidi and invisible character replaced
/// (tabs too: the snippet expands them before calling this).
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_hidden(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn terminal_tricks_are_replaced_one_for_one() {
        for (hostile, shown) in [
            (
                "run: echo \u{1b}]0;PWNED\u{7}",
                "run: echo \u{fffd}]0;PWNED\u{fffd}",
            ),
            ("\u{1b}[31mred", "\u{fffd}[31mred"),
            ("a\u{202e}b\u{2066}c", "a\u{fffd}b\u{fffd}c"),
            ("x\u{200b}y\u{061c}z\u{180e}", "x\u{fffd}y\u{fffd}z\u{fffd}"),
            ("\u{e0041}\u{fff9}\u{9b}", "\u{fffd}\u{fffd}\u{fffd}"),
        ] {
            assert_eq!(visible(hostile), shown);
            assert_eq!(visible(hostile).chars().count(), hostile.chars().count());
        }
        assert_eq!(
            visible("npm ci --ignore-scripts # ünïcode"),
            "npm ci --ignore-scripts # ünïcode"
        );
    }
}
