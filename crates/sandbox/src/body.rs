//! Reading request bodies: at most 1 MiB, then JSON.

use axum::body::{Body, Bytes};
use futures::StreamExt as _;
use serde_json::Value;

use crate::error::ApiError;

/// Largest accepted request body; larger ones get 413.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// An oversized body is still read (and thrown away) up to this size before
/// answering 413, so the client finishes sending and sees the answer rather
/// than a broken pipe. Beyond it the connection is simply answered early.
const DRAIN_LIMIT: usize = 64 << 20;

/// The whole body, or 413 when it is over [`MAX_BODY_BYTES`].
pub(crate) async fn read_limited(body: Body) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        // A body that breaks off mid-way has nobody left to answer to.
        let Ok(chunk) = chunk else {
            return Err(ApiError::bad_request(
                "The request body could not be read",
                Vec::new(),
            ));
        };
        total += chunk.len();
        if total <= MAX_BODY_BYTES {
            kept.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    Ok(Bytes::from(kept))
}

/// The body parsed as JSON: 413 when too large, 400 when not JSON.
pub(crate) async fn read_json(body: Body) -> Result<Value, ApiError> {
    let bytes = read_limited(body).await?;
    serde_json::from_slice(&bytes).map_err(|error| ApiError::malformed_json(&error))
}
