#!/usr/bin/env bash
# Scheduler speed: µs per placement decision with 100, 1,000 and 10,000
# hosts (three zones, a tenant-isolated aggregate, an anti-affinity group
# of ten members), next to the scheduler before the host view measured in
# the same run. The view is rebuilt at most once a second; its build time
# is printed too. Pure in-memory: no database, no ecsd process.
#
#   scripts/bench-scheduler.sh            # optimised (the figures to quote)
#   PROFILE=dev scripts/bench-scheduler.sh   # quicker to build, ~10x slower
set -euo pipefail
cd "$(dirname "$0")/.."
profile=(--release)
[[ "${PROFILE:-release}" == dev ]] && profile=()
cargo test -q "${profile[@]}" -p ecs-core --lib -- --ignored --exact \
  compute::scheduler::tests::bench_scheduler --nocapture 2>&1 | grep '^hosts='
