#!/usr/bin/env bash
# Real-guest benchmark: `ecsd serve --hypervisor qemu` (release build,
# SQLite, loopback) booting the tiny guest of scripts/tiny-guest.sh.
# See scripts/bench-qemu.py for what is measured.
#
#   scripts/bench-qemu.sh                 # RUNS=10 CONCURRENT="1 2 4 8"
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p ecsd
work="$(mktemp -d)"
scripts/tiny-guest.sh "$work/guest" >/dev/null
data="$work/data"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
serve() {
    RUST_LOG=warn "$target/release/ecsd" serve --data-dir "$data" --listen "127.0.0.1:${port}" \
        --hypervisor qemu --qemu-network user --shutdown-timeout 1 "$@" >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:${port}/" >/dev/null && break; sleep 0.1; done
}
serve
kill $server; wait $server 2>/dev/null || true
"$target/release/ecsd" image import --data-dir "$data" --name tiny --public \
    --kernel "$work/guest/vmlinux" --initrd "$work/guest/initrd.img" >/dev/null
serve
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; pkill -9 -f "guest=.*$data" || true; rm -rf "$work"' EXIT
BASE="http://127.0.0.1:${port}" GUEST="$work/guest" python3 scripts/bench-qemu.py
