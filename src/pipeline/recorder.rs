//! The one owner of the run's outcomes: it receives every finished row from
//! the workers, counts it, moves the progress display, and hands it to the
//! [`RecordSink`] (the run's [`crate::results::Outputs`]), flushing every
//! 100 ms so that a killed process leaves every finished row on disk.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::client::pacing::Pacer;
use crate::progress::Progress;
use crate::results::{OutputError, RecordSink, RowRecord, Tally};

/// How often the sinks are flushed and the progress line is considered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Receives rows until every sender is gone, then finishes the sink.
/// Counting starts from `initial` (rows kept from an earlier run).
/// Returns the tally; a sink error stops recording and is returned.
pub async fn record(
    mut rows: mpsc::Receiver<RowRecord>,
    mut sink: Box<dyn RecordSink>,
    initial: Tally,
    mut progress: Progress,
    pacer: Option<Arc<Pacer>>,
) -> Result<Tally, OutputError> {
    let mut tally = initial;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = false;
    loop {
        tokio::select! {
            row = rows.recv() => match row {
                Some(record) => {
                    tally.add(record.status);
                    sink.write(&record)?;
                    dirty = true;
                    progress.row_done(&tally);
                }
                None => break,
            },
            _ = tick.tick() => {
                if dirty {
                    sink.flush()?;
                    dirty = false;
                }
                progress.tick(&tally, pacer.as_ref().map(|p| p.current_rate()));
            }
        }
    }
    progress.finish(&tally);
    tokio::task::spawn_blocking(move || sink.finish())
        .await
        .map_err(|e| OutputError {
            path: "results".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
    Ok(tally)
}
