//! Unit tests of the run store.

use super::*;
use crate::validate::{Problem, ProblemKind};

fn layout() -> ResultsLayout {
    ResultsLayout {
        headers: vec!["name".into(), "number".into()],
        delimiter: b';',
    }
}

fn fingerprint(sha: &str) -> Fingerprint {
    Fingerprint {
        input_sha256: sha.into(),
        input_size: 10,
        sheet: None,
        mapping_sha256: None,
        reading: vec![],
    }
}

fn record(row: u64, status: RowStatus, id: Option<i64>) -> RowRecord {
    RowRecord {
        row,
        sheet: None,
        status,
        id,
        http_status: Some(201),
        trace_id: None,
        error: None,
        problems: vec![Problem {
            row,
            column: Some("number".into()),
            value: Some("x".into()),
            kind: ProblemKind::Empty,
            message: "m".into(),
        }],
        cells: [format!("Name {row}"), format!("N-{row}")]
            .into_iter()
            .collect(),
    }
}

#[test]
fn outcomes_intents_and_products_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir.path().join("r.csv"));
    let store = JobStore::open(&path).unwrap();
    store
        .begin_run("fresh", &fingerprint("a"), &layout(), Some(4))
        .unwrap();
    assert!(store.unfinished().unwrap().is_some(), "running");
    store.mark_sending(2, 10).unwrap();
    store.mark_sending(3, 11).unwrap();
    store.mark_sending(2, 30).unwrap();
    let keys = KeyCells::for_tests(Some(1), None);
    store.record(&record(2, RowStatus::Created, Some(41)), keys);
    store.commit_outcomes().unwrap();
    drop(store);

    let store = JobStore::open_read(&path).unwrap().unwrap();
    let back = store.outcomes().unwrap();
    assert_eq!(back, vec![record(2, RowStatus::Created, Some(41))]);
    let maybe = store.maybe_sent().unwrap();
    assert_eq!(
        maybe.rows,
        HashMap::from([(3, Some(11))]),
        "row 2 is settled"
    );
    let state = store.job_state().unwrap();
    assert_eq!(state.products[&41].number.as_deref(), Some("N-2"));
    assert_eq!(store.layout().unwrap().unwrap().delimiter, b';');
    let (by, unknown) = store.counts().unwrap();
    assert_eq!((by["created"], unknown), (1, 1));
    assert!(store.unfinished().unwrap().is_some(), "never ended");
}

#[test]
fn a_fresh_run_clears_the_outcomes_and_the_last_success_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(&dir.path().join("s.job.sqlite")).unwrap();
    store
        .begin_run("fresh", &fingerprint("a"), &layout(), None)
        .unwrap();
    store.record(
        &record(2, RowStatus::Failed, None),
        KeyCells::for_tests(None, None),
    );
    let mut state = store.job_state().unwrap();
    state.last_success = Some(InputSeen::default());
    store.save_state(&state).unwrap();
    store.end_run("completed", 0).unwrap();
    assert!(store.job_state().unwrap().last_success.is_some());
    assert!(store.unfinished().unwrap().is_none());
    store
        .begin_run("fresh", &fingerprint("b"), &layout(), None)
        .unwrap();
    assert!(store.outcomes().unwrap().is_empty());
    assert!(store.job_state().unwrap().last_success.is_none());
    assert_eq!(store.fingerprint().unwrap(), Some(fingerprint("b")));
    assert_eq!(store.runs(5).unwrap().len(), 2);
}

#[test]
fn a_status_change_without_its_result_counts_as_deactivated() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(&dir.path().join("s.job.sqlite")).unwrap();
    store
        .begin_run("fresh", &fingerprint("a"), &layout(), None)
        .unwrap();
    let done = store.status_intent(5, Some("A"), "deactivate").unwrap();
    store.status_result(done, 5, "deactivated").unwrap();
    store.status_intent(6, Some("B"), "deactivate").unwrap();
    let state = store.job_state().unwrap();
    assert!(state.products[&5].deactivated);
    assert!(state.products[&6].deactivated, "cut short: may be inactive");
    let again = store.status_intent(6, Some("B"), "reactivate").unwrap();
    store.status_result(again, 6, "reactivated").unwrap();
    assert!(!store.job_state().unwrap().products[&6].deactivated);
}
