//! The modules stand in layers: each imports only from the layers below it,
//! so there is no import cycle and no arrow runs back up the data's journey.
//! The sandbox is a crate of its own (`crates/sandbox`), not one of them.
//!
//! Inside each folder the same holds between its files: no file imports
//! another that imports it back, through any chain ([`import_cycles`]); in
//! the sandbox crate, between its top-level modules too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom.
const LAYERS: &[&str] = &[
    "commands",
    "feed",
    "pipeline",
    "client",
    "progress",
    "results",
    "prepare",
    "cli",
    "validate",
    "duplicates",
    "mapping",
    "read",
    "values",
    "cell",
    "api",
    "log",
    "interrupt",
];

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

#[test]
fn modules_import_only_from_the_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut upward = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative.iter().next().unwrap().to_string_lossy();
        let module = module.trim_end_matches(".rs");
        let Some(own) = rank(module) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if used == module {
                    continue;
                }
                if let Some(theirs) = rank(&used) {
                    if theirs <= own {
                        upward.insert(format!("{} -> {used}", relative.display()));
                    }
                }
            }
        }
    }
    assert!(upward.is_empty(), "imports that run upward: {upward:#?}");
}

/// Folders left out of the check between files.
const CYCLES_EXEMPT: &[&str] = &[];

#[test]
fn the_files_of_each_folder_import_each_other_in_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let cycles = import_cycles(&src, CYCLES_EXEMPT);
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn the_sandbox_crates_modules_import_each_other_in_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/sandbox/src");
    let cycles = crate_import_cycles(&src);
    assert!(
        cycles.is_empty(),
        "import cycles in the sandbox: {cycles:#?}"
    );
}

#[test]
fn a_circle_between_a_crates_top_level_modules_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| std::fs::write(dir.path().join(path), text).unwrap();
    write("lib.rs", "mod a;\nmod b;\npub use a::A;\n");
    write("a.rs", "pub struct A;\nfn f() { crate::b::g() }\n");
    write("b.rs", "pub fn g() { let _ = crate::a::A; }\n");
    assert_eq!(crate_import_cycles(dir.path()), [": a -> b -> a"]);
    // Only folders below the root are read by `import_cycles`.
    assert!(import_cycles(dir.path(), &[]).is_empty());
    write("b.rs", "pub fn g() {}\n");
    assert!(crate_import_cycles(dir.path()).is_empty());
}

#[test]
fn a_circle_through_super_crate_and_a_grouped_use_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod a;\n");
    write("a/mod.rs", "mod x;\nmod y;\nmod z;\npub struct Shared;\n");
    write(
        "a/x.rs",
        "use super::{y::{Y, W as V}, Shared};\nuse self::inner::Q;\n",
    );
    write(
        "a/y.rs",
        "// use super::x::X; (a comment)\nfn f() { crate::a::z::g() }\n",
    );
    write(
        "a/z.rs",
        "pub fn g() { let _ = super::x::X; }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::a::y;\n}\n",
    );
    let cycles = import_cycles(dir.path(), &[]);
    assert_eq!(cycles, ["a: x -> y -> z -> x"]);
    // Exempt, the folder is not read.
    assert!(import_cycles(dir.path(), &["a"]).is_empty());
    // Broken, the circle is gone; but `mod.rs` using a child is an edge.
    write("a/z.rs", "pub fn g() {}\n");
    assert!(import_cycles(dir.path(), &[]).is_empty());
    write(
        "a/mod.rs",
        "mod x;\nmod y;\nmod z;\npub struct Shared;\nfn f() { y::h() }\n",
    );
    write("a/y.rs", "fn f() { let _ = super::Shared; }\n");
    assert_eq!(import_cycles(dir.path(), &[]), ["a: mod -> y -> mod"]);
    // What `mod.rs` only re-exports is no edge, and reached through it, it
    // is the file that holds it.
    write(
        "a/mod.rs",
        "mod x;\nmod y;\nmod z;\npub use z::Shared;\nfn f() { y::h() }\n",
    );
    assert!(import_cycles(dir.path(), &[]).is_empty());
    write(
        "a/z.rs",
        "pub struct Shared;\nfn g() { crate::a::y::h() }\n",
    );
    assert_eq!(import_cycles(dir.path(), &[]), ["a: y -> z -> y"]);
}

/// The import cycles between the files of each folder under `root` (a
/// crate's `src`), each as `folder: a -> b -> … -> a`, where a file is named
/// by its stem (`mod` for the folder's `mod.rs`) and a subfolder by its
/// name. An import is any path through `crate::`, `super::` or `self::`
/// (grouped `use` trees too), and in a `mod.rs` a path through one of its
/// own modules. A path to an item of the folder's module points at the file
/// that holds it: the `mod.rs`, or the file `mod.rs` imports the item from
/// (a re-export, `pub use file::Item`, being no edge of `mod.rs` itself),
/// or nothing when that is outside the folder. Comments
/// and the inline `#[cfg(test)] mod … { … }` at a file's end are not read.
/// Folders in `exempt` (relative to `root`, with `/`) and the folders under
/// them are left out. What `mod.rs` takes in with a private `use` is an
/// edge of `mod.rs`; what it only re-exports (`pub use`) is not, even where
/// its own code then names the item bare.
pub fn import_cycles(root: &Path, exempt: &[&str]) -> Vec<String> {
    cycles_in(root, exempt, false)
}

/// [`import_cycles`], with the crate's own folder read too: its top-level
/// modules, `lib.rs` standing for the folder's `mod.rs`.
pub fn crate_import_cycles(root: &Path) -> Vec<String> {
    cycles_in(root, &[], true)
}

fn cycles_in(root: &Path, exempt: &[&str], with_root: bool) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    // Every file's path in its folder and the absolute paths it imports.
    let mut imports: Vec<(Vec<String>, Vec<Vec<String>>)> = Vec::new();
    // What each folder's `mod.rs` imports or re-exports: (folder, item) ->
    // the item's own path.
    let mut imported: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    let mut folders: BTreeSet<Vec<String>> = BTreeSet::new();
    for file in &files {
        let relative: Vec<String> = file
            .strip_prefix(root)
            .unwrap()
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let folder = relative[..relative.len() - 1].to_vec();
        if folder.is_empty() && !with_root || is_exempt(&folder, exempt) {
            continue;
        }
        folders.insert(folder.clone());
        let stem = stem_of(relative.last().unwrap(), &folder);
        let mut code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut code_uses = String::new();
        let mut module = folder.clone();
        let mut children = Vec::new();
        if stem == "mod" {
            children = child_modules(file.parent().unwrap());
            let (rest, reexports) = split_uses(&code);
            for (statement, public) in reexports {
                for path in paths_used(&statement, &module, &children) {
                    if let Some(item) = path.last() {
                        imported.insert((folder.clone(), item.clone()), path.clone());
                    }
                }
                if !public {
                    code_uses.push_str(&statement);
                }
            }
            code = rest;
        } else {
            module.push(stem);
        }
        code.push_str(&code_uses);
        imports.push((relative, paths_used(&code, &module, &children)));
    }
    let mut cycles = Vec::new();
    for folder in &folders {
        let children = child_modules(&folder.iter().fold(root.to_path_buf(), |p, c| p.join(c)));
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (relative, paths) in &imports {
            if !relative.starts_with(folder) || relative.len() == folder.len() {
                continue;
            }
            let node = stem_of(&relative[folder.len()], folder);
            for path in paths.iter().filter(|p| p.starts_with(folder)) {
                let mut target = path.get(folder.len()).cloned();
                if let Some(through) = target
                    .as_ref()
                    .and_then(|item| imported.get(&(folder.clone(), item.clone())))
                {
                    // An item `mod.rs` takes from elsewhere is that item.
                    if !through.starts_with(folder) {
                        continue;
                    }
                    target = through.get(folder.len()).cloned();
                }
                let target = match target {
                    Some(t) if children.contains(&t) => t,
                    _ => "mod".to_string(),
                };
                if target != node {
                    edges.entry(node.clone()).or_default().insert(target);
                }
            }
        }
        for cycle in find_cycles(&edges) {
            cycles.push(format!("{}: {}", folder.join("/"), cycle.join(" -> ")));
        }
    }
    cycles
}

/// `code` without its `use …;` statements, and those statements (each from
/// `use` on), with whether each is `pub`: a re-export.
fn split_uses(code: &str) -> (String, Vec<(String, bool)>) {
    let (mut rest, mut uses) = (String::new(), Vec::new());
    let starts_use = |i: usize| {
        code[i..].starts_with("use ")
            && code[..i]
                .trim_end_matches(' ')
                .rsplit('\n')
                .next()
                .is_some_and(|before| {
                    let before = before.trim();
                    before.is_empty() || before.starts_with("pub")
                })
    };
    let mut at = 0;
    while let Some(start) = (at..code.len()).find(|&i| code.is_char_boundary(i) && starts_use(i)) {
        let end = code[start..]
            .find(';')
            .map_or(code.len(), |e| start + e + 1);
        let line_start = code[..start].rfind('\n').map_or(0, |n| n + 1);
        let public = code[line_start..start].trim().starts_with("pub");
        rest.push_str(&code[at..line_start.max(at)]);
        uses.push((code[start..end].to_string() + "\n", public));
        at = end;
    }
    rest.push_str(&code[at..]);
    (rest, uses)
}

/// A file's node name in its folder: its stem, with a crate's `lib.rs`
/// standing for the root folder's `mod.rs`.
fn stem_of(name: &str, folder: &[String]) -> String {
    match name.trim_end_matches(".rs") {
        "lib" if folder.is_empty() => "mod".to_string(),
        stem => stem.to_string(),
    }
}

fn is_exempt(folder: &[String], exempt: &[&str]) -> bool {
    let folder = folder.join("/");
    exempt
        .iter()
        .any(|e| folder == *e || folder.starts_with(&format!("{e}/")))
}

/// The modules a folder holds: its `.rs` files but `mod.rs`, and its
/// subfolders that hold Rust files.
fn child_modules(dir: &Path) -> Vec<String> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inside = Vec::new();
            rust_files(&path, &mut inside);
            if !inside.is_empty() {
                children.push(name);
            }
        } else if let Some(stem) = name
            .strip_suffix(".rs")
            .filter(|s| *s != "mod" && *s != "lib")
        {
            children.push(stem.to_string());
        }
    }
    children
}

/// `text` without its comments, and without the inline test module at its
/// end (`#[cfg(test)]` before `mod name {`): tests may use what they test.
fn code_of(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines.get(i + 1).is_some_and(|next| {
                    let next = next.trim();
                    next.starts_with("mod ") && next.ends_with('{')
                })
        })
        .unwrap_or(lines.len());
    let mut code = String::new();
    for line in &lines[..end] {
        let mut cut = line.len();
        for (i, _) in line.match_indices("//") {
            // A `//` outside a string literal starts a comment.
            if line[..i].matches('"').count() % 2 == 0 {
                cut = i;
                break;
            }
        }
        code.push_str(&line[..cut]);
        code.push('\n');
    }
    code
}

/// The absolute module paths `code`, in the module `module`, uses through
/// `crate::`, `super::`, `self::` or (in a `mod.rs`) one of its `children`.
fn paths_used(code: &str, module: &[String], children: &[String]) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut paths = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(ident(bytes[i - 1]) || bytes[i - 1] == b':');
        if !starts_word || !ident(bytes[i]) {
            i += 1;
            continue;
        }
        let word_end = (i..bytes.len())
            .find(|&j| !ident(bytes[j]))
            .unwrap_or(bytes.len());
        let word = &code[i..word_end];
        let mut base: Option<Vec<String>> = match word {
            "crate" => Some(Vec::new()),
            "self" => Some(module.to_vec()),
            "super" => Some(module.to_vec()),
            _ if children.iter().any(|c| c == word) => Some(module.to_vec()),
            _ => None,
        };
        if !code[word_end..].starts_with("::") || base.is_none() {
            i = word_end;
            continue;
        }
        let mut at = i;
        // `super::super::…` climbs one folder each.
        while code[at..].starts_with("super::") {
            if let Some(b) = base.as_mut() {
                b.pop();
            }
            at += "super::".len();
        }
        if word == "crate" || word == "self" {
            at = word_end + 2;
        }
        let base = base.unwrap();
        for tail in use_tree(bytes, &mut at) {
            let mut path = base.clone();
            path.extend(tail);
            paths.push(path);
        }
        i = at.max(word_end);
    }
    paths
}

/// The paths of a `use` tree (or an expression's path) starting at `*at`:
/// `a::b`, `a::{b, c::{d as e}}`, `a::*`; `self` in a group is the group's
/// own path. Leaves `*at` after it.
fn use_tree(bytes: &[u8], at: &mut usize) -> Vec<Vec<String>> {
    let skip_space = |at: &mut usize| {
        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    skip_space(at);
    if *at >= bytes.len() {
        return vec![Vec::new()];
    }
    if bytes[*at] == b'{' {
        *at += 1;
        let mut paths = Vec::new();
        loop {
            skip_space(at);
            if *at >= bytes.len() {
                break;
            }
            if bytes[*at] == b'}' {
                *at += 1;
                break;
            }
            let before = *at;
            paths.extend(use_tree(bytes, at));
            // Past `as name` up to the next `,` or the group's end.
            while *at < bytes.len() && bytes[*at] != b',' && bytes[*at] != b'}' {
                *at += 1;
            }
            if *at < bytes.len() && bytes[*at] == b',' {
                *at += 1;
            }
            if *at == before {
                *at += 1;
            }
        }
        return paths;
    }
    let start = *at;
    while *at < bytes.len() && (bytes[*at].is_ascii_alphanumeric() || bytes[*at] == b'_') {
        *at += 1;
    }
    let segment = String::from_utf8_lossy(&bytes[start..*at]).into_owned();
    if segment.is_empty() || segment == "self" {
        return vec![Vec::new()];
    }
    if bytes[*at..].starts_with(b"::") {
        *at += 2;
        let mut paths = use_tree(bytes, at);
        for path in &mut paths {
            path.insert(0, segment.clone());
        }
        return paths;
    }
    vec![vec![segment]]
}

/// One circle per back edge met in a depth-first walk of `edges`, each
/// starting at its smallest node and ending where it started.
fn find_cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    fn walk(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut BTreeSet<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            let smallest = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap();
            cycle.rotate_left(smallest);
            cycle.push(cycle[0].clone());
            cycles.insert(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            walk(next, edges, path, done, cycles);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut cycles = BTreeSet::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        walk(node, edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    cycles
}
