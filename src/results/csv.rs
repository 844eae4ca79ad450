//! Results as CSV: UTF-8 with a byte order mark (so spreadsheet programs show
//! æ, ø and å right), the status columns, then the input's columns.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::{FormatSink, ResultsLayout, RowRecord, RowStatus, STATUS_COLUMNS};
use crate::cell::{neutralize_formula, restore_formula};

pub(super) struct CsvSink {
    writer: csv::Writer<BufWriter<File>>,
}

impl CsvSink {
    pub(super) fn create(path: &Path, layout: &ResultsLayout) -> io::Result<CsvSink> {
        let mut file = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        file.write_all("\u{FEFF}".as_bytes())?;
        let mut sink = CsvSink::over(file, layout);
        let header: Vec<&str> = STATUS_COLUMNS
            .iter()
            .copied()
            .chain(layout.headers.iter().map(String::as_str))
            .collect();
        sink.writer
            .write_record(&header)
            .map_err(io::Error::other)?;
        Ok(sink)
    }

    pub(super) fn append(path: &Path, layout: &ResultsLayout) -> io::Result<CsvSink> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(CsvSink::over(
            BufWriter::with_capacity(256 * 1024, file),
            layout,
        ))
    }

    fn over(file: BufWriter<File>, layout: &ResultsLayout) -> CsvSink {
        let writer = csv::WriterBuilder::new()
            .delimiter(layout.delimiter)
            .flexible(true)
            .from_writer(file);
        CsvSink { writer }
    }
}

impl FormatSink for CsvSink {
    fn write(&mut self, r: &RowRecord) -> io::Result<()> {
        let mut num = itoa::Buffer::new();
        let w = &mut self.writer;
        let mut field = |text: &str| w.write_field(neutralize_formula(text).as_bytes());
        field(num.format(r.row))?;
        field(r.sheet.as_deref().unwrap_or_default())?;
        field(r.status.as_str())?;
        field(
            r.id.map(|i| num.format(i).to_string())
                .as_deref()
                .unwrap_or_default(),
        )?;
        field(
            r.http_status
                .map(|s| num.format(s).to_string())
                .as_deref()
                .unwrap_or_default(),
        )?;
        field(r.trace_id.as_deref().unwrap_or_default())?;
        field(r.error.as_deref().unwrap_or_default())?;
        for cell in &r.cells {
            field(cell)?;
        }
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(io::Error::other)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
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
                .map(|c| restore_formula(c).to_string())
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
