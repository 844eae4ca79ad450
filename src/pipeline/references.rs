//! Resolving categories, units and suppliers given by name to their ids,
//! once per distinct value (case-insensitive), shared by all workers.
//!
//! Each distinct value has its own once-cell: the first row that needs it
//! resolves it while later rows with the same value wait, so a missing
//! category is created exactly once even when many rows ask at the same time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::retry::{retry_idempotent, Attempts, RetryPolicy};
use crate::api::types::{NewCategory, Supplier};
use crate::client::{ApiError, ErrorClass, ProductApi, RequestCounters};
use crate::validate::Reference;

/// What kind of record a reference points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// A product category.
    Category,
    /// A unit of measurement.
    Unit,
    /// A supplier.
    Supplier,
}

/// The outcome of resolving one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Found (or created): use this id.
    Id(i64),
    /// No such record: the row is invalid.
    Missing,
    /// Dry run with `--create-categories`: the category would be created.
    WouldCreate,
}

/// Lower-cased, trimmed: the key names are compared by.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

type Cell = Arc<OnceCell<Resolution>>;

/// Resolves references by name against the API, caching every answer.
#[derive(Debug)]
pub struct References {
    create_categories: bool,
    dry_run: bool,
    categories: OnceCell<HashMap<String, i64>>,
    units: OnceCell<HashMap<String, i64>>,
    suppliers: OnceCell<HashMap<String, i64>>,
    resolved: Mutex<HashMap<(RefKind, String), Cell>>,
}

impl References {
    /// A resolver; with `create_categories`, missing categories are created
    /// (unless `dry_run`, which only says they would be).
    pub fn new(create_categories: bool, dry_run: bool) -> References {
        References {
            create_categories,
            dry_run,
            categories: OnceCell::new(),
            units: OnceCell::new(),
            suppliers: OnceCell::new(),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves `reference` of kind `kind`; ids are taken as they are.
    pub async fn resolve<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        kind: RefKind,
        reference: &Reference,
    ) -> Result<Resolution, ApiError> {
        let name = match reference {
            Reference::Id(id) => return Ok(Resolution::Id(*id)),
            Reference::Name(name) => name,
        };
        let key = fold(name);
        let cell = {
            let mut map = self.resolved.lock().expect("references lock");
            map.entry((kind, key.clone())).or_default().clone()
        };
        cell.get_or_try_init(|| self.lookup(api, policy, counters, kind, name, &key))
            .await
            .cloned()
    }

    /// The problem to report for a reference that could not be resolved.
    pub fn missing_message(kind: RefKind, name: &str) -> String {
        match kind {
            RefKind::Category => format!(
                "category \"{name}\" was not found (create it in Finago Office, give its id, or use --create-categories)"
            ),
            RefKind::Unit => format!("unit \"{name}\" was not found by name or symbol"),
            RefKind::Supplier => format!("supplier \"{name}\" was not found by name or organization number"),
        }
    }

    async fn lookup<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        kind: RefKind,
        name: &str,
        key: &str,
    ) -> Result<Resolution, ApiError> {
        match kind {
            RefKind::Category => {
                let known = self
                    .categories
                    .get_or_try_init(|| async {
                        let list =
                            retry_idempotent(policy, counters, || api.list_categories()).await?;
                        Ok::<_, ApiError>(index(list.into_iter().map(|c| (c.name, c.id))))
                    })
                    .await?;
                if let Some(id) = known.get(key) {
                    return Ok(Resolution::Id(*id));
                }
                if !self.create_categories {
                    return Ok(Resolution::Missing);
                }
                if self.dry_run {
                    return Ok(Resolution::WouldCreate);
                }
                self.create_category(api, policy, counters, name, key)
                    .await
                    .map(Resolution::Id)
            }
            RefKind::Unit => {
                let known = self
                    .units
                    .get_or_try_init(|| async {
                        let list = retry_idempotent(policy, counters, || api.list_units()).await?;
                        let mut pairs = Vec::new();
                        for u in list {
                            if let Some(id) = u.id {
                                pairs.push((u.symbol.clone(), id));
                                pairs.push((u.name.clone(), id));
                            }
                        }
                        Ok::<_, ApiError>(index(pairs))
                    })
                    .await?;
                Ok(known
                    .get(key)
                    .map_or(Resolution::Missing, |id| Resolution::Id(*id)))
            }
            RefKind::Supplier => {
                let digits: String = key.chars().filter(|c| !c.is_whitespace()).collect();
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    let page =
                        retry_idempotent(policy, counters, || api.list_suppliers(Some(&digits), 1))
                            .await?;
                    let found = page.items.iter().find(|s| org_digits(s) == digits);
                    if let Some(s) = found {
                        return Ok(Resolution::Id(s.id));
                    }
                }
                let known = self
                    .suppliers
                    .get_or_try_init(|| async {
                        let mut pairs = Vec::new();
                        let mut page_no = 1;
                        let mut previous_first = None;
                        loop {
                            let page = retry_idempotent(policy, counters, || {
                                api.list_suppliers(None, page_no)
                            })
                            .await?;
                            let empty = page.items.is_empty();
                            // A server that ignores `page` answers the same page again.
                            let first = page.items.first().map(|s| s.id);
                            let repeated = first.is_some() && first == previous_first;
                            previous_first = first;
                            if repeated {
                                break;
                            }
                            pairs.extend(page.items.into_iter().map(|s| (s.name, s.id)));
                            if !page.more || empty || page_no >= 10_000 {
                                break;
                            }
                            page_no += 1;
                        }
                        Ok::<_, ApiError>(index(pairs))
                    })
                    .await?;
                Ok(known
                    .get(key)
                    .map_or(Resolution::Missing, |id| Resolution::Id(*id)))
            }
        }
    }

    /// Creates a category. When the answer is lost, the list is read again
    /// before sending once more, so the category is never created twice.
    async fn create_category<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        name: &str,
        key: &str,
    ) -> Result<i64, ApiError> {
        let body = NewCategory {
            name: name.trim().to_string(),
            ..NewCategory::default()
        };
        let mut attempts = Attempts::default();
        let mut uncertain = false;
        loop {
            if uncertain {
                let list = retry_idempotent(policy, counters, || api.list_categories()).await?;
                if let Some(c) = list
                    .iter()
                    .find(|c| c.name.as_deref().map(fold).as_deref() == Some(key))
                {
                    return Ok(c.id);
                }
            }
            match api.create_category(&body).await {
                Ok(c) => return Ok(c.id),
                Err(e) => {
                    let class = e.class();
                    uncertain |= class == ErrorClass::Unknown;
                    match attempts.next_wait(policy, class) {
                        Some(wait) => {
                            RequestCounters::bump(&counters.retries);
                            tokio::time::sleep(wait).await;
                        }
                        None => return Err(e),
                    }
                }
            }
        }
    }
}

fn org_digits(s: &Supplier) -> String {
    s.organization_number
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

/// A name index; the first record wins when two share a name.
fn index(pairs: impl IntoIterator<Item = (Option<String>, i64)>) -> HashMap<String, i64> {
    let mut map = HashMap::new();
    for (name, id) in pairs {
        if let Some(name) = name {
            map.entry(fold(&name)).or_insert(id);
        }
    }
    map
}
