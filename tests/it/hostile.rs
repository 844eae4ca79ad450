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
use product_import::sandbox::{self, Paging, SandboxConfig, SandboxHandle, SeedData};

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
