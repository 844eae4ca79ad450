//! What a run knows of the server's products and references, behind one
//! type ([`Catalogue`]) with one lookup by a row's key: "never a
//! duplicate" is decided here.
//!
//! It holds:
//! - the existing products, when they were prefetched ([`ExistingIndex`]),
//!   else the catalogue's EANs, read once for all EAN-only rows
//!   ([`EanCatalogue`]);
//! - the products this job created in earlier runs, asked for by id when a
//!   search does not show them yet ([`KnownProducts`]);
//! - what this run has seen and made ([`Ledger`]): the high-water mark of
//!   product ids, the ids it created or claimed for a row;
//! - the categories, units and suppliers, found or created once
//!   ([`References`]).
//!
//! [`Catalogue::lookup`] answers every product the server holds with a key,
//! as fresh as the caller needs ([`Reading`]), and raises the high-water
//! mark over them; which of them a row made is asked with
//! [`Catalogue::claim`] and [`Catalogue::find_own_by_id`] (the rule is in
//! [`super::settle`]).

use super::existing::{find_existing, lookup_all, EanCatalogue, ExistingIndex};
use super::found::FoundProduct;
use super::known::KnownProducts;
use super::ledger::{IdWindow, Ledger, Sending};
use super::references::References;
/// What a reference is and how it resolved: the words of
/// [`Catalogue::resolve_reference`], so that its callers need no more than
/// the catalogue.
pub use super::references::{RefKind, Resolution};
use super::retry::{retry_idempotent, RetryPolicy};
use crate::client::{ApiError, ErrorClass, ProductApi, ProductKey, RequestCounters};
use crate::validate::Reference;

use std::time::Duration;
use tokio::time::Instant;

/// How long a settled row waits for a create sent after its settle to be
/// answered, which bounds its product's id from above (see
/// [`Catalogue::id_window`]). Creates in flight are usually answered
/// within a round trip; without one the row asks beyond the newest id.
pub const BOUND_WAIT: Duration = Duration::from_secs(1);

/// How fresh a lookup must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Before a row is sent: the prefetched products when there are some,
    /// else the server (an EAN in the catalogue read once); when neither has
    /// the key, a product this job made in an earlier run, asked for by id.
    BeforeSending,
    /// After an unknown outcome, or to bound the high-water mark: the
    /// server's search, read afresh (`name` finds an EAN first).
    Afresh,
}

/// What the run knows of the server (see the module docs). Shared by all
/// workers.
#[derive(Debug)]
pub struct Catalogue {
    index: Option<ExistingIndex>,
    eans: EanCatalogue,
    known: KnownProducts,
    ledger: Ledger,
    references: References,
}

impl Catalogue {
    /// A catalogue starting from the prefetched products `index` (whose
    /// highest id bounds every existing product), if any, the products this
    /// job made in earlier runs, and the references' cache.
    pub fn new(
        index: Option<ExistingIndex>,
        known: KnownProducts,
        references: References,
    ) -> Catalogue {
        Catalogue {
            ledger: Ledger::new(index.as_ref()),
            index,
            eans: EanCatalogue::default(),
            known,
            references,
        }
    }

    /// Every product with `key` the server holds, oldest first, read as
    /// `reading` says; more than one when the server holds the key twice.
    /// Every product found raises the high-water mark. `name` is the row's
    /// product name, which finds an EAN by search when read afresh.
    pub async fn lookup<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        key: &ProductKey,
        name: Option<&str>,
        reading: Reading,
    ) -> Result<Vec<FoundProduct>, ApiError> {
        let found = match reading {
            Reading::Afresh => lookup_all(api, policy, counters, key, name).await?,
            Reading::BeforeSending => self.before_sending(api, policy, counters, key).await?,
        };
        for f in &found {
            self.ledger.saw(f.id());
        }
        Ok(found)
    }

    /// [`Reading::BeforeSending`]: the prefetched products, else the server;
    /// else the products this job made in an earlier run.
    async fn before_sending<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        key: &ProductKey,
    ) -> Result<Vec<FoundProduct>, ApiError> {
        let found = match &self.index {
            Some(index) => index
                .get(key)
                .iter()
                .map(|p| FoundProduct::new(p.clone(), 200, None))
                .collect(),
            None => find_existing(api, policy, counters, key, &self.eans).await?,
        };
        if !found.is_empty() {
            return Ok(found);
        }
        let earlier = self.known.find(api, policy, counters, key).await?;
        Ok(earlier.into_iter().collect())
    }

    /// Claims for a row named `name` the oldest of `found` it could have
    /// made when sent with the high-water mark `sent_above` (`None`:
    /// unknown; then only the name and key count), unless this run made or
    /// claimed it already.
    pub(super) fn claim(
        &self,
        found: &[FoundProduct],
        name: Option<&str>,
        sent_above: Option<i64>,
    ) -> Option<FoundProduct> {
        self.ledger.claim(found, name, sent_above)
    }

    /// Asks for the ids a row may have made within `window` (see "Asking
    /// by id" in [`super::settle`]) and claims the first with `key` that is
    /// its own. A failed request is passed over (the search decides); only
    /// a fatal one is an error.
    pub(super) async fn find_own_by_id<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        key: &ProductKey,
        name: Option<&str>,
        window: IdWindow,
    ) -> Result<Option<FoundProduct>, ApiError> {
        let sent_above = window.above;
        for id in self.ledger.unclaimed_ids(sent_above, window.below) {
            let answer = match retry_idempotent(policy, counters, || api.get_product(id)).await {
                Ok(Some(answer)) => answer,
                Ok(None) => continue,
                Err(e) if e.class() == ErrorClass::Fatal => return Err(e),
                Err(_) => continue,
            };
            self.ledger.saw(id);
            let found = [FoundProduct::new(
                answer.value,
                answer.status,
                answer.trace_id,
            )];
            if key.matches(&found[0].product) {
                if let Some(ours) = self.ledger.claim(&found, name, Some(sent_above)) {
                    return Ok(Some(ours));
                }
            }
        }
        Ok(None)
    }

    /// This run created product `id` with a POST sent at `sent_at`. False,
    /// and nothing recorded, when `id` cannot be a new product's: not a
    /// positive integer, or one this run already made or claimed for
    /// another row.
    pub(super) fn made(&self, id: i64, sent_at: Instant) -> bool {
        self.ledger.made(id, sent_at)
    }

    /// A create is being sent: in flight until the guard is dropped.
    pub(super) fn sending(&self) -> Sending<'_> {
        self.ledger.sending()
    }

    /// The ids a row settled at `settled_at` may have made, above
    /// `sent_above`: below the first create this run sent from
    /// `settled_at` on, when one is answered within [`BOUND_WAIT`] (see
    /// [`Ledger::newer_than_soon`]).
    pub(super) async fn id_window(&self, sent_above: i64, settled_at: Instant) -> IdWindow {
        let deadline = Instant::now().max(settled_at) + BOUND_WAIT;
        IdWindow {
            above: sent_above,
            below: self.ledger.newer_than_soon(settled_at, deadline).await,
        }
    }

    /// The highest product id seen so far (0 before any): a row sent now
    /// makes a product above it.
    pub fn high_water(&self) -> i64 {
        self.ledger.high_water()
    }

    /// Whether the high-water mark bounds every product that existed before
    /// the run (after a prefetch or a create).
    pub fn covers_catalogue(&self) -> bool {
        self.ledger.covers_catalogue()
    }

    /// Counts a row that settles an unknown outcome.
    pub(super) fn count_settling(&self) {
        self.ledger.count_settling();
    }

    /// Counts a row whose product was found while settling.
    pub(super) fn count_found_settling(&self) {
        self.ledger.count_found_settling();
    }

    /// Rows that settled an unknown outcome, and of those, rows whose
    /// product was found while settling.
    pub fn settled(&self) -> (u64, u64) {
        self.ledger.settled()
    }

    /// Resolves a category, unit or supplier into its id: found once per
    /// run, or created with `--create-categories`/`--create-suppliers`.
    pub async fn resolve_reference<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        kind: RefKind,
        reference: &Reference,
    ) -> Result<Resolution, ApiError> {
        self.references
            .resolve(api, policy, counters, kind, reference)
            .await
    }
}
