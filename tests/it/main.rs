//! Integration tests, one module per area, in one test binary to keep link time down.

mod chaos;
mod common;
mod import;
mod misuse;
mod read;
mod sandbox;
mod strict;
mod validate;
