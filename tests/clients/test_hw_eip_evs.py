"""The Huawei EIP and EVS SDKs against ecsd, with EcsClient's disk
operations: an EIP and an EVS disk made by their own APIs, used by
CreateServers (`publicip.id`, `data_volumes`), attached, shown, and
released by DeleteServers (`delete_publicip`, `delete_volume`)."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import (
    AttachServerVolumeOption,
    AttachServerVolumeRequest,
    AttachServerVolumeRequestBody,
    BatchAttachSharableVolumesOption,
    BatchAttachSharableVolumesRequest,
    BatchAttachSharableVolumesRequestBody,
    BatchDetachVolumesRequest,
    CreateServersRequest,
    CreateServersRequestBody,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    ListServerVolumeAttachmentsRequest,
    PrePaidServer,
    PrePaidServerDataVolume,
    PrePaidServerNic,
    PrePaidServerPublicip,
    PrePaidServerRootVolume,
    ServerId,
    ShowAppendableVolumeQuotaRequest,
    ShowServerRequest,
    UpdateServerBlockDeviceOption,
    UpdateServerBlockDeviceReq,
    UpdateServerBlockDeviceRequest,
    VolumeBatchDetachRequest,
)
from huaweicloudsdkeip.v2 import (
    CreatePublicipBandwidthOption,
    CreatePublicipOption,
    CreatePublicipRequest,
    CreatePublicipRequestBody,
    DeletePublicipRequest,
    EipClient,
    ListBandwidthsRequest,
    ListPublicipsRequest,
    ShowBandwidthRequest,
    ShowPublicipRequest,
    UpdateBandwidthOption,
    UpdateBandwidthRequest,
    UpdateBandwidthRequestBody,
    UpdatePublicipOption,
    UpdatePublicipRequest,
    UpdatePublicipsRequestBody,
)
from huaweicloudsdkeip.v3 import EipClient as EipClientV3
from huaweicloudsdkeip.v3 import ListPublicipsRequest as ListPublicipsV3Request
from huaweicloudsdkeip.v3 import ShowPublicipRequest as ShowPublicipV3Request
from huaweicloudsdkevs.v2 import (
    CreateVolumeOption,
    CreateVolumeRequest,
    CreateVolumeRequestBody,
    DeleteVolumeRequest,
    EvsClient,
    ListVolumesRequest,
    OsExtend,
    ResizeVolumeRequest,
    ResizeVolumeRequestBody,
    ShowJobRequest,
    ShowVolumeRequest,
    UpdateVolumeOption,
    UpdateVolumeRequest,
    UpdateVolumeRequestBody,
)

from conftest import hw_wait_job


@pytest.fixture(scope="module")
def eip_pool(admin):
    """An external network (the EIP pool), made by the admin if none is there."""
    if not any(n.is_router_external for n in admin.network.networks()):
        net = admin.network.create_network(name="public", is_router_external=True, is_shared=True)
        admin.network.create_subnet(network_id=net.id, cidr="172.24.4.0/24", ip_version=4)


@pytest.fixture(scope="module")
def place(demo):
    """The image, VPC and subnet a create names."""
    net = next(n for n in demo.network.networks() if not n.is_router_external and n.subnet_ids)
    image = next(iter(demo.image.images()))
    return {"image": image.id, "vpc": net.id, "subnet": net.subnet_ids[0]}


def _eip(eip):
    body = CreatePublicipRequestBody(
        publicip=CreatePublicipOption(type="5_bgp", alias="sdk-ip"),
        bandwidth=CreatePublicipBandwidthOption(name="sdk-bw", size=5, share_type="PER", charge_mode="traffic"),
    )
    return eip.create_publicip(CreatePublicipRequest(body=body)).publicip


def test_publicips_and_bandwidths(hw, eip_pool):
    eip = hw(EipClient)
    made = _eip(eip)
    assert made.id and made.public_ip_address and made.create_time and made.tenant_id
    assert (made.status, made.type, made.bandwidth_size, made.ip_version, made.alias) == ("DOWN", "5_bgp", 5, 4, "sdk-ip")

    shown = eip.show_publicip(ShowPublicipRequest(publicip_id=made.id)).publicip
    for field in ("bandwidth_id", "bandwidth_name", "bandwidth_share_type", "create_time", "profile", "tenant_id"):
        assert getattr(shown, field) is not None, field
    assert shown.bandwidth_name == "sdk-bw" and shown.public_ip_address == made.public_ip_address
    listed = eip.list_publicips(ListPublicipsRequest(id=[made.id])).publicips
    assert [p.id for p in listed] == [made.id]

    bws = eip.list_bandwidths(ListBandwidthsRequest()).bandwidths
    assert shown.bandwidth_id in [b.id for b in bws]
    bw = eip.show_bandwidth(ShowBandwidthRequest(bandwidth_id=shown.bandwidth_id)).bandwidth
    assert (bw.size, bw.share_type, bw.charge_mode, bw.publicip_info[0].publicip_id) == (5, "PER", "traffic", made.id)
    assert bw.created_at and bw.tenant_id and bw.status == "NORMAL"
    up = UpdateBandwidthRequestBody(bandwidth=UpdateBandwidthOption(name="bigger", size=10))
    bw = eip.update_bandwidth(UpdateBandwidthRequest(bandwidth_id=bw.id, body=up)).bandwidth
    assert (bw.name, bw.size) == ("bigger", 10)

    renamed = eip.update_publicip(
        UpdatePublicipRequest(publicip_id=made.id, body=UpdatePublicipsRequestBody(publicip=UpdatePublicipOption(alias="x")))
    ).publicip
    assert renamed.alias == "x" and renamed.bandwidth_size == 10

    v3 = hw(EipClientV3)
    one = v3.show_publicip(ShowPublicipV3Request(publicip_id=made.id)).publicip
    assert one.public_ip_address == made.public_ip_address and one.bandwidth.size == 10 and one.created_at
    assert made.id in [p.id for p in v3.list_publicips(ListPublicipsV3Request()).publicips]

    eip.delete_publicip(DeletePublicipRequest(publicip_id=made.id))
    with pytest.raises(ClientRequestException) as e:
        eip.show_publicip(ShowPublicipRequest(publicip_id=made.id))
    assert (e.value.status_code, e.value.error_code) == (404, "VPC.0504")
    assert e.value.request_id


def test_volumes(hw):
    evs, ecs = hw(EvsClient), hw(EcsClient)
    body = CreateVolumeRequestBody(volume=CreateVolumeOption(volume_type="SSD", size=10, name="sdk-disk"))
    made = evs.create_volume(CreateVolumeRequest(body=body))
    assert made.job_id and made.volume_ids
    job = hw_wait_job(ecs, made.job_id)
    assert (job.status, job.job_type) == ("SUCCESS", "createVolume")
    evs_job = evs.show_job(ShowJobRequest(job_id=made.job_id))
    assert evs_job.entities.volume_id == made.volume_ids[0] and evs_job.entities.size == 10
    vid = made.volume_ids[0]

    v = evs.show_volume(ShowVolumeRequest(volume_id=vid)).volume
    assert (v.name, v.size, v.status, v.volume_type, v.bootable, v.shareable) == (
        "sdk-disk", 10, "available", "SSD", "false", "false")
    for field in ("availability_zone", "created_at", "updated_at", "links", "metadata", "user_id", "service_type", "wwn"):
        assert getattr(v, field) is not None, field
    listed = evs.list_volumes(ListVolumesRequest(name="sdk-disk"))
    assert listed.count == 1 and listed.volumes[0].id == vid

    up = evs.update_volume(UpdateVolumeRequest(volume_id=vid, body=UpdateVolumeRequestBody(volume=UpdateVolumeOption(name="renamed"))))
    assert (up.id, up.name, up.size) == (vid, "renamed", 10)
    r = evs.resize_volume(ResizeVolumeRequest(volume_id=vid, body=ResizeVolumeRequestBody(os_extend=OsExtend(new_size=20))))
    assert hw_wait_job(ecs, r.job_id).status == "SUCCESS"
    assert evs.show_volume(ShowVolumeRequest(volume_id=vid)).volume.size == 20

    r = evs.delete_volume(DeleteVolumeRequest(volume_id=vid))
    assert hw_wait_job(ecs, r.job_id).job_type == "deleteVolume"
    with pytest.raises(ClientRequestException) as e:
        evs.show_volume(ShowVolumeRequest(volume_id=vid))
    assert (e.value.status_code, e.value.error_code) == (404, "EVS.1002")


def test_provisioning_with_eip_and_evs_disk(hw, eip_pool, place):
    """CreatePublicip → CreateVolume → CreateServers (publicip.id, data_volumes) →
    AttachServerVolume → ShowServer → disk operations → DeleteServers."""
    eip, evs, ecs = hw(EipClient), hw(EvsClient), hw(EcsClient)
    public = _eip(eip)
    made = evs.create_volume(CreateVolumeRequest(body=CreateVolumeRequestBody(
        volume=CreateVolumeOption(volume_type="SAS", size=10, name="sdk-data"))))
    assert hw_wait_job(ecs, made.job_id).status == "SUCCESS"
    disk = made.volume_ids[0]

    server = PrePaidServer(
        image_ref=place["image"], flavor_ref="s3.small.1", name="sdk-eip-evs", vpcid=place["vpc"],
        nics=[PrePaidServerNic(subnet_id=place["subnet"])],
        publicip=PrePaidServerPublicip(id=public.id),
        root_volume=PrePaidServerRootVolume(volumetype="SSD"),
        data_volumes=[PrePaidServerDataVolume(volumetype="SAS", size=10)],
    )
    created = ecs.create_servers(CreateServersRequest(body=CreateServersRequestBody(server=server)))
    assert hw_wait_job(ecs, created.job_id).status == "SUCCESS"
    sid = created.server_ids[0]

    quota = ecs.show_appendable_volume_quota(ShowAppendableVolumeQuotaRequest(server_id=sid))
    assert quota.free_blk is not None and quota.free_scsi is not None and quota.count == quota.free_blk

    attach = AttachServerVolumeRequestBody(volume_attachment=AttachServerVolumeOption(volume_id=disk))
    job = ecs.attach_server_volume(AttachServerVolumeRequest(server_id=sid, body=attach))
    assert hw_wait_job(ecs, job.job_id).status == "SUCCESS"
    assert ecs.show_appendable_volume_quota(ShowAppendableVolumeQuotaRequest(server_id=sid)).free_blk == quota.free_blk - 1

    shown = ecs.show_server(ShowServerRequest(server_id=sid)).server
    addresses = [a.addr for nets in shown.addresses.values() for a in nets]
    assert public.public_ip_address in addresses
    attached = [v.id for v in shown.os_extended_volumesvolumes_attached]
    assert disk in attached and len(attached) == 3
    bound = eip.show_publicip(ShowPublicipRequest(publicip_id=public.id)).publicip
    assert bound.status == "ACTIVE" and bound.port_id and bound.private_ip_address
    assert evs.show_volume(ShowVolumeRequest(volume_id=disk)).volume.attachments[0].server_id == sid

    attachments = ecs.list_server_volume_attachments(ListServerVolumeAttachmentsRequest(server_id=sid)).volume_attachments
    mine = next(a for a in attachments if a.volume_id == disk)
    assert mine.server_id == sid and mine.device and mine.id == disk
    ecs.update_server_block_device(UpdateServerBlockDeviceRequest(
        server_id=sid, volume_id=disk,
        body=UpdateServerBlockDeviceReq(block_device=UpdateServerBlockDeviceOption(delete_on_termination=True))))

    r = ecs.batch_detach_volumes(BatchDetachVolumesRequest(volume_id=disk, body=VolumeBatchDetachRequest(serverinfo=[sid])))
    assert hw_wait_job(ecs, r.job_id).status == "SUCCESS"
    r = ecs.batch_attach_sharable_volumes(BatchAttachSharableVolumesRequest(
        volume_id=disk,
        body=BatchAttachSharableVolumesRequestBody(serverinfo=[BatchAttachSharableVolumesOption(server_id=sid)])))
    assert hw_wait_job(ecs, r.job_id).status == "SUCCESS"

    r = ecs.delete_servers(DeleteServersRequest(body=DeleteServersRequestBody(
        servers=[ServerId(id=sid)], delete_publicip=True, delete_volume=True)))
    assert hw_wait_job(ecs, r.job_id).status == "SUCCESS"
    with pytest.raises(ClientRequestException) as e:
        eip.show_publicip(ShowPublicipRequest(publicip_id=public.id))
    assert e.value.error_code == "VPC.0504"
    with pytest.raises(ClientRequestException) as e:
        evs.show_volume(ShowVolumeRequest(volume_id=disk))
    assert e.value.error_code == "EVS.1002"
