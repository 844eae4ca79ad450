//! Which columns an export has, and the value of each for a product:
//! categories and units by name when the name leads back to the same
//! record, else by id; codes as text, prices and quantities as numbers.

use std::collections::HashMap;

use crate::api::types::{Category, Product, ProductStatus, ProductType, Unit};
use crate::mapping::Field;

/// A column of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportColumn {
    /// The product's id (the importer leaves it unused).
    Id,
    /// A field, under its canonical header.
    Field(Field),
}

impl ExportColumn {
    /// The header written.
    pub fn header(self) -> &'static str {
        match self {
            ExportColumn::Id => "id",
            ExportColumn::Field(f) => f.path(),
        }
    }

    /// Every column, in the order written: the id, then the template's.
    pub fn all() -> Vec<ExportColumn> {
        std::iter::once(ExportColumn::Id)
            .chain(crate::mapping::template_columns().map(|(f, _)| ExportColumn::Field(f)))
            .collect()
    }

    /// Written whatever `--columns` says: what finds a product again and
    /// what every imported row needs.
    pub(super) fn required(self) -> bool {
        matches!(
            self,
            ExportColumn::Id
                | ExportColumn::Field(Field::Name)
                | ExportColumn::Field(Field::Number)
                | ExportColumn::Field(Field::Category)
        )
    }
}

/// Lower-cased and trimmed, as the importer compares names.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Names of categories and units, written only when they lead back to the
/// same record: the importer resolves a name to the first record with it,
/// and takes digits for an id.
pub(super) struct Names {
    categories: HashMap<String, i64>,
    category_names: HashMap<i64, String>,
    units: HashMap<String, i64>,
}

impl Names {
    pub(super) fn new(categories: &[Category], units: &[Unit]) -> Names {
        let mut by_name = HashMap::new();
        let mut category_names = HashMap::new();
        for c in categories {
            if let Some(n) = &c.name {
                by_name.entry(fold(n)).or_insert(c.id);
                category_names.insert(c.id, n.clone());
            }
        }
        let mut unit_names = HashMap::new();
        for u in units {
            let Some(id) = u.id else { continue };
            for n in [&u.symbol, &u.name].into_iter().flatten() {
                unit_names.entry(fold(n)).or_insert(id);
            }
        }
        Names {
            categories: by_name,
            category_names,
            units: unit_names,
        }
    }

    /// The id of a `--category` given by name or id.
    pub(super) fn category_id(&self, given: &str) -> anyhow::Result<i64> {
        if let Ok(id) = given.parse::<i64>() {
            return Ok(id);
        }
        self.categories
            .get(&fold(given))
            .copied()
            .ok_or_else(|| anyhow::anyhow!("--category: no category \"{given}\""))
    }

    /// How to write a reference: its name when that resolves to `id`, else the id.
    fn reference(
        index: &HashMap<String, i64>,
        id: Option<i64>,
        names: &[Option<&str>],
    ) -> Option<Value> {
        for name in names.iter().flatten() {
            let is_digits = name.trim().bytes().all(|b| b.is_ascii_digit());
            if !is_digits && id.is_some_and(|id| index.get(&fold(name)) == Some(&id)) {
                return Some(Value::Text(name.to_string()));
            }
        }
        id.map(|id| Value::Number(id as f64))
    }
}

/// One cell of the export.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Empty,
    Text(String),
    Number(f64),
}

fn text(s: &Option<String>) -> Value {
    match s.as_deref() {
        Some(s) if !s.is_empty() => Value::Text(s.to_string()),
        _ => Value::Empty,
    }
}

fn number(n: Option<f64>) -> Value {
    n.filter(|n| n.is_finite())
        .map_or(Value::Empty, Value::Number)
}

fn yes_no(b: Option<bool>) -> Value {
    b.map_or(Value::Empty, |b| {
        Value::Text(if b { "yes" } else { "no" }.to_string())
    })
}

/// The cell of `column` for product `p`.
pub(super) fn value(p: &Product, column: ExportColumn, names: &Names) -> Value {
    let field = match column {
        ExportColumn::Id => return Value::Number(p.id as f64),
        ExportColumn::Field(f) => f,
    };
    let stock = p.stock.clone().unwrap_or_default();
    let supplier_product = p.supplier_product.clone().unwrap_or_default();
    match field {
        Field::Name => text(&p.name),
        Field::Number => text(&p.number),
        Field::Type => p.product_type.map_or(Value::Empty, |t| {
            Value::Text(
                match t {
                    ProductType::Default => "default",
                    ProductType::Structure => "structure",
                }
                .into(),
            )
        }),
        Field::Status => p.status.map_or(Value::Empty, |s| {
            Value::Text(
                match s {
                    ProductStatus::Active => "active",
                    ProductStatus::Inactive => "inactive",
                }
                .into(),
            )
        }),
        Field::Description => text(&p.description),
        Field::CostPrice => number(p.cost_price),
        Field::SalesPrice => number(p.sales_price),
        Field::IndirectCost => number(p.indirect_cost),
        Field::WebshopEnabled => yes_no(p.webshop_enabled),
        Field::StockIsManaged => yes_no(stock.is_managed),
        Field::StockQuantity => number(stock.quantity),
        Field::StockLocation => text(&stock.location),
        Field::Ean => text(&p.ean),
        Field::EanAlternative => text(&p.ean_alternative),
        Field::SupplierItemCode => text(&supplier_product.item_code),
        Field::SupplierNumber => text(&supplier_product.number),
        Field::SupplierName => text(&supplier_product.name),
        Field::SupplierPrice => number(supplier_product.price),
        Field::Category => {
            let id = p.category.as_ref().and_then(|c| c.id);
            let listed = id
                .and_then(|id| names.category_names.get(&id))
                .map(String::as_str);
            let given = p.category.as_ref().and_then(|c| c.name.as_deref());
            Names::reference(&names.categories, id, &[given, listed]).unwrap_or(Value::Empty)
        }
        Field::Unit => {
            let u = p.units.clone().unwrap_or_default();
            Names::reference(
                &names.units,
                u.id,
                &[u.name.as_deref(), u.symbol.as_deref()],
            )
            .unwrap_or(Value::Empty)
        }
        // The importer looks suppliers up by name or organization number.
        Field::Supplier => p
            .supplier
            .as_ref()
            .and_then(|s| s.name.clone())
            .map_or(Value::Empty, Value::Text),
        Field::UnitsId => number(p.units.as_ref().and_then(|u| u.id).map(|i| i as f64)),
        Field::CategoryId => number(p.category.as_ref().and_then(|c| c.id).map(|i| i as f64)),
        Field::SupplierId => number(p.supplier.as_ref().and_then(|s| s.id).map(|i| i as f64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::NamedRef;

    #[test]
    fn references_by_name_only_when_the_name_leads_back() {
        let category = |id, name: &str| Category {
            id,
            name: Some(name.into()),
            ..Category::default()
        };
        let categories = [
            category(1, "Shoes"),
            category(2, "shoes "),
            category(3, "2024"),
        ];
        let names = Names::new(&categories, &[]);
        let cell = |id| {
            let p = Product {
                category: Some(NamedRef {
                    id: Some(id),
                    name: None,
                }),
                ..Product::default()
            };
            value(&p, ExportColumn::Field(Field::Category), &names)
        };
        assert_eq!(cell(1), Value::Text("Shoes".into()));
        // A second category of the same name, and one named with digits, go by id.
        assert_eq!(cell(2), Value::Number(2.0));
        assert_eq!(cell(3), Value::Number(3.0));
    }
}
