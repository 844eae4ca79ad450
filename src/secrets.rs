//! Known secret values (the client secret, tokens, passwords in URLs), kept
//! for the life of the process so that every text shown or logged can be
//! cleaned of them ([`scrub`]), whatever its source: a server's error
//! message may quote the request it refused, with its body or its
//! `Authorization` header.
//!
//! Secrets are remembered where they enter the process ([`remember`]: the
//! [`Secret`](crate::client::auth::Secret) wrapper does it for every
//! credential and token); the writers of stderr, the server's messages and
//! transport errors pass their text through [`scrub`]. Besides the known
//! values, whatever follows `Bearer ` is hidden too.

use std::borrow::Cow;
use std::sync::RwLock;

/// Values shorter than this are not remembered: hiding them would mangle
/// ordinary text (a short id, a number) more than it protects.
const MIN_LEN: usize = 6;

/// What a hidden value is replaced with.
const HIDDEN: &str = "***";

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `value` as a secret to hide from every text [`scrub`] sees.
pub fn remember(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_LEN {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
        // Longest first, so a secret that holds another is hidden whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `text` with every known secret, and whatever follows `Bearer `, replaced
/// by `***`. Also hides the secrets as they look percent-encoded (a form
/// body quoted back).
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in known.iter() {
        for form in [Cow::Borrowed(secret.as_str()), encoded(secret)] {
            if out.contains(form.as_ref()) {
                out = Cow::Owned(out.replace(form.as_ref(), HIDDEN));
            }
        }
    }
    match hide_bearer(&out) {
        Some(hidden) => Cow::Owned(hidden),
        None => out,
    }
}

/// `value` as a form body or URL would carry it.
fn encoded(value: &str) -> Cow<'_, str> {
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    if encoded == value {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(encoded)
    }
}

/// `text` with the credentials after each `Bearer ` (any case) replaced;
/// `None` when there is none.
fn hide_bearer(text: &str) -> Option<String> {
    const WORD: &str = "bearer ";
    let lower = text.to_ascii_lowercase();
    if !lower.contains(WORD) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut changed = false;
    while let Some(at) = lower[rest..].find(WORD) {
        let start = rest + at + WORD.len();
        let token_len = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')' | '\\'))
            .unwrap_or(text.len() - start);
        out.push_str(&text[rest..start]);
        if token_len > 0 && &text[start..start + token_len] != HIDDEN {
            out.push_str(HIDDEN);
            changed = true;
        } else {
            out.push_str(&text[start..start + token_len]);
        }
        rest = start + token_len;
    }
    out.push_str(&text[rest..]);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_bearer_tokens_are_hidden() {
        // Other tests of the process remember their own secrets: only what
        // this one hides is asserted.
        remember("s3cr3t+value/xyz-7q");
        remember("q7z"); // too short to hide
        let text = "refused passcode=s3cr3t%2Bvalue%2Fxyz-7q for s3cr3t+value/xyz-7q; \
                    Authorization: Bearer eyJ.zzz, \"bearer Q1W2E3\"; q7z";
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("s3cr3t"), "{scrubbed}");
        assert!(scrubbed.contains("passcode=*** for ***;"), "{scrubbed}");
        assert!(
            scrubbed.contains("Bearer ***, \"bearer ***\"; q7z"),
            "{scrubbed}"
        );
        assert!(matches!(scrub("nothing to hide"), Cow::Borrowed(_)));
        assert_eq!(scrub("Bearer ***"), "Bearer ***");
        assert_eq!(scrub("ends with Bearer "), "ends with Bearer ");
    }
}
