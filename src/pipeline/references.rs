//! Resolving categories, units and suppliers given by name to their ids,
//! once per distinct value (case-insensitive), shared by all workers.
//!
//! Each distinct value has its own once-cell: the first row that needs it
//! resolves it while later rows with the same value wait, so a missing
//! category is created exactly once even when many rows ask at the same time.
//!
//! Each list (categories, units, suppliers) is read at most once per run, all
//! its pages (following the server's `link` header), and indexed. Suppliers
//! are found by organization number (digits compared without spaces; the
//! `organizationNumber` filter is tried first, but its answer is checked,
//! since a server may ignore it), by id, or by name. A list the API client may
//! not read (403, a missing scope) resolves to [`Resolution::Refused`]: the
//! rows that need it are invalid, naming the scope, and the others go on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::retry::{retry_idempotent, Attempts, RetryPolicy};
use crate::api::types::{Category, NewCategory, Supplier};
use crate::client::paging::{all_pages, PageGuard};
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
    /// The API client lacks the scope to look the record up (or to create
    /// the category): the row is invalid with this message, which names the
    /// missing scope. The run goes on for rows that do not need it.
    Refused(String),
}

/// Lower-cased, trimmed: the key names are compared by.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

type Cell = Arc<OnceCell<Resolution>>;

/// A list read once: its index, or the message saying it may not be read.
type Listing<T> = OnceCell<Result<Arc<T>, String>>;

/// Names (folded) to ids.
type NameIndex = HashMap<String, i64>;

/// Every supplier, by each of the ways a row may name one.
#[derive(Debug, Default)]
struct SupplierIndex {
    by_name: NameIndex,
    by_org: HashMap<String, i64>,
    ids: std::collections::HashSet<i64>,
}

/// Resolves references by name against the API, caching every answer.
#[derive(Debug)]
pub struct References {
    create_categories: bool,
    dry_run: bool,
    categories: Listing<NameIndex>,
    units: Listing<NameIndex>,
    suppliers: Listing<SupplierIndex>,
    /// The server answered an `organizationNumber` filter with other
    /// suppliers: it ignores the filter, so asking again is a wasted request.
    org_filter_ignored: AtomicBool,
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
            org_filter_ignored: AtomicBool::new(false),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves `reference` of kind `kind`; ids are taken as they are.
    /// `Err` only for a failed lookup (server unreachable, out of retries)
    /// or a fatal error; a missing scope is [`Resolution::Refused`].
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
            // Resolved through the category tree in the next change.
            Reference::Path(_) => return Ok(Resolution::Missing),
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
            RefKind::Supplier => format!(
                "supplier \"{name}\" was not found by name, organization number or id"
            ),
        }
    }

    /// The problem to report when the API client may not look `kind` up.
    pub fn refused_message(kind: RefKind, scope: &str) -> String {
        let what = match kind {
            RefKind::Category => "categories",
            RefKind::Unit => "units",
            RefKind::Supplier => "suppliers",
        };
        format!("{what} cannot be looked up: the API client lacks the scope {scope}")
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
                let known = match self.category_index(api, policy, counters).await? {
                    Ok(known) => known,
                    Err(refused) => return Ok(Resolution::Refused(refused)),
                };
                if let Some(id) = known.get(key) {
                    return Ok(Resolution::Id(*id));
                }
                if !self.create_categories {
                    return Ok(Resolution::Missing);
                }
                if self.dry_run {
                    return Ok(Resolution::WouldCreate);
                }
                match self.create_category(api, policy, counters, name, key).await {
                    Ok(id) => Ok(Resolution::Id(id)),
                    Err(ApiError::Forbidden { scope, .. }) => Ok(Resolution::Refused(format!(
                        "category \"{}\" cannot be created: the API client lacks the scope {scope}",
                        name.trim()
                    ))),
                    Err(e) => Err(e),
                }
            }
            RefKind::Unit => Ok(match self.unit_index(api, policy, counters).await? {
                Ok(known) => known
                    .get(key)
                    .map_or(Resolution::Missing, |id| Resolution::Id(*id)),
                Err(refused) => Resolution::Refused(refused),
            }),
            RefKind::Supplier => self.supplier(api, policy, counters, key).await,
        }
    }

    /// Every unit, indexed by folded symbol and name (read once).
    async fn unit_index<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
    ) -> Result<Result<Arc<NameIndex>, String>, ApiError> {
        self.units
            .get_or_try_init(|| async {
                let list = refusable(
                    RefKind::Unit,
                    all_pages(PageGuard::new("GET /productunits"), |cursor| async move {
                        retry_idempotent(policy, counters, || api.list_units(cursor.as_ref())).await
                    })
                    .await,
                )?;
                Ok::<_, ApiError>(list.map(|units| {
                    let mut pairs = Vec::new();
                    for u in units {
                        if let Some(id) = u.id {
                            pairs.push((u.symbol, id));
                            pairs.push((u.name, id));
                        }
                    }
                    Arc::new(index(pairs))
                }))
            })
            .await
            .cloned()
    }

    /// Every category, indexed by folded name (read once).
    async fn category_index<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
    ) -> Result<Result<Arc<NameIndex>, String>, ApiError> {
        self.categories
            .get_or_try_init(|| async {
                let list = refusable(
                    RefKind::Category,
                    all_categories(api, policy, counters).await,
                )?;
                Ok::<_, ApiError>(
                    list.map(|list| Arc::new(index(list.into_iter().map(|c| (c.name, c.id))))),
                )
            })
            .await
            .cloned()
    }

    /// A supplier by organization number, id or name (`key` is folded).
    async fn supplier<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        key: &str,
    ) -> Result<Resolution, ApiError> {
        let digits: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        let digits_only = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
        // The filter saves reading the whole list, when the list is not read
        // yet and the server honours it; its answer is checked either way.
        if digits_only
            && self.suppliers.get().is_none()
            && !self.org_filter_ignored.load(Ordering::Relaxed)
        {
            let page =
                retry_idempotent(policy, counters, || api.list_suppliers(Some(&digits), None))
                    .await;
            match page {
                Ok(page) => {
                    if let Some(s) = page.items.iter().find(|s| org_digits(s) == digits) {
                        return Ok(Resolution::Id(s.id));
                    }
                    if page.items.iter().any(|s| org_digits(s) != digits) {
                        self.org_filter_ignored.store(true, Ordering::Relaxed);
                    }
                }
                // The list below is refused too, once, and that answer is kept.
                Err(ApiError::Forbidden { .. }) => {
                    self.org_filter_ignored.store(true, Ordering::Relaxed)
                }
                Err(e) => return Err(e),
            }
        }
        let known = self
            .suppliers
            .get_or_try_init(|| async {
                let list = refusable(
                    RefKind::Supplier,
                    all_pages(PageGuard::new("GET /customers"), |cursor| async move {
                        retry_idempotent(policy, counters, || {
                            api.list_suppliers(None, cursor.as_ref())
                        })
                        .await
                    })
                    .await,
                )?;
                Ok::<_, ApiError>(list.map(|list| Arc::new(supplier_index(list))))
            })
            .await?;
        let known = match known {
            Ok(known) => known,
            Err(refused) => return Ok(Resolution::Refused(refused.clone())),
        };
        if digits_only {
            if let Some(id) = known.by_org.get(&digits) {
                return Ok(Resolution::Id(*id));
            }
            if let Ok(id) = digits.parse::<i64>() {
                if known.ids.contains(&id) {
                    return Ok(Resolution::Id(id));
                }
            }
        }
        Ok(known
            .by_name
            .get(key)
            .map_or(Resolution::Missing, |id| Resolution::Id(*id)))
    }

    /// Creates a category. The list (every page) is read again first, since
    /// another run may have created it since the list was read; and when an
    /// answer is lost it is read again before sending once more, so the
    /// category is never created twice.
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
        let mut check = true;
        loop {
            if check {
                let list = all_categories(api, policy, counters).await?;
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
                    check = class == ErrorClass::Unknown;
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

/// Every page of `GET /productcategories`.
async fn all_categories<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
) -> Result<Vec<Category>, ApiError> {
    all_pages(
        PageGuard::new("GET /productcategories"),
        |cursor| async move {
            retry_idempotent(policy, counters, || api.list_categories(cursor.as_ref())).await
        },
    )
    .await
}

/// A list, or the message saying the API client may not read it.
fn refusable<T>(kind: RefKind, list: Result<T, ApiError>) -> Result<Result<T, String>, ApiError> {
    match list {
        Ok(list) => Ok(Ok(list)),
        Err(ApiError::Forbidden { scope, .. }) => Ok(Err(References::refused_message(kind, scope))),
        Err(e) => Err(e),
    }
}

fn supplier_index(list: Vec<Supplier>) -> SupplierIndex {
    let mut out = SupplierIndex::default();
    for s in &list {
        out.ids.insert(s.id);
        let org = org_digits(s);
        if !org.is_empty() {
            out.by_org.entry(org).or_insert(s.id);
        }
    }
    out.by_name = index(list.into_iter().map(|s| (s.name, s.id)));
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::Unit;
    use crate::client::fake::FakeApi;

    fn suppliers(n: i64) -> Vec<Supplier> {
        (1..=n)
            .map(|i| Supplier {
                id: 10_000 + i,
                name: Some(format!("Supplier {i}")),
                organization_number: Some(format!("9{:02} {:03} {:03}", i % 100, i, i)),
                is_supplier: Some(true),
            })
            .collect()
    }

    async fn resolve(refs: &References, api: &FakeApi, kind: RefKind, name: &str) -> Resolution {
        let policy = RetryPolicy::new(0);
        let counters = RequestCounters::default();
        refs.resolve(api, &policy, &counters, kind, &Reference::Name(name.into()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn suppliers_by_name_id_or_organization_number_in_one_pass() {
        let api = FakeApi {
            suppliers: suppliers(300),
            ..FakeApi::default()
        };
        let refs = References::new(false, false);
        let wanted = [
            ("supplier 7", Resolution::Id(10_007)),
            ("SUPPLIER 300", Resolution::Id(10_300)),
            ("10003", Resolution::Id(10_003)),
            ("907007007", Resolution::Id(10_007)),
            ("9 42 042 042", Resolution::Id(10_042)),
            ("Supplier 301", Resolution::Missing),
            ("99999", Resolution::Missing),
        ];
        let results = futures::future::join_all(
            wanted
                .iter()
                .map(|(name, _)| resolve(&refs, &api, RefKind::Supplier, name)),
        )
        .await;
        for ((name, expected), got) in wanted.iter().zip(results) {
            assert_eq!(&got, expected, "{name}");
        }
        // 300 suppliers, 25 a page: one pass is 12 pages. The organization
        // number filter (ignored here) is tried until it shows it is ignored.
        let calls = api.calls("GET /customers");
        assert!(calls <= 12 + 3, "{calls} requests");
        // Asked again: answered from the cache.
        resolve(&refs, &api, RefKind::Supplier, "Supplier 9").await;
        assert_eq!(api.calls("GET /customers"), calls);
    }

    #[tokio::test]
    async fn a_missing_scope_refuses_the_lookup_and_names_the_scope() {
        let api = FakeApi {
            suppliers: suppliers(3),
            denied: vec!["api.crm.customer:read", "api.product.category:write"],
            categories: Mutex::new(vec![Category {
                id: 1,
                name: Some("General".into()),
                ..Category::default()
            }]),
            ..FakeApi::default()
        };
        let refs = References::new(true, false);
        let got = resolve(&refs, &api, RefKind::Supplier, "Supplier 1").await;
        assert_eq!(
            got,
            Resolution::Refused(
                "suppliers cannot be looked up: the API client lacks the scope api.crm.customer:read"
                    .into()
            )
        );
        let got = resolve(&refs, &api, RefKind::Supplier, "987654321").await;
        assert!(matches!(got, Resolution::Refused(m) if m.contains("api.crm.customer:read")));
        // Categories can be read, not created.
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "general").await,
            Resolution::Id(1)
        );
        let got = resolve(&refs, &api, RefKind::Category, "New one").await;
        assert!(
            matches!(&got, Resolution::Refused(m) if m.contains("\"New one\"") && m.contains("api.product.category:write")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn categories_on_every_page_and_each_missing_one_created_once() {
        let api = FakeApi {
            page_size: 2,
            categories: Mutex::new(
                (1..=7)
                    .map(|id| Category {
                        id,
                        name: Some(format!("Cat {id}")),
                        ..Category::default()
                    })
                    .collect(),
            ),
            units: (1..=30)
                .map(|id| Unit {
                    id: Some(id),
                    name: Some(format!("Unit {id}")),
                    symbol: Some(format!("u{id}")),
                })
                .collect(),
            ..FakeApi::default()
        };
        let refs = References::new(true, false);
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "cat 7").await,
            Resolution::Id(7)
        );
        let names = ["Brand new", "brand NEW", "Other", "Brand new "];
        let got = futures::future::join_all(
            names
                .iter()
                .map(|n| resolve(&refs, &api, RefKind::Category, n)),
        )
        .await;
        assert_eq!(got[0], got[1]);
        assert_eq!(got[0], got[3]);
        assert_ne!(got[0], got[2]);
        assert_eq!(api.calls("POST /productcategories"), 2);
        // Units on the last of 15 pages are found too.
        assert_eq!(
            resolve(&refs, &api, RefKind::Unit, "U30").await,
            Resolution::Id(30)
        );
        assert_eq!(api.calls("GET /productunits"), 15);
    }

    #[tokio::test]
    async fn a_category_created_meanwhile_is_not_created_again() {
        let api = FakeApi::default();
        let refs = References::new(true, false);
        // The list is read (empty), then someone else creates the category.
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "General").await,
            Resolution::Id(1)
        );
        let other = References::new(true, false);
        other
            .category_index(&api, &RetryPolicy::new(0), &RequestCounters::default())
            .await
            .unwrap()
            .unwrap();
        api.categories.lock().unwrap().push(Category {
            id: 2,
            name: Some("Shoes".into()),
            ..Category::default()
        });
        assert_eq!(
            resolve(&other, &api, RefKind::Category, "shoes").await,
            Resolution::Id(2)
        );
        assert_eq!(api.calls("POST /productcategories"), 1);
    }
}
