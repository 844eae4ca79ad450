//! Products that already exist on the server: what to do with them
//! (`--existing`) and how to find them (a paged prefetch or one lookup per
//! row). Which fields of an existing product an update would change is in
//! [`super::changes`].
//!
//! A key held by more than one product on the server is never settled by
//! picking one of them: every way of finding products returns them all, and
//! the row ends as that key's error naming every id ([`ambiguous`]).
//!
//! The choice between prefetch and per-row lookups is made by cost, in
//! requests: a per-row lookup costs at least one request per row with a key;
//! a prefetch costs one request per page of existing products (whatever page
//! size the server chooses). The prefetch therefore reads pages only while it
//! has cost fewer requests than half the rows to import; if the server holds
//! more products than that, it is abandoned and the run looks rows up one by
//! one. Both count against the rate like every other request.
//!
//! A lookup never trusts the server's search to be exact. By number it reads
//! every page `productNumber` returns (the vendor's search may match by part
//! or ignoring case: `1` may bring 10, 100, …) and keeps the exact number. By
//! EAN, which `GET /products` cannot filter by (the vendor declares no such
//! parameter, and only declared parameters are sent), it searches the row's
//! name with `productSearch` and keeps the exact EAN; when that finds nothing
//! it reads the whole catalogue, again keeping the exact EAN.
//!
//! Reading the whole catalogue for every EAN-only row would cost rows ×
//! pages requests, so the check made before creating a row
//! ([`find_existing`]) shares one reading per run ([`EanCatalogue`]), kept as
//! the run's EAN index, and looks there only: every product with the EAN is
//! in it, whatever its name, so a key held twice is always seen. The check
//! after an unknown outcome ([`lookup_all`]) always reads afresh.

pub use crate::cli::ExistingMode;
use std::collections::HashMap;

use tokio::sync::OnceCell;

use super::found::FoundProduct;
use super::retry::{retry_idempotent, RetryPolicy};
use crate::api::types::Product;
use crate::client::paging::PageGuard;
use crate::client::{ApiError, Page, ProductApi, ProductKey, ProductQuery, RequestCounters};

/// Existing products by key, when they were prefetched; every product of a
/// key held twice, oldest first.
#[derive(Debug, Default)]
pub struct ExistingIndex {
    by_number: HashMap<String, Vec<Product>>,
    by_ean: HashMap<String, Vec<Product>>,
    /// By exact name (trimmed), for `--match-by name`.
    by_name: HashMap<String, Vec<Product>>,
    /// The highest id read, with or without a key.
    max_id: i64,
}

impl ExistingIndex {
    /// Reads every page of `GET /products` (following the server's `link`
    /// header), unless that would cost more than `max_pages` requests: then
    /// `None` (look up row by row instead). With `keep_fields` false only ids
    /// and keys are kept, to save memory.
    pub async fn prefetch<A: ProductApi>(
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        max_pages: u32,
        keep_fields: bool,
    ) -> Result<Option<ExistingIndex>, ApiError> {
        let mut index = ExistingIndex::default();
        let mut guard = PageGuard::new("GET /products");
        let mut cursor = None;
        loop {
            if guard.pages() >= max_pages {
                return Ok(None);
            }
            let page = retry_idempotent(policy, counters, || {
                api.list_products(&ProductQuery::All, cursor.as_ref())
            })
            .await?;
            let Some((items, next)) = guard.accept(page)? else {
                break;
            };
            for p in items {
                index.insert(p, keep_fields);
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(Some(index))
    }

    fn insert(&mut self, p: Product, keep_fields: bool) {
        self.max_id = self.max_id.max(p.id);
        let p = if keep_fields {
            p
        } else {
            Product {
                id: p.id,
                number: p.number,
                ean: p.ean,
                name: p.name,
                ..Product::default()
            }
        };
        if let Some(n) = p.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            insert_oldest_first(self.by_name.entry(n.to_string()).or_default(), p.clone());
        }
        if let Some(n) = p.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            insert_oldest_first(self.by_number.entry(n.to_string()).or_default(), p.clone());
        }
        if let Some(n) = p.ean.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            insert_oldest_first(self.by_ean.entry(n.to_string()).or_default(), p);
        }
    }

    /// Every existing product with this key, oldest first (more than one
    /// when the server holds the key twice).
    pub fn get(&self, key: &ProductKey) -> &[Product] {
        let found = match key {
            ProductKey::Number(n) => self.by_number.get(n.trim()),
            ProductKey::Ean(e) => self.by_ean.get(e.trim()),
            ProductKey::Name(n) => self.by_name.get(n.trim()),
        };
        found.map_or(&[], Vec::as_slice)
    }

    /// Number of products held.
    pub fn len(&self) -> usize {
        self.by_number.len().max(self.by_ean.len())
    }

    /// The highest product id read (0 when none), keyed or not.
    pub fn max_id(&self) -> i64 {
        self.max_id
    }
}

/// Puts `p` into `products` by id, oldest first; a page read twice adds nothing.
fn insert_oldest_first(products: &mut Vec<Product>, p: Product) {
    if let Err(at) = products.binary_search_by_key(&p.id, |q| q.id) {
        products.insert(at, p);
    }
}

/// The row's error when its key is held by more than one product on the
/// server: nothing is picked, every id is named.
pub fn ambiguous(key: &ProductKey, found: &[Product]) -> String {
    let ids: Vec<String> = found.iter().map(|p| p.id.to_string()).collect();
    let ids = match ids.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => ids.join(""),
    };
    format!(
        "{} products on the server have {key} (ids {ids}); none was picked: \
         remove or renumber the duplicates, then import this row again",
        found.len()
    )
}

/// The catalogue by EAN, as read once: every product of each EAN, oldest
/// first, with the last page's status and trace id.
type EanIndex = (HashMap<String, Vec<Product>>, u16, Option<String>);

/// The catalogue's EANs, read at most once per run for the checks made
/// before creating EAN-only rows (see the module docs). Shared by all workers.
#[derive(Debug, Default)]
pub struct EanCatalogue {
    index: OnceCell<EanIndex>,
}

/// Looks a product up before creating it: like [`lookup_all`], except that
/// an EAN is looked for in the catalogue read once and shared through
/// `catalogue` (not by name first: a search by name would miss a second
/// product with the EAN under another name, and the row must see every
/// one). Products created by this run after that reading are not in it;
/// they cannot share an EAN with a later row, since a file with the same
/// EAN twice is refused. Every product with the key, oldest first.
pub async fn find_existing<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    key: &ProductKey,
    catalogue: &EanCatalogue,
) -> Result<Vec<FoundProduct>, ApiError> {
    let ProductKey::Ean(ean) = key else {
        return lookup_all(api, policy, counters, key, None).await;
    };
    let (index, status, trace) = catalogue
        .index
        .get_or_try_init(|| async {
            let (items, status, trace) =
                all_products(api, policy, counters, &ProductQuery::All).await?;
            let mut index: HashMap<String, Vec<Product>> = HashMap::new();
            for p in items {
                let Some(e) = p.ean.as_deref().map(str::trim).filter(|e| !e.is_empty()) else {
                    continue;
                };
                insert_oldest_first(index.entry(e.to_string()).or_default(), p);
            }
            Ok::<_, ApiError>((index, status, trace))
        })
        .await?;
    Ok(index
        .get(ean.trim())
        .into_iter()
        .flatten()
        .map(|p| FoundProduct::new(p.clone(), *status, trace.clone()))
        .collect())
}

/// Every product of every page of `query`, with the last page's status and trace id.
async fn all_products<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    query: &ProductQuery,
) -> Result<(Vec<Product>, u16, Option<String>), ApiError> {
    let mut guard = PageGuard::new("GET /products");
    let mut cursor = None;
    let mut all = Vec::new();
    let mut status: u16;
    let mut trace: Option<String>;
    loop {
        let page: Page<Product> = retry_idempotent(policy, counters, || {
            api.list_products(query, cursor.as_ref())
        })
        .await?;
        (status, trace) = (page.status, page.trace_id.clone());
        let Some((items, next)) = guard.accept(page)? else {
            break;
        };
        all.extend(items);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok((all, status, trace))
}

/// Every product with exactly this key on the server, oldest first, each
/// with the status and trace id of the answer that held it.
///
/// `name` is the row's product name. It only matters for an EAN: the API
/// has no documented EAN filter, so the product is first searched by name
/// (`productSearch`), and only when that finds no exact EAN is the whole
/// catalogue read. Without a name, the catalogue is read.
pub async fn lookup_all<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    key: &ProductKey,
    name: Option<&str>,
) -> Result<Vec<FoundProduct>, ApiError> {
    match key {
        ProductKey::Number(n) => {
            let query = ProductQuery::Number(n.trim().to_string());
            exact_matches(api, policy, counters, &query, key).await
        }
        ProductKey::Name(n) => {
            let query = ProductQuery::Search(n.trim().to_string());
            exact_matches(api, policy, counters, &query, key).await
        }
        ProductKey::Ean(_) => {
            let name = name.map(str::trim).filter(|n| !n.is_empty());
            if let Some(name) = name {
                let query = ProductQuery::Search(name.to_string());
                let found = exact_matches(api, policy, counters, &query, key).await?;
                if !found.is_empty() {
                    return Ok(found);
                }
            }
            exact_matches(api, policy, counters, &ProductQuery::All, key).await
        }
    }
}

/// Reads every page of `query` and keeps the products matching `key`
/// exactly, oldest first.
async fn exact_matches<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    query: &ProductQuery,
    key: &ProductKey,
) -> Result<Vec<FoundProduct>, ApiError> {
    let mut guard = PageGuard::new("GET /products");
    let mut cursor = None;
    let mut found: Vec<FoundProduct> = Vec::new();
    loop {
        let page: Page<Product> = retry_idempotent(policy, counters, || {
            api.list_products(query, cursor.as_ref())
        })
        .await?;
        let (status, trace) = (page.status, page.trace_id.clone());
        let Some((items, next)) = guard.accept(page)? else {
            break;
        };
        for p in items.into_iter().filter(|p| key.matches(p)) {
            found.push(FoundProduct::new(p, status, trace.clone()));
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    found.sort_by_key(FoundProduct::id);
    found.dedup_by_key(|f| f.id());
    Ok(found)
}

#[cfg(test)]
mod lookup_tests {
    use super::*;
    use crate::client::fake::FakeApi;

    fn catalogue(n: i64) -> Vec<Product> {
        (1..=n)
            .map(|i| Product {
                id: i,
                name: Some(format!("Product {i}")),
                number: Some(i.to_string()),
                ean: Some(format!("{:013}", 7_000_000_000_000 + i)),
                ..Product::default()
            })
            .collect()
    }

    async fn find(api: &FakeApi, key: ProductKey, name: Option<&str>) -> Option<i64> {
        let policy = RetryPolicy::new(0);
        lookup_all(api, &policy, &RequestCounters::default(), &key, name)
            .await
            .unwrap()
            .first()
            .map(FoundProduct::id)
    }

    #[tokio::test]
    async fn a_number_is_found_exactly_through_a_partial_search() {
        // `1` matches 1, 10-19, 100-199, 1000: 113 products, 5 pages.
        let api = FakeApi {
            products: std::sync::Mutex::new(catalogue(1000)),
            ..FakeApi::default()
        };
        assert_eq!(
            find(&api, ProductKey::Number("1".into()), None).await,
            Some(1)
        );
        assert_eq!(
            find(&api, ProductKey::Number("1000".into()), None).await,
            Some(1000)
        );
        assert_eq!(
            find(&api, ProductKey::Number(" 999 ".into()), None).await,
            Some(999)
        );
        assert_eq!(
            find(&api, ProductKey::Number("1001".into()), None).await,
            None
        );
        // The exact product sits on the last page of the search: every page was read.
        api.products.lock().unwrap().push(Product {
            id: 1001,
            number: Some("x1".into()),
            ..Product::default()
        });
        assert_eq!(
            find(&api, ProductKey::Number("X1".into()), None).await,
            None
        );
        assert_eq!(
            find(&api, ProductKey::Number("x1".into()), None).await,
            Some(1001)
        );
    }

    #[tokio::test]
    async fn an_ean_is_found_by_name_then_in_the_catalogue() {
        let api = FakeApi {
            products: std::sync::Mutex::new(catalogue(200)),
            ..FakeApi::default()
        };
        let ean = |i: i64| ProductKey::Ean(format!("{:013}", 7_000_000_000_000 + i));
        // By name: one request.
        assert_eq!(find(&api, ean(150), Some("Product 150")).await, Some(150));
        assert_eq!(api.calls("GET /products"), 1);
        // Renamed since: the catalogue (8 pages, `ean` ignored) still finds it.
        assert_eq!(find(&api, ean(190), Some("Old name")).await, Some(190));
        assert_eq!(api.calls("GET /products"), 1 + 1 + 8);
        assert_eq!(find(&api, ean(201), None).await, None);
        // Never a match by part.
        assert_eq!(
            find(&api, ProductKey::Ean("700000000015".into()), None).await,
            None
        );
    }

    #[tokio::test]
    async fn before_creating_ean_rows_share_one_reading_of_the_catalogue() {
        let ean = |i: i64| ProductKey::Ean(format!("{:013}", 7_000_000_000_000 + i));
        let policy = RetryPolicy::new(0);
        let counters = RequestCounters::default();
        let api = FakeApi {
            products: std::sync::Mutex::new(catalogue(200)),
            ..FakeApi::default()
        };
        let catalogue = EanCatalogue::default();
        let rows = [
            (ean(500), "New 1"),
            (ean(501), "New 2"),
            (ean(120), "Renamed"),
            (ean(502), "New 3"),
        ];
        let found = futures::future::join_all(
            rows.iter()
                .map(|(key, _)| find_existing(&api, &policy, &counters, key, &catalogue)),
        )
        .await;
        let ids: Vec<Option<i64>> = found
            .into_iter()
            .map(|f| f.unwrap().first().map(FoundProduct::id))
            .collect();
        assert_eq!(ids, [None, None, Some(120), None]);
        // The catalogue (8 pages) once, for every row.
        assert_eq!(api.calls("GET /products"), 8);
    }
}
