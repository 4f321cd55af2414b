//! NICs (`os-interface`), user ports, `servers/{id}/ips` and `os-networks`.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str, networks: Value) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": networks}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn network_id(s: &Session<'_>) -> String {
    s.server.core().store_for_tests().network_list().await.unwrap().remove(0).id
}

/// `POST /networking/v2.0/ports` as the session's user.
async fn new_port(s: &Session<'_>, fixed_ip: Option<&str>) -> crate::Reply {
    let mut port = json!({"network_id": network_id(s).await, "name": "mine"});
    if let Some(ip) = fixed_ip {
        port["fixed_ips"] = json!([{"ip_address": ip}]);
    }
    s.server
        .send(
            reqwest::Method::POST,
            "/networking/v2.0/ports",
            &[("x-auth-token", s.token.as_str())],
            Some(&json!({"port": port})),
        )
        .await
}

async fn attach_list_detach(server: &TestServer) {
    let demo = server.demo().await;
    let net = network_id(&demo).await;
    let id = boot(&demo, "nics", json!("auto")).await;
    let path = format!("/v2.1/servers/{id}/os-interface");
    let list = demo.get(&path, None).await;
    assert_eq!(list.body["interfaceAttachments"].as_array().unwrap().len(), 1);

    let r = demo
        .post(
            &path,
            None,
            &json!({"interfaceAttachment": {"net_id": net, "fixed_ips": [{"ip_address": "192.168.0.200"}]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let added = &r.body["interfaceAttachment"];
    assert_eq!(added["fixed_ips"][0]["ip_address"], "192.168.0.200");
    assert_eq!(added["port_state"], "ACTIVE");
    let port = added["port_id"].as_str().unwrap().to_string();
    let shown = demo.get(&format!("{path}/{port}"), None).await;
    assert_eq!(shown.body["interfaceAttachment"]["mac_addr"], added["mac_addr"]);
    let ips = demo.get(&format!("/v2.1/servers/{id}/ips"), None).await;
    assert_eq!(ips.body["addresses"]["default-net"].as_array().unwrap().len(), 2);
    let one = demo.get(&format!("/v2.1/servers/{id}/ips/default-net"), None).await;
    assert_eq!(one.body["default-net"].as_array().unwrap().len(), 2);
    demo.get(&format!("/v2.1/servers/{id}/ips/nowhere"), None).await.assert_fault(404, "itemNotFound");
    // The same address again: refused before anything happens.
    let r = demo
        .post(
            &path,
            None,
            &json!({"interfaceAttachment": {"net_id": net, "fixed_ips": [{"ip_address": "192.168.0.200"}]}}),
        )
        .await;
    assert!(r.assert_fault(400, "badRequest").contains("already in use"));
    let r = demo.post(&path, None, &json!({"interfaceAttachment": {"net_id": net, "port_id": port}})).await;
    r.assert_fault(400, "badRequest");

    assert_eq!(demo.delete(&format!("{path}/{port}"), None).await.status, 202);
    demo.wait_server(&id, |r| r.body["server"]["addresses"]["default-net"].as_array().is_some_and(|a| a.len() == 1))
        .await;
    demo.get(&format!("{path}/{port}"), None).await.assert_fault(404, "itemNotFound");
    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    let names: Vec<&str> =
        actions.body["instanceActions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["detach_interface", "attach_interface", "create"]);

    // Not while suspended.
    demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"suspend": null})).await;
    demo.wait_status(&id, "SUSPENDED").await;
    let r = demo.post(&path, None, &json!({"interfaceAttachment": {"net_id": net}})).await;
    assert!(r.assert_fault(409, "conflictingRequest").contains("vm_state suspended"));
}
both!(attach_list_detach);

async fn user_ports_outlive_their_servers(server: &TestServer) {
    let demo = server.demo().await;
    let r = new_port(&demo, Some("192.168.0.150")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let port = r.body["port"]["id"].as_str().unwrap().to_string();
    assert_eq!(new_port(&demo, Some("192.168.0.150")).await.status, 409);

    let id = boot(&demo, "with-port", json!([{"port": port}])).await;
    let s = demo.get(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(s.body["server"]["addresses"]["default-net"][0]["addr"], "192.168.0.150");
    // A bound port cannot go to a second server.
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body =
        json!({"server": {"name": "x", "flavorRef": "m1.tiny", "imageRef": image, "networks": [{"port": port}]}});
    demo.post("/v2.1/servers", None, &body).await.assert_fault(409, "conflictingRequest");
    let r = demo
        .server
        .send(
            reqwest::Method::DELETE,
            &format!("/networking/v2.0/ports/{port}"),
            &[("x-auth-token", demo.token.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 409);

    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    let r = demo
        .server
        .send(
            reqwest::Method::GET,
            &format!("/networking/v2.0/ports/{port}"),
            &[("x-auth-token", demo.token.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "the user's port stays");
    assert_eq!(r.body["port"]["device_id"], "");
    // Attach it to another server by id, then detach: it stays again.
    let other = boot(&demo, "other", json!("none")).await;
    let path = format!("/v2.1/servers/{other}/os-interface");
    let r = demo.post(&path, None, &json!({"interfaceAttachment": {"port_id": port}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["interfaceAttachment"]["fixed_ips"][0]["ip_address"], "192.168.0.150");
    assert_eq!(demo.delete(&format!("{path}/{port}"), None).await.status, 202);
    demo.wait_server(&other, |r| r.body["server"]["addresses"].as_object().is_some_and(|a| a.is_empty())).await;
    let r = demo
        .server
        .send(
            reqwest::Method::DELETE,
            &format!("/networking/v2.0/ports/{port}"),
            &[("x-auth-token", demo.token.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    // Another project's port is not there.
    let admin = server.admin().await;
    let theirs = new_port(&admin, None).await;
    let their_port = theirs.body["port"]["id"].as_str().unwrap();
    let r = demo.post(&path, None, &json!({"interfaceAttachment": {"port_id": their_port}})).await;
    r.assert_fault(400, "badRequest");
}
both!(user_ports_outlive_their_servers);

async fn parallel_attaches_get_distinct_addresses(server: &TestServer) {
    let demo = server.demo().await;
    let net = network_id(&demo).await;
    let id = boot(&demo, "many", json!("none")).await;
    let path = format!("/v2.1/servers/{id}/os-interface");
    let body = json!({"interfaceAttachment": {"net_id": net}});
    let replies = join_all((0..64).map(|_| demo.post(&path, None, &body))).await;
    let mut ips: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["interfaceAttachment"]["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string()
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 64);
    let list = demo.get(&path, None).await;
    assert_eq!(list.body["interfaceAttachments"].as_array().unwrap().len(), 64);
}
both!(parallel_attaches_get_distinct_addresses);

async fn os_networks_proxy(server: &TestServer) {
    let demo = server.demo().await;
    let list = demo.get("/v2.1/os-networks", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let n = &list.body["networks"][0];
    assert_eq!(n["label"], "default-net");
    assert_eq!(n["cidr"], "192.168.0.0/24");
    assert_eq!(n["netmask"], "255.255.255.0");
    let id = n["id"].as_str().unwrap();
    assert_eq!(demo.get(&format!("/v2.1/os-networks/{id}"), None).await.body["network"]["id"], id);
    demo.get("/v2.1/os-networks", Some("2.36")).await.assert_fault(404, "itemNotFound");
}
both!(os_networks_proxy);

async fn neutron(s: &Session<'_>, method: reqwest::Method, path: &str, body: Option<Value>) -> crate::Reply {
    s.server
        .send(method, &format!("/networking/v2.0/{path}"), &[("x-auth-token", s.token.as_str())], body.as_ref())
        .await
}

async fn networks_subnets_and_two_nics(server: &TestServer) {
    use reqwest::Method;
    let demo = server.demo().await;
    let r = neutron(&demo, Method::POST, "networks", Some(json!({"network": {"name": "back", "shared": true}}))).await;
    assert_eq!(r.status, 403, "only admins share: {}", r.body);
    let r = neutron(&demo, Method::POST, "networks", Some(json!({"network": {"name": "back"}}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let net = r.body["network"]["id"].as_str().unwrap().to_string();
    let subnet = |cidr: &str, extra: Value| {
        let mut s = json!({"network_id": net, "cidr": cidr, "ip_version": 4});
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"subnet": s})
    };
    for (body, needle) in [
        (subnet("10.20.0.1/24", json!({})), "'10.20.0.0/24' is recommended"),
        (subnet("10.20.0.0/24", json!({"gateway_ip": "10.30.0.1"})), "conflicts with the subnet"),
        (
            subnet("10.20.0.0/24", json!({"allocation_pools": [{"start": "10.20.0.1", "end": "10.20.0.9"}]})),
            "conflicts with allocation pool",
        ),
        (subnet("bogus", json!({})), "not a valid IP subnet"),
    ] {
        let r = neutron(&demo, Method::POST, "subnets", Some(body)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body["NeutronError"]["message"].as_str().unwrap().contains(needle), "{}", r.body);
    }
    let pools =
        json!({"allocation_pools": [{"start": "10.20.0.100", "end": "10.20.0.110"}], "dns_nameservers": ["8.8.8.8"]});
    let r = neutron(&demo, Method::POST, "subnets", Some(subnet("10.20.0.0/24", pools))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["subnet"]["gateway_ip"], "10.20.0.1");
    let r = neutron(&demo, Method::POST, "subnets", Some(subnet("10.20.0.128/25", json!({})))).await;
    assert!(r.body["NeutronError"]["message"].as_str().unwrap().contains("overlaps"), "{}", r.body);

    let default = network_id(&demo).await;
    let id = boot(&demo, "two", json!([{"uuid": default}, {"uuid": net}])).await;
    let s = demo.get(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(s.body["server"]["addresses"]["back"][0]["addr"], "10.20.0.100", "allocated from the pool");
    assert!(s.body["server"]["addresses"]["default-net"][0]["addr"].is_string());

    // A tiny network runs out of addresses: a 400, as Nova's NoMoreFixedIps.
    let r = neutron(&demo, Method::POST, "networks", Some(json!({"network": {"name": "tiny"}}))).await;
    let tiny = r.body["network"]["id"].as_str().unwrap().to_string();
    let r =
        neutron(&demo, Method::POST, "subnets", Some(json!({"subnet": {"network_id": tiny, "cidr": "10.99.0.0/30"}})))
            .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let nics = format!("/v2.1/servers/{id}/os-interface");
    let r = demo.post(&nics, None, &json!({"interfaceAttachment": {"net_id": tiny}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = demo.post(&nics, None, &json!({"interfaceAttachment": {"net_id": tiny}})).await;
    assert!(r.assert_fault(400, "badRequest").contains("No more fixed IPs"));

    let r = neutron(&demo, Method::DELETE, &format!("networks/{net}"), None).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    let r = neutron(&demo, Method::DELETE, &format!("networks/{net}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The seeded shared network is the admin's: a member cannot delete it.
    let r = neutron(&demo, Method::DELETE, &format!("networks/{default}"), None).await;
    assert_eq!(r.status, 404);
}
both!(networks_subnets_and_two_nics);

async fn floating_ips(server: &TestServer) {
    // The seed's external network (`public`, 172.24.4.0/24) is the pool.
    let demo = server.demo().await;
    let pools = demo.get("/v2.1/os-floating-ip-pools", None).await;
    assert_eq!(pools.body["floating_ip_pools"], json!([{"name": "public"}]));
    demo.post("/v2.1/os-floating-ips", None, &json!({"pool": "nowhere"})).await.assert_fault(404, "itemNotFound");
    let r = demo.post("/v2.1/os-floating-ips", None, &json!({"pool": "public"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fip = r.body["floating_ip"].clone();
    assert_eq!(fip["ip"], "172.24.4.2");
    assert_eq!(fip["instance_id"], Value::Null);
    let fip_id = fip["id"].as_str().unwrap().to_string();

    // An automatic network choice ignores the external network.
    let id = boot(&demo, "fip", json!("auto")).await;
    let path = format!("/v2.1/servers/{id}/action");
    let act = async |body: Value| demo.post(&path, None, &body).await;
    assert_eq!(act(json!({"addFloatingIp": {"address": "172.24.4.2"}})).await.status, 202);
    let s = demo.get(&format!("/v2.1/servers/{id}"), None).await;
    let addrs = s.body["server"]["addresses"]["default-net"].as_array().unwrap().clone();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[1]["OS-EXT-IPS:type"], "floating");
    assert_eq!(addrs[1]["addr"], "172.24.4.2");
    let shown = demo.get(&format!("/v2.1/os-floating-ips/{fip_id}"), None).await;
    assert_eq!(shown.body["floating_ip"]["instance_id"], id);
    assert_eq!(shown.body["floating_ip"]["fixed_ip"], addrs[0]["addr"]);
    act(json!({"addFloatingIp": {"address": "172.24.4.99"}})).await.assert_fault(404, "itemNotFound");
    let r = demo
        .post(&format!("/v2.1/servers/{id}/action"), Some("2.44"), &json!({"addFloatingIp": {"address": "172.24.4.2"}}))
        .await;
    r.assert_fault(404, "itemNotFound");
    assert_eq!(act(json!({"removeFloatingIp": {"address": "172.24.4.2"}})).await.status, 202);
    act(json!({"removeFloatingIp": {"address": "172.24.4.2"}})).await.assert_fault(409, "conflictingRequest");
    assert_eq!(demo.delete(&format!("/v2.1/os-floating-ips/{fip_id}"), None).await.status, 202);
    demo.get(&format!("/v2.1/os-floating-ips/{fip_id}"), None).await.assert_fault(404, "itemNotFound");
    demo.get("/v2.1/os-floating-ips", Some("2.36")).await.assert_fault(404, "itemNotFound");
    for _ in 0..10 {
        assert_eq!(demo.post("/v2.1/os-floating-ips", None, &json!({})).await.status, 200);
    }
    demo.post("/v2.1/os-floating-ips", None, &json!({})).await.assert_fault(403, "forbidden");
}
both!(floating_ips);
