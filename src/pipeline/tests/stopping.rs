//! Runs that end early: refused credentials, a stop signal, a reader that
//! breaks off.

use super::*;

#[tokio::test]
async fn refused_credentials_attempt_nothing() {
    let mock = Arc::new(Mock {
        refuse_auth: true,
        ..Mock::default()
    });
    let (_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(MemorySink::default()),
        progress: Progress::hidden(),
        pacer: None,
        counters: Arc::new(RequestCounters::default()),
        stop,
    };
    let input = Input {
        rows: Box::new(rows(3).into_iter()),
        total: Some(3),
        kept: vec![],
        maybe_sent: Default::default(),
    };
    let err = super::run(mock.clone(), plan(ExistingMode::Skip), input, wiring)
        .await
        .unwrap_err();
    assert!(matches!(err, super::RunError::Api(ApiError::Auth { .. })));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn stop_signal_finishes_rows_in_flight_and_reads_no_more() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let sink = MemorySink::default();
    let (stop_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(sink.clone()),
        progress: Progress::hidden(),
        pacer: None,
        counters: Arc::new(RequestCounters::default()),
        stop,
    };
    // Every create waits for a 429 with a 30 ms Retry-After, so rows are slow.
    for _ in 0..10_000 {
        mock.fault(Fault::Before(ApiError::Status {
            status: 429,
            message: "slow".into(),
            trace_id: None,
            retry_after: Some(Duration::from_millis(30)),
        }));
    }
    let mut p = plan(ExistingMode::Create);
    p.row.retry.max_rate_limited = 1;
    let input = Input {
        rows: Box::new(rows(1000).into_iter()),
        total: Some(1000),
        kept: vec![],
        maybe_sent: Default::default(),
    };
    let handle = tokio::spawn(super::run(mock.clone(), p, input, wiring));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(true).unwrap();
    let report = handle.await.unwrap().unwrap();
    assert!(matches!(report.end, RunEnd::Interrupted));
    let records = sink.0.lock().unwrap().clone();
    assert!(
        !records.is_empty() && records.len() < 1000,
        "{}",
        records.len()
    );
    let mut rows_seen: Vec<u64> = records.iter().map(|r| r.row).collect();
    rows_seen.dedup();
    assert_eq!(
        rows_seen.len(),
        records.len(),
        "one record per row, in order after finish"
    );
}

#[tokio::test]
async fn a_reader_that_breaks_off_does_not_look_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::JobStore::open(&dir.path().join("r.job.sqlite")).unwrap();
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let mut p = plan(ExistingMode::Create);
    p.journal = Some(crate::pipeline::journal::Journal::new(store.clone()));
    let mut n = 0;
    let rows = rows(10).into_iter().inspect(move |_| {
        n += 1;
        assert!(n <= 3, "validator bug");
    });
    let sink = MemorySink::default();
    let (_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(sink.clone()),
        progress: Progress::hidden(),
        pacer: None,
        counters: Arc::new(RequestCounters::default()),
        stop,
    };
    let input = Input {
        rows: Box::new(rows),
        total: Some(10),
        kept: vec![],
        maybe_sent: Default::default(),
    };
    let report = super::run(mock.clone(), p, input, wiring).await.unwrap();
    assert!(
        matches!(report.end, RunEnd::InputFailed(_)),
        "{:?}",
        report.end
    );
    assert_eq!(sink.0.lock().unwrap().len(), 3);
    assert_eq!(
        store.maybe_sent().unwrap().rows.len(),
        3,
        "the intents stay for --resume"
    );
}
