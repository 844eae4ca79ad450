//! The steps an unattended job adds around the import pass, in the order a
//! run takes them: fetch the input when it is a URL; stop quietly when it is
//! the same as at the last successful run (`--if-changed`); count valid and
//! invalid rows over the whole file and check the guards; find the products
//! no longer in the file and check `--max-missing` (all of it before
//! anything is written); after the import pass, retire the missing products.
//!
//! Choices:
//! - `--resume` of a feed run reads the file the interrupted run downloaded
//!   (kept beside the results as `RESULTS.feed.<ext>`), never a new
//!   download: the results belong to that content, and a feed that changed
//!   overnight would otherwise be refused by the fingerprint at best, or
//!   leave half a night's rows of one file and half of another. Without the
//!   kept file, `--resume` refuses (exit 2).
//! - `--if-changed` compares the input's whole fingerprint (content, sheet,
//!   mapping file, reading options) with the last successful run's, so a
//!   changed mapping is imported even over unchanged content. A 304 answer
//!   to the conditional GET counts only while the file kept from that run is
//!   still there with the same content; otherwise the feed is downloaded.
//! - A run is successful for the job state when it completed and no row
//!   failed and no status change failed (invalid rows are the feed's to
//!   fix: importing the same file again cannot help them). Every writing
//!   run forgets the last success when it starts, so a night that changed
//!   the catalogue part way (failed, stopped or killed) is never taken for
//!   "unchanged" the next night.
//! - A new download or standard input is staged beside the copy kept for
//!   `--resume` and replaces it only once the run passed every check.
//! - Each deactivation or reactivation is recorded in the job's store
//!   before its PATCH and its result after; a change cut short counts as a
//!   deactivation, so the next run finishes it (still missing) or reverses
//!   it (back in the file, with `--existing update`). Ctrl-C or SIGTERM
//!   stops the deactivations between two PATCHes.
//! - Missing products are deactivated only after an import pass that
//!   completed; after an interrupted or stopped one they are only reported.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use super::plan::{FeedPlan, ImportPlan};
use super::ExitStatus;
use crate::api::types::ProductStatus;
use crate::client::{ProductApi, RequestCounters};
use crate::feed::download::{
    download, kept_download, with_suffix, DownloadSettings, Downloaded, Fetched, Validators,
};
use crate::feed::guard::GuardTripped;
use crate::feed::missing::{
    self, set_status, MissingMode, MissingOutcome, MissingPlan, StatusRecord, Survey,
};
use crate::feed::state::InputSeen;
use crate::feed::{Census, JobState};
use crate::log::{self, Level};
use crate::pipeline::resume::Fingerprint;
use crate::pipeline::retry::RetryPolicy;
use crate::store::JobStore;

/// A new copy of the input (a download, standard input) written beside the
/// copy kept for `--resume`, which it replaces only when the run has passed
/// every check ([`promote`](Staged::promote)); removed when the run is
/// refused before that, so the kept copy stays as it was.
#[derive(Debug)]
pub(super) struct Staged {
    path: PathBuf,
    kept: PathBuf,
    /// The stem whose copies in other formats the new one replaces.
    stem: Option<PathBuf>,
    promoted: bool,
}

impl Staged {
    /// Moves the new copy into the kept one's place; returns that path.
    pub(super) fn promote(mut self) -> anyhow::Result<PathBuf> {
        std::fs::rename(&self.path, &self.kept)
            .with_context(|| format!("cannot keep the input in {}", self.kept.display()))?;
        self.promoted = true;
        if let Some(stem) = &self.stem {
            // A copy in another format from an earlier night is not this feed any more.
            while let Some(other) = kept_download(stem).filter(|p| *p != self.kept) {
                if std::fs::remove_file(&other).is_err() {
                    break;
                }
            }
        }
        Ok(self.kept.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.promoted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Obtains the input and points the plan at the file to read: a local file
/// as it is, standard input or a feed staged beside its kept copy (see
/// [`Staged`]). Returns the feed's validators (`ETag`, `Last-Modified`) to
/// remember, or `None` when the input is not a feed.
pub(super) async fn obtain_input(
    plan: &mut ImportPlan,
    state: &JobState,
) -> anyhow::Result<(Option<Validators>, Option<Staged>)> {
    let Some(feed) = plan.feed.clone() else {
        let staged = keep_standard_input(plan)?;
        return Ok((None, staged));
    };
    if plan.resume {
        plan.input.path = resumed_download(&feed, plan.quiet)?;
        return Ok((Some(Validators::default()), None));
    }
    let kept = kept_from_last_success(&feed, state);
    let known = match (&kept, plan.if_changed) {
        (Some(_), true) => state
            .last_success
            .as_ref()
            .and_then(|s| s.validators_for(&feed.source.shown())),
        _ => None,
    };
    let settings = DownloadSettings {
        max_bytes: feed.max_bytes,
        timeout: plan.pacing.timeout,
        retry: crate::feed::download::feed_retry(plan.pacing.max_retries),
        show_progress: !plan.quiet,
    };
    let staging = with_suffix(&feed.stem, ".new");
    let fetched = download(&feed.source, &staging, &settings, known.as_ref()).await?;
    let (path, validators, staged) = match fetched {
        Fetched::NotModified => {
            let path = kept.expect("asked only with a kept file");
            note(
                plan.quiet,
                &format!(
                    "The feed {} has not changed (HTTP 304); \
                     reading the copy kept from the last run",
                    feed.source.shown()
                ),
                json!({ "url": feed.source.shown(), "not_modified": true }),
            );
            (path, known, None)
        }
        Fetched::File(d) => {
            note_downloaded(plan.quiet, &feed, &d);
            let ext = d.path.extension().map(|e| e.to_string_lossy().into_owned());
            let kept = with_suffix(&feed.stem, &format!(".{}", ext.unwrap_or_default()));
            let staged = Staged {
                path: d.path.clone(),
                kept,
                stem: Some(feed.stem.clone()),
                promoted: false,
            };
            (d.path, Some(d.validators), Some(staged))
        }
    };
    plan.input.path = path;
    Ok((validators, staged))
}

/// `-` as the input: standard input is kept beside the results file
/// (`RESULTS.input.csv`) and read from there, so the run has a fingerprint
/// to resume against and a count of rows; `--resume` reads the kept copy
/// again instead of standard input. A new copy is staged, and replaces the
/// kept one only once the run passed its checks (an empty standard input
/// never does).
fn keep_standard_input(plan: &mut ImportPlan) -> anyhow::Result<Option<Staged>> {
    if !crate::read::is_stdin(&plan.input.path) {
        return Ok(None);
    }
    let kept = with_suffix(&plan.outputs.results, ".input.csv");
    if plan.resume {
        anyhow::ensure!(
            kept.exists(),
            "cannot resume: standard input of the run being resumed was kept in {}, which is gone",
            kept.display()
        );
        plan.input.path = kept;
        return Ok(None);
    }
    let staged = Staged {
        path: with_suffix(&plan.outputs.results, ".input.new.csv"),
        kept,
        stem: None,
        promoted: false,
    };
    let copied = (|| {
        let mut file = std::fs::File::create(&staged.path)?;
        std::io::copy(&mut std::io::stdin().lock(), &mut file)?;
        file.sync_all()
    })();
    copied.with_context(|| format!("cannot keep standard input in {}", staged.path.display()))?;
    plan.input.path = staged.path.clone();
    Ok(Some(staged))
}

/// The file the interrupted run downloaded, which `--resume` reads again;
/// without it, `--resume` refuses.
fn resumed_download(feed: &FeedPlan, quiet: bool) -> anyhow::Result<PathBuf> {
    let path = kept_download(&feed.stem).with_context(|| {
        format!(
            "cannot resume: the feed downloaded by the earlier run ({}.<format>) is gone; \
             run again without --resume (rows already imported are then found as existing products)",
            feed.stem.display()
        )
    })?;
    note(
        quiet,
        &format!(
            "Resuming with the feed downloaded by the earlier run: {}",
            path.display()
        ),
        json!({ "url": feed.source.shown(), "file": path.display().to_string(), "kept": true }),
    );
    Ok(path)
}

/// The file kept from the last successful run, while it still has that
/// run's content: only then can a 304 answer be taken at its word.
fn kept_from_last_success(feed: &FeedPlan, state: &JobState) -> Option<PathBuf> {
    let last_sha = state
        .last_success
        .as_ref()
        .and_then(|s| s.fingerprint.as_ref())
        .map(|f| &f.input_sha256);
    kept_download(&feed.stem).filter(|path| {
        last_sha.is_some_and(|sha| {
            Fingerprint::of(path, None, None, Vec::new()).is_ok_and(|f| &f.input_sha256 == sha)
        })
    })
}

/// Says where the feed was downloaded to, its size and its SHA-256.
fn note_downloaded(quiet: bool, feed: &FeedPlan, d: &Downloaded) {
    note(
        quiet,
        &format!(
            "Downloaded {} ({} bytes) to {}",
            feed.source.shown(),
            d.size,
            d.path.display()
        ),
        json!({
            "url": feed.source.shown(),
            "file": d.path.display().to_string(),
            "bytes": d.size,
            "sha256": d.sha256,
            "attempts": d.attempts,
        }),
    );
}

/// A `download` event in the JSON log; in words unless `quiet`.
fn note(quiet: bool, message: &str, fields: serde_json::Value) {
    if !quiet || log::is_json() {
        log::note("download", message, fields);
    }
}

/// The input is the same as at the last successful run: say so, send nothing.
pub(super) fn unchanged(plan: &ImportPlan, seen: &InputSeen) -> ExitStatus {
    let message = format!(
        "Input unchanged since the last successful run ({}, SHA-256 {}): nothing sent.",
        seen.finished_at,
        &seen.sha256[..seen.sha256.len().min(12)]
    );
    let fields = json!({
        "outcome": "unchanged",
        "exit_code": 0,
        "last_success": seen.finished_at,
        "input_sha256": seen.sha256,
        "requests": 0,
    });
    println!("{message}");
    log::event(Level::Info, "unchanged", fields.clone());
    if let Some(path) = &plan.outputs.summary_json {
        let text = serde_json::to_string_pretty(&fields).expect("json") + "\n";
        if let Err(e) = crate::results::atomic::write(path, text.as_bytes()) {
            log::warn(&format!("cannot write {}: {e}", path.display()));
        }
    }
    ExitStatus::Success
}

/// The validation pass over the whole file, when a guard or `--missing`
/// needs it, with the guards checked.
pub(super) async fn census(plan: &ImportPlan, state: &JobState) -> anyhow::Result<Option<Census>> {
    if !plan.guards.any() && plan.missing.is_none() && !reactivation_due(plan, state) {
        return Ok(None);
    }
    let input = plan.input.clone();
    let census = tokio::task::spawn_blocking(move || Census::take(&input))
        .await
        .context("the validation pass stopped")??;
    if let Err(GuardTripped(message)) = plan.guards.check(&census) {
        log::event(
            Level::Error,
            "guard",
            json!({
                "rows": census.rows(),
                "valid": census.valid,
                "invalid": census.invalid,
                "min_rows": plan.guards.min_rows,
                "max_invalid": plan.guards.max_invalid.map(|t| t.to_string()),
                "message": message,
            }),
        );
        return Err(GuardTripped(message).into());
    }
    Ok(Some(census))
}

/// The products in scope no longer in the file, with `--max-missing` checked.
pub(super) async fn survey<A: ProductApi>(
    plan: &ImportPlan,
    api: &A,
    retry: &RetryPolicy,
    counters: &RequestCounters,
    state: &JobState,
    census: Option<&Census>,
) -> anyhow::Result<Option<Survey>> {
    let Some(census) = census else {
        return Ok(None);
    };
    let Some(missing_plan) = &plan.missing else {
        if !reactivation_due(plan, state) {
            return Ok(None);
        }
        // Without --missing, only the products this job deactivated are
        // looked at, to set those back in the file active again.
        let only_returned = MissingPlan {
            mode: MissingMode::Report,
            categories: Vec::new(),
            number_prefix: None,
            max_missing: crate::feed::Threshold::Count(u64::MAX),
        };
        let mut survey = missing::survey(api, retry, counters, &only_returned, state, census)
            .await
            .context("cannot list the products this job deactivated")?;
        survey.missing.clear();
        return Ok(Some(survey));
    };
    let survey = missing::survey(api, retry, counters, missing_plan, state, census)
        .await
        .context("cannot list the products in scope")?;
    let fields = json!({
        "scope": survey.scope,
        "missing": survey.missing.len(),
        "returned": survey.returned.len(),
        "max_missing": missing_plan.max_missing.to_string(),
    });
    if let Err(message) = survey.check(missing_plan.max_missing) {
        log::event(Level::Error, "guard", with_message(fields, &message));
        return Err(GuardTripped(message).into());
    }
    log::event(Level::Info, "missing", fields);
    Ok(Some(survey))
}

/// Whether `--existing update` may have products to set active again: this
/// job deactivated some earlier.
fn reactivation_due(plan: &ImportPlan, state: &JobState) -> bool {
    plan.existing == crate::pipeline::existing::ExistingMode::Update
        && state.products.values().any(|m| m.deactivated)
}

fn with_message(mut fields: serde_json::Value, message: &str) -> serde_json::Value {
    if let serde_json::Value::Object(map) = &mut fields {
        map.insert("message".into(), message.into());
    }
    fields
}

/// Sets the products this job deactivated and the file holds again active.
pub(super) async fn reactivate<A: ProductApi>(
    plan: &ImportPlan,
    api: &A,
    retry: &RetryPolicy,
    counters: &RequestCounters,
    survey: &Survey,
    store: Option<&JobStore>,
) -> Vec<MissingOutcome> {
    let done = set_status(
        api,
        retry,
        counters,
        &survey.returned,
        ProductStatus::Active,
        StatusRecord {
            dry_run: plan.dry_run,
            store,
            stop: None,
        },
    )
    .await;
    let done = done.unwrap_or_else(|e| {
        log::warn(&format!("could not reactivate returned products: {e}"));
        Vec::new()
    });
    let ok = done.iter().filter(|o| o.result == "reactivated").count();
    if ok > 0 {
        log::note(
            "reactivated",
            &format!("Set {ok} products this job had deactivated active again: they are back in the file"),
            json!({ "reactivated": ok }),
        );
    }
    done
}

/// What a run's status changes are recorded in and stopped by.
#[derive(Clone, Copy)]
pub(super) struct JobHold<'a> {
    /// The job's store (none in a dry run).
    pub store: Option<&'a JobStore>,
    /// Turns true on Ctrl-C or SIGTERM.
    pub stop: &'a tokio::sync::watch::Receiver<bool>,
}

/// Reports or deactivates the missing products after the import pass.
pub(super) async fn retire<A: ProductApi>(
    plan: &ImportPlan,
    api: &A,
    retry: &RetryPolicy,
    counters: &RequestCounters,
    survey: &Survey,
    completed: bool,
    job: JobHold<'_>,
) -> Vec<MissingOutcome> {
    let mode = plan.missing.as_ref().map(|m| m.mode);
    if mode != Some(MissingMode::Deactivate) {
        return missing::report(&survey.missing);
    }
    if !completed {
        if !survey.missing.is_empty() {
            log::warn(
                "the import did not complete: missing products were reported, not deactivated",
            );
        }
        return missing::report(&survey.missing);
    }
    set_status(
        api,
        retry,
        counters,
        &survey.missing,
        ProductStatus::Inactive,
        StatusRecord {
            dry_run: plan.dry_run,
            store: job.store,
            stop: Some(job.stop),
        },
    )
    .await
    .unwrap_or_else(|e| {
        log::warn(&format!("could not deactivate missing products: {e}"));
        missing::report(&survey.missing)
    })
}

/// What `--missing` found and did, for the summary and the missing file.
#[derive(Debug, Clone)]
pub(super) struct MissingReport {
    /// Active products in scope.
    pub scope: usize,
    /// One per missing (or returned) product.
    pub outcomes: Vec<MissingOutcome>,
    /// The missing file.
    pub file: PathBuf,
}

impl MissingReport {
    fn count(&self, result: &str) -> usize {
        self.outcomes.iter().filter(|o| o.result == result).count()
    }

    fn missing(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.action != "reactivate")
            .count()
    }

    /// PATCHes that failed.
    pub fn failed(&self) -> usize {
        self.count("failed")
    }

    /// Writes the missing file; a failure is a warning.
    pub fn write(&self) {
        if let Err(e) = missing::write_file(&self.file, &self.outcomes) {
            log::warn(&format!("cannot write {}: {e}", self.file.display()));
        }
    }

    /// The `missing` member of the summary JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "scope": self.scope,
            "missing": self.missing(),
            "deactivated": self.count("deactivated"),
            "reactivated": self.count("reactivated"),
            "failed": self.failed(),
            "file": self.file.display().to_string(),
            "products": self.outcomes,
        })
    }
}

/// How many products the summary lists by name.
const LISTED: usize = 20;

impl fmt::Display for MissingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut done = Vec::new();
        for (word, n) in [
            ("deactivated", self.count("deactivated")),
            ("would deactivate", self.count("would deactivate")),
            ("reactivated", self.count("reactivated")),
            ("would reactivate", self.count("would reactivate")),
            ("failed", self.failed()),
        ] {
            if n > 0 {
                done.push(format!("{word} {n}"));
            }
        }
        writeln!(
            f,
            "  missing:   {} of {} active products in scope no longer in the file{}: {}",
            self.missing(),
            self.scope,
            if done.is_empty() {
                String::new()
            } else {
                format!(" ({})", done.join(", "))
            },
            self.file.display()
        )?;
        for o in self.outcomes.iter().take(LISTED) {
            writeln!(
                f,
                "    id {} {} \"{}\": {}{}",
                o.id,
                o.number.as_deref().unwrap_or("(no number)"),
                o.name.as_deref().unwrap_or(""),
                o.result,
                o.error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({e})"))
            )?;
        }
        if self.outcomes.len() > LISTED {
            writeln!(f, "    … and {} more", self.outcomes.len() - LISTED)?;
        }
        Ok(())
    }
}

/// The input of a successful run, for the job state.
pub(super) fn seen(
    plan: &ImportPlan,
    fingerprint: &Fingerprint,
    validators: Option<&Validators>,
) -> InputSeen {
    let validators = validators.cloned().unwrap_or_default();
    InputSeen {
        source: match &plan.feed {
            Some(feed) => feed.source.shown(),
            None => plan.input.path.display().to_string(),
        },
        sha256: fingerprint.input_sha256.clone(),
        size: fingerprint.input_size,
        etag: validators.etag,
        last_modified: validators.last_modified,
        finished_at: log::rfc3339_now(),
        fingerprint: Some(fingerprint.clone()),
    }
}
