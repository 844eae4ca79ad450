//! The archive's central directory and relationships: which parts a
//! workbook has, and which of them calamine reads.

use std::collections::HashSet;

use super::scan::attr;
use super::sizes::MIB;

/// An entry of the archive, as its central directory declares it.
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) index: usize,
    pub(super) name: String,
    /// The name in lower case.
    pub(super) lower: String,
    pub(super) size: u64,
    pub(super) compressed: u64,
    pub(super) crc32: u32,
}

/// The most of a relationships part read for its targets; real ones are a
/// few KiB.
pub(super) const MAX_RELATIONSHIPS_BYTES: u64 = 16 * MIB;

/// Adds the parts the relationships part `rels` (its bytes `xml`) points
/// to, as lower-case archive paths (calamine finds parts ignoring case).
pub(super) fn relationship_targets(rels: &str, xml: &[u8], targets: &mut HashSet<String>) {
    // `xl/_rels/workbook.xml.rels` speaks for `xl/workbook.xml`: targets are relative to `xl/`.
    let base = rels
        .rsplit_once("_rels/")
        .map_or("", |(dir, _)| dir)
        .to_ascii_lowercase();
    for tag in xml.split(|&b| b == b'<').skip(1) {
        let tag = tag.split(|&b| b == b'>').next().unwrap_or_default();
        let name_end = tag
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let (name, attrs) = tag.split_at(name_end);
        if !name.ends_with(b"Relationship")
            || attr(attrs, b"TargetMode").is_some_and(|m| m.eq_ignore_ascii_case(b"External"))
        {
            continue;
        }
        let Some(target) = attr(attrs, b"Target") else {
            continue;
        };
        let target = String::from_utf8_lossy(target).to_ascii_lowercase();
        let joined = match target.strip_prefix('/') {
            Some(absolute) => absolute.to_owned(),
            None => format!("{base}{target}"),
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in joined.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                part => parts.push(part),
            }
        }
        targets.insert(parts.join("/"));
    }
}

/// Parts calamine reads by their names (`lower`, in lower case): XML,
/// relationships and binary parts, not pictures, embedded files, printer
/// settings or macros.
pub(super) fn is_read_part(lower: &str) -> bool {
    let data = [".xml", ".rels", ".bin"].iter().any(|e| lower.ends_with(e));
    let skipped = [
        "media/",
        "embeddings/",
        "printersettings/",
        "pictures/",
        "thumbnails/",
    ]
    .iter()
    .any(|d| lower.contains(d))
        || lower.ends_with("vbaproject.bin");
    data && !skipped
}

/// The archive's entries that are not folders, as its central directory
/// declares them; an entry it cannot read is left out.
pub(super) fn entries<R: std::io::Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
) -> Vec<Part> {
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        let Ok(entry) = archive.by_index_raw(index) else {
            continue;
        };
        if !entry.is_dir() {
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
            entries.push(Part {
                index,
                lower: name.to_ascii_lowercase(),
                name,
                size: entry.size(),
                compressed: entry.compressed_size(),
                crc32: entry.crc32(),
            });
        }
    }
    entries
}
