//! Reading a listing page after page without trusting the server to end it.
//!
//! A page says where the next one is ([`Page::next`], a [`Cursor`]: the URL
//! the server gave in its `link` header, opaque to the pipeline). A
//! [`PageGuard`] follows those cursors and stops a listing that would never
//! end on its own:
//! - a cursor seen before ends the listing (a loop);
//! - a page whose first item (by id) was already the first item of an earlier
//!   page, or whose items all were on the page before, ends it (a server that
//!   ignores the paging and sends the same page again);
//! - [`STALE_PAGES`] pages in a row that bring no item not already read in
//!   this listing are an error (a server handing out distinct pages of the
//!   same items forever);
//! - more than [`MAX_PAGES`] pages (or the guard's own cap) is an error, never
//!   a silent endless loop.
//!
//! When the server sends no `link` header at all, the next page number is
//! only a guess ([`Page::next_is_guess`]): a server may cap `limit`
//! silently, so a page shorter than the `limit` asked for proves nothing.
//! Such a listing has ended only at an empty page, or at a page shorter than
//! the largest page the server has sent so far. (A server that sends `link`
//! headers ends its listing with a page whose links hold no `next`.)

use std::collections::HashSet;
use std::future::Future;

use super::ApiError;
use crate::api::types::{Category, Product, Supplier, Unit};

/// The most pages any listing reads before it gives up with an error.
pub const MAX_PAGES: u32 = 100_000;

/// A listing whose pages bring no new item this many times in a row stops
/// with an error.
pub const STALE_PAGES: u32 = 5;

/// Where a listing goes on: the next page's URL as the server gave it
/// (resolved against the request). The pipeline passes it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor from the next page's URL (or, in a mock, any token).
    pub fn new(url: impl Into<String>) -> Cursor {
        Cursor(url.into())
    }

    /// The URL (or token) as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in the server's order.
    pub items: Vec<T>,
    /// Where the next page is; `None` on the last page.
    pub next: Option<Cursor>,
    /// True when the server gave no `next` link and `next` is the page
    /// number one higher: followed only while pages are as long as the
    /// longest one so far.
    pub next_is_guess: bool,
    /// HTTP status of the answer.
    pub status: u16,
    /// The `X-Trace-Id` header.
    pub trace_id: Option<String>,
}

impl<T> Page<T> {
    /// A page with status 200 and no trace id.
    #[cfg(test)]
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Page<T> {
        Page {
            items,
            next,
            next_is_guess: false,
            status: 200,
            trace_id: None,
        }
    }
}

/// A record of a listing with the id the paging guards compare.
pub trait Listed {
    /// The record's id, if it has one.
    fn list_id(&self) -> Option<i64>;
}

impl Listed for Product {
    fn list_id(&self) -> Option<i64> {
        Some(self.id)
    }
}

impl Listed for Category {
    fn list_id(&self) -> Option<i64> {
        Some(self.id)
    }
}

impl Listed for Supplier {
    fn list_id(&self) -> Option<i64> {
        Some(self.id)
    }
}

impl Listed for Unit {
    fn list_id(&self) -> Option<i64> {
        self.id
    }
}

/// Follows the cursors of one listing and decides when it ends.
#[derive(Debug)]
pub struct PageGuard {
    what: String,
    max_pages: u32,
    pages: u32,
    cursors: HashSet<Cursor>,
    first_ids: HashSet<i64>,
    previous_ids: HashSet<i64>,
    /// The most items any page of this listing held.
    largest_page: usize,
    /// Every id read in this listing.
    seen_ids: HashSet<i64>,
    /// Pages in a row that brought no id not in `seen_ids`.
    stale_pages: u32,
}

impl PageGuard {
    /// A guard for the listing `what` (e.g. `GET /customers`, for messages),
    /// reading at most [`MAX_PAGES`] pages.
    pub fn new(what: impl Into<String>) -> PageGuard {
        PageGuard::with_max_pages(what, MAX_PAGES)
    }

    /// A guard reading at most `max_pages` pages.
    pub fn with_max_pages(what: impl Into<String>, max_pages: u32) -> PageGuard {
        PageGuard {
            what: what.into(),
            max_pages: max_pages.max(1),
            pages: 0,
            cursors: HashSet::new(),
            first_ids: HashSet::new(),
            previous_ids: HashSet::new(),
            largest_page: 0,
            seen_ids: HashSet::new(),
            stale_pages: 0,
        }
    }

    /// Pages accepted so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Takes in a page that just arrived. `Ok(Some(items, next))`: keep the
    /// items and, with a cursor, fetch the next page. `Ok(None)`: the page
    /// repeats an earlier one; drop it and stop. `Err`: the listing went on
    /// past the cap.
    #[allow(clippy::type_complexity)]
    pub fn accept<T: Listed>(
        &mut self,
        page: Page<T>,
    ) -> Result<Option<(Vec<T>, Option<Cursor>)>, ApiError> {
        let ids: HashSet<i64> = page.items.iter().filter_map(Listed::list_id).collect();
        if let Some(first) = page.items.first().and_then(Listed::list_id) {
            if !self.first_ids.insert(first) {
                return Ok(None);
            }
        }
        if !ids.is_empty() && ids.is_subset(&self.previous_ids) {
            return Ok(None);
        }
        self.pages += 1;
        let before = self.seen_ids.len();
        self.seen_ids.extend(ids.iter().copied());
        if self.seen_ids.len() == before && !ids.is_empty() {
            self.stale_pages += 1;
            if self.stale_pages >= STALE_PAGES {
                return Err(ApiError::Paging {
                    what: self.what.clone(),
                    message: format!(
                        "{STALE_PAGES} pages in a row brought nothing new (after {} pages); \
                         the server's paging does not end, stopped there",
                        self.pages
                    ),
                });
            }
        } else {
            self.stale_pages = 0;
        }
        self.previous_ids = ids;
        // A guessed next page is worth asking for only while pages are as
        // long as the longest so far: a shorter one is the last.
        let shorter = page.items.len() < self.largest_page;
        self.largest_page = self.largest_page.max(page.items.len());
        let next = match page.next {
            None => None,
            Some(_) if page.items.is_empty() => None,
            Some(_) if page.next_is_guess && shorter => None,
            Some(cursor) => {
                if !self.cursors.insert(cursor.clone()) {
                    None
                } else if self.pages >= self.max_pages {
                    return Err(ApiError::Paging {
                        what: self.what.clone(),
                        message: format!(
                            "still more pages after {} pages; stopped there",
                            self.max_pages
                        ),
                    });
                } else {
                    Some(cursor)
                }
            }
        };
        Ok(Some((page.items, next)))
    }
}

/// Reads every page of a listing: `fetch(None)` for the first page, then
/// `fetch(Some(cursor))` while the guard lets it go on.
pub async fn all_pages<T, F, Fut>(mut guard: PageGuard, mut fetch: F) -> Result<Vec<T>, ApiError>
where
    T: Listed,
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(cursor.take()).await?;
        match guard.accept(page)? {
            None => return Ok(all),
            Some((items, next)) => {
                all.extend(items);
                match next {
                    None => return Ok(all),
                    next => cursor = next,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supplier(id: i64) -> Supplier {
        Supplier {
            id,
            ..Supplier::default()
        }
    }

    fn page(ids: std::ops::Range<i64>, next: Option<&str>) -> Page<Supplier> {
        Page::new(ids.map(supplier).collect(), next.map(Cursor::new))
    }

    async fn ids_of(
        guard: PageGuard,
        pages: Vec<Page<Supplier>>,
    ) -> (Result<Vec<i64>, ApiError>, usize) {
        let mut served = 0;
        let result = all_pages(guard, |_cursor| {
            let p = pages[served.min(pages.len() - 1)].clone();
            served += 1;
            async move { Ok(p) }
        })
        .await;
        (result.map(|v| v.iter().map(|s| s.id).collect()), served)
    }

    #[tokio::test]
    async fn follows_cursors_to_the_last_page() {
        let pages = vec![
            page(1..26, Some("c1")),
            page(26..51, Some("c2")),
            page(51..60, None),
        ];
        let (ids, served) = ids_of(PageGuard::new("GET /customers"), pages).await;
        assert_eq!(ids.unwrap(), (1..60).collect::<Vec<_>>());
        assert_eq!(served, 3);
    }

    #[tokio::test]
    async fn a_cursor_seen_before_ends_the_listing() {
        // The second page links back to the first cursor: a loop.
        let pages = vec![
            page(1..3, Some("c1")),
            page(3..5, Some("c2")),
            page(5..7, Some("c1")),
            page(7..9, None),
        ];
        let (ids, served) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(served, 3);
    }

    #[tokio::test]
    async fn the_same_page_again_ends_the_listing() {
        // A server ignoring the paging answers the first page with a fresh cursor each time.
        let mut served = 0;
        let result = all_pages(PageGuard::new("GET /customers"), |_| {
            served += 1;
            let p = page(1..26, Some(&format!("c{served}")));
            async move { Ok(p) }
        })
        .await;
        assert_eq!(result.unwrap().len(), 25);
        assert_eq!(served, 2, "one extra request, not ten thousand");
    }

    #[tokio::test]
    async fn a_repeated_first_item_ends_the_listing() {
        // Same first item, different rest: the first id decides.
        let pages = vec![
            page(1..4, Some("a")),
            Page::new(vec![supplier(1), supplier(9)], Some(Cursor::new("b"))),
            page(20..22, None),
        ];
        let (ids, served) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap(), [1, 2, 3]);
        assert_eq!(served, 2);
        // A page made only of items of the page before ends it too.
        let pages = vec![
            page(1..4, Some("a")),
            Page::new(vec![supplier(3), supplier(2)], Some(Cursor::new("b"))),
        ];
        let (ids, _) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap(), [1, 2, 3]);
    }

    #[tokio::test]
    async fn the_cap_is_an_error_not_an_endless_loop() {
        let mut served = 0i64;
        let result = all_pages(PageGuard::with_max_pages("GET /products", 50), |_| {
            served += 1;
            let p = page(served * 10..served * 10 + 10, Some(&format!("c{served}")));
            async move { Ok(p) }
        })
        .await;
        let err = result.unwrap_err();
        assert_eq!(served, 50);
        assert!(
            err.to_string().contains("GET /products") && err.to_string().contains("50 pages"),
            "{err}"
        );
    }

    fn guessed(ids: std::ops::Range<i64>, next: &str) -> Page<Supplier> {
        Page {
            next_is_guess: true,
            ..page(ids, Some(next))
        }
    }

    #[tokio::test]
    async fn without_links_only_a_page_shorter_than_the_longest_ends_the_listing() {
        // A server capping `limit` at 25 without a link header: 25 < 100
        // asked for proves nothing; the 10-item page after full ones ends it.
        let pages = vec![
            guessed(1..26, "p2"),
            guessed(26..51, "p3"),
            guessed(51..61, "p4"),
            guessed(61..70, "p5"),
        ];
        let (ids, served) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap(), (1..61).collect::<Vec<_>>());
        assert_eq!(served, 3);
        // Full pages to the end: the empty page after them ends it.
        let pages = vec![
            guessed(1..26, "p2"),
            guessed(26..51, "p3"),
            page(0..0, None),
        ];
        let (ids, served) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap().len(), 50);
        assert_eq!(served, 3);
        // A short page with a real next link goes on.
        let pages = vec![
            page(1..26, Some("a")),
            page(26..30, Some("b")),
            page(30..40, None),
        ];
        let (ids, _) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap().len(), 39);
    }

    #[tokio::test]
    async fn distinct_pages_of_items_already_read_are_an_error() {
        // Windows of 10 sliding by 7 over 30 items, forever: each page is
        // new in its cursor, its first item and its set, but after the
        // first wrap nothing is.
        let mut served = 0i64;
        let result = all_pages(PageGuard::new("GET /products"), |_| {
            served += 1;
            let start = (served - 1) * 7;
            let items = (start..start + 10).map(|i| supplier(i % 30 + 1)).collect();
            let p = Page::new(items, Some(Cursor::new(format!("c{served}"))));
            async move { Ok(p) }
        })
        .await;
        let err = result.unwrap_err();
        assert!(err.to_string().contains("brought nothing new"), "{err}");
        assert!(served < 20, "{served} pages");
    }

    #[tokio::test]
    async fn an_empty_page_ends_the_listing() {
        let pages = vec![
            page(1..3, Some("a")),
            page(0..0, Some("b")),
            page(5..6, None),
        ];
        let (ids, served) = ids_of(PageGuard::new("x"), pages).await;
        assert_eq!(ids.unwrap(), [1, 2]);
        assert_eq!(served, 2);
    }
}
