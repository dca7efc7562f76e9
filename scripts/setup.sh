#!/usr/bin/env bash
# Installs what building (and, with --browsers, testing) Treffpunkt needs, skipping whatever is
# already installed: the wasm32 target, trunk, a wasm-bindgen-cli matching Cargo.lock, the npm
# packages (wasm-opt from binaryen, the browser drivers) and Debian's Chromium and Firefox ESR.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

TRUNK_VERSION=0.21.14
with_browsers=false
[[ "${1:-}" == "--browsers" ]] && with_browsers=true

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]]; then
  say "installing trunk $TRUNK_VERSION (takes several minutes, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# Trunk only uses a system wasm-bindgen whose version equals the one in Cargo.lock.
[[ -f Cargo.lock ]] || cargo generate-lockfile
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  say "installing wasm-bindgen-cli $bindgen_version"
  # Not --locked: its lock file wants a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

if [[ ! -x e2e/node_modules/.bin/wasm-opt || e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]]; then
  say "installing npm packages (wasm-opt, browser drivers)"
  (cd e2e && npm ci --no-audit --no-fund)
fi

if $with_browsers; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v firefox-esr >/dev/null || missing+=(firefox-esr)
  if ((${#missing[@]})); then
    say "installing ${missing[*]} from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi
