//! The query parameters of a `/v1` request checked against those its
//! endpoint declares, under [`QueryParams::Declared`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::behaviour::QueryParams;
use crate::error::ApiError;
use crate::paging::{first_undeclared, QueryPairs};
use crate::state::Sandbox;

/// Middleware: under [`QueryParams::Declared`], 400 for a request with a
/// query parameter its endpoint does not declare (such as `ean`).
pub(crate) async fn refuse_undeclared(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    if sandbox.behaviour.query_params == QueryParams::Declared {
        let query = match QueryPairs::parse(request.uri().query()) {
            Ok(query) => query,
            Err(error) => return error.into_response(),
        };
        if let Some(name) = first_undeclared(request.method(), request.uri().path(), &query) {
            return ApiError::bad_parameter(
                name,
                "additionalProperties",
                "not a parameter of this endpoint".to_owned(),
            )
            .into_response();
        }
    }
    next.run(request).await
}
