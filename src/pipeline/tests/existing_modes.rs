//! Rows whose product exists, under each `--existing` mode, and the choice
//! between prefetching existing products and looking each row up.

use super::*;

#[tokio::test]
async fn existing_products_skip_update_fail_create() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(3),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3);

    let again = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(3),
        MaybeSent::default(),
    )
    .await;
    assert!(again
        .records
        .iter()
        .all(|r| r.status == RowStatus::Skipped && r.id.is_some()));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3);

    let mut changed = rows(3);
    if let Ok(d) = &mut changed[1].outcome {
        d.product.sales_price = Some(99.0);
    }
    let upd = run_with(
        &mock,
        plan(ExistingMode::Update),
        changed,
        MaybeSent::default(),
    )
    .await;
    let statuses: Vec<RowStatus> = upd.records.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [RowStatus::Skipped, RowStatus::Updated, RowStatus::Skipped]
    );
    assert_eq!(mock.patches.load(Ordering::SeqCst), 1);

    let fail = run_with(
        &mock,
        plan(ExistingMode::Fail),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(fail.records[0].status, RowStatus::Failed);
    assert!(fail.records[0]
        .error
        .as_deref()
        .unwrap()
        .contains("a product with number \"P0\" already exists (id "));

    let create = run_with(
        &mock,
        plan(ExistingMode::Create),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(create.records[0].status, RowStatus::Created);
    assert_eq!(mock.count_number("P0"), 2);
}

#[tokio::test]
async fn prefetch_when_cheaper_than_per_row_lookups() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    for i in 0..2500 {
        mock.insert(&draft(Some(&format!("E{i}")), Reference::Id(1)).product);
    }
    // 3 pages of existing products for 100 rows: prefetched, no per-row lookups.
    let many = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(100),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(many.report.prefetched, Some(2500));
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 0);
    assert_eq!(many.report.tally.created, 100);
    // 2 rows would need 3 pages: cheaper to look each row up.
    let mut two = rows(2);
    for r in &mut two {
        r.row += 1000;
        if let Ok(d) = &mut r.outcome {
            d.product.number = Some(format!("N{}", r.row));
        }
    }
    let few = run_with(&mock, plan(ExistingMode::Skip), two, MaybeSent::default()).await;
    assert_eq!(few.report.prefetched, None);
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 2);
    assert_eq!(few.report.tally.created, 2);
}
