#!/usr/bin/env bash
#! setup-tools.sh: what the wasm builds and JS tests need (`./x setup` calls it): wasm-bindgen-cli at the pin, the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# wasm-bindgen-cli must match the `wasm-bindgen` pin in Cargo.toml exactly.
pin="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)"
if [ -z "$pin" ]; then
  echo "error: no exact wasm-bindgen pin (wasm-bindgen = \"=x.y.z\") in Cargo.toml [workspace.dependencies]" >&2
  exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$pin" ]; then
  echo "installing wasm-bindgen-cli $pin (a few minutes)" >&2
  # --locked first; its lock file may name a crate version the registry no longer
  # offers, and then the newest compatible dependencies are used instead.
  cargo install wasm-bindgen-cli --version "$pin" --locked --force ||
    cargo install wasm-bindgen-cli --version "$pin" --force
fi

# The npm package's dev tools (binaryen's wasm-opt, >= 132), exactly as locked.
(cd wasm/js && npm ci --no-audit --no-fund --loglevel=error)
