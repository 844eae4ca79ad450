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
    #[inline(always)]
    pub fn is_blank(self) -> bool {
        match self {
            CellRef::Empty => true,
            // Most cells start with a visible ASCII character: decided at once.
            CellRef::Text(s) => match s.as_bytes().first() {
                None => true,
                Some(b) if b.is_ascii() && !b.is_ascii_whitespace() => false,
                _ => blank_text(s),
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

/// True for a text of white space and invisible characters only (the
/// slow half of [`CellRef::is_blank`], kept apart from its inlined start).
#[inline(never)]
fn blank_text(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// What a cell of a [`Cells`] holds besides its text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Text, or nothing when its text is empty.
    Text,
    Number(f64),
    Int(i64),
    Bool(bool),
    /// A date: its serial value; its text is the ISO 8601 form.
    Date(f64),
    /// An error value, its text the error.
    Error,
}

/// A row's cells, their texts in one buffer (see the [module](self)).
///
/// Each cell has a text, one after the other in [`Texts`] (empty for an
/// empty cell and for a number, an integer or a boolean); `kinds` says
/// what each cell is when any is not text (a spreadsheet's row) and is
/// empty otherwise (a CSV row): a CSV row is its [`Texts`] and nothing else.
#[derive(Debug, Clone, Default)]
pub struct Cells {
    texts: Texts,
    /// One per cell, or none when every cell is text or empty.
    kinds: Vec<Kind>,
    /// Every text is ASCII without control characters (see [`Cells::is_plain_ascii`]).
    plain_ascii: bool,
}

impl Cells {
    /// No cells yet, with room for `cells` cells and `bytes` bytes of text.
    pub fn with_capacity(cells: usize, bytes: usize) -> Cells {
        Cells {
            texts: Texts {
                text: String::with_capacity(bytes),
                ends: Vec::with_capacity(cells),
            },
            kinds: Vec::new(),
            plain_ascii: false,
        }
    }

    /// `n` empty cells.
    pub fn empty(n: usize) -> Cells {
        Cells {
            texts: Texts {
                text: String::new(),
                ends: vec![0; n],
            },
            kinds: Vec::new(),
            plain_ascii: true,
        }
    }

    /// The cells of a CSV record: `record` is its fields' text back to
    /// back, `ends` where each field ends in it (an empty field is an
    /// empty cell), with room for `width` cells. `plain_ascii` says whether
    /// `record` is ASCII without control characters (see
    /// [`Cells::is_plain_ascii`]).
    pub fn of_record(
        record: &str,
        ends: impl Iterator<Item = usize>,
        width: usize,
        plain_ascii: bool,
    ) -> Cells {
        let mut all = Vec::with_capacity(width);
        all.extend(ends);
        Cells {
            texts: Texts {
                text: record.to_owned(),
                ends: all,
            },
            kinds: Vec::new(),
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
        self.texts.len()
    }

    /// True when there are no cells at all (not: when they are blank).
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// True when every cell is blank (see [`CellRef::is_blank`]).
    pub fn all_blank(&self) -> bool {
        if self.kinds.is_empty() && self.plain_ascii {
            // ASCII without controls: a space is its only white space.
            return self.texts.joined().bytes().all(|b| b == b' ');
        }
        self.iter().all(CellRef::is_blank)
    }

    /// Cell `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> Option<CellRef<'_>> {
        let text = self.texts.get(i)?;
        Some(self.view(self.kinds.get(i).copied(), text))
    }

    /// The cells in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = CellRef<'_>> + ExactSizeIterator + '_ {
        let kinds = (0..self.len()).map(|i| self.kinds.get(i).copied());
        kinds
            .zip(self.texts.iter())
            .map(|(kind, text)| self.view(kind, text))
    }

    /// A cell of `kind` (text when none is given) and `text`.
    #[inline(always)]
    fn view<'a>(&self, kind: Option<Kind>, text: &'a str) -> CellRef<'a> {
        match kind.unwrap_or(Kind::Text) {
            Kind::Text if text.is_empty() => CellRef::Empty,
            Kind::Text => CellRef::Text(text),
            Kind::Number(n) => CellRef::Number(n),
            Kind::Int(i) => CellRef::Int(i),
            Kind::Bool(b) => CellRef::Bool(b),
            Kind::Date(serial) => CellRef::Date { serial, text },
            Kind::Error => CellRef::Error(text),
        }
    }

    /// Appends `cell`.
    pub fn push(&mut self, cell: CellRef<'_>) {
        let (kind, text) = match cell {
            CellRef::Empty => (Kind::Text, ""),
            CellRef::Text(s) => (Kind::Text, s),
            CellRef::Number(n) => (Kind::Number(n), ""),
            CellRef::Int(i) => (Kind::Int(i), ""),
            CellRef::Bool(b) => (Kind::Bool(b), ""),
            CellRef::Date { serial, text } => (Kind::Date(serial), text),
            CellRef::Error(e) => (Kind::Error, e),
        };
        if !matches!(cell, CellRef::Empty) {
            self.plain_ascii = false;
        }
        // Kinds are kept from the first cell that is not text on, for every cell.
        if kind != Kind::Text || !self.kinds.is_empty() {
            self.kinds.resize(self.len(), Kind::Text);
            self.kinds.push(kind);
        }
        self.texts.push(text);
    }

    /// Puts `cell` at column `i`, empty cells before it where there were
    /// none; a cell already there is replaced (which copies the row: the
    /// readers give cells in order, and rarely one twice).
    pub fn put(&mut self, i: usize, cell: CellRef<'_>) {
        if i < self.len() {
            let mut all = self.to_vec();
            all[i] = cell.to_cell();
            *self = all.into_iter().collect();
            return;
        }
        self.pad_to(i);
        self.push(cell);
    }

    /// Pads the row with empty cells to `n` cells (a longer row is left as it is).
    pub fn pad_to(&mut self, n: usize) {
        let end = self.texts.text.len();
        if self.len() < n {
            self.texts.ends.resize(n, end);
            if !self.kinds.is_empty() {
                self.kinds.resize(n, Kind::Text);
            }
        }
    }

    /// Keeps the first `n` cells.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.texts.ends.truncate(n);
            self.texts
                .text
                .truncate(self.texts.ends.last().copied().unwrap_or(0));
            self.kinds.truncate(n);
        }
    }

    /// Drops the first `n` cells (all of them when there are fewer).
    pub fn drop_front(&mut self, n: usize) {
        if n > 0 {
            let plain_ascii = self.plain_ascii;
            *self = self.iter().skip(n).map(CellRef::to_cell).collect();
            self.plain_ascii = plain_ascii;
        }
    }

    /// The cells as owned [`Cell`]s.
    pub fn to_vec(&self) -> Vec<Cell> {
        self.iter().map(CellRef::to_cell).collect()
    }

    /// The cells as text, one per cell, as [`CellRef::text`] shows them:
    /// the texts as they are for a row of text alone (a CSV row), nothing
    /// copied.
    pub fn into_texts(self) -> Texts {
        if self.kinds.iter().all(|k| *k == Kind::Text) {
            return self.texts;
        }
        self.iter().map(CellRef::text).collect()
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
    #[inline(always)]
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    /// The texts in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        let ends = &self.ends;
        ends.iter().enumerate().map(move |(i, &end)| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &self.text[start..end]
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
        let buffer = padded.texts.text.as_ptr();
        let texts = padded.into_texts();
        assert_eq!(texts.text.as_ptr(), buffer);
        assert_eq!(texts, ["a", "", "bc", "de", "", ""]);
        assert_eq!(texts.get(2), Some("bc"));
        assert_eq!(texts.get(6), None);
        assert_eq!(texts.joined(), "abcde");
        assert_eq!(texts.iter().rev().nth(3), Some("bc"));
        assert_eq!(cells.iter().rposition(|c| !c.is_blank()), Some(3));
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
        assert!(!cells.all_blank());
        assert!(Cells::of_record("  ", [1, 2].into_iter(), 2, true).all_blank());
        assert!(!Cells::of_record(" x", [1, 2].into_iter(), 2, true).all_blank());
        assert!(Cells::of_record(" \t", [1, 2].into_iter(), 2, false).all_blank());
        let number_first = Cells::from(vec![Cell::Int(1), Cell::Text("a".into())]);
        assert_eq!(
            number_first.to_vec(),
            vec![Cell::Int(1), Cell::Text("a".into())]
        );
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
