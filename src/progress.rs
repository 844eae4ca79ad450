//! What the user sees while a run goes on: a one-line display on stderr when
//! stderr is a terminal (rows done of total, rows/s, ETA, created and failed
//! counts, current pace, a bar), fitted to the terminal's width: on a narrow
//! one the less important parts are left out, so the line never wraps.
//! Colours unless `NO_COLOR` is set. Without a terminal, for cron and logs,
//! one full line every few seconds; with `--log-format json`, a `progress`
//! event every few seconds and a last one (`"final": true`) when the rows
//! are done; nothing with `--quiet`.
//!
//! Rates and ETAs count only the rows done by this run, not those a
//! resumed run kept from an earlier one.

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
    /// Rows already done when the run began (kept by `--resume`); known
    /// from the first tally seen.
    done_before: Option<u64>,
    /// The pace at the last tick, for the last event.
    last_pace: Option<f64>,
    last_line: Instant,
    color: bool,
    spinner: usize,
}

#[derive(Debug)]
enum Display {
    Bar(ProgressBar),
    Lines,
    /// `progress` events of the JSON log, as often as the lines, and a
    /// last one at the end.
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
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            // The whole line is built here, to fit the terminal's width.
            bar.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
            Display::Bar(bar)
        } else {
            Display::Lines
        };
        let mut progress = Progress::with_display(display, total);
        progress.color = colors_wanted();
        progress
    }

    /// A display that prints nothing.
    #[cfg(test)]
    pub fn hidden() -> Progress {
        Progress::with_display(Display::Quiet, None)
    }

    fn with_display(display: Display, total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            display,
            total,
            started: now,
            done_before: None,
            last_pace: None,
            last_line: now,
            color: false,
            spinner: 0,
        }
    }

    /// A row finished (`tally` counts it).
    pub fn row_done(&mut self, tally: &Tally) {
        self.done_before.get_or_insert(tally.done.saturating_sub(1));
        if let Display::Bar(bar) = &self.display {
            bar.set_position(tally.done);
        }
    }

    /// Called regularly: redraws the terminal line, prints a log line when due.
    pub fn tick(&mut self, tally: &Tally, pace: Option<f64>) {
        self.done_before.get_or_insert(tally.done);
        self.last_pace = pace.or(self.last_pace);
        match &self.display {
            Display::Bar(bar) => {
                self.spinner = self.spinner.wrapping_add(1);
                let width = console::Term::stderr()
                    .size_checked()
                    .map_or(80, |(_, cols)| usize::from(cols));
                let facts = self.facts(tally, pace);
                bar.set_message(fit_line(&facts, width, self.color));
            }
            Display::Lines if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                // Best effort: a closed stderr must not stop an import.
                let _ = writeln!(std::io::stderr(), "progress: {}", self.line(tally, pace));
            }
            Display::Json if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                let fields = self.event_fields(tally, pace, false);
                crate::log::event(crate::log::Level::Info, "progress", fields);
            }
            _ => {}
        }
    }

    /// The fields of a `progress` event: the counts (`rows_done`,
    /// `created`, …), `rows_total` and `percent` (null when the total is
    /// unknown), `rows_per_second`, `eta_seconds` (null when it cannot be
    /// told), `elapsed_seconds`, `pace` (the pacer's current rate) and
    /// `final` (the last event of the run).
    fn event_fields(&self, tally: &Tally, pace: Option<f64>, last: bool) -> serde_json::Value {
        let facts = self.facts(tally, pace);
        let tenths = |x: f64| (x * 10.0).round() / 10.0;
        let mut fields = serde_json::to_value(tally).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut fields {
            let percent = self
                .total
                .filter(|t| *t > 0)
                .map(|t| tenths(tally.done.min(t) as f64 * 100.0 / t as f64));
            map.insert("rows_total".into(), self.total.into());
            map.insert("percent".into(), percent.into());
            map.insert("rows_per_second".into(), tenths(facts.per_sec).into());
            map.insert(
                "eta_seconds".into(),
                facts.eta.map(|d| tenths(d.as_secs_f64())).into(),
            );
            map.insert(
                "elapsed_seconds".into(),
                tenths(facts.elapsed.as_secs_f64()).into(),
            );
            map.insert("pace".into(), pace.map(tenths).into());
            map.insert("final".into(), last.into());
        }
        fields
    }

    /// What the terminal line is made of, now.
    fn facts(&self, tally: &Tally, pace: Option<f64>) -> LineFacts {
        let per_sec = self.rows_per_second(tally);
        let eta = match self.total {
            Some(t) if per_sec > 0.0 && t > tally.done => {
                Some(Duration::from_secs_f64((t - tally.done) as f64 / per_sec))
            }
            _ => None,
        };
        LineFacts {
            tally: *tally,
            total: self.total,
            per_sec,
            eta,
            pace,
            elapsed: self.started.elapsed(),
            spinner: self.spinner,
        }
    }

    /// The run is over: remove the bar, or log the last `progress` event.
    pub fn finish(&mut self, tally: &Tally) {
        match &self.display {
            Display::Bar(bar) => {
                bar.set_position(tally.done);
                bar.finish_and_clear();
            }
            Display::Json => {
                let fields = self.event_fields(tally, self.last_pace, true);
                crate::log::event(crate::log::Level::Info, "progress", fields);
            }
            _ => {}
        }
    }

    /// Rows per second done by this run (not counting those kept from an
    /// earlier one).
    fn rows_per_second(&self, tally: &Tally) -> f64 {
        let done = tally.done.saturating_sub(self.done_before.unwrap_or(0));
        done as f64 / self.started.elapsed().as_secs_f64().max(0.001)
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

/// Whether to colour the terminal line: not when `NO_COLOR` is set to
/// anything but the empty string (no-color.org), nor for a dumb terminal.
pub fn colors_wanted() -> bool {
    colors_wanted_by(
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    )
}

/// [`colors_wanted`] for given values of `NO_COLOR` and `TERM`.
fn colors_wanted_by(no_color: Option<&std::ffi::OsStr>, term: Option<&std::ffi::OsStr>) -> bool {
    let no_color = no_color.is_some_and(|v| !v.is_empty());
    let dumb = term.is_some_and(|t| t == "dumb");
    !no_color && !dumb
}

/// Everything the terminal line can show.
#[derive(Debug, Clone, Copy)]
pub struct LineFacts {
    /// Rows by status.
    pub tally: Tally,
    /// Rows to do, when known.
    pub total: Option<u64>,
    /// Rows per second so far.
    pub per_sec: f64,
    /// Time left, when it can be told.
    pub eta: Option<Duration>,
    /// The pacer's current rate.
    pub pace: Option<f64>,
    /// Time since the start.
    pub elapsed: Duration,
    /// Ticks so far, for the spinner.
    pub spinner: usize,
}

/// One part of the terminal line: its text, how much it matters (0 most)
/// and its colour (an ANSI SGR code). The bar's text is its least width
/// until the line is laid out.
struct Part {
    text: String,
    rank: u8,
    color: Option<&'static str>,
    bar: bool,
}

impl Part {
    fn new(text: String, rank: u8) -> Part {
        Part {
            text,
            rank,
            color: None,
            bar: false,
        }
    }
}

/// The width the bar gets at most, and at least when shown at all.
const BAR_WIDTH: (usize, usize) = (30, 10);

/// Builds the terminal line in at most `width - 1` columns (the last column
/// of a terminal makes some of them wrap): parts that matter less are left
/// out until it fits, and the bar takes what room is left, up to its widest.
/// `color` adds ANSI colours (to the counts of rows that went through or
/// not), which take no columns.
pub fn fit_line(f: &LineFacts, width: usize, color: bool) -> String {
    let mut parts = line_parts(f);
    let room = width.saturating_sub(1);
    while line_len(&parts) > room && parts.len() > 1 {
        let worst = parts
            .iter()
            .enumerate()
            .max_by_key(|(i, p)| (p.rank, *i))
            .map(|(i, _)| i)
            .expect("parts");
        parts.remove(worst);
    }
    let spare = room.saturating_sub(line_len(&parts));
    parts
        .iter()
        .map(|p| {
            if p.bar {
                return drawn_bar(f, spare);
            }
            match p.color.filter(|_| color) {
                Some(c) => format!("\x1b[{c}m{}\x1b[0m", p.text),
                None => p.text.clone(),
            }
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// Every part the terminal line can show for `f`, in the order shown.
fn line_parts(f: &LineFacts) -> Vec<Part> {
    let t = &f.tally;
    let mut parts = vec![
        Part::new(['|', '/', '-', '\\'][f.spinner % 4].to_string(), 9),
        Part::new(format!("[{}]", clock(f.elapsed)), 7),
        Part {
            bar: true,
            ..Part::new(" ".repeat(BAR_WIDTH.1), 5)
        },
        Part::new(
            match f.total {
                Some(total) if total > 0 => {
                    format!("{}/{} ({}%)", t.done, total, t.done * 100 / total)
                }
                _ => format!("{} rows", t.done),
            },
            0,
        ),
        Part::new(format!("{:.1} rows/s", f.per_sec), 4),
    ];
    if let Some(eta) = f.eta {
        parts.push(Part::new(format!("ETA {}", human_duration(eta)), 3));
    }
    let counts: [(&str, u64, u8, Option<&'static str>, bool); 6] = [
        ("created", t.created, 2, Some("32"), true),
        ("updated", t.updated, 5, Some("32"), false),
        ("skipped", t.skipped, 6, None, false),
        ("valid", t.valid, 5, Some("32"), false),
        ("invalid", t.invalid, 1, Some("31"), false),
        ("failed", t.failed, 1, Some("31"), true),
    ];
    for (word, n, rank, colour, always) in counts {
        if n > 0 || always {
            parts.push(Part {
                color: colour.filter(|_| n > 0),
                ..Part::new(format!("{word} {n}"), rank)
            });
        }
    }
    if let Some(p) = f.pace {
        parts.push(Part::new(format!("pace {p:.1}/s"), 8));
    }
    parts
}

/// The columns `parts` take, two spaces between each.
fn line_len(parts: &[Part]) -> usize {
    parts.iter().map(|p| p.text.chars().count()).sum::<usize>() + 2 * parts.len().saturating_sub(1)
}

/// The bar, at its least width plus `spare` columns (up to its widest),
/// filled in proportion to the rows done.
fn drawn_bar(f: &LineFacts, spare: usize) -> String {
    let w = (BAR_WIDTH.1 + spare).min(BAR_WIDTH.0);
    let filled = match f.total {
        Some(total) if total > 0 => (f.tally.done.min(total) * w as u64 / total) as usize,
        _ => 0,
    };
    format!("{}{}", "#".repeat(filled), "-".repeat(w - filled))
}

/// `00:01:23`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
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

    fn facts(done: u64, failed: u64) -> LineFacts {
        LineFacts {
            tally: Tally {
                done,
                created: done - failed,
                failed,
                ..Tally::default()
            },
            total: Some(20_000),
            per_sec: 9.5,
            eta: Some(Duration::from_secs(1_234)),
            pace: Some(9.8),
            elapsed: Duration::from_secs(83),
            spinner: 0,
        }
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut escape = false;
        for c in s.chars() {
            match (escape, c) {
                (false, '\x1b') => escape = true,
                (true, 'm') => escape = false,
                (false, c) => out.push(c),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn the_terminal_line_fits_80_columns() {
        let line = fit_line(&facts(5_000, 12), 80, false);
        assert_eq!(
            line,
            "###---------  5000/20000 (25%)  9.5 rows/s  ETA 20m34s  created 4988  failed 12"
        );
        assert!(line.chars().count() < 80);
        // Wide: everything shows, the bar at its widest.
        let wide = fit_line(&facts(5_000, 12), 140, false);
        assert!(wide.chars().count() < 140, "{wide}");
        assert!(wide.starts_with("|  [00:01:23]  "), "{wide}");
        assert!(wide.contains("pace 9.8/s"), "{wide}");
        assert!(
            wide.contains(&format!("  {}{}  ", "#".repeat(7), "-".repeat(23))),
            "{wide}"
        );
    }

    #[test]
    fn a_narrow_terminal_keeps_what_matters_most() {
        let line = fit_line(&facts(5_000, 12), 40, false);
        assert!(line.chars().count() < 40, "{line}");
        assert!(line.contains("5000/20000 (25%)"), "{line}");
        assert!(line.contains("failed 12"), "{line}");
        assert!(!line.contains('#') && !line.contains("pace"), "{line}");
        let tiny = fit_line(&facts(5_000, 12), 12, false);
        assert_eq!(tiny, "5000/20000 (25%)", "the count stays, even cut off");
    }

    #[test]
    fn colours_take_no_columns_and_can_be_turned_off() {
        let plain = fit_line(&facts(5_000, 12), 80, false);
        let coloured = fit_line(&facts(5_000, 12), 80, true);
        assert!(!plain.contains('\x1b'));
        assert!(coloured.contains("\x1b[31mfailed 12\x1b[0m"), "{coloured}");
        assert_eq!(strip_ansi(&coloured), plain);
    }

    #[test]
    fn no_color_is_honoured() {
        use std::ffi::OsStr;
        assert!(colors_wanted_by(None, Some(OsStr::new("xterm-256color"))));
        assert!(!colors_wanted_by(Some(OsStr::new("1")), None));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(colors_wanted_by(Some(OsStr::new("")), None));
        assert!(!colors_wanted_by(None, Some(OsStr::new("dumb"))));
    }

    /// A JSON display started `secs` ago, after `kept` rows of an earlier run.
    fn json_progress(total: Option<u64>, secs: u64, kept: u64) -> Progress {
        let mut p = Progress::with_display(Display::Json, total);
        p.started = Instant::now()
            .checked_sub(Duration::from_secs(secs))
            .expect("the clock is past boot");
        p.done_before = Some(kept);
        p
    }

    #[test]
    fn progress_events_carry_total_percent_rate_and_eta() {
        // 100 rows in 10 s after 50 kept by --resume: 10 rows/s, 50 left.
        let p = json_progress(Some(200), 10, 50);
        let t = Tally {
            done: 150,
            created: 140,
            failed: 10,
            ..Tally::default()
        };
        let v = p.event_fields(&t, Some(9.96), false);
        assert_eq!(v["rows_done"], 150);
        assert_eq!(v["created"], 140);
        assert_eq!(v["failed"], 10);
        assert_eq!(v["rows_total"], 200);
        assert_eq!(v["percent"], 75.0);
        let rate = v["rows_per_second"].as_f64().unwrap();
        assert!((9.5..=10.0).contains(&rate), "{v}");
        let eta = v["eta_seconds"].as_f64().unwrap();
        assert!((5.0..=5.3).contains(&eta), "{v}");
        assert!(v["elapsed_seconds"].as_f64().unwrap() >= 10.0, "{v}");
        assert_eq!(v["pace"], 10.0);
        assert_eq!(v["final"], false);

        // Unknown total: no percent, no ETA, but still a rate.
        let v = json_progress(None, 10, 0).event_fields(&t, None, true);
        assert!(v["rows_total"].is_null() && v["percent"].is_null(), "{v}");
        assert!(v["eta_seconds"].is_null() && v["pace"].is_null(), "{v}");
        assert!(v["rows_per_second"].as_f64().unwrap() > 14.0, "{v}");
        assert_eq!(v["final"], true);
    }

    #[test]
    fn rows_kept_by_resume_do_not_count_towards_the_rate() {
        let mut p = Progress::with_display(Display::Quiet, Some(1_000));
        let mut t = Tally {
            done: 900,
            created: 900,
            ..Tally::default()
        };
        p.tick(&t, None);
        t.add(crate::results::RowStatus::Created);
        p.row_done(&t);
        assert_eq!(p.done_before, Some(900));
        // Seen first after a row: the row before it was the first done here.
        let mut q = Progress::with_display(Display::Quiet, Some(1_000));
        q.row_done(&t);
        assert_eq!(q.done_before, Some(900));
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
