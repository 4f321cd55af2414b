//! ECS-native views over the Nova domain model: flavors (E11), limits
//! (E18), ECS groups (E26–E31), 2D tags (E20–E25) and block devices
//! (E16/E17).

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

/// Asserts an ECS-native error: status and `error.code`.
fn ecs_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
}

async fn boot(s: &Session<'_>, name: &str, hints: Value) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"},
        "os:scheduler_hints": hints});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn stop(s: &Session<'_>, id: &str) {
    let r = s.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-stop": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_status(id, "SHUTOFF").await;
}

async fn flavors(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let project = demo.project_id.clone();
    let r = demo.get(&format!("/v1/{project}/cloudservers/flavors"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = r.body["flavors"].as_array().unwrap().clone();
    let f = all.iter().find(|f| f["id"] == "s3.small.1").expect("seeded flavor").clone();
    assert_eq!(f["vcpus"], "1");
    assert_eq!(f["ram"], 1024);
    assert_eq!(f["disk"], "40");
    assert_eq!(f["swap"], "");
    assert_eq!(f["rxtx_quota"], Value::Null);
    assert_eq!(f["rxtx_cap"], Value::Null);
    assert_eq!(f["OS-FLV-EXT-DATA:ephemeral"], 0);
    assert_eq!(f["OS-FLV-DISABLED:disabled"], false);
    assert_eq!(f["os-flavor-access:is_public"], true);
    assert!(f["os_extra_specs"].is_object(), "{f}");
    assert_eq!(f["links"][0]["rel"], "self");
    assert_eq!(f["links"][0]["type"], Value::Null);
    assert!(f["links"][1]["href"].as_str().unwrap().ends_with(&format!("/{project}/flavors/s3.small.1")));

    // Sale status per AZ: the AZ's own entry, else the region-wide status.
    for (id, specs) in [
        ("x.sellout", json!({"cond:operation:status": "sellout"})),
        ("x.obt", json!({"cond:operation:status": "obt"})),
        ("x.per-az", json!({"cond:operation:status": "abandon", "cond:operation:az": "az1(normal), az2(sellout)"})),
    ] {
        let body = json!({"flavor": {"name": id, "id": id, "ram": 512, "vcpus": 1, "disk": 1}});
        assert_eq!(admin.post("/v2.1/flavors", None, &body).await.status, 200);
        let r = admin.post(&format!("/v2.1/flavors/{id}/os-extra_specs"), None, &json!({"extra_specs": specs})).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let ids = |r: &Reply| -> Vec<String> {
        r.body["flavors"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
    };
    let everything = ids(&demo.get(&format!("/v1/{project}/cloudservers/flavors"), None).await);
    assert!(["x.sellout", "x.obt", "x.per-az", "s3.small.1"].iter().all(|f| everything.contains(&f.to_string())));
    let r = demo.get(&format!("/v1/{project}/cloudservers/flavors?availability_zone=az1"), None).await;
    let r = r.body["flavors"].as_array().unwrap().iter().find(|f| f["id"] == "x.per-az").cloned();
    assert_eq!(r.unwrap()["os_extra_specs"]["cond:operation:az"], "az1(normal), az2(sellout)");
    let in_az1 = ids(&demo.get(&format!("/v1/{project}/cloudservers/flavors?availability_zone=az1"), None).await);
    assert!(
        in_az1.contains(&"x.obt".into())
            && in_az1.contains(&"x.per-az".into())
            && in_az1.contains(&"s3.small.1".into())
    );
    assert!(!in_az1.contains(&"x.sellout".into()));
    let in_az2 = ids(&demo.get(&format!("/v1/{project}/cloudservers/flavors?availability_zone=az2"), None).await);
    assert!(!in_az2.contains(&"x.per-az".into()) && in_az2.contains(&"x.obt".into()));

    // Another project's path; no token.
    ecs_error(&demo.get(&format!("/v1/{}/cloudservers/flavors", admin.project_id), None).await, 403, "Ecs.0003");
    let r = server.send(Method::GET, &format!("/v1/{project}/cloudservers/flavors"), &[], None).await;
    ecs_error(&r, 401, "Common.0013");
}
both!(flavors);

async fn limits(server: &TestServer) {
    let demo = server.demo().await;
    let project = demo.project_id.clone();
    boot(&demo, "counted", json!({})).await;
    let r = demo
        .post("/v2.1/os-server-groups", None, &json!({"server_group": {"name": "g", "policies": ["anti-affinity"]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = demo.get(&format!("/v1/{project}/cloudservers/limits"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let absolute = r.body["absolute"].as_object().unwrap().clone();
    assert_eq!(r.body.as_object().unwrap().len(), 1, "only `absolute`: {}", r.body);
    let keys = [
        "maxTotalInstances",
        "maxTotalCores",
        "maxTotalRAMSize",
        "maxTotalKeypairs",
        "maxServerMeta",
        "maxPersonality",
        "maxPersonalitySize",
        "maxServerGroups",
        "maxServerGroupMembers",
        "totalServerGroupsUsed",
        "maxSecurityGroups",
        "maxSecurityGroupRules",
        "maxTotalFloatingIps",
        "maxImageMeta",
        "totalInstancesUsed",
        "totalCoresUsed",
        "totalRAMUsed",
        "totalSecurityGroupsUsed",
        "totalFloatingIpsUsed",
    ];
    assert_eq!(absolute.len(), keys.len(), "{absolute:?}");
    for k in keys {
        assert!(absolute[k].is_i64(), "{k}: {absolute:?}");
    }
    assert_eq!(absolute["totalInstancesUsed"], 1);
    assert_eq!(absolute["totalCoresUsed"], 1);
    assert_eq!(absolute["totalServerGroupsUsed"], 1);
    assert_eq!(absolute["maxServerGroups"], 10);
    // The same numbers as Nova's /limits (2.1 shows every key too).
    let nova = demo.get("/v2.1/limits", None).await;
    assert_eq!(nova.body["limits"]["absolute"], Value::Object(absolute), "{}", nova.body);
    // A project's own quota shows in both.
    server.core().store_for_tests().quota_set(&project, "server_groups", 3).await.unwrap();
    let r = demo.get(&format!("/v1/{project}/cloudservers/limits"), None).await;
    assert_eq!(r.body["absolute"]["maxServerGroups"], 3);
    assert_eq!(demo.get("/v2.1/limits", None).await.body["limits"]["absolute"]["maxServerGroups"], 3);
    let admin = server.admin().await;
    ecs_error(&demo.get(&format!("/v1/{}/cloudservers/limits", admin.project_id), None).await, 403, "Ecs.0003");
}
both!(limits);

async fn server_groups(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let groups = format!("/v1/{project}/cloudservers/os-server-groups");
    let create = |name: Value, policies: Value| {
        let demo = &demo;
        let groups = groups.clone();
        async move { demo.post(&groups, None, &json!({"server_group": {"name": name, "policies": policies}})).await }
    };
    let r = create(json!("test"), json!(["anti-affinity"])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = r.body["server_group"].clone();
    assert_eq!(g["name"], "test");
    assert_eq!(g["policies"], json!(["anti-affinity"]));
    assert_eq!(g["members"], json!([]));
    assert_eq!(g["metadata"], json!({}));
    let gid = g["id"].as_str().unwrap().to_string();
    // The same group on the Nova API.
    let nova = demo.get(&format!("/v2.1/os-server-groups/{gid}"), None).await;
    assert_eq!(nova.body["server_group"]["name"], "test");

    ecs_error(&create(json!("x"), json!(["affinity"])).await, 400, "Ecs.0005");
    ecs_error(&create(json!("x"), json!([])).await, 400, "Ecs.0005");
    ecs_error(&create(json!("x"), json!("anti-affinity")).await, 400, "Ecs.0005");
    ecs_error(&create(json!(""), json!(["anti-affinity"])).await, 400, "Ecs.0005");
    ecs_error(&create(json!("n".repeat(256)), json!(["anti-affinity"])).await, 400, "Ecs.0005");
    ecs_error(&create(json!(5), json!(["anti-affinity"])).await, 400, "Ecs.0005");
    assert_eq!(create(json!("n".repeat(255)), json!(["anti-affinity"])).await.status, 200);
    ecs_error(&demo.post(&groups, None, &json!({"group": {}})).await, 400, "Ecs.0005");
    let empty = server.send(Method::POST, &groups, &[("x-auth-token", &demo.token)], None).await;
    ecs_error(&empty, 400, "Common.0002");
    let r = server
        .client
        .post(format!("{}{groups}", server.base))
        .header("x-auth-token", &demo.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "Ecs.0005");

    // List: all, then pages of `limit` after `marker`.
    create(json!("third"), json!(["anti-affinity"])).await;
    let r = demo.get(&groups, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all: Vec<String> =
        r.body["server_groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(all.len(), 3);
    assert!(r.body.get("page_info").is_none());
    let first = demo.get(&format!("{groups}?limit=2"), None).await;
    assert_eq!(first.body["server_groups"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["page_info"]["next_marker"], all[1].as_str());
    let second = demo.get(&format!("{groups}?limit=2&marker={}", all[1]), None).await;
    assert_eq!(second.body["server_groups"][0]["id"], all[2].as_str());
    assert!(second.body.get("page_info").is_none(), "{}", second.body);
    ecs_error(&demo.get(&format!("{groups}?marker={}", all[0]), None).await, 400, "Ecs.0005");
    ecs_error(&demo.get(&format!("{groups}?limit=0"), None).await, 400, "Ecs.0005");
    ecs_error(&demo.get(&format!("{groups}?limit=1001"), None).await, 400, "Ecs.0005");
    ecs_error(&demo.get(&format!("{groups}?limit=x"), None).await, 400, "Ecs.0005");
    ecs_error(&demo.get(&format!("{groups}?limit=1&marker=nope"), None).await, 400, "Ecs.0005");

    // Show; unknown and another project's groups do not exist.
    let r = demo.get(&format!("{groups}/{gid}"), None).await;
    assert_eq!(r.body, json!({"server_group": g}));
    ecs_error(&demo.get(&format!("{groups}/no-such"), None).await, 404, "Ecs.0114");
    let theirs = admin
        .post(
            &format!("/v1/{}/cloudservers/os-server-groups", admin.project_id),
            None,
            &json!({"server_group": {"name": "t", "policies": ["anti-affinity"]}}),
        )
        .await;
    let theirs = theirs.body["server_group"]["id"].as_str().unwrap().to_string();
    ecs_error(&demo.get(&format!("{groups}/{theirs}"), None).await, 404, "Ecs.0114");
    ecs_error(&demo.delete(&format!("{groups}/{theirs}"), None).await, 404, "Ecs.0114");

    // Members: two servers packed on one host by a Nova affinity group
    // (deleted again, which frees them), one elsewhere.
    let pack = demo
        .post("/v2.1/os-server-groups", None, &json!({"server_group": {"name": "p", "policies": ["affinity"]}}))
        .await;
    let pack = pack.body["server_group"]["id"].as_str().unwrap().to_string();
    let a = boot(&demo, "a", json!({"group": pack})).await;
    let b = boot(&demo, "b", json!({"group": pack})).await;
    assert_eq!(demo.delete(&format!("/v2.1/os-server-groups/{pack}"), None).await.status, 204);
    let action = format!("{groups}/{gid}/action");
    let add = |id: String| json!({"add_member": {"instance_uuid": id}});
    let remove = |id: String| json!({"remove_member": {"instance_uuid": id}});
    // Running: refused.
    ecs_error(&demo.post(&action, None, &add(a.clone())).await, 400, "Ecs.0100");
    stop(&demo, &a).await;
    stop(&demo, &b).await;
    let r = demo.post(&action, None, &add(a.clone())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(demo.get(&format!("{groups}/{gid}"), None).await.body["server_group"]["members"], json!([a]));
    assert_eq!(demo.post(&action, None, &add(a.clone())).await.status, 200, "adding again changes nothing");
    // b shares a's host: anti-affinity would break.
    let r = demo.post(&action, None, &add(b.clone())).await;
    ecs_error(&r, 400, "Ecs.0005");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("host"), "{}", r.body);
    // a is in a group already.
    let other = all[2].clone();
    ecs_error(&demo.post(&format!("{groups}/{other}/action"), None, &add(a.clone())).await, 400, "Ecs.0005");
    assert_eq!(demo.post(&format!("{groups}/{other}/action"), None, &add(b.clone())).await.status, 200);
    // Removing: members only.
    ecs_error(&demo.post(&action, None, &remove(b.clone())).await, 400, "Ecs.0005");
    assert_eq!(demo.post(&action, None, &remove(a.clone())).await.status, 200);
    assert_eq!(demo.get(&format!("{groups}/{gid}"), None).await.body["server_group"]["members"], json!([]));
    ecs_error(&demo.post(&action, None, &remove(a.clone())).await, 400, "Ecs.0005");
    // Malformed actions, unknown servers and groups, another project's.
    ecs_error(&demo.post(&action, None, &json!({"add_member": {}})).await, 400, "Ecs.0005");
    ecs_error(&demo.post(&action, None, &json!({"join": {"instance_uuid": a}})).await, 400, "Ecs.0005");
    ecs_error(&demo.post(&action, None, &json!({"add_member": {"instance_uuid": a}, "x": 1})).await, 400, "Ecs.0005");
    ecs_error(&demo.post(&action, None, &add("00000000-0000-0000-0000-000000000000".into())).await, 404, "Ecs.0114");
    ecs_error(&demo.post(&format!("{groups}/no-such/action"), None, &add(a.clone())).await, 404, "Ecs.0114");
    ecs_error(&demo.post(&format!("{groups}/{theirs}/action"), None, &add(a.clone())).await, 404, "Ecs.0114");
    let admins = boot(&admin, "admins", json!({})).await;
    ecs_error(&demo.post(&action, None, &add(admins)).await, 404, "Ecs.0114");

    // Delete.
    assert_eq!(demo.delete(&format!("{groups}/{gid}"), None).await.status, 204);
    ecs_error(&demo.get(&format!("{groups}/{gid}"), None).await, 404, "Ecs.0114");
    ecs_error(&demo.delete(&format!("{groups}/{gid}"), None).await, 404, "Ecs.0114");
}
both!(server_groups);

async fn tags(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let web = boot(&demo, "web-1", json!({})).await;
    let db = boot(&demo, "db-1", json!({})).await;
    let action = |id: &str| format!("/v1/{project}/servers/{id}/tags/action");
    let tags_of = |id: &str| format!("/v1/{project}/servers/{id}/tags");
    let create = |tags: Value| json!({"action": "create", "tags": tags});

    let r = demo
        .post(&action(&web), None, &create(json!([{"key": "env", "value": "prod"}, {"key": "k2", "value": ""}])))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.body, Value::Null);
    let r = demo.get(&tags_of(&web), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"tags": [{"key": "env", "value": "prod"}, {"key": "k2", "value": ""}]}));
    // One set of tags: Nova's 1D view sees `key=value`, and its tags show as 2D.
    let nova = demo.get(&format!("/v2.1/servers/{web}/tags"), Some("2.26")).await;
    assert_eq!(nova.body["tags"], json!(["env=prod", "k2"]));
    let r = demo.nova(Method::PUT, &format!("/v2.1/servers/{web}/tags/a=b=c"), Some("2.26"), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = demo.get(&tags_of(&web), None).await;
    assert!(r.body["tags"].as_array().unwrap().contains(&json!({"key": "a", "value": "b=c"})), "{}", r.body);
    // Same key: overwritten; same pair: no change. The SDK's path too.
    let sdk = format!("/v1/{project}/cloudservers/{web}/tags/action");
    let r =
        demo.post(&sdk, None, &create(json!([{"key": "env", "value": "test.1"}, {"key": "a", "value": "x"}]))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = demo
        .post(&action(&web), None, &create(json!([{"key": "env", "value": "test.1"}, {"key": "中文", "value": "值"}])))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = demo.get(&format!("/v1/{project}/cloudservers/{web}/tags"), None).await;
    assert_eq!(
        r.body,
        json!({"tags": [{"key": "a", "value": "x"}, {"key": "env", "value": "test.1"}, {"key": "k2", "value": ""},
            {"key": "中文", "value": "值"}]})
    );

    // Create's rules.
    let one = |key: &str, value: &str| create(json!([{"key": key, "value": value}]));
    let eleven: Vec<Value> = (0..11).map(|i| json!({"key": format!("k{i}"), "value": "v"})).collect();
    ecs_error(&demo.post(&action(&web), None, &create(json!(eleven))).await, 400, "Ecs.0905");
    ecs_error(&demo.post(&action(&web), None, &one(&"k".repeat(37), "v")).await, 400, "Ecs.0906");
    ecs_error(&demo.post(&action(&web), None, &one("", "v")).await, 400, "Ecs.0906");
    ecs_error(&demo.post(&action(&web), None, &one("k", &"v".repeat(44))).await, 400, "Ecs.0906");
    ecs_error(&demo.post(&action(&web), None, &one("a.b", "v")).await, 400, "Ecs.0907");
    ecs_error(&demo.post(&action(&web), None, &one("a=b", "v")).await, 400, "Ecs.0907");
    ecs_error(&demo.post(&action(&web), None, &one("k", "v/w")).await, 400, "Ecs.0907");
    let dup = create(json!([{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]));
    ecs_error(&demo.post(&action(&web), None, &dup).await, 400, "Ecs.0908");
    ecs_error(
        &demo.post(&action(&web), None, &json!({"action": "create", "tags": [{"key": "k"}]})).await,
        400,
        "Ecs.0005",
    );
    ecs_error(
        &demo.post(&action(&web), None, &json!({"action": "CREATE", "tags": [{"key": "k", "value": "v"}]})).await,
        400,
        "Ecs.0005",
    );
    ecs_error(&demo.post(&action(&web), None, &json!({"action": "create"})).await, 400, "Ecs.0005");
    ecs_error(&demo.post(&action(&web), None, &json!({"action": "create", "tags": []})).await, 400, "Ecs.0005");
    ecs_error(
        &demo.post(&action(&web), None, &json!({"action": "create", "tags": [{"key": 1, "value": "v"}]})).await,
        400,
        "Ecs.0005",
    );
    ecs_error(&demo.post(&action(&web), None, &json!([1])).await, 400, "Ecs.0005");
    // At most 50 tags a server in all (the Nova limit they share).
    let many: Vec<String> = (0..48).map(|i| format!("t{i}")).collect();
    let r = demo.put(&format!("/v2.1/servers/{db}/tags"), Some("2.26"), &json!({"tags": many})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let three = create(json!([{"key": "x1", "value": ""}, {"key": "x2", "value": ""}, {"key": "x3", "value": ""}]));
    ecs_error(&demo.post(&action(&db), None, &three).await, 400, "Ecs.0905");
    let two = create(json!([{"key": "t1", "value": "now"}, {"key": "x2", "value": "v"}, {"key": "x3", "value": "v"}]));
    assert_eq!(demo.post(&action(&db), None, &two).await.status, 204, "t1 replaced: 50 in all");
    let r =
        demo.put(&format!("/v2.1/servers/{db}/tags"), Some("2.26"), &json!({"tags": ["role=db", "env=prod"]})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Delete: a key's tag, a pair only if the value matches; missing is fine.
    let delete = |tags: Value| json!({"action": "delete", "tags": tags});
    let r = demo.post(&action(&web), None, &delete(json!([{"key": "env", "value": "other"}, {"key": "nope"}]))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(demo.get(&tags_of(&web), None).await.body["tags"].as_array().unwrap().len(), 4);
    let r = demo.post(&action(&web), None, &delete(json!([{"key": "env", "value": "test.1"}, {"key": "a"}]))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        demo.get(&tags_of(&web), None).await.body,
        json!({"tags": [{"key": "k2", "value": ""}, {"key": "中文", "value": "值"}]})
    );
    ecs_error(&demo.post(&action(&web), None, &delete(json!([{"key": "k".repeat(128)}]))).await, 400, "Ecs.0906");
    ecs_error(
        &demo.post(&action(&web), None, &delete(json!([{"key": "k", "value": "v".repeat(256)}]))).await,
        400,
        "Ecs.0906",
    );
    ecs_error(&demo.post(&action(&web), None, &delete(json!([{"key": "k"}, {"key": "k"}]))).await, 400, "Ecs.0908");
    assert_eq!(demo.post(&action(&web), None, &delete(json!([{"key": "k2", "value": ""}]))).await.status, 204);
    let r = demo
        .post(&action(&web), None, &create(json!([{"key": "env", "value": "test"}, {"key": "role", "value": "web"}])))
        .await;
    assert_eq!(r.status, 204);

    // The project's tags: every key with its values.
    for prefix in ["servers", "cloudservers"] {
        let r = demo.get(&format!("/v1/{project}/{prefix}/tags"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body,
            json!({"tags": [{"key": "env", "values": ["prod", "test"]}, {"key": "role", "values": ["db", "web"]},
                {"key": "中文", "values": ["值"]}]})
        );
    }

    // Query by tag.
    let query = format!("/v1/{project}/servers/resource_instances/action");
    let find = |body: Value| {
        let demo = &demo;
        let query = query.clone();
        async move { demo.post(&query, None, &body).await }
    };
    let r = find(json!({"action": "filter", "tags": [{"key": "env", "values": ["prod", "test"]}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total_count"], 2);
    let r = find(json!({"action": "filter", "tags": [{"key": "role", "values": ["web"]}]})).await;
    assert_eq!(r.body["total_count"], 1);
    let found = &r.body["resources"][0];
    assert_eq!(found["resource_id"], web.as_str());
    assert_eq!(found["resource_name"], "web-1");
    assert_eq!(found["resource_detail"], Value::Null);
    assert!(found["tags"].as_array().unwrap().contains(&json!({"key": "role", "value": "web"})), "{found}");
    let r =
        find(json!({"action": "filter", "tags": [{"key": "env"}], "not_tags": [{"key": "role", "values": ["db"]}]}))
            .await;
    assert_eq!(r.body["resources"][0]["resource_id"], web.as_str(), "{}", r.body);
    assert_eq!(r.body["total_count"], 1);
    let r = find(json!({"action": "filter", "matches": [{"key": "resource_name", "value": "db"}]})).await;
    assert_eq!(r.body["resources"][0]["resource_id"], db.as_str(), "{}", r.body);
    let r = find(json!({"action": "filter", "limit": "1", "offset": "1"})).await;
    assert_eq!(r.body["total_count"], 2);
    assert_eq!(r.body["resources"].as_array().unwrap().len(), 1);
    let r = find(json!({"action": "filter", "offset": "5"})).await;
    assert_eq!(r.body["resources"], json!([]));
    let r =
        find(json!({"action": "count", "tags": [{"key": "env", "values": ["prod"]}], "limit": "bogus-but-ignored"}))
            .await;
    assert_eq!(r.body, json!({"total_count": 1}));
    let r = demo
        .post(&format!("/v1/{project}/cloudservers/resource_instances/action"), None, &json!({"action": "count"}))
        .await;
    assert_eq!(r.body, json!({"total_count": 2}));
    ecs_error(&find(json!({"action": "list"})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"tags": [{"key": "env"}]})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"action": "filter", "tags": []})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"action": "filter", "not_tags": []})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"action": "filter", "limit": "x"})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"action": "filter", "limit": "1001"})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"action": "filter", "offset": "-1"})).await, 400, "Ecs.0005");
    ecs_error(&find(json!({"action": "filter", "matches": [{"key": "name", "value": "x"}]})).await, 400, "Ecs.0005");
    ecs_error(
        &find(json!({"action": "filter", "matches": [{"key": "resource_name", "value": ""}]})).await,
        400,
        "Ecs.0005",
    );
    ecs_error(&find(json!({"action": "filter", "tags": [{"key": "a"}, {"key": "a"}]})).await, 400, "Ecs.0908");
    ecs_error(&find(json!({"action": "filter", "tags": [{"key": "a", "values": ["1", "1"]}]})).await, 400, "Ecs.0908");
    ecs_error(&find(json!({"action": "filter", "tags": [{"key": "k".repeat(128)}]})).await, 400, "Ecs.0906");

    // Another project's server does not exist here; its tags are not listed.
    let theirs = boot(&admin, "theirs", json!({})).await;
    let r = admin
        .post(&format!("/v1/{}/servers/{theirs}/tags/action", admin.project_id), None, &one("owner", "admin"))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    ecs_error(&demo.get(&tags_of(&theirs), None).await, 404, "Ecs.0114");
    ecs_error(&demo.post(&action(&theirs), None, &one("k", "v")).await, 404, "Ecs.0114");
    ecs_error(&demo.post(&action(&theirs), None, &delete(json!([{"key": "owner"}]))).await, 404, "Ecs.0114");
    ecs_error(&demo.get(&tags_of("00000000-0000-0000-0000-000000000000"), None).await, 404, "Ecs.0114");
    let r = demo.get(&format!("/v1/{project}/servers/tags"), None).await;
    assert!(!r.body.to_string().contains("owner"), "{}", r.body);
    assert_eq!(find(json!({"action": "count", "tags": [{"key": "owner"}]})).await.body["total_count"], 0);
    ecs_error(&demo.get(&format!("/v1/{}/servers/{theirs}/tags", admin.project_id), None).await, 403, "Ecs.0003");
}
both!(tags);

async fn block_devices(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let id = boot(&demo, "vm", json!({})).await;
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 10, "display_name": "data"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let vol = r.body["volume"]["id"].as_str().unwrap().to_string();
    let attachments = format!("/v2.1/servers/{id}/os-volume_attachments");
    let mut attached = false;
    for _ in 0..400 {
        let r = demo.post(&attachments, None, &json!({"volumeAttachment": {"volumeId": vol}})).await;
        if r.status == 200 {
            attached = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(attached, "volume attaches");
    let expected = json!({
        "serverId": id, "volumeId": vol, "id": vol, "size": 10, "device": "/dev/vdb",
        "pciAddress": "0000:02:02.0", "bootIndex": 1, "bus": "virtio",
    });
    // The seed's path without a project, with one, and the SDK's.
    for path in [
        format!("/v2.1/servers/{id}/block_device"),
        format!("/v2.1/{project}/servers/{id}/block_device"),
        format!("/v1/{project}/cloudservers/{id}/block_device"),
        format!("/v1/{project}/cloudservers/{id}/block_device/detail"),
    ] {
        let r = demo.get(&path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        // One data disk attached: one fewer of each kind is free.
        let free = json!({"free_scsi": 23, "free_blk": 15, "free_disk": 23});
        assert_eq!(r.body, json!({"volumeAttachments": [expected], "attachableQuantity": free}), "{path}");
    }
    for path in [
        format!("/v2.1/servers/{id}/block_device/{vol}"),
        format!("/v2.1/{project}/servers/{id}/block_device/{vol}"),
        format!("/v1/{project}/cloudservers/{id}/block_device/{vol}"),
    ] {
        let r = demo.get(&path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body, json!({"volumeAttachment": expected}), "{path}");
    }
    // A server without disks; unknown volumes and servers; another project's.
    let bare = boot(&demo, "bare", json!({})).await;
    assert_eq!(
        demo.get(&format!("/v2.1/servers/{bare}/block_device"), None).await.body,
        json!({"volumeAttachments": [], "attachableQuantity": {"free_scsi": 24, "free_blk": 16, "free_disk": 24}})
    );
    ecs_error(&demo.get(&format!("/v2.1/servers/{bare}/block_device/{vol}"), None).await, 400, "Ecs.0111");
    ecs_error(&demo.get(&format!("/v2.1/servers/{id}/block_device/nope"), None).await, 400, "Ecs.0111");
    ecs_error(&demo.get("/v2.1/servers/nope/block_device", None).await, 404, "Ecs.0114");
    let theirs = boot(&admin, "theirs", json!({})).await;
    ecs_error(&demo.get(&format!("/v2.1/servers/{theirs}/block_device"), None).await, 404, "Ecs.0114");
    ecs_error(
        &demo.get(&format!("/v1/{project}/cloudservers/{theirs}/block_device/{vol}"), None).await,
        404,
        "Ecs.0114",
    );
    ecs_error(&demo.get(&format!("/v2.1/{}/servers/{id}/block_device", admin.project_id), None).await, 403, "Ecs.0003");
    let r = server.send(Method::GET, &format!("/v2.1/servers/{id}/block_device"), &[], None).await;
    ecs_error(&r, 401, "Common.0013");
}
both!(block_devices);
