//! Request and response bodies of the products API (`/v1/products`,
//! `/v1/productcategories`, `/v1/productunits`, `/v1/customers`, `/oauth/token`).

use serde::{Deserialize, Serialize};

/// `type` of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductType {
    /// A regular product.
    Default,
    /// A structure (bundle) product.
    Structure,
}

/// `status` of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductStatus {
    /// Sellable.
    Active,
    /// Discontinued.
    Inactive,
}

/// A reference to another record by id: `{"id": 12}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    /// The referenced record's id.
    pub id: i64,
}

/// `stock` of a product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stock {
    /// Whether stock is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_managed: Option<bool>,
    /// Quantity on hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    /// Stock location (shelf, bin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Stock {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.is_managed.is_none() && self.quantity.is_none() && self.location.is_none()
    }
}

/// `supplierProduct` of a product: the supplier's own identification of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupplierProduct {
    /// Supplier's item code (at most 50 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    /// Supplier's product number (at most 50 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Supplier's product name (at most 250 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Purchase price from the supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
}

impl SupplierProduct {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.item_code.is_none()
            && self.number.is_none()
            && self.name.is_none()
            && self.price.is_none()
    }
}

/// The body of `POST /products` (and, with every field optional, of `PATCH /products/{id}`).
///
/// Fields left `None` are left out of the JSON so that the server's defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProduct {
    /// Product name (required on create, at most 150 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's own product number (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// `default` or `structure`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<ProductType>,
    /// `active` or `inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProductStatus>,
    /// Free text (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Cost price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_price: Option<f64>,
    /// Sales price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_price: Option<f64>,
    /// Indirect cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indirect_cost: Option<f64>,
    /// Whether the product is shown in the webshop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webshop_enabled: Option<bool>,
    /// Stock information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<Stock>,
    /// GTIN / EAN barcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    /// An alternative barcode, digits only, at most 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean_alternative: Option<String>,
    /// The supplier's identification of the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_product: Option<SupplierProduct>,
    /// Unit of measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<IdRef>,
    /// Product category (required on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<IdRef>,
    /// Supplier (a customer flagged as supplier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<IdRef>,
}

/// The body of `PATCH /products/{id}`: the values to set, and the fields to
/// clear (sent as `null`).
///
/// A cleared field inside `stock` or `supplierProduct` is sent within that
/// object, which `set` must then give whole: a server may replace a nested
/// object with what a PATCH gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductPatch {
    /// The fields to set.
    pub set: NewProduct,
    /// The API paths to clear (`description`, `stock.location`, `units.id`).
    pub clear: Vec<&'static str>,
}

impl From<NewProduct> for ProductPatch {
    fn from(set: NewProduct) -> ProductPatch {
        ProductPatch {
            set,
            clear: Vec::new(),
        }
    }
}

impl Serialize for ProductPatch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        use serde_json::{Map, Value};
        let mut body = serde_json::to_value(&self.set).map_err(S::Error::custom)?;
        for path in &self.clear {
            let Value::Object(map) = &mut body else {
                unreachable!("a product serializes as an object")
            };
            match path.split_once('.') {
                None => {
                    map.insert((*path).to_owned(), Value::Null);
                }
                Some((outer, inner)) => {
                    let nested = map
                        .entry(outer)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(nested) = nested {
                        nested.insert(inner.to_owned(), Value::Null);
                    }
                }
            }
        }
        body.serialize(serializer)
    }
}

/// A unit as the API returns it (`GET /productunits`, and inside a product).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Unit id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Unit name.
    #[serde(default)]
    pub name: Option<String>,
    /// Unit symbol (`stk`, `kg`).
    #[serde(default)]
    pub symbol: Option<String>,
}

/// A category as the API returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// Category id.
    pub id: i64,
    /// Category name.
    #[serde(default)]
    pub name: Option<String>,
    /// Parent category id (0 for top level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// User-defined alternative reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_reference: Option<String>,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
}

/// The body of `POST /productcategories`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewCategory {
    /// Category name (required).
    pub name: String,
    /// Parent category id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// User-defined alternative reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_reference: Option<String>,
}

/// A supplier (a customer with `isSupplier`), as far as the importer needs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supplier {
    /// Customer id.
    pub id: i64,
    /// Supplier name.
    #[serde(default)]
    pub name: Option<String>,
    /// Organization number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_number: Option<String>,
    /// Whether the customer is a supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_supplier: Option<bool>,
}

/// The body of `POST /customers` that creates a supplier: a company
/// customer flagged as a supplier. The answer (200) is the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewSupplier {
    /// Company name (required for a company).
    pub name: String,
    /// Always true: a supplier is created as a company.
    pub is_company: bool,
    /// Always true.
    pub is_supplier: bool,
}

impl NewSupplier {
    /// A company supplier named `name`.
    pub(crate) fn named(name: &str) -> NewSupplier {
        NewSupplier {
            name: name.to_string(),
            is_company: true,
            is_supplier: true,
        }
    }
}

/// A named reference inside a product response: `{"id": 3, "name": "Shoes"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedRef {
    /// Referenced id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Referenced record's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A product as the API returns it (`201` of `POST /products`, `GET /products`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Product id assigned by the server.
    pub id: i64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// User's product number.
    #[serde(default)]
    pub number: Option<String>,
    /// `default` or `structure`.
    #[serde(rename = "type", default)]
    pub product_type: Option<ProductType>,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: Option<ProductStatus>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Cost price.
    #[serde(default)]
    pub cost_price: Option<f64>,
    /// Sales price.
    #[serde(default)]
    pub sales_price: Option<f64>,
    /// Indirect cost.
    #[serde(default)]
    pub indirect_cost: Option<f64>,
    /// Webshop flag.
    #[serde(default)]
    pub webshop_enabled: Option<bool>,
    /// Stock.
    #[serde(default)]
    pub stock: Option<Stock>,
    /// GTIN.
    #[serde(default)]
    pub ean: Option<String>,
    /// Alternative barcode.
    #[serde(default)]
    pub ean_alternative: Option<String>,
    /// Supplier's identification.
    #[serde(default)]
    pub supplier_product: Option<SupplierProduct>,
    /// Unit with name and symbol.
    #[serde(default)]
    pub units: Option<Unit>,
    /// Category with name.
    #[serde(default)]
    pub category: Option<NamedRef>,
    /// Supplier with name.
    #[serde(default)]
    pub supplier: Option<NamedRef>,
    /// Creation time, e.g. `2022-01-01 18:00:00.000Z`.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last modification time.
    #[serde(default)]
    pub modified_at: Option<String>,
}

/// One entry of a `ValidationError` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationIssue {
    /// JSON path of the offending field, e.g. `name` or `category.id`.
    #[serde(default)]
    pub path: String,
    /// The schema keyword that failed, e.g. `maxLength`, `required`, `type`.
    #[serde(default)]
    pub keyword: String,
    /// Optional human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One entry of a `BadRequestError` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BadRequestIssue {
    /// Error type.
    #[serde(rename = "type", default)]
    pub issue_type: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Arguments.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// `error.payload` of an error body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorPayload {
    /// Present on `ValidationError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<ValidationIssue>>,
    /// Present on `BadRequestError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<BadRequestIssue>>,
}

/// `error` of an error body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Error name: `ValidationError`, `BadRequestError`, `UnauthorizedError`, `NotFoundError`, ...
    #[serde(default)]
    pub name: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Structured details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<ErrorPayload>,
}

/// The vendor's error body: `{"error": {...}, "trackingId": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
    /// Trace id to quote to support; equals the `X-Trace-Id` header.
    #[serde(default)]
    pub tracking_id: String,
}

/// The answer of `POST /oauth/token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Lifetime in seconds (0 when not given). Some servers write it as a
    /// string (`"3600"`) or with a fraction: both are read.
    #[serde(default, deserialize_with = "seconds")]
    pub expires_in: u64,
}

/// Whole seconds from a number or a numeric string; anything else is 0 (not
/// said), so that an odd `expires_in` never refuses a good token.
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let secs = match &value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    Ok(secs
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(0, |s| s as u64))
}

/// The request of `POST /oauth/token` (client credentials).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TokenRequest {
    /// `client_credentials`.
    #[serde(default)]
    pub grant_type: String,
    /// Client id.
    #[serde(default)]
    pub client_id: String,
    /// Client secret.
    #[serde(default)]
    pub client_secret: String,
    /// Organization id.
    #[serde(default)]
    pub login_organization: String,
    /// `https://api.24sevenoffice.com`.
    #[serde(default)]
    pub audience: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_as_a_number_or_a_string() {
        let ttl = |json: &str| {
            serde_json::from_str::<TokenResponse>(json)
                .unwrap()
                .expires_in
        };
        assert_eq!(ttl(r#"{"access_token": "t", "expires_in": 3600}"#), 3600);
        assert_eq!(ttl(r#"{"access_token": "t", "expires_in": "3600"}"#), 3600);
        assert_eq!(ttl(r#"{"access_token": "t", "expires_in": 59.9}"#), 59);
        assert_eq!(ttl(r#"{"access_token": "t", "expires_in": null}"#), 0);
        assert_eq!(ttl(r#"{"access_token": "t"}"#), 0);
        assert_eq!(ttl(r#"{"access_token": "t", "expires_in": "soon"}"#), 0);
    }

    #[test]
    fn a_patch_sends_cleared_fields_as_null() {
        let patch = ProductPatch {
            set: NewProduct {
                name: Some("Bolt".into()),
                ..NewProduct::default()
            },
            clear: vec!["description", "units.id"],
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({"name": "Bolt", "description": null, "units": {"id": null}})
        );
    }
}
