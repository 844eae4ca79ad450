//! The records products refer to: `/v1/productcategories` (read and create,
//! under a `parentId`), `/v1/productunits` (read only) and `/v1/customers`
//! (read, and create: `POST` answers 200 with the customer). Under
//! [`SupplierFilter::Ignored`] `isSupplier` does not filter the customers:
//! those that are not suppliers come back too, each saying so.
//!
//! `organizationNumber` on `/v1/customers` matches the stored number exactly,
//! as a string: `987 654 325` does not find `987654325`. A real server may be
//! as strict, so a client should send the number as the server holds it.
//! Paging follows [`Paging`]: under `numbered`, categories come all at once
//! and customers as the first `limit` without a `link` header; under `cursor`
//! both page by cursor and ignore `page`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::behaviour::{Paging, SupplierFilter};
use crate::body::read_json;
use crate::error::ApiError;
use crate::paging::{absolute, set_link, QueryPairs, Window};
use crate::state::Sandbox;
use crate::wire::{Category, Supplier, Unit};

/// Page size of `GET /v1/customers` when `limit` is not given.
const CUSTOMERS_DEFAULT_LIMIT: usize = 25;
/// Largest `limit` of `GET /v1/customers`.
const CUSTOMERS_MAX_LIMIT: usize = 100;

/// `GET /v1/productcategories`: every category, or a page of them under
/// cursor paging.
pub(crate) async fn list_categories(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if sandbox.behaviour.paging != Paging::Cursor {
        return Ok(Json(sandbox.store().categories().to_vec()).into_response());
    }
    let query = QueryPairs::parse(raw.as_deref())?;
    let window = Window::requested(&query, &sandbox.cursors, false)?;
    let (page, has_next) = window.cut(sandbox.store().categories().iter());
    let base = absolute(&headers, "/v1/productcategories");
    let mut response = Json::<Vec<Category>>(page).into_response();
    set_link(
        &mut response,
        &window.link(&base, &query, &sandbox.cursors, has_next),
    );
    Ok(response)
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

/// `POST /v1/customers`: 200 with the new customer and its id.
pub(crate) async fn create_customer(
    State(sandbox): State<Arc<Sandbox>>,
    body: Body,
) -> Result<Response, ApiError> {
    let fields = sandbox
        .schemas
        .check_customer_post(read_json(body).await?)?;
    let customer = sandbox.store().create_customer(&fields);
    Ok((StatusCode::OK, Json(customer)).into_response())
}

/// `GET /v1/productunits`: every unit.
pub(crate) async fn list_units(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<Unit>> {
    Json(sandbox.store().units().to_vec())
}

/// `GET /v1/customers` with `isSupplier`, `organizationNumber` and `limit`,
/// paged as [`Paging`] says.
pub(crate) async fn list_customers(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = QueryPairs::parse(raw.as_deref())?;
    let is_supplier = query
        .get("isSupplier")
        .map(|v| boolean("isSupplier", v))
        .transpose()?;
    let organization_number = query.get("organizationNumber");
    let is_supplier = match sandbox.behaviour.supplier_filter {
        SupplierFilter::Honoured => is_supplier,
        SupplierFilter::Ignored => None,
    };
    let window = match sandbox.behaviour.paging {
        Paging::Numbered | Paging::Capped => Window {
            offset: 0,
            limit: numbered_limit(&query)?,
        },
        Paging::Cursor => Window::requested(&query, &sandbox.cursors, false)?,
    };
    let (page, has_next) = {
        let store = sandbox.store();
        window.cut(
            store
                .suppliers()
                .iter()
                .filter(|s| is_supplier.is_none_or(|want| s.is_supplier == Some(want)))
                .filter(|s| {
                    organization_number.is_none_or(|n| s.organization_number.as_deref() == Some(n))
                }),
        )
    };
    let mut response = Json::<Vec<Supplier>>(page).into_response();
    if sandbox.behaviour.paging == Paging::Cursor {
        let base = absolute(&headers, "/v1/customers");
        set_link(
            &mut response,
            &window.link(&base, &query, &sandbox.cursors, has_next),
        );
    }
    Ok(response)
}

/// `limit` of `/v1/customers` under numbered paging: default 25, at most 100.
fn numbered_limit(query: &QueryPairs) -> Result<usize, ApiError> {
    match query.get("limit") {
        None => Ok(CUSTOMERS_DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(CUSTOMERS_MAX_LIMIT)),
            _ => Err(ApiError::bad_parameter(
                "limit",
                "type",
                format!("`{v}` is not a positive integer"),
            )),
        },
    }
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
