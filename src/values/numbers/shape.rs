//! The structure of a number's text (sign, currency, digit groups and the
//! separators between them), the plain form it is parsed from, and the
//! decimal mark that reads it ([`DecimalMark`]).

use crate::cell::is_invisible;
use crate::values::text::trim;

/// Which character separates the integer part from the fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMark {
    /// `1 234,50`
    Comma,
    /// `1,234.50`
    Point,
}

/// A separator between digit groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sep {
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
pub(super) struct NumberShape<'a> {
    negative: bool,
    /// The digits and separators.
    body: &'a str,
    /// Byte ranges of the digit groups in `body`; the first may be empty (`,5`).
    groups: [(usize, usize); MAX_GROUPS],
    /// Separator before each group after the first (`seps[i]` precedes `groups[i + 1]`).
    seps: [Sep; MAX_GROUPS],
    /// Number of groups.
    pub(super) len: usize,
    /// The exponent after `e`, with its sign, if any.
    exponent: Option<&'a str>,
    /// The mark of a Nordic `,-` ending, if any.
    pub(super) dash: Option<Sep>,
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
    pub(super) fn scan(s: &'a str) -> Option<NumberShape<'a>> {
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
    pub(super) fn as_decimal(&self) -> Option<DecimalMark> {
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
    pub(super) fn as_thousands(&self) -> Option<Sep> {
        let seps = self.seps();
        let &t = seps.first()?;
        (self.exponent.is_none() && seps.iter().all(|&s| s == t) && self.groups_of_three(self.len))
            .then_some(t)
    }

    /// Writes the plain form (`-1234.5e3`) that `str::parse::<f64>` reads.
    pub(super) fn write(&self, out: &mut NumberText, decimal: bool) {
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
pub(super) struct NumberText {
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

    pub(super) fn as_str(&self) -> &str {
        if self.spill.is_empty() {
            self.stack_str()
        } else {
            &self.spill
        }
    }
}
