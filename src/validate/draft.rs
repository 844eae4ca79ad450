//! A validated row: the payload and the references left to resolve online.

use super::Problem;
use crate::api::types::NewProduct;
use crate::cell::Texts;

/// A reference to a category, unit or supplier as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A numeric id, used as it is.
    Id(i64),
    /// A name (or unit symbol, or supplier organization number), resolved online by `import`.
    Name(String),
    /// A category path from the top of the tree down (`Clothing > Hoodies` is ["Clothing", "Hoodies"]);
    /// at least two levels. Resolved level by level through `parentId`.
    Path(Vec<String>),
}

impl Reference {
    /// The reference as a user would write it: the id, the name, or the path's
    /// levels joined by ` > `.
    pub fn text(&self) -> String {
        match self {
            Reference::Id(id) => id.to_string(),
            Reference::Name(name) => name.clone(),
            Reference::Path(levels) => levels.join(" > "),
        }
    }
}

/// A validated row, ready to send once its references are resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// The payload. `category`, `units` and `supplier` are set when the file
    /// (or a mapping constant) gave an id; names are in the fields below.
    pub product: NewProduct,
    /// Category given by name, to resolve.
    pub category: Option<Reference>,
    /// Unit given by name or symbol, to resolve.
    pub unit: Option<Reference>,
    /// Supplier given by name or organization number, to resolve.
    pub supplier: Option<Reference>,
    /// What was changed on the way, for the results file (a description
    /// cut, a bad barcode left out, one category chosen of several).
    pub notes: Vec<String>,
}

/// A source row after validation: what goes to the submitter and the results file.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRow {
    /// Spreadsheet row number.
    pub row: u64,
    /// The row's cells as text, one per input column (for the results file).
    pub cells: Texts,
    /// The payload, or every problem found.
    pub outcome: Result<Draft, Vec<Problem>>,
}
