//! The mapping file: explicit columns, constants and ignored columns, and
//! what they resolve to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Field;

/// A value given in a mapping file for every row (`[constants]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// The field it fills.
    pub field: Field,
    /// The value as text, interpreted like a cell.
    pub text: String,
}

/// The parsed mapping file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Columns to leave out, by header as written.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Header as written → field path (or `ignore`).
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Field path → value used on every row, whatever the column holds.
    #[serde(default)]
    pub constants: BTreeMap<String, toml::Value>,
    /// Field path → value used where the column is missing or its cell empty.
    #[serde(default)]
    pub defaults: BTreeMap<String, toml::Value>,
    /// Field path → the file's words and what they mean (`draft = "inactive"`).
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// Why a mapping could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The mapping file could not be read.
    #[error("mapping file {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The mapping file is not valid TOML of the expected shape.
    #[error("mapping file {path}: {message}")]
    Syntax {
        /// File.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// The mapping file names a field that does not exist.
    #[error("mapping file {path}: {what} \"{name}\" is not a field; fields are: {fields}")]
    UnknownField {
        /// File.
        path: PathBuf,
        /// Where it was used.
        what: String,
        /// The unknown name.
        name: String,
        /// Valid field paths.
        fields: String,
    },
    /// No column maps to `name` and no constant gives it.
    #[error("{file}: no column holds the product name; the headers found are: {headers}. Name a column \"name\" (or Product name, Varenavn, ...) or map one with --mapping")]
    NoNameColumn {
        /// Input file.
        file: PathBuf,
        /// The headers found, quoted.
        headers: String,
    },
}

/// What a mapping file says, resolved to fields.
#[derive(Debug, Default)]
pub(super) struct Explicit {
    /// Header as written (trimmed) → field, or `None` to ignore it.
    pub columns: BTreeMap<String, Option<Field>>,
    /// Values for every row.
    pub constants: Vec<Constant>,
    /// Values for empty cells.
    pub defaults: Vec<Constant>,
    /// Value maps: field, then (word as written, its meaning).
    pub values: Vec<(Field, Vec<(String, String)>)>,
    /// Headers to leave out.
    pub ignore: Vec<String>,
}

impl MappingFile {
    /// Reads and parses a mapping file.
    pub fn load(path: &Path) -> Result<MappingFile, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| MappingError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })
    }

    /// Resolves the file's column targets and constants to fields; `path`
    /// names the file in errors.
    pub(super) fn resolve(&self, path: &Path) -> Result<Explicit, MappingError> {
        let mut explicit: BTreeMap<String, Option<Field>> = BTreeMap::new();
        let mut constants = Vec::new();
        let unknown = |what: &str, name: &str| MappingError::UnknownField {
            path: path.to_path_buf(),
            what: what.to_string(),
            name: name.to_string(),
            fields: Field::ALL
                .iter()
                .map(|f| f.path())
                .collect::<Vec<_>>()
                .join(", "),
        };
        for (header, target) in &self.columns {
            let field = if target.trim().eq_ignore_ascii_case("ignore") || target.trim().is_empty()
            {
                None
            } else {
                Some(Field::from_path(target).ok_or_else(|| unknown("column target", target))?)
            };
            explicit.insert(header.trim().to_string(), field);
        }
        for (name, value) in &self.constants {
            let field = Field::from_path(name).ok_or_else(|| unknown("constant", name))?;
            let text = scalar_text(path, "constant", name, value)?;
            constants.push(Constant { field, text });
        }
        let mut defaults = Vec::new();
        for (name, value) in &self.defaults {
            let field = Field::from_path(name).ok_or_else(|| unknown("default", name))?;
            let text = scalar_text(path, "default", name, value)?;
            defaults.push(Constant { field, text });
        }
        let mut values = Vec::new();
        for (name, words) in &self.values {
            let field = Field::from_path(name).ok_or_else(|| unknown("value map", name))?;
            let mut pairs = Vec::new();
            for (word, meaning) in words {
                let text = scalar_text(path, "value map", name, meaning)?;
                pairs.push((word.trim().to_lowercase(), text));
            }
            values.push((field, pairs));
        }
        let ignore = self.ignore.iter().map(|s| s.trim().to_string()).collect();
        Ok(Explicit {
            columns: explicit,
            constants,
            defaults,
            values,
            ignore,
        })
    }
}

/// The text of a constant, default or value-map entry.
fn scalar_text(
    path: &Path,
    what: &str,
    name: &str,
    value: &toml::Value,
) -> Result<String, MappingError> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => {
            return Err(MappingError::Syntax {
                path: path.to_path_buf(),
                message: format!("{what} \"{name}\" must be a text, number or true/false"),
            })
        }
    })
}
