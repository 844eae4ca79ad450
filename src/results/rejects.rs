//! `--rejects`: only the rows that were not imported, in the input's own
//! columns plus an `error` column, ready to fix and feed back as input.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format, Workbook};

use super::{ResultsFormat, ResultsLayout};
use crate::cell::neutralize_formula;

/// Writes rejected rows as CSV or .xlsx (by extension).
pub struct RejectsWriter {
    target: Target,
}

enum Target {
    /// Written to a temporary file beside `path`, renamed into place at the end.
    Csv {
        path: PathBuf,
        tmp: PathBuf,
        writer: Box<csv::Writer<BufWriter<File>>>,
    },
    Xlsx {
        path: PathBuf,
        workbook: Box<Workbook>,
        next_row: u32,
    },
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
                let mut workbook = Box::new(Workbook::new());
                let sheet = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx_err)?;
                let bold = Format::new().set_bold();
                for (col, h) in headers.iter().enumerate() {
                    sheet
                        .write_string_with_format(0, col as u16, *h, &bold)
                        .map_err(xlsx_err)?;
                }
                Target::Xlsx {
                    path: path.to_path_buf(),
                    workbook,
                    next_row: 1,
                }
            }
            _ => {
                let tmp = super::atomic::temporary_beside(path);
                let mut file = BufWriter::new(File::create(&tmp)?);
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

    /// Writes one rejected row.
    pub fn write(&mut self, cells: &[String], error: &str) -> io::Result<()> {
        match &mut self.target {
            Target::Csv { writer: w, .. } => {
                let fields = cells
                    .iter()
                    .map(|c| neutralize_formula(c))
                    .chain([neutralize_formula(error)]);
                w.write_record(fields.map(|f| f.into_owned()))
                    .map_err(io::Error::other)
            }
            Target::Xlsx {
                workbook, next_row, ..
            } => {
                let sheet = workbook.worksheet_from_index(0).map_err(xlsx_err)?;
                for (col, text) in cells.iter().map(String::as_str).chain([error]).enumerate() {
                    if !text.is_empty() {
                        sheet
                            .write_string(*next_row, col as u16, text)
                            .map_err(xlsx_err)?;
                    }
                }
                *next_row += 1;
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
                std::fs::rename(&tmp, &path)
            }
            Target::Xlsx {
                path, mut workbook, ..
            } => super::atomic::replace(&path, |tmp| workbook.save(tmp).map_err(xlsx_err)),
        }
    }
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> io::Error {
    io::Error::other(e.to_string())
}
