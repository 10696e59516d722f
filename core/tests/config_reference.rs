//! Keeps `docs/configuration.md` equal to the reference generated from the settings
//! table (`KEYS`). Regenerate with
//! `UPDATE_DOCS=1 cargo test -p sensu-reactio-core --test config_reference`.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sensu_reactio_core::config::keys::reference_markdown;

#[test]
fn config_reference_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let generated = reference_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/configuration.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != generated {
        let line = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| on_disk.lines().count().min(generated.lines().count()) + 1, |i| i + 1);
        panic!(
            "docs/configuration.md is out of date with the settings table (core/src/config/keys.rs), first difference at line {line}; \
             regenerate it with: UPDATE_DOCS=1 cargo test -p sensu-reactio-core --test config_reference"
        );
    }
}
