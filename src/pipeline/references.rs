//! Resolving categories, units and suppliers given by name to their ids,
//! once per distinct value, shared by all workers.
//!
//! Names are compared by [`fold`]: trimmed, NFC-normalized and fully case
//! folded, so `Café` written with a combining accent is `Café` and `STRASSE`
//! is `Straße`. Two records whose names fold alike are never chosen between:
//! a row naming them is invalid, and its message names both ids.
//!
//! Each distinct value has its own once-cell: the first row that needs it
//! resolves it while later rows with the same value wait, so a missing
//! category (or supplier) is created exactly once even when many rows ask at
//! the same time.
//!
//! A category path ([`Reference::Path`], `Clothing > Hoodies`) is taken as
//! one category's whole name first (a category really named `Audio/Video`),
//! and otherwise resolved level by level from the top of the tree (`parentId`
//! 0 or absent) through each level's children. With `--create-categories`,
//! each missing level is created once under its parent (a level has its own
//! once-cell, keyed by parent and name); without it the row is invalid,
//! naming the first missing level and its parent.
//!
//! Each list (categories, units, suppliers) is read at most once per run, all
//! its pages (following the server's `link` header), and indexed. Suppliers
//! are the customers the answer flags `isSupplier: true` (the filter asked
//! for is not trusted), found by organization number (digits compared without
//! spaces; the `organizationNumber` filter is tried first, but its answer is
//! checked, since a server may ignore it), by id, or by name. With
//! `--create-suppliers`, a supplier named but not found is created once
//! (`POST /customers`, a company flagged as supplier). A list the API client
//! may not read (403, a missing scope) resolves to [`Resolution::Refused`]:
//! the rows that need it are invalid, naming the scope, and the others go on.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use caseless::Caseless;
use tokio::sync::OnceCell;
use unicode_normalization::UnicodeNormalization;

use super::retry::{retry_idempotent, Attempts, RetryPolicy};
use crate::api::types::{Category, NewCategory, NewSupplier, Supplier};
use crate::client::paging::{all_pages, PageGuard};
use crate::client::{ApiError, ErrorClass, ProductApi, RequestCounters};
use crate::validate::Reference;

/// What kind of record a reference points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// A product category.
    Category,
    /// A unit of measurement.
    Unit,
    /// A supplier.
    Supplier,
}

/// The outcome of resolving one reference. Every outcome but an id carries
/// the text to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Found (or created): use this id.
    Id(i64),
    /// No such record: the row is invalid with this message.
    Missing(String),
    /// Several records answer to the name: the row is invalid with this
    /// message, which names their ids.
    Ambiguous(String),
    /// Dry run with `--create-categories` or `--create-suppliers`: what
    /// would be created (a note, the row stays valid).
    WouldCreate(String),
    /// The API client lacks the scope to look the record up (or to create
    /// it): the row is invalid with this message, which names the missing
    /// scope. The run goes on for rows that do not need it.
    Refused(String),
}

/// The key names are compared by: trimmed, NFC-normalized, fully case folded
/// (`Straße` and `STRASSE` are both `strasse`).
pub fn fold(name: &str) -> String {
    name.trim().nfd().default_case_fold().nfc().collect()
}

/// A category name that reads as a path (`Audio/Video`, `A > B`), as folded
/// levels; `None` for a plain name.
fn name_levels(name: &str) -> Option<Vec<String>> {
    let levels: Vec<String> = name
        .split(['>', '/'])
        .map(fold)
        .filter(|l| !l.is_empty())
        .collect();
    (levels.len() >= 2).then_some(levels)
}

/// What one lookup in an index found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Id(i64),
    Absent,
    Several(Vec<i64>),
    WouldCreate,
    Refused(String),
}

impl Found {
    fn of(ids: Option<&Vec<i64>>) -> Found {
        match ids.map(Vec::as_slice) {
            None | Some([]) => Found::Absent,
            Some([id]) => Found::Id(*id),
            Some(ids) => Found::Several(ids.to_vec()),
        }
    }
}

/// What a once-cell is for: a name of some kind, or one level of the
/// category tree (its parent's id, 0 for the top, and its folded name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Name(RefKind, String),
    Level(i64, String),
}

/// A list read once: its index, or the message saying it may not be read.
type Listing<T> = OnceCell<Result<Arc<T>, String>>;

/// Folded names to the ids of every record answering to them.
type NameIndex = HashMap<String, Vec<i64>>;

/// Every category, by name anywhere in the tree and by parent and name.
#[derive(Debug, Default)]
struct CategoryIndex {
    by_name: NameIndex,
    /// Names that read as paths (`Audio/Video`), by their folded levels.
    by_levels: HashMap<Vec<String>, Vec<i64>>,
    /// `(parent id or 0, folded name)` to ids.
    children: HashMap<(i64, String), Vec<i64>>,
    /// Names that read as paths, by `(parent id or 0, folded levels)`.
    split_children: HashMap<(i64, Vec<String>), Vec<i64>>,
}

impl CategoryIndex {
    fn of(list: Vec<Category>) -> CategoryIndex {
        let mut out = CategoryIndex::default();
        for c in list {
            let Some(name) = c.name.as_deref() else {
                continue;
            };
            let key = fold(name);
            if key.is_empty() {
                continue;
            }
            if let Some(levels) = name_levels(name) {
                push(
                    &mut out.split_children,
                    (parent_of(&c), levels.clone()),
                    c.id,
                );
                push(&mut out.by_levels, levels, c.id);
            }
            push(&mut out.children, (parent_of(&c), key.clone()), c.id);
            push(&mut out.by_name, key, c.id);
        }
        out
    }
}

/// A category's parent id, 0 at the top of the tree (`parentId` 0 or absent).
fn parent_of(c: &Category) -> i64 {
    c.parent_id.unwrap_or(0).max(0)
}

fn push<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<i64>>, key: K, id: i64) {
    let ids = map.entry(key).or_default();
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// Every supplier, by each of the ways a row may name one.
#[derive(Debug, Default)]
struct SupplierIndex {
    by_name: NameIndex,
    by_org: NameIndex,
    ids: HashSet<i64>,
}

/// Resolves references by name against the API, caching every answer.
#[derive(Debug)]
pub struct References {
    create_categories: bool,
    create_suppliers: bool,
    dry_run: bool,
    categories: Listing<CategoryIndex>,
    units: Listing<NameIndex>,
    suppliers: Listing<SupplierIndex>,
    /// The server answered an `organizationNumber` filter with other
    /// suppliers: it ignores the filter, so asking again is a wasted request.
    org_filter_ignored: AtomicBool,
    resolved: Mutex<HashMap<Key, Arc<OnceCell<Resolution>>>>,
    levels: Mutex<HashMap<Key, Arc<OnceCell<Found>>>>,
    /// Categories this run created, by folded name: a name asked for after
    /// a path created it finds it rather than making a look-alike at the top.
    created: Mutex<NameIndex>,
}

impl References {
    /// A resolver; with `create_categories` missing categories are created,
    /// with `create_suppliers` missing suppliers (unless `dry_run`, which
    /// only says they would be).
    pub fn new(create_categories: bool, create_suppliers: bool, dry_run: bool) -> References {
        References {
            create_categories,
            create_suppliers,
            dry_run,
            categories: OnceCell::new(),
            units: OnceCell::new(),
            suppliers: OnceCell::new(),
            org_filter_ignored: AtomicBool::new(false),
            resolved: Mutex::new(HashMap::new()),
            levels: Mutex::new(HashMap::new()),
            created: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves `reference` of kind `kind`; ids are taken as they are.
    /// `Err` only for a failed lookup (server unreachable, out of retries)
    /// or a fatal error; a missing scope is [`Resolution::Refused`].
    pub async fn resolve<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        kind: RefKind,
        reference: &Reference,
    ) -> Result<Resolution, ApiError> {
        let ctx = Lookup {
            api,
            policy,
            counters,
        };
        match reference {
            Reference::Id(id) => Ok(Resolution::Id(*id)),
            Reference::Name(name) => {
                let cell = self.cell(Key::Name(kind, fold(name)));
                cell.get_or_try_init(|| self.lookup(&ctx, kind, name))
                    .await
                    .cloned()
            }
            Reference::Path(levels) => self.path(&ctx, levels).await,
        }
    }

    fn cell(&self, key: Key) -> Arc<OnceCell<Resolution>> {
        let mut map = self.resolved.lock().expect("references lock");
        map.entry(key).or_default().clone()
    }

    /// The problem to report for a name that was not found.
    fn missing_message(kind: RefKind, name: &str) -> String {
        let name = name.trim();
        match kind {
            RefKind::Category => format!(
                "category \"{name}\" was not found (create it in Finago Office, give its id, or use --create-categories)"
            ),
            RefKind::Unit => format!("unit \"{name}\" was not found by name or symbol"),
            RefKind::Supplier => format!(
                "supplier \"{name}\" was not found by name, organization number or id"
            ),
        }
    }

    /// The problem to report for a name that several records answer to.
    fn ambiguous_message(kind: RefKind, name: &str, ids: &[i64]) -> String {
        let (what, many, instead) = match kind {
            RefKind::Category => ("category", "categories", "its id or its path"),
            RefKind::Unit => ("unit", "units", "its id"),
            RefKind::Supplier => ("supplier", "suppliers", "its id"),
        };
        format!(
            "{what} \"{}\" matches {} {many} (ids {}): give {instead}",
            name.trim(),
            ids.len(),
            join_ids(ids)
        )
    }

    /// The problem to report when the API client may not look `kind` up.
    pub fn refused_message(kind: RefKind, scope: &str) -> String {
        let what = match kind {
            RefKind::Category => "categories",
            RefKind::Unit => "units",
            RefKind::Supplier => "suppliers",
        };
        format!("{what} cannot be looked up: the API client lacks the scope {scope}")
    }

    async fn lookup<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
        kind: RefKind,
        name: &str,
    ) -> Result<Resolution, ApiError> {
        let key = fold(name);
        let found = match kind {
            RefKind::Category => {
                let known = match self.category_index(ctx).await? {
                    Ok(known) => known,
                    Err(refused) => return Ok(Resolution::Refused(refused)),
                };
                let created = {
                    let created = self.created.lock().expect("references lock");
                    Found::of(created.get(&key))
                };
                match (Found::of(known.by_name.get(&key)), created) {
                    // Not anywhere in the tree: created at the top, through
                    // the same once-cell as a path's first level.
                    (Found::Absent, Found::Absent) => self.level(ctx, &known, 0, name).await?,
                    (Found::Absent, found) | (found, _) => found,
                }
            }
            RefKind::Unit => match self.unit_index(ctx).await? {
                Ok(known) => Found::of(known.get(&key)),
                Err(refused) => Found::Refused(refused),
            },
            RefKind::Supplier => self.supplier(ctx, name, &key).await?,
        };
        Ok(match found {
            Found::Id(id) => Resolution::Id(id),
            Found::Absent => Resolution::Missing(Self::missing_message(kind, name)),
            Found::Several(ids) => Resolution::Ambiguous(Self::ambiguous_message(kind, name, &ids)),
            Found::WouldCreate => Resolution::WouldCreate(format!(
                "would create {} \"{}\"",
                kind_label(kind),
                name.trim()
            )),
            Found::Refused(message) => Resolution::Refused(message),
        })
    }

    /// A category path, as one category's whole name first, else level by
    /// level from the top of the tree.
    async fn path<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
        levels: &[String],
    ) -> Result<Resolution, ApiError> {
        let known = match self.category_index(ctx).await? {
            Ok(known) => known,
            Err(refused) => return Ok(Resolution::Refused(refused)),
        };
        let levels: Vec<&str> = levels
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        let text = levels.join(" > ");
        let folded: Vec<String> = levels.iter().map(|l| fold(l)).collect();
        if let Some(whole) = whole_name(&known, &text, &folded) {
            return Ok(whole);
        }
        if levels.is_empty() {
            return Ok(Resolution::Missing("the category path is empty".into()));
        }
        let (mut parent, mut parent_name, mut i) = (0, String::new(), 0);
        while i < levels.len() {
            // A child whose own name reads as several levels (`Audio/Video`
            // under the top) is taken first, the longest one.
            let joined = (i + 2..=levels.len()).rev().find_map(|end| {
                let ids = known
                    .split_children
                    .get(&(parent, folded[i..end].to_vec()))?;
                Some((end, Found::of(Some(ids))))
            });
            let (end, found) = match joined {
                Some((end, found)) => (end, found),
                None => (i + 1, self.level(ctx, &known, parent, levels[i]).await?),
            };
            let level = levels[i..end].join(" > ");
            let under = match i {
                0 => "at the top of the category tree".to_string(),
                _ => format!("under \"{parent_name}\" (id {parent})"),
            };
            match found {
                Found::Id(id) => (parent, parent_name, i) = (id, level, end),
                Found::Absent => {
                    return Ok(Resolution::Missing(format!(
                        "category path \"{text}\": \"{level}\" was not found {under} (create it in Finago Office, give the category's id, or use --create-categories)"
                    )))
                }
                Found::Several(ids) => {
                    return Ok(Resolution::Ambiguous(format!(
                        "category path \"{text}\": \"{level}\" {under} matches {} categories (ids {}): give the id",
                        ids.len(),
                        join_ids(&ids)
                    )))
                }
                Found::WouldCreate => {
                    let below = &levels[i..];
                    return Ok(would_create_path(&level, i, &parent_name, below));
                }
                Found::Refused(message) => return Ok(Resolution::Refused(message)),
            }
        }
        Ok(Resolution::Id(parent))
    }

    /// The category named `name` directly under `parent` (0: the top),
    /// created there once when missing and allowed.
    async fn level<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
        known: &CategoryIndex,
        parent: i64,
        name: &str,
    ) -> Result<Found, ApiError> {
        let key = (parent, fold(name));
        let cell = {
            let mut map = self.levels.lock().expect("references lock");
            map.entry(Key::Level(key.0, key.1.clone()))
                .or_default()
                .clone()
        };
        cell.get_or_try_init(|| async {
            let found = Found::of(known.children.get(&key));
            if found != Found::Absent || !self.create_categories {
                return Ok(found);
            }
            if self.dry_run {
                return Ok(Found::WouldCreate);
            }
            let body = NewCategory {
                name: name.trim().to_string(),
                parent_id: (parent != 0).then_some(parent),
                ..NewCategory::default()
            };
            let made = create_once(
                ctx,
                || async {
                    let list = all_categories(ctx).await?;
                    let ids: Vec<i64> = list
                        .iter()
                        .filter(|c| {
                            parent_of(c) == parent
                                && c.name.as_deref().map(fold).as_deref() == Some(key.1.as_str())
                        })
                        .map(|c| c.id)
                        .collect();
                    Ok(Found::of(Some(&ids)))
                },
                || async { ctx.api.create_category(&body).await.map(|c| c.id) },
            )
            .await;
            if let Ok(Found::Id(id)) = made {
                let mut created = self.created.lock().expect("references lock");
                push(&mut created, key.1.clone(), id);
            }
            match made {
                Err(ApiError::Forbidden { scope, .. }) => {
                    let under = match parent {
                        0 => String::new(),
                        _ => format!(" under category {parent}"),
                    };
                    Ok(Found::Refused(format!(
                        "category \"{}\"{under} cannot be created: the API client lacks the scope {scope}",
                        name.trim()
                    )))
                }
                other => other,
            }
        })
        .await
        .cloned()
    }

    /// Every unit, indexed by folded symbol and name (read once).
    async fn unit_index<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
    ) -> Result<Result<Arc<NameIndex>, String>, ApiError> {
        self.units
            .get_or_try_init(|| async {
                let list = refusable(
                    RefKind::Unit,
                    all_pages(PageGuard::new("GET /productunits"), |cursor| async move {
                        retry_idempotent(ctx.policy, ctx.counters, || {
                            ctx.api.list_units(cursor.as_ref())
                        })
                        .await
                    })
                    .await,
                )?;
                Ok::<_, ApiError>(list.map(|units| {
                    let mut pairs = Vec::new();
                    for u in units {
                        if let Some(id) = u.id {
                            pairs.push((u.symbol, id));
                            pairs.push((u.name, id));
                        }
                    }
                    Arc::new(index(pairs))
                }))
            })
            .await
            .cloned()
    }

    /// Every category, indexed (read once).
    async fn category_index<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
    ) -> Result<Result<Arc<CategoryIndex>, String>, ApiError> {
        self.categories
            .get_or_try_init(|| async {
                let list = refusable(RefKind::Category, all_categories(ctx).await)?;
                Ok::<_, ApiError>(list.map(|list| Arc::new(CategoryIndex::of(list))))
            })
            .await
            .cloned()
    }

    /// Every supplier, indexed (read once).
    async fn supplier_index<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
    ) -> Result<Result<Arc<SupplierIndex>, String>, ApiError> {
        self.suppliers
            .get_or_try_init(|| async {
                let list = refusable(RefKind::Supplier, all_suppliers(ctx).await)?;
                Ok::<_, ApiError>(list.map(|list| Arc::new(supplier_index(list))))
            })
            .await
            .cloned()
    }

    /// A supplier by organization number, id or name (`key` is `name` folded).
    async fn supplier<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
        name: &str,
        key: &str,
    ) -> Result<Found, ApiError> {
        let digits: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        let digits_only = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
        // The filter saves reading the whole list, when the list is not read
        // yet and the server honours it; its answer is checked either way.
        if digits_only
            && self.suppliers.get().is_none()
            && !self.org_filter_ignored.load(Ordering::Relaxed)
        {
            if let Some(found) = self.supplier_by_org_filter(ctx, &digits).await? {
                return Ok(found);
            }
        }
        let known = match self.supplier_index(ctx).await? {
            Ok(known) => known,
            Err(refused) => return Ok(Found::Refused(refused)),
        };
        if digits_only {
            match Found::of(known.by_org.get(&digits)) {
                Found::Absent => {}
                found => return Ok(found),
            }
            if let Ok(id) = digits.parse::<i64>() {
                if known.ids.contains(&id) {
                    return Ok(Found::Id(id));
                }
            }
        }
        let found = Found::of(known.by_name.get(key));
        // An organization number or id is never made into a supplier's name.
        if found != Found::Absent || !self.create_suppliers || digits_only {
            return Ok(found);
        }
        if self.dry_run {
            return Ok(Found::WouldCreate);
        }
        self.create_supplier(ctx, name, key).await
    }

    /// The suppliers with organization number `digits`, asked of the
    /// server's filter: `Some` when its one page holds them, `None` when the
    /// whole list must decide (none found, or more pages). A filter the
    /// server ignores or refuses is not asked again.
    async fn supplier_by_org_filter<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
        digits: &str,
    ) -> Result<Option<Found>, ApiError> {
        let page = retry_idempotent(ctx.policy, ctx.counters, || {
            ctx.api.list_suppliers(Some(digits), None)
        })
        .await;
        match page {
            Ok(page) => {
                let ids: Vec<i64> = page
                    .items
                    .iter()
                    .filter(|s| is_supplier(s) && org_digits(s) == digits)
                    .map(|s| s.id)
                    .collect();
                // A full page may hide more of them: the list decides then.
                if !ids.is_empty() && page.next.is_none() {
                    return Ok(Some(Found::of(Some(&ids))));
                }
                if page.items.iter().any(|s| org_digits(s) != digits) {
                    self.org_filter_ignored.store(true, Ordering::Relaxed);
                }
            }
            // The list is refused too, once, and that answer is kept.
            Err(ApiError::Forbidden { .. }) => {
                self.org_filter_ignored.store(true, Ordering::Relaxed)
            }
            Err(e) => return Err(e),
        }
        Ok(None)
    }

    /// Creates the supplier named `name` (`key` folded), once for the run.
    async fn create_supplier<A: ProductApi>(
        &self,
        ctx: &Lookup<'_, A>,
        name: &str,
        key: &str,
    ) -> Result<Found, ApiError> {
        let body = NewSupplier::named(name.trim());
        let made = create_once(
            ctx,
            || async {
                let list = all_suppliers(ctx).await?;
                Ok(Found::of(supplier_index(list).by_name.get(key)))
            },
            || async { ctx.api.create_supplier(&body).await.map(|s| s.id) },
        )
        .await;
        match made {
            Err(ApiError::Forbidden { scope, .. }) => Ok(Found::Refused(format!(
                "supplier \"{}\" cannot be created: the API client lacks the scope {scope}",
                name.trim()
            ))),
            other => other,
        }
    }
}

/// A category path that is one category's whole name (`folded`, its
/// levels folded): `Some` when found once or more than once.
fn whole_name(known: &CategoryIndex, text: &str, folded: &[String]) -> Option<Resolution> {
    match Found::of(known.by_levels.get(folded)) {
        Found::Id(id) => Some(Resolution::Id(id)),
        Found::Several(ids) => Some(Resolution::Ambiguous(format!(
            "category \"{text}\" matches {} categories (ids {}): give the id",
            ids.len(),
            join_ids(&ids)
        ))),
        _ => None,
    }
}

/// What a dry run says of a category path whose level `level` (the `i`th,
/// under `parent_name`) is missing: it and the levels `below` it (from it
/// on) would be created.
fn would_create_path(level: &str, i: usize, parent_name: &str, below: &[&str]) -> Resolution {
    let mut made = vec![match i {
        0 => format!("\"{level}\" at the top"),
        _ => format!("\"{level}\" under \"{parent_name}\""),
    }];
    made.extend(
        below
            .windows(2)
            .map(|w| format!("\"{}\" under \"{}\"", w[1], w[0])),
    );
    Resolution::WouldCreate(format!(
        "would create {} {}",
        if made.len() == 1 {
            "category"
        } else {
            "categories"
        },
        made.join(", ")
    ))
}

/// What a lookup talks to and how persistently.
struct Lookup<'a, A> {
    api: &'a A,
    policy: &'a RetryPolicy,
    counters: &'a RequestCounters,
}

/// Creates a record once: `existing` (the list read again, every page) is
/// asked first, since another run may have created it since the list was
/// read, and again after a lost answer before sending once more, so the
/// record is never created twice. `create` answers the new id.
async fn create_once<A, E, EF, C, CF>(
    ctx: &Lookup<'_, A>,
    mut existing: E,
    mut create: C,
) -> Result<Found, ApiError>
where
    E: FnMut() -> EF,
    EF: Future<Output = Result<Found, ApiError>>,
    C: FnMut() -> CF,
    CF: Future<Output = Result<i64, ApiError>>,
{
    let mut attempts = Attempts::default();
    let mut check = true;
    loop {
        if check {
            let found = existing().await?;
            if found != Found::Absent {
                return Ok(found);
            }
        }
        match create().await {
            Ok(id) => return Ok(Found::Id(id)),
            Err(e) => {
                let class = e.class();
                check = class == ErrorClass::Unknown;
                match attempts.next_wait(ctx.policy, class) {
                    Some(wait) => {
                        RequestCounters::bump(&ctx.counters.retries);
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(e),
                }
            }
        }
    }
}

/// Every page of `GET /productcategories`.
async fn all_categories<A: ProductApi>(ctx: &Lookup<'_, A>) -> Result<Vec<Category>, ApiError> {
    all_pages(
        PageGuard::new("GET /productcategories"),
        |cursor| async move {
            retry_idempotent(ctx.policy, ctx.counters, || {
                ctx.api.list_categories(cursor.as_ref())
            })
            .await
        },
    )
    .await
}

/// Every page of `GET /customers?isSupplier=true`.
async fn all_suppliers<A: ProductApi>(ctx: &Lookup<'_, A>) -> Result<Vec<Supplier>, ApiError> {
    all_pages(PageGuard::new("GET /customers"), |cursor| async move {
        retry_idempotent(ctx.policy, ctx.counters, || {
            ctx.api.list_suppliers(None, cursor.as_ref())
        })
        .await
    })
    .await
}

/// A list, or the message saying the API client may not read it.
fn refusable<T>(kind: RefKind, list: Result<T, ApiError>) -> Result<Result<T, String>, ApiError> {
    match list {
        Ok(list) => Ok(Ok(list)),
        Err(ApiError::Forbidden { scope, .. }) => Ok(Err(References::refused_message(kind, scope))),
        Err(e) => Err(e),
    }
}

/// A customer the answer flags as a supplier (the vendor's customers always
/// carry the flag; one without it is not taken for a supplier).
fn is_supplier(s: &Supplier) -> bool {
    s.is_supplier == Some(true)
}

/// The suppliers of a `GET /customers` answer, indexed; other customers are
/// left out, whatever the filter asked for.
fn supplier_index(list: Vec<Supplier>) -> SupplierIndex {
    let mut out = SupplierIndex::default();
    let list: Vec<Supplier> = list.into_iter().filter(is_supplier).collect();
    for s in &list {
        out.ids.insert(s.id);
        let org = org_digits(s);
        if !org.is_empty() {
            push(&mut out.by_org, org, s.id);
        }
    }
    out.by_name = index(list.into_iter().map(|s| (s.name, s.id)));
    out
}

fn org_digits(s: &Supplier) -> String {
    s.organization_number
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

/// A name index: every record answering to each folded name.
fn index(pairs: impl IntoIterator<Item = (Option<String>, i64)>) -> NameIndex {
    let mut map = HashMap::new();
    for (name, id) in pairs {
        if let Some(name) = name {
            let key = fold(&name);
            if !key.is_empty() {
                push(&mut map, key, id);
            }
        }
    }
    map
}

fn kind_label(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Category => "category",
        RefKind::Unit => "unit",
        RefKind::Supplier => "supplier",
    }
}

fn join_ids(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    ids.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::Unit;
    use crate::client::fake::FakeApi;

    fn suppliers(n: i64) -> Vec<Supplier> {
        (1..=n)
            .map(|i| Supplier {
                id: 10_000 + i,
                name: Some(format!("Supplier {i}")),
                organization_number: Some(format!("9{:02} {:03} {:03}", i % 100, i, i)),
                is_supplier: Some(true),
            })
            .collect()
    }

    fn missing(start: &str) -> Resolution {
        Resolution::Missing(start.to_string())
    }

    async fn resolve(refs: &References, api: &FakeApi, kind: RefKind, name: &str) -> Resolution {
        let policy = RetryPolicy::new(0);
        let counters = RequestCounters::default();
        refs.resolve(api, &policy, &counters, kind, &Reference::Name(name.into()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn suppliers_by_name_id_or_organization_number_in_one_pass() {
        let api = FakeApi {
            suppliers: Mutex::new(suppliers(300)),
            ..FakeApi::default()
        };
        let refs = References::new(false, false, false);
        let wanted = [
            ("supplier 7", Resolution::Id(10_007)),
            ("SUPPLIER 300", Resolution::Id(10_300)),
            ("10003", Resolution::Id(10_003)),
            ("907007007", Resolution::Id(10_007)),
            ("9 42 042 042", Resolution::Id(10_042)),
            (
                "Supplier 301",
                missing("supplier \"Supplier 301\" was not found"),
            ),
            ("99999", missing("supplier \"99999\" was not found")),
        ];
        let results = futures::future::join_all(
            wanted
                .iter()
                .map(|(name, _)| resolve(&refs, &api, RefKind::Supplier, name)),
        )
        .await;
        for ((name, expected), got) in wanted.iter().zip(results) {
            match (expected, &got) {
                (Resolution::Missing(start), Resolution::Missing(m)) => {
                    assert!(m.starts_with(start.as_str()), "{name}: {m}")
                }
                _ => assert_eq!(&got, expected, "{name}"),
            }
        }
        // 300 suppliers, 25 a page: one pass is 12 pages. The organization
        // number filter (ignored here) is tried until it shows it is ignored.
        let calls = api.calls("GET /customers");
        assert!(calls <= 12 + 3, "{calls} requests");
        // Asked again: answered from the cache.
        resolve(&refs, &api, RefKind::Supplier, "Supplier 9").await;
        assert_eq!(api.calls("GET /customers"), calls);
    }

    #[tokio::test]
    async fn a_missing_scope_refuses_the_lookup_and_names_the_scope() {
        let api = FakeApi {
            suppliers: Mutex::new(suppliers(3)),
            denied: vec!["api.crm.customer:read", "api.product.category:write"],
            categories: Mutex::new(vec![Category {
                id: 1,
                name: Some("General".into()),
                ..Category::default()
            }]),
            ..FakeApi::default()
        };
        let refs = References::new(true, false, false);
        let got = resolve(&refs, &api, RefKind::Supplier, "Supplier 1").await;
        assert_eq!(
            got,
            Resolution::Refused(
                "suppliers cannot be looked up: the API client lacks the scope api.crm.customer:read"
                    .into()
            )
        );
        let got = resolve(&refs, &api, RefKind::Supplier, "987654321").await;
        assert!(matches!(got, Resolution::Refused(m) if m.contains("api.crm.customer:read")));
        // Categories can be read, not created.
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "general").await,
            Resolution::Id(1)
        );
        let got = resolve(&refs, &api, RefKind::Category, "New one").await;
        assert!(
            matches!(&got, Resolution::Refused(m) if m.contains("\"New one\"") && m.contains("api.product.category:write")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn categories_on_every_page_and_each_missing_one_created_once() {
        let api = FakeApi {
            page_size: 2,
            categories: Mutex::new(
                (1..=7)
                    .map(|id| Category {
                        id,
                        name: Some(format!("Cat {id}")),
                        ..Category::default()
                    })
                    .collect(),
            ),
            units: (1..=30)
                .map(|id| Unit {
                    id: Some(id),
                    name: Some(format!("Unit {id}")),
                    symbol: Some(format!("u{id}")),
                })
                .collect(),
            ..FakeApi::default()
        };
        let refs = References::new(true, false, false);
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "cat 7").await,
            Resolution::Id(7)
        );
        let names = ["Brand new", "brand NEW", "Other", "Brand new "];
        let got = futures::future::join_all(
            names
                .iter()
                .map(|n| resolve(&refs, &api, RefKind::Category, n)),
        )
        .await;
        assert_eq!(got[0], got[1]);
        assert_eq!(got[0], got[3]);
        assert_ne!(got[0], got[2]);
        assert_eq!(api.calls("POST /productcategories"), 2);
        // Units on the last of 15 pages are found too.
        assert_eq!(
            resolve(&refs, &api, RefKind::Unit, "U30").await,
            Resolution::Id(30)
        );
        assert_eq!(api.calls("GET /productunits"), 15);
    }

    #[tokio::test]
    async fn a_category_created_meanwhile_is_not_created_again() {
        let api = FakeApi::default();
        let refs = References::new(true, false, false);
        // The list is read (empty), then someone else creates the category.
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "General").await,
            Resolution::Id(1)
        );
        let other = References::new(true, false, false);
        let (policy, counters) = (RetryPolicy::new(0), RequestCounters::default());
        let ctx = Lookup {
            api: &api,
            policy: &policy,
            counters: &counters,
        };
        other.category_index(&ctx).await.unwrap().unwrap();
        api.categories.lock().unwrap().push(Category {
            id: 2,
            name: Some("Shoes".into()),
            ..Category::default()
        });
        assert_eq!(
            resolve(&other, &api, RefKind::Category, "shoes").await,
            Resolution::Id(2)
        );
        assert_eq!(api.calls("POST /productcategories"), 1);
    }

    fn category(id: i64, name: &str, parent: Option<i64>) -> Category {
        Category {
            id,
            name: Some(name.into()),
            parent_id: parent,
            ..Category::default()
        }
    }

    fn customer(id: i64, name: &str, supplier: bool) -> Supplier {
        Supplier {
            id,
            name: Some(name.into()),
            organization_number: None,
            is_supplier: Some(supplier),
        }
    }

    async fn resolve_path(refs: &References, api: &FakeApi, path: &[&str]) -> Resolution {
        let policy = RetryPolicy::new(0);
        let counters = RequestCounters::default();
        let path = Reference::Path(path.iter().map(|l| l.to_string()).collect());
        refs.resolve(api, &policy, &counters, RefKind::Category, &path)
            .await
            .unwrap()
    }

    fn tree() -> FakeApi {
        FakeApi {
            page_size: 2,
            categories: Mutex::new(vec![
                category(1, "Clothing", Some(0)),
                category(2, "Hoodies", Some(1)),
                // A look-alike at the top: never taken for Clothing > Hoodies.
                category(3, "Hoodies", None),
                category(4, "Audio/Video", Some(0)),
                category(5, "Cables", Some(4)),
            ]),
            ..FakeApi::default()
        }
    }

    #[test]
    fn names_fold_after_normalization_and_full_case_folding() {
        assert_eq!(fold(" Cafe\u{301} "), fold("CAFÉ"));
        assert_eq!(fold("STRASSE"), fold("Straße"));
        assert_ne!(fold("Strasse"), fold("Strase"));
        assert_eq!(
            name_levels("Audio / Video"),
            Some(vec!["audio".into(), "video".into()])
        );
        assert_eq!(name_levels("Audio"), None);
    }

    #[tokio::test]
    async fn a_path_resolves_level_by_level_through_parent_ids() {
        let api = tree();
        let refs = References::new(false, false, false);
        assert_eq!(
            resolve_path(&refs, &api, &["clothing", "HOODIES"]).await,
            Resolution::Id(2)
        );
        // A category really named "Audio/Video" is taken by its whole name.
        assert_eq!(
            resolve_path(&refs, &api, &["Audio", "Video"]).await,
            Resolution::Id(4)
        );
        assert_eq!(
            resolve_path(&refs, &api, &["Audio/Video", "cables"]).await,
            Resolution::Id(5)
        );
        // `Audio/Video/Cables` split at every slash still finds Audio/Video.
        assert_eq!(
            resolve_path(&refs, &api, &["audio", "video", "Cables"]).await,
            Resolution::Id(5)
        );
        let got = resolve_path(&refs, &api, &["Clothing", "Shirts", "Long"]).await;
        assert_eq!(
            got,
            Resolution::Missing(
                "category path \"Clothing > Shirts > Long\": \"Shirts\" was not found under \"Clothing\" (id 1) \
                 (create it in Finago Office, give the category's id, or use --create-categories)"
                    .into()
            )
        );
        let got = resolve_path(&refs, &api, &["Gear", "Bags"]).await;
        assert!(
            matches!(&got, Resolution::Missing(m) if m.contains("\"Gear\" was not found at the top of the category tree")),
            "{got:?}"
        );
        assert_eq!(api.calls("POST /productcategories"), 0);
        // The list was read once, all its pages.
        assert_eq!(api.calls("GET /productcategories"), 3);
    }

    #[tokio::test]
    async fn each_missing_level_is_created_once_under_its_parent() {
        let api = tree();
        let refs = References::new(true, false, false);
        let paths: Vec<Vec<&str>> = (0..30)
            .map(|i| match i % 3 {
                0 => vec!["Clothing", "Shirts", "Long"],
                1 => vec!["CLOTHING", "shirts", "Short"],
                _ => vec!["Gear", "Bags"],
            })
            .collect();
        let got =
            futures::future::join_all(paths.iter().map(|p| resolve_path(&refs, &api, p))).await;
        // Shirts, Long, Short, Gear, Bags.
        assert_eq!(api.calls("POST /productcategories"), 5);
        let all = api.categories.lock().unwrap().clone();
        let find = |name: &str| {
            all.iter()
                .find(|c| c.name.as_deref() == Some(name))
                .unwrap()
        };
        let (shirts, long, short) = (find("Shirts"), find("Long"), find("Short"));
        let (gear, bags) = (find("Gear"), find("Bags"));
        assert_eq!(shirts.parent_id, Some(1));
        assert_eq!(long.parent_id, Some(shirts.id));
        assert_eq!(short.parent_id, Some(shirts.id));
        assert_eq!(gear.parent_id, Some(0));
        assert_eq!(bags.parent_id, Some(gear.id));
        for (path, got) in paths.iter().zip(got) {
            let want = match *path.last().unwrap() {
                "Long" => long.id,
                "Short" => short.id,
                _ => bags.id,
            };
            assert_eq!(got, Resolution::Id(want), "{path:?}");
        }
        // A name created as a path's level is the same category.
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "gear").await,
            Resolution::Id(gear.id)
        );
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "Shirts").await,
            Resolution::Id(shirts.id)
        );
        assert_eq!(api.calls("POST /productcategories"), 5);
    }

    #[tokio::test]
    async fn a_dry_run_says_which_levels_it_would_create() {
        let api = tree();
        let refs = References::new(true, false, true);
        assert_eq!(
            resolve_path(&refs, &api, &["Clothing", "Shirts", "Long"]).await,
            Resolution::WouldCreate(
                "would create categories \"Shirts\" under \"Clothing\", \"Long\" under \"Shirts\""
                    .into()
            )
        );
        assert_eq!(
            resolve_path(&refs, &api, &["Gear", "Bags"]).await,
            Resolution::WouldCreate(
                "would create categories \"Gear\" at the top, \"Bags\" under \"Gear\"".into()
            )
        );
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "New").await,
            Resolution::WouldCreate("would create category \"New\"".into())
        );
        assert_eq!(api.calls("POST /productcategories"), 0);
    }

    #[tokio::test]
    async fn look_alike_names_find_the_existing_category_and_create_nothing() {
        let api = FakeApi {
            categories: Mutex::new(vec![
                category(1, "Caf\u{e9}", Some(0)),
                category(2, "Stra\u{df}e", Some(0)),
                category(3, "Ele", Some(2)),
            ]),
            ..FakeApi::default()
        };
        let refs = References::new(true, false, false);
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "CAFE\u{301}").await,
            Resolution::Id(1)
        );
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "STRASSE").await,
            Resolution::Id(2)
        );
        assert_eq!(
            resolve_path(&refs, &api, &["STRASSE", "ELE"]).await,
            Resolution::Id(3)
        );
        assert_eq!(api.calls("POST /productcategories"), 0);
    }

    #[tokio::test]
    async fn names_two_records_answer_to_are_refused_naming_both_ids() {
        let api = FakeApi {
            categories: Mutex::new(vec![
                category(1, "Clothing", Some(0)),
                category(2, "Hoodies", Some(1)),
                category(3, "HOODIES", Some(1)),
                category(4, "Stra\u{df}e", Some(0)),
                category(5, "STRASSE", Some(0)),
            ]),
            units: vec![
                Unit {
                    id: Some(1),
                    name: Some("Meter".into()),
                    symbol: Some("m".into()),
                },
                Unit {
                    id: Some(2),
                    name: Some("Minute".into()),
                    symbol: Some("M".into()),
                },
            ],
            suppliers: Mutex::new(vec![
                customer(10, "Acme AS", true),
                customer(11, "ACME AS ", true),
            ]),
            ..FakeApi::default()
        };
        let refs = References::new(true, true, false);
        assert_eq!(
            resolve(&refs, &api, RefKind::Category, "straße").await,
            Resolution::Ambiguous(
                "category \"straße\" matches 2 categories (ids 4, 5): give its id or its path"
                    .into()
            )
        );
        assert_eq!(
            resolve_path(&refs, &api, &["Clothing", "Hoodies"]).await,
            Resolution::Ambiguous(
                "category path \"Clothing > Hoodies\": \"Hoodies\" under \"Clothing\" (id 1) \
                 matches 2 categories (ids 2, 3): give the id"
                    .into()
            )
        );
        assert_eq!(
            resolve(&refs, &api, RefKind::Unit, "m").await,
            Resolution::Ambiguous("unit \"m\" matches 2 units (ids 1, 2): give its id".into())
        );
        assert_eq!(
            resolve(&refs, &api, RefKind::Supplier, "acme as").await,
            Resolution::Ambiguous(
                "supplier \"acme as\" matches 2 suppliers (ids 10, 11): give its id".into()
            )
        );
        // Nothing was created in place of choosing.
        assert_eq!(api.calls("POST /productcategories"), 0);
        assert_eq!(api.calls("POST /customers"), 0);
    }

    #[tokio::test]
    async fn a_customer_that_is_not_a_supplier_is_no_match_and_a_supplier_is_created_once() {
        let api = FakeApi {
            // The fake ignores `isSupplier=true`, as a server may.
            suppliers: Mutex::new(vec![
                customer(10, "Acme AS", true),
                customer(11, "Retail Kunde AS", false),
            ]),
            ..FakeApi::default()
        };
        let without = References::new(false, false, false);
        assert!(matches!(
            resolve(&without, &api, RefKind::Supplier, "Retail Kunde AS").await,
            Resolution::Missing(_)
        ));
        assert!(matches!(
            resolve(&without, &api, RefKind::Supplier, "11").await,
            Resolution::Missing(_)
        ));
        let dry = References::new(false, true, true);
        assert_eq!(
            resolve(&dry, &api, RefKind::Supplier, "Retail Kunde AS").await,
            Resolution::WouldCreate("would create supplier \"Retail Kunde AS\"".into())
        );
        assert_eq!(api.calls("POST /customers"), 0);

        let refs = References::new(false, true, false);
        let names = [
            "Retail Kunde AS",
            "RETAIL KUNDE AS",
            " retail kunde as",
            "Acme AS",
        ];
        let got = futures::future::join_all(
            (0..20).map(|i| resolve(&refs, &api, RefKind::Supplier, names[i % 4])),
        )
        .await;
        assert_eq!(api.calls("POST /customers"), 1);
        let created = api.suppliers.lock().unwrap().last().cloned().unwrap();
        assert_eq!(created.name.as_deref(), Some("Retail Kunde AS"));
        assert_eq!(created.is_supplier, Some(true));
        for (i, got) in got.into_iter().enumerate() {
            let want = if i % 4 == 3 { 10 } else { created.id };
            assert_eq!(got, Resolution::Id(want));
        }
        // An organization number is never made into a supplier's name.
        assert!(matches!(
            resolve(&refs, &api, RefKind::Supplier, "987654325").await,
            Resolution::Missing(_)
        ));
        assert_eq!(api.calls("POST /customers"), 1);
    }

    #[tokio::test]
    async fn a_supplier_the_client_may_not_create_is_refused_naming_the_scope() {
        let api = FakeApi {
            denied: vec!["api.crm.customer:write"],
            ..FakeApi::default()
        };
        let refs = References::new(false, true, false);
        let got = resolve(&refs, &api, RefKind::Supplier, "New Supplier AS").await;
        assert_eq!(
            got,
            Resolution::Refused(
                "supplier \"New Supplier AS\" cannot be created: the API client lacks the scope api.crm.customer:write"
                    .into()
            )
        );
    }
}
