#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with the Rust toolchain:
# installs what the tests need, runs the Rust tests (SQLite and a throwaway
# PostgreSQL cluster, the request fuzzer among them), a short run of the
# cargo-fuzz targets (ECSD_SKIP_FUZZ=1 skips it), the real-client tests
# (openstacksdk, the OpenStack CLI, novaclient) and Tempest's compute API
# tests, each against a started ecsd.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: PostgreSQL server binaries for the store/API tests,
# openssl (x509 key pairs, as Nova), python3-venv for the client tests,
# QEMU and the parts of the tiny guest (scripts/tiny-guest.sh) for the
# QEMU driver's tests.
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
compgen -G "/boot/vmlinuz-*" >/dev/null || need+=(linux-image-amd64)
[[ -x /bin/busybox ]] || need+=(busybox-static)
for tool in genisoimage cpio; do command -v $tool >/dev/null || need+=($tool); done
command -v xz >/dev/null || need+=(xz-utils)
# The cargo-fuzz targets build libFuzzer, which is C++.
command -v g++ >/dev/null || need+=(g++)
# The web console's end-to-end test drives Debian's chromium with Playwright.
[[ -x /usr/bin/chromium ]] || need+=(chromium)

# QEMU's emulator and its qemu-img must come from one build: the machine
# image ships a newer qemu-utils (from backports) that Debian's
# qemu-system-x86 refuses to sit beside ("held broken packages"). Install
# both at the emulator's version, downgrading qemu-utils if need be.
installed_version() {
    { dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null || true; } | awk '$1 == "installed" {print $2}'
}
qemu_pin=""
if [[ -z "$(installed_version qemu-system-x86)" || "$(installed_version qemu-system-x86)" != "$(installed_version qemu-utils)" ]]; then
    qemu_pin=yes
fi

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
if ((${#need[@]})) || [[ -n $qemu_pin ]]; then
    $sudo apt-get update -qq
    if [[ -n $qemu_pin ]]; then
        version=$(installed_version qemu-system-x86)
        [[ -n $version ]] || version=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/ {print $2}')
        need+=("qemu-system-x86=$version" "qemu-utils=$version")
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends --allow-downgrades "${need[@]}"
fi

# QEMU is installed now: its tests must run, not skip.
export ECSD_REQUIRE_QEMU=1

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
    cargo test --workspace --doc --quiet
else
    cargo test --workspace
fi
# The cargo-fuzz targets, briefly (scripts/fuzz.sh SECONDS for a long run).
if [[ ${ECSD_SKIP_FUZZ:-} != 1 ]]; then
    scripts/fuzz.sh
fi
scripts/client-tests.sh
scripts/console-tests.sh
scripts/tempest.sh
