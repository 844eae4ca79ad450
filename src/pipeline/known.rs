//! The products this job created in its earlier runs, by key, from its
//! state file. A search may not show a new product for a while (the vendor
//! does not say how long), so a run that follows another closely could miss
//! the products that run created and create them again. When a lookup finds
//! nothing for a row's key, the products this job made with that key are
//! asked for by id (`GET /products/{id}`), which finds a product as soon as
//! it exists. Normally the search has caught up and this costs nothing.

use std::collections::HashMap;

use super::found::FoundProduct;
use super::retry::{retry_idempotent, RetryPolicy};
use crate::client::{ApiError, ProductApi, ProductKey, RequestCounters};

/// A product this job created in an earlier run: its id, number and EAN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownProduct {
    /// Product id.
    pub id: i64,
    /// Its number when created, if any.
    pub number: Option<String>,
    /// Its EAN when created, if any.
    pub ean: Option<String>,
}

/// The job's earlier products by key, oldest first.
#[derive(Debug, Clone, Default)]
pub struct KnownProducts {
    by_key: HashMap<ProductKey, Vec<i64>>,
}

impl KnownProducts {
    /// Indexes `products` by number and by EAN (trimmed).
    pub fn new(products: impl IntoIterator<Item = KnownProduct>) -> KnownProducts {
        let mut by_key: HashMap<ProductKey, Vec<i64>> = HashMap::new();
        for p in products {
            let number = p.number.map(|n| ProductKey::Number(n.trim().to_owned()));
            let ean = p.ean.map(|e| ProductKey::Ean(e.trim().to_owned()));
            for key in [number, ean].into_iter().flatten() {
                by_key.entry(key).or_default().push(p.id);
            }
        }
        for ids in by_key.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        KnownProducts { by_key }
    }

    /// How many keys are known.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// The oldest product this job made with `key` that the server still
    /// has with that key, asked for by id.
    pub async fn find<A: ProductApi>(
        &self,
        api: &A,
        policy: &RetryPolicy,
        counters: &RequestCounters,
        key: &ProductKey,
    ) -> Result<Option<FoundProduct>, ApiError> {
        let trimmed = match key {
            ProductKey::Number(n) => ProductKey::Number(n.trim().to_owned()),
            ProductKey::Ean(e) => ProductKey::Ean(e.trim().to_owned()),
            ProductKey::Name(n) => ProductKey::Name(n.trim().to_owned()),
        };
        for &id in self.by_key.get(&trimmed).into_iter().flatten() {
            let answer = retry_idempotent(policy, counters, || api.get_product(id)).await?;
            // A product since deleted, or given another key, is not it.
            if let Some(a) = answer.filter(|a| key.matches(&a.value)) {
                return Ok(Some(FoundProduct::new(a.value, a.status, a.trace_id)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::Product;
    use crate::client::fake::FakeApi;

    fn product(id: i64, number: &str) -> Product {
        Product {
            id,
            number: Some(number.into()),
            ..Product::default()
        }
    }

    #[tokio::test]
    async fn finds_the_oldest_that_still_has_the_key() {
        // Product 2 was renumbered since; 3 still has the number.
        let api = FakeApi {
            products: std::sync::Mutex::new(vec![
                product(1, "A"),
                product(2, "B2"),
                product(3, "B"),
            ]),
            ..FakeApi::default()
        };
        let known = KnownProducts::new([
            KnownProduct {
                id: 2,
                number: Some("B".into()),
                ean: None,
            },
            KnownProduct {
                id: 3,
                number: Some(" B ".into()),
                ean: Some("4006381333931".into()),
            },
            KnownProduct {
                id: 9,
                number: Some("C".into()),
                ean: None,
            },
        ]);
        let (policy, counters) = (RetryPolicy::new(0), RequestCounters::default());
        let find = |key: ProductKey| {
            let (api, known, policy, counters) = (&api, &known, &policy, &counters);
            async move { known.find(api, policy, counters, &key).await.unwrap() }
        };
        let found = find(ProductKey::Number("B".into())).await;
        assert_eq!(found.map(|f| f.id()), Some(3));
        // Deleted: not found, and no error.
        assert!(find(ProductKey::Number("C".into())).await.is_none());
        // Not made by this job: not asked for.
        let before = api.calls("GET /products/{id}");
        assert!(find(ProductKey::Number("A".into())).await.is_none());
        assert_eq!(api.calls("GET /products/{id}"), before);
        // By EAN: product 3 has none on the server, so it is not it.
        assert!(find(ProductKey::Ean("4006381333931".into()))
            .await
            .is_none());
    }
}
