//! Integration tests: `export`, and the round trip export → edit → import
//! `--existing update` against a sandbox seeded with a catalogue of several
//! pages. An unedited export must send no write at all; an edited one must
//! change exactly the edited cells.

use std::path::{Path, PathBuf};

use clap::Parser;
use product_import::cell::Cell;
use product_import::cli::{ExportArgs, ImportArgs};
use product_import::commands::export;
use product_import::commands::import;
use product_import::commands::ExitStatus;
use product_import::read::{self, ReadOptions};
use product_import::results::{read_results, RowStatus};
use product_import_sandbox::wire::Product;
use product_import_sandbox::{
    self as sandbox, Behaviour, Paging, PatchAnswer, PatchNulls, SandboxConfig, SandboxHandle,
    SeedData,
};
use serde_json::json;

use crate::common::tempdir;
use crate::excel::xlsx_part;

const PRODUCTS: usize = 250;

/// A valid GTIN-13 ending in `i`, with a leading zero.
fn gtin13(i: usize) -> String {
    let body = format!("070123{:06}", i);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(k, b)| u32::from(b - b'0') * if k % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A sandbox holding `PRODUCTS` products with every field filled.
async fn seeded() -> SandboxHandle {
    seeded_with(Behaviour::lenient()).await
}

/// [`seeded`], on a server behaving as `behaviour` (with cursor paging).
async fn seeded_with(behaviour: Behaviour) -> SandboxHandle {
    let products = (0..PRODUCTS)
        .map(|i| {
            json!({
                "name": format!("Product {i}"),
                "number": format!("00{i:03}"),
                "type": "default",
                "status": if i % 4 == 0 { "inactive" } else { "active" },
                // Text a legacy import left untrimmed reads back unchanged.
                "description": if i == 5 { " Padded description  ".to_string() } else { format!("Description of {i}") },
                "costPrice": i as f64 * 0.5,
                "salesPrice": i as f64 * 1.25 + 0.1,
                "indirectCost": 0,
                "webshopEnabled": i % 3 == 0,
                "stock": {"isManaged": i % 2 == 0, "quantity": i as f64 - 3.0, "location": format!("A-{i}")},
                "ean": gtin13(i),
                "eanAlternative": format!("0{i}"),
                "supplierProduct": {"itemCode": format!("0IC{i}"), "number": format!("S-{i}"), "name": format!("Supplier's {i}"), "price": 3.3},
                "units": {"id": 1 + i % 7},
                "category": {"id": 1 + i % 5},
                "supplier": {"id": 10001 + i % 3},
            })
        })
        .collect();
    let config = SandboxConfig {
        data: SeedData {
            products,
            ..SeedData::builtin()
        },
        // Cursor paging, at most 100 a page: the export reads three pages.
        behaviour: Behaviour {
            paging: Paging::Cursor,
            ..behaviour
        },
        ..SandboxConfig::default()
    };
    sandbox::start(config).await.unwrap()
}

fn env_of(sb: &SandboxHandle) -> impl Fn(&str) -> Option<String> {
    let c = sb.credentials();
    let pairs = [
        ("TFSO_CLIENT_ID".to_string(), c.client_id.clone()),
        ("TFSO_CLIENT_SECRET".to_string(), c.client_secret.clone()),
        (
            "TFSO_ORGANIZATION_ID".to_string(),
            c.organization_id.clone(),
        ),
    ];
    move |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn urls(sb: &SandboxHandle) -> Vec<String> {
    vec![
        "--base-url".into(),
        sb.base_url(),
        "--token-url".into(),
        sb.token_url(),
    ]
}

async fn run_export(sb: &SandboxHandle, out: &Path, flags: &[&str]) -> ExitStatus {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ExportArgs,
    }
    let mut argv = vec![
        "export".to_string(),
        out.display().to_string(),
        "--quiet".into(),
        "--rate=500".into(),
    ];
    argv.extend(urls(sb));
    argv.extend(flags.iter().map(|s| s.to_string()));
    let args = Cli::try_parse_from(argv).unwrap().args;
    export::run_with_env(args, &env_of(sb)).await.unwrap()
}

async fn run_import(sb: &SandboxHandle, file: &Path, flags: &[&str]) -> ExitStatus {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ImportArgs,
    }
    let mut argv = vec![
        "import".to_string(),
        file.display().to_string(),
        "--quiet".into(),
        "--rate=500".into(),
        "--existing=update".into(),
    ];
    argv.extend(urls(sb));
    argv.extend(flags.iter().map(|s| s.to_string()));
    let args = Cli::try_parse_from(argv).unwrap().args;
    import::run_with_env(args, &env_of(sb)).await.unwrap()
}

/// Writes requests to the products: creates and updates.
fn writes(sb: &SandboxHandle) -> u64 {
    let stats = sb.stats();
    stats.answered("POST /v1/products") + stats.answered("PATCH /v1/products/{id}")
}

/// The products without their modification time.
fn catalogue(sb: &SandboxHandle) -> Vec<Product> {
    let mut products = sb.products();
    for p in &mut products {
        p.modified_at = None;
    }
    products.sort_by_key(|p| p.id);
    products
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unedited_export_imports_with_no_write_at_all() {
    let sb = seeded().await;
    let dir = tempdir();
    let before = catalogue(&sb);
    for name in ["all.xlsx", "all.csv"] {
        let file = dir.path().join(name);
        assert_eq!(run_export(&sb, &file, &[]).await, ExitStatus::Success);
        // Every page was read: 250 products at 100 a page.
        let table = read::open(&file, &ReadOptions::default()).unwrap();
        assert_eq!(table.headers[..4], ["id", "name", "number", "type"]);
        let rows: Vec<_> = table.rows.map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), PRODUCTS, "{name}");
        let ean = table.headers.iter().position(|h| h == "ean").unwrap();
        let number = table.headers.iter().position(|h| h == "number").unwrap();
        let category = table.headers.iter().position(|h| h == "category").unwrap();
        // Codes as text, with their leading zeros; references by name.
        assert_eq!(rows[0].cells.to_vec()[ean], Cell::Text(gtin13(0)), "{name}");
        assert_eq!(
            rows[0].cells.to_vec()[number],
            Cell::Text("00000".into()),
            "{name}"
        );
        assert_eq!(
            rows[1].cells.to_vec()[category],
            Cell::Text("Shoes".into()),
            "{name}"
        );

        let results = dir.path().join(format!("{name}.results.xlsx"));
        let writes_before = writes(&sb);
        let status = run_import(&sb, &file, &["--results", results.to_str().unwrap()]).await;
        assert_eq!(status, ExitStatus::Success, "{name}");
        assert_eq!(writes(&sb), writes_before, "{name}: no write at all");
        let records = read_results(&results).unwrap();
        assert_eq!(records.len(), PRODUCTS);
        assert!(
            records.iter().all(|r| r.status == RowStatus::Skipped),
            "{name}: {:?}",
            records.iter().find(|r| r.status != RowStatus::Skipped)
        );
        // The import's Summary sheet counts them.
        let summary = xlsx_part(&results, "xl/worksheets/sheet2.xml").unwrap();
        assert!(summary.contains("<v>250</v>"), "{summary}");
        // Settings, never secrets.
        let strings = xlsx_part(&results, "xl/sharedStrings.xml").unwrap();
        assert!(
            strings.contains("existing") && strings.contains("update"),
            "{strings}"
        );
        let c = sb.credentials();
        assert!(!strings.contains(&c.client_secret) && !summary.contains(&c.client_secret));
    }
    assert_eq!(catalogue(&sb), before);
    sb.shutdown().await;
}

/// Exports the catalogue of `sb` to `dir/export`, then writes it as a user
/// would after editing `edits` to `dir/edited.xlsx`: the catalogue as it
/// was, and the edited file.
async fn export_edited(
    sb: &SandboxHandle,
    dir: &Path,
    export: &str,
    edits: &[(usize, &str, Cell)],
) -> (Vec<Product>, PathBuf) {
    let file = dir.join(export);
    assert_eq!(run_export(sb, &file, &[]).await, ExitStatus::Success);
    let edited = dir.join("edited.xlsx");
    edit(&file, &edited, edits);
    (catalogue(sb), edited)
}

/// Rewrites an exported workbook as a user would after editing `edits`
/// (row index from 0, header, new text or number).
fn edit(from: &Path, to: &Path, edits: &[(usize, &str, Cell)]) {
    let table = read::open(from, &ReadOptions::default()).unwrap();
    let headers = table.headers.clone();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (r, row) in table.rows.enumerate() {
        let row = row.unwrap();
        for (c, cell) in row.cells.to_vec().iter().enumerate() {
            let cell = edits
                .iter()
                .find(|(er, h, _)| *er == r && headers[c] == *h)
                .map_or(cell, |(_, _, new)| new);
            let (r, c) = (r as u32 + 1, c as u16);
            match cell {
                Cell::Text(s) => ws.write_string(r, c, s).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                Cell::Int(i) => ws.write_number(r, c, *i as f64).map(|_| ()),
                Cell::Empty => Ok(()),
                other => ws.write_string(r, c, other.text()).map(|_| ()),
            }
            .unwrap();
        }
    }
    wb.save(to).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_export_changes_exactly_the_edited_cells() {
    // On the kindest server, and on the worst plausible one (PATCH replaces
    // nested objects and answers with an empty body).
    for behaviour in [Behaviour::lenient(), Behaviour::strict()] {
        edited_export_round_trip(seeded_with(behaviour).await).await;
    }
}

async fn edited_export_round_trip(sb: SandboxHandle) {
    let dir = tempdir();
    let edits = [
        (3, "salesPrice", Cell::Number(99.5)),
        (7, "name", Cell::Text("Renamed".into())),
        (7, "category", Cell::Text("Clothing".into())),
        (20, "stock.quantity", Cell::Number(42.0)),
    ];
    let (before, edited) = export_edited(&sb, dir.path(), "all.xlsx", &edits).await;

    // A dry run says which fields each update would send.
    let dry = dir.path().join("dry.csv");
    let status = run_import(
        &sb,
        &edited,
        &["--dry-run", "--results", dry.to_str().unwrap()],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    // A dry run's outputs get `.dry-run` before their extension.
    let said: Vec<(u64, String)> = read_results(&dir.path().join("dry.dry-run.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| r.status == RowStatus::Valid)
        .map(|r| (r.row, r.error.unwrap_or_default()))
        .collect();
    let id = |i: usize| before[i].id;
    assert_eq!(
        said,
        vec![
            (
                5,
                format!("dry run: would update salesPrice of product {}", id(3))
            ),
            (
                9,
                format!(
                    "dry run: would update name, category.id of product {}",
                    id(7)
                )
            ),
            (
                22,
                format!("dry run: would update stock.quantity of product {}", id(20))
            ),
        ]
    );

    let writes_before = writes(&sb);
    let results = dir.path().join("r.csv");
    let status = run_import(&sb, &edited, &["--results", results.to_str().unwrap()]).await;
    assert_eq!(status, ExitStatus::Success);
    assert_eq!(
        sb.stats().answered("POST /v1/products"),
        0,
        "nothing created"
    );
    assert_eq!(writes(&sb) - writes_before, 3, "one PATCH per edited row");

    let mut expected = before.clone();
    expected[3].sales_price = Some(99.5);
    expected[7].name = Some("Renamed".into());
    expected[7].category = Some(product_import_sandbox::wire::NamedRef {
        id: Some(4),
        name: Some("Clothing".into()),
    });
    expected[20].stock.as_mut().unwrap().quantity = Some(42.0);
    assert_eq!(catalogue(&sb), expected);
    sb.shutdown().await;
}

/// The rows of a results file that are not `skipped`: (row, status, message).
fn not_skipped(results: &Path) -> Vec<(u64, RowStatus, String)> {
    read_results(results)
        .unwrap()
        .into_iter()
        .filter(|r| r.status != RowStatus::Skipped)
        .map(|r| (r.row, r.status, r.error.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_cell_clears_its_field_and_an_emptied_price_is_refused() {
    let sb = seeded().await;
    let dir = tempdir();
    let cleared = ["description", "ean", "supplierProduct.itemCode", "unit"];
    let mut edits: Vec<(usize, &str, Cell)> =
        cleared.iter().map(|c| (11, *c, Cell::Empty)).collect();
    edits.push((13, "salesPrice", Cell::Empty));
    let (before, edited) = export_edited(&sb, dir.path(), "all.xlsx", &edits).await;
    let id = |i: usize| before[i].id;

    let refused = format!(
        "column \"salesPrice\": is empty, but product {} has salesPrice {}; a price is not \
         cleared: write 0 to make it 0, or the price to keep it",
        id(13),
        13.0 * 1.25 + 0.1
    );
    let dry = dir.path().join("dry.csv");
    let status = run_import(
        &sb,
        &edited,
        &["--dry-run", "--results", dry.to_str().unwrap()],
    )
    .await;
    assert_eq!(status, ExitStatus::RowsFailed);
    assert_eq!(
        not_skipped(&dir.path().join("dry.dry-run.csv")),
        [
            (
                13,
                RowStatus::Valid,
                format!(
                    "dry run: would clear description, ean, supplierProduct.itemCode, units.id of product {}",
                    id(11)
                )
            ),
            (15, RowStatus::Invalid, refused.clone()),
        ]
    );

    let writes_before = writes(&sb);
    let results = dir.path().join("r.xlsx");
    let status = run_import(&sb, &edited, &["--results", results.to_str().unwrap()]).await;
    assert_eq!(status, ExitStatus::RowsFailed, "the refused price");
    assert_eq!(
        writes(&sb) - writes_before,
        1,
        "one PATCH, for the cleared row"
    );
    let mut expected = before.clone();
    let p = &mut expected[11];
    p.description = None;
    p.ean = None;
    p.supplier_product.as_mut().unwrap().item_code = None;
    p.units = None;
    assert_eq!(
        catalogue(&sb),
        expected,
        "exactly the emptied cells cleared"
    );
    assert_eq!(
        not_skipped(&results),
        [
            (13, RowStatus::Updated, String::new()),
            (15, RowStatus::Invalid, refused)
        ]
    );
    // The refused cell is marked in the .xlsx results.
    let notes = xlsx_part(&results, "xl/comments1.xml").unwrap();
    assert!(notes.contains("a price is not cleared"), "{notes}");

    // Once cleared, the same file sends nothing more.
    let writes_before = writes(&sb);
    run_import(&sb, &edited, &[]).await;
    assert_eq!(writes(&sb), writes_before, "cleared once, not again");

    // `--empty-cells keep` leaves a product's values as they are.
    let now = dir.path().join("now.xlsx");
    assert_eq!(run_export(&sb, &now, &[]).await, ExitStatus::Success);
    let keep = dir.path().join("keep.xlsx");
    edit(
        &now,
        &keep,
        &[
            (20, "description", Cell::Empty),
            (13, "salesPrice", Cell::Empty),
        ],
    );
    let keep_results = dir.path().join("keep.csv");
    let flags = [
        "--empty-cells",
        "keep",
        "--results",
        keep_results.to_str().unwrap(),
    ];
    let status = run_import(&sb, &keep, &flags).await;
    assert_eq!(status, ExitStatus::Success);
    assert_eq!(
        writes(&sb),
        writes_before,
        "nothing cleared, nothing refused"
    );
    assert_eq!(not_skipped(&keep_results), [], "every row skipped");
    assert_eq!(catalogue(&sb), expected);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_null_is_caught_in_the_results() {
    // Whether the PATCH answers with the product or with an empty body
    // (then the product is read back, once per row that clears). The row
    // clearing `stock.location` also reads its product just before the
    // PATCH, so that the rest of `stock` it sends is fresh.
    for (answer, reads) in [(PatchAnswer::Product, 1), (PatchAnswer::Empty, 2)] {
        let sb = seeded_with(Behaviour {
            patch_nulls: PatchNulls::Ignore,
            patch_answer: answer,
            ..Behaviour::lenient()
        })
        .await;
        let dir = tempdir();
        let edits = [
            (4, "description", Cell::Empty),
            (4, "stock.location", Cell::Empty),
            (5, "salesPrice", Cell::Number(1.5)),
        ];
        let (before, edited) = export_edited(&sb, dir.path(), "all.csv", &edits).await;
        let results = dir.path().join("r.csv");
        let status = run_import(&sb, &edited, &["--results", results.to_str().unwrap()]).await;
        assert_eq!(status, ExitStatus::Success, "{answer:?}");
        // The server kept both: the results say so rather than claim a clear.
        assert_eq!(catalogue(&sb)[4].description, before[4].description);
        assert_eq!(catalogue(&sb)[5].sales_price, Some(1.5));
        assert_eq!(
            not_skipped(&results),
            [
                (
                    6,
                    RowStatus::Updated,
                    "the server kept description, stock.location though the update sent them empty"
                        .into()
                ),
                (7, RowStatus::Updated, String::new())
            ],
            "{answer:?}"
        );
        assert_eq!(
            sb.stats().answered("GET /v1/products/{id}"),
            reads,
            "{answer:?}"
        );
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_by_category_and_columns() {
    let sb = seeded().await;
    let dir = tempdir();
    let file = dir.path().join("shoes.csv");
    let status = run_export(
        &sb,
        &file,
        &["--category", "Shoes,4", "--columns", "salesPrice,ean"],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let table = read::open(&file, &ReadOptions::default()).unwrap();
    assert_eq!(
        table.headers,
        ["id", "name", "number", "salesPrice", "ean", "category"]
    );
    let rows: Vec<_> = table.rows.map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), PRODUCTS * 2 / 5);
    assert!(rows.iter().all(|r| {
        matches!(&r.cells.to_vec()[5], Cell::Text(c) if c == "Shoes" || c == "Clothing")
    }));
    // The .xlsx export is framed like the template.
    let xlsx = dir.path().join("shoes.xlsx");
    assert_eq!(
        run_export(&sb, &xlsx, &["--category", "Shoes"]).await,
        ExitStatus::Success
    );
    let sheet = xlsx_part(&xlsx, "xl/worksheets/sheet1.xml").unwrap();
    assert!(
        sheet.contains("state=\"frozen\"")
            && sheet.contains(&format!("<autoFilter ref=\"A1:V{}\"", PRODUCTS / 5 + 1)),
        "{sheet}"
    );
    assert!(
        sheet.contains("type=\"decimal\" operator=\"greaterThanOrEqual\""),
        "{sheet}"
    );
    sb.shutdown().await;
}
