//! Huawei Cloud's VPC API over the Neutron records: VPCs (routers with a
//! CIDR), VPC subnets (networks, whose id ECS `nics[].subnet_id` takes),
//! security groups and rules, ports, private IPs and quotas, each refusal
//! with its `VPC.xxxx` code.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

async fn call(s: &Session<'_>, method: Method, path: &str, body: Option<Value>) -> Reply {
    let token = [("x-auth-token", s.token.as_str())];
    s.server.send(method, &format!("/v1/{}{path}", s.project_id), &token, body.as_ref()).await
}

fn ok(r: &Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    r.body.clone()
}

/// Asserts a VPC API error (`{"code", "message"}`).
fn refused(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (status, Some(code)), "{}", r.body);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
    assert!(r.header("x-request-id").is_some(), "a request id");
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn new_vpc(s: &Session<'_>, name: &str, cidr: &str) -> Value {
    ok(&call(s, Method::POST, "/vpcs", Some(json!({"vpc": {"name": name, "cidr": cidr}}))).await, 200)["vpc"].clone()
}

async fn new_subnet(s: &Session<'_>, vpc: &str, name: &str, cidr: &str, gateway: &str) -> Value {
    let body = json!({"subnet": {"vpc_id": vpc, "name": name, "cidr": cidr, "gateway_ip": gateway,
        "primary_dns": "100.125.1.250", "secondary_dns": "100.125.21.250"}});
    ok(&call(s, Method::POST, "/subnets", Some(body)).await, 200)["subnet"].clone()
}

/// The seed's network is a subnet of the seed's VPC, seen by every project.
async fn the_seed_is_a_vpc_subnet(server: &TestServer) {
    let demo = server.demo().await;
    let vpcs = ok(&call(&demo, Method::GET, "/vpcs", None).await, 200);
    let seed = vpcs["vpcs"].as_array().unwrap().iter().find(|v| v["name"] == "default-vpc").expect("the seed VPC");
    assert_eq!((seed["cidr"].as_str(), seed["status"].as_str()), (Some("192.168.0.0/16"), Some("OK")), "{seed}");
    let subnets = ok(&call(&demo, Method::GET, &format!("/subnets?vpc_id={}", id(seed)), None).await, 200);
    let s = &subnets["subnets"][0];
    let network = server.core().store_for_tests().network_list().await.unwrap();
    let network = network.iter().find(|n| n.name == "default-net").unwrap();
    assert_eq!(s["id"], network.id.as_str(), "{s}");
    assert_eq!(s["neutron_network_id"], network.id.as_str());
    let neutron_subnet = server.core().store_for_tests().subnet_list(&network.id).await.unwrap().remove(0);
    assert_eq!(s["neutron_subnet_id"], neutron_subnet.id.as_str());
    assert_eq!((s["cidr"].as_str(), s["gateway_ip"].as_str()), (Some("192.168.0.0/24"), Some("192.168.0.1")));
    assert_eq!((s["status"].as_str(), s["dhcp_enable"].as_bool()), (Some("ACTIVE"), Some(true)));
    assert_eq!(s["vpc_id"], seed["id"]);
    assert_eq!(s["primary_dns"], "100.125.1.250");
    // But it is the admin project's: the demo project cannot change it.
    let path = format!("/vpcs/{}", id(seed));
    refused(&call(&demo, Method::DELETE, &path, None).await, 403, "VPC.2201");
}
both!(the_seed_is_a_vpc_subnet);

/// CreateVpc → CreateSubnet → an ECS on the subnet by its VPC subnet id →
/// the subnet and VPC refuse to go while used → deleted in order.
async fn vpcs_subnets_and_servers(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let vpc = new_vpc(&demo, "vpc-1", "10.0.0.0/16").await;
    let vpc_id = id(&vpc);
    assert_eq!((vpc["cidr"].as_str(), vpc["tenant_id"].as_str()), (Some("10.0.0.0/16"), Some(p.as_str())));
    assert!(vpc["created_at"].is_string() && vpc["routes"].is_array(), "{vpc}");
    // A VPC is a router to Neutron.
    let r = demo.get(&format!("/networking/v2.0/routers/{vpc_id}"), None).await;
    assert_eq!((r.status.as_u16(), &r.body["router"]["name"]), (200, &json!("vpc-1")), "{}", r.body);

    for (body, code) in [
        (json!({"vpc": {"name": "x", "cidr": "8.8.8.0/24"}}), "VPC.0101"),
        (json!({"vpc": {"name": "x", "cidr": "10.0.0.0/28"}}), "VPC.0101"),
        (json!({"vpc": {"name": "bad name!", "cidr": "10.0.0.0/16"}}), "VPC.0101"),
        (json!({"vpc": {"cidr": 10}}), "VPC.0101"),
        (json!({"nothing": {}}), "VPC.0101"),
    ] {
        refused(&call(&demo, Method::POST, "/vpcs", Some(body)).await, 400, code);
    }

    let s = new_subnet(&demo, &vpc_id, "sub-1", "10.0.1.0/24", "10.0.1.1").await;
    let sid = id(&s);
    assert_eq!(s["neutron_network_id"], sid.as_str(), "the VPC subnet id is the network id");
    assert_ne!(s["neutron_subnet_id"], sid.as_str());
    assert_eq!(s["dnsList"], json!(["100.125.1.250", "100.125.21.250"]));
    assert_eq!((s["vpc_id"].as_str(), s["status"].as_str()), (Some(vpc_id.as_str()), Some("ACTIVE")));
    assert_eq!(s["available_ip_address_count"], 253);
    assert!(s["availability_zone"].as_str().is_some_and(|z| !z.is_empty()), "{s}");
    // Neutron shows the same network and subnet.
    let r = demo.get(&format!("/networking/v2.0/networks/{sid}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let neutron_subnet = s["neutron_subnet_id"].as_str().unwrap().to_string();
    let r = demo.get(&format!("/networking/v2.0/subnets/{neutron_subnet}"), None).await;
    assert_eq!((r.status.as_u16(), &r.body["subnet"]["cidr"]), (200, &json!("10.0.1.0/24")), "{}", r.body);

    let bad = |cidr: &str, gateway: &str| json!({"subnet": {"vpc_id": vpc_id, "name": "s", "cidr": cidr, "gateway_ip": gateway}});
    for body in [
        bad("10.1.0.0/24", "10.1.0.1"),     // outside the VPC
        bad("10.0.1.128/25", "10.0.1.129"), // overlaps sub-1
        bad("10.0.2.0/24", "10.0.3.1"),     // gateway outside
        bad("10.0.2.0/24", "10.0.2.0"),     // the network address
        bad("10.0.2.0/30", "nonsense"),
        json!({"subnet": {"vpc_id": vpc_id, "name": "s", "cidr": "10.0.2.0/24"}}),
    ] {
        refused(&call(&demo, Method::POST, "/subnets", Some(body)).await, 400, "VPC.0201");
    }
    let body =
        json!({"subnet": {"vpc_id": "no-such-vpc", "name": "s", "cidr": "10.0.2.0/24", "gateway_ip": "10.0.2.1"}});
    refused(&call(&demo, Method::POST, "/subnets", Some(body)).await, 404, "VPC.0003");

    let other = new_subnet(&demo, &vpc_id, "sub-2", "10.0.2.0/24", "10.0.2.1").await;
    let listed = ok(&call(&demo, Method::GET, &format!("/subnets?vpc_id={vpc_id}"), None).await, 200);
    let ids: Vec<&str> = listed["subnets"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [sid.as_str(), other["id"].as_str().unwrap()]);
    let page =
        ok(&call(&demo, Method::GET, &format!("/subnets?vpc_id={vpc_id}&limit=1&marker={sid}"), None).await, 200);
    assert_eq!(page["subnets"].as_array().unwrap().len(), 1);
    assert_eq!(page["subnets"][0]["id"], other["id"]);
    refused(&call(&demo, Method::GET, "/subnets?limit=0", None).await, 400, "VPC.0201");
    let shown = ok(&call(&demo, Method::GET, &format!("/subnets/{sid}"), None).await, 200);
    assert_eq!(shown["subnet"]["name"], "sub-1");
    let shown = ok(&call(&demo, Method::GET, &format!("/vpcs/{vpc_id}/subnets/{sid}"), None).await, 200);
    assert_eq!(shown["subnet"]["id"], sid.as_str());
    refused(&call(&demo, Method::GET, "/subnets/no-such", None).await, 404, "VPC.0202");

    // Updates.
    let body = json!({"subnet": {"name": "sub-one", "dhcp_enable": false, "primary_dns": "8.8.8.8"}});
    let r = ok(&call(&demo, Method::PUT, &format!("/vpcs/{vpc_id}/subnets/{sid}"), Some(body)).await, 200);
    assert_eq!((r["subnet"]["id"].as_str(), r["subnet"]["status"].as_str()), (Some(sid.as_str()), Some("ACTIVE")));
    let shown = ok(&call(&demo, Method::GET, &format!("/subnets/{sid}"), None).await, 200)["subnet"].clone();
    assert_eq!((shown["name"].as_str(), shown["dhcp_enable"].as_bool()), (Some("sub-one"), Some(false)));
    assert_eq!(shown["dnsList"], json!(["8.8.8.8"]));
    let body = json!({"vpc": {"name": "vpc-one", "description": "mine"}});
    let v = ok(&call(&demo, Method::PUT, &format!("/vpcs/{vpc_id}"), Some(body)).await, 200)["vpc"].clone();
    assert_eq!((v["name"].as_str(), v["description"].as_str()), (Some("vpc-one"), Some("mine")));
    let body = json!({"vpc": {"cidr": "10.0.2.0/24"}});
    refused(&call(&demo, Method::PUT, &format!("/vpcs/{vpc_id}"), Some(body)).await, 400, "VPC.0101");

    // An ECS on the subnet by its VPC subnet id, in the VPC by its id.
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let create = json!({"server": {"name": "on-vpc", "imageRef": image, "flavorRef": "s3.small.1",
        "vpcid": vpc_id, "nics": [{"subnet_id": sid}], "root_volume": {"volumetype": "SSD"}}});
    let r = demo.post(&format!("/v1/{p}/cloudservers"), None, &create).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let server_id = job["entities"]["sub_jobs"][0]["entities"]["server_id"].as_str().unwrap().to_string();
    let shown = demo.get(&format!("/v1/{p}/cloudservers/{server_id}"), None).await;
    assert_eq!(shown.body["server"]["metadata"]["vpc_id"], vpc_id.as_str(), "{}", shown.body);
    let addresses = &shown.body["server"]["addresses"][&vpc_id];
    assert_eq!(addresses[0]["addr"].as_str().map(|a| a.starts_with("10.0.1.")), Some(true), "by VPC: {}", shown.body);
    let interfaces = demo.get(&format!("/v2.1/servers/{server_id}/os-interface"), None).await;
    let nic = &interfaces.body["interfaceAttachments"][0];
    assert_eq!(nic["net_id"], sid.as_str(), "{}", interfaces.body);
    assert_eq!(nic["fixed_ips"][0]["subnet_id"], neutron_subnet.as_str());
    // The primary NIC must be in the VPC named; a subnet id that is neither is Ecs.0038.
    let mut wrong = create.clone();
    wrong["server"]["nics"][0]["subnet_id"] = json!(
        server
            .core()
            .store_for_tests()
            .network_list()
            .await
            .unwrap()
            .into_iter()
            .find(|n| n.name == "default-net")
            .unwrap()
            .id
    );
    let r = demo.post(&format!("/v1/{p}/cloudservers"), None, &wrong).await;
    assert_eq!((r.status.as_u16(), &r.body["error"]["code"]), (400, &json!("Ecs.0064")), "{}", r.body);
    let mut wrong = create.clone();
    wrong["server"]["nics"][0]["subnet_id"] = json!("no-such-subnet");
    let r = demo.post(&format!("/v1/{p}/cloudservers"), None, &wrong).await;
    assert_eq!((r.status.as_u16(), &r.body["error"]["code"]), (400, &json!("Ecs.0038")), "{}", r.body);
    // A NIC added by the other subnet's VPC subnet id.
    let nics = json!({"nics": [{"subnet_id": other["id"]}]});
    let r = demo.post(&format!("/v1/{p}/cloudservers/{server_id}/nics"), None, &nics).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let ports = ok(&call(&demo, Method::GET, &format!("/ports?device_id={server_id}"), None).await, 200);
    let networks: Vec<&str> =
        ports["ports"].as_array().unwrap().iter().map(|p| p["network_id"].as_str().unwrap()).collect();
    assert!(networks.contains(&sid.as_str()) && networks.contains(&other["id"].as_str().unwrap()), "{ports}");
    assert_eq!(ports["ports"][0]["device_owner"], "compute:nova");

    // In use: the subnet and the VPC stay.
    refused(&call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}/subnets/{sid}"), None).await, 409, "VPC.0211");
    refused(&call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}"), None).await, 409, "VPC.0113");
    let r = demo.delete(&format!("/networking/v2.0/routers/{vpc_id}"), None).await;
    assert_eq!(r.status, 409, "Neutron cannot take a VPC's router from under it: {}", r.body);

    let del = json!({"servers": [{"id": server_id}]});
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &del).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(demo.finished_job(r.body["job_id"].as_str().unwrap()).await["status"], "SUCCESS");
    for s in [&sid, other["id"].as_str().unwrap()] {
        assert_eq!(call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}/subnets/{s}"), None).await.status, 204);
    }
    refused(&call(&demo, Method::GET, &format!("/subnets/{sid}"), None).await, 404, "VPC.0202");
    assert_eq!(demo.get(&format!("/networking/v2.0/networks/{sid}"), None).await.status, 404);
    assert_eq!(call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}"), None).await.status, 204);
    refused(&call(&demo, Method::GET, &format!("/vpcs/{vpc_id}"), None).await, 404, "VPC.0003");
    assert_eq!(demo.get(&format!("/networking/v2.0/routers/{vpc_id}"), None).await.status, 404);
}
both!(vpcs_subnets_and_servers);

/// Another project's resources are 404; a reader changes nothing; quotas
/// are the VPC API's codes; a path of another project, a bad credential
/// and an unknown path are refused in the VPC API's format.
async fn vpc_refusals(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let theirs = new_vpc(&admin, "admins", "172.16.0.0/16").await;
    let their_subnet = new_subnet(&admin, &id(&theirs), "adm", "172.16.1.0/24", "172.16.1.1").await;
    refused(&call(&demo, Method::GET, &format!("/vpcs/{}", id(&theirs)), None).await, 404, "VPC.0003");
    refused(&call(&demo, Method::GET, &format!("/subnets/{}", id(&their_subnet)), None).await, 404, "VPC.0202");
    let path = format!("/vpcs/{}/subnets/{}", id(&theirs), id(&their_subnet));
    refused(&call(&demo, Method::DELETE, &path, None).await, 404, "VPC.0003");
    let listed = ok(&call(&demo, Method::GET, "/vpcs", None).await, 200);
    assert!(listed["vpcs"].as_array().unwrap().iter().all(|v| v["id"] != theirs["id"]), "{listed}");
    let listed = ok(&call(&demo, Method::GET, "/subnets", None).await, 200);
    assert!(listed["subnets"].as_array().unwrap().iter().all(|s| s["id"] != their_subnet["id"]), "{listed}");
    // Nor may the demo project use it for a private IP.
    let body = json!({"privateips": [{"subnet_id": their_subnet["id"]}]});
    refused(&call(&demo, Method::POST, "/privateips", Some(body)).await, 404, "VPC.0202");

    // A reader of the demo project.
    let r = admin.post("/identity/v3/users", None, &json!({"user": {"name": "vpc-reader", "password": "pw"}})).await;
    let viewer = r.body["user"]["id"].as_str().unwrap().to_string();
    let roles = admin.get("/identity/v3/roles?name=reader", None).await;
    let reader_role = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{}/users/{viewer}/roles/{reader_role}", demo.project_id);
    let r = server.send(Method::PUT, &grant, &[("x-auth-token", admin.token.as_str())], None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let reader = server.login("vpc-reader", "pw", "demo").await;
    let mine = new_vpc(&demo, "mine", "10.8.0.0/16").await;
    let before = ok(&call(&demo, Method::GET, "/vpcs", None).await, 200);
    refused(&call(&reader, Method::POST, "/vpcs", Some(json!({"vpc": {"name": "r"}}))).await, 403, "VPC.2201");
    let path = format!("/vpcs/{}", id(&mine));
    refused(&call(&reader, Method::PUT, &path, Some(json!({"vpc": {"name": "r"}}))).await, 403, "VPC.2201");
    refused(&call(&reader, Method::DELETE, &path, None).await, 403, "VPC.2201");
    let body = json!({"subnet": {"vpc_id": mine["id"], "name": "r", "cidr": "10.8.1.0/24", "gateway_ip": "10.8.1.1"}});
    refused(&call(&reader, Method::POST, "/subnets", Some(body)).await, 403, "VPC.2201");
    refused(
        &call(&reader, Method::POST, "/security-groups", Some(json!({"security_group": {"name": "r"}}))).await,
        403,
        "VPC.2201",
    );
    assert_eq!(ok(&call(&reader, Method::GET, "/vpcs", None).await, 200), before, "a reader reads");
    assert_eq!(ok(&call(&demo, Method::GET, "/vpcs", None).await, 200), before, "and changes nothing");

    // Quotas: the router quota is the VPC quota (VPC.0114).
    let quotas = ok(&call(&demo, Method::GET, "/quotas?type=vpc", None).await, 200);
    let vpc_quota = &quotas["quotas"]["resources"][0];
    assert_eq!((vpc_quota["type"].as_str(), vpc_quota["used"].as_i64()), (Some("vpc"), Some(1)), "{quotas}");
    let r = admin
        .put(&format!("/networking/v2.0/quotas/{}", demo.project_id), None, &json!({"quota": {"router": 1}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    refused(&call(&demo, Method::POST, "/vpcs", Some(json!({"vpc": {"name": "two"}}))).await, 409, "VPC.0114");
    let r = admin
        .put(&format!("/networking/v2.0/quotas/{}", demo.project_id), None, &json!({"quota": {"security_group": 1}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&demo, Method::POST, "/security-groups", Some(json!({"security_group": {"name": "sg"}}))).await;
    refused(&r, 409, "VPC.0603");

    // The path's project must be the caller's; credentials must be good.
    let r = server
        .send(Method::GET, &format!("/v1/{}/vpcs", admin.project_id), &[("x-auth-token", demo.token.as_str())], None)
        .await;
    refused(&r, 400, "VPC.0007");
    let r = server.send(Method::GET, &format!("/v1/{}/vpcs", demo.project_id), &[("x-auth-token", "bad")], None).await;
    refused(&r, 401, "VPC.0008");
    let r = server.send(Method::GET, &format!("/v1/{}/vpcs/x/nothing", demo.project_id), &[], None).await;
    refused(&r, 404, "APIGW.0101");
    let r = call(&demo, Method::PATCH, "/vpcs", None).await;
    refused(&r, 405, "APIGW.0101");
}
both!(vpc_refusals);

/// Security groups and rules, ports and private IPs on a VPC subnet.
async fn groups_ports_and_private_ips(server: &TestServer) {
    let demo = server.demo().await;
    let vpc = new_vpc(&demo, "net", "192.168.0.0/16").await;
    let vpc_id = id(&vpc);
    let subnet = new_subnet(&demo, &vpc_id, "web", "192.168.10.0/24", "192.168.10.1").await;
    let sid = id(&subnet);

    let g = ok(
        &call(
            &demo,
            Method::POST,
            "/security-groups",
            Some(json!({"security_group": {"name": "web", "vpc_id": vpc_id}})),
        )
        .await,
        200,
    )["security_group"]
        .clone();
    let gid = id(&g);
    assert_eq!(g["security_group_rules"].as_array().unwrap().len(), 2, "Neutron's egress rules: {g}");
    refused(
        &call(&demo, Method::POST, "/security-groups", Some(json!({"security_group": {"name": ""}}))).await,
        400,
        "VPC.0601",
    );
    let rule = json!({"security_group_rule": {"security_group_id": gid, "direction": "ingress", "ethertype": "IPv4",
        "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}});
    let r = ok(&call(&demo, Method::POST, "/security-group-rules", Some(rule.clone())).await, 200);
    let rid = id(&r["security_group_rule"]);
    assert_eq!(
        (r["security_group_rule"]["protocol"].as_str(), r["security_group_rule"]["port_range_min"].as_i64()),
        (Some("tcp"), Some(22))
    );
    refused(&call(&demo, Method::POST, "/security-group-rules", Some(rule)).await, 409, "VPC.0804");
    let bad = json!({"security_group_rule": {"security_group_id": gid, "direction": "sideways"}});
    refused(&call(&demo, Method::POST, "/security-group-rules", Some(bad)).await, 400, "VPC.0801");
    let listed =
        ok(&call(&demo, Method::GET, &format!("/security-group-rules?security_group_id={gid}"), None).await, 200);
    assert_eq!(listed["security_group_rules"].as_array().unwrap().len(), 3, "{listed}");
    let shown = ok(&call(&demo, Method::GET, &format!("/security-groups/{gid}"), None).await, 200);
    assert_eq!(shown["security_group"]["security_group_rules"].as_array().unwrap().len(), 3);
    assert_eq!(call(&demo, Method::DELETE, &format!("/security-group-rules/{rid}"), None).await.status, 204);
    refused(&call(&demo, Method::GET, &format!("/security-group-rules/{rid}"), None).await, 404, "VPC.0802");

    // A port on the VPC subnet: its network is the subnet, its fixed IP on the Neutron subnet.
    let body = json!({"port": {"network_id": sid, "name": "p1", "security_groups": [gid],
        "fixed_ips": [{"ip_address": "192.168.10.50"}]}});
    let port = ok(&call(&demo, Method::POST, "/ports", Some(body)).await, 200)["port"].clone();
    let pid = id(&port);
    assert_eq!((port["network_id"].as_str(), port["status"].as_str()), (Some(sid.as_str()), Some("DOWN")));
    assert_eq!(port["fixed_ips"][0], json!({"ip_address": "192.168.10.50", "subnet_id": subnet["neutron_subnet_id"]}));
    assert_eq!(port["security_groups"], json!([gid]));
    let body = json!({"port": {"network_id": sid, "fixed_ips": [{"ip_address": "192.168.10.50"}]}});
    refused(&call(&demo, Method::POST, "/ports", Some(body)).await, 409, "VPC.0703");
    let body = json!({"port": {"name": "p-one", "allowed_address_pairs": [{"ip_address": "192.168.10.200"}]}});
    let updated = ok(&call(&demo, Method::PUT, &format!("/ports/{pid}"), Some(body)).await, 200)["port"].clone();
    assert_eq!(updated["name"], "p-one");
    assert_eq!(updated["allowed_address_pairs"][0]["ip_address"], "192.168.10.200");
    // The group is in use by the port.
    refused(&call(&demo, Method::DELETE, &format!("/security-groups/{gid}"), None).await, 409, "VPC.0604");

    // Private IPs.
    let body = json!({"privateips": [{"subnet_id": sid, "ip_address": "192.168.10.9"}, {"subnet_id": sid}]});
    let ips = ok(&call(&demo, Method::POST, "/privateips", Some(body)).await, 200)["privateips"].clone();
    assert_eq!(ips[0]["ip_address"], "192.168.10.9");
    assert_eq!((ips[1]["subnet_id"].as_str(), ips[1]["status"].as_str()), (Some(sid.as_str()), Some("DOWN")));
    let body = json!({"privateips": [{"subnet_id": sid, "ip_address": "10.9.9.9"}]});
    refused(&call(&demo, Method::POST, "/privateips", Some(body)).await, 400, "VPC.0301");
    let body = json!({"privateips": [{"subnet_id": sid, "ip_address": "192.168.10.9"}]});
    refused(&call(&demo, Method::POST, "/privateips", Some(body)).await, 409, "VPC.0303");
    let listed = ok(&call(&demo, Method::GET, &format!("/subnets/{sid}/privateips"), None).await, 200);
    assert_eq!(listed["privateips"].as_array().unwrap().len(), 3, "the port's address too: {listed}");
    let ip0 = id(&ips[0]);
    let shown = ok(&call(&demo, Method::GET, &format!("/privateips/{ip0}"), None).await, 200);
    assert_eq!(shown["privateip"]["ip_address"], "192.168.10.9");
    refused(&call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}/subnets/{sid}"), None).await, 409, "VPC.0211");
    for ip in ips.as_array().unwrap() {
        assert_eq!(call(&demo, Method::DELETE, &format!("/privateips/{}", id(ip)), None).await.status, 204);
    }
    refused(&call(&demo, Method::GET, &format!("/privateips/{ip0}"), None).await, 404, "VPC.0302");
    assert_eq!(call(&demo, Method::DELETE, &format!("/ports/{pid}"), None).await.status, 204);
    refused(&call(&demo, Method::GET, &format!("/ports/{pid}"), None).await, 404, "VPC.0702");
    assert_eq!(call(&demo, Method::DELETE, &format!("/security-groups/{gid}"), None).await.status, 204);
    refused(&call(&demo, Method::GET, &format!("/security-groups/{gid}"), None).await, 404, "VPC.0602");
    assert_eq!(call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}/subnets/{sid}"), None).await.status, 204);
    assert_eq!(call(&demo, Method::DELETE, &format!("/vpcs/{vpc_id}"), None).await.status, 204);
}
both!(groups_ports_and_private_ips);

/// The v3 security group API: the same groups and rules, ports as
/// `multiport`, errors as `{"request_id", "error_code", "error_msg"}`.
async fn v3_security_groups(server: &TestServer) {
    let demo = server.demo().await;
    let token = [("x-auth-token", demo.token.as_str())];
    let v3 = |m: Method, path: String, body: Option<Value>| {
        let path = format!("/v3/{}/vpc{path}", demo.project_id);
        async move { server.send(m, &path, &token, body.as_ref()).await }
    };
    let body = json!({"security_group": {"name": "v3-web", "description": "v3"}});
    let r = ok(&v3(Method::POST, "/security-groups".into(), Some(body)).await, 200);
    assert!(r["request_id"].as_str().is_some_and(|id| id.starts_with("req-")), "{r}");
    let g = r["security_group"].clone();
    let gid = id(&g);
    assert_eq!((g["description"].as_str(), g["project_id"].as_str()), (Some("v3"), Some(demo.project_id.as_str())));
    // The v1 API and Neutron show the same group.
    ok(&call(&demo, Method::GET, &format!("/security-groups/{gid}"), None).await, 200);
    let body = json!({"security_group_rule": {"security_group_id": gid, "direction": "ingress", "protocol": "tcp",
        "multiport": "8000-8080", "remote_ip_prefix": "10.0.0.0/8", "action": "allow"}});
    let rule =
        ok(&v3(Method::POST, "/security-group-rules".into(), Some(body)).await, 200)["security_group_rule"].clone();
    assert_eq!((rule["multiport"].as_str(), rule["action"].as_str()), (Some("8000-8080"), Some("allow")), "{rule}");
    let v1 = ok(&call(&demo, Method::GET, &format!("/security-group-rules/{}", id(&rule)), None).await, 200);
    let v1 = &v1["security_group_rule"];
    assert_eq!((v1["port_range_min"].as_i64(), v1["port_range_max"].as_i64()), (Some(8000), Some(8080)));
    let body = json!({"security_group_rule": {"security_group_id": gid, "direction": "ingress", "action": "deny"}});
    let r = v3(Method::POST, "/security-group-rules".into(), Some(body)).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (400, Some("VPC.0801")), "{}", r.body);
    assert!(r.body["request_id"].is_string() && r.body["error_msg"].is_string(), "{}", r.body);
    let listed = ok(&v3(Method::GET, format!("/security-group-rules?security_group_id={gid}"), None).await, 200);
    assert_eq!(listed["security_group_rules"].as_array().unwrap().len(), 3, "{listed}");
    let listed = ok(&v3(Method::GET, "/security-groups".into(), None).await, 200);
    assert!(listed["security_groups"].as_array().unwrap().iter().any(|g| g["id"] == gid.as_str()), "{listed}");
    let body = json!({"security_group": {"name": "v3-web-1"}});
    let updated = ok(&v3(Method::PUT, format!("/security-groups/{gid}"), Some(body)).await, 200);
    assert_eq!(updated["security_group"]["name"], "v3-web-1");
    assert_eq!(v3(Method::DELETE, format!("/security-group-rules/{}", id(&rule)), None).await.status, 204);
    assert_eq!(v3(Method::DELETE, format!("/security-groups/{gid}"), None).await.status, 204);
    let r = v3(Method::GET, format!("/security-groups/{gid}"), None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (404, Some("VPC.0602")), "{}", r.body);
    // Keystone keeps /v3.
    assert_eq!(server.send(Method::GET, "/v3", &[], None).await.status, 200);
    let r = server
        .send(
            Method::GET,
            "/v3/auth/tokens",
            &[("x-auth-token", demo.token.as_str()), ("x-subject-token", demo.token.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
both!(v3_security_groups);
