//! `POST /oauth/token`: client credentials, form-encoded (JSON too unless
//! [`TokenBody::Form`](crate::TokenBody::Form)), answered with a bearer token
//! from the sandbox's [`TokenStore`](crate::auth::TokenStore).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;

use crate::behaviour::TokenBody;
use crate::body::read_limited;
use crate::config::AUDIENCE;
use crate::error::ApiError;
use crate::state::Sandbox;
use crate::wire::{BadRequestIssue, TokenRequest};

/// The answer of `POST /oauth/token`: OAuth 2.0's `access_token`,
/// `token_type` and `expires_in`, plus the granted `scope`, which OAuth
/// requires when it differs from the one asked for.
#[derive(Debug, serde::Serialize)]
pub(crate) struct IssuedToken {
    access_token: String,
    token_type: String,
    expires_in: u64,
    scope: String,
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IssuedToken>, ApiError> {
    let bytes = read_limited(body).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if is_json && sandbox.behaviour.token_body == TokenBody::Form {
        return Err(ApiError::bad_request(
            "The token request must be form-encoded",
            vec![issue(
                "unsupportedMediaType",
                "send application/x-www-form-urlencoded, as OAuth 2.0 says".to_owned(),
            )],
        ));
    }
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
        let refused = ApiError::unauthorized(
            "Unknown client_id, wrong client_secret or wrong login_organization",
        );
        return Err(match sandbox.behaviour.quote_requests {
            true => refused.quoting(&format!("body {}", String::from_utf8_lossy(&bytes))),
            false => refused,
        });
    }
    if request.audience != AUDIENCE {
        return Err(ApiError::forbidden(
            "Unknown audience; use https://api.24sevenoffice.com",
        ));
    }
    Ok(Json(IssuedToken {
        access_token: sandbox.tokens.issue(),
        token_type: "Bearer".to_owned(),
        expires_in: sandbox.tokens.expires_in(),
        scope: sandbox.tokens.scope_text(),
    }))
}

fn issue(issue_type: &str, message: String) -> BadRequestIssue {
    BadRequestIssue {
        issue_type: issue_type.to_owned(),
        message,
        arguments: serde_json::Value::Null,
    }
}
