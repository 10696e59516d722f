#!/usr/bin/env bash
# build-asset.sh: build the Sensu Go asset (Bonsai layout) from a static musl build of
# sensu-reactio-handler, so it runs on any x86_64 Linux a Sensu agent or backend runs on
# (old glibc and Alpine included).
#
# usage: packaging/build-asset.sh [--dev] [--out DIR] [--version V] [--url-base URL] [--setup]
#
#   --dev        dev-profile build (fast, unoptimised; what the tests use). Default: --release.
#   --out DIR    where the asset goes (default: $CARGO_TARGET_DIR or target, then /asset).
#   --version V  version in the file names (default: the workspace version in Cargo.toml).
#   --url-base   where the tarball will be downloadable, for the generated Sensu `Asset`
#                definition (default: the repository's GitHub release for the version).
#   --setup      only install what the build needs (musl target, musl-gcc), then exit.
#
# Produces, in DIR:
#   sensu-reactio-handler_<V>_linux_amd64.tar.gz          bin/sensu-reactio-handler, README.md,
#                                                          LICENSE (when the repository has one)
#   sensu-reactio-handler_<V>_linux_amd64.tar.gz.sha512   `<sha512>  <file>` (sha512sum -c)
#   sensu-reactio-handler_<V>_sha512-checksums.txt        the same line, named as Bonsai expects
#   sensu-reactio-handler_<V>_asset.yml                   `sensuctl create -f` Asset definition
#   .bonsai.yml                                           copy of packaging/.bonsai.yml
#
# The binary is built with --no-default-features: without the `wasm-engine` feature
# (wasmtime), so `--engine wasm` is not available from the asset (the native engine makes
# the same decisions byte for byte). That keeps the asset small and the musl build short.
# The handler uses rustls with ring: ring's C code needs a musl C compiler (Debian's
# musl-tools), which this script installs with apt-get when it runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
name=sensu-reactio-handler
profile=release
out=""
version=""
url_base=""
setup_only=false

die() { echo "build-asset: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dev) profile=dev ;;
    --release) profile=release ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a value"; version="$2"; shift ;;
    --url-base) [ $# -ge 2 ] || die "--url-base needs a URL"; url_base="$2"; shift ;;
    --setup) setup_only=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see packaging/build-asset.sh --help)" ;;
  esac
  shift
done

# --- what the build needs --------------------------------------------------------------
if ! grep -qx "$target" <<<"$(rustup target list --installed 2>/dev/null)"; then
  rustup target add "$target" >/dev/null || die "cannot add the rust target $target; run: rustup target add $target"
fi
if ! command -v musl-gcc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build-asset: installing musl-tools (musl-gcc, for ring's C code)" >&2
    apt-get install -y -qq musl-tools >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq musl-tools >/dev/null; } \
      || die "apt-get could not install musl-tools; install it (Debian/Ubuntu: apt-get install musl-tools)"
  else
    die "musl-gcc not found: install musl-tools (Debian/Ubuntu: sudo apt-get install musl-tools), or run this script as root"
  fi
fi
if $setup_only; then exit 0; fi

# --- build -----------------------------------------------------------------------------
if [ -z "$version" ]; then
  version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)"
  version="${version%%$'\n'*}"
  [ -n "$version" ] || die "cannot read the workspace version from Cargo.toml; pass --version"
fi
target_dir="${CARGO_TARGET_DIR:-target}"
out="${out:-$target_dir/asset}"
url_base="${url_base:-https://github.com/sensu-reactio/sensu-reactio/releases/download/v$version}"
if [ "$profile" = dev ]; then profile_dir=debug; else profile_dir=release; fi

locked=()
if [ "$profile" = release ]; then locked=(--locked); fi
# Static, non-PIE, C parts by musl-gcc: .cargo/config.toml sets both for this target.
cargo build "${locked[@]}" --profile "$profile" --target "$target" \
    -p sensu-reactio-host --bin "$name" --no-default-features
bin="$target_dir/$target/$profile_dir/$name"
[ -x "$bin" ] || die "cargo did not produce $bin"

# Static: no program interpreter (PT_INTERP) in the ELF headers.
if command -v readelf >/dev/null && grep -q 'Requesting program interpreter' <<<"$(readelf -lW "$bin")"; then
  die "$bin is dynamically linked; the asset must be a static musl build"
fi

# --- package ---------------------------------------------------------------------------
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$out"
install -m 0755 "$bin" "$stage/bin/$name"
for doc in README.md LICENSE LICENSE.md LICENSE-MIT; do
  if [ -f "$doc" ]; then install -m 0644 "$doc" "$stage/$doc"; fi
done

tarball="${name}_${version}_linux_amd64.tar.gz"
# Reproducible: fixed order, owner and time (SOURCE_DATE_EPOCH, else the last commit).
mtime="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
members=()
for entry in "$stage"/*; do members+=("$(basename "$entry")"); done
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
  -C "$stage" -cf - "${members[@]}" | gzip -9n >"$out/$tarball"

sha="$(sha512sum "$out/$tarball" | awk '{print $1}')"
printf '%s  %s\n' "$sha" "$tarball" >"$out/$tarball.sha512"
printf '%s  %s\n' "$sha" "$tarball" >"$out/${name}_${version}_sha512-checksums.txt"
cp packaging/.bonsai.yml "$out/.bonsai.yml"
cat >"$out/${name}_${version}_asset.yml" <<YAML
# Sensu Go Asset for sensu-reactio-handler $version (generated by packaging/build-asset.sh).
# Upload the tarball to the url below, then: sensuctl create -f ${name}_${version}_asset.yml
type: Asset
api_version: core/v2
metadata:
  name: sensu-reactio/sensu-reactio-handler
spec:
  builds:
    - url: $url_base/$tarball
      sha512: $sha
      filters:
        - entity.system.os == 'linux'
        - entity.system.arch == 'amd64'
YAML

size="$(wc -c <"$out/$tarball")"
echo "build-asset: $out/$tarball ($size bytes, $profile build, binary $(wc -c <"$bin") bytes)"
