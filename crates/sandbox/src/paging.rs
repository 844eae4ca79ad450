//! Query strings and cursor paging of the list endpoints, and which query
//! parameters each endpoint declares ([`first_undeclared`]).
//!
//! Under [`Paging::Cursor`](crate::behaviour::Paging::Cursor) a page is a
//! window (offset and size) over the matching records; the `link` header's
//! `next` URL carries the following window's offset as an opaque cursor (the
//! offset masked with a per-sandbox salt, plus a check value), so a client
//! that builds page numbers instead of following `next` is caught.

use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::Response;

use crate::error::ApiError;

/// Page size when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 25;
/// Under cursor paging, larger `limit`s are served as this many.
pub(crate) const CURSOR_MAX_LIMIT: usize = 100;

/// The pairs of a query string, in order, repeated names included.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryPairs(Vec<(String, String)>);

impl QueryPairs {
    /// Parses a raw query string; 400 when it is not form-encoded.
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(QueryPairs)
            .map_err(|error| ApiError::bad_parameter("query", "format", error.to_string()))
    }

    /// The last value given for `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The pairs other than the paging ones (`page`, `limit`, `cursor`),
    /// followed by `extra`, as a query string.
    pub(crate) fn with_paging(&self, extra: &[(&str, String)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "page" | "limit" | "cursor"))
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        pairs.extend(extra.iter().map(|(key, value)| (*key, value.as_str())));
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// The query parameters the vendor declares for a `GET` of `path` (under
/// `/v1`), plus `cursor`, which only this sandbox hands out in its own
/// `link` URLs. Other methods and paths declare none.
fn declared(path: &str) -> &'static [&'static str] {
    match path {
        "/v1/products" => &[
            "page",
            "limit",
            "productSearch",
            "categoryIds",
            "supplierIds",
            "productNumber",
            "cursor",
        ],
        "/v1/customers" => &[
            "limit",
            "organizationNumber",
            "isCompany",
            "isSupplier",
            "modifiedFrom",
            "createdFrom",
            "sortBy",
            "cursor",
        ],
        "/v1/productcategories" => &["limit", "cursor"],
        _ => &[],
    }
}

/// The first parameter of `query` that a `method` of `path` does not
/// declare (see [`declared`]).
pub(crate) fn first_undeclared<'q>(
    method: &Method,
    path: &str,
    query: &'q QueryPairs,
) -> Option<&'q str> {
    let allowed = match *method {
        Method::GET => declared(path),
        _ => &[],
    };
    query
        .0
        .iter()
        .map(|(name, _)| name.as_str())
        .find(|name| !allowed.contains(name))
}

/// A whole number of at least 1, or 400 naming the parameter.
pub(crate) fn positive(name: &str, value: &str) -> Result<usize, ApiError> {
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

/// Makes and reads cursors. A cursor is 24 hex digits: the offset masked
/// with the salt, then a check value, so that a made-up one is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursors {
    salt: u64,
}

impl Cursors {
    pub(crate) fn new(salt: u64) -> Self {
        Cursors { salt }
    }

    /// The check value of a masked offset; it depends on the salt too, so a
    /// cursor of another sandbox is refused.
    fn check(&self, masked: u64) -> u32 {
        ((masked ^ self.salt.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
    }

    /// The cursor of the window starting at `offset`.
    pub(crate) fn encode(&self, offset: usize) -> String {
        let masked = offset as u64 ^ self.salt;
        format!("{masked:016x}{:08x}", self.check(masked))
    }

    /// The offset a cursor stands for; 400 when this sandbox did not issue it.
    pub(crate) fn decode(&self, cursor: &str) -> Result<usize, ApiError> {
        let refused = || {
            ApiError::bad_parameter(
                "cursor",
                "format",
                "not a cursor this server handed out; follow the link header's URLs".to_owned(),
            )
        };
        if cursor.len() != 24 || !cursor.is_ascii() {
            return Err(refused());
        }
        let masked = u64::from_str_radix(&cursor[..16], 16).map_err(|_| refused())?;
        let check = u32::from_str_radix(&cursor[16..], 16).map_err(|_| refused())?;
        if check != self.check(masked) {
            return Err(refused());
        }
        usize::try_from(masked ^ self.salt).map_err(|_| refused())
    }
}

/// One page of a cursor-paged list: where it starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) offset: usize,
    pub(crate) limit: usize,
}

impl Window {
    /// The window a cursor-paged request asks for: `cursor` if given, else
    /// `page` when `honour_page` (else page 1); `limit` defaults to
    /// [`DEFAULT_LIMIT`] and is capped at [`CURSOR_MAX_LIMIT`].
    pub(crate) fn requested(
        query: &QueryPairs,
        cursors: &Cursors,
        honour_page: bool,
    ) -> Result<Self, ApiError> {
        let limit = query
            .get("limit")
            .map_or(Ok(DEFAULT_LIMIT), |v| positive("limit", v))?
            .min(CURSOR_MAX_LIMIT);
        let offset = match (query.get("cursor"), query.get("page")) {
            (Some(cursor), _) => cursors.decode(cursor)?,
            (None, Some(page)) if honour_page => {
                (positive("page", page)? - 1).saturating_mul(limit)
            }
            _ => 0,
        };
        Ok(Window { offset, limit })
    }

    /// This window of `items`, and whether more follow it.
    pub(crate) fn cut<'a, T: Clone + 'a>(
        &self,
        items: impl Iterator<Item = &'a T>,
    ) -> (Vec<T>, bool) {
        let mut rest = items.skip(self.offset);
        let page = rest.by_ref().take(self.limit).cloned().collect();
        (page, rest.next().is_some())
    }

    /// The `link` header: `first`; `prev` unless this is the first page;
    /// `next` when more follow. The URLs keep the request's other parameters.
    pub(crate) fn link(
        &self,
        base: &str,
        query: &QueryPairs,
        cursors: &Cursors,
        has_next: bool,
    ) -> String {
        let limit = ("limit", self.limit.to_string());
        let at = |offset: usize| {
            let cursor = ("cursor", cursors.encode(offset));
            format!("<{base}?{}>", query.with_paging(&[cursor, limit.clone()]))
        };
        let first = format!(
            "<{base}?{}>",
            query.with_paging(std::slice::from_ref(&limit))
        );
        let mut links = vec![format!("{first}; rel=\"first\"")];
        if self.offset > 0 {
            let prev = self.offset.saturating_sub(self.limit);
            links.push(format!("{}; rel=\"prev\"", at(prev)));
        }
        if has_next {
            links.push(format!("{}; rel=\"next\"", at(self.offset + self.limit)));
        }
        links.join(", ")
    }
}

/// The absolute URL of `path` as the client reached it (by its `Host`).
pub(crate) fn absolute(headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{path}")
}

/// Sets the `link` header of a response.
pub(crate) fn set_link(response: &mut Response, link: &str) {
    if let Ok(value) = HeaderValue::from_str(link) {
        response.headers_mut().insert(header::LINK, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_parameters_are_found_per_endpoint() {
        let query = |raw| QueryPairs::parse(Some(raw)).unwrap();
        let undeclared =
            |method, path, raw| first_undeclared(&method, path, &query(raw)).map(str::to_owned);
        assert_eq!(
            undeclared(Method::GET, "/v1/products", "productNumber=A&ean=1"),
            Some("ean".to_owned())
        );
        assert_eq!(
            undeclared(Method::GET, "/v1/products", "page=2&limit=5"),
            None
        );
        assert_eq!(
            undeclared(Method::POST, "/v1/products", "page=2"),
            Some("page".to_owned())
        );
        assert_eq!(
            undeclared(Method::GET, "/v1/productunits", "limit=5"),
            Some("limit".to_owned())
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let cursors = Cursors::new(0x1234_5678_9abc_def0);
        for offset in [0, 1, 25, 100_000] {
            let cursor = cursors.encode(offset);
            assert_eq!(cursor.len(), 24);
            assert_eq!(cursors.decode(&cursor).unwrap(), offset);
        }
        assert_ne!(cursors.encode(25), Cursors::new(1).encode(25));
        assert!(cursors.decode("2").is_err());
        let mut forged = cursors.encode(25).into_bytes();
        forged[15] = if forged[15] == b'0' { b'1' } else { b'0' };
        assert!(cursors
            .decode(std::str::from_utf8(&forged).unwrap())
            .is_err());
        assert!(Cursors::new(7).decode(&cursors.encode(25)).is_err());
    }

    #[test]
    fn windows_cap_the_limit_and_follow_cursor_or_page() {
        let cursors = Cursors::new(9);
        let window = |raw: &str, honour_page| {
            Window::requested(
                &QueryPairs::parse(Some(raw)).unwrap(),
                &cursors,
                honour_page,
            )
        };
        assert_eq!(
            window("", true).unwrap(),
            Window {
                offset: 0,
                limit: 25
            }
        );
        assert_eq!(window("limit=500", false).unwrap().limit, 100);
        assert_eq!(window("page=3&limit=10", true).unwrap().offset, 20);
        assert_eq!(window("page=3&limit=10", false).unwrap().offset, 0);
        let cursor = cursors.encode(40);
        let raw = format!("page=2&cursor={cursor}");
        assert_eq!(window(&raw, true).unwrap().offset, 40);
        assert!(window("cursor=abc", false).is_err());
        assert!(window("limit=0", false).is_err());
    }

    #[test]
    fn links_keep_filters_and_carry_cursors() {
        let cursors = Cursors::new(9);
        let query = QueryPairs::parse(Some("isSupplier=true&page=2&limit=10")).unwrap();
        let window = Window {
            offset: 10,
            limit: 10,
        };
        let link = window.link("http://h/v1/customers", &query, &cursors, true);
        assert_eq!(
            link,
            format!(
                "<http://h/v1/customers?isSupplier=true&limit=10>; rel=\"first\", \
                 <http://h/v1/customers?isSupplier=true&cursor={}&limit=10>; rel=\"prev\", \
                 <http://h/v1/customers?isSupplier=true&cursor={}&limit=10>; rel=\"next\"",
                cursors.encode(0),
                cursors.encode(20)
            )
        );
        let (page, more) = window.cut((0..25).collect::<Vec<i32>>().iter());
        assert_eq!((page.len(), page[0], more), (10, 10, true));
        let (page, more) = Window {
            offset: 20,
            limit: 10,
        }
        .cut([1, 2, 3].iter());
        assert!(page.is_empty() && !more);
    }
}
