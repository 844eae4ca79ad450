//! Mapping the file's column headers to API fields: a platform preset
//! ([`crate::preset`]) where the headers show one, else the built-in header
//! names in English, Norwegian, Swedish and Danish; plus an optional TOML
//! mapping file with explicit columns, constants (always win), defaults (fill
//! empty cells), value maps and ignored columns.

mod fields;
mod file;
mod headers;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use self::fields::{template_columns, Clearing, Field, FieldKind, FieldSpec, FIELDS};
use self::file::Explicit;
pub use self::file::{Constant, MappingError, MappingFile};
#[cfg(test)]
pub use self::headers::match_header;
pub use self::headers::{match_header_ranked, normalize_header};
use crate::preset::{CategorySyntax, Preset, PresetRules};

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

    /// The field's entry in the registry ([`FIELDS`]).
    pub fn spec(self) -> &'static FieldSpec {
        &FIELDS[self.index()]
    }

    /// The canonical header: the API's field path.
    pub fn path(self) -> &'static str {
        self.spec().path
    }

    /// The kind of value the field takes, with the vendor's limits.
    pub fn kind(self) -> FieldKind {
        self.spec().kind
    }

    /// Whether numbers typed into this field are really identifiers that must
    /// keep the exact digits a user sees (`7031234567890`, never `7.03E+12`).
    pub fn is_code(self) -> bool {
        self.spec().code
    }

    /// Short explanation for the template's help sheet and `--help` texts.
    pub fn help(self) -> &'static str {
        self.spec().help
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
    /// Fills a field where the field's own column is empty (a preset's
    /// second choice, such as Shopify's `Type` for the category).
    Fallback(Field),
    /// Left unused on purpose by the preset, with the reason.
    Unused(String),
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
    /// Values for empty cells (mapping-file defaults, the preset's default
    /// category, `--default-category`).
    pub defaults: Vec<Constant>,
    /// The file's words per field and what they mean (lower-cased words).
    pub values: Vec<(Field, Vec<(String, String)>)>,
    /// The preset the file was read with, if any.
    pub preset: Option<Preset>,
    /// How category cells are written.
    pub categories: CategorySyntax,
    /// Mapping decisions worth saying (a constant over a column, ...).
    pub notes: Vec<String>,
    fields: [Option<usize>; Field::COUNT],
    /// Columns that fill a field where its column is empty, in order.
    fallbacks: Vec<(Field, usize)>,
}

/// What shapes a mapping besides the headers: the mapping file, the preset
/// and a default category from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct MappingInputs<'a> {
    /// The mapping file and its path.
    pub file: Option<(&'a Path, &'a MappingFile)>,
    /// The preset.
    pub preset: Option<Preset>,
    /// `--default-category`: a name or id for rows without one.
    pub default_category: Option<&'a str>,
}

impl ColumnMapping {
    /// Builds the mapping for `headers`, applying the mapping file if any.
    /// `file` is only used in error messages.
    pub fn build(
        file: &Path,
        headers: &[String],
        mapping_file: Option<(&Path, &MappingFile)>,
    ) -> Result<ColumnMapping, MappingError> {
        let inputs = MappingInputs {
            file: mapping_file,
            ..MappingInputs::default()
        };
        ColumnMapping::build_with(file, headers, inputs)
    }

    /// Builds the mapping for `headers` from a preset, a mapping file and a
    /// default category. The mapping file's columns win over the preset's.
    pub fn build_with(
        file: &Path,
        headers: &[String],
        inputs: MappingInputs<'_>,
    ) -> Result<ColumnMapping, MappingError> {
        let Explicit {
            columns: explicit,
            constants,
            mut defaults,
            mut values,
            ignore,
        } = match inputs.file {
            Some((path, m)) => m.resolve(path)?,
            None => Explicit::default(),
        };
        let rules = inputs.preset.map(Preset::rules);
        let (roles, fields, fallbacks) = column_roles(headers, &explicit, &ignore, inputs.preset);
        let missing_mapped = explicit
            .keys()
            .filter(|h| !headers.iter().any(|x| x.trim() == h.as_str()))
            .cloned()
            .collect();
        if let Some(rules) = rules {
            add_preset_values(&mut values, rules);
        }
        add_default_category(&mut defaults, inputs.default_category, rules);

        let mut mapping = ColumnMapping {
            headers: headers.to_vec(),
            roles,
            constants,
            missing_mapped,
            defaults,
            values,
            preset: inputs.preset,
            categories: rules.map_or(CategorySyntax::GENERIC, |r| r.categories),
            notes: Vec::new(),
            fields,
            fallbacks,
        };
        mapping.notes = mapping.decisions();
        if mapping.column(Field::Name).is_none() && mapping.constant(Field::Name).is_none() {
            return Err(no_name_column(file, headers));
        }
        Ok(mapping)
    }

    /// The decisions a user should read: constants that override a column.
    fn decisions(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for c in &self.constants {
            let overridden: Vec<&str> = partners(c.field)
                .iter()
                .chain(std::iter::once(&c.field))
                .filter_map(|&f| self.column(f))
                .map(|col| self.headers[col].as_str())
                .collect();
            for header in overridden {
                notes.push(format!(
                    "constant {} = \"{}\" is used on every row; column \"{header}\" is not used for it",
                    c.field, c.text
                ));
            }
        }
        notes
    }

    /// Demotes the column of `field` to unused, with the reason.
    pub fn leave_unused(&mut self, field: Field, reason: String) {
        if let Some(col) = self.fields[field.index()].take() {
            self.roles[col] = ColumnRole::Unused(reason);
        }
        if let Some(pos) = self.fallbacks.iter().position(|(f, _)| *f == field) {
            let (_, col) = self.fallbacks.remove(pos);
            self.fields[field.index()] = Some(col);
            self.roles[col] = ColumnRole::Field(field);
        }
    }

    /// Whether the columns alone decide every value: no constants,
    /// defaults, value maps or fallback columns.
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.constants.is_empty()
            && self.defaults.is_empty()
            && self.values.is_empty()
            && self.fallbacks.is_empty()
    }

    /// Whether any field has a fallback column.
    pub fn has_fallbacks(&self) -> bool {
        !self.fallbacks.is_empty()
    }

    /// The columns that fill `field`: its own, then its fallbacks in order.
    pub fn columns_of(&self, field: Field) -> impl Iterator<Item = usize> + '_ {
        self.column(field).into_iter().chain(
            self.fallbacks
                .iter()
                .filter(move |(f, _)| *f == field)
                .map(|(_, c)| *c),
        )
    }

    /// The default for `field`, if any.
    pub fn default_for(&self, field: Field) -> Option<&str> {
        self.defaults
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.text.as_str())
    }

    /// What the file's word `text` means for `field`, when a value map says.
    pub fn mapped_value(&self, field: Field, text: &str) -> Option<&str> {
        let (_, pairs) = self.values.iter().find(|(f, _)| *f == field)?;
        let key = text.trim();
        pairs
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(key))
            .map(|(_, m)| m.as_str())
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

/// The fields that name the same thing as `field` another way (a category
/// by id or by name): a default for one is not used where the other is filled,
/// and a constant for one overrides the other's column.
pub fn partners(field: Field) -> &'static [Field] {
    match field {
        Field::Category => &[Field::CategoryId],
        Field::CategoryId => &[Field::Category],
        Field::Unit => &[Field::UnitsId],
        Field::UnitsId => &[Field::Unit],
        Field::Supplier => &[Field::SupplierId],
        Field::SupplierId => &[Field::Supplier],
        _ => &[],
    }
}

/// The preset's words for the fields the mapping file gives none for.
fn add_preset_values(values: &mut Vec<(Field, Vec<(String, String)>)>, rules: &PresetRules) {
    for (field, pairs) in rules.values {
        if !values.iter().any(|(f, _)| f == field) {
            let pairs = pairs
                .iter()
                .map(|(w, m)| (w.to_string(), m.to_string()))
                .collect();
            values.push((*field, pairs));
        }
    }
}

/// The category of rows that name none: `--default-category` (a name, or
/// an id when all digits) over the mapping file's, and the mapping file's
/// over the preset's.
fn add_default_category(
    defaults: &mut Vec<Constant>,
    flag: Option<&str>,
    rules: Option<&PresetRules>,
) {
    let has_default = |defaults: &[Constant], f: Field| defaults.iter().any(|c| c.field == f);
    if let Some(text) = flag {
        let text = text.trim();
        let field = if text.bytes().all(|b| b.is_ascii_digit()) {
            Field::CategoryId
        } else {
            Field::Category
        };
        defaults.retain(|c| !matches!(c.field, Field::Category | Field::CategoryId));
        defaults.push(Constant {
            field,
            text: text.to_string(),
        });
    } else if let Some(name) = rules.and_then(|r| r.default_category) {
        if !has_default(defaults, Field::Category) && !has_default(defaults, Field::CategoryId) {
            defaults.push(Constant {
                field: Field::Category,
                text: name.to_string(),
            });
        }
    }
}

/// The error of a file with no column (and no constant) for the name.
fn no_name_column(file: &Path, headers: &[String]) -> MappingError {
    MappingError::NoNameColumn {
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
    }
}

type Roles = (
    Vec<ColumnRole>,
    [Option<usize>; Field::COUNT],
    Vec<(Field, usize)>,
);

/// The role of each column, the column of each field, and the fallbacks:
/// the mapping file's columns first, then the preset's, then the built-in
/// names.
fn column_roles(
    headers: &[String],
    explicit: &BTreeMap<String, Option<Field>>,
    ignore: &[String],
    preset: Option<Preset>,
) -> Roles {
    let mut assigned = Assigned::new(headers);
    assigned.assign_mapping_file(headers, explicit, ignore);
    let rules = preset.map(Preset::rules);
    if let Some(rules) = rules {
        assigned.assign_preset(headers, rules);
    }
    assigned.assign_builtin_names(headers, rules);
    (assigned.roles, assigned.fields, assigned.fallbacks)
}

/// The columns' roles and the fields' columns, while [`column_roles`]
/// assigns them.
struct Assigned {
    roles: Vec<ColumnRole>,
    fields: [Option<usize>; Field::COUNT],
    fallbacks: Vec<(Field, usize)>,
    /// The first column that may hold a field: after the status columns
    /// of a results file read back.
    first: usize,
}

impl Assigned {
    /// Nothing assigned yet, but a results file's status columns.
    fn new(headers: &[String]) -> Assigned {
        let skip_results = headers.len() >= STATUS_COLUMNS.len()
            && headers
                .iter()
                .zip(STATUS_COLUMNS)
                .all(|(h, s)| h.trim() == s);
        let mut roles = vec![ColumnRole::Unknown; headers.len()];
        let first = if skip_results {
            STATUS_COLUMNS.len()
        } else {
            0
        };
        for role in roles.iter_mut().take(first) {
            *role = ColumnRole::ResultsColumn;
        }
        Assigned {
            roles,
            fields: [None; Field::COUNT],
            fallbacks: Vec::new(),
            first,
        }
    }

    /// Whether column `i` has no role yet.
    fn free(&self, i: usize) -> bool {
        self.roles[i] == ColumnRole::Unknown
    }

    /// The mapping file's columns: it wins over everything.
    fn assign_mapping_file(
        &mut self,
        headers: &[String],
        explicit: &BTreeMap<String, Option<Field>>,
        ignore: &[String],
    ) {
        let (roles, fields) = (&mut self.roles, &mut self.fields);
        for (i, header) in headers.iter().enumerate().skip(self.first) {
            let trimmed = header.trim();
            if ignore.iter().any(|h| h == trimmed) {
                roles[i] = ColumnRole::Ignored;
            } else if let Some(target) = explicit.get(trimmed) {
                roles[i] = match target {
                    None => ColumnRole::Ignored,
                    Some(f) if fields[f.index()].is_some() => ColumnRole::Duplicate(*f),
                    Some(f) => {
                        fields[f.index()] = Some(i);
                        ColumnRole::Field(*f)
                    }
                };
            }
        }
    }

    /// The preset's columns, in its priority order, and the columns it
    /// leaves unused on purpose.
    fn assign_preset(&mut self, headers: &[String], rules: &PresetRules) {
        let keys: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
        let first = self.first;
        for rule in rules.columns {
            for wanted in rule.headers {
                let key = normalize_header(wanted);
                let Some(i) = (first..headers.len()).find(|&i| keys[i] == key && self.free(i))
                else {
                    continue;
                };
                if self.fields[rule.field.index()].is_none() {
                    self.fields[rule.field.index()] = Some(i);
                    self.roles[i] = ColumnRole::Field(rule.field);
                } else {
                    self.fallbacks.push((rule.field, i));
                    self.roles[i] = ColumnRole::Fallback(rule.field);
                }
            }
        }
        for (header, reason) in rules.unused {
            let key = normalize_header(header);
            for (i, k) in keys.iter().enumerate().skip(first) {
                if *k == key && self.free(i) {
                    self.roles[i] = ColumnRole::Unused(reason.to_string());
                }
            }
        }
    }

    /// The built-in names (for a platform preset: only a field's exact path).
    fn assign_builtin_names(&mut self, headers: &[String], rules: Option<&PresetRules>) {
        let builtin = rules.is_none_or(|r| r.builtin_names);
        // The rank of the built-in name that filled each field (see
        // `match_header_ranked`): a better-ranked column found later takes over.
        let mut ranks: [Option<usize>; Field::COUNT] = [None; Field::COUNT];
        for i in self.first..headers.len() {
            if !self.free(i) {
                continue;
            }
            let trimmed = headers[i].trim();
            let field = if builtin {
                match_header_ranked(trimmed)
            } else {
                Field::from_path(trimmed).map(|f| (f, 0))
            };
            let (roles, fields) = (&mut self.roles, &mut self.fields);
            roles[i] = match field {
                Some((f, rank)) if fields[f.index()].is_some() => {
                    match (ranks[f.index()], fields[f.index()]) {
                        (Some(old), Some(col)) if rank < old => {
                            roles[col] = ColumnRole::Duplicate(f);
                            fields[f.index()] = Some(i);
                            ranks[f.index()] = Some(rank);
                            ColumnRole::Field(f)
                        }
                        _ => ColumnRole::Duplicate(f),
                    }
                }
                Some((f, rank)) => {
                    fields[f.index()] = Some(i);
                    ranks[f.index()] = Some(rank);
                    ColumnRole::Field(f)
                }
                None => unmatched_role(trimmed, rules),
            };
        }
    }
}

/// The role of a column no field's name matches.
fn unmatched_role(trimmed: &str, rules: Option<&PresetRules>) -> ColumnRole {
    // The `id` of an export and the `error` of a rejects
    // file: known, and left out on purpose.
    if INFORMATIONAL
        .iter()
        .any(|h| trimmed.eq_ignore_ascii_case(h))
    {
        ColumnRole::Ignored
    } else if rules.is_some_and(|r| !r.builtin_names) {
        ColumnRole::Unused("no such product field in Finago Office".to_string())
    } else {
        ColumnRole::Unknown
    }
}

impl fmt::Display for ColumnMapping {
    /// The mapping as the summary prints it: one line per column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(preset) = self.preset {
            writeln!(
                f,
                "  preset: {preset} (--preset none reads the headers by name alone)"
            )?;
        }
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
                ColumnRole::Duplicate(field) => match self.column(*field) {
                    Some(col) => writeln!(
                        f,
                        "  {shown:<w$} -> (not used: \"{}\" fills {field}, by the documented priority)",
                        self.headers[col],
                        w = width + 2
                    )?,
                    None => writeln!(
                        f,
                        "  {shown:<w$} -> (not used: another column already fills {field})",
                        w = width + 2
                    )?,
                },
                ColumnRole::Fallback(field) => writeln!(
                    f,
                    "  {shown:<w$} -> {field}, where the column before it is empty",
                    w = width + 2
                )?,
                ColumnRole::Unused(reason) => {
                    writeln!(f, "  {shown:<w$} -> (not used: {reason})", w = width + 2)?
                }
                ColumnRole::Unknown => writeln!(
                    f,
                    "  {shown:<w$} -> (unknown column, not used)",
                    w = width + 2
                )?,
            }
        }
        for c in &self.constants {
            writeln!(f, "  constant {} = \"{}\" (on every row)", c.field, c.text)?;
        }
        for c in &self.defaults {
            writeln!(
                f,
                "  default {} = \"{}\" (where the row has none)",
                c.field, c.text
            )?;
        }
        for (field, pairs) in &self.values {
            let words: Vec<String> = pairs.iter().map(|(w, m)| format!("{w} = {m}")).collect();
            writeln!(f, "  values of {field}: {}", words.join(", "))?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
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
    fn between_two_columns_the_documented_priority_decides() {
        let map = ColumnMapping::build(
            Path::new("f"),
            &headers(&[
                "name",
                "Sale price",
                "Regular price",
                "In stock?",
                "Stock",
                "category",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(map.column(Field::SalesPrice), Some(2));
        assert_eq!(map.roles[1], ColumnRole::Duplicate(Field::SalesPrice));
        assert_eq!(map.column(Field::StockQuantity), Some(4));
        assert_eq!(map.roles[3], ColumnRole::Duplicate(Field::StockQuantity));
        let shown = map.to_string();
        assert!(
            shown.contains("\"Sale price\"    -> (not used: \"Regular price\" fills salesPrice, by the documented priority)"),
            "{shown}"
        );
        for (h, f) in [
            ("Variant SKU", Field::Number),
            ("Internal Reference", Field::Number),
            ("Variant Barcode", Field::Ean),
            ("Variant Price", Field::SalesPrice),
            ("Cost per item", Field::CostPrice),
            ("Body (HTML)", Field::Description),
        ] {
            assert_eq!(match_header(h), Some(f), "{h}");
        }
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
