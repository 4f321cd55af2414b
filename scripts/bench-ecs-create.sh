#!/usr/bin/env bash
# The ECS-native create (v1.1 CreateServers: a system disk, a data disk, a
# NIC and a new EIP each, followed to job SUCCESS) next to the Nova create
# of as many servers to ACTIVE, in one run against a release build of ecsd
# on loopback, SQLite, zero simulator latency. See scripts/bench-ecs-create.py.
#
#   scripts/bench-ecs-create.sh              # N=200 ROUNDS=3
#   N=100 ROUNDS=1 scripts/bench-ecs-create.sh
#   ECSD_BIN=path/to/ecsd: measure that binary instead of building this tree
set -euo pipefail
cd "$(dirname "$0")/.."
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
BASE="http://127.0.0.1:${port}" python3 scripts/bench-ecs-create.py
