#!/usr/bin/env bash
# The cost of /metrics instrumentation on GET /v2.1/servers/{id}: two
# ecsd (release build, SQLite, loopback) side by side, one with
# `--metrics on` (the default) and one with `--metrics off`, each with
# STORED servers; wrk alternates between them in the same run (ROUNDS
# rounds of DURATION seconds at concurrency 1 and 32) and the median
# throughputs are compared. See scripts/bench-metrics.py.
#
#   scripts/bench-metrics.sh                        # STORED=1000 ROUNDS=3 DURATION=5
#   ROUNDS=1 DURATION=3 scripts/bench-metrics.sh    # a quick run
#   ECSD_BIN=path/to/ecsd: measure that binary instead of building this tree
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
if [[ -z ${ECSD_BIN:-} ]]; then
    cargo build --release -q -p ecsd
    ECSD_BIN=./target/release/ecsd
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
dirs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    for d in "${dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT
start() { # start on|off: starts ecsd with metrics on or off, prints its base URL
    local data port
    data="$(mktemp -d)"
    dirs+=("$data")
    port="$(free_port)"
    RUST_LOG=warn "$ECSD_BIN" serve --data-dir "$data" --listen "127.0.0.1:${port}" --vnc-proxy-listen off \
        --metrics "$1" --quota-instances=-1 --quota-cores=-1 --quota-ram-mb=-1 --sim-hosts 4 \
        --sim-host-vcpus 4096 --sim-host-ram-mb 67108864 --sim-host-disk-gb 10000000 >/dev/null 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:${port}/healthz" >/dev/null && break; sleep 0.1; done
    BASE_URL="http://127.0.0.1:${port}"
}
start on
on="$BASE_URL"
start off
off="$BASE_URL"
BASE="$on" BASE_ON="$on" BASE_OFF="$off" python3 scripts/bench-metrics.py
