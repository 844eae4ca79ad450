//! The registry of product fields: one entry per field with everything the
//! stages need to know of it. Mapping (header names), validation (kind and
//! limits), updates (how an emptied cell clears it), the template and the
//! export (its column and example) all read this table, so that adding a
//! field is one entry here. The sandbox keeps its own independent schema.
//! The fields themselves ([`Field`]) and their kinds ([`FieldKind`]) are
//! named here too, below every other file of the folder.

/// A field of the create-product payload that a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `name`
    Name,
    /// `number`
    Number,
    /// `type`
    Type,
    /// `status`
    Status,
    /// `description`
    Description,
    /// `costPrice`
    CostPrice,
    /// `salesPrice`
    SalesPrice,
    /// `indirectCost`
    IndirectCost,
    /// `webshopEnabled`
    WebshopEnabled,
    /// `stock.isManaged`
    StockIsManaged,
    /// `stock.quantity`
    StockQuantity,
    /// `stock.location`
    StockLocation,
    /// `ean`
    Ean,
    /// `eanAlternative`
    EanAlternative,
    /// `supplierProduct.itemCode`
    SupplierItemCode,
    /// `supplierProduct.number`
    SupplierNumber,
    /// `supplierProduct.name`
    SupplierName,
    /// `supplierProduct.price`
    SupplierPrice,
    /// `units.id`
    UnitsId,
    /// `category.id`
    CategoryId,
    /// `supplier.id`
    SupplierId,
    /// `category`: a category name or id.
    Category,
    /// `unit`: a unit name, symbol or id.
    Unit,
    /// `supplier`: a supplier name, organization number or id.
    Supplier,
}

/// What kind of value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text with a maximum length in characters.
    Text {
        /// Maximum number of characters.
        max: usize,
    },
    /// A non-negative finite number.
    Amount,
    /// A finite number (may be negative: stock quantity).
    Quantity,
    /// A boolean.
    Bool,
    /// A positive integer id.
    Id,
    /// A name or an id, resolved online.
    Reference,
    /// `default` or `structure`.
    ProductType,
    /// `active` or `inactive`.
    Status,
    /// A GTIN.
    Gtin,
    /// Digits only, with a maximum length.
    Digits {
        /// Maximum number of digits.
        max: usize,
    },
}

/// What an emptied cell of a field does under `--existing update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearing {
    /// The field is cleared (sent as `null`).
    Cleared,
    /// A price: refused while the product holds a non-zero value (write 0).
    PriceRefused,
    /// Cleared through another field (a unit by name clears `units.id`).
    Via(Field),
    /// Kept: the API cannot hold the field empty.
    Kept,
}

/// Everything known of one field.
#[derive(Debug)]
pub struct FieldSpec {
    /// The field.
    pub field: Field,
    /// The API's path, which is also the canonical header.
    pub path: &'static str,
    /// The kind of value and the vendor's limits.
    pub kind: FieldKind,
    /// Numbers typed into it are codes whose exact digits matter.
    pub code: bool,
    /// Help for the template's help sheet.
    pub help: &'static str,
    /// Built-in header names (normalized), in priority order: when two
    /// columns name the field, the earlier name fills it.
    pub aliases: &'static [&'static str],
    /// What an emptied cell does on update.
    pub clearing: Clearing,
    /// The template's and the export's example value; `None` when the field
    /// has no column of its own there (ids: the export writes names, or ids
    /// in the name columns).
    pub template: Option<&'static str>,
}

/// Every field, in payload order (the order of [`Field::ALL`]).
pub static FIELDS: [FieldSpec; Field::COUNT] = [
    FieldSpec {
        field: Field::Name,
        path: "name",
        kind: FieldKind::Text { max: 150 },
        code: false,
        help: "Product name. Required.",
        aliases: &[
            "productname",
            "itemname",
            "product",
            "title",
            "articlename",
            "varenavn",
            "navn",
            "produktnavn",
            "artikkelnavn",
            "benevnelse",
            "varebetegnelse",
            "betegnelse",
            "produktnamn",
            "artikelnamn",
            "benamning",
            "namn",
            "varenavn",
            "artikelnavn",
        ],
        clearing: Clearing::Kept,
        template: Some("White shoe laces"),
    },
    FieldSpec {
        field: Field::Number,
        path: "number",
        kind: FieldKind::Text { max: 100 },
        code: true,
        help: "Your own product number; used to find the product again on re-runs.",
        aliases: &[
            "productnumber",
            "productno",
            "itemnumber",
            "itemno",
            "sku",
            "variantsku",
            "internalreference",
            "articlenumber",
            "articleno",
            "artno",
            "partnumber",
            "partno",
            "productcode",
            "itemcode",
            "varenummer",
            "varenr",
            "artikkelnummer",
            "artikkelnr",
            "artnr",
            "produktnummer",
            "produktnr",
            "artikelnummer",
            "artikelnr",
            "nummer",
            "nr",
            "varekode",
        ],
        clearing: Clearing::Cleared,
        template: Some("SH-1001"),
    },
    FieldSpec {
        field: Field::Type,
        path: "type",
        kind: FieldKind::ProductType,
        code: false,
        help: "default or structure (a bundle of other products).",
        aliases: &[
            "producttype",
            "varetype",
            "produkttype",
            "typ",
            "produkttyp",
            "artikeltyp",
        ],
        clearing: Clearing::Kept,
        template: Some("default"),
    },
    FieldSpec {
        field: Field::Status,
        path: "status",
        kind: FieldKind::Status,
        code: false,
        help: "active or inactive.",
        aliases: &[
            "productstatus",
            "varestatus",
            "produktstatus",
            "artikelstatus",
        ],
        clearing: Clearing::Kept,
        template: Some("active"),
    },
    FieldSpec {
        field: Field::Description,
        path: "description",
        kind: FieldKind::Text { max: 500 },
        code: false,
        help: "Free text.",
        aliases: &[
            "desc",
            "longdescription",
            "productdescription",
            "bodyhtml",
            "beskrivelse",
            "produktbeskrivelse",
            "varebeskrivelse",
            "beskrivning",
            "produktbeskrivning",
        ],
        clearing: Clearing::Cleared,
        template: Some("Cotton laces, 120 cm"),
    },
    FieldSpec {
        field: Field::CostPrice,
        path: "costPrice",
        kind: FieldKind::Amount,
        code: false,
        help: "Cost price. Numbers like 1 234,50 or 1,234.50; currency words are ignored.",
        aliases: &[
            "cost",
            "purchaseprice",
            "costprice",
            "costperitem",
            "innpris",
            "innkjopspris",
            "kostpris",
            "inkopspris",
            "indkobspris",
            "kostnadspris",
        ],
        clearing: Clearing::PriceRefused,
        template: Some("12.50"),
    },
    FieldSpec {
        field: Field::SalesPrice,
        path: "salesPrice",
        kind: FieldKind::Amount,
        code: false,
        help: "Sales price.",
        aliases: &[
            "price",
            "regularprice",
            "variantprice",
            "pricetaxexcluded",
            "unitprice",
            "retailprice",
            "listprice",
            "utpris",
            "salgspris",
            "pris",
            "utsalgspris",
            "forsaljningspris",
            "listpris",
            "salgpris",
            "salgsprisekskmva",
            "prisekskmva",
            // A sale price is often a temporary discount: the last choice.
            "saleprice",
        ],
        clearing: Clearing::PriceRefused,
        template: Some("39.90"),
    },
    FieldSpec {
        field: Field::IndirectCost,
        path: "indirectCost",
        kind: FieldKind::Amount,
        code: false,
        help: "Indirect cost.",
        aliases: &[
            "indirectcosts",
            "indirektekostnader",
            "indirektkostnad",
            "indirektekostnad",
            "indirektkost",
            "indirekteomkostninger",
        ],
        clearing: Clearing::PriceRefused,
        template: Some("0"),
    },
    FieldSpec {
        field: Field::WebshopEnabled,
        path: "webshopEnabled",
        kind: FieldKind::Bool,
        code: false,
        help: "Show in the webshop: yes/no, ja/nei, true/false, 1/0, x.",
        aliases: &[
            "webshop",
            "onlineshop",
            "showinwebshop",
            "nettbutikk",
            "visinettbutikk",
            "webbutikk",
            "webbutik",
            "nettbutik",
        ],
        clearing: Clearing::Kept,
        template: Some("yes"),
    },
    FieldSpec {
        field: Field::StockIsManaged,
        path: "stock.isManaged",
        kind: FieldKind::Bool,
        code: false,
        help: "Whether stock is managed: yes/no.",
        aliases: &[
            "stockmanaged",
            "managedstock",
            "managestock",
            "lagerstyrt",
            "lagerfort",
            "lagerstyrd",
            "lagerstyring",
        ],
        clearing: Clearing::Kept,
        template: Some("yes"),
    },
    FieldSpec {
        field: Field::StockQuantity,
        path: "stock.quantity",
        kind: FieldKind::Quantity,
        code: false,
        help: "Quantity on hand.",
        aliases: &[
            "quantity",
            "qty",
            "onhand",
            "stock",
            "stocklevel",
            "variantinventoryqty",
            "beholdning",
            "lagerbeholdning",
            "antall",
            "antal",
            "lagersaldo",
            "saldo",
            "lager",
            "pålager",
            "palager",
            "lagerantall",
            // Often a yes/no flag: the last choice, and checked against its values.
            "instock",
        ],
        clearing: Clearing::Kept,
        template: Some("100"),
    },
    FieldSpec {
        field: Field::StockLocation,
        path: "stock.location",
        kind: FieldKind::Text { max: 500 },
        code: true,
        help: "Stock location (shelf, bin).",
        aliases: &[
            "location",
            "binlocation",
            "bin",
            "shelf",
            "lagerplass",
            "lagerplats",
            "hylleplass",
            "lagerplads",
            "hyllplats",
            "lokasjon",
        ],
        clearing: Clearing::Cleared,
        template: Some("A-12-3"),
    },
    FieldSpec {
        field: Field::Ean,
        path: "ean",
        kind: FieldKind::Gtin,
        code: true,
        help: "Barcode: a GTIN of 8, 12, 13 or 14 digits with a correct check digit.",
        aliases: &[
            "barcode",
            "variantbarcode",
            "gtin",
            "ean13",
            "eancode",
            "eannumber",
            "eannr",
            "upc",
            "strekkode",
            "streckkod",
            "stregkode",
            "eankode",
            "gtinnummer",
        ],
        clearing: Clearing::Cleared,
        template: Some("4006381333931"),
    },
    FieldSpec {
        field: Field::EanAlternative,
        path: "eanAlternative",
        kind: FieldKind::Digits { max: 25 },
        code: true,
        help: "Alternative barcode: digits only.",
        aliases: &[
            "alternativeean",
            "altean",
            "ean2",
            "eanalt",
            "alternativeBarcode",
            "alternativstrekkode",
            "alternativean",
            "ekstrastrekkode",
        ],
        clearing: Clearing::Cleared,
        template: Some(""),
    },
    FieldSpec {
        field: Field::SupplierItemCode,
        path: "supplierProduct.itemCode",
        kind: FieldKind::Text { max: 50 },
        code: true,
        help: "The supplier's item code.",
        aliases: &[
            "supplieritemcode",
            "vendoritemcode",
            "supplierproductcode",
            "leverandorvarekode",
            "leverandorensvarekode",
            "leverantorsartikelkod",
        ],
        clearing: Clearing::Cleared,
        template: Some("LACE-120"),
    },
    FieldSpec {
        field: Field::SupplierNumber,
        path: "supplierProduct.number",
        kind: FieldKind::Text { max: 50 },
        code: true,
        help: "The supplier's product number.",
        aliases: &[
            "supplierproductnumber",
            "supplierpartnumber",
            "vendorpartnumber",
            "supplierarticlenumber",
            "supplieritemnumber",
            "vendoritemnumber",
            "leverandorvarenummer",
            "leverandorvarenr",
            "leverandorensvarenummer",
            "leverandorensvarenr",
            "levvarenr",
            "levartnr",
            "leverantorensartikelnummer",
            "leverantorsartikelnummer",
            "leverandorensvarenummer",
        ],
        clearing: Clearing::Cleared,
        template: Some("SUP-99"),
    },
    FieldSpec {
        field: Field::SupplierName,
        path: "supplierProduct.name",
        kind: FieldKind::Text { max: 250 },
        code: false,
        help: "The supplier's product name.",
        aliases: &[
            "supplierproductname",
            "vendorproductname",
            "leverandorvarenavn",
            "leverandorensvarenavn",
            "leverantorensartikelnamn",
        ],
        clearing: Clearing::Cleared,
        template: Some("Laces white 120 cm"),
    },
    FieldSpec {
        field: Field::SupplierPrice,
        path: "supplierProduct.price",
        kind: FieldKind::Amount,
        code: false,
        help: "Purchase price from the supplier.",
        aliases: &[
            "supplierprice",
            "vendorprice",
            "supplierproductprice",
            "leverandorpris",
            "leverandorinnpris",
            "leverantorspris",
            "leverandorenspris",
        ],
        clearing: Clearing::PriceRefused,
        template: Some("11.00"),
    },
    FieldSpec {
        field: Field::UnitsId,
        path: "units.id",
        kind: FieldKind::Id,
        code: false,
        help: "Unit id (see the unit list in Finago Office).",
        aliases: &["unitid", "unitsid", "enhetid", "enhetsid", "enhedsid"],
        clearing: Clearing::Cleared,
        template: None,
    },
    FieldSpec {
        field: Field::CategoryId,
        path: "category.id",
        kind: FieldKind::Id,
        code: false,
        help: "Category id. A category (id, name or column category) is required.",
        aliases: &[
            "categoryid",
            "kategoriid",
            "varegruppeid",
            "produktgruppeid",
            "varugruppid",
        ],
        clearing: Clearing::Kept,
        template: None,
    },
    FieldSpec {
        field: Field::SupplierId,
        path: "supplier.id",
        kind: FieldKind::Id,
        code: false,
        help: "Supplier id (a customer marked as supplier).",
        aliases: &["supplierid", "vendorid", "leverandorid", "leverantorid"],
        clearing: Clearing::Cleared,
        template: None,
    },
    FieldSpec {
        field: Field::Category,
        path: "category",
        kind: FieldKind::Reference,
        code: false,
        help: "Category name or id; names are looked up when importing.",
        aliases: &[
            "category",
            "categories",
            "productcategory",
            "productgroup",
            "group",
            "itemgroup",
            "kategori",
            "varegruppe",
            "produktgruppe",
            "produktkategori",
            "varugrupp",
            "varegruppenr",
            "varegruppenummer",
            "varekategori",
        ],
        clearing: Clearing::Kept,
        template: Some("Accessories"),
    },
    FieldSpec {
        field: Field::Unit,
        path: "unit",
        kind: FieldKind::Reference,
        code: false,
        help: "Unit name, symbol (stk, kg) or id; looked up when importing.",
        aliases: &[
            "unit",
            "units",
            "uom",
            "unitofmeasure",
            "enhet",
            "enhed",
            "maleenhet",
            "salgsenhet",
            "maltenhet",
        ],
        clearing: Clearing::Via(Field::UnitsId),
        template: Some("stk"),
    },
    FieldSpec {
        field: Field::Supplier,
        path: "supplier",
        kind: FieldKind::Reference,
        code: false,
        help: "Supplier name, organization number or id; looked up when importing.",
        aliases: &[
            "supplier",
            "vendor",
            "leverandor",
            "leverantor",
            "supplierorgnr",
            "leverandornavn",
        ],
        clearing: Clearing::Via(Field::SupplierId),
        template: Some(""),
    },
];

/// The template's (and the export's) columns in order: the fields that have
/// one, in payload order, with their example.
pub fn template_columns() -> impl Iterator<Item = (Field, &'static str)> {
    FIELDS
        .iter()
        .filter_map(|spec| spec.template.map(|example| (spec.field, example)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_field_order() {
        for (i, spec) in FIELDS.iter().enumerate() {
            assert_eq!(spec.field, Field::ALL[i], "{}", spec.path);
        }
    }
}
