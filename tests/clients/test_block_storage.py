"""Issue 18, block storage: Cinder v3 through the OpenStack CLI and
openstacksdk's `block_storage` proxy at their default (negotiated)
microversions, and Nova's attach/detach on the same volumes."""

import uuid

import openstack.exceptions
import pytest


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _server(conn, name):
    image = next(iter(conn.compute.images()))
    server = conn.compute.create_server(name=name, flavor_id="m1.tiny", image_id=image.id, networks="none")
    return conn.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)


def test_cli_volumes_snapshots_types_and_attach(cli, demo):
    name = _name("cli-vol")
    vol = cli("volume", "create", "--size", "1", "--property", "tier=gold", name)
    assert vol["status"] == "available"
    assert vol["size"] == 1
    assert name in {v["Name"] for v in cli("volume", "list")}
    shown = cli("volume", "show", name)
    assert shown["id"] == vol["id"]
    assert "tier" in str(shown["properties"])

    renamed = _name("cli-vol2")
    cli("volume", "set", "--name", renamed, "--property", "k=v", "--size", "2", name, parse=False)
    shown = cli("volume", "show", renamed)
    assert shown["size"] == 2
    assert "k" in str(shown["properties"])
    cli("volume", "unset", "--property", "k", renamed, parse=False)
    assert "'k'" not in str(cli("volume", "show", renamed)["properties"])

    types = {t["Name"] for t in cli("volume", "type", "list")}
    assert "__DEFAULT__" in types

    snap = _name("cli-snap")
    made = cli("volume", "snapshot", "create", "--volume", renamed, snap)
    assert made["status"] == "available"
    assert snap in {s["Name"] for s in cli("volume", "snapshot", "list")}
    # A volume with snapshots is not deleted.
    refused = cli("volume", "delete", renamed, parse=False, check=False)
    assert refused.returncode != 0
    cli("volume", "snapshot", "delete", snap, parse=False)

    # Nova attaches and detaches the Cinder volume (compute at 2.100).
    server = _server(demo, _name("cli-vm"))
    cli("server", "add", "volume", server.id, renamed, parse=False)
    for _ in range(200):
        if cli("volume", "show", renamed)["status"] == "in-use":
            break
    shown = cli("volume", "show", renamed)
    assert shown["status"] == "in-use"
    assert server.id in str(shown["attachments"])
    refused = cli("volume", "delete", renamed, parse=False, check=False)
    assert refused.returncode != 0
    cli("server", "remove", "volume", server.id, renamed, parse=False)
    for _ in range(200):
        if cli("volume", "show", renamed)["status"] == "available":
            break
    assert cli("volume", "show", renamed)["status"] == "available"
    demo.compute.delete_server(server)
    demo.compute.wait_for_delete(server, wait=60, interval=0.2)
    cli("volume", "delete", renamed, parse=False)
    assert renamed not in {v["Name"] for v in cli("volume", "list")}


def test_sdk_block_storage(demo, admin):
    bs = demo.block_storage
    name = _name("sdk-vol")
    vol = bs.create_volume(size=1, name=name, metadata={"a": "1"})
    vol = bs.wait_for_status(vol, status="available", wait=30, interval=0.2)
    assert vol.size == 1
    assert name in {v.name for v in bs.volumes(details=True)}
    assert [v.id for v in bs.volumes(name=name)] == [vol.id]
    bs.set_volume_metadata(vol, b="2")
    assert bs.get_volume(vol).metadata == {"a": "1", "b": "2"}
    bs.extend_volume(vol, 3)
    assert bs.get_volume(vol).size == 3
    bs.retype_volume(vol, "SSD")
    assert bs.get_volume(vol).volume_type == "SSD"

    snap = bs.create_snapshot(volume_id=vol.id, name=_name("sdk-snap"))
    snap = bs.wait_for_status(snap, status="available", wait=30, interval=0.2)
    clone = bs.create_volume(snapshot_id=snap.id, name=_name("sdk-clone"))
    clone = bs.wait_for_status(clone, status="available", wait=30, interval=0.2)
    assert clone.size == 3
    bs.delete_volume(clone)
    bs.delete_snapshot(snap)
    bs.wait_for_delete(snap, wait=30, interval=0.2)

    # Attach through Nova at its default microversion; Cinder sees it.
    server = _server(demo, _name("sdk-vm"))
    demo.compute.create_volume_attachment(server, volume_id=vol.id)
    vol = bs.wait_for_status(vol, status="in-use", wait=30, interval=0.2)
    assert vol.attachments[0]["server_id"] == server.id
    with pytest.raises(openstack.exceptions.HttpException):
        bs.delete_volume(vol)
    demo.compute.delete_volume_attachment(vol.id, server)
    bs.wait_for_status(vol, status="available", wait=30, interval=0.2)

    assert "__DEFAULT__" in {t.name for t in bs.types()}
    limits = bs.get_limits()
    assert limits.absolute.max_total_volumes >= 1
    demo.compute.delete_server(server)
    demo.compute.wait_for_delete(server, wait=60, interval=0.2)
    bs.delete_volume(vol)
    bs.wait_for_delete(vol, wait=30, interval=0.2)
    with pytest.raises(openstack.exceptions.NotFoundException):
        bs.get_volume(vol.id)
    # Another project's volume is not there: the admin's volume for demo.
    theirs = admin.block_storage.create_volume(size=1, name=_name("theirs"))
    with pytest.raises(openstack.exceptions.NotFoundException):
        bs.get_volume(theirs.id)
    admin.block_storage.delete_volume(theirs)


def test_sdk_volume_quotas(admin, demo):
    project = demo.current_project_id
    quota = admin.block_storage.get_quota_set(project, usage=True)
    assert quota.volumes["limit"] >= 1 if isinstance(quota.volumes, dict) else quota.volumes >= 1
