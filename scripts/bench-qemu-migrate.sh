#!/usr/bin/env bash
# Moving a real guest: the tiny guest of scripts/tiny-guest.sh between two
# QEMU drivers on this machine (two hosts' data directories). Prints its
# boot time as the baseline, live block migration time and the guest's
# downtime (QEMU's measure), and cold migration time, with their ratios.
#
#   scripts/bench-qemu-migrate.sh            # RUNS=5, the dev profile
#   PROFILE=release RUNS=10 scripts/bench-qemu-migrate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}" cargo run -q --profile "${PROFILE:-dev}" -p ecs-hypervisor --example qemu_migrate_bench
