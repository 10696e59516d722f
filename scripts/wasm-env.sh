#! wasm-env.sh: settings every wasm build shares; sourced by build-wasm.sh, build-gateways.sh and `./x lint`.
#
# A panic location names its source file, and a dependency's file sits in this
# machine's cargo registry (~/.cargo/registry/src/<index>/serde_json-1.0.x/src/read.rs).
# Remapped to the crate's own path (serde_json-1.0.x/src/read.rs), no shipped module
# carries a path of the machine that built it (and the raw module is ~240 bytes smaller).
remap=""
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  case "$dir" in *[[:space:]]*) continue ;; esac # rustflags split on spaces
  if [ -d "$dir" ]; then remap="$remap --remap-path-prefix=$dir="; fi
done
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-}$remap"
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="${CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS:-}$remap"
unset remap dir
