//! The records the sandbox holds and the rules for changing them: sequential
//! ids, server defaults, referenced category, unit and supplier ids that must
//! exist, and their names filled in.
//!
//! Bodies reaching this module have passed the schema check, so a field
//! has the type the schema allows; the code still never panics on one that
//! does not, it leaves the field unset.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::behaviour::{Behaviour, PatchNested, PatchNulls};
use crate::error::ApiError;
use crate::seed::SeedData;
use crate::wire::{
    BadRequestIssue, Category, NamedRef, Product, ProductStatus, ProductType, Stock, Supplier,
    SupplierProduct, Unit,
};

/// Everything the sandbox holds.
#[derive(Debug)]
pub(crate) struct Store {
    products: BTreeMap<i64, Product>,
    next_product_id: i64,
    /// New products out of search results until the given time.
    hidden_until: HashMap<i64, Instant>,
    /// How long a new product stays out of search results.
    search_lag: Duration,
    /// What a PATCH does with nested objects.
    patch_nested: PatchNested,
    /// What a PATCH does with a field given as `null`.
    patch_nulls: PatchNulls,
    categories: Vec<Category>,
    units: Vec<Unit>,
    suppliers: Vec<Supplier>,
}

/// What a body says about the referenced records, resolved against the store.
/// The outer `None` means "not mentioned", `Some(None)` means "cleared".
struct References {
    units: Option<Option<Unit>>,
    category: Option<Option<NamedRef>>,
    supplier: Option<Option<NamedRef>>,
}

impl Store {
    /// A store with the seed data's categories, units and suppliers (its
    /// products are created afterwards, through the same path as a POST).
    pub(crate) fn new(data: &SeedData) -> Self {
        let stamp = timestamp(SystemTime::now());
        let categories = data
            .categories
            .iter()
            .cloned()
            .map(|mut category| {
                category.parent_id.get_or_insert(0);
                category.modified_at.get_or_insert_with(|| stamp.clone());
                category
            })
            .collect();
        let suppliers = data
            .suppliers
            .iter()
            .cloned()
            // A seed customer is a supplier unless it says otherwise.
            .map(|mut supplier| {
                supplier.is_supplier.get_or_insert(true);
                supplier
            })
            .collect();
        Store {
            products: BTreeMap::new(),
            next_product_id: 1,
            hidden_until: HashMap::new(),
            search_lag: Duration::ZERO,
            patch_nested: PatchNested::Merge,
            patch_nulls: PatchNulls::Clear,
            categories,
            units: data.units.clone(),
            suppliers,
        }
    }

    /// All products, in id order.
    pub(crate) fn products(&self) -> Vec<Product> {
        self.products.values().cloned().collect()
    }

    /// Sets the open behaviours that concern the records: how long a new
    /// product stays out of search results, and what a PATCH does with
    /// nested objects and nulls. Products created before (the seed) are not affected.
    pub(crate) fn set_behaviour(&mut self, behaviour: &Behaviour) {
        self.search_lag = behaviour.search_lag;
        self.patch_nested = behaviour.patch_nested;
        self.patch_nulls = behaviour.patch_nulls;
    }

    /// The products searches and listings see at `now`, in id order: all
    /// but those created less than the search lag ago.
    pub(crate) fn searchable_products(&self, now: Instant) -> impl Iterator<Item = &Product> {
        self.products.values().filter(move |product| {
            self.hidden_until
                .get(&product.id)
                .is_none_or(|until| *until <= now)
        })
    }

    /// How many products there are, searchable or not.
    pub(crate) fn product_count(&self) -> usize {
        self.products.len()
    }

    /// One product.
    pub(crate) fn product(&self, id: i64) -> Option<&Product> {
        self.products.get(&id)
    }

    /// All categories, in id order.
    pub(crate) fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// All units.
    pub(crate) fn units(&self) -> &[Unit] {
        &self.units
    }

    /// All customers, suppliers (`isSupplier: true`) or not.
    pub(crate) fn suppliers(&self) -> &[Supplier] {
        &self.suppliers
    }

    /// Creates a product from a checked `POST /products` body.
    pub(crate) fn create_product(
        &mut self,
        body: &Map<String, Value>,
    ) -> Result<Product, ApiError> {
        let references = self.resolve(body)?;
        let stamp = timestamp(SystemTime::now());
        let mut product = Product {
            id: self.next_product_id,
            product_type: Some(ProductType::Default),
            status: Some(ProductStatus::Active),
            cost_price: Some(0.0),
            sales_price: Some(0.0),
            indirect_cost: Some(0.0),
            webshop_enabled: Some(false),
            stock: Some(Stock {
                is_managed: Some(false),
                quantity: Some(0.0),
                location: None,
            }),
            created_at: Some(stamp.clone()),
            modified_at: Some(stamp),
            ..Product::default()
        };
        apply(&mut product, body, references, PatchNested::Merge);
        self.next_product_id += 1;
        if !self.search_lag.is_zero() {
            let now = Instant::now();
            self.hidden_until.retain(|_, until| *until > now);
            self.hidden_until.insert(product.id, now + self.search_lag);
        }
        self.products.insert(product.id, product.clone());
        Ok(product)
    }

    /// Applies a checked `PATCH /products/{id}` body; `None` when there is no such product.
    pub(crate) fn update_product(
        &mut self,
        id: i64,
        body: &Map<String, Value>,
    ) -> Result<Option<Product>, ApiError> {
        if !self.products.contains_key(&id) {
            return Ok(None);
        }
        let without_nulls;
        let body = match self.patch_nulls {
            PatchNulls::Clear => body,
            PatchNulls::Ignore => {
                without_nulls = drop_nulls(body);
                &without_nulls
            }
        };
        let references = self.resolve(body)?;
        let product = self.products.get_mut(&id).expect("checked above");
        apply(product, body, references, self.patch_nested);
        product.modified_at = Some(timestamp(SystemTime::now()));
        Ok(Some(product.clone()))
    }

    /// Raises a product's stock quantity by `by`, as goods coming in would.
    pub(crate) fn move_stock(&mut self, id: i64, by: f64) {
        if let Some(product) = self.products.get_mut(&id) {
            let stock = product.stock.get_or_insert_with(Stock::default);
            stock.quantity = Some(stock.quantity.unwrap_or(0.0) + by);
            product.modified_at = Some(timestamp(SystemTime::now()));
        }
    }

    /// Deletes a product; false when there is no such product.
    pub(crate) fn delete_product(&mut self, id: i64) -> bool {
        self.hidden_until.remove(&id);
        self.products.remove(&id).is_some()
    }

    /// Creates a category from a checked `POST /productcategories` body.
    pub(crate) fn create_category(
        &mut self,
        body: &Map<String, Value>,
    ) -> Result<Category, ApiError> {
        let parent_id = body.get("parentId").and_then(Value::as_f64).unwrap_or(0.0);
        if parent_id != 0.0 && whole(parent_id).is_none_or(|id| self.category(id).is_none()) {
            return Err(missing_references(vec![missing(
                "parentId", "category", parent_id,
            )]));
        }
        let category = Category {
            id: self.categories.iter().map(|c| c.id).max().unwrap_or(0) + 1,
            name: body.get("name").and_then(Value::as_str).map(str::to_owned),
            parent_id: whole(parent_id),
            alternative_reference: body
                .get("alternativeReference")
                .and_then(Value::as_str)
                .map(str::to_owned),
            modified_at: Some(timestamp(SystemTime::now())),
        };
        self.categories.push(category.clone());
        Ok(category)
    }

    /// Creates a customer from a checked `POST /customers` body: a company
    /// by its `name`, a person by first and last name; `isSupplier` is false
    /// unless given. Ids follow the largest customer id (from 10001).
    pub(crate) fn create_customer(&mut self, body: &Map<String, Value>) -> Supplier {
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        let name = text(body.get("name")).or_else(|| {
            let person = body.get("person")?;
            let parts: Vec<String> = [person.get("firstName"), person.get("lastName")]
                .into_iter()
                .filter_map(text)
                .collect();
            Some(parts.join(" "))
        });
        let customer = Supplier {
            id: self
                .suppliers
                .iter()
                .map(|s| s.id)
                .max()
                .unwrap_or(0)
                .max(10_000)
                + 1,
            name,
            organization_number: text(body.get("organizationNumber")),
            is_supplier: Some(body.get("isSupplier").and_then(Value::as_bool) == Some(true)),
        };
        self.suppliers.push(customer.clone());
        customer
    }

    fn category(&self, id: i64) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Looks up every referenced id; all the missing ones are reported together.
    fn resolve(&self, body: &Map<String, Value>) -> Result<References, ApiError> {
        let mut problems = Vec::new();
        let references = References {
            units: self.lookup(body, "units", "unit", &mut problems, |store, id| {
                store.unit(id).cloned()
            }),
            category: self.lookup(body, "category", "category", &mut problems, |store, id| {
                store.category(id).map(|c| NamedRef {
                    id: Some(c.id),
                    name: c.name.clone(),
                })
            }),
            supplier: self.lookup(body, "supplier", "supplier", &mut problems, |store, id| {
                store.supplier(id).map(|s| NamedRef {
                    id: Some(s.id),
                    name: s.name.clone(),
                })
            }),
        };
        if problems.is_empty() {
            Ok(references)
        } else {
            Err(missing_references(problems))
        }
    }

    /// What `{field}.id` of a body refers to: `None` when not given,
    /// `Some(None)` when null, else the record, or a problem when it does not exist.
    fn lookup<T>(
        &self,
        body: &Map<String, Value>,
        field: &str,
        what: &str,
        problems: &mut Vec<BadRequestIssue>,
        find: impl Fn(&Self, i64) -> Option<T>,
    ) -> Option<Option<T>> {
        let id = match body.get(field).and_then(|reference| reference.get("id")) {
            None => return None,
            Some(Value::Null) => return Some(None),
            Some(id) => id.as_f64().unwrap_or(f64::NAN),
        };
        match whole(id).and_then(|id| find(self, id)) {
            Some(found) => Some(Some(found)),
            None => {
                problems.push(missing(&format!("{field}.id"), what, id));
                None
            }
        }
    }

    fn unit(&self, id: i64) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == Some(id))
    }

    fn supplier(&self, id: i64) -> Option<&Supplier> {
        self.suppliers.iter().find(|s| s.id == id)
    }
}

/// The integer a JSON number stands for, if it is a whole number.
fn whole(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() < 9.0e15).then_some(n as i64)
}

fn missing(path: &str, what: &str, id: f64) -> BadRequestIssue {
    BadRequestIssue {
        issue_type: "notFound".to_owned(),
        message: format!("There is no {what} with id {id}"),
        arguments: json!({ "path": path, "id": id }),
    }
}

fn missing_references(problems: Vec<BadRequestIssue>) -> ApiError {
    ApiError::bad_request("A referenced record does not exist", problems)
}

/// Writes the fields a body gives onto a product. Keys the schema does not
/// know cannot reach here; references come resolved. Nested objects are
/// merged into the ones held, or replace them whole.
fn apply(
    product: &mut Product,
    body: &Map<String, Value>,
    references: References,
    nested: PatchNested,
) {
    if nested == PatchNested::Replace {
        if body.contains_key("stock") {
            product.stock = Some(Stock::default());
        }
        if body.contains_key("supplierProduct") {
            product.supplier_product = Some(SupplierProduct::default());
        }
    }
    for (key, value) in body {
        match key.as_str() {
            "name" => product.name = text(value),
            "number" => product.number = text(value),
            "type" => product.product_type = serde_json::from_value(value.clone()).ok(),
            "status" => product.status = serde_json::from_value(value.clone()).ok(),
            "description" => product.description = text(value),
            "costPrice" => product.cost_price = value.as_f64(),
            "salesPrice" => product.sales_price = value.as_f64(),
            "indirectCost" => product.indirect_cost = value.as_f64(),
            "webshopEnabled" => product.webshop_enabled = value.as_bool(),
            "ean" => product.ean = text(value),
            "eanAlternative" => product.ean_alternative = text(value),
            "stock" => merge_stock(product.stock.get_or_insert_default(), value),
            "supplierProduct" => {
                merge_supplier_product(product.supplier_product.get_or_insert_default(), value)
            }
            _ => {}
        }
    }
    if let Some(units) = references.units {
        product.units = units;
    }
    if let Some(category) = references.category {
        product.category = category;
    }
    if let Some(supplier) = references.supplier {
        product.supplier = supplier;
    }
}

/// `body` without its `null` fields, at the top and one level down (inside
/// `stock`, `supplierProduct`, `units`, `supplier`).
fn drop_nulls(body: &Map<String, Value>) -> Map<String, Value> {
    body.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                Value::Object(inner) => Value::Object(
                    inner
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                v => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// Sub-objects are merged field by field into the one held.
fn merge_stock(stock: &mut Stock, value: &Value) {
    for (key, value) in value.as_object().into_iter().flatten() {
        match key.as_str() {
            "isManaged" => stock.is_managed = value.as_bool(),
            "quantity" => stock.quantity = value.as_f64(),
            "location" => stock.location = text(value),
            _ => {}
        }
    }
}

fn merge_supplier_product(supplier_product: &mut SupplierProduct, value: &Value) {
    for (key, value) in value.as_object().into_iter().flatten() {
        match key.as_str() {
            "itemCode" => supplier_product.item_code = text(value),
            "number" => supplier_product.number = text(value),
            "name" => supplier_product.name = text(value),
            "price" => supplier_product.price = value.as_f64(),
            _ => {}
        }
    }
}

/// A time as the vendor writes it: `2022-01-01 18:00:00.000Z` (UTC), the
/// milliseconds cut, not rounded; a time before 1970 as 1970's start.
pub(crate) fn timestamp(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time.max(UNIX_EPOCH))
        .unwrap_or(jiff::Timestamp::MAX)
        .strftime("%Y-%m-%d %H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn timestamps_look_like_the_vendors() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_641_060_000_123);
        assert_eq!(timestamp(t), "2022-01-01 18:00:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap), "2000-02-29 00:00:00.000Z");
    }

    #[test]
    fn create_applies_defaults_and_names() {
        let mut store = Store::new(&SeedData::builtin());
        let product = store
            .create_product(&body(json!({
                "name": "Laces", "category": {"id": 5}, "units": {"id": 1}, "supplier": {"id": 10001}
            })))
            .unwrap();
        assert_eq!(product.id, 1);
        assert_eq!(product.product_type, Some(ProductType::Default));
        assert_eq!(product.status, Some(ProductStatus::Active));
        assert_eq!(product.sales_price, Some(0.0));
        assert_eq!(
            product.category.unwrap().name.as_deref(),
            Some("Shoe accessories")
        );
        assert_eq!(product.units.unwrap().symbol.as_deref(), Some("stk"));
        assert_eq!(
            product.supplier.unwrap().name.as_deref(),
            Some("Nordisk Skotøy AS")
        );
        let second = store.create_product(&body(json!({"name": "B", "category": {"id": 1}})));
        assert_eq!(second.unwrap().id, 2);
    }

    #[test]
    fn unknown_references_create_nothing() {
        let mut store = Store::new(&SeedData::builtin());
        let result = store.create_product(&body(json!({
            "name": "X", "category": {"id": 99}, "units": {"id": 1.5}
        })));
        assert!(result.is_err());
        assert!(store.products().is_empty());
    }

    #[test]
    fn patch_merges_and_clears() {
        let mut store = Store::new(&SeedData::builtin());
        store
            .create_product(&body(json!({
                "name": "A", "number": "N1", "category": {"id": 1}, "units": {"id": 2},
                "stock": {"isManaged": true, "quantity": 5, "location": "A-1"}
            })))
            .unwrap();
        let updated = store
            .update_product(
                1,
                &body(json!({"number": null, "units": {"id": null}, "stock": {"quantity": 7}})),
            )
            .unwrap()
            .unwrap();
        assert_eq!(updated.number, None);
        assert_eq!(updated.units, None);
        assert_eq!(updated.name.as_deref(), Some("A"));
        let stock = updated.stock.unwrap();
        assert_eq!((stock.is_managed, stock.quantity), (Some(true), Some(7.0)));
        assert_eq!(stock.location.as_deref(), Some("A-1"));
        assert!(store.update_product(2, &body(json!({}))).unwrap().is_none());
    }

    #[test]
    fn patch_can_replace_nested_objects() {
        let mut store = Store::new(&SeedData::builtin());
        store.set_behaviour(&Behaviour {
            patch_nested: PatchNested::Replace,
            ..Behaviour::lenient()
        });
        store
            .create_product(&body(json!({
                "name": "A", "category": {"id": 1},
                "stock": {"isManaged": true, "quantity": 5, "location": "A-1"},
                "supplierProduct": {"number": "S-1", "name": "Ess"}
            })))
            .unwrap();
        let updated = store
            .update_product(1, &body(json!({"stock": {"quantity": 7}})))
            .unwrap()
            .unwrap();
        let stock = updated.stock.unwrap();
        assert_eq!((stock.is_managed, stock.quantity), (None, Some(7.0)));
        assert_eq!(stock.location, None);
        let kept = updated.supplier_product.unwrap();
        assert_eq!(kept.number.as_deref(), Some("S-1"), "not sent, not touched");
    }

    #[test]
    fn patch_nulls_clear_or_are_ignored() {
        let nulls = json!({
            "description": null, "ean": null, "units": {"id": null},
            "stock": {"isManaged": true, "location": null},
        });
        for (mode, cleared) in [(PatchNulls::Clear, true), (PatchNulls::Ignore, false)] {
            let mut store = Store::new(&SeedData::builtin());
            store.set_behaviour(&Behaviour {
                patch_nulls: mode,
                ..Behaviour::lenient()
            });
            store
                .create_product(&body(json!({
                    "name": "A", "category": {"id": 1}, "description": "D",
                    "ean": "4006381333931", "units": {"id": 1},
                    "stock": {"isManaged": false, "location": "A-1"},
                })))
                .unwrap();
            let p = store
                .update_product(1, &body(nulls.clone()))
                .unwrap()
                .unwrap();
            let stock = p.stock.unwrap();
            assert_eq!(stock.is_managed, Some(true), "{mode:?}: values still apply");
            let held = [
                p.description.is_some(),
                p.ean.is_some(),
                p.units.is_some(),
                stock.location.is_some(),
            ];
            assert_eq!(held, [!cleared; 4], "{mode:?}");
        }
    }

    #[test]
    fn new_products_wait_out_the_search_lag() {
        let mut store = Store::new(&SeedData::builtin());
        store.set_behaviour(&Behaviour {
            search_lag: Duration::from_secs(60),
            ..Behaviour::lenient()
        });
        store
            .create_product(&body(json!({"name": "A", "category": {"id": 1}})))
            .unwrap();
        let now = Instant::now();
        assert_eq!(store.searchable_products(now).count(), 0);
        assert!(store.product(1).is_some());
        let later = now + Duration::from_secs(61);
        assert_eq!(store.searchable_products(later).count(), 1);
        assert_eq!(store.product_count(), 1);
    }

    #[test]
    fn categories_get_the_next_id_and_need_an_existing_parent() {
        let mut store = Store::new(&SeedData::builtin());
        let bags = store
            .create_category(&body(json!({"name": "Bags", "parentId": 3})))
            .unwrap();
        assert_eq!((bags.id, bags.parent_id), (6, Some(3)));
        assert!(store
            .create_category(&body(json!({"name": "Orphan", "parentId": 42})))
            .is_err());
        assert_eq!(store.categories().len(), 6);
    }
}
