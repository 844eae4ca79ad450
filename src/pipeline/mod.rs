//! The submission pipeline: validated rows in, one recorded outcome per row out.
//!
//! ```text
//! reader thread ──(bounded channel)──▶ N workers ──(bounded channel)──▶ recorder
//!   PreparedRow                         row::process                      results file,
//!                                       (paced, retried)                  progress, tally
//! ```
//!
//! The reader runs on a blocking thread and can never be more than a small
//! window ahead of the workers; a row starts only with one of `concurrency`
//! slots; the [`Pacer`] spaces every request. A row settling an unknown
//! outcome ([`settle`]), or waiting before a retry (a `Retry-After`, a
//! backoff), gives its slot back while it waits, so that waiting rows
//! do not slow the others (a new row may start meanwhile); at most
//! [`SETTLING_ROWS`] rows more than `concurrency` are in flight. A stop signal (Ctrl-C, SIGTERM) stops the
//! reading; rows in flight get a bounded time to finish (a row still settling
//! then is in the sending journal, and `--resume` settles it again).

pub mod catalogue;
pub mod changes;
pub mod context;
mod create;
pub mod emptied;
pub mod existing;
pub mod found;
pub mod journal;
pub mod known;
mod ledger;
mod outcome;
pub mod recorder;
mod references;
mod resolve;
pub mod resume;
pub mod retry;
pub mod row;
pub mod settle;
pub mod summary;
mod update;

use known::KnownProducts;

use std::collections::HashSet;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::client::pacing::Pacer;
use crate::client::{ApiError, ProductApi, RequestCounters};
use crate::progress::Progress;
use crate::results::{OutputError, RecordSink, RowRecord, Tally};
use crate::validate::PreparedRow;
use catalogue::Catalogue;
use context::{Context, RowSettings, Slot};
use existing::{ExistingIndex, ExistingMode};
use journal::{Journal, MaybeSent};
use references::References;
use row::{EarlierSend, RowJob};

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct PipelinePlan {
    /// Per-row settings.
    pub row: RowSettings,
    /// `--create-categories`.
    pub create_categories: bool,
    /// `--create-suppliers`.
    pub create_suppliers: bool,
    /// Rows in flight at most.
    pub concurrency: usize,
    /// How long rows in flight may take to finish after a stop signal.
    pub grace: Duration,
    /// The sending journal, in the job's store (none: no journal, e.g. a dry run).
    pub journal: Option<Journal>,
    /// The products this job created in earlier runs, asked for by id when
    /// a lookup does not find a row's key (see [`known`]).
    pub known: KnownProducts,
}

/// The rows to import.
pub struct Input {
    /// Validated rows in file order.
    pub rows: Box<dyn Iterator<Item = PreparedRow> + Send>,
    /// Number of data rows, when known (for progress and the prefetch decision).
    pub total: Option<u64>,
    /// Outcomes kept from an earlier run (`--resume`); these rows are not
    /// processed again, only counted: the sinks already hold them.
    pub kept: Vec<RowRecord>,
    /// Rows an earlier run may have sent without recording an outcome.
    pub maybe_sent: MaybeSent,
}

/// Rows in flight beyond `concurrency` at most: rows settling an unknown
/// outcome, which hold no concurrency slot while they wait.
pub const SETTLING_ROWS: usize = 256;

/// Why a run ended.
#[derive(Debug, Clone)]
pub enum RunEnd {
    /// Every row was processed.
    Completed,
    /// A stop signal arrived.
    Interrupted,
    /// The run could not go on (credentials refused mid-run).
    Fatal(ApiError),
    /// Reading the input broke off unexpectedly; the rows after it were not read.
    InputFailed(String),
    /// An output file could not be written part way: no new row was sent
    /// after it, and the rows in flight finished.
    OutputFailed(std::sync::Arc<OutputError>),
}

/// Why a run could not start, or could not go on recording its outcomes.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The API refused or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// An output file cannot be written.
    #[error(transparent)]
    Results(#[from] OutputError),
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Why it ended.
    pub end: RunEnd,
    /// Rows by outcome.
    pub tally: Tally,
    /// Rows read from the input.
    pub rows_read: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether existing products were prefetched (else looked up per row).
    pub prefetched: Option<usize>,
    /// Rows that settled an unknown outcome (waited and looked up again).
    pub settled: u64,
    /// Of those, rows whose product was found while settling.
    pub settled_found: u64,
}

/// Where a run's outcomes go and what it shares with the client.
pub struct Wiring {
    /// Where outcomes go: the run's [`crate::results::Outputs`].
    pub outputs: Box<dyn RecordSink>,
    /// The progress display.
    pub progress: Progress,
    /// The pacer, to show the current pace.
    pub pacer: Option<Arc<Pacer>>,
    /// Request counters shared with the client.
    pub counters: Arc<RequestCounters>,
    /// Turns true on Ctrl-C or SIGTERM.
    pub stop: watch::Receiver<bool>,
}

/// Runs an import: checks the credentials, prefetches existing products when
/// that is cheaper, then streams `input` through the workers into the sinks.
/// `Err` means nothing was attempted (credentials refused, server unreachable)
/// or the outcomes could not be recorded.
pub async fn run<A: ProductApi>(
    api: A,
    plan: PipelinePlan,
    input: Input,
    wiring: Wiring,
) -> Result<Report, RunError> {
    let started = Instant::now();
    api.authenticate().await?;

    let to_process = input
        .total
        .map(|t| t.saturating_sub(input.kept.len() as u64));
    let counters = wiring.counters.clone();
    let (ctx, prefetched) = start_context(api, &plan, to_process, counters).await?;
    // The earlier run sent its journaled rows before its journal was last written.
    let now = tokio::time::Instant::now();
    let journal_written = now.checked_sub(input.maybe_sent.age).unwrap_or(now);

    let window = plan.concurrency.max(1) * 2;
    let (record_tx, record_rx) = mpsc::channel::<RowRecord>(window * 4);
    let Recording {
        halt,
        forward,
        recorder,
    } = spawn_recorder(record_rx, &input.kept, wiring);
    let (job_tx, job_rx) = mpsc::channel::<RowJob>(window);
    let reader = spawn_reader(input, journal_written, job_tx, halt.clone());

    let end = submit_all(
        ctx.clone(),
        job_rx,
        record_tx,
        plan.concurrency,
        halt,
        plan.grace,
    )
    .await;
    forward.abort();
    let (settled, settled_found) = ctx.catalogue.settled();
    let (end, rows_read, tally) = finish(end, reader, recorder).await;
    Ok(Report {
        end,
        tally,
        rows_read,
        elapsed: started.elapsed(),
        prefetched,
        settled,
        settled_found,
    })
}

/// Prefetches existing products when that is cheaper, opens the sending
/// journal and builds what the workers share; with the number of products
/// prefetched, if they were.
async fn start_context<A: ProductApi>(
    api: A,
    plan: &PipelinePlan,
    to_process: Option<u64>,
    counters: Arc<RequestCounters>,
) -> Result<(Arc<Context<A>>, Option<usize>), RunError> {
    let index = prefetch_if_cheaper(&api, &plan.row, &counters, to_process).await?;
    let prefetched = index.as_ref().map(ExistingIndex::len);
    let ctx = Arc::new(context(api, plan, index, plan.journal.clone(), counters));
    Ok((ctx, prefetched))
}

/// Prefetches the existing products when `--existing` needs them and that
/// costs fewer requests than looking up the rows to process
/// (`to_process`, when known) one by one; `None` otherwise.
async fn prefetch_if_cheaper<A: ProductApi>(
    api: &A,
    settings: &RowSettings,
    counters: &RequestCounters,
    to_process: Option<u64>,
) -> Result<Option<ExistingIndex>, ApiError> {
    let mode = settings.existing;
    if mode == ExistingMode::Create || to_process == Some(0) {
        return Ok(None);
    }
    // Prefetching pays while it costs fewer requests than half the rows.
    let max_pages = to_process.map_or(1, |n| u32::try_from(n / 2).unwrap_or(u32::MAX).max(1));
    let keep_fields = mode == ExistingMode::Update;
    ExistingIndex::prefetch(api, &settings.retry, counters, max_pages, keep_fields).await
}

/// What the workers share, with a fresh catalogue (starting from `index`) and
/// `plan.concurrency` slots.
fn context<A: ProductApi>(
    api: A,
    plan: &PipelinePlan,
    index: Option<ExistingIndex>,
    journal: Option<Journal>,
    counters: Arc<RequestCounters>,
) -> Context<A> {
    let references = References::new(
        plan.create_categories,
        plan.create_suppliers,
        plan.row.dry_run,
    );
    Context {
        api,
        settings: plan.row.clone(),
        catalogue: Catalogue::new(index, plan.known.clone(), references),
        journal,
        counters,
        slots: Arc::new(tokio::sync::Semaphore::new(plan.concurrency.max(1))),
    }
}

/// The recorder task and the run's halt signal.
struct Recording {
    /// Turns true on a stop signal, or when the outcomes can no longer be
    /// recorded: the run then stops sending.
    halt: watch::Receiver<bool>,
    /// Forwards the stop signal to `halt`.
    forward: JoinHandle<()>,
    /// The recorder: the run's tally and any output failure.
    recorder: JoinHandle<recorder::Recorded>,
}

/// Starts the recorder on `records` with the run's wiring, its tally
/// counting the `kept` outcomes already in the sinks, and the halt signal
/// that the wiring's stop signal turns on.
fn spawn_recorder(
    records: mpsc::Receiver<RowRecord>,
    kept: &[RowRecord],
    wiring: Wiring,
) -> Recording {
    let Wiring {
        outputs,
        progress,
        pacer,
        stop,
        ..
    } = wiring;
    let mut initial = Tally::default();
    for record in kept {
        initial.add(record.status);
    }
    let (halt_tx, halt) = watch::channel(false);
    let mut signal = stop;
    let halt_on_signal = halt_tx.clone();
    let forward = tokio::spawn(async move {
        if signal.wait_for(|v| *v).await.is_ok() {
            let _ = halt_on_signal.send(true);
        }
    });
    let recorder = tokio::spawn(recorder::record(
        records, outputs, initial, progress, pacer, halt_tx,
    ));
    Recording {
        halt,
        forward,
        recorder,
    }
}

/// Starts the reader on a blocking thread: it sends each row of `input`
/// not kept from an earlier run to `jobs` (with what the journal says of an
/// earlier send) until the rows end or `halt` turns true, and yields the
/// number of rows read.
fn spawn_reader(
    input: Input,
    journal_written: tokio::time::Instant,
    jobs: mpsc::Sender<RowJob>,
    halt: watch::Receiver<bool>,
) -> JoinHandle<u64> {
    let Input {
        rows,
        kept,
        maybe_sent,
        ..
    } = input;
    let kept: HashSet<u64> = kept.into_iter().map(|r| r.row).collect();
    tokio::task::spawn_blocking(move || {
        let mut read = 0u64;
        for row in rows {
            read += 1;
            if *halt.borrow() {
                break;
            }
            if kept.contains(&row.row) {
                continue;
            }
            let earlier = maybe_sent.get(row.row).map(|high_water| EarlierSend {
                high_water,
                at_latest: journal_written,
            });
            if jobs.blocking_send(RowJob { row, earlier }).is_err() {
                break;
            }
        }
        read
    })
}

/// Waits for the reader and the recorder once the workers are done: the
/// run's end (an input or output failure overrides the workers' `end`), the
/// rows read, and the tally.
async fn finish(
    end: RunEnd,
    reader: JoinHandle<u64>,
    recorder: JoinHandle<recorder::Recorded>,
) -> (RunEnd, u64, Tally) {
    let (end, rows_read) = match reader.await {
        Ok(read) => (end, read),
        // A panic while reading or validating: the rows after it were never
        // read, so the run must not look complete.
        Err(e) => (
            RunEnd::InputFailed(format!("reading the input broke off: {e}")),
            0,
        ),
    };
    let recorded = recorder.await.unwrap_or_else(|e| recorder::Recorded {
        tally: Tally::default(),
        failure: Some(OutputError {
            path: "results".into(),
            source: io::Error::other(format!("the recorder stopped: {e}")),
        }),
    });
    let end = match recorded.failure {
        Some(failure) => RunEnd::OutputFailed(Arc::new(failure)),
        None => end,
    };
    (end, rows_read, recorded.tally)
}

/// Processes jobs, each started only with one of the context's concurrency
/// slots (`concurrency` of them) and with up to [`SETTLING_ROWS`] more in
/// flight while they settle, sending each finished row to `records`. After
/// `stop` turns true no new job is started, and rows in flight get `grace`
/// to finish.
pub async fn submit_all<A: ProductApi>(
    ctx: Arc<Context<A>>,
    jobs: mpsc::Receiver<RowJob>,
    records: mpsc::Sender<RowRecord>,
    concurrency: usize,
    stop: watch::Receiver<bool>,
    grace: Duration,
) -> RunEnd {
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        if rx.wait_for(|v| *v).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let work = async {
        let slots = ctx.slots.clone();
        // A job is taken from the channel only once a slot is free.
        let jobs = futures::stream::unfold((jobs, slots), |(mut rx, slots)| async move {
            let slot = Slot::take(&slots).await;
            let job = rx.recv().await?;
            Some(((job, slot), (rx, slots)))
        })
        .take_until(stopped(stop.clone()));
        let done = jobs
            .map(|(job, slot)| {
                let ctx = ctx.clone();
                async move { row::process(&ctx, job, slot).await }
            })
            .buffer_unordered(concurrency.max(1) + SETTLING_ROWS);
        let mut done = std::pin::pin!(done);
        while let Some(result) = done.next().await {
            match result {
                Ok(record) => {
                    if records.send(record).await.is_err() {
                        break;
                    }
                }
                Err(fatal) => return RunEnd::Fatal(fatal),
            }
        }
        if *stop.borrow() {
            RunEnd::Interrupted
        } else {
            RunEnd::Completed
        }
    };
    let deadline = async {
        stopped(stop.clone()).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        end = work => end,
        () = deadline => RunEnd::Interrupted,
    }
}

#[cfg(test)]
mod tests;
