//! Error answers in the vendor's shape: `{"error": {...}, "trackingId": "..."}`.
//!
//! Handlers and middleware return an [`ApiError`]; it travels up as a response
//! extension and [`observe`](crate::observe) renders it with the request's
//! trace id, so the body's `trackingId` always equals the `X-Trace-Id` header.

use std::fmt;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::wire::{BadRequestIssue, ErrorBody, ErrorDetail, ErrorPayload, ValidationIssue};

/// An error answer waiting for its trace id.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, name: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: ErrorDetail {
                name: name.to_owned(),
                message: Some(message.into()),
                payload: None,
            },
            retry_after: None,
        }
    }

    /// 400 `ValidationError` listing the fields that broke the schema.
    pub(crate) fn validation(issues: Vec<ValidationIssue>) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "The request body does not match the schema",
        );
        error.detail.payload = Some(ErrorPayload {
            validation_errors: Some(issues),
            errors: None,
        });
        error
    }

    /// 400 `BadRequestError` with a list of problems.
    pub(crate) fn bad_request(message: &str, errors: Vec<BadRequestIssue>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "BadRequestError", message);
        error.detail.payload = Some(ErrorPayload {
            validation_errors: None,
            errors: Some(errors),
        });
        error
    }

    /// 400 for a body that is not JSON at all.
    pub(crate) fn malformed_json(error: &serde_json::Error) -> Self {
        Self::bad_request(
            "The request body is not valid JSON",
            vec![BadRequestIssue {
                issue_type: "invalidJson".to_owned(),
                message: error.to_string(),
                arguments: json!({ "line": error.line(), "column": error.column() }),
            }],
        )
    }

    /// 400 for a malformed query parameter.
    pub(crate) fn bad_parameter(name: &str, keyword: &str, message: String) -> Self {
        let mut error = Self::validation(vec![ValidationIssue {
            path: name.to_owned(),
            keyword: keyword.to_owned(),
            message: Some(message),
        }]);
        error.detail.message = Some(format!("Invalid parameter `{name}`"));
        error
    }

    /// 401 `UnauthorizedError`.
    pub(crate) fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UnauthorizedError", message)
    }

    /// 403 `ForbiddenError`.
    pub(crate) fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "ForbiddenError", message)
    }

    /// 404 `NotFoundError`.
    pub(crate) fn not_found(message: String) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFoundError", message)
    }

    /// 405 for a known path with an unsupported method.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowedError",
            "This method is not supported on this path",
        )
    }

    /// 413 for a body over the size limit.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeError",
            format!("The request body exceeds {limit} bytes"),
        )
    }

    /// 429 from the rate limit.
    pub(crate) fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsError",
            "Rate limit exceeded; retry later",
        );
        error.retry_after = Some(retry_after_secs);
        error
    }

    /// 500 injected by a fault.
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An unexpected error occurred",
        )
    }

    /// 503 injected by a fault, optionally with `Retry-After`.
    pub(crate) fn unavailable(retry_after_secs: Option<u64>) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableError",
            "The service is temporarily unavailable",
        );
        error.retry_after = retry_after_secs;
        error
    }

    /// 502 injected by a fault after the work was done.
    pub(crate) fn bad_gateway() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "BadGatewayError",
            "The upstream service did not answer in time",
        )
    }

    /// The same error with `request` quoted at the end of its message, as a
    /// careless server does (see [`Behaviour::quote_requests`](crate::Behaviour::quote_requests)).
    /// The quote goes into every message the body carries: the plain one
    /// and each listed problem's.
    pub(crate) fn quoting(mut self, request: &str) -> Self {
        let quote = |message: &mut Option<String>| {
            let text = message.take().unwrap_or_default();
            *message = Some(format!("{text} (request: {request})"));
        };
        quote(&mut self.detail.message);
        if let Some(payload) = &mut self.detail.payload {
            for issue in payload.errors.iter_mut().flatten() {
                issue.message = format!("{} (request: {request})", issue.message);
            }
            for issue in payload.validation_errors.iter_mut().flatten() {
                quote(&mut issue.message);
            }
        }
        self
    }

    /// The finished response, with the request's trace id in the body.
    pub(crate) fn render(self, tracking_id: &str) -> Response {
        let body = ErrorBody {
            error: self.detail,
            tracking_id: tracking_id.to_owned(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl fmt::Display for ApiError {
    /// `name: message`, then each listed problem, e.g.
    /// `ValidationError: ... (name: required; category.id: type)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.detail.name)?;
        if let Some(message) = &self.detail.message {
            write!(f, ": {message}")?;
        }
        let payload = self.detail.payload.as_ref();
        let mut problems: Vec<String> = Vec::new();
        for issue in payload
            .and_then(|p| p.validation_errors.as_ref())
            .into_iter()
            .flatten()
        {
            problems.push(format!("{}: {}", issue.path, issue.keyword));
        }
        for issue in payload
            .and_then(|p| p.errors.as_ref())
            .into_iter()
            .flatten()
        {
            problems.push(issue.message.clone());
        }
        if !problems.is_empty() {
            write!(f, " ({})", problems.join("; "))?;
        }
        Ok(())
    }
}

impl IntoResponse for ApiError {
    /// A bodiless response carrying the error; `observe` renders it.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
