//! Server metadata (N39–N44) and tags (N62–N67).

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "meta", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none",
        "metadata": {"a": "1"}}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn metadata(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo).await;
    let path = format!("/v2.1/servers/{id}/metadata");
    assert_eq!(demo.get(&path, None).await.body["metadata"], json!({"a": "1"}));
    let r = demo.post(&path, None, &json!({"metadata": {"b": "2"}})).await;
    assert_eq!(r.body["metadata"], json!({"a": "1", "b": "2"}));
    let r = demo.put(&path, None, &json!({"metadata": {"c": "3"}})).await;
    assert_eq!(r.body["metadata"], json!({"c": "3"}));
    let r = demo.put(&format!("{path}/d"), None, &json!({"meta": {"d": "4"}})).await;
    assert_eq!(r.body["meta"], json!({"d": "4"}));
    assert_eq!(demo.get(&format!("{path}/d"), None).await.body["meta"], json!({"d": "4"}));
    demo.put(&format!("{path}/d"), None, &json!({"meta": {"e": "5"}})).await.assert_fault(400, "badRequest");
    demo.put(&format!("{path}/d"), None, &json!({"meta": {"d": "4", "e": "5"}})).await.assert_fault(400, "badRequest");
    demo.post(&path, None, &json!({"metadata": {"k": 1}})).await.assert_fault(400, "badRequest");
    assert_eq!(demo.delete(&format!("{path}/d"), None).await.status, 204);
    demo.get(&format!("{path}/d"), None).await.assert_fault(404, "itemNotFound");
    demo.delete(&format!("{path}/d"), None).await.assert_fault(404, "itemNotFound");
    let many: serde_json::Map<String, Value> = (0..129).map(|i| (format!("k{i}"), json!("v"))).collect();
    demo.put(&path, None, &json!({"metadata": many})).await.assert_fault(403, "forbidden");
    // Not in ERROR.
    let admin = server.admin().await;
    admin.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-resetState": {"state": "error"}})).await;
    demo.post(&path, None, &json!({"metadata": {"x": "y"}})).await.assert_fault(409, "conflictingRequest");
}
both!(metadata);

async fn tags(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo).await;
    let path = format!("/v2.1/servers/{id}/tags");
    demo.get(&path, Some("2.25")).await.assert_fault(404, "itemNotFound");
    let v = Some("2.26");
    assert_eq!(demo.get(&path, v).await.body["tags"], json!([]));
    let r = demo.nova(reqwest::Method::PUT, &format!("{path}/blue"), v, None).await;
    assert_eq!(r.status, 201);
    assert!(r.header("location").unwrap().ends_with("/tags/blue"));
    assert_eq!(demo.nova(reqwest::Method::PUT, &format!("{path}/blue"), v, None).await.status, 204);
    assert_eq!(demo.get(&format!("{path}/blue"), v).await.status, 204);
    assert_eq!(demo.get(&format!("{path}/red"), v).await.status, 404);
    let r = demo.put(&path, v, &json!({"tags": ["b", "a", "a"]})).await;
    assert_eq!(r.body["tags"], json!(["a", "b"]));
    demo.put(&path, v, &json!({"tags": ["no/slash"]})).await.assert_fault(400, "badRequest");
    let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    demo.put(&path, v, &json!({"tags": many})).await.assert_fault(400, "badRequest");
    assert_eq!(demo.delete(&format!("{path}/a"), v).await.status, 204);
    demo.delete(&format!("{path}/a"), v).await.assert_fault(404, "itemNotFound");
    assert_eq!(demo.get(&format!("/v2.1/servers/{id}"), v).await.body["server"]["tags"], json!(["b"]));
    assert_eq!(demo.delete(&path, v).await.status, 204);
    assert_eq!(demo.get(&path, v).await.body["tags"], json!([]));
}
both!(tags);

async fn quota_sets(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let path = format!("/v2.1/os-quota-sets/{project}");
    let shown = demo.get(&path, None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["quota_set"]["instances"], 10);
    assert_eq!(shown.body["quota_set"]["floating_ips"], 10, "below 2.36 the network quotas show");
    assert!(demo.get(&path, Some("2.57")).await.body["quota_set"].get("floating_ips").is_none());
    admin.get(&format!("/v2.1/os-quota-sets/{}", admin.project_id), None).await;
    demo.get(&format!("/v2.1/os-quota-sets/{}", admin.project_id), None).await.assert_fault(403, "forbidden");
    boot(&demo).await;
    let detail = demo.get(&format!("{path}/detail"), None).await;
    assert_eq!(detail.body["quota_set"]["instances"], json!({"limit": 10, "in_use": 1, "reserved": 0}));
    assert_eq!(demo.get(&format!("{path}/defaults"), None).await.body["quota_set"]["cores"], 20);

    demo.put(&path, None, &json!({"quota_set": {"instances": 50}})).await.assert_fault(403, "forbidden");
    let r = admin.put(&path, None, &json!({"quota_set": {"instances": 50, "cores": "40"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["quota_set"]["instances"], 50);
    let limits = demo.get("/v2.1/limits", None).await;
    assert_eq!(limits.body["limits"]["absolute"]["maxTotalInstances"], 50);
    admin.put(&path, None, &json!({"quota_set": {"instances": 0}})).await.assert_fault(400, "badRequest");
    admin.put(&path, None, &json!({"quota_set": {"bogus": 1}})).await.assert_fault(400, "badRequest");
    assert_eq!(admin.put(&path, None, &json!({"quota_set": {"instances": 0, "force": true}})).await.status, 200);
    assert_eq!(admin.delete(&path, None).await.status, 202);
    assert_eq!(demo.get(&path, None).await.body["quota_set"]["instances"], 10);
}
both!(quota_sets);

async fn zones_hypervisors_services(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let zones = demo.get("/v2.1/os-availability-zone", None).await;
    assert_eq!(
        zones.body["availabilityZoneInfo"],
        json!([{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}])
    );
    demo.get("/v2.1/os-availability-zone/detail", None).await.assert_fault(403, "forbidden");
    let detail = admin.get("/v2.1/os-availability-zone/detail", None).await;
    assert_eq!(detail.body["availabilityZoneInfo"][0]["hosts"]["sim-host-1"]["nova-compute"]["active"], true);

    demo.get("/v2.1/os-hypervisors", None).await.assert_fault(403, "forbidden");
    boot(&demo).await;
    let hv = admin.get("/v2.1/os-hypervisors/detail", Some("2.53")).await;
    let list = hv.body["hypervisors"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(list.iter().map(|h| h["running_vms"].as_i64().unwrap()).sum::<i64>(), 1);
    assert_eq!(list[0]["hypervisor_type"], "sim");
    let one = admin.get(&format!("/v2.1/os-hypervisors/{}", list[0]["id"].as_str().unwrap()), Some("2.53")).await;
    assert_eq!(one.status, 200);
    assert!(one.body["hypervisor"]["cpu_info"].is_object(), "2.28: cpu_info is an object: {}", one.body);
    // Before 2.53 ids are integers (Nova's database ids) and cpu_info before 2.28 a JSON string.
    let old = admin.get("/v2.1/os-hypervisors/detail", None).await;
    let first = &old.body["hypervisors"][0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["service"]["id"], 1);
    assert!(first["cpu_info"].is_string(), "{first}");
    let one = admin.get("/v2.1/os-hypervisors/1", Some("2.52")).await;
    assert_eq!(one.body["hypervisor"]["hypervisor_hostname"], first["hypervisor_hostname"]);
    let services = admin.get("/v2.1/os-services", Some("2.52")).await;
    assert!(services.body["services"].as_array().unwrap().iter().all(|s| s["id"].is_i64()), "{}", services.body);
    let services = admin.get("/v2.1/os-services", Some("2.53")).await;
    assert!(services.body["services"][0]["id"].as_str().unwrap().len() == 36, "{}", services.body);
    // A lost simulated host shows down.
    server.sim().set_host_down("sim-host-2", true);
    let services = admin.get("/v2.1/os-services", None).await;
    let states: Vec<(&str, &str)> = services.body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["host"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&("sim-host-2", "down")) && states.contains(&("sim-host-1", "up")), "{states:?}");
    server.sim().set_host_down("sim-host-2", false);
}
both!(zones_hypervisors_services);

async fn server_groups(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    server.core().store_for_tests().quota_set(&demo.project_id, "instances", -1).await.unwrap();
    server.core().store_for_tests().quota_set(&demo.project_id, "cores", -1).await.unwrap();
    server.core().store_for_tests().quota_set(&demo.project_id, "ram", -1).await.unwrap();
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let group = |body: Value, v: &'static str| {
        let demo = &demo;
        async move { demo.post("/v2.1/os-server-groups", Some(v), &json!({"server_group": body})).await }
    };
    let anti = group(json!({"name": "spread", "policies": ["anti-affinity"]}), "2.1").await;
    assert_eq!(anti.status, 200, "{}", anti.body);
    assert_eq!(anti.body["server_group"]["policies"], json!(["anti-affinity"]));
    let anti = anti.body["server_group"]["id"].as_str().unwrap().to_string();
    group(json!({"name": "x", "policies": ["soft-affinity"]}), "2.14").await.assert_fault(400, "badRequest");
    let pack = group(json!({"name": "pack", "policy": "affinity"}), "2.64").await;
    assert_eq!(pack.body["server_group"]["rules"], json!({}));
    let pack = pack.body["server_group"]["id"].as_str().unwrap().to_string();
    group(json!({"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}), "2.64")
        .await
        .assert_fault(400, "badRequest");

    let boot_in = |group: String, name: String| {
        let demo = &demo;
        let image = image.clone();
        async move {
            let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"},
                "os:scheduler_hints": {"group": group}});
            let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
            assert_eq!(r.status, 202, "{}", r.body);
            r.body["server"]["id"].as_str().unwrap().to_string()
        }
    };
    let host_of = |id: String| {
        let admin = &admin;
        async move {
            let s = admin.wait_server(&id, |r| r.body["server"]["status"] != "BUILD").await;
            (s.body["server"]["status"].as_str().unwrap().to_string(), s.body["server"]["OS-EXT-SRV-ATTR:host"].clone())
        }
    };
    let mut hosts = Vec::new();
    for i in 0..4 {
        let id = boot_in(anti.clone(), format!("a{i}")).await;
        let (status, host) = host_of(id).await;
        assert_eq!(status, "ACTIVE");
        hosts.push(host);
    }
    hosts.sort_by_key(|h| h.to_string());
    hosts.dedup();
    assert_eq!(hosts.len(), 4, "anti-affinity spreads over the four hosts");
    let fifth = boot_in(anti.clone(), "a4".into()).await;
    let (status, _) = host_of(fifth).await;
    assert_eq!(status, "ERROR", "a fifth member has no host left");

    let first = host_of(boot_in(pack.clone(), "p0".into()).await).await.1;
    for i in 1..3 {
        assert_eq!(host_of(boot_in(pack.clone(), format!("p{i}")).await).await.1, first, "affinity packs");
    }
    let shown = demo.get(&format!("/v2.1/os-server-groups/{pack}"), Some("2.13")).await;
    assert_eq!(shown.body["server_group"]["members"].as_array().unwrap().len(), 3);
    assert_eq!(shown.body["server_group"]["project_id"], demo.project_id);
    let bad = json!({"server": {"name": "x", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"},
        "os:scheduler_hints": {"group": "no-such"}});
    demo.post("/v2.1/servers", Some("2.37"), &bad).await.assert_fault(400, "badRequest");
    admin.get(&format!("/v2.1/os-server-groups/{pack}"), None).await;
    let theirs = admin
        .post("/v2.1/os-server-groups", None, &json!({"server_group": {"name": "t", "policies": ["affinity"]}}))
        .await;
    let theirs = theirs.body["server_group"]["id"].as_str().unwrap();
    demo.get(&format!("/v2.1/os-server-groups/{theirs}"), None).await.assert_fault(404, "itemNotFound");
    assert_eq!(demo.get("/v2.1/os-server-groups", None).await.body["server_groups"].as_array().unwrap().len(), 2);
    assert_eq!(demo.delete(&format!("/v2.1/os-server-groups/{pack}"), None).await.status, 204);
    demo.get(&format!("/v2.1/os-server-groups/{pack}"), None).await.assert_fault(404, "itemNotFound");
}
both!(server_groups);
