"""Issue 17 through the OpenStack CLI and openstacksdk: host aggregates and
the availability zones they make."""

import uuid

import openstack.exceptions
import pytest


def test_cli_aggregate_zone_and_placement(cli):
    name = f"agg-{uuid.uuid4().hex[:6]}"
    zone = f"az-{uuid.uuid4().hex[:6]}"
    agg = cli("aggregate", "create", "--zone", zone, "--property", "ssd=true", name, cloud="ecsd-admin")
    assert agg["name"] == name and agg["availability_zone"] == zone
    hosts = [h["Hypervisor Hostname"] for h in cli("hypervisor", "list", cloud="ecsd-admin")]
    host = sorted(hosts)[-1]
    added = cli("aggregate", "add", "host", name, host, cloud="ecsd-admin")
    assert host in added["hosts"]
    shown = cli("aggregate", "show", name, cloud="ecsd-admin")
    assert shown["properties"] == {"ssd": "true"} or shown["properties"].get("ssd") == "true"
    zones = cli("availability", "zone", "list", "--long", cloud="ecsd-admin")
    assert any(z["Zone Name"] == zone and z["Host Name"] == host for z in zones), zones
    # A server asked in the zone lands on its one host.
    image = cli("image", "list", cloud="ecsd-admin")[0]["ID"]
    server = cli("server", "create", "--flavor", "m1.tiny", "--image", image, "--no-network",
                 "--availability-zone", zone, "--wait", f"in-{zone}", cloud="ecsd-admin")
    assert server["OS-EXT-AZ:availability_zone"] == zone
    assert server["OS-EXT-SRV-ATTR:host"] == host
    cli("server", "delete", "--wait", server["id"], cloud="ecsd-admin", parse=False)
    listed = [a["Name"] for a in cli("aggregate", "list", cloud="ecsd-admin")]
    assert name in listed
    # Not while it holds a host; then gone.
    refused = cli("aggregate", "delete", name, cloud="ecsd-admin", parse=False, check=False)
    assert refused.returncode != 0
    cli("aggregate", "remove", "host", name, host, cloud="ecsd-admin")
    cli("aggregate", "delete", name, cloud="ecsd-admin", parse=False)


def test_sdk_aggregates_are_admin_only(admin, demo):
    agg = admin.compute.create_aggregate(name=f"sdk-{uuid.uuid4().hex[:6]}", availability_zone="sdk-zone")
    try:
        with pytest.raises(openstack.exceptions.ForbiddenException):
            list(demo.compute.aggregates())
        host = sorted(h.name for h in admin.compute.hypervisors())[0]
        agg = admin.compute.add_host_to_aggregate(agg, host)
        assert host in agg.hosts
        agg = admin.compute.set_aggregate_metadata(agg, {"filter_tenant_id": admin.current_project_id})
        assert agg.metadata["availability_zone"] == "sdk-zone"
        with pytest.raises(openstack.exceptions.ConflictException):
            admin.compute.add_host_to_aggregate(agg, host)
        admin.compute.remove_host_from_aggregate(agg, host)
    finally:
        admin.compute.delete_aggregate(agg)
