//! Neutron v2.0 beyond networks: security groups and rules (the rows Nova's
//! os-security-groups shows), routers, floating IPs (the rows Nova's
//! os-floating-ips shows), updates, extensions and quotas.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

const N: &str = "/networking/v2.0";

async fn call(s: &Session<'_>, method: Method, path: &str, body: Option<Value>) -> Reply {
    let token = [("x-auth-token", s.token.as_str())];
    s.server.send(method, &format!("{N}{path}"), &token, body.as_ref()).await
}

/// Asserts a Neutron fault and returns its message.
fn fault(r: &Reply, status: u16, kind: &str) -> String {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["NeutronError"]["type"], kind, "{}", r.body);
    r.body["NeutronError"]["message"].as_str().unwrap().to_string()
}

fn ok(r: &Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    r.body.clone()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn security_groups_and_rules(server: &TestServer) {
    let demo = server.demo().await;
    let groups = ok(&call(&demo, Method::GET, "/security-groups", None).await, 200);
    let default =
        groups["security_groups"].as_array().unwrap().iter().find(|g| g["name"] == "default").unwrap().clone();
    let rules = default["security_group_rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4, "{rules:?}");
    let dirs: Vec<(&str, &str, bool)> = rules
        .iter()
        .map(|r| (r["direction"].as_str().unwrap(), r["ethertype"].as_str().unwrap(), r["remote_group_id"].is_string()))
        .collect();
    assert_eq!(
        dirs,
        [("ingress", "IPv4", true), ("ingress", "IPv6", true), ("egress", "IPv4", false), ("egress", "IPv6", false)]
    );
    let default_id = id(&default);

    // The default group cannot be renamed or deleted, nor made twice.
    let r = call(
        &demo,
        Method::PUT,
        &format!("/security-groups/{default_id}"),
        Some(json!({"security_group": {"name": "x"}})),
    )
    .await;
    fault(&r, 409, "SecurityGroupCannotUpdateDefault");
    let r = call(
        &demo,
        Method::PUT,
        &format!("/security-groups/{default_id}"),
        Some(json!({"security_group": {"description": "d"}})),
    )
    .await;
    assert_eq!(ok(&r, 200)["security_group"]["description"], "d");
    fault(
        &call(&demo, Method::DELETE, &format!("/security-groups/{default_id}"), None).await,
        409,
        "SecurityGroupCannotRemoveDefault",
    );
    let r = call(&demo, Method::POST, "/security-groups", Some(json!({"security_group": {"name": "default"}}))).await;
    fault(&r, 409, "SecurityGroupDefaultAlreadyExists");

    let r = call(
        &demo,
        Method::POST,
        "/security-groups",
        Some(json!({"security_group": {"name": "web", "description": "http"}})),
    )
    .await;
    let web = ok(&r, 201)["security_group"].clone();
    assert_eq!(web["security_group_rules"].as_array().unwrap().len(), 2, "egress only: {web}");
    let web_id = id(&web);
    let r = call(
        &demo,
        Method::PUT,
        &format!("/security-groups/{web_id}"),
        Some(json!({"security_group": {"name": "www"}})),
    )
    .await;
    assert_eq!(ok(&r, 200)["security_group"]["name"], "www");
    let r =
        call(&demo, Method::PUT, &format!("/security-groups/{web_id}"), Some(json!({"security_group": {"id": "x"}})))
            .await;
    fault(&r, 400, "HTTPBadRequest");

    let rule = |extra: Value| {
        let mut body = json!({"security_group_id": web_id, "direction": "ingress"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Some(json!({"security_group_rule": body}))
    };
    let r = call(
        &demo,
        Method::POST,
        "/security-group-rules",
        rule(json!({"protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "10.0.0.0/8"})),
    )
    .await;
    let http = ok(&r, 201)["security_group_rule"].clone();
    assert_eq!(http["ethertype"], "IPv4");
    assert_eq!(http["remote_ip_prefix"], "10.0.0.0/8");
    // The same rule again, spelt with the protocol's number.
    let r = call(
        &demo,
        Method::POST,
        "/security-group-rules",
        rule(json!({"protocol": "6", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "10.0.0.0/8"})),
    )
    .await;
    let message = fault(&r, 409, "SecurityGroupRuleExists");
    assert!(message.contains(http["id"].as_str().unwrap()), "{message}");

    for (extra, status, kind) in [
        (json!({"direction": "sideways"}), 400, "InvalidInput"),
        (json!({"protocol": "foo"}), 400, "SecurityGroupRuleInvalidProtocol"),
        (json!({"protocol": 300}), 400, "SecurityGroupRuleInvalidProtocol"),
        (json!({"ethertype": "IPv5"}), 400, "SecurityGroupRuleInvalidEtherType"),
        (json!({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}), 400, "SecurityGroupInvalidPortRange"),
        (json!({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80}), 400, "SecurityGroupInvalidPortValue"),
        (
            json!({"protocol": "udp", "port_range_min": 1, "port_range_max": 70000}),
            400,
            "SecurityGroupInvalidPortValue",
        ),
        (json!({"port_range_min": 1, "port_range_max": 2}), 400, "SecurityGroupProtocolRequiredWithPorts"),
        (json!({"protocol": "icmp", "port_range_min": 256}), 400, "SecurityGroupInvalidIcmpValue"),
        (json!({"protocol": "icmp", "port_range_max": 0}), 400, "SecurityGroupMissingIcmpType"),
        (
            json!({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}),
            400,
            "SecurityGroupInvalidProtocolForPortRange",
        ),
        (json!({"protocol": "icmpv6"}), 400, "SecurityGroupEthertypeConflictWithProtocol"),
        (json!({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}), 400, "SecurityGroupRuleParameterConflict"),
        (
            json!({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": default_id}),
            400,
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
        ),
        (json!({"remote_ip_prefix": "nonsense"}), 400, "InvalidInput"),
        (json!({"port_range_min": "abc", "protocol": "tcp"}), 400, "InvalidInput"),
        (json!({"remote_group_id": "00000000-0000-0000-0000-000000000000"}), 404, "SecurityGroupNotFound"),
        (json!({"security_group_id": "00000000-0000-0000-0000-000000000000"}), 404, "SecurityGroupNotFound"),
    ] {
        let r = call(&demo, Method::POST, "/security-group-rules", rule(extra.clone())).await;
        assert_eq!(r.status.as_u16(), status, "{extra}: {}", r.body);
        assert_eq!(r.body["NeutronError"]["type"], kind, "{extra}: {}", r.body);
    }
    // Good ones: ICMP type and code, any protocol, IPv6 prefix, numbers, remote group.
    for extra in [
        json!({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0}),
        json!({"protocol": "any", "remote_ip_prefix": "192.168.0.0/16"}),
        json!({"ethertype": "IPv6", "protocol": "ipv6-icmp", "remote_ip_prefix": "2001:db8::/32"}),
        json!({"protocol": "132", "port_range_min": 5000, "port_range_max": 5001}),
        json!({"direction": "egress", "protocol": "udp", "port_range_min": 53, "port_range_max": 53}),
        json!({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_group_id": default_id}),
    ] {
        let r = call(&demo, Method::POST, "/security-group-rules", rule(extra.clone())).await;
        assert_eq!(r.status, 201, "{extra}: {}", r.body);
    }
    let listed = ok(
        &call(&demo, Method::GET, &format!("/security-group-rules?security_group_id={web_id}&direction=ingress"), None)
            .await,
        200,
    );
    assert_eq!(listed["security_group_rules"].as_array().unwrap().len(), 6);
    let shown = ok(&call(&demo, Method::GET, &format!("/security-group-rules/{}", id(&http)), None).await, 200);
    assert_eq!(shown["security_group_rule"]["port_range_min"], 80);

    // Nova shows the same group with its ingress rules only.
    let nova = demo.get(&format!("/v2.1/os-security-groups/{web_id}"), None).await;
    assert_eq!(nova.status, 200, "{}", nova.body);
    assert_eq!(nova.body["security_group"]["name"], "www");
    assert_eq!(nova.body["security_group"]["rules"].as_array().unwrap().len(), 6);

    // Another project sees none of it.
    let admin = server.admin().await;
    let theirs = ok(&call(&admin, Method::GET, "/security-groups", None).await, 200);
    let admin_group = theirs["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "default" && g["project_id"] != web["project_id"])
        .unwrap()
        .clone();
    let admin_default = id(&admin_group);
    let r = call(&demo, Method::GET, &format!("/security-groups/{admin_default}"), None).await;
    fault(&r, 404, "SecurityGroupNotFound");
    let their_rule = id(&admin_group["security_group_rules"][0]);
    let r = call(&demo, Method::DELETE, &format!("/security-group-rules/{their_rule}"), None).await;
    fault(&r, 404, "SecurityGroupRuleNotFound");

    // A group a port is in cannot go.
    let net = id(
        &ok(&call(&demo, Method::POST, "/networks", Some(json!({"network": {"name": "sgnet"}}))).await, 201)["network"]
    );
    ok(
        &call(
            &demo,
            Method::POST,
            "/subnets",
            Some(json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/24", "ip_version": 4}})),
        )
        .await,
        201,
    );
    let port = ok(
        &call(&demo, Method::POST, "/ports", Some(json!({"port": {"network_id": net, "security_groups": [web_id]}})))
            .await,
        201,
    )["port"]
        .clone();
    assert_eq!(port["security_groups"], json!([web_id]));
    fault(&call(&demo, Method::DELETE, &format!("/security-groups/{web_id}"), None).await, 409, "SecurityGroupInUse");
    let r = call(
        &demo,
        Method::PUT,
        &format!("/ports/{}", id(&port)),
        Some(json!({"port": {"security_groups": [default_id]}})),
    )
    .await;
    assert_eq!(ok(&r, 200)["port"]["security_groups"], json!([default_id]));
    ok(&call(&demo, Method::DELETE, &format!("/security-group-rules/{}", id(&http)), None).await, 204);
    fault(
        &call(&demo, Method::DELETE, &format!("/security-group-rules/{}", id(&http)), None).await,
        404,
        "SecurityGroupRuleNotFound",
    );
    ok(&call(&demo, Method::DELETE, &format!("/security-groups/{web_id}"), None).await, 204);
    fault(&call(&demo, Method::GET, &format!("/security-groups/{web_id}"), None).await, 404, "SecurityGroupNotFound");
}
both!(security_groups_and_rules);

/// A demo network with a subnet, and a port on it.
async fn network_with_port(demo: &Session<'_>, cidr: &str) -> (String, String, Value) {
    let net = id(
        &ok(&call(demo, Method::POST, "/networks", Some(json!({"network": {"name": "inner"}}))).await, 201)["network"],
    );
    let subnet = ok(
        &call(
            demo,
            Method::POST,
            "/subnets",
            Some(json!({"subnet": {"network_id": net, "cidr": cidr, "ip_version": 4, "enable_dhcp": false}})),
        )
        .await,
        201,
    )["subnet"]
        .clone();
    assert_eq!(subnet["enable_dhcp"], false, "{subnet}");
    let port =
        ok(&call(demo, Method::POST, "/ports", Some(json!({"port": {"network_id": net}}))).await, 201)["port"].clone();
    (net, id(&subnet), port)
}

async fn routers_and_floating_ips(server: &TestServer) {
    let demo = server.demo().await;
    let (net, subnet, port) = network_with_port(&demo, "10.20.0.0/24").await;
    let port_id = id(&port);
    let nets = ok(&call(&demo, Method::GET, "/networks?router:external=true", None).await, 200);
    let public = id(&nets["networks"][0]);

    // Floating IPs come from external networks only.
    let r = call(&demo, Method::POST, "/floatingips", Some(json!({"floatingip": {"floating_network_id": net}}))).await;
    fault(&r, 400, "BadRequest");
    let fip = ok(
        &call(
            &demo,
            Method::POST,
            "/floatingips",
            Some(json!({"floatingip": {"floating_network_id": public, "description": "mine"}})),
        )
        .await,
        201,
    )["floatingip"]
        .clone();
    assert_eq!(fip["status"], "DOWN");
    assert_eq!(fip["description"], "mine");
    let fip_id = id(&fip);

    // No router between the networks yet.
    let r =
        call(&demo, Method::PUT, &format!("/floatingips/{fip_id}"), Some(json!({"floatingip": {"port_id": port_id}})))
            .await;
    let message = fault(&r, 404, "ExternalGatewayForFloatingIPNotFound");
    assert!(message.contains(&subnet) && message.contains(&public), "{message}");

    // A router: its gateway only on an external network.
    let r = call(
        &demo,
        Method::POST,
        "/routers",
        Some(json!({"router": {"name": "r1", "external_gateway_info": {"network_id": net}}})),
    )
    .await;
    fault(&r, 400, "BadRequest");
    let router =
        ok(&call(&demo, Method::POST, "/routers", Some(json!({"router": {"name": "r1"}}))).await, 201)["router"]
            .clone();
    assert_eq!(router["external_gateway_info"], Value::Null);
    let rid = id(&router);
    let r = call(
        &demo,
        Method::PUT,
        &format!("/routers/{rid}"),
        Some(json!({"router": {"external_gateway_info": {"network_id": public}}})),
    )
    .await;
    assert_eq!(ok(&r, 200)["router"]["external_gateway_info"]["network_id"], public);
    let r =
        call(&demo, Method::PUT, &format!("/floatingips/{fip_id}"), Some(json!({"floatingip": {"port_id": port_id}})))
            .await;
    fault(&r, 404, "ExternalGatewayForFloatingIPNotFound");

    // Interfaces: by subnet (a port on the gateway address), not twice.
    let path = |what: &str| format!("/routers/{rid}/{what}");
    fault(&call(&demo, Method::PUT, &path("add_router_interface"), Some(json!({}))).await, 400, "BadRequest");
    fault(
        &call(
            &demo,
            Method::PUT,
            &path("add_router_interface"),
            Some(json!({"subnet_id": subnet, "port_id": port_id})),
        )
        .await,
        400,
        "BadRequest",
    );
    let added =
        ok(&call(&demo, Method::PUT, &path("add_router_interface"), Some(json!({"subnet_id": subnet}))).await, 200);
    assert_eq!(added["subnet_id"], subnet);
    let iface = added["port_id"].as_str().unwrap().to_string();
    let shown = ok(&call(&demo, Method::GET, &format!("/ports/{iface}"), None).await, 200)["port"].clone();
    assert_eq!(shown["device_owner"], "network:router_interface");
    assert_eq!(shown["device_id"], rid);
    assert_eq!(shown["fixed_ips"][0]["ip_address"], "10.20.0.1");
    fault(
        &call(&demo, Method::PUT, &path("add_router_interface"), Some(json!({"subnet_id": subnet}))).await,
        400,
        "BadRequest",
    );
    fault(&call(&demo, Method::DELETE, &format!("/ports/{iface}"), None).await, 409, "L3PortInUse");

    // Now the floating IP associates, and Nova's view shows the same row.
    let r = call(
        &demo,
        Method::PUT,
        &format!("/floatingips/{fip_id}"),
        Some(json!({"floatingip": {"port_id": port_id, "fixed_ip_address": "10.9.9.9"}})),
    )
    .await;
    fault(&r, 400, "BadRequest");
    let r =
        call(&demo, Method::PUT, &format!("/floatingips/{fip_id}"), Some(json!({"floatingip": {"port_id": port_id}})))
            .await;
    let fip = ok(&r, 200)["floatingip"].clone();
    assert_eq!(fip["port_id"], port_id);
    assert_eq!(fip["router_id"], rid);
    assert_eq!(fip["fixed_ip_address"], port["fixed_ips"][0]["ip_address"]);
    assert_eq!(fip["status"], "ACTIVE");
    let nova = demo.get("/v2.1/os-floating-ips", Some("2.35")).await;
    assert_eq!(nova.status, 200, "{}", nova.body);
    let row =
        nova.body["floating_ips"].as_array().unwrap().iter().find(|f| f["id"] == fip_id.as_str()).unwrap().clone();
    assert_eq!(row["fixed_ip"], fip["fixed_ip_address"]);
    // A second one on the same fixed IP and network is refused.
    let r = call(
        &demo,
        Method::POST,
        "/floatingips",
        Some(json!({"floatingip": {"floating_network_id": public, "port_id": port_id}})),
    )
    .await;
    fault(&r, 409, "FloatingIPPortAlreadyAssociated");

    // The router cannot lose what the floating IP needs.
    fault(&call(&demo, Method::DELETE, &format!("/routers/{rid}"), None).await, 409, "RouterInUse");
    fault(
        &call(&demo, Method::PUT, &path("remove_router_interface"), Some(json!({"subnet_id": subnet}))).await,
        409,
        "RouterInterfaceInUseByFloatingIP",
    );
    let r =
        call(&demo, Method::PUT, &format!("/routers/{rid}"), Some(json!({"router": {"external_gateway_info": {}}})))
            .await;
    fault(&r, 409, "RouterExternalGatewayInUseByFloatingIp");

    // Disassociate, take the interface out, delete.
    let r = call(&demo, Method::PUT, &format!("/floatingips/{fip_id}"), Some(json!({"floatingip": {"port_id": null}})))
        .await;
    assert_eq!(ok(&r, 200)["floatingip"]["port_id"], Value::Null);
    fault(
        &call(&demo, Method::PUT, &path("remove_router_interface"), Some(json!({"port_id": port_id}))).await,
        404,
        "RouterInterfaceNotFound",
    );
    ok(&call(&demo, Method::PUT, &path("remove_router_interface"), Some(json!({"subnet_id": subnet}))).await, 200);
    fault(&call(&demo, Method::GET, &format!("/ports/{iface}"), None).await, 404, "PortNotFound");
    fault(
        &call(&demo, Method::PUT, &path("remove_router_interface"), Some(json!({"subnet_id": subnet}))).await,
        404,
        "RouterInterfaceNotFoundForSubnet",
    );
    // By port: an unbound port of the subnet.
    let spare =
        ok(&call(&demo, Method::POST, "/ports", Some(json!({"port": {"network_id": net}}))).await, 201)["port"].clone();
    ok(&call(&demo, Method::PUT, &path("add_router_interface"), Some(json!({"port_id": id(&spare)}))).await, 200);
    ok(&call(&demo, Method::PUT, &path("remove_router_interface"), Some(json!({"port_id": id(&spare)}))).await, 200);
    ok(&call(&demo, Method::DELETE, &format!("/routers/{rid}"), None).await, 204);
    fault(&call(&demo, Method::GET, &format!("/routers/{rid}"), None).await, 404, "RouterNotFound");
    ok(&call(&demo, Method::DELETE, &format!("/floatingips/{fip_id}"), None).await, 204);
    fault(&call(&demo, Method::GET, &format!("/floatingips/{fip_id}"), None).await, 404, "FloatingIPNotFound");

    // Another project's router is not there.
    let admin = server.admin().await;
    let theirs =
        ok(&call(&admin, Method::POST, "/routers", Some(json!({"router": {"name": "adm"}}))).await, 201)["router"]
            .clone();
    fault(&call(&demo, Method::GET, &format!("/routers/{}", id(&theirs)), None).await, 404, "RouterNotFound");
    fault(&call(&demo, Method::DELETE, &format!("/routers/{}", id(&theirs)), None).await, 404, "RouterNotFound");
}
both!(routers_and_floating_ips);

async fn updates_extensions_and_quotas(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let (net, subnet, port) = network_with_port(&demo, "10.30.0.0/24").await;

    let r = call(
        &demo,
        Method::PUT,
        &format!("/networks/{net}"),
        Some(json!({"network": {"name": "renamed", "description": "d", "admin_state_up": false}})),
    )
    .await;
    let shown = ok(&r, 200)["network"].clone();
    assert_eq!(
        (shown["name"].as_str(), shown["description"].as_str(), shown["admin_state_up"].as_bool()),
        (Some("renamed"), Some("d"), Some(false))
    );
    fault(
        &call(&demo, Method::PUT, &format!("/networks/{net}"), Some(json!({"network": {"router:external": true}})))
            .await,
        403,
        "PolicyNotAuthorized",
    );
    fault(
        &call(&demo, Method::PUT, &format!("/networks/{net}"), Some(json!({"network": {"subnets": []}}))).await,
        400,
        "HTTPBadRequest",
    );
    let r = call(&admin, Method::PUT, &format!("/networks/{net}"), Some(json!({"network": {"router:external": true}})))
        .await;
    assert_eq!(ok(&r, 200)["network"]["router:external"], true);

    let r = call(
        &demo,
        Method::PUT,
        &format!("/subnets/{subnet}"),
        Some(json!({"subnet": {"name": "s2", "enable_dhcp": true, "dns_nameservers": ["8.8.8.8"]}})),
    )
    .await;
    let shown = ok(&r, 200)["subnet"].clone();
    assert_eq!(shown["enable_dhcp"], true);
    assert_eq!(shown["dns_nameservers"], json!(["8.8.8.8"]));
    fault(
        &call(&demo, Method::PUT, &format!("/subnets/{subnet}"), Some(json!({"subnet": {"cidr": "10.0.0.0/8"}}))).await,
        400,
        "HTTPBadRequest",
    );

    let pid = id(&port);
    let r = call(&demo, Method::PUT, &format!("/ports/{pid}"), Some(json!({"port": {"name": "p", "admin_state_up": false, "allowed_address_pairs": [{"ip_address": "10.30.0.100"}, {"ip_address": "10.31.0.0/24", "mac_address": "fa:16:3e:00:00:01"}], "fixed_ips": [{"ip_address": "10.30.0.50"}]}}))).await;
    let shown = ok(&r, 200)["port"].clone();
    assert_eq!(shown["name"], "p");
    assert_eq!(shown["admin_state_up"], false);
    assert_eq!(shown["fixed_ips"][0]["ip_address"], "10.30.0.50");
    assert_eq!(shown["allowed_address_pairs"][0]["mac_address"], port["mac_address"]);
    assert_eq!(shown["allowed_address_pairs"][1]["ip_address"], "10.31.0.0/24");
    let r = call(
        &demo,
        Method::PUT,
        &format!("/ports/{pid}"),
        Some(json!({"port": {"allowed_address_pairs": [{"mac_address": "fa:16:3e:00:00:01"}]}})),
    )
    .await;
    fault(&r, 400, "AllowedAddressPairsMissingIP");
    let r = call(
        &demo,
        Method::PUT,
        &format!("/ports/{pid}"),
        Some(json!({"port": {"fixed_ips": [{"ip_address": "10.99.0.5"}]}})),
    )
    .await;
    fault(&r, 400, "InvalidIpForNetwork");
    let r =
        call(&demo, Method::PUT, &format!("/ports/{pid}"), Some(json!({"port": {"mac_address": "fa:16:3e:00:00:02"}})))
            .await;
    fault(&r, 400, "HTTPBadRequest");
    let r = call(
        &demo,
        Method::PUT,
        &format!("/ports/{pid}"),
        Some(json!({"port": {"security_groups": ["00000000-0000-0000-0000-000000000000"]}})),
    )
    .await;
    fault(&r, 404, "SecurityGroupNotFound");

    // Extensions by the aliases clients check.
    let ext = ok(&call(&demo, Method::GET, "/extensions", None).await, 200);
    let aliases: Vec<&str> =
        ext["extensions"].as_array().unwrap().iter().map(|e| e["alias"].as_str().unwrap()).collect();
    for a in
        ["security-group", "router", "external-net", "quotas", "allowed-address-pairs", "standard-attr-description"]
    {
        assert!(aliases.contains(&a), "{a}: {aliases:?}");
    }
    assert_eq!(ok(&call(&demo, Method::GET, "/extensions/router", None).await, 200)["extension"]["alias"], "router");
    fault(&call(&demo, Method::GET, "/extensions/nope", None).await, 404, "HTTPNotFound");

    // Quotas: shown with usage, set by an admin only.
    let project = ok(&call(&demo, Method::GET, &format!("/ports/{pid}"), None).await, 200)["port"]["project_id"]
        .as_str()
        .unwrap()
        .to_string();
    let q = ok(&call(&demo, Method::GET, &format!("/quotas/{project}"), None).await, 200);
    assert_eq!(q["quota"]["router"], 10);
    assert_eq!(q["quota"]["security_group_rule"], 100);
    let d = ok(&call(&demo, Method::GET, &format!("/quotas/{project}/details.json"), None).await, 200);
    assert_eq!(d["quota"]["network"]["used"], 1);
    assert_eq!(d["quota"]["port"]["used"], 1);
    assert_eq!(
        ok(&call(&demo, Method::GET, &format!("/quotas/{project}/default"), None).await, 200)["quota"]["floatingip"],
        50
    );
    fault(
        &call(&demo, Method::PUT, &format!("/quotas/{project}"), Some(json!({"quota": {"router": 1}}))).await,
        403,
        "PolicyNotAuthorized",
    );
    let admin_project = ok(&call(&admin, Method::GET, "/quotas", None).await, 200)["quotas"][0]["project_id"]
        .as_str()
        .unwrap()
        .to_string();
    fault(&call(&demo, Method::GET, &format!("/quotas/{admin_project}"), None).await, 403, "PolicyNotAuthorized");
    let r = call(&admin, Method::PUT, &format!("/quotas/{project}"), Some(json!({"quota": {"router": 1}}))).await;
    assert_eq!(ok(&r, 200)["quota"]["router"], 1);
    fault(
        &call(&admin, Method::PUT, &format!("/quotas/{project}"), Some(json!({"quota": {"router": -5}}))).await,
        400,
        "InvalidInput",
    );
    ok(&call(&demo, Method::POST, "/routers", Some(json!({"router": {"name": "one"}}))).await, 201);
    fault(&call(&demo, Method::POST, "/routers", Some(json!({"router": {"name": "two"}}))).await, 409, "OverQuota");
    ok(&call(&admin, Method::DELETE, &format!("/quotas/{project}"), None).await, 204);
    ok(&call(&demo, Method::POST, "/routers", Some(json!({"router": {"name": "two"}}))).await, 201);
}
both!(updates_extensions_and_quotas);

async fn router_quota_is_exact_under_concurrency(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let r = call(&admin, Method::PUT, &format!("/quotas/{project}"), Some(json!({"quota": {"router": 3}}))).await;
    ok(&r, 200);
    let replies = futures::future::join_all(
        (0..8).map(|i| call(&demo, Method::POST, "/routers", Some(json!({"router": {"name": format!("r{i}")}})))),
    )
    .await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 3);
    for r in replies.iter().filter(|r| r.status != 201) {
        fault(r, 409, "OverQuota");
    }
    // Floating IPs too, counted in the allocation's transaction.
    let r = call(&admin, Method::PUT, &format!("/quotas/{project}"), Some(json!({"quota": {"floatingip": 4}}))).await;
    ok(&r, 200);
    let nets = ok(&call(&demo, Method::GET, "/networks?router:external=true", None).await, 200);
    let public = id(&nets["networks"][0]);
    let body = json!({"floatingip": {"floating_network_id": public}});
    let replies =
        futures::future::join_all((0..10).map(|_| call(&demo, Method::POST, "/floatingips", Some(body.clone())))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 4);
    for r in replies.iter().filter(|r| r.status != 201) {
        fault(r, 409, "OverQuota");
    }
}
both!(router_quota_is_exact_under_concurrency);
