//! Nova's network proxies as Tempest sees them: the seeded floating IP
//! pool, one floating IP per fixed IP, security-group rules and ids as
//! Nova checks them, servers leaving every group, admins listing every
//! project's groups, and os-services filters.

use ecs_core::seed::SeedPasswords;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "auto"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn external_networks(s: &Session<'_>) -> Vec<Value> {
    let token = [("x-auth-token", s.token.as_str())];
    let r = s.server.send(Method::GET, "/networking/v2.0/networks?router:external=true", &token, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["networks"].as_array().unwrap().clone()
}

async fn seeded_floating_ip_pool(server: &TestServer) {
    let admin = server.admin().await;
    let external = external_networks(&admin).await;
    assert_eq!(external.len(), 1, "{external:?}");
    assert_eq!(external[0]["name"], "public");
    assert_eq!(external[0]["router:external"], true);
    // The internal network is still the one a server gets.
    let token = [("x-auth-token", admin.token.as_str())];
    let r = server.send(Method::GET, "/networking/v2.0/networks?router:external=false", &token, None).await;
    let internal: Vec<&str> =
        r.body["networks"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(internal, ["default-net"]);

    // Seeding again (a restart on the same database) adds nothing.
    let before = server.core().store_for_tests().network_list().await.unwrap().len();
    let summary = server.core().seed(&SeedPasswords::default()).await.unwrap();
    assert_eq!(server.core().store_for_tests().network_list().await.unwrap().len(), before);
    assert_eq!(summary.external_network.unwrap().id, external[0]["id"]);

    let demo = server.demo().await;
    let pools = demo.get("/v2.1/os-floating-ip-pools", None).await;
    assert_eq!(pools.body["floating_ip_pools"], json!([{"name": "public"}]));
    // Tempest allocates by the network's id as well as by its name.
    for pool in [json!("public"), external[0]["id"].clone()] {
        let r = demo.post("/v2.1/os-floating-ips", None, &json!({"pool": pool})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["floating_ip"]["ip"].as_str().unwrap().starts_with("172.24.4."), "{}", r.body);
    }
}
both!(seeded_floating_ip_pool);

async fn one_floating_ip_per_fixed_ip(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "fip").await;
    let mut addresses = Vec::new();
    for _ in 0..2 {
        let r = demo.post("/v2.1/os-floating-ips", None, &json!({"pool": "public"})).await;
        addresses.push(r.body["floating_ip"]["ip"].as_str().unwrap().to_string());
    }
    let path = format!("/v2.1/servers/{id}/action");
    let add = async |address: &str| demo.post(&path, None, &json!({"addFloatingIp": {"address": address}})).await;
    assert_eq!(add(&addresses[0]).await.status, 202);
    // Associating the same one again changes nothing.
    assert_eq!(add(&addresses[0]).await.status, 202);
    let r = add(&addresses[1]).await;
    let message = r.assert_fault(400, "badRequest");
    assert!(message.starts_with(&format!("Unable to associate floating IP {}", addresses[1])), "{message}");
    assert!(message.contains("already has a floating IP on external network"), "{message}");
    let shown = demo.get(&format!("/v2.1/servers/{id}"), None).await;
    let floating: Vec<&Value> = shown.body["server"]["addresses"]["default-net"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["OS-EXT-IPS:type"] == "floating")
        .collect();
    assert_eq!(floating.len(), 1);
    assert_eq!(floating[0]["addr"], addresses[0].as_str());

    // Once the first is gone, the second may take its place.
    let r = demo.post(&path, None, &json!({"removeFloatingIp": {"address": addresses[0]}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(add(&addresses[1]).await.status, 202);
}
both!(one_floating_ip_per_fixed_ip);

async fn rules_and_ids_as_nova_checks_them(server: &TestServer) {
    let demo = server.demo().await;
    let r =
        demo.post("/v2.1/os-security-groups", None, &json!({"security_group": {"name": "g", "description": ""}})).await;
    let group = r.body["security_group"]["id"].as_str().unwrap().to_string();
    let rule = |fields: Value| {
        let mut body = json!({"parent_group_id": group, "ip_protocol": "tcp", "from_port": 22, "to_port": 22});
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        json!({"security_group_rule": body})
    };
    // The CIDR as given, as Neutron keeps it; the network it names is what makes a duplicate.
    let r = demo.post("/v2.1/os-security-group-rules", None, &rule(json!({"cidr": "10.2.3.124/24"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["security_group_rule"]["ip_range"], json!({"cidr": "10.2.3.124/24"}));
    let shown = demo.get(&format!("/v2.1/os-security-groups/{group}"), None).await;
    assert_eq!(shown.body["security_group"]["rules"][0]["ip_range"]["cidr"], "10.2.3.124/24");
    let r = demo.post("/v2.1/os-security-group-rules", None, &rule(json!({"cidr": "10.2.3.0/24"}))).await;
    assert!(r.assert_fault(400, "badRequest").contains("already exists"), "{}", r.body);
    let r = demo.post("/v2.1/os-security-group-rules", None, &rule(json!({"cidr": "10.0.0.0/0"}))).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Bad prefix for network in cidr 10.0.0.0/0");

    // Group ids are uuids: anything else is a 400 before any lookup.
    for (body, wanted) in [
        (
            json!({"security_group_rule": {"parent_group_id": "non_int_id", "ip_protocol": "tcp"}}),
            "Invalid input for field/attribute parent_group_id. Value: non_int_id. 'non_int_id' is not a 'uuid'",
        ),
        (
            json!({"security_group_rule": {"parent_group_id": 7, "ip_protocol": "tcp"}}),
            "Invalid input for field/attribute parent_group_id. Value: 7. 7 is not of type 'string'",
        ),
        (
            rule(json!({"group_id": "nope"})),
            "Invalid input for field/attribute group_id. Value: nope. 'nope' is not a 'uuid'",
        ),
    ] {
        let r = demo.post("/v2.1/os-security-group-rules", None, &body).await;
        assert_eq!(r.assert_fault(400, "badRequest"), wanted);
    }
    let should_be_uuid = "Security group id should be uuid";
    assert_eq!(demo.get("/v2.1/os-security-groups/123", None).await.assert_fault(400, "badRequest"), should_be_uuid);
    let update = json!({"security_group": {"name": "h", "description": ""}});
    assert_eq!(
        demo.put("/v2.1/os-security-groups/123", None, &update).await.assert_fault(400, "badRequest"),
        should_be_uuid
    );
    assert_eq!(demo.delete("/v2.1/os-security-groups/123", None).await.assert_fault(400, "badRequest"), should_be_uuid);
    let r = demo.delete("/v2.1/os-security-group-rules/123", None).await;
    assert_eq!(r.assert_fault(400, "badRequest"), should_be_uuid);
    let unknown = uuid::Uuid::new_v4();
    demo.get(&format!("/v2.1/os-security-groups/{unknown}"), None).await.assert_fault(404, "itemNotFound");
}
both!(rules_and_ids_as_nova_checks_them);

async fn server_leaves_every_group(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "sg").await;
    let show = async || demo.get(&format!("/v2.1/servers/{id}"), None).await.body["server"].clone();
    assert_eq!(show().await["security_groups"], json!([{"name": "default"}]));
    let path = format!("/v2.1/servers/{id}/action");
    let act = async |body: Value| demo.post(&path, None, &body).await;

    assert_eq!(act(json!({"removeSecurityGroup": {"name": "default"}})).await.status, 202);
    let shown = show().await;
    assert!(shown.get("security_groups").is_none(), "{shown}");
    let listed = demo.get("/v2.1/servers/detail", None).await;
    assert!(listed.body["servers"][0].get("security_groups").is_none(), "{}", listed.body);
    let groups = demo.get(&format!("/v2.1/servers/{id}/os-security-groups"), None).await;
    assert_eq!(groups.body["security_groups"], json!([]));

    // Nova: a group the server is not in is a 404, one the project lacks too.
    let r = act(json!({"removeSecurityGroup": {"name": "default"}})).await;
    assert_eq!(
        r.assert_fault(404, "itemNotFound"),
        format!("Security group default not associated with the instance {id}")
    );
    act(json!({"removeSecurityGroup": {"name": "nope"}})).await.assert_fault(404, "itemNotFound");
    act(json!({"addSecurityGroup": {"name": "nope"}})).await.assert_fault(404, "itemNotFound");
    act(json!({"addSecurityGroup": {"name": ""}})).await.assert_fault(400, "badRequest");

    assert_eq!(act(json!({"addSecurityGroup": {"name": "default"}})).await.status, 202);
    assert_eq!(show().await["security_groups"], json!([{"name": "default"}]));
}
both!(server_leaves_every_group);

async fn admin_lists_every_projects_groups(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let body = json!({"security_group": {"name": "demo-group", "description": ""}});
    let theirs = demo.post("/v2.1/os-security-groups", None, &body).await.body["security_group"]["id"].clone();
    let body = json!({"security_group": {"name": "admin-group", "description": ""}});
    let mine = admin.post("/v2.1/os-security-groups", None, &body).await.body["security_group"]["id"].clone();
    let ids = |r: &crate::Reply| -> Vec<Value> {
        r.body["security_groups"].as_array().unwrap().iter().map(|g| g["id"].clone()).collect()
    };

    let all = ids(&admin.get("/v2.1/os-security-groups?all_tenants=true", None).await);
    assert!(all.contains(&theirs) && all.contains(&mine), "{all:?}");
    // Nova looks only at the parameter's presence.
    let all = ids(&admin.get("/v2.1/os-security-groups?all_tenants=0", None).await);
    assert!(all.contains(&theirs), "{all:?}");
    let own = ids(&admin.get("/v2.1/os-security-groups", None).await);
    assert!(own.contains(&mine) && !own.contains(&theirs), "{own:?}");
    // A member asking for all gets their own.
    let own = ids(&demo.get("/v2.1/os-security-groups?all_tenants=true", None).await);
    assert!(own.contains(&theirs) && !own.contains(&mine), "{own:?}");
}
both!(admin_lists_every_projects_groups);

async fn services_filtered_by_host_and_binary(server: &TestServer) {
    let admin = server.admin().await;
    for version in [None, Some("2.53")] {
        let list = async |query: &str| {
            let r = admin.get(&format!("/v2.1/os-services{query}"), version).await;
            assert_eq!(r.status, 200, "{query}: {}", r.body);
            r.body["services"].as_array().unwrap().clone()
        };
        let all = list("").await;
        assert!(all.len() > 1, "{all:?}");
        let host = all[0]["host"].as_str().unwrap().to_string();
        let on_host = list(&format!("?host={host}")).await;
        assert_eq!(on_host.len(), 1, "{on_host:?}");
        assert_eq!(on_host[0]["host"], host.as_str());
        assert_eq!(list("?binary=nova-compute").await.len(), all.len());
        assert_eq!(list(&format!("?host={host}&binary=nova-compute")).await.len(), 1);
        assert!(list(&format!("?host={host}&binary=xxx")).await.is_empty());
        assert!(list("?host=xxx&binary=nova-compute").await.is_empty());
        // An empty value filters nothing.
        assert_eq!(list("?host=&binary=").await.len(), all.len());
    }
}
both!(services_filtered_by_host_and_binary);
