#!/usr/bin/env bash
# Drives a freshly started ecsd with the real clients (openstacksdk, the
# OpenStack CLI, novaclient). Makes its own venv; needs python3-venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

source scripts/lib.sh
venv="$root/.venv-clients"
ensure_venv "$venv" tests/clients/requirements.txt openstack
start_ecsd

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

# ECSD_BIN: for tests that start an ecsd of their own with other options.
export OS_CLIENT_CONFIG_FILE="$work/clouds.yaml" PATH="$venv/bin:$PATH" ECSD_BIN
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider --disable-warnings tests/clients "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- ecsd log (last 80 lines) ---"
    tail -n 80 "$log"
fi
exit $status
