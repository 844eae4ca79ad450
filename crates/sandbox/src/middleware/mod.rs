//! The middleware around the `/v1` routes, each reading the sandbox's
//! [`state`](crate::state). From the outside in: [`observe::observe`]
//! (trace id, counters, error rendering; around every request),
//! [`rate::limit`], [`observe::delay`] (latency; a write detached from its
//! connection goes on from here), [`auth::require_bearer`] (token and
//! scope), [`faults::inject`], [`query::refuse_undeclared`]; the order is
//! set in `routes.rs`.

pub(crate) mod auth;
pub(crate) mod faults;
pub(crate) mod observe;
pub(crate) mod query;
pub(crate) mod rate;
