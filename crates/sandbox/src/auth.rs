//! The tokens a sandbox has handed out: opaque random bearer tokens with a
//! lifetime and a set of scopes. [`token`](crate::token) (`POST
//! /oauth/token`) issues them; every `/v1` request must carry a live one
//! (else 401) with the scope its endpoint needs (else 403), which
//! [`middleware::auth`](crate::middleware::auth) checks.
//!
//! A token lives exactly the whole seconds its `expires_in` says: a
//! configured lifetime with a fraction of a second is rounded up, and the
//! token is refused from the instant its lifetime is over.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng as _;

use crate::behaviour::Scope;

/// Expired tokens are forgotten this long after expiry; until then a request
/// with one is told that it expired rather than that it is unknown.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// The tokens handed out: when each expires and which scopes it carries.
pub(crate) struct TokenStore {
    /// Whole seconds, as `expires_in` tells them.
    lifetime_secs: u64,
    /// The scopes every new token carries.
    granted: BTreeSet<Scope>,
    tokens: Mutex<HashMap<String, Issued>>,
}

/// One token handed out.
struct Issued {
    expires: Instant,
    scopes: BTreeSet<Scope>,
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Unknown,
    Expired,
    /// Live, but without the scope the endpoint needs.
    MissingScope(Scope),
}

impl TokenStore {
    /// Tokens living `ttl` rounded up to whole seconds (at least one) and
    /// carrying the `granted` scopes.
    pub(crate) fn new(ttl: Duration, granted: BTreeSet<Scope>) -> Self {
        TokenStore {
            lifetime_secs: (ttl.as_secs_f64().ceil() as u64).max(1),
            granted,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// A new random token valid for the lifetime from now.
    pub(crate) fn issue(&self) -> String {
        self.issue_at(Instant::now())
    }

    fn issue_at(&self, now: Instant) -> String {
        let bytes: [u8; 24] = rand::rng().random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut tokens = self.lock();
        tokens.retain(|_, issued| issued.expires + FORGET_AFTER > now);
        let issued = Issued {
            expires: now + Duration::from_secs(self.lifetime_secs),
            scopes: self.granted.clone(),
        };
        tokens.insert(token.clone(), issued);
        token
    }

    /// Lifetime in whole seconds, as `expires_in` says it.
    pub(crate) fn expires_in(&self) -> u64 {
        self.lifetime_secs
    }

    /// The scopes new tokens carry, space-separated as OAuth writes them.
    pub(crate) fn scope_text(&self) -> String {
        let names: Vec<&str> = self.granted.iter().map(|scope| scope.name()).collect();
        names.join(" ")
    }

    /// Whether `token` is live now and carries `needed` (when given).
    pub(crate) fn check(&self, token: &str, needed: Option<Scope>) -> Result<(), TokenProblem> {
        self.check_at(token, needed, Instant::now())
    }

    fn check_at(
        &self,
        token: &str,
        needed: Option<Scope>,
        now: Instant,
    ) -> Result<(), TokenProblem> {
        match self.lock().get(token) {
            None => Err(TokenProblem::Unknown),
            Some(issued) if issued.expires <= now => Err(TokenProblem::Expired),
            Some(issued) => match needed {
                Some(scope) if !issued.scopes.contains(&scope) => {
                    Err(TokenProblem::MissingScope(scope))
                }
                _ => Ok(()),
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_exactly_the_whole_seconds_of_expires_in() {
        let store = TokenStore::new(Duration::from_millis(1500), Scope::ALL.into());
        assert_eq!(store.expires_in(), 2);
        let issued = Instant::now();
        let token = store.issue_at(issued);
        assert_eq!(token.len(), 48);
        let at = |millis| issued + Duration::from_millis(millis);
        assert_eq!(store.check_at(&token, None, at(1999)), Ok(()));
        assert_eq!(
            store.check_at(&token, None, at(2000)),
            Err(TokenProblem::Expired)
        );
        assert_eq!(
            store.check_at("nope", None, issued),
            Err(TokenProblem::Unknown)
        );
        assert_ne!(store.issue(), token);
        assert_eq!(
            TokenStore::new(Duration::from_millis(30), BTreeSet::new()).expires_in(),
            1
        );
    }

    #[test]
    fn tokens_carry_the_granted_scopes() {
        let granted: BTreeSet<Scope> = [Scope::ProductRead, Scope::UnitRead].into();
        let store = TokenStore::new(Duration::from_secs(60), granted);
        let token = store.issue();
        assert_eq!(store.check(&token, Some(Scope::ProductRead)), Ok(()));
        assert_eq!(store.check(&token, None), Ok(()));
        assert_eq!(
            store.check(&token, Some(Scope::CustomerRead)),
            Err(TokenProblem::MissingScope(Scope::CustomerRead))
        );
        assert_eq!(
            store.scope_text(),
            "api.product.product:read api.product.unit:read"
        );
    }
}
