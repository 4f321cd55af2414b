"""Huawei Cloud's VPC API with the real SDK (huaweicloudsdkvpc v2): a VPC, a
subnet, a security group with rules, an ECS on the subnet by its VPC subnet
id, the subnet refused while in use, everything deleted in order; ports,
private IPs and quotas; the SDK's models filled in."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import (
    CreateServersRequest, CreateServersRequestBody, DeleteServersRequest, DeleteServersRequestBody, EcsClient,
    PrePaidServer, PrePaidServerNic, PrePaidServerRootVolume,
    PrePaidServerSecurityGroup, ServerId, ShowServerRequest,
)
from huaweicloudsdkvpc.v2 import (
    CreatePortOption, CreatePortRequest, CreatePortRequestBody, CreatePrivateipOption, CreatePrivateipRequest,
    CreatePrivateipRequestBody, CreateSecurityGroupOption, CreateSecurityGroupRequest,
    CreateSecurityGroupRequestBody, CreateSecurityGroupRuleOption, CreateSecurityGroupRuleRequest,
    CreateSecurityGroupRuleRequestBody, CreateSubnetOption, CreateSubnetRequest, CreateSubnetRequestBody,
    CreateVpcOption, CreateVpcRequest, CreateVpcRequestBody, DeletePortRequest, DeletePrivateipRequest,
    DeleteSecurityGroupRequest, DeleteSecurityGroupRuleRequest, DeleteSubnetRequest, DeleteVpcRequest,
    FixedIp, ListPortsRequest, ListPrivateipsRequest, ListSecurityGroupRulesRequest, ListSecurityGroupsRequest,
    ListSubnetsRequest, ListVpcsRequest, ShowPortRequest, ShowPrivateipRequest, ShowQuotaRequest,
    ShowSecurityGroupRequest, ShowSecurityGroupRuleRequest, ShowSubnetRequest, ShowVpcRequest, UpdatePortOption,
    UpdatePortRequest, UpdatePortRequestBody, UpdateSubnetOption, UpdateSubnetRequest, UpdateSubnetRequestBody,
    UpdateVpcOption, UpdateVpcRequest, UpdateVpcRequestBody, VpcClient,
)

from conftest import hw_wait_job


def filled(model, *skip):
    """Every attribute of an SDK model the SDK read is set (not None)."""
    missing = [a for a in model.openapi_types if getattr(model, a) is None and a not in skip]
    assert not missing, f"{type(model).__name__} lacks {missing}: {model}"


def refused(call, status, code):
    with pytest.raises(ClientRequestException) as e:
        call()
    assert (e.value.status_code, e.value.error_code) == (status, code), e.value
    assert e.value.request_id, "a request id the SDK shows"


def test_seed_network_is_a_vpc_subnet(hw):
    vpc = hw(VpcClient)
    seed = next(v for v in vpc.list_vpcs(ListVpcsRequest()).vpcs if v.name == "default-vpc")
    filled(seed)
    subnets = vpc.list_subnets(ListSubnetsRequest(vpc_id=seed.id)).subnets
    assert [s.name for s in subnets] == ["default-net"]
    filled(subnets[0])
    assert subnets[0].id == subnets[0].neutron_network_id != subnets[0].neutron_subnet_id


def test_provisioning_on_a_vpc(hw, demo):
    vpc_client, ecs = hw(VpcClient), hw(EcsClient)

    vpc = vpc_client.create_vpc(CreateVpcRequest(body=CreateVpcRequestBody(
        vpc=CreateVpcOption(name="sdk-vpc", cidr="10.10.0.0/16", description="made by the SDK")))).vpc
    filled(vpc)
    assert (vpc.cidr, vpc.status, vpc.description) == ("10.10.0.0/16", "OK", "made by the SDK")
    assert vpc_client.show_vpc(ShowVpcRequest(vpc_id=vpc.id)).vpc.name == "sdk-vpc"
    assert vpc.id in [v.id for v in vpc_client.list_vpcs(ListVpcsRequest()).vpcs]
    updated = vpc_client.update_vpc(UpdateVpcRequest(vpc_id=vpc.id, body=UpdateVpcRequestBody(
        vpc=UpdateVpcOption(name="sdk-vpc-1")))).vpc
    assert updated.name == "sdk-vpc-1"
    refused(lambda: vpc_client.create_vpc(CreateVpcRequest(body=CreateVpcRequestBody(
        vpc=CreateVpcOption(name="bad", cidr="8.8.8.0/24")))), 400, "VPC.0101")

    subnet = vpc_client.create_subnet(CreateSubnetRequest(body=CreateSubnetRequestBody(subnet=CreateSubnetOption(
        name="sdk-subnet", cidr="10.10.1.0/24", gateway_ip="10.10.1.1", vpc_id=vpc.id,
        primary_dns="100.125.1.250", secondary_dns="100.125.21.250")))).subnet
    filled(subnet)
    assert subnet.id == subnet.neutron_network_id and subnet.vpc_id == vpc.id and subnet.status == "ACTIVE"
    assert demo.network.get_network(subnet.id).id == subnet.id, "Neutron's network is the VPC subnet"
    shown = vpc_client.show_subnet(ShowSubnetRequest(subnet_id=subnet.id)).subnet
    filled(shown)
    assert (shown.cidr, shown.gateway_ip, shown.dns_list) == ("10.10.1.0/24", "10.10.1.1",
                                                              ["100.125.1.250", "100.125.21.250"])
    assert [s.id for s in vpc_client.list_subnets(ListSubnetsRequest(vpc_id=vpc.id)).subnets] == [subnet.id]
    update = UpdateSubnetRequestBody(subnet=UpdateSubnetOption(name="sdk-subnet-1"))
    assert vpc_client.update_subnet(UpdateSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id, body=update)).subnet.id \
        == subnet.id

    group = vpc_client.create_security_group(CreateSecurityGroupRequest(body=CreateSecurityGroupRequestBody(
        security_group=CreateSecurityGroupOption(name="sdk-sg", vpc_id=vpc.id)))).security_group
    filled(group)
    rules = []
    for port in (22, 80):
        rule = vpc_client.create_security_group_rule(CreateSecurityGroupRuleRequest(
            body=CreateSecurityGroupRuleRequestBody(security_group_rule=CreateSecurityGroupRuleOption(
                security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp",
                port_range_min=port, port_range_max=port, remote_ip_prefix="0.0.0.0/0")))).security_group_rule
        filled(rule, "remote_group_id", "remote_address_group_id")
        rules.append(rule)
    refused(lambda: vpc_client.create_security_group_rule(CreateSecurityGroupRuleRequest(
        body=CreateSecurityGroupRuleRequestBody(security_group_rule=CreateSecurityGroupRuleOption(
            security_group_id=group.id, direction="ingress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix="0.0.0.0/0")))), 409, "VPC.0804")
    listed = vpc_client.list_security_group_rules(ListSecurityGroupRulesRequest(security_group_id=group.id))
    assert {r.id for r in rules} <= {r.id for r in listed.security_group_rules}
    assert vpc_client.show_security_group_rule(
        ShowSecurityGroupRuleRequest(security_group_rule_id=rules[0].id)).security_group_rule.port_range_min == 22
    shown_group = vpc_client.show_security_group(ShowSecurityGroupRequest(security_group_id=group.id)).security_group
    assert {r.id for r in rules} <= {r.id for r in shown_group.security_group_rules}
    assert group.id in [g.id for g in vpc_client.list_security_groups(ListSecurityGroupsRequest()).security_groups]

    # An ECS on the subnet, named by its VPC subnet id.
    image = next(iter(demo.compute.images()))
    server = PrePaidServer(
        image_ref=image.id, flavor_ref="s3.small.1", name="sdk-on-vpc", vpcid=vpc.id,
        nics=[PrePaidServerNic(subnet_id=subnet.id)], root_volume=PrePaidServerRootVolume(volumetype="SSD"),
        security_groups=[PrePaidServerSecurityGroup(id=group.id)],
    )
    created = ecs.create_servers(CreateServersRequest(body=CreateServersRequestBody(server=server)))
    job = hw_wait_job(ecs, created.job_id)
    assert job.status == "SUCCESS", job
    server_id = created.server_ids[0]
    shown_server = ecs.show_server(ShowServerRequest(server_id=server_id)).server
    assert shown_server.metadata["vpc_id"] == vpc.id
    nics = list(demo.compute.server_interfaces(server_id))
    assert [n.net_id for n in nics] == [subnet.id]
    assert nics[0].fixed_ips[0]["subnet_id"] == subnet.neutron_subnet_id
    ports = vpc_client.list_ports(ListPortsRequest(device_id=server_id)).ports
    assert [p.network_id for p in ports] == [subnet.id] and ports[0].device_owner == "compute:nova"
    filled(ports[0], "instance_type")

    # The subnet (and so the VPC) cannot go while the server's NIC is on it.
    refused(lambda: vpc_client.delete_subnet(DeleteSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id)), 409,
            "VPC.0211")
    refused(lambda: vpc_client.delete_vpc(DeleteVpcRequest(vpc_id=vpc.id)), 409, "VPC.0113")

    delete = DeleteServersRequestBody(servers=[ServerId(id=server_id)], delete_volume=True, delete_publicip=True)
    assert hw_wait_job(ecs, ecs.delete_servers(DeleteServersRequest(body=delete)).job_id).status == "SUCCESS"
    for rule in rules:
        vpc_client.delete_security_group_rule(DeleteSecurityGroupRuleRequest(security_group_rule_id=rule.id))
    vpc_client.delete_security_group(DeleteSecurityGroupRequest(security_group_id=group.id))
    vpc_client.delete_subnet(DeleteSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id))
    vpc_client.delete_vpc(DeleteVpcRequest(vpc_id=vpc.id))
    refused(lambda: vpc_client.show_vpc(ShowVpcRequest(vpc_id=vpc.id)), 404, "VPC.0003")


def test_ports_private_ips_and_quotas(hw):
    vpc_client = hw(VpcClient)
    vpc = vpc_client.create_vpc(CreateVpcRequest(body=CreateVpcRequestBody(
        vpc=CreateVpcOption(name="sdk-ports", cidr="172.16.0.0/16")))).vpc
    subnet = vpc_client.create_subnet(CreateSubnetRequest(body=CreateSubnetRequestBody(subnet=CreateSubnetOption(
        name="sdk-ports", cidr="172.16.5.0/24", gateway_ip="172.16.5.1", vpc_id=vpc.id)))).subnet

    port = vpc_client.create_port(CreatePortRequest(body=CreatePortRequestBody(port=CreatePortOption(
        name="sdk-port", network_id=subnet.id, fixed_ips=[FixedIp(ip_address="172.16.5.20")])))).port
    filled(port, "instance_type", "instance_id", "device_id", "device_owner", "zone_id")
    assert port.network_id == subnet.id and port.fixed_ips[0].subnet_id == subnet.neutron_subnet_id
    assert vpc_client.show_port(ShowPortRequest(port_id=port.id)).port.fixed_ips[0].ip_address == "172.16.5.20"
    renamed = vpc_client.update_port(UpdatePortRequest(port_id=port.id, body=UpdatePortRequestBody(
        port=UpdatePortOption(name="sdk-port-1")))).port
    assert renamed.name == "sdk-port-1"

    ips = vpc_client.create_privateip(CreatePrivateipRequest(body=CreatePrivateipRequestBody(privateips=[
        CreatePrivateipOption(subnet_id=subnet.id, ip_address="172.16.5.30")]))).privateips
    filled(ips[0])
    assert (ips[0].ip_address, ips[0].subnet_id) == ("172.16.5.30", subnet.id)
    listed = vpc_client.list_privateips(ListPrivateipsRequest(subnet_id=subnet.id)).privateips
    assert {"172.16.5.20", "172.16.5.30"} <= {i.ip_address for i in listed}
    assert vpc_client.show_privateip(ShowPrivateipRequest(privateip_id=ips[0].id)).privateip.ip_address \
        == "172.16.5.30"
    refused(lambda: vpc_client.delete_subnet(DeleteSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id)), 409,
            "VPC.0211")

    quotas = vpc_client.show_quota(ShowQuotaRequest()).quotas.resources
    vpc_quota = next(q for q in quotas if q.type == "vpc")
    filled(vpc_quota)
    assert vpc_quota.used >= 1 and vpc_quota.quota > 0

    vpc_client.delete_privateip(DeletePrivateipRequest(privateip_id=ips[0].id))
    vpc_client.delete_port(DeletePortRequest(port_id=port.id))
    vpc_client.delete_subnet(DeleteSubnetRequest(vpc_id=vpc.id, subnet_id=subnet.id))
    vpc_client.delete_vpc(DeleteVpcRequest(vpc_id=vpc.id))


def test_v3_security_groups(hw):
    from huaweicloudsdkvpc.v3 import (
        CreateSecurityGroupOption as GroupOption, CreateSecurityGroupRequest as CreateGroup,
        CreateSecurityGroupRequestBody as GroupBody, CreateSecurityGroupRuleOption as RuleOption,
        CreateSecurityGroupRuleRequest as CreateRule, CreateSecurityGroupRuleRequestBody as RuleBody,
        DeleteSecurityGroupRequest as DeleteGroup, DeleteSecurityGroupRuleRequest as DeleteRule,
        ListSecurityGroupRulesRequest as ListRules, ListSecurityGroupsRequest as ListGroups,
        ShowSecurityGroupRequest as ShowGroup, ShowSecurityGroupRuleRequest as ShowRule,
        UpdateSecurityGroupOption, UpdateSecurityGroupRequest, UpdateSecurityGroupRequestBody,
        VpcClient as VpcClientV3,
    )

    client = hw(VpcClientV3)
    created = client.create_security_group(CreateGroup(body=GroupBody(
        security_group=GroupOption(name="sdk-v3", description="by the v3 SDK"))))
    assert created.request_id
    group = created.security_group
    filled(group, "created_at", "updated_at")
    rule = client.create_security_group_rule(CreateRule(body=RuleBody(security_group_rule=RuleOption(
        security_group_id=group.id, direction="ingress", ethertype="IPv4", protocol="tcp", multiport="443",
        remote_ip_prefix="0.0.0.0/0", action="allow")))).security_group_rule
    filled(rule, "created_at", "updated_at")
    assert (rule.multiport, rule.action, rule.priority) == ("443", "allow", 1)
    assert client.show_security_group_rule(ShowRule(security_group_rule_id=rule.id)).security_group_rule.id == rule.id
    assert rule.id in [r.id for r in client.list_security_group_rules(
        ListRules(security_group_id=[group.id])).security_group_rules]
    assert group.id in [g.id for g in client.list_security_groups(ListGroups()).security_groups]
    renamed = client.update_security_group(UpdateSecurityGroupRequest(security_group_id=group.id, body=
        UpdateSecurityGroupRequestBody(security_group=UpdateSecurityGroupOption(name="sdk-v3-1")))).security_group
    assert renamed.name == "sdk-v3-1"
    refused(lambda: client.create_security_group_rule(CreateRule(body=RuleBody(security_group_rule=RuleOption(
        security_group_id=group.id, direction="ingress", action="deny")))), 400, "VPC.0801")
    client.delete_security_group_rule(DeleteRule(security_group_rule_id=rule.id))
    client.delete_security_group(DeleteGroup(security_group_id=group.id))
    refused(lambda: client.show_security_group(ShowGroup(security_group_id=group.id)), 404, "VPC.0602")
