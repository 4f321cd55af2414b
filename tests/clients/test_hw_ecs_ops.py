"""Every EcsClient operation ecsd served before issue 19, and the 16 `nova_*`
ones, as the real Huawei Cloud SDK calls them: each answers, and the
response model the SDK builds (by its attribute maps) has every field that
ecsd can model filled in (a field ecsd leaves out is None to the user)."""

import fnmatch
import time
import uuid

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import *  # noqa: F403 (the SDK's request models)

from conftest import hw_wait_job

# Fields no ecsd server, flavor or project can have a value for: GPUs and
# accelerators, capacity reservations, spot and dedicated-host options,
# Huawei's billing-only and hardware-only attributes.
NEVER = (
    "*.gpus", "*.asic_accelerators", "*capacity_reservation*", "*.auto_terminate_time", "*.spod_id",
    "*.enclave_options", "*.dedicated_host_id", "*.tenancy", "*.cpu_options", "*.security_options",
    "*.fault", "*.os_srv_us_gterminated_at", "*.os_ext_srv_att_rkernel_id", "*.os_ext_srv_att_rramdisk_id",
    "*.os_ext_srv_att_ruser_data", "*.sys_tags", "*.market_info.prepaid_info", "*.association",
)


def unset(model, path=""):
    """The paths of the model's fields the SDK left None (lists and maps are
    followed into their first item)."""
    missing = []
    for attr in model.openapi_types:
        value = getattr(model, attr)
        here = f"{path}.{attr}" if path else attr
        if value is None:
            missing.append(here)
        elif hasattr(value, "openapi_types"):
            missing += unset(value, here)
        elif isinstance(value, list) and value and hasattr(value[0], "openapi_types"):
            missing += unset(value[0], here + "[]")
        elif isinstance(value, dict) and value:
            first = next(iter(value.values()))
            if isinstance(first, list) and first and hasattr(first[0], "openapi_types"):
                missing += unset(first[0], here + "{}[]")
    return missing


def populated(model, *allowed):
    """Asserts that every field of the model is set but those `allowed` (glob
    patterns) and those in NEVER; returns the model."""
    allowed = NEVER + allowed

    def excused(path):
        # A pattern excuses the field it names and everything under it.
        prefixes = ["." + ".".join(path.split(".")[:i]) for i in range(1, path.count(".") + 2)]
        return any(fnmatch.fnmatch(p, "*" + a.lstrip("*")) for p in prefixes for a in allowed)

    missing = [m for m in unset(model) if not excused(m)]
    assert not missing, f"{type(model).__name__}: unset {missing}"
    return model


def job_ok(ecs, job_id):
    job = hw_wait_job(ecs, job_id)
    assert job.status == "SUCCESS", job
    return job


def wait_status(ecs, server_id, status, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        server = ecs.show_server(ShowServerRequest(server_id=server_id)).server
        if server.status == status and server.os_ext_st_stask_state in (None, ""):
            return server
        time.sleep(0.2)
    raise AssertionError(f"{server_id} never became {status}")


@pytest.fixture(scope="module")
def ecs(hw):
    return hw(EcsClient)


@pytest.fixture(scope="module")
def place(demo):
    image = next(i for i in demo.image.images() if i.name.startswith("cirros"))
    net = next(demo.network.networks(name="default-net"))
    subnet = next(demo.network.subnets(network_id=net.id))
    group = next(demo.network.security_groups(name="default"))
    return {"image": image.id, "vpc": net.id, "subnet": subnet.id, "group": group.id}


@pytest.fixture(scope="module")
def server(ecs, place):
    """A v1.1 server with a data disk, metadata and tags; deleted at the end."""
    body = CreateServersRequestBody(server=PrePaidServer(
        image_ref=place["image"], flavor_ref="s3.small.1", name=f"hw-{uuid.uuid4().hex[:6]}",
        vpcid=place["vpc"], nics=[PrePaidServerNic(subnet_id=place["subnet"])],
        root_volume=PrePaidServerRootVolume(volumetype="SSD"),
        data_volumes=[PrePaidServerDataVolume(volumetype="SAS", size=10)],
        security_groups=[PrePaidServerSecurityGroup(id=place["group"])],
        metadata={"purpose": "sdk"}, server_tags=[PrePaidServerTag(key="team", value="hw")],
        description="made by the SDK", key_name=None,
        extendparam=PrePaidServerExtendParam(charging_mode="postPaid", enterprise_project_id="0"),
    ))
    reply = populated(ecs.create_servers(CreateServersRequest(body=body)), "order_id")
    assert len(reply.server_ids) == 1
    job = job_ok(ecs, reply.job_id)
    populated(job, "code", "message", "error_code", "fail_reason", "entities.server_id", "entities.nic_id",
              "entities.sub_jobs[].error_code", "entities.sub_jobs[].fail_reason",
              "entities.sub_jobs[].entities.nic_id", "entities.sub_jobs[].entities.errorcode_message")
    assert job.job_type == "createServer" and job.entities.sub_jobs_total == 1
    assert job.entities.sub_jobs[0].entities.server_id == reply.server_ids[0]
    yield reply.server_ids[0]
    try:
        body = DeleteServersRequestBody(servers=[ServerId(id=reply.server_ids[0])], delete_volume=True)
        hw_wait_job(ecs, ecs.delete_servers(DeleteServersRequest(body=body)).job_id)
    except ClientRequestException:
        pass


def test_create_post_paid_servers_v1(ecs, place):
    body = CreatePostPaidServersRequestBody(server=PostPaidServer(
        image_ref=place["image"], flavor_ref="s3.small.1", name=f"hw1-{uuid.uuid4().hex[:6]}",
        vpcid=place["vpc"], nics=[PostPaidServerNic(subnet_id=place["subnet"])],
        root_volume=PostPaidServerRootVolume(volumetype="SSD"), count=1,
    ))
    reply = populated(ecs.create_post_paid_servers(CreatePostPaidServersRequest(body=body)))
    job_ok(ecs, reply.job_id)
    body = DeleteServersRequestBody(servers=[ServerId(id=i) for i in reply.server_ids], delete_volume=True)
    reply = populated(ecs.delete_servers(DeleteServersRequest(body=body)))
    job = job_ok(ecs, reply.job_id)
    assert job.job_type == "deleteServer"


def test_show_and_list_servers(ecs, server):
    # An idle server's task state is null, as in the seed's examples.
    idle = ("access_i_pv4", "access_i_pv6", "key_name", "os_ext_st_stask_state", "osscheduler_hints.group",
            "network_interfaces[].ipv6_addresses")
    detail = populated(ecs.show_server(ShowServerRequest(server_id=server)).server, *idle)
    assert detail.id == server and detail.status == "ACTIVE"
    assert detail.metadata["purpose"] == "sdk" and "team=hw" in detail.tags
    assert len(detail.os_extended_volumesvolumes_attached) == 2
    assert detail.network_interfaces[0].ip_addresses
    listed = ecs.list_servers_details(ListServersDetailsRequest(limit=50, name=detail.name))
    assert listed.count == 1
    populated(listed.servers[0], *idle)
    cloud = ecs.list_cloud_servers(ListCloudServersRequest(name=detail.name, limit=10))
    assert [s.id for s in cloud.servers] == [server]
    populated(cloud, "servers_links", "servers[].key_name")
    populated(cloud.servers[0], "key_name")


def test_flavors_and_limits(ecs):
    flavors = ecs.list_flavors(ListFlavorsRequest()).flavors
    small = next(f for f in flavors if f.id == "s3.small.1")
    populated(small, "os_extra_specs.*", "rxtx_quota", "rxtx_cap", "links[].type")
    assert small.os_extra_specs.ecsperformancetype and small.os_extra_specs.resource_type
    limits = populated(ecs.show_server_limits(ShowServerLimitsRequest()).absolute,
                       "*spot*", "limit_by_flavor")
    assert limits.max_total_instances > 0 and limits.total_instances_used >= 1


def test_tags(ecs, server):
    body = BatchCreateServerTagsRequestBody(action="create", tags=[BatchAddServerTag(key="env", value="test")])
    ecs.batch_create_server_tags(BatchCreateServerTagsRequest(server_id=server, body=body))
    tags = ecs.show_server_tags(ShowServerTagsRequest(server_id=server)).tags
    assert {(t.key, t.value) for t in tags} >= {("env", "test"), ("team", "hw")}
    project = ecs.list_server_tags(ListServerTagsRequest()).tags
    assert populated(next(t for t in project if t.key == "env")).values == ["test"]
    body = ListServersByTagRequestBody(action="filter", tags=[ServerTags(key="env", values=["test"])])
    # `resource_detail` is reserved: null, as in the seed.
    found = populated(ecs.list_servers_by_tag(ListServersByTagRequest(body=body)), "resources[].resource_detail")
    assert found.total_count == 1 and found.resources[0].resource_id == server
    body = BatchDeleteServerTagsRequestBody(action="delete", tags=[ServerTag(key="env", value="test")])
    ecs.batch_delete_server_tags(BatchDeleteServerTagsRequest(server_id=server, body=body))
    assert "env" not in {t.key for t in ecs.show_server_tags(ShowServerTagsRequest(server_id=server)).tags}


def test_metadata_update_and_console(ecs, server):
    body = UpdateServerMetadataRequestBody(metadata={"owner": "sdk"})
    meta = ecs.update_server_metadata(UpdateServerMetadataRequest(server_id=server, body=body)).metadata
    assert meta["owner"] == "sdk"
    ecs.delete_server_metadata(DeleteServerMetadataRequest(server_id=server, key="owner"))
    assert "owner" not in ecs.show_server(ShowServerRequest(server_id=server)).server.metadata

    body = UpdateServerRequestBody(server=UpdateServerOption(name="hw-renamed", description="renamed"))
    updated = populated(ecs.update_server(UpdateServerRequest(server_id=server, body=body)).server,
                        "access_i_pv4", "access_i_pv6", "os_ext_srv_att_ruser_data")
    assert updated.name == "hw-renamed" and updated.description == "renamed"

    output = ecs.show_server_console_output(ShowServerConsoleOutputRequest(server_id=server, length=10)).output
    assert output


def test_block_devices(ecs, server):
    devices = populated(ecs.list_server_block_devices(ListServerBlockDevicesRequest(server_id=server)))
    assert len(devices.volume_attachments) == 2
    data = next(d for d in devices.volume_attachments if d.boot_index != 0)
    one = populated(ecs.show_server_block_device(
        ShowServerBlockDeviceRequest(server_id=server, volume_id=data.volume_id)).volume_attachment)
    assert one.volume_id == data.volume_id and one.size == 10
    body = UpdateServerBlockDeviceReq(block_device=UpdateServerBlockDeviceOption(delete_on_termination=True))
    ecs.update_server_block_device(UpdateServerBlockDeviceRequest(server_id=server, volume_id=data.volume_id, body=body))
    attached = ecs.show_server(ShowServerRequest(server_id=server)).server.os_extended_volumesvolumes_attached
    assert next(v for v in attached if v.id == data.volume_id).delete_on_termination.lower() == "true"

    # Detach the data disk (a job), then attach it again.
    job_ok(ecs, populated(ecs.detach_server_volume(
        DetachServerVolumeRequest(server_id=server, volume_id=data.volume_id))).job_id)
    body = AttachServerVolumeRequestBody(volume_attachment=AttachServerVolumeOption(volume_id=data.volume_id))
    job_ok(ecs, populated(ecs.attach_server_volume(AttachServerVolumeRequest(server_id=server, body=body))).job_id)


def test_nics(ecs, server, place):
    body = BatchAddServerNicsRequestBody(nics=[BatchAddServerNicOption(subnet_id=place["subnet"])])
    job = job_ok(ecs, populated(ecs.batch_add_server_nics(BatchAddServerNicsRequest(server_id=server, body=body))).job_id)
    nic_id = job.entities.sub_jobs[0].entities.nic_id
    assert nic_id
    body = BatchDeleteServerNicsRequestBody(nics=[BatchDeleteServerNicOption(id=nic_id)])
    job_ok(ecs, populated(ecs.batch_delete_server_nics(BatchDeleteServerNicsRequest(server_id=server, body=body))).job_id)


def test_server_groups(ecs, server):
    # Only a stopped server joins a group (and the tests below go on from SHUTOFF).
    body = BatchStopServersRequestBody(os_stop=BatchStopServersOption(servers=[ServerId(id=server)], type="SOFT"))
    job_ok(ecs, populated(ecs.batch_stop_servers(BatchStopServersRequest(body=body))).job_id)
    wait_status(ecs, server, "SHUTOFF")
    body = CreateServerGroupRequestBody(server_group=CreateServerGroupOption(name="hw-group", policies=["anti-affinity"]))
    group = populated(ecs.create_server_group(CreateServerGroupRequest(body=body)).server_group)
    body = AddServerGroupMemberRequestBody(add_member=ServerGroupMember(instance_uuid=server))
    ecs.add_server_group_member(AddServerGroupMemberRequest(server_group_id=group.id, body=body))
    shown = populated(ecs.show_server_group(ShowServerGroupRequest(server_group_id=group.id)).server_group)
    assert shown.members == [server] and shown.policies == ["anti-affinity"]
    listed = ecs.list_server_groups(ListServerGroupsRequest(limit=100))
    assert group.id in [g.id for g in listed.server_groups]
    populated(next(g for g in listed.server_groups if g.id == group.id))
    body = DeleteServerGroupMemberRequestBody(remove_member=ServerGroupMember(instance_uuid=server))
    ecs.delete_server_group_member(DeleteServerGroupMemberRequest(server_group_id=group.id, body=body))
    ecs.delete_server_group(DeleteServerGroupRequest(server_group_id=group.id))
    with pytest.raises(ClientRequestException) as err:
        ecs.show_server_group(ShowServerGroupRequest(server_group_id=group.id))
    assert err.value.status_code == 404


def test_power_and_moves(ecs, server, place):
    ids = [ServerId(id=server)]
    wait_status(ecs, server, "SHUTOFF")

    # Reinstalling and changing the OS start the server again; with
    # `withStopServer` they stop a running one first.
    body = ReinstallServerWithoutCloudInitRequestBody(os_reinstall=ReinstallServerWithoutCloudInitOption(
        adminpass="P@ssw0rd-123"))
    job_ok(ecs, populated(ecs.reinstall_server_without_cloud_init(
        ReinstallServerWithoutCloudInitRequest(server_id=server, body=body))).job_id)
    wait_status(ecs, server, "ACTIVE")
    body = ChangeServerOsWithCloudInitRequestBody(os_change=ChangeServerOsWithCloudInitOption(
        imageid=place["image"], adminpass="P@ssw0rd-123", mode="withStopServer"))
    job_ok(ecs, populated(ecs.change_server_os_with_cloud_init(
        ChangeServerOsWithCloudInitRequest(server_id=server, body=body))).job_id)
    wait_status(ecs, server, "ACTIVE")
    body = ChangeServerOsWithoutCloudInitRequestBody(os_change=ChangeServerOsWithoutCloudInitOption(
        imageid=place["image"], adminpass="P@ssw0rd-123", mode="withStopServer"))
    job = job_ok(ecs, populated(ecs.change_server_os_without_cloud_init(
        ChangeServerOsWithoutCloudInitRequest(server_id=server, body=body))).job_id)
    assert job.job_type == "changeOs"
    wait_status(ecs, server, "ACTIVE")

    body = BatchStopServersRequestBody(os_stop=BatchStopServersOption(servers=ids, type="HARD"))
    job_ok(ecs, populated(ecs.batch_stop_servers(BatchStopServersRequest(body=body))).job_id)
    wait_status(ecs, server, "SHUTOFF")
    body = ResizePostPaidServerRequestBody(resize=ResizePostPaidServerOption(flavor_ref="s3.medium.2"))
    job = job_ok(ecs, populated(ecs.resize_post_paid_server(
        ResizePostPaidServerRequest(server_id=server, body=body))).job_id)
    assert job.job_type == "resizeServer"
    assert wait_status(ecs, server, "SHUTOFF").flavor.id == "s3.medium.2"
    body = MigrateServerRequestBody(migrate=MigrateServerOption())
    job = job_ok(ecs, populated(ecs.migrate_server(MigrateServerRequest(server_id=server, body=body))).job_id)
    assert job.job_type == "migrateServer"
    wait_status(ecs, server, "SHUTOFF")

    body = BatchStartServersRequestBody(os_start=BatchStartServersOption(servers=ids))
    job_ok(ecs, populated(ecs.batch_start_servers(BatchStartServersRequest(body=body))).job_id)
    wait_status(ecs, server, "ACTIVE")
    body = BatchRebootServersRequestBody(reboot=BatchRebootSeversOption(servers=ids, type="HARD"))
    job_ok(ecs, populated(ecs.batch_reboot_servers(BatchRebootServersRequest(body=body))).job_id)
    wait_status(ecs, server, "ACTIVE")

    body = ReinstallServerWithCloudInitRequestBody(os_reinstall=ReinstallServerWithCloudInitOption(
        adminpass="P@ssw0rd-123", mode="withStopServer"))
    # A second reinstall: the first must have kept the server's image.
    reply = ecs.reinstall_server_with_cloud_init(ReinstallServerWithCloudInitRequest(server_id=server, body=body))
    job_ok(ecs, populated(reply).job_id)
    wait_status(ecs, server, "ACTIVE")


def test_register_server_monitor(ecs, server):
    # The SDK types monitorMetrics as a string and sends `""`.
    body = RegisterServerMonitorRequestBody(monitor_metrics="")
    ecs.register_server_monitor(RegisterServerMonitorRequest(server_id=server, body=body))


def test_errors_carry_ecs_codes_and_request_ids(ecs):
    with pytest.raises(ClientRequestException) as err:
        ecs.show_server(ShowServerRequest(server_id=str(uuid.uuid4())))
    assert err.value.status_code == 404
    assert err.value.error_code == "Ecs.0114"
    assert err.value.error_msg and err.value.request_id
    with pytest.raises(ClientRequestException) as err:
        ecs.show_job(ShowJobRequest(job_id=uuid.uuid4().hex))
    assert (err.value.status_code, err.value.error_code) == (400, "Common.0011") and err.value.request_id
    with pytest.raises(ClientRequestException) as err:
        ecs.list_servers_details(ListServersDetailsRequest(limit=100000))
    assert err.value.status_code == 400 and err.value.error_code == "Ecs.0005" and err.value.request_id


def test_failed_job_codes(ecs, place):
    """A failure found while the job runs carries the seed's code in the job
    and its sub-jobs: a batch start of a running server (Ecs.0100 in its
    sub-job, Common.0021 in the job), a resize to a smaller disk (Ecs.0009)."""
    body = NovaCreateServersRequestBody(server=NovaCreateServersOption(
        image_ref=place["image"], flavor_ref="s3.small.1", name=f"hw-fail-{uuid.uuid4().hex[:6]}",
        networks=[NovaServerNetwork(uuid=place["vpc"])],
    ))
    server = ecs.nova_create_servers(NovaCreateServersRequest(body=body)).server.id
    wait_status(ecs, server, "ACTIVE")

    body = BatchStartServersRequestBody(os_start=BatchStartServersOption(servers=[ServerId(id=server)]))
    job = hw_wait_job(ecs, ecs.batch_start_servers(BatchStartServersRequest(body=body)).job_id)
    assert (job.status, job.error_code) == ("FAIL", "Common.0021"), job
    sub = job.entities.sub_jobs[0]
    assert (sub.status, sub.error_code) == ("FAIL", "Ecs.0100"), job
    assert "Cannot 'start'" in sub.fail_reason and sub.entities.errorcode_message == sub.fail_reason

    body = BatchStopServersRequestBody(os_stop=BatchStopServersOption(servers=[ServerId(id=server)], type="HARD"))
    job_ok(ecs, ecs.batch_stop_servers(BatchStopServersRequest(body=body)).job_id)
    wait_status(ecs, server, "SHUTOFF")
    body = ResizePostPaidServerRequestBody(resize=ResizePostPaidServerOption(flavor_ref="m1.small"))
    job = hw_wait_job(ecs, ecs.resize_post_paid_server(ResizePostPaidServerRequest(server_id=server, body=body)).job_id)
    assert (job.status, job.error_code) == ("FAIL", "Ecs.0009"), job
    assert "resize disk down" in job.fail_reason
    ecs.nova_delete_server(NovaDeleteServerRequest(server_id=server))


# The OpenStack Nova API as EcsClient's `nova_*` operations call it.


def test_nova_versions(ecs):
    versions = ecs.nova_list_versions(NovaListVersionsRequest()).versions
    v21 = populated(next(v for v in versions if v.id == "v2.1"))
    assert v21.status == "CURRENT"
    populated(next(v for v in versions if v.id == "v2.0"))
    version = populated(ecs.nova_show_version(NovaShowVersionRequest(api_version="v2.1")).version)
    assert version.id == "v2.1" and version.media_types


def test_nova_keypairs(ecs):
    name = f"hw-{uuid.uuid4().hex[:6]}"
    body = NovaCreateKeypairRequestBody(keypair=NovaCreateKeypairOption(name=name, type="ssh"))
    created = populated(ecs.nova_create_keypair(NovaCreateKeypairRequest(body=body, open_stack_api_version="compute 2.2")).keypair)
    assert created.private_key and created.type == "ssh"
    shown = populated(ecs.nova_show_keypair(NovaShowKeypairRequest(keypair_name=name, open_stack_api_version="compute 2.2")).keypair,
                      "deleted_at", "updated_at")
    assert shown.deleted is False and shown.public_key == created.public_key
    listed = ecs.nova_list_keypairs(NovaListKeypairsRequest(open_stack_api_version="compute 2.2")).keypairs
    populated(next(k.keypair for k in listed if k.keypair.name == name))
    ecs.nova_delete_keypair(NovaDeleteKeypairRequest(keypair_name=name))


def test_nova_flavor_extra_specs_and_zones(ecs):
    specs = ecs.nova_show_flavor_extra_specs(NovaShowFlavorExtraSpecsRequest(flavor_id="s3.small.1")).extra_specs
    assert specs is not None
    zones = ecs.nova_list_availability_zones(NovaListAvailabilityZonesRequest()).availability_zone_info
    populated(zones[0], "hosts")
    assert zones[0].zone_state.available is True


def test_nova_servers(ecs, place):
    name = f"hw-nova-{uuid.uuid4().hex[:6]}"
    body = NovaCreateServersRequestBody(server=NovaCreateServersOption(
        image_ref=place["image"], flavor_ref="s3.small.1", name=name,
        networks=[NovaServerNetwork(uuid=place["vpc"])], metadata={"k": "v"},
    ))
    created = populated(ecs.nova_create_servers(NovaCreateServersRequest(body=body)).server, "reservation_id")
    server = created.id
    deadline = time.time() + 60
    while time.time() < deadline:
        shown = ecs.nova_show_server(NovaShowServerRequest(server_id=server, open_stack_api_version="compute 2.60")).server
        if shown.status == "ACTIVE":
            break
        time.sleep(0.2)
    # Nova's default policy shows the OS-EXT-SRV-ATTR and host_status
    # attributes to admins only; a new server has no description or task.
    admin_only = ("os_ext_srv_att_r*", "host_status")
    populated(shown, *admin_only, "description", "os_ext_st_stask_state", "fault", "os_srv_us_gterminated_at", "os_ext_srv_att_rkernel_id", "os_ext_srv_att_rramdisk_id",
              "os_ext_srv_att_ruser_data", "access_i_pv4", "access_i_pv6", "key_name",
              "osscheduler_hints", "flavor.id", "flavor.links", "image.links")
    assert shown.flavor.original_name == "s3.small.1" and shown.metadata == {"k": "v"}

    listed = ecs.nova_list_servers(NovaListServersRequest(name=name))
    assert [s.id for s in listed.servers] == [server]
    populated(listed.servers[0])
    details = ecs.nova_list_servers_details(NovaListServersDetailsRequest(name=name, open_stack_api_version="compute 2.60"))
    assert [s.id for s in details.servers] == [server]

    # The server is in `default`: out of it, then back in.
    body = NovaDisassociateSecurityGroupRequestBody(remove_security_group=NovaRemoveSecurityGroupOption(name="default"))
    ecs.nova_disassociate_security_group(NovaDisassociateSecurityGroupRequest(server_id=server, body=body))
    assert ecs.nova_list_server_security_groups(NovaListServerSecurityGroupsRequest(server_id=server)).security_groups == []
    body = NovaAssociateSecurityGroupRequestBody(add_security_group=NovaAddSecurityGroupOption(name="default"))
    ecs.nova_associate_security_group(NovaAssociateSecurityGroupRequest(server_id=server, body=body))
    groups = ecs.nova_list_server_security_groups(NovaListServerSecurityGroupsRequest(server_id=server)).security_groups
    assert [g.name for g in groups] == ["default"]
    # A rule open to a CIDR names no group; one for members of a group no CIDR or ports.
    populated(groups[0], "rules[].group", "rules[].ip_range", "rules[].from_port", "rules[].to_port", "rules[].ip_protocol")

    body = NovaAttachInterfaceRequestBody(interface_attachment=NovaAttachInterfaceOption(net_id=place["vpc"]))
    attached = populated(ecs.nova_attach_interface(NovaAttachInterfaceRequest(server_id=server, body=body)).interface_attachment)
    shown = populated(ecs.nova_show_server_interface(
        NovaShowServerInterfaceRequest(server_id=server, port_id=attached.port_id)).interface_attachment)
    assert shown.fixed_ips[0].subnet_id == place["subnet"]

    ecs.nova_delete_server(NovaDeleteServerRequest(server_id=server))
