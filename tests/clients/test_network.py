"""Issue 4 (first part) through openstacksdk and the CLI: networks, ports, NICs."""

import uuid

import openstack.exceptions
import pytest


def test_ports_and_interfaces(demo):
    net = demo.network.find_network("default-net", ignore_missing=False)
    assert net.subnet_ids
    port = demo.network.create_port(network_id=net.id, name=f"p-{uuid.uuid4().hex[:6]}")
    assert port.fixed_ips[0]["ip_address"].startswith("192.168.0.")
    image = next(iter(demo.compute.images()))
    server = demo.compute.create_server(name="nics", flavor_id="m1.tiny", image_id=image.id, networks="none")
    server = demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)

    attached = demo.compute.create_server_interface(server, port_id=port.id)
    assert attached.port_id == port.id
    by_net = demo.compute.create_server_interface(server, net_id=net.id)
    assert {i.port_id for i in demo.compute.server_interfaces(server)} == {port.id, by_net.port_id}
    assert demo.network.get_port(port.id).device_id == server.id

    demo.compute.delete_server_interface(by_net, server=server)
    demo.compute.delete_server(server)
    demo.compute.wait_for_delete(server, wait=60, interval=0.2)
    # The user's port outlives the server; the one Nova made for the network does not.
    assert demo.network.get_port(port.id).device_id == ""
    with pytest.raises(openstack.exceptions.NotFoundException):
        demo.network.get_port(by_net.port_id)
    demo.network.delete_port(port)


def test_cli_network_and_port(cli):
    assert "192.168.0.0/24" in {s["Subnet"] for s in cli("subnet", "list")}
    name = f"cli-port-{uuid.uuid4().hex[:6]}"
    port = cli("port", "create", "--network", "default-net", name)
    assert port["name"] == name
    assert name in {p["Name"] for p in cli("port", "list")}
    cli("port", "delete", name, parse=False)


def test_volume_attachments_and_security_groups(demo):
    # Volumes through Nova's proxy (the block-storage service is not offered).
    vol = demo.compute.post("/os-volumes", json={"volume": {"size": 1, "display_name": "sdk"}},
                            microversion="2.1").json()["volume"]
    image = next(iter(demo.compute.images()))
    server = demo.compute.create_server(name="vols", flavor_id="m1.tiny", image_id=image.id, networks="none")
    server = demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    attachment = demo.compute.create_volume_attachment(server, volume_id=vol["id"])
    assert attachment.device == "/dev/vdb"
    assert [a.volume_id for a in demo.compute.volume_attachments(server)] == [vol["id"]]

    groups = demo.compute.get("/os-security-groups", microversion="2.1").json()["security_groups"]
    assert "default" in {g["name"] for g in groups}
    demo.compute.post("/os-security-groups", json={"security_group": {"name": "sdk-web", "description": ""}},
                      microversion="2.1")
    demo.compute.add_security_group_to_server(server, {"name": "sdk-web"})
    assert "sdk-web" in {g["name"] for g in demo.compute.get_server(server).security_groups}

    demo.compute.delete_server(server)
    demo.compute.wait_for_delete(server, wait=60, interval=0.2)
    volume = demo.compute.get(f"/os-volumes/{vol['id']}", microversion="2.1").json()["volume"]
    assert volume["status"] == "available"
