//! Integration tests, one module per area, in one test binary to keep link time down.

mod chaos;
mod common;
mod excel;
mod export;
mod feed;
mod hostile;
mod import;
mod layers;
mod misuse;
mod read;
mod sandbox;
mod strict;
mod terminal;
mod validate;
