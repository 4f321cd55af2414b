"""Issue 18 (networking) through the CLI and openstacksdk's `conn.network`:
security groups and rules, routers, floating IPs, updates, quotas."""

import uuid

import openstack.exceptions
import pytest


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_cli_security_groups_and_rules(cli):
    name = _name("web")
    group = cli("security", "group", "create", "--description", "http", name)
    assert group["name"] == name
    rule = cli("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", name)
    assert (rule["port_range_min"], rule["port_range_max"], rule["protocol"]) == (22, 22, "tcp")
    again = cli("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", name, parse=False, check=False)
    assert again.returncode != 0 and "already exists" in again.stderr, again.stderr
    icmp = cli("security", "group", "rule", "create", "--protocol", "icmp", "--icmp-type", "8", "--icmp-code", "0",
               name)
    assert icmp["port_range_min"] == 8
    bad = cli("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "90:80", name, parse=False, check=False)
    assert bad.returncode != 0
    v6 = cli("security", "group", "rule", "create", "--ethertype", "IPv6", "--remote-ip", "2001:db8::/32", name)
    assert v6.get("ethertype", v6.get("ether_type")) == "IPv6", v6
    rules = cli("security", "group", "rule", "list", name)
    assert len(rules) == 5  # two egress defaults and three of ours
    cli("security", "group", "set", "--name", name + "-x", name, parse=False)
    shown = cli("security", "group", "show", name + "-x")
    assert shown["description"] == "http"
    default = cli("security", "group", "delete", "default", parse=False, check=False)
    assert default.returncode != 0
    cli("security", "group", "rule", "delete", rule["id"], parse=False)
    cli("security", "group", "delete", name + "-x", parse=False)


def test_cli_router_floating_ip_and_updates(cli):
    net, sub, router, port = _name("inner"), _name("sub"), _name("r"), _name("p")
    cli("network", "create", net)
    subnet = cli("subnet", "create", "--network", net, "--subnet-range", "10.50.0.0/24", "--no-dhcp", sub)
    assert subnet["enable_dhcp"] is False
    cli("subnet", "set", "--dhcp", sub, parse=False)
    assert cli("subnet", "show", sub)["enable_dhcp"] is True
    cli("network", "set", "--description", "inner net", "--disable", net, parse=False)
    shown = cli("network", "show", net)
    assert shown["description"] == "inner net" and shown["admin_state_up"] is False
    cli("network", "set", "--enable", net, parse=False)

    cli("port", "create", "--network", net, port)
    group = _name("sg")
    cli("security", "group", "create", group)
    cli("port", "set", "--name", port + "-x", "--security-group", group, "--allowed-address", "ip-address=10.50.0.200",
        port, parse=False)
    p = cli("port", "show", port + "-x")
    assert len(p["security_group_ids"]) >= 1
    assert p["allowed_address_pairs"][0]["ip_address"] == "10.50.0.200"
    port = port + "-x"

    cli("router", "create", router)
    cli("router", "set", "--external-gateway", "public", router, parse=False)
    cli("router", "add", "subnet", router, sub, parse=False)
    fip = cli("floating", "ip", "create", "public")
    address = fip["floating_ip_address"]
    cli("floating", "ip", "set", "--port", port, address, parse=False)
    assert cli("floating", "ip", "show", address)["port_id"] == cli("port", "show", port)["id"]
    in_use = cli("router", "delete", router, parse=False, check=False)
    assert in_use.returncode != 0
    cli("floating", "ip", "unset", "--port", address, parse=False)
    assert cli("floating", "ip", "show", address)["port_id"] is None
    cli("floating", "ip", "delete", address, parse=False)
    cli("router", "remove", "subnet", router, sub, parse=False)
    cli("router", "delete", router, parse=False)
    cli("port", "delete", port, parse=False)
    cli("security", "group", "delete", group, parse=False)
    cli("network", "delete", net, parse=False)


def test_cli_quota_show(cli):
    quota = cli("quota", "show")
    by_name = {q["Resource"]: q["Limit"] for q in quota} if isinstance(quota, list) else quota
    assert by_name.get("routers", by_name.get("router")) == 10, quota
    usage = cli("quota", "show", "--usage", "--network")
    assert usage, usage


def test_cli_admin_sets_router_external(cli):
    name = _name("ext")
    cli("network", "create", name, cloud="ecsd-admin")
    cli("network", "set", "--external", name, cloud="ecsd-admin", parse=False)
    assert cli("network", "show", name, cloud="ecsd-admin")["router:external"] is True
    refused = cli("network", "set", "--internal", "public", parse=False, check=False)
    assert refused.returncode != 0
    cli("network", "delete", name, cloud="ecsd-admin", parse=False)


def test_sdk_network_proxy(demo):
    net = demo.network.create_network(name=_name("sdk"))
    subnet = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.60.0.0/24", is_dhcp_enabled=False)
    assert subnet.is_dhcp_enabled is False
    port = demo.network.create_port(network_id=net.id)
    group = demo.network.create_security_group(name=_name("sdk-sg"))
    rule = demo.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                   protocol="tcp", port_range_min=443, port_range_max=443,
                                                   remote_ip_prefix="0.0.0.0/0")
    with pytest.raises(openstack.exceptions.ConflictException):
        demo.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                protocol="tcp", port_range_min=443, port_range_max=443,
                                                remote_ip_prefix="0.0.0.0/0")
    with pytest.raises(openstack.exceptions.BadRequestException):
        demo.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                ethertype="IPv6", remote_ip_prefix="10.0.0.0/8")
    port = demo.network.update_port(port, security_group_ids=[group.id], name="sdk-port")
    assert port.security_group_ids == [group.id]

    public = demo.network.find_network("public", ignore_missing=False)
    assert public.is_router_external
    router = demo.network.create_router(name=_name("sdk-r"), external_gateway_info={"network_id": public.id})
    fip = demo.network.create_ip(floating_network_id=public.id)
    with pytest.raises(openstack.exceptions.NotFoundException):
        demo.network.update_ip(fip, port_id=port.id)
    demo.network.add_interface_to_router(router, subnet_id=subnet.id)
    fip = demo.network.update_ip(fip, port_id=port.id)
    assert fip.port_id == port.id and fip.router_id == router.id
    fip = demo.network.update_ip(fip, port_id=None)
    assert fip.port_id is None
    demo.network.delete_ip(fip)
    demo.network.remove_interface_from_router(router, subnet_id=subnet.id)
    demo.network.delete_router(router)
    demo.network.delete_security_group_rule(rule)
    demo.network.delete_port(port)
    demo.network.delete_security_group(group)
    demo.network.delete_network(net)
    assert {"security-group", "router", "external-net", "quotas"} <= {e.alias for e in demo.network.extensions()}
