//! Integration tests, one module per area, in one test binary to keep link time down.

mod categories;
mod chaos;
mod common;
mod docs;
mod excel;
mod export;
mod feed;
mod hostile;
mod house;
mod import;
mod layers;
mod misuse;
mod platforms;
mod read;
mod sandbox;
mod store;
mod strict;
mod terminal;
mod validate;
