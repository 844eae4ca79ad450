//! Authentication: `POST /oauth/token` (client credentials, form-encoded or
//! JSON) hands out opaque random bearer tokens with a lifetime, and every
//! `/v1` request must carry a live one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng as _;

use super::body::read_limited;
use super::error::ApiError;
use super::state::Sandbox;
use super::AUDIENCE;
use crate::api::types::{BadRequestIssue, TokenRequest, TokenResponse};

/// Expired tokens are forgotten this long after expiry; until then a request
/// with one is told that it expired rather than that it is unknown.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// The tokens handed out and when each expires.
pub(crate) struct TokenStore {
    ttl: Duration,
    tokens: Mutex<HashMap<String, Instant>>,
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Unknown,
    Expired,
}

impl TokenStore {
    pub(crate) fn new(ttl: Duration) -> Self {
        TokenStore {
            ttl,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// A new random token valid for the configured lifetime.
    pub(crate) fn issue(&self) -> String {
        let bytes: [u8; 24] = rand::rng().random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut tokens = self.lock();
        tokens.retain(|_, expires| *expires + FORGET_AFTER > now);
        tokens.insert(token.clone(), now + self.ttl);
        token
    }

    /// Lifetime in whole seconds, as `expires_in` says it.
    pub(crate) fn expires_in(&self) -> u64 {
        self.ttl.as_secs_f64().ceil() as u64
    }

    pub(crate) fn check(&self, token: &str) -> Result<(), TokenProblem> {
        match self.lock().get(token) {
            None => Err(TokenProblem::Unknown),
            Some(expires) if *expires <= Instant::now() => Err(TokenProblem::Expired),
            Some(_) => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<TokenResponse>, ApiError> {
    let bytes = read_limited(body).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let request: TokenRequest = if is_json {
        serde_json::from_slice(&bytes).map_err(|error| ApiError::malformed_json(&error))?
    } else {
        serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            ApiError::bad_request(
                "The request body is not form-encoded",
                vec![issue("invalidForm", error.to_string())],
            )
        })?
    };
    if request.grant_type != "client_credentials" {
        return Err(ApiError::bad_request(
            "Unsupported grant type",
            vec![issue(
                "unsupportedGrantType",
                format!(
                    "grant_type must be client_credentials, not `{}`",
                    request.grant_type
                ),
            )],
        ));
    }
    let credentials = &sandbox.credentials;
    if request.client_id != credentials.client_id
        || request.client_secret != credentials.client_secret
        || request.login_organization != credentials.organization_id
    {
        return Err(ApiError::unauthorized(
            "Unknown client_id, wrong client_secret or wrong login_organization",
        ));
    }
    if request.audience != AUDIENCE {
        return Err(ApiError::forbidden(
            "Unknown audience; use https://api.24sevenoffice.com",
        ));
    }
    Ok(Json(TokenResponse {
        access_token: sandbox.tokens.issue(),
        token_type: "Bearer".to_owned(),
        expires_in: sandbox.tokens.expires_in(),
    }))
}

fn issue(issue_type: &str, message: String) -> BadRequestIssue {
    BadRequestIssue {
        issue_type: issue_type.to_owned(),
        message,
        arguments: serde_json::Value::Null,
    }
}

/// Middleware: a live bearer token or 401.
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
    let refused = match token {
        None => "Missing bearer token",
        Some(token) => match sandbox.tokens.check(token) {
            Ok(()) => return next.run(request).await,
            Err(TokenProblem::Unknown) => "Invalid token",
            Err(TokenProblem::Expired) => "Token expired",
        },
    };
    ApiError::unauthorized(refused).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_for_the_ttl() {
        let store = TokenStore::new(Duration::from_millis(30));
        let token = store.issue();
        assert_eq!(token.len(), 48);
        assert_eq!(store.check(&token), Ok(()));
        assert_eq!(store.check("nope"), Err(TokenProblem::Unknown));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(store.check(&token), Err(TokenProblem::Expired));
        assert_ne!(store.issue(), token);
        assert_eq!(store.expires_in(), 1);
    }
}
