//! The summary printed at the end of a run, and its JSON form (`--summary-json`).

use std::fmt;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::{Report, RunEnd};
use crate::client::RequestCounters;
use crate::progress::human_duration;
use crate::results::{RunOutcome, Tally};

/// What a run did, in numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Data rows read from the input.
    pub rows_read: u64,
    /// Rows by outcome.
    #[serde(flatten)]
    pub tally: Tally,
    /// HTTP requests sent (lookups and token requests included).
    pub requests: u64,
    /// Requests sent again after a failure.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Rows whose POST had an unknown outcome and that settled (waited,
    /// looked up again) before being sent again or recorded.
    pub settled: u64,
    /// Of those, rows whose product was found while settling (so not sent again).
    pub settled_found: u64,
    /// Wall time in seconds.
    pub elapsed_seconds: f64,
    /// Requests per second achieved.
    pub requests_per_second: f64,
    /// Rows per second achieved.
    pub rows_per_second: f64,
    /// Existing products prefetched (absent: looked up row by row, or not at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefetched_products: Option<usize>,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Summary {
    /// The summary of a run.
    pub fn new(report: &Report, counters: &RequestCounters, dry_run: bool) -> Summary {
        let secs = report.elapsed.as_secs_f64();
        let per_sec = |n: u64| {
            if secs > 0.0 {
                (n as f64 / secs * 10.0).round() / 10.0
            } else {
                0.0
            }
        };
        let requests = counters.requests.load(Ordering::Relaxed);
        let t = &report.tally;
        Summary {
            outcome: match report.end {
                RunEnd::Completed => RunOutcome::Completed,
                RunEnd::Interrupted => RunOutcome::Interrupted,
                RunEnd::Fatal(_) | RunEnd::InputFailed(_) | RunEnd::OutputFailed(_) => {
                    RunOutcome::Stopped
                }
            },
            dry_run,
            rows_read: report.rows_read.max(t.done),
            tally: *t,
            requests,
            retries: counters.retries.load(Ordering::Relaxed),
            rate_limited: counters.rate_limited.load(Ordering::Relaxed),
            settled: report.settled,
            settled_found: report.settled_found,
            elapsed_seconds: (secs * 1000.0).round() / 1000.0,
            requests_per_second: per_sec(requests),
            rows_per_second: per_sec(t.done),
            prefetched_products: report.prefetched,
            error: match &report.end {
                RunEnd::Fatal(e) => Some(e.to_string()),
                RunEnd::InputFailed(e) => Some(e.clone()),
                RunEnd::OutputFailed(e) => Some(format!(
                    "{e}. No new row was sent after that; rows in flight finished and are in the \
                     sending journal. Make room (or fix the permissions) and run again with --resume"
                )),
                _ => None,
            },
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = match (self.outcome, self.dry_run) {
            (RunOutcome::Completed, false) => "Import finished",
            (RunOutcome::Completed, true) => "Dry run finished (nothing was written)",
            (RunOutcome::Interrupted, _) => {
                "Import interrupted (run again with --resume to finish)"
            }
            (RunOutcome::Stopped, _) => "Import stopped",
        };
        let t = &self.tally;
        writeln!(f, "{title}")?;
        if let Some(e) = &self.error {
            writeln!(f, "  error:     {e}")?;
        }
        writeln!(f, "  rows read: {}", self.rows_read)?;
        writeln!(f, "  created:   {}", t.created)?;
        writeln!(f, "  updated:   {}", t.updated)?;
        writeln!(f, "  skipped:   {}", t.skipped)?;
        if self.dry_run {
            writeln!(f, "  valid:     {} (would be created or updated)", t.valid)?;
        }
        writeln!(f, "  invalid:   {}", t.invalid)?;
        writeln!(f, "  failed:    {}", t.failed)?;
        writeln!(
            f,
            "  requests:  {} ({} retries, {} rate limited)",
            self.requests, self.retries, self.rate_limited
        )?;
        if self.settled > 0 {
            writeln!(
                f,
                "  settled:   {} (outcome unknown at first; {} found by a later lookup)",
                self.settled, self.settled_found
            )?;
        }
        write!(
            f,
            "  elapsed:   {} ({:.1} requests/s, {:.1} rows/s)",
            human_duration(std::time::Duration::from_secs_f64(self.elapsed_seconds)),
            self.requests_per_second,
            self.rows_per_second
        )
    }
}
