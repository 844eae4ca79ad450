//! Results as CSV: UTF-8 with a byte order mark (so spreadsheet programs show
//! æ, ø and å right), the status columns, then the input's columns.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::{FormatSink, ResultsLayout, RowRecord, RowStatus, STATUS_COLUMNS};
use crate::cell::{neutralize_formula, restore_formula};

pub(super) struct CsvSink {
    file: File,
    /// Records not yet handed to the file, each built here in one piece;
    /// handed on once [`WRITE_AT`] bytes are waiting (or at a flush).
    line: Vec<u8>,
    delimiter: u8,
    /// The bytes that put a field in quotes: the delimiter, `"`, `\r`, `\n`.
    special: [bool; 256],
    /// Where a row's text holds such bytes (see [`CsvSink::write`]).
    hits: Vec<usize>,
}

/// Bytes of records kept before they are handed to the file in one write.
const WRITE_AT: usize = 256 * 1024;

impl CsvSink {
    pub(super) fn create(path: &Path, layout: &ResultsLayout) -> io::Result<CsvSink> {
        let mut sink = CsvSink::over(File::create(path)?, layout);
        sink.line.extend_from_slice("\u{FEFF}".as_bytes());
        let header = STATUS_COLUMNS
            .iter()
            .copied()
            .chain(layout.headers.iter().map(String::as_str));
        sink.write_line(header, false)?;
        Ok(sink)
    }

    pub(super) fn append(path: &Path, layout: &ResultsLayout) -> io::Result<CsvSink> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(CsvSink::over(file, layout))
    }

    fn over(file: File, layout: &ResultsLayout) -> CsvSink {
        let mut special = [false; 256];
        for b in [layout.delimiter, b'"', b'\r', b'\n'] {
            special[usize::from(b)] = true;
        }
        CsvSink {
            file,
            line: Vec::with_capacity(WRITE_AT + 4096),
            delimiter: layout.delimiter,
            special,
            hits: Vec::new(),
        }
    }

    /// Writes one record of `fields` (each made safe for a spreadsheet
    /// program first when `neutralize`) as the `csv` crate writes it: a
    /// field holding the delimiter, a quote or a line break in quotes, its
    /// quotes doubled; records end with `\n`.
    fn write_line<'a>(
        &mut self,
        fields: impl Iterator<Item = &'a str>,
        neutralize: bool,
    ) -> io::Result<()> {
        self.push_fields(fields, neutralize);
        self.end_line()
    }

    /// Ends the record being built; hands the records waiting to the file
    /// when there are enough of them.
    fn end_line(&mut self) -> io::Result<()> {
        self.line.push(b'\n');
        if self.line.len() >= WRITE_AT {
            self.write_waiting()?;
        }
        Ok(())
    }

    /// Hands every record waiting to the file.
    fn write_waiting(&mut self) -> io::Result<()> {
        let result = self.file.write_all(&self.line);
        self.line.clear();
        result
    }

    /// Adds `fields` to the record being built (see [`CsvSink::write_line`]).
    fn push_fields<'a>(&mut self, fields: impl Iterator<Item = &'a str>, neutralize: bool) {
        for (i, text) in fields.enumerate() {
            if i > 0 {
                self.line.push(self.delimiter);
            }
            let text = if neutralize {
                neutralize_formula(text)
            } else {
                std::borrow::Cow::Borrowed(text)
            };
            let bytes = text.as_bytes();
            if self.needs_quotes(bytes) {
                self.push_quoted(bytes);
            } else {
                self.line.extend_from_slice(bytes);
            }
        }
    }

    /// Adds a field in quotes, its quotes doubled.
    fn push_quoted(&mut self, bytes: &[u8]) {
        self.line.push(b'"');
        // Up to and with each quote, then the quote again.
        let mut rest = bytes;
        while let Some(quote) = memchr::memchr(b'"', rest) {
            self.line.extend_from_slice(&rest[..=quote]);
            self.line.push(b'"');
            rest = &rest[quote + 1..];
        }
        self.line.extend_from_slice(rest);
        self.line.push(b'"');
    }
}

impl CsvSink {
    /// Whether a field holds the delimiter, a quote or a line break. Eight
    /// bytes at a time look for the delimiter, a quote or any byte below
    /// 0x0E first; only a field with one of those is looked at byte by byte.
    fn needs_quotes(&self, bytes: &[u8]) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        // A byte of `w` below `n` (n at most 0x80) sets its high bit here.
        let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGHS != 0;
        let delimiter = ONES * u64::from(self.delimiter);
        let mut chunks = bytes.chunks_exact(8);
        let mut maybe = false;
        for chunk in &mut chunks {
            let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            maybe |= below(w, 0x0E) || below(w ^ delimiter, 1) || below(w ^ (ONES * 0x22), 1);
        }
        let exact = |b: &[u8]| b.iter().any(|&b| self.special[usize::from(b)]);
        if maybe {
            exact(bytes)
        } else {
            exact(chunks.remainder())
        }
    }
}

impl FormatSink for CsvSink {
    fn write(&mut self, r: &RowRecord) -> io::Result<()> {
        let (mut row, mut id, mut http) = (
            itoa::Buffer::new(),
            itoa::Buffer::new(),
            itoa::Buffer::new(),
        );
        let status = [
            row.format(r.row),
            r.sheet.as_deref().unwrap_or_default(),
            r.status.as_str(),
            r.id.map_or("", |i| id.format(i)),
            r.http_status.map_or("", |s| http.format(s)),
            r.trace_id.as_deref().unwrap_or_default(),
            r.error.as_deref().unwrap_or_default(),
        ];
        if r.sheet.is_none()
            && r.trace_id.is_none()
            && r.error.is_none()
            && !self.delimiter.is_ascii_alphanumeric()
        {
            // Numbers, a status word and empty fields (most rows): nothing
            // in them to quote or to make safe, whatever the delimiter
            // (but a letter or digit).
            for (i, text) in status.into_iter().enumerate() {
                if i > 0 {
                    self.line.push(self.delimiter);
                }
                self.line.extend_from_slice(text.as_bytes());
            }
        } else {
            self.push_fields(status.into_iter(), true);
        }
        // Where the row's text (its cells back to back) holds a byte that
        // puts a cell in quotes: found in the whole text at once, so that
        // only the cells over such bytes (a description with a comma) are
        // quoted, and the others go as they are.
        let joined = r.cells.joined().as_bytes();
        self.hits.clear();
        self.hits
            .extend(memchr::memchr3_iter(self.delimiter, b'"', b'\n', joined));
        let unsorted = self.hits.len();
        self.hits.extend(memchr::memchr_iter(b'\r', joined));
        if self.hits.len() > unsorted && unsorted > 0 {
            self.hits.sort_unstable();
        }
        let mut hits = 0;
        let mut start = 0;
        for text in r.cells.iter() {
            let end = start + text.len();
            self.line.push(self.delimiter);
            let mut quoted = false;
            while self.hits.get(hits).is_some_and(|&at| at < end) {
                quoted = true;
                hits += 1;
            }
            let text = neutralize_formula(text);
            if quoted {
                self.push_quoted(text.as_bytes());
            } else {
                self.line.extend_from_slice(text.as_bytes());
            }
            start = end;
        }
        self.end_line()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_waiting()?;
        self.file.flush()
    }
}

impl Drop for CsvSink {
    /// Hands the records still waiting to the file, as a `BufWriter` would;
    /// an error here is lost (a flush reports it).
    fn drop(&mut self) {
        let _ = self.write_waiting();
    }
}

/// Reads a CSV results file; records that are cut short or unreadable are skipped.
pub(super) fn read(path: &Path) -> io::Result<Vec<RowRecord>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let bytes = complete_records(bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(&bytes));
    let delimiter = detect_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    for record in reader.records() {
        let Ok(record) = record else { continue };
        if record.len() < STATUS_COLUMNS.len() {
            continue;
        }
        let (Ok(row), Some(status)) = (record[0].parse::<u64>(), RowStatus::parse(&record[2]))
        else {
            continue;
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        out.push(RowRecord {
            row,
            sheet: opt(&record[1]),
            status,
            id: record[3].parse().ok(),
            http_status: record[4].parse().ok(),
            trace_id: opt(&record[5]),
            error: opt(restore_formula(&record[6])),
            problems: Vec::new(),
            cells: record
                .iter()
                .skip(STATUS_COLUMNS.len())
                .map(restore_formula)
                .collect(),
        });
    }
    Ok(out)
}

/// The part of a CSV file that holds complete records: up to the last line
/// break outside quotes. A record torn by a kill (cut in any field, also
/// inside a quoted cell with line breaks) is left out.
pub(super) fn complete_records(bytes: &[u8]) -> &[u8] {
    let mut quoted = false;
    let mut end = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => end = i + 1,
            _ => {}
        }
    }
    &bytes[..end]
}

/// The delimiter of a results file: the character after `row` in its header.
fn detect_delimiter(bytes: &[u8]) -> u8 {
    match bytes.get(3) {
        Some(&d) if bytes.starts_with(b"row") => d,
        _ => b',',
    }
}

/// The delimiter of the results file at `path` (see [`detect_delimiter`]).
pub(super) fn detect_delimiter_of(path: &Path) -> io::Result<u8> {
    let mut head = [0u8; 8];
    let mut file = File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        match std::io::Read::read(&mut file, &mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let head = &head[..n];
    Ok(detect_delimiter(
        head.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(head),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records the `csv` crate writes for the same fields, as this
    /// file was written before it built its records itself.
    fn by_the_csv_crate(delimiter: u8, records: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_writer(Vec::new());
        for (i, record) in records.iter().enumerate() {
            let fields = record.iter().map(|f| {
                if i == 0 {
                    f.clone()
                } else {
                    neutralize_formula(f).into_owned()
                }
            });
            w.write_record(fields.collect::<Vec<_>>()).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn rows_whose_cells_need_no_quotes_are_written_as_the_csv_crate_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        // Cells made of pieces: formula starts, a tab, delimiters, quotes
        // and line breaks now and then, so that some rows take the short
        // way and others not.
        let pieces = [
            "a", "Blåbær", "=", "-", "+", "@", "\t", "\r", "5", " ", ",", ";", "|", "\"", "\n",
            "'", "",
        ];
        let mut rng =
            <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(0x2545_F491_4F6C_DD1D);
        let mut next = move |n: usize| rand::Rng::random_range(&mut rng, 0..n);
        for delimiter in [b',', b';', b'\t', b'|'] {
            let path = dir.path().join("r.csv");
            let layout = ResultsLayout {
                headers: vec!["a".into(), "b".into(), "c".into()],
                delimiter,
            };
            let mut sink = CsvSink::create(&path, &layout).unwrap();
            let mut lines = Vec::new();
            for row in 0..2000u64 {
                // Mostly plain pieces, so that most rows need no quotes; a long
                // row now and then (over 1024 bytes).
                let plain = row % 3 != 0;
                let width = if row % 97 == 0 { 300 } else { 3 + next(3) };
                let cells: Vec<String> = (0..width)
                    .map(|_| {
                        (0..next(4))
                            .map(|_| pieces[if plain { next(8) } else { next(pieces.len()) }])
                            .collect()
                    })
                    .collect();
                let record = RowRecord {
                    row,
                    sheet: None,
                    status: RowStatus::Valid,
                    id: None,
                    http_status: None,
                    trace_id: None,
                    error: None,
                    problems: Vec::new(),
                    cells: cells.iter().collect(),
                };
                sink.write(&record).unwrap();
                let status = [row.to_string(), String::new(), "valid".into()];
                let empty = ["", "", "", ""].map(String::from);
                lines.push(status.into_iter().chain(empty).chain(cells).collect());
            }
            sink.flush().unwrap();
            drop(sink);
            lines.insert(0, header_line(&layout));
            let mut expected = "\u{FEFF}".as_bytes().to_vec();
            expected.extend(by_the_csv_crate(delimiter, &lines));
            assert_eq!(
                String::from_utf8(std::fs::read(&path).unwrap()).unwrap(),
                String::from_utf8(expected).unwrap(),
                "delimiter {}",
                delimiter as char
            );
        }
    }

    /// The header line of a results file of `layout`, as fields.
    fn header_line(layout: &ResultsLayout) -> Vec<String> {
        STATUS_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .chain(layout.headers.iter().cloned())
            .collect()
    }

    #[test]
    fn records_are_written_byte_for_byte_as_the_csv_crate_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let cells = [
            "plain",
            "",
            "a,b",
            "a;b",
            "tab\there",
            "say \"hi\"",
            "two\nlines",
            "cr\rhere",
            "=SUM(A1)",
            "-5",
            "'quoted",
            "blåbær",
            "|pipe|",
            "a longer text; with, every | delimiter\tfar in",
            "a longer text with a \"quote\" far in",
            "a longer text with a line break far in\r\n",
        ];
        for delimiter in [b',', b';', b'\t', b'|'] {
            let path = dir.path().join("r.csv");
            let layout = ResultsLayout {
                headers: cells.iter().map(|c| c.to_string()).collect(),
                delimiter,
            };
            let mut sink = CsvSink::create(&path, &layout).unwrap();
            let record = RowRecord {
                row: 7,
                sheet: Some("Sheet, 1".into()),
                status: RowStatus::Invalid,
                id: Some(-12),
                http_status: Some(422),
                trace_id: Some("t\"1".into()),
                error: Some("column \"price\": \"1,5\" is wrong".into()),
                problems: Vec::new(),
                cells: cells.iter().collect(),
            };
            sink.write(&record).unwrap();
            sink.flush().unwrap();
            drop(sink);
            let header = header_line(&layout);
            let status = ["7", "Sheet, 1", "invalid", "-12", "422", "t\"1"];
            let line: Vec<String> = status
                .iter()
                .map(|s| s.to_string())
                .chain([record.error.clone().unwrap()])
                .chain(record.cells.iter().map(str::to_owned))
                .collect();
            let mut expected = "\u{FEFF}".as_bytes().to_vec();
            expected.extend(by_the_csv_crate(delimiter, &[header, line]));
            assert_eq!(
                String::from_utf8(std::fs::read(&path).unwrap()).unwrap(),
                String::from_utf8(expected).unwrap(),
                "delimiter {}",
                delimiter as char
            );
        }
    }
}
