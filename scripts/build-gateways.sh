#!/usr/bin/env bash
#! build-gateways.sh: build the gateway adapters (called by `./x build`); idempotent.
#
#   wasm/wasi-http/pkg/sensu_reactio_wasi_http.wasm   wasi:http/proxy component (wasm32-wasip2)
#   wasm/js/edge/pkg/                                  JS edge driver (wasm-bindgen, --target web)
#   wasm/pkg/sensu_reactio_proxy_wasm.wasm            proxy-wasm filter for Envoy (wasm32-unknown-unknown)
#
# Installs the rust targets it needs and wasm-tools (pinned, when missing);
# wasm-bindgen-cli at the pinned version comes from `./x setup` (scripts/setup-tools.sh).
# If wasm/js/node_modules has binaryen, its wasm-opt shrinks the modules. Each section is one adapter; append new ones.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-env.sh

target_dir="${CARGO_TARGET_DIR:-target}"
size() { printf '%s: %s bytes (%s gzipped)\n' "$1" "$(wc -c <"$1")" "$(gzip -9c "$1" | wc -c)"; }

# --- wasi:http component -------------------------------------------------------------
# binaryen cannot read components, so: link the core module only (no wit-component
# step in rustc's linker), shrink it with wasm-opt, then make the component with
# `wasm-tools component new` (the module imports only wasi 0.2 interfaces: no adapter).
rustup target add wasm32-wasip2 >/dev/null
wasm_tools_pin=1.263.0
if ! command -v wasm-tools >/dev/null || [ "$(wasm-tools --version | awk '{print $2}')" != "$wasm_tools_pin" ] ||
  ! wasm-tools strip --help >/dev/null 2>&1; then
  cargo install wasm-tools --locked --force --version "=$wasm_tools_pin" --no-default-features --features component,strip
fi
cargo rustc -p sensu-reactio-wasi-http --lib --crate-type cdylib --target wasm32-wasip2 --profile wasm \
  -- -C link-arg=--skip-wit-component
mkdir -p wasm/wasi-http/pkg
core="wasm/wasi-http/pkg/sensu_reactio_wasi_http.core.wasm"
cp "$target_dir/wasm32-wasip2/wasm/sensu_reactio_wasi_http.wasm" "$core"
# After -Oz, the raw module's flatten, re-loop and two more -Oz (build-wasm.sh): ~2 KB less.
if [ -x wasm/js/node_modules/.bin/wasm-opt ]; then
  wasm/js/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
    --flatten --rereloop -Oz -Oz "$core" -o "$core.opt"
  mv "$core.opt" "$core"
fi
# `strip --all` then drops the component's custom sections: its `component-name` section
# (debug names for the shim functions and instances `component new` makes, ~8 KB) and the
# producers sections. No host runs them; the core module has none left after wasm-opt.
wasm-tools component new "$core" -o "$core.component"
wasm-tools strip --all "$core.component" -o wasm/wasi-http/pkg/sensu_reactio_wasi_http.wasm
rm "$core" "$core.component"
size wasm/wasi-http/pkg/sensu_reactio_wasi_http.wasm

# --- JS edge driver (wasm/edge -> wasm/js/edge/pkg) ------------------------------------
rustup target add wasm32-unknown-unknown >/dev/null
pin="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)"
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$pin" ]; then
  echo "error: wasm-bindgen-cli $pin is not installed; run ./x setup (or scripts/setup-tools.sh)" >&2
  exit 1
fi
# wasm-bindgen reads the `target_features` section, which `strip` would drop.
CARGO_PROFILE_WASM_STRIP=false cargo build -p sensu-reactio-edge --lib --target wasm32-unknown-unknown --profile wasm
rm -rf wasm/js/edge/pkg
wasm-bindgen --target web --no-typescript --out-dir wasm/js/edge/pkg --out-name sensu_reactio_edge \
  "$target_dir/wasm32-unknown-unknown/wasm/sensu_reactio_edge.wasm"
if [ -x wasm/js/node_modules/.bin/wasm-opt ]; then
  f=wasm/js/edge/pkg/sensu_reactio_edge_bg.wasm
  wasm/js/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers "$f" -o "$f.opt"
  mv "$f.opt" "$f"
fi
size wasm/js/edge/pkg/sensu_reactio_edge_bg.wasm

# --- proxy-wasm filter (Envoy, Istio, Envoy Gateway) -----------------------------------
# wasm/proxy-wasm -> wasm/pkg/sensu_reactio_proxy_wasm.wasm (imports only env.proxy_*).
rustup target add wasm32-unknown-unknown >/dev/null
cargo build -p sensu-reactio-proxy-wasm --lib --target wasm32-unknown-unknown --profile wasm
mkdir -p wasm/pkg
cp "$target_dir/wasm32-unknown-unknown/wasm/sensu_reactio_proxy_wasm.wasm" wasm/pkg/sensu_reactio_proxy_wasm.wasm
# The raw module's passes after -Oz, as for the component above: ~3 KB less. Before
# them, the SDK's exports for callbacks the host makes only for what the filter never
# starts are removed, with the code behind them (~3.9 KB): gRPC calls and streams,
# tick timers and shared queues. Envoy (proxy-wasm-cpp-host) skips a callback the
# module does not export; every export the filter's HTTP handling uses stays.
if [ -x wasm/js/node_modules/.bin/wasm-opt ]; then
  f=wasm/pkg/sensu_reactio_proxy_wasm.wasm
  wasm/js/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --strip-debug --strip-producers \
    --remove-exports='proxy_on_grpc_*,proxy_on_tick,proxy_on_queue_ready' \
    --flatten --rereloop -Oz -Oz "$f" -o "$f.opt"
  mv "$f.opt" "$f"
fi
size wasm/pkg/sensu_reactio_proxy_wasm.wasm
