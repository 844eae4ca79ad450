//! Fetching an input from a URL: one GET (conditional when the job knows the
//! feed's `ETag` or `Last-Modified`), streamed to a file beside the results
//! while its SHA-256 is computed, capped in size, checked against its
//! `Content-Length`, and retried with backoff when the server or the network
//! fails (waiting out a `Retry-After` on 429 and 503, up to
//! [`MAX_RETRY_AFTER`]), by the same retry policy as the API's requests
//! ([`RetryPolicy`], made for a feed by [`feed_retry`]). The file keeps the
//! extension of the format it holds (from the URL's path, else the
//! `Content-Type`), so it is then read as a local file would be.
//!
//! A redirect is followed only to where the URL given could have pointed:
//! `https://`, or plain `http://` on a loopback address and only from
//! `http://` (never a downgrade from `https://`); at most
//! [`MAX_REDIRECTS`] of them. The whole download, retries included, has a
//! deadline (the policy's [`RetryPolicy::deadline`], [`DEFAULT_DEADLINE`]):
//! a feed that trickles in a byte now and then, each within the timeout,
//! still ends with an error.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{
    HeaderMap, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED,
};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use url::Url;

use crate::client::auth::Secret;
use crate::client::connect::shown_url;
use crate::client::http::{chain, retry_after};
use crate::client::ErrorClass;
use crate::pipeline::retry::{Attempts, NextTry, RetryPolicy};

/// Default `--max-download-mb`.
pub const DEFAULT_MAX_DOWNLOAD_MB: u64 = 512;

/// How long a whole download may take, retries and waits included, by default.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The most redirects a download follows.
pub const MAX_REDIRECTS: usize = 10;

/// The longest `Retry-After` the download waits out (the API client's pacer
/// caps its pauses at the same); a server asking for more fails the
/// download at once instead of holding the nightly job for hours.
pub use crate::client::pacing::MAX_RETRY_AFTER;

/// Where a feed is and how to authenticate to it. Its `Debug` shows the
/// URL without user info.
#[derive(Clone)]
pub struct FeedSource {
    /// The feed's URL (https, or http on a loopback address).
    pub url: Url,
    /// Credentials, from the environment.
    pub auth: Option<FeedAuth>,
}

impl std::fmt::Debug for FeedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedSource")
            .field("url", &self.shown())
            .field("auth", &self.auth)
            .finish()
    }
}

impl FeedSource {
    /// The URL as it may be shown: without user name or password, secret-looking
    /// query values starred.
    pub fn shown(&self) -> String {
        shown_url(&self.url).to_string()
    }
}

/// Credentials for a feed; they print as stars.
#[derive(Debug, Clone)]
pub enum FeedAuth {
    /// The whole `Authorization` header value (`Bearer …`, `Basic …`).
    Header(Secret),
    /// HTTP basic authentication.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
}

impl FeedAuth {
    /// Reads feed credentials from the environment: the variable named by
    /// `named` (the config's `feed_auth_env`), else `FEED_AUTHORIZATION`, else
    /// `FEED_USER` and `FEED_PASSWORD`. A named variable that is unset is an error.
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        named: Option<&str>,
    ) -> Result<Option<FeedAuth>, String> {
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(var) = named {
            return match get(var) {
                Some(v) => Ok(Some(FeedAuth::Header(Secret::new(v)))),
                None => Err(format!(
                    "feed_auth_env names the environment variable {var}, which is not set"
                )),
            };
        }
        if let Some(v) = get("FEED_AUTHORIZATION") {
            return Ok(Some(FeedAuth::Header(Secret::new(v))));
        }
        match (get("FEED_USER"), env("FEED_PASSWORD")) {
            (Some(user), Some(password)) => Ok(Some(FeedAuth::Basic {
                user,
                password: Secret::new(password),
            })),
            (Some(_), None) => Err("FEED_USER is set but FEED_PASSWORD is not".into()),
            _ => Ok(None),
        }
    }
}

/// How to download.
#[derive(Debug, Clone)]
pub struct DownloadSettings {
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Connect timeout, and the longest pause between two pieces of the body.
    pub timeout: Duration,
    /// Retries, backoff, the longest `Retry-After` waited out and the
    /// deadline of the whole download ([`feed_retry`]).
    pub retry: RetryPolicy,
    /// Show a progress bar (on a terminal only).
    pub show_progress: bool,
}

/// The retry policy of a download with `max_retries` (`--max-retries`): the
/// API's, waiting out no `Retry-After` over [`MAX_RETRY_AFTER`], the whole
/// download within [`DEFAULT_DEADLINE`].
pub fn feed_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy::new(max_retries)
        .with_longest_retry_after(MAX_RETRY_AFTER)
        .with_deadline(DEFAULT_DEADLINE)
}

/// What the job remembers of the feed, to ask whether it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` last seen.
    pub etag: Option<String>,
    /// The `Last-Modified` last seen.
    pub last_modified: Option<String>,
}

/// What a download gave.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the server says the feed has not changed.
    NotModified,
    /// The feed, on disk.
    File(Downloaded),
}

/// A feed on disk.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The file (`<stem>.<format>`).
    pub path: PathBuf,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// What to send next time to ask whether it changed.
    pub validators: Validators,
    /// Attempts it took.
    pub attempts: u32,
}

/// Why a feed could not be had; the run stops before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Failed for good, or after every retry.
    #[error("cannot download the feed {url}: {message}")]
    Failed {
        /// The URL without user info.
        url: String,
        /// What went wrong (the last attempt's error).
        message: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// One attempt's failure, whether another attempt may help, and how long
/// the server asked to wait before it (`Retry-After`).
struct Attempt {
    message: String,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Attempt {
    /// The class of the failure, as the retry policy counts it: waiting as
    /// asked, trying again, or not.
    fn class(&self) -> ErrorClass {
        match (self.retry, self.retry_after) {
            (false, _) => ErrorClass::Permanent,
            (true, Some(asked)) => ErrorClass::RateLimited(Some(asked)),
            (true, None) => ErrorClass::Transient,
        }
    }
    fn again(message: impl Into<String>) -> Attempt {
        Attempt {
            message: message.into(),
            retry: true,
            retry_after: None,
        }
    }
    fn stop(message: impl Into<String>) -> Attempt {
        Attempt {
            message: message.into(),
            retry: false,
            retry_after: None,
        }
    }
}

/// Downloads `source` to `stem` plus the format's extension (a `.part`
/// file first, renamed when complete), asking with `known` whether it
/// changed. A failed download leaves no file behind.
pub async fn download(
    source: &FeedSource,
    stem: &Path,
    settings: &DownloadSettings,
    known: Option<&Validators>,
) -> Result<Fetched, DownloadError> {
    if let Some(password) = source.url.password() {
        crate::secrets::remember(password);
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("product-import/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.timeout.min(Duration::from_secs(30)))
        .read_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let from = attempt.previous().last().cloned();
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match from.map(|from| redirect_refused(&from, attempt.url())) {
                Some(Some(why)) => attempt.error(why),
                _ => attempt.follow(),
            }
        }))
        .build()
        .map_err(|e| DownloadError::Failed {
            url: source.shown(),
            message: format!("cannot set up the HTTP client: {e}"),
            attempts: 0,
        })?;
    let part = with_suffix(stem, ".part");
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let all = download_attempts(&http, source, stem, &part, settings, known, &attempts);
    let Some(deadline) = settings.retry.deadline else {
        return all.await;
    };
    tokio::time::timeout(deadline, all)
        .await
        .unwrap_or_else(|_| {
            let _ = std::fs::remove_file(&part);
            Err(DownloadError::Failed {
                url: source.shown(),
                message: format!(
                    "it did not come whole within {} s (the download's deadline)",
                    deadline.as_secs()
                ),
                attempts: attempts.load(std::sync::atomic::Ordering::Relaxed),
            })
        })
}

/// Why a redirect from `from` to `to` is not followed, if it is not: the
/// same rule as for the URL given (`https://`, or `http://` on a loopback
/// address), and never from `https://` down to `http://`.
fn redirect_refused(from: &Url, to: &Url) -> Option<String> {
    let shown = shown_url(to);
    match to.scheme() {
        "https" => None,
        "http" if from.scheme() == "https" => Some(format!(
            "it redirects from https:// down to plain http:// ({shown}); not followed"
        )),
        "http" if is_loopback(to) => None,
        "http" => Some(format!(
            "it redirects to plain http:// on an address that is not loopback ({shown}); not followed"
        )),
        _ => Some(format!("it redirects to {shown}, not an https:// URL; not followed")),
    }
}

/// Whether `url`'s host is a loopback address (127.0.0.1, ::1, localhost).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The attempts of [`download`], counted in `attempts`.
async fn download_attempts(
    http: &reqwest::Client,
    source: &FeedSource,
    stem: &Path,
    part: &Path,
    settings: &DownloadSettings,
    known: Option<&Validators>,
    attempts_made: &std::sync::atomic::AtomicU32,
) -> Result<Fetched, DownloadError> {
    let mut attempts = 0u32;
    // Failures, and answers that asked to wait (429 or 503 with
    // `Retry-After`), each against its own budget, as for the API.
    let mut tries = Attempts::default();
    loop {
        attempts += 1;
        attempts_made.store(attempts, std::sync::atomic::Ordering::Relaxed);
        match attempt(http, source, stem, part, settings, known).await {
            Ok(Fetched::File(mut d)) => {
                d.attempts = attempts;
                return Ok(Fetched::File(d));
            }
            Ok(Fetched::NotModified) => return Ok(Fetched::NotModified),
            Err(e) => {
                let _ = std::fs::remove_file(part);
                let failed = |message| DownloadError::Failed {
                    url: source.shown(),
                    message,
                    attempts,
                };
                let wait = match retry_wait(&e, &mut tries, &settings.retry) {
                    Ok(Some(wait)) => wait,
                    Ok(None) if attempts > 1 => {
                        return Err(failed(format!("{} (after {attempts} attempts)", e.message)))
                    }
                    Ok(None) => return Err(failed(e.message)),
                    Err(message) => return Err(failed(message)),
                };
                crate::log::warn(&format!(
                    "downloading the feed failed ({}); trying again in {:.1} s{}",
                    e.message,
                    wait.as_secs_f64(),
                    if e.retry_after.is_some() {
                        ", as the server asked (Retry-After)"
                    } else {
                        ""
                    }
                ));
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The wait before another attempt after one failed with `e`, as the
/// policy says for the attempts counted in `tries`: the server's
/// `Retry-After` when it gave one, else backoff; `None` when no other
/// attempt may help or they are spent. A `Retry-After` over the policy's
/// longest ([`MAX_RETRY_AFTER`]) is an error: its message says how long the
/// server asked to wait.
fn retry_wait(
    e: &Attempt,
    tries: &mut Attempts,
    policy: &RetryPolicy,
) -> Result<Option<Duration>, String> {
    match tries.next(policy, e.class()) {
        NextTry::After(wait) => Ok(Some(wait)),
        NextTry::Spent => Ok(None),
        NextTry::AskedTooLong(asked) => Err(format!(
            "{} and asked to wait {} s before trying again (Retry-After), \
             longer than the {} s a download waits at most",
            e.message,
            asked.as_secs(),
            policy.longest_retry_after.unwrap_or_default().as_secs()
        )),
    }
}

/// One attempt: a GET of the feed whose body is streamed to `part`, then
/// moved to `stem` plus the format's extension once it came whole.
async fn attempt(
    http: &reqwest::Client,
    source: &FeedSource,
    stem: &Path,
    part: &Path,
    settings: &DownloadSettings,
    known: Option<&Validators>,
) -> Result<Fetched, Attempt> {
    let response = request(http, source, known).send().await.map_err(|e| {
        if e.is_redirect() {
            // The same redirect again would be refused again.
            return Attempt::stop(chain(&e));
        }
        Attempt::again(if e.is_timeout() {
            "no answer within the timeout".to_string()
        } else {
            chain(&e)
        })
    })?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED && known.is_some() {
        return Ok(Fetched::NotModified);
    }
    let headers = response.headers().clone();
    accepted(status, &headers)?;
    let declared = declared_size(&headers, settings.max_bytes)?;
    let ext = feed_format(&source.url, &headers)?;
    let (size, sha256) = save_body(response, part, settings, declared).await?;
    let path = keep(stem, part, ext)?;
    Ok(Fetched::File(Downloaded {
        path,
        sha256,
        size,
        validators: Validators {
            etag: header(&headers, ETAG),
            last_modified: header(&headers, LAST_MODIFIED),
        },
        attempts: 0,
    }))
}

/// The GET of the feed: to its URL without user info, authenticated with
/// the credentials from the environment (else the URL's user info, sent as
/// basic auth), and conditional on the validators `known`.
fn request(
    http: &reqwest::Client,
    source: &FeedSource,
    known: Option<&Validators>,
) -> reqwest::RequestBuilder {
    let mut url = source.url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let mut request = http.get(url);
    match &source.auth {
        Some(FeedAuth::Header(value)) => request = request.header(AUTHORIZATION, value.expose()),
        Some(FeedAuth::Basic { user, password }) => {
            request = request.basic_auth(user, Some(password.expose()))
        }
        None => {
            // User info in the URL itself is sent as basic auth.
            if !source.url.username().is_empty() {
                request = request.basic_auth(source.url.username(), source.url.password());
            }
        }
    }
    if let Some(known) = known {
        if let Some(etag) = &known.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &known.last_modified {
            request = request.header(IF_MODIFIED_SINCE, lm);
        }
    }
    request
}

/// Refuses an answer that is not a success; another attempt may help after
/// a server error, 429 or 408, and after a 429 or 503 no sooner than its
/// `Retry-After` (seconds or an HTTP date).
fn accepted(status: StatusCode, headers: &HeaderMap) -> Result<(), Attempt> {
    if status.is_success() {
        return Ok(());
    }
    let retry = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    let hint = match status.as_u16() {
        401 | 403 => " (check FEED_AUTHORIZATION, FEED_USER/FEED_PASSWORD or feed_auth_env)",
        _ => "",
    };
    let asks_to_wait =
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
    Err(Attempt {
        message: format!("the server answered HTTP {}{hint}", status.as_u16()),
        retry,
        retry_after: asks_to_wait.then(|| retry_after(headers)).flatten(),
    })
}

/// The size the `Content-Length` announces, refused when it is over
/// `max_bytes`.
fn declared_size(headers: &HeaderMap, max_bytes: u64) -> Result<Option<u64>, Attempt> {
    let declared = header(headers, CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > max_bytes) {
        return Err(Attempt::stop(format!(
            "it is {n} bytes, more than the {} MB allowed (--max-download-mb)",
            max_bytes / 1_000_000
        )));
    }
    Ok(declared)
}

/// The feed's format from the URL or the `Content-Type` ([`format_of`]);
/// neither telling it stops the download.
fn feed_format(url: &Url, headers: &HeaderMap) -> Result<&'static str, Attempt> {
    format_of(url, header(headers, CONTENT_TYPE).as_deref()).ok_or_else(|| {
        Attempt::stop(format!(
            "cannot tell its format from the URL or the Content-Type ({}); \
             use a URL ending in .csv, .xlsx, .xls, .xlsb, .xlsm or .ods",
            header(headers, CONTENT_TYPE).unwrap_or_else(|| "none".into())
        ))
    })
}

/// Streams the body to `part` while hashing it, within `--max-download-mb`
/// and, when one was announced, the `Content-Length`. Returns its size and
/// SHA-256 (hex).
async fn save_body(
    mut response: reqwest::Response,
    part: &Path,
    settings: &DownloadSettings,
    declared: Option<u64>,
) -> Result<(u64, String), Attempt> {
    let bar = progress_bar(settings.show_progress, declared);
    let mut file = std::fs::File::create(part).map_err(|e| unwritable(part, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                bar.abandon();
                return Err(broke_off(&e, size, declared));
            }
        };
        size += chunk.len() as u64;
        if size > settings.max_bytes {
            bar.abandon();
            return Err(Attempt::stop(format!(
                "it is more than the {} MB allowed (--max-download-mb)",
                settings.max_bytes / 1_000_000
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(|e| unwritable(part, e))?;
        bar.set_position(size);
    }
    bar.finish_and_clear();
    if let Some(n) = declared.filter(|n| *n != size) {
        return Err(Attempt::again(format!(
            "it came with {size} bytes where Content-Length announced {n}"
        )));
    }
    file.sync_all().map_err(|e| unwritable(part, e))?;
    Ok((size, hex(&hasher.finalize())))
}

/// The body broke off after `size` bytes: another attempt may help.
fn broke_off(e: &reqwest::Error, size: u64, declared: Option<u64>) -> Attempt {
    Attempt::again(format!(
        "the download broke off after {size} bytes{}: {}",
        declared.map_or(String::new(), |n| format!(" of {n}")),
        if e.is_timeout() {
            "no data within the timeout".to_string()
        } else {
            chain(e)
        }
    ))
}

/// The download at `part` could not be written; another attempt cannot help.
fn unwritable(part: &Path, e: std::io::Error) -> Attempt {
    Attempt::stop(format!("cannot write the download {}: {e}", part.display()))
}

/// Moves the complete download from `part` to `stem.<ext>`, and removes a
/// copy in another format from an earlier night. Returns the new path.
fn keep(stem: &Path, part: &Path, ext: &str) -> Result<PathBuf, Attempt> {
    let path = with_suffix(stem, &format!(".{ext}"));
    std::fs::rename(part, &path).map_err(|e| unwritable(part, e))?;
    // A copy in another format from an earlier night is not this feed any more.
    for other in FORMATS.iter().filter(|f| **f != ext) {
        let _ = std::fs::remove_file(with_suffix(stem, &format!(".{other}")));
    }
    Ok(path)
}

/// The formats a feed may hold, as the extension the readers know.
const FORMATS: &[&str] = &["csv", "tsv", "txt", "xlsx", "xlsm", "xlsb", "xls", "ods"];

/// The format of a feed: the extension of the URL's last path segment when
/// it is one the readers know, else the `Content-Type`.
pub fn format_of(url: &Url, content_type: Option<&str>) -> Option<&'static str> {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let ext = Path::new(last)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if let Some(found) = ext.and_then(|e| FORMATS.iter().find(|f| **f == e)) {
        return Some(found);
    }
    let mime = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    Some(match mime.as_str() {
        "text/csv" | "application/csv" | "text/comma-separated-values" | "text/plain" => "csv",
        "text/tab-separated-values" => "tsv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-excel.sheet.macroenabled.12" => "xlsm",
        "application/vnd.ms-excel.sheet.binary.macroenabled.12" => "xlsb",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        _ => return None,
    })
}

/// A file a run kept from an earlier download to `stem`, if there is one.
pub fn kept_download(stem: &Path) -> Option<PathBuf> {
    FORMATS
        .iter()
        .map(|ext| with_suffix(stem, &format!(".{ext}")))
        .find(|p| p.is_file())
}

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn progress_bar(show: bool, total: Option<u64>) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() || crate::log::is_json() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "downloading {bar:30} {bytes}/{total_bytes} {bytes_per_sec}, ETA {eta}"
    } else {
        "downloading {spinner} {bytes} {bytes_per_sec}"
    };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_path_then_content_type() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            format_of(&u("https://x.test/a/feed.CSV?x=1"), None),
            Some("csv")
        );
        assert_eq!(
            format_of(&u("https://x.test/feed.xlsx"), Some("text/csv")),
            Some("xlsx")
        );
        assert_eq!(
            format_of(&u("https://x.test/export"), Some("text/csv; charset=utf-8")),
            Some("csv")
        );
        assert_eq!(
            format_of(
                &u("https://x.test/export"),
                Some("application/vnd.oasis.opendocument.spreadsheet")
            ),
            Some("ods")
        );
        assert_eq!(
            format_of(&u("https://x.test/export"), Some("text/html")),
            None
        );
        assert_eq!(format_of(&u("https://x.test/export"), None), None);
    }

    #[test]
    fn retry_after_on_429_and_503_sets_the_wait_within_the_cap() {
        use reqwest::header::{HeaderValue, RETRY_AFTER};
        let policy = feed_retry(3);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let refused = |code: u16, headers: &HeaderMap| {
            accepted(StatusCode::from_u16(code).unwrap(), headers).unwrap_err()
        };
        // The wait asked, plus at most a quarter second of jitter.
        let wait = |e: &Attempt| retry_wait(e, &mut Attempts::default(), &policy);
        let about = |wait: Result<Option<Duration>, String>, asked: Duration| {
            let wait = wait.unwrap().unwrap();
            assert!(
                wait >= asked && wait <= asked + Duration::from_millis(250),
                "{wait:?}"
            );
        };
        for code in [429, 503] {
            let e = refused(code, &headers);
            assert!(e.retry);
            about(wait(&e), Duration::from_secs(7));
        }
        // Other answers back off as before, whatever they carry.
        let e = refused(500, &headers);
        assert_eq!(e.retry_after, None);
        assert!(wait(&e).unwrap().unwrap() <= policy.base);
        // Zero is no busy loop.
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0"));
        about(wait(&refused(503, &headers)), policy.base);
        // Over the cap: an error naming the wait asked.
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7200"));
        let message = wait(&refused(429, &headers)).unwrap_err();
        assert!(
            message.contains("HTTP 429") && message.contains("7200 s"),
            "{message}"
        );
        let at_cap = MAX_RETRY_AFTER.as_secs().to_string();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&at_cap).unwrap());
        about(wait(&refused(503, &headers)), MAX_RETRY_AFTER);
        // Spent, and a failure no attempt helps: no wait.
        let mut tries = Attempts::default();
        let e = refused(500, &HeaderMap::new());
        for _ in 0..3 {
            assert!(retry_wait(&e, &mut tries, &policy).unwrap().is_some());
        }
        assert_eq!(retry_wait(&e, &mut tries, &policy), Ok(None));
        assert_eq!(wait(&refused(404, &HeaderMap::new())), Ok(None));
    }

    #[test]
    fn credentials_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(FeedAuth::from_env(&env(&[]), None).unwrap().is_none());
        let a = FeedAuth::from_env(&env(&[("FEED_AUTHORIZATION", "Bearer s3cr3t")]), None)
            .unwrap()
            .unwrap();
        assert!(!format!("{a:?}").contains("s3cr3t"));
        let b = FeedAuth::from_env(&env(&[("FEED_USER", "u"), ("FEED_PASSWORD", "pw")]), None)
            .unwrap()
            .unwrap();
        assert!(matches!(b, FeedAuth::Basic { .. }));
        assert!(!format!("{b:?}").contains("pw\""));
        let named = FeedAuth::from_env(&env(&[("MY_TOKEN", "Token t")]), Some("MY_TOKEN"))
            .unwrap()
            .unwrap();
        assert!(matches!(named, FeedAuth::Header(_)));
        let err = FeedAuth::from_env(&env(&[]), Some("MY_TOKEN")).unwrap_err();
        assert!(err.contains("MY_TOKEN"), "{err}");
    }

    #[test]
    fn redirects_obey_the_rule_of_the_url_given() {
        let u = |s: &str| Url::parse(s).unwrap();
        let refused = |from: &str, to: &str| redirect_refused(&u(from), &u(to));
        assert_eq!(
            refused("https://a.test/f.csv", "https://b.test/f.csv"),
            None
        );
        assert_eq!(
            refused("http://127.0.0.1:8/f.csv", "https://b.test/f.csv"),
            None
        );
        assert_eq!(
            refused("http://127.0.0.1:8/f", "http://localhost:9/f.csv"),
            None
        );
        let down = refused("https://a.test/f.csv", "http://127.0.0.1/f.csv").unwrap();
        assert!(down.contains("down to plain http://"), "{down}");
        let away = refused("http://127.0.0.1/f", "http://user:pw@10.1.2.3/f.csv").unwrap();
        assert!(
            away.contains("not loopback") && !away.contains("pw"),
            "{away}"
        );
        assert!(refused("https://a.test/f", "ftp://a.test/f.csv").is_some());
    }

    /// Serves every connection on 127.0.0.1 with `head`, then `trickle`
    /// bytes one every `every` (none when zero); returns the base URL.
    async fn raw_server(head: String, trickle: usize, every: Duration) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let head = head.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 2048];
                    let _ = socket.read(&mut request).await;
                    let _ = socket.write_all(head.as_bytes()).await;
                    for _ in 0..trickle {
                        tokio::time::sleep(every).await;
                        if socket.write_all(b"x").await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    fn settings(deadline: Duration) -> DownloadSettings {
        DownloadSettings {
            max_bytes: 1 << 20,
            timeout: Duration::from_secs(2),
            retry: RetryPolicy::new(0).with_deadline(deadline),
            show_progress: false,
        }
    }

    #[tokio::test]
    async fn a_redirect_to_an_address_the_http_rule_refuses_is_not_followed() {
        let head = "HTTP/1.1 302 Found\r\nLocation: http://10.255.255.1/feed.csv\r\n\
                    Content-Length: 0\r\n\r\n";
        let base = raw_server(head.to_owned(), 0, Duration::ZERO).await;
        let source = FeedSource {
            url: Url::parse(&format!("{base}/feed.csv")).unwrap(),
            auth: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("feed");
        let err = download(&source, &stem, &settings(Duration::from_secs(20)), None)
            .await
            .unwrap_err();
        let DownloadError::Failed {
            message, attempts, ..
        } = err;
        assert!(message.contains("not loopback"), "{message}");
        assert_eq!(attempts, 1, "a refused redirect is not tried again");
    }

    #[tokio::test]
    async fn a_feed_that_trickles_in_ends_at_its_deadline() {
        // A byte every 100 ms: each within the 2 s timeout, forever.
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n\
                    Connection: close\r\n\r\n";
        let base = raw_server(head.to_owned(), 10_000, Duration::from_millis(100)).await;
        let source = FeedSource {
            url: Url::parse(&format!("{base}/feed.csv")).unwrap(),
            auth: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("feed");
        let err = download(&source, &stem, &settings(Duration::from_secs(1)), None)
            .await
            .unwrap_err();
        let DownloadError::Failed { message, .. } = err;
        assert!(message.contains("deadline"), "{message}");
        assert!(!with_suffix(&stem, ".part").exists(), "no file left behind");
    }
}
