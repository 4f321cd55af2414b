"""Issue 18 through the OpenStack CLI and openstacksdk: application
credentials (and a clouds.yaml with `auth_type: v3applicationcredential`),
and `openstack hypervisor show`."""

import os
import subprocess
import uuid

import openstack
import openstack.config
import openstack.exceptions
import pytest


def _app_cred_cloud(tmp_path, auth):
    """A clouds.yaml naming one cloud `app` that authenticates with an
    application credential."""
    base = openstack.config.OpenStackConfig().get_one("ecsd-demo")
    url = base.config["auth"]["auth_url"]
    lines = [f"      {k}: {v}" for k, v in auth.items()]
    path = tmp_path / "clouds.yaml"
    path.write_text("clouds:\n  app:\n    auth_type: v3applicationcredential\n    auth:\n"
                    f"      auth_url: {url}\n" + "\n".join(lines) + "\n    region_name: RegionOne\n")
    return str(path)


def _run(clouds, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = clouds
    return subprocess.run(["openstack", "--os-cloud", "app", *args], capture_output=True, text=True, env=env)


def test_cli_application_credentials(cli, tmp_path):
    name = f"ci-{uuid.uuid4().hex[:6]}"
    made = cli("application", "credential", "create", "--description", "for CI", "--role", "member", name)
    assert made["Name"] == name and made["Secret"]
    assert made["Unrestricted"] is False and made["Description"] == "for CI"
    # The role asked and those it implies.
    assert sorted(r["name"] for r in made["Roles"]) == ["member", "reader"]
    listed = [c["Name"] for c in cli("application", "credential", "list")]
    assert name in listed
    shown = cli("application", "credential", "show", name)
    assert shown["ID"] == made["ID"] and "Secret" not in shown

    # A clouds.yaml with the credential: by id, and by name and user.
    by_id = _app_cred_cloud(tmp_path, {"application_credential_id": made["ID"],
                                       "application_credential_secret": made["Secret"]})
    r = _run(by_id, "server", "list", "-f", "json")
    assert r.returncode == 0, r.stderr
    r = _run(by_id, "token", "issue", "-f", "json")
    assert r.returncode == 0, r.stderr
    (tmp_path / "by-name").mkdir()
    by_name = _app_cred_cloud(tmp_path / "by-name", {
        "application_credential_name": name, "application_credential_secret": made["Secret"],
        "username": "demo", "user_domain_name": "Default"})
    r = _run(by_name, "flavor", "list", "-f", "json")
    assert r.returncode == 0, r.stderr
    # A restricted credential makes no others.
    r = _run(by_id, "application", "credential", "create", f"{name}-child")
    assert r.returncode != 0 and "403" in r.stderr

    # Without --role (the token's roles), with an expiry and access rules.
    ruled = cli("application", "credential", "create", "--expiration", "2099-01-01T00:00:00", "--access-rules",
                '[{"service": "compute", "method": "GET", "path": "/v2.1/flavors/**"}]', f"{name}-ruled")
    assert ruled["Expires At"].startswith("2099-01-01") and "member" in {r["name"] for r in ruled["Roles"]}
    assert ruled["Access Rules"][0]["path"] == "/v2.1/flavors/**"
    (tmp_path / "ruled").mkdir()
    ruled_cloud = _app_cred_cloud(tmp_path / "ruled", {"application_credential_id": ruled["ID"],
                                                       "application_credential_secret": ruled["Secret"]})
    assert _run(ruled_cloud, "flavor", "list").returncode == 0
    assert _run(ruled_cloud, "server", "list").returncode != 0
    cli("application", "credential", "delete", f"{name}-ruled", parse=False)

    cli("application", "credential", "delete", name, parse=False)
    r = _run(by_id, "server", "list")
    assert r.returncode != 0
    assert name not in [c["Name"] for c in cli("application", "credential", "list")]


def test_sdk_application_credentials(demo):
    user_id = demo.current_user_id
    cred = demo.identity.create_application_credential(user_id, name=f"sdk-{uuid.uuid4().hex[:6]}",
                                                       secret="sdk-secret", roles=[{"name": "reader"}])
    assert cred.secret == "sdk-secret"
    assert [r["name"] for r in cred.roles] == ["reader"]
    assert demo.identity.get_application_credential(user_id, cred.id).name == cred.name
    assert cred.id in {c.id for c in demo.identity.application_credentials(user_id)}
    conn = openstack.connection.Connection(
        auth_type="v3applicationcredential",
        auth={"auth_url": demo.auth["auth_url"], "application_credential_id": cred.id,
              "application_credential_secret": "sdk-secret"},
        region_name="RegionOne")
    assert list(conn.compute.flavors())
    # A reader credential reads and changes nothing.
    with pytest.raises(openstack.exceptions.ForbiddenException):
        conn.compute.create_keypair(name=f"ro-{uuid.uuid4().hex[:6]}")
    demo.identity.delete_application_credential(user_id, cred.id)
    with pytest.raises(openstack.exceptions.NotFoundException):
        demo.identity.get_application_credential(user_id, cred.id)


def test_cli_hypervisor_show(cli):
    hosts = sorted(h["Hypervisor Hostname"] for h in cli("hypervisor", "list", cloud="ecsd-admin"))
    host = hosts[0]
    agg = f"hv-{uuid.uuid4().hex[:6]}"
    cli("aggregate", "create", agg, cloud="ecsd-admin")
    cli("aggregate", "add", "host", agg, host, cloud="ecsd-admin")
    try:
        shown = cli("hypervisor", "show", host, cloud="ecsd-admin")
        assert shown["hypervisor_hostname"] == host
        assert agg in shown["aggregates"]
        assert shown["state"] == "up" and shown["status"] == "enabled"
        # By id too, and at an old microversion (uptime and the resource counts).
        assert cli("hypervisor", "show", shown["id"], cloud="ecsd-admin")["hypervisor_hostname"] == host
        old = cli("--os-compute-api-version", "2.1", "hypervisor", "show", host, cloud="ecsd-admin")
        assert old["vcpus"] > 0 and "uptime" in old
        refused = cli("hypervisor", "show", host, parse=False, check=False)
        assert refused.returncode != 0
    finally:
        cli("aggregate", "remove", "host", agg, host, cloud="ecsd-admin")
        cli("aggregate", "delete", agg, cloud="ecsd-admin", parse=False)
