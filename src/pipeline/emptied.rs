//! What an empty cell means when a row updates a product (`--existing
//! update`): the file has the column, so the row says the field has no
//! value. Text, barcodes and the unit and supplier are cleared (sent as
//! `null`, which the API allows for each of them). A price is never
//! cleared: the vendor's default for a price is 0, not empty, so an emptied
//! price whose product holds one makes the row invalid, asking for a number.
//! Fields that cannot be null (`type`, `status`, `webshopEnabled`,
//! `stock.isManaged`, `stock.quantity`) keep their value; `name` and the
//! category are required, so their empty cells never reach here.
//!
//! `--empty-cells keep` turns all of this off: an empty cell then leaves
//! the product's value as it is.

use crate::api::types::{NewProduct, Product};
use crate::mapping::{Clearing, ColumnMapping, Field};
use crate::values::clean_text;

/// The columns of the file whose empty cells clear a field on update, as
/// written in the file.
#[derive(Debug, Clone, Default)]
pub struct EmptyCells {
    columns: Vec<(Field, String)>,
}

impl EmptyCells {
    /// The columns of `mapping` for fields an empty cell can clear (a
    /// mapping constant is a value, not a column, so it never clears).
    pub fn of(mapping: &ColumnMapping) -> EmptyCells {
        let columns = Field::ALL
            .into_iter()
            .filter(|&f| clearable(f))
            .filter_map(|f| mapping.column(f).map(|i| (f, mapping.headers[i].clone())))
            .collect();
        EmptyCells { columns }
    }

    /// What the row's empty cells do to `old`: the fields to clear (API
    /// paths, once each) and the prices refused.
    pub fn emptied(&self, new: &NewProduct, old: &Product) -> Emptied {
        let mut emptied = Emptied::default();
        for (field, column) in &self.columns {
            if given(*field, new) {
                continue;
            }
            match held(*field, old) {
                None => {}
                Some(Held::Price(held)) => emptied.refused.push(RefusedPrice {
                    column: column.clone(),
                    path: field.path(),
                    held,
                }),
                Some(Held::Value) => {
                    let path = api_field(*field).path();
                    if !emptied.clear.contains(&path) {
                        emptied.clear.push(path);
                    }
                }
            }
        }
        emptied
    }
}

/// What a row's empty cells do to a product.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Emptied {
    /// API paths to send as `null`.
    pub clear: Vec<&'static str>,
    /// Emptied prices whose product holds one.
    pub refused: Vec<RefusedPrice>,
}

/// An emptied price cell whose product holds a price.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedPrice {
    /// The column as written in the file.
    pub column: String,
    /// The API path.
    pub path: &'static str,
    /// The product's price.
    pub held: f64,
}

impl RefusedPrice {
    /// What the row's results say after the column's name.
    pub fn message(&self, id: i64) -> String {
        format!(
            "is empty, but product {id} has {} {}; a price is not cleared: \
             write 0 to make it 0, or the price to keep it",
            self.path, self.held
        )
    }
}

/// The fields a cleared path is checked in after the PATCH: those whose
/// value `product` still holds, though the PATCH sent them as `null`.
pub fn still_held(clear: &[&'static str], product: &Product) -> Vec<&'static str> {
    clear
        .iter()
        .copied()
        .filter(|path| {
            Field::ALL
                .into_iter()
                .find(|f| f.path() == *path)
                .is_some_and(|f| held(f, product).is_some())
        })
        .collect()
}

/// Whether an empty cell of `field` can clear something (the registry's rule).
fn clearable(field: Field) -> bool {
    field.spec().clearing != Clearing::Kept
}

/// The payload field a column fills: a unit or supplier by name fills its id.
fn api_field(field: Field) -> Field {
    match field.spec().clearing {
        Clearing::Via(api) => api,
        _ => field,
    }
}

/// Whether the row gives `field` a value.
fn given(field: Field, new: &NewProduct) -> bool {
    let stock = new.stock.as_ref();
    let sp = new.supplier_product.as_ref();
    match api_field(field) {
        Field::Number => new.number.is_some(),
        Field::Description => new.description.is_some(),
        Field::Ean => new.ean.is_some(),
        Field::EanAlternative => new.ean_alternative.is_some(),
        Field::StockLocation => stock.is_some_and(|s| s.location.is_some()),
        Field::SupplierItemCode => sp.is_some_and(|s| s.item_code.is_some()),
        Field::SupplierNumber => sp.is_some_and(|s| s.number.is_some()),
        Field::SupplierName => sp.is_some_and(|s| s.name.is_some()),
        Field::CostPrice => new.cost_price.is_some(),
        Field::SalesPrice => new.sales_price.is_some(),
        Field::IndirectCost => new.indirect_cost.is_some(),
        Field::SupplierPrice => sp.is_some_and(|s| s.price.is_some()),
        Field::UnitsId => new.units.is_some(),
        Field::SupplierId => new.supplier.is_some(),
        _ => true,
    }
}

/// What a product holds in a clearable field.
enum Held {
    /// Text, a barcode or a reference.
    Value,
    /// A price other than 0.
    Price(f64),
}

/// What `product` holds in `field`, when it holds something: text that is
/// not blank, a reference, a price other than 0.
fn held(field: Field, product: &Product) -> Option<Held> {
    let text = |t: Option<&String>| {
        t.is_some_and(|t| !clean_text(t).is_empty())
            .then_some(Held::Value)
    };
    let price = |p: Option<f64>| p.filter(|p| *p != 0.0).map(Held::Price);
    let stock = product.stock.as_ref();
    let sp = product.supplier_product.as_ref();
    match api_field(field) {
        Field::Number => text(product.number.as_ref()),
        Field::Description => text(product.description.as_ref()),
        Field::Ean => text(product.ean.as_ref()),
        Field::EanAlternative => text(product.ean_alternative.as_ref()),
        Field::StockLocation => text(stock.and_then(|s| s.location.as_ref())),
        Field::SupplierItemCode => text(sp.and_then(|s| s.item_code.as_ref())),
        Field::SupplierNumber => text(sp.and_then(|s| s.number.as_ref())),
        Field::SupplierName => text(sp.and_then(|s| s.name.as_ref())),
        Field::CostPrice => price(product.cost_price),
        Field::SalesPrice => price(product.sales_price),
        Field::IndirectCost => price(product.indirect_cost),
        Field::SupplierPrice => price(sp.and_then(|s| s.price)),
        Field::UnitsId => product
            .units
            .as_ref()
            .and_then(|u| u.id)
            .map(|_| Held::Value),
        Field::SupplierId => product
            .supplier
            .as_ref()
            .and_then(|s| s.id)
            .map(|_| Held::Value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::api::types::{IdRef, NamedRef, ProductPatch, Stock, SupplierProduct, Unit};
    use crate::pipeline::changes::patch_for;

    fn empty_cells(headers: &[&str]) -> EmptyCells {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        EmptyCells::of(&ColumnMapping::build(Path::new("f.csv"), &headers, None).unwrap())
    }

    fn held() -> Product {
        Product {
            id: 7,
            name: Some("Bolt".into()),
            number: Some("B-1".into()),
            description: Some("Zinc plated".into()),
            sales_price: Some(10.0),
            cost_price: Some(0.0),
            ean: Some("4006381333931".into()),
            stock: Some(Stock {
                is_managed: Some(true),
                quantity: Some(5.0),
                location: Some("A1".into()),
            }),
            supplier_product: Some(SupplierProduct {
                item_code: Some("IC-1".into()),
                number: Some("S-1".into()),
                name: Some("Bolt M8".into()),
                price: Some(2.0),
            }),
            units: Some(Unit {
                id: Some(1),
                ..Unit::default()
            }),
            supplier: Some(NamedRef {
                id: Some(10001),
                name: Some("Acme".into()),
            }),
            ..Product::default()
        }
    }

    #[test]
    fn empty_cells_of_present_columns_clear_what_the_product_holds() {
        let empty = empty_cells(&[
            "name",
            "number",
            "description",
            "stock.location",
            "supplierProduct.itemCode",
            "unit",
            "supplier",
            "ean",
            "costPrice",
        ]);
        // Only the name and number are given; `costPrice` is 0 on the
        // server, so its empty cell asks for nothing.
        let new = NewProduct {
            name: Some("Bolt".into()),
            number: Some("B-1".into()),
            ..NewProduct::default()
        };
        let (patch, names) = patch_for(&new, &held(), &empty).unwrap();
        assert!(names.is_empty(), "{names:?}");
        assert_eq!(
            patch.clear,
            [
                "description",
                "stock.location",
                "ean",
                "supplierProduct.itemCode",
                "units.id",
                "supplier.id"
            ]
        );
        // Nested objects go whole, with the cleared field as null.
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({
                "description": null,
                "ean": null,
                "stock": {"isManaged": true, "quantity": 5.0, "location": null},
                "supplierProduct": {"itemCode": null, "number": "S-1", "name": "Bolt M8", "price": 2.0},
                "units": {"id": null},
                "supplier": {"id": null},
            })
        );

        // Without those columns, nothing is cleared.
        let (patch, _) = patch_for(&new, &held(), &empty_cells(&["name", "number"])).unwrap();
        assert_eq!(patch, ProductPatch::default());
        // Nor when the product holds nothing there (or only blanks).
        let bare = Product {
            description: Some("  ".into()),
            ean: None,
            stock: None,
            supplier_product: None,
            units: None,
            supplier: None,
            ..held()
        };
        assert_eq!(
            patch_for(&new, &bare, &empty).unwrap().0,
            ProductPatch::default()
        );
    }

    #[test]
    fn a_cleared_field_and_a_changed_one_share_the_nested_object() {
        let empty = empty_cells(&["name", "stock.quantity", "stock.location"]);
        let new = NewProduct {
            name: Some("Bolt".into()),
            stock: Some(Stock {
                quantity: Some(9.0),
                ..Stock::default()
            }),
            units: Some(IdRef { id: 1 }),
            ..NewProduct::default()
        };
        let (patch, names) = patch_for(&new, &held(), &empty).unwrap();
        assert_eq!(names, ["stock.quantity"]);
        assert_eq!(patch.clear, ["stock.location"]);
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"stock": {"isManaged": true, "quantity": 9.0, "location": null}})
        );
    }

    #[test]
    fn an_emptied_price_the_product_holds_is_refused() {
        let empty = empty_cells(&[
            "name",
            "Sales price",
            "supplierProduct.price",
            "description",
        ]);
        let new = NewProduct {
            name: Some("Bolt".into()),
            ..NewProduct::default()
        };
        let refused = patch_for(&new, &held(), &empty).unwrap_err();
        assert_eq!(
            refused,
            [
                RefusedPrice {
                    column: "Sales price".into(),
                    path: "salesPrice",
                    held: 10.0
                },
                RefusedPrice {
                    column: "supplierProduct.price".into(),
                    path: "supplierProduct.price",
                    held: 2.0
                }
            ]
        );
        assert_eq!(
            refused[0].message(7),
            "is empty, but product 7 has salesPrice 10; a price is not cleared: \
             write 0 to make it 0, or the price to keep it"
        );
    }

    #[test]
    fn still_held_names_the_fields_a_server_did_not_clear() {
        let clear = ["description", "stock.location", "units.id"];
        let mut answer = held();
        answer.description = None;
        assert_eq!(still_held(&clear, &answer), ["stock.location", "units.id"]);
    }
}
