//! Writes that outlive their connection. hyper drops a request's handler
//! when its client disconnects; a real service rarely cancels work that way.
//! Here the body is read first, then the rest of the request runs in a task
//! of its own, so a client that gives up loses only the answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::behaviour::OnDisconnect;
use super::body::read_limited;
use super::error::ApiError;
use super::state::Sandbox;

/// Reads the whole body, then runs the rest of the request in a task of its
/// own after waiting `delay`. The answer comes back when the client is still
/// there; the work is done either way.
pub(crate) async fn run_detached(request: Request, next: Next, delay: Duration) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match read_limited(body).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let work = tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        next.run(request).await
    });
    // Dropping the join handle (the client left) leaves the task running.
    work.await
        .unwrap_or_else(|_| ApiError::internal().into_response())
}

/// Middleware, innermost: under [`OnDisconnect::Finish`] every write
/// (anything but `GET` and `HEAD`) runs detached from its connection.
pub(crate) async fn finish_writes(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    let write = request.method() != Method::GET && request.method() != Method::HEAD;
    if write && sandbox.behaviour.on_disconnect == OnDisconnect::Finish {
        run_detached(request, next, Duration::ZERO).await
    } else {
        next.run(request).await
    }
}
