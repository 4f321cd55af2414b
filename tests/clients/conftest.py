"""Connections to the ecsd started by scripts/client-tests.sh.

The script exports OS_CLIENT_CONFIG_FILE with two clouds, `ecsd-admin` and
`ecsd-demo`, the way a user would point their tools at ecsd.
"""

import os
import subprocess

import openstack
import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "scenario18: issue 18's whole-project scenarios (need Cinder, Neutron routers and floating IPs, "
        "Glance uploads and Nova's shelve/rescue/backup/restore); select with -m scenario18")


@pytest.fixture(scope="session")
def admin():
    return openstack.connect(cloud="ecsd-admin")


@pytest.fixture(scope="session")
def demo():
    return openstack.connect(cloud="ecsd-demo")


@pytest.fixture(scope="session")
def cli():
    """Runs `openstack --os-cloud ecsd-demo ...` and returns its parsed JSON output."""
    import json

    def run(*args, cloud="ecsd-demo", parse=True, check=True):
        cmd = ["openstack", "--os-cloud", cloud, *args]
        if parse:
            cmd += ["-f", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        if not parse:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    return run
