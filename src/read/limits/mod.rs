//! Limits on what a workbook may expand to in memory, checked before
//! calamine holds anything of it, so that a zip bomb ends with a clear error
//! (exit code 2) instead of an allocation abort.
//!
//! .xlsx, .xlsm, .xlsb and .ods files are zip archives. [`check_workbook`]:
//!
//! 1. reads the archive's central directory and the relationships, to
//!    find the parts calamine reads (XML and binary parts, and whatever the
//!    relationships point to, since a sheet may be given any name; not
//!    images or embedded files), then checks their declared sizes: the
//!    compression ratio of each part larger than [`RATIO_CHECKED_FROM`](sizes::RATIO_CHECKED_FROM), the
//!    size of the shared strings, and the total;
//! 2. has each XML part pass through [`XmlScanner`](scan::XmlScanner), which keeps no more
//!    than one tag in memory, as it is inflated. It checks the length of
//!    each cell's text, the number of shared strings (and the count the
//!    part declares, for which calamine reserves room up front), and for
//!    .ods the cells that repeated rows and columns expand to. Every XML
//!    event calamine reads is then known to be small.
//!
//! Step 2 happens while calamine reads, not in a pass of its own: calamine
//! is handed a view of the archive ([`view`]) in which the XML parts are
//! stored rather than compressed, inflated once by a thread that scans each
//! chunk before calamine gets it. Scanning first, then letting calamine
//! inflate everything again, cost a third of the reading time. An archive
//! too unusual for the view (zip64 fields, overlapping entries) is scanned
//! whole first, as before.
//!
//! A part that inflates to more than its declared size is stopped by the
//! zip reader at that size (the `zip` crate checks it, for the scan and for
//! calamine's reading alike), so a lying header cannot get past step 1.
//!
//! A legacy .xls workbook is not compressed: [`check_uncompressed_workbook`]
//! holds its file size to the total.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::read::ReadError;

mod archive;
mod check;
mod scan;
mod sizes;
mod view;

use archive::Part;
use check::WorkbookCheck;
pub use sizes::SpreadsheetLimits;
use sizes::{mib_text, size_text};
pub(crate) use sizes::{FLAG_CELL_CHARS, FLAG_RATIO, FLAG_SHARED_STRINGS, FLAG_UNCOMPRESSED};
use view::ScannedArchive;
pub(crate) use view::Verdict;

/// What calamine reads a zip-based workbook from, once its declared sizes
/// have passed: the view whose XML parts are scanned as calamine inflates
/// them, or (for an archive too unusual for the view) the file itself,
/// scanned whole beforehand.
pub(crate) enum CheckedWorkbook {
    /// See [`view::ScannedArchive`].
    Scanned(Box<ScannedArchive>),
    /// The file, already scanned.
    File(BufReader<File>),
}

impl Read for CheckedWorkbook {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            CheckedWorkbook::Scanned(view) => view.read(buf),
            CheckedWorkbook::File(file) => file.read(buf),
        }
    }
}

impl Seek for CheckedWorkbook {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            CheckedWorkbook::Scanned(view) => view.seek(to),
            CheckedWorkbook::File(file) => file.seek(to),
        }
    }
}

/// Checks a workbook (a zip archive) against `limits`: its declared sizes
/// at once, what its XML parts hold as calamine reads them. Whatever
/// calamine then reads must come from the workbook returned, and a failure
/// of calamine's be looked up in `verdict` first (calamine only sees an I/O
/// error where a limit was met).
///
/// An archive that the zip reader cannot make sense of passes: calamine
/// then reports it as damaged in its own words.
pub(crate) fn check_workbook(
    path: &Path,
    limits: &SpreadsheetLimits,
    verdict: &Verdict,
) -> Result<CheckedWorkbook, ReadError> {
    let open = || {
        File::open(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let Ok(mut archive) = zip::ZipArchive::new(BufReader::new(open()?)) else {
        return Ok(CheckedWorkbook::File(BufReader::new(open()?)));
    };
    let check = WorkbookCheck { path, limits };
    // 1. The entries, from the central directory.
    let entries = archive::entries(&mut archive);
    // 2. The parts calamine reads, and their declared sizes.
    let read = check.parts_read(&mut archive, entries)?;
    check.total(&read)?;
    // 3. What the XML parts hold, inflated once through the scanner. An
    // .xlsb's binary parts are bounded by their sizes above; in any other
    // workbook a `.bin` part that is read at all is read as XML.
    let xlsb = read.iter().any(|p| p.lower.ends_with("workbook.bin"));
    let scanned: Vec<Part> = read
        .into_iter()
        .filter(|p| !(p.lower.ends_with(".rels") || xlsb && p.lower.ends_with(".bin")))
        .collect();
    if let Some(view) = view::view(path, limits, &mut archive, scanned.clone(), verdict) {
        return Ok(CheckedWorkbook::Scanned(Box::new(view)));
    }
    for part in &scanned {
        check.scan_part(&mut archive, part, Vec::new, |_| true)?;
    }
    Ok(CheckedWorkbook::File(BufReader::new(open()?)))
}

/// Checks a legacy .xls workbook (BIFF in an OLE compound file) against
/// `limits` before calamine loads it.
///
/// BIFF is not compressed, and calamine reads the whole file into memory
/// before it finds the sheets; every string it decodes (the shared strings
/// included, whose count it does not reserve room for) is bounded by the
/// bytes of its records. So the file's size is what the workbook inflates
/// to, and it is held to `--max-uncompressed-mb`. A cell over
/// `--max-cell-chars` is met when the sheet is read.
pub(crate) fn check_uncompressed_workbook(
    path: &Path,
    limits: &SpreadsheetLimits,
) -> Result<(), ReadError> {
    let size = std::fs::metadata(path)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if size <= limits.max_uncompressed_bytes {
        return Ok(());
    }
    Err(ReadError::Limit {
        path: path.to_path_buf(),
        part: "the whole file".to_owned(),
        what: format!(
            "it is {} ({size} bytes), and an .xls workbook is not compressed: \
             calamine loads all of it",
            size_text(size)
        ),
        limit: mib_text(limits.max_uncompressed_bytes),
        flag: FLAG_UNCOMPRESSED,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::archive::relationship_targets;
    use super::scan::{attr, parse_u64, Found, XmlScanner};
    use super::*;

    /// Scans `xml` fed in small pieces, so that every state crosses a
    /// boundary (the byte-wise path), and whole (tags read in place), and
    /// checks that both find the same.
    fn scan(part: &str, xml: &str, limits: &SpreadsheetLimits) -> Result<(), Found> {
        let in_pieces = {
            let mut scanner = XmlScanner::new(limits, part);
            xml.as_bytes()
                .chunks(3)
                .try_for_each(|chunk| scanner.feed(chunk))
        };
        let whole = XmlScanner::new(limits, part).feed(xml.as_bytes());
        assert_eq!(in_pieces, whole, "{xml}");
        whole
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
        // A `>` inside an attribute's quotes does not end the tag.
        assert_eq!(
            what(scan(
                sheet,
                r#"<c r="C3" x='a>"b'><v>0123456789X</v></c>"#,
                &limits
            )),
            "cell C3 holds more than 10 characters"
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
    fn cells_are_named_wherever_their_reference_is() {
        let limits = small();
        let sheet = "xl/worksheets/sheet1.xml";
        let long = "<v>0123456789X</v></c>";
        for (tag, name) in [
            (r#"<c r="A1">"#, "cell A1"),
            (r#"<c t="s" r="D9">"#, "cell D9"),
            (r#"<c  r='E2'>"#, "cell E2"),
            ("<c>", "a cell"),
            (r#"<sheetData><x:c r="G4">"#, "cell G4"),
        ] {
            let xml = format!("{tag}{long}");
            let expected = format!("{name} holds more than 10 characters");
            assert_eq!(what(scan(sheet, &xml, &limits)), expected, "{xml}");
        }
        // Tags that count are told from those that do not by their names, prefixed or not.
        assert_eq!(
            what(scan(
                "xl/sharedStrings.xml",
                "<x:sst><x:si/><s:si/><si/><si/></x:sst>",
                &limits
            )),
            "it has more than 3 shared strings"
        );
        assert!(scan(
            "xl/sharedStrings.xml",
            "<sst><sheet/><s/><si2/><cs/><row/><t>0123456789X</t></sst>",
            &limits
        )
        .is_ok());
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
