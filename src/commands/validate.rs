//! `validate`: reads the whole file, validates every row offline, writes the
//! results (and optionally rejects and payloads) files, sends nothing.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;

use super::ExitStatus;
use crate::cli::InputPlan;
use crate::cli::ValidateArgs;
use crate::prepare::{prepare, Prepared};
use crate::read::SourceInfo;
use crate::results::{
    default_results_path, Outputs, ResultsLayout, ResultsWriter, RowRecord, RowStatus, RunOutcome,
    Tally,
};
use crate::validate::PreparedRow;

/// How many problems the summary lists before it only counts them.
const LISTED_PROBLEMS: usize = 20;

/// Runs `validate`, printing the summary to `out`.
pub fn run(args: &ValidateArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let interrupt = crate::interrupt::interrupt_flag();
    let plan = match InputPlan::from_args(&args.read) {
        Ok(plan) => plan,
        Err(e) => return fatal(e.into()),
    };
    let prepared = match prepare(&plan) {
        Ok(p) => p,
        Err(e) => return fatal(e.into()),
    };
    let Prepared {
        info,
        mapping,
        output_headers,
        rows,
    } = prepared;
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
    let mut tally = Tally::default();
    let mut listed = Vec::new();
    let mut read_error = None;
    let counters = rows.counters();
    let mut outcome = RunOutcome::Completed;
    for item in rows.into_background() {
        if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
            // Stop reading; the rows so far are written and the file stays valid.
            outcome = RunOutcome::Interrupted;
            break;
        }
        let row = match item {
            Ok(row) => row,
            Err(e) => {
                read_error = Some(e);
                outcome = RunOutcome::Stopped;
                break;
            }
        };
        let record = record_of(&row, info.sheet.clone());
        if listed.len() < LISTED_PROBLEMS {
            if let Some(text) = &record.error {
                listed.push(format!("row {}: {text}", row.row));
            }
        }
        tally.add(record.status);
        outputs.write_row(&record, row.outcome.as_ref().ok())?;
    }
    outputs.finish_all()?;

    let empty = counters.empty_rows();
    if !args.quiet {
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
        if !listed.is_empty() {
            writeln!(out, "Problems:")?;
            for line in &listed {
                writeln!(out, "  {line}")?;
            }
            if tally.invalid as usize > listed.len() {
                writeln!(
                    out,
                    "  ... and {} more invalid rows (see the results file)",
                    tally.invalid as usize - listed.len()
                )?;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "Rows: {} read, {} valid, {} invalid, {empty} empty skipped ({:.1} s). Results: {}",
        tally.done,
        tally.valid,
        tally.invalid,
        elapsed,
        results_path.display()
    )?;
    match (&read_error, outcome) {
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
    Ok(ExitStatus::after(outcome, &tally))
}

/// The results record of a validated row.
fn record_of(row: &PreparedRow, sheet: Option<String>) -> RowRecord {
    let (status, error) = match &row.outcome {
        Ok(_) => (RowStatus::Valid, None),
        Err(problems) => {
            let text = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            (RowStatus::Invalid, Some(text))
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
        cells: row.cells.clone(),
    }
}

fn fatal(e: anyhow::Error) -> anyhow::Result<ExitStatus> {
    Err(super::NothingAttempted(e).into())
}

/// Prints what was read and how.
pub fn print_source(out: &mut dyn Write, info: &SourceInfo) -> std::io::Result<()> {
    write!(out, "Read {} ({}", info.path.display(), info.format)?;
    if let Some(sheet) = &info.sheet {
        write!(out, ", sheet \"{sheet}\"")?;
    }
    if let Some(enc) = &info.encoding {
        write!(
            out,
            ", {enc}{}",
            if info.encoding_detected {
                " detected"
            } else {
                ""
            }
        )?;
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
