//! Whether a column's values fit the field its header named: a column is
//! left unused, with a note, when its first rows say it holds something else
//! (yes/no flags under a quantity header such as `In stock?`).

use crate::cell::CellRef;
use crate::mapping::{normalize_header, ColumnMapping, Field};
use crate::read::SourceRow;

/// Checks the mapped columns against the first `rows`; true when a column
/// was left unused.
pub fn check<'a>(mapping: &mut ColumnMapping, rows: impl Iterator<Item = &'a SourceRow>) -> bool {
    let Some(col) = mapping.column(Field::StockQuantity) else {
        return false;
    };
    let header = mapping.headers[col].trim().to_string();
    let mut seen = 0usize;
    let mut words = false;
    let all_flags = rows
        .filter_map(|r| r.cells.get(col))
        .filter(|c| !c.is_blank())
        .all(|c| {
            seen += 1;
            match c {
                CellRef::Bool(_) => {
                    words = true;
                    true
                }
                other => {
                    let text = other.text().trim().to_ascii_lowercase();
                    let word = matches!(
                        text.as_str(),
                        "yes" | "no" | "true" | "false" | "y" | "n" | "ja" | "nei" | "nej"
                    );
                    words |= word;
                    word || text == "0" || text == "1"
                }
            }
        });
    let asks = header.ends_with('?') || normalize_header(&header).starts_with("is");
    if seen > 0 && all_flags && (words || asks) {
        mapping.leave_unused(
            Field::StockQuantity,
            "its values are yes/no flags, not a quantity".to_string(),
        );
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn rows(values: &[&str]) -> Vec<SourceRow> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| SourceRow {
                number: i as u64 + 2,
                cells: [
                    crate::cell::Cell::Text("A".into()),
                    crate::cell::Cell::Text(v.to_string()),
                ]
                .into_iter()
                .collect(),
                width: 2,
            })
            .collect()
    }

    #[test]
    fn a_flag_column_is_not_a_quantity() {
        let headers = vec!["name".to_string(), "In stock?".to_string()];
        let mut m = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        assert_eq!(m.column(Field::StockQuantity), Some(1));
        assert!(check(&mut m, rows(&["1", "0", "1"]).iter()));
        assert_eq!(m.column(Field::StockQuantity), None);

        let headers = vec!["name".to_string(), "Stock".to_string()];
        let mut m = ColumnMapping::build(Path::new("f"), &headers, None).unwrap();
        assert!(!check(&mut m, rows(&["1", "0", "1"]).iter()));
        assert!(!check(&mut m, rows(&["12", "0"]).iter()));
        assert!(check(&mut m, rows(&["yes", "no"]).iter()));
    }
}
