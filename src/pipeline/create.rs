//! A row's create step: its POST, sent again as the retry policy allows,
//! and the row in the sending journal before the first send. A POST whose
//! outcome is unknown ends a send ([`Sent::Unknown`]): [`super::row`]
//! settles it (see [`super::settle`]) and, when settling finds nothing,
//! asks [`Creating::send_again`] whether the row may be sent once more.

use super::context::{Context, Slot};
use super::outcome::Outcome;
use super::retry::{Attempts, NextTry, RetryPolicy};
use crate::api::types::NewProduct;
use crate::client::{ApiError, ErrorClass, ProductApi, RequestCounters};
use crate::results::RowStatus;
use std::time::Duration;
use tokio::time::Instant;

/// A row's create in progress: the high-water mark before its first send
/// and the retries it has had.
pub(super) struct Creating {
    sent_above: i64,
    attempts: Attempts,
}

/// How a send ended.
pub(super) enum Sent {
    /// Created, or failed.
    Done(Outcome),
    /// The POST's outcome is unknown (this error): the row settles before
    /// it may be sent again.
    Unknown(ApiError),
}

impl Creating {
    /// Writes the row into the sending journal (if any) with the run's
    /// high-water mark before it is first sent; `Err` is the row's `failed`
    /// outcome, not sent.
    pub(super) fn start<A>(ctx: &Context<A>, row: u64) -> Result<Creating, Outcome> {
        let sent_above = ctx.catalogue.high_water();
        mark_sending(ctx, row, sent_above)?;
        Ok(Creating {
            sent_above,
            attempts: Attempts::default(),
        })
    }

    /// The run's high-water mark just before the row was first sent.
    pub(super) fn sent_above(&self) -> i64 {
        self.sent_above
    }

    /// Sends the row's POST, retrying as the policy allows. A transient
    /// error waits before the next send, with the row's slot given back.
    /// Ends at the first unknown outcome, which the caller settles.
    pub(super) async fn send<A: ProductApi>(
        &mut self,
        ctx: &Context<A>,
        slot: &mut Slot,
        product: &NewProduct,
    ) -> Result<Sent, ApiError> {
        let policy: &RetryPolicy = &ctx.settings.retry;
        loop {
            let sent_at = Instant::now();
            let in_flight = ctx.catalogue.sending();
            let answer = ctx.api.create_product(product).await;
            let e = match answer {
                Ok(a) if ctx.catalogue.made(a.value.id, sent_at) => {
                    let created = Outcome::new(RowStatus::Created)
                        .id(a.value.id)
                        .http(a.status, a.trace_id);
                    return Ok(Sent::Done(created));
                }
                // An id that cannot be the new product's says nothing of what
                // was made: the outcome is unknown, and settles as such.
                Ok(a) => ApiError::Decode {
                    status: a.status,
                    message: impossible_id(a.value.id),
                    trace_id: a.trace_id,
                },
                Err(e) => e,
            };
            drop(in_flight);
            let class = e.class();
            match class {
                ErrorClass::Fatal => return Err(e),
                ErrorClass::Permanent => return Ok(Sent::Done(Outcome::failed(&e, ""))),
                ErrorClass::Unknown => return Ok(Sent::Unknown(e)),
                _ => match self.attempts.next(policy, class) {
                    NextTry::After(wait) => {
                        // Waiting is not working: the slot goes to another row
                        // meanwhile, so a `Retry-After` delays this row only.
                        RequestCounters::bump(&ctx.counters.retries);
                        slot.give_back();
                        tokio::time::sleep(wait).await;
                        slot.retake().await;
                    }
                    NextTry::Spent => {
                        let context = format!("gave up after {} retries: ", policy.max_retries);
                        return Ok(Sent::Done(Outcome::failed(&e, &context)));
                    }
                    NextTry::AskedTooLong(asked) => {
                        let context = asked_too_long(asked, policy);
                        return Ok(Sent::Done(Outcome::failed(&e, &context)));
                    }
                },
            }
        }
    }

    /// After the unknown outcome `e` settled and its product was not found:
    /// `Ok` when the row may be sent again at once (the settle was the
    /// wait), counted as a retry; `Err` with the row's `failed` outcome
    /// when its retries are spent.
    pub(super) fn send_again<A>(&mut self, ctx: &Context<A>, e: &ApiError) -> Result<(), Outcome> {
        if self
            .attempts
            .next_wait(&ctx.settings.retry, e.class())
            .is_none()
        {
            return Err(gave_up_settling(ctx, e));
        }
        RequestCounters::bump(&ctx.counters.retries);
        Ok(())
    }
}

/// Why a row refused with a `Retry-After` too long to wait out was not sent
/// again: the row is not sent, so running again later sends it.
fn asked_too_long(asked: Duration, policy: &RetryPolicy) -> String {
    let longest = policy.longest_retry_after.unwrap_or_default().as_secs();
    format!(
        "not sent: the server asked to wait {} s before trying again, longer than the {longest} s a run waits (run again later; --resume sends the rows not sent): ",
        asked.as_secs()
    )
}

/// Why an id answered for a new product cannot be its id.
fn impossible_id(id: i64) -> String {
    if id < 1 {
        format!("the server answered id {id} for the new product, not a positive integer")
    } else {
        format!("the server answered id {id} for the new product, an id another row of this run already has")
    }
}

/// Writes the row into the sending journal (if any) with the high-water
/// mark before it is sent; `Err` is the row's `failed` outcome, not sent.
fn mark_sending<A>(ctx: &Context<A>, row: u64, sent_above: i64) -> Result<(), Outcome> {
    match &ctx.journal {
        Some(journal) => journal.mark(row, sent_above).map_err(|e| {
            Outcome::new(RowStatus::Failed).error(format!(
                "not sent: could not write the sending journal: {e}"
            ))
        }),
        None => Ok(()),
    }
}

/// The row's `failed` outcome when its retries are spent, each unknown
/// outcome settled and its product not found.
fn gave_up_settling<A>(ctx: &Context<A>, e: &ApiError) -> Outcome {
    Outcome::failed(
        e,
        &format!(
            "gave up after {} retries (not found after settling {:.0} s each time): ",
            ctx.settings.retry.max_retries,
            ctx.settings.settle.time.as_secs_f64()
        ),
    )
}
