//! House rules the compiler does not check: no function over
//! [`LONGEST_FUNCTION`] lines, in `src/` and in every `crates/*/src/`.
//!
//! A function is counted from the line of its `fn` to the line of its
//! closing brace (its doc comment and attributes left out); a function
//! inside another counts in both. Test functions in `src/` count too.

use std::path::{Path, PathBuf};

/// The longest a function may be, in lines.
const LONGEST_FUNCTION: usize = 80;

/// Functions still over the limit, as `path: name`, each to be split into
/// named steps by whoever owns its file next. A function split must leave
/// this list; no new one may join it.
const LONG_FUNCTIONS_LEFT: &[&str] = &[];

#[test]
fn no_function_is_longer_than_the_house_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("src")];
    if let Ok(crates) = std::fs::read_dir(root.join("crates")) {
        for entry in crates {
            let src = entry.unwrap().path().join("src");
            if src.is_dir() {
                sources.push(src);
            }
        }
    }
    let mut long = Vec::new();
    for source in &sources {
        let mut files = Vec::new();
        rust_files(source, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let relative = file.strip_prefix(root).unwrap().to_string_lossy();
            let relative = relative.replace('\\', "/");
            for f in functions(&text) {
                if f.lines > LONGEST_FUNCTION {
                    long.push((format!("{relative}: {}", f.name), f.line, f.lines));
                }
            }
        }
    }
    let new: Vec<String> = long
        .iter()
        .filter(|(name, _, _)| !LONG_FUNCTIONS_LEFT.contains(&name.as_str()))
        .map(|(name, line, lines)| format!("{name} (line {line}, {lines} lines)"))
        .collect();
    assert!(
        new.is_empty(),
        "functions over {LONGEST_FUNCTION} lines (split each into named steps): {new:#?}"
    );
    let gone: Vec<&&str> = LONG_FUNCTIONS_LEFT
        .iter()
        .filter(|left| !long.iter().any(|(name, _, _)| name == *left))
        .collect();
    assert!(
        gone.is_empty(),
        "functions no longer over {LONGEST_FUNCTION} lines still listed in LONG_FUNCTIONS_LEFT: {gone:#?}"
    );
}

#[test]
fn functions_are_measured_past_strings_comments_and_char_literals() {
    let text = r####"
// fn commented() {
/* fn blocked() { /* nested */ } */
trait Shape {
    fn area(&self) -> f64;
    fn sides(&self, counts: [u8; 3]) -> u8 {
        counts[0]
    }
}
struct Rule {
    detect: fn(&str) -> bool,
}
fn tricky<'a>(x: &'a str) -> String {
    let open = '{';
    let quote = '\'';
    let text = "}} fn not_one() { \" }";
    let raw = r#"}" fn nor_this() {"#;
    let bytes = b"}";
    format!("{x}{open}{quote}{text}{raw}{bytes:?}")
}
pub(crate) async fn outer() {
    fn inner() {}
    inner()
}
"####;
    let found: Vec<(String, usize, usize)> = functions(text)
        .into_iter()
        .map(|f| (f.name, f.line, f.lines))
        .collect();
    let expected = [
        ("sides", 6, 3),
        ("tricky", 13, 8),
        ("outer", 21, 4),
        ("inner", 22, 1),
    ];
    let expected: Vec<(String, usize, usize)> = expected
        .iter()
        .map(|(n, line, lines)| (n.to_string(), *line, *lines))
        .collect();
    assert_eq!(found, expected);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A function with a body, as found in a file.
struct Function {
    name: String,
    /// The line of its `fn`, from 1.
    line: usize,
    /// From the line of its `fn` to the line of its closing brace.
    lines: usize,
}

/// Every function with a body in `text`, in the order of their `fn`.
fn functions(text: &str) -> Vec<Function> {
    let code = blanked(text);
    let line_of = |at: usize| code[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for at in 0..code.len() {
        let word_start = at == 0 || !ident(code[at - 1]);
        if !word_start || !code[at..].starts_with(&['f', 'n']) {
            continue;
        }
        // `fn`, space, a name: a function (not `fn(…)`, a pointer type).
        let mut i = at + 2;
        if !code.get(i).is_some_and(|c| c.is_whitespace()) {
            continue;
        }
        while code.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        let name_start = i;
        while code.get(i).is_some_and(|&c| ident(c)) {
            i += 1;
        }
        if i == name_start {
            continue;
        }
        let name: String = code[name_start..i].iter().collect();
        let Some(open) = body_start(&code, i) else {
            continue;
        };
        let Some(close) = matching_brace(&code, open) else {
            continue;
        };
        let line = line_of(at);
        found.push(Function {
            name,
            line,
            lines: line_of(close) - line + 1,
        });
    }
    found
}

/// Where the body of the function whose signature goes on at `from`
/// opens: the first `{` outside brackets, or `None` at a `;` first (a
/// declaration without a body).
fn body_start(code: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(from) {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            '{' if depth == 0 => return Some(i),
            ';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// The brace that closes the one at `open`.
fn matching_brace(code: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` as characters, with the comments and the insides of string and
/// character literals turned into spaces (line breaks kept), so that what
/// is left is code.
fn blanked(text: &str) -> Vec<char> {
    let mut code: Vec<char> = text.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < code.len() {
        let start = i;
        let end = match code[i] {
            '/' if code.get(i + 1) == Some(&'/') => (i..code.len())
                .find(|&j| code[j] == '\n')
                .unwrap_or(code.len()),
            '/' if code.get(i + 1) == Some(&'*') => block_comment_end(&code, i),
            '"' => string_end(&code, i + 1),
            'r' | 'b' if i == 0 || !ident(code[i - 1]) => match raw_string_end(&code, i) {
                Some(end) => end,
                None => {
                    i += 1;
                    continue;
                }
            },
            '\'' => match char_literal_end(&code, i) {
                Some(end) => end,
                None => {
                    i += 1;
                    continue;
                }
            },
            _ => {
                i += 1;
                continue;
            }
        };
        for c in &mut code[start..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end.max(start + 1);
    }
    code
}

/// Past the end of the (nested) block comment opening at `at`.
fn block_comment_end(code: &[char], at: usize) -> usize {
    let (mut depth, mut i) = (0usize, at);
    while i + 1 < code.len() {
        if code[i] == '/' && code[i + 1] == '*' {
            depth += 1;
            i += 2;
        } else if code[i] == '*' && code[i + 1] == '/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    code.len()
}

/// Past the closing quote of the string whose text starts at `from`.
fn string_end(code: &[char], from: usize) -> usize {
    let mut i = from;
    while i < code.len() {
        match code[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    code.len()
}

/// Past the end of the raw string (`r"…"`, `r#"…"#`, `br#"…"#`) or byte
/// string (`b"…"`) starting at `at`; `None` when none starts there.
fn raw_string_end(code: &[char], at: usize) -> Option<usize> {
    let mut i = at;
    if code[i] == 'b' {
        i += 1;
        if code.get(i) == Some(&'"') {
            return Some(string_end(code, i + 1));
        }
    }
    if code.get(i) != Some(&'r') {
        return None;
    }
    i += 1;
    let hashes = code[i..].iter().take_while(|&&c| c == '#').count();
    i += hashes;
    if code.get(i) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (i + 1..code.len())
        .find(|&j| code[j..].starts_with(&closing))
        .map(|j| j + closing.len())
        .or(Some(code.len()))
}

/// Past the end of the character literal starting at `at` (`'x'`, `'\n'`,
/// `'\u{…}'`); `None` for a lifetime or a label (`'a`).
fn char_literal_end(code: &[char], at: usize) -> Option<usize> {
    match code.get(at + 1)? {
        '\\' => (at + 3..code.len())
            .find(|&j| code[j] == '\'')
            .map(|j| j + 1),
        _ if code.get(at + 2) == Some(&'\'') => Some(at + 3),
        _ => None,
    }
}
