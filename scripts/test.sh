#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with the Rust toolchain:
# installs what the tests need, runs the Rust tests (SQLite and a throwaway
# PostgreSQL cluster) and then the real-client tests (openstacksdk, the
# OpenStack CLI, novaclient) against a started ecsd.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: PostgreSQL server binaries for the store/API tests,
# openssl (x509 key pairs, as Nova), python3-venv for the client tests.
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
    cargo test --workspace --doc --quiet
else
    cargo test --workspace
fi
scripts/client-tests.sh
