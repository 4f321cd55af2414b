//! Huawei's EIP API over floating IPs: create, list, show, bind/unbind,
//! delete, bandwidths, the v3 reads, its error codes, and an EIP made
//! here used by an ECS create and released by its delete.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

async fn send(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.server.send(method, path, &[("x-auth-token", s.token.as_str())], body).await
}

fn assert_code(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (status, Some(code)), "{}", r.body);
    assert!(r.body["message"].is_string(), "{}", r.body);
}

/// An external network for EIPs (the pool).
pub(crate) async fn eip_pool(server: &TestServer) {
    let admin = server.admin().await;
    let r = send(
        &admin,
        Method::POST,
        "/networking/v2.0/networks",
        Some(&json!({"network": {"name": "public", "shared": true, "router:external": true}})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let net = r.body["network"]["id"].as_str().unwrap().to_string();
    let sub = json!({"subnet": {"network_id": net, "cidr": "172.24.4.0/24"}});
    let r = send(&admin, Method::POST, "/networking/v2.0/subnets", Some(&sub)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn create_body(size: i64) -> Value {
    json!({"publicip": {"type": "5_bgp", "alias": "web-ip"},
        "bandwidth": {"name": "bw-web", "size": size, "share_type": "PER", "charge_mode": "traffic"}})
}

async fn publicips(server: &TestServer) {
    eip_pool(server).await;
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let base = format!("/v1/{p}/publicips");

    // Bad input.
    let bad = [
        (json!({}), 400, "VPC.0501"),
        (json!({"publicip": {}, "bandwidth": {"name": "b", "size": 1, "share_type": "PER"}}), 400, "VPC.0501"),
        (
            json!({"publicip": {"type": "5_bgp", "ip_version": 6}, "bandwidth": {"name": "b", "size": 1, "share_type": "PER"}}),
            400,
            "VPC.0501",
        ),
        (json!({"publicip": {"type": "5_bgp"}}), 400, "VPC.0301"),
        (
            json!({"publicip": {"type": "5_bgp"}, "bandwidth": {"name": "b", "size": 1, "share_type": "ALL"}}),
            400,
            "VPC.0301",
        ),
        (
            json!({"publicip": {"type": "5_bgp"}, "bandwidth": {"name": "b", "size": 0, "share_type": "PER"}}),
            400,
            "VPC.0301",
        ),
        (json!({"publicip": {"type": "5_bgp"}, "bandwidth": {"size": 1, "share_type": "PER"}}), 400, "VPC.0301"),
        (json!({"publicip": {"type": "5_bgp"}, "bandwidth": {"id": "x", "share_type": "WHOLE"}}), 404, "VPC.0601"),
    ];
    for (body, status, code) in bad {
        assert_code(&send(&demo, Method::POST, &base, Some(&body)).await, status, code);
    }
    let r = demo.server.send(Method::POST, &base, &[("x-auth-token", demo.token.as_str())], None).await;
    assert_code(&r, 400, "VPC.0501");

    // Create, show, list.
    let r = send(&demo, Method::POST, &base, Some(&create_body(5))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let eip = &r.body["publicip"];
    let id = eip["id"].as_str().unwrap().to_string();
    assert_eq!(eip["status"], "DOWN");
    assert_eq!(eip["type"], "5_bgp");
    assert_eq!(eip["bandwidth_size"], 5);
    assert_eq!(eip["ip_version"], 4);
    assert_eq!(eip["tenant_id"], p.as_str());
    assert_eq!(eip["alias"], "web-ip");
    let address = eip["public_ip_address"].as_str().unwrap().to_string();
    assert!(address.starts_with("172.24.4."), "{address}");
    let shown = send(&demo, Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let s = &shown.body["publicip"];
    assert_eq!(s["bandwidth_name"], "bw-web");
    assert_eq!(s["bandwidth_share_type"], "PER");
    assert!(s["bandwidth_id"].is_string() && s["create_time"].is_string(), "{s}");
    assert_eq!(s["port_id"], Value::Null);
    // The same record as Neutron's floating IP.
    let fip = send(&demo, Method::GET, &format!("/networking/v2.0/floatingips/{id}"), None).await;
    assert_eq!(fip.body["floatingip"]["floating_ip_address"], address.as_str());

    let second = send(&demo, Method::POST, &base, Some(&create_body(1))).await;
    let id2 = second.body["publicip"]["id"].as_str().unwrap().to_string();
    let list = send(&demo, Method::GET, &base, None).await;
    assert_eq!(list.body["publicips"].as_array().unwrap().len(), 2);
    let one = send(&demo, Method::GET, &format!("{base}?public_ip_address={address}"), None).await;
    assert_eq!(one.body["publicips"].as_array().unwrap().len(), 1);
    assert_eq!(one.body["publicips"][0]["id"], id.as_str());
    let page = send(&demo, Method::GET, &format!("{base}?limit=1"), None).await;
    let first = page.body["publicips"][0]["id"].as_str().unwrap().to_string();
    let next = send(&demo, Method::GET, &format!("{base}?limit=1&marker={first}"), None).await;
    assert_eq!(next.body["publicips"].as_array().unwrap().len(), 1);
    assert_ne!(next.body["publicips"][0]["id"], first.as_str());
    assert_code(&send(&demo, Method::GET, &format!("{base}?limit=0"), None).await, 400, "VPC.0501");
    assert_code(&send(&demo, Method::GET, &format!("{base}?marker=junk"), None).await, 400, "VPC.0501");

    // Another project's EIP is not found; another project's path is refused.
    let admin = server.admin().await;
    let theirs = format!("/v1/{}/publicips/{id}", admin.project_id);
    assert_code(&send(&admin, Method::GET, &theirs, None).await, 404, "VPC.0504");
    assert_code(&send(&admin, Method::DELETE, &theirs, None).await, 404, "VPC.0504");
    assert_code(&send(&demo, Method::GET, &format!("/v1/{}/publicips", admin.project_id), None).await, 400, "VPC.0007");
    let r = demo.server.send(Method::GET, &base, &[], None).await;
    assert_code(&r, 401, "VPC.0008");
    assert_code(&send(&demo, Method::GET, &format!("{base}/{id}/nothing"), None).await, 404, "APIGW.0101");

    // Bind to a port, refuse a second binding, unbind.
    let store = server.core().store_for_tests();
    let vpc = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let port = send(&demo, Method::POST, "/networking/v2.0/ports", Some(&json!({"port": {"network_id": vpc}}))).await;
    assert_eq!(port.status, 201, "{}", port.body);
    let port_id = port.body["port"]["id"].as_str().unwrap().to_string();
    let fixed = port.body["port"]["fixed_ips"][0]["ip_address"].as_str().unwrap().to_string();
    let bind = json!({"publicip": {"port_id": port_id}});
    let r = send(&demo, Method::PUT, &format!("{base}/{id}"), Some(&bind)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["publicip"]["status"], "ACTIVE");
    assert_eq!(r.body["publicip"]["port_id"], port_id.as_str());
    assert_eq!(r.body["publicip"]["private_ip_address"], fixed.as_str());
    assert_code(&send(&demo, Method::PUT, &format!("{base}/{id2}"), Some(&bind)).await, 409, "VPC.0510");
    let nowhere = json!({"publicip": {"port_id": "00000000-0000-0000-0000-000000000000"}});
    assert_code(&send(&demo, Method::PUT, &format!("{base}/{id2}"), Some(&nowhere)).await, 400, "VPC.0508");
    let r = send(&demo, Method::PUT, &format!("{base}/{id}"), Some(&json!({"publicip": {"alias": "renamed"}}))).await;
    assert_eq!(
        (r.body["publicip"]["alias"].as_str(), r.body["publicip"]["status"].as_str()),
        (Some("renamed"), Some("ACTIVE"))
    );
    let r = send(&demo, Method::PUT, &format!("{base}/{id}"), Some(&json!({"publicip": {}}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["publicip"]["status"], "DOWN");
    assert_eq!(r.body["publicip"]["port_id"], Value::Null);

    // Bandwidths.
    let bw_id = s["bandwidth_id"].as_str().unwrap().to_string();
    let bws = send(&demo, Method::GET, &format!("/v1/{p}/bandwidths"), None).await;
    assert_eq!(bws.body["bandwidths"].as_array().unwrap().len(), 2, "{}", bws.body);
    let bw = send(&demo, Method::GET, &format!("/v1/{p}/bandwidths/{bw_id}"), None).await;
    assert_eq!(bw.status, 200, "{}", bw.body);
    assert_eq!(bw.body["bandwidth"]["size"], 5);
    assert_eq!(bw.body["bandwidth"]["charge_mode"], "traffic");
    assert_eq!(bw.body["bandwidth"]["publicip_info"][0]["publicip_id"], id.as_str());
    let up = json!({"bandwidth": {"size": 10, "name": "bigger"}});
    let r = send(&demo, Method::PUT, &format!("/v1/{p}/bandwidths/{bw_id}"), Some(&up)).await;
    assert_eq!(
        (r.body["bandwidth"]["size"].as_i64(), r.body["bandwidth"]["name"].as_str()),
        (Some(10), Some("bigger"))
    );
    let shown = send(&demo, Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(shown.body["publicip"]["bandwidth_size"], 10);
    let huge = json!({"bandwidth": {"size": 100000}});
    assert_code(&send(&demo, Method::PUT, &format!("/v1/{p}/bandwidths/{bw_id}"), Some(&huge)).await, 400, "VPC.0301");
    assert_code(
        &send(&demo, Method::PUT, &format!("/v1/{p}/bandwidths/{bw_id}"), Some(&json!({"bandwidth": {}}))).await,
        400,
        "VPC.0301",
    );
    assert_code(&send(&demo, Method::GET, &format!("/v1/{p}/bandwidths/none-such"), None).await, 404, "VPC.0601");

    // The v3 reads.
    let v3 = send(&demo, Method::GET, &format!("/v3/{p}/eip/publicips"), None).await;
    assert_eq!(v3.status, 200, "{}", v3.body);
    assert_eq!(v3.body["publicips"].as_array().unwrap().len(), 2);
    let v3 = send(&demo, Method::GET, &format!("/v3/{p}/eip/publicips/{id}"), None).await;
    assert_eq!(v3.body["publicip"]["public_ip_address"], address.as_str());
    assert_eq!(v3.body["publicip"]["bandwidth"]["size"], 10);
    assert_code(&send(&demo, Method::GET, &format!("/v3/{p}/eip/publicips/none-such"), None).await, 404, "VPC.0504");

    // Quota: the project's floating IP quota (Neutron's), as EIP's code.
    let q = json!({"quota": {"floatingip": 2}});
    let r = send(&admin, Method::PUT, &format!("/networking/v2.0/quotas/{p}"), Some(&q)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_code(&send(&demo, Method::POST, &base, Some(&create_body(1))).await, 409, "VPC.0304");

    // Delete.
    assert_eq!(send(&demo, Method::DELETE, &format!("{base}/{id2}"), None).await.status, 204);
    assert_code(&send(&demo, Method::DELETE, &format!("{base}/{id2}"), None).await, 404, "VPC.0504");
    assert_eq!(send(&demo, Method::GET, &base, None).await.body["publicips"].as_array().unwrap().len(), 1);
}

both!(publicips);

/// An EIP made here is `publicip.id` of an ECS create and goes with
/// DeleteServers' `delete_publicip`.
async fn eip_for_ecs_create(server: &TestServer) {
    eip_pool(server).await;
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let r = send(&demo, Method::POST, &format!("/v1/{p}/publicips"), Some(&create_body(2))).await;
    let eip = r.body["publicip"]["id"].as_str().unwrap().to_string();
    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let vpc = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let subnet = store.subnet_list(&vpc).await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "web", "imageRef": image, "flavorRef": "s3.small.1", "vpcid": vpc,
        "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"}, "publicip": {"id": eip}}});
    let r = send(&demo, Method::POST, &format!("/v1.1/{p}/cloudservers"), Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let server_id = r.body["serverIds"][0].as_str().unwrap().to_string();
    let shown = send(&demo, Method::GET, &format!("/v1/{p}/publicips/{eip}"), None).await;
    assert_eq!(shown.body["publicip"]["status"], "ACTIVE", "{}", shown.body);
    let del = json!({"servers": [{"id": server_id}], "delete_publicip": true});
    let r = send(&demo, Method::POST, &format!("/v1/{p}/cloudservers/delete"), Some(&del)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_code(&send(&demo, Method::GET, &format!("/v1/{p}/publicips/{eip}"), None).await, 404, "VPC.0504");

    // An EIP the create makes shows the line and bandwidth it asked for.
    let mut body = body;
    body["server"]["publicip"] =
        json!({"eip": {"iptype": "5_sbgp", "bandwidth": {"size": 7, "sharetype": "PER", "chargemode": "traffic"}}});
    let r = send(&demo, Method::POST, &format!("/v1.1/{p}/cloudservers"), Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let list = send(&demo, Method::GET, &format!("/v1/{p}/publicips"), None).await;
    let made = &list.body["publicips"][0];
    assert_eq!((made["type"].as_str(), made["bandwidth_size"].as_i64()), (Some("5_sbgp"), Some(7)), "{made}");
    assert_eq!(made["status"], "ACTIVE");
}

both!(eip_for_ecs_create);
