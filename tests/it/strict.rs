//! Integration tests against the strict sandbox: the worst plausible reading
//! of what the vendor leaves open (cursor paging with a `link` header and
//! silently capped pages, partial number search, the `ean` filter ignored,
//! search lag, tokens that die exactly at `expires_in`, scopes per endpoint).
//! Each test runs the built binary against an in-process sandbox on
//! 127.0.0.1 and judges by what the server counted and holds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use product_import::results::{read_results, RowRecord, RowStatus};
use product_import_sandbox::{
    self as sandbox, Behaviour, SandboxConfig, SandboxHandle, Scope, SeedData,
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

fn statuses(records: &[RowRecord]) -> HashMap<RowStatus, usize> {
    let mut m = HashMap::new();
    for r in records {
        *m.entry(r.status).or_default() += 1;
    }
    m
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

/// The strict sandbox holding `products` seeded products, so that the
/// importer cannot afford to prefetch the catalogue and looks rows up.
fn strict_with_catalogue(products: usize) -> SandboxConfig {
    SandboxConfig {
        data: SeedData::builtin().with_products(products),
        ..SandboxConfig::strict()
    }
}

/// Longer than the strict sandbox's search lag: products created before are
/// visible to searches after it.
const PAST_SEARCH_LAG: Duration = Duration::from_millis(2000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppliers_by_name_id_or_organization_number_take_one_pass_of_the_list() {
    let sb = sandbox::start(SandboxConfig {
        data: SeedData::builtin().with_suppliers(300),
        ..SandboxConfig::strict()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("suppliers.csv");
    let results = dir.path().join("results.csv");
    let rows = [
        ("Generated supplier 5", 20_005),
        ("generated SUPPLIER 150", 20_150),
        ("Generated supplier 300", 20_300),
        ("Oslo Tekstil Engros AS", 10_003),
        ("10003", 10_003),
        ("987 654 325", 10_001),
        ("Generated supplier 5", 20_005),
        ("Generated supplier 299", 20_299),
    ];
    let mut csv = String::from("name,number,category.id,supplier\n");
    for (i, (supplier, _)) in rows.iter().enumerate() {
        writeln!(csv, "Product {i},SUP-{i},1,{supplier}").unwrap();
    }
    std::fs::write(&file, csv).unwrap();
    let out = run(&sb, &file, &["--results", results.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records).get(&RowStatus::Created),
        Some(&rows.len())
    );
    let products = sb.products();
    for (i, (_, supplier_id)) in rows.iter().enumerate() {
        let number = format!("SUP-{i}");
        let p = products
            .iter()
            .find(|p| p.number.as_deref() == Some(&number))
            .unwrap();
        assert_eq!(
            p.supplier.as_ref().and_then(|s| s.id),
            Some(*supplier_id),
            "{number}"
        );
    }
    // 303 suppliers, served 100 a page at most: every name resolved from
    // one pass over the list (4 pages; at most 12 if served 25 a page), plus
    // a few tries of the organization number filter.
    let customers = sb.stats().requests("GET /v1/customers");
    assert!(customers <= 12 + 3, "{customers} requests to /customers");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_number_search_leaves_no_duplicate_on_a_rerun() {
    let sb = sandbox::start(strict_with_catalogue(600)).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("numbers.csv");
    let results = dir.path().join("results.csv");
    let numbers = [
        "1", "10", "100", "1000", "11", "101", "110", "111", "2", "20",
    ];
    let mut csv = String::from("name,number,category.id\n");
    for n in numbers {
        writeln!(csv, "Number {n},{n},1").unwrap();
    }
    std::fs::write(&file, csv).unwrap();
    let flags = ["--results", results.to_str().unwrap()];
    let out = run(&sb, &file, &flags).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.product_count(), 600 + numbers.len());
    tokio::time::sleep(PAST_SEARCH_LAG).await;
    let out = run(&sb, &file, &["--existing", "skip", flags[0], flags[1]]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records).get(&RowStatus::Skipped),
        Some(&numbers.len()),
        "{records:?}"
    );
    assert_eq!(sb.product_count(), 600 + numbers.len(), "nothing created");
    // Each skipped row names its own product, not one whose number contains it.
    let products = sb.products();
    for r in &records {
        let p = products.iter().find(|p| Some(p.id) == r.id).unwrap();
        assert_eq!(p.number.as_deref(), Some(&r.cells[1]));
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ean_only_rows_are_found_again_though_the_ean_filter_is_ignored() {
    let sb = sandbox::start(strict_with_catalogue(600)).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("eans.csv");
    let results = dir.path().join("results.csv");
    let write = |renamed: bool| {
        let mut csv = String::from("name,ean,category.id\n");
        for i in 0..10u64 {
            let name = if renamed && i == 3 {
                "Renamed since".to_string()
            } else {
                format!("Ean product {i}")
            };
            writeln!(csv, "{name},{},1", ean13(703_000_000_000 + i)).unwrap();
        }
        std::fs::write(&file, csv).unwrap();
    };
    write(false);
    let flags = ["--results", results.to_str().unwrap()];
    let out = run(&sb, &file, &flags).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.product_count(), 610);
    tokio::time::sleep(PAST_SEARCH_LAG).await;
    // One row's name changed: found by EAN in the catalogue, not by name.
    write(true);
    let out = run(&sb, &file, &["--existing", "skip", flags[0], flags[1]]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records).get(&RowStatus::Skipped),
        Some(&10),
        "{records:?}"
    );
    assert_eq!(sb.product_count(), 610, "nothing created");
    sb.shutdown().await;
}

/// A search lag longer than the test: a new product never shows in a
/// search during it, though `GET /products/{id}` finds it at once.
const SEARCH_LAG_OUTLASTING_THE_TEST: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_within_the_search_lag_finds_what_the_job_made() {
    // Empty (the catalogue is prefetched) and large (rows are looked up one
    // by one): either way the searches cannot see the first run's products.
    for seeded in [0, 3000] {
        let sb = sandbox::start(SandboxConfig {
            behaviour: Behaviour {
                search_lag: SEARCH_LAG_OUTLASTING_THE_TEST,
                ..Behaviour::strict()
            },
            ..strict_with_catalogue(seeded)
        })
        .await
        .unwrap();
        let dir = tempdir();
        let file = dir.path().join("lag.csv");
        let results = dir.path().join("results.csv");
        let write = |price_of_first: u32| {
            let mut csv = String::from("name,number,ean,category.id,salesPrice\n");
            for i in 0..20u64 {
                let price = if i == 0 { price_of_first } else { 10 };
                writeln!(csv, "Lag {i},LAG-{i},,1,{price}").unwrap();
            }
            for i in 0..5u64 {
                let ean = ean13(704_000_000_000 + i);
                writeln!(csv, "Lag ean {i},,{ean},1,10").unwrap();
            }
            std::fs::write(&file, csv).unwrap();
        };
        write(10);
        let results = results.to_str().unwrap();
        let flags =
            |existing: &'static str| ["--rate=500", "--existing", existing, "--results", results];
        let out = run(&sb, &file, &flags("skip")).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let first: Vec<Option<i64>> = read_results(Path::new(results))
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(sb.product_count(), seeded + 25);

        // At once, with the same results file (so the job's state).
        let out = run(&sb, &file, &flags("skip")).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let records = read_results(Path::new(results)).unwrap();
        assert_eq!(
            statuses(&records).get(&RowStatus::Skipped),
            Some(&25),
            "{seeded}: {records:?}"
        );
        assert_eq!(sb.product_count(), seeded + 25, "{seeded}: nothing created");
        let ids: Vec<Option<i64>> = records.iter().map(|r| r.id).collect();
        assert_eq!(ids, first, "{seeded}: each row names the product it made");

        // An update finds them too: one PATCH, no POST.
        write(12);
        let posts = sb.stats().answered("POST /v1/products");
        let out = run(&sb, &file, &flags("update")).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(sb.stats().answered("POST /v1/products"), posts);
        assert_eq!(sb.stats().answered("PATCH /v1/products/{id}"), 1);
        assert_eq!(sb.product_count(), seeded + 25);
        let p = sb
            .products()
            .into_iter()
            .find(|p| p.id == first[0].unwrap());
        assert_eq!(p.and_then(|p| p.sales_price), Some(12.0));
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_and_a_pacer_backlog_fail_no_row() {
    // Tokens live 5 s; the importer asks for twice the server's limit, so
    // 429s halve its pace and requests queue in its pacer.
    let sb = sandbox::start(SandboxConfig {
        rate: Some(150),
        token_ttl: Duration::from_secs(5),
        ..SandboxConfig::strict()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("many.csv");
    let results = dir.path().join("results.csv");
    let mut csv = String::from("name,number,category.id\n");
    for i in 0..2000 {
        writeln!(csv, "P{i},T-{i},1").unwrap();
    }
    std::fs::write(&file, csv).unwrap();
    let out = run(
        &sb,
        &file,
        &[
            "--rate",
            "300",
            "--concurrency",
            "64",
            "--existing",
            "create",
            "--results",
            results.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_results(&results).unwrap();
    assert_eq!(statuses(&records).get(&RowStatus::Created), Some(&2000));
    assert_eq!(sb.product_count(), 2000);
    let stats = sb.stats();
    assert!(
        stats.count("POST /oauth/token", 200) >= 2,
        "tokens were renewed: {stats:?}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_supplier_scope_only_rows_naming_a_supplier_are_invalid() {
    let sb = sandbox::start(SandboxConfig {
        behaviour: Behaviour::strict().deny(Scope::CustomerRead),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("scoped.csv");
    let results = dir.path().join("results.csv");
    let mut csv = String::from("name,number,category.id,supplier\n");
    for i in 0..6 {
        let supplier = match i % 3 {
            0 => "Oslo Tekstil Engros AS",
            1 => "987654325",
            _ => "",
        };
        writeln!(csv, "Scoped {i},SC-{i},1,{supplier}").unwrap();
    }
    std::fs::write(&file, csv).unwrap();
    let out = run(&sb, &file, &["--results", results.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = read_results(&results).unwrap();
    for r in &records {
        let names_supplier = !r.cells[3].is_empty();
        if names_supplier {
            assert_eq!(r.status, RowStatus::Invalid, "{r:?}");
            let error = r.error.as_deref().unwrap_or("");
            assert!(
                error.contains("api.crm.customer:read") && error.contains("supplier"),
                "{error}"
            );
        } else {
            assert_eq!(r.status, RowStatus::Created, "{r:?}");
        }
    }
    assert_eq!(sb.product_count(), 2);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_products_scope_the_run_stops_naming_it() {
    let dir = tempdir();
    let file = dir.path().join("few.csv");
    let results = dir.path().join("results.csv");
    std::fs::write(&file, "name,number,category.id\nA,A-1,1\nB,B-1,1\n").unwrap();
    for (scope, name) in [
        (Scope::ProductWrite, "api.product.product:write"),
        (Scope::ProductRead, "api.product.product:read"),
    ] {
        let sb = sandbox::start(SandboxConfig {
            behaviour: Behaviour::strict().deny(scope),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let out = run(&sb, &file, &["--results", results.to_str().unwrap()]).await;
        assert_ne!(out.status.code(), Some(0));
        assert!(stderr(&out).contains(name), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains("credentials refused"),
            "{}",
            stderr(&out)
        );
        assert_eq!(sb.product_count(), 0);
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_on_every_page_are_found_and_a_missing_one_created_once() {
    let mut data = SeedData::builtin();
    for id in 100..220 {
        data.categories
            .push(product_import_sandbox::wire::Category {
                id,
                name: Some(format!("Range {id}")),
                parent_id: Some(0),
                ..Default::default()
            });
    }
    let sb = sandbox::start(SandboxConfig {
        data,
        ..SandboxConfig::strict()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("categories.csv");
    let results = dir.path().join("results.csv");
    let mut csv = String::from("name,number,category\n");
    for i in 0..30 {
        let category = ["range 219", "Range 100", "Fresh range", "fresh RANGE"][i % 4];
        writeln!(csv, "Item {i},CAT-{i},{category}").unwrap();
    }
    std::fs::write(&file, csv).unwrap();
    let out = run(
        &sb,
        &file,
        &[
            "--create-categories",
            "--concurrency",
            "16",
            "--results",
            results.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_results(&results).unwrap();
    assert_eq!(statuses(&records).get(&RowStatus::Created), Some(&30));
    let categories = sb.categories();
    assert_eq!(categories.len(), 5 + 120 + 1, "created once");
    let last = sb
        .products()
        .into_iter()
        .find(|p| p.number.as_deref() == Some("CAT-0"))
        .unwrap();
    assert_eq!(last.category.and_then(|c| c.id), Some(219));
    // 125 categories, at most 100 a page: the list once, and once more
    // before creating the missing one.
    let reads = sb.stats().requests("GET /v1/productcategories");
    assert!(reads <= 2 * 6, "{reads} reads of the category list");
    sb.shutdown().await;
}
