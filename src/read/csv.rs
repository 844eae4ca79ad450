//! CSV reading: encoding and delimiter detection, streaming records.
//!
//! The file is opened once; its first [`SAMPLE_BYTES`] decide the encoding
//! and the delimiter and are kept, then records stream from the kept sample
//! and the rest of the file through a fixed buffer into [`csv_core`], so
//! memory stays flat however many rows the file has, and nothing is read
//! twice: standard input (`-`) is read the same way.
//!
//! - **Encoding.** A byte-order mark decides (UTF-8, UTF-16LE, UTF-16BE).
//!   Without one, a sample that is valid UTF-8 means UTF-8, anything else
//!   Windows-1252. A sample of plain ASCII decides nothing: such a file is
//!   read as UTF-8 until the first row that is not valid UTF-8, and from that
//!   row on as Windows-1252 (ASCII reads the same in both, so nothing read
//!   before changes). A row that is not valid UTF-8 in a file that already
//!   showed UTF-8 text is an error naming the row: the file mixes encodings
//!   and guessing would put wrong letters into the ERP. `--encoding` (any
//!   WHATWG label) overrides all of this.
//! - **Speed.** UTF-8 and single-byte encodings (Windows-1252, ISO-8859-x…)
//!   are split into fields as raw bytes and each field is decoded on its own,
//!   with no transcoding layer. Other encodings (UTF-16, multi-byte Asian
//!   encodings, whose bytes may look like delimiters) are transcoded to UTF-8
//!   first by [`encoding_rs_io`].
//! - **Rows.** [`SourceRow::number`] counts records and blank lines the way
//!   a spreadsheet program shows the file: a quoted cell with line breaks is
//!   one row, a blank line is an (empty) row.
//! - **Binary files.** A known signature (zip, PDF, OLE, gzip) or a start
//!   that is largely control characters (see [`check_text`]) refuses the
//!   whole file. A control character here and there is not refused here: it
//!   makes its cell invalid in validation, wherever it is in the file.
//! - **Limits.** A record longer than [`MAX_RECORD_BYTES`] or with more than
//!   [`MAX_FIELDS`] cells stops the reading with an error, so that a binary
//!   file, a runaway quote or a 50 MB line ends quickly with a clear message.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use super::{ReadError, ReadOptions, SourceInfo, SourceRow, Table};
use crate::cell::{CellRef, Cells};

/// How much of the start of a file decides its encoding and delimiter.
pub(crate) const SAMPLE_BYTES: usize = 64 * 1024;

/// The longest record (row) read, in bytes. Real product rows are a few
/// hundred bytes; this only stops junk.
pub(crate) const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// The most cells one row may have.
pub(crate) const MAX_FIELDS: usize = 100_000;

/// Read buffer size.
const BUFFER_BYTES: usize = 256 * 1024;

/// Delimiters tried, in order of preference when the evidence is equal.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records of the sample the delimiter detection looks at.
const DETECT_RECORDS: usize = 50;

/// Opens a CSV file, detecting its encoding and delimiter unless given.
///
/// Reads the header row (row `header_row`, default 1; rows above it are
/// skipped) and returns a [`Table`] whose rows stream from the file.
///
/// `-` (see [`super::is_stdin`]) reads standard input: the sample is kept
/// and read again from memory, so nothing is read twice. Standard input can
/// be opened once per process; a second open is an error.
pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<Table, ReadError> {
    if super::is_stdin(path) {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(ReadError::Io {
                path: PathBuf::from(super::STDIN_NAME),
                source: io::Error::other("standard input was already read"),
            });
        }
        return open_source(
            Path::new(super::STDIN_NAME),
            Box::new(io::stdin()),
            None,
            options,
        );
    }
    let io_error = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    open_source(path, Box::new(file), Some(file_len), options)
}

/// Set once standard input has been opened.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// Opens a CSV from `source`, `len` bytes long when known; `path` names it in messages.
fn open_source(
    path: &Path,
    mut source: Box<dyn Read + Send>,
    len: Option<u64>,
    options: &ReadOptions,
) -> Result<Table, ReadError> {
    let sample = read_sample(&mut source).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let whole = match len {
        Some(len) => sample.len() as u64 >= len,
        None => sample.len() < SAMPLE_BYTES,
    };
    let header_row = options.header_row.unwrap_or(1).max(1);
    refuse_binary(path, &sample, len.is_none())?;
    let choice = Choice::new(&sample, options.encoding, whole);
    let text = choice.decode_sample(&sample, whole);
    if let Err(message) = check_text(&text, choice.bom_len > 0 || options.encoding.is_some()) {
        return Err(ReadError::NotText {
            path: path.to_path_buf(),
            message,
        });
    }
    if text.trim_matches(['\r', '\n']).is_empty() {
        return Err(no_header(path, String::new()));
    }
    let delimiter = options
        .delimiter
        .unwrap_or_else(|| detect_delimiter(text.as_bytes(), whole, header_row));

    let mut rows = CsvRows {
        records: RecordReader::new(decoded(sample, source, &choice), delimiter),
        text: choice.text,
        path: path.to_path_buf(),
        number: 0,
        columns: 0,
        wanted: None,
        done: false,
    };
    let headers = rows.read_header(header_row)?;
    rows.columns = headers.len();
    rows.wanted = options
        .only_columns
        .as_ref()
        .map(|cols| wanted_columns(cols, headers.len()));

    Ok(Table {
        info: SourceInfo {
            path: path.to_path_buf(),
            format: "csv".to_owned(),
            sheet: None,
            other_sheets: Vec::new(),
            encoding: Some(choice.encoding.name().to_owned()),
            encoding_detected: options.encoding.is_none(),
            delimiter: Some(delimiter),
        },
        headers,
        header_row,
        rows: Box::new(rows),
    })
}

/// Refuses a sample that starts like a binary file; a workbook read from
/// standard input (`stdin`) is told to be saved to a file instead.
fn refuse_binary(path: &Path, sample: &[u8], stdin: bool) -> Result<(), ReadError> {
    let Some(what) = binary_signature(sample) else {
        return Ok(());
    };
    let workbook = sample.starts_with(b"PK\x03\x04") || sample.starts_with(&OLE_SIGNATURE);
    let message = if stdin && workbook {
        "it is a zip archive or an Office file, and spreadsheets cannot be read from \
         standard input; save the workbook to a file and give its name instead of -"
            .to_owned()
    } else {
        what.to_owned()
    };
    Err(ReadError::NotText {
        path: path.to_path_buf(),
        message,
    })
}

/// The file's bytes as the record reader takes them: the sample read again
/// from memory (less its byte-order mark), then the rest from `source`,
/// transcoded to UTF-8 if `choice` says so.
fn decoded(sample: Vec<u8>, source: Box<dyn Read + Send>, choice: &Choice) -> Box<dyn Read + Send> {
    let mut start = io::Cursor::new(sample);
    start.set_position(choice.bom_len as u64);
    let rest = start.chain(source);
    if choice.transcode {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(choice.encoding))
                .bom_sniffing(false)
                .build(rest),
        )
    } else {
        Box::new(rest)
    }
}

/// The error for a file without a header row; `hint` says more.
fn no_header(path: &Path, hint: String) -> ReadError {
    ReadError::NoHeader {
        path: path.to_path_buf(),
        hint,
    }
}

/// Which of `columns` columns to read: those in `only`.
fn wanted_columns(only: &[usize], columns: usize) -> Vec<bool> {
    let mut wanted = vec![false; columns];
    for &c in only {
        if let Some(w) = wanted.get_mut(c) {
            *w = true;
        }
    }
    wanted
}

/// Reads up to [`SAMPLE_BYTES`] from the start of the file.
fn read_sample(source: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    source.take(SAMPLE_BYTES as u64).read_to_end(&mut sample)?;
    Ok(sample)
}

/// The start of an OLE compound file: .xls, and encrypted OOXML workbooks.
const OLE_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Well-known signatures of binary files that are sometimes given a `.csv` name.
fn binary_signature(sample: &[u8]) -> Option<&'static str> {
    if sample.starts_with(b"PK\x03\x04") {
        Some("it is a zip archive, perhaps an .xlsx or .ods workbook with the wrong file extension")
    } else if sample.starts_with(&OLE_SIGNATURE) {
        Some("it looks like an old Excel (.xls) workbook or an encrypted Office file with the wrong file extension")
    } else if sample.starts_with(b"%PDF-") {
        Some("it is a PDF document")
    } else if sample.starts_with(&[0x1F, 0x8B]) {
        Some("it is a gzip-compressed file")
    } else {
        None
    }
}

/// A sample with at least this many control characters, making up at
/// least [`BINARY_CONTROL_PERCENT`] of its characters, is a binary file.
const BINARY_MIN_CONTROLS: usize = 32;

/// See [`BINARY_MIN_CONTROLS`]. Random bytes are about 13% controls, UTF-16
/// text read as UTF-8 about 50% NULs, a CSV file with a stray control
/// character in every row 1 or 2%.
const BINARY_CONTROL_PERCENT: usize = 10;

/// Rejects a sample that is not text: one where control characters (NUL,
/// DEL, C0 and C1 controls other than tab, line feed and carriage return)
/// are at least [`BINARY_MIN_CONTROLS`] and [`BINARY_CONTROL_PERCENT`]% of
/// the characters. Fewer make only the cells holding them invalid, wherever
/// they are in the file (see the validation).
fn check_text(text: &str, encoding_known: bool) -> Result<(), String> {
    let (mut total, mut controls, mut nuls) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if crate::values::is_forbidden_control(c, true) {
            controls += 1;
            nuls += usize::from(c == '\0');
        }
    }
    if controls < BINARY_MIN_CONTROLS || controls * 100 < total * BINARY_CONTROL_PERCENT {
        return Ok(());
    }
    if nuls * 2 >= controls {
        let hint = if encoding_known {
            ""
        } else {
            "; if it is UTF-16 text without a byte-order mark, give --encoding utf-16le (or utf-16be)"
        };
        Err(format!(
            "{nuls} of its first {total} characters are NUL bytes{hint}"
        ))
    } else {
        Err(format!(
            "{controls} of its first {total} characters are control characters"
        ))
    }
}

/// How the bytes of the file become text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TextDecoding {
    /// UTF-8; `undecided` while the file has shown nothing but ASCII.
    Utf8 {
        /// Still free to switch to Windows-1252.
        undecided: bool,
    },
    /// A single-byte encoding, decoded field by field.
    SingleByte(&'static Encoding),
}

/// The encoding chosen for a file and how to read it.
struct Choice {
    encoding: &'static Encoding,
    /// Bytes of byte-order mark to skip.
    bom_len: usize,
    /// Whether the file goes through the transcoding reader first.
    transcode: bool,
    /// How fields are decoded (after transcoding, if any).
    text: TextDecoding,
}

impl Choice {
    fn new(sample: &[u8], forced: Option<&'static Encoding>, whole: bool) -> Choice {
        let bom = Encoding::for_bom(sample);
        if let Some(encoding) = forced {
            let bom_len = bom
                .filter(|&(e, _)| e == encoding)
                .map_or(0, |(_, len)| len);
            return Choice::for_encoding(encoding, bom_len, false);
        }
        if let Some((encoding, bom_len)) = bom {
            return Choice::for_encoding(encoding, bom_len, false);
        }
        match std::str::from_utf8(sample) {
            Ok(text) => Choice::for_encoding(UTF_8, 0, !whole && text.is_ascii()),
            Err(e) if e.error_len().is_none() && !whole => {
                // Only the sample's cut through a character at its end.
                let ascii = sample[..e.valid_up_to()].is_ascii();
                Choice::for_encoding(UTF_8, 0, ascii)
            }
            Err(_) => Choice::for_encoding(WINDOWS_1252, 0, false),
        }
    }

    fn for_encoding(encoding: &'static Encoding, bom_len: usize, undecided: bool) -> Choice {
        let (transcode, text) = if encoding == UTF_8 {
            (false, TextDecoding::Utf8 { undecided })
        } else if encoding.is_single_byte() {
            (false, TextDecoding::SingleByte(encoding))
        } else {
            (true, TextDecoding::Utf8 { undecided: false })
        };
        Choice {
            encoding,
            bom_len,
            transcode,
            text,
        }
    }

    /// The sample as text, for detection only (a character cut at the end is dropped).
    fn decode_sample<'a>(&self, sample: &'a [u8], whole: bool) -> Cow<'a, str> {
        let bytes = &sample[self.bom_len..];
        if self.encoding == UTF_8 {
            match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(e) if e.error_len().is_none() && !whole => Cow::Borrowed(
                    std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
                ),
                Err(_) => String::from_utf8_lossy(bytes),
            }
        } else {
            self.encoding.decode_without_bom_handling(bytes).0
        }
    }
}

/// Picks the delimiter among [`DELIMITERS`] that splits the sample's records
/// from the header row on most consistently: the most records with as many cells as the header,
/// then the most cells in the header, then the order of [`DELIMITERS`].
///
/// A file whose header has no candidate at all is a one-column file; it gets
/// a delimiter that does not occur in the sample, so that its cells are not split.
fn detect_delimiter(sample: &[u8], whole: bool, header_row: u64) -> u8 {
    let mut best: Option<((usize, usize), u8)> = None;
    let mut unused = None;
    for &delimiter in &DELIMITERS {
        let counts = count_fields(sample, delimiter, whole, header_row);
        let Some(&header) = counts.first() else {
            continue;
        };
        if counts.iter().all(|&n| n == 1) && unused.is_none() {
            unused = Some(delimiter);
        }
        if header < 2 {
            continue;
        }
        let agree = counts.iter().filter(|&&n| n == header).count();
        let score = (agree, header);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, delimiter));
        }
    }
    best.map(|(_, d)| d).or(unused).unwrap_or(b',')
}

/// The number of fields of each record of the sample with `delimiter`,
/// from the header row on, blank lines left out.
fn count_fields(sample: &[u8], delimiter: u8, whole: bool, header_row: u64) -> Vec<usize> {
    let mut records = RecordReader::new(Box::new(io::Cursor::new(sample.to_vec())), delimiter);
    let mut counts = Vec::new();
    let mut row = 0;
    while counts.len() < DETECT_RECORDS {
        row += 1;
        match records.next() {
            Ok(Some(Record::Fields)) if row >= header_row => counts.push(records.fields),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    // The last record may be cut by the sample's end; keep it only if it is
    // the header, longer than the sample.
    if !whole && counts.len() > 1 && counts.len() < DETECT_RECORDS {
        counts.pop();
    }
    counts
}

/// Why a record could not be read.
enum RecordError {
    Io(io::Error),
    TooLong,
    TooManyFields,
}

/// What [`RecordReader::next`] found.
enum Record {
    /// A line with nothing on it.
    Blank,
    /// A record; its fields are in the reader.
    Fields,
}

/// Splits a byte stream into records with [`csv_core`], reusing its buffers,
/// and reports blank lines (which `csv_core` skips) so that row numbers
/// match what a spreadsheet program shows.
struct RecordReader {
    source: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    eof: bool,
    core: csv_core::Reader,
    /// Field bytes of the current record, back to back.
    out: Vec<u8>,
    /// End offset in `out` of each field.
    ends: Vec<usize>,
    /// Fields in the current record.
    fields: usize,
    /// The last record ended with `\r`, so a `\n` right after it ends the same line.
    pending_lf: bool,
}

impl RecordReader {
    fn new(source: Box<dyn Read + Send>, delimiter: u8) -> RecordReader {
        RecordReader {
            source,
            buf: vec![0; BUFFER_BYTES].into_boxed_slice(),
            pos: 0,
            filled: 0,
            eof: false,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 64 * 1024],
            ends: vec![0; 256],
            fields: 0,
            pending_lf: false,
        }
    }

    /// Refills the buffer once it is used up.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos == self.filled && !self.eof {
            self.pos = 0;
            self.filled = loop {
                match self.source.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.filled = 0;
                        return Err(e);
                    }
                }
            };
            self.eof = self.filled == 0;
        }
        Ok(())
    }

    /// Reads the next record or blank line; `None` at the end of the input.
    fn next(&mut self) -> Result<Option<Record>, RecordError> {
        use csv_core::ReadRecordResult as R;
        // Blank lines, which csv_core would skip silently.
        loop {
            self.fill().map_err(RecordError::Io)?;
            if self.pos == self.filled {
                return Ok(None);
            }
            match self.buf[self.pos] {
                b'\n' if self.pending_lf => {
                    self.pos += 1;
                    self.pending_lf = false;
                }
                b'\n' => {
                    self.pos += 1;
                    return Ok(Some(Record::Blank));
                }
                b'\r' => {
                    self.pos += 1;
                    self.pending_lf = true;
                    return Ok(Some(Record::Blank));
                }
                _ => {
                    self.pending_lf = false;
                    break;
                }
            }
        }
        let (mut out_len, mut fields) = (0, 0);
        loop {
            self.fill().map_err(RecordError::Io)?;
            let input = &self.buf[self.pos..self.filled];
            let (result, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.out[out_len..], &mut self.ends[fields..]);
            self.pos += nin;
            out_len += nout;
            fields += nend;
            match result {
                R::InputEmpty if self.eof && input.is_empty() => return Ok(None),
                R::InputEmpty => {}
                R::OutputFull => {
                    if self.out.len() >= MAX_RECORD_BYTES {
                        return Err(RecordError::TooLong);
                    }
                    let len = (self.out.len() * 2).min(MAX_RECORD_BYTES);
                    self.out.resize(len, 0);
                }
                R::OutputEndsFull => {
                    if self.ends.len() >= MAX_FIELDS {
                        return Err(RecordError::TooManyFields);
                    }
                    let len = (self.ends.len() * 2).min(MAX_FIELDS);
                    self.ends.resize(len, 0);
                }
                R::Record => {
                    self.fields = fields;
                    self.pending_lf = nin > 0 && self.buf[self.pos - 1] == b'\r';
                    return Ok(Some(Record::Fields));
                }
                R::End => return Ok(None),
            }
        }
    }

    /// The fields of the current record, as bytes.
    fn fields(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let ends = &self.ends[..self.fields];
        ends.iter().enumerate().map(move |(i, &end)| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &self.out[start..end]
        })
    }

    /// All bytes of the current record's fields.
    fn record_bytes(&self) -> &[u8] {
        let len = self.ends[..self.fields].last().copied().unwrap_or(0);
        &self.out[..len]
    }
}

/// The stream of rows of a CSV file.
struct CsvRows {
    records: RecordReader,
    text: TextDecoding,
    path: PathBuf,
    /// Row number of the last row read.
    number: u64,
    /// Header width.
    columns: usize,
    /// Columns to decode (data rows only), when not all.
    wanted: Option<Vec<bool>>,
    /// Set after the end or an error.
    done: bool,
}

impl CsvRows {
    fn error(&self, row: u64, message: String) -> ReadError {
        ReadError::Csv {
            path: self.path.clone(),
            row,
            message,
        }
    }

    /// The error for a row of a UTF-8 file whose cell `index` is not UTF-8.
    fn not_utf8(&self, index: usize) -> ReadError {
        self.error(
            self.number,
            format!(
                "cell {} is not valid UTF-8 text, though the file is UTF-8 before it; \
                 save the file again as UTF-8, or give its encoding with --encoding",
                index + 1
            ),
        )
    }

    /// Reads the rows up to the header row `header_row` and returns its
    /// cells as the column names.
    fn read_header(&mut self, header_row: u64) -> Result<Vec<String>, ReadError> {
        loop {
            let Some(row) = self.read_row()? else {
                let hint = if header_row > 1 {
                    format!(" or has fewer than {header_row} rows")
                } else {
                    String::new()
                };
                return Err(no_header(&self.path, hint));
            };
            if row.number == header_row {
                if row.is_empty() {
                    return Err(no_header(
                        &self.path,
                        format!(
                            " or row {header_row} is blank; use --header-row to say which row holds the column names"
                        ),
                    ));
                }
                return Ok(row.cells.iter().map(|c| c.text().into_owned()).collect());
            }
        }
    }

    /// Reads the next row (a blank line is an empty row).
    fn read_row(&mut self) -> Result<Option<SourceRow>, ReadError> {
        let row = self.number + 1;
        let record = match self.records.next() {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(None),
            Err(RecordError::Io(e)) => return Err(self.error(row, format!("could not read the file: {e}"))),
            Err(RecordError::TooLong) => {
                return Err(self.error(
                    row,
                    format!(
                        "the row is longer than {} MiB, so this is not a CSV file of products \
                         (or a quote is never closed and runs on to the end of the file)",
                        MAX_RECORD_BYTES / (1024 * 1024)
                    ),
                ))
            }
            Err(RecordError::TooManyFields) => {
                return Err(self.error(
                    row,
                    format!("the row has more than {MAX_FIELDS} cells, so this is not a CSV file of products"),
                ))
            }
        };
        self.number = row;
        let (cells, width) = match record {
            Record::Blank => (Cells::empty(self.columns), 0),
            Record::Fields => {
                let width = self.records.fields;
                let mut cells = self.decode_fields(width.max(self.columns))?;
                cells.pad_to(self.columns);
                (cells, width)
            }
        };
        Ok(Some(SourceRow {
            number: row,
            cells,
            width,
        }))
    }

    /// Decodes the current record's fields into cells, with room for `room`.
    fn decode_fields(&mut self, room: usize) -> Result<Cells, ReadError> {
        if self.text == (TextDecoding::Utf8 { undecided: true })
            && !self.records.record_bytes().is_ascii()
        {
            // The first row with anything but ASCII decides the encoding.
            let utf8 = self
                .records
                .fields()
                .all(|f| std::str::from_utf8(f).is_ok());
            self.text = if utf8 {
                TextDecoding::Utf8 { undecided: false }
            } else {
                TextDecoding::SingleByte(WINDOWS_1252)
            };
        }
        let skip = |i: usize| {
            self.wanted
                .as_ref()
                .is_some_and(|w| !w.get(i).copied().unwrap_or(false))
        };
        Ok(match self.text {
            TextDecoding::Utf8 { .. } => {
                // One validation for the whole record; a field is then valid
                // exactly when its ends fall on character boundaries.
                let Ok(record) = std::str::from_utf8(self.records.record_bytes()) else {
                    let bad = self
                        .records
                        .fields()
                        .position(|f| std::str::from_utf8(f).is_err());
                    return Err(self.not_utf8(bad.unwrap_or(0)));
                };
                let ends = &self.records.ends[..self.records.fields];
                if !record.is_ascii() {
                    if let Some(bad) = ends.iter().position(|&end| !record.is_char_boundary(end)) {
                        return Err(self.not_utf8(bad));
                    }
                }
                if self.wanted.is_none() {
                    let plain = crate::values::is_plain_ascii(record.as_bytes());
                    Cells::of_record(record, ends.iter().copied(), room, plain)
                } else {
                    // Some columns only (a first pass).
                    let mut cells = Cells::with_capacity(room, record.len());
                    let mut start = 0;
                    for (i, &end) in ends.iter().enumerate() {
                        let text = if skip(i) { "" } else { &record[start..end] };
                        cells.push(CellRef::Text(text));
                        start = end;
                    }
                    cells
                }
            }
            TextDecoding::SingleByte(encoding) => {
                let mut cells = Cells::with_capacity(room, self.records.record_bytes().len());
                for (i, field) in self.records.fields().enumerate() {
                    if field.is_empty() || skip(i) {
                        cells.push(CellRef::Empty);
                    } else {
                        let (text, _) = encoding.decode_without_bom_handling(field);
                        cells.push(CellRef::Text(&text));
                    }
                }
                cells
            }
        })
    }
}

impl Iterator for CsvRows {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.read_row().transpose();
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_detection() {
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n", true, 1), b',');
        assert_eq!(
            detect_delimiter(b"Navn;Pris\nEple;1,5\nP\xC3\xA6re;2,5\n", true, 1),
            b';'
        );
        assert_eq!(detect_delimiter(b"a\tb\n\"x, y\"\t2\n", true, 1), b'\t');
        assert_eq!(detect_delimiter(b"a|b|c\n1|2|3", true, 1), b'|');
        assert_eq!(
            detect_delimiter(b"name,\"a;b;c\"\nx,\"1;2\"\n", true, 1),
            b','
        );
        // One column: pick a delimiter that does not split the data.
        assert_eq!(
            detect_delimiter(b"name\nApple, red\nPear; green\n", true, 1),
            b'\t'
        );
        // A cut last record of a sample is not counted; rows above the header are not either.
        assert_eq!(
            detect_delimiter(b"Prices, 2024\n\nname;price\nx;1\n", true, 3),
            b';'
        );
        assert_eq!(detect_delimiter(b"a;b\n1;2\n3,4,5,6", false, 1), b';');
    }

    #[test]
    fn encoding_choice() {
        let utf8 = Choice::new("a;b\nblå;1".as_bytes(), None, true);
        assert_eq!(
            (utf8.encoding, utf8.text),
            (UTF_8, TextDecoding::Utf8 { undecided: false })
        );
        let latin = Choice::new(b"a;b\nbl\xE5;1", None, true);
        assert_eq!(latin.encoding, WINDOWS_1252);
        let ascii = Choice::new(b"a;b\n", None, false);
        assert_eq!(ascii.text, TextDecoding::Utf8 { undecided: true });
        // A character cut by the sample's end is still UTF-8.
        let cut = Choice::new(&"blå;ø".as_bytes()[..6], None, false);
        assert_eq!(cut.text, TextDecoding::Utf8 { undecided: false });
        let bom = Choice::new(b"\xFF\xFEa\0", None, true);
        assert_eq!(
            (bom.encoding, bom.bom_len, bom.transcode),
            (encoding_rs::UTF_16LE, 2, true)
        );
    }

    #[test]
    fn text_check() {
        assert!(check_text("a,b\n1,2\n", false).is_ok());
        // A few control characters are cells to report, not a binary file.
        assert!(check_text("a\0b", false).is_ok());
        assert!(check_text(
            &"Eple,a description with a stray\u{1} control\n".repeat(40),
            true
        )
        .is_ok());
        let utf16 = "n\0a\0m\0e\0\n\0".repeat(20);
        assert!(check_text(&utf16, false).unwrap_err().contains("UTF-16"));
        assert!(check_text(&"\x01\x02\x03abc".repeat(20), true)
            .unwrap_err()
            .contains("control characters"));
    }
}
