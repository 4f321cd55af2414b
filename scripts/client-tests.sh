#!/usr/bin/env bash
# Drives a freshly started ecsd with the real clients (openstacksdk, the
# OpenStack CLI, novaclient). Makes its own venv; needs python3-venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

venv="$root/.venv-clients"
if [[ ! -x "$venv/bin/openstack" || tests/clients/requirements.txt -nt "$venv/.installed" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet -r tests/clients/requirements.txt
    touch "$venv/.installed"
fi

cargo build --quiet -p ecsd
work="$(mktemp -d)"
log="$work/ecsd.log"
"${CARGO_TARGET_DIR:-target}/debug/ecsd" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/banner" 2>"$log" &
ecsd_pid=$!
trap 'kill $ecsd_pid 2>/dev/null; wait $ecsd_pid 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 100); do
    grep -q '^then:' "$work/banner" 2>/dev/null && break
    kill -0 $ecsd_pid 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
done
endpoint="$(sed -n 's/^ecsd is serving on //p' "$work/banner")"
[[ -n "$endpoint" ]] || { echo "ecsd did not start"; cat "$work/banner" "$log"; exit 1; }

cat >"$work/clouds.yaml" <<YAML
clouds:
  ecsd-admin:
    auth: {auth_url: "$endpoint/identity/v3", username: admin, password: admin, project_name: admin,
           user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    identity_api_version: 3
  ecsd-demo:
    auth: {auth_url: "$endpoint/v3", username: demo, password: demo, project_name: demo,
           user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    identity_api_version: 3
YAML

export OS_CLIENT_CONFIG_FILE="$work/clouds.yaml" PATH="$venv/bin:$PATH"
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider --disable-warnings tests/clients "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- ecsd log (last 80 lines) ---"
    tail -n 80 "$log"
fi
exit $status
