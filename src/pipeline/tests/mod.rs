//! Pipeline tests against an in-memory mock of the API, with scripted faults.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::*;
use crate::api::types::{
    Category, IdRef, NewCategory, NewProduct, Product, ProductPatch, Supplier, Unit,
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
    /// When each product becomes searchable, by id.
    visible_at: Mutex<HashMap<i64, tokio::time::Instant>>,
    /// Each POST's number and time.
    posts: Mutex<Vec<(Option<String>, tokio::time::Instant)>>,
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
                ProductQuery::EanHint(e) => p.ean.as_deref() == Some(e.as_str()),
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
    }
}

fn rows(n: u64) -> Vec<PreparedRow> {
    (0..n)
        .map(|i| PreparedRow {
            row: i + 2,
            cells: vec![format!("P{i}")],
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
            },
            settle: SettlePolicy {
                time: Duration::from_millis(30),
                lookups: 3,
            },
            sheet: None,
            reference_columns: Default::default(),
            empty_cells: Default::default(),
        },
        create_categories: false,
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

#[tokio::test]
async fn faults_never_lose_a_row_nor_duplicate_one() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    for f in [
        Fault::Before(status(500)),
        Fault::After(status(502)),
        Fault::Before(ApiError::Connect("refused".into())),
        Fault::After(ApiError::Timeout),
        Fault::Before(status(503)),
        Fault::After(ApiError::Transport("reset".into())),
        Fault::Before(ApiError::Status {
            status: 429,
            message: "slow down".into(),
            trace_id: None,
            retry_after: Some(Duration::from_millis(1)),
        }),
        Fault::After(status(504)),
    ] {
        mock.fault(f);
    }
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(40),
        MaybeSent::default(),
    )
    .await;
    assert!(matches!(run.report.end, RunEnd::Completed));
    assert_eq!(run.records.len(), 40);
    assert_eq!(
        mock.products.lock().unwrap().len(),
        40,
        "one product per row"
    );
    for r in &run.records {
        assert_eq!(r.status, RowStatus::Created, "{r:?}");
        let number = &r.cells[0];
        assert_eq!(mock.count_number(number), 1);
        let p = mock
            .products
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.number.as_ref() == Some(number))
            .unwrap()
            .clone();
        assert_eq!(r.id, Some(p.id));
    }
    // Sent again: after 500, no connection, 503 and 429. The four unknown
    // outcomes settled and found their products.
    assert_eq!(RequestCounters::get(&run.counters.retries), 4);
    assert_eq!((run.report.settled, run.report.settled_found), (4, 4));
    assert_eq!(run.report.tally.created, 40);
}

#[tokio::test]
async fn unknown_outcome_without_key_is_failed_and_never_resent() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::After(ApiError::Timeout));
    let row = PreparedRow {
        row: 2,
        cells: vec![],
        outcome: Ok(draft(None, Reference::Id(1))),
    };
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        vec![row],
        MaybeSent::default(),
    )
    .await;
    let r = &run.records[0];
    assert_eq!(r.status, RowStatus::Failed);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .starts_with(resume::UNCONFIRMED_NO_KEY),
        "{r:?}"
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn permanent_errors_fail_the_row_with_message_and_trace() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::Before(ApiError::Status {
        status: 400,
        message: "HTTP 400: name: too long (maxLength)".into(),
        trace_id: Some("t-9".into()),
        retry_after: None,
    }));
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    let r = &run.records[0];
    assert_eq!(
        (r.status, r.http_status, r.trace_id.as_deref()),
        (RowStatus::Failed, Some(400), Some("t-9"))
    );
    assert_eq!(
        r.error.as_deref(),
        Some("HTTP 400: name: too long (maxLength)")
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalid_rows_are_recorded_without_requests() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let row = PreparedRow {
        row: 5,
        cells: vec!["x".into()],
        outcome: Err(vec![Problem {
            row: 5,
            column: Some("Price".into()),
            value: Some("abc".into()),
            kind: ProblemKind::NotANumber,
            message: "is not a number".into(),
        }]),
    };
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        vec![row],
        MaybeSent::default(),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Invalid);
    assert_eq!(
        run.records[0].error.as_deref(),
        Some("column \"Price\": \"abc\" is not a number")
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn existing_products_skip_update_fail_create() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(3),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3);

    let again = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(3),
        MaybeSent::default(),
    )
    .await;
    assert!(again
        .records
        .iter()
        .all(|r| r.status == RowStatus::Skipped && r.id.is_some()));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3);

    let mut changed = rows(3);
    if let Ok(d) = &mut changed[1].outcome {
        d.product.sales_price = Some(99.0);
    }
    let upd = run_with(
        &mock,
        plan(ExistingMode::Update),
        changed,
        MaybeSent::default(),
    )
    .await;
    let statuses: Vec<RowStatus> = upd.records.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [RowStatus::Skipped, RowStatus::Updated, RowStatus::Skipped]
    );
    assert_eq!(mock.patches.load(Ordering::SeqCst), 1);

    let fail = run_with(
        &mock,
        plan(ExistingMode::Fail),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(fail.records[0].status, RowStatus::Failed);
    assert!(fail.records[0]
        .error
        .as_deref()
        .unwrap()
        .contains("a product with number \"P0\" already exists (id "));

    let create = run_with(
        &mock,
        plan(ExistingMode::Create),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(create.records[0].status, RowStatus::Created);
    assert_eq!(mock.count_number("P0"), 2);
}

#[tokio::test]
async fn rows_that_may_have_been_sent_are_looked_up_first() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.insert(&draft(Some("P0"), Reference::Id(1)).product);
    let mut p = plan(ExistingMode::Create);
    p.concurrency = 1;
    // The earlier run had seen no product id when it sent rows 2 and 3.
    let sent = MaybeSent {
        rows: [(2, Some(0)), (3, Some(0))].into(),
        age: Duration::ZERO,
    };
    let run = run_with(&mock, p, rows(2), sent).await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(run.records[0].id, Some(1));
    assert_eq!(run.records[1].status, RowStatus::Created);
    assert_eq!(mock.products.lock().unwrap().len(), 2);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);
}

fn settle_plan(existing: ExistingMode, settle_secs: u64) -> PipelinePlan {
    let mut p = plan(existing);
    p.row.settle = SettlePolicy {
        time: Duration::from_secs(settle_secs),
        lookups: 3,
    };
    p
}

#[tokio::test(start_paused = true)]
async fn a_late_completion_is_found_at_the_second_lookup_and_not_sent_again() {
    let mut mock = Mock::with_categories(&["Tools"]);
    mock.search_lag = Duration::from_millis(1500);
    let mock = Arc::new(mock);
    // The client gives up at once; the server creates the product 1.5 s
    // later, searchable 1.5 s after that: after the lookup at 5/3 s, before
    // the one at 10/3 s.
    mock.fault(Fault::Late(Duration::from_millis(1500), ApiError::Timeout));
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Skip, 5),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    let r = &run.records[0];
    assert_eq!(r.status, RowStatus::Created, "{r:?}");
    assert_eq!(r.id, Some(1));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1, "never sent again");
    assert_eq!(mock.count_number("P0"), 1);
    assert_eq!(
        mock.lookups.load(Ordering::SeqCst),
        2,
        "found at the second"
    );
    assert_eq!((run.report.settled, run.report.settled_found), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_product_not_found_after_settling_is_sent_again_once() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::Before(ApiError::Timeout));
    let started = tokio::time::Instant::now();
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Skip, 6),
        rows(1),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 2);
    assert_eq!(mock.count_number("P0"), 1);
    assert_eq!(
        mock.lookups.load(Ordering::SeqCst),
        3,
        "three lookups first"
    );
    let posts = mock.posts.lock().unwrap().clone();
    assert!(
        posts[1].1 - started >= Duration::from_secs(6),
        "sent again only after the settle time"
    );
    assert_eq!((run.report.settled, run.report.settled_found), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn an_older_product_with_the_same_number_is_not_taken_under_existing_create() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    // Products from before the run, with the rows' numbers and names.
    let old_p0 = mock.insert(&draft(Some("P0"), Reference::Id(1)).product).id;
    let old_p1 = mock.insert(&draft(Some("P1"), Reference::Id(1)).product).id;
    // P0's POST times out without creating; P1's creates late.
    mock.fault(Fault::Before(ApiError::Timeout));
    mock.fault(Fault::Late(Duration::from_millis(500), ApiError::Timeout));
    let mut p = settle_plan(ExistingMode::Create, 3);
    p.concurrency = 1;
    let run = run_with(&mock, p, rows(2), MaybeSent::default()).await;
    let (r0, r1) = (&run.records[0], &run.records[1]);
    assert_eq!(r0.status, RowStatus::Created, "{r0:?}");
    assert_eq!(r1.status, RowStatus::Created, "{r1:?}");
    assert_ne!(r0.id, Some(old_p0), "the old product is not the row's");
    assert_ne!(r1.id, Some(old_p1), "the old product is not the row's");
    assert_eq!(mock.count_number("P0"), 2, "the row made its own");
    assert_eq!(mock.count_number("P1"), 2, "the late one, not sent again");
    assert_eq!(mock.creates.load(Ordering::SeqCst), 3);
    for r in [r0, r1] {
        let p = mock
            .products
            .lock()
            .unwrap()
            .iter()
            .find(|p| Some(p.id) == r.id)
            .cloned()
            .unwrap();
        assert_eq!(p.number.as_ref(), Some(&r.cells[0]));
    }
}

#[tokio::test(start_paused = true)]
async fn settling_rows_give_their_slot_to_other_rows() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::After(status(504)));
    let mut p = settle_plan(ExistingMode::Create, 30);
    p.concurrency = 1;
    let started = tokio::time::Instant::now();
    let run = run_with(&mock, p, rows(5), MaybeSent::default()).await;
    assert!(run.records.iter().all(|r| r.status == RowStatus::Created));
    assert_eq!(mock.products.lock().unwrap().len(), 5);
    let posts = mock.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 5);
    assert!(
        posts
            .iter()
            .all(|(_, at)| *at - started < Duration::from_secs(1)),
        "the other rows went while the first settled: {posts:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn journaled_rows_settle_unless_the_journal_is_old() {
    // Written just now: the killed run's POST may still land, so three lookups.
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let sent = MaybeSent {
        rows: [(2, Some(0))].into(),
        age: Duration::ZERO,
    };
    let run = run_with(&mock, settle_plan(ExistingMode::Create, 3), rows(1), sent).await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 3);
    assert_eq!(mock.creates.load(Ordering::SeqCst), 1);

    // Written an hour ago: one lookup decides.
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let sent = MaybeSent {
        rows: [(2, Some(0))].into(),
        age: Duration::from_secs(3600),
    };
    let run = run_with(&mock, settle_plan(ExistingMode::Create, 3), rows(1), sent).await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 1);

    // A journaled row without a key is never sent again.
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let row = PreparedRow {
        row: 2,
        cells: vec![],
        outcome: Ok(draft(None, Reference::Id(1))),
    };
    let run = run_with(
        &mock,
        settle_plan(ExistingMode::Skip, 3),
        vec![row],
        MaybeSent::rows([2]),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Failed);
    assert!(run.records[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with(resume::UNCONFIRMED_NO_KEY));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn categories_by_name_and_created_once_under_concurrency() {
    let mock = Arc::new(Mock::with_categories(&["Tools", "Garden"]));
    let make = |i: u64, name: &str| PreparedRow {
        row: i + 2,
        cells: vec![],
        outcome: Ok(draft(Some(&format!("C{i}")), Reference::Name(name.into()))),
    };
    let input: Vec<PreparedRow> = (0..30)
        .map(|i| {
            make(
                i,
                if i % 3 == 0 {
                    "garden "
                } else if i % 3 == 1 {
                    "New Stuff"
                } else {
                    "NEW STUFF"
                },
            )
        })
        .collect();
    let without = run_with(
        &mock,
        plan(ExistingMode::Skip),
        input.clone(),
        MaybeSent::default(),
    )
    .await;
    let invalid: Vec<&RowRecord> = without
        .records
        .iter()
        .filter(|r| r.status == RowStatus::Invalid)
        .collect();
    assert_eq!(invalid.len(), 20);
    assert!(
        invalid[0]
            .error
            .as_deref()
            .unwrap()
            .contains("category \"New Stuff\" was not found"),
        "{:?}",
        invalid[0]
    );
    assert!(without
        .records
        .iter()
        .filter(|r| r.status == RowStatus::Created)
        .all(|r| {
            let p = &mock.products.lock().unwrap()[r.id.unwrap() as usize - 1];
            p.category.as_ref().unwrap().id == Some(2)
        }));

    let mut p = plan(ExistingMode::Skip);
    p.create_categories = true;
    p.concurrency = 8;
    let with = run_with(&mock, p, input, MaybeSent::default()).await;
    assert!(
        with.records
            .iter()
            .all(|r| matches!(r.status, RowStatus::Created | RowStatus::Skipped)),
        "{:?}",
        with.records
    );
    assert_eq!(
        mock.category_creates.load(Ordering::SeqCst),
        1,
        "created once"
    );
    assert_eq!(mock.categories.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn units_and_suppliers_by_name_symbol_and_org_number() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let mut d = draft(Some("U1"), Reference::Id(1));
    d.unit = Some(Reference::Name("STK".into()));
    d.supplier = Some(Reference::Name("987654321".into()));
    let mut e = draft(Some("U2"), Reference::Id(1));
    e.unit = Some(Reference::Name("stykk".into()));
    e.supplier = Some(Reference::Name("acme as".into()));
    let mut f = draft(Some("U3"), Reference::Id(1));
    f.unit = Some(Reference::Name("litre".into()));
    let input = [d, e, f].into_iter().enumerate().map(|(i, d)| PreparedRow {
        row: i as u64 + 2,
        cells: vec![],
        outcome: Ok(d),
    });
    let run = run_with(
        &mock,
        plan(ExistingMode::Skip),
        input.collect(),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(run.records[0].status, RowStatus::Created);
    assert_eq!(run.records[1].status, RowStatus::Created);
    assert_eq!(run.records[2].status, RowStatus::Invalid);
    assert_eq!(
        run.records[2].error.as_deref(),
        Some("unit \"litre\" was not found by name or symbol")
    );
}

#[tokio::test]
async fn dry_run_writes_nothing_and_says_what_would_happen() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.insert(&draft(Some("P0"), Reference::Id(1)).product);
    let mut p = plan(ExistingMode::Skip);
    p.row.dry_run = true;
    p.create_categories = true;
    let mut input = rows(2);
    input.push(PreparedRow {
        row: 9,
        cells: vec![],
        outcome: Ok(draft(Some("Q"), Reference::Name("Brand new".into()))),
    });
    let run = run_with(&mock, p, input, MaybeSent::default()).await;
    assert_eq!(run.records[0].status, RowStatus::Skipped);
    assert_eq!(run.records[1].status, RowStatus::Valid);
    assert_eq!(
        run.records[1].error.as_deref(),
        Some("dry run: would create")
    );
    assert_eq!(
        run.records[2].error.as_deref(),
        Some("dry run: would create; would create category \"Brand new\"")
    );
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
    assert_eq!(mock.category_creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn refused_credentials_attempt_nothing() {
    let mock = Arc::new(Mock {
        refuse_auth: true,
        ..Mock::default()
    });
    let (_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(MemorySink::default()),
        progress: Progress::hidden(),
        pacer: None,
        counters: Arc::new(RequestCounters::default()),
        stop,
    };
    let input = Input {
        rows: Box::new(rows(3).into_iter()),
        total: Some(3),
        kept: vec![],
        maybe_sent: Default::default(),
    };
    let err = super::run(mock.clone(), plan(ExistingMode::Skip), input, wiring)
        .await
        .unwrap_err();
    assert!(matches!(err, super::RunError::Api(ApiError::Auth { .. })));
    assert_eq!(mock.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn stop_signal_finishes_rows_in_flight_and_reads_no_more() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let sink = MemorySink::default();
    let (stop_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(sink.clone()),
        progress: Progress::hidden(),
        pacer: None,
        counters: Arc::new(RequestCounters::default()),
        stop,
    };
    // Every create waits for a 429 with a 30 ms Retry-After, so rows are slow.
    for _ in 0..10_000 {
        mock.fault(Fault::Before(ApiError::Status {
            status: 429,
            message: "slow".into(),
            trace_id: None,
            retry_after: Some(Duration::from_millis(30)),
        }));
    }
    let mut p = plan(ExistingMode::Create);
    p.row.retry.max_rate_limited = 1;
    let input = Input {
        rows: Box::new(rows(1000).into_iter()),
        total: Some(1000),
        kept: vec![],
        maybe_sent: Default::default(),
    };
    let handle = tokio::spawn(super::run(mock.clone(), p, input, wiring));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(true).unwrap();
    let report = handle.await.unwrap().unwrap();
    assert!(matches!(report.end, RunEnd::Interrupted));
    let records = sink.0.lock().unwrap().clone();
    assert!(
        !records.is_empty() && records.len() < 1000,
        "{}",
        records.len()
    );
    let mut rows_seen: Vec<u64> = records.iter().map(|r| r.row).collect();
    rows_seen.dedup();
    assert_eq!(
        rows_seen.len(),
        records.len(),
        "one record per row, in order after finish"
    );
}

#[tokio::test]
async fn journal_marks_rows_before_sending_and_is_removed_after_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.results.csv.sending");
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    mock.fault(Fault::After(status(502)));
    let mut p = plan(ExistingMode::Skip);
    p.journal = Some(path.clone());
    let run = run_with(&mock, p, rows(3), MaybeSent::default()).await;
    assert!(run.records.iter().all(|r| r.status == RowStatus::Created));
    assert!(!path.exists(), "removed after a completed run");
    let _ = HashMap::<u64, u64>::new();
    let _ = IdRef { id: 1 };
}

#[tokio::test]
async fn prefetch_when_cheaper_than_per_row_lookups() {
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    for i in 0..2500 {
        mock.insert(&draft(Some(&format!("E{i}")), Reference::Id(1)).product);
    }
    // 3 pages of existing products for 100 rows: prefetched, no per-row lookups.
    let many = run_with(
        &mock,
        plan(ExistingMode::Skip),
        rows(100),
        MaybeSent::default(),
    )
    .await;
    assert_eq!(many.report.prefetched, Some(2500));
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 0);
    assert_eq!(many.report.tally.created, 100);
    // 2 rows would need 3 pages: cheaper to look each row up.
    let mut two = rows(2);
    for r in &mut two {
        r.row += 1000;
        if let Ok(d) = &mut r.outcome {
            d.product.number = Some(format!("N{}", r.row));
        }
    }
    let few = run_with(&mock, plan(ExistingMode::Skip), two, MaybeSent::default()).await;
    assert_eq!(few.report.prefetched, None);
    assert_eq!(mock.lookups.load(Ordering::SeqCst), 2);
    assert_eq!(few.report.tally.created, 2);
}

#[tokio::test]
async fn a_reader_that_breaks_off_does_not_look_complete() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("r.sending");
    let mock = Arc::new(Mock::with_categories(&["Tools"]));
    let mut p = plan(ExistingMode::Create);
    p.journal = Some(journal.clone());
    let mut n = 0;
    let rows = rows(10).into_iter().inspect(move |_| {
        n += 1;
        assert!(n <= 3, "validator bug");
    });
    let sink = MemorySink::default();
    let (_tx, stop) = watch::channel(false);
    let wiring = Wiring {
        outputs: Box::new(sink.clone()),
        progress: Progress::hidden(),
        pacer: None,
        counters: Arc::new(RequestCounters::default()),
        stop,
    };
    let input = Input {
        rows: Box::new(rows),
        total: Some(10),
        kept: vec![],
        maybe_sent: Default::default(),
    };
    let report = super::run(mock.clone(), p, input, wiring).await.unwrap();
    assert!(
        matches!(report.end, RunEnd::InputFailed(_)),
        "{:?}",
        report.end
    );
    assert_eq!(sink.0.lock().unwrap().len(), 3);
    assert!(journal.exists(), "kept for --resume");
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
