//! Integration tests: nightly feeds. The feed is served by a tiny HTTP server
//! the test starts on 127.0.0.1 (written by hand, so that it can break off a
//! body or lie about its length), the products go to a sandbox started
//! in-process, and the built binary runs in between.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use product_import_sandbox::wire::ProductStatus;
use product_import_sandbox::{self as sandbox, SandboxConfig, SandboxHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::run::{binary, run_binary};
use crate::common::tempdir;

/// How the feed server answers one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reply {
    /// The whole body with its length (or 304 when the ETag matches).
    Full,
    /// A chunked body that stops half way: the connection is closed.
    BreakOff,
    /// A `Content-Length` larger than the body sent, then the connection closed.
    WrongLength,
    /// An error status (429, 503) with a `Retry-After`.
    Refuse(u16, RetryAfter),
}

/// The `Retry-After` of a [`Reply::Refuse`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum RetryAfter {
    /// In seconds.
    Secs(u64),
    /// As an HTTP date this many seconds after the answer.
    DateIn(u64),
}

#[derive(Default)]
struct FeedState {
    body: Vec<u8>,
    script: VecDeque<Reply>,
    /// Once the script is used up: `Full`, unless set.
    then: Option<Reply>,
    requests: usize,
    /// When each request arrived.
    arrivals: Vec<Instant>,
    not_modified: usize,
    authorization: Vec<Option<String>>,
}

/// A feed on 127.0.0.1 serving one CSV file at any path.
#[derive(Clone)]
struct FeedServer {
    addr: SocketAddr,
    state: Arc<Mutex<FeedState>>,
}

impl FeedServer {
    async fn start(body: String) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(FeedState {
            body: body.into_bytes(),
            ..FeedState::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone()));
            }
        });
        FeedServer { addr, state }
    }

    fn url(&self, name: &str) -> String {
        format!("http://{}/exports/{name}", self.addr)
    }

    fn set_body(&self, body: String) {
        self.state.lock().unwrap().body = body.into_bytes();
    }

    fn script(&self, replies: &[Reply], then: Option<Reply>) {
        let mut s = self.state.lock().unwrap();
        s.script = replies.iter().copied().collect();
        s.then = then;
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// The time between each request and the one before it.
    fn gaps(&self) -> Vec<Duration> {
        let arrivals = self.state.lock().unwrap().arrivals.clone();
        arrivals.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn not_modified(&self) -> usize {
        self.state.lock().unwrap().not_modified
    }
}

fn etag_of(body: &[u8]) -> String {
    let sum = body
        .iter()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(*b)));
    format!("\"{:x}-{sum:x}\"", body.len())
}

async fn serve(mut socket: tokio::net::TcpStream, state: Arc<Mutex<FeedState>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}: "))
                .map(|v| v.trim().to_string())
        })
    };
    let (reply, body) = {
        let mut s = state.lock().unwrap();
        s.requests += 1;
        s.arrivals.push(Instant::now());
        s.authorization.push(header("authorization"));
        let reply = s.script.pop_front().or(s.then).unwrap_or(Reply::Full);
        (reply, s.body.clone())
    };
    let etag = etag_of(&body);
    let response: Vec<u8> = match reply {
        Reply::Full if header("if-none-match").as_deref() == Some(etag.as_str()) => {
            state.lock().unwrap().not_modified += 1;
            format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Reply::Full => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        }
        Reply::BreakOff => {
            let half = &body[..body.len() / 2];
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
            r.extend_from_slice(format!("{:x}\r\n", half.len()).as_bytes());
            r.extend_from_slice(half);
            r.extend_from_slice(b"\r\n");
            r
        }
        Reply::WrongLength => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len() + 500
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        }
        Reply::Refuse(status, after) => {
            let value = match after {
                RetryAfter::Secs(n) => n.to_string(),
                RetryAfter::DateIn(n) => {
                    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(n))
                }
            };
            format!(
                "HTTP/1.1 {status} Refused\r\nRetry-After: {value}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .into_bytes()
        }
    };
    let _ = socket.write_all(&response).await;
    let _ = socket.flush().await;
    let _ = socket.shutdown().await;
}

/// A CSV of products `N-i` for `i` in `range`, in category 1.
fn feed(range: impl Iterator<Item = usize>) -> String {
    let mut s = String::from("name,number,category.id,salesPrice\n");
    for i in range {
        writeln!(s, "Product {i},N-{i},1,{i}.50").unwrap();
    }
    s
}

/// Runs the binary on `url` against `sb`, results in `dir`.
async fn run(sb: &SandboxHandle, url: &str, dir: &Path, flags: &[&str]) -> Output {
    let results = results(dir);
    let mut all = vec![
        "--results",
        results.to_str().unwrap(),
        "--max-retries",
        "2",
        "--rate",
        "200",
    ];
    all.extend_from_slice(flags);
    let mut cmd = binary(sb, Path::new(url), &all);
    for var in ["FEED_AUTHORIZATION", "FEED_USER", "FEED_PASSWORD"] {
        cmd.env_remove(var);
    }
    run_binary(cmd).await
}

fn results(dir: &Path) -> PathBuf {
    dir.join("feed.results.csv")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn writes(sb: &SandboxHandle) -> u64 {
    let stats = sb.stats();
    stats
        .arrived
        .iter()
        .filter(|(k, _)| k.starts_with("POST /v1/products") || k.starts_with("PATCH "))
        .map(|(_, n)| n)
        .sum()
}

fn inactive_numbers(sb: &SandboxHandle) -> Vec<String> {
    let mut v: Vec<String> = sb
        .products()
        .into_iter()
        .filter(|p| p.status == Some(ProductStatus::Inactive))
        .filter_map(|p| p.number)
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_is_downloaded_and_imported() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..30)).await;
    let dir = tempdir();
    let out = run(&sb, &server.url("products.csv?day=1"), dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), 30);
    assert_eq!(server.requests(), 1);
    let kept = dir.path().join("feed.results.csv.feed.csv");
    assert_eq!(std::fs::read_to_string(kept).unwrap(), feed(0..30));
    assert!(dir.path().join("feed.results.csv.job.sqlite").exists());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_format_comes_from_the_content_type_and_credentials_stay_secret() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..3)).await;
    let dir = tempdir();
    let results = results(dir.path());
    let mut cmd = binary(
        &sb,
        Path::new(&server.url("export")),
        &["--results", results.to_str().unwrap()],
    );
    cmd.env("FEED_AUTHORIZATION", "Bearer feed-s3cr3t");
    let out = run_binary(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), 3);
    assert!(!text(&out).contains("feed-s3cr3t"));
    let sent = server.state.lock().unwrap().authorization.clone();
    assert_eq!(sent, [Some("bearer feed-s3cr3t".to_string())]);
    assert!(dir.path().join("feed.results.csv.feed.csv").exists());

    // Basic auth from FEED_USER and FEED_PASSWORD.
    let mut cmd = binary(
        &sb,
        Path::new(&server.url("export")),
        &["--results", results.to_str().unwrap()],
    );
    cmd.env("FEED_USER", "importer")
        .env("FEED_PASSWORD", "pa55word")
        .env_remove("FEED_AUTHORIZATION");
    let out = run_binary(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("pa55word"));
    let sent = server.state.lock().unwrap().authorization.clone();
    // base64("importer:pa55word")
    assert_eq!(sent[1].as_deref(), Some("basic aw1wb3j0zxi6cge1nxdvcmq="));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_breaks_off_or_lies_about_its_length_is_retried() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..40)).await;
    server.script(&[Reply::BreakOff, Reply::WrongLength], None);
    let dir = tempdir();
    let out = run(&sb, &server.url("products.csv"), dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.requests(), 3);
    assert_eq!(sb.product_count(), 40);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("trying again"), "{stderr}");
    assert!(stderr.contains("broke off after"), "{stderr}");
    assert!(stderr.contains("before message length reached"), "{stderr}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_never_completes_stops_with_2_and_sends_nothing() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..40)).await;
    for reply in [Reply::BreakOff, Reply::WrongLength] {
        server.script(&[], Some(reply));
        let before = server.requests();
        let dir = tempdir();
        let out = run(&sb, &server.url("products.csv"), dir.path(), &[]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert_eq!(server.requests() - before, 3, "one try and 2 retries");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot download the feed") && stderr.contains("after 3 attempts"),
            "{stderr}"
        );
        assert_eq!(sb.stats().total(), 0, "nothing sent to the API");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "no file left behind: {left:?}");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_feed_sends_nothing_the_next_night() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..25)).await;
    let dir = tempdir();
    let url = server.url("products.csv");
    let out = run(&sb, &url, dir.path(), &["--if-changed"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), 25);
    let after_first = sb.stats().total();

    // The next night: same content. The conditional GET gets a 304.
    let summary = dir.path().join("summary.json");
    let out = run(
        &sb,
        &url,
        dir.path(),
        &["--if-changed", "--summary-json", summary.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unchanged"),
        "{}",
        text(&out)
    );
    assert_eq!(sb.stats().total(), after_first, "no request to the API");
    assert_eq!(server.not_modified(), 1);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["outcome"], "unchanged");

    // A server without ETags: the content hash decides.
    std::fs::remove_file(dir.path().join("feed.results.csv.feed.csv")).unwrap();
    let out = run(&sb, &url, dir.path(), &["--if-changed"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unchanged"),
        "{}",
        text(&out)
    );
    assert_eq!(sb.stats().total(), after_first, "no request to the API");

    // Changed content is imported.
    server.set_body(feed(0..27));
    let out = run(&sb, &url, dir.path(), &["--if-changed"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), 27);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_feed_is_stopped_by_min_rows_and_max_invalid() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..4)).await;
    let dir = tempdir();
    let url = server.url("products.csv");
    let out = run(&sb, &url, dir.path(), &["--min-rows", "100"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("4 valid rows") && stderr.contains("at least 100"),
        "{stderr}"
    );
    assert_eq!(sb.stats().total(), 0, "nothing sent");
    assert!(!results(dir.path()).exists(), "no results written");

    let mut body = feed(0..8);
    body.push_str("No category,N-x,,1\nBad price,N-y,1,cheap\n");
    server.set_body(body);
    let out = run(&sb, &url, dir.path(), &["--max-invalid", "10%"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 invalid rows of 10") && stderr.contains("at most 1"),
        "{stderr}"
    );
    assert_eq!(sb.stats().total(), 0, "nothing sent");

    // The same guards from the config file; within them the run goes on.
    let config = dir.path().join("job.toml");
    std::fs::write(&config, "min_rows = 5\nmax_invalid = 2\n").unwrap();
    let out = run(
        &sb,
        &url,
        dir.path(),
        &["--config", config.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(sb.product_count(), 8);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_feed_cannot_retire_the_catalogue() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..30)).await;
    let dir = tempdir();
    let url = server.url("products.csv");
    let out = run(&sb, &url, dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let writes_before = writes(&sb);

    server.set_body(feed(0..6));
    let out = run(&sb, &url, dir.path(), &["--missing", "deactivate"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("24 of the 30 active products") && stderr.contains("at most 3"),
        "{stderr}"
    );
    assert_eq!(writes(&sb), writes_before, "nothing written");
    assert!(inactive_numbers(&sb).is_empty());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_products_are_reported_then_deactivated_then_reactivated() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..20)).await;
    let dir = tempdir();
    let url = server.url("products.csv");
    let missing_file = dir.path().join("feed.results.csv.missing.csv");
    let out = run(&sb, &url, dir.path(), &["--missing", "report"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.product_count(), 20);

    // Two products leave the feed: reported only.
    server.set_body(feed(2..20));
    let out = run(&sb, &url, dir.path(), &["--missing", "report"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("missing:   2 of 20"), "{stdout}");
    let listed = std::fs::read_to_string(&missing_file).unwrap();
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains(",N-0,Product 0,report,missing"), "{listed}");
    assert!(inactive_numbers(&sb).is_empty());

    // A dry run says what would happen and changes nothing.
    let out = run(
        &sb,
        &url,
        dir.path(),
        &["--missing", "deactivate", "--dry-run"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("would deactivate 2"));
    assert!(inactive_numbers(&sb).is_empty());

    // Deactivated (never deleted), with the result of each in the file.
    let out = run(&sb, &url, dir.path(), &["--missing", "deactivate"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(inactive_numbers(&sb), ["N-0", "N-1"]);
    assert_eq!(sb.product_count(), 20);
    let listed = std::fs::read_to_string(&missing_file).unwrap();
    assert!(
        listed.contains(",N-1,Product 1,deactivate,deactivated,200,"),
        "{listed}"
    );

    // Back in the feed: set active again by --existing update, although
    // the file has no status column.
    server.set_body(feed(0..20));
    let out = run(
        &sb,
        &url,
        dir.path(),
        &["--missing", "deactivate", "--existing", "update"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(inactive_numbers(&sb).is_empty(), "{}", text(&out));
    assert_eq!(sb.product_count(), 20);
    let listed = std::fs::read_to_string(&missing_file).unwrap();
    assert!(
        listed.contains(",N-0,Product 0,reactivate,reactivated,200,"),
        "{listed}"
    );

    // Also without --missing: --existing update alone brings them back.
    server.set_body(feed(1..20));
    let out = run(&sb, &url, dir.path(), &["--missing", "deactivate"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(inactive_numbers(&sb), ["N-0"]);
    server.set_body(feed(0..20));
    let out = run(&sb, &url, dir.path(), &["--existing", "update"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(inactive_numbers(&sb).is_empty(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("active again"));

    // An explicit scope: products the job never created, by number prefix
    // and by category.
    let other = dir.path().join("other.csv");
    std::fs::write(
        &other,
        "name,number,category.id\nForeign,X-1,2\nOther,Y-1,3\nUntouched,Z-1,4\n",
    )
    .unwrap();
    let other_results = dir.path().join("other.results.csv");
    let out = run_binary(binary(
        &sb,
        &other,
        &["--results", other_results.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(
        &sb,
        &url,
        dir.path(),
        &[
            "--missing",
            "deactivate",
            "--scope-number-prefix",
            "X-",
            "--scope-category",
            "3",
            "--max-missing",
            "2",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(inactive_numbers(&sb), ["X-1", "Y-1"]);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_parse_and_carry_the_summary() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut body = feed(0..12);
    body.push_str("Bad price,N-y,1,cheap\n");
    let server = FeedServer::start(body).await;
    server.script(&[Reply::WrongLength], None);
    let dir = tempdir();
    let out = run(
        &sb,
        &server.url("products.csv"),
        dir.path(),
        &["--log-format", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for name in ["start", "warning", "download", "row_failed", "summary"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for e in &events {
        assert!(e["ts"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    let failed = events.iter().find(|e| e["event"] == "row_failed").unwrap();
    assert_eq!(failed["row"], 14);
    assert_eq!(failed["status"], "invalid");
    let summary = events.iter().find(|e| e["event"] == "summary").unwrap();
    assert_eq!(summary["created"], 12);
    assert_eq!(summary["invalid"], 1);
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["outcome"], "completed");

    // A run that stops before anything is sent logs its error as JSON too.
    let out = run(
        &sb,
        &server.url("products.csv"),
        dir.path(),
        &["--log-format", "json", "--min-rows", "50"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "error");
    assert_eq!(last["level"], "error");
    assert!(
        stderr.lines().any(|l| l.contains("\"event\":\"guard\"")),
        "{stderr}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_reads_the_kept_download_not_a_changed_feed() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..10)).await;
    let dir = tempdir();
    let url = server.url("products.csv");
    let out = run(&sb, &url, dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The feed changes; a resume goes on with the content its results belong to.
    server.set_body(feed(0..15));
    let out = run(&sb, &url, dir.path(), &["--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.requests(), 1, "no second download");
    assert_eq!(sb.product_count(), 10);

    // Without the kept file there is nothing to resume from.
    std::fs::remove_file(dir.path().join("feed.results.csv.feed.csv")).unwrap();
    let out = run(&sb, &url, dir.path(), &["--resume"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is gone"));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_over_the_size_cap_is_refused_at_once() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..40_000)).await;
    let dir = tempdir();
    let out = run(
        &sb,
        &server.url("products.csv"),
        dir.path(),
        &["--max-download-mb", "1"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-download-mb"));
    assert_eq!(server.requests(), 1, "not retried");
    assert_eq!(sb.stats().total(), 0);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_changed_works_for_a_local_file_and_notices_a_new_mapping() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempdir();
    let file = dir.path().join("products.csv");
    std::fs::write(&file, feed(0..5)).unwrap();
    let results = results(dir.path());
    let flags = ["--results", results.to_str().unwrap(), "--if-changed"];
    let out = run_binary(binary(&sb, &file, &flags)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after_first = sb.stats().total();
    let out = run_binary(binary(&sb, &file, &flags)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    assert_eq!(sb.stats().total(), after_first);

    // Same content, another mapping: not the same input.
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, "ignore = [\"salesPrice\"]\n").unwrap();
    let mut with_mapping = flags.to_vec();
    with_mapping.extend(["--mapping", mapping.to_str().unwrap()]);
    let out = run_binary(binary(&sb, &file, &with_mapping)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    assert!(sb.stats().total() > after_first);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_waits_out_retry_after_in_seconds_or_as_a_date() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..5)).await;
    server.script(
        &[
            Reply::Refuse(503, RetryAfter::Secs(1)),
            Reply::Refuse(429, RetryAfter::DateIn(2)),
        ],
        None,
    );
    let dir = tempdir();
    let out = run(&sb, &server.url("products.csv"), dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.requests(), 3);
    assert_eq!(sb.product_count(), 5);
    // Without Retry-After the first retries come within 0.2 and 0.4 s. An
    // HTTP date has whole seconds, so "in 2 s" means more than 1 s. Upper
    // bounds are loose: a busy machine may be slow.
    let gaps = server.gaps();
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(900) && *gap < Duration::from_secs(30),
            "{gaps:?}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 503") && stderr.contains("as the server asked (Retry-After)"),
        "{stderr}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_cap_fails_at_once_and_names_the_wait() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..5)).await;
    server.script(&[], Some(Reply::Refuse(503, RetryAfter::Secs(7200))));
    let dir = tempdir();
    let url = server.url("products.csv");
    // Secrets in the user info and in the query (a token, as export links have).
    let with_secret =
        url.replace("http://", "http://importer:feed-s3cr3t@") + "?format=csv&token=q-s3cr3t";
    let started = Instant::now();
    let out = run(&sb, &with_secret, dir.path(), &[]).await;
    assert!(started.elapsed() < Duration::from_secs(30), "not slept");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(server.requests(), 1, "not retried");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot download the feed {url}?format=csv&token=***"
        )) && stderr.contains("HTTP 503")
            && stderr.contains("7200 s")
            && stderr.contains("60 s"),
        "{stderr}"
    );
    assert!(!text(&out).contains("s3cr3t"), "{}", text(&out));
    assert_eq!(sb.stats().total(), 0, "nothing sent to the API");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no file left behind: {left:?}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_stopped_by_a_guard_leaves_the_kept_copy_and_the_store_as_they_were() {
    let sb = sandbox::start(SandboxConfig::default()).await.unwrap();
    let server = FeedServer::start(feed(0..60)).await;
    let dir = tempdir();
    let url = server.url("products.csv");
    let out = run(&sb, &url, dir.path(), &["--min-rows", "50"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let files = |dir: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = files(dir.path());
    // The feed shrinks to three rows one night: the guard stops the run.
    server.set_body(feed(0..3));
    let out = run(&sb, &url, dir.path(), &["--min-rows", "50"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(files(dir.path()), before, "every file as it was");
    sb.shutdown().await;
}
