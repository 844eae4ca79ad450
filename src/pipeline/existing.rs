//! Products that already exist on the server: what to do with them
//! (`--existing`), how to find them (a paged prefetch or one lookup per row),
//! and which fields of an existing product an update would change.
//!
//! The choice between prefetch and per-row lookups is made by cost, in
//! requests: a per-row lookup costs one request per row with a key; a prefetch
//! costs one request per page of [`PAGE_LIMIT`] existing products. The
//! prefetch therefore reads pages only while it has cost fewer requests than
//! half the rows to import; if the server holds more products than that, it
//! is abandoned and the run looks rows up one by one. Both count against the
//! rate like every other request.

use std::collections::HashMap;

use serde::Deserialize;

use super::retry::{retry_idempotent, RetryPolicy};
use crate::api::types::{IdRef, NewProduct, Product, Stock, SupplierProduct};
use crate::client::http::PAGE_LIMIT;
use crate::client::{ApiError, ProductApi, ProductKey, RequestCounters};

/// What to do with a row whose product already exists (same number, else same EAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExistingMode {
    /// Leave it alone: the row is `skipped` with the existing id.
    #[default]
    Skip,
    /// PATCH the fields that differ; unchanged rows are `skipped`.
    Update,
    /// Do not look: create a new product every time.
    Create,
    /// The row is `failed`.
    Fail,
}

/// Existing products by key, when they were prefetched.
#[derive(Debug, Default)]
pub struct ExistingIndex {
    by_number: HashMap<String, Product>,
    by_ean: HashMap<String, Product>,
}

impl ExistingIndex {
    /// Reads every page of `GET /products`, unless that would cost more than
    /// `max_pages` requests: then `None` (look up row by row instead).
    /// With `keep_fields` false only ids are kept, to save memory.
    pub async fn prefetch<A: ProductApi>(
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        max_pages: u32,
        keep_fields: bool,
    ) -> Result<Option<ExistingIndex>, ApiError> {
        let mut index = ExistingIndex::default();
        let mut page_no = 1;
        let mut previous_first: Option<i64> = None;
        loop {
            if page_no > max_pages {
                return Ok(None);
            }
            let page =
                retry_idempotent(policy, counters, || api.list_products(page_no, PAGE_LIMIT))
                    .await?;
            let first = page.items.first().map(|p| p.id);
            if page.items.is_empty() || (first.is_some() && first == previous_first) {
                break;
            }
            previous_first = first;
            for p in page.items {
                index.insert(p, keep_fields);
            }
            if !page.more {
                break;
            }
            page_no += 1;
        }
        Ok(Some(index))
    }

    fn insert(&mut self, p: Product, keep_fields: bool) {
        let p = if keep_fields {
            p
        } else {
            Product {
                id: p.id,
                number: p.number,
                ean: p.ean,
                ..Product::default()
            }
        };
        if let Some(n) = p.number.clone().filter(|n| !n.is_empty()) {
            let e = self.by_number.entry(n).or_insert_with(|| p.clone());
            if p.id < e.id {
                *e = p.clone();
            }
        }
        if let Some(n) = p.ean.clone().filter(|n| !n.is_empty()) {
            let e = self.by_ean.entry(n).or_insert_with(|| p.clone());
            if p.id < e.id {
                *e = p;
            }
        }
    }

    /// The existing product with this key (the oldest when there are several).
    pub fn get(&self, key: &ProductKey) -> Option<&Product> {
        match key {
            ProductKey::Number(n) => self.by_number.get(n),
            ProductKey::Ean(e) => self.by_ean.get(e),
        }
    }

    /// Number of products held.
    pub fn len(&self) -> usize {
        self.by_number.len().max(self.by_ean.len())
    }

    /// True when no product is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Looks a product up by key on the server (oldest match, if any).
pub async fn lookup<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    key: &ProductKey,
) -> Result<Option<(Product, u16, Option<String>)>, ApiError> {
    let answer = retry_idempotent(policy, counters, || api.find_products(key)).await?;
    let status = answer.status;
    let trace = answer.trace_id;
    Ok(answer
        .value
        .into_iter()
        .min_by_key(|p| p.id)
        .map(|p| (p, status, trace)))
}

/// The fields of `new` that differ from `old`, as a PATCH body, with their
/// names (API paths). Fields the row leaves empty are never changed.
pub fn changes(new: &NewProduct, old: &Product) -> (NewProduct, Vec<&'static str>) {
    let mut patch = NewProduct::default();
    let mut names = Vec::new();
    macro_rules! field {
        ($f:ident, $old:expr, $name:literal) => {
            if let Some(v) = &new.$f {
                if Some(v) != $old.as_ref() {
                    patch.$f = Some(v.clone());
                    names.push($name);
                }
            }
        };
    }
    // Text is compared as the importer reads it (trimmed, odd spaces made
    // plain), so that text the server holds untrimmed is not sent again as it was.
    macro_rules! text {
        ($f:ident, $old:expr, $name:literal) => {
            if let Some(v) = &new.$f {
                if !same_text(v, $old.as_deref()) {
                    patch.$f = Some(v.clone());
                    names.push($name);
                }
            }
        };
    }
    text!(name, old.name, "name");
    text!(number, old.number, "number");
    field!(product_type, old.product_type, "type");
    field!(status, old.status, "status");
    text!(description, old.description, "description");
    field!(webshop_enabled, old.webshop_enabled, "webshopEnabled");
    text!(ean, old.ean, "ean");
    text!(ean_alternative, old.ean_alternative, "eanAlternative");
    let price =
        |new: Option<f64>, old: Option<f64>, name: &'static str, names: &mut Vec<&'static str>| {
            let new = new?;
            if old.is_some_and(|o| (o - new).abs() <= 1e-9 * new.abs().max(1.0)) {
                None
            } else {
                names.push(name);
                Some(new)
            }
        };
    patch.cost_price = price(new.cost_price, old.cost_price, "costPrice", &mut names);
    patch.sales_price = price(new.sales_price, old.sales_price, "salesPrice", &mut names);
    patch.indirect_cost = price(
        new.indirect_cost,
        old.indirect_cost,
        "indirectCost",
        &mut names,
    );
    if let Some(s) = &new.stock {
        let o = old.stock.clone().unwrap_or_default();
        let mut d = Stock::default();
        if s.is_managed.is_some() && s.is_managed != o.is_managed {
            d.is_managed = s.is_managed;
        }
        d.quantity = price(s.quantity, o.quantity, "stock.quantity", &mut names);
        if s.location
            .as_deref()
            .is_some_and(|l| !same_text(l, o.location.as_deref()))
        {
            d.location = s.location.clone();
        }
        if d.is_managed.is_some() {
            names.push("stock.isManaged");
        }
        if d.location.is_some() {
            names.push("stock.location");
        }
        patch.stock = Some(d).filter(|d| !d.is_empty());
    }
    if let Some(s) = &new.supplier_product {
        let o = old.supplier_product.clone().unwrap_or_default();
        let mut d = SupplierProduct::default();
        if s.item_code
            .as_deref()
            .is_some_and(|t| !same_text(t, o.item_code.as_deref()))
        {
            d.item_code = s.item_code.clone();
            names.push("supplierProduct.itemCode");
        }
        if s.number
            .as_deref()
            .is_some_and(|t| !same_text(t, o.number.as_deref()))
        {
            d.number = s.number.clone();
            names.push("supplierProduct.number");
        }
        if s.name
            .as_deref()
            .is_some_and(|t| !same_text(t, o.name.as_deref()))
        {
            d.name = s.name.clone();
            names.push("supplierProduct.name");
        }
        d.price = price(s.price, o.price, "supplierProduct.price", &mut names);
        patch.supplier_product = Some(d).filter(|d| !d.is_empty());
    }
    let reference = |new: &Option<IdRef>,
                     old: Option<i64>,
                     name: &'static str,
                     names: &mut Vec<&'static str>| {
        let new = (*new)?;
        if Some(new.id) == old {
            None
        } else {
            names.push(name);
            Some(new)
        }
    };
    patch.units = reference(
        &new.units,
        old.units.as_ref().and_then(|u| u.id),
        "units.id",
        &mut names,
    );
    patch.category = reference(
        &new.category,
        old.category.as_ref().and_then(|c| c.id),
        "category.id",
        &mut names,
    );
    patch.supplier = reference(
        &new.supplier,
        old.supplier.as_ref().and_then(|c| c.id),
        "supplier.id",
        &mut names,
    );
    (patch, names)
}

/// Whether a row's (cleaned) text equals the server's, read the same way.
fn same_text(new: &str, old: Option<&str>) -> bool {
    old.is_some_and(|o| crate::values::clean_text(o) == new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{NamedRef, Unit};

    #[test]
    fn changes_lists_only_differing_fields() {
        let old = Product {
            id: 9,
            name: Some("Bolt".into()),
            number: Some("B-1".into()),
            sales_price: Some(10.0),
            cost_price: Some(4.0),
            stock: Some(Stock {
                is_managed: Some(true),
                quantity: Some(5.0),
                location: None,
            }),
            units: Some(Unit {
                id: Some(1),
                name: None,
                symbol: None,
            }),
            category: Some(NamedRef {
                id: Some(3),
                name: Some("Hardware".into()),
            }),
            ..Product::default()
        };
        let same = NewProduct {
            name: Some("Bolt".into()),
            number: Some("B-1".into()),
            sales_price: Some(10.0),
            stock: Some(Stock {
                is_managed: Some(true),
                quantity: Some(5.0),
                location: None,
            }),
            units: Some(IdRef { id: 1 }),
            category: Some(IdRef { id: 3 }),
            ..NewProduct::default()
        };
        let (patch, names) = changes(&same, &old);
        assert!(names.is_empty(), "{names:?}");
        assert_eq!(patch, NewProduct::default());

        // Text the server holds untrimmed reads as the row does: unchanged.
        let untrimmed = Product {
            name: Some(" Bolt\u{a0}".into()),
            ..old.clone()
        };
        assert!(changes(&same, &untrimmed).1.is_empty());

        let changed = NewProduct {
            sales_price: Some(12.5),
            stock: Some(Stock {
                is_managed: Some(true),
                quantity: Some(7.0),
                location: Some("A1".into()),
            }),
            category: Some(IdRef { id: 4 }),
            ..same
        };
        let (patch, names) = changes(&changed, &old);
        assert_eq!(
            names,
            [
                "salesPrice",
                "stock.quantity",
                "stock.location",
                "category.id"
            ]
        );
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({"salesPrice": 12.5, "stock": {"quantity": 7.0, "location": "A1"}, "category": {"id": 4}})
        );
    }
}
