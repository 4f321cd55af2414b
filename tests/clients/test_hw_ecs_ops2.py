"""Huawei Cloud's EcsClient against ecsd: resize (v1.1, batch, targets),
flavor sale and capacity, zones, batch rename, NICs (os-interface,
delete_on_termination, change-network-interface, changevpc, virtual IPs),
ECS group members, and the seed's auto recovery pair (no SDK operation:
plain token requests)."""

import uuid

import pytest
from huaweicloudsdkecs.v2 import (
    AddServerGroupMemberRequest, AddServerGroupMemberRequestBody, AssociateServerVirtualIpOption,
    AssociateServerVirtualIpRequest, AssociateServerVirtualIpRequestBody, BatchAddServerGroupMemberReq,
    BatchAddServerGroupMemberRequest, BatchDeleteServerGroupMemberReq, BatchDeleteServerGroupMemberRequest,
    BatchResizeServersOption, BatchResizeServersReq, BatchResizeServersRequest, BatchUpdateServersNameRequest,
    BatchUpdateServersNameRequestBody, ChangeServerNetworkInterfaceRequest,
    ChangeServerNetworkInterfaceRequestBody, ChangeVpcNicBody, ChangeVpcRequest, ChangeVpcRequestBody,
    CreateServerGroupOption, CreateServerGroupRequest, CreateServerGroupRequestBody, DeleteServerGroupMemberRequest,
    DeleteServerGroupMemberRequestBody, DeleteServerGroupRequest, DisassociateServerVirtualIpOption,
    DisassociateServerVirtualIpRequest, DisassociateServerVirtualIpRequestBody, EcsClient, InterfaceAttachment,
    ListFlavorSellPoliciesRequest, ListResizeFlavorsRequest, ListServerAzInfoRequest, ListServerInterfacesRequest,
    ResizePrePaidServerOption, ResizeServerExtendParam, ResizeServerRequest, ResizeServerRequestBody, ServerGroupMember,
    ServerId, ShowFlavorCapacityRequest, ShowServerAttachableNicNumRequest, ShowServerGroupRequest,
    ShowServerRequest, UpdateNicInfoRequestBody, UpdateServerInterfaceRequest,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from conftest import hw_wait_job


def boot(demo, prefix, flavor="m1.tiny", stopped=False):
    image = next(iter(demo.compute.images()))
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server = demo.compute.create_server(name=name, flavor_id=flavor, image_id=image.id, networks="auto")
    server = demo.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)
    if stopped:
        demo.compute.stop_server(server)
        server = demo.compute.wait_for_server(server, status="SHUTOFF", wait=60, interval=0.2)
    return server


@pytest.fixture(scope="module")
def ecs(hw):
    return hw(EcsClient)


def test_zones_sale_and_resize_targets(ecs, demo):
    zones = ecs.list_server_az_info(ListServerAzInfoRequest()).availability_zones
    assert zones
    zone = zones[0]
    assert zone.availability_zone_id and zone.type == "Center" and zone.mode == "shared"
    assert zone.public_border_group == "center" and zone.alias and zone.az_group_ids == [] and zone.category == 0

    policies = ecs.list_flavor_sell_policies(ListFlavorSellPoliciesRequest(flavor_id="m1.tiny"))
    assert policies.count >= 1
    p = policies.sell_policies[0]
    assert isinstance(p.id, int) and p.flavor_id == "m1.tiny" and p.sell_mode == "postPaid"
    assert p.sell_status == "available" and p.availability_zone_id
    assert ecs.list_flavor_sell_policies(ListFlavorSellPoliciesRequest(sell_mode="prePaid")).count == 0

    capacity = ecs.show_flavor_capacity(ShowFlavorCapacityRequest(flavor_id="m1.tiny")).resources
    assert capacity and capacity[0].region_id and capacity[0].availability_zone and capacity[0].prefer is True

    server = boot(demo, "rf")
    flavors = ecs.list_resize_flavors(ListResizeFlavorsRequest(instance_uuid=server.id)).flavors
    names = [f.name for f in flavors]
    assert "m1.tiny" not in names and "m1.small" in names
    f = next(f for f in flavors if f.name == "m1.small")
    assert f.id and f.vcpus == "1" and f.ram == 2048 and f.disk == "20" and f.links and f.extra_specs is not None
    assert f.os_flavor_accessis_public is True and f.os_flv_disable_ddisabled is False
    assert f.instance_quota == {}
    by_flavor = ecs.list_resize_flavors(ListResizeFlavorsRequest(source_flavor_id="m1.tiny", limit=1, sort_key="name"))
    assert len(by_flavor.flavors) == 1
    with pytest.raises(ClientRequestException) as e:
        ecs.list_resize_flavors(ListResizeFlavorsRequest(source_flavor_id="nope"))
    assert e.value.status_code == 400 and e.value.error_code == "Ecs.0029"
    demo.compute.delete_server(server)


def test_resize_batch_resize_and_rename(ecs, demo):
    a = boot(demo, "rs")
    b = boot(demo, "rs", stopped=True)

    # v1.1 resize of a running server with mode withStopServer: a job, no order.
    option = ResizePrePaidServerOption(
        flavor_ref="m1.small", mode="withStopServer", extendparam=ResizeServerExtendParam(is_auto_pay="true"))
    reply = ecs.resize_server(ResizeServerRequest(server_id=a.id, body=ResizeServerRequestBody(resize=option)))
    assert reply.job_id and reply.order_id is None
    job = hw_wait_job(ecs, reply.job_id)
    assert job.status == "SUCCESS" and job.job_type == "resizeServer"
    demo.compute.wait_for_server(demo.compute.get_server(a.id), status="ACTIVE", wait=60, interval=0.2)
    assert ecs.show_server(ShowServerRequest(server_id=a.id)).server.flavor.id == "m1.small"
    with pytest.raises(ClientRequestException) as e:
        ecs.resize_server(ResizeServerRequest(
            server_id=a.id, body=ResizeServerRequestBody(resize=ResizePrePaidServerOption(flavor_ref="m1.small"))))
    assert e.value.status_code == 400 and e.value.error_code == "Ecs.0810"

    # Batch resize of a stopped server.
    body = BatchResizeServersReq(resize=BatchResizeServersOption(flavor_ref="m1.small", servers=[ServerId(id=b.id)]))
    reply = ecs.batch_resize_servers(BatchResizeServersRequest(body=body))
    assert reply.job_id
    job = hw_wait_job(ecs, reply.job_id)
    assert job.status == "SUCCESS", job
    assert job.entities.sub_jobs[0].entities.server_id == b.id
    assert ecs.show_server(ShowServerRequest(server_id=b.id)).server.flavor.id == "m1.small"

    # Both renamed at once.
    name = f"renamed-{uuid.uuid4().hex[:6]}"
    body = BatchUpdateServersNameRequestBody(name=name, servers=[ServerId(id=a.id), ServerId(id=b.id)])
    renamed = ecs.batch_update_servers_name(BatchUpdateServersNameRequest(body=body))
    assert sorted(s.id for s in renamed.response) == sorted([a.id, b.id])
    assert ecs.show_server(ShowServerRequest(server_id=b.id)).server.name == name
    with pytest.raises(ClientRequestException) as e:
        body = BatchUpdateServersNameRequestBody(name="no spaces", servers=[ServerId(id=a.id)])
        ecs.batch_update_servers_name(BatchUpdateServersNameRequest(body=body))
    assert e.value.status_code == 400 and e.value.error_code == "Ecs.0005"
    demo.compute.delete_server(a)
    demo.compute.delete_server(b)


def test_interfaces_and_virtual_ips(ecs, demo):
    server = boot(demo, "nic")
    listed = ecs.list_server_interfaces(ListServerInterfacesRequest(server_id=server.id))
    assert listed.attachable_quantity.free_nic == 11
    nic = listed.interface_attachments[0]
    assert nic.port_id and nic.net_id and nic.mac_addr and nic.port_state == "ACTIVE"
    assert nic.fixed_ips[0].ip_address and nic.fixed_ips[0].subnet_id
    assert nic.delete_on_termination is True and nic.driver_mode == "virtio" and nic.pci_address
    assert nic.min_rate == 0 and nic.multiqueue_num == 1
    subnet_id = nic.fixed_ips[0].subnet_id
    prefix = nic.fixed_ips[0].ip_address.rsplit(".", 1)[0]

    ext = ecs.show_server_attachable_nic_num(ShowServerAttachableNicNumRequest(server_id=server.id))
    q = ext.attachable_quantity
    assert q.free_nic == 11 and q.free_scsi > 0 and q.free_blk > 0 and q.free_disk > 0 and q.free_efi_nic == 0
    assert ext.interface_attachments[0].preserve_on_delete is False
    assert ext.interface_attachments[0].port_id == nic.port_id

    body = UpdateNicInfoRequestBody(interface_attachment=InterfaceAttachment(delete_on_termination=False))
    ecs.update_server_interface(UpdateServerInterfaceRequest(server_id=server.id, port_id=nic.port_id, body=body))
    listed = ecs.list_server_interfaces(ListServerInterfacesRequest(server_id=server.id))
    assert listed.interface_attachments[0].delete_on_termination is False

    # A virtual IP: the address's port goes into the NIC's allowed address pairs.
    vip_ip = f"{prefix}.210"
    option = AssociateServerVirtualIpOption(subnet_id=subnet_id, ip_address=vip_ip, reverse_binding=True)
    bound = ecs.associate_server_virtual_ip(AssociateServerVirtualIpRequest(
        nic_id=nic.port_id, body=AssociateServerVirtualIpRequestBody(nic=option)))
    assert bound.port_id == nic.port_id
    port = demo.network.get_port(nic.port_id)
    assert [p["ip_address"] for p in port.allowed_address_pairs] == [vip_ip]
    vip = next(q for q in demo.network.ports() if [f["ip_address"] for f in q.fixed_ips] == [vip_ip])
    assert vip.device_owner == "neutron:VIP_PORT"
    option = DisassociateServerVirtualIpOption(subnet_id="", ip_address="")
    unbound = ecs.disassociate_server_virtual_ip(DisassociateServerVirtualIpRequest(
        nic_id=nic.port_id, body=DisassociateServerVirtualIpRequestBody(nic=option)))
    assert unbound.port_id == nic.port_id
    assert demo.network.get_port(nic.port_id).allowed_address_pairs == []

    # A stopped server's primary NIC to another address.
    demo.compute.stop_server(server)
    demo.compute.wait_for_server(server, status="SHUTOFF", wait=60, interval=0.2)
    body = ChangeServerNetworkInterfaceRequestBody(subnet_id=subnet_id, ip_address=f"{prefix}.211")
    changed = ecs.change_server_network_interface(ChangeServerNetworkInterfaceRequest(
        server_id=server.id, port_id=nic.port_id, body=body))
    assert changed.id == nic.port_id and changed.ip_address == f"{prefix}.211" and changed.subnet_id == subnet_id
    assert changed.ipv6_address == ""

    # changevpc: a new NIC on another network, the old one gone. (The
    # network goes again: other tests boot on "auto", one network.)
    net = demo.network.create_network(name=f"vpc-{uuid.uuid4().hex[:6]}")
    try:
        sub = demo.network.create_subnet(network_id=net.id, cidr="10.77.0.0/24", ip_version=4)
        body = ChangeVpcRequestBody(vpc_id=net.id, nic=ChangeVpcNicBody(subnet_id=sub.id, ip_address="10.77.0.9"))
        reply = ecs.change_vpc(ChangeVpcRequest(server_id=server.id, body=body))
        job = hw_wait_job(ecs, reply.job_id)
        assert job.status == "SUCCESS" and job.job_type == "changeVpc", job
        listed = ecs.list_server_interfaces(ListServerInterfacesRequest(server_id=server.id)).interface_attachments
        assert [(n.net_id, n.fixed_ips[0].ip_address) for n in listed] == [(net.id, "10.77.0.9")]
        with pytest.raises(ClientRequestException) as e:
            ecs.list_server_interfaces(ListServerInterfacesRequest(server_id=str(uuid.uuid4())))
        assert e.value.status_code == 404 and e.value.error_code == "Ecs.0114"
    finally:
        demo.compute.delete_server(server)
        demo.compute.wait_for_delete(server, wait=60, interval=0.2)
        demo.network.delete_port(vip.id)
        demo.network.delete_network(net.id)


def test_server_group_members(ecs, demo):
    a = boot(demo, "grp", stopped=True)
    b = boot(demo, "grp", stopped=True)
    option = CreateServerGroupOption(name=f"g-{uuid.uuid4().hex[:6]}", policies=["anti-affinity"])
    group = ecs.create_server_group(CreateServerGroupRequest(body=CreateServerGroupRequestBody(server_group=option)))
    gid = group.server_group.id

    added = ecs.batch_add_server_group_member(BatchAddServerGroupMemberRequest(
        server_group_id=gid, body=BatchAddServerGroupMemberReq(server_ids=[a.id, b.id])))
    assert added.status == "success"
    assert [(s.server_id, s.status) for s in added.servers] == [(a.id, "success"), (b.id, "success")]
    shown = ecs.show_server_group(ShowServerGroupRequest(server_group_id=gid)).server_group
    assert sorted(shown.members) == sorted([a.id, b.id]) and shown.policies == ["anti-affinity"]

    removed = ecs.batch_delete_server_group_member(BatchDeleteServerGroupMemberRequest(
        server_group_id=gid, body=BatchDeleteServerGroupMemberReq(server_ids=[a.id, b.id])))
    assert removed.status == "success" and len(removed.servers) == 2
    assert ecs.show_server_group(ShowServerGroupRequest(server_group_id=gid)).server_group.members == []

    # The one-at-a-time pair works with the SDK too.
    ecs.add_server_group_member(AddServerGroupMemberRequest(
        server_group_id=gid, body=AddServerGroupMemberRequestBody(add_member=ServerGroupMember(instance_uuid=a.id))))
    assert ecs.show_server_group(ShowServerGroupRequest(server_group_id=gid)).server_group.members == [a.id]
    ecs.delete_server_group_member(DeleteServerGroupMemberRequest(
        server_group_id=gid,
        body=DeleteServerGroupMemberRequestBody(remove_member=ServerGroupMember(instance_uuid=a.id))))
    assert ecs.show_server_group(ShowServerGroupRequest(server_group_id=gid)).server_group.members == []
    ecs.delete_server_group(DeleteServerGroupRequest(server_group_id=gid))
    with pytest.raises(ClientRequestException) as e:
        ecs.show_server_group(ShowServerGroupRequest(server_group_id=gid))
    assert e.value.status_code == 404
    demo.compute.delete_server(a)
    demo.compute.delete_server(b)


def test_auto_recovery(demo, hw_endpoint):
    """The seed's GET/PUT …/autorecovery (no SDK operation): token requests."""
    server = boot(demo, "ar")
    url = f"{hw_endpoint}/v1/{demo.current_project_id}/cloudservers/{server.id}/autorecovery"
    r = demo.session.get(url, endpoint_filter=None, raise_exc=False)
    assert r.status_code == 200 and r.json() == {"support_auto_recovery": "true"}, r.text
    r = demo.session.put(url, json={"support_auto_recovery": "false"}, raise_exc=False)
    assert r.status_code == 204, r.text
    assert demo.session.get(url, raise_exc=False).json() == {"support_auto_recovery": "false"}
    r = demo.session.put(url, json={"support_auto_recovery": "sometimes"}, raise_exc=False)
    assert r.status_code == 400 and r.json()["error"]["code"] == "Ecs.0005", r.text
    demo.compute.delete_server(server)
