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


@pytest.fixture(scope="session")
def hw_credentials(demo):
    """AK/SK of the demo project (an EC2 credential, as `openstack ec2
    credentials create` makes), for the Huawei Cloud SDKs."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials

    path = f"/users/{demo.current_user_id}/credentials/OS-EC2"
    cred = demo.identity.post(path, json={"tenant_id": demo.current_project_id}).json()["credential"]
    yield BasicCredentials(cred["access"], cred["secret"], demo.current_project_id)
    demo.identity.delete(f"{path}/{cred['access']}")


@pytest.fixture(scope="session")
def hw_endpoint(demo):
    """ecsd's base URL: every Huawei service is served on it."""
    from urllib.parse import urlparse

    url = urlparse(demo.session.get_endpoint(service_type="compute", interface="public"))
    return f"{url.scheme}://{url.netloc}"


@pytest.fixture(scope="session")
def hw(hw_credentials, hw_endpoint):
    """hw(EcsClient) (or VpcClient, EipClient, EvsClient, ImsClient…): the
    real Huawei Cloud SDK client, AK/SK-signed, pointed at ecsd."""

    def build(client_class):
        return client_class.new_builder().with_credentials(hw_credentials).with_endpoints([hw_endpoint]).build()

    return build


def hw_wait_job(ecs, job_id, timeout=120):
    """Polls ShowJob (ECS's, which also follows EVS and IMS jobs) until it ends; returns the job."""
    import time

    from huaweicloudsdkecs.v2 import ShowJobRequest

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = ecs.show_job(ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")
