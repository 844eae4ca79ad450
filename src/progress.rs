//! What the user sees while a run goes on: an indicatif bar on stderr when
//! stderr is a terminal (rows done of total, rows/s, ETA, created and failed
//! counts, current pace); otherwise, for cron and logs, one line every few
//! seconds; nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::results::Tally;

/// How often the line display prints.
pub const LINE_EVERY: Duration = Duration::from_secs(5);

/// The progress display of a run.
#[derive(Debug)]
pub struct Progress {
    display: Display,
    total: Option<u64>,
    started: Instant,
    last_line: Instant,
}

#[derive(Debug)]
enum Display {
    Bar(ProgressBar),
    Lines,
    /// `progress` events of the JSON log, as often as the lines.
    Json,
    Quiet,
}

impl Progress {
    /// A bar when stderr is a terminal, lines otherwise, nothing when `quiet`.
    pub fn new(total: Option<u64>, quiet: bool) -> Progress {
        let display = if quiet {
            Display::Quiet
        } else if crate::log::is_json() {
            Display::Json
        } else if std::io::stderr().is_terminal() {
            let bar = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rows, ETA {eta}, {msg}",
            )
            .expect("valid template");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            Display::Bar(bar)
        } else {
            Display::Lines
        };
        Progress::with_display(display, total)
    }

    /// A display that prints nothing.
    pub fn hidden() -> Progress {
        Progress::with_display(Display::Quiet, None)
    }

    fn with_display(display: Display, total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            display,
            total,
            started: now,
            last_line: now,
        }
    }

    /// A row finished.
    pub fn row_done(&mut self, tally: &Tally) {
        if let Display::Bar(bar) = &self.display {
            bar.set_position(tally.done);
        }
    }

    /// Called regularly: updates the bar's message, prints a line when due.
    pub fn tick(&mut self, tally: &Tally, pace: Option<f64>) {
        match &self.display {
            Display::Bar(bar) => bar.set_message(format!(
                "{:.1} rows/s, {}",
                self.rows_per_second(tally),
                counts(tally, pace)
            )),
            Display::Lines if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                // Best effort: a closed stderr must not stop an import.
                let _ = writeln!(std::io::stderr(), "progress: {}", self.line(tally, pace));
            }
            Display::Json if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                let mut fields = serde_json::to_value(tally).unwrap_or_default();
                if let serde_json::Value::Object(map) = &mut fields {
                    map.insert("rows_total".into(), self.total.into());
                    map.insert(
                        "rows_per_second".into(),
                        ((self.rows_per_second(tally) * 10.0).round() / 10.0).into(),
                    );
                    map.insert("pace".into(), pace.into());
                }
                crate::log::event(crate::log::Level::Info, "progress", fields);
            }
            _ => {}
        }
    }

    /// The run is over: remove the bar.
    pub fn finish(&mut self, tally: &Tally) {
        if let Display::Bar(bar) = &self.display {
            bar.set_position(tally.done);
            bar.finish_and_clear();
        }
    }

    fn rows_per_second(&self, tally: &Tally) -> f64 {
        tally.done as f64 / self.started.elapsed().as_secs_f64().max(0.001)
    }

    /// The line printed without a terminal.
    pub fn line(&self, tally: &Tally, pace: Option<f64>) -> String {
        let per_sec = self.rows_per_second(tally);
        let done = match self.total {
            Some(t) if t > 0 => format!("{}/{} rows ({}%)", tally.done, t, tally.done * 100 / t),
            _ => format!("{} rows", tally.done),
        };
        let eta = match self.total {
            Some(t) if per_sec > 0.0 && t > tally.done => {
                format!(
                    ", ETA {}",
                    human_duration(Duration::from_secs_f64((t - tally.done) as f64 / per_sec))
                )
            }
            _ => String::new(),
        };
        format!("{done}, {per_sec:.1} rows/s{eta}, {}", counts(tally, pace))
    }
}

fn counts(tally: &Tally, pace: Option<f64>) -> String {
    let mut s = format!(
        "created {} updated {} skipped {} invalid {} failed {}",
        tally.created, tally.updated, tally.skipped, tally.invalid, tally.failed
    );
    if tally.valid > 0 {
        s.push_str(&format!(" valid {}", tally.valid));
    }
    if let Some(p) = pace {
        s.push_str(&format!(", pace {p:.1}/s"));
    }
    s
}

/// `1h02m03s`, `4m05s`, `12.3s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(human_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(human_duration(Duration::from_secs(3723)), "1h02m03s");
    }

    #[test]
    fn progress_line() {
        let p = Progress::with_display(Display::Lines, Some(200));
        let t = Tally {
            done: 50,
            created: 45,
            failed: 5,
            ..Tally::default()
        };
        let line = p.line(&t, Some(9.5));
        assert!(line.starts_with("50/200 rows (25%), "), "{line}");
        assert!(line.contains("ETA "), "{line}");
        assert!(
            line.ends_with("created 45 updated 0 skipped 0 invalid 0 failed 5, pace 9.5/s"),
            "{line}"
        );
    }
}
