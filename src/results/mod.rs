//! The results file: one record per data row saying what happened to it,
//! followed by the row's own cells so the file can be fixed and re-imported.
//! Shared by `validate` and `import`; also the rejects file and the payloads file.

use std::fmt;

impl RowStatus {
    /// The word written in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Valid => "valid",
            RowStatus::Invalid => "invalid",
            RowStatus::Created => "created",
            RowStatus::Updated => "updated",
            RowStatus::Skipped => "skipped",
            RowStatus::Failed => "failed",
        }
    }

    /// Parses the word of the `status` column.
    pub fn parse(s: &str) -> Option<RowStatus> {
        Some(match s {
            "valid" => RowStatus::Valid,
            "invalid" => RowStatus::Invalid,
            "created" => RowStatus::Created,
            "updated" => RowStatus::Updated,
            "skipped" => RowStatus::Skipped,
            "failed" => RowStatus::Failed,
            _ => return None,
        })
    }

    /// True when the row is done for good: a re-run with `--resume` leaves it alone.
    pub fn is_final_success(self) -> bool {
        matches!(
            self,
            RowStatus::Created | RowStatus::Updated | RowStatus::Skipped
        )
    }
}

impl fmt::Display for RowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::mapping::STATUS_COLUMNS;

pub(crate) mod atomic;
mod csv;
mod jsonl;
mod outputs;
mod payloads;
mod record;
mod rejects;
mod reorder;
mod tally;
mod xlsx;

pub use self::outputs::{OutputError, Outputs, RecordSink};
pub use self::payloads::PayloadsWriter;
use self::record::FormatSink;
pub use self::record::{ResultsLayout, RowRecord, RowStatus, RunSummary};
pub use self::rejects::RejectsWriter;
pub use self::tally::{RunOutcome, Tally};

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often written records reach the disk at the latest, while records
/// keep coming (the clock is read every [`CLOCK_EVERY`] records; an
/// import's recorder also flushes on its own clock).
const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Records written between two looks at the clock (see [`ResultsWriter::write`]).
const CLOCK_EVERY: u32 = 16;

/// The format of a results or rejects file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultsFormat {
    /// `.csv` (anything that is not `.jsonl` or `.xlsx`).
    Csv,
    /// `.jsonl`: one JSON object per line.
    Jsonl,
    /// `.xlsx`: written at the end; a JSON-lines journal beside it holds the
    /// finished rows while the run goes on.
    Xlsx,
}

impl ResultsFormat {
    /// The format for `path`, by its extension.
    pub fn for_path(path: &Path) -> ResultsFormat {
        match crate::read::extension(path).as_str() {
            "jsonl" | "ndjson" => ResultsFormat::Jsonl,
            "xlsx" => ResultsFormat::Xlsx,
            _ => ResultsFormat::Csv,
        }
    }
}

/// The default results path: the input's file name plus `.results.csv`,
/// beside the input (so a run leaves its files with the file it read, not
/// wherever it was started); `stdin.results.csv` in the current directory for
/// standard input (`-`).
pub(crate) fn default_results_path(input: &Path) -> PathBuf {
    if input.as_os_str() == crate::read::STDIN {
        return PathBuf::from("stdin.results.csv");
    }
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    let folder = input.parent().unwrap_or(Path::new(""));
    folder.join(format!("{name}.results.csv"))
}

/// Where an `.xlsx` results file keeps its journal while a run goes on.
pub(crate) fn journal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".journal.jsonl");
    PathBuf::from(s)
}

impl RunSummary {
    /// The rows of the mapping part: one per input column, then the constants.
    pub fn mapping_rows(mapping: &crate::mapping::ColumnMapping) -> Vec<(String, String)> {
        use crate::mapping::ColumnRole;
        let mut rows: Vec<(String, String)> = mapping
            .headers
            .iter()
            .zip(&mapping.roles)
            .filter_map(|(header, role)| {
                let used = match role {
                    ColumnRole::Field(field) => field.to_string(),
                    ColumnRole::Ignored => "(ignored)".to_string(),
                    ColumnRole::ResultsColumn => return None,
                    ColumnRole::Duplicate(field) => {
                        format!("(not used: another column already fills {field})")
                    }
                    ColumnRole::Fallback(field) => {
                        format!("{field}, where the column before it is empty")
                    }
                    ColumnRole::Unused(reason) => format!("(not used: {reason})"),
                    ColumnRole::Unknown => "(unknown column, not used)".to_string(),
                };
                Some((header.clone(), used))
            })
            .collect();
        if let Some(preset) = mapping.preset {
            rows.insert(0, ("preset".to_string(), preset.to_string()));
        }
        for c in &mapping.constants {
            rows.push((format!("constant {}", c.field), c.text.clone()));
        }
        for c in &mapping.defaults {
            rows.push((format!("default {}", c.field), c.text.clone()));
        }
        for (field, pairs) in &mapping.values {
            let words: Vec<String> = pairs.iter().map(|(w, m)| format!("{w} = {m}")).collect();
            rows.push((format!("values of {field}"), words.join(", ")));
        }
        for note in &mapping.notes {
            rows.push(("note".to_string(), note.clone()));
        }
        rows
    }
}

/// Writes the results file as rows finish. Records reach the disk at least
/// every 250 ms, so a killed run leaves every finished row readable;
/// [`finish`](ResultsWriter::finish) leaves the file in input order.
pub struct ResultsWriter {
    path: PathBuf,
    layout: ResultsLayout,
    format: ResultsFormat,
    sink: Box<dyn FormatSink>,
    last_row: u64,
    in_order: bool,
    last_flush: Instant,
    /// Records written since the clock was last read.
    unclocked: u32,
    /// The file written beside its place, until it takes it.
    pending: PendingRename,
}

/// A file written beside its place until
/// [`take_place`](PendingRename::take_place) renames it there; dropped before that, the
/// temporary file removes itself.
struct PendingRename {
    tmp: Option<atomic::Beside>,
    target: PathBuf,
}

impl PendingRename {
    fn done(&self) -> bool {
        self.tmp.is_none()
    }

    fn take_place(&mut self) -> io::Result<()> {
        match self.tmp.take() {
            Some(tmp) => tmp.persist(&self.target),
            None => Ok(()),
        }
    }
}

impl ResultsWriter {
    /// Creates the results file at `path`.
    pub fn create(path: &Path, layout: ResultsLayout) -> io::Result<ResultsWriter> {
        Self::create_with(path, layout, &[])
    }

    /// Creates the results file at `path` holding `initial` (the outcomes
    /// an earlier run of the job recorded in its store). The file is written
    /// beside its place and replaces an existing one only when the first
    /// new record is written (or at [`finish`](ResultsWriter::finish)): a
    /// run that stops before it leaves the old file as it was.
    pub fn create_with(
        path: &Path,
        layout: ResultsLayout,
        initial: &[RowRecord],
    ) -> io::Result<ResultsWriter> {
        let format = ResultsFormat::for_path(path);
        let target = match format {
            ResultsFormat::Xlsx => journal_path(path),
            _ => path.to_path_buf(),
        };
        let tmp = atomic::Beside::create(&target)?;
        let mut sink = open_sink(format, tmp.path(), &layout, false)?;
        let pending = PendingRename {
            tmp: Some(tmp),
            target,
        };
        for r in initial {
            sink.write(r)?;
        }
        sink.flush()?;
        let mut last_row = 0;
        let mut in_order = true;
        for r in initial {
            in_order &= r.row > last_row;
            last_row = last_row.max(r.row);
        }
        Ok(ResultsWriter {
            path: path.to_path_buf(),
            layout,
            format,
            sink,
            last_row,
            in_order,
            last_flush: Instant::now(),
            unclocked: 0,
            pending,
        })
    }

    /// The results file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record.
    pub fn write(&mut self, record: &RowRecord) -> io::Result<()> {
        if !self.pending.done() {
            self.sink.flush()?;
            self.pending.take_place()?;
        }
        if record.row <= self.last_row {
            self.in_order = false;
        }
        self.last_row = self.last_row.max(record.row);
        self.sink.write(record)?;
        // The clock is read every few records: at a million rows a second
        // (validate), a read per row was about 1.5% of the run; an import's
        // recorder flushes on its own clock too.
        self.unclocked += 1;
        if self.unclocked >= CLOCK_EVERY {
            self.unclocked = 0;
            if self.last_flush.elapsed() >= FLUSH_INTERVAL {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Pushes everything written so far to the disk.
    pub fn flush(&mut self) -> io::Result<()> {
        self.last_flush = Instant::now();
        self.sink.flush()
    }

    /// Completes the file: in input order (one record per row, the last
    /// written winning), and for `.xlsx` the workbook written from the journal.
    pub fn finish(self) -> io::Result<()> {
        self.finish_with(None)
    }

    /// [`finish`](ResultsWriter::finish), with a Summary sheet in an `.xlsx` file.
    pub fn finish_with(mut self, summary: Option<&RunSummary>) -> io::Result<()> {
        self.sink.flush()?;
        drop(self.sink);
        self.pending.take_place()?;
        if self.in_order && self.format != ResultsFormat::Xlsx {
            return Ok(());
        }
        match self.format {
            ResultsFormat::Xlsx => {
                let journal = journal_path(&self.path);
                reorder::journal_in_order(&journal, |records| {
                    xlsx::write_results(&self.path, &self.layout, records, summary)
                })?;
                let _ = std::fs::remove_file(journal);
            }
            format => {
                let jsonl = format == ResultsFormat::Jsonl;
                reorder::rewrite_in_order(&self.path, jsonl)?;
            }
        }
        Ok(())
    }
}

/// A sink in `format` writing `path` afresh, or appending to it.
fn open_sink(
    format: ResultsFormat,
    path: &Path,
    layout: &ResultsLayout,
    append: bool,
) -> io::Result<Box<dyn FormatSink>> {
    Ok(match format {
        ResultsFormat::Csv if append => Box::new(csv::CsvSink::append(path, layout)?),
        ResultsFormat::Csv => Box::new(csv::CsvSink::create(path, layout)?),
        ResultsFormat::Jsonl | ResultsFormat::Xlsx => Box::new(jsonl::JsonlSink::create(
            path,
            layout,
            append,
            format == ResultsFormat::Xlsx,
        )?),
    })
}

/// Reads a results file back: one record per row, in row order, the last
/// record of a row winning. A missing file gives no records; a line cut short
/// by a killed run is skipped. For `.xlsx`, the journal of an unfinished run
/// is read too.
pub fn read_results(path: &Path) -> io::Result<Vec<RowRecord>> {
    let mut records = match ResultsFormat::for_path(path) {
        ResultsFormat::Csv => csv::read(path)?,
        ResultsFormat::Jsonl => jsonl::read(path)?,
        ResultsFormat::Xlsx => {
            let mut r = xlsx::read(path)?;
            r.extend(jsonl::read(&journal_path(path))?);
            r
        }
    };
    // Stable sort keeps the write order among records of the same row.
    records.sort_by_key(|r| r.row);
    let mut out: Vec<RowRecord> = Vec::with_capacity(records.len());
    for r in records {
        match out.last_mut() {
            Some(last) if last.row == r.row => *last = r,
            _ => out.push(r),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(row: u64, status: RowStatus, cells: &[&str]) -> RowRecord {
        RowRecord {
            row,
            sheet: None,
            status,
            id: Some(row as i64 * 10),
            http_status: Some(201),
            trace_id: None,
            error: (status == RowStatus::Failed).then(|| "=boom, \"quoted\"\nline".to_string()),
            problems: Vec::new(),
            cells: cells.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn the_default_results_file_is_beside_the_input() {
        let beside = |input: &str| default_results_path(Path::new(input));
        assert_eq!(
            beside("samples/products.csv"),
            Path::new("samples/products.csv.results.csv")
        );
        assert_eq!(beside("in.xlsx"), Path::new("in.xlsx.results.csv"));
        assert_eq!(
            beside("/data/in.csv"),
            Path::new("/data/in.csv.results.csv")
        );
        assert_eq!(beside("-"), Path::new("stdin.results.csv"));
    }

    #[test]
    fn finish_puts_records_in_input_order_with_the_last_one_winning() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["r.csv", "r.jsonl", "r.xlsx"] {
            let path = dir.path().join(name);
            let layout = ResultsLayout {
                headers: vec!["name".into(), "price".into()],
                delimiter: b';',
            };
            let mut w = ResultsWriter::create(&path, layout).unwrap();
            w.write(&record(4, RowStatus::Failed, &["D", "1,5"]))
                .unwrap();
            w.write(&record(2, RowStatus::Created, &["Bæ", "2"]))
                .unwrap();
            w.write(&record(3, RowStatus::Created, &["C\nmulti", "3"]))
                .unwrap();
            w.write(&record(4, RowStatus::Created, &["D", "1,5"]))
                .unwrap();
            w.finish().unwrap();
            let back = read_results(&path).unwrap();
            let rows: Vec<(u64, RowStatus)> = back.iter().map(|r| (r.row, r.status)).collect();
            assert_eq!(
                rows,
                vec![
                    (2, RowStatus::Created),
                    (3, RowStatus::Created),
                    (4, RowStatus::Created)
                ],
                "{name}"
            );
            assert_eq!(back[1].cells, vec!["C\nmulti", "3"], "{name}");
            assert_eq!(back[0].cells, vec!["Bæ", "2"], "{name}");
            if name == "r.csv" {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.starts_with("\u{FEFF}row;sheet;status;"), "{text}");
                assert_eq!(text.matches("row;sheet").count(), 1);
            }
            assert!(!journal_path(&path).exists());
        }
    }

    #[test]
    fn a_line_cut_short_by_a_kill_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let layout = ResultsLayout {
            headers: vec!["name".into()],
            delimiter: b',',
        };
        let mut w = ResultsWriter::create(&path, layout).unwrap();
        w.write(&record(3, RowStatus::Created, &["C"])).unwrap();
        w.write(&record(2, RowStatus::Created, &["B"])).unwrap();
        w.flush().unwrap();
        drop(w);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"5,,crea");
        std::fs::write(&path, text).unwrap();
        let rows: Vec<u64> = read_results(&path).unwrap().iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![2, 3]);
    }
}
