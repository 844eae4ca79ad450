//! Integration tests: sandbox. Each test starts its own sandbox on an
//! ephemeral loopback port and talks to it over real HTTP with reqwest.

use std::time::{Duration, Instant};

use product_import::api::types::TokenResponse;
use product_import_sandbox::wire::{Category, ErrorBody, Product, Supplier, Unit};
use product_import_sandbox::{
    self as sandbox, FaultKind, FaultSpec, SandboxConfig, SandboxHandle, SeedData, AUDIENCE,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

mod behaviour;

/// A running sandbox with a client holding a fresh token.
struct Api {
    sandbox: SandboxHandle,
    client: Client,
    token: String,
}

fn client() -> Client {
    Client::builder().no_proxy().build().expect("client")
}

async fn start(config: SandboxConfig) -> Api {
    let sandbox = sandbox::start(config).await.expect("sandbox starts");
    let client = client();
    let token = fetch_token(&sandbox, &client).await;
    Api {
        sandbox,
        client,
        token,
    }
}

async fn start_default() -> Api {
    start(SandboxConfig::default()).await
}

fn token_form(sandbox: &SandboxHandle) -> Vec<(&'static str, String)> {
    let credentials = sandbox.credentials();
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", credentials.client_id.clone()),
        ("client_secret", credentials.client_secret.clone()),
        ("login_organization", credentials.organization_id.clone()),
        ("audience", AUDIENCE.to_owned()),
    ]
}

async fn fetch_token(sandbox: &SandboxHandle, client: &Client) -> String {
    let response = client
        .post(sandbox.token_url())
        .form(&token_form(sandbox))
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    let token: TokenResponse = response.json().await.expect("token body");
    token.access_token
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET answered")
    }

    async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("POST answered")
    }

    async fn try_post_product(&self, body: &Value) -> reqwest::Result<Response> {
        self.client
            .post(self.url("/products"))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
    }

    async fn create(&self, body: Value) -> Product {
        let response = self.post("/products", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.expect("product body")
    }

    async fn products(&self, query: &str) -> Vec<Product> {
        let response = self.get(&format!("/products{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "GET /products{query}");
        response.json().await.expect("product list")
    }
}

/// The status and vendor error body of an error answer, checking that the
/// body's `trackingId` equals the `X-Trace-Id` header.
async fn error_of(response: Response) -> (StatusCode, ErrorBody) {
    let status = response.status();
    let trace = response
        .headers()
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-Trace-Id on every answer");
    let body: ErrorBody = response.json().await.expect("vendor error body");
    assert!(!body.tracking_id.is_empty());
    assert_eq!(body.tracking_id, trace, "trackingId equals X-Trace-Id");
    (status, body)
}

/// The `(path, keyword)` entries of a 400 `ValidationError`.
async fn validation_errors(response: Response) -> Vec<(String, String)> {
    let (status, body) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.error.name, "ValidationError");
    body.error
        .payload
        .and_then(|p| p.validation_errors)
        .expect("validationErrors")
        .into_iter()
        .map(|issue| (issue.path, issue.keyword))
        .collect()
}

fn faulty(spec: &str, seed: u64) -> SandboxConfig {
    SandboxConfig {
        faults: FaultSpec::parse(spec).expect("fault spec"),
        seed,
        slow_delay: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

fn minimal(name: &str) -> Value {
    json!({ "name": name, "category": { "id": 1 } })
}

#[tokio::test]
async fn token_endpoint_takes_form_or_json_and_refuses_wrong_credentials() {
    let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client();
    let form = token_form(&sandbox);

    let response = client
        .post(sandbox.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-trace-id"));
    let by_form: TokenResponse = response.json().await.unwrap();
    assert_eq!(by_form.token_type, "Bearer");
    assert_eq!(by_form.expires_in, 3600);
    assert!(by_form.access_token.len() >= 32);

    let as_json: serde_json::Map<String, Value> = form
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let response = client
        .post(sandbox.token_url())
        .json(&as_json)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let by_json: TokenResponse = response.json().await.unwrap();
    assert_ne!(
        by_json.access_token, by_form.access_token,
        "tokens are random"
    );

    let mut wrong_secret = form.clone();
    wrong_secret[2].1 = "guess".to_owned();
    let response = client
        .post(sandbox.token_url())
        .form(&wrong_secret)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.error.name, "UnauthorizedError");

    let mut wrong_organization = form.clone();
    wrong_organization[3].1 = "someone-else".to_owned();
    let response = client
        .post(sandbox.token_url())
        .form(&wrong_organization)
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);

    let mut wrong_grant = form.clone();
    wrong_grant[0].1 = "password".to_owned();
    let response = client
        .post(sandbox.token_url())
        .form(&wrong_grant)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, StatusCode::BAD_REQUEST);

    let mut wrong_audience = form.clone();
    wrong_audience[4].1 = "https://example.com".to_owned();
    let response = client
        .post(sandbox.token_url())
        .form(&wrong_audience)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, StatusCode::FORBIDDEN);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn v1_requires_a_live_bearer_token() {
    let api = start_default().await;
    let url = api.url("/productunits");

    let response = api.client.get(&url).send().await.unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.error.name, "UnauthorizedError");

    let response = api
        .client
        .get(&url)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, StatusCode::UNAUTHORIZED);

    let response = api
        .client
        .post(api.url("/products"))
        .json(&minimal("x"))
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(api.sandbox.products().is_empty());

    assert_eq!(api.get("/productunits").await.status(), StatusCode::OK);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn tokens_expire_exactly_at_expires_in() {
    let api = start(SandboxConfig {
        token_ttl: Duration::from_secs(2),
        ..SandboxConfig::default()
    })
    .await;
    let response = api
        .client
        .post(api.sandbox.token_url())
        .form(&token_form(&api.sandbox))
        .send()
        .await
        .unwrap();
    // The token was issued before this answer arrived, so the server's clock
    // for it runs slightly ahead of `received`.
    let received = Instant::now();
    let token: TokenResponse = response.json().await.unwrap();
    assert_eq!(token.expires_in, 2);
    let with_token = |token: String| {
        api.client
            .get(api.url("/productunits"))
            .bearer_auth(token)
            .send()
    };
    tokio::time::sleep_until((received + Duration::from_millis(1500)).into()).await;
    let response = with_token(token.access_token.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "alive before expires_in");
    tokio::time::sleep_until((received + Duration::from_millis(2050)).into()).await;
    let (status, body) = error_of(with_token(token.access_token).await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "dead right after expires_in"
    );
    assert_eq!(body.error.message.as_deref(), Some("Token expired"));
    // A new token works again.
    let fresh = fetch_token(&api.sandbox, &api.client).await;
    assert_eq!(with_token(fresh).await.unwrap().status(), StatusCode::OK);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn create_answers_201_with_the_full_product() {
    let api = start_default().await;
    let body = json!({
        "name": "White shoe laces", "number": "SH-1234567", "description": "1 m, white",
        "salesPrice": 400, "ean": "0123456789005",
        "stock": { "isManaged": true, "quantity": 146, "location": "A-313" },
        "supplierProduct": { "itemCode": "T1234", "price": 10.5 },
        "units": { "id": 1 }, "category": { "id": 5 }, "supplier": { "id": 10001 }
    });
    let response = api.post("/products", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let trace = response
        .headers()
        .get("x-trace-id")
        .expect("X-Trace-Id")
        .to_owned();
    assert_eq!(trace.len(), 36);
    let product: Product = response.json().await.unwrap();
    assert_eq!(product.id, 1);
    assert_eq!(product.name.as_deref(), Some("White shoe laces"));
    assert_eq!(product.sales_price, Some(400.0));
    assert_eq!(product.cost_price, Some(0.0), "server default");
    assert_eq!(
        product.product_type,
        Some(product_import_sandbox::wire::ProductType::Default)
    );
    assert_eq!(
        product.status,
        Some(product_import_sandbox::wire::ProductStatus::Active)
    );
    let units = product.units.clone().unwrap();
    assert_eq!(
        (units.name.as_deref(), units.symbol.as_deref()),
        (Some("Stykk"), Some("stk"))
    );
    assert_eq!(
        product.category.clone().unwrap().name.as_deref(),
        Some("Shoe accessories")
    );
    assert_eq!(
        product.supplier.clone().unwrap().name.as_deref(),
        Some("Nordisk Skotøy AS")
    );
    assert_eq!(
        product.stock.clone().unwrap().location.as_deref(),
        Some("A-313")
    );
    let created = product.created_at.clone().unwrap();
    // Like `2022-01-01 18:00:00.000Z`.
    assert_eq!(created.len(), 24, "{created}");
    assert_eq!(
        (&created[4..5], &created[10..11], &created[19..20]),
        ("-", " ", ".")
    );
    assert!(created.ends_with('Z'));
    assert_eq!(product.modified_at, product.created_at);

    let second = api.create(minimal("Second")).await;
    assert_eq!(second.id, 2, "ids are sequential");

    let response = api.get("/products/1").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Product>().await.unwrap(), product);
    assert_eq!(api.sandbox.products(), vec![product, second]);
    assert_eq!(api.sandbox.stats().count("POST /v1/products", 201), 2);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn schema_violations_give_validation_errors() {
    let api = start_default().await;
    let cases = [
        (json!({ "category": { "id": 1 } }), "name", "required"),
        (
            json!({ "name": "x", "category": {} }),
            "category.id",
            "required",
        ),
        (json!({ "name": "x" }), "category", "required"),
        (
            json!({ "name": "n".repeat(151), "category": { "id": 1 } }),
            "name",
            "maxLength",
        ),
        (
            json!({ "name": "x", "category": { "id": 1 }, "ean": "012345678901234" }),
            "ean",
            "maxLength",
        ),
        (
            json!({ "name": "x", "category": { "id": 1 }, "status": "deleted" }),
            "status",
            "enum",
        ),
        (
            json!({ "name": "x", "category": { "id": 1 }, "colour": "red" }),
            "colour",
            "additionalProperties",
        ),
        (
            json!({ "name": "x", "category": { "id": 1, "name": "General" } }),
            "category.name",
            "additionalProperties",
        ),
        (
            json!({ "name": "x", "category": { "id": 1 }, "salesPrice": "12,50" }),
            "salesPrice",
            "type",
        ),
        (
            json!({ "name": "x", "category": { "id": "1" } }),
            "category.id",
            "type",
        ),
        (
            json!({ "name": "x", "category": { "id": 1 }, "stock": { "quantity": "many" } }),
            "stock.quantity",
            "type",
        ),
        (json!(["not", "an", "object"]), "", "type"),
    ];
    for (body, path, keyword) in cases {
        let errors = validation_errors(api.post("/products", &body).await).await;
        assert!(
            errors.contains(&(path.to_owned(), keyword.to_owned())),
            "{body} should fail at {path} with {keyword}, got {errors:?}"
        );
    }
    assert!(api.sandbox.products().is_empty(), "nothing was created");
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_refused() {
    let api = start_default().await;
    let huge = json!({ "name": "x", "category": { "id": 1 }, "description": "d".repeat(1 << 20) });
    let (status, body) = error_of(api.post("/products", &huge).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.error.name, "PayloadTooLargeError");

    for text in ["{\"name\": \"x\", ", "", "name=x"] {
        let response = api
            .client
            .post(api.url("/products"))
            .bearer_auth(&api.token)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        let (status, body) = error_of(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text:?}");
        assert_eq!(body.error.name, "BadRequestError");
    }
    assert!(api.sandbox.products().is_empty());
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn references_must_exist() {
    let api = start_default().await;
    let body = json!({
        "name": "x", "category": { "id": 99 }, "units": { "id": 42 }, "supplier": { "id": 1 }
    });
    let (status, error) = error_of(api.post("/products", &body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error.error.name, "BadRequestError");
    let paths: Vec<Value> = error
        .error
        .payload
        .and_then(|p| p.errors)
        .expect("errors")
        .into_iter()
        .map(|issue| issue.arguments["path"].clone())
        .collect();
    assert_eq!(
        paths,
        vec![
            json!("units.id"),
            json!("category.id"),
            json!("supplier.id")
        ]
    );
    assert!(api.sandbox.products().is_empty());

    // A cleared unit or supplier is fine.
    let body = json!({ "name": "y", "category": { "id": 2 }, "units": { "id": null } });
    assert!(api.create(body).await.units.is_none());
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn products_can_be_found_by_number_search_ean_category_and_supplier() {
    let api = start_default().await;
    let shoe = |number: &str, name: &str, ean: Value| {
        json!({ "number": number, "name": name, "ean": ean, "category": { "id": 2 },
                "supplier": { "id": 10001 } })
    };
    api.create(shoe("SH-1", "White shoe laces", json!("0123456789005")))
        .await;
    api.create(shoe("SH-2", "Black shoe laces", json!(null)))
        .await;
    api.create(
        json!({ "number": "BL-1", "name": "Leather belt", "category": { "id": 3 },
                       "supplierProduct": { "name": "Belt, brown" } }),
    )
    .await;

    let names = |products: Vec<Product>| -> Vec<String> {
        products.into_iter().filter_map(|p| p.name).collect()
    };
    assert_eq!(
        names(api.products("?productNumber=SH-1").await),
        ["White shoe laces"]
    );
    assert!(api.products("?productNumber=SH").await.is_empty(), "exact");
    assert_eq!(api.products("?productSearch=%25shoe%25").await.len(), 2);
    assert_eq!(
        names(api.products("?productSearch=white%25").await),
        ["White shoe laces"]
    );
    assert_eq!(api.products("?productSearch=%25LACES").await.len(), 2);
    assert_eq!(
        names(api.products("?productSearch=bl-%25").await),
        ["Leather belt"]
    );
    assert_eq!(
        names(api.products("?productSearch=%25brown").await),
        ["Leather belt"]
    );
    assert_eq!(
        names(api.products("?ean=0123456789005").await),
        ["White shoe laces"]
    );
    assert_eq!(api.products("?categoryIds=2,3").await.len(), 3);
    assert_eq!(
        names(api.products("?categoryIds=3").await),
        ["Leather belt"]
    );
    assert_eq!(api.products("?supplierIds=10001").await.len(), 2);
    let errors = validation_errors(api.get("/products?categoryIds=two").await).await;
    assert_eq!(errors, vec![("categoryIds".to_owned(), "type".to_owned())]);
    api.sandbox.shutdown().await;
}

/// The URL of a `rel` in a `link` header.
fn link(response: &Response, rel: &str) -> Option<String> {
    let header = response.headers().get("link")?.to_str().ok()?.to_owned();
    header.split(", ").find_map(|part| {
        let (url, params) = part.split_once(';')?;
        (params.trim() == format!("rel=\"{rel}\"")).then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[tokio::test]
async fn pages_follow_the_link_header() {
    let api = start_default().await;
    for i in 1..=7 {
        api.create(
            json!({ "name": format!("Item {i}"), "number": format!("P-{i}"),
                           "category": { "id": 1 } }),
        )
        .await;
    }
    let first = api.get("/products?limit=3&productSearch=P-%25").await;
    assert!(link(&first, "first").is_some());
    assert!(link(&first, "prev").is_none());
    let mut next = link(&first, "next");
    let mut ids: Vec<i64> = first
        .json::<Vec<Product>>()
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let mut pages = 1;
    let mut last_prev = None;
    while let Some(url) = next {
        let response = api
            .client
            .get(&url)
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        last_prev = link(&response, "prev");
        next = link(&response, "next");
        let page: Vec<Product> = response.json().await.unwrap();
        assert!(page.len() <= 3);
        ids.extend(page.iter().map(|p| p.id));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (1..=7).collect::<Vec<i64>>());
    let prev = last_prev.expect("last page links back");
    assert!(
        prev.contains("page=2") && prev.contains("limit=3") && prev.contains("productSearch=P-%25")
    );

    let default_page = api.products("").await;
    assert_eq!(default_page.len(), 7, "limit defaults to 25");
    assert!(api.products("?page=9").await.is_empty());
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn patch_delete_and_not_found() {
    let api = start_default().await;
    let created = api
        .create(json!({ "name": "Old", "number": "N-1", "category": { "id": 1 }, "units": { "id": 2 } }))
        .await;

    let response = api
        .client
        .patch(api.url("/products/1"))
        .bearer_auth(&api.token)
        .json(&json!({ "name": "New", "category": { "id": 4 }, "stock": { "quantity": 3 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Product = response.json().await.unwrap();
    assert_eq!(patched.name.as_deref(), Some("New"));
    assert_eq!(
        patched.number.as_deref(),
        Some("N-1"),
        "untouched fields stay"
    );
    assert_eq!(patched.units, created.units);
    assert_eq!(patched.category.unwrap().name.as_deref(), Some("Clothing"));
    assert_eq!(patched.stock.unwrap().quantity, Some(3.0));
    assert_eq!(patched.created_at, created.created_at);

    let patch = |path: &str, body: Value| {
        api.client
            .patch(api.url(path))
            .bearer_auth(&api.token)
            .json(&body)
            .send()
    };
    let errors = validation_errors(
        patch("/products/1", json!({ "colour": "red" }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        errors,
        vec![("colour".to_owned(), "additionalProperties".to_owned())]
    );
    let (status, _) = error_of(
        patch("/products/1", json!({ "category": { "id": 77 } }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) =
        error_of(patch("/products/9", json!({ "name": "x" })).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body.error.name, "NotFoundError");

    let delete = || {
        api.client
            .delete(api.url("/products/1"))
            .bearer_auth(&api.token)
            .send()
    };
    assert_eq!(delete().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(
        error_of(api.get("/products/1").await).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        error_of(delete().await.unwrap()).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(api.sandbox.products().is_empty());

    let errors = validation_errors(api.get("/products/abc").await).await;
    assert_eq!(errors, vec![("id".to_owned(), "type".to_owned())]);
    let (status, _) = error_of(api.get("/nothing-here").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = api
        .client
        .put(api.url("/products/1"))
        .bearer_auth(&api.token)
        .send()
        .await;
    assert_eq!(
        error_of(response.unwrap()).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn categories_can_be_listed_and_created() {
    let api = start_default().await;
    let response = api.get("/productcategories").await;
    assert_eq!(response.status(), StatusCode::OK);
    let categories: Vec<Category> = response.json().await.unwrap();
    assert_eq!(categories.len(), 5);
    assert_eq!(categories[1].name.as_deref(), Some("Shoes"));

    let response = api
        .post(
            "/productcategories",
            &json!({ "name": "Bags", "parentId": 3 }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let bags: Category = response.json().await.unwrap();
    assert_eq!((bags.id, bags.parent_id), (6, Some(3)));
    assert!(bags.modified_at.is_some());

    let errors = validation_errors(
        api.post("/productcategories", &json!({ "parentId": 1 }))
            .await,
    )
    .await;
    assert_eq!(errors, vec![("name".to_owned(), "required".to_owned())]);
    let response = api
        .post(
            "/productcategories",
            &json!({ "name": "X", "parentId": 99 }),
        )
        .await;
    assert_eq!(error_of(response).await.0, StatusCode::BAD_REQUEST);

    assert_eq!(
        api.sandbox.categories().last().unwrap().name.as_deref(),
        Some("Bags")
    );
    let product = api
        .create(json!({ "name": "Tote", "category": { "id": 6 } }))
        .await;
    assert_eq!(product.category.unwrap().name.as_deref(), Some("Bags"));
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn units_and_suppliers_are_served() {
    let api = start_default().await;
    let units: Vec<Unit> = api.get("/productunits").await.json().await.unwrap();
    assert_eq!(units.len(), 7);
    assert_eq!(
        units[0],
        Unit {
            id: Some(1),
            name: Some("Stykk".into()),
            symbol: Some("stk".into())
        }
    );
    assert!(units.iter().any(|u| u.symbol.as_deref() == Some("pcs")));

    let suppliers: Vec<Supplier> = api
        .get("/customers?isSupplier=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suppliers.len(), 3);
    assert!(suppliers.iter().all(|s| s.is_supplier == Some(true)));
    let found: Vec<Supplier> = api
        .get("/customers?isSupplier=true&organizationNumber=987654325")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name.as_deref(), Some("Nordisk Skotøy AS"));
    assert_eq!(found[0].id, 10001);
    let none: Vec<Supplier> = api
        .get("/customers?isSupplier=false")
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());
    let limited: Vec<Supplier> = api.get("/customers?limit=2").await.json().await.unwrap();
    assert_eq!(limited.len(), 2);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn duplicate_numbers_are_accepted_and_visible() {
    let api = start_default().await;
    let body = json!({ "name": "Twin", "number": "DUP-1", "category": { "id": 1 } });
    let first = api.create(body.clone()).await;
    let second = api.create(body).await;
    assert_ne!(first.id, second.id);
    let numbers: Vec<Option<String>> = api
        .sandbox
        .products()
        .into_iter()
        .map(|p| p.number)
        .collect();
    assert_eq!(
        numbers,
        vec![Some("DUP-1".to_owned()), Some("DUP-1".to_owned())]
    );
    assert_eq!(api.products("?productNumber=DUP-1").await.len(), 2);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_burst_above_the_rate_gets_429_with_retry_after() {
    let api = start(SandboxConfig {
        rate: Some(5),
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    let requests = (0..20).map(|_| api.get("/productunits"));
    let responses = futures::future::join_all(requests).await;
    let elapsed = started.elapsed();
    let mut refused = 0;
    for response in responses {
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
            let (_, body) = error_of(response).await;
            assert_eq!(body.error.name, "TooManyRequestsError");
        } else {
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
    // 5 fit in the bucket, which refills by 5 a second while the burst
    // arrives (a few milliseconds, unless the machine is very busy).
    let refilled = (elapsed.as_secs_f64() * 5.0).ceil() as u64;
    assert!(refused <= 15, "{refused} refused");
    assert!(refused + refilled >= 15, "{refused} refused in {elapsed:?}");
    assert!(refused > 0);
    let stats = api.sandbox.stats();
    assert_eq!(stats.rate_limited, refused);
    assert_eq!(stats.count("GET /v1/productunits", 429), refused);
    assert_eq!(stats.count("GET /v1/productunits", 200), 20 - refused);
    // The token endpoint is not rate limited.
    for _ in 0..6 {
        fetch_token(&api.sandbox, &api.client).await;
    }
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_client_paced_at_the_rate_is_never_refused() {
    let rate = 20;
    let api = start(SandboxConfig {
        rate: Some(rate),
        ..SandboxConfig::default()
    })
    .await;
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate);
    let started = Instant::now();
    for _ in 0..2 * rate {
        ticks.tick().await;
        assert_eq!(api.get("/productunits").await.status(), StatusCode::OK);
    }
    assert!(started.elapsed() >= Duration::from_millis(1900));
    let stats = api.sandbox.stats();
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(
        stats.count("GET /v1/productunits", 200),
        u64::from(2 * rate)
    );
    // One token request plus the paced ones, spread over the seconds.
    assert_eq!(stats.total(), u64::from(2 * rate) + 1);
    assert!(stats.per_second.len() >= 2);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn error500_and_error503_create_nothing() {
    let api = start(faulty("error500=1", 1)).await;
    let (status, body) = error_of(api.post("/products", &minimal("x")).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body.error.name, "InternalServerError");
    assert_eq!(
        error_of(api.get("/products").await).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(api.sandbox.products().is_empty());
    assert_eq!(api.sandbox.stats().faults_of(FaultKind::Error500), 2);
    api.sandbox.shutdown().await;

    // A failing backend: 503 without `Retry-After` (a 503 with one is a
    // rate limit, see `--rate-limit-status`).
    let api = start(faulty("error503=1", 1)).await;
    for _ in 0..8 {
        let response = api.post("/products", &minimal("x")).await;
        assert!(response.headers().get("retry-after").is_none());
        let (status, body) = error_of(response).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.error.name, "ServiceUnavailableError");
    }
    assert!(api.sandbox.products().is_empty());
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn reset_closes_the_connection_before_creating() {
    let api = start(faulty("reset=1", 1)).await;
    let error = api
        .try_post_product(&minimal("x"))
        .await
        .expect_err("no HTTP answer");
    assert!(error.status().is_none());
    assert!(!error.is_timeout());
    let error = api
        .client
        .get(api.url("/productunits"))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect_err("lookups are reset too");
    assert!(error.status().is_none());
    assert!(api.sandbox.products().is_empty());
    let stats = api.sandbox.stats();
    assert_eq!(stats.faults_of(FaultKind::Reset), 2);
    assert_eq!(stats.dropped["POST /v1/products"], 1);
    // The token endpoint has no faults.
    fetch_token(&api.sandbox, &api.client).await;
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn ambiguous_creates_the_product_but_the_client_cannot_tell() {
    let api = start(faulty("ambiguous=1", 3)).await;
    let (mut bad_gateway, mut dropped) = (0, 0);
    for i in 0..8 {
        match api.try_post_product(&minimal(&format!("Maybe {i}"))).await {
            Ok(response) => {
                let (status, body) = error_of(response).await;
                assert_eq!(status, StatusCode::BAD_GATEWAY);
                assert_eq!(body.error.name, "BadGatewayError");
                bad_gateway += 1;
            }
            Err(error) => {
                assert!(error.status().is_none());
                dropped += 1;
            }
        }
    }
    assert!(
        bad_gateway > 0 && dropped > 0,
        "{bad_gateway} 502s, {dropped} drops"
    );
    let products = api.sandbox.products();
    assert_eq!(products.len(), 8, "every request created its product");
    assert_eq!(products[7].name.as_deref(), Some("Maybe 7"));
    // Lookups are not ambiguous.
    assert_eq!(api.products("").await.len(), 8);
    let stats = api.sandbox.stats();
    assert_eq!(stats.faults_of(FaultKind::Ambiguous), 8);
    assert_eq!(stats.dropped["POST /v1/products"], dropped);
    assert_eq!(stats.count("POST /v1/products", 502), bad_gateway);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn slow_creates_then_answers_late() {
    let api = start(faulty("slow=1", 1)).await;
    let impatient = Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = impatient
        .post(api.url("/products"))
        .bearer_auth(&api.token)
        .json(&minimal("Late"))
        .send()
        .await
        .expect_err("the client gives up");
    assert!(error.is_timeout());
    // The server may still be finishing the create on a busy machine.
    let deadline = Instant::now() + Duration::from_secs(2);
    while api.sandbox.products().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        api.sandbox.products().len(),
        1,
        "created although the client timed out"
    );

    let started = Instant::now();
    let product = api.create(minimal("Patient")).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(product.id, 2);
    assert_eq!(api.sandbox.stats().faults_of(FaultKind::Slow), 2);
    api.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let api = start(faulty("error500=0.3,error503=0.3", seed)).await;
        let mut statuses = Vec::new();
        for i in 0..20 {
            let response = api.post("/products", &minimal(&format!("P{i}"))).await;
            statuses.push(response.status().as_u16());
        }
        assert_eq!(
            api.sandbox.products().len(),
            statuses.iter().filter(|s| **s == 201).count()
        );
        api.sandbox.shutdown().await;
        statuses
    }
    let first = statuses(42).await;
    for status in [201, 500, 503] {
        assert!(first.contains(&status), "{first:?} lacks {status}");
    }
    assert_eq!(statuses(42).await, first);
    assert_ne!(statuses(43).await, first);
}

#[tokio::test]
async fn seed_data_can_be_replaced() {
    let data = SeedData::from_json(
        r#"{
          "categories": [{"id": 40, "name": "Bikes"}],
          "units": [{"id": 9, "name": "Par", "symbol": "par"}],
          "suppliers": [{"id": 7, "name": "Sykkel AS", "organizationNumber": "998877665"}],
          "products": [{"name": "Red bike", "number": "B-1", "category": {"id": 40},
                        "units": {"id": 9}, "supplier": {"id": 7}}]
        }"#,
    )
    .unwrap();
    let api = start(SandboxConfig {
        data,
        ..SandboxConfig::default()
    })
    .await;
    let products = api.products("?productNumber=B-1").await;
    assert_eq!(products.len(), 1);
    assert_eq!(
        products[0].category.clone().unwrap().name.as_deref(),
        Some("Bikes")
    );
    assert_eq!(
        products[0].units.clone().unwrap().symbol.as_deref(),
        Some("par")
    );
    assert_eq!(api.sandbox.categories().len(), 1);
    let body = json!({ "name": "x", "category": { "id": 1 } });
    assert_eq!(
        error_of(api.post("/products", &body).await).await.0,
        StatusCode::BAD_REQUEST
    );
    api.sandbox.shutdown().await;

    let refused = SeedData::from_json(r#"{"products": [{"name": "no category"}]}"#).unwrap();
    let error = sandbox::start(SandboxConfig {
        data: refused,
        ..SandboxConfig::default()
    })
    .await
    .expect_err("seed products are checked");
    assert!(format!("{error:#}").contains("category"), "{error:#}");
}
