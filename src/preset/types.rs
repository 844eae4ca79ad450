//! What a preset is made of, shared by the preset's files: the platforms
//! ([`Preset`]), the rules each one is read by ([`PresetRules`],
//! [`ColumnRule`], [`CategorySyntax`], [`ShapeKind`]) and the header row
//! looked up by normalized name ([`HeaderSet`]). What a preset does with
//! them is in the folder's `mod.rs` and its other files.

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
