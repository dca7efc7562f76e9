#!/usr/bin/env bash
# What abusive clients cost everyone else: a class (3 cameras, 27 watching) in a room with server
# forwarding, first alone, then beside 20 abusers that loop join, offer and leave on new
# connections as fast as the relay lets them (loadgen --abusers). Same relay build, same media,
# same machine, back to back in one run. The relay runs on CPU 0, the load generator on CPU 1,
# inside a network namespace of its own (loopback + a veth pair), so no packet leaves the machine.
#
# Usage: bash scripts/bench-abuse.sh [SECONDS]     (as root, or with sudo available)
# Prints one Markdown table per run; docs/benchmarks.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-20}"

# shellcheck source=scripts/bench-netns.sh
source scripts/bench-netns.sh
bench_netns "$0" "$@" -- -- -p relay -p loadgen

run() { # LABEL, then loadgen arguments
  local label="$1"; shift
  # The relay's default limits, except connections per address: every synthetic client comes
  # from the same address here.
  taskset -c 0 "$TARGET/release/relay" --listen 127.0.0.1:8090 --sfu-rooms 'bench-*' \
    --media-listen "$IP:0" --max-connections-per-address 100000 > "$WORK/relay.log" 2>&1 &
  local pid=$!
  sleep 2
  echo
  echo "### $label"
  taskset -c 1 "$TARGET/release/loadgen" --url ws://127.0.0.1:8090/ws --bind "$IP" \
    --server-pid "$pid" --seconds "$SECONDS_PER_RUN" --label "$label" \
    --rooms 1 --publishers 3 --listeners 27 --ramp-ms 30 "$@" 2> "$WORK/loadgen.log" \
    || { tail -20 "$WORK/loadgen.log"; }
  kill "$pid"; wait "$pid" 2> /dev/null || true
  echo
  echo "relay warnings: $(grep -c WARN "$WORK/relay.log" || true)"
}

echo "## Abuse benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
run "a class alone"
run "the same class beside 20 abusers" --abusers 20
