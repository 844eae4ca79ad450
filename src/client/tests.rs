//! [`HttpApi`] over real HTTP on 127.0.0.1: against the strict sandbox, and
//! against tiny servers that misbehave in one precise way each.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use url::Url;

use super::auth::{Credentials, Secret, DEFAULT_AUDIENCE};
use super::http::HttpApi;
use super::pacing::Pacer;
use super::paging::{all_pages, PageGuard};
use super::{ApiError, ErrorClass, ProductApi, ProductQuery, RequestCounters};
use crate::api::types::{NewProduct, Product, Supplier};
use product_import_sandbox::{
    self as sandbox, Behaviour, SandboxConfig, SandboxHandle, Scope, SeedData,
};

/// Serves `router` on an ephemeral loopback port; returns its origin.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

fn client(base: &str, token_url: &str, rate: u32) -> (HttpApi, Arc<RequestCounters>) {
    let credentials = Credentials::Client {
        client_id: Secret::new("id"),
        client_secret: Secret::new("secret"),
        organization_id: "1".into(),
        token_url: Url::parse(token_url).unwrap(),
        audience: DEFAULT_AUDIENCE.into(),
    };
    client_with(base, credentials, rate)
}

fn client_with(base: &str, credentials: Credentials, rate: u32) -> (HttpApi, Arc<RequestCounters>) {
    let counters = Arc::new(RequestCounters::default());
    let api = HttpApi::new(
        Url::parse(base).unwrap(),
        credentials,
        Duration::from_secs(10),
        Arc::new(Pacer::new(NonZeroU32::new(rate).unwrap())),
        counters.clone(),
    )
    .unwrap();
    (api, counters)
}

fn sandbox_client(sb: &SandboxHandle, rate: u32) -> (HttpApi, Arc<RequestCounters>) {
    let c = sb.credentials();
    let credentials = Credentials::Client {
        client_id: Secret::new(c.client_id.clone()),
        client_secret: Secret::new(c.client_secret.clone()),
        organization_id: c.organization_id.clone(),
        token_url: Url::parse(&sb.token_url()).unwrap(),
        audience: DEFAULT_AUDIENCE.into(),
    };
    client_with(&sb.base_url(), credentials, rate)
}

fn token_json(n: u32, ttl: u64) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"access_token": format!("t{n}"), "token_type": "Bearer", "expires_in": ttl}),
    )
}

#[tokio::test]
async fn every_list_follows_the_cursor_links_of_the_strict_sandbox() {
    let sb = sandbox::start(SandboxConfig {
        data: SeedData::builtin().with_suppliers(300),
        ..SandboxConfig::strict()
    })
    .await
    .unwrap();
    let (api, counters) = sandbox_client(&sb, 1000);
    let suppliers = all_pages(PageGuard::new("GET /customers"), |c| {
        let api = &api;
        async move { api.list_suppliers(None, c.as_ref()).await }
    })
    .await
    .unwrap();
    assert_eq!(suppliers.len(), 303);
    // `limit=100` is served as 100 a page here: 4 pages, nothing more.
    assert_eq!(sb.stats().requests("GET /v1/customers"), 4);
    let categories = all_pages(PageGuard::new("GET /productcategories"), |c| {
        let api = &api;
        async move { api.list_categories(c.as_ref()).await }
    })
    .await
    .unwrap();
    assert_eq!(categories.len(), 5);
    let units = all_pages(PageGuard::new("GET /productunits"), |c| {
        let api = &api;
        async move { api.list_units(c.as_ref()).await }
    })
    .await
    .unwrap();
    assert_eq!(units.len(), 7);
    // Every request was counted (token included).
    assert_eq!(RequestCounters::get(&counters.requests), sb.stats().total());
    sb.shutdown().await;
}

#[tokio::test]
async fn a_backlog_in_the_pacer_never_sends_an_expired_token() {
    // Tokens live 1 s, exactly; 24 requests at 8 a second queue for 3 s.
    let sb = sandbox::start(SandboxConfig {
        token_ttl: Duration::from_secs(1),
        ..SandboxConfig::strict()
    })
    .await
    .unwrap();
    let (api, _) = sandbox_client(&sb, 8);
    let api = Arc::new(api);
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move { api.list_units(None).await }));
    }
    for t in tasks {
        t.await.unwrap().expect("no request fails for its token");
    }
    let stats = sb.stats();
    assert_eq!(stats.count("GET /v1/productunits", 401), 0, "{stats:?}");
    sb.shutdown().await;
}

#[derive(Default)]
struct TokenServer {
    issued: AtomicU32,
    /// Tokens (by number) the API refuses with 401.
    refused: Mutex<Vec<u32>>,
    refuse_all: bool,
}

async fn issue(State(s): State<Arc<TokenServer>>) -> Json<serde_json::Value> {
    let n = s.issued.fetch_add(1, Ordering::SeqCst) + 1;
    token_json(n, 3600)
}

async fn units_checking_token(State(s): State<Arc<TokenServer>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer t"))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    if s.refuse_all || s.refused.lock().unwrap().contains(&token) {
        return (StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    Json(serde_json::json!([])).into_response()
}

fn token_router(state: Arc<TokenServer>) -> Router {
    Router::new()
        .route("/oauth/token", post(issue))
        .route("/v1/productunits", get(units_checking_token))
        .with_state(state)
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_a_fresh_token_refused_stops() {
    let state = Arc::new(TokenServer::default());
    state.refused.lock().unwrap().push(1);
    let origin = serve(token_router(state.clone())).await;
    let (api, _) = client(
        &format!("{origin}/v1"),
        &format!("{origin}/oauth/token"),
        100,
    );
    api.list_units(None).await.expect("renewed after a 401");
    assert_eq!(state.issued.load(Ordering::SeqCst), 2);

    let state = Arc::new(TokenServer {
        refuse_all: true,
        ..TokenServer::default()
    });
    let origin = serve(token_router(state.clone())).await;
    let (api, _) = client(
        &format!("{origin}/v1"),
        &format!("{origin}/oauth/token"),
        100,
    );
    let err = api.list_units(None).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Fatal);
    assert_eq!(
        state.issued.load(Ordering::SeqCst),
        2,
        "one renewal, then the fresh token's refusal is final"
    );
}

#[tokio::test]
async fn a_403_names_the_missing_scope_and_stops_only_for_products() {
    let sb = sandbox::start(SandboxConfig {
        behaviour: Behaviour::strict()
            .deny(Scope::CustomerRead)
            .deny(Scope::ProductWrite),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let (api, _) = sandbox_client(&sb, 1000);
    let err = api.list_suppliers(None, None).await.unwrap_err();
    match &err {
        ApiError::Forbidden {
            endpoint, scope, ..
        } => {
            assert_eq!(endpoint, "GET /customers");
            assert_eq!(*scope, "api.crm.customer:read");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(err.to_string().contains("api.crm.customer:read"), "{err}");
    // Units and products can still be read.
    api.list_units(None).await.unwrap();
    api.list_products(&ProductQuery::All, None).await.unwrap();
    let product = NewProduct {
        name: Some("X".into()),
        category: Some(crate::api::types::IdRef { id: 1 }),
        ..NewProduct::default()
    };
    let err = api.create_product(&product).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Forbidden { scope: "api.product.product:write", endpoint, .. } if endpoint == "POST /products"),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Fatal);
    sb.shutdown().await;
}

#[derive(Default)]
struct Pages {
    hits: AtomicU32,
    queries: Mutex<Vec<String>>,
}

fn supplier_json(id: i64) -> Supplier {
    Supplier {
        id,
        name: Some(format!("S{id}")),
        ..Supplier::default()
    }
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let elsewhere = Arc::new(Pages::default());
    let other = serve(
        Router::new()
            .route(
                "/v1/customers",
                get(|State(p): State<Arc<Pages>>| async move {
                    p.hits.fetch_add(1, Ordering::SeqCst);
                    Json(Vec::<Supplier>::new())
                }),
            )
            .with_state(elsewhere.clone()),
    )
    .await;
    let link = format!("<{other}/v1/customers?cursor=2>; rel=\"next\"");
    let origin = serve(
        Router::new()
            .route("/oauth/token", post(|| async { token_json(1, 3600) }))
            .route(
                "/v1/customers",
                get(move || {
                    let link = link.clone();
                    async move { ([(header::LINK, link)], Json(vec![supplier_json(1)])) }
                }),
            ),
    )
    .await;
    let (api, _) = client(
        &format!("{origin}/v1"),
        &format!("{origin}/oauth/token"),
        100,
    );
    let err = api.list_suppliers(None, None).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Paging { .. }) && err.to_string().contains("another host"),
        "{err:?}"
    );
    assert_eq!(elsewhere.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_a_link_header_products_page_by_number_and_customers_do_not() {
    // A server that ignores `page` and sends no link header, 100 items a page.
    let pages = Arc::new(Pages::default());
    let full = |State(p): State<Arc<Pages>>, RawQuery(q): RawQuery| async move {
        p.hits.fetch_add(1, Ordering::SeqCst);
        p.queries.lock().unwrap().push(q.unwrap_or_default());
        Json(
            (1..=100)
                .map(|id| Product {
                    id,
                    ..Product::default()
                })
                .collect::<Vec<_>>(),
        )
    };
    let customers = |State(p): State<Arc<Pages>>, RawQuery(q): RawQuery| async move {
        p.queries.lock().unwrap().push(q.unwrap_or_default());
        Json((1..=100).map(supplier_json).collect::<Vec<_>>())
    };
    let origin = serve(
        Router::new()
            .route("/oauth/token", post(|| async { token_json(1, 3600) }))
            .route("/v1/products", get(full))
            .route("/v1/customers", get(customers))
            .with_state(pages.clone()),
    )
    .await;
    let (api, _) = client(
        &format!("{origin}/v1"),
        &format!("{origin}/oauth/token"),
        1000,
    );
    let products = all_pages(PageGuard::new("GET /products"), |c| {
        let api = &api;
        async move { api.list_products(&ProductQuery::All, c.as_ref()).await }
    })
    .await
    .unwrap();
    assert_eq!(products.len(), 100);
    assert_eq!(
        pages.hits.load(Ordering::SeqCst),
        2,
        "page 2 repeats page 1: the listing ends there"
    );
    let suppliers = all_pages(PageGuard::new("GET /customers"), |c| {
        let api = &api;
        async move { api.list_suppliers(None, c.as_ref()).await }
    })
    .await
    .unwrap();
    assert_eq!(suppliers.len(), 100);
    let queries = pages.queries.lock().unwrap().clone();
    assert_eq!(
        queries,
        ["limit=100", "limit=100&page=2", "isSupplier=true&limit=100"]
    );
}
