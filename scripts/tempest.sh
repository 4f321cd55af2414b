#!/usr/bin/env bash
# Runs OpenStack Tempest's compute API tests (tempest.api.compute, from PyPI)
# against a freshly started ecsd: simulated hosts, embedded SQLite.
#
#   scripts/tempest.sh                   the whole compute API suite
#   scripts/tempest.sh 'test_keypairs'   only the compute API tests whose id
#                                        matches a regex
#
# The configuration is tests/tempest/tempest.conf.in; tests/tempest/exclude.txt
# names the tests that wait for a capability ecsd does not have yet.
# Needs python3-venv; makes its own venv. ECSD_BIN picks the binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

source scripts/lib.sh
venv="$root/.venv-tempest"
ensure_venv "$venv" tests/tempest/requirements.txt tempest
# tests/tempest/sim.json: a snapshot takes a second, as on a real host, so
# that Tempest sees the server busy while it runs (everything else is instant).
start_ecsd --vnc-proxy-listen 127.0.0.1:0 --sim-config "$root/tests/tempest/sim.json"
image="$(sed -n 's/^ *image: *\([0-9a-f-]*\).*/\1/p' "$banner")"
[[ -n "$image" ]] || { echo "no image in ecsd's banner"; cat "$banner"; exit 1; }
# A second image, for the tests that list or rebuild by a distinct one.
truncate -s 1M "$work/alt.raw"
image_alt="$("$ECSD_BIN" image import --data-dir "$work/data" --file "$work/alt.raw" --name cirros-alt --public |
    sed -n 's/^image [^ ]* (\([0-9a-f-]*\)).*/\1/p')"
[[ -n "$image_alt" ]] || { echo "could not import the second image"; exit 1; }

# The external network floating IPs come from, as Neutron lists it.
read -r floating_name floating_id < <("$venv/bin/python" - "$endpoint" <<'PY'
import json, sys, urllib.request
endpoint = sys.argv[1]
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": "admin"}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
request = urllib.request.Request(endpoint + "/identity/v3/auth/tokens", json.dumps(auth).encode(),
                                 {"Content-Type": "application/json"})
token = urllib.request.urlopen(request).headers["X-Subject-Token"]
request = urllib.request.Request(endpoint + "/networking/v2.0/networks?router:external=true",
                                 headers={"X-Auth-Token": token})
networks = json.load(urllib.request.urlopen(request))["networks"]
print(*(networks[0]["name"], networks[0]["id"]) if networks else ("", ""))
PY
)

tempest_dir="$work/tempest"
# The run's own workspace registry: the shared ~/.tempest one refuses a
# second workspace named `tempest`.
"$venv/bin/tempest" init --workspace-path "$work/workspace.yaml" "$tempest_dir" >/dev/null
sed -e "s|@ENDPOINT@|$endpoint|" -e "s|@IMAGE@|$image|" -e "s|@IMAGE_ALT@|$image_alt|" \
    -e "s|@FLOATING_NETWORK@|$floating_name|" -e "s|@FLOATING_NETWORK_ID@|$floating_id|" \
    tests/tempest/tempest.conf.in >"$tempest_dir/etc/tempest.conf"

status=0
(cd "$tempest_dir" && "$venv/bin/tempest" run --concurrency "${TEMPEST_CONCURRENCY:-2}" \
    --regex "^tempest\.api\.compute\..*${1:-}" --exclude-list "$root/tests/tempest/exclude.txt") || status=$?

# The run's load on ecsd, from its request log: count, latency, any 5xx.
"$venv/bin/python" - "$log" <<'PY' || status=1
import re, statistics, sys
served = [(int(m[1]), int(m[2])) for m in
          re.finditer(r"served status=(\d+) elapsed_us=(\d+)", open(sys.argv[1], errors="replace").read())]
if served:
    latencies = sorted(us for _, us in served)
    errors = sum(status >= 500 for status, _ in served)
    print(f"ecsd served {len(served)} requests: median {statistics.median(latencies) / 1000:.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)] / 1000:.1f} ms, {errors} answered 5xx")
    # An internal error fails the run even where Tempest did not look.
    sys.exit(any(status == 500 for status, _ in served))
PY
if [[ $status -ne 0 ]]; then
    echo "--- ecsd log (last 80 lines) ---"
    tail -n 80 "$log"
fi
exit $status
