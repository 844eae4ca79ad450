//! How to read the input: the reading flags (also keys of `import`'s config
//! file) and the [`InputPlan`] they become, checked before any I/O except
//! reading the mapping file.

use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use super::choices::{BadOptionalArg, DecimalArg, HtmlArg, LongTextArg};
use super::options::option_group;
use crate::mapping::{MappingError, MappingFile};
use crate::preset::{Preset, PresetChoice};
use crate::read::limits::{self, SpreadsheetLimits};
use crate::read::{ReadError, ReadOptions, SheetSelector};
use crate::validate::ValidateOptions;
use crate::values::DecimalMark;

/// The input file and how to read it; shared by `validate` and `import`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReadArgs {
    /// The CSV or spreadsheet file to read; `-` reads a CSV from standard input.
    pub file: PathBuf,
    /// How to read it.
    #[command(flatten)]
    pub options: InputOptions,
}

option_group! {
    /// How to read the input file: flags, and keys of `import`'s config file.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct InputOptions {
        /// Sheet to read, by name or 1-based position (default: the first).
        #[arg(long, value_name = "NAME|N")]
        pub sheet: Option<String>,
        /// TOML file mapping headers to fields: columns, constants, defaults, value maps, ignored columns.
        #[arg(long, value_name = "FILE.toml")]
        pub mapping: Option<PathBuf>,
        /// Platform preset: auto (detect from the headers; the default), none, shopify, woocommerce, magento, prestashop, odoo, template, export.
        #[arg(long, value_name = "NAME")]
        pub preset: Option<String>,
        /// Category (name, path or id) for rows that name none.
        #[arg(long, value_name = "NAME|ID")]
        pub default_category: Option<String>,
        /// HTML in descriptions: text (made plain text; the default) or keep.
        #[arg(long, value_enum)]
        pub html: Option<HtmlArg>,
        /// A text over its field's limit: cut at a word boundary, or refuse the row (default: cut for a platform's export, else refuse).
        #[arg(long, value_enum)]
        pub long_text: Option<LongTextArg>,
        /// A bad barcode or alternative EAN: omit it with a note (rows with a product number), or refuse the row (default: omit for a platform's export, else refuse).
        #[arg(long, value_enum)]
        pub bad_optional: Option<BadOptionalArg>,
        /// CSV delimiter (default: detected among , ; tab |). `tab` or `\t` for tab.
        #[arg(long, value_name = "C")]
        pub delimiter: Option<String>,
        /// CSV encoding, any WHATWG label (default: detected).
        #[arg(long, value_name = "LABEL")]
        pub encoding: Option<String>,
        /// 1-based row number of the header row (default 1).
        #[arg(long, value_name = "N")]
        pub header_row: Option<u64>,
        /// Decimal mark for numbers that could be read two ways, like 1,234.
        #[arg(long, value_enum)]
        pub decimal: Option<DecimalArg>,
        /// Spreadsheets: most MiB the parts read may inflate to, in all (default 1024).
        #[arg(long, value_name = "MB")]
        pub max_uncompressed_mb: Option<u64>,
        /// Spreadsheets: highest compression ratio of a part over 4 MiB (default 100).
        #[arg(long, value_name = "N")]
        pub max_compression_ratio: Option<u64>,
        /// Spreadsheets: most characters in one cell (default 32767, Excel's own limit).
        #[arg(long, value_name = "N")]
        pub max_cell_chars: Option<u64>,
        /// Spreadsheets: largest shared-strings part in MiB, and one string per 32 bytes of it (default 1024).
        #[arg(long, value_name = "MB")]
        pub max_shared_strings_mb: Option<u64>,
    }
}

/// Why an input cannot be read or prepared; all of these mean nothing was attempted (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// A reading flag is not valid.
    #[error("{0}")]
    BadFlag(String),
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The mapping is unusable.
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// Everything needed to read and validate an input file, checked before any I/O
/// except reading the mapping file.
#[derive(Debug, Clone)]
pub struct InputPlan {
    /// The input file.
    pub path: PathBuf,
    /// How to read it.
    pub read: ReadOptions,
    /// The mapping file, if any.
    pub mapping: Option<(PathBuf, MappingFile)>,
    /// How to interpret cells.
    pub validate: ValidateOptions,
    /// `--preset`.
    pub preset: PresetChoice,
    /// `--default-category`.
    pub default_category: Option<String>,
}

impl InputPlan {
    /// Checks the reading flags and loads the mapping file.
    pub fn from_args(args: &ReadArgs) -> Result<InputPlan, PrepareError> {
        let delimiter = args
            .options
            .delimiter
            .as_deref()
            .map(parse_delimiter)
            .transpose()?;
        let encoding = args
            .options
            .encoding
            .as_deref()
            .map(parse_encoding)
            .transpose()?;
        let sheet = args.options.sheet.as_deref().map(parse_sheet).transpose()?;
        if args.options.header_row == Some(0) {
            return Err(PrepareError::BadFlag(
                "--header-row: rows start at 1".to_string(),
            ));
        }
        let limits = spreadsheet_limits(&args.options)?;
        let preset = match args.options.preset.as_deref() {
            None => PresetChoice::Auto,
            Some(name) => parse_preset(name)?,
        };
        let default_category = args
            .options
            .default_category
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let mapping = match &args.options.mapping {
            Some(path) => Some((path.clone(), MappingFile::load(path)?)),
            None => None,
        };
        Ok(InputPlan {
            path: args.file.clone(),
            read: ReadOptions {
                sheet,
                delimiter,
                encoding,
                header_row: args.options.header_row,
                only_columns: None,
                limits,
            },
            mapping,
            validate: ValidateOptions {
                decimal: args.options.decimal.map(|d| match d {
                    DecimalArg::Comma => DecimalMark::Comma,
                    DecimalArg::Point => DecimalMark::Point,
                }),
                keep_html: args.options.html == Some(HtmlArg::Keep),
                cut_long_text: args.options.long_text.map(|l| l == LongTextArg::Cut),
                omit_bad_optional: args.options.bad_optional.map(|b| b == BadOptionalArg::Omit),
            },
            preset,
            default_category,
        })
    }
}

/// `--encoding`: a WHATWG label.
fn parse_encoding(label: &str) -> Result<&'static encoding_rs::Encoding, PrepareError> {
    encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        PrepareError::BadFlag(format!(
            "--encoding: unknown encoding \"{label}\" (try utf-8, windows-1252, iso-8859-1, utf-16le)"
        ))
    })
}

/// `--sheet`: a position from 1, else a name.
fn parse_sheet(s: &str) -> Result<SheetSelector, PrepareError> {
    match s.trim() {
        "0" => Err(PrepareError::BadFlag(
            "--sheet: positions start at 1".to_string(),
        )),
        s => Ok(match s.parse::<usize>() {
            Ok(n) => SheetSelector::Position(n),
            Err(_) => SheetSelector::Name(s.to_string()),
        }),
    }
}

/// `--preset`: auto, none or a platform's key.
fn parse_preset(name: &str) -> Result<PresetChoice, PrepareError> {
    Preset::parse_choice(name).ok_or_else(|| {
        PrepareError::BadFlag(format!(
            "--preset: unknown preset \"{name}\" (auto, none, {})",
            Preset::ALL.map(Preset::key).join(", ")
        ))
    })
}

/// The spreadsheet limits, defaults raised (or lowered) by the flags.
fn spreadsheet_limits(args: &InputOptions) -> Result<SpreadsheetLimits, PrepareError> {
    let positive = |value: Option<u64>, flag: &str| match value {
        Some(0) => Err(PrepareError::BadFlag(format!("{flag}: must be at least 1"))),
        _ => Ok(value),
    };
    let mib = |mb: u64| mb.saturating_mul(1024 * 1024);
    let mut limits = SpreadsheetLimits::default();
    if let Some(mb) = positive(args.max_uncompressed_mb, limits::FLAG_UNCOMPRESSED)? {
        limits.max_uncompressed_bytes = mib(mb);
    }
    if let Some(n) = positive(args.max_compression_ratio, limits::FLAG_RATIO)? {
        limits.max_compression_ratio = n;
    }
    if let Some(n) = positive(args.max_cell_chars, limits::FLAG_CELL_CHARS)? {
        limits.max_cell_chars = n;
    }
    if let Some(mb) = positive(args.max_shared_strings_mb, limits::FLAG_SHARED_STRINGS)? {
        limits.max_shared_strings_bytes = mib(mb);
    }
    Ok(limits)
}

fn parse_delimiter(s: &str) -> Result<u8, PrepareError> {
    match s {
        "tab" | "\\t" | "\t" | "TAB" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(PrepareError::BadFlag(format!(
            "--delimiter: \"{s}\" is not a single character (use , ; | or tab)"
        ))),
    }
}
