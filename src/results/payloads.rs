//! `--payloads`: for each valid row, the JSON body that `import` would POST.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use crate::api::types::NewProduct;
use crate::validate::{Draft, Reference};

/// Writes `{"row": N, "product": {...}}` lines.
pub struct PayloadsWriter {
    file: BufWriter<File>,
}

#[derive(Serialize)]
struct Line<'a> {
    row: u64,
    product: Payload<'a>,
}

/// The product with references still given by name. `category`, `units` and
/// `supplier` are the last fields of [`NewProduct`], so the order of the keys
/// is the same as in the body `import` sends.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(flatten)]
    product: &'a NewProduct,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<ByName<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    units: Option<ByName<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<ByName<'a>>,
}

/// `{"name": "..."}`, or `{"path": ["...", "..."]}` for a category path.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum ByName<'a> {
    Name(&'a str),
    Path(&'a [String]),
}

fn named(reference: &Option<Reference>) -> Option<ByName<'_>> {
    match reference {
        Some(Reference::Name(name)) => Some(ByName::Name(name)),
        Some(Reference::Path(levels)) => Some(ByName::Path(levels)),
        _ => None,
    }
}

impl PayloadsWriter {
    /// Creates the file.
    pub fn create(path: &Path) -> io::Result<PayloadsWriter> {
        Ok(PayloadsWriter {
            file: BufWriter::with_capacity(256 * 1024, File::create(path)?),
        })
    }

    /// Writes one valid row's payload. A category, unit or supplier given by
    /// name, which `import` resolves to an id online, is written as
    /// `{"name": "..."}` in place of `{"id": N}`, and a category path as
    /// `{"path": ["top", "...", "last"]}`.
    pub fn write(&mut self, row: u64, draft: &Draft) -> io::Result<()> {
        let product = Payload {
            product: &draft.product,
            category: named(&draft.category),
            units: named(&draft.unit),
            supplier: named(&draft.supplier),
        };
        serde_json::to_writer(&mut self.file, &Line { row, product })?;
        self.file.write_all(b"\n")
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.file.flush()
    }
}
