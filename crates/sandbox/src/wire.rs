//! The bodies the sandbox reads and answers, as the server sees them: the
//! vendor's wire shape written out again here, on purpose. The importer has
//! its own copy (`product_import::api::types`); keeping them apart means a
//! change on either side is checked against the other over HTTP rather than
//! shared silently, the way the sandbox's JSON Schemas (`schema.rs`) are
//! independent of the importer's validation.

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

/// A customer (a supplier when `isSupplier`), as far as the sandbox keeps it.
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
