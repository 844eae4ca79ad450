//! `/v1/products` and `/v1/products/{id}`: create, search and page, read,
//! update and delete products.
//!
//! Like the real service, a second product with the same `number` is
//! accepted: keeping numbers unique is the client's job.
//!
//! How `productNumber` and `ean` filter, how answers are paged and how soon
//! a new product shows in them follow the sandbox's
//! [`Behaviour`](crate::Behaviour); `productSearch`, `categoryIds` and
//! `supplierIds` always filter as documented.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::behaviour::{Behaviour, CreatedId, EanFilter, NumberSearch, Paging, PatchAnswer};
use crate::body::read_json;
use crate::error::ApiError;
use crate::paging::{absolute, positive, set_link, QueryPairs, Window, DEFAULT_LIMIT};
use crate::state::Sandbox;
use crate::wire::Product;

/// Under numbered paging, larger `limit`s are served as this many.
const NUMBERED_MAX_LIMIT: usize = 1000;
/// Under capped paging, every page holds at most this many products.
const CAPPED_LIMIT: usize = 25;

/// `POST /v1/products`.
pub(crate) async fn create(
    State(sandbox): State<Arc<Sandbox>>,
    body: Body,
) -> Result<Response, ApiError> {
    let fields = sandbox.schemas.check_product_post(read_json(body).await?)?;
    let mut product = sandbox.store().create_product(&fields)?;
    sandbox.stats.product_created();
    product.id = match sandbox.behaviour.created_id {
        CreatedId::Real => product.id,
        CreatedId::Zero => 0,
        CreatedId::Negative => -7,
        CreatedId::Repeated => *sandbox.first_posted_id.get_or_init(|| product.id),
    };
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

/// `PATCH /v1/products/{id}`: the given fields only; 200 with the product,
/// or with an empty body (see [`Behaviour::patch_answer`]).
pub(crate) async fn update(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = product_id(&id)?;
    let fields = sandbox
        .schemas
        .check_product_patch(read_json(body).await?)?;
    let updated = sandbox.store().update_product(id, &fields)?;
    let updated = updated.ok_or_else(|| not_found(id))?;
    Ok(match sandbox.behaviour.patch_answer {
        PatchAnswer::Product => Json(updated).into_response(),
        PatchAnswer::Empty => StatusCode::OK.into_response(),
    })
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

/// The filters of `GET /v1/products`, read as the sandbox's [`Behaviour`]
/// says.
#[derive(Debug)]
struct ProductFilter {
    product_number: Option<String>,
    number_search: NumberSearch,
    product_search: Option<String>,
    ean: Option<String>,
    category_ids: Option<Vec<i64>>,
    supplier_ids: Option<Vec<i64>>,
}

impl ProductFilter {
    fn parse(query: &QueryPairs, behaviour: &Behaviour) -> Result<Self, ApiError> {
        let ean = match behaviour.ean_filter {
            EanFilter::Honoured => query.get("ean").map(str::to_owned),
            EanFilter::Ignored => None,
        };
        Ok(ProductFilter {
            product_number: query.get("productNumber").map(str::to_owned),
            number_search: behaviour.number_search,
            product_search: query.get("productSearch").map(str::to_owned),
            ean,
            category_ids: query
                .get("categoryIds")
                .map(|v| id_list("categoryIds", v))
                .transpose()?,
            supplier_ids: query
                .get("supplierIds")
                .map(|v| id_list("supplierIds", v))
                .transpose()?,
        })
    }

    fn matches(&self, product: &Product) -> bool {
        let number = product.number.as_deref();
        if let Some(wanted) = &self.product_number {
            if !number.is_some_and(|number| number_matches(self.number_search, wanted, number)) {
                return false;
            }
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
}

/// Whether a product's `number` answers a `productNumber` search.
fn number_matches(mode: NumberSearch, wanted: &str, number: &str) -> bool {
    match mode {
        NumberSearch::Exact => number == wanted,
        NumberSearch::CaseInsensitive => number.to_lowercase() == wanted.to_lowercase(),
        NumberSearch::Partial => number.to_lowercase().contains(&wanted.to_lowercase()),
    }
}

/// The window of a numbered request (`page` from 1, `limit` capped at
/// [`NUMBERED_MAX_LIMIT`]) and its page number.
fn numbered_window(query: &QueryPairs) -> Result<(usize, Window), ApiError> {
    let page = query.get("page").map_or(Ok(1), |v| positive("page", v))?;
    let limit = query
        .get("limit")
        .map_or(Ok(DEFAULT_LIMIT), |v| positive("limit", v))?
        .min(NUMBERED_MAX_LIMIT);
    let offset = (page - 1).saturating_mul(limit);
    Ok((page, Window { offset, limit }))
}

/// The `link` header of numbered paging: `first`, `prev` when not on the
/// first page, `next` when more products follow.
fn numbered_link(
    base: &str,
    query: &QueryPairs,
    page: usize,
    limit: usize,
    has_next: bool,
) -> String {
    let url = |page: usize| {
        let paging = [("page", page.to_string()), ("limit", limit.to_string())];
        format!("<{base}?{}>", query.with_paging(&paging))
    };
    let mut links = vec![format!("{}; rel=\"first\"", url(1))];
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if has_next {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
    }
    links.join(", ")
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

/// `GET /v1/products`: a bare array, filtered and paged, with a `link`
/// header. Products still within the search lag are left out.
pub(crate) async fn list(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = QueryPairs::parse(raw.as_deref())?;
    let behaviour = &sandbox.behaviour;
    let filter = ProductFilter::parse(&query, behaviour)?;
    let numbered = match behaviour.paging {
        Paging::Numbered => Some(numbered_window(&query)?),
        Paging::Capped => {
            let (page, mut window) = numbered_window(&query)?;
            window.limit = window.limit.min(CAPPED_LIMIT);
            window.offset = (page - 1).saturating_mul(window.limit);
            Some((page, window))
        }
        Paging::Cursor => None,
    };
    let window = match numbered {
        Some((_, window)) => window,
        None => Window::requested(&query, &sandbox.cursors, true)?,
    };
    let (page, has_next) = {
        let store = sandbox.store();
        let matching = store
            .searchable_products(Instant::now())
            .filter(|p| filter.matches(p));
        if behaviour.endless_pages {
            let matching: Vec<Product> = matching.cloned().collect();
            endless_window(&matching, window)
        } else {
            window.cut(matching)
        }
    };
    if behaviour.stock_moves {
        let mut store = sandbox.store();
        for product in &page {
            store.move_stock(product.id, 1.0);
        }
    }
    let base = absolute(&headers, "/v1/products");
    let link = match numbered {
        _ if behaviour.paging == Paging::Capped => None,
        Some((number, window)) => {
            Some(numbered_link(&base, &query, number, window.limit, has_next))
        }
        None => Some(window.link(&base, &query, &sandbox.cursors, has_next)),
    };
    let mut response = match behaviour.huge_pages {
        Some(bytes) => padded(page, bytes),
        None => Json(page).into_response(),
    };
    if let Some(link) = link {
        set_link(&mut response, &link);
    }
    Ok(response)
}

/// A window of `items` that never ends: the real window while it holds
/// products, then windows of `window.limit` products from a start that
/// moves by a stride sharing no factor with the count, so that no two of
/// the first `items.len()` pages start alike. Always more to follow.
fn endless_window(items: &[Product], window: Window) -> (Vec<Product>, bool) {
    let (page, _) = window.cut(items.iter());
    if !page.is_empty() || items.is_empty() {
        return (page, !items.is_empty());
    }
    let (len, limit) = (items.len(), window.limit.max(1));
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut stride = limit;
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    let start = (window.offset / limit).wrapping_mul(stride) % len;
    let page = (0..limit.min(len))
        .map(|i| items[(start + i) % len].clone())
        .collect();
    (page, true)
}

/// `page` as a JSON array streamed out with the first product's
/// `description` padded so that the body holds at least `bytes` bytes.
fn padded(mut page: Vec<Product>, bytes: usize) -> Response {
    const CHUNK: usize = 64 << 10;
    let Some(first) = page.first_mut() else {
        return Json(page).into_response();
    };
    first.description = Some("<PAD>".to_owned());
    let text = serde_json::to_string(&page).unwrap_or_default();
    let (head, tail) = text.split_once("<PAD>").unwrap_or((&text, ""));
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let chunks = bytes.div_ceil(CHUNK);
    let body = futures::stream::iter(
        std::iter::once(head.into_bytes())
            .chain((0..chunks).map(|_| vec![b'x'; CHUNK]))
            .chain(std::iter::once(tail.into_bytes()))
            .map(Ok::<_, std::convert::Infallible>),
    );
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
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
    fn numbered_windows_default_cap_and_refuse() {
        let parse = |raw: &str| numbered_window(&QueryPairs::parse(Some(raw)).unwrap());
        let (page, window) = parse("").unwrap();
        assert_eq!((page, window.offset, window.limit), (1, 0, DEFAULT_LIMIT));
        assert_eq!(parse("limit=5000").unwrap().1.limit, NUMBERED_MAX_LIMIT);
        assert_eq!(parse("page=3&limit=4").unwrap().1.offset, 8);
        assert!(parse("page=0").is_err());
        assert!(parse("limit=x").is_err());
        let query = QueryPairs::parse(Some("categoryIds=1,%202")).unwrap();
        let filter = ProductFilter::parse(&query, &Behaviour::lenient()).unwrap();
        assert_eq!(filter.category_ids, Some(vec![1, 2]));
        let query = QueryPairs::parse(Some("supplierIds=1,a")).unwrap();
        assert!(ProductFilter::parse(&query, &Behaviour::lenient()).is_err());
    }

    #[test]
    fn number_search_modes() {
        use NumberSearch::*;
        assert!(number_matches(Exact, "SH-1", "SH-1"));
        assert!(!number_matches(Exact, "sh-1", "SH-1"));
        assert!(number_matches(CaseInsensitive, "sh-1", "SH-1"));
        assert!(!number_matches(CaseInsensitive, "1", "SH-1"));
        assert!(number_matches(Partial, "h-1", "SH-10"));
        assert!(!number_matches(Partial, "2", "SH-10"));
    }

    #[test]
    fn link_keeps_the_filters() {
        let query = QueryPairs::parse(Some("productSearch=%25shoe%25&page=2&limit=3")).unwrap();
        assert_eq!(
            numbered_link("http://h/v1/products", &query, 2, 3, true),
            "<http://h/v1/products?productSearch=%25shoe%25&page=1&limit=3>; rel=\"first\", \
             <http://h/v1/products?productSearch=%25shoe%25&page=1&limit=3>; rel=\"prev\", \
             <http://h/v1/products?productSearch=%25shoe%25&page=3&limit=3>; rel=\"next\""
        );
    }
}
