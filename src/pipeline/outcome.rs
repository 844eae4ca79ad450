//! How a row ends ([`Outcome`], before the results columns are filled in),
//! and how each step of its journey ends ([`Step`]): going on, or with the
//! row's outcome.

use std::ops::ControlFlow;

use super::found::FoundProduct;
use crate::client::{ApiError, ErrorClass};
use crate::results::RowStatus;
use crate::validate::Problem;

/// How a row ended, before the results columns are filled in.
pub(super) struct Outcome {
    pub(super) status: RowStatus,
    pub(super) id: Option<i64>,
    pub(super) http_status: Option<u16>,
    pub(super) trace_id: Option<String>,
    pub(super) error: Option<String>,
    pub(super) problems: Vec<Problem>,
}

impl Outcome {
    pub(super) fn new(status: RowStatus) -> Outcome {
        Outcome {
            status,
            id: None,
            http_status: None,
            trace_id: None,
            error: None,
            problems: Vec::new(),
        }
    }
    pub(super) fn id(mut self, id: i64) -> Outcome {
        self.id = Some(id);
        self
    }
    pub(super) fn http(mut self, status: u16, trace: Option<String>) -> Outcome {
        self.http_status = Some(status);
        self.trace_id = trace;
        self
    }
    pub(super) fn error(mut self, e: impl Into<String>) -> Outcome {
        self.error = Some(e.into());
        self
    }
    /// The row's own product, found while settling: `created`.
    pub(super) fn found_created(found: FoundProduct) -> Outcome {
        Outcome::new(RowStatus::Created)
            .id(found.product.id)
            .http(found.status, found.trace_id)
    }
    pub(super) fn failed(e: &ApiError, context: &str) -> Outcome {
        Outcome {
            status: RowStatus::Failed,
            id: None,
            http_status: e.http_status(),
            trace_id: e.trace_id().map(str::to_string),
            error: Some(format!("{context}{e}")),
            problems: Vec::new(),
        }
    }
    pub(super) fn error_if(self, cond: bool, e: impl FnOnce() -> String) -> Outcome {
        if cond {
            self.error(e())
        } else {
            self
        }
    }
}

/// A step of a row's journey: `Continue` with what the next step needs, or
/// `Break` with the outcome the row ends with. `Err` only for a fatal error.
pub(super) type Step<T> = Result<ControlFlow<Outcome, T>, ApiError>;

/// A request that failed at a step: a fatal error stops the run, any other
/// ends the row as `failed`, its message after `context`.
pub(super) fn failed_step<T>(e: ApiError, context: &str) -> Step<T> {
    if e.class() == ErrorClass::Fatal {
        Err(e)
    } else {
        Ok(ControlFlow::Break(Outcome::failed(&e, context)))
    }
}
