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

if [[ -z "${TP_BENCH_INSIDE:-}" ]]; then
  if ! command -v turnserver > /dev/null; then
    echo "==> installing coturn (Debian package)"
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q coturn > /dev/null
  fi
  echo "==> building the relay and the TURN load generator (release)"
  cargo build --release -q -p relay -p loadgen --bin relay --bin turnload
  if [[ $(id -u) -eq 0 ]]; then
    exec unshare --net env TP_BENCH_INSIDE=1 bash e2e/netns.sh bash "$0" "$@"
  fi
  exec sudo unshare --net env TP_BENCH_INSIDE=1 PATH="$PATH" bash e2e/netns.sh bash "$0" "$@"
fi

IP="$E2E_MEDIA_IP"
SECRET="bench-$(date +%s)"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$WORK"' EXIT

echo "## TURN benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r): $CLIENTS allocations x $RATE packets/s x 1000 bytes"
for server in treffpunkt coturn; do
  if [[ $server == treffpunkt ]]; then
    taskset -c 0 target/release/relay --listen 127.0.0.1:8091 --turn-listen "$IP:3478" \
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
  taskset -c 1 target/release/turnload --server "$IP:3478" --secret "$SECRET" --bind "$IP" \
    --clients "$CLIENTS" --rate "$RATE" --seconds "$SECONDS_PER_RUN" --server-pid "$pid" \
    --label "$server" || { tail -5 "$WORK"/*.log; }
  kill "$pid"; wait "$pid" 2> /dev/null || true
done
