//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod run;

use std::path::PathBuf;

/// The built binary under test.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("product-import").expect("binary built")
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Path of a committed fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every line of a `--log-format json` stderr as a JSON object with `ts`,
/// `level` and `event`; panics, naming the line, on any other line.
pub fn json_lines(stderr: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(
                v.is_object() && v["ts"].is_string() && v["level"].is_string(),
                "not an event: {line}"
            );
            assert!(v["event"].is_string(), "no event name: {line}");
            v
        })
        .collect()
}
