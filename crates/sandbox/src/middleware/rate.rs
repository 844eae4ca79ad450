//! The rate limit of `/v1` applied: a request over it is refused with
//! `Retry-After`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::behaviour::RateLimitAnswer;
use crate::error::ApiError;
use crate::rate::retry_after_secs;
use crate::state::Sandbox;

/// Middleware: refuses requests above the rate with 429, or 503 (see
/// [`RateLimitAnswer`]), and `Retry-After`.
pub(crate) async fn limit(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limit) = &sandbox.rate_limit {
        if let Err(wait) = limit.check() {
            sandbox.stats.rate_limited();
            let secs = retry_after_secs(wait);
            return match sandbox.behaviour.rate_limit_answer {
                RateLimitAnswer::TooManyRequests => ApiError::rate_limited(secs),
                RateLimitAnswer::Unavailable => ApiError::unavailable(Some(secs)),
            }
            .into_response();
        }
    }
    next.run(request).await
}
