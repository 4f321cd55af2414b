#!/usr/bin/env bash
# The web console's page load with many servers: starts ecsd with quotas
# raised, creates N servers (default 1,000) through Nova, then loads the
# servers list in headless Chromium (Debian's chromium, Playwright) and
# reports Chromium's navigation timing and the time until the table is
# drawn, for the default page (100 rows) and for all N on one page.
# Screenshots go to target/console-screenshots/bench-*.png.
#   scripts/bench-console.sh [N]    (ECSD_BIN=target/release/ecsd for a release build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
count=${1:-1000}

source scripts/lib.sh
venv="$root/.venv-console"
ensure_venv "$venv" tests/console/requirements.txt pytest
start_ecsd --vnc-proxy-listen off --quota-instances -1 --quota-cores -1 --quota-ram-mb -1 \
    --quota-volumes -1 --quota-gigabytes -1
ECSD_ENDPOINT="$endpoint" CONSOLE_SCREENSHOTS="${CONSOLE_SCREENSHOTS:-$root/target/console-screenshots}" \
    "$venv/bin/python" tests/console/bench.py "$count"
