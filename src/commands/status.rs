//! `status`: where a job stands, read from its run store alone: the input
//! its outcomes belong to, rows done (by outcome), rows sent without an
//! outcome yet (unknown: the next `--resume` settles them) and rows still
//! pending, the last runs and how they ended; with `--render`, the job's
//! results written again in any format (by the file's extension).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::{ExitStatus, NothingAttempted};
use crate::results::ResultsWriter;
use crate::store::{store_path, JobStore};

/// `status` flags.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The job's results file (its run store `RESULTS.job.sqlite` lies beside it), or the store itself.
    #[arg(value_name = "RESULTS")]
    pub results: PathBuf,
    /// Write the job's results to this file, as .csv, .jsonl or .xlsx by its extension.
    #[arg(long, value_name = "FILE")]
    pub render: Option<PathBuf>,
    /// How many of the last runs to list (default 5).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub runs: usize,
}

/// Says where the job stands on `out`; renders its results when asked.
pub fn run(args: &StatusArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let path = if args.results.to_string_lossy().ends_with(".job.sqlite") {
        args.results.clone()
    } else {
        store_path(&args.results)
    };
    let store = open(&path).map_err(NothingAttempted)?;
    write_status(&store, &path, args.runs, out)?;
    if let Some(target) = &args.render {
        render(&store, target).map_err(NothingAttempted)?;
        writeln!(out, "Results written to {}", target.display())?;
    }
    Ok(ExitStatus::Success)
}

fn open(path: &Path) -> anyhow::Result<JobStore> {
    let empty = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
    anyhow::ensure!(
        !empty,
        "no run store at {}: this job has not run yet (or its results file is elsewhere)",
        path.display()
    );
    JobStore::open_read(path)?.context("the store vanished")
}

fn write_status(
    store: &JobStore,
    path: &Path,
    runs: usize,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writeln!(out, "Job store: {}", path.display())?;
    if let Some(f) = store.fingerprint()? {
        writeln!(
            out,
            "Input:     {} bytes, SHA-256 {}{}",
            f.input_size,
            &f.input_sha256[..f.input_sha256.len().min(16)],
            f.sheet
                .map_or(String::new(), |s| format!(", sheet \"{s}\""))
        )?;
    }
    let (by_status, unknown) = store.counts()?;
    let done: u64 = by_status.values().sum();
    let words: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
    writeln!(
        out,
        "Rows:      {done} done{}",
        if words.is_empty() {
            String::new()
        } else {
            format!(" ({})", words.join(", "))
        }
    )?;
    writeln!(
        out,
        "           {unknown} unknown (sent, no outcome recorded: --resume settles them)"
    )?;
    if let Some(total) = store.total_rows()? {
        let pending = total.saturating_sub(done + unknown);
        writeln!(
            out,
            "           {pending} pending of {total} rows in the input"
        )?;
    }
    let state = store.job_state()?;
    let deactivated = state.products.values().filter(|p| p.deactivated).count();
    writeln!(
        out,
        "Products:  {} made by this job ({deactivated} deactivated as missing)",
        state.products.len()
    )?;
    match &state.last_success {
        Some(seen) => writeln!(
            out,
            "Last fully successful input: {} at {}",
            seen.source, seen.finished_at
        )?,
        None => writeln!(out, "Last fully successful input: none recorded")?,
    }
    writeln!(out, "Runs, newest first:")?;
    for r in store.runs(runs)? {
        let end = match (&r.finished, &r.ending) {
            (Some(at), Some(how)) => format!(
                "ended {at}: {how} (exit {})",
                r.exit_code.map_or("?".into(), |c| c.to_string())
            ),
            _ => format!("did not finish (process {})", r.pid),
        };
        writeln!(
            out,
            "  #{} {} run started {}, {end}",
            r.id, r.kind, r.started
        )?;
    }
    Ok(())
}

/// Writes every stored outcome to `target` in its extension's format.
fn render(store: &JobStore, target: &Path) -> anyhow::Result<()> {
    let layout = store
        .layout()?
        .context("the store holds no run whose results could be written")?;
    let records = store.outcomes()?;
    let writer = ResultsWriter::create_with(target, layout, &records)
        .with_context(|| format!("cannot write {}", target.display()))?;
    writer
        .finish()
        .with_context(|| format!("cannot write {}", target.display()))?;
    Ok(())
}
