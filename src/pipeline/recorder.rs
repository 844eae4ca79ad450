//! The one owner of the run's outcomes: it receives every finished row from
//! the workers, counts it, moves the progress display, and writes it to the
//! results (and rejects) files, flushing them every 100 ms so that a killed
//! process leaves every finished row on disk.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::client::pacing::Pacer;
use crate::progress::Progress;
use crate::results::{RowRecord, Tally};

/// How often the sinks are flushed and the progress line is considered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Where finished rows go: the results file, the rejects file (adapters in
/// the command), or a vector in tests.
pub trait RecordSink: Send {
    /// Writes one finished row.
    fn write(&mut self, record: &RowRecord) -> anyhow::Result<()>;
    /// Makes everything written so far readable by another process.
    fn flush(&mut self) -> anyhow::Result<()>;
    /// Completes the file (e.g. rewrites it in input order).
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// Receives rows until every sender is gone, then finishes the sinks.
/// Counting starts from `initial` (rows kept from an earlier run).
/// Returns the tally; a sink error stops recording and is returned.
pub async fn record(
    mut rows: mpsc::Receiver<RowRecord>,
    mut sinks: Vec<Box<dyn RecordSink>>,
    initial: Tally,
    mut progress: Progress,
    pacer: Option<Arc<Pacer>>,
) -> anyhow::Result<Tally> {
    let mut tally = initial;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = false;
    loop {
        tokio::select! {
            row = rows.recv() => match row {
                Some(record) => {
                    tally.add(record.status);
                    for sink in &mut sinks {
                        sink.write(&record)?;
                    }
                    dirty = true;
                    progress.row_done(&tally);
                }
                None => break,
            },
            _ = tick.tick() => {
                if dirty {
                    for sink in &mut sinks {
                        sink.flush()?;
                    }
                    dirty = false;
                }
                progress.tick(&tally, pacer.as_ref().map(|p| p.current_rate()));
            }
        }
    }
    progress.finish(&tally);
    tokio::task::spawn_blocking(move || {
        for sink in sinks {
            sink.finish()?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await??;
    Ok(tally)
}

/// A sink that keeps rows in memory, for tests and for callers that want
/// the records themselves.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(pub Arc<std::sync::Mutex<Vec<RowRecord>>>);

impl RecordSink for MemorySink {
    fn write(&mut self, record: &RowRecord) -> anyhow::Result<()> {
        self.0.lock().expect("sink lock").push(record.clone());
        Ok(())
    }
    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        self.0.lock().expect("sink lock").sort_by_key(|r| r.row);
        Ok(())
    }
}
