//! Finding rows that repeat a product number or barcode, in memory that does
//! not grow with the file.
//!
//! Exact detection needs every key seen so far, which grows with the rows.
//! For files that can be read twice cheaply (CSV), a first pass puts every
//! key into a fixed-size Bloom filter and keeps only the keys that *might*
//! repeat (true repeats plus a few false alarms). The validating pass then
//! tracks exactly just those keys: every other key is known to be unique.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cell::restore_formula;
use crate::cell::{format_number, CellRef};
use crate::mapping::{ColumnMapping, Field};
use crate::read::{ReadError, SourceRow};
use crate::values;

/// Bits of the filter: 2^26 bits = 8 MiB. With a million rows (two keys
/// each) about one key in 2,000 is a false alarm.
const FILTER_BITS: u64 = 1 << 26;
/// Bits set per key (in one word of 64).
const PROBES: u64 = 4;

/// The hash of a key: which field, and its text. Shared by both passes.
#[derive(Clone)]
pub struct KeyHasher(foldhash::quality::FixedState);

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher(foldhash::quality::FixedState::with_seed(0x5eed))
    }
}

impl KeyHasher {
    /// Hashes `text` as a key of `field`.
    pub fn hash(&self, field: Field, text: &str) -> u64 {
        self.0.hash_one((field as u8, text))
    }
}

/// The text a key cell stands for, exactly as validation puts it in the
/// payload; `None` for blank, date and error cells (never keys).
pub fn key_text(cell: CellRef<'_>) -> Option<Cow<'_, str>> {
    let text = match cell {
        CellRef::Empty | CellRef::Date { .. } | CellRef::Error(_) => return None,
        CellRef::Text(s) => return key_text_of_str(s),
        CellRef::Number(n) => Cow::Owned(format_number(n)),
        CellRef::Int(i) => Cow::Owned(i.to_string()),
        CellRef::Bool(b) => Cow::Borrowed(if b { "TRUE" } else { "FALSE" }),
    };
    (!text.is_empty()).then_some(text)
}

/// The key a CSV cell's text stands for (see [`key_text`]).
fn key_text_of_str(s: &str) -> Option<Cow<'_, str>> {
    let text = values::clean_text(restore_formula(s));
    (!text.is_empty()).then_some(text)
}

/// Hashes of keys: already hashes, so the set's own hasher is a cheap one.
type KeySet = HashSet<u64, foldhash::fast::FixedState>;

/// The keys that might repeat in a file, found by a first pass over its rows.
pub struct RepeatCandidates {
    hashes: KeySet,
}

impl RepeatCandidates {
    /// Reads every row once and returns the keys that might repeat. Reading
    /// stops at the first read error (the validating pass reports it).
    pub fn scan(
        rows: impl Iterator<Item = Result<SourceRow, ReadError>>,
        mapping: &ColumnMapping,
        hasher: &KeyHasher,
    ) -> RepeatCandidates {
        let columns = key_columns(mapping);
        let bits = Bits::new();
        let mut filter = Filter::new(&bits);
        for row in rows {
            let Ok(row) = row else { break };
            for &(field, col) in &columns {
                let Some(text) = row.cells.get(col).and_then(key_text) else {
                    continue;
                };
                filter.add(hasher.hash(field, &text));
            }
        }
        RepeatCandidates {
            hashes: filter.repeats(),
        }
    }

    /// The same for a UTF-8 CSV file whose header is its first record, split
    /// into fields by `csv_core` (only the key columns are looked at), on two
    /// threads at once: one reads from the start to a line break near the
    /// middle, the other from there to the end (see [`KeyScan`]). `None`
    /// when a record is not valid UTF-8 or the file cannot be read: the
    /// general reader, which then switches encoding or reports the error,
    /// must decide what its keys say.
    pub fn scan_utf8_csv(
        path: &Path,
        delimiter: u8,
        mapping: &ColumnMapping,
        hasher: &KeyHasher,
    ) -> Option<RepeatCandidates> {
        Self::scan_utf8_csv_with(path, delimiter, mapping, hasher, true)
    }

    /// [`RepeatCandidates::scan_utf8_csv`]; `split_simple_records` says
    /// whether simple records are split without csv_core (see
    /// [`simple_record`]), which finds the same keys faster.
    fn scan_utf8_csv_with(
        path: &Path,
        delimiter: u8,
        mapping: &ColumnMapping,
        hasher: &KeyHasher,
        split_simple_records: bool,
    ) -> Option<RepeatCandidates> {
        let len = std::fs::metadata(path).ok()?.len();
        let middle = line_after_middle(path, len).ok()?;
        let bits = Bits::new();
        let columns = key_columns(mapping);
        let fields_needed = columns.iter().map(|&(_, col)| col + 1).max().unwrap_or(0);
        let scan = KeyScan {
            path,
            len,
            delimiter,
            columns,
            hasher,
            bits: &bits,
            split_simple_records,
            fields_needed,
        };
        // Both parts' buffers come from this thread's heap: a heap of the
        // allocator's own for the other thread would add to the peak memory.
        let [first_buffers, second_buffers] = [(); 2].map(|()| Buffers::new());
        let (first, second) = std::thread::scope(|s| {
            let second = (middle < len).then(|| s.spawn(|| scan.run(middle, len, second_buffers)));
            let first = scan.run(0, middle, first_buffers);
            (first, second.map(|thread| thread.join()))
        });
        let mut repeats = first?;
        match second {
            Some(Ok(other)) => repeats.extend(other?),
            Some(Err(_)) => return None,
            None => {}
        }
        Some(RepeatCandidates { hashes: repeats })
    }

    /// Whether a key with this hash might repeat (else it is unique in the file).
    pub fn contains(&self, hash: u64) -> bool {
        self.hashes.contains(&hash)
    }

    /// How many keys might repeat.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.hashes.len()
    }
}

/// The key columns of `mapping`, with the field each holds.
fn key_columns(mapping: &ColumnMapping) -> Vec<(Field, usize)> {
    [Field::Number, Field::Ean]
        .into_iter()
        .filter_map(|f| mapping.column(f).map(|c| (f, c)))
        .collect()
}

/// Where the second half of a file starts: just after the first line
/// break from its middle on, or `len` (no second half) when there is none
/// within a read buffer.
fn line_after_middle(path: &Path, len: u64) -> io::Result<u64> {
    let mut file = File::open(path)?;
    let middle = len / 2;
    file.seek(SeekFrom::Start(middle))?;
    let mut buf = vec![0; CHUNK];
    let n = read_full(&mut file, &mut buf)?;
    Ok(memchr::memchr(b'\n', &buf[..n]).map_or(len, |i| middle + i as u64 + 1))
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(read) => n += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Bytes read from the file at a time by a [`KeyScan`].
const CHUNK: usize = 64 * 1024;

/// What a [`KeyScan`] reads into: the file's bytes, the current record's
/// fields back to back, and where each field ends.
struct Buffers {
    buf: Vec<u8>,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers {
            buf: vec![0; CHUNK],
            out: vec![0; 4096],
            ends: vec![0; 64],
        }
    }
}

/// The first pass over part of a UTF-8 CSV file, putting its keys into
/// the shared filter [`Bits`].
///
/// The part that starts the file skips its header and reads up to the
/// start of the other part; it then checks that it stands between two
/// records there, as the other part's reader did when it started. It does
/// unless a quoted cell with line breaks spans the line where the other
/// part starts; then it reads on to the end of the file itself, and the
/// other part's keys, read out of step, only add false alarms.
struct KeyScan<'a> {
    path: &'a Path,
    len: u64,
    delimiter: u8,
    columns: Vec<(Field, usize)>,
    hasher: &'a KeyHasher,
    bits: &'a Bits,
    /// Whether simple records are split here (see [`simple_record`]).
    split_simple_records: bool,
    /// The fields of a record up to the last key column.
    fields_needed: usize,
}

impl KeyScan<'_> {
    /// Reads the records from byte `start` to `stop` (see [`KeyScan`]); the
    /// keys that were in the filter already when they came. `None` for a
    /// record that is not valid UTF-8 or a read error.
    fn run(&self, start: u64, mut stop: u64, buffers: Buffers) -> Option<KeySet> {
        use csv_core::ReadRecordResult as R;
        let mut file = File::open(self.path).ok()?;
        file.seek(SeekFrom::Start(start)).ok()?;
        let mut core = csv_core::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .build();
        let Buffers {
            mut buf,
            mut out,
            mut ends,
        } = buffers;
        let (mut pos, mut filled, mut at) = (0, 0, start);
        let (mut out_len, mut fields) = (0, 0);
        let mut header = start == 0;
        let mut filter = Filter::new(self.bits);
        let mut spans = Vec::with_capacity(64);
        loop {
            if pos == filled {
                // The last byte before `stop` is a line break: nothing of a
                // record pending means the reader stands between records.
                if at == stop && stop < self.len && (out_len > 0 || fields > 0) {
                    stop = self.len;
                }
                let want = (stop - at).min(CHUNK as u64) as usize;
                filled = read_full(&mut file, &mut buf[..want]).ok()?;
                (pos, at) = (0, at + filled as u64);
                if filled == 0 && stop < self.len {
                    return Some(filter.repeats());
                }
            }
            if self.split_simple_records && out_len == 0 && fields == 0 {
                // Between records: a simple record wholly in the buffer is
                // split here, as csv_core would split it.
                let rest = &buf[pos..filled];
                if let Some(b'\n' | b'\r') = rest.first() {
                    // A blank line, which csv_core skips.
                    pos += 1;
                    continue;
                }
                if let Some((record, len)) =
                    simple_record(rest, self.delimiter, self.fields_needed, &mut spans)
                {
                    pos += len;
                    if header {
                        header = false;
                    } else {
                        self.add_span_keys(record, &spans, &mut filter);
                    }
                    continue;
                }
            }
            let (result, nin, nout, nend) =
                core.read_record(&buf[pos..filled], &mut out[out_len..], &mut ends[fields..]);
            (pos, out_len, fields) = (pos + nin, out_len + nout, fields + nend);
            match result {
                R::InputEmpty => {}
                R::OutputFull => out.resize(out.len() * 2, 0),
                R::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                R::Record if header => header = false,
                R::Record => self.add_keys(&out[..out_len], &ends[..fields], &mut filter)?,
                R::End => return Some(filter.repeats()),
            }
            if matches!(result, R::Record) {
                (out_len, fields) = (0, 0);
            }
        }
    }

    /// Puts the keys of a record read by [`simple_record`] (its text and
    /// where each field lies in it) into `filter`.
    fn add_span_keys(&self, record: &str, spans: &[(usize, usize)], filter: &mut Filter) {
        for &(field, col) in &self.columns {
            let Some(&(start, end)) = spans.get(col) else {
                continue;
            };
            if let Some(text) = key_text_of_str(&record[start..end]) {
                filter.add(self.hasher.hash(field, &text));
            }
        }
    }

    /// Puts the keys of one record (its fields' bytes back to back, and
    /// where each ends) into `filter`; `None` when it is not valid UTF-8.
    fn add_keys(&self, record: &[u8], ends: &[usize], filter: &mut Filter) -> Option<()> {
        std::str::from_utf8(record).ok()?;
        for &(field, col) in &self.columns {
            let Some(&end) = ends.get(col) else {
                continue;
            };
            let start = if col == 0 { 0 } else { ends[col - 1] };
            let text = std::str::from_utf8(&record[start..end]).ok()?;
            if let Some(text) = key_text_of_str(text) {
                filter.add(self.hasher.hash(field, &text));
            }
        }
        Some(())
    }
}

/// The record at the start of `bytes` (not a blank line) when it is
/// simple and wholly there: each of its first `needed` fields either holds
/// no quote, or is quoted with no quote inside (`"a, b"`), the rest of the
/// record holds no quote at all (one count of its quotes tells), and the
/// record ends with a line break (`\n` or `\r`, as csv_core takes it),
/// with every byte up to it valid UTF-8. Then its fields are the text
/// between the delimiters (or the quotes), as csv_core gives them: `spans`
/// is set to where each of the first `needed` fields lies in the record's
/// text, returned with the record's length (its break included). `None`
/// leaves the record to csv_core.
fn simple_record<'a>(
    bytes: &'a [u8],
    delimiter: u8,
    needed: usize,
    spans: &mut Vec<(usize, usize)>,
) -> Option<(&'a str, usize)> {
    spans.clear();
    let mut at = 0;
    let mut quoted = 0;
    let end = loop {
        let (span, next) = if bytes.get(at) == Some(&b'"') {
            let close = at + 1 + memchr::memchr(b'"', &bytes[at + 1..])?;
            quoted += 1;
            ((at + 1, close), close + 1)
        } else {
            let stop = at + memchr::memchr3(delimiter, b'\n', b'\r', bytes.get(at..)?)?;
            ((at, stop), stop)
        };
        spans.push(span);
        match *bytes.get(next)? {
            // The fields wanted are read: the rest of the record in one
            // search, up to its break (with no quote in it, which the
            // count below sees, nothing in it can hide one).
            b if b == delimiter && spans.len() == needed => {
                break next + memchr::memchr2(b'\n', b'\r', &bytes[next..])?;
            }
            b if b == delimiter => at = next + 1,
            b'\n' | b'\r' => break next,
            _ => return None,
        }
    };
    // No quote but those around the quoted fields: one inside a field
    // (`ab"c`, `"a""b"`) leaves the record to csv_core. Counted over the
    // whole record at once rather than searched for field by field.
    if memchr::memchr_iter(b'"', &bytes[..end]).count() != 2 * quoted {
        return None;
    }
    let record = std::str::from_utf8(&bytes[..end]).ok()?;
    Some((record, end + 1))
}

/// The bits of the Bloom filter: 2^26 bits = 8 MiB, shared by the threads
/// of a first pass. Each key sets its bits in one word, with one atomic
/// `or`: of two threads putting in the same key, the second always finds
/// them all set.
struct Bits(Vec<AtomicU64>);

impl Bits {
    fn new() -> Bits {
        Bits((0..FILTER_BITS / 64).map(|_| AtomicU64::new(0)).collect())
    }

    /// The word a key's bits are in, chosen by the hash's high bits.
    fn word(&self, hash: u64) -> &AtomicU64 {
        &self.0[(hash >> 40) as usize % self.0.len()]
    }

    /// Sets the key's bits (chosen by the hash's low bits); true when they
    /// all were set already (seen before, or a false alarm).
    fn insert(&self, hash: u64) -> bool {
        let mask = (0..PROBES).fold(0u64, |m, i| m | 1 << ((hash >> (i * 6)) & 63));
        self.word(hash).fetch_or(mask, Ordering::Relaxed) & mask == mask
    }
}

/// How many keys wait to go into the filter together (see [`Filter::add`]).
const PENDING: usize = 64;

/// One thread's way into the shared [`Bits`]: the keys that were in them
/// already when they came, and the keys waiting to go in.
struct Filter<'a> {
    bits: &'a Bits,
    repeats: KeySet,
    pending: Vec<u64>,
}

impl Filter<'_> {
    fn new(bits: &Bits) -> Filter<'_> {
        Filter {
            bits,
            repeats: KeySet::default(),
            pending: Vec::with_capacity(PENDING),
        }
    }

    /// Adds the key with this hash. Keys go in [`PENDING`] at a time: each
    /// costs a cache miss, and a tight loop of independent loads lets the
    /// processor wait for many at once, where each atomic `or` would wait
    /// for its own.
    fn add(&mut self, hash: u64) {
        self.pending.push(hash);
        if self.pending.len() == PENDING {
            self.insert_pending();
        }
    }

    fn insert_pending(&mut self) {
        let warm = self.pending.iter().fold(0, |w, &hash| {
            w | self.bits.word(hash).load(Ordering::Relaxed)
        });
        std::hint::black_box(warm);
        for &hash in &self.pending {
            if self.bits.insert(hash) {
                self.repeats.insert(hash);
            }
        }
        self.pending.clear();
    }

    /// The keys that might repeat, as far as this thread saw.
    fn repeats(mut self) -> KeySet {
        self.insert_pending();
        self.repeats
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn row(number: u64, cells: &[&str]) -> Result<SourceRow, ReadError> {
        Ok(SourceRow {
            number,
            cells: cells
                .iter()
                .map(|c| crate::cell::Cell::Text(c.to_string()))
                .collect(),
            width: cells.len(),
        })
    }

    #[test]
    fn repeated_keys_are_candidates_and_unique_ones_mostly_not() {
        let headers = vec!["name".to_string(), "number".to_string(), "ean".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        let mut rows: Vec<_> = (0..10_000)
            .map(|i| row(i + 2, &["A", &format!("N{i}"), ""]))
            .collect();
        rows.push(row(10_002, &["B", " N17 ", "96385074"]));
        rows.push(row(10_003, &["C", "X", "96385074"]));
        let candidates = RepeatCandidates::scan(rows.into_iter(), &mapping, &hasher);
        assert!(candidates.contains(hasher.hash(Field::Number, "N17")));
        assert!(candidates.contains(hasher.hash(Field::Ean, "96385074")));
        assert!(!candidates.contains(hasher.hash(Field::Number, "N18")));
        // A number equal to a barcode is no repeat: the fields are apart.
        assert!(!candidates.contains(hasher.hash(Field::Number, "96385074")));
        assert!(candidates.len() < 10, "{}", candidates.len());
    }

    #[test]
    fn the_fast_utf8_scan_finds_the_same_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let mut text = String::from("\u{FEFF}name;number;ean\n");
        for i in 0..2000 {
            text.push_str(&format!("P{i};\" N{i} \";\n\n"));
        }
        text.push_str("X;N7;96385074\nY;Z;96385074\n\"multi\nline\";N9;\n");
        std::fs::write(&path, &text).unwrap();
        let headers = vec!["name".to_string(), "number".to_string(), "ean".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        let fast = RepeatCandidates::scan_utf8_csv(&path, b';', &mapping, &hasher).unwrap();
        let table = crate::read::open(&path, &Default::default()).unwrap();
        let general = RepeatCandidates::scan(table.rows, &mapping, &hasher);
        assert_eq!(fast.hashes, general.hashes);
        assert!(fast.contains(hasher.hash(Field::Number, "N7")));
        assert!(fast.contains(hasher.hash(Field::Number, "N9")));
        assert!(fast.contains(hasher.hash(Field::Ean, "96385074")));

        std::fs::write(&path, b"name;number\nA;\xE6\n").unwrap();
        assert!(RepeatCandidates::scan_utf8_csv(&path, b';', &mapping, &hasher).is_none());
        // A character cut by a delimiter: the record is UTF-8 without it, its key is not.
        std::fs::write(&path, b"name;number\nA\xC3;\xA5B\n").unwrap();
        assert!(RepeatCandidates::scan_utf8_csv(&path, b';', &mapping, &hasher).is_none());
    }

    #[test]
    fn a_quoted_cell_across_the_middle_keeps_the_halves_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let headers = vec!["name".to_string(), "number".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        // Lines that look like records (with keys that would repeat) inside
        // one quoted cell spanning the middle of the file.
        let inside = "x,N1\n".repeat(3000);
        let text = format!("name,number\nA,N1\n\"{inside}\",N2\nB,N3\nC,N2\n");
        std::fs::write(&path, &text).unwrap();
        let middle = line_after_middle(&path, text.len() as u64).unwrap();
        assert!(middle > 20 && middle < text.len() as u64 - 20);
        let fast = RepeatCandidates::scan_utf8_csv(&path, b',', &mapping, &hasher).unwrap();
        assert!(fast.contains(hasher.hash(Field::Number, "N2")));
        assert!(!fast.contains(hasher.hash(Field::Number, "N3")));
    }

    #[test]
    fn the_fast_scan_agrees_with_the_general_one_on_awkward_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let headers = vec!["name".to_string(), "number".to_string(), "ean".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        let mut text = String::from("\u{FEFF}name,number,ean\r\n");
        for i in 0..3000 {
            let row = match i % 9 {
                0 => format!("\"P, {i}\",\"N{}\",\r\n", i / 3),
                1 => format!("P{i},N{i}x,\"9638507{}\"\r\n", i % 7),
                2 => format!("\"multi\nline {i}\",\" N{} \",\n", i / 5),
                3 => format!("q\"{i},N{},\n\n", i / 4),
                4 => format!("\"a\"\"b\",'=N{i},\n\r\n"),
                5 => format!("short{i}\n"),
                6 => format!("P{i},N{},96385074,extra\r", i / 2),
                7 => format!("\"P{i}\" x,N{i},\n"),
                _ => format!("P{i},\"N{i}\",\"\"\n"),
            };
            text.push_str(&row);
        }
        std::fs::write(&path, &text).unwrap();
        let fast = RepeatCandidates::scan_utf8_csv(&path, b',', &mapping, &hasher).unwrap();
        let table = crate::read::open(&path, &Default::default()).unwrap();
        let general = RepeatCandidates::scan(table.rows, &mapping, &hasher);
        assert_eq!(fast.hashes, general.hashes);
        assert!(fast.len() > 100, "{}", fast.len());
    }

    #[test]
    fn the_fast_scan_agrees_with_the_general_one_on_random_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let headers = vec!["name".to_string(), "number".to_string(), "ean".to_string()];
        let mapping = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        let hasher = KeyHasher::default();
        // Pieces of cells and of the lines between them: quotes, breaks of
        // every kind, delimiters, spaces, formula quotes, text beyond ASCII.
        let pieces = [
            "\"N1\"",
            "\"a, b\"",
            "\"multi\nline\"",
            "\"q\"\"uote\"",
            "\"N2\" x",
            "\"\"",
            "N1",
            "N2",
            "96385074",
            "x",
            " ",
            ",",
            ";",
            "\"",
            "\"\"",
            "\n",
            "\r",
            "\r\n",
            "'",
            "blå",
            "\u{a0}",
            "N3",
            "",
        ];
        let mut rng =
            <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(0xD1B5_4A32_D192_ED03);
        let mut next = move |n: usize| rand::Rng::random_range(&mut rng, 0..n);
        for _ in 0..20 {
            let mut text = String::from("name,number,ean\n");
            for _ in 0..3000 {
                for piece in 0..next(12) {
                    text.push_str(if piece % 3 == 2 {
                        ","
                    } else {
                        pieces[next(pieces.len())]
                    });
                }
                text.push_str(["\n", "\r\n", "\r"][next(3)]);
            }
            std::fs::write(&path, &text).unwrap();
            let scan =
                |split| RepeatCandidates::scan_utf8_csv_with(&path, b',', &mapping, &hasher, split);
            let Some(fast) = scan(true) else {
                assert!(scan(false).is_none());
                continue;
            };
            // Exactly what csv_core alone finds (the halves read out of
            // step add the same false alarms).
            assert_eq!(fast.hashes, scan(false).unwrap().hashes);
            let table = crate::read::open(&path, &Default::default()).unwrap();
            let general = RepeatCandidates::scan(table.rows, &mapping, &hasher);
            assert!(fast.hashes.is_superset(&general.hashes));
        }
    }

    #[test]
    fn key_text_is_what_validation_sends() {
        assert_eq!(
            key_text(CellRef::Number(7038010055690.0)).unwrap(),
            "7038010055690"
        );
        assert_eq!(key_text(CellRef::Text("'=A1 ")).unwrap(), "=A1");
        assert!(key_text(CellRef::Text("  ")).is_none());
        assert!(key_text(CellRef::Error("#N/A")).is_none());
    }
}
