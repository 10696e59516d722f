//! Structural checks over the source tree (rust-analyzer style): the invariants of
//! ARCHITECTURE.md that a compiler cannot see.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | "pkg" | ".git" | "fuzz_target") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["core", "host", "wasm", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 20, "found only {} Rust files", files.len());
    files
}

#[test]
fn every_rust_file_starts_with_a_doc_line() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().trim_start().starts_with("//!"))
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading `//!` line saying what they are for: {missing:?}");
}

/// The most lines a Rust file may have: modules are kept to a few hundred lines, split
/// by concern when they grow (ARCHITECTURE.md, invariant 8).
const MAX_LINES: usize = 700;

#[test]
fn every_rust_file_stays_within_a_few_hundred_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter_map(|p| {
            let lines = std::fs::read_to_string(&p).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", p.strip_prefix(root()).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines, to split by concern: {long:?}");
}

#[test]
fn the_core_does_no_io() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::env",
        "std::process",
        "std::thread",
        "SystemTime",
        "Instant::now",
        "HashMap",
        "HashSet",
    ];
    let mut offences = Vec::new();
    let mut files = Vec::new();
    rust_files(&root().join("core/src"), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in forbidden {
                if code.contains(word) {
                    offences.push(format!("{}:{}: {word}", path.strip_prefix(root()).unwrap().display(), n + 1));
                }
            }
        }
    }
    assert!(offences.is_empty(), "the core must do no I/O and keep output ordered: {offences:#?}");
}

/// The core is `no_std`: std (and with it files, sockets, the environment, clocks) is
/// linked only for its own unit tests.
#[test]
fn the_core_is_no_std() {
    let lib = std::fs::read_to_string(root().join("core/src/lib.rs")).unwrap();
    let code: Vec<&str> = lib.lines().map(|l| l.split("//").next().unwrap_or_default().trim()).collect();
    assert!(code.contains(&"#![no_std]"), "core/src/lib.rs must keep `#![no_std]` (ARCHITECTURE.md, invariant 1)");
    for (n, line) in code.iter().enumerate() {
        if line.contains("extern crate std") {
            assert_eq!(
                code.get(n.wrapping_sub(1)),
                Some(&"#[cfg(test)]"),
                "core/src/lib.rs:{}: std only for tests",
                n + 1
            );
        }
    }
}

#[test]
fn the_core_depends_on_no_runtime_or_network_crate() {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "-p", "sensu-reactio-core", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(root())
        .output()
        .expect("run cargo tree");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(tree.contains("serde_json"), "cargo tree printed nothing useful: {tree}");
    for name in ["tokio", "reqwest", "hyper", "wasmtime", "getrandom", "rand", "mio", "socket2"] {
        assert!(!tree.lines().any(|l| l.starts_with(&format!("{name} "))), "the core depends on `{name}`:\n{tree}");
    }
}

/// The files that may hold `unsafe` code (ARCHITECTURE.md, invariant 7).
const UNSAFE_FILES: [&str; 2] = ["wasm/src/raw.rs", "host/src/engine/wasm/cache.rs"];

#[test]
fn unsafe_code_lives_only_where_documented() {
    let allowed = UNSAFE_FILES;
    let mut offences = Vec::new();
    for path in sources() {
        let rel = path.strip_prefix(root()).unwrap().display().to_string();
        if allowed.contains(&rel.as_str()) || rel.starts_with("tests/tests/structure.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.lines().any(|l| {
            let code = l.split("//").next().unwrap_or_default();
            code.contains("unsafe {") || code.contains("unsafe fn") || code.contains("unsafe impl")
        }) {
            offences.push(rel);
        }
    }
    assert!(offences.is_empty(), "unsafe code outside {allowed:?}: {offences:?}");
}

#[test]
fn every_unsafe_block_has_a_safety_note() {
    for rel in UNSAFE_FILES {
        // A moved file must move here too: a missing one is an error, not a pass.
        let text = std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().any(|l| l.contains("unsafe {")), "{rel} has no unsafe block: update UNSAFE_FILES");
        for (i, line) in lines.iter().enumerate() {
            if line.split("//").next().unwrap_or_default().contains("unsafe {") {
                let window = &lines[i.saturating_sub(12)..=i];
                assert!(
                    window.iter().any(|l| l.contains("SAFETY:")),
                    "{rel}:{}: an unsafe block without a `// SAFETY:` note",
                    i + 1
                );
            }
        }
    }
}
