//! How a platform's rows become products: one product per sellable variant.
//!
//! The rule of each platform:
//!
//! - **Shopify**: the rows of one `Handle` are one product's variants. The
//!   first row carries the product (Title, Body, category, Status); each row
//!   with variant values (SKU, price, barcode, quantity or an option value)
//!   is a product of its own, named `Title - Option1 / Option2 / Option3`
//!   (just `Title` for a product whose only option is Shopify's
//!   `Default Title`), and takes the product's Body, category, Status and
//!   Published where its own cells are empty. A row of the handle with none
//!   of those is an image row: not a product, not an error.
//! - **WooCommerce**: a `variable` product only groups its variations and is
//!   not created; each `variation` (its `Parent` names the parent by SKU or
//!   by `id:N`) is a product that takes the parent's description, categories
//!   and status where its own are empty, and is named `Parent - values` when
//!   its own Name is empty. A `grouped` product only lists other products and
//!   is not created.
//! - **Magento 2**: a `configurable` (or `grouped`) product only groups its
//!   simple products, which are created with their own name, SKU, price and
//!   quantity. A row with a `store_view_code` repeats a product for a store
//!   view (another language) and is not a product.
//! - **Odoo**: a row with no name and no external id below a product is a
//!   continuation of it (another vendor line). Finago Office holds one
//!   supplier per product: the product's own row (its first vendor) is used.
//!
//! Rows that are not products are counted and listed in the summary, with
//! the reason; they are not in the results file (like empty rows).

use std::collections::HashMap;

use super::ShapeKind;
use crate::cell::CellRef;
use crate::mapping::{normalize_header, ColumnMapping, Field};
use crate::read::SourceRow;

/// What one row of a platform's file is.
#[derive(Debug, Clone, PartialEq)]
pub enum Shaped {
    /// A product: the row, plus the values it takes from its parent (or its
    /// variant name), which win over its own cells.
    Product {
        /// The row as read.
        row: SourceRow,
        /// Field values given by the variant model.
        overrides: Vec<(Field, String)>,
    },
    /// Not a product: an image row, a parent that only groups variants, a
    /// continuation line.
    NotProduct {
        /// The row's number.
        row: u64,
        /// Why, in words.
        reason: String,
    },
}

/// Fields a variant takes from its parent when its own cells are empty:
/// what describes the product, never what tells variants apart (number,
/// barcode, prices, stock).
const INHERITED: [Field; 8] = [
    Field::Description,
    Field::Category,
    Field::Status,
    Field::WebshopEnabled,
    Field::Type,
    Field::Unit,
    Field::Supplier,
    Field::CategoryId,
];

/// A parent's values: its name and the inherited fields' texts.
#[derive(Debug, Clone, Default)]
struct Parent {
    row: u64,
    name: String,
    key: String,
    inherited: Vec<(Field, String)>,
    /// Rows of the group seen so far.
    rows: u32,
}

/// Turns a platform's rows into products, one row at a time, keeping only
/// what the platform's variant model needs (the current group, and
/// WooCommerce's parents by SKU and id).
pub struct Shaper {
    kind: ShapeKind,
    mapping: ColumnMapping,
    /// Column of each header the shaping reads, by normalized header.
    columns: HashMap<String, usize>,
    current: Option<Parent>,
    parents: HashMap<String, Parent>,
}

impl Shaper {
    /// A shaper for a file mapped as `mapping`.
    pub fn new(kind: ShapeKind, mapping: &ColumnMapping) -> Shaper {
        let columns = mapping
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| (normalize_header(h), i))
            .rev()
            .collect();
        Shaper {
            kind,
            mapping: mapping.clone(),
            columns,
            current: None,
            parents: HashMap::new(),
        }
    }

    /// Whether every row is a product as it is (no variant model).
    pub fn is_flat(&self) -> bool {
        self.kind == ShapeKind::Flat
    }

    /// What `row` is.
    pub fn shape(&mut self, row: SourceRow) -> Shaped {
        match self.kind {
            ShapeKind::Flat => Shaped::Product {
                row,
                overrides: Vec::new(),
            },
            ShapeKind::Shopify => self.shopify(row),
            ShapeKind::WooCommerce => self.woocommerce(row),
            ShapeKind::Magento => self.magento(row),
            ShapeKind::Odoo => self.odoo(row),
        }
    }

    /// The trimmed text of the cell under `header`, empty when none.
    fn cell(&self, row: &SourceRow, header: &str) -> String {
        self.columns
            .get(&normalize_header(header))
            .and_then(|&c| row.cells.get(c))
            .map(|c| c.text().trim().to_string())
            .unwrap_or_default()
    }

    /// The text a field takes from `row`: its column, else its fallbacks.
    fn field_text(&self, row: &SourceRow, field: Field) -> Option<String> {
        self.mapping
            .columns_of(field)
            .filter_map(|c| row.cells.get(c))
            .find(|c| !c.is_blank())
            .map(|c: CellRef<'_>| c.text().trim().to_string())
    }

    /// The parent values of `row`, for its variants.
    fn parent_of(&self, row: &SourceRow, key: String, name: String) -> Parent {
        let inherited = INHERITED
            .iter()
            .filter_map(|&f| self.field_text(row, f).map(|t| (f, t)))
            .collect();
        Parent {
            row: row.number,
            name,
            key,
            inherited,
            rows: 0,
        }
    }

    /// The parent's values for the fields `row` leaves empty.
    fn inherit(&self, row: &SourceRow, parent: &Parent) -> Vec<(Field, String)> {
        parent
            .inherited
            .iter()
            .filter(|(f, _)| self.field_text(row, *f).is_none())
            .cloned()
            .collect()
    }

    fn shopify(&mut self, row: SourceRow) -> Shaped {
        let handle = self.cell(&row, "Handle");
        let title = self.cell(&row, "Title");
        let starts_group = self
            .current
            .as_ref()
            .is_none_or(|p| p.key != handle || (!title.is_empty() && handle.is_empty()));
        if starts_group {
            let parent = self.parent_of(&row, handle.clone(), title);
            self.current = Some(parent);
        }
        let Some(mut parent) = self.current.take() else {
            unreachable!("a group was just started")
        };
        parent.rows += 1;
        let variant_values = [
            "Variant SKU",
            "Variant Price",
            "Variant Barcode",
            "Variant Inventory Qty",
            "Option1 Value",
        ]
        .iter()
        .any(|h| !self.cell(&row, h).is_empty());
        let shaped = if parent.rows > 1 && !variant_values {
            Shaped::NotProduct {
                row: row.number,
                reason: format!(
                    "an image row of \"{}\" (row {}); images are not imported",
                    if parent.name.is_empty() {
                        &handle
                    } else {
                        &parent.name
                    },
                    parent.row
                ),
            }
        } else {
            let mut overrides = if parent.rows > 1 {
                self.inherit(&row, &parent)
            } else {
                Vec::new()
            };
            let values: Vec<String> = ["Option1 Value", "Option2 Value", "Option3 Value"]
                .iter()
                .map(|h| self.cell(&row, h))
                .collect();
            let default_only = values[0].eq_ignore_ascii_case("Default Title")
                && values[1..].iter().all(String::is_empty);
            let options: Vec<&str> = values
                .iter()
                .filter(|v| !v.is_empty())
                .map(String::as_str)
                .collect();
            if !parent.name.is_empty() {
                let name = if options.is_empty() || default_only {
                    parent.name.clone()
                } else {
                    format!("{} - {}", parent.name, options.join(" / "))
                };
                overrides.push((Field::Name, name));
            }
            Shaped::Product { row, overrides }
        };
        self.current = Some(parent);
        shaped
    }

    fn woocommerce(&mut self, row: SourceRow) -> Shaped {
        let kinds = self.cell(&row, "Type").to_ascii_lowercase();
        let has = |k: &str| kinds.split(',').any(|w| w.trim() == k);
        let name = self.cell(&row, "Name");
        if has("variable") {
            let sku = self.cell(&row, "SKU");
            let id = self.cell(&row, "ID");
            let parent = self.parent_of(&row, sku.clone(), name.clone());
            if !id.is_empty() {
                self.parents.insert(format!("id:{id}"), parent.clone());
            }
            if !sku.is_empty() {
                self.parents.insert(sku, parent);
            }
            return Shaped::NotProduct {
                row: row.number,
                reason: format!(
                    "\"{name}\" is a variable product: it groups its variations, which are created"
                ),
            };
        }
        if has("grouped") {
            return Shaped::NotProduct {
                row: row.number,
                reason: format!("\"{name}\" is a grouped product: it only lists other products"),
            };
        }
        let mut overrides = Vec::new();
        if has("variation") {
            let parent_key = self.cell(&row, "Parent");
            if let Some(parent) = self.parents.get(&parent_key) {
                overrides = self.inherit(&row, parent);
                if name.is_empty() && !parent.name.is_empty() {
                    let values: Vec<String> = (1..=3)
                        .map(|i| self.cell(&row, &format!("Attribute {i} value(s)")))
                        .filter(|v| !v.is_empty())
                        .collect();
                    let full = if values.is_empty() {
                        parent.name.clone()
                    } else {
                        format!("{} - {}", parent.name, values.join(", "))
                    };
                    overrides.push((Field::Name, full));
                }
            }
        }
        Shaped::Product { row, overrides }
    }

    fn magento(&mut self, row: SourceRow) -> Shaped {
        let kind = self.cell(&row, "product_type").to_ascii_lowercase();
        let sku = self.cell(&row, "sku");
        let view = self.cell(&row, "store_view_code");
        if kind == "configurable" || kind == "grouped" {
            return Shaped::NotProduct {
                row: row.number,
                reason: format!(
                    "\"{sku}\" is a {kind} product: it groups its simple products, which are created"
                ),
            };
        }
        if !view.is_empty() {
            return Shaped::NotProduct {
                row: row.number,
                reason: format!(
                    "the values of \"{sku}\" for store view \"{view}\"; the default values are imported"
                ),
            };
        }
        Shaped::Product {
            row,
            overrides: Vec::new(),
        }
    }

    fn odoo(&mut self, row: SourceRow) -> Shaped {
        let name = self.field_text(&row, Field::Name);
        let id = [self.cell(&row, "External ID"), self.cell(&row, "ID")]
            .into_iter()
            .find(|s| !s.is_empty());
        match (&name, &id, &self.current) {
            (None, None, Some(parent)) => Shaped::NotProduct {
                row: row.number,
                reason: format!(
                    "another vendor line of \"{}\" (row {}); Finago Office holds one supplier per product, the product's own row is used",
                    parent.name, parent.row
                ),
            },
            _ => {
                let parent = self.parent_of(&row, String::new(), name.unwrap_or_default());
                self.current = Some(parent);
                Shaped::Product {
                    row,
                    overrides: Vec::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::mapping::MappingInputs;
    use crate::preset::Preset;

    fn shaper(preset: Preset, headers: &[&str]) -> Shaper {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let inputs = MappingInputs {
            preset: Some(preset),
            ..MappingInputs::default()
        };
        let mapping = ColumnMapping::build_with(Path::new("f.csv"), &headers, inputs).unwrap();
        Shaper::new(preset.rules().shape, &mapping)
    }

    fn row(number: u64, cells: &[&str]) -> SourceRow {
        SourceRow::of_texts(number, cells)
    }

    fn name_of(shaped: &Shaped) -> Option<&str> {
        match shaped {
            Shaped::Product { overrides, .. } => overrides
                .iter()
                .find(|(f, _)| *f == Field::Name)
                .map(|(_, v)| v.as_str()),
            Shaped::NotProduct { .. } => None,
        }
    }

    #[test]
    fn shopify_groups_by_handle() {
        let mut s = shaper(
            Preset::Shopify,
            &[
                "Handle",
                "Title",
                "Status",
                "Option1 Name",
                "Option1 Value",
                "Variant SKU",
                "Variant Price",
                "Image Src",
            ],
        );
        let first = s.shape(row(
            2,
            &["tee", "Tee", "draft", "Size", "Small", "T-S", "10", "a.jpg"],
        ));
        assert_eq!(name_of(&first), Some("Tee - Small"));
        let second = s.shape(row(3, &["tee", "", "", "", "Large", "T-L", "11", ""]));
        assert_eq!(name_of(&second), Some("Tee - Large"));
        let Shaped::Product { overrides, .. } = &second else {
            panic!("a product")
        };
        assert!(overrides.contains(&(Field::Status, "draft".to_string())));
        let image = s.shape(row(4, &["tee", "", "", "", "", "", "", "b.jpg"]));
        assert!(
            matches!(&image, Shaped::NotProduct { reason, .. } if reason.contains("image row of \"Tee\" (row 2)")),
            "{image:?}"
        );
        let single = s.shape(row(
            5,
            &["hat", "Hat", "", "Title", "Default Title", "H-1", "5", ""],
        ));
        assert_eq!(name_of(&single), Some("Hat"));
    }

    #[test]
    fn woocommerce_variations_find_their_parent_by_sku_or_id() {
        let mut s = shaper(
            Preset::WooCommerce,
            &[
                "ID",
                "Type",
                "SKU",
                "Name",
                "Categories",
                "Parent",
                "Regular price",
                "Attribute 1 value(s)",
            ],
        );
        let parent = s.shape(row(
            2,
            &[
                "7",
                "variable",
                "tee",
                "Tee",
                "Clothing",
                "",
                "",
                "Red, Blue",
            ],
        ));
        assert!(matches!(parent, Shaped::NotProduct { .. }));
        let by_id = s.shape(row(
            3,
            &["8", "variation", "tee-r", "", "", "id:7", "10", "Red"],
        ));
        assert_eq!(name_of(&by_id), Some("Tee - Red"));
        let Shaped::Product { overrides, .. } = &by_id else {
            panic!("a product")
        };
        assert!(overrides.contains(&(Field::Category, "Clothing".to_string())));
        let by_sku = s.shape(row(
            4,
            &[
                "9",
                "variation",
                "tee-b",
                "Tee Blue",
                "",
                "tee",
                "10",
                "Blue",
            ],
        ));
        assert_eq!(name_of(&by_sku), None, "its own name is kept");
        let simple = s.shape(row(
            5,
            &[
                "10",
                "simple, downloadable",
                "cap",
                "Cap",
                "Hats",
                "",
                "5",
                "",
            ],
        ));
        assert!(matches!(simple, Shaped::Product { .. }));
    }

    #[test]
    fn odoo_continuation_rows_belong_to_the_product_above() {
        let mut s = shaper(
            Preset::Odoo,
            &[
                "External ID",
                "Name",
                "Internal Reference",
                "Vendors/Vendor",
            ],
        );
        assert!(matches!(
            s.shape(row(2, &["p1", "Desk", "D-1", "Wood Corner"])),
            Shaped::Product { .. }
        ));
        let more = s.shape(row(3, &["", "", "", "Ready Mat"]));
        assert!(
            matches!(&more, Shaped::NotProduct { reason, .. } if reason.contains("\"Desk\" (row 2)")),
            "{more:?}"
        );
    }
}
