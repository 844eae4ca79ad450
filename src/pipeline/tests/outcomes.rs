//! How rows end when the API misbehaves or a row is bad: faults that never
//! lose nor duplicate a row, errors that fail it, invalid rows, the dry run.

use super::*;

#[tokio::test]
async fn faults_never_lose_a_row_nor_duplicate_one() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    for f in [
        Fault::Before(status(500)),
        Fault::After(status(502)),
        Fault::Before(ApiError::Connect("refused".into())),
        Fault::After(ApiError::Timeout),
        Fault::Before(status(503)),
        Fault::After(ApiError::Transport("reset".into())),
        Fault::Before(ApiError::Status {
            status: 429,
            message: "slow down".into(),
            trace_id: None,
            retry_after: Some(Duration::from_millis(1)),
        }),
        Fault::After(status(504)),
    ] {
        mock.fault(f);
    }
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(40),
        MaybeSent::default(),
    )
    .await;
    assert!(matches!(run.report.end, RunEnd::Completed));
    assert_eq!(run.records.len(), 40);
    assert_eq!(
        mock.products.lock().unwrap().len(),
        40,
        "one product per row"
    );
    for r in &run.records {
        assert_eq!(r.status, RowStatus::Created, "{r:?}");
        let number = &r.cells[0];
        assert_eq!(mock.count_number(number), 1);
        let p = mock
            .products
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.number.as_deref() == Some(number))
            .unwrap()
            .clone();
        assert_eq!(r.id, Some(p.id));
    }
    // Sent again: after 500, no connection, 503 and 429. The four unknown
    // outcomes settled and found their products.
    assert_eq!(RequestCounters::get(&run.counters.retries), 4);
    assert_eq!((run.report.settled, run.report.settled_found), (4, 4));
    assert_eq!(run.report.tally.created, 40);
}

#[tokio::test]
async fn unknown_outcome_without_key_is_failed_and_never_resent() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::After(ApiError::Timeout));
    let row = PreparedRow {
        row: 2,
        cells: Default::default(),
        outcome: Ok(draft(None, Reference::Id(1))),
    };
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        vec![row],
        MaybeSent::default(),
    )
    .await;
    let r = &run.records[0];
    assert_eq!(r.status, RowStatus::Failed);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .starts_with(resume::UNCONFIRMED_NO_KEY),
        "{r:?}"
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn permanent_errors_fail_the_row_with_message_and_trace() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::Before(ApiError::Status {
        status: 400,
        message: "HTTP 400: name: too long (maxLength)".into(),
        trace_id: Some("t-9".into()),
        retry_after: None,
    }));
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    let r = &run.records[0];
    assert_eq!(
        (r.status, r.http_status, r.trace_id.as_deref()),
        (RowStatus::Failed, Some(400), Some("t-9"))
    );
    assert_eq!(
        r.error.as_deref(),
        Some("HTTP 400: name: too long (maxLength)")
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalid_rows_are_recorded_without_requests() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let row = PreparedRow {
        row: 5,
        cells: ["x"].into_iter().collect(),
        outcome: Err(vec![Problem {
            row: 5,
            column: Some("Price".into()),
            value: Some("abc".into()),
            kind: ProblemKind::NotANumber,
            message: "is not a number".into(),
        }]),
    };
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        vec![row],
        MaybeSent::default(),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Invalid);
    assert_eq!(
        run.records[0].error.as_deref(),
        Some("column \"Price\": \"abc\" is not a number")
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn dry_run_writes_nothing_and_says_what_would_happen() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.insert(&draft(Some("P0"), Reference::Id(1)).product);
    let mut p = plan(ExistingMode::Skip);
    p.row.dry_run = true;
    p.create_categories = true;
    let mut input = rows(2);
    input.push(PreparedRow {
        row: 9,
        cells: Default::default(),
        outcome: Ok(draft(Some("Q"), Reference::Name("Brand new".into()))),
    });
    let run = run_with(&mock, p, input, MaybeSent::default()).await;
    assert_eq!(run.records[0].status, RowStatus::Skipped);
    assert_eq!(run.records[1].status, RowStatus::Valid);
    assert_eq!(
        run.records[1].error.as_deref(),
        Some("dry run: would create")
    );
    assert_eq!(
        run.records[2].error.as_deref(),
        Some("dry run: would create; would create category \"Brand new\"")
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
    assert_eq!(mock.category_creates.load(Ordering::SeqCst), 0);
}
