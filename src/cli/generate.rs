//! `generate`'s flags (a hidden command that writes benchmark data).

use std::path::PathBuf;

use clap::Args;

/// `generate` arguments.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The file to write: .csv or .xlsx.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// Number of data rows.
    #[arg(long, default_value_t = 1000)]
    pub rows: u64,
    /// Seed: the same seed writes the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First product number (numbers are `P-<n>`), so several files can be
    /// generated without sharing numbers.
    #[arg(long, default_value_t = 1)]
    pub start: u64,
}
