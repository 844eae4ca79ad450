//! Integration tests of the job's run store: a run that is refused touches
//! nothing, a killed run is never thrown away, half-done deactivations are
//! finished or reversed, and `status` says where a job stands. Each test runs
//! the built binary against a sandbox it starts on 127.0.0.1 and judges by
//! what the server holds and what the files hold.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use product_import::results::{read_results, RowStatus};
use product_import_sandbox::wire::ProductStatus;
use product_import_sandbox::{self as sandbox, SandboxConfig, SandboxHandle};

use crate::common::run::*;
use crate::common::tempdir;

/// Every file in `dir` with its bytes. SQLite's shared-memory index
/// (`-shm`), rebuilt from the WAL by whoever opens the store, holds no data
/// and is left out.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_in(dir, |p| !p.to_string_lossy().ends_with("-shm"))
}

fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

/// A sandbox slow enough (40 ms a request) that a kill lands part way.
fn slow() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_millis(40),
        ..SandboxConfig::default()
    }
}

/// Starts `cmd`, waits until `ready` says so (or 20 s pass), then sends
/// `signal` (`-KILL`, `-TERM`) and waits for the process to end.
async fn signal_when(mut cmd: Command, signal: &'static str, ready: impl Fn() -> bool) -> Output {
    tokio::task::block_in_place(move || {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().expect("binary starts");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) && !ready() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let sent = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        child.wait_with_output().unwrap()
    })
}

/// Imports `file` into `sb` and kills the run with SIGKILL once the server
/// holds `at` products.
async fn killed_run(sb: &SandboxHandle, file: &Path, results: &Path, at: usize) -> Output {
    let out = signal_when(
        binary(
            sb,
            file,
            &["--quiet", "--results", results.to_str().unwrap()],
        ),
        "-KILL",
        || sb.product_count() >= at,
    )
    .await;
    assert_eq!(out.status.code(), None, "killed: {}", text(&out));
    out
}

fn results_in(dir: &Path) -> PathBuf {
    dir.join("results.csv")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_run_after_a_kill_leaves_every_file_byte_identical() {
    let sb = sandbox::start(slow()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let rows = 60;
    write_products(&file, "K", rows, |i| i as f64);
    let results = results_in(dir.path());
    killed_run(&sb, &file, &results, 20).await;
    let before = snapshot(dir.path());
    assert!(
        names(&before).contains(&"results.csv.job.sqlite"),
        "{:?}",
        names(&before)
    );
    let long = dir.path().join(format!("{}.csv", "r".repeat(248)));
    let r = results.to_str().unwrap();
    let refused: Vec<Vec<&str>> = vec![
        // The API is down.
        vec![
            "--results",
            r,
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--token-url",
            "http://127.0.0.1:9/t",
        ],
        // A rejects name too long for its temporary file.
        vec![
            "--results",
            r,
            "--resume",
            "--rejects",
            long.to_str().unwrap(),
        ],
        // A guard.
        vec!["--results", r, "--resume", "--min-rows", "1000"],
        // A fresh run over the unfinished one.
        vec!["--results", r],
    ];
    for flags in refused {
        let out = run_binary(binary(&sb, &file, &flags)).await;
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", text(&out));
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{flags:?} touched a file: {}",
            text(&out)
        );
    }
    let sent = sb.product_count();
    // A server answering 500 to everything.
    let broken = sandbox::start(SandboxConfig {
        faults: product_import_sandbox::FaultSpec::parse("error500=1").unwrap(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let out = run_binary(binary(
        &broken,
        &file,
        &["--results", r, "--resume", "--max-retries", "0"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(snapshot(dir.path()), before, "{}", text(&out));
    broken.shutdown().await;
    assert_eq!(sb.product_count(), sent, "nothing sent by a refused run");

    // The killed run is resumed from its store: one product per row.
    resume_to_the_end(&sb, &file, &["--results", r], &results, "K-", rows).await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_run_after_a_kill_refuses_or_with_afresh_keeps_what_it_did() {
    // Searches lag 3 s behind creates: a fresh run that forgot the killed
    // run's products would create them again.
    let mut config = slow();
    config.behaviour.search_lag = Duration::from_secs(3);
    let sb = sandbox::start(config).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let rows = 60;
    write_products(&file, "A", rows, |i| i as f64);
    let results = results_in(dir.path());
    killed_run(&sb, &file, &results, 25).await;
    let r = results.to_str().unwrap();

    let out = run_binary(binary(&sb, &file, &["--results", r])).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("did not finish") && said.contains("--resume") && said.contains("--afresh"),
        "{said}"
    );

    let out = run_binary(binary(&sb, &file, &["--quiet", "--afresh", "--results", r])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let products = sb.products();
    let mut numbers: Vec<_> = products.iter().filter_map(|p| p.number.clone()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), rows, "every row has its product");
    assert_eq!(products.len(), rows, "no duplicate");
    let records = read_results(&results).unwrap();
    assert_eq!(records.len(), rows);
    assert!(records.iter().all(|r| r.status.is_final_success()));
    sb.shutdown().await;
}

/// `status`'s output for the job of `results`.
fn status(results: &Path, extra: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("product-import"))
        .arg("status")
        .arg(results)
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_where_a_job_stands_and_renders_its_results() {
    let sb = sandbox::start(slow()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let rows = 40;
    write_products(&file, "S", rows, |i| i as f64);
    let results = results_in(dir.path());
    killed_run(&sb, &file, &results, 10).await;
    let before = snapshot(dir.path());
    let out = status(&results, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("did not finish"), "{said}");
    assert!(said.contains("pending of 40 rows"), "{said}");
    assert_eq!(snapshot(dir.path()), before, "status only reads");

    let r = results.to_str().unwrap();
    resume_to_the_end(&sb, &file, &["--results", r], &results, "S-", rows).await;
    let rendered = dir.path().join("again.xlsx");
    let out = status(&results, &["--render", rendered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("40 done (created 40)"), "{said}");
    assert!(said.contains("0 unknown"), "{said}");
    assert!(said.contains("resume run"), "{said}");
    let back = read_results(&rendered).unwrap();
    assert_eq!(back.len(), rows);
    assert_eq!(back, read_results(&results).unwrap());
    sb.shutdown().await;
}

/// Imports `n` rows `M-0..n`, then writes the file without the rows from
/// `keep` on, for the night the products went missing.
async fn managed_job(sb: &SandboxHandle, dir: &Path, n: usize, keep: usize) -> (PathBuf, PathBuf) {
    let full = dir.join("full.csv");
    write_products(&full, "M", n, |i| i as f64);
    let results = results_in(dir);
    let out = run_binary(binary(
        sb,
        &full,
        &["--quiet", "--results", results.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let short = dir.join("short.csv");
    write_products(&short, "M", keep, |i| i as f64);
    (full, short)
}

fn inactive(sb: &SandboxHandle) -> usize {
    sb.products()
        .iter()
        .filter(|p| p.status == Some(ProductStatus::Inactive))
        .count()
}

/// The night with products missing, stopped by `signal` once one of them
/// is inactive.
async fn deactivation_cut_short(
    sb: &SandboxHandle,
    short: &Path,
    results: &Path,
    signal: &'static str,
) -> Output {
    signal_when(
        binary(
            sb,
            short,
            &[
                "--quiet",
                "--results",
                results.to_str().unwrap(),
                "--missing",
                "deactivate",
                "--max-missing",
                "100%",
            ],
        ),
        signal,
        || inactive(sb) >= 1,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_deactivation_is_recorded_and_reversed_when_the_products_return() {
    // Each request takes 300 ms, so the kill lands between two PATCHes.
    let sb = sandbox::start(SandboxConfig {
        latency: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let (full, short) = managed_job(&sb, dir.path(), 12, 4).await;
    let results = results_in(dir.path());
    let out = deactivation_cut_short(&sb, &short, &results, "-KILL").await;
    assert_eq!(out.status.code(), None, "killed: {}", text(&out));
    let cut = inactive(&sb);
    assert!((1..8).contains(&cut), "cut part way: {cut} inactive");

    // All of them are back in the file, with --existing update.
    let out = run_binary(binary(
        &sb,
        &full,
        &[
            "--quiet",
            "--results",
            results.to_str().unwrap(),
            "--existing",
            "update",
            "--afresh",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(inactive(&sb), 0, "every product back in the feed is active");
    assert_eq!(sb.product_count(), 12);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_deactivation_stops_it() {
    let sb = sandbox::start(SandboxConfig {
        latency: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let (full, short) = managed_job(&sb, dir.path(), 12, 4).await;
    let results = results_in(dir.path());
    let out = deactivation_cut_short(&sb, &short, &results, "-TERM").await;
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let cut = inactive(&sb);
    assert!(
        (1..8).contains(&cut),
        "stopped part way: {cut} of 8 inactive"
    );
    let missing = std::fs::read_to_string(dir.path().join("results.csv.missing.csv")).unwrap();
    assert!(missing.contains("the run was stopped"), "{missing}");
    // The next night with everything back sets them active again.
    let out = run_binary(binary(
        &sb,
        &full,
        &[
            "--quiet",
            "--results",
            results.to_str().unwrap(),
            "--existing",
            "update",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(inactive(&sb), 0);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_changed_after_a_night_that_failed_part_way_imports_again() {
    let sb = sandbox::start(slow()).await.unwrap();
    let dir = tempdir();
    let night = dir.path().join("feed.csv");
    let rows = 60;
    let results = results_in(dir.path());
    let r = results.to_str().unwrap();
    let flags = [
        "--quiet",
        "--results",
        r,
        "--if-changed",
        "--existing",
        "update",
    ];
    // Night 1: prices i.
    write_products(&night, "P", rows, |i| i as f64);
    let out = run_binary(binary(&sb, &night, &flags)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Night 2: new prices, killed part way (some prices changed).
    write_products(&night, "P", rows, |i| 1000.0 + i as f64);
    let changed = || {
        sb.products()
            .iter()
            .filter(|p| p.sales_price.is_some_and(|v| v >= 1000.0))
            .count()
            >= 10
    };
    let out = signal_when(binary(&sb, &night, &flags), "-KILL", changed).await;
    assert_eq!(out.status.code(), None, "{}", text(&out));
    // Night 3: the feed is back to night 1's content. It is not "unchanged":
    // the catalogue was changed since.
    write_products(&night, "P", rows, |i| i as f64);
    let mut afresh = flags.to_vec();
    afresh.push("--afresh");
    let out = run_binary(binary(&sb, &night, &afresh)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("unchanged"), "{}", text(&out));
    let wrong: Vec<_> = sb
        .products()
        .into_iter()
        .filter(|p| p.sales_price.is_some_and(|v| v >= 1000.0))
        .collect();
    assert!(wrong.is_empty(), "{} prices left from night 2", wrong.len());
    assert_eq!(sb.product_count(), rows);
    // Night 4: the same again is unchanged now.
    let out = run_binary(binary(&sb, &night, &flags)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("unchanged"), "{}", text(&out));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_standard_input_keeps_the_copy_a_resume_needs() {
    let sb = sandbox::start(slow()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "I", 30, |i| i as f64);
    let results = results_in(dir.path());
    let r = results.to_str().unwrap();
    // A run from standard input, killed part way.
    let mut cmd = binary(&sb, Path::new("-"), &["--quiet", "--results", r]);
    cmd.stdin(std::fs::File::open(&file).unwrap());
    let out = signal_when(cmd, "-KILL", || sb.product_count() >= 8).await;
    assert_eq!(out.status.code(), None, "{}", text(&out));
    let before = snapshot(dir.path());
    // An empty standard input is refused and changes nothing.
    let out = run_binary(binary(&sb, Path::new("-"), &["--results", r])).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(snapshot(dir.path()), before);
    // The interrupted run resumes from the copy it kept.
    let out = run_binary(binary(
        &sb,
        Path::new("-"),
        &["--quiet", "--resume", "--results", r],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), 30);
    assert_eq!(read_results(&results).unwrap().len(), 30);
    assert!(read_results(&results)
        .unwrap()
        .iter()
        .all(|r| r.status == RowStatus::Created));
    sb.shutdown().await;
}

/// The built binary exporting `sb`'s catalogue to `out`.
fn export_cmd(sb: &SandboxHandle, out: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("product-import"));
    cmd.arg("export")
        .arg(out)
        .args(["--quiet", "--rate", "2000"])
        .args(["--base-url", &sb.base_url(), "--token-url", &sb.token_url()])
        .env_remove("TFSO_ACCESS_TOKEN")
        .envs(sandbox_env(sb))
        .stdin(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_csv_export_leaves_the_old_export_whole() {
    // Each request takes 150 ms, so a kill lands while the pages are read.
    let sb = sandbox::start(SandboxConfig {
        latency: Duration::from_millis(150),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "E", 300, |i| i as f64);
    let results = results_in(dir.path());
    let out = run_binary(binary(
        &sb,
        &file,
        &[
            "--quiet",
            "--rate",
            "2000",
            "--concurrency",
            "32",
            "--results",
            results.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let export = dir.path().join("catalogue.csv");
    let out = export_cmd(&sb, &export).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let old = std::fs::read(&export).unwrap();
    assert_eq!(String::from_utf8_lossy(&old).lines().count(), 301);
    let writing = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
    };
    let out = signal_when(export_cmd(&sb, &export), "-KILL", writing).await;
    assert_eq!(out.status.code(), None, "killed part way: {}", text(&out));
    assert_eq!(
        std::fs::read(&export).unwrap(),
        old,
        "the old export is whole"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_state_file_of_an_earlier_version_moves_into_the_store() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let (_, short) = managed_job(&sb, dir.path(), 6, 3).await;
    let results = results_in(dir.path());
    // As an earlier version left the job: a state file, no store.
    let mut products = serde_json::Map::new();
    for r in read_results(&results).unwrap() {
        products.insert(
            r.id.unwrap().to_string(),
            serde_json::json!({ "number": r.cells[1] }),
        );
    }
    std::fs::remove_file(dir.path().join("results.csv.job.sqlite")).unwrap();
    let state = serde_json::json!({ "products": products });
    std::fs::write(
        dir.path().join("results.csv.state.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let out = run_binary(binary(
        &sb,
        &short,
        &[
            "--quiet",
            "--results",
            results.to_str().unwrap(),
            "--missing",
            "deactivate",
            "--max-missing",
            "100%",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        inactive(&sb),
        3,
        "the job's products it knew from the state file"
    );
    let said = text(&status(&results, &[]));
    assert!(said.contains("6 made by this job (3 deactivated"), "{said}");
    sb.shutdown().await;
}
