//! The sandbox: a real HTTP server that behaves like the Finago Office products
//! API and misbehaves on purpose, so that the importer can be tried, tested and
//! rehearsed without the vendor's servers.
//!
//! It is a crate of its own beside the importer (`product-import`), and
//! depends on nothing of it: it keeps its own copy of the vendor's wire
//! shape ([`wire`]), and request bodies are checked against JSON Schemas
//! written from the vendor's published facts, so a mistake in the
//! importer's own validation is caught here rather than copied. The
//! importer starts it for `import --sandbox` and serves it as
//! `product-import sandbox` ([`command`]).
//!
//! # What it serves
//! - `POST /oauth/token`: client credentials, form-encoded (or JSON, unless
//!   [`token_body`](Behaviour::token_body) is `form`); answers
//!   `access_token`, `token_type` and `expires_in`.
//! - Under `/v1`, with `Authorization: Bearer <token>` required:
//!   `POST`/`GET /products`, `GET`/`PATCH`/`DELETE /products/{id}`,
//!   `GET`/`POST /productcategories`, `GET /productunits` and
//!   `GET`/`POST /customers` (suppliers, and customers that are not).
//!
//! Every response carries an `X-Trace-Id` header; error bodies have the
//! vendor's shape and their `trackingId` equals that header.
//!
//! # Misbehaving on purpose
//! - A rate limit ([`SandboxConfig::rate`]) applies to `/v1` requests only, not
//!   to `/oauth/token`: governor's GCRA with a burst of `N` at `N` per second
//!   (a token bucket holding `N` requests and refilled at `N` per second), so
//!   a client pacing itself evenly at `N` per second is never refused and a
//!   burst above `N` is. A refused request gets `429` (or `503`, see the
//!   profiles) with `Retry-After` in whole seconds. The limit can change part
//!   way through a run, and its budget can start spent
//!   ([`SandboxConfig::rate_schedule`], [`RateSchedule`]).
//! - Latency and jitter delay every accepted response (also the token endpoint).
//! - Faults ([`FaultSpec`]) apply to `/v1` requests after authentication:
//!   `error500`, `error503`, `reset` and `slow` to every endpoint, `ambiguous`
//!   and `late` to `POST /products` only; see [`FaultKind`] for what each one
//!   does. The token endpoint never fails on purpose.
//! - Tokens live exactly the whole seconds their `expires_in` says
//!   ([`SandboxConfig::token_ttl`], rounded up); from that instant on a
//!   request with one gets `401` (`Token expired`).
//!
//! # Where the vendor is silent: behaviour profiles
//! The vendor's documentation leaves some behaviour open. [`Behaviour`]
//! ([`SandboxConfig::behaviour`], `--profile` and one flag per switch on the
//! command line) decides each point; [`Behaviour::lenient`] is the kindest
//! reading and the default, [`Behaviour::strict`] the worst plausible one, for
//! tests that must prove a client right:
//!
//! | switch (field, flag) | lenient | strict |
//! |---|---|---|
//! | [`number_search`](Behaviour::number_search), `--number-search`: how `productNumber` matches | `exact` | `partial` (contains, ignoring case) |
//! | [`ean_filter`](Behaviour::ean_filter), `--ean-filter`: the undocumented `ean` filter | `honoured` | `ignored` (the unfiltered list) |
//! | [`supplier_filter`](Behaviour::supplier_filter), `--supplier-filter`: `isSupplier` on `GET /customers` | `honoured` | `ignored` (customers that are not suppliers too) |
//! | [`paging`](Behaviour::paging), `--paging`: list endpoints | `numbered` | `cursor` |
//! | [`search_lag`](Behaviour::search_lag), `--search-lag-ms`: a new product missing from `GET /products` | 0 | 1.5 s |
//! | [`patch_nested`](Behaviour::patch_nested), `--patch-nested`: `stock`, `supplierProduct` in a PATCH | `merge` | `replace` |
//! | [`patch_nulls`](Behaviour::patch_nulls), `--patch-nulls`: a field given as `null` in a PATCH | `clear` | `ignore` (left as it was) |
//! | [`patch_answer`](Behaviour::patch_answer), `--patch-answer`: the body of a successful PATCH | `product` | `empty` |
//! | [`query_params`](Behaviour::query_params), `--query-params`: parameters an endpoint does not declare (`ean`) | `any` (ignored) | `declared` (400) |
//! | [`token_body`](Behaviour::token_body), `--token-body`: what `POST /oauth/token` takes | `any` (form or JSON) | `form` (JSON gets 400) |
//! | [`rate_limit_answer`](Behaviour::rate_limit_answer), `--rate-limit-status`: how `--rate` refuses | `429` | `503` (with `Retry-After`) |
//! | [`fault_503`](Behaviour::fault_503), `--fault-503`: the `error503` fault | `bare` (no `Retry-After`) | `retry-after` (`Retry-After: 1`) |
//! | [`on_disconnect`](Behaviour::on_disconnect), `--on-disconnect`: a write whose client leaves | `cancel` | `finish` |
//! | [`denied_scopes`](Behaviour::denied_scopes), `--deny-scope`: scopes withheld from tokens | none | none |
//!
//! - **Paging.** Under `numbered`, `/products` pages by `page` and `limit`
//!   (default 25, larger ones served as 1000) with page numbers in its `link`
//!   header, `/productcategories` answers everything at once and `/customers`
//!   the first `limit` (default 25, at most 100) without a `link` header.
//!   Under `cursor`, all three answer a `link` header with `first`, `prev`
//!   (after the first page) and `next` (absent on the last page), e.g.
//!   `<http://127.0.0.1:PORT/v1/customers?cursor=...&limit=25>; rel="next"`;
//!   the cursor is opaque (a masked offset with a check value: a made-up
//!   one gets 400), the page size defaults to 25 and a larger `limit` is
//!   served as 100 without complaint. `page` is honoured on `/products`
//!   only, where the vendor documents it; elsewhere it is ignored, so page 2
//!   is page 1 again. The other parameters are kept in the `link` URLs.
//!   Under `capped` (in neither profile), `/products` pages by `page` but
//!   serves at most 25 products whatever `limit` asks and sends no `link`
//!   header; the other lists answer as under `numbered`.
//! - **Search lag.** A new product is left out of every `GET /products`
//!   answer (`productNumber`, `productSearch`, `ean`, `categoryIds`,
//!   `supplierIds` or none) until the lag has passed, while
//!   `GET /products/{id}` finds it at once. Seed products have no lag.
//! - **Disconnects.** Under `finish`, a write (`POST`, `PATCH`, `DELETE`
//!   under `/v1`) is read whole as soon as the rate limit lets it in; its
//!   latency, authentication, fault and handling then run in a task of
//!   their own, so a client that times out or disconnects loses only the
//!   answer. The `late` fault does the same for one `POST /products`,
//!   waiting [`SandboxConfig::late_delay`] before creating, in either
//!   profile.
//! - **Scopes.** Every endpoint needs a [`Scope`] by method (`GET` reads,
//!   the rest writes); a token without it gets `403` `ForbiddenError` on
//!   that endpoint only. The token answer lists the granted ones in `scope`.
//!
//! Hostile switches in neither profile, for tests that play a server gone
//! wrong: [`created_id`](Behaviour::created_id) (`--created-id`) answers a
//! create with id 0, -7 or the first product's id again while the product
//! is made with its real id; [`quote_requests`](Behaviour::quote_requests)
//! (`--quote-requests`) quotes the refused request, its `Authorization`
//! header and a refused token request's body, in every error message;
//! [`endless_pages`](Behaviour::endless_pages) (`--endless-pages`) makes
//! `GET /products` go on past its last page with moving windows of the same
//! products; [`huge_pages`](Behaviour::huge_pages) (`--huge-pages-mb`) pads
//! every `GET /products` answer to that size; [`stock_moves`](Behaviour::stock_moves)
//! (`--stock-moves`) raises the stock quantity of every product a
//! `GET /products` answer lists right after, so what a client read is stale.
//!
//! Open in both profiles alike: `organizationNumber` on `/customers` is an
//! exact string match (`987 654 325` does not find `987654325`);
//! `productSearch` takes `%` wildcards over number, name and the supplier's
//! product number and name, ignoring case; product ids increase from 1;
//! `createdAt` and `modifiedAt` look like `2022-01-01 18:00:00.000Z`.
//!
//! # Judging by the server's state
//! [`SandboxHandle::stats`] counts requests per endpoint on arrival
//! ([`SandboxStats::requests`], e.g. `"GET /v1/customers"`), answers per
//! endpoint and status ([`SandboxStats::count`]), faults and the products
//! created; [`SandboxHandle::product_count`] and [`SandboxHandle::products`]
//! show what the server holds, including products created after their
//! client gave up.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use product_import_sandbox::{start, Behaviour, SandboxConfig, Scope, SeedData};
//! let config = SandboxConfig {
//!     behaviour: Behaviour::strict().deny(Scope::CustomerRead),
//!     data: SeedData::builtin().with_suppliers(300).with_products(50),
//!     ..SandboxConfig::default()
//! };
//! let server = start(config).await?;
//! // ... run the importer against server.base_url() and server.token_url() ...
//! assert_eq!(server.stats().requests("POST /v1/products"), 0);
//! assert_eq!(server.product_count(), 50);
//! # Ok(())
//! # }
//! ```
//!
//! # Seed data
//! See [`SeedData`] for the built-in categories, units and suppliers and for
//! the JSON shape that `--data` loads.
//!
//! # Modules, top to bottom
//! Each module imports only from those below it, so there is no cycle; the
//! state holds the parts, and only the middleware and handlers above it
//! read the state.
//! 1. [`command`]: the foreground server of `product-import sandbox`;
//! 2. `handle`: [`start`] and the running [`SandboxHandle`];
//! 3. `routes`: which handler and middleware serve which path;
//! 4. the handlers `products`, `catalog` and `token`, and `middleware/`
//!    (`observe`, `rate`, `auth`, `faults`, `query`);
//! 5. `server`: accepting connections, and closing one on purpose;
//! 6. `state`: one sandbox's state, built from
//! 7. `config`: [`SandboxConfig`], made of the parts' settings, and out of
//! 8. the parts: `auth` (issued tokens), `faults` (the seeded draw), `rate`
//!    (the limit and its schedule), `observe` (trace ids, latency),
//!    `paging` (query strings, windows, cursors), `stats` (counters),
//!    `store` (the records and their rules), `schema` (the JSON Schemas),
//!    and `detach` (writes that outlive their connection);
//! 9. `seed` ([`SeedData`]) and `behaviour` ([`Behaviour`] and its
//!    switches);
//! 10. shared by all: `error` (the vendor's error answers), `body` (reading
//!     request bodies) and [`wire`] (the bodies' shape).

#![warn(missing_docs)]

pub mod command;
pub mod wire;

mod auth;
mod behaviour;
mod body;
mod catalog;
mod config;
mod detach;
mod error;
mod faults;
mod handle;
mod middleware;
mod observe;
mod paging;
mod products;
mod rate;
mod routes;
mod schema;
mod seed;
mod server;
mod state;
mod stats;
mod store;
mod token;

pub use behaviour::{
    Behaviour, CreatedId, EanFilter, Fault503, NumberSearch, OnDisconnect, Paging, PatchAnswer,
    PatchNested, PatchNulls, Profile, QueryParams, RateLimitAnswer, Scope, SupplierFilter,
    TokenBody, UnknownScope,
};
pub use config::{DemoCredentials, SandboxConfig, AUDIENCE};
pub use faults::{FaultKind, FaultSpec, FaultSpecError};
pub use handle::{start, SandboxHandle};
pub use rate::RateSchedule;
pub use seed::SeedData;
pub use stats::SandboxStats;
