//! Integration tests: import. Each test starts its own sandbox in-process on
//! an ephemeral loopback port and imports into it over real HTTP, either
//! in-process through the library or by running the built binary (for the
//! tests that kill or interrupt it).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use product_import::commands::ExitStatus;
use product_import::results::{read_results, RowStatus};
use product_import_sandbox::{self as sandbox, SandboxConfig};

use crate::common::run::*;
use crate::common::tempdir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_rate_limit_leave_exactly_one_product_per_row() {
    let sb = sandbox::start(faulty(200)).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    write_products(&file, "F", 5000, |i| i as f64);
    let summary = dir.path().join("summary.json");
    let status = import(
        &sb,
        &file,
        &[
            "--rate=300",
            "--concurrency=16",
            "--timeout=1",
            // About one request in ten fails here: with the default 5
            // retries a row gives up (safely, as `failed`) about once in a
            // hundred runs; this test is about duplicates and lost rows.
            "--max-retries=8",
            "--results",
            results.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    )
    .await;
    let not_created: Vec<_> = read_results(&results)
        .unwrap()
        .into_iter()
        .filter(|r| r.status != RowStatus::Created)
        .collect();
    assert_eq!(status, ExitStatus::Success, "{not_created:?}");
    assert_one_product_per_row(&sb, &results, "F", 5000);
    let stats = sb.stats();
    assert!(
        stats.rate_limited > 0,
        "the sandbox's limit is below the client's: {stats:?}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["created"], 5000);
    assert!(json["retries"].as_u64().unwrap() > 0);
    assert!(json["rate_limited"].as_u64().unwrap() > 0);
    assert!(
        !results.with_extension("csv.sending").exists(),
        "journal removed after a complete run"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_sigkill_then_resumed_leaves_one_product_per_row() {
    let sb = sandbox::start(faulty(250)).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("products.results.csv");
    write_products(&file, "K", 2000, |i| i as f64);
    let flags = [
        "--rate=300",
        "--concurrency=16",
        "--timeout=1",
        "--results",
        results.to_str().unwrap(),
    ];
    let out = interrupt_after(
        binary(&sb, &file, &flags),
        &results,
        600,
        "-KILL",
        Duration::from_secs(30),
    )
    .await;
    assert!(out.status.code().is_none(), "killed by a signal");
    let partial = read_results(&results).unwrap();
    assert!(
        partial.len() >= 600 && partial.len() < 2000,
        "{} rows recorded before the kill",
        partial.len()
    );

    resume_to_the_end(&sb, &file, &flags, &results, "K", 2000).await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_exits_130_with_valid_results_and_resume_completes() {
    let sb = sandbox::start(SandboxConfig {
        latency: Duration::from_millis(20),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("products.results.csv");
    let summary = dir.path().join("summary.json");
    write_products(&file, "S", 600, |i| i as f64);
    let flags = [
        "--rate=100",
        "--results",
        results.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    let out = interrupt_after(
        binary(&sb, &file, &flags),
        &results,
        100,
        "-INT",
        Duration::from_secs(20),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    let partial = read_results(&results).unwrap();
    assert!(
        partial.len() >= 100 && partial.len() < 600,
        "{}",
        partial.len()
    );
    assert!(partial.iter().all(|r| r.status == RowStatus::Created));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["outcome"], "interrupted");
    assert_eq!(json["created"].as_u64().unwrap() as usize, partial.len());

    resume_to_the_end(&sb, &file, &flags, &results, "S", 600).await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_at_the_servers_limit_provokes_no_429() {
    let sb = sandbox::start(SandboxConfig {
        rate: Some(50),
        latency: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    write_products(&file, "P", 280, |i| i as f64);
    let status = import(
        &sb,
        &file,
        &[
            "--rate=50",
            "--concurrency=8",
            "--results",
            results.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let stats = sb.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    // Whole seconds in the middle of the run (the first and last are partial).
    let busy: Vec<u64> = stats
        .per_second
        .iter()
        .copied()
        .skip_while(|n| *n == 0)
        .collect();
    let middle = &busy[1..busy.len() - 1];
    let achieved = middle.iter().sum::<u64>() as f64 / middle.len() as f64;
    eprintln!(
        "pacing: {achieved:.2} requests/s over {} s: {:?}",
        middle.len(),
        stats.per_second
    );
    assert!(
        (achieved - 50.0).abs() <= 2.5,
        "achieved {achieved:.2}/s, want 50 ± 5%: {:?}",
        stats.per_second
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_mid_run_fails_no_row() {
    let sb = sandbox::start(SandboxConfig {
        token_ttl: Duration::from_secs(2),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    write_products(&file, "T", 400, |i| i as f64);
    let status = import(
        &sb,
        &file,
        &["--rate=80", "--results", results.to_str().unwrap()],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    assert_one_product_per_row(&sb, &results, "T", 400);
    let tokens = sb.stats().count("POST /oauth/token", 200);
    assert!(
        tokens >= 3,
        "a 5 s run with 2 s tokens refreshes them: {tokens}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_skips_existing_and_update_patches_only_changed_rows() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    let r = results.to_str().unwrap();
    write_products(&file, "R", 60, |i| i as f64);
    assert_eq!(
        import(&sb, &file, &["--rate=500", "--results", r]).await,
        ExitStatus::Success
    );
    let created = sb.stats().count("POST /v1/products", 201);
    assert_eq!(created, 60);

    assert_eq!(
        import(&sb, &file, &["--rate=500", "--results", r]).await,
        ExitStatus::Success
    );
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records),
        HashMap::from([(RowStatus::Skipped, 60)])
    );
    let ids: Vec<i64> = sb.products().iter().map(|p| p.id).collect();
    assert!(records
        .iter()
        .all(|r| r.id.is_some_and(|id| ids.contains(&id))));
    assert_eq!(
        sb.stats().count("POST /v1/products", 201),
        60,
        "nothing created"
    );

    // Change the price of every tenth row, then update.
    write_products(&file, "R", 60, |i| {
        if i % 10 == 3 {
            i as f64 + 0.5
        } else {
            i as f64
        }
    });
    let status = import(
        &sb,
        &file,
        &["--rate=500", "--existing=update", "--results", r],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records),
        HashMap::from([(RowStatus::Updated, 6), (RowStatus::Skipped, 54)])
    );
    assert_eq!(
        sb.stats().count("PATCH /v1/products/{id}", 200),
        6,
        "only changed rows are sent"
    );
    let p = sb
        .products()
        .into_iter()
        .find(|p| p.number.as_deref() == Some("R-13"))
        .unwrap();
    assert_eq!(p.sales_price, Some(13.5));
    assert_eq!(sb.products().len(), 60);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_by_name_unknown_names_and_created_once() {
    let sb = sandbox::start(SandboxConfig {
        latency: Duration::from_millis(5),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    let r = results.to_str().unwrap();
    let mut s = String::from("name,number,category,unit\n");
    for i in 0..40 {
        let category = ["shoes", "ACCESSORIES ", "Brand New", "brand new"][i % 4];
        writeln!(s, "Item {i},C-{i},{category},stk").unwrap();
    }
    std::fs::write(&file, &s).unwrap();

    let status = import(&sb, &file, &["--rate=500", "--results", r]).await;
    assert_eq!(status, ExitStatus::RowsFailed);
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records),
        HashMap::from([(RowStatus::Created, 20), (RowStatus::Invalid, 20)])
    );
    let invalid = records
        .iter()
        .find(|r| r.status == RowStatus::Invalid)
        .unwrap();
    assert!(
        invalid
            .error
            .as_deref()
            .unwrap()
            .contains("category \"Brand New\" was not found"),
        "{invalid:?}"
    );
    let shoes = sb
        .products()
        .into_iter()
        .find(|p| p.number.as_deref() == Some("C-0"))
        .unwrap();
    assert_eq!(shoes.category.unwrap().id, Some(2));
    assert_eq!(shoes.units.unwrap().id, Some(1));

    let before = sb.categories().len();
    let status = import(
        &sb,
        &file,
        &[
            "--rate=500",
            "--concurrency=16",
            "--create-categories",
            "--results",
            r,
        ],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    let records = read_results(&results).unwrap();
    assert_eq!(
        statuses(&records),
        HashMap::from([(RowStatus::Skipped, 20), (RowStatus::Created, 20)])
    );
    let categories = sb.categories();
    assert_eq!(categories.len(), before + 1, "created once: {categories:?}");
    assert_eq!(sb.stats().count("POST /v1/productcategories", 201), 1);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    write_products(&file, "D", 10, |i| i as f64);
    let status = import(
        &sb,
        &file,
        &["--dry-run", "--results", results.to_str().unwrap()],
    )
    .await;
    assert_eq!(status, ExitStatus::Success);
    // A dry run never writes the real run's results, also when given by flag.
    assert!(!results.exists());
    let records = read_results(&dir.path().join("results.dry-run.csv")).unwrap();
    assert_eq!(records.len(), 10);
    assert!(records.iter().all(
        |r| r.status == RowStatus::Valid && r.error.as_deref() == Some("dry run: would create")
    ));
    assert!(sb.products().is_empty());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_keeps_the_results_of_a_real_run() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "K", 3, |i| i as f64);
    let mut real = binary(&sb, &file, &["--quiet"]);
    real.current_dir(dir.path());
    assert_eq!(run_binary(real).await.status.code(), Some(0));
    let mut dry = binary(&sb, &file, &["--quiet", "--dry-run"]);
    dry.current_dir(dir.path());
    assert_eq!(run_binary(dry).await.status.code(), Some(0));
    let real_results = read_results(&dir.path().join("products.csv.results.csv")).unwrap();
    assert!(real_results.iter().all(|r| r.status == RowStatus::Created));
    let dry_results = read_results(&dir.path().join("products.csv.results.dry-run.csv")).unwrap();
    assert_eq!(dry_results.len(), 3);
    assert!(dry_results.iter().all(|r| r.status == RowStatus::Skipped));
    sb.shutdown().await;
}

/// Every place a secret could leak: stdout, stderr, the results file, the summary.
fn assert_no_secret(texts: &[&str], secrets: &[&str]) {
    for t in texts {
        for s in secrets {
            assert!(!t.contains(s), "secret {s:?} leaked in:\n{t}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_output_and_refused_credentials_exit_2() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    let results = dir.path().join("results.csv");
    let summary = dir.path().join("summary.json");
    write_products(&file, "X", 5, |i| i as f64);
    let flags = [
        "--results",
        results.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    let out = run_binary(binary(&sb, &file, &flags)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = sb.credentials().client_secret.clone();
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("created:   5"), "{stdout}");
    assert_no_secret(
        &[&stdout, &stderr, &read(&results), &read(&summary)],
        &[&secret],
    );

    // A wrong secret: exit 2 at once with a clear message, and still no secret printed.
    let mut cmd = binary(&sb, &file, &flags);
    cmd.env("TFSO_CLIENT_SECRET", "wrong-secret-123");
    let out = run_binary(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("credentials refused"), "{stderr}");
    assert_no_secret(
        &[&stderr, &String::from_utf8_lossy(&out.stdout)],
        &["wrong-secret-123", &secret],
    );
    let kept = read_results(&results).unwrap();
    assert_eq!(
        kept.len(),
        5,
        "a refused run leaves the last results file as it was"
    );

    // A ready token from the environment is used as it is; a bad one is refused.
    let mut cmd = binary(&sb, &file, &flags);
    cmd.env("TFSO_ACCESS_TOKEN", "not-a-valid-token-456");
    let out = run_binary(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert_no_secret(
        &[&String::from_utf8_lossy(&out.stderr)],
        &["not-a-valid-token-456"],
    );
    let c = sb.credentials();
    let token: product_import::api::types::TokenResponse = reqwest::Client::new()
        .post(sb.token_url())
        .json(&serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "login_organization": c.organization_id,
            "audience": sandbox::AUDIENCE,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut cmd = binary(
        &sb,
        &file,
        &["--existing=fail", "--results", results.to_str().unwrap()],
    );
    for var in [
        "TFSO_CLIENT_ID",
        "TFSO_CLIENT_SECRET",
        "TFSO_ORGANIZATION_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("TFSO_ACCESS_TOKEN", &token.access_token);
    let out = run_binary(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the products exist: every row fails\n{stdout}"
    );
    assert!(stdout.contains("failed:    5"), "{stdout}");
    assert_no_secret(
        &[
            &stdout,
            &String::from_utf8_lossy(&out.stderr),
            &read(&results),
        ],
        &[&token.access_token],
    );
    sb.shutdown().await;
}

#[test]
fn import_with_sandbox_flag_runs_the_sample() {
    let dir = tempdir();
    let results = dir.path().join("sample.results.csv");
    let out = Command::new(assert_cmd::cargo::cargo_bin("product-import"))
        .args([
            "import",
            "samples/products.csv",
            "--sandbox",
            "--rate=200",
            "--results",
        ])
        .arg(&results)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Import finished"), "{stdout}");
    let records = read_results(&results).unwrap();
    assert!(
        records.iter().any(|r| r.status == RowStatus::Created),
        "{records:?}"
    );
}

#[test]
fn bad_flags_and_plain_http_to_another_host_attempt_nothing() {
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    write_products(&file, "H", 2, |i| i as f64);
    let run = |extra: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin("product-import"))
            .arg("import")
            .arg(&file)
            .args(extra)
            .env("TFSO_ACCESS_TOKEN", "tok-789")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for (flags, message) in [
        (
            &["--base-url", "http://192.0.2.1/v1"][..],
            "only for loopback",
        ),
        (&["--rate", "0"], "--rate 0"),
        (&["--existing", "maybe"], "invalid value"),
    ] {
        let out = run(flags);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
        assert!(!stderr.contains("tok-789"));
    }
    assert!(
        !dir.path().join("products.csv.results.csv").exists(),
        "nothing written"
    );
}
