#!/usr/bin/env bash
#! build-wasm.sh: build both wasm artifacts of `wasm/` (called by `./x build`).
#
#   wasm/pkg/sensu_reactio_core.wasm   the import-free raw-ABI module (wasmtime, gateways)
#   wasm/js/pkg/                       the wasm-bindgen output behind the npm package
#
# Needs the wasm32-unknown-unknown target and wasm-bindgen-cli at the pinned version
# (`./x setup` installs both). If wasm/js/node_modules has binaryen (npm, >= 132), its
# wasm-opt shrinks both modules; Debian's wasm-opt (108) corrupts wasm-bindgen output
# and is never used.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-env.sh

target_dir="${CARGO_TARGET_DIR:-target}"
out="$target_dir/wasm32-unknown-unknown/wasm/sensu_reactio_wasm.wasm"
out_js="$target_dir/wasm32-unknown-unknown/wasm-js/sensu_reactio_wasm.wasm"
pin="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)"

if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$pin" ]; then
  echo "error: wasm-bindgen-cli $pin is not installed; run ./x setup (or scripts/setup-tools.sh)" >&2
  exit 1
fi

wasm_opt=""
if [ -x wasm/js/node_modules/.bin/wasm-opt ]; then wasm_opt=wasm/js/node_modules/.bin/wasm-opt; fi
optimize() { # file [extra flags]
  if [ -n "$wasm_opt" ]; then
    local file="$1"; shift
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals "$@" "$file" -o "$file.opt"
    mv "$file.opt" "$file"
  fi
}

# 1. The raw-ABI module.
cargo build -p sensu-reactio-wasm --lib --target wasm32-unknown-unknown --profile wasm --features raw
mkdir -p wasm/pkg
cp "$out" wasm/pkg/sensu_reactio_core.wasm
# After -Oz, flatten and re-loop the control flow and shrink twice more: about 2 KB
# less than -Oz alone (the raw module's 200 KB budget, decisions.md).
optimize wasm/pkg/sensu_reactio_core.wasm --strip-debug --strip-producers --flatten --rereloop -Oz -Oz

# 2. The wasm-bindgen build of the same crate, and its JS glue (target `web`: one
#    .wasm file, initialised by wasm/js/node.js under Node or by the caller elsewhere).
#    Profile `wasm-js` (opt-level 2: faster per call, within 300 KB; Cargo.toml).
# wasm-bindgen reads the `target_features` section, which `strip` would drop; wasm-opt
# strips afterwards (-Oz: as fast as -O2 here, 3.5 KB smaller; the raw module's extra
# passes take 2.4 KB more, no slower under Node). Core feature `sparse-events` (via
# `bindgen`): the sparse event reader, a plan ~12% faster under Node for ~9 KB.
CARGO_PROFILE_WASM_JS_STRIP=false cargo build -p sensu-reactio-wasm --lib --target wasm32-unknown-unknown --profile wasm-js --features bindgen
rm -rf wasm/js/pkg
wasm-bindgen --target web --out-dir wasm/js/pkg --out-name sensu_reactio "$out_js"
optimize wasm/js/pkg/sensu_reactio_bg.wasm --strip-debug --strip-producers --flatten --rereloop -Oz -Oz

for f in wasm/pkg/sensu_reactio_core.wasm wasm/js/pkg/sensu_reactio_bg.wasm; do
  printf '%s: %s bytes (%s gzipped)\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done
