"""Issue 18's server actions through the OpenStack CLI at its default
microversion: shelve/unshelve, rescue/unrescue, backups, delete + restore
under a reclaim interval, usage, and private flavor access.

The module starts an ecsd of its own with `--reclaim-instance-interval`
(so that a delete is deferred and can be restored), as an operator would
configure Nova's `reclaim_instance_interval`."""

import json
import os
import subprocess
import time
import uuid

import pytest


@pytest.fixture(scope="module")
def deferred(tmp_path_factory):
    """An ecsd whose deletes wait an hour SOFT_DELETED; yields a CLI runner."""
    work = tmp_path_factory.mktemp("deferred")
    binary = os.environ.get("ECSD_BIN") or os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "ecsd")
    banner = open(work / "banner", "w+")
    log = open(work / "ecsd.log", "w")
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--vnc-proxy-listen", "off", "--data-dir", str(work / "data"),
         "--reclaim-instance-interval", "3600"],
        stdout=banner, stderr=log,
    )
    endpoint = None
    for _ in range(300):
        text = (work / "banner").read_text()
        if "then:" in text:
            endpoint = next(l.split("ecsd is serving on ", 1)[1] for l in text.splitlines() if "serving on" in l)
            break
        assert proc.poll() is None, (work / "ecsd.log").read_text()
        time.sleep(0.1)
    assert endpoint, "ecsd did not start"
    clouds = work / "clouds.yaml"
    clouds.write_text(
        "clouds:\n"
        + "".join(
            f"  deferred-{user}:\n"
            f"    auth: {{auth_url: '{endpoint}/identity/v3', username: {user}, password: {user},"
            f" project_name: {user}, user_domain_name: Default, project_domain_name: Default}}\n"
            "    region_name: RegionOne\n"
            "    identity_api_version: 3\n"
            for user in ("admin", "demo")
        )
    )
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds))

    def run(*args, cloud="demo", parse=True, check=True):
        cmd = ["openstack", "--os-cloud", f"deferred-{cloud}", *args]
        if parse:
            cmd += ["-f", "json"]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
        if not parse:
            return done
        return json.loads(done.stdout) if done.stdout.strip() else None

    yield run
    proc.terminate()
    proc.wait(timeout=30)


def wait_status(cli, name, status, cloud="demo"):
    shown = None
    for _ in range(300):
        shown = cli("server", "show", name, cloud=cloud)
        if shown["status"] == status and not shown.get("OS-EXT-STS:task_state"):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{name} never became {status}: {shown}")


def boot(cli, name):
    cli("server", "create", "--flavor", "s3.small.1", "--image", "cirros-0.6.2-x86_64", "--network", "default-net",
        "--wait", name, parse=False)
    return wait_status(cli, name, "ACTIVE")


def test_shelve_and_unshelve(deferred):
    name = f"sh-{uuid.uuid4().hex[:6]}"
    boot(deferred, name)
    deferred("server", "shelve", name, parse=False)
    wait_status(deferred, name, "SHELVED_OFFLOADED")
    images = [i["Name"] for i in deferred("image", "list")]
    assert f"{name}-shelved" in images
    # The CLI skips a server already shelved; the API's 409 is tested in Rust.
    deferred("server", "unshelve", name, parse=False)
    wait_status(deferred, name, "ACTIVE")
    assert f"{name}-shelved" not in [i["Name"] for i in deferred("image", "list")]
    deferred("server", "delete", "--force", name, parse=False)


def test_rescue_and_unrescue(deferred):
    name = f"rs-{uuid.uuid4().hex[:6]}"
    boot(deferred, name)
    deferred("server", "rescue", "--password", "Resc-ue12", name, parse=False)
    wait_status(deferred, name, "RESCUE")
    deferred("server", "unrescue", name, parse=False)
    wait_status(deferred, name, "ACTIVE")
    deferred("server", "delete", "--force", name, parse=False)


def test_backup_with_rotation(deferred):
    name = f"bk-{uuid.uuid4().hex[:6]}"
    boot(deferred, name)
    for n in range(3):
        deferred("server", "backup", "create", "--name", f"{name}-b{n}", "--type", "daily", "--rotate", "2",
                 "--wait", name, parse=False)
        wait_status(deferred, name, "ACTIVE")
    backups = sorted(i["Name"] for i in deferred("image", "list") if i["Name"].startswith(f"{name}-b"))
    assert backups == [f"{name}-b1", f"{name}-b2"], backups
    deferred("server", "delete", "--force", name, parse=False)


def test_delete_and_restore(deferred):
    name = f"sd-{uuid.uuid4().hex[:6]}"
    boot(deferred, name)
    deferred("server", "delete", name, parse=False)
    wait_status(deferred, name, "SOFT_DELETED")
    deferred("server", "restore", name, parse=False)
    wait_status(deferred, name, "ACTIVE")
    deferred("server", "delete", name, parse=False)
    wait_status(deferred, name, "SOFT_DELETED")
    # forceDelete: gone at once.
    deferred("server", "delete", "--force", name, parse=False)
    for _ in range(300):
        if deferred("server", "show", name, parse=False, check=False).returncode != 0:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"{name} was not deleted")


def test_usage_list_and_show(deferred):
    name = f"us-{uuid.uuid4().hex[:6]}"
    boot(deferred, name)
    demo_id = deferred("project", "show", "demo", cloud="admin")["id"]
    usages = deferred("usage", "list", cloud="admin")
    assert any(u["Project"] in ("demo", demo_id) for u in usages), usages
    mine = deferred("usage", "show", "--project", "demo", cloud="admin")
    assert float(mine["CPU Hours"]) >= 0
    deferred("server", "delete", "--force", name, parse=False)


def test_private_flavor_access(deferred):
    flavor = f"priv-{uuid.uuid4().hex[:6]}"
    deferred("flavor", "create", "--private", "--ram", "512", "--vcpus", "1", "--disk", "1", flavor, cloud="admin")
    assert flavor not in [f["Name"] for f in deferred("flavor", "list")]
    deferred("flavor", "set", "--project", "demo", flavor, cloud="admin", parse=False)
    shown = deferred("flavor", "show", flavor, cloud="admin")
    assert shown["access_project_ids"], shown
    assert flavor in [f["Name"] for f in deferred("flavor", "list", "--all")]
    name = f"pf-{uuid.uuid4().hex[:6]}"
    deferred("server", "create", "--flavor", flavor, "--image", "cirros-0.6.2-x86_64", "--network", "default-net",
             "--wait", name, parse=False)
    deferred("server", "delete", "--force", name, parse=False)
    deferred("flavor", "unset", "--project", "demo", flavor, cloud="admin", parse=False)
    assert deferred("flavor", "show", flavor, parse=False, check=False).returncode != 0
