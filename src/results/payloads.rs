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
    product: &'a NewProduct,
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
    /// `{"name": "..."}` in place of `{"id": N}`.
    pub fn write(&mut self, row: u64, draft: &Draft) -> io::Result<()> {
        if draft.category.is_none() && draft.unit.is_none() && draft.supplier.is_none() {
            serde_json::to_writer(
                &mut self.file,
                &Line {
                    row,
                    product: &draft.product,
                },
            )?;
        } else {
            let mut product = serde_json::to_value(&draft.product)?;
            let refs = [
                ("category", &draft.category),
                ("units", &draft.unit),
                ("supplier", &draft.supplier),
            ];
            for (key, reference) in refs {
                let value = match reference {
                    Some(Reference::Name(name)) => serde_json::json!({ "name": name }),
                    Some(Reference::Id(id)) => serde_json::json!({ "id": id }),
                    None => continue,
                };
                product[key] = value;
            }
            serde_json::to_writer(
                &mut self.file,
                &serde_json::json!({ "row": row, "product": product }),
            )?;
        }
        self.file.write_all(b"\n")
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.file.flush()
    }
}
