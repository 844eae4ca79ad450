//! The behaviour switches: each one over real HTTP in both its settings.
//! Timings are short (at most a couple of seconds per test) and generous
//! in the direction a busy machine would push them.

use super::*;
use product_import_sandbox::{
    Behaviour, EanFilter, NumberSearch, OnDisconnect, Paging, PatchNested, Scope,
};

fn with(behaviour: Behaviour, data: SeedData) -> SandboxConfig {
    SandboxConfig {
        behaviour,
        data,
        ..SandboxConfig::default()
    }
}

/// The built-in records plus products with these numbers (and EANs, when given).
fn catalogue(products: &[(&str, Option<&str>)]) -> SeedData {
    let mut data = SeedData::builtin();
    data.products = products
        .iter()
        .map(|(number, ean)| {
            let mut body = json!({ "name": format!("Item {number}"), "number": number,
                                   "category": { "id": 1 } });
            if let Some(ean) = ean {
                body["ean"] = json!(ean);
            }
            body
        })
        .collect();
    data
}

fn numbers(products: &[Product]) -> Vec<&str> {
    products
        .iter()
        .filter_map(|p| p.number.as_deref())
        .collect()
}

/// Waits until the sandbox holds `count` products or `limit` has passed.
async fn until_count(api: &Api, count: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while api.sandbox.product_count() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.sandbox.product_count() == count
}

#[tokio::test]
async fn number_search_is_exact_case_insensitive_or_partial() {
    let data = catalogue(&[
        ("1", None),
        ("10", None),
        ("100", None),
        ("2", None),
        ("Ab-x", None),
    ]);
    let search = |mode| {
        let data = data.clone();
        async move {
            let behaviour = Behaviour {
                number_search: mode,
                ..Behaviour::lenient()
            };
            let api = start(with(behaviour, data)).await;
            let one = numbers(&api.products("?productNumber=1").await)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>();
            let cased = api.products("?productNumber=ab-X").await.len();
            api.sandbox.shutdown().await;
            (one, cased)
        }
    };
    assert_eq!(search(NumberSearch::Exact).await, (vec!["1".to_owned()], 0));
    assert_eq!(
        search(NumberSearch::CaseInsensitive).await,
        (vec!["1".to_owned()], 1)
    );
    assert_eq!(
        search(NumberSearch::Partial).await,
        (vec!["1".into(), "10".into(), "100".into()], 1)
    );
    assert_eq!(Behaviour::strict().number_search, NumberSearch::Partial);
}

/// The strict profile but with undeclared query parameters (`page` on
/// `/customers`, `ean`) ignored rather than refused, to see what paging and
/// filters make of them.
fn strict_taking_any_parameter() -> Behaviour {
    Behaviour {
        query_params: product_import_sandbox::QueryParams::Any,
        ..Behaviour::strict()
    }
}

#[tokio::test]
async fn undeclared_query_parameters_are_refused_under_the_strict_profile() {
    let api = start(with(Behaviour::strict(), SeedData::builtin())).await;
    for path in [
        "/products?ean=4006381333931",
        "/customers?page=2",
        "/productunits?limit=5",
    ] {
        assert_eq!(
            api.get(path).await.status(),
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    for path in [
        "/products?productNumber=1&limit=5&page=2",
        "/customers?isSupplier=true",
    ] {
        assert_eq!(api.get(path).await.status(), StatusCode::OK, "{path}");
    }
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn ean_filter_is_honoured_or_ignored() {
    let data = catalogue(&[
        ("A", Some("7090012345675")),
        ("B", Some("4006381333931")),
        ("C", None),
    ]);
    let api = start(with(Behaviour::lenient(), data.clone())).await;
    let found = api.products("?ean=4006381333931").await;
    assert_eq!(numbers(&found), ["B"]);
    api.sandbox.shutdown().await;

    // Under the strict profile `ean` is refused (not declared); with any
    // parameter taken, it is ignored.
    let api = start(with(strict_taking_any_parameter(), data)).await;
    let found = api.products("?ean=4006381333931").await;
    assert_eq!(numbers(&found), ["A", "B", "C"], "the unfiltered list");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn supplier_filter_is_honoured_or_ignored_and_customers_can_be_created() {
    let mut data = SeedData::builtin();
    data.suppliers.push(Supplier {
        id: 10004,
        name: Some("Vestland Handel AS".into()),
        organization_number: None,
        is_supplier: Some(false),
    });
    let api = start(with(Behaviour::lenient(), data.clone())).await;
    let suppliers: Vec<Supplier> = api
        .get("/customers?isSupplier=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suppliers.len(), 3);
    let others: Vec<Supplier> = api
        .get("/customers?isSupplier=false")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].is_supplier, Some(false));
    // POST /customers answers 200 with the customer; a company needs a name.
    let made = api
        .post(
            "/customers",
            &json!({"name": "Ny Leverandør AS", "isCompany": true, "isSupplier": true}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let made: Supplier = made.json().await.unwrap();
    assert_eq!(made.id, 10005);
    assert_eq!(made.is_supplier, Some(true));
    let refused = api.post("/customers", &json!({"isCompany": true})).await;
    assert_eq!(
        validation_errors(refused).await,
        [("name".to_owned(), "required".to_owned())]
    );
    let suppliers: Vec<Supplier> = api
        .get("/customers?isSupplier=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suppliers.len(), 4);
    api.sandbox.shutdown().await;

    let api = start(with(Behaviour::strict(), data)).await;
    let all = follow::<Supplier>(&api, "/customers?isSupplier=true")
        .await
        .1;
    assert_eq!(all.len(), 4, "customers that are not suppliers too");
    assert!(all.iter().any(|c| c.is_supplier == Some(false)));
    api.sandbox.shutdown().await;
}

/// Follows `next` from `path`, returning the size of every page and all
/// the items in order.
async fn follow<T: serde::de::DeserializeOwned>(api: &Api, path: &str) -> (Vec<usize>, Vec<T>) {
    let mut sizes = Vec::new();
    let mut items = Vec::new();
    let mut url = Some(api.url(path));
    while let Some(current) = url.take() {
        assert!(sizes.len() < 20, "paging does not end");
        let response = api
            .client
            .get(&current)
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{current}");
        assert!(link(&response, "first").is_some(), "{current}");
        url = link(&response, "next");
        if let Some(next) = &url {
            assert!(
                next.contains("cursor=") && !next.contains("page="),
                "{next}"
            );
        }
        let page: Vec<T> = response.json().await.unwrap();
        sizes.push(page.len());
        items.extend(page);
    }
    (sizes, items)
}

#[tokio::test]
async fn cursor_paging_on_customers_ignores_page_and_caps_limit() {
    let data = SeedData::builtin().with_suppliers(57);
    let api = start(with(strict_taking_any_parameter(), data)).await;
    let (sizes, suppliers) = follow::<Supplier>(&api, "/customers?isSupplier=true").await;
    assert_eq!(sizes, [25, 25, 10]);
    let mut ids: Vec<i64> = suppliers.iter().map(|s| s.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 60, "every supplier once");
    let first = api.get("/customers?isSupplier=true").await;
    let next = link(&first, "next").unwrap();
    assert!(next.starts_with(&format!("http://{}/v1/customers?", api.sandbox.addr())));
    assert!(next.contains("isSupplier=true") && next.contains("limit=25"));

    // An undocumented `page` is ignored: page 2 is page 1 again.
    let page_one: Vec<Supplier> = api.get("/customers?limit=10").await.json().await.unwrap();
    let page_two: Vec<Supplier> = api
        .get("/customers?limit=10&page=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page_one, page_two);
    // A limit above 100 is served as 100, not refused: all 60 here, no next.
    let capped = api.get("/customers?limit=500").await;
    assert_eq!(capped.status(), StatusCode::OK);
    assert!(link(&capped, "next").is_none());
    assert_eq!(capped.json::<Vec<Supplier>>().await.unwrap().len(), 60);
    // A made-up cursor is refused.
    let (status, body) = error_of(api.get("/customers?cursor=2").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.error.name, "ValidationError");
    // organizationNumber matches the stored string exactly.
    let exact: Vec<Supplier> = api
        .get("/customers?organizationNumber=987654325")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exact.len(), 1);
    let spaced: Vec<Supplier> = api
        .get("/customers?organizationNumber=987%20654%20325")
        .await
        .json()
        .await
        .unwrap();
    assert!(spaced.is_empty());
    let stats = api.sandbox.stats();
    assert_eq!(stats.requests("GET /v1/customers"), 10);
    assert_eq!(stats.count("GET /v1/customers", 400), 1);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn cursor_paging_on_products_and_categories() {
    let data = SeedData::builtin().with_products(130);
    let api = start(with(strict_taking_any_parameter(), data)).await;
    let (sizes, products) = follow::<Product>(&api, "/products").await;
    assert_eq!(sizes, [25, 25, 25, 25, 25, 5]);
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    assert_eq!(ids, (1..=130).collect::<Vec<i64>>(), "ids increase");
    let created_at = products[0].created_at.as_deref().unwrap();
    assert_eq!(created_at.len(), "2022-01-01 18:00:00.000Z".len());
    assert!(created_at.ends_with('Z') && created_at.as_bytes()[10] == b' ');

    // limit above 100 is served as 100, with a next page.
    let capped = api.get("/products?limit=500").await;
    let next = link(&capped, "next").expect("more follow");
    assert!(
        next.contains("limit=100") && next.contains("cursor="),
        "{next}"
    );
    assert_eq!(capped.json::<Vec<Product>>().await.unwrap().len(), 100);
    // The documented `page` is still honoured on /products...
    let second = api.get("/products?page=2&limit=10").await;
    let next = link(&second, "next").unwrap();
    let page: Vec<Product> = second.json().await.unwrap();
    assert_eq!(page.first().map(|p| p.id), Some(11));
    // ...but the next URL carries a cursor, which leads on from page 2.
    assert!(
        next.contains("cursor=") && !next.contains("page="),
        "{next}"
    );
    let third: Vec<Product> = api
        .client
        .get(&next)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(third.first().map(|p| p.id), Some(21));
    // Filters are kept in the next URL.
    let (sizes, found) =
        follow::<Product>(&api, "/products?productSearch=Seeded%25&limit=50").await;
    assert_eq!((sizes, found.len()), (vec![50, 50, 30], 130));

    // Categories page too, and ignore `page`.
    let (sizes, categories) = follow::<Category>(&api, "/productcategories?limit=2").await;
    assert_eq!((sizes, categories.len()), (vec![2, 2, 1], 5));
    let again: Vec<Category> = api
        .get("/productcategories?limit=2&page=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, categories[..2]);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn numbered_paging_is_the_lenient_default() {
    let data = SeedData::builtin().with_suppliers(57).with_products(30);
    let api = start(with(Behaviour::lenient(), data)).await;
    let categories = api.get("/productcategories?limit=2").await;
    assert!(categories.headers().get("link").is_none());
    assert_eq!(categories.json::<Vec<Category>>().await.unwrap().len(), 5);
    let customers = api.get("/customers?limit=500").await;
    assert!(customers.headers().get("link").is_none());
    assert_eq!(customers.json::<Vec<Supplier>>().await.unwrap().len(), 60);
    let products = api.get("/products?page=2&limit=20").await;
    assert!(link(&products, "next").is_none());
    assert!(link(&products, "prev").unwrap().contains("page=1"));
    assert_eq!(products.json::<Vec<Product>>().await.unwrap().len(), 10);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn late_fault_creates_the_product_after_the_client_gave_up() {
    let late_delay = Duration::from_millis(1000);
    let api = start(SandboxConfig {
        late_delay,
        ..faulty("late=1", 1)
    })
    .await;
    let impatient = Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let sent = Instant::now();
    let error = impatient
        .post(api.url("/products"))
        .bearer_auth(&api.token)
        .json(&minimal("Late"))
        .send()
        .await
        .expect_err("the client gives up");
    assert!(error.is_timeout());
    assert_eq!(api.sandbox.product_count(), 0, "not created yet");
    assert!(until_count(&api, 1, Duration::from_secs(3)).await);
    assert!(sent.elapsed() >= late_delay, "created after the delay");
    let stats = api.sandbox.stats();
    assert_eq!(stats.requests("POST /v1/products"), 1);
    assert_eq!(stats.answered("POST /v1/products"), 0);
    assert_eq!(stats.products_created, 1);
    assert_eq!(stats.faults_of(FaultKind::Late), 1);

    // A patient client gets its answer, late.
    let started = Instant::now();
    let product = api.create(minimal("Patient")).await;
    assert!(started.elapsed() >= late_delay);
    assert_eq!(product.id, 2);
    // Lookups are never late.
    let started = Instant::now();
    assert_eq!(api.products("").await.len(), 2);
    assert!(started.elapsed() < late_delay);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn writes_finish_or_cancel_when_the_client_disconnects() {
    let run = |on_disconnect| async move {
        let api = start(SandboxConfig {
            latency: Duration::from_millis(600),
            behaviour: Behaviour {
                on_disconnect,
                ..Behaviour::lenient()
            },
            ..SandboxConfig::default()
        })
        .await;
        let impatient = Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let error = impatient
            .post(api.url("/products"))
            .bearer_auth(&api.token)
            .json(&minimal("Abandoned"))
            .send()
            .await
            .expect_err("the client gives up");
        assert!(error.is_timeout());
        let created = until_count(&api, 1, Duration::from_millis(1500)).await;
        assert_eq!(api.sandbox.stats().requests("POST /v1/products"), 1);
        api.sandbox.shutdown().await;
        created
    };
    let (finished, cancelled) = tokio::join!(run(OnDisconnect::Finish), run(OnDisconnect::Cancel));
    assert!(finished, "finish: created although the client left");
    assert!(!cancelled, "cancel: the work went with the connection");
    assert_eq!(Behaviour::strict().on_disconnect, OnDisconnect::Finish);
}

#[tokio::test]
async fn new_products_are_invisible_to_search_for_the_lag() {
    let lag = Duration::from_millis(1200);
    let behaviour = Behaviour {
        search_lag: lag,
        ..Behaviour::strict()
    };
    let api = start(with(behaviour, catalogue(&[("OLD-1", None)]))).await;
    let product = api
        .create(
            json!({ "name": "Fresh", "number": "LAG-1", "ean": "7090012345675",
                        "category": { "id": 1 } }),
        )
        .await;
    let created = Instant::now();
    let searches = [
        "?productNumber=LAG-1",
        "?productSearch=LAG%25",
        "?categoryIds=1",
        "",
    ];
    for query in searches {
        let found = api.products(query).await;
        assert!(!found.iter().any(|p| p.id == product.id), "{query}");
    }
    assert_eq!(
        numbers(&api.products("").await),
        ["OLD-1"],
        "seed data has no lag"
    );
    let by_id = api.get(&format!("/products/{}", product.id)).await;
    assert_eq!(by_id.status(), StatusCode::OK, "visible by id at once");
    assert_eq!(api.sandbox.product_count(), 2);
    assert!(
        created.elapsed() < lag,
        "the checks above ran within the lag"
    );

    tokio::time::sleep_until((created + lag + Duration::from_millis(50)).into()).await;
    for query in searches {
        let found = api.products(query).await;
        assert!(found.iter().any(|p| p.id == product.id), "{query}");
    }
    api.sandbox.shutdown().await;

    // Without lag (lenient), a search finds it at once.
    let api = start_default().await;
    api.create(json!({ "name": "Fresh", "number": "LAG-1", "category": { "id": 1 } }))
        .await;
    assert_eq!(api.products("?productNumber=LAG-1").await.len(), 1);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn patch_replaces_or_merges_nested_objects() {
    let patched = |patch_nested| async move {
        let api = start(with(
            Behaviour {
                patch_nested,
                ..Behaviour::lenient()
            },
            SeedData::builtin(),
        ))
        .await;
        let product = api
            .create(json!({ "name": "Boots", "category": { "id": 2 },
                            "stock": { "isManaged": true, "quantity": 5, "location": "A-1" },
                            "supplierProduct": { "number": "S-1", "name": "Boot" } }))
            .await;
        let url = api.url(&format!("/products/{}", product.id));
        let response = api
            .client
            .patch(&url)
            .bearer_auth(&api.token)
            .json(&json!({ "stock": { "quantity": 7 } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answered: Product = response.json().await.unwrap();
        let stored = api.get(&format!("/products/{}", product.id)).await;
        let stored: Product = stored.json().await.unwrap();
        assert_eq!(stored, answered);
        api.sandbox.shutdown().await;
        stored
    };
    let merged = patched(PatchNested::Merge).await;
    let stock = merged.stock.unwrap();
    assert_eq!(
        (stock.is_managed, stock.quantity, stock.location.as_deref()),
        (Some(true), Some(7.0), Some("A-1"))
    );
    let replaced = patched(PatchNested::Replace).await;
    let stock = replaced.stock.unwrap();
    assert_eq!(
        (stock.is_managed, stock.quantity, stock.location),
        (None, Some(7.0), None)
    );
    // An object not sent is left alone either way.
    let supplier_product = replaced.supplier_product.unwrap();
    assert_eq!(supplier_product.number.as_deref(), Some("S-1"));
    assert_eq!(Behaviour::strict().patch_nested, PatchNested::Replace);
}

#[tokio::test]
async fn a_withheld_scope_gives_403_on_its_endpoints_only() {
    let behaviour = Behaviour::strict()
        .deny(Scope::CustomerRead)
        .deny(Scope::ProductWrite);
    let api = start(with(behaviour, SeedData::builtin())).await;

    let token: Value = api
        .client
        .post(api.sandbox.token_url())
        .form(&token_form(&api.sandbox))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scope = token["scope"].as_str().unwrap();
    assert!(scope.contains("api.product.product:read"), "{scope}");
    assert!(!scope.contains("api.crm.customer:read"), "{scope}");
    assert!(!scope.contains("api.product.product:write"), "{scope}");

    let (status, body) = error_of(api.get("/customers?isSupplier=true").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body.error.name, "ForbiddenError");
    assert!(body
        .error
        .message
        .unwrap()
        .contains("api.crm.customer:read"));
    let (status, _) = error_of(api.post("/products", &minimal("x")).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(api.sandbox.product_count(), 0);

    assert_eq!(api.get("/products").await.status(), StatusCode::OK);
    assert_eq!(api.get("/productunits").await.status(), StatusCode::OK);
    assert_eq!(api.get("/productcategories").await.status(), StatusCode::OK);
    let category = api
        .post("/productcategories", &json!({ "name": "Bags" }))
        .await;
    assert_eq!(category.status(), StatusCode::CREATED);
    // An invalid token is still 401, not 403.
    let response = api
        .client
        .get(api.url("/customers"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    api.sandbox.shutdown().await;
}

#[test]
fn sandbox_help_lists_the_profile_and_every_switch() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_product-import"))
        .args(["sandbox", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--profile",
        "strict",
        "--number-search",
        "case-insensitive",
        "--ean-filter",
        "--supplier-filter",
        "--paging",
        "cursor",
        "--search-lag-ms",
        "--patch-nested",
        "--on-disconnect",
        "--deny-scope",
        "api.crm.customer:read",
        "--late-ms",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn strict_config_is_the_strict_behaviour() {
    let config = SandboxConfig::strict();
    assert_eq!(config.behaviour, Behaviour::strict());
    assert_eq!(config.behaviour.paging, Paging::Cursor);
    assert_eq!(config.behaviour.ean_filter, EanFilter::Ignored);
    assert!(config.faults.is_empty());
}

#[tokio::test]
async fn faults_act_the_same_on_detached_writes() {
    // Under strict every write runs apart from its connection; a fault that
    // drops the connection must still drop it.
    let config = |spec| SandboxConfig {
        behaviour: Behaviour::strict(),
        ..faulty(spec, 3)
    };
    let api = start(config("reset=1")).await;
    let error = api
        .try_post_product(&minimal("x"))
        .await
        .expect_err("reset");
    assert!(error.status().is_none());
    assert_eq!(api.sandbox.product_count(), 0, "reset creates nothing");
    api.sandbox.shutdown().await;

    let api = start(config("ambiguous=1")).await;
    for i in 0..4 {
        if let Ok(response) = api.try_post_product(&minimal(&format!("M{i}"))).await {
            assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        }
    }
    assert_eq!(
        api.sandbox.product_count(),
        4,
        "ambiguous creates every one"
    );
    assert_eq!(api.sandbox.stats().products_created, 4);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn create_bodies_are_noted_as_they_come_and_an_oversized_one_is_still_refused() {
    let api = start(SandboxConfig::default()).await;
    let post = |body: Vec<u8>| {
        api.client
            .post(api.url("/products"))
            .bearer_auth(&api.token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let body = serde_json::to_vec(&minimal("Noted")).unwrap();
    assert_eq!(
        post(body.clone()).await.unwrap().status(),
        StatusCode::CREATED
    );
    let first = api.sandbox.stats().last_new_body.expect("a new body noted");
    tokio::time::sleep(Duration::from_millis(5)).await;
    // The same body again (a retry) is not new, though handled as usual.
    assert_eq!(post(body).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(api.sandbox.stats().last_new_body, Some(first));
    // Noting reads a body's first MiB only; one over the limit is still 413.
    let mut huge = br#"{"name":""#.to_vec();
    huge.resize(3 << 20, b'x');
    huge.extend_from_slice(br#""}"#);
    let answer = post(huge).await.unwrap();
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(api.sandbox.product_count(), 2);
    api.sandbox.shutdown().await;
}
