//! Security groups and rules through Nova's API, and servers in them.

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str, groups: Value) -> crate::Reply {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none",
        "security_groups": groups}});
    s.post("/v2.1/servers", Some("2.37"), &body).await
}

async fn groups_rules_and_servers(server: &TestServer) {
    let demo = server.demo().await;
    let list = demo.get("/v2.1/os-security-groups", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let default = list.body["security_groups"][0].clone();
    assert_eq!(default["name"], "default");
    assert_eq!(default["rules"][0]["group"]["name"], "default", "members reach each other");
    demo.get("/v2.1/os-security-groups", Some("2.36")).await.assert_fault(404, "itemNotFound");

    let r = demo
        .post("/v2.1/os-security-groups", None, &json!({"security_group": {"name": "web", "description": "http"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let web = r.body["security_group"]["id"].as_str().unwrap().to_string();
    let r = demo
        .post("/v2.1/os-security-groups", None, &json!({"security_group": {"name": "web", "description": ""}}))
        .await;
    r.assert_fault(400, "badRequest");
    let r =
        demo.post("/v2.1/os-security-groups", None, &json!({"security_group": {"name": " ", "description": ""}})).await;
    r.assert_fault(400, "badRequest");

    let rule = |body: Value| json!({"security_group_rule": body});
    let r = demo
        .post(
            "/v2.1/os-security-group-rules",
            None,
            &rule(json!({"parent_group_id": web, "ip_protocol": "tcp",
            "from_port": 80, "to_port": 80, "cidr": "10.0.0.0/8"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["security_group_rule"]["ip_range"]["cidr"], "10.0.0.0/8");
    let rule_id = r.body["security_group_rule"]["id"].as_str().unwrap().to_string();
    for (body, needle) in [
        (
            json!({"parent_group_id": web, "ip_protocol": "tcp", "from_port": 80, "to_port": 80, "cidr": "10.0.0.0/8"}),
            "already exists",
        ),
        (json!({"parent_group_id": web, "ip_protocol": "gre", "from_port": 1, "to_port": 2}), "Invalid IP protocol"),
        (
            json!({"parent_group_id": web, "ip_protocol": "tcp", "from_port": 90, "to_port": 80}),
            "Invalid port range 90:80",
        ),
        (json!({"parent_group_id": web, "ip_protocol": "tcp", "from_port": 1, "to_port": 70000}), "Invalid port range"),
        (
            json!({"parent_group_id": web, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "nonsense"}),
            "Invalid cidr",
        ),
    ] {
        let r = demo.post("/v2.1/os-security-group-rules", None, &rule(body.clone())).await;
        assert!(r.assert_fault(400, "badRequest").contains(needle), "{body}: {}", r.body);
    }
    // A parent that is not a uuid is refused by Nova's schema; an unknown one is not found.
    let r = demo
        .post("/v2.1/os-security-group-rules", None, &rule(json!({"parent_group_id": "no-such", "ip_protocol": "tcp"})))
        .await;
    assert!(r.assert_fault(400, "badRequest").contains("'no-such' is not a 'uuid'"), "{}", r.body);
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = demo
        .post("/v2.1/os-security-group-rules", None, &rule(json!({"parent_group_id": unknown, "ip_protocol": "tcp"})))
        .await;
    r.assert_fault(404, "itemNotFound");

    // A server in both groups; the web group cannot go while it is in use.
    let r = boot(&demo, "sg", json!([{"name": "default"}, {"name": "web"}])).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;
    let mine = demo.get(&format!("/v2.1/servers/{id}/os-security-groups"), None).await;
    let names: Vec<&str> =
        mine.body["security_groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["default", "web"]);
    let shown = demo.get(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(shown.body["server"]["security_groups"], json!([{"name": "default"}, {"name": "web"}]));
    let r = demo.delete(&format!("/v2.1/os-security-groups/{web}"), None).await;
    assert!(r.assert_fault(400, "badRequest").contains("still in use"));
    demo.delete(&format!("/v2.1/os-security-groups/{}", default["id"].as_str().unwrap()), None)
        .await
        .assert_fault(400, "badRequest");

    let path = format!("/v2.1/servers/{id}/action");
    let action = async |body: Value| demo.post(&path, None, &body).await;
    assert_eq!(action(json!({"removeSecurityGroup": {"name": "web"}})).await.status, 202);
    let r = action(json!({"removeSecurityGroup": {"name": "web"}})).await;
    assert!(r.assert_fault(404, "itemNotFound").contains("not associated with the instance"), "{}", r.body);
    action(json!({"addSecurityGroup": {"name": "nope"}})).await.assert_fault(404, "itemNotFound");
    assert_eq!(action(json!({"addSecurityGroup": {"name": "web"}})).await.status, 202);
    action(json!({"addSecurityGroup": {"name": "web"}})).await.assert_fault(400, "badRequest");

    // Unknown groups at create are a 400.
    let r = boot(&demo, "x", json!([{"name": "missing"}])).await;
    assert!(r.assert_fault(400, "badRequest").contains("Security group missing not found"));

    // Deleting the server frees the group.
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    assert_eq!(demo.delete(&format!("/v2.1/os-security-group-rules/{rule_id}"), None).await.status, 202);
    assert_eq!(demo.delete(&format!("/v2.1/os-security-groups/{web}"), None).await.status, 202);
    // Another project's groups are not there.
    let admin = server.admin().await;
    let theirs = admin.get("/v2.1/os-security-groups", None).await;
    let their_default = theirs.body["security_groups"][0]["id"].as_str().unwrap();
    demo.get(&format!("/v2.1/os-security-groups/{their_default}"), None).await.assert_fault(404, "itemNotFound");
}
both!(groups_rules_and_servers);

async fn group_quota(server: &TestServer) {
    let demo = server.demo().await;
    // Twenty at once against a quota of ten (the default group counts): nine win.
    let bodies: Vec<Value> =
        (0..20).map(|i| json!({"security_group": {"name": format!("g{i}"), "description": ""}})).collect();
    let replies =
        futures::future::join_all(bodies.iter().map(|b| demo.post("/v2.1/os-security-groups", None, b))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 9);
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_fault(403, "forbidden");
    }
}
both!(group_quota);
