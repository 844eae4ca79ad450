//! Words in cells: yes/no, product type and status, in English and the
//! Nordic languages, in any case.

use super::text::trim;
use crate::api::types::{ProductStatus, ProductType};

/// Whether `s`, lower-cased, equals the lower-case word `word`, without allocating.
fn is_word(s: &str, word: &str) -> bool {
    if s.is_ascii() {
        s.eq_ignore_ascii_case(word)
    } else {
        s.chars().flat_map(char::to_lowercase).eq(word.chars())
    }
}

fn is_any_word(s: &str, words: &[&str]) -> bool {
    // Most cells are ASCII: looked at once, not once per word.
    if s.is_ascii() {
        words.iter().any(|w| s.eq_ignore_ascii_case(w))
    } else {
        words.iter().any(|w| is_word(s, w))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
