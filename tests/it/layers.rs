//! The modules stand in layers: each imports only from the layers below it,
//! so there is no import cycle and no arrow runs back up the data's journey.
//! The sandbox is a crate of its own (`crates/sandbox`), not one of them.

use std::collections::BTreeSet;
use std::path::Path;

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

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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
