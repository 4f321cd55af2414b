#!/usr/bin/env bash
# Create->ACTIVE throughput of a cluster — PostgreSQL, two `ecsd api` nodes
# and three simulated `ecsd agent` hosts on loopback — next to `ecsd serve`
# (SQLite, and PostgreSQL, three simulated hosts in process) in the same
# run, zero simulator latency, N single creates at concurrency 32
# (scripts/bench-cluster.py). Prints each figure and the cluster's ratio to
# each `serve`.
#
#   scripts/bench-cluster.sh                 # N=500
#   ECSD_BIN=path/to/ecsd N=200 scripts/bench-cluster.sh
#   API_NODES=1                             # one API node instead of two
#   ECSD_BENCH_DATABASE_URL=postgres://…     # an existing, empty database
#                                            # instead of a throwaway cluster
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${ECSD_BIN:-} ]]; then
    cargo build --release -q -p ecsd
    ECSD_BIN="${CARGO_TARGET_DIR:-target}/release/ecsd"
fi
N=${N:-500}
API_NODES=${API_NODES:-2}
work="$(mktemp -d)"
chmod 755 "$work"
pids=()
pg_stop=""
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n $pg_stop ]] && eval "$pg_stop" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # FILE PATTERN PID
    for _ in $(seq 300); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { echo "process $3 died"; cat "$work"/*.log; exit 1; }
        sleep 0.1
    done
    echo "timed out waiting for $2 in $1"; exit 1
}
quotas=(--quota-instances=-1 --quota-cores=-1 --quota-ram-mb=-1)
capacity=(--sim-host-vcpus 4096 --sim-host-ram-mb 67108864 --sim-host-disk-gb 10000000)

# 1. ecsd serve: everything in one process.
p=$(port)
RUST_LOG=warn "$ECSD_BIN" serve --data-dir "$work/serve" --listen "127.0.0.1:$p" --vnc-proxy-listen off \
    --sim-hosts 3 "${quotas[@]}" "${capacity[@]}" >"$work/serve.out" 2>"$work/serve.log" &
serve=$!; pids+=($serve)
wait_for "$work/serve.out" '^then:' $serve
serve_line=$(BASES="http://127.0.0.1:$p" LABEL="serve (SQLite, 3 hosts in process)" N=$N python3 scripts/bench-cluster.py)
echo "$serve_line"
kill $serve; wait $serve 2>/dev/null || true

# A PostgreSQL server: the one given, or a throwaway cluster.
if [[ -n ${ECSD_BENCH_DATABASE_URL:-} ]]; then
    db=$ECSD_BENCH_DATABASE_URL
    serve_db=""
    serve_pg_line=""
else
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    runas=""
    if [[ $(id -u) == 0 ]]; then runas="runuser -u postgres --"; chown postgres "$work"; fi
    mkdir -p "$work/pg" && [[ -n $runas ]] && chown postgres "$work/pg"
    $runas "$bin/initdb" -D "$work/pg/data" --auth=trust --username=postgres --no-sync >/dev/null
    pgport=$(port)
    $runas "$bin/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/log" \
        -o "-k $work/pg -p $pgport -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_connections=300" start >/dev/null
    pg_stop="$runas $bin/pg_ctl -D $work/pg/data -m immediate stop"
    $runas "$bin/createdb" -h "$work/pg" -p "$pgport" -U postgres serve
    db="postgres://postgres@localhost/postgres?host=$work/pg&port=$pgport"
    serve_db="postgres://postgres@localhost/serve?host=$work/pg&port=$pgport"
fi

# 2. ecsd serve on PostgreSQL: what the database alone costs.
if [[ -n $serve_db ]]; then
    p=$(port)
    RUST_LOG=warn "$ECSD_BIN" serve --database-url "$serve_db" --data-dir "$work/serve-pg" --listen "127.0.0.1:$p" \
        --vnc-proxy-listen off --sim-hosts 3 "${quotas[@]}" "${capacity[@]}" >"$work/serve-pg.out" 2>"$work/serve-pg.log" &
    serve=$!; pids+=($serve)
    wait_for "$work/serve-pg.out" '^then:' $serve
    serve_pg_line=$(BASES="http://127.0.0.1:$p" LABEL="serve (PostgreSQL, 3 hosts in process)" N=$N python3 scripts/bench-cluster.py)
    echo "$serve_pg_line"
    kill $serve; wait $serve 2>/dev/null || true
fi

# 3. The cluster: PostgreSQL, 2 API nodes, 3 agents.
secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
bases=() internals=()
for i in $(seq "$API_NODES"); do
    p=$(port); ip=$(port)
    RUST_LOG=warn "$ECSD_BIN" api --database-url "$db" --data-dir "$work/api$i" --listen "127.0.0.1:$p" \
        --vnc-proxy-listen off --internal-listen "127.0.0.1:$ip" --internal-secret "$secret" --sim-hosts 0 \
        "${quotas[@]}" >"$work/api$i.out" 2>"$work/api$i.log" &
    pids+=($!)
    wait_for "$work/api$i.out" '^then:' $!
    bases+=("http://127.0.0.1:$p"); internals+=("http://127.0.0.1:$ip")
done
control=$(IFS=,; echo "${internals[*]}")
for i in 1 2 3; do
    RUST_LOG=warn "$ECSD_BIN" agent --host "h$i" --control-plane "$control" --listen "127.0.0.1:$(port)" \
        --data-dir "$work/h$i" --heartbeat-interval 1 --internal-secret "$secret" "${capacity[@]}" \
        >"$work/h$i.out" 2>"$work/h$i.log" &
    pids+=($!)
    wait_for "$work/h$i.out" '^ecsd agent' $!
done
sleep 3 # every API node drives the agents' hosts within a second of their first heartbeat
cluster_line=$(BASES=$(IFS=,; echo "${bases[*]}") LABEL="cluster (PostgreSQL, $API_NODES api + 3 agents)" N=$N python3 scripts/bench-cluster.py)
echo "$cluster_line"
python3 - "$cluster_line" "$serve_line" "$serve_pg_line" <<'PY'
import re, sys
rate = lambda line: float(re.search(r"([\d.]+) servers/s", line).group(1))
cluster = rate(sys.argv[1])
print(f"ratio cluster / serve (SQLite): {cluster / rate(sys.argv[2]):.2f}")
if sys.argv[3]:
    print(f"ratio cluster / serve (PostgreSQL): {cluster / rate(sys.argv[3]):.2f}")
PY
