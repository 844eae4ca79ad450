//! Integration tests against a hostile or unusual server, and the vendor's
//! contract where the importer used to stray from it: pages capped without a
//! `link` header, products already on the server twice, created ids that
//! cannot be right, secrets quoted back in error messages, the token
//! request's encoding, undeclared query parameters, huge and endless pages,
//! and PATCHes that must not revert what moved on the server. Each test runs
//! the built binary against an in-process sandbox on 127.0.0.1 and judges by
//! what the server holds and what the files hold.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use product_import::results::{read_results, RowRecord, RowStatus};
use product_import_sandbox::{
    self as sandbox, CreatedId, Paging, SandboxConfig, SandboxHandle, SeedData, TokenBody,
};

use crate::common::tempdir;

/// Runs the built binary, quiet, importing `file` into `sb` to its end.
async fn run(sb: &SandboxHandle, file: &Path, flags: &[&str]) -> Output {
    let mut cmd = crate::common::run::binary(sb, file, flags);
    cmd.arg("--quiet");
    crate::common::run::run_binary(cmd).await
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How many products the server holds per number.
fn numbers_on_server(sb: &SandboxHandle) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for p in sb.products() {
        *m.entry(p.number.unwrap_or_default()).or_default() += 1;
    }
    m
}

/// A CSV naming the seeded products `SEED-1..=n` (as
/// [`SeedData::with_products`] makes them) in category `category`.
fn seeded_rows(path: &Path, n: usize, category: i64) {
    let mut s = String::from("name,number,category.id\n");
    for i in 1..=n {
        writeln!(s, "Seeded product {i},SEED-{i},{category}").unwrap();
    }
    std::fs::write(path, s).unwrap();
}

fn records(path: &Path) -> Vec<RowRecord> {
    read_results(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_capped_without_a_link_header_are_read_to_the_end() {
    // The server serves 25 products a page whatever `limit` asks and sends
    // no `link` header: a 25-item answer to `limit=100` is not the last page.
    let mut config = SandboxConfig {
        data: SeedData::builtin().with_products(400),
        ..SandboxConfig::default()
    };
    config.behaviour.paging = Paging::Capped;
    let sb = sandbox::start(config).await.unwrap();
    let category = sb.categories()[0].id;
    let dir = tempdir();
    let file = dir.path().join("seeded.csv");
    let results = dir.path().join("results.csv");
    seeded_rows(&file, 400, category);
    let out = run(
        &sb,
        &file,
        &["--existing", "skip", "--results", results.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.product_count(), 400, "no product made twice");
    assert!(numbers_on_server(&sb).values().all(|&n| n == 1));
    let records = records(&results);
    assert_eq!(records.len(), 400);
    assert!(records.iter().all(|r| r.status == RowStatus::Skipped));
}

/// An EAN-13 with a correct check digit, from 12 digits.
fn ean13(first12: u64) -> String {
    let digits = format!("{first12:012}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_held_twice_on_the_server_is_the_rows_error_in_every_mode() {
    let ean = ean13(700_000_000_123);
    // `catalogue` extra products make the importer look rows up one by one
    // instead of prefetching: both ways must see the duplicates.
    for catalogue in [0, 300] {
        let mut data = SeedData::builtin();
        let category = data.categories[0].id;
        let body = |name: &str, number: Option<&str>, ean: Option<&str>| {
            serde_json::json!({
                "name": name, "number": number, "ean": ean,
                "category": {"id": category}, "salesPrice": 5.0,
            })
        };
        data.products = vec![
            body("Twin", Some("DUP-1"), None),
            body("Twin", Some("DUP-1"), None),
            body("Barcode twin", None, Some(&ean)),
            // Another name: a search by the row's name would miss it.
            body("Renamed twin", None, Some(&ean)),
            body("Single", Some("ONE-1"), None),
        ];
        let data = data.with_products(catalogue);
        let sb = sandbox::start(SandboxConfig {
            data,
            ..SandboxConfig::strict()
        })
        .await
        .unwrap();
        let dir = tempdir();
        let file = dir.path().join("rows.csv");
        std::fs::write(
            &file,
            format!(
                "name,number,ean,category.id,salesPrice\n\
                 Twin,DUP-1,,{category},9\n\
                 Barcode twin,,{ean},{category},9\n\
                 Single,ONE-1,,{category},9\n"
            ),
        )
        .unwrap();
        for mode in ["skip", "update", "fail"] {
            let results = dir.path().join(format!("{mode}.csv"));
            let flags = ["--existing", mode, "--results", results.to_str().unwrap()];
            let out = run(&sb, &file, &flags).await;
            let records = records(&results);
            assert_eq!(records.len(), 3, "{}", stderr(&out));
            for (r, key) in records[..2].iter().zip(["number \"DUP-1\"", "EAN"]) {
                let error = r.error.as_deref().unwrap_or_default();
                assert_eq!(r.status, RowStatus::Failed, "{mode}/{catalogue}: {r:?}");
                assert!(error.contains(key), "{error}");
                assert_eq!(r.id, None, "nothing picked: {r:?}");
            }
            let error = records[0].error.as_deref().unwrap();
            assert!(error.contains("ids 1 and 2"), "{error}");
            let error = records[1].error.as_deref().unwrap();
            assert!(error.contains("ids 3 and 4"), "{error}");
            assert_eq!(records[2].id, Some(5), "{:?}", records[2]);
            // Nothing created, and no twin patched.
            assert_eq!(sb.product_count(), 5 + catalogue);
            for p in sb.products().iter().take(4) {
                assert_eq!(p.sales_price, Some(5.0), "{mode}/{catalogue}: {p:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impossible_created_id_is_an_unknown_outcome_settled_by_lookup() {
    for created_id in [CreatedId::Zero, CreatedId::Negative, CreatedId::Repeated] {
        let mut config = SandboxConfig::default();
        config.behaviour.created_id = created_id;
        let sb = sandbox::start(config).await.unwrap();
        let dir = tempdir();
        let file = dir.path().join("rows.csv");
        let results = dir.path().join("results.csv");
        crate::common::run::write_products(&file, "ID", 5, |i| i as f64 + 1.0);
        let flags = ["--settle", "1", "--results", results.to_str().unwrap()];
        let out = run(&sb, &file, &flags).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // One product per row, and each row names its product's real id.
        crate::common::run::assert_one_product_per_row(&sb, &results, "ID", 5);
    }
}

/// Panics unless every `Bearer ` in `text` is followed by `***`.
fn assert_no_bearer_token(text: &str, what: &str) {
    for (at, _) in text.match_indices("Bearer ") {
        let after = &text[at + 7..];
        assert!(after.starts_with("***"), "{what} shows a token: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_quoted_back_by_the_server_are_never_shown_or_logged() {
    let mut config = SandboxConfig::default();
    config.behaviour.quote_requests = true;
    let sb = sandbox::start(config).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("rows.csv");
    let results = dir.path().join("results.csv");
    // Category 999 does not exist: the server refuses the row, quoting the
    // request with its `Authorization` header.
    std::fs::write(&file, "name,number,category.id\nLost,Q-1,999\n").unwrap();
    let flags = [
        "--log-format",
        "json",
        "--results",
        results.to_str().unwrap(),
    ];
    let out = run(&sb, &file, &flags).await;
    let log = stderr(&out);
    let written = std::fs::read_to_string(&results).unwrap();
    assert!(log.contains("Authorization: Bearer ***"), "quoted: {log}");
    assert_no_bearer_token(&log, "the JSON log");
    assert_no_bearer_token(&written, "the results file");
    crate::common::json_lines(&out.stderr);

    // A refused token request quoted back with its body: the client secret
    // is never printed, in words or in JSON.
    let secret = "not-the-right-secret-4242";
    for format in ["human", "json"] {
        let mut cmd = crate::common::run::binary(&sb, &file, &["--log-format", format]);
        cmd.env("TFSO_CLIENT_SECRET", secret);
        let out = crate::common::run::run_binary(cmd).await;
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(
            log.contains("client_secret") && log.contains("***"),
            "quoted: {log}"
        );
        assert!(!log.contains("right-secret"), "the secret is shown: {log}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("right-secret"), "{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_request_is_form_encoded() {
    let mut config = SandboxConfig::default();
    config.behaviour.token_body = TokenBody::Form;
    let sb = sandbox::start(config).await.unwrap();
    // The switch refuses what the vendor does not document.
    let c = sb.credentials();
    let json = reqwest::Client::new()
        .post(sb.token_url())
        .json(&serde_json::json!({
            "grant_type": "client_credentials", "client_id": c.client_id,
            "client_secret": c.client_secret, "login_organization": c.organization_id,
            "audience": sandbox::AUDIENCE,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 400);
    let dir = tempdir();
    let file = dir.path().join("rows.csv");
    crate::common::run::write_products(&file, "F", 2, |_| 1.0);
    let out = run(&sb, &file, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.product_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ean_only_rows_are_found_without_undeclared_query_parameters() {
    // The strict sandbox answers 400 to any query parameter the vendor does
    // not declare, such as `ean`.
    let ean_old = ean13(590_123_412_345);
    let ean_new = ean13(590_123_412_346);
    let mut data = SeedData::builtin();
    let category = data.categories[0].id;
    data.products = vec![serde_json::json!({
        "name": "Old name", "ean": ean_old, "category": {"id": category},
    })];
    let sb = sandbox::start(SandboxConfig {
        data: data.with_products(30),
        ..SandboxConfig::strict()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("rows.csv");
    let results = dir.path().join("results.csv");
    std::fs::write(
        &file,
        format!(
            "name,ean,category.id\nNew name,{ean_old},{category}\nFresh,{ean_new},{category}\n"
        ),
    )
    .unwrap();
    let out = run(&sb, &file, &["--results", results.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.stats().count("GET /v1/products", 400), 0);
    let records = records(&results);
    assert_eq!(records[0].status, RowStatus::Skipped, "{:?}", records[0]);
    assert_eq!(records[0].id, Some(1));
    assert_eq!(records[1].status, RowStatus::Created, "{:?}", records[1]);
    assert_eq!(sb.product_count(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_brings_nothing_new_stops_with_an_error() {
    // Past its 3 real pages, `GET /products` goes on with moving windows of
    // the same 300 products forever, each page with a `next` link.
    let mut config = SandboxConfig {
        data: SeedData::builtin().with_products(300),
        ..SandboxConfig::default()
    };
    config.behaviour.endless_pages = true;
    let sb = sandbox::start(config).await.unwrap();
    let dir = tempdir();
    let out_file = dir.path().join("export.csv");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("product-import"));
    cmd.arg("export")
        .arg(&out_file)
        .arg("--quiet")
        .args(crate::common::run::url_args(&sb))
        .envs(crate::common::run::sandbox_env(&sb))
        .env_remove("TFSO_ACCESS_TOKEN");
    let out = crate::common::run::run_binary(cmd).await;
    let log = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("brought nothing new"), "{log}");
    let pages = sb.stats().requests("GET /v1/products");
    assert!(pages <= 10, "{pages} pages read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_larger_than_the_cap_is_not_read() {
    // Every `GET /products` answer is 24 MiB: the importer reads no more
    // than its cap of each, and the run stops before sending anything.
    let mut config = SandboxConfig {
        data: SeedData::builtin().with_products(3),
        ..SandboxConfig::default()
    };
    config.behaviour.huge_pages = Some(24 << 20);
    let sb = sandbox::start(config).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("rows.csv");
    crate::common::run::write_products(&file, "BIG", 4, |_| 1.0);
    let out = run(&sb, &file, &["--max-retries", "1"]).await;
    let log = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("larger than 16 MiB"), "{log}");
    assert_eq!(sb.stats().requests("POST /v1/products"), 0);
    assert_eq!(sb.product_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_patch_never_reverts_a_quantity_that_moved_during_the_run() {
    // Strict: PATCH replaces `stock` whole. And the stock moves: each
    // listing raises the quantity of what it listed, so the prefetched
    // quantity is stale by the time the row's PATCH goes.
    let mut data = SeedData::builtin();
    let category = data.categories[0].id;
    data.products = vec![serde_json::json!({
        "name": "Shelf item", "number": "STK-1", "category": {"id": category},
        "stock": {"isManaged": true, "quantity": 10, "location": "A1"},
        "supplierProduct": {"number": "S-1", "name": "Supplied", "price": 3},
    })];
    let mut config = SandboxConfig {
        data,
        ..SandboxConfig::strict()
    };
    config.behaviour.stock_moves = true;
    let sb = sandbox::start(config).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("rows.csv");
    let results = dir.path().join("results.csv");
    std::fs::write(
        &file,
        format!(
            "name,number,category.id,stock.location,supplierProduct.name\n\
             Shelf item,STK-1,{category},B2,Supplied better\n"
        ),
    )
    .unwrap();
    let flags = [
        "--existing",
        "update",
        "--results",
        results.to_str().unwrap(),
    ];
    let out = run(&sb, &file, &flags).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = records(&results);
    assert_eq!(records[0].status, RowStatus::Updated, "{:?}", records[0]);
    let product = &sb.products()[0];
    let stock = product.stock.as_ref().unwrap();
    assert_eq!(stock.location.as_deref(), Some("B2"));
    // Every listing raised the quantity by one: none of it is reverted.
    let listings = sb.stats().requests("GET /v1/products");
    assert!(listings > 0);
    assert_eq!(
        stock.quantity,
        Some(10.0 + listings as f64),
        "a movement was reverted"
    );
    assert_eq!(stock.is_managed, Some(true));
    let supplied = product.supplier_product.as_ref().unwrap();
    assert_eq!(supplied.name.as_deref(), Some("Supplied better"));
    assert_eq!(supplied.number.as_deref(), Some("S-1"));
    assert_eq!(supplied.price, Some(3.0));
}
