//! The Finago Office products API as data: request and response bodies shared
//! by the importer's client and the sandbox server. No behaviour lives here.

pub mod types;
