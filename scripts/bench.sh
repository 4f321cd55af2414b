#!/usr/bin/env bash
# API throughput and latency, measured with wrk against a release build of
# ecsd on loopback. Every figure is reported next to a bare endpoint of the
# same server (GET /, the unauthenticated version document) measured in the
# same run, and as a ratio to it.
#
#   scripts/bench.sh            # 5 s per measurement
#   DURATION=10 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-5}"

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release -q -p ecsd

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
RUST_LOG=warn ./target/release/ecsd serve --data-dir "$data" --listen "127.0.0.1:${port}" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "$base/" >/dev/null && break; sleep 0.1; done

token="$(curl -si -X POST "$base/identity/v3/auth/tokens" -H 'Content-Type: application/json' \
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"admin"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}' \
  | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')"

# measure NAME CONCURRENCY PATH [HEADER...]: prints "rps p50 p99".
measure() {
  local conns="$1" path="$2"; shift 2
  local threads=1; [ "$conns" -gt 1 ] && threads=2
  local args=()
  for h in "$@"; do args+=(-H "$h"); done
  wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "${args[@]}" "$base$path" | awk '
    /Requests\/sec/ {rps=$2}
    $1=="50%" {p50=$2}
    $1=="99%" {p99=$2}
    /Non-2xx/ {bad=$4}
    END {if (bad) {print "ERROR non-2xx responses:", bad; exit 1}; print rps, p50, p99}'
}

printf '%-34s %5s %12s %10s %10s %8s\n' endpoint conc 'req/s' p50 p99 'vs GET /'
for c in 1 32; do
  read -r bare_rps bare_p50 bare_p99 < <(measure "$c" /)
  printf '%-34s %5s %12s %10s %10s %8s\n' 'GET / (bare)' "$c" "$bare_rps" "$bare_p50" "$bare_p99" '1.00'
  while IFS='|' read -r name path headers; do
    IFS=';' read -r -a hs <<<"$headers"
    read -r rps p50 p99 < <(measure "$c" "$path" "${hs[@]}")
    ratio="$(awk -v a="$rps" -v b="$bare_rps" 'BEGIN{printf "%.2f", a/b}')"
    printf '%-34s %5s %12s %10s %10s %8s\n' "$name" "$c" "$rps" "$p50" "$p99" "$ratio"
  done <<EOT
GET /v2.1/flavors/detail|/v2.1/flavors/detail|X-Auth-Token: $token
GET /identity/v3/auth/tokens|/identity/v3/auth/tokens|X-Auth-Token: $token;X-Subject-Token: $token
EOT
done
