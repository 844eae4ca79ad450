//! Integration tests: `validate` and `template` run as a user runs them, with
//! the results, rejects and payloads files compared exactly.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{bin, tempdir};

fn samples(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// A copy of a sample in `dir`, so that the results written beside it stay
/// in the temporary folder.
fn sample_in(dir: &Path, name: &str) -> PathBuf {
    let copy = dir.join(name);
    fs::copy(samples(name), &copy).unwrap();
    copy
}

/// Reads a CSV results file, without its BOM.
fn read_text(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    text.strip_prefix('\u{FEFF}').unwrap_or(&text).to_string()
}

/// Runs `validate` in `dir` and returns (exit code, stdout, stderr).
fn validate(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .current_dir(dir)
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, content).unwrap();
    path
}

#[test]
fn sample_csv_is_valid_and_results_pin_the_columns() {
    let dir = tempdir();
    let file = sample_in(dir.path(), "products.csv");
    let payloads = dir.path().join("payloads.jsonl");
    let (code, stdout, stderr) = validate(
        dir.path(),
        &[
            file.to_str().unwrap(),
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("\"name\"") && stdout.contains("-> name"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Rows: 8 read, 8 valid, 0 invalid, 0 empty skipped"),
        "{stdout}"
    );

    let results = read_text(&dir.path().join("products.csv.results.csv"));
    let mut lines = results.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,sheet,status,id,http_status,trace_id,error,name,number,type,status,description,costPrice,\
         salesPrice,webshopEnabled,stock.isManaged,stock.quantity,stock.location,ean,\
         supplierProduct.itemCode,supplierProduct.price,category,unit"
    );
    assert_eq!(
        lines.next().unwrap(),
        "2,,valid,,,,,White shoe laces,SH-1001,default,active,\"Cotton laces, 120 cm\",12.50,39.90,yes,yes,\
         250,A-12-3,4006381333931,LACE-120,11.00,Accessories,stk"
    );
    // The quoted cell with a line break is one row: the next rows keep their numbers.
    let rows: Vec<&str> = results
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert!(
        rows.contains(&"5") && rows.contains(&"6") && rows.contains(&"9"),
        "{rows:?}"
    );

    let payloads = fs::read_to_string(&payloads).unwrap();
    let first = payloads.lines().next().unwrap();
    assert_eq!(
        first,
        r#"{"row":2,"product":{"name":"White shoe laces","number":"SH-1001","type":"default","status":"active","description":"Cotton laces, 120 cm","costPrice":12.5,"salesPrice":39.9,"webshopEnabled":true,"stock":{"isManaged":true,"quantity":250.0,"location":"A-12-3"},"ean":"4006381333931","supplierProduct":{"itemCode":"LACE-120","price":11.0},"category":{"name":"Accessories"},"units":{"name":"stk"}}}"#
    );
    assert_eq!(payloads.lines().count(), 8);
}

#[test]
fn the_results_file_goes_beside_the_input_not_into_the_current_folder() {
    let started_in = tempdir();
    let input_folder = tempdir();
    let file = sample_in(input_folder.path(), "products.csv");
    let (code, stdout, stderr) = validate(started_in.path(), &[file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(input_folder
        .path()
        .join("products.csv.results.csv")
        .exists());
    let litter: Vec<_> = fs::read_dir(started_in.path()).unwrap().collect();
    assert!(litter.is_empty(), "{litter:?}");
}

#[test]
fn windows_1252_semicolon_norwegian_file() {
    let dir = tempdir();
    let payloads = dir.path().join("p.jsonl");
    let (code, stdout, stderr) = validate(
        dir.path(),
        &[
            sample_in(dir.path(), "varer-nordisk.csv").to_str().unwrap(),
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("windows-1252"), "{stdout}");
    assert!(stdout.contains("delimiter ';'"), "{stdout}");
    assert!(
        stdout.contains("\"Varenavn\"") && stdout.contains("-> name"),
        "{stdout}"
    );
    let payloads = fs::read_to_string(&payloads).unwrap();
    let votter = payloads.lines().find(|l| l.contains("Votter")).unwrap();
    assert!(
        votter.contains(r#""costPrice":1150.0,"salesPrice":2490.0"#),
        "{votter}"
    );
    assert!(
        votter.contains(r#""description":"Skinnvotter med fôr""#),
        "{votter}"
    );
    let skolisser = payloads.lines().find(|l| l.contains("Skolisser")).unwrap();
    assert!(skolisser.contains(r#""status":"inactive""#), "{skolisser}");
    // The results file keeps the input's delimiter and its Norwegian text.
    let results = read_text(&dir.path().join("varer-nordisk.csv.results.csv"));
    assert!(
        results.starts_with("row;sheet;status;id;http_status;trace_id;error;Varenr;Varenavn"),
        "{results}"
    );
    assert!(results.contains("Ullsokker grå"), "{results}");
}

#[test]
fn mapping_file_maps_constants_and_ignores() {
    let dir = tempdir();
    let payloads = dir.path().join("p.jsonl");
    let (code, stdout, stderr) = validate(
        dir.path(),
        &[
            sample_in(dir.path(), "legacy-export.csv").to_str().unwrap(),
            "--mapping",
            samples("mapping.toml").to_str().unwrap(),
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(ignored)"), "{stdout}");
    assert!(!stdout.contains("Unknown columns"), "{stdout}");
    let payloads = fs::read_to_string(&payloads).unwrap();
    assert_eq!(
        payloads.lines().nth(1).unwrap(),
        r#"{"row":3,"product":{"name":"Gammel vare B","number":"LG-002","status":"active","costPrice":1200.5,"salesPrice":2499.0,"stock":{"location":"H2"},"category":{"id":1}}}"#
    );
}

#[test]
fn every_problem_of_a_row_is_reported_with_column_and_value() {
    let dir = tempdir();
    let long_name = "x".repeat(151);
    let file = write(
        dir.path(),
        "bad.csv",
        &format!(
            "Varenavn,Varenr,Pris,Strekkode,Kategori,Nettbutikk\n\
             Ok product,A-1,10.50,4006381333931,Shoes,yes\n\
             {long_name},A-2,-5,4006381333932,Shoes,maybe\n\
             Duplicate,A-1,12,,Shoes,\n\
             ,A-4,12x,,,\n\
             Ragged,A-5\n\
             \n\
             =HYPERLINK(\"http://x\"),A-6,1,,Shoes,no\n"
        ),
    );
    let rejects = dir.path().join("rejects.csv");
    let (code, stdout, _) = validate(
        dir.path(),
        &[
            file.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("Rows: 6 read, 2 valid, 4 invalid, 1 empty skipped"),
        "{stdout}"
    );
    let results = read_text(&dir.path().join("bad.csv.results.csv"));
    let errors: Vec<String> = csv::Reader::from_reader(results.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            format!("{}|{}|{}", &r[0], &r[2], &r[6])
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            "2|valid|".to_string(),
            format!(
                "3|invalid|column \"Varenavn\": \"{}...\" is 151 characters long; at most 150 are allowed; \
                 column \"Pris\": \"-5\" must not be negative; \
                 column \"Strekkode\": \"4006381333932\" is not a valid barcode: it has a wrong check digit (expected 1); \
                 column \"Nettbutikk\": \"maybe\" is not yes/no (accepted: yes/no, ja/nei, true/false, 1/0, x)",
                "x".repeat(57)
            ),
            "4|invalid|column \"Varenr\": \"A-1\" is also on row 2; each product number may appear only once"
                .to_string(),
            "5|invalid|column \"Varenavn\": is empty; every product needs a name; column \"Pris\": \"12x\" is not a number; \
             no category: fill a category or category.id column, or set a constant \"category.id\" in the mapping file"
                .to_string(),
            "6|invalid|the row has 2 cells but the header has 6; check for a missing or extra delimiter or quote; \
             no category: fill a category or category.id column, or set a constant \"category.id\" in the mapping file"
                .to_string(),
            "8|valid|".to_string(),
        ]
    );
    // A formula-like cell is written so a spreadsheet program does not run it.
    assert!(results.contains("'=HYPERLINK"), "{results}");

    // The rejects file holds the invalid rows in the input's columns plus
    // `error`, and can be fed back as input.
    let rejects_text = read_text(&rejects);
    assert!(
        rejects_text.starts_with("Varenavn,Varenr,Pris,Strekkode,Kategori,Nettbutikk,error\n"),
        "{rejects_text}"
    );
    assert_eq!(rejects_text.lines().count(), 5);
    let (code, stdout, _) = validate(dir.path(), &[rejects.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("Rows: 4 read, 1 valid, 3 invalid"),
        "{stdout}"
    );
}

#[test]
fn ambiguous_numbers_are_decided_by_the_column_or_the_flag() {
    let dir = tempdir();
    // 1,234 alone could be 1234 or 1.234.
    let alone = write(
        dir.path(),
        "alone.csv",
        "name,price,category.id\nA,\"1,234\",1\n",
    );
    let (code, _, _) = validate(dir.path(), &[alone.to_str().unwrap()]);
    assert_eq!(code, 1);
    let results = read_text(&dir.path().join("alone.csv.results.csv"));
    assert!(
        results.contains("could be read as 1234 or 1.234"),
        "{results}"
    );
    let payloads = dir.path().join("p.jsonl");
    let (code, _, _) = validate(
        dir.path(),
        &[
            alone.to_str().unwrap(),
            "--decimal",
            "comma",
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert!(fs::read_to_string(&payloads)
        .unwrap()
        .contains(r#""salesPrice":1.234"#));

    // Another value of the column (12,50) says the comma is the decimal mark.
    let column = write(
        dir.path(),
        "column.csv",
        "name;price;category.id\nA;1,234;1\nB;12,50;1\n",
    );
    let (code, _, _) = validate(
        dir.path(),
        &[
            column.to_str().unwrap(),
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert!(fs::read_to_string(&payloads)
        .unwrap()
        .contains(r#""salesPrice":1.234"#));
}

#[test]
fn no_name_column_is_fatal_and_lists_the_headers() {
    let dir = tempdir();
    let file = write(dir.path(), "x.csv", "Foo,Bar\n1,2\n");
    let (code, _, stderr) = validate(dir.path(), &[file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no column holds the product name"),
        "{stderr}"
    );
    assert!(stderr.contains("\"Foo\", \"Bar\""), "{stderr}");
}

#[test]
fn bad_flags_and_unreadable_files_exit_2() {
    let dir = tempdir();
    let file = write(dir.path(), "x.csv", "name\nA\n");
    for args in [
        vec![file.to_str().unwrap(), "--delimiter", "ab"],
        vec![file.to_str().unwrap(), "--encoding", "klingon"],
        vec![file.to_str().unwrap(), "--header-row", "0"],
        vec![file.to_str().unwrap(), "--mapping", "/nonexistent/m.toml"],
        vec!["/nonexistent/file.csv"],
        vec![file.to_str().unwrap(), "--no-such-flag"],
    ] {
        let (code, _, stderr) = validate(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.is_empty());
        // The cause is said once, not once by the error and again by its source.
        let cause = "No such file or directory";
        assert!(stderr.matches(cause).count() <= 1, "{stderr}");
    }
    let empty = write(dir.path(), "empty.csv", "");
    let (code, _, stderr) = validate(dir.path(), &[empty.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    let junk = dir.path().join("junk.csv");
    fs::write(
        &junk,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let (code, _, stderr) = validate(dir.path(), &[junk.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn results_as_jsonl_and_xlsx() {
    let dir = tempdir();
    let file = samples("products.csv");
    let jsonl = dir.path().join("r.jsonl");
    let (code, _, _) = validate(
        dir.path(),
        &[file.to_str().unwrap(), "--results", jsonl.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let first = fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        first.starts_with(
            r#"{"row":2,"sheet":null,"status":"valid","id":null,"http_status":null,"trace_id":null,"error":null,"cells":{"name":"White shoe laces","number":"SH-1001""#
        ),
        "{first}"
    );
    let xlsx = dir.path().join("r.xlsx");
    let (code, _, _) = validate(
        dir.path(),
        &[file.to_str().unwrap(), "--results", xlsx.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    // The workbook reads back as input: the status columns are ignored.
    let (code, stdout, _) = validate(
        dir.path(),
        &[xlsx.to_str().unwrap(), "--results", "again.csv"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("Rows: 8 read, 8 valid"), "{stdout}");
    assert!(!stdout.contains("Unknown columns"), "{stdout}");
}

#[test]
fn spreadsheet_cells_keep_digits_and_report_dates_and_errors() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    let dir = tempdir();
    let path = dir.path().join("book.xlsx");
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write_string(0, 0, "read me").unwrap();
    let sheet = wb.add_worksheet();
    sheet.set_name("Products").unwrap();
    for (col, h) in [
        "Product name",
        "SKU",
        "EAN",
        "Price",
        "category.id",
        "Location",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "Cup").unwrap();
    sheet.write_number(1, 1, 42.0).unwrap();
    sheet.write_number(1, 2, 7038010055690.0).unwrap();
    sheet
        .write_formula(1, 3, Formula::new("=10*2").set_result("20"))
        .unwrap();
    sheet.write_number(1, 4, 1.0).unwrap();
    sheet.write_number(1, 5, 12.0).unwrap();
    sheet.write_string(2, 0, "Plate").unwrap();
    let date = ExcelDateTime::from_ymd(2024, 3, 1).unwrap();
    sheet
        .write_datetime_with_format(2, 1, &date, &Format::new().set_num_format("yyyy-mm-dd"))
        .unwrap();
    sheet
        .write_formula(2, 3, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    sheet.write_number(2, 4, 1.0).unwrap();
    wb.save(&path).unwrap();

    let payloads = dir.path().join("p.jsonl");
    let (code, stdout, _) = validate(
        dir.path(),
        &[
            path.to_str().unwrap(),
            "--sheet",
            "Products",
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Sheets not read: \"Notes\""), "{stdout}");
    assert_eq!(
        fs::read_to_string(&payloads).unwrap().trim(),
        r#"{"row":2,"product":{"name":"Cup","number":"42","salesPrice":20.0,"stock":{"location":"12"},"ean":"7038010055690","category":{"id":1}}}"#
    );
    let results = read_text(&dir.path().join("book.xlsx.results.csv"));
    let line = results.lines().find(|l| l.starts_with("3,")).unwrap();
    assert!(line.starts_with("3,Products,invalid,"), "{line}");
    assert!(
        line.contains("column \"\"SKU\"\": \"\"2024-03-01\"\" is a date"),
        "{line}"
    );
    assert!(
        line.contains("column \"\"Price\"\": \"\"#N/A\"\" is an error value"),
        "{line}"
    );
    // By position too.
    let (code, stdout, _) = validate(dir.path(), &[path.to_str().unwrap(), "--sheet", "2"]);
    assert_eq!(code, 1, "{stdout}");
    let (code, _, stderr) = validate(dir.path(), &[path.to_str().unwrap(), "--sheet", "Prices"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("Products"), "{stderr}");
}

#[test]
fn templates_validate_and_have_help() {
    let dir = tempdir();
    for name in ["t.xlsx", "t.csv"] {
        let out = bin()
            .current_dir(dir.path())
            .args(["template", name])
            .output()
            .unwrap();
        assert!(out.status.success());
        let (code, stdout, _) = validate(dir.path(), &[name]);
        assert_eq!(code, 0, "{name}: {stdout}");
        assert!(stdout.contains("Rows: 1 read, 1 valid"), "{stdout}");
    }
    let (code, stdout, _) = validate(dir.path(), &["t.xlsx", "--sheet", "Help"]);
    assert_eq!(code, 2, "{stdout}");
    let out = bin()
        .current_dir(dir.path())
        .args(["template", "t.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ctrl_c_stops_with_130_and_a_valid_results_file() {
    let dir = tempdir();
    let file = dir.path().join("big.csv");
    let out = bin()
        .args(["generate", file.to_str().unwrap(), "--rows", "400000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_product-import"))
        .current_dir(dir.path())
        .args(["validate", "big.csv", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let results = read_text(&dir.path().join("big.csv.results.csv"));
    let mut reader = csv::Reader::from_reader(results.as_bytes());
    let mut last = 1;
    for record in reader.records() {
        let record = record.expect("every written line is whole");
        let row: u64 = record[0].parse().unwrap();
        assert_eq!(row, last + 1, "rows in order, none missing");
        assert_eq!(&record[2], "valid");
        last = row;
    }
    assert!(last < 400_001, "stopped before the end");
}

/// Every string in a payloads file, decoded.
fn payload_strings(path: &Path) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in fs::read_to_string(path).unwrap().lines() {
        walk(&serde_json::from_str(line).unwrap(), &mut out);
    }
    out
}

/// The problem listed for row `row` in `validate`'s summary, without the row number.
fn problem_of(stdout: &str, row: u64) -> String {
    let prefix = format!("  row {row}: ");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no problem for row {row} in: {stdout}"))
        .to_owned()
}

#[test]
fn a_control_character_makes_its_cell_invalid_wherever_it_is_in_the_file() {
    let dir = tempdir();
    let header = "name,number,category.id,description\n";
    let filler = |from: usize, bytes: usize| {
        let mut rows = String::new();
        let mut n = from;
        while rows.len() < bytes {
            rows.push_str(&format!("Pære {n},P{n},1,\"line one\tand\r\nline two\"\n"));
            n += 1;
        }
        rows
    };
    // NUL at byte 10 of the row (inside the 64 KiB sample), then at byte 200,000.
    let bad = "Ep\0le,P-bad,1,\n";
    let early = format!("{header}{bad}{}", filler(0, 1000));
    let late_filler = filler(0, 200_000);
    let late = format!("{header}{late_filler}{bad}");
    assert_eq!(early.find('\0'), Some(header.len() + 2));
    assert!(late.find('\0').unwrap() > 200_000);
    let late_row = 2 + late_filler.matches("Pære").count() as u64;

    let mut problems = Vec::new();
    for (name, content, row) in [("early.csv", &early, 2), ("late.csv", &late, late_row)] {
        let path = write(dir.path(), name, content);
        let payloads = dir.path().join(format!("{name}.jsonl"));
        let (code, stdout, stderr) = validate(
            dir.path(),
            &[
                path.to_str().unwrap(),
                "--payloads",
                payloads.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 1, "{name}: {stdout}{stderr}");
        assert!(stdout.contains(" 1 invalid"), "{name}: {stdout}");
        problems.push(problem_of(&stdout, row));
        let strings = payload_strings(&payloads);
        assert!(strings.iter().any(|s| s.starts_with("Pære")));
        assert!(
            strings
                .iter()
                .all(|s| !s.chars().any(|c| c.is_control() && !"\t\r\n".contains(c))),
            "{name}: a control character reached the payloads"
        );
    }
    assert_eq!(problems[0], problems[1]);
    assert_eq!(
        problems[0],
        "column \"name\": \"Ep\u{FFFD}le\" contains the control character NUL (U+0000) at character 3 \
         (shown as \u{FFFD}); such characters are never sent: remove it from the file"
    );

    // DEL, a C1 control and an escape; tabs and line breaks only in the description.
    let path = write(
        dir.path(),
        "others.csv",
        "name,number,category.id,description\n\
         A\u{7F},1,1,\n\
         B\u{85}x,2,1,\n\
         C,3\u{1B}[0m,1,\n\
         \"D\nE\",4,1,\n\
         F,5,1,\"tab\tand\nbreak\"\n",
    );
    let (code, stdout, _) = validate(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        problem_of(&stdout, 2)
            .contains("\"name\": \"A\u{FFFD}\" contains the control character DEL (U+007F)"),
        "{stdout}"
    );
    assert!(
        problem_of(&stdout, 3).contains("U+0085 at character 2"),
        "{stdout}"
    );
    assert!(
        problem_of(&stdout, 4)
            .contains("\"number\": \"3\u{FFFD}[0m\" contains the control character U+001B"),
        "{stdout}"
    );
    assert!(
        problem_of(&stdout, 5)
            .contains("contains a line break at character 2; only the description"),
        "{stdout}"
    );
    assert!(stdout.contains(" 1 valid, 4 invalid"), "{stdout}");

    // A spreadsheet cell: the same rule.
    let book = dir.path().join("book.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, h) in ["name", "category.id"].iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "Ep\u{1}le").unwrap();
    sheet.write_number(1, 1, 1.0).unwrap();
    workbook.save(&book).unwrap();
    let (code, stdout, _) = validate(dir.path(), &[book.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        problem_of(&stdout, 2).contains(
            "\"name\": \"Ep\u{FFFD}le\" contains the control character U+0001 at character 3"
        ),
        "{stdout}"
    );
}

#[test]
fn a_binary_file_named_csv_is_refused_as_a_whole() {
    let dir = tempdir();
    let pdf = dir.path().join("invoice.csv");
    fs::write(
        &pdf,
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    )
    .unwrap();
    let (code, _, stderr) = validate(dir.path(), &[pdf.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("invoice.csv") && stderr.contains("PDF"),
        "{stderr}"
    );

    // Mostly control characters: an executable, say.
    let mut binary = b"\x7FELF\x02\x01\x01".to_vec();
    binary.extend((0..4000u32).map(|i| (i % 7) as u8));
    let exe = dir.path().join("tool.csv");
    fs::write(&exe, binary).unwrap();
    let (code, _, stderr) = validate(dir.path(), &[exe.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("tool.csv") && stderr.contains("control characters"),
        "{stderr}"
    );
}

/// Runs `validate -` in `dir` with `input` on standard input.
fn validate_stdin(dir: &Path, input: impl Into<Vec<u8>>, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .current_dir(dir)
        .args(["validate", "-"])
        .args(args)
        .write_stdin(input)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_csv_on_standard_input_is_read_with_detection() {
    let dir = tempdir();
    // Windows-1252 and semicolons, as Excel saves a CSV in Norway.
    let (code, stdout, stderr) = validate_stdin(
        dir.path(),
        b"Varenavn;Varenr;Kategori;Utpris\nBl\xE5b\xE6r;1;1;12,50\nP\xE6re;2;1;9,90\n".to_vec(),
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("Read standard input (csv, windows-1252 detected, delimiter ';')"),
        "{stdout}"
    );
    assert!(stdout.contains("Results: stdin.results.csv"), "{stdout}");
    let results = read_text(&dir.path().join("stdin.results.csv"));
    assert!(
        results.contains("2;;valid;;;;;Blåbær;1;1;12,50"),
        "{results}"
    );

    // Longer than the sample that decides the encoding: the rows after it
    // come from the stream, and a number repeated at the end is still found.
    let mut big = String::from("name,number,category.id\n");
    for n in 0..10_000 {
        big.push_str(&format!("Product {n},N{n},1\n"));
    }
    big.push_str("Again,N7,1\n");
    assert!(big.len() > 3 * 64 * 1024);
    let (code, stdout, _) = validate_stdin(dir.path(), big, &["--results", "big.jsonl"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("10001 read, 10000 valid, 1 invalid"),
        "{stdout}"
    );
    assert!(
        problem_of(&stdout, 10_002).contains("\"N7\" is also on row 9"),
        "{stdout}"
    );
    assert!(dir.path().join("big.jsonl").exists());

    // UTF-16 with a byte-order mark.
    let utf16: Vec<u8> = std::iter::once(0xFEFF_u16)
        .chain("name,category.id\nÅse,1\n".encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let (code, stdout, _) = validate_stdin(dir.path(), utf16, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("UTF-16LE"), "{stdout}");
}

#[test]
fn a_spreadsheet_or_nothing_on_standard_input_is_refused() {
    let dir = tempdir();
    let book = dir.path().join("book.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook.add_worksheet().write_string(0, 0, "name").unwrap();
    workbook.save(&book).unwrap();
    let (code, _, stderr) = validate_stdin(dir.path(), fs::read(&book).unwrap(), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("standard input")
            && stderr.contains("spreadsheets cannot be read from standard input"),
        "{stderr}"
    );
    let (code, _, stderr) = validate_stdin(dir.path(), "", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("standard input: no header row found"),
        "{stderr}"
    );
}

#[test]
fn validate_into_a_closed_pipe_ends_quietly() {
    // `validate … | head`: the reader of stdout is gone before the first
    // line. That is no error: the run ends as usual, its results complete.
    let dir = tempdir();
    let mut csv = String::from("name,number,category.id\n");
    for i in 0..2000 {
        csv.push_str(&format!("Product {i},P-{i},1\n"));
    }
    let file = write(dir.path(), "many.csv", &csv);
    let results = dir.path().join("results.csv");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("product-import"))
        .arg("validate")
        .arg(&file)
        .arg("--results")
        .arg(&results)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(read_text(&results).lines().count(), 2001);
}
