#!/usr/bin/env bash
# Runs every test: Rust unit and relay integration tests, then the browser end-to-end tests in
# Chromium and Firefox against the real relay serving the release build of the app. Ends with one
# line that says how many tests ran, passed and failed, and how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
stages=()
stage_name=''
stage_start=0
rust_summary='Rust tests not run'
browser_summary='browser tests not run'
lab_summary='NAT lab not run'

# Ends the running stage (if any) and starts the next one.
stage() {
  local now
  now=$(date +%s)
  [[ -n $stage_name ]] && stages+=("$stage_name $(duration $((now - stage_start)))")
  stage_name=$1
  stage_start=$now
  [[ -n $1 ]] && printf '\033[1m==> %s\033[0m\n' "$2"
  return 0
}

duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Sums cargo's "test result: ok. 12 passed; 0 failed; 1 ignored; ..." lines.
count_rust() {
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
       END { printf "Rust tests: %d passed, %d failed, %d ignored", p, f, s }' "$1"
}

# Reads node's test runner summary ("# tests 44", "# pass 44", "# fail 0", ...).
count_browser() {
  awk '/^# (tests|pass|fail|skipped|todo|cancelled) [0-9]+$/ { n[$2] = $3 }
       END { printf "browser tests: %d ran, %d passed, %d failed", n["tests"], n["pass"], n["fail"] + n["cancelled"];
             if (n["skipped"] + n["todo"]) printf ", %d skipped", n["skipped"] + n["todo"] }' "$1"
}

summary() {
  local code=$?
  stage ''
  [[ -s $logs/rust.log ]] && rust_summary=$(count_rust "$logs/rust.log")
  [[ -s $logs/browser.log ]] && browser_summary=$(count_browser "$logs/browser.log")
  [[ -s $logs/lab.log ]] && lab_summary=$(count_browser "$logs/lab.log" | sed 's/^browser tests/NAT lab tests/')
  local verdict=PASSED
  ((code == 0)) || verdict="FAILED (exit $code)"
  printf '\n\033[1m==> %s. %s; %s; %s. Time: %s.\033[0m\n' "$verdict" "$rust_summary" "$browser_summary" "$lab_summary" "${stages[*]}"
  rm -rf "$logs"
}
trap summary EXIT

stage setup "installing what is missing"
bash scripts/setup.sh --browsers
export PATH="$PWD/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

stage lints "formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --exclude app --all-targets -- -D warnings
cargo clippy -p app --target wasm32-unknown-unknown -- -D warnings
node scripts/import-cycles.mjs relay/src app/src client/src protocol/src loadgen/src
bash packaging/verify-unit.sh

stage rust "Rust tests (protocol, client logic, relay)"
cargo test --workspace --exclude app 2>&1 | tee "$logs/rust.log"

stage build "building the app and the relay for the browser tests"
trunk build --release
# The shipped (release) relay, and the load generator whose synthetic participants join the
# twelve-person test.
cargo build --release -p relay -p loadgen

stage browser "browser tests (Chromium and Firefox), in a network namespace of their own"
cd e2e
if [[ $(id -u) -eq 0 ]]; then
  unshare --net bash ./netns.sh npm test 2>&1 | tee "$logs/browser.log"
else
  sudo unshare --net bash ./netns.sh sudo -u "$(id -un)" env PATH="$PATH" HOME="$HOME" npm test 2>&1 | tee "$logs/browser.log"
fi

stage lab "calls across NAT routers and firewalls (the NAT lab: network namespaces and nftables, as root)"
if [[ $(id -u) -eq 0 ]]; then
  unshare --net npm run --silent test:lab 2>&1 | tee "$logs/lab.log"
else
  sudo unshare --net env PATH="$PATH" HOME="$HOME" npm run --silent test:lab 2>&1 | tee "$logs/lab.log"
fi
