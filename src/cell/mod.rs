//! One spreadsheet cell as the readers produce it, before any interpretation,
//! and a row of them packed in one buffer ([`packed`]).

mod packed;

use std::borrow::Cow;

pub use packed::{CellRef, Cells, Texts};

/// A cell value as read from a CSV or spreadsheet file.
///
/// CSV files only ever produce [`Cell::Empty`] and [`Cell::Text`]; spreadsheets
/// keep the type the spreadsheet program stored, so that later stages can tell
/// a number from text and report dates and error values precisely.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text, exactly as stored (not yet trimmed or cleaned).
    Text(String),
    /// A floating-point number (spreadsheets store all numbers this way).
    Number(f64),
    /// An integer (some formats store these separately).
    Int(i64),
    /// A boolean (`TRUE`/`FALSE`).
    Bool(bool),
    /// A date, time or date-time; `text` is the ISO 8601 form a user would recognise.
    Date {
        /// The spreadsheet's serial value.
        serial: f64,
        /// ISO 8601 rendering, e.g. `2024-03-01` or `2024-03-01T12:30:00`.
        text: String,
    },
    /// An error value such as `#N/A`, `#REF!`, `#DIV/0!`.
    Error(String),
}

impl Cell {
    /// The text a user sees in this cell: integral numbers without `.0` and
    /// never in exponent notation (`7031234567890`, `42`), other numbers in
    /// their shortest exact form, booleans as `TRUE`/`FALSE`.
    pub fn text(&self) -> Cow<'_, str> {
        self.view().text()
    }

    /// True for an empty cell or one holding only white space.
    pub fn is_blank(&self) -> bool {
        self.view().is_blank()
    }

    /// The cell, borrowed.
    pub fn view(&self) -> CellRef<'_> {
        match self {
            Cell::Empty => CellRef::Empty,
            Cell::Text(s) => CellRef::Text(s),
            Cell::Number(n) => CellRef::Number(*n),
            Cell::Int(i) => CellRef::Int(*i),
            Cell::Bool(b) => CellRef::Bool(*b),
            Cell::Date { serial, text } => CellRef::Date {
                serial: *serial,
                text,
            },
            Cell::Error(e) => CellRef::Error(e),
        }
    }
}

/// Characters that are invisible in a spreadsheet and cleaned from text.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// Formats a number the way a spreadsheet shows it in a general cell, without
/// exponent notation and without a trailing `.0`, to at most 15 significant
/// digits as spreadsheets do (a formula's `0.1 + 0.2` shows as `0.3`).
pub(crate) fn format_number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e17 {
        format!("{}", n as i64)
    } else if n.is_finite() {
        // The shortest text that reads back as `n` is already what 15
        // digits show when it has no more: `n` is that text rounded to 15
        // digits (it lies within half a unit of its last place of it).
        let shortest = n.to_string();
        if significant_digits(&shortest) <= 15 {
            return shortest;
        }
        let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
        if rounded.fract() == 0.0 && rounded.abs() < 1e17 {
            format!("{}", rounded as i64)
        } else {
            // Rust's Display for f64 is the shortest representation that round-trips
            // and never uses exponent notation.
            format!("{rounded}")
        }
    } else {
        format!("{n}")
    }
}

/// The digits of a number's text from its first nonzero digit to its last.
fn significant_digits(text: &str) -> usize {
    // Zeros count once a nonzero digit follows them, after the first one.
    let (mut counted, mut zeros) = (0, 0);
    for b in text.bytes().filter(u8::is_ascii_digit) {
        if b == b'0' {
            zeros += usize::from(counted > 0);
        } else {
            counted += zeros + 1;
            zeros = 0;
        }
    }
    counted
}

/// Makes text safe to open in a spreadsheet program: a cell starting with
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so it is not
/// run as a formula. Plain numbers such as `-5` or `+47` are left alone.
pub(crate) fn neutralize_formula(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    if !risky || is_plain_number(text) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(format!("'{text}"))
    }
}

fn is_plain_number(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b' '))
}

/// Removes the `'` that [`neutralize_formula`] adds, when reading a file back.
pub(crate) fn restore_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.as_bytes().first(),
                Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
            ) =>
        {
            rest
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `format_number` as it was before its shortcut: the number rounded
    /// to 15 significant digits, then shown.
    fn format_number_rounding_first(n: f64) -> String {
        let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
        if rounded.fract() == 0.0 && rounded.abs() < 1e17 {
            format!("{}", rounded as i64)
        } else {
            format!("{rounded}")
        }
    }

    #[test]
    fn the_shortcut_shows_numbers_as_rounding_first_does() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for i in 0..200_000u64 {
            let n = match i % 4 {
                // Any bit pattern: every exponent and mantissa.
                0 => f64::from_bits(next()),
                // Prices and quantities: few decimals.
                1 => (next() % 10_000_000) as f64 / 100.0,
                2 => (next() % 1_000_000_000) as f64 / 1000.0 * 1.1,
                _ => (next() % 1000) as f64 * 0.1 + 0.2,
            };
            if !n.is_finite() || (n.fract() == 0.0 && n.abs() < 1e17) {
                continue;
            }
            assert_eq!(format_number(n), format_number_rounding_first(n), "{n:?}");
            checked += 1;
        }
        assert!(checked > 150_000, "{checked}");
        for n in [
            0.1 + 0.2,
            1e-7,
            1.5e20,
            -0.0001234,
            123456789012345.6,
            0.30000000000000004,
        ] {
            assert_eq!(format_number(n), format_number_rounding_first(n), "{n:?}");
        }
        assert_eq!(significant_digits("-0.0001203400"), 5);
        assert_eq!(significant_digits("150000000000000000000"), 2);
        assert_eq!(significant_digits("0"), 0);
    }

    #[test]
    fn numbers_show_as_a_user_sees_them() {
        assert_eq!(Cell::Number(7031234567890.0).text(), "7031234567890");
        assert_eq!(Cell::Number(42.0).text(), "42");
        assert_eq!(Cell::Number(12.5).text(), "12.5");
        assert_eq!(Cell::Number(-0.1).text(), "-0.1");
        assert_eq!(Cell::Int(-3).text(), "-3");
        assert_eq!(Cell::Number(0.1 + 0.2).text(), "0.3");
        assert_eq!(Cell::Number(2.0000000000000004).text(), "2");
        assert_eq!(Cell::Number(1234.5678).text(), "1234.5678");
    }

    #[test]
    fn blank_cells() {
        assert!(Cell::Empty.is_blank());
        assert!(Cell::Text(" \u{200B}\t".into()).is_blank());
        assert!(!Cell::Text(" a ".into()).is_blank());
        assert!(!Cell::Number(0.0).is_blank());
    }
}
