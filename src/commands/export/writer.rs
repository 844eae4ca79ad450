//! The export's file: a streamed .xlsx whose columns are set up as in the
//! template, or a CSV with a byte order mark. Either is written beside its
//! place and renamed into it when complete, so an export that is killed or
//! fails part way leaves an earlier export at that path as it was.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::columns::{ExportColumn, Value};
use crate::cell::{format_number, neutralize_formula};
use crate::commands::template::prepare_column;
use crate::results::atomic::Beside;

/// Writes the export as .xlsx (streaming) or CSV.
pub(super) enum ExportWriter {
    Csv(Box<CsvExport>),
    Xlsx(Box<XlsxExport>),
}

/// A CSV export under way, written to `tmp` until it is complete.
pub(super) struct CsvExport {
    path: PathBuf,
    tmp: Beside,
    writer: csv::Writer<BufWriter<File>>,
}

/// An .xlsx export under way: the workbook, the format of text cells,
/// each column's widest cell so far and the last row written.
pub(super) struct XlsxExport {
    path: PathBuf,
    workbook: Workbook,
    text: Format,
    widths: Vec<usize>,
    columns: Vec<ExportColumn>,
    row: u32,
}

/// Rows of an .xlsx export whose cells carry data validation.
const VALIDATED_ROWS: u32 = 100_000;

impl ExportWriter {
    /// Creates the file at `path` and writes the header row of `columns`.
    pub(super) fn create(
        path: &Path,
        xlsx: bool,
        columns: &[ExportColumn],
    ) -> anyhow::Result<ExportWriter> {
        if !xlsx {
            let tmp = Beside::create(path)?;
            let mut file = BufWriter::new(tmp.file().try_clone()?);
            file.write_all("\u{FEFF}".as_bytes())?;
            let mut writer = csv::Writer::from_writer(file);
            writer.write_record(columns.iter().map(|c| c.header()))?;
            return Ok(ExportWriter::Csv(Box::new(CsvExport {
                path: path.to_path_buf(),
                tmp,
                writer,
            })));
        }
        let mut workbook = Workbook::new();
        let header = Format::new().set_bold();
        let text = Format::new().set_num_format("@");
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Products")?;
        for (col, c) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, c.header(), &header)?;
        }
        Ok(ExportWriter::Xlsx(Box::new(XlsxExport {
            path: path.to_path_buf(),
            workbook,
            text,
            widths: columns.iter().map(|c| c.header().len() + 3).collect(),
            columns: columns.to_vec(),
            row: 0,
        })))
    }

    /// Writes one product's row; CSV text is kept from being read as a formula.
    pub(super) fn write(&mut self, cells: &[Value]) -> anyhow::Result<()> {
        match self {
            ExportWriter::Csv(w) => {
                let fields = cells.iter().map(|v| match v {
                    Value::Empty => String::new(),
                    Value::Text(s) => neutralize_formula(s).into_owned(),
                    Value::Number(n) => format_number(*n),
                });
                w.writer.write_record(fields)?;
            }
            ExportWriter::Xlsx(x) => {
                x.row += 1;
                let sheet = x.workbook.worksheet_from_index(0)?;
                for (col, v) in cells.iter().enumerate() {
                    let c = col as u16;
                    let shown = match v {
                        Value::Empty => continue,
                        Value::Text(s) => {
                            sheet.write_string_with_format(x.row, c, s, &x.text)?;
                            s.chars().count()
                        }
                        Value::Number(n) => {
                            sheet.write_number(x.row, c, *n)?;
                            format_number(*n).len()
                        }
                    };
                    x.widths[col] = x.widths[col].max(shown + 1);
                }
            }
        }
        Ok(())
    }

    /// Completes the file and moves it into its place: a CSV flushed and
    /// synced, an .xlsx framed and saved.
    pub(super) fn finish(self) -> anyhow::Result<()> {
        match self {
            ExportWriter::Csv(c) => {
                let CsvExport { path, tmp, writer } = *c;
                // Dropped on an error, `tmp` removes itself.
                let file = writer.into_inner().map_err(|e| e.into_error())?;
                file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                tmp.persist(&path)?;
                Ok(())
            }
            ExportWriter::Xlsx(mut x) => {
                let rows = x.row;
                let sheet = x.workbook.worksheet_from_index(0)?;
                frame_sheet(sheet, &x.columns, &x.widths, rows)?;
                let path = x.path.clone();
                crate::results::atomic::replace(&path, |tmp| {
                    x.workbook.save(tmp).map_err(std::io::Error::other)
                })?;
                Ok(())
            }
        }
    }

    /// Drops an export that stopped part way: its temporary file is removed
    /// and an earlier export at its path stays as it was.
    pub(super) fn abandon(self) {
        if let ExportWriter::Csv(c) = self {
            // The writer closes first; then the temporary file removes itself.
            let CsvExport { tmp, writer, .. } = *c;
            drop(writer);
            drop(tmp);
        }
    }
}

/// The header frozen and filtered, widths fitted, and each field's column
/// set up as in the template (text codes, checked numbers).
fn frame_sheet(
    sheet: &mut Worksheet,
    columns: &[ExportColumn],
    widths: &[usize],
    rows: u32,
) -> Result<(), XlsxError> {
    for (col, c) in columns.iter().enumerate() {
        match c {
            ExportColumn::Field(f) => {
                prepare_column(sheet, col as u16, *f, widths[col], VALIDATED_ROWS.max(rows))?
            }
            ExportColumn::Id => {
                sheet.set_column_width(col as u16, widths[col].clamp(8, 60) as f64)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, rows, columns.len().saturating_sub(1) as u16)?;
    Ok(())
}
