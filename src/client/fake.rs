//! An in-memory [`ProductApi`] for unit tests that reads the vendor's open
//! questions the worst plausible way: small pages with opaque cursors,
//! `productNumber` matching by part and ignoring case, `ean` and
//! `organizationNumber` ignored, and 403 for the scopes it is told to deny.
//! It counts calls per endpoint.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{scope_for, Answer, ApiError, Cursor, Page, ProductApi, ProductQuery};
use crate::api::types::{
    Category, NewCategory, NewProduct, NewSupplier, Product, ProductPatch, Supplier, Unit,
};

/// The fake API; fill its fields, then use it through [`ProductApi`].
#[derive(Debug)]
pub(crate) struct FakeApi {
    pub products: Mutex<Vec<Product>>,
    pub categories: Mutex<Vec<Category>>,
    /// Customers, suppliers or not (the `isSupplier` filter is ignored).
    pub suppliers: Mutex<Vec<Supplier>>,
    pub units: Vec<Unit>,
    /// Items per page, whatever `limit` asks for.
    pub page_size: usize,
    /// Scopes the token lacks.
    pub denied: Vec<&'static str>,
    /// Calls per endpoint (`GET /customers`); read with [`FakeApi::calls`].
    pub calls: Mutex<HashMap<String, u32>>,
}

impl Default for FakeApi {
    fn default() -> Self {
        FakeApi {
            products: Mutex::default(),
            categories: Mutex::default(),
            suppliers: Mutex::default(),
            units: Vec::new(),
            page_size: 25,
            denied: Vec::new(),
            calls: Mutex::default(),
        }
    }
}

impl FakeApi {
    /// Calls made to `endpoint`, e.g. `GET /customers`.
    pub fn calls(&self, endpoint: &str) -> u32 {
        self.calls
            .lock()
            .unwrap()
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    fn call(&self, method: &str, path: &str) -> Result<(), ApiError> {
        let endpoint = format!("{method} /{path}");
        *self
            .calls
            .lock()
            .unwrap()
            .entry(endpoint.clone())
            .or_default() += 1;
        let scope = scope_for(method, path);
        if self.denied.contains(&scope) {
            return Err(ApiError::Forbidden {
                endpoint,
                scope,
                message: "insufficient scope".into(),
                trace_id: None,
            });
        }
        Ok(())
    }

    fn page<T: Clone>(&self, all: Vec<T>, next: Option<&Cursor>) -> Page<T> {
        let start: usize = next.map_or(0, |c| c.as_str().parse().unwrap());
        let items: Vec<T> = all
            .iter()
            .skip(start)
            .take(self.page_size)
            .cloned()
            .collect();
        let end = start + items.len();
        let next = (end < all.len()).then(|| Cursor::new(end.to_string()));
        Page::new(items, next)
    }
}

fn contains_ignoring_case(text: Option<&str>, part: &str) -> bool {
    text.is_some_and(|t| t.to_lowercase().contains(&part.to_lowercase()))
}

impl ProductApi for FakeApi {
    async fn authenticate(&self) -> Result<(), ApiError> {
        Ok(())
    }

    async fn create_product(&self, product: &NewProduct) -> Result<Answer<Product>, ApiError> {
        self.call("POST", "products")?;
        let mut all = self.products.lock().unwrap();
        let p = Product {
            id: all.len() as i64 + 1,
            name: product.name.clone(),
            number: product.number.clone(),
            ean: product.ean.clone(),
            ..Product::default()
        };
        all.push(p.clone());
        Ok(Answer {
            value: p,
            status: 201,
            trace_id: None,
        })
    }

    async fn get_product(&self, id: i64) -> Result<Option<Answer<Product>>, ApiError> {
        self.call("GET", "products/{id}")?;
        let all = self.products.lock().unwrap();
        Ok(all.iter().find(|p| p.id == id).cloned().map(|p| Answer {
            value: p,
            status: 200,
            trace_id: None,
        }))
    }

    async fn update_product(
        &self,
        id: i64,
        _: &ProductPatch,
    ) -> Result<Answer<Option<Product>>, ApiError> {
        self.call("PATCH", "products")?;
        let all = self.products.lock().unwrap();
        let p = all.iter().find(|p| p.id == id).cloned();
        Ok(Answer {
            value: p,
            status: 200,
            trace_id: None,
        })
    }

    async fn list_products(
        &self,
        query: &ProductQuery,
        next: Option<&Cursor>,
    ) -> Result<Page<Product>, ApiError> {
        self.call("GET", "products")?;
        let all = self.products.lock().unwrap().clone();
        let matching = all
            .into_iter()
            .filter(|p| match query {
                ProductQuery::All => true,
                ProductQuery::Number(n) => contains_ignoring_case(p.number.as_deref(), n),
                ProductQuery::Search(s) => [p.number.as_deref(), p.name.as_deref()]
                    .iter()
                    .any(|t| t.is_some_and(|t| t.eq_ignore_ascii_case(s))),
            })
            .collect();
        Ok(self.page(matching, next))
    }

    async fn list_categories(&self, next: Option<&Cursor>) -> Result<Page<Category>, ApiError> {
        self.call("GET", "productcategories")?;
        let all = self.categories.lock().unwrap().clone();
        Ok(self.page(all, next))
    }

    async fn create_category(&self, category: &NewCategory) -> Result<Category, ApiError> {
        self.call("POST", "productcategories")?;
        let mut all = self.categories.lock().unwrap();
        let c = Category {
            id: all.iter().map(|c| c.id).max().unwrap_or(0) + 1,
            name: Some(category.name.clone()),
            parent_id: Some(category.parent_id.unwrap_or(0)),
            ..Category::default()
        };
        all.push(c.clone());
        Ok(c)
    }

    async fn list_units(&self, next: Option<&Cursor>) -> Result<Page<Unit>, ApiError> {
        self.call("GET", "productunits")?;
        Ok(self.page(self.units.clone(), next))
    }

    async fn list_suppliers(
        &self,
        _organization_number: Option<&str>,
        next: Option<&Cursor>,
    ) -> Result<Page<Supplier>, ApiError> {
        self.call("GET", "customers")?;
        let all = self.suppliers.lock().unwrap().clone();
        Ok(self.page(all, next))
    }

    async fn create_supplier(&self, supplier: &NewSupplier) -> Result<Supplier, ApiError> {
        self.call("POST", "customers")?;
        let mut all = self.suppliers.lock().unwrap();
        let s = Supplier {
            id: all.iter().map(|s| s.id).max().unwrap_or(0) + 1,
            name: Some(supplier.name.clone()),
            organization_number: None,
            is_supplier: Some(supplier.is_supplier),
        };
        all.push(s.clone());
        Ok(s)
    }
}
