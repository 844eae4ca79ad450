//! Each platform's rules as data. The column priorities follow each
//! platform's own importer: the regular price over a sale price, the price
//! without tax over the price with tax, SKU columns as the product number,
//! barcodes as the EAN, the stock quantity (never an in-stock flag).

use super::{CategorySyntax, ColumnRule, HeaderSet, Preset, PresetRules, ShapeKind};
use crate::mapping::Field;

/// The rules of `preset`.
pub(super) fn rules(preset: Preset) -> &'static PresetRules {
    match preset {
        Preset::Shopify => &SHOPIFY,
        Preset::WooCommerce => &WOOCOMMERCE,
        Preset::Magento => &MAGENTO,
        Preset::MagentoFixture => &MAGENTO_FIXTURE,
        Preset::PrestaShop => &PRESTASHOP,
        Preset::Odoo => &ODOO,
        Preset::Template => &TEMPLATE,
        Preset::Export => &EXPORT,
    }
}

const fn rule(field: Field, headers: &'static [&'static str]) -> ColumnRule {
    ColumnRule { field, headers }
}

/// Words for "not active" that every platform below uses one of.
const ACTIVE_01: &[(&str, &str)] = &[("1", "active"), ("0", "inactive")];

static SHOPIFY: PresetRules = PresetRules {
    title: "Shopify",
    detect: |h| h.all(&["Handle", "Title"]) && (h.has("Variant SKU") || h.has("Variant Price")),
    columns: &[
        rule(Field::Name, &["Title"]),
        rule(Field::Number, &["Variant SKU"]),
        rule(Field::Description, &["Body (HTML)"]),
        rule(Field::SalesPrice, &["Variant Price"]),
        rule(Field::CostPrice, &["Cost per item"]),
        rule(Field::Ean, &["Variant Barcode"]),
        rule(Field::StockQuantity, &["Variant Inventory Qty"]),
        rule(Field::Category, &["Product Category", "Type"]),
        rule(Field::Status, &["Status"]),
        rule(Field::WebshopEnabled, &["Published"]),
    ],
    unused: &[
        (
            "Handle",
            "groups a product's variants (each variant becomes a product)",
        ),
        (
            "Vendor",
            "the brand, not a supplier: Finago Office's supplier is whom you buy from",
        ),
        (
            "Variant Compare At Price",
            "the crossed-out \"compare at\" price; Variant Price is what the product sells for",
        ),
        ("Option1 Name", "used in the variant's name"),
        ("Option1 Value", "used in the variant's name"),
        ("Option2 Name", "used in the variant's name"),
        ("Option2 Value", "used in the variant's name"),
        ("Option3 Name", "used in the variant's name"),
        ("Option3 Value", "used in the variant's name"),
        (
            "Variant Inventory Tracker",
            "inventory tracking is not imported",
        ),
        (
            "Google Shopping / MPN",
            "a manufacturer part number, not this product's number",
        ),
    ],
    values: &[(
        Field::Status,
        &[
            ("active", "active"),
            ("draft", "inactive"),
            ("archived", "inactive"),
            ("unlisted", "inactive"),
        ],
    )],
    default_category: None,
    categories: CategorySyntax {
        lists: &[],
        levels: &['>'],
        root_first: false,
        digits_are_ids: false,
    },
    shape: ShapeKind::Shopify,
    builtin_names: false,
};

static WOOCOMMERCE: PresetRules = PresetRules {
    title: "WooCommerce",
    detect: |h| h.all(&["Type", "SKU", "Name"]) && h.has("Regular price"),
    columns: &[
        rule(Field::Name, &["Name"]),
        rule(Field::Number, &["SKU"]),
        rule(Field::Description, &["Description", "Short description"]),
        rule(Field::SalesPrice, &["Regular price"]),
        rule(Field::StockQuantity, &["Stock"]),
        rule(Field::Category, &["Categories"]),
        rule(Field::Status, &["Published"]),
        rule(Field::WebshopEnabled, &["Visibility in catalog"]),
        rule(Field::Ean, &["GTIN, UPC, EAN, or ISBN", "EAN", "GTIN"]),
    ],
    unused: &[
        (
            "ID",
            "WooCommerce's own id; variations name their parent by it",
        ),
        (
            "Type",
            "decides variants: variable parents are not created, their variations are",
        ),
        ("Parent", "links a variation to its parent product"),
        (
            "Sale price",
            "a temporary discount; Regular price is the price",
        ),
        (
            "In stock?",
            "a flag (1/0), not a quantity; Stock holds the quantity",
        ),
        (
            "Grouped products",
            "a grouped product only lists other products",
        ),
    ],
    values: &[
        (
            Field::Status,
            &[("1", "active"), ("0", "inactive"), ("-1", "inactive")],
        ),
        (
            Field::WebshopEnabled,
            &[
                ("visible", "yes"),
                ("catalog", "yes"),
                ("search", "yes"),
                ("hidden", "no"),
            ],
        ),
    ],
    default_category: Some("Uncategorized"),
    categories: CategorySyntax {
        lists: &[','],
        levels: &['>'],
        root_first: false,
        digits_are_ids: false,
    },
    shape: ShapeKind::WooCommerce,
    builtin_names: false,
};

static MAGENTO: PresetRules = PresetRules {
    title: "Magento 2",
    detect: |h| h.all(&["sku", "product_type", "name"]),
    columns: &[
        rule(Field::Name, &["name"]),
        rule(Field::Number, &["sku"]),
        rule(Field::Description, &["description", "short_description"]),
        rule(Field::SalesPrice, &["price"]),
        rule(Field::StockQuantity, &["qty"]),
        rule(Field::Category, &["categories"]),
        rule(Field::Status, &["product_online"]),
    ],
    unused: &[
        (
            "product_type",
            "decides variants: configurable parents are not created, their simple products are",
        ),
        ("special_price", "a temporary discount; price is the price"),
        (
            "is_in_stock",
            "a flag (1/0), not a quantity; qty holds the quantity",
        ),
        (
            "store_view_code",
            "rows for a store view repeat a product in another language",
        ),
        (
            "configurable_variations",
            "lists a configurable product's simple products",
        ),
    ],
    values: &[(
        Field::Status,
        &[("1", "active"), ("0", "inactive"), ("2", "inactive")],
    )],
    default_category: None,
    categories: CategorySyntax {
        lists: &[','],
        levels: &['/'],
        root_first: true,
        digits_are_ids: false,
    },
    shape: ShapeKind::Magento,
    builtin_names: false,
};

static MAGENTO_FIXTURE: PresetRules = PresetRules {
    title: "Magento 2 sample data",
    detect: |h| h.all(&["sku", "name", "price", "qty", "attribute_set"]),
    columns: &[
        rule(Field::Name, &["name"]),
        rule(Field::Number, &["sku"]),
        rule(Field::Description, &["description"]),
        rule(Field::SalesPrice, &["price"]),
        rule(Field::StockQuantity, &["qty"]),
        rule(Field::Category, &["category"]),
    ],
    unused: &[
        ("special_price", "a temporary discount; price is the price"),
        ("attribute_set", "Magento's attribute set"),
    ],
    values: &[],
    default_category: None,
    categories: CategorySyntax {
        lists: &['\n'],
        levels: &['/'],
        root_first: false,
        digits_are_ids: false,
    },
    shape: ShapeKind::Flat,
    builtin_names: false,
};

static PRESTASHOP: PresetRules = PresetRules {
    title: "PrestaShop",
    detect: |h| h.has("Name *") || (h.has("Reference #") && h.has_prefix("Price tax")),
    columns: &[
        rule(Field::Name, &["Name *", "Name"]),
        rule(Field::Number, &["Reference #"]),
        rule(Field::Description, &["Description", "Summary"]),
        rule(
            Field::SalesPrice,
            &["Price tax excluded", "Price tax excl."],
        ),
        rule(Field::CostPrice, &["Wholesale price"]),
        rule(Field::Ean, &["EAN13", "UPC"]),
        rule(Field::StockQuantity, &["Quantity"]),
        rule(Field::StockLocation, &["Stock location"]),
        rule(Field::Category, &["Categories (x,y,z...)"]),
        rule(Field::Status, &["Active (0/1)"]),
        rule(Field::Supplier, &["Supplier"]),
        rule(Field::SupplierNumber, &["Supplier reference #"]),
    ],
    unused: &[
        ("Product ID", "PrestaShop's own id"),
        (
            "Price tax included",
            "the price with tax; Price tax excluded is used",
        ),
        (
            "Price tax incl.",
            "the price with tax; Price tax excluded is used",
        ),
        (
            "Unit price",
            "a price per unit of measure (Unity), not the product's price",
        ),
        ("Manufacturer", "the brand, not a supplier"),
        (
            "MPN",
            "a manufacturer part number, not this product's number",
        ),
        ("On sale (0/1)", "a flag, not a price"),
    ],
    values: &[(Field::Status, ACTIVE_01)],
    default_category: Some("Home"),
    categories: CategorySyntax {
        lists: &[','],
        levels: &[],
        root_first: false,
        digits_are_ids: false,
    },
    shape: ShapeKind::Flat,
    builtin_names: false,
};

static ODOO: PresetRules = PresetRules {
    title: "Odoo",
    detect: |h| {
        h.has("Name")
            && (h.has("Internal Reference")
                || h.has_prefix("Vendors/")
                || h.has_prefix("seller_ids/")
                || (h.has("External ID") && h.has("Sales Price")))
    },
    columns: &[
        rule(Field::Name, &["Name"]),
        rule(Field::Number, &["Internal Reference", "default_code"]),
        rule(Field::Ean, &["Barcode"]),
        rule(Field::SalesPrice, &["Sales Price", "list_price"]),
        rule(Field::CostPrice, &["Cost", "standard_price"]),
        rule(
            Field::Description,
            &["Sale Description", "Description", "Sales Description"],
        ),
        rule(Field::Category, &["Product Category", "categ_id"]),
        rule(Field::Type, &["Product Type", "type"]),
        rule(Field::StockQuantity, &["Quantity On Hand", "qty_available"]),
        rule(
            Field::Supplier,
            &["Vendors/Vendor", "seller_ids/partner_id"],
        ),
        rule(Field::SupplierName, &["Vendors/Vendor Product Name"]),
        rule(Field::SupplierItemCode, &["Vendors/Vendor Product Code"]),
        rule(Field::SupplierPrice, &["Vendors/Price"]),
    ],
    unused: &[
        ("ID", "Odoo's external id"),
        ("External ID", "Odoo's external id"),
        ("Vendors/Quantity", "the vendor's minimum quantity"),
        ("Vendors/Start Date", "the vendor price's validity"),
        ("Vendors/End Date", "the vendor price's validity"),
        ("Vendors/Delivery Lead Time", "not a product field"),
    ],
    values: &[(
        Field::Type,
        &[
            ("consumable", "default"),
            ("storable", "default"),
            ("storable product", "default"),
            ("service", "default"),
            ("goods", "default"),
            ("combo", "structure"),
            ("consu", "default"),
            ("product", "default"),
        ],
    )],
    default_category: Some("All"),
    categories: CategorySyntax {
        lists: &[],
        levels: &['/'],
        root_first: false,
        digits_are_ids: false,
    },
    shape: ShapeKind::Odoo,
    builtin_names: false,
};

/// Whether every header is a field's path (the template's and export's own
/// headers), `id` allowed when `with_id`.
fn own_headers(h: &HeaderSet, with_id: bool) -> bool {
    use crate::mapping::normalize_header;
    let names = h.names();
    let is_field = |n: &String| Field::ALL.iter().any(|f| normalize_header(f.path()) == *n);
    names.len() >= 3
        && h.has("name")
        && (h.has("id") == with_id)
        && names
            .iter()
            .all(|n| is_field(n) || (with_id && n == "id") || n.is_empty())
}

static TEMPLATE: PresetRules = PresetRules {
    title: "product-import template",
    detect: |h| own_headers(h, false),
    columns: &[],
    unused: &[],
    values: &[],
    default_category: None,
    categories: CategorySyntax::GENERIC,
    shape: ShapeKind::Flat,
    builtin_names: true,
};

static EXPORT: PresetRules = PresetRules {
    title: "product-import export",
    detect: |h| own_headers(h, true),
    columns: &[],
    unused: &[],
    values: &[],
    default_category: None,
    categories: CategorySyntax::GENERIC,
    shape: ShapeKind::Flat,
    builtin_names: true,
};
