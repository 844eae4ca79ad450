//! Turning a source row into a validated create-product payload, or into the
//! full list of what is wrong with it.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::types::{IdRef, NewProduct, Stock, SupplierProduct};
use crate::cell::restore_formula;
use crate::cell::{format_number, Cell};
use crate::duplicates::{KeyHasher, RepeatCandidates};
use crate::mapping::{ColumnMapping, Field, FieldKind};
use crate::read::SourceRow;
use crate::values::{self, DecimalMark};

/// A reference to a category, unit or supplier as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A numeric id, used as it is.
    Id(i64),
    /// A name (or unit symbol, or supplier organization number), resolved online by `import`.
    Name(String),
}

/// A validated row, ready to send once its references are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The payload. `category`, `units` and `supplier` are set when the file
    /// (or a mapping constant) gave an id; names are in the fields below.
    pub product: NewProduct,
    /// Category given by name, to resolve.
    pub category: Option<Reference>,
    /// Unit given by name or symbol, to resolve.
    pub unit: Option<Reference>,
    /// Supplier given by name or organization number, to resolve.
    pub supplier: Option<Reference>,
}

/// What kind of problem a [`Problem`] is, for grouping and for the notes of
/// an .xlsx results file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A required value is missing (the name).
    Empty,
    /// No category in the row, its columns or the mapping's constants.
    NoCategory,
    /// Longer than the API accepts.
    TooLong,
    /// Not a number, or not a finite one.
    NotANumber,
    /// A number that could be read two ways (`1,234`).
    AmbiguousDecimal,
    /// A negative amount.
    Negative,
    /// Not a valid GTIN/EAN barcode.
    Barcode,
    /// Not digits only.
    NotDigits,
    /// Not yes/no.
    NotYesNo,
    /// Not one of the allowed words (type, status).
    NotAllowed,
    /// Not a positive whole number id.
    NotAnId,
    /// A spreadsheet date where text or a number is needed.
    DateCell,
    /// A spreadsheet error value (`#N/A`).
    ErrorCell,
    /// The same number or barcode as an earlier row.
    Duplicate,
    /// More or fewer cells than the header.
    RowShape,
    /// A control character (NUL, DEL, C0 or C1) in the cell.
    ControlCharacter,
    /// A category, unit or supplier name the API does not know (import).
    UnknownName,
    /// A name the API client may not look up: a scope is missing (import).
    MissingScope,
    /// An emptied price cell whose product holds a price (import, update).
    EmptiedPrice,
}

impl ProblemKind {
    /// A short label, for tables.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::Empty => "empty",
            ProblemKind::NoCategory => "no category",
            ProblemKind::TooLong => "too long",
            ProblemKind::NotANumber => "not a number",
            ProblemKind::AmbiguousDecimal => "ambiguous decimal",
            ProblemKind::Negative => "negative",
            ProblemKind::Barcode => "bad barcode",
            ProblemKind::NotDigits => "not digits only",
            ProblemKind::NotYesNo => "not yes/no",
            ProblemKind::NotAllowed => "not an allowed value",
            ProblemKind::NotAnId => "not an id",
            ProblemKind::DateCell => "date cell",
            ProblemKind::ErrorCell => "error cell",
            ProblemKind::Duplicate => "duplicate",
            ProblemKind::RowShape => "wrong cell count",
            ProblemKind::ControlCharacter => "control character",
            ProblemKind::UnknownName => "unknown name",
            ProblemKind::MissingScope => "missing scope",
            ProblemKind::EmptiedPrice => "emptied price",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One problem with one row, as data: where it is, what was written and
/// what is wrong. Its text ([`Display`](fmt::Display)) is what the results
/// file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Spreadsheet row number.
    pub row: u64,
    /// The column header as written in the file (or the field, for mapping
    /// constants); for a missing category, the category column whose cell is
    /// empty, when there is one.
    pub column: Option<String>,
    /// The offending value as written.
    pub value: Option<String>,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong, in words a spreadsheet user understands.
    pub message: String,
}

impl Problem {
    /// The column the text names: a missing category's message says which
    /// columns to fill, so it names none.
    fn shown_column(&self) -> Option<&str> {
        match self.kind {
            ProblemKind::NoCategory => None,
            _ => self.column.as_deref(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.shown_column(), &self.value) {
            (Some(c), Some(v)) => write!(f, "column \"{c}\": \"{v}\" {}", self.message),
            (Some(c), None) => write!(f, "column \"{c}\": {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

/// Problems counted by column and kind, for the table `validate` ends with.
/// Memory is bounded by the number of distinct (column, kind) pairs.
#[derive(Debug, Clone, Default)]
pub struct ProblemTable {
    groups: Vec<ProblemGroup>,
}

/// One line of a [`ProblemTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemGroup {
    /// The column as written in the file; `None` for problems of the whole row.
    pub column: Option<String>,
    /// The kind of problem.
    pub kind: ProblemKind,
    /// How many times it occurs.
    pub count: u64,
    /// The first rows it occurs on, at most [`ProblemTable::ROWS_SHOWN`].
    pub rows: Vec<u64>,
}

impl ProblemTable {
    /// How many row numbers a line shows.
    pub const ROWS_SHOWN: usize = 5;

    /// Counts the problems of one row.
    pub fn add(&mut self, problems: &[Problem]) {
        for p in problems {
            let i = match self
                .groups
                .iter()
                .position(|g| g.kind == p.kind && g.column == p.column)
            {
                Some(i) => i,
                None => {
                    self.groups.push(ProblemGroup {
                        column: p.column.clone(),
                        kind: p.kind,
                        count: 0,
                        rows: Vec::new(),
                    });
                    self.groups.len() - 1
                }
            };
            let g = &mut self.groups[i];
            g.count += 1;
            if g.rows.len() < Self::ROWS_SHOWN && g.rows.last() != Some(&p.row) {
                g.rows.push(p.row);
            }
        }
    }

    /// The lines, most frequent first.
    pub fn groups(&self) -> Vec<&ProblemGroup> {
        let mut out: Vec<&ProblemGroup> = self.groups.iter().collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.count));
        out
    }

    /// True when no problem was counted.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

impl fmt::Display for ProblemTable {
    /// A compact table: column, problem, count, first rows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = self.groups();
        let column_of = |g: &ProblemGroup| match &g.column {
            Some(c) => shorten_to(c, 30),
            None => "(whole row)".to_string(),
        };
        let cw = groups
            .iter()
            .map(|g| column_of(g).chars().count())
            .chain(["column".len()])
            .max()
            .unwrap_or(0);
        let kw = groups
            .iter()
            .map(|g| g.kind.label().len())
            .chain(["problem".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "  {:<cw$}  {:<kw$}  {:>6}  first rows",
            "column", "problem", "count"
        )?;
        for g in groups {
            let mut rows = g
                .rows
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if g.count > g.rows.len() as u64 {
                rows.push_str(", ...");
            }
            writeln!(
                f,
                "  {:<cw$}  {:<kw$}  {:>6}  {rows}",
                column_of(g),
                g.kind.label(),
                g.count
            )?;
        }
        Ok(())
    }
}

/// A source row after validation: what goes to the submitter and the results file.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRow {
    /// Spreadsheet row number.
    pub row: u64,
    /// The row's cells as text, one per input column (for the results file).
    pub cells: Vec<String>,
    /// The payload, or every problem found.
    pub outcome: Result<Draft, Vec<Problem>>,
}

/// Options that change how cells are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Decimal mark for values that could be read two ways (`--decimal`).
    pub decimal: Option<DecimalMark>,
}

/// How many rows are read ahead to learn each number column's decimal mark.
pub const LEARN_ROWS: usize = 1000;

/// Turns source rows into [`PreparedRow`]s: interprets each mapped cell,
/// checks the vendor's limits, and finds duplicate numbers and barcodes.
pub struct Validator {
    mapping: ColumnMapping,
    options: ValidateOptions,
    /// Per input column: (comma evidence, point evidence) seen so far.
    evidence: Vec<(u32, u32)>,
    /// First row of each key seen (hash of field and text → row).
    seen: HashMap<u64, u64, NoHash>,
    hasher: KeyHasher,
    /// When known, the only keys that might repeat; others are not tracked.
    candidates: Option<RepeatCandidates>,
}

impl Validator {
    /// A validator for files whose columns map as `mapping` says.
    pub fn new(mapping: ColumnMapping, options: ValidateOptions) -> Validator {
        let width = mapping.headers.len();
        Validator {
            mapping,
            options,
            evidence: vec![(0, 0); width],
            seen: HashMap::default(),
            hasher: KeyHasher::default(),
            candidates: None,
        }
    }

    /// Learns each number column's decimal mark from the text of `row`
    /// (`1 234,50` says comma, `12.5` says point).
    pub fn learn(&mut self, row: &SourceRow) {
        if self.options.decimal.is_some() {
            return;
        }
        for field in Field::ALL {
            if !matches!(field.kind(), FieldKind::Amount | FieldKind::Quantity) {
                continue;
            }
            let Some(col) = self.mapping.column(field) else {
                continue;
            };
            if self.evidence[col] != (0, 0) {
                // Decided (or contradicted) already: more evidence changes nothing
                // for a decided column, and a contradicted one stays undecided.
                continue;
            }
            if let Some(Cell::Text(text)) = row.cells.get(col) {
                match values::decimal_evidence(text) {
                    Some(DecimalMark::Comma) => self.evidence[col].0 += 1,
                    Some(DecimalMark::Point) => self.evidence[col].1 += 1,
                    None => {}
                }
            }
        }
    }

    /// The decimal mark for a column: `--decimal`, else what its other values
    /// say when they agree.
    fn decimal_for(&self, col: Option<usize>) -> Option<DecimalMark> {
        if self.options.decimal.is_some() {
            return self.options.decimal;
        }
        match col.map(|c| self.evidence[c]) {
            Some((c, 0)) if c > 0 => Some(DecimalMark::Comma),
            Some((0, p)) if p > 0 => Some(DecimalMark::Point),
            _ => None,
        }
    }

    /// Validates one row. `row` must not be empty (callers skip and count those).
    pub fn validate(&mut self, row: SourceRow) -> PreparedRow {
        self.learn(&row);
        let mut check = RowCheck {
            validator: self,
            row: &row,
            problems: Vec::new(),
        };
        let draft = check.build();
        let mut problems = check.problems;
        // In the order of the columns, as a user reads the row.
        let headers = &self.mapping.headers;
        problems.sort_by_key(|p| {
            p.shown_column()
                .and_then(|c| headers.iter().position(|h| h == c))
                .unwrap_or(usize::MAX)
        });
        if problems.is_empty() {
            self.check_duplicates(row.number, &draft.product, &mut problems);
        }
        let outcome = if problems.is_empty() {
            Ok(draft)
        } else {
            Err(problems)
        };
        let cells = row
            .cells
            .into_iter()
            .map(|c| match c {
                Cell::Text(s) => s,
                other => other.text().into_owned(),
            })
            .collect();
        PreparedRow {
            row: row.number,
            cells,
            outcome,
        }
    }

    /// Tracks only the keys in `candidates` from now on: every other key is
    /// known to be unique in the file (see [`RepeatCandidates`]).
    pub fn limit_tracking_to(&mut self, candidates: RepeatCandidates) {
        self.candidates = Some(candidates);
    }

    /// The hasher both passes use for keys.
    pub fn key_hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    fn check_duplicates(&mut self, row: u64, product: &NewProduct, problems: &mut Vec<Problem>) {
        let keys = [
            (Field::Number, product.number.as_deref(), "product number"),
            (Field::Ean, product.ean.as_deref(), "barcode"),
        ];
        let mut new_keys = [None, None];
        for (i, (field, value, what)) in keys.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let hash = self.hasher.hash(field, value);
            if self.candidates.as_ref().is_some_and(|c| !c.contains(hash)) {
                continue;
            }
            match self.seen.get(&hash) {
                Some(first) => problems.push(Problem {
                    row,
                    column: self.column_name(field),
                    value: Some(value.to_string()),
                    kind: ProblemKind::Duplicate,
                    message: format!("is also on row {first}; each {what} may appear only once"),
                }),
                None => new_keys[i] = Some(hash),
            }
        }
        if problems.is_empty() {
            for hash in new_keys.into_iter().flatten() {
                self.seen.insert(hash, row);
            }
        }
    }

    fn column_name(&self, field: Field) -> Option<String> {
        Some(match self.mapping.column(field) {
            Some(col) => self.mapping.headers[col].clone(),
            None => field.path().to_string(),
        })
    }
}

/// A hasher for keys that already are hashes.
#[derive(Default, Clone, Copy)]
struct NoHash;

impl std::hash::BuildHasher for NoHash {
    type Hasher = NoHashHasher;
    fn build_hasher(&self) -> NoHashHasher {
        NoHashHasher(0)
    }
}

/// See [`NoHash`].
struct NoHashHasher(u64);

impl std::hash::Hasher for NoHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One cell's value after it was found, before interpretation.
enum Source<'a> {
    Cell(&'a Cell),
    Constant(&'a str),
}

/// The checks of one row, collecting every problem.
struct RowCheck<'v, 'r> {
    validator: &'v Validator,
    row: &'r SourceRow,
    problems: Vec<Problem>,
}

impl RowCheck<'_, '_> {
    /// The row's product and the references left to resolve online, with
    /// every problem found on the way.
    fn build(&mut self) -> Draft {
        self.check_shape();
        let product = self.product();
        let draft = self.references(product);
        self.require_name(&draft);
        self.require_category(&draft);
        draft
    }

    /// A row with fewer cells than the header, or filled cells beyond it.
    fn check_shape(&mut self) {
        let headers = self.validator.mapping.headers.len();
        let extra_filled = self.row.cells.iter().skip(headers).any(|c| !c.is_blank());
        if self.row.width < headers || extra_filled {
            self.problems.push(Problem {
                row: self.row.number,
                column: None,
                value: None,
                kind: ProblemKind::RowShape,
                message: format!(
                    "the row has {} cells but the header has {}; check for a missing or extra delimiter or quote",
                    self.row.width, headers
                ),
            });
        }
    }

    /// The product's fields read from the row, ids given as ids included.
    fn product(&mut self) -> NewProduct {
        let mut p = NewProduct {
            name: self.text(Field::Name),
            number: self.text(Field::Number),
            product_type: self.parsed(
                Field::Type,
                "must be default or structure",
                values::parse_product_type,
            ),
            status: self.parsed(
                Field::Status,
                "must be active or inactive",
                values::parse_status,
            ),
            description: self.text(Field::Description),
            cost_price: self.number(Field::CostPrice),
            sales_price: self.number(Field::SalesPrice),
            indirect_cost: self.number(Field::IndirectCost),
            webshop_enabled: self.boolean(Field::WebshopEnabled),
            ean: self.text(Field::Ean),
            ean_alternative: self.text(Field::EanAlternative),
            ..NewProduct::default()
        };
        let stock = Stock {
            is_managed: self.boolean(Field::StockIsManaged),
            quantity: self.number(Field::StockQuantity),
            location: self.text(Field::StockLocation),
        };
        p.stock = (!stock.is_empty()).then_some(stock);
        let supplier_product = SupplierProduct {
            item_code: self.text(Field::SupplierItemCode),
            number: self.text(Field::SupplierNumber),
            name: self.text(Field::SupplierName),
            price: self.number(Field::SupplierPrice),
        };
        p.supplier_product = (!supplier_product.is_empty()).then_some(supplier_product);
        p.units = self.id(Field::UnitsId).map(|id| IdRef { id });
        p.category = self.id(Field::CategoryId).map(|id| IdRef { id });
        p.supplier = self.id(Field::SupplierId).map(|id| IdRef { id });
        p
    }

    /// The category, unit and supplier given by name (or number) rather than
    /// by id, where no id was given.
    fn references(&mut self, p: NewProduct) -> Draft {
        let mut draft = Draft {
            product: p,
            category: None,
            unit: None,
            supplier: None,
        };
        if draft.product.category.is_none() {
            match self.reference(Field::Category, true) {
                Some(Reference::Id(id)) => draft.product.category = Some(IdRef { id }),
                other => draft.category = other,
            }
        }
        if draft.product.units.is_none() {
            match self.reference(Field::Unit, true) {
                Some(Reference::Id(id)) => draft.product.units = Some(IdRef { id }),
                other => draft.unit = other,
            }
        }
        if draft.product.supplier.is_none() {
            // Digits in a supplier column may be an id or an organization
            // number: they are resolved online.
            draft.supplier = self.reference(Field::Supplier, false);
        }
        draft
    }

    /// Every product needs a name: an empty one is a problem unless its
    /// cell already has one.
    fn require_name(&mut self, draft: &Draft) {
        if draft.product.name.is_none() && !self.has_problem(Field::Name) {
            self.problem(
                Field::Name,
                None,
                ProblemKind::Empty,
                "is empty; every product needs a name".to_string(),
            );
        }
    }

    /// Every product needs a category, by id or by name, unless a category
    /// cell already has a problem.
    fn require_category(&mut self, draft: &Draft) {
        let has_category = draft.product.category.is_some() || draft.category.is_some();
        if !has_category
            && !self.has_problem(Field::CategoryId)
            && !self.has_problem(Field::Category)
        {
            // The column whose cell is empty, when the file has one.
            let mapping = &self.validator.mapping;
            let column = [Field::Category, Field::CategoryId]
                .into_iter()
                .find_map(|f| mapping.column(f))
                .map(|c| mapping.headers[c].clone());
            self.problems.push(Problem {
                row: self.row.number,
                column,
                value: None,
                kind: ProblemKind::NoCategory,
                message: "no category: fill a category or category.id column, or set a constant \"category.id\" in the mapping file".to_string(),
            });
        }
    }

    fn has_problem(&self, field: Field) -> bool {
        let name = self.validator.column_name(field);
        self.problems.iter().any(|p| p.column == name)
    }

    fn problem(&mut self, field: Field, value: Option<&str>, kind: ProblemKind, message: String) {
        self.problems.push(Problem {
            row: self.row.number,
            column: self.validator.column_name(field),
            value: value.map(str::to_string),
            kind,
            message,
        });
    }

    /// Finds the value for `field`: the cell if it is not blank, else the constant.
    fn source(&self, field: Field) -> Option<Source<'_>> {
        let mapping = &self.validator.mapping;
        if let Some(cell) = mapping.column(field).and_then(|c| self.row.cells.get(c)) {
            if !cell.is_blank() {
                return Some(Source::Cell(cell));
            }
        }
        mapping.constant(field).map(Source::Constant)
    }

    /// The cleaned text of a field, or a problem for error and date cells.
    fn raw_text(&mut self, field: Field) -> Option<String> {
        match self.source(field)? {
            Source::Constant(s) => Some(values::clean_text(s).into_owned()),
            Source::Cell(cell) => match cell {
                Cell::Empty => None,
                // A leading ' that the results file added to keep a spreadsheet
                // program from running the text as a formula is taken off.
                Cell::Text(s) => Some(values::clean_text(restore_formula(s)).into_owned()),
                Cell::Number(n) => Some(format_number(*n)),
                Cell::Int(i) => Some(i.to_string()),
                Cell::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
                Cell::Date { text, .. } => {
                    let text = text.clone();
                    self.problem(
                        field,
                        Some(&text),
                        ProblemKind::DateCell,
                        "is a date, but this column needs text or a number; format the column as text in the spreadsheet".to_string(),
                    );
                    None
                }
                Cell::Error(e) => {
                    let e = e.clone();
                    self.problem(field, Some(&e), ProblemKind::ErrorCell, "is an error value in the spreadsheet; fix the formula or the cell".to_string());
                    None
                }
            }
            .filter(|s| !s.is_empty()),
        }
        .and_then(|text| self.without_controls(field, text))
    }

    /// `text`, or a problem when it holds a control character (which is
    /// never sent): NUL, DEL, C0 and C1 controls anywhere, and tabs and line
    /// breaks in any field but the description.
    fn without_controls(&mut self, field: Field, text: String) -> Option<String> {
        let Some((position, c)) = values::find_control(&text, field == Field::Description) else {
            return Some(text);
        };
        let visible: String = text
            .chars()
            .map(|c| {
                if values::is_forbidden_control(c, false) {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect();
        let message = match c {
            '\t' | '\n' | '\r' => format!(
                "contains {} at character {position}; only the description may hold tabs and line breaks",
                values::control_name(c)
            ),
            _ => format!(
                "contains the control character {} at character {position} (shown as \u{FFFD}); \
                 such characters are never sent: remove it from the file",
                values::control_name(c)
            ),
        };
        self.problem(
            field,
            Some(&shorten(&visible)),
            ProblemKind::ControlCharacter,
            message,
        );
        None
    }

    fn text(&mut self, field: Field) -> Option<String> {
        let value = self.raw_text(field)?;
        let chars = value.chars().count();
        match field.kind() {
            FieldKind::Text { max } if chars > max => {
                self.problem(
                    field,
                    Some(&shorten(&value)),
                    ProblemKind::TooLong,
                    format!("is {chars} characters long; at most {max} are allowed"),
                );
                None
            }
            FieldKind::Gtin => match values::check_gtin(&value) {
                Ok(()) => Some(value),
                Err(e) => {
                    self.problem(
                        field,
                        Some(&value),
                        ProblemKind::Barcode,
                        format!("is not a valid barcode: it {e}"),
                    );
                    None
                }
            },
            FieldKind::Digits { max } => {
                if !value.bytes().all(|b| b.is_ascii_digit()) {
                    self.problem(
                        field,
                        Some(&value),
                        ProblemKind::NotDigits,
                        "must contain digits only".to_string(),
                    );
                    None
                } else if chars > max {
                    self.problem(
                        field,
                        Some(&value),
                        ProblemKind::TooLong,
                        format!("has {chars} digits; at most {max} are allowed"),
                    );
                    None
                } else {
                    Some(value)
                }
            }
            _ => Some(value),
        }
    }

    fn number(&mut self, field: Field) -> Option<f64> {
        let col = self.validator.mapping.column(field);
        let value = match self.source(field)? {
            Source::Cell(Cell::Number(n)) => Ok(*n),
            Source::Cell(Cell::Int(i)) => Ok(*i as f64),
            _ => {
                let text = self.raw_text(field)?;
                values::parse_number(&text, self.validator.decimal_for(col)).map_err(|e| {
                    let kind = match e {
                        values::NumberError::Ambiguous { .. } => ProblemKind::AmbiguousDecimal,
                        _ => ProblemKind::NotANumber,
                    };
                    (text, kind, e.to_string())
                })
            }
        };
        match value {
            Ok(n) if !n.is_finite() => {
                self.problem(
                    field,
                    None,
                    ProblemKind::NotANumber,
                    "is not a finite number".to_string(),
                );
                None
            }
            Ok(n) if n < 0.0 && field.kind() == FieldKind::Amount => {
                self.problem(
                    field,
                    Some(&format_number(n)),
                    ProblemKind::Negative,
                    "must not be negative".to_string(),
                );
                None
            }
            Ok(n) => Some(n),
            Err((text, kind, message)) => {
                self.problem(field, Some(&text), kind, message);
                None
            }
        }
    }

    fn boolean(&mut self, field: Field) -> Option<bool> {
        match self.source(field)? {
            Source::Cell(Cell::Bool(b)) => Some(*b),
            Source::Cell(Cell::Number(n)) if *n == 0.0 || *n == 1.0 => Some(*n == 1.0),
            Source::Cell(Cell::Int(i)) if *i == 0 || *i == 1 => Some(*i == 1),
            _ => {
                let text = self.raw_text(field)?;
                let parsed = values::parse_bool(&text);
                if parsed.is_none() {
                    self.problem(
                        field,
                        Some(&text),
                        ProblemKind::NotYesNo,
                        "is not yes/no (accepted: yes/no, ja/nei, true/false, 1/0, x)".to_string(),
                    );
                }
                parsed
            }
        }
    }

    fn parsed<T>(
        &mut self,
        field: Field,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let text = self.raw_text(field)?;
        let parsed = parse(&text);
        if parsed.is_none() {
            self.problem(
                field,
                Some(&text),
                ProblemKind::NotAllowed,
                expected.to_string(),
            );
        }
        parsed
    }

    fn id(&mut self, field: Field) -> Option<i64> {
        let text = self.raw_text(field)?;
        match parse_id(&text) {
            Some(id) => Some(id),
            None => {
                self.problem(
                    field,
                    Some(&text),
                    ProblemKind::NotAnId,
                    "must be a positive whole number (an id)".to_string(),
                );
                None
            }
        }
    }

    fn reference(&mut self, field: Field, digits_are_ids: bool) -> Option<Reference> {
        let text = self.raw_text(field)?;
        let chars = text.chars().count();
        if chars > 250 {
            self.problem(
                field,
                Some(&shorten(&text)),
                ProblemKind::TooLong,
                format!("is {chars} characters long; at most 250 are allowed"),
            );
            return None;
        }
        match parse_id(&text) {
            Some(id) if digits_are_ids => Some(Reference::Id(id)),
            _ => Some(Reference::Name(text)),
        }
    }
}

/// Parses a positive integer id, accepting `12` and `12.0` (spreadsheet numbers).
fn parse_id(text: &str) -> Option<i64> {
    let digits = text.strip_suffix(".0").unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|&id| id > 0)
}

/// Cuts `s` to at most `max` characters, with `...` when cut.
fn shorten_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max.saturating_sub(3)).collect();
        format!("{head}...")
    }
}

/// Shortens a long value for an error message.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        let head: String = s.chars().take(57).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::mapping::MappingFile;

    fn validator(headers: &[&str], mapping: Option<&str>) -> Validator {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let file: Option<MappingFile> = mapping.map(|m| toml::from_str(m).unwrap());
        let mapping = ColumnMapping::build(
            Path::new("t.csv"),
            &headers,
            file.as_ref().map(|f| (Path::new("m.toml"), f)),
        )
        .unwrap();
        Validator::new(mapping, ValidateOptions::default())
    }

    fn row(number: u64, cells: &[&str]) -> SourceRow {
        SourceRow {
            number,
            cells: cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(c.to_string())
                    }
                })
                .collect(),
            width: cells.len(),
        }
    }

    fn errors(p: &PreparedRow) -> Vec<String> {
        match &p.outcome {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn problems_are_data_with_the_column_as_written() {
        let mut v = validator(&["Varenavn", "Pris", "Kategori"], None);
        let p = v.validate(row(7, &["", "abc", ""]));
        let problems = p.outcome.unwrap_err();
        let data: Vec<(u64, Option<&str>, Option<&str>, ProblemKind)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_deref(), p.value.as_deref(), p.kind))
            .collect();
        assert_eq!(
            data,
            vec![
                (7, Some("Varenavn"), None, ProblemKind::Empty),
                (7, Some("Pris"), Some("abc"), ProblemKind::NotANumber),
                (7, Some("Kategori"), None, ProblemKind::NoCategory),
            ]
        );
        // The text is as it always was: the category message names no column.
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "column \"Varenavn\": is empty; every product needs a name",
                "column \"Pris\": \"abc\" is not a number",
                "no category: fill a category or category.id column, or set a constant \"category.id\" in the mapping file",
            ]
        );
    }

    #[test]
    fn problem_table_counts_by_column_and_kind() {
        let mut v = validator(&["name", "price", "category.id"], None);
        let mut table = ProblemTable::default();
        for n in 2..10 {
            if let Err(p) = v.validate(row(n, &["A", "x", "1"])).outcome {
                table.add(&p);
            }
        }
        if let Err(p) = v.validate(row(10, &["", "1", "1"])).outcome {
            table.add(&p);
        }
        let text = table.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["column", "problem", "count", "first", "rows"]
        );
        assert!(
            lines[1].contains("price") && lines[1].contains("not a number"),
            "{text}"
        );
        assert!(lines[1].ends_with("8  2, 3, 4, 5, 6, ..."), "{text}");
        assert!(
            lines[2].contains("name") && lines[2].ends_with("1  10"),
            "{text}"
        );
    }

    #[test]
    fn ids_are_positive_whole_numbers() {
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("12.0"), Some(12));
        assert_eq!(parse_id("0"), None);
        assert_eq!(parse_id("-3"), None);
        assert_eq!(parse_id("1.5"), None);
        assert_eq!(parse_id("abc"), None);
    }

    #[test]
    fn constants_fill_missing_columns_and_empty_cells() {
        let mut v = validator(
            &["name", "category.id"],
            Some("[constants]\n\"category.id\" = 7\n"),
        );
        let with_cell = v.validate(row(2, &["A", "3"]));
        let empty_cell = v.validate(row(3, &["B", ""]));
        assert_eq!(
            with_cell.outcome.unwrap().product.category,
            Some(IdRef { id: 3 })
        );
        assert_eq!(
            empty_cell.outcome.unwrap().product.category,
            Some(IdRef { id: 7 })
        );
    }

    #[test]
    fn references_by_name_or_id() {
        let mut v = validator(&["name", "category", "unit", "supplier"], None);
        let p = v
            .validate(row(2, &["A", "Shoes", "stk", "912345678"]))
            .outcome
            .unwrap();
        assert_eq!(p.category, Some(Reference::Name("Shoes".into())));
        assert_eq!(p.unit, Some(Reference::Name("stk".into())));
        // Digits in a supplier column may be an organization number: resolved online.
        assert_eq!(p.supplier, Some(Reference::Name("912345678".into())));
        let p = v.validate(row(3, &["B", "4", "2", ""])).outcome.unwrap();
        assert_eq!(p.product.category, Some(IdRef { id: 4 }));
        assert_eq!(p.product.units, Some(IdRef { id: 2 }));
        assert_eq!(p.category, None);
    }

    #[test]
    fn learned_decimal_mark_decides_ambiguous_values() {
        let mut v = validator(&["name", "price", "category.id"], None);
        v.learn(&row(3, &["B", "12,50", "1"]));
        let p = v.validate(row(2, &["A", "1,234", "1"]));
        assert_eq!(p.outcome.unwrap().product.sales_price, Some(1.234));

        let mut v = validator(&["name", "price", "category.id"], None);
        let p = v.validate(row(2, &["A", "1,234", "1"]));
        assert_eq!(
            errors(&p),
            vec![
                "column \"price\": \"1,234\" could be read as 1234 or 1.234; use --decimal comma|point to decide"
            ]
        );
    }

    #[test]
    fn duplicates_name_the_first_row_and_only_count_valid_rows() {
        let mut v = validator(&["name", "number", "ean", "category.id"], None);
        assert!(v.validate(row(2, &["", "N1", "", "1"])).outcome.is_err());
        assert!(v
            .validate(row(3, &["A", "N1", "96385074", "1"]))
            .outcome
            .is_ok());
        let dup = v.validate(row(4, &["B", "N1", "96385074", "1"]));
        assert_eq!(
            errors(&dup),
            vec![
                "column \"number\": \"N1\" is also on row 3; each product number may appear only once",
                "column \"ean\": \"96385074\" is also on row 3; each barcode may appear only once",
            ]
        );
    }

    #[test]
    fn trailing_empty_cells_are_not_ragged_but_missing_cells_are() {
        let mut v = validator(&["name", "category.id"], None);
        let mut r = row(2, &["A", "1", ""]);
        r.width = 3;
        assert!(v.validate(r).outcome.is_ok());
        let r = row(3, &["A"]);
        assert_eq!(errors(&v.validate(r)).len(), 2);
    }

    #[test]
    fn spreadsheet_numbers_in_code_columns_keep_their_digits() {
        let mut v = validator(&["name", "number", "ean", "category.id"], None);
        let r = SourceRow {
            number: 2,
            cells: vec![
                Cell::Text("A".into()),
                Cell::Number(42.0),
                Cell::Number(7038010055690.0),
                Cell::Int(1),
            ],
            width: 4,
        };
        let p = v.validate(r).outcome.unwrap().product;
        assert_eq!(p.number.as_deref(), Some("42"));
        assert_eq!(p.ean.as_deref(), Some("7038010055690"));
    }
}
