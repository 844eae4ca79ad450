//! A `Retry-After` delays the row it answered, and only that row.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_retry_after_delays_its_own_row_and_no_other() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::Before(ApiError::Status {
        status: 503,
        message: "come back later".into(),
        trace_id: None,
        retry_after: Some(Duration::from_secs(5)),
    }));
    // One slot: a row that kept it while waiting would stop every other.
    let plan = PipelinePlan {
        concurrency: 1,
        ..plan(ExistingMode::Create)
    };
    let run = run_with(&mock, plan, rows(20), MaybeSent::default()).await;
    assert!(matches!(run.report.end, RunEnd::Completed));
    assert_eq!(run.report.tally.created, 20);
    let posts: Vec<String> = mock
        .posts
        .lock()
        .unwrap()
        .iter()
        .map(|(n, _)| n.clone().unwrap())
        .collect();
    assert_eq!(posts.len(), 21, "{posts:?}");
    let refused = &posts[0];
    // Every other row was sent while the refused one waited; its retry came last.
    assert_eq!(&posts[20], refused, "{posts:?}");
    assert!(!posts[1..20].contains(refused), "{posts:?}");
    for i in 0..20 {
        assert_eq!(mock.count_number(&format!("P{i}")), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_of_hours_fails_its_row_at_once_and_says_why() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::Before(ApiError::Status {
        status: 429,
        message: "daily quota spent".into(),
        trace_id: None,
        retry_after: Some(Duration::from_secs(86_400)),
    }));
    let mut plan = plan(ExistingMode::Create);
    plan.row.retry = plan
        .row
        .retry
        .with_longest_retry_after(crate::pipeline::retry::API_LONGEST_RETRY_AFTER);
    let started = tokio::time::Instant::now();
    let run = run_with(&mock, plan, rows(5), MaybeSent::default()).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(run.report.tally.created, 4);
    assert_eq!(run.report.tally.failed, 1);
    let failed = run
        .records
        .iter()
        .find(|r| r.status == RowStatus::Failed)
        .unwrap();
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("asked to wait 86400 s") && error.contains("300 s"),
        "{error}"
    );
    // Not sent: nothing was made for it.
    assert_eq!(mock.products.lock().unwrap().len(), 4);
}
