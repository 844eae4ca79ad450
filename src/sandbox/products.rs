//! `/v1/products` and `/v1/products/{id}`: create, search and page, read,
//! update and delete products.
//!
//! Like the real service, a second product with the same `number` is
//! accepted: keeping numbers unique is the client's job.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::body::read_json;
use super::error::ApiError;
use super::state::Sandbox;
use crate::api::types::Product;

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 25;
/// Larger `limit`s are served as this many.
const MAX_LIMIT: usize = 1000;

/// `POST /v1/products`.
pub(crate) async fn create(
    State(sandbox): State<Arc<Sandbox>>,
    body: Body,
) -> Result<Response, ApiError> {
    let fields = sandbox.schemas.check_product_post(read_json(body).await?)?;
    let product = sandbox.store().create_product(&fields)?;
    Ok((StatusCode::CREATED, Json(product)).into_response())
}

/// `GET /v1/products/{id}`.
pub(crate) async fn read(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
) -> Result<Json<Product>, ApiError> {
    let id = product_id(&id)?;
    let product = sandbox.store().product(id).cloned();
    product.map(Json).ok_or_else(|| not_found(id))
}

/// `PATCH /v1/products/{id}`: the given fields only; 200 with the product.
pub(crate) async fn update(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Product>, ApiError> {
    let id = product_id(&id)?;
    let fields = sandbox
        .schemas
        .check_product_patch(read_json(body).await?)?;
    let updated = sandbox.store().update_product(id, &fields)?;
    updated.map(Json).ok_or_else(|| not_found(id))
}

/// `DELETE /v1/products/{id}`: 204.
pub(crate) async fn delete(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = product_id(&id)?;
    if sandbox.store().delete_product(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}

fn product_id(raw: &str) -> Result<i64, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_parameter("id", "type", format!("`{raw}` is not an integer")))?;
    if id < 1 {
        return Err(ApiError::bad_parameter(
            "id",
            "minimum",
            "must be at least 1".to_owned(),
        ));
    }
    Ok(id)
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("There is no product with id {id}"))
}

/// The query of `GET /v1/products`.
#[derive(Debug, Default)]
struct ProductQuery {
    page: usize,
    limit: usize,
    product_number: Option<String>,
    product_search: Option<String>,
    ean: Option<String>,
    category_ids: Option<Vec<i64>>,
    supplier_ids: Option<Vec<i64>>,
    /// Every pair as given, to rebuild the `link` URLs.
    pairs: Vec<(String, String)>,
}

impl ProductQuery {
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|error| ApiError::bad_parameter("query", "format", error.to_string()))?;
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let page = get("page").map_or(Ok(1), |v| positive("page", &v))?;
        let limit = get("limit").map_or(Ok(DEFAULT_LIMIT), |v| positive("limit", &v))?;
        Ok(ProductQuery {
            page,
            limit: limit.min(MAX_LIMIT),
            product_number: get("productNumber"),
            product_search: get("productSearch"),
            ean: get("ean"),
            category_ids: get("categoryIds")
                .map(|v| id_list("categoryIds", &v))
                .transpose()?,
            supplier_ids: get("supplierIds")
                .map(|v| id_list("supplierIds", &v))
                .transpose()?,
            pairs,
        })
    }

    fn matches(&self, product: &Product) -> bool {
        let number = product.number.as_deref();
        if self
            .product_number
            .as_deref()
            .is_some_and(|n| number != Some(n))
        {
            return false;
        }
        if self
            .ean
            .as_deref()
            .is_some_and(|e| product.ean.as_deref() != Some(e))
        {
            return false;
        }
        if let Some(ids) = &self.category_ids {
            let id = product.category.as_ref().and_then(|c| c.id);
            if !id.is_some_and(|id| ids.contains(&id)) {
                return false;
            }
        }
        if let Some(ids) = &self.supplier_ids {
            let id = product.supplier.as_ref().and_then(|s| s.id);
            if !id.is_some_and(|id| ids.contains(&id)) {
                return false;
            }
        }
        match &self.product_search {
            None => true,
            Some(pattern) => {
                let supplier_product = product.supplier_product.as_ref();
                [
                    number,
                    product.name.as_deref(),
                    supplier_product.and_then(|s| s.number.as_deref()),
                    supplier_product.and_then(|s| s.name.as_deref()),
                ]
                .into_iter()
                .flatten()
                .any(|text| like(pattern, text))
            }
        }
    }

    /// The `link` header: `first`, `prev` when not on the first page,
    /// `next` when more products follow.
    fn link(&self, base: &str, has_next: bool) -> String {
        let url = |page: usize| {
            let mut pairs: Vec<(String, String)> = self
                .pairs
                .iter()
                .filter(|(key, _)| key != "page" && key != "limit")
                .cloned()
                .collect();
            pairs.push(("page".to_owned(), page.to_string()));
            pairs.push(("limit".to_owned(), self.limit.to_string()));
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            format!("<{base}?{query}>")
        };
        let mut links = vec![format!("{}; rel=\"first\"", url(1))];
        if self.page > 1 {
            links.push(format!("{}; rel=\"prev\"", url(self.page - 1)));
        }
        if has_next {
            links.push(format!("{}; rel=\"next\"", url(self.page + 1)));
        }
        links.join(", ")
    }
}

fn positive(name: &str, value: &str) -> Result<usize, ApiError> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(ApiError::bad_parameter(
            name,
            "minimum",
            "must be at least 1".to_owned(),
        )),
        Err(_) => Err(ApiError::bad_parameter(
            name,
            "type",
            format!("`{value}` is not an integer"),
        )),
    }
}

fn id_list(name: &str, value: &str) -> Result<Vec<i64>, ApiError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse().map_err(|_| {
                ApiError::bad_parameter(name, "type", format!("`{id}` is not an integer id"))
            })
        })
        .collect()
}

/// `GET /v1/products`: a bare array, filtered and paged, with a `link` header.
pub(crate) async fn list(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = ProductQuery::parse(raw.as_deref())?;
    let skip = (query.page - 1).saturating_mul(query.limit);
    let (page, has_next) = {
        let store = sandbox.store();
        let mut matching = store.product_iter().filter(|p| query.matches(p)).skip(skip);
        let page: Vec<Product> = matching.by_ref().take(query.limit).cloned().collect();
        (page, matching.next().is_some())
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let link = query.link(&format!("http://{host}/v1/products"), has_next);
    let mut response = Json(page).into_response();
    if let Ok(value) = HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// `productSearch` matching: `%` stands for any run of characters, case is
/// ignored, and a pattern without `%` must match the whole text.
fn like(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let text = text.to_lowercase();
    let parts: Vec<&str> = pattern.split('%').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return text == first;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_follows_the_documented_wildcards() {
        assert!(like("White shoe laces", "white SHOE laces"));
        assert!(!like("White shoe", "White shoe laces"));
        assert!(like("%shoe%", "White shoe laces"));
        assert!(like("White shoe%", "White shoe laces"));
        assert!(!like("shoe%", "White shoe laces"));
        assert!(like("%laces", "White shoe laces"));
        assert!(!like("%white", "White shoe laces"));
        assert!(like("w%e%s", "White shoe laces"));
        assert!(!like("%ab%ba%", "aba"));
        assert!(like("%", ""));
    }

    #[test]
    fn query_defaults_limits_and_errors() {
        let query = ProductQuery::parse(None).unwrap();
        assert_eq!((query.page, query.limit), (1, DEFAULT_LIMIT));
        let query = ProductQuery::parse(Some("limit=5000&categoryIds=1,%202")).unwrap();
        assert_eq!(query.limit, MAX_LIMIT);
        assert_eq!(query.category_ids, Some(vec![1, 2]));
        assert!(ProductQuery::parse(Some("page=0")).is_err());
        assert!(ProductQuery::parse(Some("limit=x")).is_err());
        assert!(ProductQuery::parse(Some("supplierIds=1,a")).is_err());
    }

    #[test]
    fn link_keeps_the_filters() {
        let query = ProductQuery::parse(Some("productSearch=%25shoe%25&page=2&limit=3")).unwrap();
        assert_eq!(
            query.link("http://h/v1/products", true),
            "<http://h/v1/products?productSearch=%25shoe%25&page=1&limit=3>; rel=\"first\", \
             <http://h/v1/products?productSearch=%25shoe%25&page=1&limit=3>; rel=\"prev\", \
             <http://h/v1/products?productSearch=%25shoe%25&page=3&limit=3>; rel=\"next\""
        );
    }
}
