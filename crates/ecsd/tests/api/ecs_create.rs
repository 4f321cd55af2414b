//! CreateServers of the ECS-native API (v1 and v1.1): the job and its
//! sub-jobs, every field reaching the servers, the seed's error codes,
//! `dry_run` and `X-Client-Token`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

/// What a create body needs: the image, the VPC and its subnet.
struct Place {
    image: String,
    vpc: String,
    subnet: String,
}

async fn place(server: &TestServer) -> Place {
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let network = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    // The seeded network's VPC; its Neutron subnet id (a VPC subnet id, the
    // network's, is taken too: tests/api/vpc.rs).
    let subnet = store.subnet_list(&network).await.unwrap().remove(0).id;
    let vpc = server.core().vpc_of_networks().await.unwrap().remove(&network).expect("the seed's VPC");
    Place { image, vpc, subnet }
}

fn body(p: &Place, name: &str) -> Value {
    json!({"server": {
        "name": name, "imageRef": p.image, "flavorRef": "s3.small.1", "vpcid": p.vpc,
        "nics": [{"subnet_id": p.subnet}], "root_volume": {"volumetype": "SSD"},
    }})
}

async fn ecs_post(s: &Session<'_>, path: &str, body: &Value, token: Option<&str>) -> crate::Reply {
    let mut headers = vec![("x-auth-token", s.token.as_str())];
    if let Some(t) = token {
        headers.push(("x-client-token", t));
    }
    s.server.send(Method::POST, path, &headers, Some(body)).await
}

/// An external network for EIPs.
async fn eip_pool(server: &TestServer) {
    let admin = server.admin().await;
    let send = |path: &str, body: Value| {
        let token = admin.token.clone();
        let path = format!("/networking/v2.0/{path}");
        async move { server.send(Method::POST, &path, &[("x-auth-token", token.as_str())], Some(&body)).await }
    };
    let r = send("networks", json!({"network": {"name": "public", "shared": true, "router:external": true}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let net = r.body["network"]["id"].as_str().unwrap().to_string();
    let r = send("subnets", json!({"subnet": {"network_id": net, "cidr": "172.24.4.0/24"}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn create_servers(server: &TestServer) {
    eip_pool(server).await;
    let demo = server.demo().await;
    let p = place(server).await;
    let project = demo.project_id.clone();
    let groups = demo.get("/v2.1/os-security-groups", None).await;
    let default_group = groups.body["security_groups"][0]["id"].as_str().unwrap().to_string();

    let mut b = body(&p, "web");
    let s = &mut b["server"];
    s["count"] = json!("2");
    s["adminPass"] = json!("P@ssw0rd123");
    s["data_volumes"] = json!([{"volumetype": "SAS", "size": 10, "multiattach": false}]);
    s["publicip"] = json!({"eip": {"iptype": "5_bgp", "bandwidth": {"size": 5, "sharetype": "PER", "chargemode": "traffic"}},
        "delete_on_termination": true});
    s["tags"] = json!(["env.prod"]);
    s["server_tags"] = json!([{"key": "team", "value": "a.b"}]);
    s["metadata"] = json!({"op_svc_userid": "u1"});
    s["security_groups"] = json!([{"id": default_group}]);
    s["extendparam"] = json!({"chargingMode": "postPaid", "enterprise_project_id": "ep-1"});
    let path = format!("/v1.1/{project}/cloudservers");
    let r = ecs_post(&demo, &path, &b, Some("token-1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job_id = r.body["job_id"].as_str().unwrap().to_string();
    assert_eq!(job_id.len(), 32);
    assert!(r.body.get("order_id").is_none());
    let ids: Vec<String> = r.body["serverIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
    assert_eq!(ids.len(), 2);

    // The same request with the same token starts nothing new.
    let again = ecs_post(&demo, &path, &b, Some("token-1")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["job_id"], job_id.as_str());
    let mut replayed: Vec<String> =
        again.body["serverIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
    replayed.sort();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(replayed, sorted);
    // The token with another body is a conflict.
    let other = ecs_post(&demo, &path, &body(&p, "other"), Some("token-1")).await;
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.body["error"]["code"], "Ecs.0005");

    let job = demo.finished_job(&job_id).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "createServer");
    assert_eq!(job["entities"]["sub_jobs_total"], 2);
    for sub in job["entities"]["sub_jobs"].as_array().unwrap() {
        assert_eq!(sub["job_type"], "createSingleServer");
        assert_eq!(sub["status"], "SUCCESS");
        assert!(ids.contains(&sub["entities"]["server_id"].as_str().unwrap().to_string()));
    }

    let mut names = Vec::new();
    for id in &ids {
        let r = demo.get(&format!("/v1/{project}/cloudservers/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = &r.body["server"];
        names.push(s["name"].as_str().unwrap().to_string());
        assert_eq!(s["status"], "ACTIVE");
        assert_eq!(s["image"]["id"], p.image.as_str());
        assert_eq!(s["metadata"]["op_svc_userid"], "u1");
        assert_eq!(s["metadata"]["charging_mode"], "0");
        assert_eq!(s["metadata"]["vpc_id"], p.vpc.as_str());
        assert_eq!(s["enterprise_project_id"], "ep-1");
        let mut tags: Vec<&str> = s["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        tags.sort();
        assert_eq!(tags, ["env=prod", "team=a.b"]);
        let addresses = &s["addresses"][&p.vpc];
        assert_eq!(addresses.as_array().unwrap().len(), 2, "{s}");
        assert_eq!(addresses[1]["OS-EXT-IPS:type"], "floating");
        let volumes = s["os-extended-volumes:volumes_attached"].as_array().unwrap();
        assert_eq!(volumes.len(), 2, "{s}");
        assert!(volumes.iter().any(|v| v["device"] == "/dev/vda" && v["bootIndex"] == "0"));
        assert_eq!(s["security_groups"][0]["id"], default_group.as_str());
    }
    names.sort();
    assert_eq!(names, ["web-0001", "web-0002"]);
    let store = &server.core().store_for_tests();
    let data_disk = store
        .volumes_of_server(&ids[0])
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.attachment.as_ref().is_some_and(|a| a.device != "/dev/vda"))
        .unwrap();
    assert_eq!(data_disk.volume_type, "SAS");
    assert_eq!(data_disk.size_gb, 10);
    // The Nova API sees the same servers, named as ECS named them.
    let r = demo.get(&format!("/v2.1/servers/{}", ids[0]), None).await;
    assert!(r.body["server"]["name"].as_str().unwrap().starts_with("web-000"));

    // A delete without delete_publicip: the EIPs made to go with their
    // servers go; data disks stay.
    let r = ecs_post(&demo, &format!("/v1/{project}/cloudservers/delete"), &json!({"servers": [{"id": ids[0]}]}), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    let eips = store.floating_ip_list(Some(&project)).await.unwrap();
    assert_eq!(eips.len(), 1, "{eips:?}");
    assert_eq!(store.volume_get(&data_disk.id).await.unwrap().status, "available");

    // Batch actions honour the token too.
    let stop = json!({"os-stop": {"servers": [{"id": ids[1]}]}});
    let action = format!("/v1/{project}/cloudservers/action");
    let first = ecs_post(&demo, &action, &stop, Some("stop-1")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = ecs_post(&demo, &action, &stop, Some("stop-1")).await;
    assert_eq!(second.body["job_id"], first.body["job_id"]);
    let start = json!({"os-start": {"servers": [{"id": ids[1]}]}});
    assert_eq!(ecs_post(&demo, &action, &start, Some("stop-1")).await.status, 409);
    let job = demo.finished_job(first.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["entities"]["sub_jobs_total"], 1, "{job}");
    demo.wait_status(&ids[1], "SHUTOFF").await;

    // dry_run: checked, nothing made.
    let mut dry = body(&p, "dry");
    dry["dry_run"] = json!(true);
    let r = ecs_post(&demo, &path, &dry, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let listed = demo.get(&format!("/v1/{project}/cloudservers/detail?name=dry"), None).await;
    assert_eq!(listed.body["count"], 0, "{}", listed.body);

    // v1 and a yearly/monthly order; a name ending in a number counts on.
    let mut b = body(&p, "db-0007");
    b["server"]["count"] = json!(2);
    b["server"]["extendparam"] = json!({"chargingMode": "prePaid", "periodType": "month", "periodNum": 1});
    let r = ecs_post(&demo, &format!("/v1/{project}/cloudservers"), &b, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["order_id"].as_str().unwrap().starts_with("CS"));
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let listed = demo.get(&format!("/v1/{project}/cloudservers/detail?name=db-"), None).await;
    let mut names: Vec<&str> =
        listed.body["servers"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["db-0007", "db-0008"]);
    assert_eq!(listed.body["servers"][0]["metadata"]["charging_mode"], "1");
}
both!(create_servers);

/// A build that fails: the job fails with the sub-job's reason, and
/// nothing is left behind but the ERROR server.
async fn failed_sub_job(server: &TestServer) {
    let demo = server.demo().await;
    let p = place(server).await;
    server.sim().inject(ecs_hypervisor::sim::FaultRule {
        host: None,
        op: ecs_hypervisor::Op::Spawn,
        times: 3,
        message: Some("disk image corrupt".into()),
    });
    let r = ecs_post(&demo, &format!("/v1/{}/cloudservers", demo.project_id), &body(&p, "bad"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "FAIL", "{job}");
    assert!(job["fail_reason"].as_str().unwrap().starts_with("Exceeded maximum number of retries"), "{job}");
    let sub = &job["entities"]["sub_jobs"][0];
    assert_eq!(sub["status"], "FAIL");
    // Nova's MaxRetriesExceeded is a NoValidHost: no host could build it.
    assert_eq!(sub["error_code"], "Ecs.0319", "{job}");
    // The server stays, in ERROR, without its system disk or NIC.
    let id = sub["entities"]["server_id"].as_str().unwrap();
    assert_eq!(demo.wait_status(id, "ERROR").await["status"], "ERROR");
    let store = &server.core().store_for_tests();
    assert!(store.volumes_of_server(id).await.unwrap().is_empty());
    assert!(store.port_list(Some(&demo.project_id)).await.unwrap().iter().all(|port| port.server_id != id));
}
both!(failed_sub_job);

async fn create_errors(server: &TestServer) {
    // Without the seeded external network there is no EIP pool (Ecs.0013 below).
    let admin = server.admin().await;
    let public =
        server.core().store_for_tests().network_list().await.unwrap().into_iter().find(|n| n.external).unwrap();
    let token = [("x-auth-token", admin.token.as_str())];
    let r = server.send(Method::DELETE, &format!("/networking/v2.0/networks/{}", public.id), &token, None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let demo = server.demo().await;
    let p = place(server).await;
    let project = demo.project_id.clone();
    let v1 = format!("/v1/{project}/cloudservers");
    let v11 = format!("/v1.1/{project}/cloudservers");
    let expect = |r: crate::Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{code}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{}", r.body);
        r.body
    };
    let with = |path: &str, value: Value| {
        let mut b = body(&p, "e");
        let (section, key) = path.split_once('/').unwrap_or(("server", path));
        if section == "top" {
            b[key] = value;
        } else {
            b["server"][key] = value;
        }
        b
    };

    let raw = server
        .send(Method::POST, &v1, &[("x-auth-token", demo.token.as_str()), ("content-type", "application/json")], None)
        .await;
    expect(raw, 400, "Common.0002");
    expect(ecs_post(&demo, &v1, &json!({"name": "x"}), None).await, 400, "Ecs.0005");
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("flavorRef", json!("no-such-flavor"), 400, "Ecs.0029"),
        ("imageRef", json!("00000000-0000-0000-0000-000000000000"), 400, "Ecs.0031"),
        ("vpcid", json!("00000000-0000-0000-0000-000000000000"), 400, "Ecs.0014"),
        ("nics", json!([{"subnet_id": "00000000-0000-0000-0000-000000000000"}]), 400, "Ecs.0038"),
        ("nics", json!([]), 400, "Ecs.0005"),
        ("root_volume", json!({"volumetype": "GOLD"}), 400, "Ecs.0043"),
        ("root_volume", json!({"volumetype": "SSD", "size": 2000}), 400, "Ecs.0005"),
        ("root_volume", Value::Null, 400, "Ecs.0005"),
        ("data_volumes", json!([{"volumetype": "SSD", "size": 5}]), 400, "Ecs.0005"),
        (
            "data_volumes",
            json!([{"volumetype": "SSD", "size": 10, "multiattach": true, "shareable": false}]),
            400,
            "Ecs.0005",
        ),
        ("adminPass", json!("password"), 400, "Ecs.0011"),
        ("key_name", json!("nobody"), 400, "Ecs.0314"),
        ("name", json!("a".repeat(129)), 400, "Ecs.0914"),
        ("name", json!("bad name"), 400, "Ecs.0915"),
        ("count", json!(501), 400, "Ecs.0913"),
        ("count", json!(0), 400, "Ecs.0913"),
        ("security_groups", json!([{"id": "00000000-0000-0000-0000-000000000000"}]), 400, "Ecs.0014"),
        (
            "metadata",
            json!((0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()),
            400,
            "Ecs.0005",
        ),
        (
            "server_tags",
            json!((0..11).map(|i| json!({"key": format!("k{i}"), "value": "v"})).collect::<Vec<_>>()),
            400,
            "Ecs.0905",
        ),
        ("server_tags", json!([{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]), 400, "Ecs.0908"),
        ("server_tags", json!([{"key": "k!", "value": "1"}]), 400, "Ecs.0907"),
        ("description", json!("<b>"), 400, "Ecs.0041"),
        ("user_data", json!("not base64!"), 400, "Ecs.0005"),
        (
            "publicip",
            json!({"eip": {"iptype": "5_bgp", "bandwidth": {"size": 2000, "sharetype": "PER"}}}),
            400,
            "Ecs.0045",
        ),
        (
            "publicip",
            json!({"eip": {"iptype": "5_bgp", "bandwidth": {"size": 1, "sharetype": "PER"}}}),
            400,
            "Ecs.0013",
        ),
        ("auto_terminate_time", json!("2030-01-01T00:00:00Z"), 400, "Ecs.0005"),
        ("top/dry_run", json!("maybe"), 400, "Ecs.0005"),
    ];
    for (field, value, status, code) in cases {
        let r = ecs_post(&demo, &v1, &with(field, value.clone()), None).await;
        assert_eq!(r.status, status, "{field}={value}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{field}={value}: {}", r.body);
    }
    // v1.1: no dots in names, more disk types, `-0000` names at most 59.
    expect(ecs_post(&demo, &v11, &with("name", json!("a.b")), None).await, 400, "Ecs.0915");
    let mut b = with("name", json!("a".repeat(60)));
    b["server"]["count"] = json!(2);
    expect(ecs_post(&demo, &v11, &b, None).await, 400, "Ecs.0914");
    let mut b = with("root_volume", json!({"volumetype": "ESSD"}));
    expect(ecs_post(&demo, &v1, &b, None).await, 400, "Ecs.0043");
    b["dry_run"] = json!(true);
    assert_eq!(ecs_post(&demo, &v11, &b, None).await.status, 202);

    // Addresses: outside the subnet (the seed's detail), taken, or given for many.
    let refused = expect(
        ecs_post(&demo, &v1, &with("nics", json!([{"subnet_id": p.subnet, "ip_address": "10.9.9.9"}])), None).await,
        400,
        "Ecs.0005",
    );
    assert_eq!(refused["error"]["details"], json!([{"code": "Ecs.0039"}]));
    let r =
        ecs_post(&demo, &v1, &with("nics", json!([{"subnet_id": p.subnet, "ip_address": "192.168.0.50"}])), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    let taken = with("nics", json!([{"subnet_id": p.subnet, "ip_address": "192.168.0.50"}]));
    expect(ecs_post(&demo, &v1, &taken, None).await, 400, "Ecs.0010");

    // A primary NIC outside the VPC.
    let admin = server.admin().await;
    let net = server
        .send(
            Method::POST,
            "/networking/v2.0/networks",
            &[("x-auth-token", demo.token.as_str())],
            Some(&json!({"network": {"name": "other"}})),
        )
        .await;
    let other = net.body["network"]["id"].as_str().unwrap().to_string();
    let sub = server
        .send(
            Method::POST,
            "/networking/v2.0/subnets",
            &[("x-auth-token", demo.token.as_str())],
            Some(&json!({"subnet": {"network_id": other, "cidr": "10.1.0.0/24"}})),
        )
        .await;
    let other_subnet = sub.body["subnet"]["id"].as_str().unwrap().to_string();
    expect(ecs_post(&demo, &v1, &with("nics", json!([{"subnet_id": other_subnet}])), None).await, 400, "Ecs.0064");
    // Another project's subnet does not exist for the caller.
    let send = |path: &str, body: Value| {
        let token = admin.token.clone();
        let path = format!("/networking/v2.0/{path}");
        async move { server.send(Method::POST, &path, &[("x-auth-token", token.as_str())], Some(&body)).await }
    };
    let private = send("networks", json!({"network": {"name": "admin-only"}})).await;
    let private = private.body["network"]["id"].as_str().unwrap().to_string();
    let sub = send("subnets", json!({"subnet": {"network_id": private, "cidr": "10.2.0.0/24"}})).await;
    let private_subnet = sub.body["subnet"]["id"].as_str().unwrap().to_string();
    expect(ecs_post(&demo, &v1, &with("nics", json!([{"subnet_id": private_subnet}])), None).await, 400, "Ecs.0038");

    // The disks of all servers must fit the EVS quota (10 disks).
    let mut b = body(&p, "disks");
    b["server"]["count"] = json!(4);
    b["server"]["data_volumes"] = json!([{"volumetype": "SSD", "size": 10}, {"volumetype": "SSD", "size": 10}]);
    expect(ecs_post(&demo, &v1, &b, None).await, 400, "Ecs.0021");

    // Quota: all of count or nothing.
    let r = admin.put(&format!("/v2.1/os-quota-sets/{project}"), None, &json!({"quota_set": {"instances": 2}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut b = body(&p, "many");
    b["server"]["count"] = json!(5);
    expect(ecs_post(&demo, &v1, &b, None).await, 400, "Ecs.0001");
    b["dry_run"] = json!(true);
    expect(ecs_post(&demo, &v1, &b, None).await, 400, "Ecs.0001");
    // The path's project must be the caller's.
    expect(
        ecs_post(&demo, &format!("/v1/{}/cloudservers", admin.project_id), &body(&p, "x"), None).await,
        403,
        "Ecs.0003",
    );
}
both!(create_errors);

/// §9: a user holding only the `reader` role lists but changes nothing,
/// on the ECS-native paths (`Pdp.0001`) as on Nova's (403).
async fn reader_role(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let demo_project = server.demo_project_id().to_string();
    let user = json!({"user": {"name": "viewer", "password": "pw", "default_project_id": demo_project}});
    let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&user)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let user_id = r.body["user"]["id"].as_str().unwrap().to_string();
    let roles = server.send(Method::GET, "/identity/v3/roles?name=reader", &h, None).await;
    let reader = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{demo_project}/users/{user_id}/roles/{reader}");
    assert_eq!(server.send(Method::PUT, &grant, &h, None).await.status, 204);
    let viewer = server.login("viewer", "pw", "demo").await;
    let p = place(server).await;

    assert_eq!(viewer.get(&format!("/v1/{demo_project}/cloudservers/detail"), None).await.status, 200);
    assert_eq!(viewer.get("/v2.1/servers/detail", None).await.status, 200);
    let r = ecs_post(&viewer, &format!("/v1/{demo_project}/cloudservers"), &body(&p, "no"), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Pdp.0001");
    assert_eq!(r.body["error"]["message"], "Policy does not allow ecs:cloudServers:create to be performed.");
    let stop = json!({"os-stop": {"servers": [{"id": "x"}]}});
    let r = ecs_post(&viewer, &format!("/v1/{demo_project}/cloudservers/action"), &stop, None).await;
    assert_eq!(r.body["error"]["message"], "Policy does not allow ecs:cloudServers:stop to be performed.");
    let r = viewer.post("/v2.1/servers", None, &json!({"server": {"name": "no"}})).await;
    assert_eq!(r.assert_fault(403, "forbidden"), "Policy doesn't allow os_compute_api:servers:create to be performed.");
    // A member of the same project may.
    let demo = server.demo().await;
    let r = ecs_post(&demo, &format!("/v1/{demo_project}/cloudservers"), &body(&p, "yes"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
both!(reader_role);

/// Seed codes that only the core's typed errors reach, one situation each:
/// a batch beyond its limit (Ecs.0118), the server-group quota (Ecs.0022),
/// a locked ECS (Ecs.0605), a start that fails (Ecs.0226), and a subnet out
/// of addresses in the failed sub-jobs of a create (Ecs.0012).
async fn codes_from_the_core(server: &TestServer) {
    let demo = server.demo().await;
    let p = place(server).await;
    let project = demo.project_id.clone();
    let code = |r: &crate::Reply| r.body["error"]["code"].as_str().unwrap_or_default().to_string();

    let ghosts: Vec<Value> = (0..1001).map(|i| json!({"id": format!("00000000-0000-0000-0000-{i:012}")})).collect();
    let groups = format!("/v1/{project}/cloudservers/os-server-groups");
    let group = |i: i32| json!({"server_group": {"name": format!("g{i}"), "policies": ["anti-affinity"]}});
    for i in 0..10 {
        let r = demo.post(&groups, None, &group(i)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let cases: Vec<(&str, String, Value, u16)> = vec![
        ("Ecs.0118", format!("/v1/{project}/cloudservers/action"), json!({"os-stop": {"servers": ghosts}}), 400),
        ("Ecs.0022", groups.clone(), group(10), 400),
    ];
    for (expected, path, body, status) in cases {
        let r = demo.post(&path, None, &body).await;
        assert_eq!((r.status.as_u16(), code(&r)), (status, expected.to_string()), "{}", r.body);
    }

    // A locked ECS refuses a change with Ecs.0605.
    let r = ecs_post(&demo, &format!("/v1/{project}/cloudservers"), &body(&p, "locked"), None).await;
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    let id = job["entities"]["sub_jobs"][0]["entities"]["server_id"].as_str().unwrap().to_string();
    assert_eq!(demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"lock": null})).await.status, 202);
    let volume = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
    let volume = volume.body["volume"]["id"].as_str().unwrap().to_string();
    let attach = json!({"volumeAttachment": {"volumeId": volume}});
    let r = demo.post(&format!("/v1/{project}/cloudservers/{id}/attachvolume"), None, &attach).await;
    assert_eq!((r.status.as_u16(), code(&r)), (400, "Ecs.0605".to_string()), "{}", r.body);

    // An operation that fails on our side has the seed's "failed to" code: a start, Ecs.0226.
    assert_eq!(demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"unlock": null})).await.status, 202);
    let batch = format!("/v1/{project}/cloudservers/action");
    let r = demo.post(&batch, None, &json!({"os-stop": {"servers": [{"id": id}]}})).await;
    assert_eq!(demo.finished_job(r.body["job_id"].as_str().unwrap()).await["status"], "SUCCESS");
    server.sim().inject(ecs_hypervisor::sim::FaultRule {
        host: None,
        op: ecs_hypervisor::Op::PowerOn,
        times: 1,
        message: Some("the guest would not start".into()),
    });
    let r = demo.post(&batch, None, &json!({"os-start": {"servers": [{"id": id}]}})).await;
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["entities"]["sub_jobs"][0]["error_code"], "Ecs.0226", "{job}");

    // A /29 holds five servers: the sixth build fails, its sub-job with Ecs.0012.
    let neutron = |path: &str, body: Value| {
        let token = demo.token.clone();
        let path = format!("/networking/v2.0/{path}");
        async move { server.send(Method::POST, &path, &[("x-auth-token", token.as_str())], Some(&body)).await }
    };
    let net = neutron("networks", json!({"network": {"name": "tiny"}})).await;
    let tiny = net.body["network"]["id"].as_str().unwrap().to_string();
    let sub = neutron("subnets", json!({"subnet": {"network_id": tiny, "cidr": "10.3.0.0/29"}})).await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let mut b = body(&Place { vpc: tiny, subnet: sub.body["subnet"]["id"].as_str().unwrap().into(), ..p }, "tiny");
    b["server"]["count"] = json!(6);
    let r = ecs_post(&demo, &format!("/v1/{project}/cloudservers"), &b, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!((job["status"].as_str(), job["error_code"].as_str()), (Some("FAIL"), Some("Common.0021")), "{job}");
    let failed: Vec<&Value> =
        job["entities"]["sub_jobs"].as_array().unwrap().iter().filter(|s| s["status"] == "FAIL").collect();
    assert!(!failed.is_empty() && failed.iter().all(|s| s["error_code"] == "Ecs.0012"), "{job}");
}
both!(codes_from_the_core);

/// New EIPs count against the project's floating IP quota (the one the
/// VPC/EIP side sets), not a fixed number.
async fn eips_count_against_the_projects_quota(server: &TestServer) {
    eip_pool(server).await;
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = place(server).await;
    let quota = json!({"quota": {"floatingip": 2}});
    let path = format!("/networking/v2.0/quotas/{}", demo.project_id);
    let r = server.send(Method::PUT, &path, &[("x-auth-token", admin.token.as_str())], Some(&quota)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let with_eips = |count: u32| {
        let mut b = body(&p, "eip");
        b["server"]["count"] = json!(count);
        b["server"]["publicip"] = json!({"eip": {"iptype": "5_bgp", "bandwidth": {"size": 1, "sharetype": "PER"}}});
        b
    };
    let create = format!("/v1.1/{}/cloudservers", demo.project_id);
    let r = ecs_post(&demo, &create, &with_eips(2), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let r = ecs_post(&demo, &create, &with_eips(1), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "FAIL", "{job}");
    assert!(job["fail_reason"].as_str().unwrap().contains("EIP quota of 2"), "{job}");
}
both!(eips_count_against_the_projects_quota);
