//! Integration tests: platform exports (Shopify, WooCommerce, Magento 2,
//! PrestaShop, Odoo) imported with no mapping file. Each fixture is written
//! in its platform's format for these tests; every expected product below is
//! read off the fixture's rows by hand, and the sandbox's products are
//! compared with it field by field, category path included.

use std::collections::HashMap;
use std::path::Path;

use crate::common::run::import;
use crate::common::{bin, fixture, tempdir};
use product_import::commands::ExitStatus;
use product_import::results::{read_results, RowStatus};
use product_import_sandbox::wire::{Product, ProductStatus};
use product_import_sandbox::{self as sandbox, SandboxConfig, SandboxHandle};

/// A product as the source rows say it must land.
struct Expected {
    number: &'static str,
    name: &'static str,
    price: Option<f64>,
    cost: Option<f64>,
    ean: Option<&'static str>,
    category: &'static [&'static str],
    quantity: Option<f64>,
    status: ProductStatus,
    supplier: Option<&'static str>,
}

const ACTIVE: ProductStatus = ProductStatus::Active;
const INACTIVE: ProductStatus = ProductStatus::Inactive;

fn expect(
    number: &'static str,
    name: &'static str,
    price: Option<f64>,
    category: &'static [&'static str],
    quantity: Option<f64>,
    status: ProductStatus,
) -> Expected {
    Expected {
        number,
        name,
        price,
        cost: None,
        ean: None,
        category,
        quantity,
        status,
        supplier: None,
    }
}

/// The category path of `p` on the sandbox, top level first.
fn category_path(sb: &SandboxHandle, p: &Product) -> Vec<String> {
    let categories = sb.categories();
    let mut path = Vec::new();
    let mut id = p.category.as_ref().and_then(|c| c.id);
    while let Some(current) = id.filter(|&i| i > 0) {
        let c = categories
            .iter()
            .find(|c| c.id == current)
            .unwrap_or_else(|| panic!("category {current} exists"));
        path.insert(0, c.name.clone().unwrap_or_default());
        id = c.parent_id;
    }
    path
}

/// Imports `file` into a fresh sandbox and checks the server holds exactly
/// `expected`; then a re-run with `--existing skip` creates nothing.
async fn imports_as_expected(file: &Path, expected: &[Expected]) {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let before = sb.product_count();
    let dir = tempdir();
    let results = dir.path().join("results.csv");
    let r = results.to_str().unwrap();
    let flags = [
        "--rate=500",
        "--create-categories",
        "--create-suppliers",
        "--results",
        r,
    ];
    let status = import(&sb, file, &flags).await;
    let records = read_results(&results).unwrap();
    assert_eq!(status, ExitStatus::Success, "{records:#?}");
    assert_eq!(records.len(), expected.len(), "{records:#?}");
    assert!(records.iter().all(|r| r.status == RowStatus::Created));

    let products = sb.products();
    assert_eq!(products.len() - before, expected.len(), "{products:#?}");
    let by_number: HashMap<&str, &Product> = products
        .iter()
        .filter_map(|p| p.number.as_deref().map(|n| (n, p)))
        .collect();
    for e in expected {
        let p = by_number
            .get(e.number)
            .unwrap_or_else(|| panic!("{} created: {products:#?}", e.number));
        assert_eq!(p.name.as_deref(), Some(e.name), "{}", e.number);
        assert_eq!(p.sales_price, e.price, "{} price", e.number);
        if e.cost.is_some() {
            assert_eq!(p.cost_price, e.cost, "{} cost", e.number);
        }
        assert_eq!(p.ean.as_deref(), e.ean, "{} ean", e.number);
        assert_eq!(category_path(&sb, p), e.category, "{} category", e.number);
        // The server's default quantity is 0.
        assert_eq!(
            p.stock.as_ref().and_then(|s| s.quantity).unwrap_or(0.0),
            e.quantity.unwrap_or(0.0),
            "{} quantity",
            e.number
        );
        assert_eq!(p.status.unwrap_or(ACTIVE), e.status, "{} status", e.number);
        let supplier = p.supplier.as_ref().and_then(|s| s.name.as_deref());
        assert_eq!(supplier, e.supplier, "{} supplier", e.number);
    }

    let posts = sb.stats().count("POST /v1/products", 201);
    let status = import(
        &sb,
        file,
        &["--rate=500", "--existing=skip", "--results", r],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    assert_eq!(
        sb.product_count(),
        products.len(),
        "a re-run creates nothing"
    );
    assert_eq!(sb.stats().count("POST /v1/products", 201), posts);
    let records = read_results(&results).unwrap();
    assert!(
        records.iter().all(|r| r.status == RowStatus::Skipped),
        "{records:#?}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_variants_become_products() {
    let clothing: &[&str] = &["Apparel & Accessories", "Clothing", "Socks"];
    let mut small = expect(
        "SOCK-S",
        "Wool Sock - Small",
        Some(9.9),
        clothing,
        Some(12.0),
        ACTIVE,
    );
    small.cost = Some(4.5);
    small.ean = Some("4006381333931");
    // The second variant takes the product's category and status; its
    // barcode went through Excel and is left out.
    let mut large = expect(
        "SOCK-L",
        "Wool Sock - Large",
        Some(10.9),
        clothing,
        Some(7.0),
        ACTIVE,
    );
    large.cost = Some(4.75);
    // Default Title is no option; the Type is the category where Product Category is empty.
    let mut mug = expect(
        "MUG-1",
        "Gift Mug",
        Some(14.5),
        &["Kitchen"],
        Some(0.0),
        INACTIVE,
    );
    mug.ean = Some("96385074");
    imports_as_expected(&fixture("platforms/shopify.csv"), &[small, large, mug]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_variations_regular_price_and_stock() {
    let tees: &[&str] = &["Clothing", "Tshirts"];
    imports_as_expected(
        &fixture("platforms/woocommerce.csv"),
        &[
            expect(
                "tee-red-s",
                "Logo Tee - Red, S",
                Some(15.0),
                tees,
                Some(5.0),
                ACTIVE,
            ),
            expect(
                "tee-blue-m",
                "Logo Tee - Blue, M",
                Some(15.0),
                tees,
                Some(3.0),
                ACTIVE,
            ),
            // The regular price, never the sale price; In stock? is no quantity.
            expect(
                "cap",
                "Cap",
                Some(18.0),
                &["Clothing", "Accessories"],
                None,
                INACTIVE,
            ),
            expect(
                "poster",
                "Poster",
                Some(9.5),
                &["Uncategorized"],
                Some(40.0),
                ACTIVE,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_simple_products_without_their_configurable_parent() {
    let hoodies: &[&str] = &["Men", "Hoodies"];
    imports_as_expected(
        &fixture("platforms/magento2.csv"),
        &[
            expect("HD-S", "Hoodie-S", Some(52.0), hoodies, Some(100.0), ACTIVE),
            expect("HD-M", "Hoodie-M", Some(52.5), hoodies, Some(0.0), INACTIVE),
            expect(
                "BAG-1",
                "Duffle Bag",
                Some(34.0),
                &["Gear", "Bags"],
                Some(20.0),
                ACTIVE,
            ),
        ],
    )
    .await;
    imports_as_expected(
        &fixture("platforms/magento2_fixture.csv"),
        &[expect(
            "24-MB10",
            "Weekend Bag",
            Some(45.0),
            &["Gear"],
            Some(100.0),
            ACTIVE,
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prestashop_price_without_tax_and_suppliers_created() {
    let mut lamp = expect(
        "LAMP-1",
        "Desk Lamp",
        Some(40.0),
        &["Lighting"],
        Some(15.0),
        ACTIVE,
    );
    lamp.cost = Some(22.0);
    lamp.supplier = Some("Lumen Supply");
    let mut chair = expect(
        "CHAIR-1",
        "Office Chair",
        Some(120.0),
        &["Furniture"],
        Some(4.0),
        INACTIVE,
    );
    chair.ean = Some("036000291452");
    imports_as_expected(&fixture("platforms/prestashop.csv"), &[lamp, chair]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_continuation_lines_belong_to_the_product_above() {
    let mut desk = expect(
        "DESK-9",
        "Corner Desk",
        Some(320.0),
        &["All", "Furniture"],
        None,
        ACTIVE,
    );
    desk.cost = Some(180.0);
    desk.supplier = Some("Wood Corner");
    let mut hour = expect(
        "SRV-1",
        "Consulting Hour",
        Some(90.0),
        &["All"],
        None,
        ACTIVE,
    );
    hour.cost = Some(40.0);
    imports_as_expected(&fixture("platforms/odoo.csv"), &[desk, hour]).await;
}

#[test]
fn validate_prints_the_preset_and_every_mapping_decision() {
    let dir = tempdir();
    let results = dir.path().join("r.csv");
    let out = bin()
        .arg("validate")
        .arg(fixture("platforms/woocommerce.csv"))
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let has_line = |a: &str, b: &str| text.lines().any(|l| l.contains(a) && l.contains(b));
    for (a, b) in [
        ("preset: WooCommerce", ""),
        ("\"Regular price\"", "-> salesPrice"),
        (
            "\"Sale price\"",
            "(not used: a temporary discount; Regular price is the price)",
        ),
        (
            "\"In stock?\"",
            "(not used: a flag (1/0), not a quantity; Stock holds the quantity)",
        ),
        ("\"Stock\"", "-> stock.quantity"),
        (
            "\"Short description\"",
            "-> description, where the column before it is empty",
        ),
        ("default category = \"Uncategorized\"", ""),
        ("row 2: \"Logo Tee\" is a variable product", ""),
        ("row 6: \"Cap Set\" is a grouped product", ""),
    ] {
        assert!(has_line(a, b), "{a:?} {b:?} in:\n{text}");
    }

    // `--preset none` turns detection off: the generic names alone, and the
    // flag column is no quantity.
    let out = bin()
        .arg("validate")
        .arg(fixture("platforms/woocommerce.csv"))
        .args(["--preset", "none", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("preset:"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("\"In stock?\"")
            && l.contains(
                "(not used: \"Stock\" fills stock.quantity, by the documented priority)"
            )),
        "{text}"
    );
    // With no other quantity column, a flag column is still no quantity.
    let flags = dir.path().join("flags.csv");
    std::fs::write(&flags, "name,In stock?,category.id\nA,1,1\nB,0,1\n").unwrap();
    let out = bin()
        .arg("validate")
        .arg(&flags)
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.contains("\"In stock?\"")
            && l.contains("its values are yes/no flags, not a quantity")),
        "{text}"
    );

    let out = bin()
        .arg("validate")
        .arg(fixture("platforms/woocommerce.csv"))
        .args(["--preset", "bigcommerce"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown preset"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_rows_are_announced_and_found_again_by_name() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("keyless.csv");
    std::fs::write(
        &file,
        "name,category.id,salesPrice\nConsulting hour,1,90\nSetup fee,1,500\nTravel,1,0\n",
    )
    .unwrap();
    let results = dir.path().join("results.csv");
    let out = crate::common::run::run_binary({
        let mut cmd = crate::common::run::binary(&sb, &file, &["--results"]);
        cmd.arg(&results);
        cmd
    })
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: 3 rows have neither a product number nor an EAN"),
        "{stdout}"
    );
    let before = sb.product_count();

    // By name, the re-run finds each product and creates nothing.
    let r = results.to_str().unwrap();
    let flags = ["--match-by", "name", "--existing", "skip", "--results", r];
    let status = import(&sb, &file, &flags).await;
    assert_eq!(status, ExitStatus::Success);
    assert_eq!(sb.product_count(), before);
    let records = read_results(&results).unwrap();
    assert!(
        records.iter().all(|r| r.status == RowStatus::Skipped),
        "{records:#?}"
    );

    // Without it, nothing finds them: the warning was right.
    let status = import(&sb, &file, &["--existing", "skip", "--results", r]).await;
    assert_eq!(status, ExitStatus::Success);
    assert_eq!(sb.product_count(), before + 3);
    sb.shutdown().await;
}
