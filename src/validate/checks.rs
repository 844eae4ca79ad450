//! The checks of one row: each mapped cell (or mapping constant) read as
//! its field needs, against the vendor's limits, every problem collected.

use std::borrow::Cow;

use super::rules::RowRules;
use super::{Draft, Problem, ProblemKind, Reference};
use crate::api::types::{IdRef, NewProduct, Stock, SupplierProduct};
use crate::cell::restore_formula;
use crate::cell::{format_number, CellRef};
use crate::mapping::{partners, Field, FieldKind};
use crate::read::SourceRow;
use crate::values;

/// One cell's value after it was found, before interpretation.
enum Source<'a> {
    Cell(CellRef<'a>),
    Constant(&'a str),
}

/// The checks of one row, collecting every problem.
pub(super) struct RowCheck<'v: 'r, 'r> {
    pub(super) rules: &'v RowRules,
    pub(super) row: &'r SourceRow,
    /// Values the platform's variant model gives (they win over the cells).
    pub(super) overrides: &'r [(Field, String)],
    pub(super) problems: Vec<Problem>,
    /// What was changed on the way (see [`Draft::notes`]).
    pub(super) notes: Vec<String>,
    /// Whether the row has a product number (a bad barcode may then be left out).
    pub(super) has_number: bool,
    /// Whether the payload's texts are kept: without, each text field of the
    /// product is an empty string where the row has a value (see
    /// [`Validator::without_payloads`](super::Validator::without_payloads)).
    pub(super) payloads: bool,
    /// The row's product number and barcode, as the payload would have them.
    pub(super) keys: [Option<Cow<'r, str>>; 2],
}

impl<'r> RowCheck<'_, 'r> {
    /// The row's product and the references left to resolve online, with
    /// every problem found on the way.
    pub(super) fn build(&mut self) -> Draft {
        self.check_shape();
        let product = self.product();
        let draft = self.references(product);
        self.require_name(&draft);
        self.require_category(&draft);
        draft
    }

    /// A row with fewer cells than the header, or filled cells beyond it.
    fn check_shape(&mut self) {
        let headers = self.rules.mapping.headers.len();
        let cells = &self.row.cells;
        let extra_filled =
            (headers..cells.len()).any(|i| cells.get(i).is_some_and(|c| !c.is_blank()));
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
        let name = self.kept_text(Field::Name);
        let number = self.text(Field::Number);
        self.has_number = number.is_some();
        let mut p = NewProduct {
            name,
            number: self.kept(&number),
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
            description: self.kept_text(Field::Description),
            cost_price: self.number(Field::CostPrice),
            sales_price: self.number(Field::SalesPrice),
            indirect_cost: self.number(Field::IndirectCost),
            webshop_enabled: self.boolean(Field::WebshopEnabled),
            ean_alternative: self.kept_text(Field::EanAlternative),
            ..NewProduct::default()
        };
        let ean = self.text(Field::Ean);
        p.ean = self.kept(&ean);
        self.keys = [number, ean];
        let stock = Stock {
            is_managed: self.boolean(Field::StockIsManaged),
            quantity: self.number(Field::StockQuantity),
            location: self.kept_text(Field::StockLocation),
        };
        p.stock = (!stock.is_empty()).then_some(stock);
        let supplier_product = SupplierProduct {
            item_code: self.kept_text(Field::SupplierItemCode),
            number: self.kept_text(Field::SupplierNumber),
            name: self.kept_text(Field::SupplierName),
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
            notes: Vec::new(),
        };
        if draft.product.category.is_none() {
            match self.category() {
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
            let mapping = &self.rules.mapping;
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
        let name = self.rules.column_name(field);
        self.problems.iter().any(|p| p.column == name)
    }

    pub(super) fn problem(
        &mut self,
        field: Field,
        value: Option<&str>,
        kind: ProblemKind,
        message: String,
    ) {
        self.problems.push(Problem {
            row: self.row.number,
            column: self.rules.column_name(field),
            value: value.map(str::to_string),
            kind,
            message,
        });
    }

    /// Finds the value for `field`: a mapping constant (always wins), else
    /// what the variant model gives, else the first non-blank cell of the
    /// field's columns, else a default (not where the row names the same
    /// thing another way: a category by id when the default is a name).
    /// A value map turns the file's words into the field's.
    #[inline(always)]
    fn source(&self, field: Field) -> Option<Source<'r>> {
        let (rules, row): (&'r RowRules, &'r SourceRow) = (self.rules, self.row);
        let mapping = &rules.mapping;
        if self.overrides.is_empty() && mapping.is_plain() {
            // No constants, defaults, value maps or fallbacks: the cell alone.
            let cell = mapping.column(field).and_then(|c| row.cells.get(c))?;
            return (!cell.is_blank()).then_some(Source::Cell(cell));
        }
        self.source_by_rules(field)
    }

    /// [`Self::source`] where the mapping has rules besides columns.
    #[inline(never)]
    fn source_by_rules(&self, field: Field) -> Option<Source<'r>> {
        let rules: &'r RowRules = self.rules;
        let overrides: &'r [(Field, String)] = self.overrides;
        let mapping = &rules.mapping;
        if let Some(c) = mapping.constant(field) {
            return Some(Source::Constant(c));
        }
        if let Some((_, v)) = overrides.iter().find(|(f, _)| *f == field) {
            return Some(self.mapped(field, Source::Constant(v)));
        }
        if let Some(cell) = self.cell_of(field) {
            return Some(self.mapped(field, Source::Cell(cell)));
        }
        if mapping.defaults.is_empty() || partners(field).iter().any(|&p| self.filled(p)) {
            return None;
        }
        mapping.default_for(field).map(Source::Constant)
    }

    /// The first non-blank cell of `field`'s columns.
    #[inline]
    fn cell_of(&self, field: Field) -> Option<CellRef<'r>> {
        let (rules, row): (&'r RowRules, &'r SourceRow) = (self.rules, self.row);
        let mapping = &rules.mapping;
        let own = mapping
            .column(field)
            .and_then(|c| row.cells.get(c))
            .filter(|c| !c.is_blank());
        if own.is_some() || !mapping.has_fallbacks() {
            return own;
        }
        mapping
            .columns_of(field)
            .filter_map(|c| row.cells.get(c))
            .find(|c| !c.is_blank())
    }

    /// Whether the row gives `field` a value (not counting defaults).
    fn filled(&self, field: Field) -> bool {
        self.rules.mapping.constant(field).is_some()
            || self.overrides.iter().any(|(f, _)| *f == field)
            || self.cell_of(field).is_some()
    }

    /// `source` after the field's value map, if it names the value.
    #[inline]
    fn mapped(&self, field: Field, source: Source<'r>) -> Source<'r> {
        let rules: &'r RowRules = self.rules;
        let values = &rules.mapping.values;
        if values.is_empty() || !values.iter().any(|(f, _)| *f == field) {
            return source;
        }
        let text = match &source {
            Source::Constant(s) => std::borrow::Cow::Borrowed(*s),
            Source::Cell(cell) => cell.text(),
        };
        match rules.mapping.mapped_value(field, &text) {
            Some(meaning) => Source::Constant(meaning),
            None => source,
        }
    }

    /// The cleaned text of a field, or a problem for error and date cells.
    /// It borrows the row's text when cleaning changed nothing (most cells).
    pub(super) fn raw_text(&mut self, field: Field) -> Option<Cow<'r, str>> {
        let text = match self.source(field)? {
            Source::Constant(s) => values::clean_text(s),
            // ASCII without controls (most rows of a CSV file): nothing to
            // clean but spaces at the ends, no control character to find.
            Source::Cell(CellRef::Text(s)) if self.row.cells.is_plain_ascii() => {
                let text = values::trim(restore_formula(s));
                return (!text.is_empty()).then_some(Cow::Borrowed(text));
            }
            Source::Cell(cell) => match cell {
                CellRef::Empty => return None,
                // A leading ' that the results file added to keep a spreadsheet
                // program from running the text as a formula is taken off.
                CellRef::Text(s) => values::clean_text(restore_formula(s)),
                CellRef::Number(n) => Cow::Owned(format_number(n)),
                CellRef::Int(i) => Cow::Owned(i.to_string()),
                CellRef::Bool(b) => Cow::Borrowed(if b { "TRUE" } else { "FALSE" }),
                CellRef::Date { text, .. } => {
                    self.problem(
                        field,
                        Some(text),
                        ProblemKind::DateCell,
                        "is a date, but this column needs text or a number; format the column as text in the spreadsheet".to_string(),
                    );
                    return None;
                }
                CellRef::Error(e) => {
                    self.problem(
                        field,
                        Some(e),
                        ProblemKind::ErrorCell,
                        "is an error value in the spreadsheet; fix the formula or the cell"
                            .to_string(),
                    );
                    return None;
                }
            },
        };
        if text.is_empty() {
            return None;
        }
        self.without_controls(field, text)
    }

    /// A text for the payload: the text itself, or an empty one standing
    /// for it when payloads are not kept (nothing is copied then).
    fn kept(&self, text: &Option<Cow<'r, str>>) -> Option<String> {
        let text = text.as_deref()?;
        Some(if self.payloads {
            text.to_owned()
        } else {
            String::new()
        })
    }

    /// [`Self::text`] of `field` for the payload (see [`Self::kept`]).
    fn kept_text(&mut self, field: Field) -> Option<String> {
        let text = self.text(field);
        self.kept(&text)
    }

    fn text(&mut self, field: Field) -> Option<Cow<'r, str>> {
        let mut value = self.raw_text(field)?;
        if field == Field::Description
            && !self.rules.options.keep_html
            && values::looks_like_html(&value)
        {
            value = Cow::Owned(values::html_to_text(&value));
            if value.is_empty() {
                return None;
            }
        }
        if field.is_code() && looks_scientific(&value) {
            let message = format!(
                "is in scientific notation: a spreadsheet program (Excel) made the code a number and kept only its first digits, so the real {what} is lost in this file; export it again, or open the original in Excel with this column set to Text (Data > From Text/CSV) before saving",
                what = if field.kind() == FieldKind::Gtin { "barcode" } else { "code" }
            );
            return self.optional_problem(field, &value, ProblemKind::Barcode, message);
        }
        match field.kind() {
            // Bytes are at least as many as characters: most texts are decided at once.
            FieldKind::Text { max } if value.len() > max && char_count(&value) > max => {
                let chars = char_count(&value);
                if self.rules.cut_long_text && !field.is_code() {
                    let cut = values::cut_at_word(&value, max);
                    self.notes.push(format!(
                        "{} cut from {chars} to {} characters at a word boundary (the limit is {max})",
                        self.rules.column_name(field).unwrap_or_default(),
                        cut.chars().count()
                    ));
                    return Some(Cow::Owned(cut));
                }
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
                Err(e) => self.optional_problem(
                    field,
                    &value,
                    ProblemKind::Barcode,
                    format!("is not a valid barcode: it {e}"),
                ),
            },
            FieldKind::Digits { max } => {
                if !value.bytes().all(|b| b.is_ascii_digit()) {
                    self.optional_problem(
                        field,
                        &value,
                        ProblemKind::NotDigits,
                        "must contain digits only".to_string(),
                    )
                } else if value.len() > max {
                    // Digits only: as many characters as bytes.
                    let chars = value.len();
                    self.optional_problem(
                        field,
                        &value,
                        ProblemKind::TooLong,
                        format!("has {chars} digits; at most {max} are allowed"),
                    )
                } else {
                    Some(value)
                }
            }
            _ => Some(value),
        }
    }

    /// A bad value of an optional code (barcode, alternative EAN): left out
    /// with a note under `--bad-optional omit` when the row has a product
    /// number to be found by, else the row's problem.
    fn optional_problem(
        &mut self,
        field: Field,
        value: &str,
        kind: ProblemKind,
        message: String,
    ) -> Option<Cow<'r, str>> {
        let optional = matches!(field, Field::Ean | Field::EanAlternative);
        if optional && self.rules.omit_bad_optional && self.has_number {
            self.notes.push(format!(
                "{} \"{value}\" left out: it {}",
                self.rules.column_name(field).unwrap_or_default(),
                message
                    .strip_prefix("is not a valid barcode: it ")
                    .unwrap_or(&message)
            ));
        } else {
            self.problem(field, Some(value), kind, message);
        }
        None
    }

    fn number(&mut self, field: Field) -> Option<f64> {
        let col = self.rules.mapping.column(field);
        let value = match self.source(field)? {
            Source::Cell(CellRef::Number(n)) => Ok(n),
            Source::Cell(CellRef::Int(i)) => Ok(i as f64),
            _ => {
                let text = self.raw_text(field)?;
                match values::parse_number(&text, self.rules.decimal_for(col)) {
                    Ok(n) => Ok(n),
                    Err(e) => {
                        let kind = match e {
                            values::NumberError::Ambiguous { .. } => ProblemKind::AmbiguousDecimal,
                            _ => ProblemKind::NotANumber,
                        };
                        Err((text, kind, e.to_string()))
                    }
                }
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
            Source::Cell(CellRef::Bool(b)) => Some(b),
            Source::Cell(CellRef::Number(n)) if n == 0.0 || n == 1.0 => Some(n == 1.0),
            Source::Cell(CellRef::Int(i)) if i == 0 || i == 1 => Some(i == 1),
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
            _ => Some(Reference::Name(text.into_owned())),
        }
    }
}

/// The number of characters of `s`.
fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// Whether `s` is a number in a spreadsheet's scientific notation
/// (`3.65275E+11`): what Excel makes of a long code in a General column.
fn looks_scientific(s: &str) -> bool {
    // Codes are short: a plain scan beats memchr's set-up.
    let Some(at) = s.bytes().position(|b| b | 0x20 == b'e') else {
        return false;
    };
    let (mantissa, exponent) = (&s[..at], &s[at + 1..]);
    let plus = exponent.starts_with('+');
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    (plus || mantissa.contains(['.', ',']))
        && !mantissa.is_empty()
        && mantissa
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
        && mantissa.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a positive integer id, accepting `12` and `12.0` (spreadsheet numbers).
fn parse_id(text: &str) -> Option<i64> {
    let digits = text.strip_suffix(".0").unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|&id| id > 0)
}

/// Shortens a long value for an error message.
pub(super) fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        let head: String = s.chars().take(57).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Cell;
    use crate::validate::tests::{errors, row, validator};

    /// Pieces of cells: ASCII text, white space, formula starts, numbers
    /// and words first (the plain ones, [`PLAIN_PIECES`]), then controls
    /// and characters beyond ASCII.
    const PIECES: [&str; 28] = [
        "a",
        "Bag",
        " ",
        "  ",
        "'",
        "=",
        "-",
        "5",
        "1,5",
        "12.50",
        "7038010055690",
        "yes",
        "active",
        "Shoes > Bags",
        "x",
        "E+11",
        "3.65",
        "<p>",
        "</p>",
        "\t",
        "\n",
        "\r",
        "\u{1}",
        "\u{7f}",
        "blå",
        "\u{a0}",
        "\u{200b}",
        "\u{85}",
    ];
    const PLAIN_PIECES: usize = 19;

    /// Row `number` of `texts` as a CSV reader makes it, and the same row
    /// not marked plain ASCII (so checked the general way).
    fn as_read_and_unmarked(number: u64, texts: &[String]) -> (SourceRow, SourceRow) {
        let record: String = texts.concat();
        let mut end = 0;
        let ends = texts.iter().map(|t| {
            end += t.len();
            end
        });
        let plain = crate::values::is_plain_ascii(record.as_bytes());
        let cells = crate::cell::Cells::of_record(&record, ends, texts.len(), plain);
        let row = SourceRow {
            number,
            width: texts.len(),
            cells: cells.clone().marked_plain_ascii(false),
        };
        (
            SourceRow {
                cells,
                ..row.clone()
            },
            row,
        )
    }

    #[test]
    fn the_plain_ascii_shortcut_agrees_with_the_general_checks() {
        let headers = [
            "name",
            "number",
            "description",
            "price",
            "ean",
            "webshopEnabled",
            "status",
            "category",
            "unit",
            "stock.location",
        ];
        let mut rng =
            <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(0x9E37_79B9_7F4A_7C15);
        let mut next = move |n: usize| rand::Rng::random_range(&mut rng, 0..n);
        let (mut general, mut shortcut) = (validator(&headers, None), validator(&headers, None));
        let mut plain_rows = 0;
        for number in 2..20_000u64 {
            // Half the rows of the plain pieces alone.
            let kinds = if number % 2 == 0 {
                PLAIN_PIECES
            } else {
                PIECES.len()
            };
            let texts: Vec<String> = headers
                .iter()
                .map(|_| (0..next(5)).map(|_| PIECES[next(kinds)]).collect())
                .collect();
            let (fast, row) = as_read_and_unmarked(number, &texts);
            plain_rows += usize::from(fast.cells.is_plain_ascii());
            if row.is_empty() {
                continue;
            }
            assert_eq!(general.validate(row), shortcut.validate(fast), "{texts:?}");
        }
        assert!(plain_rows > 9000, "{plain_rows}");
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
    fn constants_always_win_and_defaults_fill_empty_cells() {
        let mut v = validator(
            &["name", "category.id"],
            Some("[constants]\n\"category.id\" = 7\n"),
        );
        let with_cell = v.validate(row(2, &["A", "3"]));
        let empty_cell = v.validate(row(3, &["B", ""]));
        assert_eq!(
            with_cell.outcome.unwrap().product.category,
            Some(IdRef { id: 7 })
        );
        assert_eq!(
            empty_cell.outcome.unwrap().product.category,
            Some(IdRef { id: 7 })
        );

        let mut v = validator(
            &["name", "category.id"],
            Some("[defaults]\n\"category.id\" = 7\n"),
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
    fn a_default_category_id_does_not_override_a_category_name() {
        let mut v = validator(
            &["name", "category"],
            Some("[defaults]\n\"category.id\" = 1\n"),
        );
        let named = v.validate(row(2, &["A", "Shoes"])).outcome.unwrap();
        assert_eq!(named.product.category, None);
        assert_eq!(named.category, Some(Reference::Name("Shoes".into())));
        let empty = v.validate(row(3, &["B", ""])).outcome.unwrap();
        assert_eq!(empty.product.category, Some(IdRef { id: 1 }));
    }

    #[test]
    fn a_constant_over_a_filled_column_is_said() {
        let v = validator(
            &["name", "category"],
            Some("[constants]\n\"category.id\" = 1\n"),
        );
        let notes = &v.rules.mapping.notes;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("column \"category\" is not used"),
            "{notes:?}"
        );
    }

    #[test]
    fn value_maps_translate_platform_words() {
        let mut v = validator(
            &["name", "status", "type", "category.id"],
            Some("[values.status]\ndraft = \"inactive\"\npublish = \"active\"\n[values.type]\nvariable = \"default\"\n"),
        );
        let p = v
            .validate(row(2, &["A", "Draft", "variable", "1"]))
            .outcome
            .unwrap();
        assert_eq!(
            p.product.status,
            Some(crate::api::types::ProductStatus::Inactive)
        );
        assert_eq!(
            p.product.product_type,
            Some(crate::api::types::ProductType::Default)
        );
        let bad = v.validate(row(3, &["B", "archived", "", "1"]));
        assert!(
            errors(&bad)[0].contains("must be active or inactive"),
            "{:?}",
            errors(&bad)
        );
    }

    #[test]
    fn html_descriptions_become_text_and_long_texts_cut_or_refuse() {
        let long = format!("<p>{}</p>", "word ".repeat(120));
        let mut v = validator(&["name", "description", "category.id"], None);
        let refused = v.validate(row(2, &["A", &long, "1"]));
        assert!(
            errors(&refused)[0].contains("at most 500"),
            "{:?}",
            errors(&refused)
        );
        let short = v.validate(row(
            3,
            &["A", "<p>Big <b>bag</b>.</p><ul><li>Strap</li></ul>", "1"],
        ));
        assert_eq!(
            short.outcome.unwrap().product.description.as_deref(),
            Some("Big bag.\n- Strap")
        );

        let mut v = validator(&["name", "description", "category.id"], None);
        v.rules.cut_long_text = true;
        let cut = v.validate(row(2, &["A", &long, "1"])).outcome.unwrap();
        let text = cut.product.description.unwrap();
        assert!(
            text.chars().count() <= 500 && text.ends_with("word…"),
            "{text}"
        );
        assert!(
            cut.notes[0].contains("description cut from 599 to 495"),
            "{:?}",
            cut.notes
        );
    }

    #[test]
    fn bad_barcodes_are_left_out_with_a_note_only_when_asked_and_keyed() {
        let mut v = validator(&["name", "number", "ean", "category.id"], None);
        let refused = v.validate(row(2, &["A", "N1", "1234567890123", "1"]));
        assert!(
            errors(&refused)[0].contains("not a valid barcode"),
            "{:?}",
            errors(&refused)
        );
        let excel = v.validate(row(3, &["A", "N2", "3.65275E+11", "1"]));
        assert!(
            errors(&excel)[0].contains("scientific notation"),
            "{:?}",
            errors(&excel)
        );

        v.rules.omit_bad_optional = true;
        let omitted = v
            .validate(row(4, &["A", "N3", "1234567890123", "1"]))
            .outcome
            .unwrap();
        assert_eq!(omitted.product.ean, None);
        assert!(omitted.notes[0].contains("left out"), "{:?}", omitted.notes);
        // Without a number the barcode is the only key: never left out.
        let keyless = v.validate(row(5, &["A", "", "1234567890123", "1"]));
        assert!(keyless.outcome.is_err());
        // A product number in scientific notation is always refused.
        let number = v.validate(row(6, &["A", "7.03E+12", "", "1"]));
        assert!(
            errors(&number)[0].contains("scientific notation"),
            "{:?}",
            errors(&number)
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
            ]
            .into(),
            width: 4,
        };
        let p = v.validate(r).outcome.unwrap().product;
        assert_eq!(p.number.as_deref(), Some("42"));
        assert_eq!(p.ean.as_deref(), Some("7038010055690"));
    }
}
