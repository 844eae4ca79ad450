//! What happens around every request: a trace id, the counters, rendering
//! of error bodies with that trace id, and the configured latency.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use futures::StreamExt as _;

use crate::body::MAX_BODY_BYTES;
use crate::detach;
use crate::error::ApiError;
use crate::observe::{Endpoint, TRACE_HEADER};
use crate::state::Sandbox;

/// Outermost middleware: gives the request a trace id, counts it, renders a
/// pending [`ApiError`] with that id and sets `X-Trace-Id`.
pub(crate) async fn observe(
    State(sandbox): State<Arc<Sandbox>>,
    mut request: Request,
    next: Next,
) -> Response {
    let endpoint = Endpoint::of(request.method(), request.uri().path());
    sandbox.stats.arrived(&endpoint.0);
    if endpoint.0 == CREATE {
        request = note_body(&sandbox, request).await;
    }
    let trace_id = sandbox.trace_ids.next();
    request.extensions_mut().insert(endpoint.clone());
    let quoted = sandbox.behaviour.quote_requests.then(|| {
        let authorization = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        format!(
            "{} {}; Authorization: {authorization}",
            request.method(),
            request.uri()
        )
    });
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        let error = match &quoted {
            Some(request) => error.quoting(request),
            None => error,
        };
        response = error.render(&trace_id);
    }
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_HEADER, value);
    }
    sandbox
        .stats
        .answered(&endpoint.0, response.status().as_u16());
    response
}

/// The endpoint whose bodies [`note_body`] counts.
const CREATE: &str = "POST /v1/products";

/// Counts the body of a create ([`SandboxStats::last_new_body`]) by its
/// first [`MAX_BODY_BYTES`] or so (a longer one is refused anyway), and
/// hands the request on with its body as it came: the bytes read so far,
/// a read error among them, then the rest.
///
/// [`SandboxStats::last_new_body`]: crate::SandboxStats::last_new_body
async fn note_body(sandbox: &Sandbox, request: Request) -> Request {
    let (parts, body) = request.into_parts();
    let mut rest = body.into_data_stream();
    let mut read = Vec::new();
    let mut total = 0;
    while total <= MAX_BODY_BYTES {
        match rest.next().await {
            Some(Ok(chunk)) => {
                total += chunk.len();
                read.push(Ok(chunk));
            }
            Some(Err(error)) => {
                read.push(Err(error));
                break;
            }
            None => break,
        }
    }
    sandbox
        .stats
        .posted(read.iter().filter_map(|chunk| chunk.as_ref().ok()));
    let body = Body::from_stream(futures::stream::iter(read).chain(rest));
    Request::from_parts(parts, body)
}

/// Middleware: waits the configured latency before handling the request.
/// A write that runs detached from its connection (see [`detach`]) waits
/// and is handled in a task of its own.
pub(crate) async fn delay(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    let wait = sandbox.latency.next();
    if detach::detaches(sandbox.behaviour.on_disconnect, &request) {
        return detach::run_detached(request, next, wait).await;
    }
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    next.run(request).await
}
