#!/usr/bin/env bash
# Checks packaging/treffpunkt.service with systemd's own parser (no unknown keys, no bad values)
# and prints its exposure score. systemd-analyze is part of Debian's systemd package.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is missing (apt-get install systemd): the unit file is NOT checked"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# `verify` wants the programs a unit runs to exist; the relay may not be installed here.
sed "s#/usr/local/bin/relay#$(command -v true)#g" treffpunkt.service >"$tmp/treffpunkt.service"
problems=$(systemd-analyze verify "$tmp/treffpunkt.service" 2>&1 || true)
if [[ -n $problems ]]; then
  echo "packaging/treffpunkt.service:"
  echo "$problems"
  exit 1
fi
systemd-analyze security --offline=true "$tmp/treffpunkt.service" 2>/dev/null | tail -1 | sed 's/^/treffpunkt.service: /'
