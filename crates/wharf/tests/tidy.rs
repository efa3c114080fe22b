//! Tidy checks over the source tree: every Rust file opens with a `//!` summary, and no test is
//! switched off with an ignore attribute or made to pass by an expected panic.
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn workspace_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = Vec::new();
    rust_files(&root.join("crates"), &mut found);
    assert!(found.len() > 20, "the walk found the sources: {}", found.len());
    found
}

#[test]
fn every_rust_file_opens_with_a_summary() {
    let missing: Vec<String> = workspace_files()
        .into_iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a //! summary: {missing:?}");
}

#[test]
fn no_test_is_ignored_or_expected_to_panic() {
    // Built from pieces so this file does not match itself.
    let banned = [format!("#[{}", "ignore"), format!("#[{}", "should_panic")];
    let offenders: Vec<String> = workspace_files()
        .into_iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            banned.iter().any(|pattern| text.contains(pattern.as_str()))
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "tests switched off: {offenders:?}");
}
