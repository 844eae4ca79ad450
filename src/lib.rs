//! product-import: bulk-imports products from CSV and spreadsheet files into
//! Finago Office (formerly 24SevenOffice) through its REST API.
//!
//! The data's journey, one module per stage:
//! [`read`] a file into rows of [`cell::Cell`]s, [`mapping`] its headers to
//! API fields, [`validate`] each row into a [`api::types::NewProduct`],
//! submit through [`client`] paced and retried by [`pipeline`], and record
//! every row's outcome with [`results`]. The sandbox, an in-process copy of
//! the API for trying and testing all of it, is a crate of its own
//! (`product_import_sandbox`, in `crates/sandbox`). [`secrets`] keeps the known
//! secret values out of every text shown or logged.

#![warn(missing_docs)]

pub mod api;
pub mod cell;
pub mod cli;
pub(crate) mod client;
pub mod commands;
pub(crate) mod duplicates;
pub(crate) mod feed;
pub(crate) mod interrupt;
pub mod log;
pub(crate) mod mapping;
pub(crate) mod pipeline;
pub(crate) mod prepare;
pub(crate) mod preset;
pub(crate) mod progress;
pub mod read;
pub mod results;
pub mod secrets;
pub(crate) mod store;
pub(crate) mod validate;
pub(crate) mod values;
