//! The limits a workbook is held to ([`SpreadsheetLimits`]), the flags that
//! raise them, and how their errors speak of sizes. Below every other file
//! of the folder, so that each imports them from here.

/// Parts smaller than this are not checked for their compression ratio:
/// however well they compress, they cannot hurt.
pub(crate) const RATIO_CHECKED_FROM: u64 = 4 * MIB;

/// Shared strings allowed per byte of the shared-strings limit: one per 32
/// bytes, 33,554,432 for the default 1024 MiB (a 1,000,000-row sheet with 12
/// text columns, written without deduplication, has 12,000,000 in 310 MiB).
/// Each costs calamine about 40 bytes of memory besides its text.
pub(super) const SHARED_STRING_BYTES: u64 = 32;

/// Bytes of memory a cell of a loaded .ods sheet costs calamine (its value
/// and its formula), for the repeated-cells estimate.
pub(super) const ODS_CELL_BYTES: u64 = 64;

/// Excel's and calamine's last row and column, where calamine caps repeats.
pub(super) const MAX_ROWS: u64 = 1_048_576;
pub(super) const MAX_COLUMNS: u64 = 16_384;

pub(super) const MIB: u64 = 1024 * 1024;

/// The flags that raise each limit, as the error messages name them.
pub(crate) const FLAG_UNCOMPRESSED: &str = "--max-uncompressed-mb";
/// See [`FLAG_UNCOMPRESSED`].
pub(crate) const FLAG_RATIO: &str = "--max-compression-ratio";
/// See [`FLAG_UNCOMPRESSED`].
pub(crate) const FLAG_CELL_CHARS: &str = "--max-cell-chars";
/// See [`FLAG_UNCOMPRESSED`].
pub(crate) const FLAG_SHARED_STRINGS: &str = "--max-shared-strings-mb";

/// How large a workbook may be once inflated. The defaults are far above
/// any real catalogue file; each has a flag that raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadsheetLimits {
    /// Total declared uncompressed size of the parts read, in bytes; also
    /// bounds the memory an .ods sheet's repeated cells expand to.
    pub max_uncompressed_bytes: u64,
    /// Largest ratio of uncompressed to compressed size of a part larger
    /// than [`RATIO_CHECKED_FROM`].
    pub max_compression_ratio: u64,
    /// Most characters in one cell (Excel's own limit is 32,767).
    pub max_cell_chars: u64,
    /// Largest shared-strings part, in bytes; the number of shared strings
    /// is bounded by it too (see [`SpreadsheetLimits::max_shared_strings`]).
    pub max_shared_strings_bytes: u64,
}

impl Default for SpreadsheetLimits {
    fn default() -> SpreadsheetLimits {
        SpreadsheetLimits {
            max_uncompressed_bytes: 1024 * MIB,
            max_compression_ratio: 100,
            max_cell_chars: 32_767,
            max_shared_strings_bytes: 1024 * MIB,
        }
    }
}

impl SpreadsheetLimits {
    /// The most shared strings a workbook may have (and declare).
    pub fn max_shared_strings(&self) -> u64 {
        self.max_shared_strings_bytes / SHARED_STRING_BYTES
    }

    /// The longest tag (or comment) of an XML part, in bytes: room for a
    /// formula or attribute as long as the longest cell.
    pub(super) fn max_tag_bytes(&self) -> usize {
        usize::try_from(
            self.max_cell_chars
                .saturating_mul(4)
                .saturating_add(64 * 1024),
        )
        .unwrap_or(usize::MAX)
    }

    /// The longest stretch of text between two tags, in bytes: the longest
    /// cell written with the longest escapes (`&#128512;`).
    pub(super) fn max_text_bytes(&self) -> u64 {
        self.max_cell_chars.saturating_mul(10).saturating_add(1024)
    }
}

pub(super) fn is_shared_strings(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("sharedstrings.xml") || lower.ends_with("sharedstrings.bin")
}

/// A limit in the unit of its flag: `1024 MiB`.
pub(super) fn mib_text(bytes: u64) -> String {
    format!("{} MiB", bytes / MIB)
}

/// `1.5 GiB`, `12.0 MiB`, `512 bytes`.
pub(super) fn size_text(bytes: u64) -> String {
    const GIB: u64 = 1024 * MIB;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}
