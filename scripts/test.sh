#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with the Rust toolchain:
# installs what the tests need, runs the Rust tests (SQLite and a throwaway
# PostgreSQL cluster) and then the real-client tests (openstacksdk, the
# OpenStack CLI, novaclient) against a started ecsd.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: PostgreSQL server binaries for the store/API tests,
# openssl (x509 key pairs, as Nova), python3-venv for the client tests,
# QEMU and the parts of the tiny guest (scripts/tiny-guest.sh) for the
# QEMU driver's tests. qemu-utils comes with qemu-system-x86: a newer
# qemu-utils from elsewhere would be removed by it.
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86 qemu-utils)
compgen -G "/boot/vmlinuz-*" >/dev/null || need+=(linux-image-amd64)
[[ -x /bin/busybox ]] || need+=(busybox-static)
for tool in genisoimage cpio; do command -v $tool >/dev/null || need+=($tool); done
command -v xz >/dev/null || need+=(xz-utils)
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
if ((${#need[@]})); then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

command -v qemu-img >/dev/null || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends qemu-utils
}
# QEMU is installed now: its tests must run, not skip.
export ECSD_REQUIRE_QEMU=1

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
    cargo test --workspace --doc --quiet
else
    cargo test --workspace
fi
scripts/client-tests.sh
