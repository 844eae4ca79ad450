//! Integration tests: categories given as paths through the tree, names that
//! look alike, and suppliers created on the way. Each test imports a small
//! CSV into its own sandbox and judges by what the sandbox holds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use product_import::commands::ExitStatus;
use product_import::results::{read_results, RowRecord, RowStatus};
use product_import_sandbox::wire::{Category, Supplier};
use product_import_sandbox::{self as sandbox, Behaviour, SandboxConfig, SandboxHandle, SeedData};

use crate::common::run::*;
use crate::common::tempdir;

/// The built-in set plus a top-level `Hoodies` (a look-alike for
/// `Clothing > Hoodies`), `Café` (precomposed), `Straße`, and a customer
/// that is not a supplier.
fn seed() -> SeedData {
    let mut data = SeedData::builtin();
    let category = |id, name: &str, parent_id| Category {
        id,
        name: Some(name.to_owned()),
        parent_id: Some(parent_id),
        ..Category::default()
    };
    data.categories.extend([
        category(6, "Hoodies", 0),
        category(7, "Caf\u{e9}", 0),
        category(8, "Stra\u{df}e", 0),
    ]);
    data.suppliers.push(Supplier {
        id: 10004,
        name: Some("Vestland Handel AS".to_owned()),
        organization_number: None,
        is_supplier: Some(false),
    });
    data
}

/// The strict profile (cursor paging, `isSupplier` ignored) without its
/// search lag, which these tests are not about.
async fn start() -> SandboxHandle {
    sandbox::start(SandboxConfig {
        latency: Duration::from_millis(5),
        behaviour: Behaviour {
            search_lag: Duration::ZERO,
            ..Behaviour::strict()
        },
        data: seed(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// The category id of the product numbered `number` on the sandbox.
fn category_of(sb: &SandboxHandle, number: &str) -> i64 {
    let product = sb
        .products()
        .into_iter()
        .find(|p| p.number.as_deref() == Some(number))
        .unwrap_or_else(|| panic!("{number} not on the server"));
    product.category.unwrap().id.unwrap()
}

/// The one category named `name` directly under `parent` (0: the top).
fn child(categories: &[Category], parent: i64, name: &str) -> i64 {
    let found: Vec<&Category> = categories
        .iter()
        .filter(|c| c.parent_id.unwrap_or(0) == parent && c.name.as_deref() == Some(name))
        .collect();
    assert_eq!(found.len(), 1, "{name} under {parent}: {categories:?}");
    found[0].id
}

fn by_row(records: &[RowRecord], row: u64) -> &RowRecord {
    records.iter().find(|r| r.row == row).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_paths_create_each_level_once_under_its_parent_and_no_look_alike() {
    let sb = start().await;
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    let r = results.to_str().unwrap();
    let paths = [
        "Clothing > Hoodies > Zip",
        "clothing > HOODIES > zip ",
        "Gear > Bags",
        // `Café` with a combining accent, upper case: the existing one.
        "CAFE\u{301} > Espresso",
        "Shoes > Shoe accessories",
        "STRASSE",
    ];
    let mut s = String::from("name,number,category\n");
    for i in 0..36 {
        writeln!(s, "Item {i},P-{i},{}", paths[i % paths.len()]).unwrap();
    }
    std::fs::write(&file, &s).unwrap();
    let before = sb.categories();

    // Without --create-categories: the first missing level and its parent are named.
    let status = import(&sb, &file, &["--rate=500", "--results", r]).await;
    assert_eq!(status, ExitStatus::RowsFailed);
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records),
        HashMap::from([(RowStatus::Created, 12), (RowStatus::Invalid, 24)])
    );
    let error = |row| by_row(&records, row).error.clone().unwrap_or_default();
    assert!(
        error(2).contains(
            "category path \"Clothing > Hoodies > Zip\": \"Hoodies\" was not found under \"Clothing\" (id 4)"
        ),
        "{}",
        error(2)
    );
    assert!(
        error(4).contains("\"Gear\" was not found at the top of the category tree"),
        "{}",
        error(4)
    );
    assert_eq!(category_of(&sb, "P-4"), 5);
    assert_eq!(category_of(&sb, "P-5"), 8);
    assert_eq!(sb.categories(), before);

    // A dry run says what it would create, and creates nothing.
    let status = import(
        &sb,
        &file,
        &[
            "--rate=500",
            "--dry-run",
            "--create-categories",
            "--results",
            r,
        ],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let dry = read_results(&dir.path().join("results.dry-run.csv")).unwrap();
    let note = by_row(&dry, 2).error.clone().unwrap_or_default();
    assert!(
        note.contains(
            "would create categories \"Hoodies\" under \"Clothing\", \"Zip\" under \"Hoodies\""
        ),
        "{note}"
    );
    assert_eq!(sb.categories(), before);

    let status = import(
        &sb,
        &file,
        &[
            "--rate=500",
            "--concurrency=16",
            "--create-categories",
            "--results",
            r,
        ],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let categories = sb.categories();
    // Hoodies and Zip, Gear and Bags, Espresso: each level once.
    assert_eq!(categories.len(), before.len() + 5, "{categories:?}");
    assert_eq!(sb.stats().count("POST /v1/productcategories", 201), 5);
    // The list is read once per run, and once more before each creation
    // (another run may have made the category meanwhile): 1 + 1 + (1 + 5).
    assert_eq!(sb.stats().requests("GET /v1/productcategories"), 8);
    let hoodies = child(&categories, 4, "Hoodies");
    assert_ne!(
        hoodies, 6,
        "the top-level look-alike is not Clothing > Hoodies"
    );
    let zip = child(&categories, hoodies, "Zip");
    let gear = child(&categories, 0, "Gear");
    let bags = child(&categories, gear, "Bags");
    let espresso = child(&categories, 7, "Espresso");
    for i in 0..36 {
        let want = [zip, zip, bags, espresso, 5, 8][i % paths.len()];
        assert_eq!(category_of(&sb, &format!("P-{i}")), want, "P-{i}");
    }
    assert_eq!(sb.product_count(), 36);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppliers_are_created_once_and_a_customer_that_is_not_one_is_no_match() {
    // Strict: `isSupplier=true` is ignored, so the non-supplier customer
    // comes back in the list.
    let sb = start().await;
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    let r = results.to_str().unwrap();
    let suppliers = [
        "Vestland Handel AS",
        "VESTLAND HANDEL AS",
        "Nordisk Skot\u{f8}y AS",
        "Ny Leverand\u{f8}r AS",
    ];
    let mut s = String::from("name,number,category.id,supplier\n");
    for i in 0..24 {
        writeln!(s, "Item {i},S-{i},1,{}", suppliers[i % suppliers.len()]).unwrap();
    }
    std::fs::write(&file, &s).unwrap();

    let status = import(&sb, &file, &["--rate=500", "--results", r]).await;
    assert_eq!(status, ExitStatus::RowsFailed);
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records),
        HashMap::from([(RowStatus::Created, 6), (RowStatus::Invalid, 18)])
    );
    assert!(by_row(&records, 2)
        .error
        .as_deref()
        .unwrap()
        .contains("supplier \"Vestland Handel AS\" was not found"));
    assert_eq!(sb.customers().len(), 4);

    let status = import(
        &sb,
        &file,
        &[
            "--rate=500",
            "--concurrency=16",
            "--create-suppliers",
            "--results",
            r,
        ],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let customers = sb.customers();
    assert_eq!(customers.len(), 6, "{customers:?}");
    assert_eq!(sb.stats().count("POST /v1/customers", 200), 2);
    // Read once per run, and once more before each creation: 1 + (1 + 2).
    assert_eq!(sb.stats().requests("GET /v1/customers"), 4);
    let created = |name: &str| {
        let found: Vec<&Supplier> = customers
            .iter()
            .filter(|c| c.name.as_deref() == Some(name) && c.is_supplier == Some(true))
            .collect();
        assert_eq!(found.len(), 1, "{name}: {customers:?}");
        found[0].id
    };
    let vestland = created("Vestland Handel AS");
    let new = created("Ny Leverand\u{f8}r AS");
    assert_ne!(vestland, 10004);
    for p in sb.products() {
        let i: usize = p.number.as_deref().unwrap()[2..].parse().unwrap();
        let want = [vestland, vestland, 10001, new][i % suppliers.len()];
        assert_eq!(p.supplier.unwrap().id, Some(want), "S-{i}");
    }
    assert_eq!(sb.product_count(), 24);
    sb.shutdown().await;
}
