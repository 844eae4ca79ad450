//! Integration tests: what the terminal shows besides progress (whose line
//! builder is unit-tested in `progress`): shell completions.

use crate::common::bin;

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("product-import"), "{shell}: {text}");
        assert!(
            text.contains("validate") && text.contains("export"),
            "{shell}"
        );
    }
    bin().args(["completions", "nosh"]).assert().code(2);
}
