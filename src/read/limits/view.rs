//! The workbook as calamine reads it, each XML part inflated once, on a
//! thread of its own, through the [`XmlScanner`](super::scan::XmlScanner)
//! on its way to calamine.
//!
//! calamine takes any `Read + Seek` and inflates the parts itself, out of
//! sight. [`ScannedArchive`] is a view of the archive in which each part to
//! scan is *stored* (not compressed): its local header and central
//! directory entry say so, and its bytes are inflated from the real file by
//! a producer thread, scanned, and handed over in chunks through a bounded
//! channel. A chunk reaches calamine only once the scanner has passed it,
//! so every limit holds before calamine parses a byte of it, and the zip
//! reader on either side still stops a part at its declared size and checks
//! its CRC. The part is inflated once instead of twice, beside calamine's
//! parsing rather than before it.
//!
//! Only a plain layout is viewed so: no zip64 fields, nothing before the
//! archive, entries in order without overlaps, parts the zip crate can
//! inflate. [`view`] returns `None` for any other, and the workbook is
//! scanned whole before calamine opens it, as before.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::archive::Part;
use super::check::{Archive, WorkbookCheck};
use super::sizes::SpreadsheetLimits;
use crate::read::ReadError;

/// Chunks a producer may inflate ahead of calamine (64 KiB each).
const CHUNKS_AHEAD: usize = 4;

/// The most of the file after the central directory's start held in memory
/// (the directory, its end record and the archive comment).
const MAX_TAIL_BYTES: u64 = 64 << 20;

/// Zip record signatures and the sizes of the fixed parts of headers.
const LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_HEADER: &[u8; 4] = b"PK\x01\x02";
const END_OF_DIRECTORY: &[u8; 4] = b"PK\x05\x06";
const LOCAL_HEADER_BYTES: usize = 30;
const CENTRAL_HEADER_BYTES: usize = 46;
const END_OF_DIRECTORY_BYTES: usize = 22;
/// A size or offset field that says "see the zip64 extra field".
const ZIP64: u32 = u32::MAX;
/// General-purpose flag bits of a compressed part that a stored one drops:
/// the compression options (1, 2) and the trailing data descriptor (3).
const COMPRESSION_FLAGS: u16 = 0b1110;

/// The first limit the producers met, kept for the caller: calamine only
/// sees an I/O error, and some of its reads (the theme) swallow errors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict(Arc<Mutex<Option<ReadError>>>);

impl Verdict {
    /// The limit exceeded (or the damage found) while calamine read, if any.
    pub(crate) fn take(&self) -> Option<ReadError> {
        self.0.lock().ok()?.take()
    }

    fn set(&self, error: ReadError) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(error);
        }
    }
}

/// Where the bytes of a stretch of the view come from.
enum Source {
    /// The real file, from this offset.
    File(u64),
    /// A rewritten header or the rewritten central directory.
    Memory(Vec<u8>),
    /// The inflated bytes of a scanned part.
    Part(Part),
}

/// A stretch of the view, from `at`, `len` bytes long.
struct Piece {
    at: u64,
    len: u64,
    source: Source,
}

/// A part being inflated by its producer thread.
struct Inflating {
    piece: usize,
    chunks: Receiver<Result<Vec<u8>, ReadError>>,
    /// Chunks read, handed back to the producer to be filled again: fresh
    /// memory for every chunk cost the producer a page fault per 4 KiB.
    used_chunks: Sender<Vec<u8>>,
    chunk: Vec<u8>,
    used: usize,
    /// Bytes of the part before `chunk[used]`.
    offset: u64,
}

/// The archive as calamine sees it: see the module documentation.
pub(crate) struct ScannedArchive {
    path: PathBuf,
    limits: SpreadsheetLimits,
    file: File,
    /// Where `file` stands, when known.
    file_at: Option<u64>,
    pieces: Vec<Piece>,
    len: u64,
    pos: u64,
    inflating: Option<Inflating>,
    verdict: Verdict,
}

/// An entry of the real archive and where its records are.
struct Entry {
    index: usize,
    header_start: u64,
    central_header_start: u64,
}

/// The view of `archive` (the file at `path`) in which the parts `scanned`
/// are inflated through the scanner; `None` when its layout is not plain.
pub(super) fn view(
    path: &Path,
    limits: &SpreadsheetLimits,
    archive: &mut Archive,
    scanned: Vec<Part>,
    verdict: &Verdict,
) -> Option<ScannedArchive> {
    if archive.offset() != 0 {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let directory = archive.central_directory_start();
    let file_len = file.metadata().ok()?.len();
    let tail_len = file_len.checked_sub(directory)?;
    if tail_len > MAX_TAIL_BYTES {
        return None;
    }
    let mut tail = vec![0; tail_len as usize];
    file.seek(SeekFrom::Start(directory)).ok()?;
    file.read_exact(&mut tail).ok()?;
    let end = end_of_directory(&tail, directory)?;

    let entries = entries(archive, &tail, directory)?;
    // Each scanned part's region, from its local header to the next one.
    let mut regions = Vec::with_capacity(scanned.len());
    for part in scanned {
        let at = entries.iter().position(|e| e.index == part.index)?;
        let end = entries.get(at + 1).map_or(directory, |e| e.header_start);
        let header = stored_header(&mut file, &entries[at], &part, end)?;
        // The zip crate must be able to inflate it (no encryption, a known method).
        archive.by_index(part.index).ok()?;
        regions.push((entries[at].header_start, end, header, part));
    }
    regions.sort_by_key(|r| r.0);
    let mut layout = Layout::default();
    for (start, end, header, part) in regions {
        layout.file_to(start);
        layout.push(Source::Memory(header));
        layout.push(Source::Part(part));
        layout.skipped = end;
    }
    layout.file_to(directory);
    moved_directory(&mut tail, directory, end, &entries, &layout)?;
    layout.push(Source::Memory(tail));
    Some(ScannedArchive {
        path: path.to_path_buf(),
        limits: *limits,
        file,
        file_at: None,
        len: layout.len,
        pieces: layout.pieces,
        pos: 0,
        inflating: None,
        verdict: verdict.clone(),
    })
}

/// The archive's entries in the order of their local headers; `None` when
/// one has zip64 fields or the entries overlap.
fn entries(archive: &mut Archive, tail: &[u8], directory: u64) -> Option<Vec<Entry>> {
    let mut entries = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).ok()?;
        let record = usize::try_from(entry.central_header_start().checked_sub(directory)?).ok()?;
        let fields = tail.get(record..record + CENTRAL_HEADER_BYTES)?;
        if !fields.starts_with(CENTRAL_HEADER)
            || [20, 24, 42].iter().any(|&at| u32_at(fields, at) == ZIP64)
        {
            return None;
        }
        entries.push(Entry {
            index,
            header_start: entry.header_start(),
            central_header_start: entry.central_header_start(),
        });
    }
    entries.sort_by_key(|e| e.header_start);
    if entries
        .windows(2)
        .any(|w| w[0].header_start >= w[1].header_start)
    {
        return None;
    }
    Some(entries)
}

/// Rewrites the central directory in `tail` (its end record at `end`) for
/// the view laid out as `layout`: each entry's local header where it moved
/// to, each scanned part declared stored, the directory where it moved to.
fn moved_directory(
    tail: &mut [u8],
    directory: u64,
    end: usize,
    entries: &[Entry],
    layout: &Layout,
) -> Option<()> {
    let shift = |offset: u64| layout.shift(offset);
    for entry in entries {
        let record = (entry.central_header_start - directory) as usize;
        let moved = u32::try_from(shift(entry.header_start)).ok()?;
        tail[record + 42..record + 46].copy_from_slice(&moved.to_le_bytes());
        if let Some(Source::Part(part)) = layout
            .pieces
            .iter()
            .map(|p| &p.source)
            .find(|s| matches!(s, Source::Part(p) if p.index == entry.index))
        {
            let size = part.size as u32;
            store(&mut tail[record..], 8, 10, 20, size);
        }
    }
    let moved = u32::try_from(shift(directory)).ok()?;
    tail[end + 16..end + 20].copy_from_slice(&moved.to_le_bytes());
    Some(())
}

/// The pieces of the view as they are laid out.
#[derive(Default)]
struct Layout {
    pieces: Vec<Piece>,
    len: u64,
    /// The real file up to here is in the view already, or left out.
    skipped: u64,
    /// (real offset, what the view adds from there on) for each left-out region.
    shifts: Vec<(u64, i128)>,
}

impl Layout {
    fn push(&mut self, source: Source) {
        let len = match &source {
            Source::Memory(bytes) => bytes.len() as u64,
            Source::Part(part) => part.size,
            Source::File(_) => unreachable!("file pieces are added by file_to"),
        };
        self.pieces.push(Piece {
            at: self.len,
            len,
            source,
        });
        self.len += len;
    }

    /// The real file from where it was left up to `end`.
    fn file_to(&mut self, end: u64) {
        let start = self.skipped;
        self.shifts
            .push((start, i128::from(self.len) - i128::from(start)));
        if end > start {
            self.pieces.push(Piece {
                at: self.len,
                len: end - start,
                source: Source::File(start),
            });
            self.len += end - start;
        }
        self.skipped = end;
    }

    /// Where the real file's `offset` (a header kept as it is) lands in the view.
    fn shift(&self, offset: u64) -> u64 {
        let by = self
            .shifts
            .iter()
            .rev()
            .find(|(from, _)| *from <= offset)
            .map_or(0, |(_, by)| *by);
        (i128::from(offset) + by) as u64
    }
}

/// The offset in `tail` (the file from `directory` on) of the end of
/// central directory record, when it is a plain one that points at
/// `directory`.
fn end_of_directory(tail: &[u8], directory: u64) -> Option<usize> {
    // A zip64 end record or its locator means fields too large for this view.
    if tail
        .windows(4)
        .any(|w| w == b"PK\x06\x06" || w == b"PK\x06\x07")
    {
        return None;
    }
    let end = tail
        .windows(4)
        .rposition(|w| w == END_OF_DIRECTORY)
        .filter(|&at| at + END_OF_DIRECTORY_BYTES <= tail.len())?;
    (u64::from(u32_at(tail, end + 16)) == directory).then_some(end)
}

/// The local header of `part` (its entry `entry`, its region ending at
/// `end`) rewritten for a stored part of its inflated size.
fn stored_header(file: &mut File, entry: &Entry, part: &Part, end: u64) -> Option<Vec<u8>> {
    let size = u32::try_from(part.size).ok().filter(|&s| s != ZIP64)?;
    let mut fixed = [0; LOCAL_HEADER_BYTES];
    file.seek(SeekFrom::Start(entry.header_start)).ok()?;
    file.read_exact(&mut fixed).ok()?;
    if !fixed.starts_with(LOCAL_HEADER) {
        return None;
    }
    let names = usize::from(u16_at(&fixed, 26)) + usize::from(u16_at(&fixed, 28));
    let mut header = fixed.to_vec();
    header.resize(LOCAL_HEADER_BYTES + names, 0);
    file.read_exact(&mut header[LOCAL_HEADER_BYTES..]).ok()?;
    let data_end = entry.header_start + header.len() as u64 + part.compressed;
    let extra = &header[LOCAL_HEADER_BYTES + usize::from(u16_at(&fixed, 26))..];
    if data_end > end || has_zip64_field(extra) {
        return None;
    }
    header[14..18].copy_from_slice(&part.crc32.to_le_bytes());
    store(&mut header, 6, 8, 18, size);
    Some(header)
}

/// Marks a header (local or central, whose flags, method and compressed
/// size are at the offsets given) as a stored part of `size` bytes.
fn store(header: &mut [u8], flags: usize, method: usize, compressed: usize, size: u32) {
    let cleared = u16_at(header, flags) & !COMPRESSION_FLAGS;
    header[flags..flags + 2].copy_from_slice(&cleared.to_le_bytes());
    header[method..method + 2].copy_from_slice(&0u16.to_le_bytes());
    header[compressed..compressed + 4].copy_from_slice(&size.to_le_bytes());
    header[compressed + 4..compressed + 8].copy_from_slice(&size.to_le_bytes());
}

/// Whether an extra field holds a zip64 record (id 1), whose sizes would
/// override the header's.
fn has_zip64_field(mut extra: &[u8]) -> bool {
    while extra.len() >= 4 {
        if u16_at(extra, 0) == 1 {
            return true;
        }
        let len = 4 + usize::from(u16_at(extra, 2));
        extra = extra.get(len..).unwrap_or_default();
    }
    false
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl ScannedArchive {
    /// Records `error` for the caller and gives calamine an I/O error.
    fn fail(&self, error: ReadError) -> io::Error {
        let message = error.to_string();
        self.verdict.set(error);
        io::Error::new(io::ErrorKind::InvalidData, message)
    }

    /// Starts the producer of the part of piece `piece`.
    fn inflate(&self, piece: usize) -> io::Result<Inflating> {
        let Source::Part(part) = &self.pieces[piece].source else {
            unreachable!("only part pieces are inflated");
        };
        let (sender, chunks) = mpsc::sync_channel(CHUNKS_AHEAD);
        // Unbounded, but never holds more than the chunks in flight.
        let (used_chunks, returned) = mpsc::channel();
        let (path, limits, part) = (self.path.clone(), self.limits, part.clone());
        std::thread::Builder::new()
            .name("part-inflater".to_owned())
            .spawn(move || {
                let check = WorkbookCheck {
                    path: &path,
                    limits: &limits,
                };
                let scanned = File::open(&path)
                    .map_err(|source| ReadError::Io {
                        path: path.clone(),
                        source,
                    })
                    .and_then(|file| {
                        let mut archive =
                            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
                                check.damaged(&part.name, format!("cannot be read ({e})"))
                            })?;
                        check.scan_part(
                            &mut archive,
                            &part,
                            || returned.try_recv().unwrap_or_default(),
                            |chunk| sender.send(Ok(chunk)).is_ok(),
                        )
                    });
                if let Err(error) = scanned {
                    let _ = sender.send(Err(error));
                }
            })?;
        Ok(Inflating {
            piece,
            chunks,
            used_chunks,
            chunk: Vec::new(),
            used: 0,
            offset: 0,
        })
    }

    /// Reads the inflated part of piece `piece` from its byte `within`.
    fn read_part(&mut self, piece: usize, within: u64, buf: &mut [u8]) -> io::Result<usize> {
        let current = matches!(&self.inflating, Some(s) if s.piece == piece && s.offset <= within);
        if !current {
            // A new part, or calamine went back: inflate it from the start.
            self.inflating = Some(self.inflate(piece)?);
        }
        let state = self.inflating.as_mut().expect("set above");
        loop {
            let available = (state.chunk.len() - state.used) as u64;
            if state.offset + available > within {
                state.used += (within - state.offset) as usize;
                state.offset = within;
                let n = buf.len().min(state.chunk.len() - state.used);
                buf[..n].copy_from_slice(&state.chunk[state.used..state.used + n]);
                state.used += n;
                state.offset += n as u64;
                return Ok(n);
            }
            state.offset += available;
            match state.chunks.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut state.chunk, chunk);
                    // The producer may have finished and gone: the chunk is dropped then.
                    let _ = state.used_chunks.send(used);
                    state.used = 0;
                }
                Ok(Err(error)) => return Err(self.fail(error)),
                Err(_) => {
                    let ended = state.offset;
                    let Source::Part(part) = &self.pieces[piece].source else {
                        unreachable!("only part pieces are inflated");
                    };
                    let check = WorkbookCheck {
                        path: &self.path,
                        limits: &self.limits,
                    };
                    let error = check.damaged(
                        &part.name,
                        format!(
                            "ends after {ended} bytes, short of the {} it declares",
                            part.size
                        ),
                    );
                    return Err(self.fail(error));
                }
            }
        }
    }
}

impl Read for ScannedArchive {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let index = self.pieces.partition_point(|p| p.at <= self.pos) - 1;
        let within = self.pos - self.pieces[index].at;
        let left = self.pieces[index].len - within;
        let wanted = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        let buf = &mut buf[..wanted];
        let n = match &self.pieces[index].source {
            Source::Memory(bytes) => {
                let from = within as usize;
                buf.copy_from_slice(&bytes[from..from + buf.len()]);
                buf.len()
            }
            Source::File(start) => {
                let at = start + within;
                if self.file_at != Some(at) {
                    self.file.seek(SeekFrom::Start(at))?;
                }
                let n = self.file.read(buf)?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                self.file_at = Some(at + n as u64);
                n
            }
            Source::Part(_) => self.read_part(index, within, buf)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ScannedArchive {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(by) => self.len.checked_add_signed(by),
            SeekFrom::Current(by) => self.pos.checked_add_signed(by),
        };
        self.pos = pos
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check_workbook, CheckedWorkbook, SpreadsheetLimits};
    use super::Verdict;
    use crate::read::ReadError;
    use calamine::{Reader, Xlsx};
    use std::path::{Path, PathBuf};

    /// A workbook of two sheets with shared strings, numbers and dates.
    fn workbook(dir: &Path) -> PathBuf {
        let path = dir.join("book.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        for name in ["Products", "Other"] {
            let sheet = book.add_worksheet().set_name(name).unwrap();
            for row in 0..2000u32 {
                sheet.write_string(row, 0, format!("item {row}")).unwrap();
                sheet.write_number(row, 1, f64::from(row) * 1.5).unwrap();
                sheet.write_string(row, 2, "Æble & pære").unwrap();
            }
        }
        book.save(&path).unwrap();
        path
    }

    #[test]
    fn calamine_reads_the_view_as_it_reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = workbook(dir.path());
        let verdict = Verdict::default();
        let checked = check_workbook(&path, &SpreadsheetLimits::default(), &verdict).unwrap();
        assert!(matches!(checked, CheckedWorkbook::Scanned(_)));
        let mut viewed: Xlsx<_> = Reader::new(checked).unwrap();
        let mut direct: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        // The second sheet, then the first: parts read out of order, one re-read.
        for name in ["Other", "Products", "Products"] {
            let range = viewed.worksheet_range(name).unwrap();
            assert_eq!(range, direct.worksheet_range(name).unwrap());
            assert_eq!(range.height(), 2000);
        }
        assert!(verdict.take().is_none());
    }

    /// `from` written again as a stream: each part followed by a data
    /// descriptor, as some writers do.
    fn streamed(from: &Path, to: &Path) {
        use std::io::{Read, Write};
        let mut source = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
        let mut out = zip::ZipWriter::new_stream(std::fs::File::create(to).unwrap());
        for index in 0..source.len() {
            let mut entry = source.by_index(index).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            let options = zip::write::SimpleFileOptions::default();
            out.start_file(entry.name().unwrap().into_owned(), options)
                .unwrap();
            out.write_all(&bytes).unwrap();
        }
        out.finish().unwrap();
    }

    #[test]
    fn parts_with_data_descriptors_are_viewed_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("streamed.xlsx");
        streamed(&workbook(dir.path()), &path);
        let first = std::fs::read(&path).unwrap();
        assert_eq!(first[6] & 0b1000, 0b1000, "no data descriptor");
        let verdict = Verdict::default();
        let checked = check_workbook(&path, &SpreadsheetLimits::default(), &verdict).unwrap();
        assert!(matches!(checked, CheckedWorkbook::Scanned(_)));
        let mut viewed: Xlsx<_> = Reader::new(checked).unwrap();
        let mut direct: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        assert_eq!(
            viewed.worksheet_range("Products").unwrap(),
            direct.worksheet_range("Products").unwrap()
        );
        assert!(verdict.take().is_none());
    }

    #[test]
    fn an_opendocument_workbook_is_viewed_too() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/products.ods");
        let verdict = Verdict::default();
        let checked = check_workbook(&path, &SpreadsheetLimits::default(), &verdict).unwrap();
        assert!(matches!(checked, CheckedWorkbook::Scanned(_)));
        let mut viewed: calamine::Ods<_> = Reader::new(checked).unwrap();
        let mut direct: calamine::Ods<_> = calamine::open_workbook(&path).unwrap();
        let name = direct.sheet_names()[0].clone();
        assert_eq!(
            viewed.worksheet_range(&name).unwrap(),
            direct.worksheet_range(&name).unwrap()
        );
        assert!(verdict.take().is_none());
    }

    #[test]
    fn a_limit_met_while_calamine_reads_is_in_the_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let path = workbook(dir.path());
        let limits = SpreadsheetLimits {
            max_cell_chars: 8,
            ..SpreadsheetLimits::default()
        };
        let verdict = Verdict::default();
        let checked = check_workbook(&path, &limits, &verdict).unwrap();
        // calamine reads the shared strings as it opens the workbook.
        let opened: Result<Xlsx<_>, _> = Reader::new(checked);
        assert!(opened.is_err());
        match verdict.take() {
            Some(error @ ReadError::Limit { .. }) => assert!(
                error
                    .to_string()
                    .contains("xl/sharedStrings.xml: shared string 2 holds more than 8 characters"),
                "{error}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
