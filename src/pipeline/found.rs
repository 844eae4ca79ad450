//! A product found on the server, with the answer that held it: what every
//! lookup of the run's catalogue returns and every step after it reads.
//! It stands below every other file of the pipeline, so that lookups,
//! settling and the row's steps share it without importing each other.

use crate::api::types::Product;

/// A product found on the server, with the status and trace id of the
/// answer that held it (for the row's results columns).
#[derive(Debug, Clone, PartialEq)]
pub struct FoundProduct {
    /// The product as the server gave it.
    pub product: Product,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's trace id, when it had one.
    pub trace_id: Option<String>,
}

impl FoundProduct {
    /// `product`, as held by an answer of `status` with `trace_id`.
    pub fn new(product: Product, status: u16, trace_id: Option<String>) -> FoundProduct {
        FoundProduct {
            product,
            status,
            trace_id,
        }
    }

    /// The product's id.
    pub fn id(&self) -> i64 {
        self.product.id
    }
}
