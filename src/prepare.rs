//! Opening an input for validation: the reading options as a plan with real
//! types, then the file read, its columns mapped and every row validated, as
//! one stream of [`PreparedRow`]s shared by `validate` and `import`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::cli::InputPlan;
use crate::duplicates::RepeatCandidates;
use crate::mapping::{ColumnMapping, ColumnRole, Field, MappingInputs};
use crate::preset::shape::{Shaped, Shaper};
use crate::preset::ShapeKind;
use crate::read::batches::{self, BatchReceiver};
use crate::read::{self, ReadError, ReadOptions, SourceInfo, SourceRow};
use crate::validate::{Draft, PreparedRow, Validator, LEARN_ROWS};

pub use crate::cli::PrepareError;

/// Counters of a prepared stream, readable from another thread while it runs.
#[derive(Debug, Default)]
pub struct PrepareCounters {
    /// Data rows yielded (valid or invalid).
    pub rows: AtomicU64,
    /// Completely empty rows skipped.
    pub empty_rows: AtomicU64,
    /// Rows that are not products (image rows, variant parents,
    /// continuation lines): their count and the first few reasons.
    not_products: Mutex<(u64, Vec<(u64, String)>)>,
}

/// How many rows that are not products are listed by reason.
pub const LISTED_NOT_PRODUCTS: usize = 10;

impl PrepareCounters {
    /// Empty rows skipped so far.
    pub fn empty_rows(&self) -> u64 {
        self.empty_rows.load(Ordering::Relaxed)
    }

    fn not_products(&self, row: u64, reason: String) {
        let mut seen = self.not_products.lock().expect("counters lock");
        seen.0 += 1;
        if seen.1.len() < LISTED_NOT_PRODUCTS {
            seen.1.push((row, reason));
        }
    }

    /// Rows that are not products so far, and the first few with the reason.
    pub fn not_product_rows(&self) -> (u64, Vec<(u64, String)>) {
        self.not_products.lock().expect("counters lock").clone()
    }
}

/// An opened, mapped input.
pub struct Prepared {
    /// What was read and how.
    pub info: SourceInfo,
    /// The resolved column mapping (print it in the summary).
    pub mapping: ColumnMapping,
    /// Headers to write after the status columns of the results file: the
    /// input's headers less the status columns of a results file read back.
    pub output_headers: Vec<String>,
    /// The validated rows.
    pub rows: PreparedRows,
}

/// Opens, maps and starts validating an input.
pub fn prepare(plan: &InputPlan) -> Result<Prepared, PrepareError> {
    let table = read::open(&plan.path, &plan.read)?;
    let mapping_file = plan.mapping.as_ref().map(|(p, m)| (p.as_path(), m));
    let preset = crate::preset::choose(plan.preset, &table.headers);
    let inputs = MappingInputs {
        file: mapping_file,
        preset,
        default_category: plan.default_category.as_deref(),
    };
    let mut mapping = ColumnMapping::build_with(&table.info.path, &table.headers, inputs)?;
    let (keep, output_headers) = kept_columns(&mapping, &table.headers);
    let source_is_csv = table.info.format == "csv";
    let shape = preset.map_or(ShapeKind::Flat, |p| p.rules().shape);
    let mut rows = PreparedRows {
        source: table.rows,
        validator: Validator::new(mapping.clone(), plan.validate),
        shaper: Shaper::new(shape, &mapping),
        lookahead: VecDeque::new(),
        learned: false,
        keep: keep
            .iter()
            .all(|k| *k)
            .then_some(())
            .map_or(Some(keep), |_| None),
        counters: Arc::new(PrepareCounters::default()),
        failed: false,
        payloads: true,
        // Spreadsheets are already read on a thread of their own.
        source_is_csv,
    };
    // The first rows, read ahead, say how numbers are written and whether
    // each column's values fit its field.
    rows.learn();
    refit(&mut rows, &mut mapping, plan, shape);
    if source_is_csv {
        track_only_repeats(plan, &table.info, table.header_row, &mapping, &mut rows)?;
    }
    Ok(Prepared {
        info: table.info,
        mapping,
        output_headers,
        rows,
    })
}

/// Which columns a prepared row keeps (all but the status columns of a
/// results file read back), and the headers of those kept.
fn kept_columns(mapping: &ColumnMapping, headers: &[String]) -> (Vec<bool>, Vec<String>) {
    let keep: Vec<bool> = mapping
        .roles
        .iter()
        .map(|r| *r != ColumnRole::ResultsColumn)
        .collect();
    let output_headers = headers
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(h, _)| h.clone())
        .collect();
    (keep, output_headers)
}

/// Checks the rows read ahead against the mapping; when that changes it
/// (a column whose values do not fit its field), the validator and the
/// shaper start again from the new mapping, having learned the same rows.
fn refit(rows: &mut PreparedRows, mapping: &mut ColumnMapping, plan: &InputPlan, shape: ShapeKind) {
    if crate::preset::fit::check(
        mapping,
        rows.lookahead.iter().filter_map(|r| r.as_ref().ok()),
    ) {
        rows.validator = Validator::new(mapping.clone(), plan.validate);
        rows.shaper = Shaper::new(shape, mapping);
        for row in rows.lookahead.iter().filter_map(|r| r.as_ref().ok()) {
            rows.validator.learn(row);
        }
    }
}

/// For a CSV file (`info`, its header on `header_row`), which is cheap to
/// read twice: a first pass finds the keys that might repeat, so that memory
/// stays flat however long the file, and the validator tracks only those.
/// Nothing for standard input, which cannot be read twice (its keys are all
/// tracked, as a spreadsheet's are), nor when the keys are not columns.
fn track_only_repeats(
    plan: &InputPlan,
    info: &SourceInfo,
    header_row: u64,
    mapping: &ColumnMapping,
    rows: &mut PreparedRows,
) -> Result<(), PrepareError> {
    let keys_from_constants =
        mapping.constant(Field::Number).is_some() || mapping.constant(Field::Ean).is_some();
    let has_keys = mapping.column(Field::Number).is_some() || mapping.column(Field::Ean).is_some();
    let can_read_twice = !read::is_stdin(&plan.path);
    if !(has_keys && !keys_from_constants && can_read_twice) {
        return Ok(());
    }
    let keys = [Field::Number, Field::Ean]
        .into_iter()
        .filter_map(|f| mapping.column(f));
    let options = ReadOptions {
        only_columns: Some(keys.collect()),
        ..plan.read.clone()
    };
    let fast = match (info.encoding.as_deref(), info.delimiter) {
        (Some("UTF-8"), Some(delimiter)) if header_row == 1 => RepeatCandidates::scan_utf8_csv(
            &plan.path,
            delimiter,
            mapping,
            rows.validator.key_hasher(),
        ),
        _ => None,
    };
    let candidates = match fast {
        Some(candidates) => candidates,
        None => {
            let first_pass = read::open(&plan.path, &options)?;
            RepeatCandidates::scan(first_pass.rows, mapping, rows.validator.key_hasher())
        }
    };
    rows.validator.limit_tracking_to(candidates);
    Ok(())
}

/// What a second reading of the input finds: its products and how many of
/// them have neither a product number nor an EAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCount {
    /// Product rows (after the platform's variant model: image rows,
    /// parents and continuation lines are not products; empty rows neither).
    pub products: u64,
    /// Product rows with neither a number nor an EAN.
    pub keyless: u64,
}

/// Reads the input a second time to count its products, for the progress
/// display, the run store and the warning about rows with no key. `None` for
/// standard input, which cannot be read twice, or a file that cannot be read
/// again.
pub fn count_rows(plan: &InputPlan, mapping: &ColumnMapping) -> Option<RowCount> {
    if read::is_stdin(&plan.path) {
        return None;
    }
    let constant_key = [Field::Number, Field::Ean]
        .iter()
        .any(|&f| mapping.constant(f).is_some());
    let keys: Vec<usize> = [Field::Number, Field::Ean]
        .iter()
        .flat_map(|&f| mapping.columns_of(f))
        .collect();
    let table = read::open(&plan.path, &plan.read).ok()?;
    let shape = mapping.preset.map_or(ShapeKind::Flat, |p| p.rules().shape);
    let mut shaper = Shaper::new(shape, mapping);
    let mut count = RowCount {
        products: 0,
        keyless: 0,
    };
    for row in table.rows {
        let row = row.ok()?;
        if row.is_empty() {
            continue;
        }
        if let Shaped::Product { row, .. } = shaper.shape(row) {
            count.products += 1;
            let keyed = constant_key
                || keys
                    .iter()
                    .any(|&c| row.cells.get(c).is_some_and(|cell| !cell.is_blank()));
            count.keyless += u64::from(!keyed);
        }
    }
    Some(count)
}

/// The stream of validated rows of one input, in file order, empty rows skipped.
///
/// Before the first row is validated, up to [`LEARN_ROWS`] rows are read ahead
/// so that each number column's decimal mark is learned from its values.
/// An `Err` item is a fatal read error; the stream ends after it.
pub struct PreparedRows {
    source: Box<dyn Iterator<Item = Result<SourceRow, ReadError>> + Send>,
    validator: Validator,
    shaper: Shaper,
    lookahead: VecDeque<Result<SourceRow, ReadError>>,
    learned: bool,
    /// Which cells to keep in `PreparedRow::cells`, when not all.
    keep: Option<Vec<bool>>,
    counters: Arc<PrepareCounters>,
    failed: bool,
    /// Whether valid rows keep their payload (see [`PreparedRows::without_payloads`]).
    payloads: bool,
    source_is_csv: bool,
}

impl PreparedRows {
    /// Valid rows come without their payload: each [`Draft`](crate::validate::Draft)
    /// keeps its notes, its product and references are left empty. For a
    /// consumer that only writes results (`validate` without `--payloads`):
    /// the payload is let go where it was made, not on the consumer's thread.
    pub fn without_payloads(mut self) -> PreparedRows {
        self.payloads = false;
        self.validator.without_payloads();
        self
    }

    /// Shared counters (rows, empty rows) of this stream.
    pub fn counters(&self) -> Arc<PrepareCounters> {
        Arc::clone(&self.counters)
    }

    fn next_source(&mut self) -> Option<Result<SourceRow, ReadError>> {
        loop {
            let row = match self.source.next()? {
                Ok(row) => row,
                Err(e) => return Some(Err(e)),
            };
            if row.is_empty() {
                self.counters.empty_rows.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            return Some(Ok(row));
        }
    }

    /// Reads ahead up to [`LEARN_ROWS`] rows (stopping at a read error,
    /// which is kept in order) and learns the decimal marks from them.
    fn learn(&mut self) {
        self.learned = true;
        while self.lookahead.len() < LEARN_ROWS {
            match self.next_source() {
                Some(Ok(row)) => {
                    self.validator.learn(&row);
                    self.lookahead.push_back(Ok(row));
                }
                Some(Err(e)) => {
                    self.lookahead.push_back(Err(e));
                    break;
                }
                None => break,
            }
        }
    }
}

impl Iterator for PreparedRows {
    type Item = Result<PreparedRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if !self.learned {
            self.learn();
        }
        let (row, overrides) = loop {
            let next = match self.lookahead.pop_front() {
                Some(item) => item,
                None => self.next_source()?,
            };
            let row = match next {
                Ok(row) => row,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            if self.shaper.is_flat() {
                break (row, Vec::new());
            }
            match self.shaper.shape(row) {
                Shaped::Product { row, overrides } => break (row, overrides),
                Shaped::NotProduct { row, reason } => self.counters.not_products(row, reason),
            }
        };
        let mut prepared = self.validator.validate_shaped(row, &overrides);
        if let (false, Ok(draft)) = (self.payloads, &mut prepared.outcome) {
            *draft = Draft {
                notes: std::mem::take(&mut draft.notes),
                ..Draft::default()
            };
        }
        if let Some(keep) = &self.keep {
            prepared.cells.retain_columns(keep);
        }
        self.counters.rows.fetch_add(1, Ordering::Relaxed);
        Some(Ok(prepared))
    }
}

/// An iterator run on a thread of its own, handing its items over in
/// batches through a bounded channel ([`batches`]). The thread stops when
/// the consumer is dropped.
pub struct Background<T> {
    rx: BatchReceiver<T, Infallible>,
}

impl<T: Send + 'static> Background<T> {
    /// Runs `iter` on a new thread called `name`.
    pub fn spawn(name: &str, iter: impl Iterator<Item = T> + Send + 'static) -> Background<T> {
        let rx = batches::spawn(name, move |tx| {
            for item in iter {
                if !tx.push(item) {
                    break;
                }
            }
            Ok(())
        })
        .expect("spawn a pipeline thread");
        Background { rx }
    }
}

impl<T> Iterator for Background<T> {
    type Item = T;

    /// The next item; none once the thread has ended, normally or not.
    fn next(&mut self) -> Option<T> {
        self.rx.next()?.ok()
    }
}

impl PreparedRows {
    /// Moves reading and validation to threads of their own (one reads and
    /// parses the file, one validates), so that the consumer (writing
    /// results, or sending) runs beside them. The stream stays bounded:
    /// each stage runs at most about a thousand rows ahead of the next.
    pub fn into_background(mut self) -> BackgroundRows {
        if self.source_is_csv {
            let source = std::mem::replace(&mut self.source, Box::new(std::iter::empty()));
            self.source = Box::new(Background::spawn("read", source));
        }
        BackgroundRows {
            rows: Background::spawn("validate", self),
        }
    }
}

/// The rows of a [`PreparedRows`] prepared on background threads; see
/// [`PreparedRows::into_background`].
pub struct BackgroundRows {
    rows: Background<Result<PreparedRow, ReadError>>,
}

impl Iterator for BackgroundRows {
    type Item = Result<PreparedRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}
