//! Numbers in the many ways spreadsheets and people write them, and the
//! decimal mark that decides the ones that could be read two ways.

mod shape;

pub use shape::DecimalMark;
use shape::{NumberShape, NumberText, Sep};

/// Why a text is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a number at all.
    #[error("is not a number")]
    NotANumber,
    /// Could be read two ways, e.g. `1,234` (1234 or 1.234).
    #[error(
        "could be read as {as_thousands} or {as_decimal}; use --decimal comma|point to decide"
    )]
    Ambiguous {
        /// Reading with `,`/`.` as thousands separator, e.g. `1234`.
        as_thousands: String,
        /// Reading with `,`/`.` as decimal mark, e.g. `1.234`.
        as_decimal: String,
    },
    /// Infinite or NaN.
    #[error("is not a finite number")]
    NotFinite,
}

/// What a number's text says about the decimal mark, when it decides it
/// unambiguously (`1 234,50` says comma, `12.5` says point, `1234` and `1,234` say nothing).
///
/// A text whose only separators are thousands separators says the other mark:
/// `1.234.567` says comma, `12,345,678` says point. The Nordic `99,-` says comma.
pub fn decimal_evidence(s: &str) -> Option<DecimalMark> {
    // Digits alone (a quantity, an id) have no mark to say anything.
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let shape = NumberShape::scan(s)?;
    match shape.dash {
        Some(Sep::Comma) => return Some(DecimalMark::Comma),
        Some(Sep::Point) => return Some(DecimalMark::Point),
        _ => {}
    }
    match (shape.as_decimal(), shape.as_thousands()) {
        (Some(mark), None) => Some(mark),
        (None, Some(Sep::Point)) => Some(DecimalMark::Comma),
        (None, Some(Sep::Comma)) => Some(DecimalMark::Point),
        _ => None,
    }
}

/// Parses a number: decimal point or comma, thousands separators (space,
/// no-break space, `.`, `,`, `'`), currency words and symbols, the Nordic
/// `1 234,-`. `decimal` decides values that could be read two ways.
///
/// Accepted currency words and symbols, before or after the number and in any
/// case: `kr`, `kr.`, `NOK`, `SEK`, `DKK`, `EUR`, `USD`, `GBP`, `€`, `$`, `£`.
/// `decimal` only decides texts that really could be read two ways (`1,234`,
/// `123.456`); a text that can be read one way only (`1,5`, `1.234,50`) is
/// read that way whatever `decimal` says.
pub fn parse_number(s: &str, decimal: Option<DecimalMark>) -> Result<f64, NumberError> {
    if let Some(value) = plain_number(s) {
        return Ok(value);
    }
    let shape = NumberShape::scan(s).ok_or(NumberError::NotANumber)?;
    let as_decimal = shape.as_decimal();
    let as_thousands = shape.as_thousands();
    let mut text = NumberText::default();
    match (as_decimal, as_thousands) {
        _ if shape.len == 1 => shape.write(&mut text, false),
        (Some(mark), Some(_)) => match decimal {
            Some(wanted) if wanted == mark => shape.write(&mut text, true),
            Some(_) => shape.write(&mut text, false),
            None => {
                let mut thousands = NumberText::default();
                shape.write(&mut thousands, false);
                shape.write(&mut text, true);
                return Err(NumberError::Ambiguous {
                    as_thousands: thousands.as_str().to_owned(),
                    as_decimal: text.as_str().to_owned(),
                });
            }
        },
        (Some(_), None) => shape.write(&mut text, true),
        (None, Some(_)) => shape.write(&mut text, false),
        (None, None) => return Err(NumberError::NotANumber),
    }
    let value: f64 = text.as_str().parse().map_err(|_| NumberError::NotANumber)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(NumberError::NotFinite)
    }
}

/// The fast path for the common machine-written form `-?digits(.digits)?`,
/// when it cannot be read two ways (not `1.234`). `None` sends the text
/// through the full parser.
fn plain_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 || int_len > 15 {
        return None;
    }
    match &digits[int_len..] {
        [] => {}
        [b'.', fraction @ ..] => {
            let ambiguous = fraction.len() == 3 && int_len <= 3;
            if fraction.is_empty() || ambiguous || !fraction.iter().all(u8::is_ascii_digit) {
                return None;
            }
        }
        _ => return None,
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use DecimalMark::{Comma, Point};

    fn num(s: &str) -> f64 {
        parse_number(s, None).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn numbers_people_write() {
        for (text, value) in [
            ("1 234,50", 1234.5),
            ("1.234,50", 1234.5),
            ("1,234.50", 1234.5),
            ("kr 99,-", 99.0),
            ("€12,5", 12.5),
            ("1234", 1234.0),
            ("1 234,-", 1234.0),
            ("NOK 1.234,50", 1234.5),
            ("$1,234.50", 1234.5),
            ("12.5 SEK", 12.5),
            ("-5", -5.0),
            ("1'234.50", 1234.5),
            ("1\u{00A0}234,50", 1234.5),
            ("1\u{202F}234\u{202F}567,25", 1234567.25),
            ("EUR 12,50", 12.5),
            ("12,50 EUR", 12.5),
            ("kr. 5", 5.0),
            ("5 kr.", 5.0),
            ("12,50kr", 12.5),
            ("1,5", 1.5),
            ("1,23", 1.23),
            ("12,345,678", 12345678.0),
            ("1.234.567,8", 1234567.8),
            ("0,123", 0.123),
            ("0.5", 0.5),
            (",5", 0.5),
            (".25", 0.25),
            ("  42  ", 42.0),
            ("+7", 7.0),
            ("-kr 99,50", -99.5),
            ("kr -99,50", -99.5),
            ("\u{2212}3", -3.0),
            ("1234,5678", 1234.5678),
            ("1 234 567", 1234567.0),
            ("7031234567890", 7031234567890.0),
            ("149:-", 149.0),
            ("1.5E+3", 1500.0),
            ("7,03E+12", 7.03e12),
            ("\u{200B}12\u{200B}", 12.0),
            ("0", 0.0),
            ("00042", 42.0),
        ] {
            assert_eq!(num(text), value, "{text:?}");
        }
    }

    #[test]
    fn ambiguous_numbers_need_a_hint() {
        assert_eq!(
            parse_number("1,234", None),
            Err(NumberError::Ambiguous {
                as_thousands: "1234".into(),
                as_decimal: "1.234".into()
            })
        );
        assert_eq!(
            parse_number("-123.456", None),
            Err(NumberError::Ambiguous {
                as_thousands: "-123456".into(),
                as_decimal: "-123.456".into()
            })
        );
        assert_eq!(parse_number("1,234", Some(Comma)), Ok(1.234));
        assert_eq!(parse_number("1,234", Some(Point)), Ok(1234.0));
        assert_eq!(parse_number("1.234", Some(Comma)), Ok(1234.0));
        assert_eq!(parse_number("1.234", Some(Point)), Ok(1.234));
        // The hint does not override a text that reads one way only.
        assert_eq!(parse_number("1,5", Some(Point)), Ok(1.5));
        assert_eq!(parse_number("1,234.50", Some(Comma)), Ok(1234.5));
        let message = parse_number("1,234", None).unwrap_err().to_string();
        assert!(
            message.contains("1234") && message.contains("1.234"),
            "{message}"
        );
    }

    #[test]
    fn not_numbers() {
        for text in [
            "",
            "  ",
            "1,2,3",
            "12abc",
            "abc",
            "inf",
            "NaN",
            "-",
            "kr",
            "1,,2",
            "1..2",
            "1.2.3,4,5",
            "12 34",
            "1 2",
            ",",
            "1,",
            "1.",
            "e5",
            "1e",
            "1e+",
            "--5",
            "1-2",
            "(5)",
            "5%",
            "1,234,56",
            "1.234,567.8",
            "0,123,456",
            "12_000",
            "1x",
            "kr 5 kr 5",
        ] {
            assert_eq!(
                parse_number(text, None),
                Err(NumberError::NotANumber),
                "{text:?}"
            );
        }
        assert_eq!(parse_number("1e999", None), Err(NumberError::NotFinite));
        let huge = "9".repeat(400);
        assert_eq!(parse_number(&huge, None), Err(NumberError::NotFinite));
    }

    #[test]
    fn decimal_evidence_from_text_alone() {
        assert_eq!(decimal_evidence("1 234,50"), Some(Comma));
        assert_eq!(decimal_evidence("12.5"), Some(Point));
        assert_eq!(decimal_evidence("1,5"), Some(Comma));
        assert_eq!(decimal_evidence("1,234.50"), Some(Point));
        assert_eq!(decimal_evidence("1.234.567"), Some(Comma));
        assert_eq!(decimal_evidence("12,345,678"), Some(Point));
        assert_eq!(decimal_evidence("kr 99,-"), Some(Comma));
        assert_eq!(decimal_evidence("0,123"), Some(Comma));
        assert_eq!(decimal_evidence("1234"), None);
        assert_eq!(decimal_evidence("1,234"), None);
        assert_eq!(decimal_evidence("1 234"), None);
        assert_eq!(decimal_evidence("1'234"), None);
        assert_eq!(decimal_evidence("abc"), None);
    }

    /// Formats whole cents in one of the styles people use.
    fn format_cents(cents: i64, style: usize) -> (String, Option<DecimalMark>) {
        let negative = cents < 0;
        let cents = cents.unsigned_abs();
        let (int, frac) = (cents / 100, cents % 100);
        let group = |sep: &str| {
            let digits = int.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push_str(sep);
                }
                out.push(c);
            }
            out
        };
        let sign = if negative { "-" } else { "" };
        let (text, hint) = match style {
            0 => (format!("{sign}{},{frac:02}", group(" ")), None),
            1 => (format!("{sign}{},{frac:02}", group(".")), None),
            2 => (format!("{sign}{}.{frac:02}", group(",")), None),
            3 => (format!("{sign}{int}.{frac:02}"), None),
            4 => (format!("{sign}kr {},{frac:02}", group("\u{00A0}")), None),
            5 => (format!("{sign}{}.{frac:02}", group("'")), None),
            // Whole numbers grouped with `.`: ambiguous for one group, so hinted.
            _ => (format!("{sign}{}", group(".")), Some(Comma)),
        };
        (text, hint)
    }

    proptest! {

        #[test]
        fn parse_number_never_panics_on_number_like_text(s in "[-+0-9 .,'’:e€$krNOKSE\u{A0}\u{202F}\u{200B}]{0,24}") {
            let _ = parse_number(&s, None);
            let _ = parse_number(&s, Some(Point));
            let _ = decimal_evidence(&s);
        }

        #[test]
        fn fast_path_agrees_with_the_full_parser(s in "-?[0-9]{1,8}(\\.[0-9]{0,5})?") {
            if let Some(fast) = plain_number(&s) {
                let shape = NumberShape::scan(&s).unwrap();
                let mut text = NumberText::default();
                shape.write(&mut text, shape.as_decimal().is_some());
                let full: f64 = text.as_str().parse().unwrap();
                prop_assert_eq!(fast, full, "{}", s);
            }
        }

        #[test]
        fn formatted_numbers_read_back(cents in -100_000_000_000_000i64..100_000_000_000_000i64, style in 0usize..7) {
            let (text, hint) = format_cents(cents, style);
            let expected = if style == 6 { (cents / 100) as f64 } else { cents as f64 / 100.0 };
            prop_assert_eq!(parse_number(&text, hint), Ok(expected), "{}", text);
        }
    }
}
