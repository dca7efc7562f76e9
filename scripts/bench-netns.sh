# Shared by the benchmark scripts (sourced, not run): outside the namespace, install the Debian
# packages a comparison needs, build the release binaries, and run the calling script again
# inside a network namespace of its own (loopback + a veth pair, as the browser tests use), so no
# packet leaves the machine. Inside, it sets IP (the veth address for media), WORK (a scratch
# folder removed at exit, with every background job stopped) and TARGET (cargo's target folder).
#
#   bench_netns "$0" "$@" -- PACKAGE:COMMAND ... -- CARGO BUILD ARGUMENTS
bench_netns() {
  local script="$1"; shift
  local args=() packages=()
  while [[ $# -gt 0 && $1 != -- ]]; do args+=("$1"); shift; done
  shift
  while [[ $# -gt 0 && $1 != -- ]]; do packages+=("$1"); shift; done
  shift
  if [[ -z "${TP_BENCH_INSIDE:-}" ]]; then
    local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    for pair in "${packages[@]}"; do
      if ! command -v "${pair#*:}" > /dev/null; then
        echo "==> installing ${pair%%:*} (Debian package)"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${pair%%:*}" > /dev/null
      fi
    done
    echo "==> building $* (release)"
    cargo build --release -q "$@"
    if [[ -z $sudo ]]; then
      exec unshare --net env TP_BENCH_INSIDE=1 bash e2e/netns.sh bash "$script" "${args[@]}"
    fi
    exec sudo unshare --net env TP_BENCH_INSIDE=1 PATH="$PATH" bash e2e/netns.sh bash "$script" "${args[@]}"
  fi
  IP="$E2E_MEDIA_IP"
  WORK="$(mktemp -d)"
  TARGET="${CARGO_TARGET_DIR:-target}"
  trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$WORK"' EXIT
}
