"""Issue 3 through openstacksdk: servers from create to delete."""

import uuid

import openstack.exceptions
import pytest


def seeded_image(conn):
    # Nova's image proxy (below 2.36); the image service arrives later.
    return next(iter(conn.compute.images()))


def test_server_lifecycle(demo):
    image = seeded_image(demo)
    name = f"sdk-{uuid.uuid4().hex[:6]}"
    server = demo.compute.create_server(name=name, flavor_id="s3.small.1", image_id=image.id, networks="auto")
    assert server.admin_password
    server = demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    assert server.name == name
    assert server.addresses["default-net"][0]["addr"].startswith("192.168.0.")
    assert server.vm_state == "active" and server.power_state == 1

    demo.compute.stop_server(server)
    demo.compute.wait_for_server(server, status="SHUTOFF", wait=60, interval=0.2)
    with pytest.raises(openstack.exceptions.ConflictException):
        demo.compute.stop_server(server)
    demo.compute.start_server(server)
    demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    demo.compute.reboot_server(server, "HARD")
    demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)

    output = demo.compute.get_server_console_output(server)["output"]
    assert name in output
    actions = [a.action for a in demo.compute.server_actions(server)]
    assert actions[-1] == "create" and "stop" in actions and "reboot" in actions

    demo.compute.update_server(server, name=name + "-renamed")
    assert demo.compute.get_server(server).name == name + "-renamed"
    assert name + "-renamed" in [s.name for s in demo.compute.servers()]

    demo.compute.delete_server(server)
    demo.compute.wait_for_delete(server, wait=60, interval=0.2)
    with pytest.raises(openstack.exceptions.NotFoundException):
        demo.compute.get_server(server.id)


def test_bad_requests_are_nova_faults(demo):
    image = seeded_image(demo)
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        demo.compute.create_server(name="x", flavor_id="no-such-flavor", image_id=image.id, networks="auto")
    assert "could not be found" in str(err.value)
    with pytest.raises(openstack.exceptions.NotFoundException):
        demo.compute.get_server(str(uuid.uuid4()))


def wait_cli_status(cli, name, status):
    import time

    for _ in range(300):
        if cli("server", "show", name)["status"] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} never became {status}")


def test_cli_server_round_trip(cli, tmp_path):
    assert "cirros-0.6.2-x86_64" in {i["Name"] for i in cli("image", "list")}
    assert "default-net" in {n["Name"] for n in cli("network", "list")}
    key = f"k-{uuid.uuid4().hex[:6]}"
    cli("keypair", "create", "--private-key", str(tmp_path / "k"), key)
    name = f"cli-{uuid.uuid4().hex[:6]}"
    server = cli(
        "server", "create", "--flavor", "s3.small.1", "--image", "cirros-0.6.2-x86_64",
        "--network", "default-net", "--key-name", key, "--wait", name,
    )
    assert server["status"] == "ACTIVE"
    assert "default-net" in str(server["addresses"])
    assert server["key_name"] == key
    assert name in {s["Name"] for s in cli("server", "list")}

    cli("server", "set", "--name", name + "-b", name, parse=False)
    name += "-b"
    cli("server", "stop", name, parse=False)
    wait_cli_status(cli, name, "SHUTOFF")
    cli("server", "start", name, parse=False)
    wait_cli_status(cli, name, "ACTIVE")
    cli("server", "reboot", "--hard", "--wait", name, parse=False)
    log = cli("console", "log", "show", name, parse=False).stdout
    assert "login:" in log
    events = {e["Action"] for e in cli("server", "event", "list", name)}
    assert {"create", "stop", "start", "reboot"} <= events

    cli("server", "delete", "--wait", name, parse=False)
    assert cli("server", "show", name, check=False, parse=False).returncode != 0
    cli("keypair", "delete", key, parse=False)


def test_cli_min_max_count(cli):
    name = f"multi-{uuid.uuid4().hex[:6]}"
    cli(
        "server", "create", "--flavor", "m1.tiny", "--image", "cirros-0.6.2-x86_64", "--network", "default-net",
        "--min", "3", "--max", "3", "--wait", name, parse=False,
    )
    names = sorted(s["Name"] for s in cli("server", "list", "--name", f"^{name}"))
    assert names == [f"{name}-1", f"{name}-2", f"{name}-3"]
    for n in names:
        cli("server", "delete", "--wait", n, parse=False)
