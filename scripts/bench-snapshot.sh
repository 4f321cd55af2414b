#!/usr/bin/env bash
# Reset-to-snapshot time with many servers stored: starts ecsd (release
# build, SQLite, zero simulator latency, quotas lifted), creates SERVERS
# servers, takes a snapshot through the admin API and times RESTORES
# resets to it (`POST /admin/v1/snapshots/{name}/restore`, each timed
# from request to response). Prints the median and the 95th percentile.
#
#   scripts/bench-snapshot.sh                    # SERVERS=1000 RESTORES=50
#   SERVERS=200 RESTORES=20 scripts/bench-snapshot.sh
#   ECSD_BIN=path/to/ecsd: measure that binary instead of building this tree
#   DATABASE_URL=postgres://…: on PostgreSQL instead of SQLite
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if [[ -z ${ECSD_BIN:-} ]]; then
    cargo build --release -q -p ecsd
    ECSD_BIN=./target/release/ecsd
fi
db=()
[[ -n ${DATABASE_URL:-} ]] && db=(--database-url "$DATABASE_URL")
RUST_LOG=warn start_ecsd "${db[@]}" --vnc-proxy-listen off \
  --quota-instances=-1 --quota-cores=-1 --quota-ram-mb=-1 --quota-volumes=-1 --quota-gigabytes=-1 \
  --sim-hosts 4 --sim-host-vcpus 4096 --sim-host-ram-mb 67108864 --sim-host-disk-gb 10000000
BASE="$endpoint" python3 scripts/bench-snapshot.py
