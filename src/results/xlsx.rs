//! Results as an .xlsx workbook, written in one go at the end of a run from
//! the records in input order (cells are written as text, never as formulas,
//! so codes keep their leading zeros).
//!
//! The sheet is meant to be worked in: the header row is frozen and filtered,
//! columns are as wide as their content (within bounds), the status cell is
//! green or red by outcome, and each cell with a problem is filled and carries
//! a note that says what is wrong. A *Summary* sheet follows when the command
//! gives a [`RunSummary`]. The workbook streams (constant memory): rows are
//! written once, in order; widths, the filter and notes are kept aside and
//! placed at the end.

use std::io;
use std::path::Path;
use std::time::SystemTime;

use rust_xlsxwriter::{Color, Format, Note, Workbook, Worksheet, XlsxError};

use super::{ResultsLayout, RowRecord, RowStatus, RunSummary, STATUS_COLUMNS};
use crate::cell::{CellRef, Texts};
use crate::validate::Problem;

/// Column widths, in characters, stay within these bounds.
pub(super) const MIN_WIDTH: usize = 8;
/// See [`MIN_WIDTH`].
pub(super) const MAX_WIDTH: usize = 60;
/// At most this many notes per sheet; further bad cells are still filled.
/// (Each note is a drawing shape that Excel loads when the file opens.)
pub(super) const MAX_NOTES: usize = 10_000;

/// The position of the `status` column.
const STATUS_COL: usize = 2;

pub(super) fn xlsx_err(e: XlsxError) -> io::Error {
    io::Error::other(e.to_string())
}

/// The formats of the results and rejects workbooks.
pub(super) struct Styles {
    /// Header row: bold, grey.
    pub header: Format,
    /// Data cells: text (`@`), so a code typed again keeps its leading zeros.
    pub text: Format,
    /// Status of a row that went through (created, updated, skipped, valid).
    pub good: Format,
    /// Status of a row that did not (invalid, failed).
    pub bad: Format,
    /// A cell with a problem.
    pub bad_cell: Format,
}

impl Styles {
    pub(super) fn new() -> Styles {
        let text = Format::new().set_num_format("@");
        Styles {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xD9_D9_D9)),
            // Excel's own "Good" and "Bad" cell styles.
            good: text
                .clone()
                .set_background_color(Color::RGB(0xC6_EF_CE))
                .set_font_color(Color::RGB(0x00_61_00)),
            bad: text
                .clone()
                .set_background_color(Color::RGB(0xFF_C7_CE))
                .set_font_color(Color::RGB(0x9C_00_06)),
            bad_cell: text
                .clone()
                .set_background_color(Color::RGB(0xFF_EB_9C))
                .set_font_color(Color::RGB(0x9C_00_06)),
            text,
        }
    }

    /// The format of a status cell.
    pub(super) fn status(&self, status: RowStatus) -> &Format {
        match status {
            RowStatus::Invalid | RowStatus::Failed => &self.bad,
            RowStatus::Created | RowStatus::Updated | RowStatus::Skipped | RowStatus::Valid => {
                &self.good
            }
        }
    }
}

/// The widest line of each column seen so far, in characters.
pub(super) struct Widths(Vec<usize>);

impl Widths {
    /// Starts from the headers (plus room for the filter's arrow).
    pub(super) fn new<'a>(headers: impl Iterator<Item = &'a str>) -> Widths {
        Widths(headers.map(|h| h.chars().count() + 3).collect())
    }

    /// Counts one cell's text.
    pub(super) fn see(&mut self, col: usize, text: &str) {
        let width = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        if col >= self.0.len() {
            self.0.resize(col + 1, 0);
        }
        self.0[col] = self.0[col].max(width + 1);
    }

    /// Sets every column's width, within [`MIN_WIDTH`]..=[`MAX_WIDTH`].
    pub(super) fn apply(&self, sheet: &mut Worksheet) -> Result<(), XlsxError> {
        for (col, w) in self.0.iter().enumerate() {
            sheet.set_column_width(col as u16, fit_width(*w) as f64)?;
        }
        Ok(())
    }
}

/// A measured width, bounded.
pub(super) fn fit_width(chars: usize) -> usize {
    chars.clamp(MIN_WIDTH, MAX_WIDTH)
}

/// Marks the cells a row's problems point at: each gets the bad-cell fill
/// and a note. Returns, per cell index, the note text (several problems of
/// one cell on separate lines).
pub(super) fn cell_notes(headers: &[String], problems: &[Problem]) -> Vec<(usize, String)> {
    let mut notes: Vec<(usize, String)> = Vec::new();
    for p in problems {
        let Some(col) = p
            .column
            .as_deref()
            .and_then(|c| headers.iter().position(|h| h == c))
        else {
            continue;
        };
        let text = match &p.value {
            Some(v) => format!("\"{v}\" {}", p.message),
            None => p.message.clone(),
        };
        match notes.iter_mut().find(|(c, _)| *c == col) {
            Some((_, t)) => {
                t.push('\n');
                t.push_str(&text);
            }
            None => notes.push((col, text)),
        }
    }
    notes
}

/// What a streaming sheet keeps aside while its rows go by: the formats,
/// the widest text of each column, and how many notes are still allowed.
/// At the end it frames the sheet (frozen, filtered header) and sets widths.
pub(super) struct SheetMarks {
    pub styles: Styles,
    widths: Widths,
    notes_left: usize,
}

impl SheetMarks {
    /// Writes the header row and starts measuring from it.
    pub(super) fn start(sheet: &mut Worksheet, headers: &[&str]) -> Result<SheetMarks, XlsxError> {
        let styles = Styles::new();
        for (col, h) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *h, &styles.header)?;
        }
        Ok(SheetMarks {
            styles,
            widths: Widths::new(headers.iter().copied()),
            notes_left: MAX_NOTES,
        })
    }

    /// Writes one text cell (skipped when empty), coloured as `status`
    /// says when given, else plain text.
    pub(super) fn text(
        &mut self,
        sheet: &mut Worksheet,
        row: u32,
        col: usize,
        text: &str,
        status: Option<RowStatus>,
    ) -> Result<(), XlsxError> {
        if !text.is_empty() {
            let format = match status {
                Some(s) => self.styles.status(s),
                None => &self.styles.text,
            };
            sheet.write_string_with_format(row, col as u16, text, format)?;
            self.widths.see(col, text);
        }
        Ok(())
    }

    /// Writes a row's input cells from column `first`, filling the ones
    /// `notes` points at (by cell index) and giving each its note.
    pub(super) fn cells(
        &mut self,
        sheet: &mut Worksheet,
        row: u32,
        first: usize,
        cells: &Texts,
        notes: &[(usize, String)],
    ) -> Result<(), XlsxError> {
        for (i, text) in cells.iter().enumerate() {
            let col = first + i;
            let Some(note) = notes.iter().find(|(c, _)| *c == i).map(|(_, t)| t) else {
                self.text(sheet, row, col, text, None)?;
                continue;
            };
            sheet.write_string_with_format(row, col as u16, text, &self.styles.bad_cell)?;
            self.widths.see(col, text);
            if self.notes_left > 0 {
                self.notes_left -= 1;
                let note = Note::new(note.as_str())
                    .set_author("product-import")
                    .add_author_prefix(false)
                    .set_width(300);
                sheet.insert_note(row, col as u16, &note)?;
            }
        }
        Ok(())
    }

    /// Freezes the header row, puts a filter on it over `rows` data rows
    /// and `cols` columns, and fits the widths.
    pub(super) fn finish(
        &self,
        sheet: &mut Worksheet,
        rows: u32,
        cols: usize,
    ) -> Result<(), XlsxError> {
        sheet.set_freeze_panes(1, 0)?;
        if cols > 0 {
            sheet.autofilter(0, 0, rows, (cols - 1) as u16)?;
        }
        self.widths.apply(sheet)
    }
}

/// Writes `records` (already in input order) as a workbook, with a Summary
/// sheet when `summary` is given.
pub(super) fn write_results(
    path: &Path,
    layout: &ResultsLayout,
    records: impl Iterator<Item = io::Result<RowRecord>>,
    summary: Option<&RunSummary>,
) -> io::Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    sheet.set_name("Results").map_err(xlsx_err)?;
    let headers: Vec<&str> = STATUS_COLUMNS
        .iter()
        .copied()
        .chain(layout.headers.iter().map(String::as_str))
        .collect();
    let mut marks = SheetMarks::start(sheet, &headers).map_err(xlsx_err)?;
    let mut last_row = 0;
    for (i, r) in records.enumerate() {
        let r = r?;
        let row = i as u32 + 1;
        last_row = row;
        sheet.write_number(row, 0, r.row as f64).map_err(xlsx_err)?;
        marks.widths.see(0, &r.row.to_string());
        let texts = [
            r.sheet.clone().unwrap_or_default(),
            r.status.as_str().to_string(),
            r.id.map(|i| i.to_string()).unwrap_or_default(),
            r.http_status.map(|s| s.to_string()).unwrap_or_default(),
            r.trace_id.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ];
        for (i, text) in texts.iter().enumerate() {
            let col = i + 1;
            let status = (col == STATUS_COL).then_some(r.status);
            marks
                .text(sheet, row, col, text, status)
                .map_err(xlsx_err)?;
        }
        let notes = cell_notes(&layout.headers, &r.problems);
        marks
            .cells(sheet, row, STATUS_COLUMNS.len(), &r.cells, &notes)
            .map_err(xlsx_err)?;
    }
    marks
        .finish(sheet, last_row, headers.len())
        .map_err(xlsx_err)?;
    if let Some(summary) = summary {
        write_summary(workbook.add_worksheet(), &marks.styles, summary).map_err(xlsx_err)?;
    }
    super::atomic::replace(path, |tmp| workbook.save(tmp).map_err(xlsx_err))
}

/// The Summary sheet: counts, the rate, the times, the settings and the
/// column mapping, as two columns of label and value.
fn write_summary(sheet: &mut Worksheet, styles: &Styles, s: &RunSummary) -> Result<(), XlsxError> {
    sheet.set_name("Summary")?;
    let mut row = 0u32;
    let heading = |sheet: &mut Worksheet, row: &mut u32, title: &str| {
        if *row > 0 {
            *row += 1;
        }
        let r = sheet
            .write_string_with_format(*row, 0, title, &styles.header)
            .map(|_| ());
        *row += 1;
        r
    };
    heading(sheet, &mut row, &format!("product-import {}", s.command))?;
    let elapsed = s
        .finished
        .duration_since(s.started)
        .unwrap_or_default()
        .as_secs_f64();
    let rate = if elapsed > 0.0 {
        s.rows_done as f64 / elapsed
    } else {
        0.0
    };
    let times = [
        ("started", utc_timestamp(s.started)),
        ("finished", utc_timestamp(s.finished)),
        ("elapsed", format!("{elapsed:.1} s")),
        ("rate", format!("{rate:.1} rows/s")),
    ];
    for (label, value) in times {
        sheet.write_string(row, 0, label)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    heading(sheet, &mut row, "Rows")?;
    for (label, n) in &s.counts {
        sheet.write_string(row, 0, label)?;
        sheet.write_number(row, 1, *n as f64)?;
        row += 1;
    }
    heading(sheet, &mut row, "Settings")?;
    for (label, value) in &s.settings {
        sheet.write_string(row, 0, label)?;
        sheet.write_string_with_format(row, 1, value, &styles.text)?;
        row += 1;
    }
    heading(sheet, &mut row, "Columns")?;
    for (header, role) in &s.mapping {
        sheet.write_string(row, 0, header)?;
        sheet.write_string(row, 1, role)?;
        row += 1;
    }
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 60)?;
    Ok(())
}

/// `2026-11-29 19:12:27 UTC`.
pub(crate) fn utc_timestamp(t: SystemTime) -> String {
    crate::log::utc(t)
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
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
                .map(CellRef::text)
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
            problems: Vec::new(),
            cells: (STATUS_COLUMNS.len()..row.cells.len()).map(text).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn timestamps_in_utc() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_796_152_347);
        assert_eq!(utc_timestamp(t), "2026-12-01 19:12:27 UTC");
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn widths_are_bounded() {
        assert_eq!(fit_width(2), MIN_WIDTH);
        assert_eq!(fit_width(20), 20);
        assert_eq!(fit_width(500), MAX_WIDTH);
    }
}
