//! Cleaning text of invisible characters and odd spaces, and finding the
//! control characters that must never reach the API.

use std::borrow::Cow;

use crate::cell::is_invisible;

/// White space that spreadsheets and word processors put in numbers and text
/// and that should read as a plain space.
fn is_odd_space(c: char) -> bool {
    matches!(c, '\u{00A0}' | '\u{202F}' | '\u{2007}')
}

/// Characters trimmed from both ends of a value.
fn is_trimmed(c: char) -> bool {
    c.is_whitespace() || is_invisible(c)
}

/// Trims `s` of white space and invisible characters at both ends.
pub(super) fn trim(s: &str) -> &str {
    // Most values start and end with a visible ASCII character: nothing to trim.
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim_matches(is_trimmed),
    }
}

/// Trims and cleans text: no-break spaces become spaces, zero-width characters
/// and BOMs are removed, surrounding white space is trimmed.
///
/// Returns the input (trimmed) without copying when nothing else changes,
/// which is the common case.
pub fn clean_text(s: &str) -> Cow<'_, str> {
    let t = trim(s);
    if t.is_ascii() || !t.chars().any(|c| is_odd_space(c) || is_invisible(c)) {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        if is_odd_space(c) {
            out.push(' ');
        } else if !is_invisible(c) {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// True for a character that must never reach the API: the C0 controls
/// (U+0000 to U+001F, NUL among them), DEL and the C1 controls (U+0080 to
/// U+009F). Tab, line feed and carriage return are allowed where
/// `line_breaks` is true (a description), and are controls elsewhere.
pub fn is_forbidden_control(c: char, line_breaks: bool) -> bool {
    match c {
        '\t' | '\n' | '\r' => !line_breaks,
        c => c.is_control(),
    }
}

/// The first character of `s` that [`is_forbidden_control`], with its
/// 1-based position in characters.
pub fn find_control(s: &str, line_breaks: bool) -> Option<(usize, char)> {
    // Most text has no byte below a space, no DEL and no C1 control (0xC2 0x80-0x9F).
    // Looked at whole (no early exit), so that the compiler can test many bytes at once.
    let suspect = s.bytes().fold(false, |found, b| {
        found | (b < b' ') | (b == 0x7F) | (b == 0xC2)
    });
    if !suspect {
        return None;
    }
    s.chars()
        .enumerate()
        .find(|&(_, c)| is_forbidden_control(c, line_breaks))
        .map(|(i, c)| (i + 1, c))
}

/// A control character's name for a message: `NUL (U+0000)`, `a line break`.
pub fn control_name(c: char) -> String {
    match c {
        '\0' => "NUL (U+0000)".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        '\u{7F}' => "DEL (U+007F)".to_owned(),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters() {
        assert_eq!(find_control("Eple", false), None);
        assert_eq!(find_control("blå bær", false), None);
        assert_eq!(find_control("Ep\0le", false), Some((3, '\0')));
        assert_eq!(find_control("a\u{7F}", true), Some((2, '\u{7F}')));
        assert_eq!(find_control("a\u{85}b", true), Some((2, '\u{85}')));
        assert_eq!(find_control("line\r\nline\tx", true), None);
        assert_eq!(find_control("line\nline", false), Some((5, '\n')));
        assert_eq!(find_control("\u{1B}[31m", true), Some((1, '\u{1B}')));
        assert_eq!(control_name('\u{1B}'), "U+001B");
    }

    #[test]
    fn cleaning_text() {
        assert!(matches!(clean_text("plain"), Cow::Borrowed("plain")));
        assert!(matches!(clean_text("  padded \t"), Cow::Borrowed("padded")));
        assert!(matches!(clean_text("blåbær"), Cow::Borrowed("blåbær")));
        assert_eq!(
            clean_text("\u{FEFF}a\u{00A0}b\u{202F}c\u{2007}d\u{200B}e\u{2060}"),
            "a b c de"
        );
        assert_eq!(clean_text("\u{200D} x \u{200C}"), "x");
        assert_eq!(clean_text("\u{00A0}\u{00A0}"), "");
    }
}
