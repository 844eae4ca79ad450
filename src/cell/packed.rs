//! A row's cells in one buffer: [`Cells`] (what a reader hands on, cells
//! of any kind, seen one at a time as a [`CellRef`]) and [`Texts`] (a row's
//! cells as text, for the results file).
//!
//! A row of 16 cells kept as 16 `String`s costs 16 allocations on the thread
//! that reads and 16 frees on the one that writes the results, and a free on
//! another thread than the allocation's is the dearer kind. Kept packed, the
//! texts of a row are one buffer and the cells point into it: two
//! allocations a row, whatever its width, and a CSV row's [`Cells`] become
//! its [`Texts`] without a copy ([`Cells::into_texts`]).

use std::borrow::Cow;

use super::{format_number, is_invisible, Cell};

/// One cell of a [`Cells`], borrowed: [`Cell`] without owning its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    /// No value.
    Empty,
    /// Text, exactly as stored (not yet trimmed or cleaned).
    Text(&'a str),
    /// A floating-point number.
    Number(f64),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A date, time or date-time: its serial value and ISO 8601 text.
    Date {
        /// The spreadsheet's serial value.
        serial: f64,
        /// ISO 8601 rendering.
        text: &'a str,
    },
    /// An error value such as `#N/A`.
    Error(&'a str),
}

impl<'a> CellRef<'a> {
    /// The text a user sees in this cell (see [`Cell::text`]).
    pub fn text(self) -> Cow<'a, str> {
        match self {
            CellRef::Empty => Cow::Borrowed(""),
            CellRef::Text(s) => Cow::Borrowed(s),
            CellRef::Number(n) => Cow::Owned(format_number(n)),
            CellRef::Int(i) => Cow::Owned(i.to_string()),
            CellRef::Bool(true) => Cow::Borrowed("TRUE"),
            CellRef::Bool(false) => Cow::Borrowed("FALSE"),
            CellRef::Date { text, .. } => Cow::Borrowed(text),
            CellRef::Error(e) => Cow::Borrowed(e),
        }
    }

    /// True for an empty cell or one holding only white space.
    pub fn is_blank(self) -> bool {
        match self {
            CellRef::Empty => true,
            // Most cells start with a visible ASCII character: decided at once.
            CellRef::Text(s) => match s.as_bytes().first() {
                None => true,
                Some(b) if b.is_ascii() && !b.is_ascii_whitespace() => false,
                _ => s.chars().all(|c| c.is_whitespace() || is_invisible(c)),
            },
            _ => false,
        }
    }

    /// The cell as an owned [`Cell`].
    pub fn to_cell(self) -> Cell {
        match self {
            CellRef::Empty => Cell::Empty,
            CellRef::Text(s) => Cell::Text(s.to_owned()),
            CellRef::Number(n) => Cell::Number(n),
            CellRef::Int(i) => Cell::Int(i),
            CellRef::Bool(b) => Cell::Bool(b),
            CellRef::Date { serial, text } => Cell::Date {
                serial,
                text: text.to_owned(),
            },
            CellRef::Error(e) => Cell::Error(e.to_owned()),
        }
    }
}

/// Where a cell's value lies in a [`Cells`]: texts as byte ranges of its buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Empty,
    Text {
        start: usize,
        end: usize,
    },
    Number(f64),
    Int(i64),
    Bool(bool),
    Date {
        serial: f64,
        start: usize,
        end: usize,
    },
    Error {
        start: usize,
        end: usize,
    },
}

/// A row's cells, their texts in one buffer (see the [module](self)).
#[derive(Debug, Clone, Default)]
pub struct Cells {
    text: String,
    slots: Vec<Slot>,
    /// Every text is ASCII without control characters (see [`Cells::is_plain_ascii`]).
    plain_ascii: bool,
}

impl Cells {
    /// No cells yet, with room for `cells` cells and `bytes` bytes of text.
    pub fn with_capacity(cells: usize, bytes: usize) -> Cells {
        Cells {
            text: String::with_capacity(bytes),
            slots: Vec::with_capacity(cells),
            plain_ascii: false,
        }
    }

    /// `n` empty cells.
    pub fn empty(n: usize) -> Cells {
        Cells {
            text: String::new(),
            slots: vec![Slot::Empty; n],
            plain_ascii: true,
        }
    }

    /// The cells of a CSV record: `record` is its fields' text back to
    /// back, `ends` where each field ends in it (an empty field is an
    /// empty cell). `plain_ascii` says whether `record` is ASCII without
    /// control characters (see [`Cells::is_plain_ascii`]).
    pub fn of_record(
        record: &str,
        ends: impl Iterator<Item = usize>,
        width: usize,
        plain_ascii: bool,
    ) -> Cells {
        let mut slots = Vec::with_capacity(width);
        let mut start = 0;
        for end in ends {
            slots.push(if end == start {
                Slot::Empty
            } else {
                Slot::Text { start, end }
            });
            start = end;
        }
        Cells {
            text: record.to_owned(),
            slots,
            plain_ascii,
        }
    }

    /// Whether every text of these cells is known to be ASCII without
    /// control characters (no byte below a space, no DEL): such a text has
    /// nothing to clean but spaces at its ends, and no character a field
    /// may not hold. False when not known.
    pub fn is_plain_ascii(&self) -> bool {
        self.plain_ascii
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no cells at all (not: when they are blank).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Cell `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<CellRef<'_>> {
        self.slots.get(i).map(|&slot| self.view(slot))
    }

    /// The cells in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = CellRef<'_>> + ExactSizeIterator + '_ {
        self.slots.iter().map(|&slot| self.view(slot))
    }

    #[inline]
    fn view(&self, slot: Slot) -> CellRef<'_> {
        match slot {
            Slot::Empty => CellRef::Empty,
            Slot::Text { start, end } => CellRef::Text(&self.text[start..end]),
            Slot::Number(n) => CellRef::Number(n),
            Slot::Int(i) => CellRef::Int(i),
            Slot::Bool(b) => CellRef::Bool(b),
            Slot::Date { serial, start, end } => CellRef::Date {
                serial,
                text: &self.text[start..end],
            },
            Slot::Error { start, end } => CellRef::Error(&self.text[start..end]),
        }
    }

    /// Appends `cell`.
    pub fn push(&mut self, cell: CellRef<'_>) {
        let slot = self.slot_of(cell);
        self.slots.push(slot);
    }

    /// Puts `cell` at column `i`, empty cells before it where there were
    /// none; a cell already there is replaced.
    pub fn put(&mut self, i: usize, cell: CellRef<'_>) {
        let slot = self.slot_of(cell);
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Slot::Empty);
        }
        self.slots[i] = slot;
    }

    /// The slot of `cell`, its text copied to the buffer.
    fn slot_of(&mut self, cell: CellRef<'_>) -> Slot {
        if !matches!(cell, CellRef::Empty) {
            self.plain_ascii = false;
        }
        let mut keep = |s: &str| {
            let start = self.text.len();
            self.text.push_str(s);
            (start, self.text.len())
        };
        match cell {
            CellRef::Empty => Slot::Empty,
            CellRef::Text(s) => {
                let (start, end) = keep(s);
                Slot::Text { start, end }
            }
            CellRef::Number(n) => Slot::Number(n),
            CellRef::Int(i) => Slot::Int(i),
            CellRef::Bool(b) => Slot::Bool(b),
            CellRef::Date { serial, text } => {
                let (start, end) = keep(text);
                Slot::Date { serial, start, end }
            }
            CellRef::Error(e) => {
                let (start, end) = keep(e);
                Slot::Error { start, end }
            }
        }
    }

    /// Loads the cells' memory into this core's cache: one byte of every
    /// cache line, the loads independent of each other so that their misses
    /// overlap.
    pub fn warm(&self) {
        let slots = self.slots.len() * std::mem::size_of::<Slot>();
        let lines = |len: usize| (0..len).step_by(64);
        let text = self.text.as_bytes();
        let mut any = lines(text.len()).fold(0u8, |a, i| a ^ text[i]);
        // The slots hold no padding bytes a read could see; their tags suffice.
        for i in lines(slots).map(|at| at / std::mem::size_of::<Slot>()) {
            any ^= matches!(self.slots[i], Slot::Empty) as u8;
        }
        std::hint::black_box(any);
    }

    /// Pads the row with empty cells to `n` cells (a longer row is left as it is).
    pub fn pad_to(&mut self, n: usize) {
        if self.slots.len() < n {
            self.slots.resize(n, Slot::Empty);
        }
    }

    /// Keeps the first `n` cells.
    pub fn truncate(&mut self, n: usize) {
        self.slots.truncate(n);
    }

    /// Drops the first `n` cells (all of them when there are fewer).
    pub fn drop_front(&mut self, n: usize) {
        self.slots.drain(..n.min(self.slots.len()));
    }

    /// The cells as owned [`Cell`]s.
    pub fn to_vec(&self) -> Vec<Cell> {
        self.iter().map(CellRef::to_cell).collect()
    }

    /// The cells as text, one per cell, as [`CellRef::text`] shows them.
    /// The cells of a CSV record (texts in order, back to back, empty
    /// cells between them) keep their buffer: nothing is copied.
    pub fn into_texts(self) -> Texts {
        let mut ends = Vec::with_capacity(self.slots.len());
        let mut at = 0;
        for slot in &self.slots {
            match *slot {
                Slot::Empty => ends.push(at),
                Slot::Text { start, end } if start == at => {
                    ends.push(end);
                    at = end;
                }
                _ => return self.iter().map(CellRef::text).collect(),
            }
        }
        let mut text = self.text;
        text.truncate(at);
        Texts { text, ends }
    }

    /// Only for tests: these cells, marked plain ASCII or not.
    #[cfg(test)]
    pub(crate) fn marked_plain_ascii(mut self, plain_ascii: bool) -> Cells {
        self.plain_ascii = plain_ascii;
        self
    }
}

impl PartialEq for Cells {
    /// Equal when the cells are, wherever their texts lie.
    fn eq(&self, other: &Cells) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PartialEq<Vec<Cell>> for Cells {
    fn eq(&self, other: &Vec<Cell>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().map(Cell::view))
    }
}

impl<const N: usize> PartialEq<[Cell; N]> for Cells {
    fn eq(&self, other: &[Cell; N]) -> bool {
        self.len() == N && self.iter().eq(other.iter().map(Cell::view))
    }
}

impl FromIterator<Cell> for Cells {
    fn from_iter<I: IntoIterator<Item = Cell>>(cells: I) -> Cells {
        let mut out = Cells::default();
        for cell in cells {
            out.push(cell.view());
        }
        out
    }
}

impl From<Vec<Cell>> for Cells {
    fn from(cells: Vec<Cell>) -> Cells {
        cells.into_iter().collect()
    }
}

/// A row's cells as text, in one buffer: what the results file shows of
/// the row (see the [module](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    text: String,
    /// Where each cell's text ends in `text`; it starts where the one
    /// before ends.
    ends: Vec<usize>,
}

impl Texts {
    /// The number of cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no cells.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The text of cell `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    /// The texts in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let text = &self.text[start..end];
            start = end;
            text
        })
    }

    /// Appends a cell holding `text`.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.ends.push(self.text.len());
    }

    /// Keeps the cells for which `keep` says true, by position (cells
    /// beyond `keep` are kept).
    pub fn retain_columns(&mut self, keep: &[bool]) {
        let kept = self
            .iter()
            .enumerate()
            .filter(|(i, _)| keep.get(*i).copied().unwrap_or(true))
            .map(|(_, text)| text)
            .collect();
        *self = kept;
    }

    /// Every cell's text, back to back.
    pub fn joined(&self) -> &str {
        &self.text[..self.ends.last().copied().unwrap_or(0)]
    }

    /// The texts as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl std::ops::Index<usize> for Texts {
    type Output = str;

    /// The text of cell `i`; panics when there is no such cell.
    fn index(&self, i: usize) -> &str {
        self.get(i).expect("a cell within the row")
    }
}

impl<S: AsRef<str>> FromIterator<S> for Texts {
    fn from_iter<I: IntoIterator<Item = S>>(texts: I) -> Texts {
        let mut out = Texts::default();
        for text in texts {
            out.push(text.as_ref());
        }
        out
    }
}

impl From<Vec<String>> for Texts {
    fn from(texts: Vec<String>) -> Texts {
        texts.into_iter().collect()
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Texts {
    fn eq(&self, other: &Vec<S>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Texts {
    fn eq(&self, other: &[S; N]) -> bool {
        self.len() == N && self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_becomes_its_texts_without_a_copy() {
        let record = "abcde";
        let cells = Cells::of_record(record, [1, 1, 3, 5].into_iter(), 4, true);
        assert!(cells.is_plain_ascii());
        assert_eq!(cells.get(0), Some(CellRef::Text("a")));
        assert_eq!(cells.get(1), Some(CellRef::Empty));
        assert_eq!(cells.get(3), Some(CellRef::Text("de")));
        let mut padded = cells.clone();
        padded.pad_to(6);
        let buffer = padded.text.as_ptr();
        let texts = padded.into_texts();
        assert_eq!(texts.text.as_ptr(), buffer);
        assert_eq!(texts, ["a", "", "bc", "de", "", ""]);
        assert_eq!(texts.get(2), Some("bc"));
        assert_eq!(texts.get(6), None);
        assert_eq!(texts.joined(), "abcde");
    }

    #[test]
    fn cells_of_any_kind_keep_their_values_and_show_as_text() {
        let all = vec![
            Cell::Text("ø & æ".into()),
            Cell::Empty,
            Cell::Number(1.5),
            Cell::Int(-7),
            Cell::Bool(true),
            Cell::Date {
                serial: 45000.0,
                text: "2023-03-15".into(),
            },
            Cell::Error("#N/A".into()),
        ];
        let mut cells = Cells::from(all.clone());
        assert!(!cells.is_plain_ascii());
        assert!(Cells::empty(3).is_plain_ascii());
        assert_eq!(cells.to_vec(), all);
        let shown: Vec<String> = all.iter().map(|c| c.text().into_owned()).collect();
        assert_eq!(cells.clone().into_texts(), shown);
        cells.put(9, CellRef::Text("far"));
        cells.put(1, CellRef::Int(3));
        assert_eq!(cells.len(), 10);
        assert_eq!(cells.get(1), Some(CellRef::Int(3)));
        assert_eq!(cells.get(8), Some(CellRef::Empty));
        cells.drop_front(9);
        assert_eq!(cells.to_vec(), vec![Cell::Text("far".into())]);
        cells.truncate(0);
        assert!(cells.is_empty());
    }

    #[test]
    fn texts_keep_the_columns_asked_for() {
        let mut texts: Texts = ["a", "bb", "", "c"].into_iter().collect();
        texts.retain_columns(&[true, false, true]);
        assert_eq!(texts, ["a", "", "c"]);
        assert_eq!(texts.to_vec(), vec!["a", "", "c"]);
        assert_eq!(Texts::from(vec!["x".to_string()]), ["x"]);
    }
}
