# Shared by the scripts that drive a started ecsd with Python clients
# (client-tests.sh, console-tests.sh, tempest.sh, bench-console.sh,
# bench-snapshot.sh). Source it from the repository root.

# ensure_venv DIR REQUIREMENTS EXECUTABLE: a venv at DIR with REQUIREMENTS
# installed, made again when the requirements file is newer.
ensure_venv() {
    local venv=$1 requirements=$2 executable=$3
    if [[ ! -x "$venv/bin/$executable" || $requirements -nt "$venv/.installed" ]]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --upgrade pip
        "$venv/bin/pip" install --quiet -r "$requirements"
        touch "$venv/.installed"
    fi
}

# start_ecsd [SERVE ARGS…]: starts `ecsd serve` on a free port over a fresh
# database in a scratch directory, stopped and removed on exit. Sets `work`
# (the directory), `log`, `banner` and `endpoint`. ECSD_BIN picks the
# binary; otherwise the debug build of this tree.
start_ecsd() {
    if [[ -z ${ECSD_BIN:-} ]]; then
        cargo build --quiet -p ecsd
        ECSD_BIN="${CARGO_TARGET_DIR:-target}/debug/ecsd"
    fi
    work="$(mktemp -d)"
    log="$work/ecsd.log"
    banner="$work/banner"
    "$ECSD_BIN" serve --listen 127.0.0.1:0 --data-dir "$work/data" "$@" >"$banner" 2>"$log" &
    ecsd_pid=$!
    trap 'kill $ecsd_pid 2>/dev/null; wait $ecsd_pid 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do
        grep -q '^then:' "$banner" 2>/dev/null && break
        kill -0 $ecsd_pid 2>/dev/null || { cat "$log"; exit 1; }
        sleep 0.1
    done
    endpoint="$(sed -n 's/^ecsd is serving on //p' "$banner")"
    [[ -n "$endpoint" ]] || { echo "ecsd did not start"; cat "$banner" "$log"; exit 1; }
}
