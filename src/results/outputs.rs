//! The one owner of a run's output files: results, rejects and payloads
//! behind one interface, fed by `validate` directly and by the import
//! pipeline's recorder through [`RecordSink`].

use std::io;
use std::path::{Path, PathBuf};

use super::{PayloadsWriter, RejectsWriter, ResultsLayout, ResultsWriter, RowRecord, RowStatus};
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

/// The results file plus the optional rejects and payloads files.
pub struct Outputs {
    results: ResultsWriter,
    rejects: Option<Extra<RejectsWriter>>,
    payloads: Option<Extra<PayloadsWriter>>,
}

impl Outputs {
    /// Outputs around an open results file.
    pub fn new(results: ResultsWriter) -> Outputs {
        Outputs {
            results,
            rejects: None,
            payloads: None,
        }
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
                .write(&record.cells, error)
                .map_err(OutputError::at(&r.path))?;
        }
        if let (Some(p), Some(draft)) = (self.payloads.as_mut(), draft) {
            p.writer
                .write(record.row, draft)
                .map_err(OutputError::at(&p.path))?;
        }
        Ok(())
    }

    /// Completes every file.
    pub fn finish_all(self) -> Result<(), OutputError> {
        let path = self.results.path().to_path_buf();
        self.results.finish().map_err(OutputError::at(&path))?;
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
        self.finish_all()
    }
}
