//! Integration tests: read. Drives `product_import::read` directly on CSV
//! files written here, .xlsx files generated with rust_xlsxwriter, and the
//! committed .xls/.ods/encrypted .xlsx fixtures (see tests/fixtures/make_fixtures.py).

use std::io::Write;
use std::path::{Path, PathBuf};

use product_import::cell::Cell;
use product_import::read::{self, ReadError, ReadOptions, SheetSelector, SourceRow, Table};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

use crate::common::{fixture, tempdir};

/// Writes `bytes` to `name` in a fresh temporary directory.
fn file(name: &str, bytes: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write test file");
    (dir, path)
}

fn open(path: &Path, options: &ReadOptions) -> Table {
    read::open(path, options).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rows(table: Table) -> Vec<SourceRow> {
    table.rows.map(|r| r.expect("row")).collect()
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// The header side of an opened [`Table`].
struct Opened {
    info: read::SourceInfo,
    headers: Vec<String>,
    header_row: u64,
}

/// Opens a CSV written from `content` with default options and reads all its rows.
fn csv(content: impl AsRef<[u8]>) -> (Opened, Vec<SourceRow>) {
    let (_dir, path) = file("products.csv", content);
    let table = open(&path, &ReadOptions::default());
    let opened = Opened {
        info: table.info,
        headers: table.headers,
        header_row: table.header_row,
    };
    (opened, table.rows.map(|r| r.expect("row")).collect())
}

#[test]
fn utf8_csv_with_quoted_delimiters_quotes_and_line_breaks() {
    let content = "name,description,price\r\n\
                   Eple,\"Rød, søt \"\"eple\"\"\",12.5\r\n\
                   Pære,\"line one\nline two\r\nline three\",3\r\n\
                   \r\n\
                   Plomme,,7\r\n";
    let (table, rows) = csv(content);
    assert_eq!(table.headers, ["name", "description", "price"]);
    assert_eq!(table.header_row, 1);
    assert_eq!(table.info.format, "csv");
    assert_eq!(table.info.encoding.as_deref(), Some("UTF-8"));
    assert!(table.info.encoding_detected);
    assert_eq!(table.info.delimiter, Some(b','));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].number, 2);
    assert_eq!(
        rows[0].cells,
        [text("Eple"), text("Rød, søt \"eple\""), text("12.5")]
    );
    assert_eq!(rows[1].number, 3);
    assert_eq!(
        rows[1].cells.to_vec()[1],
        text("line one\nline two\r\nline three")
    );
    // The multi-line cell does not shift later rows; the blank line is a row.
    assert_eq!(rows[2].number, 4);
    assert!(rows[2].is_empty());
    assert_eq!(rows[3].number, 5);
    assert_eq!(rows[3].cells, [text("Plomme"), Cell::Empty, text("7")]);
    assert_eq!(rows[3].width, 3);
}

#[test]
fn line_endings_lf_cr_and_no_final_newline() {
    for content in [
        "a,b\n1,2\n\n3,4",
        "a,b\r1,2\r\r3,4\r",
        "a,b\r\n1,2\r\n\r\n3,4",
    ] {
        let (_, rows) = csv(content);
        let numbers: Vec<u64> = rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [2, 3, 4], "{content:?}");
        assert_eq!(rows[2].cells, [text("3"), text("4")], "{content:?}");
    }
}

#[test]
fn bom_is_stripped_from_the_first_header() {
    let (table, rows) = csv("\u{FEFF}name;price\nEple;1\n");
    assert_eq!(table.headers, ["name", "price"]);
    assert_eq!(table.info.encoding.as_deref(), Some("UTF-8"));
    assert_eq!(rows[0].cells, [text("Eple"), text("1")]);
}

fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in s.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend(pair);
    }
    bytes
}

#[test]
fn utf16_with_bom() {
    for (big_endian, name) in [(false, "UTF-16LE"), (true, "UTF-16BE")] {
        let (table, rows) = csv(utf16("navn;pris\nBlåbær;12,50\n€ og ✓;1\n", big_endian));
        assert_eq!(table.info.encoding.as_deref(), Some(name));
        assert_eq!(table.info.delimiter, Some(b';'));
        assert_eq!(table.headers, ["navn", "pris"], "{name}");
        assert_eq!(rows[0].cells, [text("Blåbær"), text("12,50")], "{name}");
        assert_eq!(rows[1].cells, [text("€ og ✓"), text("1")], "{name}");
    }
}

fn windows_1252(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
    assert!(!unmappable);
    bytes.into_owned()
}

#[test]
fn windows_1252_semicolon_csv_with_norwegian_headers() {
    let content =
        windows_1252("Varenavn;Innpris;Lagerplass\nBlåbær;12,50;Hylle Ø3\nÆble;1 234,50;Lager å\n");
    let (table, rows) = csv(content);
    assert_eq!(table.info.encoding.as_deref(), Some("windows-1252"));
    assert_eq!(table.info.delimiter, Some(b';'));
    assert_eq!(table.headers, ["Varenavn", "Innpris", "Lagerplass"]);
    assert_eq!(
        rows[0].cells,
        [text("Blåbær"), text("12,50"), text("Hylle Ø3")]
    );
    assert_eq!(
        rows[1].cells,
        [text("Æble"), text("1 234,50"), text("Lager å")]
    );
}

#[test]
fn ascii_start_then_windows_1252_later_in_the_file() {
    let mut content = b"name;note\n".to_vec();
    while content.len() < 100_000 {
        content.extend_from_slice(b"Plain;ascii only\n");
    }
    content.extend(windows_1252("Blåbær;Ø\n"));
    let (table, rows) = csv(content);
    assert_eq!(table.info.delimiter, Some(b';'));
    assert_eq!(
        rows.last().expect("rows").cells,
        [text("Blåbær"), text("Ø")]
    );
}

#[test]
fn utf8_then_invalid_bytes_later_is_an_error_naming_the_row() {
    let mut content = "name;note\nBlåbær;å\n".as_bytes().to_vec();
    while content.len() < 100_000 {
        content.extend_from_slice(b"Plain;ascii only\n");
    }
    content.extend(windows_1252("Plain;Ø\n"));
    let (_dir, path) = file("mixed.csv", &content);
    let table = open(&path, &ReadOptions::default());
    let results: Vec<_> = table.rows.collect();
    let last_good = results.iter().filter(|r| r.is_ok()).count() as u64;
    match results.last() {
        Some(Err(ReadError::Csv { row, message, .. })) => {
            assert_eq!(*row, last_good + 2);
            assert!(
                message.contains("cell 2") && message.contains("UTF-8"),
                "{message}"
            );
        }
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn utf8_character_split_across_cells_is_an_error() {
    // "\xC3" and "\xA5" make "å" together, but not one in each cell.
    let mut content = b"name,note\nbl\xC3\xA5,x\n".to_vec();
    content.extend(b"a,b\n".repeat(20_000));
    content.extend(b"\xC3,\xA5\n");
    let (_dir, path) = file("split.csv", content);
    let results: Vec<_> = open(&path, &ReadOptions::default()).rows.collect();
    assert_eq!(
        results[0].as_ref().expect("row").cells,
        [text("blå"), text("x")]
    );
    let last = results.last().expect("rows");
    assert!(
        matches!(last, Err(ReadError::Csv { row: 20_003, message, .. }) if message.contains("cell 1")),
        "{last:?}"
    );
}

#[test]
fn delimiter_detection() {
    for delimiter in [b',', b';', b'\t', b'|'] {
        let d = delimiter as char;
        let content = format!("name{d}price{d}note\nEple{d}\"1,5\"{d}\"a;b|c\"\nPære{d}2{d}x\n");
        let (table, rows) = csv(content);
        assert_eq!(table.info.delimiter, Some(delimiter), "{d:?}");
        assert_eq!(table.headers, ["name", "price", "note"], "{d:?}");
        assert_eq!(
            rows[0].cells,
            [text("Eple"), text("1,5"), text("a;b|c")],
            "{d:?}"
        );
    }
}

#[test]
fn delimiter_and_encoding_overrides() {
    let (_dir, path) = file("o.csv", "a;b,c\n1;2,3\n");
    let options = ReadOptions {
        delimiter: Some(b','),
        ..Default::default()
    };
    let table = open(&path, &options);
    assert_eq!(table.headers, ["a;b", "c"]);
    assert_eq!(table.info.delimiter, Some(b','));

    // Valid UTF-8 by accident, but really Windows-1252: "Ã¥" is two letters there.
    let (_dir, path) = file("e.csv", windows_1252("navn\nBlÃ¥\n"));
    let detected = rows(open(&path, &ReadOptions::default()));
    assert_eq!(detected[0].cells, [text("Blå")]);
    let forced = ReadOptions {
        encoding: encoding_rs::Encoding::for_label(b"cp1252"),
        ..Default::default()
    };
    let table = open(&path, &forced);
    assert_eq!(table.info.encoding.as_deref(), Some("windows-1252"));
    assert!(!table.info.encoding_detected);
    assert_eq!(rows(table)[0].cells, [text("BlÃ¥")]);

    // A label for a multi-byte encoding goes through the transcoder.
    let (_dir, path) = file("le.csv", &utf16("navn\nÅse\n", false)[2..]);
    let forced = ReadOptions {
        encoding: encoding_rs::Encoding::for_label(b"utf-16le"),
        ..Default::default()
    };
    let table = open(&path, &forced);
    assert_eq!(table.headers, ["navn"]);
    assert_eq!(rows(table)[0].cells, [text("Åse")]);
}

#[test]
fn ragged_rows_keep_every_cell_and_their_real_width() {
    let (table, rows) = csv("a,b,c\n1,2\n1,2,3,4\n1,2,3\n");
    assert_eq!(table.headers.len(), 3);
    assert_eq!((rows[0].width, rows[0].cells.len()), (2, 3));
    assert_eq!(rows[0].cells.to_vec()[2], Cell::Empty);
    assert_eq!((rows[1].width, rows[1].cells.len()), (4, 4));
    assert_eq!(rows[1].cells.to_vec()[3], text("4"));
    assert_eq!((rows[2].width, rows[2].cells.len()), (3, 3));
}

#[test]
fn empty_rows_are_kept_for_counting() {
    let (_, rows) = csv("a;b\n;\n\n  ; \n1;2\n");
    assert_eq!(rows.len(), 4);
    assert!(rows[..3].iter().all(SourceRow::is_empty));
    assert!(!rows[3].is_empty());
    assert_eq!(rows[3].number, 5);
}

#[test]
fn header_on_row_three() {
    let (_dir, path) = file("h.csv", "Price list\n\nname,price\nEple,1\nPære,2\n");
    let options = ReadOptions {
        header_row: Some(3),
        ..Default::default()
    };
    let table = open(&path, &options);
    assert_eq!(table.header_row, 3);
    assert_eq!(table.headers, ["name", "price"]);
    let rows = rows(table);
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [4, 5]);

    let too_far = ReadOptions {
        header_row: Some(9),
        ..Default::default()
    };
    match read::open(&path, &too_far) {
        Err(e @ ReadError::NoHeader { .. }) => {
            assert!(e.to_string().contains("fewer than 9 rows"), "{e}")
        }
        other => panic!("expected NoHeader, got {:?}", other.map(|t| t.headers)),
    }
}

#[test]
fn empty_and_header_only_files() {
    for content in ["", "\u{FEFF}", "\n\n"] {
        let (_dir, path) = file("empty.csv", content);
        assert!(
            matches!(
                read::open(&path, &ReadOptions::default()),
                Err(ReadError::NoHeader { .. })
            ),
            "{content:?}"
        );
    }
    let (table, rows) = csv("name,price\n");
    assert_eq!(table.headers, ["name", "price"]);
    assert!(rows.is_empty());
}

#[test]
fn binary_junk_named_csv() {
    // A simple generator: deterministic, no extra crates.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let junk: Vec<u8> = (0..100_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let (_dir, path) = file("junk.csv", junk);
    assert!(matches!(
        read::open(&path, &ReadOptions::default()),
        Err(ReadError::NotText { .. })
    ));

    let (_dir, path) = file("book.csv", xlsx_bytes());
    match read::open(&path, &ReadOptions::default()) {
        Err(e @ ReadError::NotText { .. }) => assert!(e.to_string().contains("zip"), "{e}"),
        other => panic!("expected NotText, got {:?}", other.map(|t| t.headers)),
    }
}

#[test]
fn fifty_megabyte_single_line_ends_with_a_clear_error() {
    let (_dir, path) = file("long.csv", vec![b'x'; 50 * 1024 * 1024]);
    match read::open(&path, &ReadOptions::default()) {
        Err(e @ ReadError::Csv { row: 1, .. }) => {
            assert!(e.to_string().contains("longer than"), "{e}")
        }
        other => panic!("expected a CSV error, got {:?}", other.map(|t| t.headers)),
    }

    let mut content = b"name,price\nEple,1\n".to_vec();
    content.resize(50 * 1024 * 1024, b'y');
    let (_dir, path) = file("long-row.csv", content);
    let results: Vec<_> = open(&path, &ReadOptions::default()).rows.collect();
    assert_eq!(results.len(), 2);
    assert!(
        matches!(results[1], Err(ReadError::Csv { row: 3, .. })),
        "{:?}",
        results[1]
    );
}

#[test]
fn twenty_thousand_columns() {
    let header: Vec<String> = (0..20_000).map(|i| format!("column {i}")).collect();
    let row: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let content = format!("{}\n{}\n", header.join(";"), row.join(";"));
    let (table, rows) = csv(content);
    assert_eq!(table.info.delimiter, Some(b';'));
    assert_eq!(table.headers.len(), 20_000);
    assert_eq!(table.headers[19_999], "column 19999");
    assert_eq!(rows[0].cells.len(), 20_000);
    assert_eq!(rows[0].cells.to_vec()[19_999], text("19999"));
}

/// A workbook with a "Produkter" sheet of typed cells and an "Info" sheet.
fn xlsx_bytes() -> Vec<u8> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet().set_name("Produkter").expect("name");
    for (col, header) in ["name", "ean", "number", "total", "check", "date", "active"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).expect("write");
    }
    sheet.write_number(0, 7, 2024).expect("write");
    sheet.write_string(1, 0, "Eple").expect("write");
    sheet.write_number(1, 1, 7031234567890.0).expect("write");
    sheet.write_number(1, 2, 42).expect("write");
    sheet
        .write_formula(1, 3, Formula::new("=C2*2").set_result("84"))
        .expect("write");
    sheet
        .write_formula(1, 4, Formula::new("=NA()").set_result("#N/A"))
        .expect("write");
    let day = ExcelDateTime::from_ymd(2024, 3, 1).expect("date");
    sheet
        .write_datetime_with_format(1, 5, &day, &date)
        .expect("write");
    sheet.write_boolean(1, 6, true).expect("write");
    // Row 3 is left out; row 4 has a value beyond the header.
    sheet.write_string(3, 0, "Pære").expect("write");
    sheet.write_number(3, 2, 12.5).expect("write");
    sheet.write_string(3, 9, "stray").expect("write");
    let info = book.add_worksheet().set_name("Info").expect("name");
    info.write_string(0, 0, "Notes").expect("write");
    info.write_string(1, 0, "None").expect("write");
    book.save_to_buffer().expect("xlsx")
}

#[test]
fn xlsx_cells_keep_their_types() {
    let (_dir, path) = file("products.xlsx", xlsx_bytes());
    let table = open(&path, &ReadOptions::default());
    assert_eq!(table.info.format, "xlsx");
    assert_eq!(table.info.sheet.as_deref(), Some("Produkter"));
    assert_eq!(table.info.other_sheets, ["Info"]);
    assert_eq!(
        table.headers,
        ["name", "ean", "number", "total", "check", "date", "active", "2024"]
    );
    let rows = rows(table);
    assert_eq!(rows.len(), 3);
    let first = &rows[0];
    assert_eq!(first.number, 2);
    assert_eq!(first.cells.to_vec()[0], text("Eple"));
    assert_eq!(first.cells.to_vec()[1].text(), "7031234567890");
    assert_eq!(first.cells.to_vec()[2].text(), "42");
    assert_eq!(first.cells.to_vec()[3], Cell::Number(84.0));
    assert_eq!(first.cells.to_vec()[4], Cell::Error("#N/A".into()));
    assert!(
        matches!(&first.cells.to_vec()[5], Cell::Date { serial, text } if *serial == 45352.0 && text == "2024-03-01")
    );
    assert_eq!(first.cells.to_vec()[6], Cell::Bool(true));
    assert_eq!((first.cells.len(), first.width), (8, 8));
    // The missing row 3 is an empty row; row 4 carries its stray cell beyond the header.
    assert_eq!(rows[1].number, 3);
    assert!(rows[1].is_empty());
    assert_eq!(rows[2].number, 4);
    assert_eq!(rows[2].cells.to_vec()[2], Cell::Number(12.5));
    assert_eq!((rows[2].cells.len(), rows[2].width), (10, 10));
    assert_eq!(rows[2].cells.to_vec()[9], text("stray"));
}

#[test]
fn xlsx_sheet_selection() {
    let (_dir, path) = file("products.xlsx", xlsx_bytes());
    for selector in [
        SheetSelector::Name("Info".into()),
        SheetSelector::Name("info".into()),
        SheetSelector::Position(2),
    ] {
        let options = ReadOptions {
            sheet: Some(selector.clone()),
            ..Default::default()
        };
        let table = open(&path, &options);
        assert_eq!(table.info.sheet.as_deref(), Some("Info"), "{selector:?}");
        assert_eq!(table.info.other_sheets, ["Produkter"]);
        assert_eq!(table.headers, ["Notes"]);
        assert_eq!(rows(table)[0].cells, [text("None")]);
    }
    for selector in [
        SheetSelector::Name("Prices".into()),
        SheetSelector::Position(3),
        SheetSelector::Position(0),
    ] {
        let options = ReadOptions {
            sheet: Some(selector.clone()),
            ..Default::default()
        };
        match read::open(&path, &options) {
            Err(e @ ReadError::NoSuchSheet { .. }) => {
                assert!(e.to_string().contains("\"Produkter\", \"Info\""), "{e}")
            }
            other => panic!(
                "{selector:?}: expected NoSuchSheet, got {:?}",
                other.map(|t| t.headers)
            ),
        }
    }
}

#[test]
fn xlsx_header_row_and_offset_columns() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Price list 2024").expect("write");
    sheet.write_string(2, 1, "name").expect("write");
    sheet.write_string(2, 2, "price").expect("write");
    sheet.write_string(3, 1, "Eple").expect("write");
    sheet.write_number(3, 2, 9.5).expect("write");
    let (_dir, path) = file("offset.xlsx", book.save_to_buffer().expect("xlsx"));
    let options = ReadOptions {
        header_row: Some(3),
        ..Default::default()
    };
    let table = open(&path, &options);
    assert_eq!(table.headers, ["name", "price"]);
    let rows = rows(table);
    assert_eq!(rows[0].number, 4);
    assert_eq!(rows[0].cells, [text("Eple"), Cell::Number(9.5)]);

    match read::open(&path, &ReadOptions::default()) {
        Ok(table) => assert_eq!(table.headers, ["Price list 2024"]),
        Err(e) => panic!("{e}"),
    }
    let blank = ReadOptions {
        header_row: Some(2),
        ..Default::default()
    };
    assert!(matches!(
        read::open(&path, &blank),
        Err(ReadError::NoHeader { .. })
    ));
}

fn check_products_fixture(name: &str, format: &str) {
    let table = open(&fixture(name), &ReadOptions::default());
    assert_eq!(table.info.format, format);
    assert_eq!(table.info.sheet.as_deref(), Some("Produkter"));
    assert_eq!(table.info.other_sheets, ["Info"]);
    assert_eq!(
        table.headers,
        ["Varenavn", "Varenummer", "Innpris", "EAN", "Dato", "Aktiv"]
    );
    let rows = rows(table);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].cells.to_vec()[0], text("Blåbær"));
    assert_eq!(rows[0].cells.to_vec()[1], text("A-1"));
    assert_eq!(rows[0].cells.to_vec()[2], Cell::Number(12.5));
    assert_eq!(rows[0].cells.to_vec()[3].text(), "7031234567895");
    assert!(
        matches!(&rows[0].cells.to_vec()[4], Cell::Date { serial, text } if *serial == 45352.0 && text == "2024-03-01")
    );
    assert_eq!(rows[0].cells.to_vec()[5], Cell::Bool(true));
    assert_eq!(rows[1].cells.to_vec()[2].text(), "42");
    assert_eq!(rows[2].cells.to_vec()[3].text(), "96385074");
    assert_eq!(rows[2].cells.to_vec()[5], Cell::Bool(true));

    let options = ReadOptions {
        sheet: Some(SheetSelector::Name("INFO".into())),
        ..Default::default()
    };
    assert_eq!(open(&fixture(name), &options).headers, ["Notes"]);
}

#[test]
fn xls_fixture() {
    check_products_fixture("products.xls", "xls");
}

#[test]
fn ods_fixture() {
    check_products_fixture("products.ods", "ods");
}

#[test]
fn an_xls_larger_than_the_uncompressed_limit_is_refused_before_reading() {
    // In process: the 5.5 KiB fixture against a 4 KiB limit.
    let options = ReadOptions {
        limits: read::SpreadsheetLimits {
            max_uncompressed_bytes: 4096,
            ..Default::default()
        },
        ..Default::default()
    };
    match read::open(&fixture("products.xls"), &options) {
        Err(e @ ReadError::Limit { .. }) => {
            let message = e.to_string();
            for part in [
                "products.xls",
                "5.5 KiB",
                "not compressed",
                "--max-uncompressed-mb",
            ] {
                assert!(message.contains(part), "no {part:?} in: {message}");
            }
        }
        other => panic!("expected a limit error, got {:?}", other.map(|t| t.headers)),
    }
    // The binary: a file just over 1 MiB against `--max-uncompressed-mb 1`
    // (the smallest the flag takes), exit 2 before calamine reads it.
    let dir = tempdir();
    let mut bytes = std::fs::read(fixture("products.xls")).unwrap();
    bytes.resize((1 << 20) + 1, 0);
    let large = dir.path().join("large.xls");
    std::fs::write(&large, bytes).unwrap();
    let (code, stderr) = validate_in_1_gib(dir.path(), &large, &["--max-uncompressed-mb", "1"]);
    assert_refused(
        code,
        &stderr,
        &large,
        &[
            "the whole file",
            "1048577 bytes",
            "the limit is 1 MiB",
            "--max-uncompressed-mb",
        ],
    );
    assert!(!dir.path().join("large.xls.results.csv").exists());
}

fn workbook_error(path: &Path) -> String {
    match read::open(path, &ReadOptions::default()) {
        Err(e @ ReadError::Workbook { .. }) => e.to_string(),
        Err(e) => panic!("expected a workbook error, got {e}"),
        Ok(table) => match table.rows.last() {
            Some(Err(e @ ReadError::Workbook { .. })) => e.to_string(),
            other => panic!("expected a workbook error, got {other:?}"),
        },
    }
}

#[test]
fn truncated_xlsx() {
    let bytes = xlsx_bytes();
    for cut in [bytes.len() / 2, bytes.len() - 30, 100] {
        let (_dir, path) = file("cut.xlsx", &bytes[..cut]);
        let message = workbook_error(&path);
        assert!(message.contains("damaged"), "{message}");
    }
}

#[test]
fn password_protected_xlsx() {
    let message = workbook_error(&fixture("encrypted.xlsx"));
    assert!(message.contains("password"), "{message}");

    let mut fake = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    fake.resize(4096, 0);
    let (_dir, path) = file("fake.xlsx", fake);
    let message = workbook_error(&path);
    assert!(message.contains("password"), "{message}");
}

#[test]
fn junk_named_as_workbooks() {
    for name in ["junk.xlsx", "junk.xlsb", "junk.xls", "junk.ods"] {
        let (_dir, path) = file(name, "name,price\nEple,1\n");
        let message = workbook_error(&path);
        assert!(message.contains("not a real"), "{name}: {message}");
        let (_dir, path) = file(name, "");
        assert!(workbook_error(&path).contains("empty"), "{name}");
    }
    // An .xlsx that is really an old .xls is read as what it is.
    let (_dir, path) = file(
        "renamed.xlsx",
        std::fs::read(fixture("products.xls")).expect("fixture"),
    );
    assert_eq!(open(&path, &ReadOptions::default()).info.format, "xls");
}

/// Rebuilds the .xlsx or .ods at `from` into `to`, with the part `name`
/// replaced by what `write` writes, deflated (a 200 MiB run of spaces
/// deflates to about 200 KiB).
fn with_part(from: &Path, to: &Path, name: &str, write: impl FnOnce(&mut dyn Write)) {
    let mut source = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut write = Some(write);
    for index in 0..source.len() {
        let entry = source.by_index_raw(index).unwrap();
        if entry.name().unwrap() == name {
            drop(entry);
            out.start_file(name, options).unwrap();
            (write.take().unwrap())(&mut out);
        } else {
            out.raw_copy_file(entry).unwrap();
        }
    }
    out.finish().unwrap();
}

/// `count` spaces, written a mebibyte at a time.
fn spaces(out: &mut dyn Write, count: usize) {
    let chunk = vec![b' '; 1 << 20];
    let mut left = count;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
}

/// A workbook with a header `name` and one product, `Eple` (shared strings 0 and 1).
fn plain_xlsx(dir: &Path) -> PathBuf {
    let path = dir.join("plain.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "name").unwrap();
    sheet.write_string(1, 0, "Eple").unwrap();
    workbook.save(&path).unwrap();
    path
}

const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;

/// A 1 MiB run of spaces in cell A2 of the sheet, then `x`: a bomb once it
/// is `mib` MiB.
fn long_cell_xlsx(dir: &Path, mib: usize) -> PathBuf {
    let path = dir.join("cell-bomb.xlsx");
    with_part(&plain_xlsx(dir), &path, "xl/worksheets/sheet1.xml", |out| {
        write!(
            out,
            r#"{SHEET_HEAD}<row r="2"><c r="A2" t="inlineStr"><is><t>"#
        )
        .unwrap();
        spaces(out, mib << 20);
        write!(out, "x</t></is></c></row></sheetData></worksheet>").unwrap();
    });
    path
}

/// Shared strings whose second string is `mib` MiB of spaces.
fn long_shared_string_xlsx(dir: &Path, mib: usize) -> PathBuf {
    let path = dir.join("sst-bomb.xlsx");
    with_part(&plain_xlsx(dir), &path, "xl/sharedStrings.xml", |out| {
        write!(
            out,
            r#"<sst count="2" uniqueCount="2"><si><t>name</t></si><si><t>"#
        )
        .unwrap();
        spaces(out, mib << 20);
        write!(out, "x</t></si></sst>").unwrap();
    });
    path
}

/// Runs `validate` on `file` in `dir` with `args`, its address space limited
/// to 1 GiB (as a container's memory limit would), and returns the exit code
/// and stderr. Without the limits a bomb aborts the process there (134).
fn validate_in_1_gib(dir: &Path, file: &Path, args: &[&str]) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_product-import"));
    command
        .current_dir(dir)
        .arg("validate")
        .arg(file)
        .args(args)
        .arg("--quiet");
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_refused(code: i32, stderr: &str, file: &Path, wanted: &[&str]) {
    assert_eq!(code, 2, "{stderr}");
    let name = file.display().to_string();
    for part in std::iter::once(name.as_str()).chain(wanted.iter().copied()) {
        assert!(stderr.contains(part), "no {part:?} in: {stderr}");
    }
}

#[test]
fn a_200_mib_cell_bomb_is_refused_before_reading_in_bounded_memory() {
    let dir = tempdir();
    let bomb = long_cell_xlsx(dir.path(), 200);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 << 20);

    // The central directory gives it away: 200 MiB from a few hundred KiB.
    let (code, stderr) = validate_in_1_gib(dir.path(), &bomb, &[]);
    assert_refused(
        code,
        &stderr,
        &bomb,
        &[
            "xl/worksheets/sheet1.xml",
            "ratio of",
            "100:1",
            "--max-compression-ratio",
        ],
    );
    // With the ratio allowed, the scan meets the long cell before calamine does.
    let (code, stderr) =
        validate_in_1_gib(dir.path(), &bomb, &["--max-compression-ratio", "100000"]);
    assert_refused(
        code,
        &stderr,
        &bomb,
        &[
            "xl/worksheets/sheet1.xml",
            "cell A2",
            "32767 characters",
            "--max-cell-chars",
        ],
    );
    // The total of the parts read.
    let (code, stderr) = validate_in_1_gib(
        dir.path(),
        &bomb,
        &[
            "--max-compression-ratio",
            "100000",
            "--max-uncompressed-mb",
            "100",
        ],
    );
    assert_refused(
        code,
        &stderr,
        &bomb,
        &[
            "xl/worksheets/sheet1.xml",
            "100 MiB",
            "--max-uncompressed-mb",
        ],
    );
    assert!(!dir.path().join("cell-bomb.xlsx.results.csv").exists());
}

#[test]
fn a_shared_strings_bomb_is_refused_by_size_and_by_count() {
    let dir = tempdir();
    let bomb = long_shared_string_xlsx(dir.path(), 20);
    let (code, stderr) = validate_in_1_gib(dir.path(), &bomb, &[]);
    assert_refused(
        code,
        &stderr,
        &bomb,
        &["xl/sharedStrings.xml", "--max-compression-ratio"],
    );
    let (code, stderr) = validate_in_1_gib(
        dir.path(),
        &bomb,
        &[
            "--max-compression-ratio",
            "100000",
            "--max-shared-strings-mb",
            "16",
        ],
    );
    assert_refused(
        code,
        &stderr,
        &bomb,
        &["xl/sharedStrings.xml", "16 MiB", "--max-shared-strings-mb"],
    );
    let (code, stderr) =
        validate_in_1_gib(dir.path(), &bomb, &["--max-compression-ratio", "100000"]);
    assert_refused(
        code,
        &stderr,
        &bomb,
        &[
            "xl/sharedStrings.xml",
            "shared string 2",
            "--max-cell-chars",
        ],
    );

    // calamine reserves room for the count the part declares: 4 billion
    // strings would be a 96 GB allocation.
    let declared = dir.path().join("declared.xlsx");
    with_part(
        &plain_xlsx(dir.path()),
        &declared,
        "xl/sharedStrings.xml",
        |out| {
            write!(out, r#"<sst count="2" uniqueCount="4000000000"><si><t>name</t></si><si><t>Eple</t></si></sst>"#).unwrap();
        },
    );
    let (code, stderr) = validate_in_1_gib(dir.path(), &declared, &[]);
    assert_refused(
        code,
        &stderr,
        &declared,
        &[
            "xl/sharedStrings.xml",
            "declares 4000000000 shared strings",
            "--max-shared-strings-mb",
        ],
    );
}

/// Rebuilds `from` into `to` with small parts replaced or added.
fn with_parts(from: &Path, to: &Path, parts: &[(&str, Vec<u8>)]) {
    let mut source = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for index in 0..source.len() {
        let entry = source.by_index_raw(index).unwrap();
        if !parts.iter().any(|(name, _)| entry.name().unwrap() == *name) {
            out.raw_copy_file(entry).unwrap();
        }
    }
    for (name, bytes) in parts {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap();
}

#[test]
fn a_sheet_under_another_name_is_checked_too() {
    // The relationships may point a sheet at any part, a "picture" say.
    let dir = tempdir();
    let plain = plain_xlsx(dir.path());
    let rels = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&plain).unwrap()).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("xl/_rels/workbook.xml.rels").unwrap(),
            &mut text,
        )
        .unwrap();
        text.replace("worksheets/sheet1.xml", "media/image1.png")
    };
    assert!(rels.contains("media/image1.png"));
    let mut sheet =
        format!(r#"{SHEET_HEAD}<row r="2"><c r="A2" t="inlineStr"><is><t>"#).into_bytes();
    sheet.resize(sheet.len() + (1 << 20), b'x');
    sheet.extend_from_slice(b"</t></is></c></row></sheetData></worksheet>");
    let disguised = dir.path().join("disguised.xlsx");
    with_parts(
        &plain,
        &disguised,
        &[
            ("xl/_rels/workbook.xml.rels", rels.into_bytes()),
            ("xl/media/image1.png", sheet),
        ],
    );
    let (code, stderr) = validate_in_1_gib(
        dir.path(),
        &disguised,
        &["--max-compression-ratio", "100000"],
    );
    assert_refused(
        code,
        &stderr,
        &disguised,
        &["xl/media/image1.png", "cell A2", "--max-cell-chars"],
    );
}

#[test]
fn a_cell_longer_than_excel_allows_is_refused_unless_the_limit_is_raised() {
    // 40,000 characters (80,000 bytes): no zip bomb, just longer than Excel allows.
    let dir = tempdir();
    let path = dir.path().join("long.xlsx");
    with_part(
        &plain_xlsx(dir.path()),
        &path,
        "xl/sharedStrings.xml",
        |out| {
            let long = "ø".repeat(40_000);
            write!(
                out,
                r#"<sst count="2" uniqueCount="2"><si><t>name</t></si><si><t>{long}</t></si></sst>"#
            )
            .unwrap();
        },
    );
    match read::open(&path, &ReadOptions::default()) {
        Err(e @ ReadError::Limit { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains(
                    "xl/sharedStrings.xml: shared string 2 holds more than 32767 characters"
                ),
                "{message}"
            );
            assert!(message.contains("--max-cell-chars"), "{message}");
        }
        other => panic!("expected a limit error, got {:?}", other.map(|t| t.headers)),
    }
    let options = ReadOptions {
        limits: read::SpreadsheetLimits {
            max_cell_chars: 40_000,
            ..Default::default()
        },
        ..Default::default()
    };
    let rows = rows(open(&path, &options));
    assert_eq!(rows[0].cells.to_vec()[0].text().chars().count(), 40_000);
}

#[test]
fn a_part_larger_than_its_header_says_is_stopped_at_the_declared_size() {
    let dir = tempdir();
    let honest = long_shared_string_xlsx(dir.path(), 2);
    // Patch the declared uncompressed size of xl/sharedStrings.xml down to
    // 1,000 bytes, in the central directory and the local header alike.
    let mut bytes = std::fs::read(&honest).unwrap();
    let name = b"xl/sharedStrings.xml";
    let mut patched = 0;
    for (signature, size_at, name_at) in [(b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30)] {
        let mut at = 0;
        while let Some(found) = bytes[at..].windows(4).position(|w| w == signature) {
            let start = at + found;
            if bytes[start + name_at..].starts_with(name) {
                let size = &mut bytes[start + size_at..start + size_at + 4];
                if size != [0xFF; 4] {
                    size.copy_from_slice(&1000u32.to_le_bytes());
                    patched += 1;
                }
            }
            at = start + 4;
        }
    }
    assert!(patched > 0);
    let liar = dir.path().join("liar.xlsx");
    std::fs::write(&liar, bytes).unwrap();
    let (code, stderr) = validate_in_1_gib(dir.path(), &liar, &[]);
    assert_refused(code, &stderr, &liar, &["xl/sharedStrings.xml", "damaged"]);
}

#[test]
fn an_ods_whose_repeated_cells_expand_past_the_limit_is_refused() {
    let dir = tempdir();
    let bomb = dir.path().join("repeats.ods");
    // One row of 16,384 numbers repeated 6,000 times: 98 million cells, 3 GB for calamine.
    with_part(&fixture("products.ods"), &bomb, "content.xml", |out| {
        write!(
            out,
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Ark1"><table:table-row><table:table-cell office:value-type="string"><text:p>name</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#
        )
        .unwrap();
    });
    let (code, stderr) = validate_in_1_gib(dir.path(), &bomb, &[]);
    assert_refused(
        code,
        &stderr,
        &bomb,
        &["content.xml", "sheet \"Ark1\"", "--max-uncompressed-mb"],
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the bytes, the CSV reader ends with rows or a clear error,
        /// numbers rows in order and gives every row at least the header's width.
        #[test]
        fn csv_reader_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..2000)) {
            // Mostly the bytes that matter to CSV, some anything at all.
            const ALPHABET: &[u8] = b",;\t|\"\r\na1 \xC3\xA5\xE6\0";
            let bytes: Vec<u8> =
                raw.iter().map(|&b| if b < 192 { ALPHABET[usize::from(b) % ALPHABET.len()] } else { b }).collect();
            let (_dir, path) = file("fuzz.csv", &bytes);
            if let Ok(table) = read::open(&path, &ReadOptions::default()) {
                let width = table.headers.len();
                let mut last = table.header_row;
                for row in table.rows {
                    let Ok(row) = row else { break };
                    prop_assert!(row.number > last);
                    last = row.number;
                    prop_assert_eq!(row.cells.len(), row.width.max(width));
                }
            }
        }

        /// Any cells written by a standard CSV writer read back exactly, one
        /// row per record whatever line breaks the cells hold.
        #[test]
        fn csv_round_trip(records in proptest::collection::vec(
            proptest::collection::vec("[a-zæøå0-9 ,;\"'\r\n]{0,12}", 3),
            1..20,
        )) {
            let mut writer = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
            writer.write_record(["a", "b", "c"]).expect("write");
            for record in &records {
                writer.write_record(record).expect("write");
            }
            let bytes = writer.into_inner().expect("flush");
            let (_dir, path) = file("round.csv", bytes);
            let options = ReadOptions { delimiter: Some(b';'), ..Default::default() };
            let table = open(&path, &options);
            let rows = super::rows(table);
            // Rows whose cells are all empty are written as blank-ish lines
            // by some writers; the csv crate writes `""` so every record is a row.
            prop_assert_eq!(rows.len(), records.len());
            for (i, (row, record)) in rows.iter().zip(&records).enumerate() {
                prop_assert_eq!(row.number, i as u64 + 2);
                let expected: Vec<Cell> =
                    record.iter().map(|s| if s.is_empty() { Cell::Empty } else { text(s) }).collect();
                prop_assert_eq!(&row.cells, &expected);
            }
        }

        /// A workbook with some of its bytes changed is read or reported, never a crash.
        #[test]
        fn damaged_xlsx_never_panics(changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut bytes = xlsx_bytes();
            for (at, value) in changes {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            let (_dir, path) = file("damaged.xlsx", bytes);
            if let Ok(table) = read::open(&path, &ReadOptions::default()) {
                for row in table.rows {
                    if row.is_err() {
                        break;
                    }
                }
            }
        }
    }
}
