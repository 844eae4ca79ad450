//! Keeping the catalogue in step with a feed (`--missing report|deactivate`):
//! the products in scope (created by this job, in a `--scope-category`, or
//! with a number starting with `--scope-number-prefix`) that the file no
//! longer holds are found from one paged listing, guarded by
//! `--max-missing` before anything changes, and reported or set `inactive`
//! (never deleted). Products this job deactivated that are back in the file
//! are set `active` again (with `--existing update`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::download::with_suffix;
use super::{Census, JobState, Threshold};
use crate::api::types::{NewProduct, Product, ProductPatch, ProductStatus};
pub use crate::cli::MissingMode;
use crate::client::paging::{all_pages, Cursor, Page, PageGuard};
use crate::client::{ApiError, ProductApi, ProductQuery, RequestCounters};
use crate::pipeline::retry::{retry_idempotent, RetryPolicy};

/// Default `--max-missing`: a tenth of the products in scope.
pub const DEFAULT_MAX_MISSING: Threshold = Threshold::Percent(10.0);

/// `--missing` and its scope, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingPlan {
    /// Report or deactivate.
    pub mode: MissingMode,
    /// `--scope-category`.
    pub categories: Vec<i64>,
    /// `--scope-number-prefix`.
    pub number_prefix: Option<String>,
    /// `--max-missing`.
    pub max_missing: Threshold,
}

/// The missing file of a results file: its path plus `.missing.csv`.
pub fn missing_path(results: &Path) -> PathBuf {
    with_suffix(results, ".missing.csv")
}

/// What the listing showed.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// Active products in scope.
    pub scope: usize,
    /// Active products in scope the file no longer holds.
    pub missing: Vec<Product>,
    /// Products this job deactivated that are back in the file.
    pub returned: Vec<Product>,
}

/// Lists the products on the server (every page, through the client's
/// guarded cursor paging) and sorts out those in scope.
pub async fn survey<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    plan: &MissingPlan,
    state: &JobState,
    census: &Census,
) -> Result<Survey, ApiError> {
    let categories: HashSet<i64> = plan.categories.iter().copied().collect();
    let in_scope = |p: &Product| {
        state.products.contains_key(&p.id)
            || p.category
                .as_ref()
                .and_then(|c| c.id)
                .is_some_and(|c| categories.contains(&c))
            || plan
                .number_prefix
                .as_deref()
                .is_some_and(|prefix| p.number.as_deref().is_some_and(|n| n.starts_with(prefix)))
    };
    let present = |p: &Product| {
        p.number
            .as_ref()
            .is_some_and(|n| census.numbers.contains(n))
            || p.ean.as_ref().is_some_and(|e| census.eans.contains(e))
    };
    let mut survey = Survey::default();
    // One guarded listing of the whole catalogue serves every part of the
    // scope (ids, categories, number prefix) at once.
    let all = all_pages(PageGuard::new("GET /products"), |cursor| async move {
        retry_idempotent(policy, counters, || {
            api.list_products(&ProductQuery::All, cursor.as_ref())
        })
        .await
    })
    .await?;
    let mut seen = HashSet::new();
    for p in all {
        if !seen.insert(p.id) || !in_scope(&p) {
            continue;
        }
        let inactive = p.status == Some(ProductStatus::Inactive);
        if !inactive {
            survey.scope += 1;
        }
        if !present(&p) {
            if !inactive {
                survey.missing.push(p);
            }
        } else if inactive
            && state.products.get(&p.id).is_some_and(|m| m.deactivated)
            && !p
                .number
                .as_ref()
                .is_some_and(|n| census.inactive.contains(n))
        {
            survey.returned.push(p);
        }
    }
    survey.missing.sort_by_key(|p| p.id);
    survey.returned.sort_by_key(|p| p.id);
    Ok(survey)
}

impl Survey {
    /// `--max-missing`: `Err` says what was found against what is allowed.
    pub fn check(&self, max: Threshold) -> Result<(), String> {
        let limit = max.limit(self.scope as u64);
        if self.missing.len() as u64 > limit {
            Err(format!(
                "{} of the {} active products in scope are no longer in the file; at most {limit} may be \
                 retired in one run (--max-missing {max}): a truncated feed must not retire the catalogue. \
                 If this is expected, run once with a higher --max-missing",
                self.missing.len(),
                self.scope
            ))
        } else {
            Ok(())
        }
    }
}

/// What happened to one product of the missing file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingOutcome {
    /// Product id.
    pub id: i64,
    /// Product number.
    pub number: Option<String>,
    /// Product name.
    pub name: Option<String>,
    /// `report`, `deactivate` or `reactivate`.
    pub action: &'static str,
    /// `missing`, `deactivated`, `reactivated`, `would deactivate`,
    /// `would reactivate` or `failed`.
    pub result: &'static str,
    /// HTTP status of the PATCH.
    pub http_status: Option<u16>,
    /// What went wrong.
    pub error: Option<String>,
}

impl MissingOutcome {
    fn of(p: &Product, action: &'static str, result: &'static str) -> MissingOutcome {
        MissingOutcome {
            id: p.id,
            number: p.number.clone(),
            name: p.name.clone(),
            action,
            result,
            http_status: None,
            error: None,
        }
    }
}

/// How status changes are carried out and recorded.
pub struct StatusRecord<'a> {
    /// Say what would be done; send nothing.
    pub dry_run: bool,
    /// The job's store: each change's intent is committed before its PATCH
    /// and its result after, so a change cut short by a kill is known to the
    /// next run (which finishes or reverses it).
    pub store: Option<&'a JobStore>,
    /// Turns true on Ctrl-C or SIGTERM: no further PATCH is sent, the rest
    /// are reported as missing.
    pub stop: Option<&'a tokio::sync::watch::Receiver<bool>>,
}

/// Sets each product's status (`PATCH {"status": …}`), or says it would.
/// `Err` only when the credentials were refused: the run cannot go on.
pub async fn set_status<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    products: &[Product],
    status: ProductStatus,
    how: StatusRecord<'_>,
) -> Result<Vec<MissingOutcome>, ApiError> {
    let dry_run = how.dry_run;
    let (action, done, would) = match status {
        ProductStatus::Inactive => ("deactivate", "deactivated", "would deactivate"),
        ProductStatus::Active => ("reactivate", "reactivated", "would reactivate"),
    };
    let patch = ProductPatch::from(NewProduct {
        status: Some(status),
        ..NewProduct::default()
    });
    let mut out = Vec::with_capacity(products.len());
    for p in products {
        if dry_run {
            out.push(MissingOutcome::of(p, action, would));
            continue;
        }
        if how.stop.is_some_and(|s| *s.borrow()) {
            out.push(MissingOutcome {
                error: Some("not done: the run was stopped".into()),
                ..MissingOutcome::of(p, "report", "missing")
            });
            continue;
        }
        let intent = match how
            .store
            .map(|s| s.status_intent(p.id, p.number.as_deref(), action))
        {
            Some(Err(e)) => {
                out.push(MissingOutcome {
                    error: Some(format!("not sent: {e}")),
                    ..MissingOutcome::of(p, action, "failed")
                });
                continue;
            }
            Some(Ok(seq)) => Some(seq),
            None => None,
        };
        let outcome =
            match retry_idempotent(policy, counters, || api.update_product(p.id, &patch)).await {
                Ok(a) => MissingOutcome {
                    http_status: Some(a.status),
                    ..MissingOutcome::of(p, action, done)
                },
                Err(e) if e.class() == crate::client::ErrorClass::Fatal => return Err(e),
                Err(e) => MissingOutcome {
                    http_status: e.http_status(),
                    error: Some(e.to_string()),
                    ..MissingOutcome::of(p, action, "failed")
                },
            };
        if let (Some(store), Some(seq)) = (how.store, intent) {
            if let Err(e) = store.status_result(seq, p.id, outcome.result) {
                crate::log::warn(&format!("cannot record a status change: {e}"));
            }
        }
        out.push(outcome);
    }
    Ok(out)
}

/// The report only: every missing product as `missing`.
pub fn report(products: &[Product]) -> Vec<MissingOutcome> {
    products
        .iter()
        .map(|p| MissingOutcome::of(p, "report", "missing"))
        .collect()
}

/// Writes the missing file (CSV: id, number, name, action, result,
/// http_status, error), whole.
pub fn write_file(path: &Path, outcomes: &[MissingOutcome]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    w.write_record([
        "id",
        "number",
        "name",
        "action",
        "result",
        "http_status",
        "error",
    ])
    .map_err(io)?;
    for o in outcomes {
        w.write_record([
            o.id.to_string(),
            o.number.clone().unwrap_or_default(),
            o.name.clone().unwrap_or_default(),
            o.action.to_string(),
            o.result.to_string(),
            o.http_status.map(|s| s.to_string()).unwrap_or_default(),
            o.error.clone().unwrap_or_default(),
        ])
        .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    crate::results::atomic::write(path, &bytes)
}

/// Updates the job state after deactivating or reactivating.
pub fn note_in_state(state: &mut JobState, outcomes: &[MissingOutcome]) {
    for o in outcomes {
        let deactivated = match o.result {
            "deactivated" => true,
            "reactivated" => false,
            _ => continue,
        };
        if let Some(m) = state.products.get_mut(&o.id) {
            m.deactivated = deactivated;
        } else if deactivated {
            // A product in an explicit scope that this job retired: it is
            // remembered, so that it comes back when the feed has it again.
            let m = state.products.entry(o.id).or_default();
            m.number = o.number.clone();
            m.deactivated = true;
        }
    }
}

use crate::store::JobStore;

/// One API client shared by the import pass and the steps around it (the
/// survey before, the deactivation after): the pipeline takes its client by
/// value, so it gets this handle.
#[derive(Debug)]
pub struct SharedApi<A>(pub std::sync::Arc<A>);

impl<A> Clone for SharedApi<A> {
    fn clone(&self) -> Self {
        SharedApi(self.0.clone())
    }
}

impl<A: ProductApi> ProductApi for SharedApi<A> {
    async fn authenticate(&self) -> Result<(), ApiError> {
        self.0.authenticate().await
    }
    async fn create_product(
        &self,
        product: &NewProduct,
    ) -> Result<crate::client::Answer<Product>, ApiError> {
        self.0.create_product(product).await
    }
    async fn get_product(
        &self,
        id: i64,
    ) -> Result<Option<crate::client::Answer<Product>>, ApiError> {
        self.0.get_product(id).await
    }
    async fn update_product(
        &self,
        id: i64,
        changes: &ProductPatch,
    ) -> Result<crate::client::Answer<Option<Product>>, ApiError> {
        self.0.update_product(id, changes).await
    }
    async fn list_products(
        &self,
        query: &ProductQuery,
        next: Option<&Cursor>,
    ) -> Result<Page<Product>, ApiError> {
        self.0.list_products(query, next).await
    }
    async fn list_categories(
        &self,
        next: Option<&Cursor>,
    ) -> Result<Page<crate::api::types::Category>, ApiError> {
        self.0.list_categories(next).await
    }
    async fn create_category(
        &self,
        category: &crate::api::types::NewCategory,
    ) -> Result<crate::api::types::Category, ApiError> {
        self.0.create_category(category).await
    }
    async fn list_units(
        &self,
        next: Option<&Cursor>,
    ) -> Result<Page<crate::api::types::Unit>, ApiError> {
        self.0.list_units(next).await
    }
    async fn list_suppliers(
        &self,
        organization_number: Option<&str>,
        next: Option<&Cursor>,
    ) -> Result<Page<crate::api::types::Supplier>, ApiError> {
        self.0.list_suppliers(organization_number, next).await
    }
    async fn create_supplier(
        &self,
        supplier: &crate::api::types::NewSupplier,
    ) -> Result<crate::api::types::Supplier, ApiError> {
        self.0.create_supplier(supplier).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::NamedRef;
    use crate::feed::state::ManagedProduct;

    fn product(id: i64, number: &str, category: i64, status: ProductStatus) -> Product {
        Product {
            id,
            number: Some(number.into()),
            name: Some(format!("P {number}")),
            status: Some(status),
            category: Some(NamedRef {
                id: Some(category),
                name: None,
            }),
            ..Product::default()
        }
    }

    #[test]
    fn guard_counts_active_products_in_scope() {
        let s = Survey {
            scope: 20,
            missing: vec![product(1, "A", 1, ProductStatus::Active); 3],
            returned: vec![],
        };
        assert!(s.check(Threshold::Percent(10.0)).is_err());
        assert!(s.check(Threshold::Percent(15.0)).is_ok());
        assert!(s.check(Threshold::Count(3)).is_ok());
    }

    #[test]
    fn state_remembers_what_was_retired() {
        let mut state = JobState::default();
        state.products.insert(1, ManagedProduct::default());
        let p1 = product(1, "A", 1, ProductStatus::Active);
        let p2 = product(2, "B", 2, ProductStatus::Active);
        let mut outcomes = report(std::slice::from_ref(&p1));
        outcomes[0].result = "deactivated";
        outcomes.push(MissingOutcome::of(&p2, "deactivate", "deactivated"));
        note_in_state(&mut state, &outcomes);
        assert!(state.products[&1].deactivated && state.products[&2].deactivated);
        note_in_state(
            &mut state,
            &[MissingOutcome::of(&p2, "reactivate", "reactivated")],
        );
        assert!(!state.products[&2].deactivated);
    }
}
