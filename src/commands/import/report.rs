//! What an import says: the plan before it starts, the `start` event of the
//! JSON log, the Summary sheet of an .xlsx results file, and the report at
//! the end (summary, summary JSON, the errors that ended the run).

use std::io::Write as _;
use std::time::SystemTime;

use anyhow::Context as _;
use url::Url;

use super::nightly;
use super::ImportPlan;
use crate::client::RequestCounters;
use crate::commands::validate::print_source;
use crate::commands::ExitStatus;
use crate::pipeline::summary::Summary;
use crate::pipeline::Report;
use crate::prepare::Prepared;
use crate::read::{ReadError, SourceInfo};
use crate::results::{RunOutcome, RunSummary};

/// The Summary sheet of an .xlsx results file, as far as it is known at the start.
pub(super) fn summary_sheet(
    plan: &ImportPlan,
    prepared: &Prepared,
    base_url: &Url,
    started: SystemTime,
) -> RunSummary {
    RunSummary {
        command: "import",
        started,
        finished: started,
        rows_done: 0,
        counts: Vec::new(),
        settings: summary_settings(plan, base_url, &prepared.info),
        mapping: RunSummary::mapping_rows(&prepared.mapping),
    }
}

/// The `start` event of the JSON log.
pub(super) fn log_start(plan: &ImportPlan) {
    crate::log::event(
        crate::log::Level::Info,
        "start",
        serde_json::json!({
            "input": match &plan.feed {
                Some(feed) => feed.source.shown(),
                None => plan.input.path.display().to_string(),
            },
            "results": plan.outputs.results.display().to_string(),
            "dry_run": plan.dry_run,
            "resume": plan.resume,
            "version": env!("CARGO_PKG_VERSION"),
        }),
    );
}

/// Prints what was read, how its columns map, how many rows have no key
/// (`keyless`, when counted), and where the rows go.
pub(super) fn print_plan(
    plan: &ImportPlan,
    prepared: &Prepared,
    base_url: &url::Url,
    keyless: Option<u64>,
) {
    // Output is best effort: a closed stdout (`| head`) must not stop an import.
    let mut out = std::io::stdout().lock();
    let _ = print_source(&mut out, &prepared.info);
    let _ = writeln!(out, "Columns:\n{}", prepared.mapping);
    if let Some(n) = keyless.filter(|&n| n > 0) {
        let _ = writeln!(
            out,
            "warning: {n} rows have neither a product number nor an EAN: nothing finds their products again, so a re-run creates them again (add numbers, or use --match-by name)"
        );
    }
    let _ = writeln!(
        out,
        "Sending to {} at {}, {} in flight",
        base_url, plan.pacing.rate, plan.pacing.concurrency
    );
}

/// Writes the summary (stdout, the JSON log, and JSON when asked) and
/// decides the exit status.
pub(super) fn report_run(
    plan: &ImportPlan,
    report: &Report,
    counters: &RequestCounters,
    read_error: Option<ReadError>,
    missing: Option<&nightly::MissingReport>,
) -> ExitStatus {
    let mut summary = Summary::new(report, counters, plan.dry_run);
    if read_error.is_some() {
        summary.outcome = RunOutcome::Stopped;
    }
    let mut status = ExitStatus::after(summary.outcome, &summary.tally);
    if status == ExitStatus::Success && missing.is_some_and(|m| m.failed() > 0) {
        status = ExitStatus::RowsFailed;
    }
    let mut json = serde_json::to_value(&summary).expect("summary serializes");
    if let (Some(m), serde_json::Value::Object(map)) = (missing, &mut json) {
        map.insert("missing".into(), m.to_json());
    }
    if let serde_json::Value::Object(map) = &mut json {
        map.insert("exit_code".into(), status.code().into());
        map.insert(
            "results".into(),
            plan.outputs.results.display().to_string().into(),
        );
    }
    let written = plan.outputs.summary_json.as_ref().map(|path| {
        let text = serde_json::to_string_pretty(&json).expect("summary serializes");
        crate::results::atomic::write(path, (text + "\n").as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{summary}\n  results:   {}",
        plan.outputs.results.display()
    );
    if let Some(m) = missing {
        let _ = write!(out, "{m}");
    }
    drop(out);
    let level = match status {
        ExitStatus::Success => crate::log::Level::Info,
        _ => crate::log::Level::Error,
    };
    crate::log::event(level, "summary", json);
    if let Some(Err(e)) = written {
        crate::log::fatal(&crate::log::error_text(&*e));
    }
    if let Some(e) = &summary.error {
        crate::log::fatal(&format!("the run stopped: {e}"));
    }
    if let Some(e) = read_error {
        crate::log::fatal(&format!(
            "{e}. The rows before it were imported; fix the file and run again with --resume."
        ));
    }
    status
}

/// The run's settings for the Summary sheet: what was chosen, never a secret
/// (`base_url` comes without user info).
pub(super) fn summary_settings(
    plan: &ImportPlan,
    base_url: &Url,
    info: &SourceInfo,
) -> Vec<(String, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut out = vec![("file".to_string(), info.path.display().to_string())];
    if let Some(feed) = &plan.feed {
        out.push(("feed".into(), feed.source.shown()));
    }
    out.push(("format".into(), info.format.to_string()));
    if let Some(sheet) = &info.sheet {
        out.push(("sheet".into(), sheet.clone()));
    }
    let p = &plan.pacing;
    out.extend([
        ("API".to_string(), base_url.to_string()),
        ("rate".into(), p.rate.to_string()),
        ("concurrency".into(), p.concurrency.to_string()),
        ("timeout".into(), format!("{} s", p.timeout.as_secs_f64())),
        ("max retries".into(), p.max_retries.to_string()),
        (
            "existing".into(),
            format!("{:?}", plan.existing).to_lowercase(),
        ),
        (
            "empty cells".into(),
            format!("{:?}", plan.empty_cells).to_lowercase(),
        ),
        ("create categories".into(), yes_no(plan.create_categories)),
        ("create suppliers".into(), yes_no(plan.create_suppliers)),
        ("dry run".into(), yes_no(plan.dry_run)),
        ("resume".into(), yes_no(plan.resume)),
    ]);
    if let Some((m, _)) = &plan.input.mapping {
        out.push(("mapping file".into(), m.display().to_string()));
    }
    out
}
