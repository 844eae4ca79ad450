//! Rows whose outcome is unknown, or that an earlier run may have sent:
//! settled before they are sent again, and the sending journal.

use super::*;

#[tokio::test]
async fn rows_that_may_have_been_sent_are_looked_up_first() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.insert(&draft(Some("P0"), Reference::Id(1)).product);
    let mut p = plan(ExistingMode::Create);
    p.concurrency = 1;
    // The earlier run had seen no product id when it sent rows 2 and 3.
    let sent = MaybeSent {
        rows: [(2, Some(0)), (3, Some(0))].into(),
        age: Duration::ZERO,
    };
    let run = run_with(&mock, p, rows(2), sent).await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(run.records[0].id, Some(1));
    assert_eq!(run.records[1].status, RowStatus::Created);
    assert_eq!(mock.products.lock().unwrap().len(), 2);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);
}

fn settle_plan(existing: ExistingMode, settle_secs: u64) -> PipelinePlan {
    let mut p = plan(existing);
    p.row.settle = SettlePolicy {
        time: Duration::from_secs(settle_secs),
        lookups: 3,
    };
    p
}

#[tokio::test(start_paused = true)]
async fn a_late_completion_is_found_at_the_second_lookup_and_not_sent_again() {
    let mut mock = Mock::with_categories(&["Tools"]);
    mock.search_lag = Duration::from_millis(1500);
    mock.no_get_by_id = true;
    let mock = Arc::new(mock);
    // The client gives up at once; the server creates the product 1.5 s
    // later, searchable 1.5 s after that: after the lookup at 5/3 s, before
    // the one at 10/3 s (asking by id is switched off here; see the next test).
    mock.fault(Fault::Late(Duration::from_millis(1500), ApiError::Timeout));
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Skip, 5),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    let r = &run.records[0];
    assert_eq!(r.status, RowStatus::Created, "{r:?}");
    assert_eq!(r.id, Some(1));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1, "never sent again");
    assert_eq!(mock.count_number("P0"), 1);
    assert_eq!(
        mock.lookups.load(Ordering::SeqCst),
        2,
        "found at the second"
    );
    assert_eq!((run.report.settled, run.report.settled_found), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_late_completion_hidden_from_searches_is_found_by_id() {
    let mut mock = Mock::with_categories(&["Tools"]);
    // Searches never show it within the settle time; its id does at once.
    mock.search_lag = Duration::from_secs(3600);
    let mock = Arc::new(mock);
    mock.insert(&draft(Some("OLD"), Reference::Id(1)).product);
    mock.fault(Fault::Late(Duration::from_millis(1500), ApiError::Timeout));
    let mut p = settle_plan(ExistingMode::Skip, 5);
    p.concurrency = 1;
    let run = run_with(&mock, p, rows(3), MaybeSent::default()).await;
    assert!(
        run.records.iter().all(|r| r.status == RowStatus::Created),
        "{:?}",
        run.records
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3, "none sent twice");
    for n in ["P0", "P1", "P2"] {
        assert_eq!(mock.count_number(n), 1, "{n}");
    }
    assert_eq!((run.report.settled, run.report.settled_found), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_product_not_found_after_settling_is_sent_again_once() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::Before(ApiError::Timeout));
    let started = tokio::time::Instant::now();
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Skip, 6),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 2);
    assert_eq!(mock.count_number("P0"), 1);
    assert_eq!(
        mock.lookups.load(Ordering::SeqCst),
        3,
        "three lookups first"
    );
    let posts = mock.posts.lock().unwrap().clone();
    assert!(
        posts[1].1 - started >= Duration::from_secs(6),
        "sent again only after the settle time"
    );
    assert_eq!((run.report.settled, run.report.settled_found), (1, 0));
}

// A real clock: the reader's thread would stop a paused one while it waits.
#[tokio::test]
async fn ids_beyond_the_newest_are_not_asked_while_the_run_goes_on() {
    // Each POST takes 10 ms, two at a time: 100 rows take 0.5 s, longer
    // than the first one's settle of 0.2 s, so creates sent after it bound its id.
    let mut mock = Mock::with_categories(&["Tools"]);
    mock.create_delay = Duration::from_millis(10);
    let mock = Arc::new(mock);
    mock.fault(Fault::Before(ApiError::Timeout));
    let mut p = plan(ExistingMode::Create);
    p.row.settle = SettlePolicy {
        time: Duration::from_millis(200),
        lookups: 3,
    };
    p.concurrency = 2;
    let run = run_with(&mock, p, rows(100), MaybeSent::default()).await;
    assert!(run.records.iter().all(|r| r.status == RowStatus::Created));
    assert_eq!(mock.count_number("P0"), 1);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 101, "P0 sent twice");
    // Every id below the bound is another row's: nothing to ask by id.
    assert_eq!(mock.gets.load(Ordering::SeqCst), 0, "no id asked for");
    assert_eq!((run.report.settled, run.report.settled_found), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_at_the_end_of_a_run_asks_beyond_the_newest_id() {
    // The row's product is made and its answer lost; nothing is sent after
    // it, and searches do not show it within the settle: its id does.
    let mut mock = Mock::with_categories(&["Tools"]);
    mock.search_lag = Duration::from_secs(3600);
    let mock = Arc::new(mock);
    mock.fault(Fault::After(ApiError::Timeout));
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Create, 2),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(
        run.records[0].status,
        RowStatus::Created,
        "{:?}",
        run.records
    );
    assert_eq!(mock.count_number("P0"), 1);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1, "not sent again");
    assert_eq!(
        mock.gets.load(Ordering::SeqCst),
        1,
        "the id beyond the newest"
    );
    assert_eq!((run.report.settled, run.report.settled_found), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn an_older_product_with_the_same_number_is_not_taken_under_existing_create() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    // Products from before the run, with the rows' numbers and names.
    let old_p0 = mock.insert(&draft(Some("P0"), Reference::Id(1)).product).id;
    let old_p1 = mock.insert(&draft(Some("P1"), Reference::Id(1)).product).id;
    // P0's POST times out without creating; P1's creates late.
    mock.fault(Fault::Before(ApiError::Timeout));
    mock.fault(Fault::Late(Duration::from_millis(500), ApiError::Timeout));
    let mut p = settle_plan(ExistingMode::Create, 3);
    p.concurrency = 1;
    let run = run_with(&mock, p, rows(2), MaybeSent::default()).await;
    let (r0, r1) = (&run.records[0], &run.records[1]);
    assert_eq!(r0.status, RowStatus::Created, "{r0:?}");
    assert_eq!(r1.status, RowStatus::Created, "{r1:?}");
    assert_ne!(r0.id, Some(old_p0), "the old product is not the row's");
    assert_ne!(r1.id, Some(old_p1), "the old product is not the row's");
    assert_eq!(mock.count_number("P0"), 2, "the row made its own");
    assert_eq!(mock.count_number("P1"), 2, "the late one, not sent again");
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3);
    for r in [r0, r1] {
        let p = mock
            .products
            .lock()
            .unwrap()
            .iter()
            .find(|p| Some(p.id) == r.id)
            .cloned()
            .unwrap();
        assert_eq!(p.number.as_deref(), Some(&r.cells[0]));
    }
}

#[tokio::test(start_paused = true)]
async fn settling_rows_give_their_slot_to_other_rows() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::After(status(504)));
    let mut p = settle_plan(ExistingMode::Create, 30);
    p.concurrency = 1;
    let started = tokio::time::Instant::now();
    let run = run_with(&mock, p, rows(5), MaybeSent::default()).await;
    assert!(run.records.iter().all(|r| r.status == RowStatus::Created));
    assert_eq!(mock.products.lock().unwrap().len(), 5);
    let posts = mock.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 5);
    assert!(
        posts
            .iter()
            .all(|(_, at)| *at - started < Duration::from_secs(1)),
        "the other rows went while the first settled: {posts:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn journaled_rows_settle_unless_the_journal_is_old() {
    // Written just now: the killed run's POST may still land, so three lookups.
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let sent = MaybeSent {
        rows: [(2, Some(0))].into(),
        age: Duration::ZERO,
    };
    let run = run_with(&mock, settle_plan(ExistingMode::Create, 3), rows(1), sent).await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 3);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);

    // Written an hour ago: one lookup decides.
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let sent = MaybeSent {
        rows: [(2, Some(0))].into(),
        age: Duration::from_secs(3600),
    };
    let run = run_with(&mock, settle_plan(ExistingMode::Create, 3), rows(1), sent).await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 1);

    // A journaled row without a key is never sent again.
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let row = PreparedRow {
        row: 2,
        cells: Default::default(),
        outcome: Ok(draft(None, Reference::Id(1))),
    };
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Skip, 3),
        vec![row],
        MaybeSent::rows([2]),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Failed);
    assert!(run.records[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with(resume::UNCONFIRMED_NO_KEY));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn journal_marks_rows_in_the_store_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::JobStore::open(&dir.path().join("x.job.sqlite")).unwrap();
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::After(status(502)));
    let mut p = plan(ExistingMode::Skip);
    p.journal = Some(crate::pipeline::journal::Journal::new(store.clone()));
    let run = run_with(&mock, p, rows(3), MaybeSent::default()).await;
    assert!(run.records.iter().all(|r| r.status == RowStatus::Created));
    // The outcomes went to a memory sink, not the store: every sent row is
    // one the store would have settled, each with its high-water mark.
    let marked = store.maybe_sent().unwrap();
    assert_eq!(marked.rows.len(), 3, "{marked:?}");
    assert!(marked.rows.values().all(Option::is_some));
}
