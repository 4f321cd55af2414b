#!/usr/bin/env bash
# Server benchmarks (create->ACTIVE throughput, reads with many servers
# stored, resident memory) against a release build of ecsd on loopback,
# SQLite, zero simulator latency. See scripts/bench-servers.py.
#
#   scripts/bench-servers.sh                      # N=1000 STORED=10000 RSS_SERVERS=100000
#   N=200 STORED=2000 RSS_SERVERS=0 scripts/bench-servers.sh   # a quick run
#   ECS_COUNT=200 (default): the ECS-native create of that many servers; 0 skips it
#   ECSD_BIN=path/to/ecsd: measure that binary instead of building this tree
#   (two builds compared in one sitting, e.g. before and after a change)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
if [[ -z ${ECSD_BIN:-} ]]; then
    cargo build --release -q -p ecsd
    ECSD_BIN=./target/release/ecsd
fi

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
RUST_LOG=warn "$ECSD_BIN" serve --data-dir "$data" --listen "127.0.0.1:${port}" \
  --quota-instances=-1 --quota-cores=-1 --quota-ram-mb=-1 --quota-volumes=-1 --quota-gigabytes=-1 --sim-hosts 8 --sim-host-vcpus 4096 \
  --sim-host-ram-mb 67108864 --sim-host-disk-gb 10000000 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:${port}/" >/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:${port}" ECSD_PID="$server" python3 scripts/bench-servers.py
