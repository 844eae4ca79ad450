//! Integration tests: a run interrupted, repeated or misused loses nothing
//! and tells the truth. Each test runs the built binary as a user would,
//! against a sandbox it starts on 127.0.0.1, and judges by the products on
//! the server and the files left behind.

use std::path::Path;
use std::process::Output;

use product_import::results::{read_results, RowStatus};
use product_import_sandbox::{self as sandbox, SandboxConfig, SandboxHandle};

use crate::common::run::*;
use crate::common::tempdir;

/// Every file in `dir` with its bytes, for "nothing was touched" checks
/// (the lock file says who holds it, so it is left out).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_in(dir, |p| p.extension().is_none_or(|e| e != "lock"))
}

/// Imports `n` rows with a real run and returns the results path.
async fn first_run(sb: &SandboxHandle, dir: &Path, prefix: &str, n: usize) -> std::path::PathBuf {
    let file = dir.join("products.csv");
    let results = dir.join("results.csv");
    write_products(&file, prefix, n, |i| i as f64);
    let out = run_binary(binary(
        sb,
        &file,
        &["--quiet", "--results", results.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_a_different_input_stops_and_says_what_differs() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let results = first_run(&sb, dir.path(), "F", 20).await;
    let file = dir.path().join("products.csv");
    // The user deletes three rows and resumes.
    let csv = std::fs::read_to_string(&file).unwrap();
    let edited: Vec<&str> = csv.lines().filter(|l| !l.contains(",F-1")).collect();
    std::fs::write(&file, edited.join("\n") + "\n").unwrap();
    let before = snapshot(dir.path());
    let out = run_binary(binary(
        &sb,
        &file,
        &["--resume", "--results", results.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("belongs to a different input") && said.contains("the input's content"),
        "{said}"
    );
    assert_eq!(snapshot(dir.path()), before, "nothing touched");
    assert_eq!(sb.products().len(), 20, "nothing sent");

    // Another mapping of the same file is a different input too.
    std::fs::write(&file, csv).unwrap();
    let mapping = dir.path().join("map.toml");
    std::fs::write(&mapping, "[constants]\n\"type\" = \"default\"\n").unwrap();
    let out = run_binary(binary(
        &sb,
        &file,
        &[
            "--resume",
            "--results",
            results.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("the mapping file"), "{}", text(&out));

    // The same input resumes, and keeps every row.
    let out = run_binary(binary(
        &sb,
        &file,
        &[
            "--quiet",
            "--resume",
            "--results",
            results.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_one_product_per_row(&sb, &results, "F-", 20);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_record_is_dropped_and_its_row_looked_up() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let results = first_run(&sb, dir.path(), "T", 10).await;
    // As if killed while the last record was written: its record is cut in
    // the price cell. The results file is only a rendering of the job's
    // store, which --resume reads.
    let bytes = std::fs::read(&results).unwrap();
    let cut = bytes.len() - 2; // "9.00\n" becomes "9.0"... minus the newline
    std::fs::write(&results, &bytes[..cut]).unwrap();
    let torn = read_results(&results).unwrap();
    assert_eq!(torn.len(), 9, "the torn record is not read back");

    let file = dir.path().join("products.csv");
    let out = run_binary(binary(
        &sb,
        &file,
        &[
            "--quiet",
            "--resume",
            "--results",
            results.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_one_product_per_row(&sb, &results, "T-", 10);
    let last = read_results(&results).unwrap().pop().unwrap();
    assert_eq!(
        &last.cells[3], "9.00",
        "the row's own cells, not the torn ones"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_start_leaves_every_output_as_it_was() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let results = first_run(&sb, dir.path(), "N", 5).await;
    let file = dir.path().join("products.csv");
    let before = snapshot(dir.path());
    let missing = dir.path().join("no-such-folder/rejects.csv");
    let args = ["--results", results.to_str().unwrap()];
    for extra in [
        vec!["--rejects", missing.to_str().unwrap()],
        // The API is down.
        vec![
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--token-url",
            "http://127.0.0.1:9/t",
        ],
    ] {
        let mut flags = args.to_vec();
        flags.extend(extra);
        let out = run_binary(binary(&sb, &file, &flags)).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert_eq!(snapshot(dir.path()), before, "{flags:?} touched a file");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_never_writes_the_real_runs_results_or_journal() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let results = first_run(&sb, dir.path(), "D", 5).await;
    let config = dir.path().join("job.toml");
    std::fs::write(&config, "results = \"results.csv\"\n").unwrap();
    let real = snapshot(dir.path());
    let file = dir.path().join("products.csv");
    for flags in [
        vec!["--dry-run", "--config", config.to_str().unwrap()],
        vec!["--dry-run", "--results", results.to_str().unwrap()],
    ] {
        let out = run_binary(binary(&sb, &file, &flags)).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let now = snapshot(dir.path());
        for (name, bytes) in &real {
            let kept = now.iter().find(|(n, _)| n == name);
            assert_eq!(
                kept.map(|(_, b)| b),
                Some(bytes),
                "{name} changed by {flags:?}"
            );
        }
    }
    let dry = read_results(&dir.path().join("results.dry-run.csv")).unwrap();
    assert_eq!(dry.len(), 5);
    assert!(dry.iter().all(|r| r.status == RowStatus::Skipped));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_on_one_path_or_on_the_input_are_refused() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "P", 3, |i| i as f64);
    let x = dir.path().join("x.csv");
    let x = x.to_str().unwrap();
    let input = file.to_str().unwrap();
    for flags in [
        vec!["--results", x, "--rejects", x],
        vec!["--results", x, "--summary-json", x],
        vec!["--results", input],
        vec!["--rejects", input],
    ] {
        let out = run_binary(binary(&sb, &file, &flags)).await;
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", text(&out));
        assert!(text(&out).contains("are the same file"), "{}", text(&out));
    }
    assert!(sb.products().is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_results_file_is_refused() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "L", 3, |i| i as f64);
    let results = dir.path().join("results.csv");
    // Another process holds the job's store, as a running import would.
    let lock_path = dir.path().join("results.csv.job.sqlite");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.try_lock().unwrap();
    let out = run_binary(binary(
        &sb,
        &file,
        &["--results", results.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("another import is using this job"),
        "{}",
        text(&out)
    );
    assert!(!results.exists());
    assert!(sb.products().is_empty());
    drop(lock);
    let out = run_binary(binary(
        &sb,
        &file,
        &["--quiet", "--results", results.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_import_at_a_time_writes_to_an_organization() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let rows = 60;
    write_products(&file, "S", rows, |i| i as f64);
    let other = dir.path().join("other.csv");
    write_products(&other, "O", 5, |i| i as f64);
    let first = dir.path().join("first.csv");
    // The first run takes about three seconds at 20 requests a second.
    let flags = [
        "--quiet",
        "--rate",
        "20",
        "--results",
        first.to_str().unwrap(),
    ];
    let mut running = binary(&sb, &file, &flags)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while sb.products().is_empty() {
        assert!(started.elapsed().as_secs() < 20, "the first run never sent");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The same file with another results file, another file, or the API
    // spelt `localhost`: refused, naming the first run, nothing touched.
    let second = dir.path().join("second.csv");
    let localhost = sb.base_url().replace("127.0.0.1", "localhost") + "/";
    for (input, url) in [
        (&file, sb.base_url()),
        (&other, sb.base_url()),
        (&other, localhost),
    ] {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("product-import"));
        cmd.arg("import")
            .arg(input)
            .args(["--base-url", &url, "--token-url", &sb.token_url()])
            .args(["--results", second.to_str().unwrap()])
            .env_remove("TFSO_ACCESS_TOKEN")
            .envs(sandbox_env(&sb))
            .stdin(std::process::Stdio::null());
        let out = run_binary(cmd).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("another import into organization") && said.contains("first.csv"),
            "{said}"
        );
        assert!(!second.exists(), "no output touched");
    }
    // Told to wait, another file goes ahead once the first is over.
    let third = dir.path().join("third.csv");
    let out = run_binary(binary(
        &sb,
        &other,
        &[
            "--quiet",
            "--wait-lock",
            "60",
            "--results",
            third.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = tokio::task::spawn_blocking(move || running.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        sb.product_count(),
        rows + 5,
        "one product per row, no duplicate"
    );
    // Once it is over, the file may run again (here: all skipped).
    let out = run_binary(binary(&sb, &file, &["--results", second.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), rows + 5);
    sb.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_size_limit_part_way_stops_with_a_summary_and_resume_finishes() {
    use std::os::unix::process::CommandExt as _;
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let rows = 1200;
    write_products(&file, "Z", rows, |i| i as f64);
    let results = dir.path().join("results.csv");
    let mut cmd = binary(
        &sb,
        &file,
        &[
            "--results",
            results.to_str().unwrap(),
            "--concurrency",
            "4",
            "--rate",
            "2000",
        ],
    );
    // Files may grow to 256 KiB (the job's store reaches it first, after
    // about 800 rows), like a disk that fills up.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256 * 1024,
                rlim_max: 256 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_binary(cmd).await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("Import stopped"), "{said}");
    assert!(
        said.contains("File too large") || said.contains("disk I/O error"),
        "{said}"
    );
    assert!(said.contains("--resume"), "{said}");
    let sent = sb.products().len();
    assert!(sent > 0 && sent < rows, "stopped part way: {sent} products");
    // Rows whose send intent could not be stored were not sent, and say so.
    let records = read_results(&results).unwrap();
    let recorded = records
        .iter()
        .filter(|r| r.status == RowStatus::Created)
        .count();
    assert!(recorded <= sent, "{recorded} recorded, {sent} sent");
    assert!(records
        .iter()
        .filter(|r| r.status == RowStatus::Failed)
        .all(|r| r.error.as_deref().is_some_and(|e| e.contains("not sent"))));

    let out = run_binary(binary(
        &sb,
        &file,
        &[
            "--quiet",
            "--resume",
            "--rate",
            "2000",
            "--results",
            results.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_one_product_per_row(&sb, &results, "Z-", rows);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_a_config_file_or_a_url_are_never_echoed() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "S", 2, |i| i as f64);
    let config = dir.path().join("job.toml");
    let secret = "hunter2-very-secret";
    for (body, expect) in [
        (
            format!("client_secret = \"{secret}\"\n"),
            "TFSO_CLIENT_SECRET",
        ),
        (
            format!("rate = 3\nmy_password = \"{secret}\"\n"),
            "environment",
        ),
        // A syntax error on the secret's line: toml's own message quotes it.
        (format!("client_secret = \"{secret}\n"), "line 1"),
    ] {
        std::fs::write(&config, body).unwrap();
        let out = run_binary(binary(&sb, &file, &["--config", config.to_str().unwrap()])).await;
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(said.contains(expect), "{said}");
        assert!(!said.contains(secret), "secret echoed: {said}");
    }
    let out = crate::common::bin()
        .arg("import")
        .arg(&file)
        .args([
            "--base-url",
            &format!("http://user:{secret}@example.com/v1"),
        ])
        .env("TFSO_ACCESS_TOKEN", "token")
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("example.com"), "{said}");
    assert!(!said.contains(secret), "secret echoed: {said}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_rows_in_flight_at_a_kill_are_never_sent_again() {
    let sb = sandbox::start(SandboxConfig {
        latency: std::time::Duration::from_millis(150),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let rows = 60;
    let mut csv = String::from("name,category.id\n");
    for i in 0..rows {
        csv.push_str(&format!("Keyless {i},1\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let results = dir.path().join("results.csv");
    let flags = [
        "--results",
        results.to_str().unwrap(),
        "--concurrency",
        "16",
        "--rate",
        "200",
    ];
    interrupt_after(
        binary(&sb, &file, &flags),
        &results,
        10,
        "-KILL",
        std::time::Duration::from_secs(20),
    )
    .await;
    let mut resume = flags.to_vec();
    resume.push("--resume");
    let out = run_binary(binary(&sb, &file, &resume)).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "in-flight rows are failed: {}",
        text(&out)
    );
    let products = sb.products();
    let mut names: Vec<&str> = products
        .iter()
        .map(|p| p.name.as_deref().unwrap_or_default())
        .collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "a keyless row was sent twice");
    let records = read_results(&results).unwrap();
    assert_eq!(records.len(), rows);
    let failed: Vec<_> = records
        .iter()
        .filter(|r| r.status == RowStatus::Failed)
        .collect();
    assert!(!failed.is_empty(), "some rows were in flight at the kill");
    for r in &failed {
        let e = r.error.as_deref().unwrap();
        assert!(
            e.contains("may have created") && e.contains(&r.cells[0]),
            "{e}"
        );
    }
    let created = records
        .iter()
        .filter(|r| r.status == RowStatus::Created)
        .count();
    assert_eq!(created + failed.len(), rows);
    assert!(products.len() >= created && products.len() <= rows);
    // A second resume keeps them failed and sends nothing more.
    let count = products.len();
    let out = run_binary(binary(&sb, &file, &resume)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(sb.products().len(), count);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_results_file_is_rendered_again_from_the_store() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "X", 4, |i| i as f64);
    let results = dir.path().join("results.xlsx");
    let flags = ["--quiet", "--results", results.to_str().unwrap()];
    let out = run_binary(binary(&sb, &file, &flags)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bytes = std::fs::read(&results).unwrap();
    std::fs::write(&results, &bytes[..bytes.len() / 2]).unwrap();
    let mut resume = flags.to_vec();
    resume.push("--resume");
    let out = run_binary(binary(&sb, &file, &resume)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.products().len(), 4);
    let back = read_results(&results).unwrap();
    assert_eq!(back.len(), 4, "every row rendered again from the store");
    assert!(back.iter().all(|r| r.status == RowStatus::Created));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_input_is_imported_kept_and_resumed() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "I", 12, |i| i as f64);
    let csv = std::fs::read(&file).unwrap();
    let command = |flags: &[&str]| {
        let mut cmd = binary(&sb, Path::new("-"), flags);
        cmd.current_dir(dir.path());
        cmd
    };
    let out = with_stdin(command(&["--quiet"]), csv.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let results = dir.path().join("stdin.results.csv");
    assert_one_product_per_row(&sb, &results, "I-", 12);
    assert_eq!(
        std::fs::read(dir.path().join("stdin.results.csv.input.csv")).unwrap(),
        csv
    );
    // --resume reads the kept copy, not standard input (here: nothing).
    let out = with_stdin(command(&["--quiet", "--resume"]), Vec::new()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_one_product_per_row(&sb, &results, "I-", 12);
    sb.shutdown().await;
}

/// Runs `cmd` with `input` on its standard input, on a blocking thread.
async fn with_stdin(mut cmd: std::process::Command, input: Vec<u8>) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    tokio::task::spawn_blocking(move || {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}
