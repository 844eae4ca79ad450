//! Where the plan's outputs go (the results file and the files beside it,
//! a dry run's marked), and the check that they overwrite nothing they must not.

use std::path::{Path, PathBuf};

use url::Url;

use super::{ImportPlan, Outputs, PlanError};
use crate::cli::OutputOptions;
use crate::feed::missing::missing_path;
use crate::results::default_results_path;
use crate::store::store_path;

/// The output paths, with the default results file. A dry run never writes
/// a real run's files (and so never its resume point), however the path was
/// given: its outputs get `.dry-run` before their extension.
pub(super) fn output_paths(
    outputs: &OutputOptions,
    input: &Path,
    feed: Option<&Url>,
    dry_run: bool,
) -> Outputs {
    let mark = |path: PathBuf| if dry_run { dry_run_path(&path) } else { path };
    // A feed's results are named after the last segment of its URL's path.
    let named = match feed {
        Some(url) => PathBuf::from(
            url.path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|s| !s.is_empty())
                .unwrap_or("feed"),
        ),
        None => input.to_path_buf(),
    };
    let real = outputs
        .results
        .clone()
        .unwrap_or_else(|| default_results_path(&named));
    let results = mark(real.clone());
    Outputs {
        store: store_path(&real),
        missing: missing_path(&results),
        results,
        rejects: outputs.rejects.clone().map(mark),
        summary_json: outputs.summary_json.clone().map(mark),
    }
}

/// `x.csv` → `x.dry-run.csv`.
fn dry_run_path(path: &Path) -> PathBuf {
    match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => {
            let mut name = stem.to_owned();
            name.push(".dry-run.");
            name.push(ext);
            path.with_file_name(name)
        }
        _ => {
            let mut name = path.as_os_str().to_owned();
            name.push(".dry-run");
            PathBuf::from(name)
        }
    }
}

impl ImportPlan {
    /// Refuses outputs that would overwrite one another, the input or the
    /// mapping, or that go to a folder that does not exist: checked before
    /// anything is touched.
    pub fn check_paths(&self, config: Option<&Path>) -> Result<(), PlanError> {
        let results = &self.outputs.results;
        let mut named: Vec<(String, PathBuf)> = vec![
            ("the input file".into(), self.input.path.clone()),
            ("--results".into(), results.clone()),
            ("the job's run store".into(), self.outputs.store.clone()),
            (
                "the missing-products file".into(),
                self.outputs.missing.clone(),
            ),
        ];
        if let Some((mapping, _)) = &self.input.mapping {
            named.push(("--mapping".into(), mapping.clone()));
        }
        if let Some(config) = config {
            named.push(("--config".into(), config.to_path_buf()));
        }
        for (what, path) in [
            ("--rejects", &self.outputs.rejects),
            ("--summary-json", &self.outputs.summary_json),
        ] {
            if let Some(path) = path {
                named.push((what.into(), path.clone()));
            }
        }
        let keys: Vec<PathBuf> = named.iter().map(|(_, p)| comparable(p)).collect();
        for (i, key) in keys.iter().enumerate() {
            if let Some(j) = keys[..i].iter().position(|k| k == key) {
                return Err(PlanError::BadValue(format!(
                    "{} and {} are the same file ({}): give each output its own path",
                    named[j].0,
                    named[i].0,
                    named[i].1.display()
                )));
            }
        }
        for (what, path) in named.iter().skip(1) {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                return Err(PlanError::BadValue(format!(
                    "{what} {}: the folder {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Ok(())
    }
}

/// A path made comparable: absolute, with its folder resolved when it exists.
fn comparable(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.to_path_buf()))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    dir.join(path.file_name().unwrap_or_default())
}
