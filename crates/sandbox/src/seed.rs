//! The records a sandbox starts with: built in, or loaded with `--data FILE.json`.

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::wire::{Category, Supplier, Unit};

/// Categories, units, suppliers and products a sandbox starts with.
///
/// # Built-in set
///
/// Categories (`GET /v1/productcategories`):
///
/// | id | name | parentId | alternativeReference |
/// |---|---|---|---|
/// | 1 | General | 0 | `GEN` |
/// | 2 | Shoes | 0 | `SHOE` |
/// | 3 | Accessories | 0 | `ACC` |
/// | 4 | Clothing | 0 | `CLOTH` |
/// | 5 | Shoe accessories | 2 | `SHOE-ACC` |
///
/// Units (`GET /v1/productunits`). A Norwegian account lists its units by
/// Norwegian name and symbol; two English entries, as a company may add
/// them, let files written in either language be matched. Metric units are
/// spelled the same in both languages and are listed once.
///
/// | id | name | symbol | meaning |
/// |---|---|---|---|
/// | 1 | Stykk | stk | pieces |
/// | 2 | Kilogram | kg | kilograms |
/// | 3 | Meter | m | metres |
/// | 4 | Liter | l | litres |
/// | 5 | Timer | t | hours |
/// | 6 | Pieces | pcs | pieces |
/// | 7 | Hours | h | hours |
///
/// Suppliers (`GET /v1/customers?isSupplier=true`), with valid Norwegian
/// organization numbers:
///
/// | id | name | organizationNumber |
/// |---|---|---|
/// | 10001 | Nordisk Skotøy AS | 987654325 |
/// | 10002 | Bergen Lær og Tilbehør AS | 923456783 |
/// | 10003 | Oslo Tekstil Engros AS | 812345672 |
///
/// No products: the built-in sandbox starts empty.
///
/// [`SeedData::with_suppliers`] and [`SeedData::with_products`] add
/// generated records to any set, e.g. `SeedData::builtin().with_suppliers(300)`.
///
/// # JSON shape of `--data`
///
/// ```json
/// {
///   "categories": [{"id": 1, "name": "General", "parentId": 0, "alternativeReference": "GEN"}],
///   "units": [{"id": 1, "name": "Stykk", "symbol": "stk"}],
///   "suppliers": [{"id": 10001, "name": "Nordisk Skotøy AS", "organizationNumber": "987654325"}],
///   "products": [{"name": "White shoe laces", "number": "SH-1", "category": {"id": 1}}]
/// }
/// ```
///
/// A `suppliers` entry is a customer: a supplier unless it says
/// `"isSupplier": false` (such a customer is seen only where the sandbox
/// ignores the `isSupplier` filter).
///
/// Records have the fields the API returns for them. Every key is optional
/// and a missing one means an empty list, not the built-in one; other keys are
/// refused. Ids must be unique and positive, and units need an id. `products`
/// are bodies of `POST /v1/products`: they are checked like one and created
/// in order at start, with ids from 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedData {
    /// Product categories.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Units of measurement.
    #[serde(default)]
    pub units: Vec<Unit>,
    /// Suppliers (customers flagged as suppliers).
    #[serde(default)]
    pub suppliers: Vec<Supplier>,
    /// Products to create at start, as `POST /v1/products` bodies.
    #[serde(default)]
    pub products: Vec<serde_json::Value>,
}

impl Default for SeedData {
    /// The built-in set.
    fn default() -> Self {
        SeedData::builtin()
    }
}

impl SeedData {
    /// The built-in set documented on [`SeedData`].
    pub fn builtin() -> Self {
        let category = |id, name: &str, parent_id, reference: &str| Category {
            id,
            name: Some(name.to_owned()),
            parent_id: Some(parent_id),
            alternative_reference: Some(reference.to_owned()),
            modified_at: None,
        };
        let unit = |id, name: &str, symbol: &str| Unit {
            id: Some(id),
            name: Some(name.to_owned()),
            symbol: Some(symbol.to_owned()),
        };
        let supplier = |id, name: &str, organization_number: &str| Supplier {
            id,
            name: Some(name.to_owned()),
            organization_number: Some(organization_number.to_owned()),
            is_supplier: Some(true),
        };
        SeedData {
            categories: vec![
                category(1, "General", 0, "GEN"),
                category(2, "Shoes", 0, "SHOE"),
                category(3, "Accessories", 0, "ACC"),
                category(4, "Clothing", 0, "CLOTH"),
                category(5, "Shoe accessories", 2, "SHOE-ACC"),
            ],
            units: vec![
                unit(1, "Stykk", "stk"),
                unit(2, "Kilogram", "kg"),
                unit(3, "Meter", "m"),
                unit(4, "Liter", "l"),
                unit(5, "Timer", "t"),
                unit(6, "Pieces", "pcs"),
                unit(7, "Hours", "h"),
            ],
            suppliers: vec![
                supplier(10001, "Nordisk Skotøy AS", "987654325"),
                supplier(10002, "Bergen Lær og Tilbehør AS", "923456783"),
                supplier(10003, "Oslo Tekstil Engros AS", "812345672"),
            ],
            products: Vec::new(),
        }
    }

    /// Adds `count` generated suppliers, e.g. for paging tests: ids follow
    /// the largest supplier id so far (from 20001 when there is none above
    /// it), names are `Generated supplier N` (N from 1), and each has a
    /// distinct 9-digit organization number with a valid mod-11 check digit.
    pub fn with_suppliers(mut self, count: usize) -> Self {
        let first_id = self
            .suppliers
            .iter()
            .map(|s| s.id)
            .max()
            .unwrap_or(0)
            .max(20_000)
            + 1;
        let mut base: u32 = 90_000_000;
        for n in 0..count {
            let organization_number = loop {
                base += 1;
                if let Some(number) = organization_number(base) {
                    break number;
                }
            };
            self.suppliers.push(Supplier {
                id: first_id + n as i64,
                name: Some(format!("Generated supplier {}", n + 1)),
                organization_number: Some(organization_number),
                is_supplier: Some(true),
            });
        }
        self
    }

    /// Adds `count` product bodies created at start, e.g. a catalogue that
    /// already exists: name `Seeded product N`, number `SEED-N` (N from 1,
    /// counting on from the products already given), in the first category.
    /// Call it after the categories are in place.
    pub fn with_products(mut self, count: usize) -> Self {
        let category = self.categories.first().map_or(1, |c| c.id);
        let start = self.products.len() + 1;
        self.products.extend((start..start + count).map(|n| {
            serde_json::json!({
                "name": format!("Seeded product {n}"),
                "number": format!("SEED-{n}"),
                "category": {"id": category},
            })
        }));
        self
    }

    /// Parses the JSON shape documented on [`SeedData`].
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads and parses a `--data` file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("{} is not valid seed data", path.display()))
    }

    /// Checks what JSON cannot: unique positive ids, units with ids.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        unique("category", self.categories.iter().map(|c| Some(c.id)))?;
        unique("unit", self.units.iter().map(|u| u.id))?;
        unique("supplier", self.suppliers.iter().map(|s| Some(s.id)))?;
        Ok(())
    }
}

/// The organization number of 8 leading digits plus their mod-11 check
/// digit; `None` when the check digit would be 10 (no valid number).
fn organization_number(leading: u32) -> Option<String> {
    let digits = format!("{leading:08}");
    let sum: u32 = digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .zip([3, 2, 7, 6, 5, 4, 3, 2])
        .map(|(d, w)| d * w)
        .sum();
    match (11 - sum % 11) % 11 {
        10 => None,
        check => Some(format!("{digits}{check}")),
    }
}

fn unique(what: &str, ids: impl Iterator<Item = Option<i64>>) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        let id = id.with_context(|| format!("a {what} has no id"))?;
        anyhow::ensure!(id > 0, "{what} id {id} is not positive");
        anyhow::ensure!(seen.insert(id), "{what} id {id} is given twice");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_set_is_consistent() {
        let data = SeedData::builtin();
        data.check().unwrap();
        assert_eq!(data.units.len(), 7);
        // The documented organization numbers carry valid mod-11 check digits.
        for supplier in &data.suppliers {
            let digits: Vec<u32> = supplier
                .organization_number
                .as_deref()
                .unwrap()
                .chars()
                .map(|c| c.to_digit(10).unwrap())
                .collect();
            let sum: u32 = digits[..8]
                .iter()
                .zip([3, 2, 7, 6, 5, 4, 3, 2])
                .map(|(d, w)| d * w)
                .sum();
            let check = (11 - sum % 11) % 11;
            assert_eq!(check, digits[8], "{:?}", supplier.name);
        }
    }

    #[test]
    fn generated_suppliers_and_products() {
        let data = SeedData::builtin().with_suppliers(300).with_products(4);
        data.check().unwrap();
        assert_eq!(data.suppliers.len(), 303);
        assert_eq!(data.suppliers[3].id, 20_001);
        let numbers: std::collections::BTreeSet<_> = data
            .suppliers
            .iter()
            .map(|s| s.organization_number.clone().unwrap())
            .collect();
        assert_eq!(numbers.len(), 303);
        for number in &numbers {
            assert_eq!(
                organization_number(number[..8].parse().unwrap()).as_ref(),
                Some(number)
            );
        }
        assert_eq!(data.products.len(), 4);
        assert_eq!(data.products[3]["number"], "SEED-4");
        assert_eq!(
            SeedData::builtin()
                .with_products(2)
                .with_products(1)
                .products[2]["number"],
            "SEED-3"
        );
    }

    #[test]
    fn json_shape_round_trips_and_refuses_unknown_keys() {
        let text = r#"{"categories": [{"id": 7, "name": "Bags"}],
                       "units": [{"id": 1, "name": "Stykk", "symbol": "stk"}],
                       "products": [{"name": "Tote", "category": {"id": 7}}]}"#;
        let data = SeedData::from_json(text).unwrap();
        assert_eq!(data.categories[0].name.as_deref(), Some("Bags"));
        assert!(data.suppliers.is_empty());
        assert_eq!(data.products.len(), 1);
        assert!(SeedData::from_json(r#"{"category": []}"#).is_err());
    }

    #[test]
    fn duplicate_or_missing_ids_are_refused() {
        let mut data = SeedData::builtin();
        data.categories.push(data.categories[0].clone());
        assert!(data
            .check()
            .unwrap_err()
            .to_string()
            .contains("given twice"));
        let mut data = SeedData::builtin();
        data.units[0].id = None;
        assert!(data.check().is_err());
    }
}
