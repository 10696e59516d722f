//! The JS package's Node example (the one its README shows) runs against the built
//! wasm-bindgen package: a Sensu event in, the requests a dry run would send out.

use std::process::Command;

use crate::support::*;

#[test]
fn the_node_example_runs_a_dry_run() {
    let pkg = repo_path("wasm/js/pkg/sensu_reactio_bg.wasm");
    assert!(pkg.is_file(), "{} is not built: run `./x build` first (builds the wasm artifacts)", pkg.display());
    let example = repo_path("wasm/js/examples/dry-run.mjs");
    assert!(example.is_file(), "{} is missing", example.display());
    let event = repo_path("examples/events/classic-critical.json");
    let out = Command::new("node")
        .arg(&example)
        .arg(&event)
        .current_dir(repo_path("wasm/js"))
        .output()
        .unwrap_or_else(|e| panic!("node: {e}: install Node.js 18 or later (`./x setup` expects it)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("POST https://example.reactio.jp/api/v1/incidents"), "{stdout}");
    assert!(stdout.contains("web01/check_http CheckHttp CRITICAL"), "{stdout}");
    assert!(!stdout.contains("not-a-real-key") && !stderr.contains("not-a-real-key"), "the key is masked: {stdout}");
}
