//! Putting a results file written in completion order into input order at
//! the end of a run, in memory that holds an index (row, offset, length) per
//! record rather than the records themselves.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Deserialize;

use super::RowRecord;

/// Where one record lies in the file.
#[derive(Debug, Clone, Copy)]
struct Span {
    row: u64,
    start: u64,
    end: u64,
}

/// The spans of a file's records in input order, one per row (the last
/// record written for a row wins), and the bytes before the first record.
struct Index {
    preamble: u64,
    spans: Vec<Span>,
}

impl Index {
    fn sorted(mut spans: Vec<Span>, preamble: u64) -> Index {
        // Stable: records of the same row keep their written order.
        spans.sort_by_key(|s| s.row);
        let mut out: Vec<Span> = Vec::with_capacity(spans.len());
        for span in spans {
            match out.last_mut() {
                Some(last) if last.row == span.row => *last = span,
                _ => out.push(span),
            }
        }
        Index {
            preamble,
            spans: out,
        }
    }
}

/// Indexes a CSV results file (its first record is the header).
fn index_csv(path: &Path) -> io::Result<Index> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(super::csv::detect_delimiter_of(path)?)
        .from_reader(BufReader::with_capacity(256 * 1024, file));
    let mut record = csv::ByteRecord::new();
    let mut starts: Vec<(Option<u64>, u64)> = Vec::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(io::Error::other)?
    {
        let start = record.position().map_or(0, |p| p.byte());
        let row = std::str::from_utf8(record.get(0).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|_| record.len() >= super::STATUS_COLUMNS.len());
        starts.push((row, start));
    }
    let Some(&(_, first_data)) = starts.get(1) else {
        return Ok(Index {
            preamble: len,
            spans: Vec::new(),
        });
    };
    let ends = starts.iter().skip(2).map(|(_, s)| *s).chain([len]);
    let spans = starts
        .iter()
        .skip(1)
        .zip(ends)
        .filter_map(|(&(row, start), end)| {
            Some(Span {
                row: row?,
                start,
                end,
            })
        })
        .collect();
    Ok(Index::sorted(spans, first_data))
}

#[derive(Deserialize)]
struct RowOnly {
    row: u64,
}

/// Indexes a JSON-lines file (no preamble).
fn index_jsonl(path: &Path) -> io::Result<Index> {
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut line = Vec::new();
    let mut spans = Vec::new();
    let mut offset = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)? as u64;
        if n == 0 {
            break;
        }
        if let Ok(r) = serde_json::from_slice::<RowOnly>(&line) {
            spans.push(Span {
                row: r.row,
                start: offset,
                end: offset + n,
            });
        }
        offset += n;
    }
    Ok(Index::sorted(spans, 0))
}

/// Reads each indexed record's bytes, in input order.
fn records_in_order<'a>(
    file: &'a mut File,
    index: &'a Index,
) -> impl Iterator<Item = io::Result<Vec<u8>>> + 'a {
    index.spans.iter().map(move |span| {
        let mut bytes = Vec::with_capacity((span.end - span.start) as usize + 1);
        file.seek(SeekFrom::Start(span.start))?;
        (&mut *file)
            .take(span.end - span.start)
            .read_to_end(&mut bytes)?;
        if bytes.last() != Some(&b'\n') {
            bytes.push(b'\n');
        }
        Ok(bytes)
    })
}

/// Rewrites a CSV or JSON-lines results file in input order, through a
/// temporary file and a rename.
pub(super) fn rewrite_in_order(path: &Path, jsonl: bool) -> io::Result<()> {
    let index = if jsonl {
        index_jsonl(path)?
    } else {
        index_csv(path)?
    };
    let mut input = File::open(path)?;
    let tmp = super::atomic::Beside::create(path)?;
    let mut out = BufWriter::with_capacity(256 * 1024, tmp.file().try_clone()?);
    let mut preamble = Vec::new();
    (&mut input)
        .take(index.preamble)
        .read_to_end(&mut preamble)?;
    out.write_all(&preamble)?;
    for bytes in records_in_order(&mut input, &index) {
        out.write_all(&bytes?)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    tmp.persist(path)
}

/// The records of a JSON-lines journal, in input order.
pub(super) fn journal_in_order(
    path: &Path,
    mut each: impl FnMut(Box<dyn Iterator<Item = io::Result<RowRecord>> + '_>) -> io::Result<()>,
) -> io::Result<()> {
    let index = index_jsonl(path)?;
    let mut input = File::open(path)?;
    let records = records_in_order(&mut input, &index).map(|bytes| {
        let bytes = bytes?;
        super::jsonl::parse_line(&bytes)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable journal line"))
    });
    each(Box::new(records))
}
