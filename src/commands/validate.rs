//! `validate`: reads the whole file, validates every row offline, writes the
//! results (and optionally rejects and payloads) files, sends nothing.

use std::io::Write;
use std::time::{Instant, SystemTime};

use anyhow::Context;

use super::ExitStatus;
use crate::cli::{InputPlan, ValidateArgs};
use crate::mapping::ColumnMapping;
use crate::prepare::{prepare, Prepared, PreparedRows};
use crate::read::{ReadError, SourceInfo};
use crate::results::{
    default_results_path, Outputs, ResultsLayout, ResultsWriter, RowRecord, RowStatus, RunOutcome,
    RunSummary, Tally,
};
use crate::validate::{PreparedRow, ProblemTable};

/// How many problems the summary lists before it only counts them.
const LISTED_PROBLEMS: usize = 20;

/// What the validation pass saw.
#[derive(Default)]
struct Pass {
    tally: Tally,
    listed: Vec<String>,
    table: ProblemTable,
    read_error: Option<ReadError>,
    outcome: Option<RunOutcome>,
}

/// Runs `validate`, printing the summary to `out`. A reader of `out` that
/// goes away (`validate … | head`) is no error: the run goes on to its end
/// and its results file, and says nothing more.
pub fn run(args: &ValidateArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let out = &mut ClosedPipeIsQuiet(out);
    let started = Instant::now();
    let started_at = SystemTime::now();
    // Handlers in place before anything slow, so Ctrl-C never kills a half-written file.
    let interrupt = crate::interrupt::interrupt_flag();
    let plan = InputPlan::from_args(&args.read).map_err(nothing)?;
    let Prepared {
        info,
        mapping,
        output_headers,
        rows,
    } = prepare(&plan).map_err(nothing)?;
    let layout = ResultsLayout {
        headers: output_headers,
        delimiter: info.delimiter.unwrap_or(b','),
    };
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| default_results_path(&plan.path));
    let results = ResultsWriter::create(&results_path, layout.clone())
        .with_context(|| format!("cannot write the results file {}", results_path.display()))?;
    let mut outputs = Outputs::new(results)
        .with_rejects(args.rejects.as_deref(), &layout)?
        .with_payloads(args.payloads.as_deref())?;

    if !args.quiet {
        print_source(out, &info)?;
        writeln!(out, "Columns:\n{mapping}")?;
    }
    let counters = rows.counters();
    let rows = if args.payloads.is_none() {
        rows.without_payloads()
    } else {
        rows
    };
    let pass = validate_rows(rows, &mut outputs, info.sheet.clone(), &interrupt)?;
    let empty = counters.empty_rows();
    let (not_products, listed_not_products) = counters.not_product_rows();
    let summary = RunSummary {
        command: "validate",
        started: started_at,
        finished: SystemTime::now(),
        rows_done: pass.tally.done,
        counts: vec![
            ("rows read".into(), pass.tally.done),
            ("valid".into(), pass.tally.valid),
            ("invalid".into(), pass.tally.invalid),
            ("empty rows skipped".into(), empty),
            ("rows that are not products".into(), not_products),
        ],
        settings: settings(args, &info),
        mapping: RunSummary::mapping_rows(&mapping),
    };
    outputs.finish_all(Some(&summary))?;
    if !args.quiet {
        print_not_products(out, not_products, &listed_not_products)?;
        print_problems(out, &mapping, &pass)?;
    }
    writeln!(
        out,
        "Rows: {} read, {} valid, {} invalid, {empty} empty skipped ({:.1} s). Results: {}",
        pass.tally.done,
        pass.tally.valid,
        pass.tally.invalid,
        started.elapsed().as_secs_f64(),
        results_path.display()
    )?;
    if !args.quiet && !pass.table.is_empty() {
        writeln!(out, "Problems by column:\n{}", pass.table)?;
    }
    Ok(report_end(&pass, &results_path))
}

/// A writer that drops what it is given once its reader has gone (a broken
/// pipe), instead of failing.
struct ClosedPipeIsQuiet<'a>(&'a mut dyn Write);

impl Write for ClosedPipeIsQuiet<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

fn nothing(e: impl Into<anyhow::Error>) -> anyhow::Error {
    super::NothingAttempted(e.into()).into()
}

/// Validates every row into `outputs`, until the end, a read error or Ctrl-C.
fn validate_rows(
    rows: PreparedRows,
    outputs: &mut Outputs,
    sheet: Option<String>,
    interrupt: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Pass> {
    let mut pass = Pass::default();
    for item in rows.into_background() {
        if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
            // Stop reading; the rows so far are written and the file stays valid.
            pass.outcome = Some(RunOutcome::Interrupted);
            break;
        }
        let mut row = match item {
            Ok(row) => row,
            Err(e) => {
                pass.read_error = Some(e);
                pass.outcome = Some(RunOutcome::Stopped);
                break;
            }
        };
        let record = record_of(&mut row, sheet.clone());
        if let Some(text) = record
            .error
            .as_ref()
            .filter(|_| record.status == RowStatus::Invalid && pass.listed.len() < LISTED_PROBLEMS)
        {
            pass.listed.push(format!("row {}: {text}", row.row));
        }
        pass.table.add(&record.problems);
        pass.tally.add(record.status);
        outputs.write_row(&record, row.outcome.as_ref().ok())?;
    }
    Ok(pass)
}

/// Prints the unknown columns and the first problems.
fn print_problems(
    out: &mut dyn Write,
    mapping: &ColumnMapping,
    pass: &Pass,
) -> std::io::Result<()> {
    let unknown = mapping.unknown_columns();
    if !unknown.is_empty() {
        let list = unknown
            .iter()
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            out,
            "Unknown columns, not used (map them with --mapping): {list}"
        )?;
    }
    if !pass.listed.is_empty() {
        writeln!(out, "Problems:")?;
        for line in &pass.listed {
            writeln!(out, "  {line}")?;
        }
        let invalid = pass.tally.invalid as usize;
        if invalid > pass.listed.len() {
            writeln!(
                out,
                "  ... and {} more invalid rows (see the results file)",
                invalid - pass.listed.len()
            )?;
        }
    }
    Ok(())
}

/// Says why the pass ended early, if it did, and decides the exit status.
fn report_end(pass: &Pass, results_path: &std::path::Path) -> ExitStatus {
    let outcome = pass.outcome.unwrap_or(RunOutcome::Completed);
    match (&pass.read_error, outcome) {
        (Some(e), _) => {
            eprintln!("error: {e}");
            eprintln!(
                "The rows before it were validated and written to {}.",
                results_path.display()
            );
        }
        (None, RunOutcome::Interrupted) => {
            eprintln!("Interrupted: the results file holds the rows validated so far.")
        }
        _ => {}
    }
    ExitStatus::after(outcome, &pass.tally)
}

/// Lists the rows that are not products (image rows, variant parents,
/// continuation lines) and why.
pub(crate) fn print_not_products(
    out: &mut dyn Write,
    count: u64,
    listed: &[(u64, String)],
) -> std::io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "Rows that are not products ({count}; not in the results file):"
    )?;
    for (row, reason) in listed {
        writeln!(out, "  row {row}: {reason}")?;
    }
    if count > listed.len() as u64 {
        writeln!(out, "  ... and {} more", count - listed.len() as u64)?;
    }
    Ok(())
}

/// The results record of a validated row; its cells and problems move
/// into the record (the payload of a valid row stays in `row`).
fn record_of(row: &mut PreparedRow, sheet: Option<String>) -> RowRecord {
    let (status, error, problems) = match &mut row.outcome {
        Ok(draft) if !draft.notes.is_empty() => (
            RowStatus::Valid,
            Some(format!("note: {}", draft.notes.join("; note: "))),
            Vec::new(),
        ),
        Ok(_) => (RowStatus::Valid, None, Vec::new()),
        Err(problems) => {
            let text = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            (RowStatus::Invalid, Some(text), std::mem::take(problems))
        }
    };
    RowRecord {
        row: row.row,
        sheet,
        status,
        id: None,
        http_status: None,
        trace_id: None,
        error,
        problems,
        cells: std::mem::take(&mut row.cells),
    }
}

/// The run's settings for the Summary sheet of an .xlsx results file.
fn settings(args: &ValidateArgs, info: &SourceInfo) -> Vec<(String, String)> {
    let mut out = vec![("file".to_string(), info.path.display().to_string())];
    out.push(("format".into(), info.format.to_string()));
    if let Some(sheet) = &info.sheet {
        out.push(("sheet".into(), sheet.clone()));
    }
    if let Some(enc) = &info.encoding {
        out.push(("encoding".into(), enc.clone()));
    }
    if let Some(d) = info.delimiter {
        out.push(("delimiter".into(), delimiter_name(d)));
    }
    let options = &args.read.options;
    if let Some(m) = &options.mapping {
        out.push(("mapping file".into(), m.display().to_string()));
    }
    if let Some(n) = options.header_row {
        out.push(("header row".into(), n.to_string()));
    }
    if let Some(d) = options.decimal {
        out.push(("decimal mark".into(), format!("{d:?}").to_lowercase()));
    }
    out
}

/// A delimiter as a user would name it.
fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        d => (d as char).to_string(),
    }
}

/// Prints what was read and how.
pub(crate) fn print_source(out: &mut dyn Write, info: &SourceInfo) -> std::io::Result<()> {
    write!(out, "Read {} ({}", info.path.display(), info.format)?;
    if let Some(sheet) = &info.sheet {
        write!(out, ", sheet \"{sheet}\"")?;
    }
    if let Some(enc) = &info.encoding {
        let detected = if info.encoding_detected {
            " detected"
        } else {
            ""
        };
        write!(out, ", {enc}{detected}")?;
    }
    if let Some(d) = info.delimiter {
        let name = match d {
            b'\t' => "tab".to_string(),
            d => format!("'{}'", d as char),
        };
        write!(out, ", delimiter {name}")?;
    }
    writeln!(out, ")")?;
    if !info.other_sheets.is_empty() {
        let list = info
            .other_sheets
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(out, "Sheets not read: {list} (choose one with --sheet)")?;
    }
    Ok(())
}
