//! Interpreting cell text: numbers in the many ways spreadsheets and people
//! write them, booleans, product type and status words, GTIN check digits,
//! and cleaning of invisible characters.

use std::borrow::Cow;

use crate::api::types::{ProductStatus, ProductType};

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
    #[error("could be read as {as_thousands} or {as_decimal}; use --decimal comma|point to decide")]
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

/// Trims and cleans text: no-break spaces become spaces, zero-width characters
/// and BOMs are removed, surrounding white space is trimmed.
pub fn clean_text(s: &str) -> Cow<'_, str> {
    let _ = s;
    todo!()
}

/// What a number's text says about the decimal mark, when it decides it
/// unambiguously (`1 234,50` says comma, `12.5` says point, `1234` and `1,234` say nothing).
pub fn decimal_evidence(s: &str) -> Option<DecimalMark> {
    let _ = s;
    todo!()
}

/// Parses a number: decimal point or comma, thousands separators (space,
/// no-break space, `.`, `,`, `'`), currency words and symbols, the Nordic
/// `1 234,-`. `decimal` decides values that could be read two ways.
pub fn parse_number(s: &str, decimal: Option<DecimalMark>) -> Result<f64, NumberError> {
    let _ = (s, decimal);
    todo!()
}

/// Parses a boolean: true/false, yes/no, ja/nei, 1/0, x, in any case. `None` if not a boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    let _ = s;
    todo!()
}

/// Parses a product type word (default/structure and Norwegian forms).
pub fn parse_product_type(s: &str) -> Option<ProductType> {
    let _ = s;
    todo!()
}

/// Parses a status word (active/inactive, aktiv/inaktiv, utgått).
pub fn parse_status(s: &str) -> Option<ProductStatus> {
    let _ = s;
    todo!()
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
pub fn check_gtin(s: &str) -> Result<(), GtinError> {
    let _ = s;
    todo!()
}
