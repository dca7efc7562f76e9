#!/usr/bin/env bash
# Installs what building (and, with --browsers, testing) Treffpunkt needs, skipping whatever is
# already installed: the Rust toolchain named in rust-toolchain.toml with its wasm32 target,
# trunk, a wasm-bindgen-cli matching Cargo.lock, the npm packages (wasm-opt from binaryen, the
# browser drivers) and Debian's Chromium and Firefox ESR.
#
# Downloads (Debian packages, npm) run in the background while cargo compiles, so a fresh
# machine waits for the compiler only. Each step prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$cargo_bin:$PATH"

TRUNK_VERSION=0.21.14
with_browsers=false
[[ "${1:-}" == "--browsers" ]] && with_browsers=true

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
took() { say "$1 took $(($(date +%s) - $2)) s"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

logs=$(mktemp -d)
background=()
trap 'rm -rf "$logs"' EXIT

# Runs "$@" in the background, its output kept in a log that is shown if it fails.
in_background() {
  local name=$1 log="$logs/${#background[@]}.log"
  shift
  say "$name (in the background)"
  (
    started=$(date +%s)
    if "$@" >"$log" 2>&1; then took "$name" "$started"; else
      say "$name failed:"
      cat "$log"
      exit 1
    fi
  ) &
  background+=($!)
}

if $with_browsers; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v firefox-esr >/dev/null || missing+=(firefox-esr)
  # The NAT lab's routers (e2e/lib/natlab.js) and its lossy links.
  command -v nft >/dev/null || missing+=(nftables)
  command -v tc >/dev/null || missing+=(iproute2)
  # The lab's slow links (e2e/lib/delayline.py: this kernel has no netem).
  [[ -x /usr/bin/python3 ]] || missing+=(python3)
  # The lab's certificate authority for TURN over TLS, and the browsers' trust in it.
  command -v openssl >/dev/null || missing+=(openssl)
  command -v certutil >/dev/null || missing+=(libnss3-tools)
  # The static web server of e2e/tests/static-host.test.js (it runs its own, on its own addresses).
  [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  # A virtual display for Firefox sharing a screen (e2e/lib/display.js): headless Firefox has no
  # screen to capture.
  command -v Xvfb >/dev/null || missing+=(xvfb)
  if ((${#missing[@]})); then
    install_browsers() {
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
    }
    in_background "installing ${missing[*]} from Debian" install_browsers "${missing[@]}"
  fi
fi

if [[ ! -x e2e/node_modules/.bin/wasm-opt || e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]]; then
  in_background "installing npm packages (wasm-opt, browser drivers)" \
    bash -c 'cd e2e && npm ci --no-audit --no-fund'
fi

# The toolchain rust-toolchain.toml names (a fresh rustup has none) and its wasm32 target.
started=$(date +%s)
if ! rustup toolchain list | grep -q "^$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)-"; then
  say "installing the Rust toolchain from rust-toolchain.toml"
  rustup toolchain install
  took "the Rust toolchain" "$started"
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
  took "the wasm32 target" "$started"
fi

if [[ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]]; then
  say "installing trunk $TRUNK_VERSION (a few minutes, once)"
  started=$(date +%s)
  # Trunk's own release profile asks for fat LTO in one codegen unit, which keeps one core busy
  # for minutes at the end; a build tool gains nothing from it. Without the update check, trunk
  # never asks crates.io for news while building.
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install trunk --version "$TRUNK_VERSION" --locked --no-default-features --features rustls
  took "trunk" "$started"
fi

# Trunk only uses a system wasm-bindgen whose version equals the one in Cargo.lock.
[[ -f Cargo.lock ]] || cargo generate-lockfile
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  say "installing wasm-bindgen-cli $bindgen_version"
  started=$(date +%s)
  # Not --locked: its lock file wants a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$bindgen_version"
  took "wasm-bindgen-cli" "$started"
fi

failed=0
for job in "${background[@]}"; do
  wait "$job" || failed=1
done
((failed == 0)) || { say "setting up failed (see above)"; exit 1; }
