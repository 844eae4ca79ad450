//! How the sandbox behaves where the vendor's documentation leaves the
//! behaviour open: one switch per open question, and two named profiles.
//!
//! [`Behaviour::lenient`] is the kindest reading of the documentation (and
//! what the sandbox always did); [`Behaviour::strict`] is the worst plausible
//! one, for tests that must prove the importer right against it. Every switch
//! can also be set on its own.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use axum::http::Method;

/// A named set of switches, chosen with `product-import sandbox --profile`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// The kindest reading of the documentation, as the sandbox always behaved.
    #[default]
    Lenient,
    /// The worst plausible reading, for proving a client right.
    Strict,
}

impl Profile {
    /// The switches of this profile.
    pub fn behaviour(self) -> Behaviour {
        match self {
            Profile::Lenient => Behaviour::lenient(),
            Profile::Strict => Behaviour::strict(),
        }
    }
}

/// How `GET /products?productNumber=` compares numbers. The vendor only says
/// that it "searches for" the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NumberSearch {
    /// The whole number, case and all (`SH-1` finds `SH-1` only).
    Exact,
    /// The whole number, ignoring case (`sh-1` finds `SH-1`).
    CaseInsensitive,
    /// Any number containing the text, ignoring case (`1` finds `1`, `10`,
    /// `100` and `SH-1`).
    Partial,
}

/// What `GET /products?ean=` does; the vendor documents no such filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EanFilter {
    /// Only products with exactly this EAN.
    Honoured,
    /// The parameter has no effect: the unfiltered catalogue comes back.
    Ignored,
}

/// What `GET /customers?isSupplier=` does. The vendor documents the filter,
/// and also tells clients to check `isSupplier` on what comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SupplierFilter {
    /// Only customers whose `isSupplier` is the value asked for.
    Honoured,
    /// The parameter has no effect: customers that are not suppliers come
    /// back too (each still says `isSupplier: false`).
    Ignored,
}

/// How the list endpoints (`/products`, `/productcategories`, `/customers`)
/// page their answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Paging {
    /// `/products` pages by `page` (from 1) and `limit` (default 25, larger
    /// ones served as 1000) with `link` URLs carrying page numbers;
    /// `/productcategories` answers every category at once;
    /// `/customers` answers the first `limit` (default 25, at most 100)
    /// customers without a `link` header.
    Numbered,
    /// Every list endpoint pages by an opaque cursor: the `link` header's
    /// `next` URL carries `cursor=...` and is absent on the last page; the
    /// page size defaults to 25 and a larger `limit` is served as 100
    /// without complaint. `page` is still honoured on `/products`, where it
    /// is documented, and ignored elsewhere (asking for page 2 of
    /// `/customers` gives page 1 again).
    Cursor,
    /// `/products` pages by `page` but serves at most 25 products a page
    /// whatever `limit` asks, and sends no `link` header: a page shorter
    /// than the `limit` asked for is not the last one. The other lists
    /// answer as under `numbered`.
    Capped,
}

/// What `PATCH /products/{id}` does with a nested object (`stock`,
/// `supplierProduct`) it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PatchNested {
    /// The given fields are changed, the others keep their values.
    Merge,
    /// The object is replaced: fields not given become unset.
    Replace,
}

/// The id a `201` to `POST /products` carries. The product is created with
/// its real id either way; only the answer lies (a hostile server, in
/// neither profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CreatedId {
    /// The new product's id.
    Real,
    /// `0`.
    Zero,
    /// `-7`.
    Negative,
    /// The id of the first product this sandbox created, for every create.
    Repeated,
}

/// Which bodies `POST /oauth/token` takes. The vendor's recipe, and OAuth
/// 2.0, use a form-encoded body; JSON is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenBody {
    /// Form-encoded or JSON (by `Content-Type`).
    Any,
    /// Form-encoded only: a JSON body gets 400.
    Form,
}

/// Which query parameters the endpoints take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryParams {
    /// Any: a parameter an endpoint does not know is ignored.
    Any,
    /// Only those the vendor declares for the endpoint: any other (such as
    /// `ean` on `/products`) gets 400.
    Declared,
}

/// What `PATCH /products/{id}` does with a field given as `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PatchNulls {
    /// The field is cleared, as the vendor's schema (nullable fields) reads.
    Clear,
    /// The field is left as it was, as if not given: a server that reads
    /// `null` as "not sent".
    Ignore,
}

/// What a successful `PATCH /products/{id}` answers (the vendor says 200,
/// not with what body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PatchAnswer {
    /// The product as it is after the update.
    Product,
    /// 200 with an empty body.
    Empty,
}

/// How the rate limit refuses a request (the vendor publishes no limits and
/// names both 429 and 503 among its answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RateLimitAnswer {
    /// `429 Too Many Requests` with `Retry-After`.
    #[value(name = "429")]
    TooManyRequests,
    /// `503 Service Unavailable` with `Retry-After`, as an overloaded
    /// gateway answers.
    #[value(name = "503")]
    Unavailable,
}

/// Whether the `error503` fault says when to come back. A server may send
/// `Retry-After` with any 503, so a client cannot take every 503 with
/// `Retry-After` for its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault503 {
    /// `503` without `Retry-After`: a failing backend.
    Bare,
    /// `503` with `Retry-After: 1`, as some gateways answer any failure.
    RetryAfter,
}

/// What happens to a write (`POST`, `PATCH`, `DELETE`) whose client
/// disconnects before the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDisconnect {
    /// The work is dropped with the connection, wherever it had got to
    /// (a client that times out during the configured latency creates nothing).
    Cancel,
    /// The work runs to its end regardless, from the moment the rate limit
    /// lets the request in (its latency included); only the answer is lost.
    Finish,
}

/// A permission a token carries, named as the vendor names it (e.g.
/// `api.product.product:read` for [`Scope::ProductRead`]). Each endpoint
/// needs one, by method: reads (`GET`) need `:read`, everything else `:write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Scope {
    /// Needed by GET /products and GET /products/{id}.
    #[value(name = "api.product.product:read")]
    ProductRead,
    /// Needed by POST /products, PATCH and DELETE /products/{id}.
    #[value(name = "api.product.product:write")]
    ProductWrite,
    /// Needed by GET /productcategories.
    #[value(name = "api.product.category:read")]
    CategoryRead,
    /// Needed by POST /productcategories.
    #[value(name = "api.product.category:write")]
    CategoryWrite,
    /// Needed by GET /productunits.
    #[value(name = "api.product.unit:read")]
    UnitRead,
    /// Needed by GET /customers (suppliers).
    #[value(name = "api.crm.customer:read")]
    CustomerRead,
    /// Needed by POST /customers (a new supplier).
    #[value(name = "api.crm.customer:write")]
    CustomerWrite,
}

impl Scope {
    /// Every scope the sandbox knows.
    pub const ALL: [Scope; 7] = [
        Scope::ProductRead,
        Scope::ProductWrite,
        Scope::CategoryRead,
        Scope::CategoryWrite,
        Scope::UnitRead,
        Scope::CustomerRead,
        Scope::CustomerWrite,
    ];

    /// The vendor's name, e.g. `api.product.product:read`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::ProductRead => "api.product.product:read",
            Scope::ProductWrite => "api.product.product:write",
            Scope::CategoryRead => "api.product.category:read",
            Scope::CategoryWrite => "api.product.category:write",
            Scope::UnitRead => "api.product.unit:read",
            Scope::CustomerRead => "api.crm.customer:read",
            Scope::CustomerWrite => "api.crm.customer:write",
        }
    }

    /// The scope a request needs, by method and path (under `/v1`); `None`
    /// for paths the API does not have.
    pub(crate) fn required(method: &Method, path: &str) -> Option<Scope> {
        let read = method == Method::GET || method == Method::HEAD;
        let resource = path.strip_prefix("/v1/")?;
        let resource = resource.split('/').next().unwrap_or_default();
        Some(match (resource, read) {
            ("products", true) => Scope::ProductRead,
            ("products", false) => Scope::ProductWrite,
            ("productcategories", true) => Scope::CategoryRead,
            ("productcategories", false) => Scope::CategoryWrite,
            ("productunits", _) => Scope::UnitRead,
            ("customers", true) => Scope::CustomerRead,
            ("customers", false) => Scope::CustomerWrite,
            _ => return None,
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a scope name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// The switches for what the vendor leaves open; see [the crate's
/// documentation](crate) for the two profiles side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// How `productNumber` matches. Lenient: [`NumberSearch::Exact`];
    /// strict: [`NumberSearch::Partial`].
    pub number_search: NumberSearch,
    /// Whether `ean` filters `GET /products`. Lenient: [`EanFilter::Honoured`];
    /// strict: [`EanFilter::Ignored`].
    pub ean_filter: EanFilter,
    /// Whether `isSupplier` filters `GET /customers`. Lenient:
    /// [`SupplierFilter::Honoured`]; strict: [`SupplierFilter::Ignored`].
    pub supplier_filter: SupplierFilter,
    /// How list endpoints page. Lenient: [`Paging::Numbered`]; strict:
    /// [`Paging::Cursor`].
    pub paging: Paging,
    /// How long a new product stays out of `GET /products` answers (any
    /// filter, or none) while `GET /products/{id}` already finds it.
    /// Lenient: zero; strict: 1.5 s.
    pub search_lag: Duration,
    /// What `PATCH` does with nested objects. Lenient: [`PatchNested::Merge`];
    /// strict: [`PatchNested::Replace`].
    pub patch_nested: PatchNested,
    /// What `PATCH` does with a field given as `null`. Lenient:
    /// [`PatchNulls::Clear`]; strict: [`PatchNulls::Ignore`].
    pub patch_nulls: PatchNulls,
    /// What a successful `PATCH` answers. Lenient: [`PatchAnswer::Product`];
    /// strict: [`PatchAnswer::Empty`].
    pub patch_answer: PatchAnswer,
    /// Which query parameters are taken. Lenient: [`QueryParams::Any`];
    /// strict: [`QueryParams::Declared`].
    pub query_params: QueryParams,
    /// Which token request bodies are taken. Lenient: [`TokenBody::Any`];
    /// strict: [`TokenBody::Form`].
    pub token_body: TokenBody,
    /// How the rate limit (`--rate`) refuses. Lenient:
    /// [`RateLimitAnswer::TooManyRequests`]; strict: [`RateLimitAnswer::Unavailable`].
    pub rate_limit_answer: RateLimitAnswer,
    /// Whether the `error503` fault carries `Retry-After`. Lenient:
    /// [`Fault503::Bare`]; strict: [`Fault503::RetryAfter`].
    pub fault_503: Fault503,
    /// Whether a write survives its client disconnecting. Lenient:
    /// [`OnDisconnect::Cancel`]; strict: [`OnDisconnect::Finish`].
    pub on_disconnect: OnDisconnect,
    /// Scopes withheld from every token: a request that needs one gets 403
    /// on that endpoint only. Empty in both profiles.
    pub denied_scopes: BTreeSet<Scope>,
    /// The id a `201` to `POST /products` answers. [`CreatedId::Real`] in
    /// both profiles.
    pub created_id: CreatedId,
    /// Error messages quote the request they refuse: its method, URL and
    /// `Authorization` header, and a refused token request's body (a
    /// careless server). Off in both profiles.
    pub quote_requests: bool,
    /// `GET /products` never ends: past the last page it goes on with
    /// windows of the same products that keep moving, each with a `next`
    /// link. Off in both profiles.
    pub endless_pages: bool,
    /// Every `GET /products` answer is padded to at least this many bytes
    /// (a description that long on its first product, sent as a stream).
    /// `None` in both profiles.
    pub huge_pages: Option<usize>,
    /// Stock moves on the server: every product a `GET /products` answer
    /// lists has its `stock.quantity` raised by one right after (as if goods
    /// came in), so what a client read is stale at once. Off in both profiles.
    pub stock_moves: bool,
}

impl Default for Behaviour {
    /// [`Behaviour::lenient`].
    fn default() -> Self {
        Behaviour::lenient()
    }
}

impl Behaviour {
    /// The kindest reading of the documentation: exact number search, the
    /// `ean` and `isSupplier` filters honoured, numbered pages, no search lag, nested objects
    /// merged, writes cancelled with their connection, every scope granted.
    pub fn lenient() -> Self {
        Behaviour {
            number_search: NumberSearch::Exact,
            ean_filter: EanFilter::Honoured,
            supplier_filter: SupplierFilter::Honoured,
            paging: Paging::Numbered,
            search_lag: Duration::ZERO,
            patch_nested: PatchNested::Merge,
            patch_nulls: PatchNulls::Clear,
            patch_answer: PatchAnswer::Product,
            token_body: TokenBody::Any,
            query_params: QueryParams::Any,
            rate_limit_answer: RateLimitAnswer::TooManyRequests,
            fault_503: Fault503::Bare,
            on_disconnect: OnDisconnect::Cancel,
            denied_scopes: BTreeSet::new(),
            created_id: CreatedId::Real,
            quote_requests: false,
            endless_pages: false,
            huge_pages: None,
            stock_moves: false,
        }
    }

    /// The worst plausible reading: partial number search, `ean` and
    /// `isSupplier` ignored,
    /// cursor paging everywhere, 1.5 s of search lag, nested objects
    /// replaced, writes finished after a disconnect, every scope granted.
    pub fn strict() -> Self {
        Behaviour {
            number_search: NumberSearch::Partial,
            ean_filter: EanFilter::Ignored,
            supplier_filter: SupplierFilter::Ignored,
            paging: Paging::Cursor,
            search_lag: Duration::from_millis(1500),
            patch_nested: PatchNested::Replace,
            patch_nulls: PatchNulls::Ignore,
            patch_answer: PatchAnswer::Empty,
            token_body: TokenBody::Form,
            query_params: QueryParams::Declared,
            rate_limit_answer: RateLimitAnswer::Unavailable,
            fault_503: Fault503::RetryAfter,
            on_disconnect: OnDisconnect::Finish,
            denied_scopes: BTreeSet::new(),
            created_id: CreatedId::Real,
            quote_requests: false,
            endless_pages: false,
            huge_pages: None,
            stock_moves: false,
        }
    }

    /// The same switches with `scope` withheld from every token.
    pub fn deny(mut self, scope: Scope) -> Self {
        self.denied_scopes.insert(scope);
        self
    }

    /// True when tokens carry `scope`.
    pub fn grants(&self, scope: Scope) -> bool {
        !self.denied_scopes.contains(&scope)
    }

    /// The scopes tokens carry, in the vendor's names.
    pub fn granted_scopes(&self) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|scope| self.grants(*scope))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_by_method_and_path() {
        let needs = |method: Method, path: &str| Scope::required(&method, path);
        assert_eq!(needs(Method::GET, "/v1/products"), Some(Scope::ProductRead));
        assert_eq!(
            needs(Method::PATCH, "/v1/products/3"),
            Some(Scope::ProductWrite)
        );
        assert_eq!(
            needs(Method::POST, "/v1/productcategories"),
            Some(Scope::CategoryWrite)
        );
        assert_eq!(
            needs(Method::GET, "/v1/productunits"),
            Some(Scope::UnitRead)
        );
        assert_eq!(
            needs(Method::GET, "/v1/customers"),
            Some(Scope::CustomerRead)
        );
        assert_eq!(
            needs(Method::POST, "/v1/customers"),
            Some(Scope::CustomerWrite)
        );
        assert_eq!(needs(Method::GET, "/v1/other"), None);
    }

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.name().parse::<Scope>(), Ok(scope));
            let via_clap = <Scope as clap::ValueEnum>::from_str(scope.name(), false);
            assert_eq!(via_clap, Ok(scope));
        }
        assert!("api.crm.customer:delete".parse::<Scope>().is_err());
    }

    #[test]
    fn profiles_differ_in_every_open_question() {
        let (lenient, strict) = (Behaviour::lenient(), Behaviour::strict());
        assert_eq!(Behaviour::default(), lenient);
        assert_ne!(lenient.number_search, strict.number_search);
        assert_ne!(lenient.ean_filter, strict.ean_filter);
        assert_ne!(lenient.supplier_filter, strict.supplier_filter);
        assert_ne!(lenient.paging, strict.paging);
        assert_ne!(lenient.search_lag, strict.search_lag);
        assert_ne!(lenient.patch_nested, strict.patch_nested);
        assert_ne!(lenient.patch_nulls, strict.patch_nulls);
        assert_ne!(lenient.patch_answer, strict.patch_answer);
        assert_ne!(lenient.token_body, strict.token_body);
        assert_ne!(lenient.query_params, strict.query_params);
        assert_ne!(lenient.rate_limit_answer, strict.rate_limit_answer);
        assert_ne!(lenient.fault_503, strict.fault_503);
        assert_ne!(lenient.on_disconnect, strict.on_disconnect);
        let denied = strict.deny(Scope::CustomerRead);
        assert!(!denied.grants(Scope::CustomerRead));
        assert_eq!(denied.granted_scopes().len(), 6);
    }
}
