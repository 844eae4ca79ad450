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
pub fn trim(s: &str) -> &str {
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
    if !has_suspect_byte(s.as_bytes()) {
        return None;
    }
    s.chars()
        .enumerate()
        .find(|&(_, c)| is_forbidden_control(c, line_breaks))
        .map(|(i, c)| (i + 1, c))
}

/// Whether `bytes` hold a byte below a space, DEL or 0xC2 (the first byte
/// of a C1 control), eight bytes at a time: no control character can be
/// there without one of them. A byte after a true find may be flagged
/// too, which changes nothing.
fn has_suspect_byte(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `w` below `n` (n at most 0x80) sets its high bit here.
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if below(w, 0x20) || below(w ^ (ONES * 0x7F), 1) || below(w ^ (ONES * 0xC2), 1) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < b' ' || b == 0x7F || b == 0xC2)
}

/// Whether `bytes` are ASCII without control characters: no byte below a
/// space, no DEL, none above 0x7F. [`clean_text`] of such a text only
/// trims it, and [`find_control`] finds nothing in it.
pub fn is_plain_ascii(bytes: &[u8]) -> bool {
    bytes.is_ascii() && !has_suspect_byte(bytes)
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
    fn suspect_bytes_are_found_wherever_they_are() {
        let naive = |b: &[u8]| b.iter().any(|&b| b < b' ' || b == 0x7F || b == 0xC2);
        for len in 0..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    text[at] = byte;
                    assert_eq!(has_suspect_byte(&text), naive(&text), "{text:?}");
                    text.iter_mut().skip(at + 1).for_each(|b| *b = 0xFF);
                    assert_eq!(has_suspect_byte(&text), naive(&text), "{text:?}");
                }
            }
        }
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
