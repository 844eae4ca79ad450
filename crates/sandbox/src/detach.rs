//! Writes that outlive their connection. hyper drops a request's handler
//! when its client disconnects; a real service rarely cancels work that way.
//! Here the body is read first, then the rest of the request runs in a task
//! of its own, so a client that gives up loses only the answer.
//!
//! Two things use it: the `late` fault, and under [`OnDisconnect::Finish`]
//! every write from the moment the rate limit lets it in, so that the
//! configured latency counts as server-side work that a timeout does not
//! cancel.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::behaviour::OnDisconnect;
use crate::body::read_limited;
use crate::error::ApiError;

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

/// Whether a request runs detached: a write under `/v1` (anything but `GET`
/// and `HEAD`) under [`OnDisconnect::Finish`].
pub(crate) fn detaches(on_disconnect: OnDisconnect, request: &Request) -> bool {
    let method = request.method();
    on_disconnect == OnDisconnect::Finish
        && request.uri().path().starts_with("/v1/")
        && method != Method::GET
        && method != Method::HEAD
}
