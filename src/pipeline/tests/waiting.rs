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
