//! Mapping the file's column headers to API fields: built-in header names in
//! English, Norwegian, Swedish and Danish, plus an optional TOML mapping file
//! with explicit columns, constants and ignored columns.

mod file;
mod headers;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use self::file::Explicit;
pub use self::file::{Constant, MappingError, MappingFile};
pub use self::headers::{match_header, normalize_header};

/// The leading columns of every results file, in order; a results file read back
/// as input has them skipped.
pub const STATUS_COLUMNS: [&str; 7] = [
    "row",
    "sheet",
    "status",
    "id",
    "http_status",
    "trace_id",
    "error",
];

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

impl Field {
    /// Number of fields.
    pub const COUNT: usize = 24;

    /// Every field, in payload order.
    pub const ALL: [Field; Field::COUNT] = [
        Field::Name,
        Field::Number,
        Field::Type,
        Field::Status,
        Field::Description,
        Field::CostPrice,
        Field::SalesPrice,
        Field::IndirectCost,
        Field::WebshopEnabled,
        Field::StockIsManaged,
        Field::StockQuantity,
        Field::StockLocation,
        Field::Ean,
        Field::EanAlternative,
        Field::SupplierItemCode,
        Field::SupplierNumber,
        Field::SupplierName,
        Field::SupplierPrice,
        Field::UnitsId,
        Field::CategoryId,
        Field::SupplierId,
        Field::Category,
        Field::Unit,
        Field::Supplier,
    ];

    /// The canonical header: the API's field path.
    pub fn path(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Number => "number",
            Field::Type => "type",
            Field::Status => "status",
            Field::Description => "description",
            Field::CostPrice => "costPrice",
            Field::SalesPrice => "salesPrice",
            Field::IndirectCost => "indirectCost",
            Field::WebshopEnabled => "webshopEnabled",
            Field::StockIsManaged => "stock.isManaged",
            Field::StockQuantity => "stock.quantity",
            Field::StockLocation => "stock.location",
            Field::Ean => "ean",
            Field::EanAlternative => "eanAlternative",
            Field::SupplierItemCode => "supplierProduct.itemCode",
            Field::SupplierNumber => "supplierProduct.number",
            Field::SupplierName => "supplierProduct.name",
            Field::SupplierPrice => "supplierProduct.price",
            Field::UnitsId => "units.id",
            Field::CategoryId => "category.id",
            Field::SupplierId => "supplier.id",
            Field::Category => "category",
            Field::Unit => "unit",
            Field::Supplier => "supplier",
        }
    }

    /// The kind of value the field takes, with the vendor's limits.
    pub fn kind(self) -> FieldKind {
        match self {
            Field::Name => FieldKind::Text { max: 150 },
            Field::Number => FieldKind::Text { max: 100 },
            Field::Description => FieldKind::Text { max: 500 },
            Field::StockLocation => FieldKind::Text { max: 500 },
            Field::SupplierItemCode | Field::SupplierNumber => FieldKind::Text { max: 50 },
            Field::SupplierName => FieldKind::Text { max: 250 },
            Field::CostPrice | Field::SalesPrice | Field::IndirectCost | Field::SupplierPrice => {
                FieldKind::Amount
            }
            Field::StockQuantity => FieldKind::Quantity,
            Field::WebshopEnabled | Field::StockIsManaged => FieldKind::Bool,
            Field::UnitsId | Field::CategoryId | Field::SupplierId => FieldKind::Id,
            Field::Category | Field::Unit | Field::Supplier => FieldKind::Reference,
            Field::Type => FieldKind::ProductType,
            Field::Status => FieldKind::Status,
            Field::Ean => FieldKind::Gtin,
            Field::EanAlternative => FieldKind::Digits { max: 25 },
        }
    }

    /// Whether numbers typed into this field are really identifiers that must
    /// keep the exact digits a user sees (`7031234567890`, never `7.03E+12`).
    pub fn is_code(self) -> bool {
        matches!(
            self,
            Field::Number
                | Field::Ean
                | Field::EanAlternative
                | Field::SupplierItemCode
                | Field::SupplierNumber
                | Field::StockLocation
        )
    }

    /// Short explanation for the template's help sheet and `--help` texts.
    pub fn help(self) -> &'static str {
        match self {
            Field::Name => "Product name. Required.",
            Field::Number => "Your own product number; used to find the product again on re-runs.",
            Field::Type => "default or structure (a bundle of other products).",
            Field::Status => "active or inactive.",
            Field::Description => "Free text.",
            Field::CostPrice => {
                "Cost price. Numbers like 1 234,50 or 1,234.50; currency words are ignored."
            }
            Field::SalesPrice => "Sales price.",
            Field::IndirectCost => "Indirect cost.",
            Field::WebshopEnabled => "Show in the webshop: yes/no, ja/nei, true/false, 1/0, x.",
            Field::StockIsManaged => "Whether stock is managed: yes/no.",
            Field::StockQuantity => "Quantity on hand.",
            Field::StockLocation => "Stock location (shelf, bin).",
            Field::Ean => "Barcode: a GTIN of 8, 12, 13 or 14 digits with a correct check digit.",
            Field::EanAlternative => "Alternative barcode: digits only.",
            Field::SupplierItemCode => "The supplier's item code.",
            Field::SupplierNumber => "The supplier's product number.",
            Field::SupplierName => "The supplier's product name.",
            Field::SupplierPrice => "Purchase price from the supplier.",
            Field::UnitsId => "Unit id (see the unit list in Finago Office).",
            Field::CategoryId => {
                "Category id. A category (id, name or column category) is required."
            }
            Field::SupplierId => "Supplier id (a customer marked as supplier).",
            Field::Category => "Category name or id; names are looked up when importing.",
            Field::Unit => "Unit name, symbol (stk, kg) or id; looked up when importing.",
            Field::Supplier => {
                "Supplier name, organization number or id; looked up when importing."
            }
        }
    }

    /// Parses a field path as written in a mapping file (case and separators ignored).
    pub fn from_path(s: &str) -> Option<Field> {
        let key = normalize_header(s);
        Field::ALL
            .into_iter()
            .find(|f| normalize_header(f.path()) == key)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// Headers the importer writes itself and ignores when a file comes back:
/// the product id of `export`, the `error` column of a rejects file.
pub const INFORMATIONAL: [&str; 2] = ["id", "error"];

/// What one input column is used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRole {
    /// Fills a field.
    Field(Field),
    /// Left out on purpose (mapping file `ignore`).
    Ignored,
    /// A leading status column of a results file read back as input.
    ResultsColumn,
    /// Maps to a field that an earlier column already fills.
    Duplicate(Field),
    /// Not recognised.
    Unknown,
}

/// How a file's columns map to payload fields: the resolved mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMapping {
    /// Header of each input column as written.
    pub headers: Vec<String>,
    /// Role of each input column.
    pub roles: Vec<ColumnRole>,
    /// Constants from the mapping file.
    pub constants: Vec<Constant>,
    /// Mapping-file columns that are not in the file.
    pub missing_mapped: Vec<String>,
    fields: [Option<usize>; Field::COUNT],
}

impl ColumnMapping {
    /// Builds the mapping for `headers`, applying the mapping file if any.
    /// `file` is only used in error messages.
    pub fn build(
        file: &Path,
        headers: &[String],
        mapping_file: Option<(&Path, &MappingFile)>,
    ) -> Result<ColumnMapping, MappingError> {
        let Explicit {
            columns: explicit,
            constants,
            ignore,
        } = match mapping_file {
            Some((path, m)) => m.resolve(path)?,
            None => Explicit::default(),
        };
        let (roles, fields) = column_roles(headers, &explicit, &ignore);
        let missing_mapped = explicit
            .keys()
            .filter(|h| !headers.iter().any(|x| x.trim() == h.as_str()))
            .cloned()
            .collect();

        let mapping = ColumnMapping {
            headers: headers.to_vec(),
            roles,
            constants,
            missing_mapped,
            fields,
        };
        if mapping.column(Field::Name).is_none() && mapping.constant(Field::Name).is_none() {
            return Err(MappingError::NoNameColumn {
                file: file.to_path_buf(),
                headers: if headers.is_empty() {
                    "(none)".to_string()
                } else {
                    headers
                        .iter()
                        .map(|h| format!("\"{h}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        }
        Ok(mapping)
    }

    /// The input column that fills `field`, if any.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.fields[field.index()]
    }

    /// The constant for `field`, if the mapping file gives one.
    pub fn constant(&self, field: Field) -> Option<&str> {
        self.constants
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.text.as_str())
    }

    /// Headers of columns that were not recognised.
    pub fn unknown_columns(&self) -> Vec<&str> {
        self.columns_with(|r| matches!(r, ColumnRole::Unknown))
    }

    /// Headers of columns ignored on purpose.
    pub fn ignored_columns(&self) -> Vec<&str> {
        self.columns_with(|r| matches!(r, ColumnRole::Ignored))
    }

    fn columns_with(&self, pred: impl Fn(&ColumnRole) -> bool) -> Vec<&str> {
        self.headers
            .iter()
            .zip(&self.roles)
            .filter(|(_, r)| pred(r))
            .map(|(h, _)| h.as_str())
            .collect()
    }
}

/// The role of each column, and the column of each field.
fn column_roles(
    headers: &[String],
    explicit: &BTreeMap<String, Option<Field>>,
    ignore: &[String],
) -> (Vec<ColumnRole>, [Option<usize>; Field::COUNT]) {
    let skip_results = headers.len() >= STATUS_COLUMNS.len()
        && headers
            .iter()
            .zip(STATUS_COLUMNS)
            .all(|(h, s)| h.trim() == s);
    let mut fields = [None; Field::COUNT];
    let mut roles = Vec::with_capacity(headers.len());
    for (i, header) in headers.iter().enumerate() {
        let trimmed = header.trim();
        let role = if skip_results && i < STATUS_COLUMNS.len() {
            ColumnRole::ResultsColumn
        } else if ignore.iter().any(|h| h == trimmed) {
            ColumnRole::Ignored
        } else {
            let field = match explicit.get(trimmed) {
                Some(None) => None,
                Some(Some(f)) => Some(*f),
                None => match_header(trimmed),
            };
            match (field, explicit.get(trimmed)) {
                (_, Some(None)) => ColumnRole::Ignored,
                (Some(f), _) if fields[f.index()].is_some() => ColumnRole::Duplicate(f),
                (Some(f), _) => {
                    fields[f.index()] = Some(i);
                    ColumnRole::Field(f)
                }
                // The `id` of an export and the `error` of a rejects
                // file: known, and left out on purpose.
                (None, None)
                    if INFORMATIONAL
                        .iter()
                        .any(|h| trimmed.eq_ignore_ascii_case(h)) =>
                {
                    ColumnRole::Ignored
                }
                (None, _) => ColumnRole::Unknown,
            }
        };
        roles.push(role);
    }
    (roles, fields)
}

impl fmt::Display for ColumnMapping {
    /// The mapping as the summary prints it: one line per column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .headers
            .iter()
            .map(|h| h.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for (header, role) in self.headers.iter().zip(&self.roles) {
            let shown = format!("\"{header}\"");
            match role {
                ColumnRole::Field(field) => writeln!(f, "  {shown:<w$} -> {field}", w = width + 2)?,
                ColumnRole::Ignored => writeln!(f, "  {shown:<w$} -> (ignored)", w = width + 2)?,
                ColumnRole::ResultsColumn => {}
                ColumnRole::Duplicate(field) => writeln!(
                    f,
                    "  {shown:<w$} -> (not used: another column already fills {field})",
                    w = width + 2
                )?,
                ColumnRole::Unknown => writeln!(
                    f,
                    "  {shown:<w$} -> (unknown column, not used)",
                    w = width + 2
                )?,
            }
        }
        for c in &self.constants {
            writeln!(
                f,
                "  constant {} = \"{}\" (when the column is missing or empty)",
                c.field, c.text
            )?;
        }
        for h in &self.missing_mapped {
            writeln!(
                f,
                "  note: the mapping file names column \"{h}\", which is not in the file"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn canonical_headers_match_ignoring_case_and_separators() {
        assert_eq!(match_header("name"), Some(Field::Name));
        assert_eq!(match_header("  NAME "), Some(Field::Name));
        assert_eq!(match_header("stock.quantity"), Some(Field::StockQuantity));
        assert_eq!(match_header("Stock Quantity"), Some(Field::StockQuantity));
        assert_eq!(
            match_header("supplier_product-item code"),
            Some(Field::SupplierItemCode)
        );
        assert_eq!(match_header("category.id"), Some(Field::CategoryId));
        assert_eq!(match_header("Category ID"), Some(Field::CategoryId));
        assert_eq!(match_header("costPrice"), Some(Field::CostPrice));
        assert_eq!(match_header("cost_price"), Some(Field::CostPrice));
    }

    #[test]
    fn common_english_and_norwegian_headers() {
        for (h, f) in [
            ("Product name", Field::Name),
            ("Item number", Field::Number),
            ("SKU", Field::Number),
            ("Barcode", Field::Ean),
            ("GTIN", Field::Ean),
            ("Cost price", Field::CostPrice),
            ("Price", Field::SalesPrice),
            ("On hand", Field::StockQuantity),
            ("Varenavn", Field::Name),
            ("Varenummer", Field::Number),
            ("Varenr", Field::Number),
            ("Varenr.", Field::Number),
            ("Innpris", Field::CostPrice),
            ("Utpris", Field::SalesPrice),
            ("Salgspris", Field::SalesPrice),
            ("Beholdning", Field::StockQuantity),
            ("Lagerplass", Field::StockLocation),
            ("Strekkode", Field::Ean),
            ("Kategori", Field::Category),
            ("Varegruppe", Field::Category),
            ("Enhet", Field::Unit),
            ("Leverandør", Field::Supplier),
            ("Leverantör", Field::Supplier),
            ("Streckkod", Field::Ean),
            ("Inköpspris", Field::CostPrice),
            ("Stregkode", Field::Ean),
            ("Beskrivelse", Field::Description),
        ] {
            assert_eq!(match_header(h), Some(f), "{h}");
        }
        assert_eq!(match_header("Farge"), None);
        assert_eq!(match_header(""), None);
    }

    #[test]
    fn every_field_path_round_trips() {
        for f in Field::ALL {
            assert_eq!(Field::from_path(f.path()), Some(f));
            assert_eq!(match_header(f.path()), Some(f));
        }
    }

    #[test]
    fn mapping_file_columns_constants_and_ignore() {
        let m: MappingFile = toml::from_str(
            r#"
            ignore = ["Intern"]
            [columns]
            "Benevnelse" = "name"
            "Kode" = "number"
            "Farge" = "ignore"
            [constants]
            "category.id" = 3
            status = "active"
            "#,
        )
        .unwrap();
        let h = headers(&["Benevnelse", "Kode", "Farge", "Intern", "Pris", "Whatever"]);
        let map =
            ColumnMapping::build(Path::new("f.csv"), &h, Some((Path::new("m.toml"), &m))).unwrap();
        assert_eq!(map.column(Field::Name), Some(0));
        assert_eq!(map.column(Field::Number), Some(1));
        assert_eq!(map.column(Field::SalesPrice), Some(4));
        assert_eq!(map.constant(Field::CategoryId), Some("3"));
        assert_eq!(map.constant(Field::Status), Some("active"));
        assert_eq!(map.ignored_columns(), vec!["Farge", "Intern"]);
        assert_eq!(map.unknown_columns(), vec!["Whatever"]);
    }

    #[test]
    fn mapping_file_rejects_unknown_fields_and_keys() {
        let m: MappingFile = toml::from_str("[columns]\n\"A\" = \"nme\"\n").unwrap();
        let err = ColumnMapping::build(
            Path::new("f.csv"),
            &headers(&["A"]),
            Some((Path::new("m.toml"), &m)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"nme\" is not a field"), "{err}");
        assert!(toml::from_str::<MappingFile>("colums = {}\n").is_err());
    }

    #[test]
    fn no_name_column_lists_headers() {
        let err =
            ColumnMapping::build(Path::new("f.csv"), &headers(&["Foo", "Pris"]), None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"Foo\", \"Pris\""), "{text}");
    }

    #[test]
    fn second_column_for_a_field_is_not_used() {
        let map =
            ColumnMapping::build(Path::new("f"), &headers(&["name", "Varenavn"]), None).unwrap();
        assert_eq!(map.roles[1], ColumnRole::Duplicate(Field::Name));
    }

    #[test]
    fn results_file_status_columns_are_skipped() {
        let mut h = headers(&STATUS_COLUMNS);
        h.extend(headers(&["name", "status"]));
        let map = ColumnMapping::build(Path::new("f"), &h, None).unwrap();
        assert_eq!(map.column(Field::Name), Some(7));
        assert_eq!(map.column(Field::Status), Some(8));
        assert_eq!(map.roles[2], ColumnRole::ResultsColumn);
    }
}
