//! Results as an .xlsx workbook, written in one go at the end of a run from
//! the records in input order (cells are written as text, never as formulas).

use std::io;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};

use super::{ResultsLayout, RowRecord, RowStatus, STATUS_COLUMNS};
use crate::cell::Cell;

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Writes `records` (already in input order) as a workbook.
pub(super) fn write_results(
    path: &Path,
    layout: &ResultsLayout,
    records: impl Iterator<Item = io::Result<RowRecord>>,
) -> io::Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    sheet.set_name("Results").map_err(xlsx_err)?;
    let bold = Format::new().set_bold();
    let headers = STATUS_COLUMNS
        .iter()
        .copied()
        .chain(layout.headers.iter().map(String::as_str));
    for (col, h) in headers.enumerate() {
        sheet
            .write_string_with_format(0, col as u16, h, &bold)
            .map_err(xlsx_err)?;
    }
    for (i, r) in records.enumerate() {
        let r = r?;
        let row = i as u32 + 1;
        sheet.write_number(row, 0, r.row as f64).map_err(xlsx_err)?;
        let texts = [
            r.sheet.clone().unwrap_or_default(),
            r.status.as_str().to_string(),
            r.id.map(|i| i.to_string()).unwrap_or_default(),
            r.http_status.map(|s| s.to_string()).unwrap_or_default(),
            r.trace_id.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ];
        for (col, text) in texts.iter().enumerate() {
            if !text.is_empty() {
                sheet
                    .write_string(row, col as u16 + 1, text)
                    .map_err(xlsx_err)?;
            }
        }
        for (col, text) in r.cells.iter().enumerate() {
            if !text.is_empty() {
                sheet
                    .write_string(row, (col + STATUS_COLUMNS.len()) as u16, text)
                    .map_err(xlsx_err)?;
            }
        }
    }
    super::atomic::replace(path, |tmp| workbook.save(tmp).map_err(xlsx_err))
}

/// Reads an .xlsx results file back (a missing file gives no records).
pub(super) fn read(path: &Path) -> io::Result<Vec<RowRecord>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let table =
        crate::read::open(path, &crate::read::ReadOptions::default()).map_err(io::Error::other)?;
    let mut out = Vec::new();
    for row in table.rows {
        let row = row.map_err(io::Error::other)?;
        let text = |i: usize| {
            row.cells
                .get(i)
                .map(Cell::text)
                .unwrap_or_default()
                .into_owned()
        };
        let opt = |i: usize| Some(text(i)).filter(|s| !s.is_empty());
        let (Ok(n), Some(status)) = (text(0).parse::<u64>(), RowStatus::parse(&text(2))) else {
            continue;
        };
        out.push(RowRecord {
            row: n,
            sheet: opt(1),
            status,
            id: text(3).parse().ok(),
            http_status: text(4).parse().ok(),
            trace_id: opt(5),
            error: opt(6),
            cells: (STATUS_COLUMNS.len()..row.cells.len()).map(text).collect(),
        });
    }
    Ok(out)
}
