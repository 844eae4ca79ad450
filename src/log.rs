//! What a run tells its operator on stderr, in one of two forms: words for a
//! person (the default), or with `--log-format json` one JSON object per line
//! for log shippers and alerting: `{"ts": "…", "level": "info", "event":
//! "start", …}`. Events: `start`, `download`, `unchanged`, `progress`,
//! `row_failed`, `guard`, `missing`, `warning`, `error` and `summary`.
//!
//! The format is chosen once per process ([`set_format`]); every writer asks
//! [`is_json`]. Callers pass URLs without user info and never pass
//! credentials, and every line is passed through [`crate::secrets::scrub`]
//! all the same: a message may quote what a server said, and a server may
//! quote the request.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::ValueEnum;
use serde::Deserialize;
use serde_json::{Map, Value};

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Words for a person, and a progress bar on a terminal.
    #[default]
    Human,
    /// One JSON object per line on stderr.
    Json,
}

static JSON: AtomicBool = AtomicBool::new(false);

/// Chooses the format for the rest of the process.
pub(crate) fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// Whether stderr carries JSON lines.
pub(crate) fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Normal progress.
    Info,
    /// Something an operator should look at; the run goes on.
    Warn,
    /// The run (or a row) failed.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One event as a JSON line: `ts`, `level`, `event`, then `fields` (an
/// object; anything else goes under `data`).
pub(crate) fn json_line(level: Level, event: &str, fields: Value) -> String {
    let mut object = Map::new();
    object.insert("ts".into(), Value::String(rfc3339_now()));
    object.insert("level".into(), Value::String(level.as_str().into()));
    object.insert("event".into(), Value::String(event.into()));
    match fields {
        Value::Object(map) => object.extend(map),
        Value::Null => {}
        other => {
            object.insert("data".into(), other);
        }
    }
    crate::secrets::scrub(&Value::Object(object).to_string()).into_owned()
}

/// Writes an event to stderr in JSON form; does nothing in human form (the
/// caller prints its own words then).
pub(crate) fn event(level: Level, event: &str, fields: Value) {
    if is_json() {
        // Best effort: a closed stderr must not stop an import.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            json_line(level, event, fields)
        );
    }
}

/// A warning: `warning: …` in words, or a `warning` event.
pub(crate) fn warn(message: &str) {
    if is_json() {
        event(
            Level::Warn,
            "warning",
            serde_json::json!({ "message": message }),
        );
    } else {
        eprintln!("warning: {}", crate::secrets::scrub(message));
    }
}

/// An error with its causes, joined by `: `, each said once: a cause whose
/// text the message already holds (an error that quotes its own source) is
/// not repeated.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// An error that ends the command: `error: …` in words, or an `error` event.
pub fn fatal(message: &str) {
    if is_json() {
        event(
            Level::Error,
            "error",
            serde_json::json!({ "message": message }),
        );
    } else {
        eprintln!("error: {}", crate::secrets::scrub(message));
    }
}

/// A note for a person (`message` on stderr), or an event with `fields`.
pub(crate) fn note(event_name: &str, message: &str, fields: Value) {
    if is_json() {
        let mut fields = fields;
        if let Value::Object(map) = &mut fields {
            map.insert("message".into(), Value::String(message.into()));
        }
        event(Level::Info, event_name, fields);
    } else {
        eprintln!("{}", crate::secrets::scrub(message));
    }
}

/// Now as `2026-11-29T19:40:00.123Z`.
pub(crate) fn rfc3339_now() -> String {
    rfc3339(SystemTime::now())
}

/// A time as RFC 3339 in UTC with milliseconds (truncated).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    utc(t).strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `t` as a [`jiff::Timestamp`]; a time before 1970 counts as 1970-01-01
/// (no clock here is set that far back), one past jiff's range (after the
/// year 9999) as its end.
pub(crate) fn utc(t: SystemTime) -> jiff::Timestamp {
    jiff::Timestamp::try_from(t.max(UNIX_EPOCH)).unwrap_or(jiff::Timestamp::MAX)
}

#[cfg(test)]
mod error_text_tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("f.csv: {source}")]
    struct Quoting {
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Quoting { source: io() }).context("reading");
        assert_eq!(
            format!("{e:#}"),
            "reading: f.csv: no such file: no such file"
        );
        assert_eq!(error_text(&*e), "reading: f.csv: no such file");
        let plain = anyhow::Error::new(io()).context("reading");
        assert_eq!(error_text(&*plain), "reading: no such file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_764_445_200_123);
        assert_eq!(rfc3339(t), "2025-11-29T19:40:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
        // Milliseconds are cut, not rounded; a time before 1970 is 1970.
        let late = UNIX_EPOCH + Duration::from_micros(1_999_999);
        assert_eq!(rfc3339(late), "1970-01-01T00:00:01.999Z");
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn a_line_is_one_object() {
        let line = json_line(Level::Warn, "guard", serde_json::json!({"found": 3}));
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["event"], "guard");
        assert_eq!(v["found"], 3);
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    }
}
