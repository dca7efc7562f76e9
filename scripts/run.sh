#!/usr/bin/env bash
# Builds the app and the relay, then runs the relay serving the app. Prints the URL to open.
# Flags are passed to the relay, e.g. `scripts/run.sh --listen 0.0.0.0:8080` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

echo "==> building the app (trunk build --release)"
trunk build --release
echo "==> building the relay"
cargo build --release -p relay
exec "${CARGO_TARGET_DIR:-target}/release/relay" --static-dir dist "$@"
