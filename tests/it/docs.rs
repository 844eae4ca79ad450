//! Integration tests: the docs cannot drift from the program. `docs/usage.md`
//! holds each command's `--help` and the exit codes table between
//! `<!-- generated: KEY -->` and `<!-- end generated -->` markers; the test
//! compares them with the binary's output and with `EXIT_CODES`. With
//! `UPDATE_DOCS=1` it rewrites them instead (then read the diff). The man
//! page must render and name every command.

use std::path::PathBuf;

use product_import::commands::exit_codes_markdown;

use crate::common::{bin, tempdir};

const BEGIN: &str = "<!-- generated: ";
const END: &str = "<!-- end generated -->";

fn usage_md() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/usage.md")
}

/// The commands `product-import --help` lists (hidden ones and `help` left out).
fn commands() -> Vec<String> {
    let out = bin().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .take_while(|line| line.starts_with("  "));
    let names: Vec<String> = listed
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(names.len() >= 6, "{help}");
    names
}

/// What belongs between the markers of `key`.
fn generated(key: &str) -> String {
    if key == "exit codes" {
        return exit_codes_markdown();
    }
    let args: Vec<&str> = key
        .strip_prefix("product-import ")
        .unwrap_or_else(|| panic!("unknown block {key:?}"))
        .split_whitespace()
        .collect();
    let out = bin().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{key}");
    format!("```text\n{}```\n", String::from_utf8(out.stdout).unwrap())
}

/// The blocks of `text`: (key, start and end of the content).
fn blocks(text: &str) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(BEGIN) {
        let key_start = from + at + BEGIN.len();
        let key_end = key_start + text[key_start..].find(" -->").expect("marker closed");
        let start = key_end + " -->\n".len();
        let end = start + text[start..].find(END).expect("an end marker");
        found.push((text[key_start..key_end].to_string(), start, end));
        from = end;
    }
    found
}

#[test]
fn usage_md_shows_every_commands_help_and_the_exit_codes() {
    let path = usage_md();
    let text = std::fs::read_to_string(&path).unwrap();
    let found = blocks(&text);
    let keys: Vec<&str> = found.iter().map(|(k, _, _)| k.as_str()).collect();
    for command in commands() {
        let key = format!("product-import {command} --help");
        assert!(keys.contains(&key.as_str()), "docs/usage.md has no {key}");
    }
    assert!(keys.contains(&"exit codes"), "{keys:?}");

    let mut updated = String::new();
    let mut stale = Vec::new();
    let mut last = 0;
    for (key, start, end) in &found {
        let want = generated(key);
        if text[*start..*end] != want {
            stale.push(key.clone());
        }
        updated.push_str(&text[last..*start]);
        updated.push_str(&want);
        last = *end;
    }
    updated.push_str(&text[last..]);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        stale.is_empty(),
        "docs/usage.md differs from the program in {stale:?}; \
         run `UPDATE_DOCS=1 cargo test --test it docs::` and read the diff"
    );
}

#[test]
fn the_man_page_renders_and_names_every_command() {
    let out = bin().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    for command in commands() {
        assert!(
            page.contains(&format!("product\\-import\\-{command}(1)")),
            "the man page names {command}: {page}"
        );
    }
    assert!(page.contains("EXIT STATUS") && page.contains("TFSO_CLIENT_ID"));
    assert!(!page.contains("generate"), "hidden commands stay hidden");

    let dir = tempdir();
    let out = bin()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    for command in commands() {
        let page = std::fs::read_to_string(dir.path().join(format!("product-import-{command}.1")))
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        assert!(
            page.contains(".SH OPTIONS") || command == "completions",
            "{command}: {page}"
        );
        assert!(page.contains("product\\-import(1)"), "{command}: {page}");
    }
    assert!(dir.path().join("product-import.1").exists());
}
