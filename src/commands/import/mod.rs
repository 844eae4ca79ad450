//! `import`: sends every valid row of a file to the products API, paced,
//! concurrent and retried, and records what happened to each row.
//!
//! Arguments are handled in two steps: [`crate::cli::ImportArgs`] mirrors the
//! flags; [`ImportPlan::new`] merges them with the `--config` file and the
//! environment into a plan with real types, checked before any I/O except
//! reading the config file. [`run`] then connects and checks the credentials
//! ([`crate::client::connect`], before any file is written, so a refused
//! credential changes nothing), takes the locks, checks where the job's
//! store lets the run start, opens the outputs, and hands the rows to the
//! [`crate::pipeline`].
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
//! - A job's whole state lives in one run store beside the results file
//!   (`<results>.job.sqlite`, [`crate::store`]): the input fingerprint,
//!   each row's send intent (committed before its first POST) and outcome,
//!   the products the job made, status changes, the last fully successful
//!   input. The results, rejects and missing files are renderings of it;
//!   `--resume` reads only the store ([`crate::pipeline::resume`]) and
//!   settles the rows sent without an outcome before sending them again.
//! - Nothing that exists is touched until every check that can refuse the
//!   run has passed (exit 2 leaves every file as it was); a fresh run over
//!   an unfinished one refuses unless `--afresh`; one writing run per
//!   organization at a time on a machine (`--wait-lock` waits for it).
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
use crate::cli::{EmptyCellsMode, ImportArgs};
use crate::client::auth::Credentials;
use crate::client::connect::{connect, Connection};
use crate::client::http::HttpApi;
use crate::client::pacing::Pacer;
use crate::client::{ProductApi as _, ProductQuery, RequestCounters};
use crate::feed::download::Validators;
use crate::feed::missing::{MissingOutcome, SharedApi, Survey};
use crate::feed::observe::{KeyCells, ObservedSink};
use crate::feed::state::InputSeen;
use crate::feed::JobState;
use crate::pipeline::context::{ReferenceColumns, RowSettings};
use crate::pipeline::emptied::EmptyCells;
use crate::pipeline::existing::ExistingMode;
use crate::pipeline::journal::Journal;
use crate::pipeline::journal::MaybeSent;
use crate::pipeline::known::{KnownProduct, KnownProducts};
use crate::pipeline::resume::StartMode;
use crate::pipeline::resume::{Fingerprint, ResumePoint};
use crate::pipeline::retry::retry_idempotent;
use crate::pipeline::retry::{RetryPolicy, SettlePolicy};
use crate::pipeline::{self, Input, PipelinePlan, Report, Wiring};
use crate::prepare::{prepare, PrepareCounters, Prepared, PreparedRows};
use crate::progress::Progress;
use crate::read::ReadError;
use crate::results::{OutputError, RecordSink, RejectsWriter};
use crate::results::{Outputs, ResultsLayout, ResultsWriter, RowRecord, RunSummary, Tally};
use crate::store::{JobLock, JobStore, StoreError, StoredSink, TargetLock};
use product_import_sandbox::SandboxHandle;

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
///
/// Every check that can refuse the run comes before any existing file is
/// touched: the plan, the input (a feed or standard input is staged beside
/// its kept copy and promoted only later), the guards, the credentials and
/// the survey, the rejects file's folder, the locks and the job's store.
pub async fn run_with_env(
    args: ImportArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ExitStatus> {
    let started = SystemTime::now();
    let (mut plan, mut state) = plan_job(&args, env)?;
    let mut checked = match check_run(&mut plan, &state).await? {
        Checks::Unchanged(status) => return Ok(status),
        Checks::Passed(checked) => *checked,
    };
    let session = &mut checked.session;
    // From here on the run writes.
    if let Some(staged) = checked.staged.take() {
        plan.input.path = staged.promote().map_err(nothing)?;
    }
    let (prepared, layout) = (&checked.prepared, &checked.layout);
    let (mut job, total) = begin_job(
        &plan,
        session,
        checked.job,
        prepared,
        layout,
        &checked.fingerprint,
    )
    .await?;
    let (stop_tx, stop) = watch::channel(false);
    let signals = tokio::spawn(watch_signals(stop_tx, plan.quiet));
    let pass = import_pass(
        &plan,
        session,
        ImportStart {
            prepared: checked.prepared,
            layout: checked.layout,
            rejects: checked.rejects,
            total,
            started,
            stop: stop.clone(),
        },
        &mut job,
        checked.survey.as_ref(),
        state.known(),
    )
    .await;
    let mut pass = match pass {
        Ok(pass) => pass,
        Err(e) => {
            signals.abort();
            job.end("not started", ExitStatus::NothingAttempted);
            session.close().await;
            return Err(nothing(e));
        }
    };
    let completed = matches!(pass.report.end, pipeline::RunEnd::Completed);
    if let Some(survey) = &checked.survey {
        let retired = retire_missing(&plan, session, survey, completed, &job, &stop).await;
        pass.retired.extend(retired);
    }
    signals.abort();
    session.close().await;
    let ending = Ending {
        survey: checked.survey,
        rows_read: checked.rows_read,
        seen: nightly::seen(&plan, &checked.fingerprint, checked.fetched.as_ref()),
        completed,
        interrupted: *stop.borrow(),
    };
    Ok(finish(&plan, session, &mut state, &job, pass, ending))
}

/// After the pass, deactivates the products the survey found missing from
/// the input (or says what it would do); the job's store holds the run.
async fn retire_missing(
    plan: &ImportPlan,
    session: &Session,
    survey: &Survey,
    completed: bool,
    job: &Job,
    stop: &watch::Receiver<bool>,
) -> Vec<MissingOutcome> {
    let hold = nightly::JobHold {
        store: job.store.as_ref(),
        stop,
    };
    let c = session;
    nightly::retire(plan, &c.api, &c.retry, &c.counters, survey, completed, hold).await
}

/// What the end of a run reports and keeps, beside its pass.
struct Ending {
    survey: Option<Survey>,
    rows_read: Arc<PrepareCounters>,
    /// The input, kept as the last success when the run was fully successful.
    seen: InputSeen,
    /// The pipeline read and processed every row.
    completed: bool,
    /// A stop signal came.
    interrupted: bool,
}

/// Ends a run that wrote: the missing file, the summary, the job's state
/// and the run's end in its store. Returns the exit status.
fn finish(
    plan: &ImportPlan,
    session: &Session,
    state: &mut JobState,
    job: &Job,
    mut pass: Pass,
    ending: Ending,
) -> ExitStatus {
    let missing = ending
        .survey
        .filter(|_| plan.missing.is_some())
        .map(|survey| nightly::MissingReport {
            scope: survey.scope,
            outcomes: pass.retired.clone(),
            file: plan.outputs.missing.clone(),
        });
    if let Some(missing) = &missing {
        missing.write();
    }
    let mut status = report_run(
        plan,
        &pass.report,
        &session.counters,
        pass.read_error.take(),
        missing.as_ref(),
    );
    if !plan.quiet {
        let (count, listed) = ending.rows_read.not_product_rows();
        let _ = crate::commands::validate::print_not_products(
            &mut std::io::stdout().lock(),
            count,
            &listed,
        );
    }
    if ending.interrupted && status != ExitStatus::NothingAttempted {
        status = ExitStatus::Interrupted;
    }
    let fully = status == ExitStatus::Success
        || (ending.completed
            && pass.report.tally.failed == 0
            && status == ExitStatus::RowsFailed
            && missing.as_ref().is_none_or(|m| m.failed() == 0));
    save_state(job, state, &pass, fully.then_some(ending.seen));
    job.end(self::ending(&pass.report.end, status), status);
    status
}

/// How the checks before writing ended.
enum Checks {
    /// With `--if-changed`, the input is the last successful run's: the
    /// run ends with this status.
    Unchanged(ExitStatus),
    /// Every check passed: the run may write.
    Passed(Box<Checked>),
}

/// What the checks before writing leave for the run.
struct Checked {
    /// The feed's validators, when the input is a feed.
    fetched: Option<Validators>,
    /// A feed or standard input, staged beside its kept copy.
    staged: Option<nightly::Staged>,
    prepared: Prepared,
    rows_read: Arc<PrepareCounters>,
    fingerprint: Fingerprint,
    session: Session,
    survey: Option<Survey>,
    layout: ResultsLayout,
    rejects: Option<RejectsWriter>,
    job: Job,
}

/// Every check that can refuse the run, in order, before any existing
/// file is touched: the input, the credentials and the survey, the
/// products API, the rejects file's folder, the locks and the job's store.
/// Errors mean nothing was attempted (and the session is closed).
async fn check_run(plan: &mut ImportPlan, state: &JobState) -> anyhow::Result<Checks> {
    let (fetched, staged) = nightly::obtain_input(plan, state).await.map_err(nothing)?;
    let prepared = prepare(&plan.input).map_err(nothing)?;
    let rows_read = prepared.rows.counters();
    let fingerprint = fingerprint(plan, &prepared).map_err(nothing)?;
    if let Some(seen) = unchanged_since(plan, state, &fingerprint) {
        return Ok(Checks::Unchanged(nightly::unchanged(plan, seen)));
    }
    let census = nightly::census(plan, state).await.map_err(nothing)?;
    let mut session = Session::open(plan).await?;
    let survey = nightly::survey(
        plan,
        &session.api,
        &session.retry,
        &session.counters,
        state,
        census.as_ref(),
    )
    .await;
    let survey = session.or_close(survey).await?;
    // The products API answers (a server that fails every request is
    // refused here, before any of the job's files is touched).
    let answers = retry_idempotent(&session.retry, &session.counters, || {
        session.api.list_products(&ProductQuery::All, None)
    })
    .await
    .context("the products API does not answer");
    session.or_close(answers).await?;
    let layout = ResultsLayout {
        headers: prepared.output_headers.clone(),
        delimiter: prepared.info.delimiter.unwrap_or(b','),
    };
    let rejects = plan
        .outputs
        .rejects
        .as_deref()
        .map(|path| RejectsWriter::create(path, &layout).map_err(OutputError::at(path)))
        .transpose();
    let rejects = session.or_close(rejects).await?;
    let job = Job::open(plan, &session.base_url, &fingerprint);
    let job = session.or_close(job).await?;
    Ok(Checks::Passed(Box::new(Checked {
        fetched,
        staged,
        prepared,
        rows_read,
        fingerprint,
        session,
        survey,
        layout,
        rejects,
        job,
    })))
}

/// Opens the job's store for writing and records the run's start, with the
/// number of rows when it can be counted (returned too); prints the plan.
async fn begin_job(
    plan: &ImportPlan,
    session: &mut Session,
    job: Job,
    prepared: &Prepared,
    layout: &ResultsLayout,
    fingerprint: &Fingerprint,
) -> anyhow::Result<(Job, Option<u64>)> {
    let counted = crate::prepare::count_rows(&plan.input, &prepared.mapping);
    let total = counted.map(|c| c.products);
    let job = job.begin(layout, fingerprint, total);
    let job = session.or_close(job).await?;
    if !plan.quiet {
        print_plan(
            plan,
            prepared,
            &session.base_url,
            counted.map(|c| c.keyless),
        );
    }
    Ok((job, total))
}

/// How a run ended, in the store's word.
fn ending(end: &pipeline::RunEnd, status: ExitStatus) -> &'static str {
    match (end, status) {
        (_, ExitStatus::Interrupted) => "interrupted",
        (pipeline::RunEnd::Completed, ExitStatus::Success) => "completed",
        (pipeline::RunEnd::Completed, _) => "completed with problems",
        _ => "stopped",
    }
}

/// The checked plan and the job's state, with the log format set as early
/// as it is known (the flag before the config file is read, so an error in
/// the config file is already logged in the chosen format). The state is
/// read from the job's store without writing to it.
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
    let state = match read_store(&plan.outputs.store).map_err(nothing)? {
        Some(store) => store.job_state().map_err(nothing)?,
        None => earlier_state_file(&plan.outputs.store),
    };
    log_start(&plan);
    Ok((plan, state))
}

/// The job state an earlier version kept in `RESULTS.state.json`, for a job
/// that has no store yet: its products (and which it deactivated) and last
/// success move into the store at the end of this run. The file is left as
/// it is; an unreadable one is an empty state.
fn earlier_state_file(store: &std::path::Path) -> JobState {
    let name = store.to_string_lossy();
    let Some(results) = name.strip_suffix(".job.sqlite") else {
        return JobState::default();
    };
    std::fs::read(format!("{results}.state.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The job's store opened read-only, when there is one with content.
fn read_store(path: &std::path::Path) -> Result<Option<JobStore>, StoreError> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(None);
    }
    JobStore::open_read(path)
}

/// A writing run's hold on its job: the locks, the store, and where the run
/// starts. A dry run has none of them.
struct Job {
    mode: StartMode,
    path: std::path::PathBuf,
    point: ResumePoint,
    store: Option<JobStore>,
    _lock: Option<JobLock>,
    _target: Option<TargetLock>,
}

impl Job {
    /// Takes the organization's lock and the job's, and checks that the run
    /// may start over the job's store: reads only, so refusing here leaves
    /// every file as it was.
    fn open(plan: &ImportPlan, base_url: &Url, fingerprint: &Fingerprint) -> anyhow::Result<Job> {
        let mode = if plan.dry_run {
            StartMode::Dry
        } else if plan.resume {
            StartMode::Resume
        } else if plan.afresh {
            StartMode::Afresh
        } else {
            StartMode::Fresh
        };
        let path = &plan.outputs.store;
        let results = &plan.outputs.results;
        if mode == StartMode::Dry {
            return Ok(Job {
                mode,
                path: path.clone(),
                point: ResumePoint::default(),
                store: None,
                _lock: None,
                _target: None,
            });
        }
        if mode == StartMode::Resume && read_store(path)?.is_none() {
            ResumePoint::check(None, results, mode, fingerprint)?;
        }
        let target = match &plan.connection {
            Connection::Sandbox => None,
            Connection::Remote { .. } => Some(TargetLock::acquire(
                &import_target(plan, base_url),
                &format!("results {}", results.display()),
                plan.wait_lock,
            )?),
        };
        let lock = JobLock::acquire(path, || holder_of(path))?;
        let earlier = read_store(path)?;
        let point = ResumePoint::check(earlier.as_ref(), results, mode, fingerprint)?;
        drop(earlier);
        Ok(Job {
            mode,
            path: path.clone(),
            point,
            store: None,
            _lock: Some(lock),
            _target: target,
        })
    }

    /// Opens the store for writing and records the run's start (which
    /// also forgets the last successful input until this run ends fully
    /// successful).
    fn begin(
        mut self,
        layout: &ResultsLayout,
        fingerprint: &Fingerprint,
        total: Option<u64>,
    ) -> anyhow::Result<Job> {
        if self.mode == StartMode::Dry {
            return Ok(self);
        }
        let store = JobStore::open(&self.path)?;
        store.begin_run(self.mode.word(), fingerprint, layout, total)?;
        self.store = Some(store);
        Ok(self)
    }

    /// Records how the run ended; a failure is a warning.
    fn end(&self, ending: &str, status: ExitStatus) {
        if let Some(store) = &self.store {
            if let Err(e) = store.end_run(ending, status.code()) {
                crate::log::warn(&format!("cannot record the run's end: {e}"));
            }
        }
    }
}

/// Who holds a job's lock, as its store says.
fn holder_of(path: &std::path::Path) -> String {
    read_store(path)
        .ok()
        .flatten()
        .and_then(|s| s.unfinished().ok().flatten())
        .map_or_else(
            || "a run that has not started writing yet".to_string(),
            |r| format!("process {} since {}", r.pid, r.started),
        )
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
            retry: RetryPolicy::for_api(plan.pacing.max_retries),
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

/// What the import pass starts from: the rows, the results layout, the
/// rejects file already opened, the number of rows (when known), when the
/// run started, and the stop signal.
struct ImportStart {
    prepared: Prepared,
    layout: ResultsLayout,
    rejects: Option<RejectsWriter>,
    total: Option<u64>,
    started: SystemTime,
    stop: watch::Receiver<bool>,
}

/// Renders the kept outcomes into the results file, reactivates returning
/// products, and sends the rows through the pipeline.
async fn import_pass(
    plan: &ImportPlan,
    session: &mut Session,
    start: ImportStart,
    job: &mut Job,
    survey: Option<&Survey>,
    known: KnownProducts,
) -> anyhow::Result<Pass> {
    let ImportStart {
        prepared,
        layout,
        rejects,
        total,
        started,
        stop,
    } = start;
    let point = std::mem::take(&mut job.point);
    let results = ResultsWriter::create_with(&plan.outputs.results, layout.clone(), &point.kept)
        .map_err(OutputError::at(&plan.outputs.results))?;
    let sheet = summary_sheet(plan, &prepared, &session.base_url, started);
    let outputs = open_outputs(
        plan,
        results,
        rejects,
        sheet,
        &point.kept,
        &session.counters,
    );
    let keys = KeyCells::of(&prepared.mapping);
    let outputs: Box<dyn RecordSink> = match &job.store {
        Some(store) => Box::new(StoredSink::new(store.clone(), keys, Box::new(outputs))),
        None => Box::new(outputs),
    };
    let (outputs, created) = ObservedSink::new(outputs, keys);
    for record in &point.kept {
        ObservedSink::note(&created, keys, record);
    }
    let retired = reactivate_returned(plan, session, survey, job.store.as_ref()).await;
    let known = if plan.existing == ExistingMode::Create {
        KnownProducts::default()
    } else {
        known
    };
    let journal = job.store.clone().map(Journal::new);
    let pipeline_plan = pipeline_plan(plan, &session.retry, &prepared, journal, known);
    let (input, read_error) = pipeline_input(prepared.rows, total, point.kept, point.maybe_sent);
    let wiring = Wiring {
        outputs: Box::new(outputs),
        progress: Progress::new(input.total, plan.quiet),
        pacer: Some(session.pacer.clone()),
        counters: session.counters.clone(),
        stop,
    };
    let report = pipeline::run(session.api.clone(), pipeline_plan, input, wiring).await?;
    let read_error = read_error.lock().expect("read error slot").take();
    let created = std::mem::take(&mut *created.lock().expect("created list"));
    Ok(Pass {
        report,
        read_error,
        created,
        retired,
    })
}

/// Where an import writes, as the organization's lock names it: the API in
/// one spelling, and the organization when the credentials say it (a token
/// alone locks the whole API).
fn import_target(plan: &ImportPlan, base_url: &Url) -> String {
    let organization = match &plan.connection {
        Connection::Remote { credentials, .. } => match credentials.as_ref() {
            Credentials::Client {
                organization_id, ..
            } => Some(organization_id.as_str()),
            Credentials::Token(_) => None,
        },
        Connection::Sandbox => None,
    };
    crate::store::canonical_target(base_url, organization)
}

/// The run's outputs: the results file (already holding the kept rows), the
/// rejects file, and the Summary sheet completed with the request counts.
fn open_outputs(
    plan: &ImportPlan,
    results: ResultsWriter,
    rejects: Option<RejectsWriter>,
    sheet: RunSummary,
    kept: &[RowRecord],
    counters: &Arc<RequestCounters>,
) -> Outputs {
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
    let outputs = Outputs::new(results);
    let outputs = match (rejects, plan.outputs.rejects.as_deref()) {
        (Some(writer), Some(path)) => outputs.with_rejects_writer(path, writer),
        _ => outputs,
    };
    outputs.with_summary_sheet(sheet, tally, extra)
}

/// Products this job deactivated that are in the file again: set active
/// with `--existing update`, otherwise left inactive with a warning.
async fn reactivate_returned(
    plan: &ImportPlan,
    session: &Session,
    survey: Option<&Survey>,
    store: Option<&JobStore>,
) -> Vec<MissingOutcome> {
    let Some(survey) = survey.filter(|s| !s.returned.is_empty()) else {
        return Vec::new();
    };
    if plan.existing == ExistingMode::Update {
        let s = session;
        return nightly::reactivate(plan, &s.api, &s.retry, &s.counters, survey, store).await;
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
    rows: PreparedRows,
    total: Option<u64>,
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
        total,
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
    journal: Option<Journal>,
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
            match_by_name: plan.match_by_name,
        },
        create_categories: plan.create_categories,
        create_suppliers: plan.create_suppliers,
        concurrency: plan.pacing.concurrency.get(),
        grace: STOP_GRACE,
        journal: journal.filter(|_| !plan.dry_run),
        known,
    }
}

/// Records in the job's store what this run created and retired, and the
/// input of a fully successful run (`seen`; otherwise the last success is
/// forgotten, so `--if-changed` never skips a night after one that changed
/// the catalogue part way). A dry run has no store and records nothing.
fn save_state(job: &Job, state: &mut JobState, pass: &Pass, seen: Option<InputSeen>) {
    let Some(store) = &job.store else {
        return;
    };
    crate::feed::missing::note_in_state(state, &pass.retired);
    for product in &pass.created {
        state.created(product);
    }
    state.last_success = seen;
    if let Err(e) = store.save_state(state) {
        crate::log::warn(&format!("cannot record the job's state: {e}"));
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
