#!/usr/bin/env bash
#! test-js.sh: the npm package's Node tests (`./x test` calls it after building).
set -euo pipefail
cd "$(dirname "$0")/../wasm/js"
if [ ! -f pkg/sensu_reactio_bg.wasm ]; then
  echo "error: wasm/js/pkg is missing; run ./x build (or scripts/build-wasm.sh)" >&2
  exit 1
fi
if [ ! -d node_modules ]; then
  echo "error: wasm/js/node_modules is missing; run ./x setup (or scripts/setup-tools.sh)" >&2
  exit 1
fi
node --test test/
