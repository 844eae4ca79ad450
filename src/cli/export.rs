//! `export`'s flags: where the products come from (the same API and pacing
//! options as `import`) and what to write.

use std::path::PathBuf;

use clap::Args;

use super::import::{ApiOptions, PacingOptions};

/// `export` flags.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The file to write: .xlsx (codes as text, numbers checked) or .csv.
    #[arg(value_name = "OUT.xlsx|OUT.csv")]
    pub out: PathBuf,
    /// Only products in these categories (names or ids, comma-separated or repeated).
    #[arg(long, value_name = "NAME|ID", value_delimiter = ',')]
    pub category: Vec<String>,
    /// Only these columns (canonical headers, comma-separated); id, name,
    /// number and category are always written, so the file can be imported again.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Export from a sandbox started in-process (it holds no products: for trying the command).
    #[arg(long)]
    pub sandbox: bool,
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiOptions,
    /// How fast and how persistently to read.
    #[command(flatten)]
    pub pacing: PacingOptions,
    /// Print only the summary line and fatal errors.
    #[arg(long, short)]
    pub quiet: bool,
}
