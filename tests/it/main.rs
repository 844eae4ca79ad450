//! Integration tests, one module per area, in one test binary to keep link time down.

mod common;
mod feed;
mod import;
mod misuse;
mod read;
mod sandbox;
mod validate;
