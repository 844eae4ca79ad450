//! Integration tests: the .xlsx files a spreadsheet user works in. The
//! results and rejects workbooks are opened as the zip archives they are and
//! their XML parts checked for what calamine does not read: frozen panes,
//! the filter, fills and notes.

use std::fs;
use std::io::Read;
use std::path::Path;

use product_import::results::{read_results, RowStatus};

use crate::common::{bin, tempdir};

/// The text of one part of an .xlsx archive (`None` when absent).
pub fn xlsx_part(path: &Path, part: &str) -> Option<String> {
    let file = fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut entry = zip.by_name(part).ok()?;
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    Some(text)
}

/// The style index (`s="N"`) of cell `cell` in a sheet's XML (0 when unstyled).
pub fn cell_style(sheet_xml: &str, cell: &str) -> u32 {
    let start = sheet_xml
        .find(&format!("<c r=\"{cell}\""))
        .unwrap_or_else(|| panic!("no cell {cell}"));
    let tag = &sheet_xml[start..start + sheet_xml[start..].find('>').unwrap()];
    tag.split(" s=\"")
        .nth(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .unwrap_or(0)
}

/// The fill colour (`FFRRGGBB`) of style index `s`, if it has a solid fill.
pub fn fill_of_style(styles_xml: &str, s: u32) -> Option<String> {
    let xfs = &styles_xml[styles_xml.find("<cellXfs").unwrap()..];
    let xf = xfs.split("<xf ").nth(s as usize + 1)?;
    let fill_id: usize = xf
        .split("fillId=\"")
        .nth(1)?
        .split('"')
        .next()?
        .parse()
        .ok()?;
    let fills =
        &styles_xml[styles_xml.find("<fills").unwrap()..styles_xml.find("</fills>").unwrap()];
    let fill = fills.split("<fill>").nth(fill_id + 1)?;
    fill.split("fgColor rgb=\"")
        .nth(1)
        .map(|r| r[..8].to_string())
}

/// The notes of a comments part: (cell, text).
pub fn notes(comments_xml: &str) -> Vec<(String, String)> {
    comments_xml
        .split("<comment ref=\"")
        .skip(1)
        .map(|c| {
            let cell = c[..c.find('"').unwrap()].to_string();
            let text = c
                .replace("<t xml:space=\"preserve\">", "<t>")
                .split("<t>")
                .skip(1)
                .map(|t| t[..t.find("</t>").unwrap()].to_string())
                .collect::<String>();
            (cell, text)
        })
        .collect()
}

const INPUT: &str = "name,number,salesPrice,ean,category.id\n\
Good,00123,10,,1\n\
,00124,abc,,1\n\
No category,00125,5,,\n";

const GREEN: &str = "FFC6EFCE";
const RED: &str = "FFFFC7CE";
const BAD_CELL: &str = "FFFFEB9C";

#[test]
fn results_workbook_is_frozen_filtered_coloured_and_noted() {
    let dir = tempdir();
    fs::write(dir.path().join("in.csv"), INPUT).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args([
            "validate",
            "in.csv",
            "--results",
            "r.xlsx",
            "--rejects",
            "rej.xlsx",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let results = dir.path().join("r.xlsx");

    let sheet = xlsx_part(&results, "xl/worksheets/sheet1.xml").unwrap();
    assert!(sheet.contains("state=\"frozen\""), "{sheet}");
    assert!(sheet.contains("<autoFilter ref=\"A1:L4\""), "{sheet}");
    // Widths fitted within bounds: the error column is wide, none beyond 60.
    assert!(sheet.contains("<cols>"), "{sheet}");
    for w in sheet.split("width=\"").skip(1) {
        let w: f64 = w[..w.find('"').unwrap()].parse().unwrap();
        assert!((8.0..=61.0).contains(&w), "width {w}");
    }
    let styles = xlsx_part(&results, "xl/styles.xml").unwrap();
    let fill = |cell: &str| fill_of_style(&styles, cell_style(&sheet, cell));
    // Status cells: green for valid, red for invalid.
    assert_eq!(fill("C2").as_deref(), Some(GREEN));
    assert_eq!(fill("C3").as_deref(), Some(RED));
    // Bad cells filled: name (H) and salesPrice (J) of row 3, category.id (L) of row 4.
    assert_eq!(fill("H3").as_deref(), Some(BAD_CELL));
    assert_eq!(fill("J3").as_deref(), Some(BAD_CELL));
    assert_eq!(fill("L4").as_deref(), Some(BAD_CELL));
    assert_eq!(fill("I3"), None, "a good cell stays plain");

    let comments = xlsx_part(&results, "xl/comments1.xml").expect("notes");
    let noted = notes(&comments);
    assert_eq!(
        noted.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["H3", "J3", "L4"]
    );
    assert!(
        noted[0].1.contains("every product needs a name"),
        "{noted:?}"
    );
    assert!(noted[1].1.contains("\"abc\" is not a number"), "{noted:?}");
    assert!(noted[2].1.starts_with("no category"), "{noted:?}");

    // The Summary sheet.
    let workbook = xlsx_part(&results, "xl/workbook.xml").unwrap();
    assert!(workbook.contains("name=\"Summary\""), "{workbook}");
    let strings = xlsx_part(&results, "xl/sharedStrings.xml").unwrap_or_default();
    let summary = xlsx_part(&results, "xl/worksheets/sheet2.xml").unwrap();
    let all = format!("{strings}{summary}");
    for label in [
        "rows read",
        "invalid",
        "started",
        "rate",
        "salesPrice",
        "delimiter",
    ] {
        assert!(all.contains(label), "{label} missing: {all}");
    }

    // Codes are text: leading zeros survive the round trip; the error text is as before.
    let back = read_results(&results).unwrap();
    assert_eq!(&back[0].cells[1], "00123");
    assert_eq!(back[1].status, RowStatus::Invalid);
    assert_eq!(
        back[1].error.as_deref(),
        Some("column \"name\": is empty; every product needs a name; column \"salesPrice\": \"abc\" is not a number")
    );

    // The rejects workbook: same care, notes on its own cells.
    let rejects = dir.path().join("rej.xlsx");
    let sheet = xlsx_part(&rejects, "xl/worksheets/sheet1.xml").unwrap();
    assert!(sheet.contains("state=\"frozen\""), "{sheet}");
    assert!(sheet.contains("<autoFilter ref=\"A1:F3\""), "{sheet}");
    let styles = xlsx_part(&rejects, "xl/styles.xml").unwrap();
    assert_eq!(
        fill_of_style(&styles, cell_style(&sheet, "C2")).as_deref(),
        Some(BAD_CELL)
    );
    let comments = xlsx_part(&rejects, "xl/comments1.xml").expect("notes");
    assert_eq!(
        notes(&comments)
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["A2", "C2", "E3"]
    );
}

#[test]
fn a_rejects_workbook_fixed_goes_back_in_as_it_is() {
    let dir = tempdir();
    fs::write(dir.path().join("in.csv"), INPUT).unwrap();
    bin()
        .current_dir(dir.path())
        .args(["validate", "in.csv", "-q", "--rejects", "rej.xlsx"])
        .assert()
        .code(1);
    // Fed back unchanged: the same two rows, the same problems, nothing
    // from the extra `error` column.
    let out = bin()
        .current_dir(dir.path())
        .args(["validate", "rej.xlsx", "--results", "again.csv"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Rows: 2 read, 0 valid, 2 invalid"),
        "{stdout}"
    );
    assert!(stdout.contains("\"error\""), "{stdout}");

    // Fixed in a spreadsheet program (rewritten here, colours and notes
    // gone, the error column kept), it is valid.
    let mut table = product_import::read::open(
        &dir.path().join("rej.xlsx"),
        &product_import::read::ReadOptions::default(),
    )
    .unwrap();
    let rows: Vec<Vec<String>> = table
        .rows
        .by_ref()
        .map(|r| {
            r.unwrap()
                .cells
                .iter()
                .map(|c| c.text().into_owned())
                .collect()
        })
        .collect();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in table.headers.iter().enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            let text = match (r, c) {
                (0, 0) => "Fixed name",
                (0, 2) => "12",
                (1, 4) => "1",
                _ => text.as_str(),
            };
            ws.write_string(r as u32 + 1, c as u16, text).unwrap();
        }
    }
    wb.save(dir.path().join("fixed.xlsx")).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["validate", "fixed.xlsx", "--results", "fixed.results.csv"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Rows: 2 read, 2 valid"), "{stdout}");
    let results = fs::read_to_string(dir.path().join("fixed.results.csv")).unwrap();
    assert!(results.contains("00124"), "leading zeros kept: {results}");
}

#[test]
fn validate_ends_with_a_table_of_problems_by_column() {
    let dir = tempdir();
    let mut input = String::from("name,salesPrice,category.id\n");
    for i in 0..30 {
        input.push_str(&format!("P{i},x{i},1\n"));
    }
    input.push_str(",1,1\n");
    fs::write(dir.path().join("in.csv"), input).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["validate", "in.csv"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let table = &stdout[stdout.find("Rows: ").expect("summary")..];
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[1], "Problems by column:", "{stdout}");
    assert!(
        lines[3].contains("salesPrice") && lines[3].contains("not a number"),
        "{stdout}"
    );
    assert!(lines[3].ends_with("30  2, 3, 4, 5, 6, ..."), "{stdout}");
    assert!(
        lines[4].contains("name") && lines[4].ends_with("1  32"),
        "{stdout}"
    );
    // Quiet: only the summary line.
    let out = bin()
        .current_dir(dir.path())
        .args(["validate", "in.csv", "-q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn template_checks_numbers_keeps_codes_as_text_and_shows_limits() {
    let dir = tempdir();
    bin()
        .current_dir(dir.path())
        .args(["template", "t.xlsx"])
        .assert()
        .success();
    let path = dir.path().join("t.xlsx");
    let sheet = xlsx_part(&path, "xl/worksheets/sheet1.xml").unwrap();
    // costPrice is column F: a decimal of 0 or more.
    assert!(
        sheet.contains("type=\"decimal\" operator=\"greaterThanOrEqual\"")
            && sheet.contains("sqref=\"F2:F10001\""),
        "{sheet}"
    );
    // number (B) and ean (M) are text columns.
    let styles = xlsx_part(&path, "xl/styles.xml").unwrap();
    assert!(styles.contains("formatCode=\"@\""), "{styles}");
    let text_style = |col: &str| {
        let cols = &sheet[sheet.find("<cols>").unwrap()..sheet.find("</cols>").unwrap()];
        cols.split("<col ")
            .find(|c| c.contains(&format!("min=\"{col}\"")))
            .is_some_and(|c| c.contains(" style=\""))
    };
    assert!(text_style("2") && text_style("13"), "{sheet}");
    assert!(!text_style("1"), "name is not a code column: {sheet}");
    let strings = xlsx_part(&path, "xl/sharedStrings.xml").unwrap();
    assert!(strings.contains("limits"), "{strings}");
    assert!(strings.contains("at most 150 characters"), "{strings}");
    assert!(strings.contains("&gt;= 0"), "{strings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_api_does_not_know_is_noted_on_its_cell() {
    use product_import::results::read_results;
    use product_import_sandbox::{self as sandbox, SandboxConfig};
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = crate::common::tempdir();
    let file = dir.path().join("varer.csv");
    std::fs::write(
        &file,
        "Varenavn;Kategori\nStol;Tools\nBord;No such category\n",
    )
    .unwrap();
    let results = dir.path().join("results.xlsx");
    let status =
        crate::common::run::import(&sb, &file, &["--results", results.to_str().unwrap()]).await;
    assert_eq!(status, product_import::commands::ExitStatus::RowsFailed);
    let records = read_results(&results).unwrap();
    let error = records[1].error.as_deref().unwrap();
    assert!(
        error.starts_with("category \"No such category\" was not found"),
        "{error}"
    );
    // The note sits on the row's Kategori cell: column I (7 status columns, then
    // Varenavn in H and Kategori in I), row 3.
    let comments = xlsx_part(&results, "xl/comments1.xml").expect("notes");
    let noted = notes(&comments);
    assert!(
        noted
            .iter()
            .any(|(cell, text)| cell == "I3" && text.contains("was not found")),
        "{noted:?}"
    );
    sb.shutdown().await;
}
