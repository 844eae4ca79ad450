//! `export`: writes the organization's products to .xlsx or .csv in the
//! template's columns and the importer's canonical headers, so that the file
//! can be edited and imported again with `--existing update`: export, edit,
//! import. Re-importing an unedited export changes nothing.
//!
//! Categories and units are written by name when the name leads back to the
//! same record (the importer resolves names the same way), else by id;
//! barcodes and other codes are text, prices and quantities numbers.
//!
//! This module reads the products and chooses which to write; `columns`
//! owns the columns and each product's values in them, `writer` the file.

mod columns;
mod writer;

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::import::{connection, pacing, Pacing, PlanError};
use super::{ExitStatus, NothingAttempted};
use crate::api::types::Product;
use crate::cli::ExportArgs;
use crate::client::connect::{connect, Connected, Connection};
use crate::client::paging::{all_pages, PageGuard};
use crate::client::{ApiError, ProductApi, ProductQuery, RequestCounters};
use crate::mapping::Field;
use crate::pipeline::retry::{retry_idempotent, RetryPolicy};
pub use columns::ExportColumn;
use columns::{value, Names, Value};
use writer::ExportWriter;

/// The validated plan of an export.
#[derive(Debug, Clone)]
pub(crate) struct ExportPlan {
    out: PathBuf,
    xlsx: bool,
    columns: Vec<ExportColumn>,
    categories: Vec<String>,
    connection: Connection,
    pacing: Pacing,
    quiet: bool,
}

impl ExportPlan {
    /// Checks the flags and reads credentials through `env`.
    pub fn new(
        args: &ExportArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ExportPlan, PlanError> {
        let xlsx = match crate::read::extension(&args.out).as_str() {
            "xlsx" => true,
            "csv" => false,
            _ => {
                return Err(PlanError::BadValue(format!(
                    "{}: the export must be .xlsx or .csv",
                    args.out.display()
                )))
            }
        };
        let all = ExportColumn::all();
        let columns = if args.columns.is_empty() {
            all
        } else {
            let mut wanted = Vec::new();
            for name in &args.columns {
                let name = name.trim();
                let column = all
                    .iter()
                    .copied()
                    .find(|c| c.header().eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        PlanError::BadValue(format!(
                            "--columns: no column \"{name}\"; the columns are {}",
                            all.iter()
                                .map(|c| c.header())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                wanted.push(column);
            }
            all.into_iter()
                .filter(|c| c.required() || wanted.contains(c))
                .collect()
        };
        Ok(ExportPlan {
            out: args.out.clone(),
            xlsx,
            columns,
            categories: args
                .category
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            connection: connection(args.sandbox, &args.api, env)?,
            pacing: pacing(args.pacing.clone(), Some(1))?,
            quiet: args.quiet,
        })
    }
}

fn nothing(e: impl Into<anyhow::Error>) -> anyhow::Error {
    NothingAttempted(e.into()).into()
}

/// Runs `export` with the process environment, on a runtime of its own.
pub fn run_blocking(args: ExportArgs) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let status = runtime.block_on(run_with_env(args, &|k| std::env::var(k).ok()));
    runtime.shutdown_timeout(Duration::from_secs(1));
    status
}

/// Runs `export`, reading credentials through `env`. Errors before the file
/// is written mean nothing was attempted (exit 2).
pub async fn run_with_env(
    args: ExportArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let plan = ExportPlan::new(&args, env).map_err(nothing)?;
    let pacer = Arc::new(plan.pacing.rate.pacer());
    let counters = Arc::new(RequestCounters::default());
    let Connected {
        api,
        base_url,
        sandbox,
    } = connect(
        &plan.connection,
        plan.pacing.timeout,
        pacer,
        counters.clone(),
    )
    .await
    .map_err(nothing)?;
    let policy = RetryPolicy::for_api(plan.pacing.max_retries);
    let outcome = export(&api, &plan, &policy, &counters).await;
    if let Some(handle) = sandbox {
        handle.shutdown().await;
    }
    let report = outcome?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Exported {} products from {base_url} to {} ({} pages, {} requests, {:.1} s)",
        report.products,
        plan.out.display(),
        report.pages,
        RequestCounters::get(&counters.requests),
        started.elapsed().as_secs_f64()
    );
    if report.without_key > 0 {
        eprintln!(
            "warning: {} products have neither a number nor an EAN: importing the file again \
             cannot find them, and would create them anew. Give them a number first.",
            report.without_key
        );
    }
    Ok(ExitStatus::Success)
}

/// What an export did.
#[derive(Debug, Default)]
struct ExportReport {
    products: u64,
    pages: u32,
    without_key: u64,
}

impl ExportReport {
    /// Counts a product written, and whether it has neither a number nor
    /// an EAN (a re-import cannot find it).
    fn count(&mut self, p: &Product) {
        self.products += 1;
        if p.number.as_deref().is_none_or(str::is_empty)
            && p.ean.as_deref().is_none_or(str::is_empty)
        {
            self.without_key += 1;
        }
    }
}

/// Writes the products the plan chooses to its file. An error before the
/// file is created means nothing was attempted; one while the products are
/// read removes the unfinished file.
async fn export<A: ProductApi>(
    api: &A,
    plan: &ExportPlan,
    policy: &RetryPolicy,
    counters: &RequestCounters,
) -> anyhow::Result<ExportReport> {
    let names = read_names(api, plan, policy, counters).await?;
    let mut chosen = ProductFilter::new(plan, &names)?;
    let mut writer = ExportWriter::create(&plan.out, plan.xlsx, &plan.columns)
        .with_context(|| format!("cannot write {}", plan.out.display()))
        .map_err(nothing)?;
    let bar = progress_bar(plan.quiet);
    let mut report = ExportReport::default();
    let pages = each_product_page(api, policy, counters, |page| {
        for p in page.iter().filter(|p| chosen.admits(p)) {
            let cells: Vec<Value> = plan.columns.iter().map(|c| value(p, *c, &names)).collect();
            writer.write(&cells)?;
            report.count(p);
            bar.inc(1);
        }
        Ok(())
    })
    .await;
    bar.finish_and_clear();
    report.pages = match pages {
        Ok(pages) => pages,
        Err(e) => {
            // What was written is incomplete: an earlier export stays whole.
            writer.abandon();
            return Err(e.context("the export stopped; no file was written"));
        }
    };
    writer
        .finish()
        .with_context(|| format!("cannot write {}", plan.out.display()))?;
    Ok(report)
}

/// The names of the categories, and of the units when their column is
/// written; failing to read them means nothing was attempted.
async fn read_names<A: ProductApi>(
    api: &A,
    plan: &ExportPlan,
    policy: &RetryPolicy,
    counters: &RequestCounters,
) -> anyhow::Result<Names> {
    let categories = all_pages(
        PageGuard::new("GET /productcategories"),
        |cursor| async move {
            retry_idempotent(policy, counters, || api.list_categories(cursor.as_ref())).await
        },
    )
    .await
    .map_err(|e| nothing(anyhow::anyhow!("cannot read the categories: {e}")))?;
    let units = if plan.columns.contains(&ExportColumn::Field(Field::Unit)) {
        all_pages(PageGuard::new("GET /productunits"), |cursor| async move {
            retry_idempotent(policy, counters, || api.list_units(cursor.as_ref())).await
        })
        .await
        .map_err(|e| nothing(anyhow::anyhow!("cannot read the units: {e}")))?
    } else {
        Vec::new()
    };
    Ok(Names::new(&categories, &units))
}

/// Which listed products are written: each once, and only those in a
/// `--category` when some are given.
struct ProductFilter {
    seen: HashSet<i64>,
    only: Option<HashSet<i64>>,
}

impl ProductFilter {
    /// Resolves the plan's `--category` names; an unknown one means nothing
    /// was attempted.
    fn new(plan: &ExportPlan, names: &Names) -> anyhow::Result<ProductFilter> {
        let only = if plan.categories.is_empty() {
            None
        } else {
            Some(
                plan.categories
                    .iter()
                    .map(|c| names.category_id(c))
                    .collect::<Result<_, _>>()
                    .map_err(nothing)?,
            )
        };
        Ok(ProductFilter {
            seen: HashSet::new(),
            only,
        })
    }

    /// Whether `p` is written.
    fn admits(&mut self, p: &Product) -> bool {
        // A listing that shifts while it is read can show a product twice.
        if !self.seen.insert(p.id) {
            return false;
        }
        let category = p.category.as_ref().and_then(|c| c.id);
        match &self.only {
            Some(only) => category.is_some_and(|c| only.contains(&c)),
            None => true,
        }
    }
}

/// Reads every page of `GET /products` (paced, retried, following the
/// server's `link` cursors under a [`PageGuard`]), handing each to `each`,
/// and returns the number of pages read.
async fn each_product_page<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    mut each: impl FnMut(Vec<Product>) -> anyhow::Result<()>,
) -> anyhow::Result<u32> {
    let mut guard = PageGuard::new("GET /products");
    let mut cursor = None;
    loop {
        let page = retry_idempotent(policy, counters, || {
            api.list_products(&ProductQuery::All, cursor.as_ref())
        })
        .await
        .map_err(|e: ApiError| {
            anyhow::anyhow!(
                "cannot read page {} of the products: {e}",
                guard.pages() + 1
            )
        })?;
        let Some((items, next)) = guard.accept(page)? else {
            return Ok(guard.pages());
        };
        each(items)?;
        match next {
            None => return Ok(guard.pages()),
            next => cursor = next,
        }
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {pos} products ({per_sec})")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_keep_what_a_re_import_needs() {
        let args = ExportArgs {
            out: "x.csv".into(),
            category: Vec::new(),
            columns: vec!["salesPrice".into(), "EAN".into()],
            sandbox: true,
            api: Default::default(),
            pacing: Default::default(),
            quiet: true,
        };
        let plan = ExportPlan::new(&args, &|_| None).unwrap();
        let headers: Vec<&str> = plan.columns.iter().map(|c| c.header()).collect();
        assert_eq!(
            headers,
            ["id", "name", "number", "salesPrice", "ean", "category"]
        );
        let bad = ExportArgs {
            columns: vec!["colour".into()],
            ..args
        };
        let e = ExportPlan::new(&bad, &|_| None).unwrap_err().to_string();
        assert!(e.contains("no column \"colour\""), "{e}");
    }
}
