//! One workbook's check ([`WorkbookCheck`]): the declared sizes of its
//! parts and the scan of an XML part as it is inflated, each error naming
//! the file and the part. Used by [`check_workbook`](super::check_workbook)
//! and by the view's scanning thread alike.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::archive::{is_read_part, relationship_targets, Part, MAX_RELATIONSHIPS_BYTES};
use super::scan::{Found, XmlScanner};
use super::sizes::{
    is_shared_strings, mib_text, size_text, SpreadsheetLimits, FLAG_RATIO, FLAG_SHARED_STRINGS,
    FLAG_UNCOMPRESSED, RATIO_CHECKED_FROM,
};
use crate::read::ReadError;

/// Bytes of a part inflated and scanned at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// An opened workbook archive.
pub(super) type Archive = zip::ZipArchive<BufReader<File>>;

/// The workbook being checked and its limits, which every error names.
pub(super) struct WorkbookCheck<'a> {
    pub(super) path: &'a Path,
    pub(super) limits: &'a SpreadsheetLimits,
}

impl WorkbookCheck<'_> {
    /// A limit is exceeded in `part`: what, the limit, the flag that raises it.
    fn over(&self, part: &str, what: String, limit: String, flag: &'static str) -> ReadError {
        ReadError::Limit {
            path: self.path.to_path_buf(),
            part: part.to_owned(),
            what,
            limit,
            flag,
        }
    }

    /// `part` is not what a spreadsheet's part can be.
    pub(super) fn damaged(&self, part: &str, message: String) -> ReadError {
        ReadError::Workbook {
            path: self.path.to_path_buf(),
            message: format!("the file is damaged or crafted: its part {part} {message}"),
        }
    }

    /// The parts calamine reads: its XML parts by name, and whatever the
    /// relationships point to, for a sheet may be given any name. Each
    /// relationships part and each part read has its declared sizes checked.
    pub(super) fn parts_read(
        &self,
        archive: &mut Archive,
        entries: Vec<Part>,
    ) -> Result<Vec<Part>, ReadError> {
        let mut targets = HashSet::new();
        for part in entries.iter().filter(|p| p.lower.ends_with(".rels")) {
            self.sizes(part)?;
            let Ok(entry) = archive.by_index(part.index) else {
                continue;
            };
            let mut xml = Vec::new();
            entry
                .take(MAX_RELATIONSHIPS_BYTES)
                .read_to_end(&mut xml)
                .map_err(|e| self.damaged(&part.name, format!("cannot be read ({e})")))?;
            relationship_targets(&part.name, &xml, &mut targets);
        }
        let read: Vec<Part> = entries
            .into_iter()
            .filter(|p| targets.contains(&p.lower) || is_read_part(&p.lower))
            .collect();
        for part in &read {
            self.sizes(part)?;
        }
        Ok(read)
    }

    /// The declared sizes of one part: its compression ratio, and the size
    /// of the shared strings.
    fn sizes(&self, part: &Part) -> Result<(), ReadError> {
        let (size, compressed) = (part.size, part.compressed);
        let limits = self.limits;
        if size >= RATIO_CHECKED_FROM
            && size > compressed.saturating_mul(limits.max_compression_ratio)
        {
            return Err(self.over(
                &part.name,
                format!(
                    "it declares {} uncompressed from {} compressed, a ratio of {}:1, \
                     which looks like a zip bomb",
                    size_text(size),
                    size_text(compressed),
                    size / compressed.max(1)
                ),
                format!("{}:1", limits.max_compression_ratio),
                FLAG_RATIO,
            ));
        }
        if is_shared_strings(&part.lower) && size > limits.max_shared_strings_bytes {
            return Err(self.over(
                &part.name,
                format!("the shared strings are {} uncompressed", size_text(size)),
                mib_text(limits.max_shared_strings_bytes),
                FLAG_SHARED_STRINGS,
            ));
        }
        Ok(())
    }

    /// The total declared size of the parts read.
    pub(super) fn total(&self, read: &[Part]) -> Result<(), ReadError> {
        let total = read
            .iter()
            .fold(0u64, |total, part| total.saturating_add(part.size));
        if total <= self.limits.max_uncompressed_bytes {
            return Ok(());
        }
        let largest = read
            .iter()
            .max_by_key(|part| part.size)
            .expect("a total above the limit has parts");
        Err(self.over(
            &largest.name,
            format!(
                "the workbook's parts are {} uncompressed in all, this one {}",
                size_text(total),
                size_text(largest.size)
            ),
            mib_text(self.limits.max_uncompressed_bytes),
            FLAG_UNCOMPRESSED,
        ))
    }

    /// Inflates one XML part through the [`XmlScanner`], a chunk at a time
    /// into a buffer `buffer` gives (empty, or one handed back to be used
    /// again), handing each scanned chunk to `each` (which returns false to
    /// stop).
    pub(super) fn scan_part(
        &self,
        archive: &mut Archive,
        part: &Part,
        mut buffer: impl FnMut() -> Vec<u8>,
        mut each: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<(), ReadError> {
        let Part {
            index, name, size, ..
        } = part;
        let Ok(mut entry) = archive.by_index(*index) else {
            return Ok(());
        };
        let mut scanner = XmlScanner::new(self.limits, name);
        loop {
            let mut buf = buffer();
            buf.resize(CHUNK_BYTES, 0);
            // Filled whole (the inflater hands out a few KiB at a time):
            // each chunk wakes calamine's side once, not once per read.
            let mut n = 0;
            let mut failed = None;
            while n < CHUNK_BYTES {
                match entry.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(read) => n += read,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        failed = Some(self.damaged(
                            name,
                            format!(
                                "cannot be read (it declares {} uncompressed: {e})",
                                size_text(*size)
                            ),
                        ));
                        break;
                    }
                }
            }
            if n == 0 {
                return failed.map_or(Ok(()), Err);
            }
            buf.truncate(n);
            scanner.feed(&buf).map_err(|e| match e {
                Found::Over { what, limit, flag } => self.over(name, what, limit, flag),
                Found::Damaged(message) => self.damaged(name, message),
            })?;
            if !each(buf) {
                return Ok(());
            }
            if let Some(error) = failed {
                // The bytes before the damage went on first, as they came.
                return Err(error);
            }
        }
    }
}
