//! Which fields of an existing product an update would change: the PATCH
//! that makes the product what the row says (`--existing update`), nested
//! objects sent whole, and the fields the row's empty cells clear.

use super::emptied::{EmptyCells, RefusedPrice};
use crate::api::types::{IdRef, NewProduct, Product, ProductPatch, Stock, SupplierProduct};

/// The PATCH that makes `old` what the row says: the fields that differ
/// (named), and the fields the row's empty cells clear (see
/// [`EmptyCells`]). A nested object with a cleared field goes whole, like
/// one with a changed field. `Err` with the emptied prices that `old` holds.
pub fn patch_for(
    new: &NewProduct,
    old: &Product,
    empty: &EmptyCells,
) -> Result<(ProductPatch, Vec<&'static str>), Vec<RefusedPrice>> {
    let emptied = empty.emptied(new, old);
    if !emptied.refused.is_empty() {
        return Err(emptied.refused);
    }
    let (mut set, names) = changes(new, old);
    for path in &emptied.clear {
        match path.split_once('.') {
            Some(("stock", field)) => {
                let stock = set.stock.get_or_insert_with(|| {
                    let s = new.stock.clone().unwrap_or_default();
                    overlay_stock(&s, old.stock.clone().unwrap_or_default())
                });
                debug_assert_eq!(field, "location");
                stock.location = None;
            }
            Some(("supplierProduct", field)) => {
                let sp = set.supplier_product.get_or_insert_with(|| {
                    let s = new.supplier_product.clone().unwrap_or_default();
                    let o = old.supplier_product.clone().unwrap_or_default();
                    overlay_supplier_product(&s, o)
                });
                match field {
                    "itemCode" => sp.item_code = None,
                    "number" => sp.number = None,
                    _ => sp.name = None,
                }
            }
            // A top-level field the row leaves empty is not in `set`.
            _ => {}
        }
    }
    Ok((
        ProductPatch {
            set,
            clear: emptied.clear,
        },
        names,
    ))
}

/// The fields of `new` that differ from `old`, as a PATCH body, with their
/// names (API paths). Fields the row leaves empty are never changed.
pub fn changes(new: &NewProduct, old: &Product) -> (NewProduct, Vec<&'static str>) {
    let mut patch = NewProduct::default();
    let mut names = Vec::new();
    scalar_changes(new, old, &mut patch, &mut names);
    // Nested objects go whole: the existing product's fields with the row's
    // over them, since a server may replace `stock` or `supplierProduct`
    // with what a PATCH gives rather than merge it.
    if let Some(s) = &new.stock {
        patch.stock = stock_change(s, old.stock.clone().unwrap_or_default(), &mut names);
    }
    if let Some(s) = &new.supplier_product {
        let o = old.supplier_product.clone().unwrap_or_default();
        patch.supplier_product = supplier_product_change(s, o, &mut names);
    }
    reference_changes(new, old, &mut patch, &mut names);
    (patch, names)
}

/// The top-level text, choice and price fields that differ, into `patch`,
/// their names onto `names`.
fn scalar_changes(
    new: &NewProduct,
    old: &Product,
    patch: &mut NewProduct,
    names: &mut Vec<&'static str>,
) {
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
    patch.cost_price = price_change(new.cost_price, old.cost_price, "costPrice", names);
    patch.sales_price = price_change(new.sales_price, old.sales_price, "salesPrice", names);
    patch.indirect_cost = price_change(new.indirect_cost, old.indirect_cost, "indirectCost", names);
}

/// The row's price when it gives one that differs from `old` (beyond
/// rounding), its name then pushed onto `names`.
fn price_change(
    new: Option<f64>,
    old: Option<f64>,
    name: &'static str,
    names: &mut Vec<&'static str>,
) -> Option<f64> {
    let new = new?;
    if old.is_some_and(|o| (o - new).abs() <= 1e-9 * new.abs().max(1.0)) {
        None
    } else {
        names.push(name);
        Some(new)
    }
}

/// The whole `stock` to send when any field the row gives differs from
/// `old` (the existing product's, else empty), the row's fields over `old`'s.
fn stock_change(s: &Stock, o: Stock, names: &mut Vec<&'static str>) -> Option<Stock> {
    let before = names.len();
    if s.is_managed.is_some() && s.is_managed != o.is_managed {
        names.push("stock.isManaged");
    }
    let _ = price_change(s.quantity, o.quantity, "stock.quantity", names);
    if differs(&s.location, &o.location) {
        names.push("stock.location");
    }
    (names.len() > before).then(|| overlay_stock(s, o))
}

/// The row's stock fields over `o`'s.
fn overlay_stock(s: &Stock, o: Stock) -> Stock {
    Stock {
        is_managed: s.is_managed.or(o.is_managed),
        quantity: s.quantity.or(o.quantity),
        location: s.location.clone().or(o.location),
    }
}

/// The whole `supplierProduct` to send when any field the row gives differs
/// from `o` (the existing product's, else empty), the row's fields over `o`'s.
fn supplier_product_change(
    s: &SupplierProduct,
    o: SupplierProduct,
    names: &mut Vec<&'static str>,
) -> Option<SupplierProduct> {
    let before = names.len();
    for (new, old, name) in [
        (&s.item_code, &o.item_code, "supplierProduct.itemCode"),
        (&s.number, &o.number, "supplierProduct.number"),
        (&s.name, &o.name, "supplierProduct.name"),
    ] {
        if differs(new, old) {
            names.push(name);
        }
    }
    let _ = price_change(s.price, o.price, "supplierProduct.price", names);
    (names.len() > before).then(|| overlay_supplier_product(s, o))
}

/// The row's supplier product fields over `o`'s.
fn overlay_supplier_product(s: &SupplierProduct, o: SupplierProduct) -> SupplierProduct {
    SupplierProduct {
        item_code: s.item_code.clone().or(o.item_code),
        number: s.number.clone().or(o.number),
        name: s.name.clone().or(o.name),
        price: s.price.or(o.price),
    }
}

/// The references (unit, category, supplier) whose id differs, into `patch`,
/// their names onto `names`.
fn reference_changes(
    new: &NewProduct,
    old: &Product,
    patch: &mut NewProduct,
    names: &mut Vec<&'static str>,
) {
    let unit = old.units.as_ref().and_then(|u| u.id);
    patch.units = reference_change(new.units, unit, "units.id", names);
    let category = old.category.as_ref().and_then(|c| c.id);
    patch.category = reference_change(new.category, category, "category.id", names);
    let supplier = old.supplier.as_ref().and_then(|c| c.id);
    patch.supplier = reference_change(new.supplier, supplier, "supplier.id", names);
}

/// The row's reference when it gives one whose id differs from `old`, its
/// name then pushed onto `names`.
fn reference_change(
    new: Option<IdRef>,
    old: Option<i64>,
    name: &'static str,
    names: &mut Vec<&'static str>,
) -> Option<IdRef> {
    let new = new?;
    if Some(new.id) == old {
        None
    } else {
        names.push(name);
        Some(new)
    }
}

/// Whether the row gives a text that differs from the product's, compared
/// the way the importer reads text.
fn differs(new: &Option<String>, old: &Option<String>) -> bool {
    new.as_deref()
        .is_some_and(|t| !same_text(t, old.as_deref()))
}

/// Whether a row's (cleaned) text equals the server's, read the same way.
fn same_text(new: &str, old: Option<&str>) -> bool {
    old.is_some_and(|o| crate::values::clean_text(o) == new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{NamedRef, Unit};

    /// A product on the server.
    fn bolt() -> Product {
        Product {
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
        }
    }

    /// A row that says what [`bolt`] holds.
    fn same_as_bolt() -> NewProduct {
        NewProduct {
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
        }
    }

    #[test]
    fn changes_lists_only_differing_fields() {
        let (old, same) = (bolt(), same_as_bolt());
        let (patch, names) = changes(&same, &old);
        assert!(names.is_empty(), "{names:?}");
        assert_eq!(patch, NewProduct::default());

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
            serde_json::json!({"salesPrice": 12.5, "stock": {"isManaged": true, "quantity": 7.0, "location": "A1"}, "category": {"id": 4}})
        );
    }

    #[test]
    fn text_the_server_holds_untrimmed_reads_as_the_row_does() {
        let untrimmed = Product {
            name: Some(" Bolt\u{a0}".into()),
            ..bolt()
        };
        assert!(changes(&same_as_bolt(), &untrimmed).1.is_empty());
    }

    /// A nested object goes whole, so a server replacing it keeps the
    /// fields the row does not give.
    #[test]
    fn a_nested_object_goes_whole() {
        let old = Product {
            supplier_product: Some(SupplierProduct {
                item_code: Some("IC-1".into()),
                number: Some("S-1".into()),
                name: Some("Bolt M8".into()),
                price: Some(2.0),
            }),
            ..bolt()
        };
        let new = NewProduct {
            supplier_product: Some(SupplierProduct {
                price: Some(2.5),
                ..SupplierProduct::default()
            }),
            stock: Some(Stock {
                location: Some("B2".into()),
                ..Stock::default()
            }),
            ..NewProduct::default()
        };
        let (patch, names) = changes(&new, &old);
        assert_eq!(names, ["stock.location", "supplierProduct.price"]);
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({
                "stock": {"isManaged": true, "quantity": 5.0, "location": "B2"},
                "supplierProduct": {"itemCode": "IC-1", "number": "S-1", "name": "Bolt M8", "price": 2.5}
            })
        );
    }
}
