//! `--rejects`: only the rows that were not imported, in the input's own
//! columns plus an `error` column, ready to fix and feed back as input (the
//! mapping leaves an `error` column unused). As .xlsx it is styled like the
//! results workbook: frozen, filtered header, fitted widths, text cells, and
//! each bad cell filled with a note saying what is wrong.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;

use super::atomic::Beside;
use super::xlsx::{self, xlsx_err, SheetMarks};
use super::{ResultsFormat, ResultsLayout};
use crate::cell::{neutralize_formula, Texts};
use crate::validate::Problem;

/// Writes rejected rows as CSV or .xlsx (by extension).
pub struct RejectsWriter {
    target: Target,
}

enum Target {
    /// Written to a temporary file beside `path`, renamed into place at the end.
    Csv {
        path: PathBuf,
        tmp: Beside,
        writer: Box<csv::Writer<BufWriter<File>>>,
    },
    Xlsx(Box<XlsxRejects>),
}

struct XlsxRejects {
    path: PathBuf,
    workbook: Workbook,
    marks: SheetMarks,
    headers: Vec<String>,
    next_row: u32,
}

impl RejectsWriter {
    /// Creates the file with the input's headers plus `error`.
    pub fn create(path: &Path, layout: &ResultsLayout) -> io::Result<RejectsWriter> {
        let headers: Vec<&str> = layout
            .headers
            .iter()
            .map(String::as_str)
            .chain(["error"])
            .collect();
        let target = match ResultsFormat::for_path(path) {
            ResultsFormat::Xlsx => {
                let mut workbook = Workbook::new();
                let sheet = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx_err)?;
                sheet.set_name("Rejects").map_err(xlsx_err)?;
                let marks = SheetMarks::start(sheet, &headers).map_err(xlsx_err)?;
                Target::Xlsx(Box::new(XlsxRejects {
                    path: path.to_path_buf(),
                    workbook,
                    marks,
                    headers: layout.headers.clone(),
                    next_row: 1,
                }))
            }
            _ => {
                let tmp = Beside::create(path)?;
                let mut file = BufWriter::new(tmp.file().try_clone()?);
                file.write_all("\u{FEFF}".as_bytes())?;
                let mut w = csv::WriterBuilder::new()
                    .delimiter(layout.delimiter)
                    .flexible(true)
                    .from_writer(file);
                w.write_record(&headers).map_err(io::Error::other)?;
                Target::Csv {
                    path: path.to_path_buf(),
                    tmp,
                    writer: Box::new(w),
                }
            }
        };
        Ok(RejectsWriter { target })
    }

    /// Writes one rejected row; an .xlsx file marks the cells `problems` point at.
    pub fn write(&mut self, cells: &Texts, error: &str, problems: &[Problem]) -> io::Result<()> {
        match &mut self.target {
            Target::Csv { writer: w, .. } => {
                let fields = cells
                    .iter()
                    .map(|c| neutralize_formula(c))
                    .chain([neutralize_formula(error)]);
                w.write_record(fields.map(|f| f.into_owned()))
                    .map_err(io::Error::other)
            }
            Target::Xlsx(x) => {
                let row = x.next_row;
                let sheet = x.workbook.worksheet_from_index(0).map_err(xlsx_err)?;
                let notes = xlsx::cell_notes(&x.headers, problems);
                x.marks
                    .cells(sheet, row, 0, cells, &notes)
                    .map_err(xlsx_err)?;
                // The error sits after the input's columns, however many
                // cells this row has.
                let col = x.headers.len().max(cells.len());
                x.marks
                    .text(sheet, row, col, error, None)
                    .map_err(xlsx_err)?;
                x.next_row += 1;
                Ok(())
            }
        }
    }

    /// Completes the file.
    pub fn finish(self) -> io::Result<()> {
        match self.target {
            Target::Csv {
                path,
                tmp,
                mut writer,
            } => {
                writer.flush()?;
                drop(writer);
                tmp.persist(&path)
            }
            Target::Xlsx(mut x) => {
                let sheet = x.workbook.worksheet_from_index(0).map_err(xlsx_err)?;
                x.marks
                    .finish(sheet, x.next_row - 1, x.headers.len() + 1)
                    .map_err(xlsx_err)?;
                let XlsxRejects { path, workbook, .. } = &mut *x;
                super::atomic::replace(path, |tmp| workbook.save(tmp).map_err(xlsx_err))
            }
        }
    }
}
