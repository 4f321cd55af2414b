"""Issue 5 through the real clients: resize, rebuild, passwords, consoles,
metadata, tags, server groups and quotas."""

import uuid

import openstack.exceptions
import pytest


def boot(conn, name, flavor="s3.small.1", **extra):
    image = next(iter(conn.compute.images()))
    server = conn.compute.create_server(name=name, flavor_id=flavor, image_id=image.id, networks="auto", **extra)
    return conn.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)


def test_resize_confirm_and_revert_with_openstacksdk(demo):
    server = boot(demo, f"rs-{uuid.uuid4().hex[:6]}")
    demo.compute.resize_server(server, "s3.large.2")
    server = demo.compute.wait_for_server(server, status="VERIFY_RESIZE", wait=60, interval=0.2)
    assert server.flavor.original_name == "s3.large.2"
    demo.compute.confirm_server_resize(server)
    server = demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    assert server.flavor.vcpus == 2

    demo.compute.resize_server(server, "s3.medium.2")
    demo.compute.wait_for_server(server, status="VERIFY_RESIZE", wait=60, interval=0.2)
    demo.compute.revert_server_resize(server)
    server = demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    assert server.flavor.original_name == "s3.large.2"
    with pytest.raises(openstack.exceptions.BadRequestException):
        demo.compute.resize_server(server, "s3.large.2")
    actions = [a.action for a in demo.compute.server_actions(server)]
    assert actions.count("resize") == 2 and "confirmResize" in actions and "revertResize" in actions
    demo.compute.delete_server(server)


def test_rebuild_password_and_console_with_the_cli(demo, cli, tmp_path):
    # A key pair Nova generates is RSA: a password can be encrypted to it
    # (the CLI would make an Ed25519 one locally, which cannot).
    key = f"k-{uuid.uuid4().hex[:6]}"
    private = tmp_path / "key.pem"
    private.write_text(demo.compute.create_keypair(name=key).private_key)
    name = f"rb-{uuid.uuid4().hex[:6]}"
    cli("server", "create", "--flavor", "s3.small.1", "--image", "cirros-0.6.2-x86_64",
        "--network", "default-net", "--key-name", key, "--wait", name)
    # With --wait the CLI prints its progress, not JSON.
    cli("server", "rebuild", "--image", "cirros-0.6.2-x86_64", "--name", name + "-2",
        "--property", "role=web", "--wait", name, parse=False)
    shown = cli("server", "show", name + "-2")
    assert shown["status"] == "ACTIVE"
    assert "role" in str(shown["properties"])

    # changePassword with openstacksdk, read back with novaclient's get_password
    # (which decrypts with the key pair's private key through openssl).
    from novaclient import client as nova_client

    server = demo.compute.find_server(name + "-2")
    demo.compute.change_server_password(server, "Pa55-word")
    nova = nova_client.Client("2.1", session=demo.session)
    assert nova.servers.get_password(server.id, str(private)) == "Pa55-word"
    nova.servers.clear_password(server.id)
    assert nova.servers.get_password(server.id) == ""

    console = cli("console", "url", "show", "--novnc", name + "-2")
    assert "token" in console["url"]
    log = cli("console", "log", "show", "--lines", "3", name + "-2", parse=False).stdout
    assert "login:" in log
    cli("server", "delete", "--wait", name + "-2", parse=False)


def test_metadata_tags_groups_and_quotas(admin, demo):
    group = demo.compute.create_server_group(name=f"g-{uuid.uuid4().hex[:6]}", policy="anti-affinity")
    server = boot(demo, f"md-{uuid.uuid4().hex[:6]}", scheduler_hints={"group": group.id})
    demo.compute.set_server_metadata(server, env="test", tier="db")
    assert demo.compute.get_server_metadata(server).metadata == {"env": "test", "tier": "db"}
    demo.compute.delete_server_metadata(server, ["tier"])
    assert demo.compute.get_server_metadata(server).metadata == {"env": "test"}
    server.add_tag(demo.compute, "blue")
    assert "blue" in demo.compute.get_server(server).tags
    assert server.id in demo.compute.get_server_group(group).member_ids

    quotas = admin.compute.get_quota_set(demo.current_project_id, usage=True)
    assert quotas.usage["instances"] >= 1
    limits = demo.compute.get_limits()
    assert limits.absolute.instances_used >= 1
    demo.compute.delete_server(server)
    demo.compute.wait_for_delete(server, wait=60, interval=0.2)
    demo.compute.delete_server_group(group)
