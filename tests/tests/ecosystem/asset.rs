//! The Sensu Go asset: `packaging/build-asset.sh --dev` (a dev-profile static musl
//! build: the same script and layout as the release asset, which is `--release`, but
//! quick enough for a test), unpacked the way the Sensu agent unpacks assets, its
//! binary checked to be static, and run from the asset's `bin/` on an example event.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// PT_INTERP: a dynamically linked program's request for a loader.
const PT_INTERP: u32 = 3;

fn u16_at(bytes: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> usize {
    usize::try_from(u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))).expect("offset")
}

/// The program header types of a little-endian ELF64 x86-64 executable.
fn program_header_types(elf: &[u8]) -> Vec<u32> {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not ELF64");
    assert_eq!(elf[5], 1, "not little-endian");
    assert_eq!(u16_at(elf, 18), 62, "not x86-64");
    let (phoff, phentsize, phnum) = (u64_at(elf, 32), u16_at(elf, 54), u16_at(elf, 56));
    (0..phnum).map(|i| u32_at(elf, phoff + i * phentsize)).collect()
}

fn command_output(program: &str, args: &[&str], cwd: &Path) -> String {
    let out = Command::new(program).args(args).current_dir(cwd).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_built_asset_unpacks_and_runs_its_static_handler() {
    let out = scratch("asset");
    let build = Command::new("bash")
        .arg(repo_path("packaging/build-asset.sh"))
        .args(["--dev", "--out", path_str(&out)])
        .current_dir(repo())
        .output()
        .expect("run packaging/build-asset.sh");
    let log = format!("{}\n{}", String::from_utf8_lossy(&build.stdout), String::from_utf8_lossy(&build.stderr));
    assert!(
        build.status.success(),
        "packaging/build-asset.sh --dev failed (set up with `packaging/build-asset.sh --setup`):\n{log}"
    );

    // The files Bonsai and sensuctl expect, named after the workspace version.
    let version = env!("CARGO_PKG_VERSION");
    let tarball = format!("sensu-reactio-handler_{version}_linux_amd64.tar.gz");
    for file in [
        tarball.clone(),
        format!("{tarball}.sha512"),
        format!("sensu-reactio-handler_{version}_sha512-checksums.txt"),
        format!("sensu-reactio-handler_{version}_asset.yml"),
        ".bonsai.yml".to_owned(),
    ] {
        assert!(out.join(&file).is_file(), "{file} is missing from the asset output: {log}");
    }
    // The checksum file verifies, and the Asset definition carries the same sum.
    assert!(command_output("sha512sum", &["-c", &format!("{tarball}.sha512")], &out).contains(": OK"));
    let sum = std::fs::read_to_string(out.join(format!("{tarball}.sha512"))).unwrap();
    let sum = sum.split_whitespace().next().expect("a sum");
    assert_eq!(sum.len(), 128);
    let asset_yml = std::fs::read_to_string(out.join(format!("sensu-reactio-handler_{version}_asset.yml"))).unwrap();
    let asset: Value = serde_norway::from_str(&asset_yml).expect("the Asset definition is YAML");
    assert_eq!(asset["type"], "Asset");
    assert_eq!(asset["metadata"]["name"], "sensu-reactio/sensu-reactio-handler");
    assert_eq!(asset["spec"]["builds"][0]["sha512"], sum);
    assert!(asset["spec"]["builds"][0]["url"].as_str().unwrap_or("").ends_with(&tarball));
    // .bonsai.yml's file name patterns resolve to the files built.
    let bonsai: Value = serde_norway::from_str(&std::fs::read_to_string(out.join(".bonsai.yml")).unwrap()).unwrap();
    let build0 = &bonsai["builds"][0];
    assert_eq!(build0["asset_filename"].as_str().unwrap().replace("#{version}", version), tarball);
    let sha_file = build0["sha_filename"].as_str().unwrap().replace("#{version}", version);
    assert!(out.join(&sha_file).is_file(), "{sha_file}");

    // Unpacked as the agent does: bin/ holds the handler, nothing else is needed.
    let unpacked = out.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    command_output("tar", &["-xzf", path_str(&out.join(&tarball)), "-C", path_str(&unpacked)], &out);
    let listing = command_output("tar", &["-tzf", path_str(&out.join(&tarball))], &out);
    assert!(listing.lines().any(|l| l == "bin/sensu-reactio-handler"), "{listing}");
    assert!(listing.lines().all(|l| !l.starts_with('/') && !l.contains("..")), "{listing}");
    let bin = unpacked.join("bin/sensu-reactio-handler");
    let elf = std::fs::read(&bin).expect("the handler is in bin/");
    let types = program_header_types(&elf);
    assert!(!types.is_empty());
    assert!(!types.contains(&PT_INTERP), "the asset's handler must be statically linked (it has a PT_INTERP)");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "executable: {mode:o}");
    }

    // Run from the asset, found on PATH as the agent/backend arranges, on the example
    // Sensu Go event, in dry run.
    let event = std::fs::read(repo_path("examples/events/go-critical.json")).unwrap();
    let cwd = scratch("asset-run");
    let empty = cwd.join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let path = format!("{}:/usr/bin:/bin", path_str(&unpacked.join("bin")));
    let run = sh(
        &format!("sensu-reactio-handler --dry-run --config {}", path_str(&empty)),
        &cwd,
        &[("PATH", &path), ("REACTIO_ORGANIZATION", "demo"), ("REACTIO_SPOOL_DIR", path_str(&cwd.join("spool")))],
        &event,
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("would send POST https://demo.reactio.jp/api/v1/incidents"), "{}", run.stdout);
    assert!(run.stdout.contains("would create an incident for default/web01/check_http"), "{}", run.stdout);
    // The asset has no wasm engine (built without the `wasm-engine` feature): it says so.
    let wasm = sh(
        &format!("sensu-reactio-handler --dry-run --engine wasm --config {}", path_str(&empty)),
        &cwd,
        &[("PATH", &path), ("REACTIO_ORGANIZATION", "demo"), ("REACTIO_SPOOL_DIR", path_str(&cwd.join("spool")))],
        &event,
    );
    assert_ne!(wasm.code, Some(0), "{}", wasm.all());
    assert!(wasm.all().contains("wasm-engine"), "{}", wasm.all());
}
