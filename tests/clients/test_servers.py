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
