//! The map of the sandbox: which handler serves which path, and which
//! middleware wraps it.
//!
//! From the outside in, a `/v1` request passes: `observe` (trace id,
//! counters, error rendering), `rate::limit`, `observe::delay` (latency;
//! under `on_disconnect = finish` a write goes on from here in a task of its
//! own), `auth::require_bearer` (token and scope), `faults::inject`,
//! `query::refuse_undeclared` (query parameters), all in
//! [`middleware`](crate::middleware), then its handler. The token endpoint
//! has only `observe` and the latency.

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::middleware::{auth, faults, observe, query, rate};
use crate::state::Sandbox;
use crate::{catalog, products, token};

/// The whole application.
pub(crate) fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/v1/products", get(products::list).post(products::create))
        .route(
            "/v1/products/{id}",
            get(products::read)
                .patch(products::update)
                .delete(products::delete),
        )
        .route(
            "/v1/productcategories",
            get(catalog::list_categories).post(catalog::create_category),
        )
        .route("/v1/productunits", get(catalog::list_units))
        .route(
            "/v1/customers",
            get(catalog::list_customers).post(catalog::create_customer),
        )
        .method_not_allowed_fallback(wrong_method)
        // Route layers wrap the routes above only, each outside the previous one.
        .route_layer(from_fn_with_state(
            sandbox.clone(),
            query::refuse_undeclared,
        ))
        .route_layer(from_fn_with_state(sandbox.clone(), faults::inject))
        .route_layer(from_fn_with_state(sandbox.clone(), auth::require_bearer))
        .route_layer(from_fn_with_state(sandbox.clone(), observe::delay))
        .route_layer(from_fn_with_state(sandbox.clone(), rate::limit))
        .route(
            "/oauth/token",
            post(token::token)
                .fallback(wrong_method)
                .route_layer(from_fn_with_state(sandbox.clone(), observe::delay)),
        )
        .fallback(unknown_path)
        .layer(from_fn_with_state(sandbox.clone(), observe::observe))
        .with_state(sandbox)
}

async fn unknown_path() -> ApiError {
    ApiError::not_found("There is no such path in this API".to_owned())
}

async fn wrong_method() -> ApiError {
    ApiError::method_not_allowed()
}
