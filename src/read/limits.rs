//! Limits on what a workbook may expand to in memory, checked before
//! calamine inflates anything, so that a zip bomb ends with a clear error
//! (exit code 2) instead of an allocation abort.
//!
//! .xlsx, .xlsm, .xlsb and .ods files are zip archives. Before calamine
//! opens one, [`check_workbook`]:
//!
//! 1. reads the archive's central directory and the relationships, to
//!    find the parts calamine reads (XML and binary parts, and whatever the
//!    relationships point to, since a sheet may be given any name; not
//!    images or embedded files), then checks their declared sizes: the
//!    compression ratio of each part larger than [`RATIO_CHECKED_FROM`], the
//!    size of the shared strings, and the total;
//! 2. inflates each XML part once through [`XmlScanner`], which keeps no more
//!    than one tag in memory. It checks the length of each cell's text, the
//!    number of shared strings (and the count the part declares, for which
//!    calamine reserves room up front), and for .ods the cells that repeated
//!    rows and columns expand to. Every XML event calamine will read is then
//!    known to be small.
//!
//! A part that inflates to more than its declared size is stopped by the
//! zip reader at that size (the `zip` crate checks it, for this scan and for
//! calamine's reading alike), so a lying header cannot get past step 1.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::ReadError;

/// Parts smaller than this are not checked for their compression ratio:
/// however well they compress, they cannot hurt.
pub const RATIO_CHECKED_FROM: u64 = 4 * MIB;

/// Shared strings allowed per byte of the shared-strings limit: one per 32
/// bytes, 33,554,432 for the default 1024 MiB (a 1,000,000-row sheet with 12
/// text columns, written without deduplication, has 12,000,000 in 310 MiB).
/// Each costs calamine about 40 bytes of memory besides its text.
const SHARED_STRING_BYTES: u64 = 32;

/// Bytes of memory a cell of a loaded .ods sheet costs calamine (its value
/// and its formula), for the repeated-cells estimate.
const ODS_CELL_BYTES: u64 = 64;

/// Excel's and calamine's last row and column, where calamine caps repeats.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

const MIB: u64 = 1024 * 1024;

/// The flags that raise each limit, as the error messages name them.
pub const FLAG_UNCOMPRESSED: &str = "--max-uncompressed-mb";
/// See [`FLAG_UNCOMPRESSED`].
pub const FLAG_RATIO: &str = "--max-compression-ratio";
/// See [`FLAG_UNCOMPRESSED`].
pub const FLAG_CELL_CHARS: &str = "--max-cell-chars";
/// See [`FLAG_UNCOMPRESSED`].
pub const FLAG_SHARED_STRINGS: &str = "--max-shared-strings-mb";

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
    fn max_tag_bytes(&self) -> usize {
        usize::try_from(
            self.max_cell_chars
                .saturating_mul(4)
                .saturating_add(64 * 1024),
        )
        .unwrap_or(usize::MAX)
    }

    /// The longest stretch of text between two tags, in bytes: the longest
    /// cell written with the longest escapes (`&#128512;`).
    fn max_text_bytes(&self) -> u64 {
        self.max_cell_chars.saturating_mul(10).saturating_add(1024)
    }
}

/// Checks a workbook (a zip archive) against `limits` before it is read.
///
/// An archive that the zip reader cannot make sense of passes: calamine
/// then reports it as damaged in its own words.
pub fn check_workbook(path: &Path, limits: &SpreadsheetLimits) -> Result<(), ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let Ok(mut archive) = zip::ZipArchive::new(BufReader::new(file)) else {
        return Ok(());
    };
    let over = |part: &str, what: String, limit: String, flag: &'static str| ReadError::Limit {
        path: path.to_path_buf(),
        part: part.to_owned(),
        what,
        limit,
        flag,
    };
    let damaged = |part: &str, message: String| ReadError::Workbook {
        path: path.to_path_buf(),
        message: format!("the file is damaged or crafted: its part {part} {message}"),
    };

    // 1. The entries, from the central directory.
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
            });
        }
    }
    let check_sizes = |part: &Part| -> Result<(), ReadError> {
        let (size, compressed) = (part.size, part.compressed);
        if size >= RATIO_CHECKED_FROM
            && size > compressed.saturating_mul(limits.max_compression_ratio)
        {
            return Err(over(
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
            return Err(over(
                &part.name,
                format!("the shared strings are {} uncompressed", size_text(size)),
                mib_text(limits.max_shared_strings_bytes),
                FLAG_SHARED_STRINGS,
            ));
        }
        Ok(())
    };

    // 2. The parts calamine reads: its XML parts by name, and whatever the
    // relationships point to, for a sheet may be given any name.
    let mut targets = HashSet::new();
    for part in entries.iter().filter(|p| p.lower.ends_with(".rels")) {
        check_sizes(part)?;
        let Ok(entry) = archive.by_index(part.index) else {
            continue;
        };
        let mut xml = Vec::new();
        entry
            .take(MAX_RELATIONSHIPS_BYTES)
            .read_to_end(&mut xml)
            .map_err(|e| damaged(&part.name, format!("cannot be read ({e})")))?;
        relationship_targets(&part.name, &xml, &mut targets);
    }
    let read: Vec<Part> = entries
        .into_iter()
        .filter(|p| targets.contains(&p.lower) || is_read_part(&p.lower))
        .collect();
    for part in &read {
        check_sizes(part)?;
    }
    let total = read
        .iter()
        .fold(0u64, |total, part| total.saturating_add(part.size));
    if total > limits.max_uncompressed_bytes {
        let largest = read
            .iter()
            .max_by_key(|part| part.size)
            .expect("a total above the limit has parts");
        return Err(over(
            &largest.name,
            format!(
                "the workbook's parts are {} uncompressed in all, this one {}",
                size_text(total),
                size_text(largest.size)
            ),
            mib_text(limits.max_uncompressed_bytes),
            FLAG_UNCOMPRESSED,
        ));
    }

    // 3. What the XML parts hold, inflated once through the scanner. An
    // .xlsb's binary parts are bounded by their sizes above; in any other
    // workbook a `.bin` part that is read at all is read as XML.
    let xlsb = read.iter().any(|p| p.lower.ends_with("workbook.bin"));
    for Part {
        index,
        name,
        lower,
        size,
        ..
    } in read
    {
        if lower.ends_with(".rels") || (xlsb && lower.ends_with(".bin")) {
            continue;
        }
        let Ok(mut entry) = archive.by_index(index) else {
            continue;
        };
        let mut scanner = XmlScanner::new(limits, &name);
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(damaged(
                        &name,
                        format!(
                            "cannot be read (it declares {} uncompressed: {e})",
                            size_text(size)
                        ),
                    ))
                }
            };
            scanner.feed(&buf[..n]).map_err(|e| match e {
                Found::Over { what, limit, flag } => over(&name, what, limit, flag),
                Found::Damaged(message) => damaged(&name, message),
            })?;
        }
    }
    Ok(())
}

/// An entry of the archive, as its central directory declares it.
struct Part {
    index: usize,
    name: String,
    /// The name in lower case.
    lower: String,
    size: u64,
    compressed: u64,
}

/// The most of a relationships part read for its targets; real ones are a
/// few KiB.
const MAX_RELATIONSHIPS_BYTES: u64 = 16 * MIB;

/// Adds the parts the relationships part `rels` (its bytes `xml`) points
/// to, as lower-case archive paths (calamine finds parts ignoring case).
fn relationship_targets(rels: &str, xml: &[u8], targets: &mut HashSet<String>) {
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
fn is_read_part(lower: &str) -> bool {
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

fn is_shared_strings(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("sharedstrings.xml") || lower.ends_with("sharedstrings.bin")
}

/// A limit in the unit of its flag: `1024 MiB`.
fn mib_text(bytes: u64) -> String {
    format!("{} MiB", bytes / MIB)
}

/// `1.5 GiB`, `12.0 MiB`, `512 bytes`.
fn size_text(bytes: u64) -> String {
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

/// What the scanner found wrong in a part.
#[derive(Debug, PartialEq)]
enum Found {
    /// A limit is exceeded: what, the limit, the flag that raises it.
    Over {
        what: String,
        limit: String,
        flag: &'static str,
    },
    /// Not a spreadsheet part at all.
    Damaged(String),
}

/// Bytes after `<` that tell a comment, CDATA section, processing
/// instruction or DTD (`![CDATA[` and `!DOCTYPE` are the longest).
const SPECIAL_PREFIX: usize = 8;

/// Where the scanner is in the XML.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Between tags.
    Text,
    /// After `<`, until the `>` outside quotes.
    Tag,
    /// A comment, CDATA section or processing instruction, until `end`.
    Special {
        end: &'static [u8],
        matched: usize,
        bytes: u64,
        text: bool,
    },
}

/// The text of the cell (or shared string) being scanned.
#[derive(Debug, Clone, Copy)]
struct CellText {
    name: CellName,
    chars: u64,
}

/// Which cell is being scanned; its label is only written for a message.
#[derive(Debug, Clone, Copy)]
enum CellName {
    /// An .xlsx cell, whose reference (`B7`) is in [`XmlScanner::reference`].
    Sheet,
    /// The n-th shared string, from 1.
    SharedString(u64),
    /// An .ods cell, 0-based, in the sheet being scanned.
    Ods { column: u64, row: u64 },
}

/// A streaming scan of one XML part that bounds every event calamine will
/// read: tags, text between tags, the text of each cell (across rich-text
/// runs and .ods `<text:s text:c="N"/>` space runs), the number of shared
/// strings, and the cells repeated rows and columns of an .ods sheet expand to.
struct XmlScanner<'a> {
    limits: &'a SpreadsheetLimits,
    shared_strings: bool,
    ods_content: bool,
    state: State,
    /// The current tag's bytes after `<`.
    tag: Vec<u8>,
    quote: u8,
    /// Bytes of text since the last tag.
    run_bytes: u64,
    /// Inside an entity (`&amp;`), which is one character.
    entity: bool,
    cell: Option<CellText>,
    /// The `r` attribute of the current .xlsx cell.
    reference: Vec<u8>,
    strings: u64,
    ods: OdsCells,
}

impl<'a> XmlScanner<'a> {
    fn new(limits: &'a SpreadsheetLimits, part: &str) -> XmlScanner<'a> {
        let lower = part.to_ascii_lowercase();
        XmlScanner {
            limits,
            shared_strings: is_shared_strings(&lower),
            ods_content: lower == "content.xml",
            state: State::Text,
            tag: Vec::new(),
            quote: 0,
            run_bytes: 0,
            entity: false,
            cell: None,
            reference: Vec::new(),
            strings: 0,
            ods: OdsCells::default(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), Found> {
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::Text => {
                    let rest = &bytes[i..];
                    let end = memchr::memchr(b'<', rest).unwrap_or(rest.len());
                    self.text(&rest[..end])?;
                    i += end;
                    if end < rest.len() {
                        i += 1;
                        self.state = State::Tag;
                        self.tag.clear();
                        self.quote = 0;
                        self.entity = false;
                    }
                }
                // The first bytes one by one, to tell comments and the like
                // (`<!` and `<?`); an element's tag goes on at once.
                State::Tag
                    if self.tag.is_empty()
                        || (self.tag.len() < SPECIAL_PREFIX
                            && matches!(self.tag[0], b'!' | b'?')) =>
                {
                    self.tag_byte(bytes[i])?;
                    i += 1;
                }
                State::Tag => {
                    // Then up to the next quote or `>` at once.
                    let rest = &bytes[i..];
                    let n = match self.quote {
                        0 => memchr::memchr3(b'"', b'\'', b'>', rest),
                        q => memchr::memchr(q, rest),
                    }
                    .unwrap_or(rest.len());
                    if self.tag.len() + n > self.limits.max_tag_bytes() {
                        return Err(self.too_long_tag());
                    }
                    self.tag.extend_from_slice(&rest[..n]);
                    i += n;
                    if n < rest.len() {
                        self.tag_byte(rest[n])?;
                        i += 1;
                    }
                }
                State::Special {
                    end,
                    mut matched,
                    bytes: mut seen,
                    text,
                } => {
                    let b = bytes[i];
                    i += 1;
                    seen += 1;
                    if seen > self.limits.max_tag_bytes() as u64 {
                        return Err(self.too_long_tag());
                    }
                    if text && b & 0xC0 != 0x80 {
                        self.add_chars(1)?;
                    }
                    if b == end[matched] {
                        matched += 1;
                    } else if b == end[0] {
                        // `--->` and `]]]>` still end there.
                        matched = if matched >= 2 && end[1] == end[0] {
                            matched
                        } else {
                            1
                        };
                    } else {
                        matched = 0;
                    }
                    self.state = if matched == end.len() {
                        self.run_bytes = 0;
                        State::Text
                    } else {
                        State::Special {
                            end,
                            matched,
                            bytes: seen,
                            text,
                        }
                    };
                }
            }
        }
        Ok(())
    }

    fn text(&mut self, text: &[u8]) -> Result<(), Found> {
        if text.is_empty() {
            return Ok(());
        }
        self.run_bytes += text.len() as u64;
        if self.run_bytes > self.limits.max_text_bytes() {
            return Err(Found::Over {
                what: format!(
                    "{} holds a text of more than {} between two tags",
                    self.where_(),
                    size_text(self.limits.max_text_bytes())
                ),
                limit: format!("{} characters per cell", self.limits.max_cell_chars),
                flag: FLAG_CELL_CHARS,
            });
        }
        if self.cell.is_none() {
            // Outside cells only the bytes count.
            return Ok(());
        }
        let chars = if !self.entity && memchr::memchr(b'&', text).is_none() {
            // Characters are the bytes that do not continue one.
            text.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
        } else {
            let mut chars = 0;
            for &b in text {
                if self.entity {
                    self.entity = b != b';';
                } else if b == b'&' {
                    self.entity = true;
                    chars += 1;
                } else if b & 0xC0 != 0x80 {
                    chars += 1;
                }
            }
            chars
        };
        self.add_chars(chars)
    }

    fn add_chars(&mut self, chars: u64) -> Result<(), Found> {
        let max = self.limits.max_cell_chars;
        let Some(cell) = &mut self.cell else {
            return Ok(());
        };
        cell.chars = cell.chars.saturating_add(chars);
        if cell.chars > max {
            return Err(Found::Over {
                what: format!("{} holds more than {max} characters", self.where_()),
                limit: format!("{max} characters per cell"),
                flag: FLAG_CELL_CHARS,
            });
        }
        Ok(())
    }

    /// `cell B7`, `shared string 12`, `cell C3 of sheet "Ark1"`, or `it`
    /// outside cells, for messages.
    fn where_(&self) -> String {
        match self.cell.map(|c| c.name) {
            None => "it".to_owned(),
            Some(CellName::Sheet) if self.reference.is_empty() => "a cell".to_owned(),
            Some(CellName::Sheet) => {
                format!("cell {}", String::from_utf8_lossy(&self.reference))
            }
            Some(CellName::SharedString(n)) => format!("shared string {n}"),
            Some(CellName::Ods { column, row }) => format!(
                "cell {}{} of sheet \"{}\"",
                crate::read::column_letters(column as usize),
                row + 1,
                self.ods.sheet
            ),
        }
    }

    fn too_long_tag(&self) -> Found {
        Found::Over {
            what: format!(
                "{} has a tag or comment longer than {}",
                self.where_(),
                size_text(self.limits.max_tag_bytes() as u64)
            ),
            limit: format!("{} characters per cell", self.limits.max_cell_chars),
            flag: FLAG_CELL_CHARS,
        }
    }

    fn tag_byte(&mut self, b: u8) -> Result<(), Found> {
        if self.tag.len() >= self.limits.max_tag_bytes() {
            return Err(self.too_long_tag());
        }
        if self.quote != 0 {
            if b == self.quote {
                self.quote = 0;
            }
        } else if b == b'"' || b == b'\'' {
            self.quote = b;
        } else if b == b'>' {
            self.state = State::Text;
            self.run_bytes = 0;
            return self.end_of_tag();
        }
        self.tag.push(b);
        if self.tag.len() > SPECIAL_PREFIX {
            return Ok(());
        }
        let special = |end: &'static [u8], text: bool| State::Special {
            end,
            matched: 0,
            bytes: 0,
            text,
        };
        match self.tag.as_slice() {
            b"!--" => self.state = special(b"-->", false),
            b"![CDATA[" => self.state = special(b"]]>", true),
            b"?" => self.state = special(b"?>", false),
            t if t.len() == 8 && t.eq_ignore_ascii_case(b"!DOCTYPE") => {
                return Err(Found::Damaged(
                    "declares a DTD (<!DOCTYPE>), which spreadsheet files never have".to_owned(),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// A complete tag is in `self.tag`.
    fn end_of_tag(&mut self) -> Result<(), Found> {
        let tag = std::mem::take(&mut self.tag);
        let closing = tag.first() == Some(&b'/');
        let body = if closing { &tag[1..] } else { &tag[..] };
        let self_closing = body.last() == Some(&b'/');
        let name_end = body
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(body.len());
        let (name, attrs) = body.split_at(name_end);
        let result = if self.ods_content {
            self.ods_tag(name, attrs, closing, self_closing)
        } else {
            self.ooxml_tag(name, attrs, closing, self_closing)
        };
        self.tag = tag;
        result
    }

    fn ooxml_tag(
        &mut self,
        name: &[u8],
        attrs: &[u8],
        closing: bool,
        self_closing: bool,
    ) -> Result<(), Found> {
        // Some writers prefix every element (`<x:c>`); calamine reads local names.
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        match (local, closing) {
            (b"c" | b"si", true) => self.cell = None,
            (b"sst", false) if self.shared_strings => {
                let max = self.limits.max_shared_strings();
                for key in [&b"uniqueCount"[..], b"count"] {
                    let declared = attr(attrs, key).and_then(parse_u64).unwrap_or(0);
                    if declared > max {
                        return Err(
                            self.too_many_strings(format!("it declares {declared} shared strings"))
                        );
                    }
                }
            }
            (b"si", false) if self.shared_strings => {
                self.strings += 1;
                if self.strings > self.limits.max_shared_strings() {
                    return Err(self.too_many_strings(format!(
                        "it has more than {} shared strings",
                        self.limits.max_shared_strings()
                    )));
                }
                self.cell = (!self_closing).then_some(CellText {
                    name: CellName::SharedString(self.strings),
                    chars: 0,
                });
            }
            (b"c", false) if !self_closing => {
                self.reference.clear();
                self.reference
                    .extend_from_slice(attr(attrs, b"r").unwrap_or_default());
                self.cell = Some(CellText {
                    name: CellName::Sheet,
                    chars: 0,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn too_many_strings(&self, what: String) -> Found {
        Found::Over {
            what,
            limit: format!(
                "{} shared strings (one per {SHARED_STRING_BYTES} bytes of {})",
                self.limits.max_shared_strings(),
                mib_text(self.limits.max_shared_strings_bytes)
            ),
            flag: FLAG_SHARED_STRINGS,
        }
    }

    fn ods_tag(
        &mut self,
        name: &[u8],
        attrs: &[u8],
        closing: bool,
        self_closing: bool,
    ) -> Result<(), Found> {
        match (name, closing) {
            (b"table:table", false) => self.ods.start_sheet(attrs),
            (b"table:table", true) => self.ods.end_sheet(),
            (b"table:table-row", false) => {
                self.ods.start_row(attrs);
                if self_closing {
                    self.ods.end_row();
                }
            }
            (b"table:table-row", true) => self.ods.end_row(),
            (b"table:table-cell" | b"table:covered-table-cell", false) => {
                let (column, row) = self.ods.cell(attrs, self_closing);
                self.cell = (!self_closing).then_some(CellText {
                    name: CellName::Ods { column, row },
                    chars: 0,
                });
            }
            (b"table:table-cell" | b"table:covered-table-cell", true) => self.cell = None,
            (b"text:s", false) => {
                let spaces = attr(attrs, b"text:c").and_then(parse_u64).unwrap_or(1);
                self.add_chars(spaces)?;
            }
            _ => {}
        }
        let max_cells = self.limits.max_uncompressed_bytes / ODS_CELL_BYTES;
        let cells = self.ods.cells();
        if cells > max_cells {
            return Err(Found::Over {
                what: format!(
                    "sheet \"{}\" expands to more than {cells} cells through repeated rows \
                     and columns, about {} in memory",
                    self.ods.sheet,
                    size_text(cells.saturating_mul(ODS_CELL_BYTES))
                ),
                limit: mib_text(self.limits.max_uncompressed_bytes),
                flag: FLAG_UNCOMPRESSED,
            });
        }
        Ok(())
    }
}

/// The cells an .ods workbook's sheets expand to once calamine loads them:
/// from the first to the last row with a value, as wide as the widest such
/// row, counting repeated rows and columns (empty ones at the end, which
/// LibreOffice writes, cost nothing).
#[derive(Debug, Default)]
struct OdsCells {
    sheet: String,
    /// Rows so far in this sheet, repeats counted.
    rows: u64,
    /// Repeats of the current row.
    row_repeats: u64,
    /// Columns so far in the current row, repeats counted.
    col: u64,
    /// One past the last column with a value in the current row.
    row_end: u64,
    /// First row with a value, one past the last, and the widest such row.
    first: Option<u64>,
    last_end: u64,
    width: u64,
    /// Cells of the sheets before this one.
    done: u64,
}

impl OdsCells {
    fn start_sheet(&mut self, attrs: &[u8]) {
        *self = OdsCells {
            sheet: attr(attrs, b"table:name")
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default(),
            done: self.done,
            ..OdsCells::default()
        };
    }

    fn end_sheet(&mut self) {
        self.done = self.cells();
        self.first = None;
        self.last_end = 0;
        self.width = 0;
    }

    fn start_row(&mut self, attrs: &[u8]) {
        let repeats = attr(attrs, b"table:number-rows-repeated")
            .and_then(parse_u64)
            .unwrap_or(1);
        self.row_repeats = repeats.min(MAX_ROWS.saturating_sub(self.rows));
        self.col = 0;
        self.row_end = 0;
    }

    fn end_row(&mut self) {
        if self.row_end > 0 {
            self.first.get_or_insert(self.rows);
            self.last_end = self.rows + self.row_repeats;
            self.width = self.width.max(self.row_end);
        }
        self.rows += self.row_repeats;
        self.row_repeats = 0;
    }

    /// A cell starts; its 0-based column and row.
    fn cell(&mut self, attrs: &[u8], self_closing: bool) -> (u64, u64) {
        let repeats = attr(attrs, b"table:number-columns-repeated")
            .and_then(parse_u64)
            .unwrap_or(1)
            .min(MAX_COLUMNS.saturating_sub(self.col));
        let value = !self_closing
            || attr(attrs, b"office:value-type").is_some()
            || attr(attrs, b"table:formula").is_some();
        let position = (self.col, self.rows);
        self.col += repeats;
        if value && repeats > 0 {
            self.row_end = self.col;
        }
        position
    }

    /// Cells of all sheets so far.
    fn cells(&self) -> u64 {
        let rows = self.first.map_or(0, |first| self.last_end - first);
        self.done.saturating_add(rows.saturating_mul(self.width))
    }
}

/// The value of attribute `key` in a tag's attributes (escapes left as they are).
fn attr<'t>(attrs: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    let mut rest = attrs;
    loop {
        let start = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != b'/')?;
        rest = &rest[start..];
        let eq = rest.iter().position(|&b| b == b'=')?;
        let name = rest[..eq].trim_ascii();
        rest = rest[eq + 1..].trim_ascii_start();
        let quote = *rest.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let len = rest[1..].iter().position(|&b| b == quote)?;
        let value = &rest[1..=len];
        if name == key {
            return Some(value);
        }
        rest = &rest[len + 2..];
    }
}

/// A whole number; a huge one saturates (it is over any limit anyway).
fn parse_u64(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(part: &str, xml: &str, limits: &SpreadsheetLimits) -> Result<(), Found> {
        let mut scanner = XmlScanner::new(limits, part);
        // Fed in small pieces, so that every state crosses a boundary.
        for chunk in xml.as_bytes().chunks(3) {
            scanner.feed(chunk)?;
        }
        Ok(())
    }

    fn small() -> SpreadsheetLimits {
        SpreadsheetLimits {
            max_cell_chars: 10,
            max_shared_strings_bytes: 32 * 3,
            ..SpreadsheetLimits::default()
        }
    }

    fn what(found: Result<(), Found>) -> String {
        match found {
            Err(Found::Over { what, .. }) => what,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cell_text_is_counted_across_runs_and_escapes() {
        let limits = small();
        let sheet = "xl/worksheets/sheet1.xml";
        assert!(scan(
            sheet,
            r#"<c r="A1" t="inlineStr"><is><t>0123456789</t></is></c>"#,
            &limits
        )
        .is_ok());
        assert!(scan(
            sheet,
            r#"<c r="A1"><v>&amp;&amp;&amp;&amp;&amp;&#128512;xyzø</v></c>"#,
            &limits
        )
        .is_ok());
        assert_eq!(
            what(scan(
                sheet,
                r#"<x:c r="B7"><x:is><x:r><x:t>012345</x:t></x:r><x:r><x:t>6789a</x:t></x:r></x:is></x:c>"#,
                &limits
            )),
            "cell B7 holds more than 10 characters"
        );
        // Long text outside cells (a comment, say) is bounded in bytes only.
        assert!(scan(
            sheet,
            "<!-- a > b --- c -->plain text outside any cell<a/>",
            &limits
        )
        .is_ok());
        assert!(scan(sheet, &format!("<a>{}</a>", "x".repeat(2000)), &limits).is_err());
        assert!(scan(
            sheet,
            &format!("<a b=\"{}\"/>", "x".repeat(70_000)),
            &limits
        )
        .is_err());
    }

    #[test]
    fn shared_strings_are_counted_and_their_declared_count_checked() {
        let limits = small();
        let part = "xl/sharedStrings.xml";
        assert_eq!(limits.max_shared_strings(), 3);
        assert!(scan(
            part,
            r#"<sst uniqueCount="3"><si><t>a</t></si><si/><si><t>b</t></si></sst>"#,
            &limits
        )
        .is_ok());
        assert_eq!(
            what(scan(
                part,
                r#"<sst count="9" uniqueCount="99999999999999999999999">"#,
                &limits
            )),
            "it declares 18446744073709551615 shared strings"
        );
        assert_eq!(
            what(scan(part, "<sst><si/><si/><si/><si/></sst>", &limits)),
            "it has more than 3 shared strings"
        );
        assert_eq!(
            what(scan(
                part,
                "<sst><si/><si><t>0123456789X</t></si></sst>",
                &limits
            )),
            "shared string 2 holds more than 10 characters"
        );
    }

    #[test]
    fn ods_spaces_and_repeats_are_expanded() {
        let limits = small();
        assert_eq!(
            what(scan(
                "content.xml",
                r#"<table:table table:name="Ark1"><table:table-row><table:table-cell/><table:table-cell><text:p>a<text:s text:c="1000000000"/>b</text:p></table:table-cell></table:table-row></table:table>"#,
                &limits
            )),
            "cell B1 of sheet \"Ark1\" holds more than 10 characters"
        );
        let rows = |repeats: u64, value: &str| {
            format!(
                r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="{repeats}"><table:table-cell table:number-columns-repeated="16384" {value}/></table:table-row></table:table>"#
            )
        };
        // LibreOffice's trailing empty rows and columns cost nothing.
        assert!(scan("content.xml", &rows(1_048_576, ""), &limits).is_ok());
        assert!(scan(
            "content.xml",
            &rows(1000, r#"office:value-type="float""#),
            &limits
        )
        .is_ok());
        assert!(what(scan(
            "content.xml",
            &rows(1_048_576, r#"office:value-type="float""#),
            &limits
        ))
        .starts_with("sheet \"S\" expands to more than"));
    }

    #[test]
    fn dtds_are_refused() {
        assert!(matches!(
            scan(
                "xl/workbook.xml",
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x/>",
                &small()
            ),
            Err(Found::Damaged(_))
        ));
    }

    #[test]
    fn relationship_targets_resolve_like_paths() {
        let mut targets = HashSet::new();
        relationship_targets(
            "xl/_rels/workbook.xml.rels",
            br#"<Relationships><Relationship Id="rId1" Target="worksheets/Sheet1.xml"/><Relationship Id="rId2" Target="../Media/x.PNG"/><Relationship Target="/xl/styles.xml"/><Relationship Target="https://example.com" TargetMode="External"/></Relationships>"#,
            &mut targets,
        );
        relationship_targets(
            "_rels/.rels",
            br#"<Relationship Target="xl/workbook.xml"/>"#,
            &mut targets,
        );
        let mut found: Vec<_> = targets.into_iter().collect();
        found.sort();
        assert_eq!(
            found,
            [
                "media/x.png",
                "xl/styles.xml",
                "xl/workbook.xml",
                "xl/worksheets/sheet1.xml"
            ]
        );
    }

    #[test]
    fn attributes() {
        assert_eq!(attr(br#" r="A1" s='2' t="s""#, b"s"), Some(&b"2"[..]));
        assert_eq!(attr(br#" r="A1"/"#, b"t"), None);
        assert_eq!(parse_u64(b" 42 "), Some(42));
        assert_eq!(parse_u64(b"-1"), None);
    }
}
