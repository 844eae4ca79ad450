//! Integration tests, one module per area, in one test binary to keep link time down.

mod common;
mod excel;
mod import;
mod read;
mod sandbox;
mod terminal;
mod validate;
