//! The importer run against a sandbox the test starts: in-process or as
//! the built binary, with the sandbox's URLs and demo credentials, and the
//! checks that count products on the server.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use product_import::cli::ImportArgs;
use product_import::commands::import::run_with_env;
use product_import::commands::ExitStatus;
use product_import::results::{read_results, RowRecord, RowStatus};
use product_import_sandbox::wire::Product;
use product_import_sandbox::{FaultSpec, SandboxConfig, SandboxHandle};

/// Writes a CSV of `n` products numbered `prefix-0..n` in category 1.
pub fn write_products(path: &Path, prefix: &str, n: usize, price: impl Fn(usize) -> f64) {
    let mut s = String::from("name,number,category.id,salesPrice\n");
    for i in 0..n {
        writeln!(s, "Product {i},{prefix}-{i},1,{:.2}", price(i)).unwrap();
    }
    std::fs::write(path, s).unwrap();
}

/// The environment pointing the importer at `sb` with its demo credentials.
pub fn sandbox_env(sb: &SandboxHandle) -> Vec<(String, String)> {
    let c = sb.credentials();
    vec![
        ("TFSO_CLIENT_ID".into(), c.client_id.clone()),
        ("TFSO_CLIENT_SECRET".into(), c.client_secret.clone()),
        ("TFSO_ORGANIZATION_ID".into(), c.organization_id.clone()),
    ]
}

pub fn url_args(sb: &SandboxHandle) -> Vec<String> {
    vec![
        "--base-url".into(),
        sb.base_url(),
        "--token-url".into(),
        sb.token_url(),
    ]
}

/// Runs `import` in-process against `sb` with extra flags.
pub async fn import(sb: &SandboxHandle, file: &Path, flags: &[&str]) -> ExitStatus {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ImportArgs,
    }
    let mut argv: Vec<String> = vec![
        "import".into(),
        file.display().to_string(),
        "--quiet".into(),
    ];
    argv.extend(url_args(sb));
    argv.extend(flags.iter().map(|s| s.to_string()));
    let args = Cli::try_parse_from(argv).expect("flags parse").args;
    let env = sandbox_env(sb);
    let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    run_with_env(args, &lookup).await.expect("import runs")
}

/// The built binary with the sandbox's URLs and credentials.
pub fn binary(sb: &SandboxHandle, file: &Path, flags: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("product-import"));
    cmd.arg("import").arg(file).args(url_args(sb)).args(flags);
    for var in [
        "TFSO_ACCESS_TOKEN",
        "TFSO_CLIENT_ID",
        "TFSO_CLIENT_SECRET",
        "TFSO_ORGANIZATION_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(sandbox_env(sb));
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs the binary to the end on a blocking thread (the sandbox keeps serving).
pub async fn run_binary(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("binary runs"))
        .await
        .unwrap()
}

/// Runs the binary again with `--resume`, expects it to complete, and checks
/// that the sandbox holds exactly one product per row.
pub async fn resume_to_the_end(
    sb: &SandboxHandle,
    file: &Path,
    flags: &[&str],
    results: &Path,
    prefix: &str,
    rows: usize,
) {
    let mut resume = flags.to_vec();
    resume.push("--resume");
    let out = run_binary(binary(sb, file, &resume)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_one_product_per_row(sb, results, prefix, rows);
}

/// Starts the binary, waits until its results file holds at least `rows`
/// finished rows (or `max_wait` passes), then sends it `signal`.
pub async fn interrupt_after(
    mut cmd: Command,
    results: &Path,
    rows: usize,
    signal: &str,
    max_wait: Duration,
) -> Output {
    let results = results.to_path_buf();
    let signal = signal.to_string();
    tokio::task::spawn_blocking(move || {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().expect("binary starts");
        let started = Instant::now();
        while started.elapsed() < max_wait {
            std::thread::sleep(Duration::from_millis(100));
            let done = read_results(&results).map(|r| r.len()).unwrap_or(0);
            if done >= rows {
                break;
            }
        }
        let status = Command::new("kill")
            .arg(&signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// Asserts the sandbox holds exactly one product per row of `prefix-0..n`
/// and that the results file says `created` with that product's id.
pub fn assert_one_product_per_row(sb: &SandboxHandle, results: &Path, prefix: &str, n: usize) {
    let products = sb.products();
    let mut by_number: HashMap<&str, Vec<&Product>> = HashMap::new();
    for p in &products {
        by_number
            .entry(p.number.as_deref().unwrap_or(""))
            .or_default()
            .push(p);
    }
    let duplicates: Vec<_> = by_number
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| *k)
        .collect();
    assert!(
        duplicates.is_empty(),
        "duplicates on the server: {duplicates:?}"
    );
    assert_eq!(products.len(), n, "one product per row");
    let records = read_results(results).unwrap();
    assert_eq!(records.len(), n, "one record per row");
    for r in &records {
        let number = &r.cells[1];
        assert!(number.starts_with(prefix), "{number}");
        let on_server = by_number
            .get(number)
            .unwrap_or_else(|| panic!("{number} missing on the server"));
        assert_eq!(r.status, RowStatus::Created, "{r:?}");
        assert_eq!(r.id, Some(on_server[0].id), "{r:?}");
    }
}

pub fn statuses(records: &[RowRecord]) -> HashMap<RowStatus, usize> {
    let mut m = HashMap::new();
    for r in records {
        *m.entry(r.status).or_default() += 1;
    }
    m
}

pub fn faulty(rate: u32) -> SandboxConfig {
    SandboxConfig {
        rate: Some(rate),
        latency: Duration::from_millis(2),
        jitter: Duration::from_millis(2),
        faults: FaultSpec::parse(
            "error500=0.03,error503=0.02,reset=0.02,ambiguous=0.03,slow=0.005",
        )
        .unwrap(),
        slow_delay: Duration::from_millis(2500),
        seed: 7,
        ..SandboxConfig::default()
    }
}

/// A finished command's stdout and stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file in `dir` that `keep` keeps, with its bytes, by name: for
/// "nothing was touched" checks.
pub fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && keep(p))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}
