//! Integration tests: what the terminal shows besides the progress line
//! (whose builder is unit-tested in `progress`): shell completions, and the
//! `progress` events of the JSON log.

use std::fmt::Write as _;

use crate::common::{bin, json_lines, tempdir};

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("product-import"), "{shell}: {text}");
        assert!(
            text.contains("validate") && text.contains("export"),
            "{shell}"
        );
    }
    bin().args(["completions", "nosh"]).assert().code(2);
}

/// Rows for the progress test: at `--rate 20` (one request a row) the run
/// lasts about 7 s, past the first 5 s progress event.
const PROGRESS_ROWS: u64 = 140;

#[test]
fn json_progress_events_count_up_to_the_rows_and_carry_what_a_shipper_needs() {
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let mut csv = String::from("name,number,category.id,salesPrice\n");
    for i in 0..PROGRESS_ROWS {
        writeln!(csv, "Product {i},J-{i},1,{i}.50").unwrap();
    }
    std::fs::write(&file, csv).unwrap();
    let results = dir.path().join("products.results.csv");
    let out = bin()
        .arg("import")
        .arg(&file)
        .args(["--sandbox", "--rate", "20", "--log-format", "json"])
        .arg("--results")
        .arg(&results)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let events = json_lines(&out.stderr);
    let progress: Vec<_> = events.iter().filter(|e| e["event"] == "progress").collect();

    // Every few seconds while rows go, then one last.
    let (last, during) = progress.split_last().expect("progress events");
    assert!(
        !during.is_empty(),
        "a progress event before the end: {stderr}"
    );
    assert!(during.iter().all(|e| e["final"] == false), "{stderr}");
    assert_eq!(last["final"], true);
    let after: Vec<_> = events
        .iter()
        .skip_while(|e| !(e["event"] == "progress" && e["final"] == true))
        .skip(1)
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        after,
        ["summary"],
        "the last progress comes before the summary"
    );

    let mut done_before = 0;
    let mut elapsed_before = 0.0;
    for e in &progress {
        assert_eq!(e["level"], "info", "{e}");
        let done = e["rows_done"].as_u64().unwrap();
        assert!(done >= done_before, "rows_done goes up: {stderr}");
        done_before = done;
        let statuses = [
            "created", "updated", "skipped", "invalid", "failed", "valid",
        ];
        let counted: u64 = statuses.iter().map(|k| e[*k].as_u64().unwrap()).sum();
        assert_eq!(counted, done, "the counts add up: {e}");
        assert_eq!(e["rows_total"], PROGRESS_ROWS, "{e}");
        let percent = e["percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&percent), "{e}");
        assert!(e["rows_per_second"].as_f64().unwrap() >= 0.0, "{e}");
        let elapsed = e["elapsed_seconds"].as_f64().unwrap();
        assert!(elapsed >= elapsed_before, "elapsed goes up: {stderr}");
        elapsed_before = elapsed;
        assert!(
            e["eta_seconds"].is_null() || e["eta_seconds"].as_f64().unwrap() >= 0.0,
            "{e}"
        );
        assert!(e["pace"].as_f64().unwrap() > 0.0, "{e}");
    }
    for e in during {
        assert!(e["elapsed_seconds"].as_f64().unwrap() >= 5.0, "{e}");
    }
    assert_eq!(last["rows_done"], PROGRESS_ROWS);
    assert_eq!(last["created"], PROGRESS_ROWS);
    assert_eq!(last["percent"], 100.0);
    assert!(last["eta_seconds"].is_null(), "nothing left: {last}");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["rows_done"], last["rows_done"]);
}
