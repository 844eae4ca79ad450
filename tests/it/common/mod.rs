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
