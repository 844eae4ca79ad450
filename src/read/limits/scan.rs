//! A streaming scan of a workbook's XML parts that bounds every event
//! calamine will read, keeping no more than one tag in memory.

use super::sizes::{
    is_shared_strings, mib_text, size_text, SpreadsheetLimits, FLAG_CELL_CHARS,
    FLAG_SHARED_STRINGS, FLAG_UNCOMPRESSED, MAX_COLUMNS, MAX_ROWS, ODS_CELL_BYTES,
    SHARED_STRING_BYTES,
};

/// What the scanner found wrong in a part.
#[derive(Debug, PartialEq)]
pub(super) enum Found {
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
pub(super) struct XmlScanner<'a> {
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
    pub(super) fn new(limits: &'a SpreadsheetLimits, part: &str) -> XmlScanner<'a> {
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

    /// Scans the next bytes of the part.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<(), Found> {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            i += match self.state {
                State::Text => self.feed_in_place(rest)?,
                // The first bytes one by one, to tell comments and the like
                // (`<!` and `<?`); an element's tag goes on at once.
                State::Tag
                    if self.tag.is_empty()
                        || (self.tag.len() < SPECIAL_PREFIX
                            && matches!(self.tag[0], b'!' | b'?')) =>
                {
                    self.tag_byte(rest[0])?;
                    1
                }
                State::Tag => self.feed_tag(rest)?,
                State::Special {
                    end,
                    matched,
                    bytes: seen,
                    text,
                } => {
                    self.special_byte(rest[0], end, matched, seen, text)?;
                    1
                }
            };
        }
        Ok(())
    }

    /// Between tags: text, then each element's tag whole in `bytes`, read
    /// where they lie, one after the other; the bytes taken. Stops at the
    /// end of `bytes`, or just after a `<` whose tag is a comment, CDATA
    /// section, processing instruction or DTD (which start with `!` or
    /// `?`), or is not whole in `bytes`: the byte-wise path goes on with it.
    /// Most tags and texts are a few bytes long, so this is where the scan
    /// spends its time.
    fn feed_in_place(&mut self, bytes: &[u8]) -> Result<usize, Found> {
        let mut at = 0;
        loop {
            let rest = &bytes[at..];
            let end = find_lt(rest);
            self.text(&rest[..end])?;
            if end == rest.len() {
                return Ok(bytes.len());
            }
            at += end + 1;
            self.state = State::Tag;
            self.tag.clear();
            self.quote = 0;
            self.entity = false;
            let rest = &bytes[at..];
            if matches!(rest.first(), None | Some(b'!' | b'?')) {
                return Ok(at);
            }
            let window = &rest[..rest.len().min(self.limits.max_tag_bytes())];
            let Some(end) = tag_end(window) else {
                return Ok(at);
            };
            self.state = State::Text;
            self.run_bytes = 0;
            let tag = &rest[..end];
            if self.ods_content || may_count(tag) {
                self.complete_tag(tag)?;
            }
            at += end + 1;
        }
    }

    /// A tag's bytes up to the next quote or `>` at once, then that byte;
    /// the bytes taken.
    fn feed_tag(&mut self, rest: &[u8]) -> Result<usize, Found> {
        let n = match self.quote {
            0 => memchr::memchr3(b'"', b'\'', b'>', rest),
            q => memchr::memchr(q, rest),
        }
        .unwrap_or(rest.len());
        if self.tag.len() + n > self.limits.max_tag_bytes() {
            return Err(self.too_long_tag());
        }
        self.tag.extend_from_slice(&rest[..n]);
        if n == rest.len() {
            return Ok(n);
        }
        self.tag_byte(rest[n])?;
        Ok(n + 1)
    }

    /// One byte `b` of a comment, CDATA section or processing instruction
    /// that ends with `end`, of which `matched` bytes are seen, after `seen`
    /// bytes in all; the characters of CDATA (`text`) count to the cell.
    fn special_byte(
        &mut self,
        b: u8,
        end: &'static [u8],
        mut matched: usize,
        mut seen: u64,
        text: bool,
    ) -> Result<(), Found> {
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
        // Characters are the bytes that do not continue one; an entity
        // (`&amp;`) is one, counted below when there is one.
        let (chars, ampersand) = text.iter().fold((0u64, false), |(chars, amp), &b| {
            (chars + u64::from(b & 0xC0 != 0x80), amp | (b == b'&'))
        });
        if !self.entity && !ampersand {
            return self.add_chars(chars);
        }
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
        let result = self.complete_tag(&tag);
        self.tag = tag;
        result
    }

    /// The bytes of a complete tag, between `<` and `>`.
    fn complete_tag(&mut self, tag: &[u8]) -> Result<(), Found> {
        let closing = tag.first() == Some(&b'/');
        let body = if closing { &tag[1..] } else { tag };
        let self_closing = body.last() == Some(&b'/');
        let name_end = body
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(body.len());
        let (name, attrs) = body.split_at(name_end);
        if self.ods_content {
            self.ods_tag(name, attrs, closing, self_closing)
        } else {
            self.ooxml_tag(name, attrs, closing, self_closing)
        }
    }

    fn ooxml_tag(
        &mut self,
        name: &[u8],
        attrs: &[u8],
        closing: bool,
        self_closing: bool,
    ) -> Result<(), Found> {
        // Some writers prefix every element (`<x:c>`); calamine reads local names.
        let local = match name.iter().rposition(|&b| b == b':') {
            Some(colon) => &name[colon + 1..],
            None => name,
        };
        // Byte patterns rather than string literals: compared in place, not by a call.
        match (local, closing) {
            ([b'c'] | [b's', b'i'], true) => self.cell = None,
            ([b's', b's', b't'], false) if self.shared_strings => self.declared_strings(attrs)?,
            ([b's', b'i'], false) if self.shared_strings => {
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
            ([b'c'], false) if !self_closing => {
                self.reference.clear();
                self.reference.extend_from_slice(reference(attrs));
                self.cell = Some(CellText {
                    name: CellName::Sheet,
                    chars: 0,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// The `<sst>` tag: the counts of shared strings it declares.
    fn declared_strings(&self, attrs: &[u8]) -> Result<(), Found> {
        let max = self.limits.max_shared_strings();
        for key in [&b"uniqueCount"[..], b"count"] {
            let declared = attr(attrs, key).and_then(parse_u64).unwrap_or(0);
            if declared > max {
                return Err(self.too_many_strings(format!("it declares {declared} shared strings")));
            }
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

/// Where the `>` that ends a tag is in `bytes` (one outside quotes), if it is there.
fn tag_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'>' => return Some(at),
            quote @ (b'"' | b'\'') => {
                // Attribute values are short: a plain loop beats memchr's setup.
                at += 1 + bytes[at + 1..].iter().position(|&b| b == quote)?;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// Whether an .xlsx part's tag (between `<` and `>`) may be one the scan
/// counts (`c`, `si`, `sst`, open or closed, perhaps prefixed): the first
/// letter of the name is `c` or `s`, or the tag has a prefix. Most tags
/// (`row`, `v`, `t`, `is`) are told apart at once.
fn may_count(tag: &[u8]) -> bool {
    let name = tag.strip_prefix(b"/").unwrap_or(tag);
    matches!(name.first(), Some(b'c' | b's')) || name.contains(&b':')
}

/// The `r` attribute (the cell's reference, `B7`) of a cell's attributes,
/// or nothing; where writers put it, first, it is found at once.
fn reference(attrs: &[u8]) -> &[u8] {
    if let Some(value) = attrs.strip_prefix(b" r=\"") {
        if let Some(end) = value.iter().position(|&b| b == b'"') {
            return &value[..end];
        }
    }
    attr(attrs, b"r").unwrap_or_default()
}

/// Where the next `<` is in `bytes`, or their length. Text between tags
/// is mostly a few bytes (`<v>12</v>`): the first bytes are looked at one
/// by one, before memchr's setup is worth it.
fn find_lt(bytes: &[u8]) -> usize {
    const SHORT: usize = 16;
    match bytes.iter().take(SHORT).position(|&b| b == b'<') {
        Some(at) => at,
        None if bytes.len() <= SHORT => bytes.len(),
        None => memchr::memchr(b'<', &bytes[SHORT..]).map_or(bytes.len(), |at| SHORT + at),
    }
}

/// The value of attribute `key` in a tag's attributes (escapes left as they are).
pub(super) fn attr<'t>(attrs: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
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
pub(super) fn parse_u64(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}
