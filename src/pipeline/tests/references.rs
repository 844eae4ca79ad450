//! Categories, units and suppliers given by name, resolved or created.

use super::*;

#[tokio::test]
async fn categories_by_name_and_created_once_under_concurrency() {
    let mock = Arc::new(Mock::with_categories(&["Tools", "Garden"]));
    let make = |i: u64, name: &str| PreparedRow {
        row: i + 2,
        cells: Default::default(),
        outcome: Ok(draft(Some(&format!("C{i}")), Reference::Name(name.into()))),
    };
    let input: Vec<PreparedRow> = (0..30)
        .map(|i| {
            make(
                i,
                if i % 3 == 0 {
                    "garden "
                } else if i % 3 == 1 {
                    "New Stuff"
                } else {
                    "NEW STUFF"
                },
            )
        })
        .collect();
    let without = run_with(
        &mock,
        plan(ExistingMode::Skip),
        input.clone(),
        MaybeSent::default(),
    )
    .await;
    let invalid: Vec<&RowRecord> = without
        .records
        .iter()
        .filter(|r| r.status == RowStatus::Invalid)
        .collect();
    assert_eq!(invalid.len(), 20);
    assert!(
        invalid[0]
            .error
            .as_deref()
            .unwrap()
            .contains("category \"New Stuff\" was not found"),
        "{:?}",
        invalid[0]
    );
    assert!(without
        .records
        .iter()
        .filter(|r| r.status == RowStatus::Created)
        .all(|r| {
            let p = &mock.products.lock().unwrap()[r.id.unwrap() as usize - 1];
            p.category.as_ref().unwrap().id == Some(2)
        }));

    let mut p = plan(ExistingMode::Skip);
    p.create_categories = true;
    p.concurrency = 8;
    let with = run_with(&mock, p, input, MaybeSent::default()).await;
    assert!(
        with.records
            .iter()
            .all(|r| matches!(r.status, RowStatus::Created | RowStatus::Skipped)),
        "{:?}",
        with.records
    );
    assert_eq!(
        mock.category_creates.load(Ordering::SeqCst),
        1,
        "created once"
    );
    assert_eq!(mock.categories.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn units_and_suppliers_by_name_symbol_and_org_number() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let mut d = draft(Some("U1"), Reference::Id(1));
    d.unit = Some(Reference::Name("STK".into()));
    d.supplier = Some(Reference::Name("987654321".into()));
    let mut e = draft(Some("U2"), Reference::Id(1));
    e.unit = Some(Reference::Name("stykk".into()));
    e.supplier = Some(Reference::Name("acme as".into()));
    let mut f = draft(Some("U3"), Reference::Id(1));
    f.unit = Some(Reference::Name("litre".into()));
    let input = [d, e, f].into_iter().enumerate().map(|(i, d)| PreparedRow {
        row: i as u64 + 2,
        cells: Default::default(),
        outcome: Ok(d),
    });
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        input.collect(),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(run.records[1].status, RowStatus::Created);
    assert_eq!(run.records[2].status, RowStatus::Invalid);
    assert_eq!(
        run.records[2].error.as_deref(),
        Some("unit \"litre\" was not found by name or symbol")
    );
}
