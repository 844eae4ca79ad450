//! Interpreting cell text: numbers in the many ways spreadsheets and people
//! write them, booleans, product type and status words, GTIN check digits,
//! and cleaning of invisible characters.
//!
//! Everything here is called once per cell on files of millions of rows, so
//! the common paths do not allocate.

use std::borrow::Cow;

use crate::api::types::{ProductStatus, ProductType};
use crate::cell::is_invisible;

/// Which character separates the integer part from the fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMark {
    /// `1 234,50`
    Comma,
    /// `1,234.50`
    Point,
}

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
fn trim(s: &str) -> &str {
    s.trim_matches(is_trimmed)
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
    if s.bytes().all(|b| b >= b' ' && b != 0x7F && b != 0xC2) {
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

/// What a number's text says about the decimal mark, when it decides it
/// unambiguously (`1 234,50` says comma, `12.5` says point, `1234` and `1,234` say nothing).
///
/// A text whose only separators are thousands separators says the other mark:
/// `1.234.567` says comma, `12,345,678` says point. The Nordic `99,-` says comma.
pub fn decimal_evidence(s: &str) -> Option<DecimalMark> {
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

/// A separator between digit groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// Any kind of space.
    Space,
    /// `.`
    Point,
    /// `,`
    Comma,
    /// `'` or `’`
    Apostrophe,
}

impl Sep {
    fn of(c: char) -> Option<Sep> {
        match c {
            '.' => Some(Sep::Point),
            ',' => Some(Sep::Comma),
            '\'' | '\u{2019}' => Some(Sep::Apostrophe),
            c if c.is_whitespace() => Some(Sep::Space),
            _ => None,
        }
    }

    fn decimal_mark(self) -> Option<DecimalMark> {
        match self {
            Sep::Point => Some(DecimalMark::Point),
            Sep::Comma => Some(DecimalMark::Comma),
            Sep::Space | Sep::Apostrophe => None,
        }
    }
}

/// More digit groups than this is not a number anyone writes.
const MAX_GROUPS: usize = 24;

/// Currency words and symbols, longest first where one is a prefix of another.
const CURRENCIES: [&str; 11] = [
    "nok", "sek", "dkk", "eur", "usd", "gbp", "kr.", "kr", "€", "$", "£",
];

/// The structure of a number's text: sign, digit groups and the separators
/// between them, before deciding which separator is the decimal mark.
struct NumberShape<'a> {
    negative: bool,
    /// The digits and separators.
    body: &'a str,
    /// Byte ranges of the digit groups in `body`; the first may be empty (`,5`).
    groups: [(usize, usize); MAX_GROUPS],
    /// Separator before each group after the first (`seps[i]` precedes `groups[i + 1]`).
    seps: [Sep; MAX_GROUPS],
    /// Number of groups.
    len: usize,
    /// The exponent after `e`, with its sign, if any.
    exponent: Option<&'a str>,
    /// The mark of a Nordic `,-` ending, if any.
    dash: Option<Sep>,
}

fn strip_prefix_ignore_case<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &s[word.len()..])
}

fn strip_suffix_ignore_case<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(word.len())?;
    let tail = s.get(at..)?;
    tail.eq_ignore_ascii_case(word).then(|| &s[..at])
}

fn strip_sign(s: &str) -> (bool, &str) {
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}')) {
        (true, trim(rest))
    } else if let Some(rest) = s.strip_prefix('+') {
        (false, trim(rest))
    } else {
        (false, s)
    }
}

/// The sign and the text without it and without a currency word or symbol
/// before or after the number (a sign may follow a leading currency).
fn strip_sign_and_currency(s: &str) -> (bool, &str) {
    let (mut negative, mut rest) = strip_sign(trim(s));
    if let Some(after) = CURRENCIES
        .iter()
        .find_map(|w| strip_prefix_ignore_case(rest, w))
    {
        rest = trim(after);
        if !negative {
            (negative, rest) = strip_sign(rest);
        }
    }
    if let Some(before) = CURRENCIES
        .iter()
        .find_map(|w| strip_suffix_ignore_case(rest, w))
    {
        rest = trim(before);
    }
    (negative, rest)
}

/// The text without a Nordic `,-` ending, and the mark before the dash;
/// `None` when a dash ends the text after anything but a mark.
fn strip_dash(rest: &str) -> Option<(&str, Option<Sep>)> {
    let Some(before) = rest
        .strip_suffix('-')
        .or_else(|| rest.strip_suffix('\u{2013}'))
    else {
        return Some((rest, None));
    };
    let mut chars = before.chars();
    let mark = chars.next_back().and_then(|c| match c {
        ':' => Some(Sep::Space),
        c => Sep::of(c).filter(|s| matches!(s, Sep::Comma | Sep::Point)),
    })?;
    Some((chars.as_str(), Some(mark)))
}

/// The text without an exponent (`e-3`), and the exponent with its sign;
/// `None` when an `e` is not followed by one to four digits.
fn strip_exponent(rest: &str) -> Option<(&str, Option<&str>)> {
    let Some(at) = rest.find(['e', 'E']) else {
        return Some((rest, None));
    };
    let exp = &rest[at + 1..];
    let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&rest[..at], Some(exp)))
}

impl<'a> NumberShape<'a> {
    /// Splits a text into sign, currency, digit groups and separators.
    /// `None` when it cannot be a number in any reading.
    fn scan(s: &'a str) -> Option<NumberShape<'a>> {
        let (negative, rest) = strip_sign_and_currency(s);
        let (rest, dash) = strip_dash(rest)?;
        let (rest, exponent) = match dash {
            None => strip_exponent(rest)?,
            Some(_) => (rest, None),
        };
        let mut shape = NumberShape {
            negative,
            body: rest,
            groups: [(0, 0); MAX_GROUPS],
            seps: [Sep::Space; MAX_GROUPS],
            len: 1,
            exponent,
            dash,
        };
        shape.split_groups().then_some(shape)
    }

    /// Splits `body` into digit groups and the separators between them;
    /// `false` when it is not digits and separators.
    fn split_groups(&mut self) -> bool {
        let mut start = 0;
        let mut in_sep = false;
        let mut digits = 0usize;
        for (i, c) in self.body.char_indices() {
            if c.is_ascii_digit() {
                if in_sep {
                    start = i;
                    in_sep = false;
                }
                digits += 1;
                self.groups[self.len - 1] = (start, i + 1);
            } else if let Some(sep) = Sep::of(c) {
                if in_sep {
                    // Runs of spaces are one separator; anything else doubled is not a number.
                    if sep == Sep::Space && self.seps[self.len - 2] == Sep::Space {
                        continue;
                    }
                    return false;
                }
                if self.len == MAX_GROUPS {
                    return false;
                }
                if i == 0 {
                    self.groups[0] = (0, 0);
                }
                self.seps[self.len - 1] = sep;
                self.len += 1;
                in_sep = true;
            } else if !is_invisible(c) {
                return false;
            }
        }
        if digits == 0 || in_sep {
            return false;
        }
        let (first_start, first_end) = self.groups[0];
        !(first_start == first_end && self.len > 1 && self.seps[0] == Sep::Space)
    }

    fn group(&self, i: usize) -> &'a str {
        let (start, end) = self.groups[i];
        &self.body[start..end]
    }

    /// The number of separators.
    fn seps(&self) -> &[Sep] {
        &self.seps[..self.len - 1]
    }

    /// Whether `groups[1..upto]` are all thousands groups of three digits
    /// after a valid leading group.
    fn groups_of_three(&self, upto: usize) -> bool {
        let first = self.group(0);
        (1..=3).contains(&first.len())
            && !first.starts_with('0')
            && (1..upto).all(|i| self.group(i).len() == 3)
    }

    /// The decimal mark if the text can be read with its last separator as
    /// the decimal mark and any others as thousands separators.
    fn as_decimal(&self) -> Option<DecimalMark> {
        let seps = self.seps();
        let (&last, thousands) = seps.split_last()?;
        let mark = last.decimal_mark()?;
        if self.dash.is_some() {
            return None;
        }
        match thousands.first() {
            None => Some(mark),
            Some(&t) if t != last && thousands.iter().all(|&s| s == t) => {
                (self.exponent.is_none() && self.groups_of_three(self.len - 1)).then_some(mark)
            }
            Some(_) => None,
        }
    }

    /// The thousands separator if the text can be read with every separator
    /// as a thousands separator.
    fn as_thousands(&self) -> Option<Sep> {
        let seps = self.seps();
        let &t = seps.first()?;
        (self.exponent.is_none() && seps.iter().all(|&s| s == t) && self.groups_of_three(self.len))
            .then_some(t)
    }

    /// Writes the plain form (`-1234.5e3`) that `str::parse::<f64>` reads.
    fn write(&self, out: &mut NumberText, decimal: bool) {
        if self.negative {
            out.push("-");
        }
        if self.group(0).is_empty() {
            out.push("0");
        }
        let int_groups = if decimal { self.len - 1 } else { self.len };
        for i in 0..int_groups {
            out.push(self.group(i));
        }
        if decimal {
            out.push(".");
            out.push(self.group(self.len - 1));
        }
        if let Some(exp) = self.exponent {
            out.push("e");
            out.push(exp);
        }
    }
}

/// A short text built on the stack, spilling to the heap only when long.
struct NumberText {
    buf: [u8; 64],
    len: usize,
    spill: String,
}

impl Default for NumberText {
    fn default() -> Self {
        NumberText {
            buf: [0; 64],
            len: 0,
            spill: String::new(),
        }
    }
}

impl NumberText {
    fn push(&mut self, s: &str) {
        if self.spill.is_empty() && self.len + s.len() <= self.buf.len() {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            if self.spill.is_empty() {
                let stack = std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default();
                self.spill = String::with_capacity(stack.len() + s.len());
                self.spill.push_str(stack);
            }
            self.spill.push_str(s);
        }
    }

    fn stack_str(&self) -> &str {
        // Only ASCII digits, signs, `.` and `e` are ever pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn as_str(&self) -> &str {
        if self.spill.is_empty() {
            self.stack_str()
        } else {
            &self.spill
        }
    }
}

/// Whether `s`, lower-cased, equals the lower-case word `word`, without allocating.
fn is_word(s: &str, word: &str) -> bool {
    if s.is_ascii() {
        s.eq_ignore_ascii_case(word)
    } else {
        s.chars().flat_map(char::to_lowercase).eq(word.chars())
    }
}

fn is_any_word(s: &str, words: &[&str]) -> bool {
    words.iter().any(|w| is_word(s, w))
}

/// The value whose words include `s` (trimmed, any case), from a table of
/// (words, value) pairs.
fn one_of<T: Copy>(s: &str, table: &[(&[&str], T)]) -> Option<T> {
    let s = trim(s);
    table
        .iter()
        .find(|(words, _)| is_any_word(s, words))
        .map(|(_, value)| *value)
}

/// Parses a boolean: true/false, yes/no, ja/nei, 1/0, x, in any case. `None` if not a boolean.
///
/// Also accepted: `y`/`n`, `j`/`n`, `sant`/`usant`, `on`/`off`, `t`/`f`, and
/// Swedish and Danish `nej`, `sann`, `falsk`, `falskt`. An `x` marks true; an
/// empty cell is not a boolean at all: callers leave the field out (so
/// "x/empty" in a column reads as x = true, empty = server default).
pub fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 10] = ["true", "yes", "ja", "y", "j", "1", "x", "sant", "on", "t"];
    const FALSE: [&str; 11] = [
        "false", "no", "nei", "nej", "n", "0", "usant", "off", "f", "falsk", "falskt",
    ];
    let s = trim(s);
    if is_any_word(s, &TRUE) || is_word(s, "sann") {
        Some(true)
    } else if is_any_word(s, &FALSE) {
        Some(false)
    } else {
        None
    }
}

/// Parses a product type word (default/structure and Norwegian forms).
///
/// `default`, `standard`, `regular`, `vanlig`, `normal` are the default type;
/// `structure`, `struktur`, `strukturvare`, `strukturartikel`, `bundle` a
/// structure product. Case does not matter.
pub fn parse_product_type(s: &str) -> Option<ProductType> {
    const DEFAULT: [&str; 5] = ["default", "standard", "regular", "vanlig", "normal"];
    const STRUCTURE: [&str; 5] = [
        "structure",
        "struktur",
        "strukturvare",
        "strukturartikel",
        "bundle",
    ];
    one_of(
        s,
        &[
            (&DEFAULT, ProductType::Default),
            (&STRUCTURE, ProductType::Structure),
        ],
    )
}

/// Parses a status word (active/inactive, aktiv/inaktiv, utgått).
///
/// Active: `active`, `aktiv`, `aktivt`, `enabled`. Inactive: `inactive`,
/// `inaktiv`, `inaktivt`, `deaktivert`, `utgått`, `utgatt`, `utgången`,
/// `udgået`, `disabled`, `discontinued`. Case does not matter.
pub fn parse_status(s: &str) -> Option<ProductStatus> {
    const ACTIVE: [&str; 4] = ["active", "aktiv", "aktivt", "enabled"];
    const INACTIVE: [&str; 11] = [
        "inactive",
        "inaktiv",
        "inaktivt",
        "deaktivert",
        "utgått",
        "utgatt",
        "utgången",
        "udgået",
        "udgaaet",
        "disabled",
        "discontinued",
    ];
    one_of(
        s,
        &[
            (&ACTIVE, ProductStatus::Active),
            (&INACTIVE, ProductStatus::Inactive),
        ],
    )
}

/// Why a text is not a valid GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Contains something other than digits.
    #[error("must contain digits only")]
    NotDigits,
    /// Wrong number of digits.
    #[error("must have 8, 12, 13 or 14 digits, not {0}")]
    Length(usize),
    /// The last digit does not match.
    #[error("has a wrong check digit (expected {expected})")]
    CheckDigit {
        /// The check digit the other digits call for.
        expected: u8,
    },
}

/// Checks a GTIN-8/12/13/14 (EAN/UPC) including its check digit.
///
/// The text must be the digits alone: callers clean and trim it first.
pub fn check_gtin(s: &str) -> Result<(), GtinError> {
    let digits = s.as_bytes();
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(GtinError::NotDigits);
    }
    if !matches!(digits.len(), 8 | 12 | 13 | 14) {
        return Err(GtinError::Length(digits.len()));
    }
    let (&check, payload) = digits.split_last().expect("at least 8 digits");
    // From the right, payload digits are weighted 3, 1, 3, 1, ...
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    let expected = ((10 - sum % 10) % 10) as u8;
    if check - b'0' == expected {
        Ok(())
    } else {
        Err(GtinError::CheckDigit { expected })
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

    #[test]
    fn booleans() {
        for t in [
            "true", "TRUE", "Yes", "ja", "J", "y", "1", "x", "X", " sant ", "on",
        ] {
            assert_eq!(parse_bool(t), Some(true), "{t:?}");
        }
        for f in [
            "false", "No", "NEI", "n", "0", "usant", "off", "Falskt", "nej",
        ] {
            assert_eq!(parse_bool(f), Some(false), "{f:?}");
        }
        for neither in ["", "maybe", "2", "xx", "yes!"] {
            assert_eq!(parse_bool(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn type_and_status_words() {
        for w in ["default", "Standard", "REGULAR", "vanlig", " normal "] {
            assert_eq!(parse_product_type(w), Some(ProductType::Default), "{w:?}");
        }
        for w in ["structure", "Struktur", "strukturvare", "bundle"] {
            assert_eq!(parse_product_type(w), Some(ProductType::Structure), "{w:?}");
        }
        assert_eq!(parse_product_type("service"), None);
        for w in ["active", "Aktiv", "aktivt", "ENABLED"] {
            assert_eq!(parse_status(w), Some(ProductStatus::Active), "{w:?}");
        }
        for w in [
            "inactive",
            "Inaktiv",
            "inaktivt",
            "utgått",
            "UTGÅTT",
            "utgatt",
            "disabled",
            "Discontinued",
            "utgången",
            "Udgået",
        ] {
            assert_eq!(parse_status(w), Some(ProductStatus::Inactive), "{w:?}");
        }
        assert_eq!(parse_status("sold out"), None);
    }

    #[test]
    fn gtins() {
        for ok in [
            "4006381333931",
            "96385074",
            "036000291452",
            "7031234567895",
            "10012345678902",
        ] {
            assert_eq!(check_gtin(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_gtin("4006381333932"),
            Err(GtinError::CheckDigit { expected: 1 })
        );
        assert_eq!(
            check_gtin("7031234567890"),
            Err(GtinError::CheckDigit { expected: 5 })
        );
        assert_eq!(
            check_gtin("400638133393"),
            Err(GtinError::CheckDigit { expected: 0 })
        );
        assert_eq!(check_gtin("12345"), Err(GtinError::Length(5)));
        assert_eq!(check_gtin(""), Err(GtinError::Length(0)));
        assert_eq!(check_gtin("4006381 33931"), Err(GtinError::NotDigits));
        assert_eq!(check_gtin("40063813339３"), Err(GtinError::NotDigits));
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
        fn parse_number_never_panics(s in "\\PC*") {
            let _ = parse_number(&s, None);
            let _ = parse_number(&s, Some(Comma));
            let _ = decimal_evidence(&s);
            let _ = clean_text(&s);
            let _ = parse_bool(&s);
            let _ = check_gtin(&s);
        }

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
