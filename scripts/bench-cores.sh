#!/usr/bin/env bash
# Server forwarding over several cores: ten classes of 30 (3 cameras, 27 watching: 300 synthetic
# participants sending real VP8 simulcast and Opus) against the relay with one media loop and
# with one per core, back to back in one run, inside a network namespace of its own (loopback + a
# veth pair), so no packet leaves the machine. After each run it prints how much CPU time each of
# the relay's media threads used: with several loops, the rooms' work is spread over them.
#
# Usage: bash scripts/bench-cores.sh [SECONDS]     (as root, or with sudo available)
# Prints one Markdown table per run; docs/benchmarks.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-20}"

# shellcheck source=scripts/bench-netns.sh
source scripts/bench-netns.sh
bench_netns "$0" "$@" -- -- -p relay -p loadgen
CORES="$(nproc)"
TICKS="$(getconf CLK_TCK)"

# LABEL, CPUs for the relay, CPUs for the load generator, media loops
run() {
  local label="$1" relay_cpus="$2" load_cpus="$3" loops="$4"
  taskset -c "$relay_cpus" "$TARGET/release/relay" --listen 127.0.0.1:8090 --sfu-rooms 'bench-*' \
    --room-capacity 200 --media-listen "$IP:0" --max-connections-per-address 100000 \
    --media-threads "$loops" > "$WORK/relay.log" 2>&1 &
  local pid=$!
  sleep 2
  echo
  echo "### $label"
  taskset -c "$load_cpus" "$TARGET/release/loadgen" --url ws://127.0.0.1:8090/ws --bind "$IP" \
    --server-pid "$pid" --seconds "$SECONDS_PER_RUN" --label "$label" \
    --rooms 10 --publishers 3 --listeners 27 --ramp-ms 30 2> "$WORK/loadgen.log" \
    || { tail -20 "$WORK/loadgen.log"; }
  echo
  echo "relay threads, CPU seconds over the whole run:"
  for task in /proc/"$pid"/task/*; do
    # comm may hold spaces; the figures are counted from the end of stat's ")" field.
    awk -v name="$(cat "$task/comm")" -v hz="$TICKS" '{
      sub(/^.*\) /, ""); ticks = $12 + $13
      if (ticks > 0) printf "  %-16s %6.2f s\n", name, ticks / hz
    }' "$task/stat"
  done
  kill "$pid"; wait "$pid" 2> /dev/null || true
}

last=$((CORES - 1))
echo "## Media loops benchmark, $(date -u +%Y-%m-%d), $CORES cores, $(uname -r)"
# As the issue measured it: the relay alone on one core, the load on the others.
run "1 loop, relay on CPU 0, load on CPU 1-$last" 0 "1-$last" 1
# The relay may use every core, the load generator too (it needs about one of them).
run "1 loop, relay and load on all cores" "0-$last" "0-$last" 1
run "2 loops, relay and load on all cores" "0-$last" "0-$last" 2
if [[ $CORES -gt 2 ]]; then
  run "$CORES loops, relay and load on all cores" "0-$last" "0-$last" "$CORES"
fi
