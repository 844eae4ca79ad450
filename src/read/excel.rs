//! Spreadsheet reading through calamine: .xlsx, .xlsm, .xlsb, .xls, .ods.
//!
//! - **.xlsx, .xlsm, .xlsb** stream cell by cell (calamine's cells reader) on
//!   a reader thread that sends batches of rows through a bounded channel, so
//!   memory holds the shared strings and a few batches of rows, never the
//!   whole sheet.
//! - **.xls, .ods** are loaded whole by calamine (it has no other way) and
//!   their rows handed out one by one.
//!
//! The kind of workbook is told by the file's first bytes, not only its
//! name: an old .xls renamed to .xlsx is read as .xls, and an encrypted
//! (password-protected) workbook, which Excel stores in an OLE container
//! whatever its extension, is reported as such.
//!
//! Before calamine opens a zip-based workbook (.xlsx, .xlsm, .xlsb, .ods),
//! [`limits::check_workbook`](super::limits::check_workbook) checks its
//! declared sizes and gives calamine the view to read it from, whose XML
//! parts are scanned as they are inflated (a limit met there is found in
//! the [`Verdict`] before calamine's own error), and [`limits::check_uncompressed_workbook`](super::limits::check_uncompressed_workbook)
//! holds an .xls file's size to the same total; a cell longer than the
//! limit that gets past them (an .xlsb or .xls cell, which those checks do
//! not read) stops the reading when it is met.
//!
//! Cells keep their type ([`Cell::Number`], [`Cell::Date`], [`Cell::Error`]…);
//! formula cells give the value Excel last calculated. The header is the
//! row `header_row`; columns left of its first non-blank cell are ignored.
//! calamine is called behind [`std::panic::catch_unwind`], so a file that
//! trips it up is reported as damaged rather than crashing the run.

use std::fs::File;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

use calamine::{Data, DataRef, ExcelDateTime, Ods, Reader, SheetType, Xls, Xlsb, Xlsx};

use super::batches::{self, BatchReceiver, BatchSender, Stopped};
use super::limits::{self, CheckedWorkbook, Verdict, FLAG_CELL_CHARS};
use super::{ReadError, ReadOptions, SheetSelector, SourceInfo, SourceRow, Table};
use crate::cell::{Cell, CellRef, Cells};

/// Excel's limits: rows 1 to 1,048,576, columns A to XFD. A cell beyond
/// them means a damaged file (and would make the row or gap huge).
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLUMNS: u32 = 16_384;

/// The most cells reserved for a row before it is read (a row far wider
/// than the rest reserves no more for the next).
const MAX_RESERVED_CELLS: usize = 256;
/// The most text bytes reserved for a row before it is read, likewise.
const MAX_RESERVED_TEXT: usize = 64 * 1024;

/// The start of an OLE compound file: .xls, and encrypted OOXML workbooks.
const OLE_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// What a password-protected workbook gets told.
const PASSWORD_MESSAGE: &str = "the workbook is password-protected (encrypted); \
    remove the password in Excel (File > Info > Protect Workbook) and save it again";

/// The reading library's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

/// Streams the chosen sheet of an .xlsx or .xlsb workbook cell by cell with
/// calamine's cells reader (the two readers have the same methods but no
/// common trait).
macro_rules! stream_cells {
    ($path:expr, $options:expr, $book:expr, $verdict:expr) => {{
        let book = $book;
        let (sheets, index) = choose_sheet($path, &book, $options)?;
        let name = sheets[index].clone();
        let max_cell_chars = $options.limits.max_cell_chars;
        let verdict = $verdict.clone();
        let rows = stream($path, &sheets[index], max_cell_chars, move |sink| {
            let mut book = book;
            let failed = |e: &dyn std::fmt::Display| match verdict.take() {
                Some(error) => Failure::Checked(error),
                None => Failure::Damaged(e.to_string()),
            };
            let mut cells = book.worksheet_cells_reader(&name).map_err(|e| failed(&e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| failed(&e))? {
                let (row, col) = cell.get_position();
                if !sink.cell(row, col, cell.get_value())? {
                    break;
                }
            }
            verdict
                .take()
                .map_or(Ok(()), |error| Err(Failure::Checked(error)))
        })?;
        Ok((sheets, index, rows))
    }};
}

/// Opens a workbook and streams the selected sheet's rows.
pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<Table, ReadError> {
    let ext = super::extension(path);
    let kind = sniff_kind(path, &ext)?;
    let format = match kind {
        Kind::Xls => "xls".to_owned(),
        _ if ext.is_empty() => "xlsx".to_owned(),
        _ => ext.clone(),
    };
    let verdict = Verdict::default();
    let workbook = if kind == Kind::Xls {
        limits::check_uncompressed_workbook(path, &options.limits)?;
        None
    } else {
        Some(limits::check_workbook(path, &options.limits, &verdict)?)
    };
    let opened = guarded(path, || {
        open_sheet(path, &ext, kind, workbook, &verdict, options)
    });
    // A limit met while calamine read outweighs what calamine made of it.
    let (mut sheets, index, raw) = match verdict.take() {
        Some(error) => return Err(error),
        None => opened?,
    };
    let sheet = sheets.remove(index);

    let header_row = options.header_row.unwrap_or(1).max(1);
    let mut rows = SheetRows {
        raw,
        pending: None,
        next_index: 0,
        first_col: 0,
        columns: 0,
        done: false,
    };
    let headers = rows.read_header(path, &sheet, header_row)?;

    Ok(Table {
        info: SourceInfo {
            path: path.to_path_buf(),
            format,
            sheet: Some(sheet),
            other_sheets: sheets,
            encoding: None,
            encoding_detected: false,
            delimiter: None,
        },
        headers,
        header_row,
        rows: Box::new(rows),
    })
}

/// The kind of workbook, told by the file's first bytes and its extension `ext`.
fn sniff_kind(path: &Path, ext: &str) -> Result<Kind, ReadError> {
    let mut signature = Vec::with_capacity(8);
    File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut signature))
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let message = if signature.starts_with(b"PK\x03\x04") {
        return Ok(match ext {
            "xlsb" => Kind::Xlsb,
            "ods" => Kind::Ods,
            _ => Kind::Xlsx,
        });
    } else if signature == OLE_SIGNATURE {
        return Ok(Kind::Xls);
    } else if signature.is_empty() {
        format!("the file is empty, not a real .{ext} workbook")
    } else {
        format!("the file is damaged or not a real .{ext} workbook (it does not start like one)")
    };
    Err(ReadError::Workbook {
        path: path.to_path_buf(),
        message,
    })
}

/// A workbook's sheet names, the index of the one chosen, and its rows.
type OpenedSheet = (Vec<String>, usize, RawRows);

/// Opens the workbook of kind `kind` with calamine and starts reading the
/// chosen sheet: streamed cell by cell where calamine can, loaded whole
/// where it cannot.
///
/// A zip-based workbook is read from `workbook`, what
/// [`limits::check_workbook`] returned, and the limits it meets while
/// calamine reads are told by `verdict`.
fn open_sheet(
    path: &Path,
    ext: &str,
    kind: Kind,
    workbook: Option<CheckedWorkbook>,
    verdict: &Verdict,
    options: &ReadOptions,
) -> Result<OpenedSheet, ReadError> {
    let zipped = || workbook.expect("a zip-based workbook is checked before it is opened");
    match kind {
        Kind::Xlsx => {
            let book: Xlsx<_> = Reader::new(zipped()).map_err(|e| {
                open_error(path, ext, &e, matches!(e, calamine::XlsxError::Password))
            })?;
            stream_cells!(path, options, book, verdict)
        }
        Kind::Xlsb => {
            let book: Xlsb<_> = Reader::new(zipped()).map_err(|e| {
                open_error(path, ext, &e, matches!(e, calamine::XlsbError::Password))
            })?;
            stream_cells!(path, options, book, verdict)
        }
        Kind::Xls => {
            let book: Xls<_> = match calamine::open_workbook(path) {
                Ok(book) => book,
                // Excel keeps an encrypted .xlsx in an OLE file, which is no .xls either.
                Err(_) if matches!(ext, "xlsx" | "xlsm" | "xlsb" | "xlam") => {
                    return Err(ReadError::Workbook {
                        path: path.to_path_buf(),
                        message: PASSWORD_MESSAGE.to_owned(),
                    })
                }
                Err(e) => {
                    let password = matches!(e, calamine::XlsError::Password);
                    return Err(open_error(path, ext, &e, password));
                }
            };
            load_sheet(path, book, options)
        }
        Kind::Ods => {
            let book: Ods<_> = Reader::new(zipped()).map_err(|e| {
                open_error(path, ext, &e, matches!(e, calamine::OdsError::Password))
            })?;
            load_sheet(path, book, options)
        }
    }
}

/// Loads the chosen sheet of a workbook calamine cannot stream (.xls, .ods) whole.
fn load_sheet<R: Read + std::io::Seek, W: Reader<R>>(
    path: &Path,
    mut book: W,
    options: &ReadOptions,
) -> Result<OpenedSheet, ReadError>
where
    W::Error: std::fmt::Display,
{
    let (sheets, index) = choose_sheet(path, &book, options)?;
    let range = book
        .worksheet_range(&sheets[index])
        .map_err(|e| sheet_error(path, &sheets[index], &e))?;
    let rows = range_rows(range, path, &sheets[index], options.limits.max_cell_chars);
    Ok((sheets, index, rows))
}

/// Runs calamine code, turning a panic into [`ReadError::Workbook`].
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(ReadError::Workbook {
            path: path.to_path_buf(),
            message: format!(
                "the file is damaged: reading it failed ({})",
                panic_message(&*panic)
            ),
        })
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown error".to_owned())
}

fn open_error(path: &Path, ext: &str, error: &dyn std::fmt::Display, password: bool) -> ReadError {
    let message = if password {
        PASSWORD_MESSAGE.to_owned()
    } else {
        format!("the file is damaged or not a real .{ext} workbook ({error})")
    };
    ReadError::Workbook {
        path: path.to_path_buf(),
        message,
    }
}

fn sheet_error(path: &Path, sheet: &str, error: &dyn std::fmt::Display) -> ReadError {
    ReadError::Workbook {
        path: path.to_path_buf(),
        message: format!("could not read sheet \"{sheet}\"; the file may be damaged ({error})"),
    }
}

/// The workbook's sheet names and the index of the one to read.
fn choose_sheet<R: Read + std::io::Seek, W: Reader<R>>(
    path: &Path,
    book: &W,
    options: &ReadOptions,
) -> Result<(Vec<String>, usize), ReadError> {
    let sheets = book.sheet_names();
    let worksheet: Vec<bool> = book
        .sheets_metadata()
        .iter()
        .map(|s| matches!(s.typ, SheetType::WorkSheet))
        .collect();
    if sheets.is_empty() {
        return Err(ReadError::Workbook {
            path: path.to_path_buf(),
            message: "the workbook has no sheets".to_owned(),
        });
    }
    let no_such = |wanted: String| ReadError::NoSuchSheet {
        path: path.to_path_buf(),
        wanted,
        available: sheets
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let index = match &options.sheet {
        None => worksheet.iter().position(|&w| w).unwrap_or(0),
        Some(SheetSelector::Name(name)) => sheets
            .iter()
            .position(|s| s == name)
            .or_else(|| {
                let wanted = name.trim().to_lowercase();
                sheets
                    .iter()
                    .position(|s| s.trim().to_lowercase() == wanted)
            })
            .ok_or_else(|| no_such(format!("\"{name}\"")))?,
        Some(SheetSelector::Position(n)) => match n.checked_sub(1) {
            Some(i) if i < sheets.len() => i,
            _ => return Err(no_such(format!("number {n}"))),
        },
    };
    Ok((sheets, index))
}

/// A row of a sheet as read: its 0-based index and its cells from column A,
/// without trailing empty cells.
#[derive(Debug)]
struct RawRow {
    index: u32,
    cells: Cells,
}

/// The raw rows of a sheet, in order; rows that are not there are empty.
type RawRows = Box<dyn Iterator<Item = Result<RawRow, ReadError>> + Send>;

/// A row as the reader thread hands it on: the texts of its cells in one
/// buffer and the other values as calamine gave them. A row so costs the
/// reader two allocations instead of one per text cell, and the [`Cell`]s
/// are made by the consumer ([`PackedRow::unpack`]): the reader thread,
/// which calamine keeps busy, is the one the whole run waits for.
#[derive(Debug)]
struct PackedRow {
    index: u32,
    /// The texts of the cells, one after the other.
    text: String,
    /// The cells that are not empty, by 0-based column, as calamine gave them.
    cells: Vec<(u32, Packed)>,
}

/// A cell's value in a [`PackedRow`].
#[derive(Debug)]
enum Packed {
    /// Text, at these bytes of the row's `text`.
    Text {
        start: usize,
        end: usize,
    },
    Number(f64),
    Int(i64),
    Bool(bool),
    /// Anything else (dates, errors), rarer, made at once: a panic of
    /// calamine's in doing so is still caught on the reader thread.
    Made(Box<Cell>),
}

impl PackedRow {
    /// The row with its cells made, from column A, empty between the cells
    /// given (a cell given twice is the later one); this one is left empty,
    /// to be filled again.
    fn unpack(&mut self) -> RawRow {
        let width = self.cells.iter().map(|(col, _)| *col as usize + 1).max();
        let mut cells = Cells::with_capacity(width.unwrap_or(0), self.text.len());
        // In column order, as calamine gives them; a cell given again
        // replaces the first.
        for (col, value) in self.cells.drain(..) {
            let cell = match &value {
                Packed::Text { start, end } => CellRef::Text(&self.text[*start..*end]),
                Packed::Number(n) => CellRef::Number(*n),
                Packed::Int(i) => CellRef::Int(*i),
                Packed::Bool(b) => CellRef::Bool(*b),
                Packed::Made(cell) => cell.view(),
            };
            cells.put(col as usize, cell);
        }
        self.text.clear();
        RawRow {
            index: self.index,
            cells,
        }
    }

    /// Whether its buffers are small enough to be kept for another row.
    fn reusable(&self) -> bool {
        self.text.capacity() <= MAX_RESERVED_TEXT && self.cells.capacity() <= MAX_RESERVED_CELLS
    }
}

/// Why the reader thread stopped early.
#[derive(Debug)]
enum Failure {
    /// The sheet could not be read, in words.
    Damaged(String),
    /// A cell holds more characters than the limit: which cell, how many.
    LongCell { cell: String, chars: usize },
    /// A limit of [`limits::check_workbook`] met while calamine read.
    Checked(ReadError),
}

/// Collects streamed cells into rows and sends them in batches.
struct RowSink<'a> {
    rows: &'a mut BatchSender<PackedRow, Failure>,
    /// Rows the consumer has unpacked, handed back to be filled again:
    /// buffers made afresh on this thread and freed on another cost this
    /// thread, the busiest, cold memory each time.
    unpacked: &'a Receiver<PackedRow>,
    row: Option<PackedRow>,
    /// Cells and text bytes of the last row handed on, reserved for the next.
    last_cells: usize,
    last_text: usize,
    max_cell_chars: u64,
}

/// The error for a cell longer than the limit.
fn long_cell(path: &Path, sheet: &str, cell: String, chars: usize, max: u64) -> ReadError {
    ReadError::Limit {
        path: path.to_path_buf(),
        part: format!("sheet \"{sheet}\""),
        what: format!("{cell} holds {chars} characters"),
        limit: format!("{max} characters per cell"),
        flag: FLAG_CELL_CHARS,
    }
}

/// The number of characters of a text cell longer than `max`.
fn too_long(cell: &Cell, max: u64) -> Option<usize> {
    match cell {
        Cell::Text(s) => too_long_text(s, max),
        _ => None,
    }
}

/// The number of characters of a text longer than `max`.
fn too_long_text(s: &str, max: u64) -> Option<usize> {
    // Bytes are at least as many as characters: most texts are decided at once.
    if s.len() as u64 <= max {
        return None;
    }
    let chars = s.chars().count();
    (chars as u64 > max).then_some(chars)
}

/// `cell B7`, from 0-based indexes.
fn cell_label(row: u32, col: u32) -> String {
    format!(
        "cell {}{}",
        super::column_letters(col as usize),
        u64::from(row) + 1
    )
}

impl RowSink<'_> {
    /// Adds a cell; `Ok(false)` when the consumer has gone and reading should stop.
    fn cell(&mut self, row: u32, col: u32, value: &DataRef<'_>) -> Result<bool, Failure> {
        let packed = match value {
            DataRef::Empty => return Ok(true),
            DataRef::String(s) => return self.text(row, col, s),
            DataRef::SharedString(s) => return self.text(row, col, s),
            DataRef::Float(n) => Packed::Number(*n),
            DataRef::Int(i) => Packed::Int(*i),
            DataRef::Bool(b) => Packed::Bool(*b),
            other => match from_data_ref(other) {
                Cell::Empty => return Ok(true),
                cell => {
                    if let Some(chars) = too_long(&cell, self.max_cell_chars) {
                        return Err(Failure::LongCell {
                            cell: cell_label(row, col),
                            chars,
                        });
                    }
                    Packed::Made(Box::new(cell))
                }
            },
        };
        self.push(row, col, |_| packed)
    }

    /// Adds a text cell, its text kept in the row's buffer.
    fn text(&mut self, row: u32, col: u32, text: &str) -> Result<bool, Failure> {
        if text.is_empty() {
            return Ok(true);
        }
        if let Some(chars) = too_long_text(text, self.max_cell_chars) {
            return Err(Failure::LongCell {
                cell: cell_label(row, col),
                chars,
            });
        }
        self.push(row, col, |buffer| {
            let start = buffer.len();
            buffer.push_str(text);
            Packed::Text {
                start,
                end: buffer.len(),
            }
        })
    }

    /// Adds the value `value` makes (given the row's text buffer) at `row`, `col`.
    fn push(
        &mut self,
        row: u32,
        col: u32,
        value: impl FnOnce(&mut String) -> Packed,
    ) -> Result<bool, Failure> {
        if !self.start(row, col)? {
            return Ok(false);
        }
        let current = self.row.as_mut().expect("row just started");
        let packed = value(&mut current.text);
        current.cells.push((col, packed));
        Ok(true)
    }

    /// Checks where the cell at `row`, `col` is, and starts its row if it
    /// is a new one, handing on the one before; `Ok(false)` when the
    /// consumer has gone.
    fn start(&mut self, row: u32, col: u32) -> Result<bool, Failure> {
        if row >= MAX_ROWS || col >= MAX_COLUMNS {
            return Err(Failure::Damaged(format!(
                "it has a cell at row {}, column {}, beyond the last row and column Excel allows",
                u64::from(row) + 1,
                u64::from(col) + 1
            )));
        }
        match &self.row {
            Some(current) if current.index == row => return Ok(true),
            Some(current) if current.index > row => {
                return Err(Failure::Damaged(format!(
                    "its cells are out of order (row {} after row {}); open and save it in Excel, then try again",
                    row + 1,
                    current.index + 1
                )))
            }
            _ => {}
        }
        if let Some(done) = self.row.take() {
            self.last_cells = done.cells.len();
            self.last_text = done.text.len();
            if !self.rows.push(done) {
                return Ok(false);
            }
        }
        let mut next = self.unpacked.try_recv().unwrap_or_else(|_| PackedRow {
            index: row,
            // Room for as much as the row before: rows are mostly alike.
            text: String::with_capacity(self.last_text.min(MAX_RESERVED_TEXT)),
            cells: Vec::with_capacity(self.last_cells.min(MAX_RESERVED_CELLS)),
        });
        next.index = row;
        self.row = Some(next);
        Ok(true)
    }

    /// Hands on the last row.
    fn finish(mut self) {
        if let Some(done) = self.row.take() {
            self.rows.push(done);
        }
    }
}

/// Reads a sheet cell by cell on a thread of its own, so that the rows can
/// be handed out lazily while calamine's reader borrows the workbook.
fn stream(
    path: &Path,
    sheet: &str,
    max_cell_chars: u64,
    read: impl FnOnce(&mut RowSink<'_>) -> Result<(), Failure> + Send + 'static,
) -> Result<RawRows, ReadError> {
    // Unbounded, but never holds more than the rows in flight.
    let (give_back, unpacked) = mpsc::channel();
    let rows = batches::spawn("sheet-reader", move |rows| {
        let mut sink = RowSink {
            rows,
            unpacked: &unpacked,
            row: None,
            last_cells: 0,
            last_text: 0,
            max_cell_chars,
        };
        match catch_unwind(AssertUnwindSafe(|| read(&mut sink))) {
            Ok(Ok(())) => {
                sink.finish();
                Ok(())
            }
            Ok(Err(failure)) => Err(failure),
            Err(panic) => Err(Failure::Damaged(format!(
                "reading it failed ({})",
                panic_message(&*panic)
            ))),
        }
    })
    .map_err(|e| ReadError::Workbook {
        path: path.to_path_buf(),
        message: format!("could not start reading: {e}"),
    })?;
    Ok(Box::new(ChannelRows {
        rows,
        give_back,
        path: path.to_path_buf(),
        sheet: sheet.to_owned(),
        max_cell_chars,
    }))
}

/// The consumer's end of [`stream`].
struct ChannelRows {
    rows: BatchReceiver<PackedRow, Failure>,
    /// Where rows go once unpacked, back to the reader thread.
    give_back: Sender<PackedRow>,
    path: PathBuf,
    sheet: String,
    max_cell_chars: u64,
}

impl Iterator for ChannelRows {
    type Item = Result<RawRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let failed = match self.rows.next()? {
            Ok(mut packed) => {
                let row = packed.unpack();
                if packed.reusable() {
                    // The reader may have finished and gone: the row is dropped then.
                    let _ = self.give_back.send(packed);
                }
                return Some(Ok(row));
            }
            Err(Stopped::Failed(failure)) => failure,
            Err(Stopped::Vanished) => {
                Failure::Damaged("the reader stopped unexpectedly".to_owned())
            }
        };
        Some(Err(match failed {
            Failure::Damaged(message) => sheet_error(&self.path, &self.sheet, &message),
            Failure::LongCell { cell, chars } => {
                long_cell(&self.path, &self.sheet, cell, chars, self.max_cell_chars)
            }
            Failure::Checked(error) => error,
        }))
    }
}

/// The rows of a sheet loaded whole.
fn range_rows(
    range: calamine::Range<Data>,
    path: &Path,
    sheet: &str,
    max_cell_chars: u64,
) -> RawRows {
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let width = range.width();
    let height = range.height();
    let (path, sheet) = (path.to_path_buf(), sheet.to_owned());
    Box::new((0..height).map(move |r| {
        let index = first_row + r as u32;
        let mut cells = Cells::empty(first_col as usize);
        let mut filled = 0;
        for c in 0..width {
            let cell = range.get((r, c)).map_or(Cell::Empty, from_data);
            if let Some(chars) = too_long(&cell, max_cell_chars) {
                let label = cell_label(index, first_col + c as u32);
                return Err(long_cell(&path, &sheet, label, chars, max_cell_chars));
            }
            cells.push(cell.view());
            if cell != Cell::Empty {
                filled = cells.len();
            }
        }
        cells.truncate(filled);
        Ok(RawRow { index, cells })
    }))
}

/// Turns raw rows into [`SourceRow`]s under the header.
struct SheetRows {
    raw: RawRows,
    /// A raw row read ahead, past a gap of missing (empty) rows.
    pending: Option<RawRow>,
    /// 0-based index of the next row to hand out.
    next_index: u64,
    /// Column of the header's first non-blank cell.
    first_col: usize,
    /// Header width.
    columns: usize,
    done: bool,
}

impl SheetRows {
    /// Skips to row `header_row` and reads the column names from it.
    fn read_header(
        &mut self,
        path: &Path,
        sheet: &str,
        header_row: u64,
    ) -> Result<Vec<String>, ReadError> {
        let wanted = header_row - 1;
        let blank = |seen_any: bool| ReadError::NoHeader {
            path: path.to_path_buf(),
            hint: if seen_any || header_row > 1 {
                format!(
                    " or row {header_row} of sheet \"{sheet}\" is blank; \
                     use --header-row to say which row holds the column names"
                )
            } else {
                format!(" or sheet \"{sheet}\" is empty")
            },
        };
        let mut seen_any = false;
        let header = loop {
            match self.raw.next() {
                None => return Err(blank(seen_any)),
                Some(Err(e)) => return Err(e),
                Some(Ok(row)) if u64::from(row.index) < wanted => {
                    seen_any |= !row.cells.iter().all(CellRef::is_blank);
                }
                Some(Ok(row)) if u64::from(row.index) == wanted => break row,
                Some(Ok(_)) => return Err(blank(true)),
            }
        };
        let Some(first) = header.cells.iter().position(|c| !c.is_blank()) else {
            return Err(blank(true));
        };
        let last = header
            .cells
            .iter()
            .rposition(|c| !c.is_blank())
            .unwrap_or(first);
        self.first_col = first;
        self.columns = last + 1 - first;
        self.next_index = wanted + 1;
        Ok(header
            .cells
            .iter()
            .skip(first)
            .take(last + 1 - first)
            .map(|c| c.text().into_owned())
            .collect())
    }

    fn source_row(&self, raw: RawRow) -> SourceRow {
        let mut cells = raw.cells;
        cells.drop_front(self.first_col);
        let filled = cells
            .iter()
            .rposition(|c| !c.is_blank())
            .map_or(0, |i| i + 1);
        cells.truncate(filled.max(self.columns).min(cells.len()));
        let width = cells.len().max(self.columns);
        cells.pad_to(width);
        SourceRow {
            number: u64::from(raw.index) + 1,
            cells,
            width,
        }
    }
}

impl Iterator for SheetRows {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let raw = match self.pending.take().map(Ok).or_else(|| self.raw.next()) {
            Some(Ok(raw)) => raw,
            Some(Err(e)) => {
                self.done = true;
                return Some(Err(e));
            }
            None => {
                self.done = true;
                return None;
            }
        };
        let index = u64::from(raw.index);
        if index < self.next_index {
            // Cannot happen with the readers above; never hand out a row twice.
            return self.next();
        }
        let row = if index > self.next_index {
            self.pending = Some(raw);
            SourceRow {
                number: self.next_index + 1,
                cells: Cells::empty(self.columns),
                width: self.columns,
            }
        } else {
            self.source_row(raw)
        };
        self.next_index += 1;
        Some(Ok(row))
    }
}

/// Converts a streamed cell value.
fn from_data_ref(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Float(n) => Cell::Number(*n),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => date_time(dt),
        DataRef::DateTimeIso(s) => iso_date_time(s),
        DataRef::DurationIso(s) => iso_duration(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Converts a loaded cell value.
fn from_data(value: &Data) -> Cell {
    match value {
        Data::Empty => Cell::Empty,
        Data::String(s) => text(s),
        Data::Float(n) => Cell::Number(*n),
        Data::Int(i) => Cell::Int(*i),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => date_time(dt),
        Data::DateTimeIso(s) => iso_date_time(s),
        Data::DurationIso(s) => iso_duration(s),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_owned())
    }
}

/// An Excel date, time or duration with its ISO 8601 text.
fn date_time(dt: &ExcelDateTime) -> Cell {
    let serial = dt.as_f64();
    if dt.is_duration() {
        return Cell::Date {
            serial,
            text: duration_text(serial),
        };
    }
    let (year, month, day, hour, minute, second, milli) = dt.to_ymd_hms_milli();
    let time = if milli > 0 {
        format!("{hour:02}:{minute:02}:{second:02}.{milli:03}")
    } else {
        format!("{hour:02}:{minute:02}:{second:02}")
    };
    let midnight = (hour, minute, second, milli) == (0, 0, 0, 0);
    let text = if (0.0..1.0).contains(&serial) {
        time
    } else if midnight {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{time}")
    };
    Cell::Date { serial, text }
}

/// `36:30:00` for a day and a half and half an hour.
fn duration_text(days: f64) -> String {
    let seconds = (days * 86_400.0).round();
    let sign = if seconds < 0.0 { "-" } else { "" };
    let seconds = seconds.abs() as u64;
    format!(
        "{sign}{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Day 0 of the spreadsheet serial numbers of OpenDocument dates (1900
/// system, where 1900-03-01 is 61 whatever the leap year Excel invented).
const SERIAL_EPOCH: jiff::civil::Date = jiff::civil::Date::constant(1899, 12, 30);

/// The serial number of day `day` of `month` in `year`, the days past the
/// month's end running on into the next (`2024-02-31` is `2024-03-02`),
/// within jiff's years -9999 to 9999.
fn serial_day(year: i64, month: u32, day: u32) -> Option<i64> {
    let first =
        jiff::civil::Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, 1).ok()?;
    let date = first
        .checked_add(jiff::SignedDuration::from_hours(i64::from(day - 1) * 24))
        .ok()?;
    Some(i64::from(date.since(SERIAL_EPOCH).ok()?.get_days()))
}

/// An OpenDocument date (`2024-03-01` or `2024-03-01T12:30:00`) with its
/// spreadsheet serial number (1900 system).
fn iso_date_time(s: &str) -> Cell {
    let parse = || -> Option<f64> {
        let (date, time) = s.split_once('T').unwrap_or((s, ""));
        let mut parts = date.splitn(3, '-');
        let year: i64 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if !(-9999..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day)
        {
            return None;
        }
        let mut seconds = 0.0;
        if !time.is_empty() {
            let mut parts = time.splitn(3, ':');
            let hour: f64 = parts.next()?.parse().ok()?;
            let minute: f64 = parts.next()?.parse().ok()?;
            let second: f64 = parts.next().unwrap_or("0").parse().ok()?;
            seconds = hour * 3600.0 + minute * 60.0 + second;
        }
        Some(serial_day(year, month, day)? as f64 + seconds / 86_400.0)
    };
    match parse() {
        Some(serial) => {
            let text = s.strip_suffix("T00:00:00").unwrap_or(s).to_owned();
            Cell::Date { serial, text }
        }
        None => text(s),
    }
}

/// An OpenDocument duration or time of day (`PT12H30M00S`).
fn iso_duration(s: &str) -> Cell {
    let parse = || -> Option<f64> {
        let rest = s.strip_prefix('P')?;
        let (days_part, time_part) = rest.split_once('T').unwrap_or((rest, ""));
        let mut seconds = 0.0;
        if !days_part.is_empty() {
            let days: f64 = days_part.strip_suffix('D')?.parse().ok()?;
            seconds += days * 86_400.0;
        }
        let mut number = String::new();
        for c in time_part.chars() {
            let unit = match c {
                'H' => 3600.0,
                'M' => 60.0,
                'S' => 1.0,
                c if c.is_ascii_digit() || c == '.' => {
                    number.push(c);
                    continue;
                }
                _ => return None,
            };
            seconds += number.parse::<f64>().ok()? * unit;
            number.clear();
        }
        number.is_empty().then_some(seconds / 86_400.0)
    };
    match parse() {
        Some(serial) => Cell::Date {
            serial,
            text: duration_text(serial),
        },
        None => text(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTimeType};

    /// Streams `cells` as calamine's reader would give them; the rows (index
    /// and cells) or the error.
    fn streamed(cells: Vec<(u32, u32, DataRef<'static>)>) -> Vec<Result<(u32, Vec<Cell>), String>> {
        let rows = stream(Path::new("book.xlsx"), "Sheet1", 10, move |sink| {
            for (row, col, value) in &cells {
                if !sink.cell(*row, *col, value)? {
                    break;
                }
            }
            Ok(())
        })
        .unwrap();
        rows.map(|r| {
            r.map(|r| (r.index, r.cells.to_vec()))
                .map_err(|e| e.to_string())
        })
        .collect()
    }

    #[test]
    fn streamed_rows_hold_their_cells_where_calamine_put_them() {
        let date = ExcelDateTime::new(45352.5, ExcelDateTimeType::DateTime, false);
        let cells = vec![
            (0, 0, DataRef::String("name".into())),
            (0, 2, DataRef::SharedString("ø & æ")),
            (0, 1, DataRef::Float(1.5)),
            (2, 0, DataRef::String(String::new())),
            (2, 3, DataRef::Int(7)),
            (2, 1, DataRef::Bool(true)),
            (2, 1, DataRef::String("again".into())),
            (2, 4, DataRef::DateTime(date)),
            (2, 5, DataRef::Error(CellErrorType::Div0)),
            (2, 7, DataRef::Empty),
            (3, 0, DataRef::Empty),
            (4, 1, DataRef::SharedString("")),
            (4, 2, DataRef::SharedString("0123456789")),
        ];
        let text = |s: &str| Cell::Text(s.to_owned());
        assert_eq!(
            streamed(cells),
            [
                Ok((0, vec![text("name"), Cell::Number(1.5), text("ø & æ")])),
                Ok((
                    2,
                    vec![
                        Cell::Empty,
                        text("again"),
                        Cell::Empty,
                        Cell::Int(7),
                        date_time(&date),
                        Cell::Error("#DIV/0!".to_owned()),
                    ]
                )),
                Ok((4, vec![Cell::Empty, Cell::Empty, text("0123456789")])),
            ]
        );
    }

    #[test]
    fn rows_filled_again_hold_only_their_own_cells() {
        // Far more rows than are in flight, so that unpacked rows come back
        // to the reader, each unlike the one before.
        let rows = 5000u32;
        let cells: Vec<(u32, u32, DataRef<'static>)> = (0..rows)
            .flat_map(|row| {
                (0..row % 7).map(move |col| match col % 3 {
                    0 => (row, col * 2, DataRef::String(format!("r{row}c{col}"))),
                    1 => (row, col * 2, DataRef::Int(i64::from(row))),
                    _ => (row, col * 2, DataRef::SharedString("shared")),
                })
            })
            .collect();
        let streamed = streamed(cells);
        let expected: Vec<_> = (0..rows)
            .filter(|row| row % 7 > 0)
            .map(|row| {
                let mut cells = Vec::new();
                for col in 0..row % 7 {
                    cells.resize(col as usize * 2, Cell::Empty);
                    cells.push(match col % 3 {
                        0 => Cell::Text(format!("r{row}c{col}")),
                        1 => Cell::Int(i64::from(row)),
                        _ => Cell::Text("shared".to_owned()),
                    });
                }
                Ok((row, cells))
            })
            .collect();
        assert_eq!(streamed, expected);
    }

    #[test]
    fn a_streamed_cell_over_the_limit_ends_the_rows() {
        let cells = vec![
            (0, 0, DataRef::String("ok".into())),
            (1, 0, DataRef::String("ø".repeat(10))),
            (1, 1, DataRef::SharedString("øøøøøøøøøøø")),
            (2, 0, DataRef::String("never read".into())),
        ];
        // Rows not yet handed on when it fails are not (see `batches`).
        let rows = streamed(cells);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let error = rows[0].as_ref().unwrap_err();
        assert!(error.contains("cell B2 holds 11 characters"), "{error}");
    }

    fn date_text(serial: f64) -> String {
        match date_time(&ExcelDateTime::new(
            serial,
            ExcelDateTimeType::DateTime,
            false,
        )) {
            Cell::Date { text, .. } => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn excel_dates_as_iso_text() {
        assert_eq!(date_text(45352.0), "2024-03-01");
        assert_eq!(date_text(45352.5), "2024-03-01T12:00:00");
        assert_eq!(date_text(0.75), "18:00:00");
        assert_eq!(duration_text(1.5 + 0.5 / 24.0), "36:30:00");
    }

    #[test]
    fn excel_serials_in_both_date_systems() {
        let text = |serial: f64, is_1904: bool| match date_time(&ExcelDateTime::new(
            serial,
            ExcelDateTimeType::DateTime,
            is_1904,
        )) {
            Cell::Date { text, .. } => text,
            other => panic!("{other:?}"),
        };
        // 1900 system: 1900-02-29, which never was, is serial 60.
        assert_eq!(text(59.0, false), "1900-02-28");
        assert_eq!(text(61.0, false), "1900-03-01");
        assert_eq!(text(2_958_465.0, false), "9999-12-31");
        // 1904 system: day 0 is 1904-01-01.
        assert_eq!(text(1.0, true), "1904-01-02");
        assert_eq!(text(43_890.25, true), "2024-03-01T06:00:00");
    }

    #[test]
    fn opendocument_dates_as_serials() {
        let serial = |s: &str| match iso_date_time(s) {
            Cell::Date { serial, .. } => serial,
            other => panic!("{other:?}"),
        };
        assert_eq!(serial("1900-03-01"), 61.0);
        assert_eq!(serial("1899-12-31T06:00:00"), 1.25);
        assert_eq!(serial("1800-01-01"), -36_522.0);
        assert_eq!(serial("9999-12-31"), 2_958_465.0);
        // Days past the month's end run on into the next month.
        assert_eq!(serial("2024-02-31"), serial("2024-03-02"));
        assert_eq!(
            iso_date_time("10000-01-01"),
            Cell::Text("10000-01-01".into())
        );
    }

    #[test]
    fn opendocument_dates() {
        assert_eq!(
            iso_date_time("2024-03-01"),
            Cell::Date {
                serial: 45352.0,
                text: "2024-03-01".into()
            }
        );
        assert_eq!(
            iso_date_time("2024-03-01T12:00:00"),
            Cell::Date {
                serial: 45352.5,
                text: "2024-03-01T12:00:00".into()
            }
        );
        assert_eq!(
            iso_date_time("1899-12-30T00:00:00"),
            Cell::Date {
                serial: 0.0,
                text: "1899-12-30".into()
            }
        );
        assert_eq!(iso_date_time("soon"), Cell::Text("soon".into()));
        assert_eq!(
            iso_date_time("9223372036854775807-01-01"),
            Cell::Text("9223372036854775807-01-01".into())
        );
        assert_eq!(
            iso_duration("PT12H30M00S"),
            Cell::Date {
                serial: 12.5 / 24.0,
                text: "12:30:00".into()
            }
        );
        assert_eq!(
            iso_duration("P1DT0H0M0S"),
            Cell::Date {
                serial: 1.0,
                text: "24:00:00".into()
            }
        );
        assert_eq!(iso_duration("PT1X"), Cell::Text("PT1X".into()));
    }
}
