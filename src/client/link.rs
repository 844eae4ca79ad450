//! The `link` response header (RFC 8288, "Web Linking"): which URL holds the
//! next page of a listing.
//!
//! The vendor pages its lists with a `link` header carrying `first`, `prev`
//! and `next` URLs. The parser reads every link of every `link` header,
//! understands quoted parameter values (which may hold commas and
//! semicolons), several relation types in one `rel`, any case, and relative
//! URLs, which are resolved against the URL of the request. A next URL on
//! another origin (scheme, host, port) is never followed: the bearer token
//! would go with it.

use url::Url;

/// One link of a `link` header: its target as written and its relation types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkValue {
    /// The URI reference between `<` and `>`, as written.
    pub target: String,
    /// The relation types of `rel`, lower-cased (`rel="next last"` gives two).
    pub rels: Vec<String>,
}

/// Parses one `link` header value into its links. Malformed links are
/// skipped; what can be read is kept.
pub fn parse(header: &str) -> Vec<LinkValue> {
    let mut links = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return links;
        }
        let Some(after_open) = rest.strip_prefix('<') else {
            // Not a link: skip to the next top-level comma.
            rest = skip_params(rest).1;
            continue;
        };
        let Some(close) = after_open.find('>') else {
            return links;
        };
        let target = after_open[..close].trim().to_string();
        let (params, next) = skip_params(&after_open[close + 1..]);
        rest = next;
        let rels = params
            .into_iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("rel"))
            .take(1) // RFC 8288: only the first `rel` counts.
            .flat_map(|(_, value)| {
                value
                    .split_ascii_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect::<Vec<_>>()
            })
            .collect();
        links.push(LinkValue { target, rels });
    }
}

/// Reads `; name=value` parameters up to the next comma outside quotes.
/// Returns the parameters and the text after that comma.
fn skip_params(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut params = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t']);
        match s.chars().next() {
            None => return (params, s),
            Some(',') => return (params, &s[1..]),
            Some(';') => s = s[1..].trim_start_matches([' ', '\t']),
            Some(_) => {}
        }
        // A parameter name runs to `=`, `;`, `,` or the end.
        let end = s.find(['=', ';', ',']).unwrap_or(s.len());
        let name = s[..end].trim().to_string();
        s = &s[end..];
        let mut value = String::new();
        if let Some(after_eq) = s.strip_prefix('=') {
            let after_eq = after_eq.trim_start_matches([' ', '\t']);
            if let Some(quoted) = after_eq.strip_prefix('"') {
                let mut chars = quoted.char_indices();
                let mut consumed = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            consumed = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                s = &quoted[consumed..];
            } else {
                let end = after_eq.find([';', ',']).unwrap_or(after_eq.len());
                value = after_eq[..end].trim().to_string();
                s = &after_eq[end..];
            }
        }
        if !name.is_empty() {
            params.push((name, value));
        }
        // Anything left before the next separator is junk: skip it.
        let end = s.find([';', ',']).unwrap_or(s.len());
        s = &s[end..];
    }
}

/// Why a `next` link was not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The target is not a URL, even relative to the request.
    #[error("the server's next-page link \"{0}\" is not a URL")]
    Invalid(String),
    /// The target is on another origin: the token must not go there.
    #[error("the server's next-page link points to another host ({0}); it was not followed")]
    OtherOrigin(String),
}

/// The `next` URL of the `link` headers `values` of an answer to `request`:
/// the first link whose `rel` holds `next`, resolved against `request`.
/// `Ok(None)` when there is none.
pub fn next_url<'a>(
    values: impl IntoIterator<Item = &'a str>,
    request: &Url,
) -> Result<Option<Url>, LinkError> {
    let Some(link) = values
        .into_iter()
        .flat_map(parse)
        .find(|l| l.rels.iter().any(|r| r == "next"))
    else {
        return Ok(None);
    };
    let url = request
        .join(&link.target)
        .map_err(|_| LinkError::Invalid(link.target.clone()))?;
    if url.origin() != request.origin() {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => url.scheme().to_string(),
        };
        return Err(LinkError::OtherOrigin(host));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Url {
        Url::parse("https://api.example.com/v1/products?productNumber=1&limit=100").unwrap()
    }

    #[test]
    fn parses_several_links_and_quoted_rels() {
        let links = parse(
            r#"<https://api.example.com/v1/products?page=1>; rel="first", <https://api.example.com/v1/products?page=3>; rel="next last"; title="a, b; c""#,
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].rels, ["first"]);
        assert_eq!(
            links[1].target,
            "https://api.example.com/v1/products?page=3"
        );
        assert_eq!(links[1].rels, ["next", "last"]);
    }

    #[test]
    fn unquoted_rel_any_case_and_odd_spacing() {
        let links = parse("<a>;REL=Next ,  <b> ; rel = prev");
        assert_eq!(links[0].rels, ["next"]);
        assert_eq!(links[1].target, "b");
        assert_eq!(links[1].rels, ["prev"]);
    }

    #[test]
    fn quoted_values_with_escapes_and_separators() {
        let links = parse(r#"<x>; title="say \"hi\", ok;"; rel="next", <y>; rel=prev"#);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].rels, ["next"]);
        assert_eq!(links[1].rels, ["prev"]);
    }

    #[test]
    fn only_the_first_rel_counts_and_junk_is_skipped() {
        let links = parse(r#"garbage; rel="next", <z>; rel="prev"; rel="next", <unterminated"#);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].rels, ["prev"]);
        assert_eq!(parse(""), []);
        assert_eq!(parse(" , ,"), []);
    }

    #[test]
    fn next_url_resolves_relative_targets() {
        let r = request();
        let next = next_url(["</v1/products?cursor=abc%3D>; rel=\"next\""], &r).unwrap();
        assert_eq!(
            next.unwrap().as_str(),
            "https://api.example.com/v1/products?cursor=abc%3D"
        );
        let next = next_url(["<?cursor=2>; rel=next"], &r).unwrap();
        assert_eq!(
            next.unwrap().as_str(),
            "https://api.example.com/v1/products?cursor=2"
        );
        // Several header lines: the next link may be in any of them.
        let next = next_url(["<p1>; rel=first", "<p2>; rel=\"next\""], &r).unwrap();
        assert_eq!(next.unwrap().as_str(), "https://api.example.com/v1/p2");
        assert_eq!(next_url(["<p1>; rel=\"first prev\""], &r).unwrap(), None);
        assert_eq!(next_url([], &r).unwrap(), None);
    }

    #[test]
    fn next_url_never_leaves_the_origin() {
        let r = request();
        for target in [
            "https://evil.example.net/v1/products?page=2",
            "http://api.example.com/v1/products?page=2",
            "https://api.example.com:8443/v1/products?page=2",
            "//evil.example.net/x",
        ] {
            let header = format!("<{target}>; rel=\"next\"");
            assert!(
                matches!(
                    next_url([header.as_str()], &r),
                    Err(LinkError::OtherOrigin(_))
                ),
                "{target}"
            );
        }
        let same = "<https://API.example.com:443/v1/products?page=2>; rel=next";
        assert!(next_url([same], &r).unwrap().is_some());
    }
}
