//! A category cell read as the file writes categories ([`CategorySyntax`]):
//! several categories in one cell, paths of levels, a platform's root.
//!
//! The rule for a cell that lists several categories: the one with the most
//! levels is used (the most specific place in the tree), the first listed
//! among equals; the row's results say which, and how many were listed.
//! A platform's root (Magento's `Default Category`, the first level of each
//! of its paths) is dropped; a path that was only the root names nothing.

use super::checks::{shorten, RowCheck};
use super::{ProblemKind, Reference};
use crate::mapping::Field;
use crate::preset::CategorySyntax;

/// The most characters of one category name (the vendor's category name limit).
const MAX_NAME: usize = 250;

impl RowCheck<'_, '_> {
    /// The category the row names, by name, path or id.
    pub(super) fn category(&mut self) -> Option<Reference> {
        let text = self.raw_text(Field::Category)?;
        let syntax = self.rules.mapping.categories;
        if !syntax.root_first && !has_any(&text, syntax.lists) && !has_any(&text, syntax.levels) {
            // One name, the common case: no lists to split.
            // raw_text has trimmed it already.
            return self.single_category(&text, &syntax);
        }
        let paths = parse_paths(&text, &syntax);
        let chosen = choose(&paths)?;
        if paths.len() > 1 {
            self.notes.push(format!(
                "{} categories listed; \"{}\" is used (the one with the most levels, the first of equals)",
                paths.len(),
                chosen.join(" > ")
            ));
        }
        if let Some(long) = chosen.iter().find(|l| l.chars().count() > MAX_NAME) {
            let chars = long.chars().count();
            self.problem(
                Field::Category,
                Some(&shorten(long)),
                ProblemKind::TooLong,
                format!("is {chars} characters long; at most {MAX_NAME} are allowed"),
            );
            return None;
        }
        if let [name] = chosen.as_slice() {
            return self.single_category(name, &syntax);
        }
        Some(Reference::Path(chosen.clone()))
    }
}

impl RowCheck<'_, '_> {
    /// A category given by one name (or digits: an id where ids are allowed).
    fn single_category(&mut self, name: &str, syntax: &CategorySyntax) -> Option<Reference> {
        let Some(id) = parse_digits(name) else {
            return Some(Reference::Name(name.to_owned()));
        };
        if syntax.digits_are_ids {
            return Some(Reference::Id(id));
        }
        let platform = self
            .rules
            .mapping
            .preset
            .map_or_else(|| "the platform's".to_string(), |p| format!("a {p}"));
        self.problem(
            Field::Category,
            Some(name),
            ProblemKind::NotAllowed,
            format!("is {platform} category id, which means nothing in Finago Office; export the categories by name, or map a category.id column"),
        );
        None
    }
}

/// The categories a cell lists, each as its levels, roots dropped.
pub(crate) fn parse_paths(text: &str, syntax: &CategorySyntax) -> Vec<Vec<String>> {
    split_any(text, syntax.lists)
        .into_iter()
        .filter_map(|listed| {
            let mut levels: Vec<String> = split_any(listed, syntax.levels)
                .into_iter()
                .map(|l| l.to_string())
                .collect();
            if syntax.root_first && !levels.is_empty() {
                levels.remove(0);
            }
            (!levels.is_empty()).then_some(levels)
        })
        .collect()
}

/// The path with the most levels, the first of equals.
fn choose(paths: &[Vec<String>]) -> Option<&Vec<String>> {
    let mut best: Option<&Vec<String>> = None;
    for p in paths {
        if best.is_none_or(|b| p.len() > b.len()) {
            best = Some(p);
        }
    }
    best
}

/// Whether `text` holds any of `separators` (ASCII, as every syntax's are):
/// one pass over the bytes against a bit set.
fn has_any(text: &str, separators: &[char]) -> bool {
    let mut set = 0u128;
    for &c in separators {
        if c.is_ascii() {
            set |= 1 << (c as u32);
        }
    }
    set != 0 && text.bytes().any(|b| b < 128 && set & (1 << b) != 0)
}

/// `text` split at any of `separators`, pieces trimmed, empty ones dropped.
fn split_any<'a>(text: &'a str, separators: &[char]) -> Vec<&'a str> {
    text.split(separators)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A positive id written as digits (`12`, `12.0`).
fn parse_digits(text: &str) -> Option<i64> {
    let digits = text.strip_suffix(".0").unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|&id| id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::Preset;

    fn paths(text: &str, syntax: &CategorySyntax) -> Vec<Vec<String>> {
        parse_paths(text, syntax)
    }

    #[test]
    fn generic_paths_and_lists() {
        let g = CategorySyntax::GENERIC;
        assert_eq!(paths("Shoes", &g), vec![vec!["Shoes"]]);
        assert_eq!(
            paths("Clothing > Hoodies", &g),
            vec![vec!["Clothing", "Hoodies"]]
        );
        assert_eq!(paths("A/B/C", &g), vec![vec!["A", "B", "C"]]);
        assert_eq!(paths("Gear\nBags", &g), vec![vec!["Gear"], vec!["Bags"]]);
    }

    #[test]
    fn platform_forms() {
        let magento = Preset::Magento.rules().categories;
        assert_eq!(
            paths(
                "Default Category/Men/Tops/Hoodies & Sweatshirts,Default Category/Collections/Eco Friendly,Default Category",
                &magento
            ),
            vec![
                vec!["Men", "Tops", "Hoodies & Sweatshirts"],
                vec!["Collections", "Eco Friendly"]
            ]
        );
        let woo = Preset::WooCommerce.rules().categories;
        assert_eq!(
            paths("Clothing > Hoodies, Clothing", &woo),
            vec![vec!["Clothing", "Hoodies"], vec!["Clothing"]]
        );
        let parsed = parse_paths("Clothing, Clothing > Hoodies, Decor > Wall", &woo);
        assert_eq!(
            choose(&parsed).unwrap(),
            &vec!["Clothing".to_string(), "Hoodies".to_string()]
        );
    }
}
