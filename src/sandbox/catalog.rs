//! The records products refer to: `/v1/productcategories` (read and create),
//! `/v1/productunits` (read only) and `/v1/customers` (read only; the seed
//! data holds suppliers only).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::body::read_json;
use super::error::ApiError;
use super::state::Sandbox;
use crate::api::types::{Category, Supplier, Unit};

/// Page size of `GET /v1/customers` when `limit` is not given.
const CUSTOMERS_DEFAULT_LIMIT: usize = 25;
/// Largest `limit` of `GET /v1/customers`.
const CUSTOMERS_MAX_LIMIT: usize = 100;

/// `GET /v1/productcategories`: every category.
pub(crate) async fn list_categories(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<Category>> {
    Json(sandbox.store().categories().to_vec())
}

/// `POST /v1/productcategories`: 201 with the new category and its id.
pub(crate) async fn create_category(
    State(sandbox): State<Arc<Sandbox>>,
    body: Body,
) -> Result<Response, ApiError> {
    let fields = sandbox
        .schemas
        .check_category_post(read_json(body).await?)?;
    let category = sandbox.store().create_category(&fields)?;
    Ok((StatusCode::CREATED, Json(category)).into_response())
}

/// `GET /v1/productunits`: every unit.
pub(crate) async fn list_units(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<Unit>> {
    Json(sandbox.store().units().to_vec())
}

/// `GET /v1/customers` with `isSupplier`, `organizationNumber` and `limit`.
pub(crate) async fn list_customers(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Supplier>>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|error| ApiError::bad_parameter("query", "format", error.to_string()))?;
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let is_supplier = get("isSupplier")
        .map(|v| boolean("isSupplier", v))
        .transpose()?;
    let limit = match get("limit") {
        None => CUSTOMERS_DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(CUSTOMERS_MAX_LIMIT),
            _ => {
                return Err(ApiError::bad_parameter(
                    "limit",
                    "type",
                    format!("`{v}` is not a positive integer"),
                ))
            }
        },
    };
    let organization_number = get("organizationNumber");
    let store = sandbox.store();
    let customers = store
        .suppliers()
        .iter()
        // Every customer the sandbox holds is a supplier.
        .filter(|_| is_supplier != Some(false))
        .filter(|s| organization_number.is_none_or(|n| s.organization_number.as_deref() == Some(n)))
        .take(limit)
        .cloned()
        .collect();
    Ok(Json(customers))
}

fn boolean(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_parameter(
            name,
            "type",
            format!("`{value}` is not true or false"),
        )),
    }
}
