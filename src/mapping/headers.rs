//! Matching headers to fields by name: normalization and the built-in names
//! in English, Norwegian, Swedish and Danish.

use super::Field;

/// Normalizes a header for matching: lower case, Nordic letters folded
/// (`ø`→`o`, `å`→`a`, `æ`→`ae`, `ä`→`a`, `ö`→`o`), and spaces, `_`, `-`, `.`
/// and other punctuation removed.
pub fn normalize_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        for l in c.to_lowercase() {
            match l {
                'ø' | 'ö' | 'ó' | 'ò' | 'ô' => out.push('o'),
                'å' | 'ä' | 'á' | 'à' | 'â' => out.push('a'),
                'æ' => out.push_str("ae"),
                'é' | 'è' | 'ê' | 'ë' => out.push('e'),
                'ü' | 'ú' => out.push('u'),
                c if c.is_alphanumeric() => out.push(c),
                _ => {}
            }
        }
    }
    out
}

/// Built-in header names (already normalized) for each field, from the registry.
fn builtin_aliases(field: Field) -> &'static [&'static str] {
    field.spec().aliases
}

/// Finds the field a header names, by canonical path or built-in alias.
#[cfg(test)]
pub fn match_header(header: &str) -> Option<Field> {
    match_header_ranked(header).map(|(f, _)| f)
}

/// The field a header names and its rank among the field's names: 0 for the
/// field's path, then the built-in names in their documented order. When two
/// columns name one field, the lower rank fills it.
pub fn match_header_ranked(header: &str) -> Option<(Field, usize)> {
    let key = normalize_header(header);
    if key.is_empty() {
        return None;
    }
    Field::ALL.into_iter().find_map(|f| {
        if normalize_header(f.path()) == key {
            return Some((f, 0));
        }
        builtin_aliases(f)
            .iter()
            .position(|a| normalize_header(a) == key)
            .map(|i| (f, i + 1))
    })
}
