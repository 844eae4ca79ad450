//! Platform presets: how the exports of Shopify, WooCommerce, Magento 2,
//! PrestaShop and Odoo (and this tool's own template and export) map to
//! product fields, read the way each platform's own importer reads them.
//!
//! A preset is data ([`PresetRules`]): for each field, the platform's columns
//! in priority order (the first found fills the field, the next ones fill it
//! where the first is empty), the columns it leaves unused and why, value
//! maps for the platform's words (`draft` is `inactive`), a default category
//! where the platform has one, and how the platform writes category paths
//! ([`CategorySyntax`]). How the platform's variant rows become products is
//! [`shape`]. [`detect`] finds the preset from the header row.

pub mod fit;
mod platforms;
pub mod shape;

use std::fmt;

use crate::mapping::{normalize_header, Field};

/// A platform whose export the importer reads without a mapping file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Shopify's product CSV.
    Shopify,
    /// WooCommerce's product CSV exporter.
    WooCommerce,
    /// Magento 2's catalog product export.
    Magento,
    /// Magento 2's sample-data fixtures (`category,name,sku,price,qty,...,attribute_set`).
    MagentoFixture,
    /// PrestaShop's product import/export CSV.
    PrestaShop,
    /// Odoo's product export (`product.template`, with vendor lines).
    Odoo,
    /// This tool's own `template` workbook.
    Template,
    /// This tool's own `export` file.
    Export,
}

/// What `--preset` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PresetChoice {
    /// Detect the preset from the header row (the default).
    #[default]
    Auto,
    /// No preset: the built-in header names only.
    None,
    /// This preset, whatever the headers.
    Named(Preset),
}

impl Preset {
    /// Every preset, in the order detection tries them.
    pub const ALL: [Preset; 8] = [
        Preset::Shopify,
        Preset::WooCommerce,
        Preset::Magento,
        Preset::MagentoFixture,
        Preset::PrestaShop,
        Preset::Odoo,
        Preset::Export,
        Preset::Template,
    ];

    /// The name a user writes after `--preset`.
    pub fn key(self) -> &'static str {
        match self {
            Preset::Shopify => "shopify",
            Preset::WooCommerce => "woocommerce",
            Preset::Magento => "magento",
            Preset::MagentoFixture => "magento-fixture",
            Preset::PrestaShop => "prestashop",
            Preset::Odoo => "odoo",
            Preset::Template => "template",
            Preset::Export => "export",
        }
    }

    /// Parses a `--preset` value (`auto` and `none` are [`PresetChoice`]s).
    pub fn parse_choice(s: &str) -> Option<PresetChoice> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Some(PresetChoice::Auto),
            "none" => Some(PresetChoice::None),
            "magento2" | "magento-2" => Some(PresetChoice::Named(Preset::Magento)),
            "woo" => Some(PresetChoice::Named(Preset::WooCommerce)),
            _ => Preset::ALL
                .into_iter()
                .find(|p| p.key() == s)
                .map(PresetChoice::Named),
        }
    }

    /// The preset's rules.
    pub fn rules(self) -> &'static PresetRules {
        platforms::rules(self)
    }

    /// True for the platforms (not this tool's own files): their files get
    /// the migration defaults (long texts cut, bad optional values left out).
    pub fn is_platform(self) -> bool {
        !matches!(self, Preset::Template | Preset::Export)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rules().title)
    }
}

/// How a platform writes categories in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySyntax {
    /// What separates several categories in one cell.
    pub lists: &'static [char],
    /// What separates the levels of one category path.
    pub levels: &'static [char],
    /// The first level of every path is the platform's root category
    /// (Magento's `Default Category`) and is dropped.
    pub root_first: bool,
    /// Digits name a Finago Office category id. False where digits would be
    /// the platform's own ids, which mean nothing in Finago Office.
    pub digits_are_ids: bool,
}

impl CategorySyntax {
    /// Files without a preset: several categories one per line or split by
    /// `|`; levels split by `>` or `/`; digits are Finago Office ids.
    pub const GENERIC: CategorySyntax = CategorySyntax {
        lists: &['\n', '|'],
        levels: &['>', '/'],
        root_first: false,
        digits_are_ids: true,
    };
}

/// How a platform groups variants, and which rows are not products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// Every row is a product.
    Flat,
    /// Shopify: rows grouped by `Handle`.
    Shopify,
    /// WooCommerce: `variable` parents, `variation` rows naming their `Parent`.
    WooCommerce,
    /// Magento 2: `configurable` parents beside their simple products.
    Magento,
    /// Odoo: continuation rows (more vendor lines) below their product.
    Odoo,
}

/// One field's columns in a preset, in priority order.
#[derive(Debug, Clone, Copy)]
pub struct ColumnRule {
    /// The field.
    pub field: Field,
    /// Headers as the platform writes them; the first present fills the
    /// field, the next ones fill it where the earlier cells are empty.
    pub headers: &'static [&'static str],
}

/// A platform's export as the importer reads it.
#[derive(Debug)]
pub struct PresetRules {
    /// The platform's name, as printed.
    pub title: &'static str,
    /// Whether `headers` (normalized with [`normalize_header`]) look like
    /// this platform's export.
    pub detect: fn(&HeaderSet) -> bool,
    /// The columns of each field.
    pub columns: &'static [ColumnRule],
    /// Columns left unused on purpose, with the reason shown.
    pub unused: &'static [(&'static str, &'static str)],
    /// Words of the platform, per field, and what they mean here.
    pub values: &'static [(Field, &'static [(&'static str, &'static str)])],
    /// The category of rows that name none, where the platform has such a
    /// default (WooCommerce's `Uncategorized`, Odoo's `All`).
    pub default_category: Option<&'static str>,
    /// How categories are written.
    pub categories: CategorySyntax,
    /// How variants are grouped.
    pub shape: ShapeKind,
    /// Whether columns the preset does not name may still match the
    /// built-in header names (this tool's own files: yes; platforms: only a
    /// field's exact path, such as `category.id`).
    pub builtin_names: bool,
}

/// A file's headers, for detection: compared as written, ignoring case and
/// the spaces around them (`Name *` is not `Name`).
#[derive(Debug, Default)]
pub struct HeaderSet {
    exact: Vec<String>,
    names: Vec<String>,
}

impl HeaderSet {
    /// The set of `headers`.
    pub fn new(headers: &[String]) -> HeaderSet {
        HeaderSet {
            exact: headers.iter().map(|h| h.trim().to_lowercase()).collect(),
            names: headers.iter().map(|h| normalize_header(h)).collect(),
        }
    }

    /// Whether `header` is there, as written (case aside).
    pub fn has(&self, header: &str) -> bool {
        let key = header.trim().to_lowercase();
        self.exact.contains(&key)
    }

    /// Whether every one of `headers` is there.
    pub fn all(&self, headers: &[&str]) -> bool {
        headers.iter().all(|h| self.has(h))
    }

    /// Whether some header starts with `prefix` (case aside).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        let key = prefix.to_lowercase();
        self.exact.iter().any(|n| n.starts_with(&key))
    }

    /// The headers, normalized.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The preset for a file with these headers under `choice`.
pub fn choose(choice: PresetChoice, headers: &[String]) -> Option<Preset> {
    match choice {
        PresetChoice::None => None,
        PresetChoice::Named(p) => Some(p),
        PresetChoice::Auto => detect(headers),
    }
}

/// The preset whose signature the header row matches, if any.
pub fn detect(headers: &[String]) -> Option<Preset> {
    let set = HeaderSet::new(headers);
    Preset::ALL.into_iter().find(|p| (p.rules().detect)(&set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_platform_is_detected_from_its_header_row() {
        let cases = [
            (
                h(&[
                    "Handle",
                    "Title",
                    "Body (HTML)",
                    "Vendor",
                    "Variant SKU",
                    "Variant Price",
                ]),
                Some(Preset::Shopify),
            ),
            (
                h(&[
                    "ID",
                    "Type",
                    "SKU",
                    "Name",
                    "Published",
                    "Regular price",
                    "Parent",
                ]),
                Some(Preset::WooCommerce),
            ),
            (
                h(&[
                    "sku",
                    "store_view_code",
                    "product_type",
                    "categories",
                    "name",
                    "price",
                ]),
                Some(Preset::Magento),
            ),
            (
                h(&[
                    "Product ID",
                    "Active (0/1)",
                    "Name *",
                    "Price tax excluded",
                    "Reference #",
                ]),
                Some(Preset::PrestaShop),
            ),
            (
                h(&[
                    "ID",
                    "Name",
                    "Product Type",
                    "Internal Reference",
                    "Sales Price",
                ]),
                Some(Preset::Odoo),
            ),
            (
                h(&["External ID", "Name", "Vendors/Vendor", "Vendors/Price"]),
                Some(Preset::Odoo),
            ),
            (
                h(&[
                    "category",
                    "name",
                    "sku",
                    "price",
                    "qty",
                    "description",
                    "attribute_set",
                ]),
                Some(Preset::MagentoFixture),
            ),
            (h(&["Varenavn", "Pris", "Kategori"]), None),
            (h(&["sku", "name", "price", "qty", "category"]), None),
            (
                h(&["name", "number", "salesPrice", "category"]),
                Some(Preset::Template),
            ),
            (
                h(&["id", "name", "number", "category"]),
                Some(Preset::Export),
            ),
        ];
        for (headers, want) in cases {
            assert_eq!(detect(&headers), want, "{headers:?}");
        }
    }

    #[test]
    fn preset_choices_parse() {
        assert_eq!(Preset::parse_choice("auto"), Some(PresetChoice::Auto));
        assert_eq!(Preset::parse_choice("None"), Some(PresetChoice::None));
        assert_eq!(
            Preset::parse_choice("shopify"),
            Some(PresetChoice::Named(Preset::Shopify))
        );
        assert_eq!(
            Preset::parse_choice("magento2"),
            Some(PresetChoice::Named(Preset::Magento))
        );
        assert_eq!(Preset::parse_choice("bigcommerce"), None);
    }
}
