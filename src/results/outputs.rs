//! The one owner of a run's output files: results, rejects and payloads
//! behind one interface, fed by `validate` directly and by the import
//! pipeline's recorder through [`RecordSink`].

use std::io;
use std::path::{Path, PathBuf};

use super::{
    PayloadsWriter, RejectsWriter, ResultsLayout, ResultsWriter, RowRecord, RowStatus, RunSummary,
    Tally,
};
use crate::validate::Draft;

/// Writing an output file failed; names the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct OutputError {
    /// The file.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: io::Error,
}

impl OutputError {
    /// Attaches `path` to an I/O error.
    pub fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
        move |source| OutputError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where finished rows go: [`Outputs`] in a run, a vector in tests.
pub trait RecordSink: Send {
    /// Writes one finished row.
    fn write(&mut self, record: &RowRecord) -> Result<(), OutputError>;
    /// Makes everything written so far readable by another process.
    fn flush(&mut self) -> Result<(), OutputError>;
    /// Completes the files (e.g. rewrites them in input order).
    fn finish(self: Box<Self>) -> Result<(), OutputError>;
}

/// A rejects or payloads file beside the results.
struct Extra<W> {
    path: PathBuf,
    writer: W,
}

/// Figures the owner of a run adds to the Summary sheet when it is written
/// (requests, retries), as (label, count).
pub(crate) type ExtraCounts = Box<dyn Fn() -> Vec<(String, u64)> + Send>;

/// The Summary sheet of an .xlsx results file, completed at the end from
/// the rows this owner saw.
struct SummarySheet {
    sheet: RunSummary,
    extra: ExtraCounts,
}

/// The results file plus the optional rejects and payloads files.
pub struct Outputs {
    results: ResultsWriter,
    rejects: Option<Extra<RejectsWriter>>,
    payloads: Option<Extra<PayloadsWriter>>,
    summary: Option<SummarySheet>,
    tally: Tally,
}

impl Outputs {
    /// Outputs around an open results file.
    pub fn new(results: ResultsWriter) -> Outputs {
        Outputs {
            results,
            rejects: None,
            payloads: None,
            summary: None,
            tally: Tally::default(),
        }
    }

    /// Completes `sheet` at the end with the rows written (counted from
    /// `kept`, the rows an earlier run already recorded) and `extra`.
    pub fn with_summary_sheet(
        mut self,
        sheet: RunSummary,
        kept: Tally,
        extra: ExtraCounts,
    ) -> Outputs {
        self.summary = Some(SummarySheet { sheet, extra });
        self.tally = kept;
        self
    }

    /// Also writes the invalid and failed rows to `path`, in the input's columns.
    pub fn with_rejects(
        mut self,
        path: Option<&Path>,
        layout: &ResultsLayout,
    ) -> Result<Outputs, OutputError> {
        if let Some(path) = path {
            let writer = RejectsWriter::create(path, layout).map_err(OutputError::at(path))?;
            self.rejects = Some(Extra {
                path: path.to_path_buf(),
                writer,
            });
        }
        Ok(self)
    }

    /// Also writes the invalid and failed rows with `writer`, opened on `path`.
    pub fn with_rejects_writer(mut self, path: &Path, writer: RejectsWriter) -> Outputs {
        self.rejects = Some(Extra {
            path: path.to_path_buf(),
            writer,
        });
        self
    }

    /// Also writes each valid row's payload to `path` (JSON lines).
    pub fn with_payloads(mut self, path: Option<&Path>) -> Result<Outputs, OutputError> {
        if let Some(path) = path {
            let writer = PayloadsWriter::create(path).map_err(OutputError::at(path))?;
            self.payloads = Some(Extra {
                path: path.to_path_buf(),
                writer,
            });
        }
        Ok(self)
    }

    /// The results file's path.
    pub fn results_path(&self) -> &Path {
        self.results.path()
    }

    /// Writes one row to every file it belongs in; `draft` is the payload of
    /// a valid row, when the caller has it.
    pub fn write_row(
        &mut self,
        record: &RowRecord,
        draft: Option<&Draft>,
    ) -> Result<(), OutputError> {
        self.tally.add(record.status);
        self.results
            .write(record)
            .map_err(OutputError::at(self.results.path()))?;
        if let Some(r) = self
            .rejects
            .as_mut()
            .filter(|_| matches!(record.status, RowStatus::Invalid | RowStatus::Failed))
        {
            let error = record.error.as_deref().unwrap_or_default();
            r.writer
                .write(&record.cells, error, &record.problems)
                .map_err(OutputError::at(&r.path))?;
        }
        if let (Some(p), Some(draft)) = (self.payloads.as_mut(), draft) {
            p.writer
                .write(record.row, draft)
                .map_err(OutputError::at(&p.path))?;
        }
        Ok(())
    }

    /// Completes every file; `summary` (or the sheet given to
    /// [`with_summary_sheet`](Outputs::with_summary_sheet)) becomes the
    /// Summary sheet of an .xlsx results file.
    pub fn finish_all(mut self, summary: Option<&RunSummary>) -> Result<(), OutputError> {
        let own = self.summary.take().map(|s| s.completed(&self.tally));
        let path = self.results.path().to_path_buf();
        self.results
            .finish_with(summary.or(own.as_ref()))
            .map_err(OutputError::at(&path))?;
        if let Some(r) = self.rejects {
            r.writer.finish().map_err(OutputError::at(&r.path))?;
        }
        if let Some(p) = self.payloads {
            p.writer.finish().map_err(OutputError::at(&p.path))?;
        }
        Ok(())
    }
}

impl RecordSink for Outputs {
    fn write(&mut self, record: &RowRecord) -> Result<(), OutputError> {
        self.write_row(record, None)
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.results
            .flush()
            .map_err(OutputError::at(self.results.path()))
    }

    fn finish(self: Box<Self>) -> Result<(), OutputError> {
        self.finish_all(None)
    }
}

impl SummarySheet {
    /// The sheet with the end time and the counts filled in.
    fn completed(self, t: &Tally) -> RunSummary {
        let mut sheet = self.sheet;
        sheet.finished = std::time::SystemTime::now();
        sheet.rows_done = t.done;
        sheet.counts = vec![
            ("rows done".into(), t.done),
            ("created".into(), t.created),
            ("updated".into(), t.updated),
            ("skipped".into(), t.skipped),
            ("invalid".into(), t.invalid),
            ("failed".into(), t.failed),
            ("valid (dry run)".into(), t.valid),
        ];
        sheet.counts.extend((self.extra)());
        sheet
    }
}
