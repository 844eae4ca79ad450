//! `validate`: reads the whole file, validates every row offline, writes the
//! results (and optionally rejects and payloads) files, sends nothing.

use std::io::Write;
use std::time::{Instant, SystemTime};

use anyhow::Context;

use super::ExitStatus;
use crate::cli::ValidateArgs;
use crate::prepare::{prepare, InputPlan, Prepared};
use crate::read::SourceInfo;
use crate::results::{
    default_results_path, PayloadsWriter, RejectsWriter, ResultsLayout, ResultsWriter, RowRecord,
    RowStatus, RunSummary,
};
use crate::validate::ProblemTable;

/// How many problems the summary lists before it only counts them.
const LISTED_PROBLEMS: usize = 20;

/// Runs `validate`, printing the summary to `out`.
pub fn run(args: &ValidateArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let interrupt = super::interrupt_flag();
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
    let mut results = ResultsWriter::create(&results_path, layout.clone())
        .with_context(|| format!("cannot write the results file {}", results_path.display()))?;
    let mut rejects = args
        .rejects
        .as_deref()
        .map(|p| {
            RejectsWriter::create(p, &layout)
                .with_context(|| format!("cannot write {}", p.display()))
        })
        .transpose()?;
    let mut payloads = args
        .payloads
        .as_deref()
        .map(|p| PayloadsWriter::create(p).with_context(|| format!("cannot write {}", p.display())))
        .transpose()?;

    if !args.quiet {
        print_source(out, &info)?;
        writeln!(out, "Columns:\n{mapping}")?;
    }
    let (mut valid, mut invalid) = (0u64, 0u64);
    let mut listed = Vec::new();
    let mut table = ProblemTable::default();
    let mut read_error = None;
    let counters = rows.counters();
    let mut interrupted = false;
    for item in rows.into_background() {
        if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
            // Stop reading; the rows so far are written and the file stays valid.
            interrupted = true;
            break;
        }
        let row = match item {
            Ok(row) => row,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        };
        let (status, error, problems) = match row.outcome {
            Ok(draft) => {
                valid += 1;
                if let Some(p) = payloads.as_mut() {
                    p.write(row.row, &draft)?;
                }
                (RowStatus::Valid, None, Vec::new())
            }
            Err(problems) => {
                invalid += 1;
                let text = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                if listed.len() < LISTED_PROBLEMS {
                    listed.push(format!("row {}: {text}", row.row));
                }
                table.add(&problems);
                if let Some(r) = rejects.as_mut() {
                    r.write(&row.cells, &text, &problems)?;
                }
                (RowStatus::Invalid, Some(text), problems)
            }
        };
        results.write(&RowRecord {
            row: row.row,
            sheet: info.sheet.clone(),
            status,
            id: None,
            http_status: None,
            trace_id: None,
            error,
            problems,
            cells: row.cells,
        })?;
    }
    let empty = counters.empty_rows();
    let summary = RunSummary {
        command: "validate",
        started: started_at,
        finished: SystemTime::now(),
        rows_done: valid + invalid,
        counts: vec![
            ("rows read".into(), valid + invalid),
            ("valid".into(), valid),
            ("invalid".into(), invalid),
            ("empty rows skipped".into(), empty),
        ],
        settings: settings(args, &info),
        mapping: RunSummary::mapping_rows(&mapping),
    };
    results
        .finish_with(Some(&summary))
        .with_context(|| format!("cannot write the results file {}", results_path.display()))?;
    if let Some(r) = rejects {
        r.finish()?;
    }
    if let Some(p) = payloads {
        p.finish()?;
    }

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
            if invalid as usize > listed.len() {
                writeln!(
                    out,
                    "  ... and {} more invalid rows (see the results file)",
                    invalid as usize - listed.len()
                )?;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "Rows: {} read, {valid} valid, {invalid} invalid, {empty} empty skipped ({:.1} s). Results: {}",
        valid + invalid,
        elapsed,
        results_path.display()
    )?;
    if !args.quiet && !table.is_empty() {
        writeln!(out, "Problems by column:\n{table}")?;
    }
    if interrupted {
        eprintln!("Interrupted: the results file holds the rows validated so far.");
        return Ok(ExitStatus::Interrupted);
    }
    if let Some(e) = read_error {
        eprintln!("error: {e}");
        eprintln!(
            "The rows before it were validated and written to {}.",
            results_path.display()
        );
        return Ok(ExitStatus::NothingAttempted);
    }
    Ok(if invalid > 0 {
        ExitStatus::RowsFailed
    } else {
        ExitStatus::Success
    })
}

/// The settings of a run, for the Summary sheet.
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
        let shown = match d {
            b'\t' => "tab".to_string(),
            d => (d as char).to_string(),
        };
        out.push(("delimiter".into(), shown));
    }
    if let Some(m) = &args.read.mapping {
        out.push(("mapping file".into(), m.display().to_string()));
    }
    if let Some(n) = args.read.header_row {
        out.push(("header row".into(), n.to_string()));
    }
    if let Some(d) = args.read.decimal {
        out.push(("decimal mark".into(), format!("{d:?}").to_lowercase()));
    }
    out
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
