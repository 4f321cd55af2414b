#!/usr/bin/env bash
# Glance image data throughput: upload (PUT /v2/images/{id}/file, hashed
# with MD5 and SHA-512 and written under the data directory) and download
# (GET …/file) of a SIZE_MB file (1 GiB by default) with curl over loopback,
# each next to `cp` of the same file onto the same file system in the same
# run (the target: at least 0.8× of cp), and next to `sha512sum` of it: an
# upload computes SHA-512 and MD5 of every byte, as Glance does, so the
# slower of the two hashes bounds it. Release build.
#
#   scripts/bench-image.sh
#   SIZE_MB=256 ROUNDS=1 scripts/bench-image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${SIZE_MB:-1024}"
ROUNDS="${ROUNDS:-3}"
TARGET="${CARGO_TARGET_DIR:-target}"

if [[ -z ${ECSD_BIN:-} ]]; then
  cargo build --release -q -p ecsd
  ECSD_BIN="$TARGET/release/ecsd"
fi

work="$(mktemp -d "${BENCH_DIR:-/tmp}/bench-image.XXXXXX")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
RUST_LOG=warn "$ECSD_BIN" serve --data-dir "$work/data" --listen "127.0.0.1:${port}" --vnc-proxy-listen off \
  --body-timeout 3600 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -sf "$base/" >/dev/null && break; sleep 0.1; done

token="$(curl -si -X POST "$base/identity/v3/auth/tokens" -H 'Content-Type: application/json' \
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"admin"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}' \
  | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')"

src="$work/source.raw"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$src"
want_md5="$(md5sum "$src" | cut -d' ' -f1)"
cat "$src" >/dev/null # in the page cache, for cp as for curl

now() { date +%s.%N; }
rate() { python3 -c "print(f'{$SIZE_MB / ($2 - $1):.0f}')"; }

printf '%-6s %10s %14s %12s %12s %14s %12s\n' round "cp MiB/s" "sha512sum MiB/s" "upload MiB/s" "vs cp" "download MiB/s" "vs cp"
for round in $(seq "$ROUNDS"); do
  rm -f "$work/copy.raw" "$work/out.raw"
  t0=$(now); cp "$src" "$work/copy.raw"; t1=$(now)
  cp_rate=$(rate "$t0" "$t1")
  rm -f "$work/copy.raw"
  t0=$(now); sha512sum "$src" >/dev/null; t1=$(now)
  sha_rate=$(rate "$t0" "$t1")

  id="$(curl -sf -X POST "$base/image/v2/images" -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
    -d "{\"name\": \"bench-$round\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  t0=$(now)
  curl -sf -X PUT -T "$src" -H "X-Auth-Token: $token" -H 'Content-Type: application/octet-stream' \
    "$base/image/v2/images/$id/file"
  t1=$(now)
  up_rate=$(rate "$t0" "$t1")
  got_md5="$(curl -sf "$base/image/v2/images/$id" -H "X-Auth-Token: $token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["checksum"])')"
  [[ "$got_md5" == "$want_md5" ]] || { echo "checksum mismatch: $got_md5 != $want_md5"; exit 1; }

  t0=$(now)
  curl -sf -o "$work/out.raw" "$base/image/v2/images/$id/file" -H "X-Auth-Token: $token"
  t1=$(now)
  down_rate=$(rate "$t0" "$t1")
  [[ "$(md5sum "$work/out.raw" | cut -d' ' -f1)" == "$want_md5" ]] || { echo "download differs"; exit 1; }
  rm -f "$work/out.raw"
  curl -sf -X DELETE "$base/image/v2/images/$id" -H "X-Auth-Token: $token"

  printf '%-6s %10s %14s %12s %12s %14s %12s\n' "$round" "$cp_rate" "$sha_rate" "$up_rate" \
    "$(python3 -c "print(f'{$up_rate / $cp_rate:.2f}x')")" "$down_rate" \
    "$(python3 -c "print(f'{$down_rate / $cp_rate:.2f}x')")"
done
echo "(${SIZE_MB} MiB; upload hashes MD5 and SHA-512 as Glance does; $(nproc) CPUs)"
