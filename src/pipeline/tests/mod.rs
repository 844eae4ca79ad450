//! Pipeline tests against an in-memory mock of the API, with scripted faults.
//! This module holds the mock and the helpers; the tests are in one module
//! per theme.

mod existing_modes;
mod outcomes;
mod references;
mod settling;
mod stopping;
mod waiting;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::*;
use crate::api::types::{
    Category, NewCategory, NewProduct, NewSupplier, Product, ProductPatch, Supplier, Unit,
};
use crate::client::{Answer, Cursor, Page, ProductQuery};
use crate::results::RowStatus;
use crate::validate::{Draft, Problem, ProblemKind, Reference};
use journal::MaybeSent;
use retry::{RetryPolicy, SettlePolicy};

/// What the next create call does.
#[derive(Debug, Clone)]
enum Fault {
    /// Fails without creating.
    Before(ApiError),
    /// Creates, then fails (the client cannot know).
    After(ApiError),
    /// Fails at once, and creates the product this long afterwards (a
    /// server finishing a POST whose client gave up).
    Late(Duration, ApiError),
}

#[derive(Debug, Default)]
struct Mock {
    products: Mutex<Vec<Product>>,
    categories: Mutex<Vec<Category>>,
    create_faults: Mutex<VecDeque<Fault>>,
    creates: AtomicU32,
    patches: AtomicU32,
    category_creates: AtomicU32,
    lookups: AtomicU32,
    refuse_auth: bool,
    /// How long a new product stays out of listings and searches.
    search_lag: Duration,
    /// `GET /products/{id}` answers 404 for everything (a server to which
    /// only searches are known).
    no_get_by_id: bool,
    /// When each product becomes searchable, by id.
    visible_at: Mutex<HashMap<i64, tokio::time::Instant>>,
    /// Each POST's number and time.
    posts: Mutex<Vec<(Option<String>, tokio::time::Instant)>>,
    /// How long each POST takes to answer.
    create_delay: Duration,
    /// `GET /products/{id}` calls.
    gets: AtomicU32,
}

impl Mock {
    fn with_categories(names: &[&str]) -> Mock {
        let m = Mock::default();
        *m.categories.lock().unwrap() = names
            .iter()
            .enumerate()
            .map(|(i, n)| Category {
                id: i as i64 + 1,
                name: Some(n.to_string()),
                ..Category::default()
            })
            .collect();
        m
    }
    fn fault(&self, f: Fault) {
        self.create_faults.lock().unwrap().push_back(f);
    }
    fn insert(&self, p: &NewProduct) -> Product {
        let mut all = self.products.lock().unwrap();
        let product = Product {
            id: all.len() as i64 + 1,
            name: p.name.clone(),
            number: p.number.clone(),
            ean: p.ean.clone(),
            sales_price: p.sales_price,
            category: p.category.map(|c| crate::api::types::NamedRef {
                id: Some(c.id),
                name: None,
            }),
            ..Product::default()
        };
        all.push(product.clone());
        self.visible_at
            .lock()
            .unwrap()
            .insert(product.id, tokio::time::Instant::now() + self.search_lag);
        product
    }
    fn count_number(&self, n: &str) -> usize {
        self.products
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.number.as_deref() == Some(n))
            .count()
    }
}

fn status(status: u16) -> ApiError {
    ApiError::Status {
        status,
        message: format!("HTTP {status}"),
        trace_id: Some("tr".into()),
        retry_after: None,
    }
}

fn ok<T>(value: T, status: u16) -> Answer<T> {
    Answer {
        value,
        status,
        trace_id: Some(format!("trace-{status}")),
    }
}

impl ProductApi for Arc<Mock> {
    async fn authenticate(&self) -> Result<(), ApiError> {
        if self.refuse_auth {
            return Err(ApiError::Auth {
                status: 401,
                message: "bad client".into(),
                trace_id: None,
            });
        }
        Ok(())
    }
    async fn create_product(&self, product: &NewProduct) -> Result<Answer<Product>, ApiError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.posts
            .lock()
            .unwrap()
            .push((product.number.clone(), tokio::time::Instant::now()));
        tokio::task::yield_now().await;
        let fault = self.create_faults.lock().unwrap().pop_front();
        if !self.create_delay.is_zero() {
            tokio::time::sleep(self.create_delay).await;
        }
        match fault {
            Some(Fault::Before(e)) => Err(e),
            Some(Fault::After(e)) => {
                self.insert(product);
                Err(e)
            }
            Some(Fault::Late(after, e)) => {
                let (mock, product) = (self.clone(), product.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    mock.insert(&product);
                });
                Err(e)
            }
            None => Ok(ok(self.insert(product), 201)),
        }
    }
    async fn get_product(&self, id: i64) -> Result<Option<Answer<Product>>, ApiError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        if self.no_get_by_id {
            return Ok(None);
        }
        let all = self.products.lock().unwrap();
        Ok(all.iter().find(|p| p.id == id).cloned().map(|p| ok(p, 200)))
    }
    async fn update_product(
        &self,
        id: i64,
        changes: &ProductPatch,
    ) -> Result<Answer<Option<Product>>, ApiError> {
        self.patches.fetch_add(1, Ordering::SeqCst);
        let mut all = self.products.lock().unwrap();
        let p = all
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| status(404))?;
        if let Some(price) = changes.set.sales_price {
            p.sales_price = Some(price);
        }
        Ok(ok(Some(p.clone()), 200))
    }
    async fn list_products(
        &self,
        query: &ProductQuery,
        next: Option<&Cursor>,
    ) -> Result<Page<Product>, ApiError> {
        if *query != ProductQuery::All {
            self.lookups.fetch_add(1, Ordering::SeqCst);
        }
        let all = self.products.lock().unwrap();
        let visible = self.visible_at.lock().unwrap();
        let now = tokio::time::Instant::now();
        let matching: Vec<&Product> = all
            .iter()
            .filter(|p| visible.get(&p.id).is_none_or(|at| *at <= now))
            .filter(|p| match query {
                ProductQuery::All => true,
                ProductQuery::Number(n) => p.number.as_deref() == Some(n.as_str()),
                ProductQuery::Search(s) => p.name.as_deref() == Some(s.as_str()),
            })
            .collect();
        Ok(mock_page(&matching, next, 100))
    }
    async fn list_categories(&self, next: Option<&Cursor>) -> Result<Page<Category>, ApiError> {
        let all = self.categories.lock().unwrap().clone();
        Ok(mock_page(&all.iter().collect::<Vec<_>>(), next, 2))
    }
    async fn create_category(&self, category: &NewCategory) -> Result<Category, ApiError> {
        self.category_creates.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut all = self.categories.lock().unwrap();
        let c = Category {
            id: all.len() as i64 + 1,
            name: Some(category.name.clone()),
            ..Category::default()
        };
        all.push(c.clone());
        Ok(c)
    }
    async fn list_units(&self, _next: Option<&Cursor>) -> Result<Page<Unit>, ApiError> {
        Ok(Page::new(
            vec![Unit {
                id: Some(7),
                name: Some("Stykk".into()),
                symbol: Some("stk".into()),
            }],
            None,
        ))
    }
    async fn list_suppliers(
        &self,
        org: Option<&str>,
        _next: Option<&Cursor>,
    ) -> Result<Page<Supplier>, ApiError> {
        let all = vec![Supplier {
            id: 30,
            name: Some("Acme AS".into()),
            organization_number: Some("987 654 321".into()),
            is_supplier: Some(true),
        }];
        let items = all
            .into_iter()
            .filter(|s| {
                org.is_none_or(|o| s.organization_number.as_deref().unwrap().replace(' ', "") == o)
            })
            .collect();
        Ok(Page::new(items, None))
    }
    async fn create_supplier(&self, _supplier: &NewSupplier) -> Result<Supplier, ApiError> {
        Err(status(403))
    }
}

/// A page of `size` items of `all`, the cursor being the offset.
fn mock_page<T: Clone>(all: &[&T], next: Option<&Cursor>, size: usize) -> Page<T> {
    let start: usize = next.map_or(0, |c| c.as_str().parse().unwrap());
    let items: Vec<T> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|t| (*t).clone())
        .collect();
    let end = start + items.len();
    let next = (end < all.len()).then(|| Cursor::new(end.to_string()));
    Page::new(items, next)
}

fn draft(number: Option<&str>, category: Reference) -> Draft {
    Draft {
        product: NewProduct {
            name: Some(format!("Product {}", number.unwrap_or("-"))),
            number: number.map(str::to_string),
            sales_price: Some(10.0),
            ..NewProduct::default()
        },
        category: Some(category),
        unit: None,
        supplier: None,
        notes: Vec::new(),
    }
}

fn rows(n: u64) -> Vec<PreparedRow> {
    (0..n)
        .map(|i| PreparedRow {
            row: i + 2,
            cells: [format!("P{i}")].into_iter().collect(),
            outcome: Ok(draft(Some(&format!("P{i}")), Reference::Id(1))),
        })
        .collect()
}

fn plan(existing: ExistingMode) -> PipelinePlan {
    PipelinePlan {
        row: RowSettings {
            existing,
            dry_run: false,
            retry: RetryPolicy {
                max_retries: 5,
                max_rate_limited: 20,
                base: Duration::from_millis(1),
                cap: Duration::from_millis(5),
                ..RetryPolicy::new(5)
            },
            settle: SettlePolicy {
                time: Duration::from_millis(30),
                lookups: 3,
            },
            sheet: None,
            reference_columns: Default::default(),
            empty_cells: Default::default(),
            match_by_name: false,
        },
        create_categories: false,
        create_suppliers: false,
        concurrency: 4,
        grace: Duration::from_secs(5),
        journal: None,
        known: Default::default(),
    }
}

struct Run {
    report: Report,
    records: Vec<RowRecord>,
    counters: Arc<RequestCounters>,
}

async fn run_with(
    mock: &Arc<Mock>,
    plan: PipelinePlan,
    input: Vec<PreparedRow>,
    maybe_sent: MaybeSent,
) -> Run {
    let total = input.len() as u64;
    let input = Input {
        rows: Box::new(input.into_iter()),
        total: Some(total),
        kept: Vec::new(),
        maybe_sent,
    };
    let sink = MemorySink::default();
    let counters = Arc::new(RequestCounters::default());
    let (_stop_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(sink.clone()),
        progress: Progress::hidden(),
        pacer: None,
        counters: counters.clone(),
        stop,
    };
    let report = super::run(mock.clone(), plan, input, wiring)
        .await
        .expect("run");
    let records = sink.0.lock().unwrap().clone();
    Run {
        report,
        records,
        counters,
    }
}

/// A sink that keeps rows in memory, sorted by row at the end.
#[derive(Debug, Clone, Default)]
struct MemorySink(Arc<std::sync::Mutex<Vec<RowRecord>>>);

impl crate::results::RecordSink for MemorySink {
    fn write(&mut self, record: &RowRecord) -> Result<(), crate::results::OutputError> {
        self.0.lock().expect("sink lock").push(record.clone());
        Ok(())
    }
    fn flush(&mut self) -> Result<(), crate::results::OutputError> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<(), crate::results::OutputError> {
        self.0.lock().expect("sink lock").sort_by_key(|r| r.row);
        Ok(())
    }
}
