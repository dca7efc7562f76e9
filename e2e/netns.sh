#!/usr/bin/env bash
# Runs a command inside a fresh network namespace that has nothing but loopback and a veth pair
# (10.77.0.1 <-> 10.77.0.2) with a default route into it. Browsers gather WebRTC candidates on
# 10.77.0.1, so every test packet stays inside this namespace: no test traffic can reach any
# other host. (Firefox gathers no candidates on loopback alone, and none at all without a
# default route.)
# Usage: unshare -n bash e2e/netns.sh COMMAND...
set -euo pipefail
ip link set lo up
ip link add tpa type veth peer name tpb
ip addr add 10.77.0.1/24 dev tpa
ip addr add 10.77.0.2/24 dev tpb
ip link set tpa up
ip link set tpb up
ip route add default via 10.77.0.2 dev tpa
export E2E_MEDIA_IP=10.77.0.1
exec "$@"
