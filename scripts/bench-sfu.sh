#!/usr/bin/env bash
# Server forwarding benchmark: the Treffpunkt relay and Janus VideoRoom (Debian's `janus`) on the
# same machine, in the same run, driven by the same load generator with the same media (real VP8
# simulcast + Opus, see loadgen/assets). The server runs on CPU 0, the load generator on CPU 1.
# Everything happens inside a network namespace of its own (loopback + a veth pair, as the
# browser tests use), so no packet leaves the machine.
#
# Usage: bash scripts/bench-sfu.sh [SECONDS]     (as root, or with sudo available)
# Prints one Markdown table per scenario and server; docs/benchmarks.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-20}"

# shellcheck source=scripts/bench-netns.sh
source scripts/bench-netns.sh
bench_netns "$0" "$@" -- janus:janus -- -p relay -p loadgen

# Janus: only the VideoRoom plugin and the WebSocket transport, candidates on the veth only.
cp -r /etc/janus "$WORK/janus"
sed -i -e "s|configs_folder = \"/etc/janus\"|configs_folder = \"$WORK/janus\"|" \
  -e "s|ice_ignore_list = \"vmnet\"|ice_enforce_list = \"tpa\"|" \
  -e 's|debug_level = 4|debug_level = 2|' \
  -e 's|^plugins: {|plugins: {\n\tdisable = "libjanus_audiobridge.so,libjanus_echotest.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_nosip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so,libjanus_lua.so,libjanus_duktape.so"|' \
  -e 's|^transports: {|transports: {\n\tdisable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"|' \
  "$WORK/janus/janus.jcfg"

run_scenario() { # NAME, then loadgen arguments
  local name="$1"; shift
  for server in treffpunkt janus; do
    if [[ $server == treffpunkt ]]; then
      taskset -c 0 "$TARGET/release/relay" --listen 127.0.0.1:8090 --sfu-rooms 'bench-*' \
        --room-capacity 200 --media-listen "$IP:0" --max-connections-per-address 100000 \
        > "$WORK/relay.log" 2>&1 &
      url=ws://127.0.0.1:8090/ws
    else
      taskset -c 0 janus -F "$WORK/janus" -o > "$WORK/janus.log" 2>&1 &
      url=ws://127.0.0.1:8188
    fi
    local pid=$!
    sleep 2
    echo
    echo "### $name — $server"
    taskset -c 1 "$TARGET/release/loadgen" --target "$server" --url "$url" --bind "$IP" \
      --server-pid "$pid" --seconds "$SECONDS_PER_RUN" --label "$name, $server" "$@" 2> "$WORK/loadgen.log" \
      || { tail -20 "$WORK/loadgen.log"; }
    kill "$pid"; wait "$pid" 2> /dev/null || true
  done
}

echo "## SFU benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
# One video layer for both servers, so both forward exactly the same bytes (Janus would pick its
# own simulcast layer for each subscriber).
run_scenario "1 speaker to 100 listeners" --rooms 1 --publishers 1 --listeners 100 --ramp-ms 30 --no-simulcast
run_scenario "10 rooms of 5 (everyone publishes)" --rooms 10 --publishers 5 --listeners 0 --ramp-ms 30 --no-simulcast
run_scenario "10 rooms of 10 (3 cameras, 7 watching)" --rooms 10 --publishers 3 --listeners 7 --ramp-ms 30 --no-simulcast
