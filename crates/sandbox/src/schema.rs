//! The sandbox's own check of request bodies: JSON Schemas written in this
//! project from the vendor's published facts (`schemas/*.schema.json`),
//! evaluated with the `jsonschema` crate, and failures turned into the
//! vendor's `ValidationError` entries (`path` as a dotted field path such as
//! `category.id`, `keyword` as the JSON Schema keyword that failed).

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::wire::ValidationIssue;

const PRODUCT_POST: &str = include_str!("schemas/product-post.schema.json");
const CATEGORY_POST: &str = include_str!("schemas/category-post.schema.json");
const CUSTOMER_POST: &str = include_str!("schemas/customer-post.schema.json");

/// The compiled request schemas.
pub(crate) struct Schemas {
    product_post: Validator,
    product_patch: Validator,
    category_post: Validator,
    customer_post: Validator,
}

impl Schemas {
    /// Compiles the built-in schemas. They are part of the source and are
    /// tested, so a failure here is a bug in the crate.
    pub(crate) fn new() -> Self {
        let product_post = parse(PRODUCT_POST);
        let mut product_patch = product_post.clone();
        strip_required(&mut product_patch);
        Schemas {
            product_post: compile(&product_post),
            product_patch: compile(&product_patch),
            category_post: compile(&parse(CATEGORY_POST)),
            customer_post: compile(&parse(CUSTOMER_POST)),
        }
    }

    /// Checks a `POST /products` body and hands back its fields.
    pub(crate) fn check_product_post(&self, body: Value) -> Result<Map<String, Value>, ApiError> {
        check(&self.product_post, body)
    }

    /// Checks a `PATCH /products/{id}` body: the same rules with nothing required.
    pub(crate) fn check_product_patch(&self, body: Value) -> Result<Map<String, Value>, ApiError> {
        check(&self.product_patch, body)
    }

    /// Checks a `POST /productcategories` body and hands back its fields.
    pub(crate) fn check_category_post(&self, body: Value) -> Result<Map<String, Value>, ApiError> {
        check(&self.category_post, body)
    }

    /// Checks a `POST /customers` body and hands back its fields.
    pub(crate) fn check_customer_post(&self, body: Value) -> Result<Map<String, Value>, ApiError> {
        check(&self.customer_post, body)
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("built-in schema is valid JSON")
}

fn compile(schema: &Value) -> Validator {
    jsonschema::validator_for(schema).expect("built-in schema compiles")
}

/// Removes every `required` list: a PATCH may leave out any field, also
/// `category.id` inside a given `category`.
fn strip_required(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("required");
            map.values_mut().for_each(strip_required);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_required),
        _ => {}
    }
}

/// Every schema each body is checked against starts with `"type": "object"`,
/// so a body that passes is an object.
fn check(validator: &Validator, body: Value) -> Result<Map<String, Value>, ApiError> {
    let mut issues: Vec<ValidationIssue> = Vec::new();
    for error in validator.iter_errors(&body) {
        for issue in issues_of(&error) {
            if !issues
                .iter()
                .any(|seen| seen.path == issue.path && seen.keyword == issue.keyword)
            {
                issues.push(issue);
            }
        }
    }
    match body {
        Value::Object(fields) if issues.is_empty() => Ok(fields),
        _ if issues.is_empty() => Err(ApiError::validation(vec![ValidationIssue {
            path: String::new(),
            keyword: "type".to_owned(),
            message: Some("the body must be an object".to_owned()),
        }])),
        _ => Err(ApiError::validation(issues)),
    }
}

/// One schema failure as vendor entries. A missing or unexpected property is
/// reported at the property's own path, not at the object holding it.
fn issues_of(error: &ValidationError<'_>) -> Vec<ValidationIssue> {
    let at = dotted(error);
    let keyword = error.kind().keyword().to_owned();
    let message = Some(error.to_string());
    let issue = |path: String| ValidationIssue {
        path,
        keyword: keyword.clone(),
        message: message.clone(),
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            vec![issue(join(&at, &name))]
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| issue(join(&at, name)))
            .collect(),
        _ => vec![issue(at)],
    }
}

/// The instance path as dotted field names: `/supplierProduct/name` becomes
/// `supplierProduct.name`; the body itself is the empty path.
fn dotted(error: &ValidationError<'_>) -> String {
    error
        .instance_path()
        .segments()
        .map(|segment| match segment {
            LocationSegment::Property(name) => name.into_owned(),
            LocationSegment::Index(index) => index.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(validator: &Validator, body: &Value) -> Vec<(String, String)> {
        validator
            .iter_errors(body)
            .flat_map(|error| issues_of(&error))
            .map(|issue| (issue.path, issue.keyword))
            .collect()
    }

    #[test]
    fn valid_full_body_passes() {
        let schemas = Schemas::new();
        let body = json!({
            "name": "White shoe laces", "number": "SH-1", "type": "default", "status": "active",
            "description": null, "costPrice": 50, "salesPrice": 400.5, "indirectCost": null,
            "webshopEnabled": true, "stock": {"isManaged": true, "quantity": 146, "location": "A-313"},
            "ean": "0123456789000", "eanAlternative": null,
            "supplierProduct": {"itemCode": "T1", "number": "1", "name": "Laces", "price": 10.5},
            "units": {"id": 2}, "category": {"id": 12}, "supplier": {"id": null}
        });
        assert!(schemas.check_product_post(body).is_ok());
    }

    #[test]
    fn missing_fields_are_reported_at_their_own_path() {
        let schemas = Schemas::new();
        let found = entries(&schemas.product_post, &json!({"category": {}}));
        assert_eq!(
            found,
            vec![
                ("name".to_owned(), "required".to_owned()),
                ("category.id".to_owned(), "required".to_owned())
            ]
        );
        assert!(schemas.check_product_post(json!({})).is_err());
    }

    #[test]
    fn unknown_nested_property_is_reported_by_name() {
        let schemas = Schemas::new();
        let body = json!({"name": "x", "category": {"id": 1}, "stock": {"qty": 3}});
        assert_eq!(
            entries(&schemas.product_post, &body),
            vec![("stock.qty".to_owned(), "additionalProperties".to_owned())]
        );
    }

    #[test]
    fn lengths_types_and_enums() {
        let schemas = Schemas::new();
        let body = json!({
            "name": "n".repeat(151), "category": {"id": 1.5}, "type": "bundle",
            "supplierProduct": {"name": 7}
        });
        let found = entries(&schemas.product_post, &body);
        for expected in [
            ("name", "maxLength"),
            ("category.id", "type"),
            ("type", "enum"),
            ("supplierProduct.name", "type"),
        ] {
            assert!(
                found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{expected:?} missing from {found:?}"
            );
        }
    }

    #[test]
    fn patch_requires_nothing_but_keeps_the_rules() {
        let schemas = Schemas::new();
        assert!(schemas.check_product_patch(json!({})).is_ok());
        assert!(schemas.check_product_patch(json!({"category": {}})).is_ok());
        assert_eq!(
            entries(&schemas.product_patch, &json!({"ean": "123456789012345"})),
            vec![("ean".to_owned(), "maxLength".to_owned())]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_fails_at_the_root() {
        let schemas = Schemas::new();
        assert_eq!(
            entries(&schemas.product_post, &json!([1])),
            vec![(String::new(), "type".to_owned())]
        );
    }

    #[test]
    fn category_requires_a_name() {
        let schemas = Schemas::new();
        assert!(schemas
            .check_category_post(json!({"name": "Bags", "parentId": 0}))
            .is_ok());
        assert_eq!(
            entries(&schemas.category_post, &json!({"parentId": 1})),
            vec![("name".to_owned(), "required".to_owned())]
        );
    }

    #[test]
    fn customer_needs_a_name_as_a_company_and_a_person_otherwise() {
        let schemas = Schemas::new();
        assert!(schemas
            .check_customer_post(json!({"name": "Acme AS", "isCompany": true, "isSupplier": true}))
            .is_ok());
        assert_eq!(
            entries(&schemas.customer_post, &json!({"isCompany": true})),
            vec![("name".to_owned(), "required".to_owned())]
        );
        assert_eq!(
            entries(
                &schemas.customer_post,
                &json!({"isCompany": false, "name": "x"})
            ),
            vec![("person".to_owned(), "required".to_owned())]
        );
        assert_eq!(
            entries(
                &schemas.customer_post,
                &json!({"isCompany": true, "name": "x", "supplier": true})
            ),
            vec![("supplier".to_owned(), "additionalProperties".to_owned())]
        );
    }
}
