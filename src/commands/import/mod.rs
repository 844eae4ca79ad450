//! `import`: sends every valid row of a file to the products API, paced,
//! concurrent and retried, and records what happened to each row.
//!
//! Arguments are handled in two steps: [`crate::cli::ImportArgs`] mirrors the
//! flags; [`ImportPlan::new`] merges them with the `--config` file and the
//! environment into a plan with real types, checked before any I/O except
//! reading the config file. [`run`] then connects and checks the credentials
//! ([`crate::client::connect`], before any file is written, so a refused
//! credential changes nothing), opens the resume point and the outputs, and
//! hands the rows to the [`crate::pipeline`].
//!
//! Choices where the issue left room:
//! - Defaults: `--rate 10` (the vendor publishes no limit; 10/s is
//!   conservative and the pace adapts down when refusals cluster anyway;
//!   `--rate auto` finds the limit, see [`crate::client::pacing`]),
//!   `--concurrency 8`, `--timeout 30`, `--max-retries 5`. 429s (and 503s
//!   with `Retry-After`) have their own retry budget
//!   (`max(20, 4 × max-retries)`): a server near its limit refuses often.
//! - Existing products are prefetched (paged `GET /products`) while that
//!   costs fewer requests than half the rows to import; otherwise each row is
//!   looked up by number (else EAN).
//! - `--dry-run` records what would happen: `valid` with "dry run: would
//!   create" (or "would update salesPrice, … of product N") in the `error`
//!   column; `skipped` and `failed` as a real run would record them, since
//!   they send nothing.
//! - The summary goes to stdout (also with `--quiet`); progress, warnings and
//!   errors go to stderr.
//! - Before a row's first POST its row number is appended to a journal
//!   beside the results file (`<results>.sending`), removed when a run
//!   completes. `--resume` settles those rows before sending them again
//!   ([`crate::pipeline::resume`]).
//! - A POST with an unknown outcome settles for `--settle` seconds (default
//!   `max(--timeout, 5)`, so 30 s by default): the row is looked up at a
//!   third, two thirds and the end of it before it is ever sent again, and
//!   gives its concurrency slot to other rows meanwhile
//!   ([`crate::pipeline::settle`]).

mod nightly;
mod plan;
mod report;

use report::{log_start, print_plan, report_run, summary_sheet};

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tokio::sync::watch;
use url::Url;

pub use self::plan::{
    checked_url, connection, pacing, ImportPlan, Outputs as OutputPaths, Pacing, PlanError,
    DEFAULT_BASE_URL, DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_RATE, DEFAULT_TIMEOUT_SECS,
    DEFAULT_TOKEN_URL,
};
use super::{ExitStatus, NothingAttempted};
use crate::cli::{EmptyCellsMode, ImportArgs, InputPlan};
use crate::client::auth::Credentials;
use crate::client::connect::{connect, Connection};
use crate::client::http::HttpApi;
use crate::client::pacing::Pacer;
use crate::client::RequestCounters;
use crate::feed::missing::{MissingOutcome, SharedApi, Survey};
use crate::feed::observe::{KeyCells, ObservedSink};
use crate::feed::state::InputSeen;
use crate::feed::JobState;
use crate::pipeline::emptied::EmptyCells;
use crate::pipeline::existing::ExistingMode;
use crate::pipeline::journal::MaybeSent;
use crate::pipeline::known::{KnownProduct, KnownProducts};
use crate::pipeline::resume::{Fingerprint, ResumePoint, RunLock};
use crate::pipeline::retry::{RetryPolicy, SettlePolicy};
use crate::pipeline::row::{ReferenceColumns, RowSettings};
use crate::pipeline::{self, Input, PipelinePlan, Report, Wiring};
use crate::prepare::{prepare, Prepared, PreparedRows};
use crate::progress::Progress;
use crate::read::{self, ReadError};
use crate::results::{Outputs, ResultsLayout, ResultsWriter, RowRecord, RunSummary, Tally};
use crate::sandbox::SandboxHandle;

/// How long rows in flight may take to finish after Ctrl-C or SIGTERM.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);

/// Runs `import` with the process environment, on a runtime of its own.
pub fn run_blocking(args: ImportArgs) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let status = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_secs(1));
    status
}

/// Runs `import` with the process environment.
pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<ExitStatus> {
    run_with_env(args, &|k| std::env::var(k).ok()).await
}

fn nothing(e: impl Into<anyhow::Error>) -> anyhow::Error {
    NothingAttempted(e.into()).into()
}

/// Runs `import`, reading credentials through `env`. Errors mean nothing was
/// attempted (exit 2); the summary goes to stdout, progress to stderr.
pub async fn run_with_env(
    args: ImportArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ExitStatus> {
    let started = SystemTime::now();
    let (mut plan, mut state) = plan_job(&args, env)?;
    let fetched = nightly::obtain_input(&mut plan, &state)
        .await
        .map_err(nothing)?;
    let prepared = prepare(&plan.input).map_err(nothing)?;
    let fingerprint = fingerprint(&plan, &prepared).map_err(nothing)?;
    if let Some(seen) = unchanged_since(&plan, &state, &fingerprint) {
        return Ok(nightly::unchanged(&plan, seen));
    }
    let census = nightly::census(&plan, &state).await.map_err(nothing)?;
    let mut session = Session::open(&plan).await?;
    let survey = nightly::survey(
        &plan,
        &session.api,
        &session.retry,
        &session.counters,
        &state,
        census.as_ref(),
    )
    .await;
    let survey = session.or_close(survey).await?;
    if !plan.quiet {
        print_plan(&plan, &prepared, &session.base_url);
    }
    let pass = import_pass(
        &plan,
        &mut session,
        prepared,
        &fingerprint,
        started,
        survey.as_ref(),
        state.known(),
    )
    .await;
    let mut pass = session.or_close(pass).await?;
    let completed = matches!(pass.report.end, pipeline::RunEnd::Completed);
    if let Some(survey) = &survey {
        let c = &session;
        let retired =
            nightly::retire(&plan, &c.api, &c.retry, &c.counters, survey, completed).await;
        pass.retired.extend(retired);
    }
    session.close().await;
    let missing = survey
        .filter(|_| plan.missing.is_some())
        .map(|survey| nightly::MissingReport {
            scope: survey.scope,
            outcomes: pass.retired.clone(),
            file: plan.outputs.missing.clone(),
        });
    if let Some(missing) = &missing {
        missing.write();
    }
    let status = report_run(
        &plan,
        &pass.report,
        &session.counters,
        pass.read_error.take(),
        missing.as_ref(),
    );
    let seen = nightly::seen(&plan, &fingerprint, fetched.as_ref());
    save_state(&plan, &mut state, &pass, status, seen);
    Ok(status)
}

/// The checked plan and the job's state, with the log format set as early
/// as it is known (the flag before the config file is read, so an error in
/// the config file is already logged in the chosen format).
fn plan_job(
    args: &ImportArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(ImportPlan, JobState)> {
    if let Some(format) = args.outputs.log_format {
        crate::log::set_format(format);
    }
    let plan = ImportPlan::new(args, env).map_err(nothing)?;
    crate::log::set_format(plan.log_format);
    plan.check_paths(args.config.as_deref()).map_err(nothing)?;
    let state = JobState::load(&plan.outputs.state).map_err(nothing)?;
    log_start(&plan);
    Ok((plan, state))
}

/// With `--if-changed`: the last successful run, when it read this same input.
fn unchanged_since<'s>(
    plan: &ImportPlan,
    state: &'s JobState,
    fingerprint: &Fingerprint,
) -> Option<&'s InputSeen> {
    if !plan.if_changed || plan.resume {
        return None;
    }
    state
        .last_success
        .as_ref()
        .filter(|seen| seen.fingerprint.as_ref() == Some(fingerprint))
}

/// The connection a run works through: the client, its pacer, counters and
/// retry policy, and the in-process sandbox behind it when there is one.
struct Session {
    api: SharedApi<HttpApi>,
    base_url: Url,
    sandbox: Option<SandboxHandle>,
    pacer: Arc<Pacer>,
    counters: Arc<RequestCounters>,
    retry: RetryPolicy,
}

impl Session {
    /// Connects and checks the credentials.
    async fn open(plan: &ImportPlan) -> anyhow::Result<Session> {
        let pacer = Arc::new(plan.pacing.rate.pacer());
        let counters = Arc::new(RequestCounters::default());
        let connected = connect(
            &plan.connection,
            plan.pacing.timeout,
            pacer.clone(),
            counters.clone(),
        )
        .await
        .map_err(nothing)?;
        Ok(Session {
            api: SharedApi(Arc::new(connected.api)),
            base_url: connected.base_url,
            sandbox: connected.sandbox,
            pacer,
            counters,
            retry: RetryPolicy::new(plan.pacing.max_retries),
        })
    }

    /// Stops the sandbox, if one runs.
    async fn close(&mut self) {
        if let Some(handle) = self.sandbox.take() {
            handle.shutdown().await;
        }
    }

    /// `result`'s value; on an error the session is closed first and the
    /// error means nothing was attempted.
    async fn or_close<T, E: Into<anyhow::Error>>(
        &mut self,
        result: Result<T, E>,
    ) -> anyhow::Result<T> {
        match result {
            Ok(value) => Ok(value),
            Err(e) => {
                self.close().await;
                Err(nothing(e))
            }
        }
    }
}

/// What the import pass did.
struct Pass {
    report: Report,
    read_error: Option<ReadError>,
    /// Products this run created, for the job state.
    created: Vec<KnownProduct>,
    /// Products reactivated before the pass (and later deactivated).
    retired: Vec<MissingOutcome>,
}

/// Opens the resume point and the outputs, reactivates returning products,
/// and sends the rows through the pipeline.
async fn import_pass(
    plan: &ImportPlan,
    session: &mut Session,
    prepared: Prepared,
    fingerprint: &Fingerprint,
    started: SystemTime,
    survey: Option<&Survey>,
    known: KnownProducts,
) -> anyhow::Result<Pass> {
    let layout = ResultsLayout {
        headers: prepared.output_headers.clone(),
        delimiter: prepared.info.delimiter.unwrap_or(b','),
    };
    // Before any output is touched: one run of this file into this
    // organization at a time, whatever its results file.
    let _input_lock = (!plan.dry_run)
        .then(|| {
            let target = import_target(plan, &session.base_url);
            RunLock::acquire_input(&target, &fingerprint.input_sha256, &plan.outputs.results)
        })
        .transpose()?;
    let start = if plan.resume {
        ResumePoint::resume(&plan.outputs.results, layout.clone(), fingerprint)
    } else {
        let fingerprint = (!plan.dry_run).then_some(fingerprint);
        ResumePoint::fresh(&plan.outputs.results, layout.clone(), fingerprint)
    }?;
    let _lock = start.lock;
    let sheet = summary_sheet(plan, &prepared, &session.base_url, started);
    let outputs = open_outputs(
        plan,
        &layout,
        start.results,
        sheet,
        &start.kept,
        &session.counters,
    )?;
    let keys = KeyCells::of(&prepared.mapping);
    let (outputs, created) = ObservedSink::new(Box::new(outputs), keys);
    for record in &start.kept {
        ObservedSink::note(&created, keys, record);
    }
    let retired = reactivate_returned(plan, session, survey).await;
    let known = if plan.existing == ExistingMode::Create {
        KnownProducts::default()
    } else {
        known
    };
    let pipeline_plan = pipeline_plan(plan, &session.retry, &prepared, start.journal, known);
    let (input, read_error) = pipeline_input(plan, prepared.rows, start.kept, start.maybe_sent);
    let (stop_tx, stop) = watch::channel(false);
    let signals = tokio::spawn(watch_signals(stop_tx, plan.quiet));
    let wiring = Wiring {
        outputs: Box::new(outputs),
        progress: Progress::new(input.total, plan.quiet),
        pacer: Some(session.pacer.clone()),
        counters: session.counters.clone(),
        stop,
    };
    let outcome = pipeline::run(session.api.clone(), pipeline_plan, input, wiring).await;
    signals.abort();
    let report = outcome?;
    let read_error = read_error.lock().expect("read error slot").take();
    let created = std::mem::take(&mut *created.lock().expect("created list"));
    Ok(Pass {
        report,
        read_error,
        created,
        retired,
    })
}

/// Where an import goes, as the input lock names it: the API, and the
/// organization when the credentials say it.
fn import_target(plan: &ImportPlan, base_url: &Url) -> String {
    match &plan.connection {
        Connection::Remote { credentials, .. } => match credentials.as_ref() {
            Credentials::Client {
                organization_id, ..
            } => format!("organization {organization_id} at {base_url}"),
            Credentials::Token(_) => base_url.to_string(),
        },
        Connection::Sandbox => base_url.to_string(),
    }
}

/// The run's outputs: the results file (already holding the kept rows), the
/// rejects file, and the Summary sheet completed with the request counts.
fn open_outputs(
    plan: &ImportPlan,
    layout: &ResultsLayout,
    results: ResultsWriter,
    sheet: RunSummary,
    kept: &[RowRecord],
    counters: &Arc<RequestCounters>,
) -> anyhow::Result<Outputs> {
    let mut tally = Tally::default();
    kept.iter().for_each(|r| tally.add(r.status));
    let c = counters.clone();
    let extra = Box::new(move || {
        vec![
            ("requests".into(), RequestCounters::get(&c.requests)),
            ("retries".into(), RequestCounters::get(&c.retries)),
            ("rate limited".into(), RequestCounters::get(&c.rate_limited)),
        ]
    });
    Ok(Outputs::new(results)
        .with_rejects(plan.outputs.rejects.as_deref(), layout)?
        .with_summary_sheet(sheet, tally, extra))
}

/// Products this job deactivated that are in the file again: set active
/// with `--existing update`, otherwise left inactive with a warning.
async fn reactivate_returned(
    plan: &ImportPlan,
    session: &Session,
    survey: Option<&Survey>,
) -> Vec<MissingOutcome> {
    let Some(survey) = survey.filter(|s| !s.returned.is_empty()) else {
        return Vec::new();
    };
    if plan.existing == ExistingMode::Update {
        let s = session;
        return nightly::reactivate(plan, &s.api, &s.retry, &s.counters, survey).await;
    }
    crate::log::warn(&format!(
        "{} products this job deactivated are in the file again and stay inactive; \
         run with --existing update to set them active",
        survey.returned.len()
    ));
    Vec::new()
}

/// The rows for the pipeline, and the slot where a read error part way
/// through the file is kept (the rows before it go on).
fn pipeline_input(
    plan: &ImportPlan,
    rows: PreparedRows,
    kept: Vec<RowRecord>,
    maybe_sent: MaybeSent,
) -> (Input, Arc<Mutex<Option<ReadError>>>) {
    let read_error: Arc<Mutex<Option<ReadError>>> = Arc::default();
    let slot = read_error.clone();
    let rows = rows.map_while(move |item| match item {
        Ok(row) => Some(row),
        Err(e) => {
            *slot.lock().expect("read error slot") = Some(e);
            None
        }
    });
    let input = Input {
        rows: Box::new(rows),
        total: count_rows(&plan.input),
        kept,
        maybe_sent,
    };
    (input, read_error)
}

/// How the pipeline carries the rows out.
fn pipeline_plan(
    plan: &ImportPlan,
    retry: &RetryPolicy,
    prepared: &Prepared,
    journal: std::path::PathBuf,
    known: KnownProducts,
) -> PipelinePlan {
    PipelinePlan {
        row: RowSettings {
            existing: plan.existing,
            dry_run: plan.dry_run,
            retry: *retry,
            settle: SettlePolicy {
                time: plan.pacing.settle,
                lookups: SettlePolicy::DEFAULT_LOOKUPS,
            },
            sheet: prepared.info.sheet.clone(),
            reference_columns: ReferenceColumns::of(&prepared.mapping),
            empty_cells: match plan.empty_cells {
                EmptyCellsMode::Clear => EmptyCells::of(&prepared.mapping),
                EmptyCellsMode::Keep => EmptyCells::default(),
            },
        },
        create_categories: plan.create_categories,
        concurrency: plan.pacing.concurrency.get(),
        grace: STOP_GRACE,
        journal: (!plan.dry_run).then_some(journal),
        known,
    }
}

/// Records in the job state what this run created and retired, and the
/// input of a successful run (a dry run keeps the state as it was).
fn save_state(
    plan: &ImportPlan,
    state: &mut JobState,
    pass: &Pass,
    status: ExitStatus,
    seen: InputSeen,
) {
    if plan.dry_run {
        return;
    }
    crate::feed::missing::note_in_state(state, &pass.retired);
    for product in &pass.created {
        state.created(product);
    }
    let completed = matches!(pass.report.end, pipeline::RunEnd::Completed);
    if status == ExitStatus::Success
        || (completed && pass.report.tally.failed == 0 && status == ExitStatus::RowsFailed)
    {
        state.last_success = Some(seen);
    }
    if let Err(e) = state.save(&plan.outputs.state) {
        crate::log::warn(&format!(
            "cannot write the job state {}: {e}",
            plan.outputs.state.display()
        ));
    }
}

/// The fingerprint of the input as this run reads it.
fn fingerprint(plan: &ImportPlan, prepared: &Prepared) -> anyhow::Result<Fingerprint> {
    let info = &prepared.info;
    let reading = vec![
        format!(
            "delimiter {}",
            info.delimiter
                .map_or("-".into(), |d| (d as char).to_string())
        ),
        format!("encoding {}", info.encoding.as_deref().unwrap_or("-")),
        format!("header row {}", plan.input.read.header_row.unwrap_or(1)),
        format!("decimal {:?}", plan.input.validate.decimal),
    ];
    let mapping = plan.input.mapping.as_ref().map(|(p, _)| p.as_path());
    Fingerprint::of(&plan.input.path, info.sheet.clone(), mapping, reading)
        .with_context(|| format!("cannot read {}", plan.input.path.display()))
}

/// Counts the data rows (non-empty) of the input for the progress display;
/// `None` when the file cannot be read a second time.
fn count_rows(plan: &InputPlan) -> Option<u64> {
    if read::is_stdin(&plan.path) {
        return None;
    }
    let table = read::open(&plan.path, &plan.read).ok()?;
    let mut n = 0;
    for row in table.rows {
        match row {
            Ok(r) if !r.is_empty() => n += 1,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    Some(n)
}

/// Turns `stop` true on Ctrl-C or SIGTERM.
async fn watch_signals(stop: watch::Sender<bool>, quiet: bool) {
    crate::interrupt::interrupted().await;
    if !quiet {
        crate::log::note(
            "stopping",
            &format!(
                "Stopping: no new rows are sent; waiting up to {} s for rows in flight \
                 (press Ctrl-C again to stop at once)...",
                STOP_GRACE.as_secs()
            ),
            serde_json::json!({}),
        );
    }
    let _ = stop.send(true);
    // A second signal stops at once. Every finished row is already in the
    // results file, and rows in flight are in the sending journal.
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("Stopped.");
    std::process::exit(i32::from(ExitStatus::Interrupted.code()));
}
