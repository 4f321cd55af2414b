#!/usr/bin/env bash
# Drives the web console (/console/) of a freshly started ecsd in headless
# Chromium: Debian's chromium package, through Python Playwright (no
# browser download). Makes its own venv; needs python3-venv and chromium
# (scripts/test.sh installs both). Screenshots go to
# target/console-screenshots/.
#
# When QEMU, a kernel and busybox are here (scripts/test.sh installs them),
# a second ecsd runs real guests (`--hypervisor qemu`, the tiny guest of
# scripts/tiny-guest.sh) and the test opens a QEMU guest's VNC console
# too; ECSD_CONSOLE_QEMU=0 skips that, ECSD_REQUIRE_QEMU=1 makes it required.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

source scripts/lib.sh
[[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || { echo "chromium is not installed (apt-get install chromium)"; exit 1; }
venv="$root/.venv-console"
ensure_venv "$venv" tests/console/requirements.txt pytest
# The VNC proxy on a free port too (its default is 6080).
start_ecsd --vnc-proxy-listen 127.0.0.1:0 "$@"

qemu_endpoint=""
have_qemu() {
    command -v qemu-system-x86_64 >/dev/null && compgen -G "/boot/vmlinuz-*" >/dev/null &&
        { [[ -x /bin/busybox ]] || command -v busybox >/dev/null; } && command -v cpio >/dev/null
}
if [[ ${ECSD_CONSOLE_QEMU:-1} != 0 ]] && have_qemu; then
    qwork="$work/qemu"
    mkdir -p "$qwork"
    scripts/tiny-guest.sh "$qwork/guest" >/dev/null
    qport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    qserve() {
        "$ECSD_BIN" serve --listen "127.0.0.1:$qport" --data-dir "$qwork/data" --hypervisor qemu \
            --qemu-network user --vnc-proxy-listen 127.0.0.1:0 --shutdown-timeout 1 \
            >"$qwork/banner" 2>>"$qwork/ecsd.log" &
        qpid=$!
        for _ in $(seq 300); do
            grep -q '^then:' "$qwork/banner" 2>/dev/null && return 0
            kill -0 $qpid 2>/dev/null || break
            sleep 0.1
        done
        echo "the QEMU ecsd did not start"; tail -n 40 "$qwork/ecsd.log"; exit 1
    }
    # Its guests are stopped by their pid files (they outlive ecsd).
    stop_qemu() {
        kill $qpid 2>/dev/null; wait $qpid 2>/dev/null
        find "$qwork/data" -name qemu.pid -exec sh -c 'kill "$(cat "$1")" 2>/dev/null' _ {} \; 2>/dev/null || true
    }
    trap 'stop_qemu; kill $ecsd_pid 2>/dev/null; wait $ecsd_pid 2>/dev/null; rm -rf "$work"' EXIT
    # A first start seeds the database; the tiny guest is imported into it.
    qserve
    kill $qpid; wait $qpid 2>/dev/null || true
    "$ECSD_BIN" image import --data-dir "$qwork/data" --name tiny --public \
        --kernel "$qwork/guest/vmlinux" --initrd "$qwork/guest/initrd.img" >/dev/null
    qserve
    qemu_endpoint="http://127.0.0.1:$qport"
elif [[ ${ECSD_REQUIRE_QEMU:-} == 1 && ${ECSD_CONSOLE_QEMU:-1} != 0 ]]; then
    echo "ECSD_REQUIRE_QEMU=1 but QEMU, a kernel or busybox is missing"; exit 1
fi

export ECSD_ENDPOINT="$endpoint" ECSD_QEMU_ENDPOINT="$qemu_endpoint" \
    CONSOLE_SCREENSHOTS="${CONSOLE_SCREENSHOTS:-$root/target/console-screenshots}"
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider --disable-warnings tests/console || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- ecsd log (last 80 lines) ---"
    tail -n 80 "$log"
    [[ -z $qemu_endpoint ]] || { echo "--- QEMU ecsd log (last 40 lines) ---"; tail -n 40 "$qwork/ecsd.log"; }
fi
exit $status
