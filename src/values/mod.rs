//! Interpreting cell text: numbers in the many ways spreadsheets and people
//! write them, booleans, product type and status words, GTIN check digits,
//! and cleaning of invisible characters.
//!
//! Everything here is called once per cell on files of millions of rows, so
//! the common paths do not allocate.
//!
//! [`numbers`] reads amounts and quantities, [`words`] yes/no and the type
//! and status words, [`text`] cleans text and finds control characters, and
//! [`gtin`] checks barcodes.

mod gtin;
mod html;
mod numbers;
mod text;
mod words;

pub use gtin::check_gtin;
pub use html::{cut_at_word, html_to_text, looks_like_html};
// `check_gtin`'s error type, at its old path though no caller names it yet.
#[allow(unused_imports)]
pub use gtin::GtinError;
pub use numbers::{decimal_evidence, parse_number, DecimalMark, NumberError};
pub use text::{
    clean_text, control_name, find_control, is_forbidden_control, is_plain_ascii, trim,
};
pub use words::{parse_bool, parse_product_type, parse_status};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use DecimalMark::Comma;

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
    }
}
