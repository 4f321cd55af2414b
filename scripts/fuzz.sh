#!/usr/bin/env bash
# The cargo-fuzz targets of fuzz/ (the parsers that see raw input: the
# microversion header, AK/SK signatures, Keystone's auth body, the create
# routes' JSON bodies), each run for SECONDS (default 20, CI's budget).
# Fails on a crash; the crashing input is left in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh            # CI: 20 s per target
#   scripts/fuzz.sh 3600       # the long run: an hour per target
#   FUZZ_TARGETS="signature" scripts/fuzz.sh 600
#
# Works on the stable toolchain: cargo-fuzz's unstable flags are allowed
# with RUSTC_BOOTSTRAP=1, and no sanitizer is built in (`-s none`: a
# sanitizer needs a nightly standard library). Safe Rust needs none to
# find panics, overflows (debug assertions are on) and hangs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

export RUSTC_BOOTSTRAP=1
# The fuzz crate's own build, apart from the workspace's.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}
started=$SECONDS
if [[ -n ${FUZZ_TARGETS:-} ]]; then
    targets=$FUZZ_TARGETS
    for target in $targets; do cargo fuzz build --sanitizer none "$target"; done
else
    targets=$(cargo fuzz list)
    cargo fuzz build --sanitizer none
fi
echo "fuzz: built in $((SECONDS - started)) s"

for target in $targets; do
    # New inputs go to a scratch directory, not the committed seeds.
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    echo "fuzz: $target for $seconds s"
    cargo fuzz run --sanitizer none "$target" "$scratch" "$PWD/fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
    rm -rf "$scratch"
done
echo "fuzz: done in $((SECONDS - started)) s"
