//! The bearer check of every `/v1` request: a live token or 401, the scope
//! its endpoint needs or 403.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::TokenProblem;
use crate::behaviour::Scope;
use crate::error::ApiError;
use crate::state::Sandbox;

/// Middleware: a live bearer token or 401; the scope the endpoint needs or 403.
pub(crate) async fn require_bearer(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let needed = Scope::required(request.method(), request.uri().path());
    let refused = match token {
        None => "Missing bearer token",
        Some(token) => match sandbox.tokens.check(token, needed) {
            Ok(()) => return next.run(request).await,
            Err(TokenProblem::Unknown) => "Invalid token",
            Err(TokenProblem::Expired) => "Token expired",
            Err(TokenProblem::MissingScope(scope)) => {
                let message = format!("The token lacks the scope {scope} this endpoint needs");
                return ApiError::forbidden(&message).into_response();
            }
        },
    };
    ApiError::unauthorized(refused).into_response()
}
