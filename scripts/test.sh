#!/usr/bin/env bash
# Runs every test: Rust unit and relay integration tests, then the browser end-to-end tests in
# Chromium and Firefox against the real relay serving the release build of the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browsers
export PATH="$PWD/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"

echo "==> formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --exclude app --all-targets -- -D warnings
cargo clippy -p app --target wasm32-unknown-unknown -- -D warnings

echo "==> Rust tests (protocol, client logic, relay)"
cargo test --workspace --exclude app

echo "==> building the app and the relay for the browser tests"
trunk build --release
# The shipped (release) relay, and the load generator whose synthetic participants join the
# twelve-person test.
cargo build --release -p relay -p loadgen

echo "==> browser tests (Chromium and Firefox), in a network namespace of their own"
cd e2e
if [[ $(id -u) -eq 0 ]]; then
  unshare --net bash ./netns.sh npm test
else
  sudo unshare --net bash ./netns.sh sudo -u "$(id -un)" env PATH="$PATH" HOME="$HOME" npm test
fi
