"""The issue-19 provisioning script, end to end, with the real Huawei Cloud
SDKs and nothing but AK/SK and the endpoint: CreateVpc → CreateSubnet →
CreateSecurityGroup + rule → CreatePublicip → CreateVolume (EVS job) →
ListImages (IMS) → CreateServers v1.1 (`nics[].subnet_id` = the VPC subnet
id, `publicip.id`, `data_volumes`) → ShowJob → AttachServerVolume →
ShowServer → CreateImage from the server (IMS job) → DeleteServers with
`delete_publicip`/`delete_volume` → the VPC resources deleted in order."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import (
    AttachServerVolumeOption, AttachServerVolumeRequest, AttachServerVolumeRequestBody, CreateServersRequest,
    CreateServersRequestBody, DeleteServersRequest, DeleteServersRequestBody, EcsClient, PrePaidServer,
    PrePaidServerDataVolume, PrePaidServerNic, PrePaidServerPublicip, PrePaidServerRootVolume,
    PrePaidServerSecurityGroup, ServerId, ShowServerRequest,
)
from huaweicloudsdkeip.v2 import (
    CreatePublicipBandwidthOption, CreatePublicipOption, CreatePublicipRequest, CreatePublicipRequestBody, EipClient,
    ShowPublicipRequest,
)
from huaweicloudsdkevs.v2 import CreateVolumeOption, CreateVolumeRequest, CreateVolumeRequestBody, EvsClient
from huaweicloudsdkims.v2 import (
    CreateImageRequest, CreateImageRequestBody, GlanceDeleteImageRequest, GlanceDeleteImageRequestBody, ImsClient,
    ListImagesRequest, ShowJobRequest,
)
from huaweicloudsdkvpc.v2 import (
    CreateSecurityGroupOption, CreateSecurityGroupRequest, CreateSecurityGroupRequestBody,
    CreateSecurityGroupRuleOption, CreateSecurityGroupRuleRequest, CreateSecurityGroupRuleRequestBody,
    CreateSubnetOption, CreateSubnetRequest, CreateSubnetRequestBody, CreateVpcOption, CreateVpcRequest,
    CreateVpcRequestBody, DeleteSecurityGroupRequest, DeleteSubnetRequest, DeleteVpcRequest, VpcClient,
)

from conftest import hw_wait_job


@pytest.fixture(scope="module")
def eip_pool(admin):
    """An external network (the EIP pool), made by the admin if none is there."""
    if not any(n.is_router_external for n in admin.network.networks()):
        net = admin.network.create_network(name="public", is_router_external=True, is_shared=True)
        admin.network.create_subnet(network_id=net.id, cidr="172.24.4.0/24", ip_version=4)


def refused(call, status, code):
    with pytest.raises(ClientRequestException) as e:
        call()
    assert (e.value.status_code, e.value.error_code) == (status, code), e.value
    assert e.value.request_id


def test_provisioning_script(hw, eip_pool):
    vpcs, eips, evs, ims, ecs = hw(VpcClient), hw(EipClient), hw(EvsClient), hw(ImsClient), hw(EcsClient)

    vpc = vpcs.create_vpc(CreateVpcRequest(body=CreateVpcRequestBody(
        vpc=CreateVpcOption(name="script-vpc", cidr="10.20.0.0/16")))).vpc
    subnet = vpcs.create_subnet(CreateSubnetRequest(body=CreateSubnetRequestBody(subnet=CreateSubnetOption(
        name="script-subnet", cidr="10.20.1.0/24", gateway_ip="10.20.1.1", vpc_id=vpc.id)))).subnet
    group = vpcs.create_security_group(CreateSecurityGroupRequest(body=CreateSecurityGroupRequestBody(
        security_group=CreateSecurityGroupOption(name="script-sg", vpc_id=vpc.id)))).security_group
    vpcs.create_security_group_rule(CreateSecurityGroupRuleRequest(body=CreateSecurityGroupRuleRequestBody(
        security_group_rule=CreateSecurityGroupRuleOption(
            security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp",
            port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0"))))

    public = eips.create_publicip(CreatePublicipRequest(body=CreatePublicipRequestBody(
        publicip=CreatePublicipOption(type="5_bgp"),
        bandwidth=CreatePublicipBandwidthOption(name="script-bw", size=5, share_type="PER")))).publicip
    disk_job = evs.create_volume(CreateVolumeRequest(body=CreateVolumeRequestBody(
        volume=CreateVolumeOption(volume_type="SSD", size=10, name="script-disk"))))
    assert hw_wait_job(ecs, disk_job.job_id).status == "SUCCESS"
    disk = disk_job.volume_ids[0]

    image = next(i for i in ims.list_images(ListImagesRequest(imagetype="gold", status="active")).images)
    assert image.id and image.platform and image.os_type

    server = PrePaidServer(
        image_ref=image.id, flavor_ref="s3.small.1", name="script-vm", vpcid=vpc.id,
        nics=[PrePaidServerNic(subnet_id=subnet.id)], publicip=PrePaidServerPublicip(id=public.id),
        root_volume=PrePaidServerRootVolume(volumetype="SSD"),
        data_volumes=[PrePaidServerDataVolume(volumetype="SAS", size=10)],
        security_groups=[PrePaidServerSecurityGroup(id=group.id)],
    )
    created = ecs.create_servers(CreateServersRequest(body=CreateServersRequestBody(server=server)))
    assert hw_wait_job(ecs, created.job_id).status == "SUCCESS"
    sid = created.server_ids[0]

    attach = AttachServerVolumeRequestBody(volume_attachment=AttachServerVolumeOption(volume_id=disk))
    assert hw_wait_job(ecs, ecs.attach_server_volume(
        AttachServerVolumeRequest(server_id=sid, body=attach)).job_id).status == "SUCCESS"

    shown = ecs.show_server(ShowServerRequest(server_id=sid)).server
    assert shown.status == "ACTIVE" and shown.metadata["vpc_id"] == vpc.id
    addresses = [a.addr for nets in shown.addresses.values() for a in nets]
    assert public.public_ip_address in addresses
    assert [n.subnet_id for n in shown.network_interfaces] == [subnet.id]
    assert disk in [v.id for v in shown.os_extended_volumesvolumes_attached]
    assert [g.id for g in shown.security_groups] == [group.id]

    image_job = ims.create_image(CreateImageRequest(body=CreateImageRequestBody(
        name="script-image", instance_id=sid))).job_id
    assert hw_wait_job(ecs, image_job).status == "SUCCESS"
    made_image = ims.show_job(ShowJobRequest(job_id=image_job)).entities.image_id
    assert made_image in [i.id for i in ims.list_images(ListImagesRequest(imagetype="private")).images]

    # The subnet cannot go while the server's NIC is on it.
    refused(lambda: vpcs.delete_subnet(DeleteSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id)), 409, "VPC.0211")

    delete = DeleteServersRequestBody(servers=[ServerId(id=sid)], delete_publicip=True, delete_volume=True)
    assert hw_wait_job(ecs, ecs.delete_servers(DeleteServersRequest(body=delete)).job_id).status == "SUCCESS"
    refused(lambda: eips.show_publicip(ShowPublicipRequest(publicip_id=public.id)), 404, "VPC.0504")

    vpcs.delete_security_group(DeleteSecurityGroupRequest(security_group_id=group.id))
    vpcs.delete_subnet(DeleteSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id))
    vpcs.delete_vpc(DeleteVpcRequest(vpc_id=vpc.id))
    ims.glance_delete_image(GlanceDeleteImageRequest(image_id=made_image, body=GlanceDeleteImageRequestBody()))
