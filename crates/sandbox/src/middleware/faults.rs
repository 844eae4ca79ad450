//! Acting out the fault drawn for an authenticated `/v1` request (see
//! [`FaultKind`] for what each one does).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::behaviour::Fault503;
use crate::detach::run_detached;
use crate::error::ApiError;
use crate::faults::FaultKind;
use crate::observe::Endpoint;
use crate::server::ConnectionControl;
use crate::state::Sandbox;

/// The endpoint whose requests create something, the only one the
/// `ambiguous` and `late` faults apply to.
const CREATE_PRODUCT: &str = "POST /v1/products";

/// Middleware: decides the fault of an authenticated `/v1` request and acts it out.
pub(crate) async fn inject(
    State(sandbox): State<Arc<Sandbox>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(kind) = sandbox.faults.draw() else {
        return next.run(request).await;
    };
    let endpoint = request
        .extensions()
        .get::<Endpoint>()
        .cloned()
        .unwrap_or_default();
    let creates_only = matches!(kind, FaultKind::Ambiguous | FaultKind::Late);
    if creates_only && endpoint.0 != CREATE_PRODUCT {
        return next.run(request).await;
    }
    sandbox.stats.fault(kind);
    let connection = request.extensions().get::<ConnectionControl>().cloned();
    match kind {
        FaultKind::Error500 => ApiError::internal().into_response(),
        FaultKind::Error503 => {
            let retry_after = match sandbox.behaviour.fault_503 {
                Fault503::Bare => None,
                Fault503::RetryAfter => Some(1),
            };
            ApiError::unavailable(retry_after).into_response()
        }
        FaultKind::Reset => drop_connection(&sandbox, &endpoint, connection).await,
        FaultKind::Ambiguous => {
            let drop = sandbox.faults.coin();
            let _lost = next.run(request).await;
            if drop {
                drop_connection(&sandbox, &endpoint, connection).await
            } else {
                ApiError::bad_gateway().into_response()
            }
        }
        FaultKind::Slow => {
            let response = next.run(request).await;
            tokio::time::sleep(sandbox.slow_delay).await;
            response
        }
        FaultKind::Late => run_detached(request, next, sandbox.late_delay).await,
    }
}

/// How long a dropping request waits for its connection to close. The
/// connection closes at once and drops the waiting future with it; only a
/// request detached from its connection (see `detach`) waits this out, and
/// then ends with an answer nobody receives.
const DROP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Closes the request's connection without an answer. The returned future
/// does not complete before the connection is gone when the connection is
/// ours to close; served some other way, the request gets a 502 instead.
async fn drop_connection(
    sandbox: &Sandbox,
    endpoint: &Endpoint,
    connection: Option<ConnectionControl>,
) -> Response {
    let Some(connection) = connection else {
        return ApiError::bad_gateway().into_response();
    };
    sandbox.stats.dropped(&endpoint.0);
    connection.abort();
    tokio::time::sleep(DROP_WAIT).await;
    ApiError::bad_gateway().into_response()
}
