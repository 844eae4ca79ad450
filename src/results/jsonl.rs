//! Results as JSON lines: one object per row with the status fields and the
//! input's cells as an object keyed by header, in column order.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::ser::{SerializeMap, Serializer};
use serde::Deserialize;

use super::{FormatSink, ResultsLayout, RowRecord, RowStatus};
use crate::cell::Texts;
use crate::validate::Problem;

pub(super) struct JsonlSink {
    file: BufWriter<File>,
    headers: Vec<String>,
    /// Also write each row's problems as data: the journal of an .xlsx
    /// results file needs them for its notes; a .jsonl results file keeps
    /// its documented fields.
    with_problems: bool,
}

impl JsonlSink {
    pub(super) fn create(
        path: &Path,
        layout: &ResultsLayout,
        append: bool,
        with_problems: bool,
    ) -> io::Result<JsonlSink> {
        let file = if append {
            OpenOptions::new().append(true).open(path)?
        } else {
            File::create(path)?
        };
        Ok(JsonlSink {
            file: BufWriter::with_capacity(256 * 1024, file),
            headers: unique_headers(&layout.headers),
            with_problems,
        })
    }
}

/// Headers made unique for use as JSON keys (`Price`, `Price (2)`).
pub(super) fn unique_headers(headers: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(headers.len());
    for h in headers {
        let mut name = h.clone();
        let mut n = 1;
        while out.contains(&name) {
            n += 1;
            name = format!("{h} ({n})");
        }
        out.push(name);
    }
    out
}

impl FormatSink for JsonlSink {
    fn write(&mut self, r: &RowRecord) -> io::Result<()> {
        let mut ser = serde_json::Serializer::new(&mut self.file);
        let mut map = ser.serialize_map(Some(8))?;
        map.serialize_entry("row", &r.row)?;
        map.serialize_entry("sheet", &r.sheet)?;
        map.serialize_entry("status", r.status.as_str())?;
        map.serialize_entry("id", &r.id)?;
        map.serialize_entry("http_status", &r.http_status)?;
        map.serialize_entry("trace_id", &r.trace_id)?;
        map.serialize_entry("error", &r.error)?;
        if self.with_problems && !r.problems.is_empty() {
            map.serialize_entry("problems", &r.problems)?;
        }
        map.serialize_entry(
            "cells",
            &Cells {
                headers: &self.headers,
                cells: &r.cells,
            },
        )?;
        map.end()?;
        self.file.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

struct Cells<'a> {
    headers: &'a [String],
    cells: &'a Texts,
}

impl serde::Serialize for Cells<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.cells.len()))?;
        for (i, cell) in self.cells.iter().enumerate() {
            match self.headers.get(i) {
                Some(h) => map.serialize_entry(h, cell)?,
                None => map.serialize_entry(&format!("column {}", i + 1), cell)?,
            }
        }
        map.end()
    }
}

#[derive(Deserialize)]
struct Line {
    row: u64,
    sheet: Option<String>,
    status: String,
    id: Option<i64>,
    http_status: Option<u16>,
    trace_id: Option<String>,
    error: Option<String>,
    #[serde(default)]
    problems: Vec<Problem>,
    #[serde(default)]
    cells: OrderedValues,
}

/// The values of a JSON object, in the order they are written.
#[derive(Default)]
struct OrderedValues(Vec<String>);

impl<'de> Deserialize<'de> for OrderedValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of cell texts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedValues, A::Error> {
                let mut out = Vec::new();
                while let Some((_, v)) = map.next_entry::<String, String>()? {
                    out.push(v);
                }
                Ok(OrderedValues(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Reads a JSON-lines results file; lines cut short or unreadable are skipped.
pub(super) fn read(path: &Path) -> io::Result<Vec<RowRecord>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        if let Some(record) = parse_line(&line?) {
            out.push(record);
        }
    }
    Ok(out)
}

/// Parses one line; `None` for a line cut short or unreadable.
pub(super) fn parse_line(line: &[u8]) -> Option<RowRecord> {
    let l = serde_json::from_slice::<Line>(line).ok()?;
    let status = RowStatus::parse(&l.status)?;
    Some(RowRecord {
        row: l.row,
        sheet: l.sheet,
        status,
        id: l.id,
        http_status: l.http_status,
        trace_id: l.trace_id,
        error: l.error,
        problems: l.problems,
        cells: l.cells.0.into(),
    })
}
