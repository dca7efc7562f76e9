#!/usr/bin/env bash
# TURN relaying benchmark: the Treffpunkt relay's built-in TURN and coturn (Debian's `coturn`)
# on the same machine, in the same run, under the same load (`turnload`: clients that each relay
# a steady stream of datagrams through one allocation to a peer socket, with coturn's
# use-auth-secret credentials that both servers accept). The server runs on CPU 0, the load on
# CPU 1, inside a network namespace of its own, so no packet leaves the machine.
#
# Usage: bash scripts/bench-turn.sh [SECONDS] [CLIENTS] [RATE]   (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-20}"
CLIENTS="${2:-50}"
RATE="${3:-200}"

# shellcheck source=scripts/bench-netns.sh
source scripts/bench-netns.sh
bench_netns "$0" "$@" -- coturn:turnserver -- -p relay -p loadgen --bin relay --bin turnload

SECRET="bench-$(date +%s)"

echo "## TURN benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r): $CLIENTS allocations x $RATE packets/s x 1000 bytes"
for server in treffpunkt coturn; do
  if [[ $server == treffpunkt ]]; then
    taskset -c 0 "$TARGET/release/relay" --listen 127.0.0.1:8091 --turn-listen "$IP:3478" \
      --turn-secret "$SECRET" --turn-relay-ports 40000-40999 > "$WORK/relay.log" 2>&1 &
  else
    # The same ports and secret; no TLS, no database, no CLI, log to the work folder.
    taskset -c 0 turnserver --listening-ip "$IP" --relay-ip "$IP" --listening-port 3478 \
      --min-port 40000 --max-port 40999 --use-auth-secret --static-auth-secret "$SECRET" \
      --realm treffpunkt --no-tls --no-dtls --no-cli --fingerprint --allow-loopback-peers \
      --log-file "$WORK/coturn.log" --simple-log --no-stdout-log > /dev/null 2>&1 &
  fi
  pid=$!
  sleep 2
  echo
  echo "### $server"
  taskset -c 1 "$TARGET/release/turnload" --server "$IP:3478" --secret "$SECRET" --bind "$IP" \
    --clients "$CLIENTS" --rate "$RATE" --seconds "$SECONDS_PER_RUN" --server-pid "$pid" \
    --label "$server" || { tail -5 "$WORK"/*.log; }
  kill "$pid"; wait "$pid" 2> /dev/null || true
done
