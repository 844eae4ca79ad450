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
mod types;

use std::fmt;

pub use types::{CategorySyntax, ColumnRule, HeaderSet, Preset, PresetRules, ShapeKind};

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

    /// Header rows, written comma-separated, and the preset each says.
    const HEADER_ROWS: &[(&str, Option<Preset>)] = &[
        (
            "Handle,Title,Body (HTML),Vendor,Variant SKU,Variant Price",
            Some(Preset::Shopify),
        ),
        (
            "ID,Type,SKU,Name,Published,Regular price,Parent",
            Some(Preset::WooCommerce),
        ),
        (
            "sku,store_view_code,product_type,categories,name,price",
            Some(Preset::Magento),
        ),
        (
            "Product ID,Active (0/1),Name *,Price tax excluded,Reference #",
            Some(Preset::PrestaShop),
        ),
        (
            "ID,Name,Product Type,Internal Reference,Sales Price",
            Some(Preset::Odoo),
        ),
        (
            "External ID,Name,Vendors/Vendor,Vendors/Price",
            Some(Preset::Odoo),
        ),
        (
            "category,name,sku,price,qty,description,attribute_set",
            Some(Preset::MagentoFixture),
        ),
        ("Varenavn,Pris,Kategori", None),
        ("sku,name,price,qty,category", None),
        ("name,number,salesPrice,category", Some(Preset::Template)),
        ("id,name,number,category", Some(Preset::Export)),
    ];

    #[test]
    fn each_platform_is_detected_from_its_header_row() {
        for (row, want) in HEADER_ROWS {
            let headers: Vec<String> = row.split(',').map(str::to_string).collect();
            assert_eq!(detect(&headers), *want, "{row}");
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
