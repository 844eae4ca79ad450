//! The one owner of the run's outcomes: it receives every finished row from
//! the workers, counts it, moves the progress display, and hands it to the
//! [`RecordSink`] (the run's [`crate::results::Outputs`]), flushing every
//! 100 ms so that a killed process leaves every finished row on disk.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::client::pacing::Pacer;
use crate::progress::Progress;
use crate::results::{OutputError, RecordSink, RowRecord, Tally};

/// How often the sinks are flushed and the progress line is considered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// What the recorder did.
#[derive(Debug)]
pub struct Recorded {
    /// Rows by outcome (also those that finished after a write failure).
    pub tally: Tally,
    /// The first write failure: after it nothing more was written, and the
    /// run was told to stop sending new rows.
    pub failure: Option<OutputError>,
}

/// Receives rows until every sender is gone, then finishes the sink.
/// Counting starts from `initial` (rows kept from an earlier run).
///
/// When writing fails (a full disk, a file size limit, permissions), `halt`
/// is set so that no new row is sent; rows still in flight are counted but
/// not written (the sending journal has them, so `--resume` looks them up),
/// and the files are left as they are rather than finished.
pub async fn record(
    mut rows: mpsc::Receiver<RowRecord>,
    mut sink: Box<dyn RecordSink>,
    initial: Tally,
    mut progress: Progress,
    pacer: Option<Arc<Pacer>>,
    halt: watch::Sender<bool>,
) -> Recorded {
    let mut tally = initial;
    let mut failure: Option<OutputError> = None;
    let fail = |e: OutputError, failure: &mut Option<OutputError>| {
        let _ = halt.send(true);
        failure.get_or_insert(e);
    };
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = false;
    loop {
        tokio::select! {
            row = rows.recv() => match row {
                Some(record) => {
                    tally.add(record.status);
                    if failure.is_none() {
                        match sink.write(&record) {
                            Ok(()) => dirty = true,
                            Err(e) => fail(e, &mut failure),
                        }
                    }
                    progress.row_done(&tally);
                }
                None => break,
            },
            _ = tick.tick() => {
                if dirty && failure.is_none() {
                    if let Err(e) = sink.flush() {
                        fail(e, &mut failure);
                    }
                    dirty = false;
                }
                progress.tick(&tally, pacer.as_ref().map(|p| p.current_rate()));
            }
        }
    }
    progress.finish(&tally);
    if failure.is_none() {
        let finished = tokio::task::spawn_blocking(move || sink.finish()).await;
        failure = match finished {
            Ok(result) => result.err(),
            Err(e) => Some(OutputError {
                path: "results".into(),
                source: std::io::Error::other(format!("writing the results stopped: {e}")),
            }),
        };
    }
    Recorded { tally, failure }
}
