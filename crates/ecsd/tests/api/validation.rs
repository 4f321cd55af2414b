//! Hostile input (issue 14): wrong-typed and oversized bodies and junk
//! list queries are refused in the dialect's own format, never coerced,
//! defaulted or ignored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, both};

// --- Keystone bodies ----------------------------------------------------------

async fn keystone_user_and_project_bodies_are_validated(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let long = |n: usize| "x".repeat(n);
    let refused: Vec<(&str, Value, &str)> = vec![
        ("users", json!({"user": {"name": 123}}), "123 is not of type 'string'"),
        ("users", json!({"user": {"name": ""}}), "is too short"),
        ("users", json!({"user": {"name": "   "}}), "does not match"),
        ("users", json!({"user": {"name": long(100_000)}}), "is too long"),
        ("users", json!({"user": {"name": "u1", "domain_id": 0}}), "0 is not of type 'string'"),
        ("users", json!({"user": {"name": "u1", "domain_id": long(65)}}), "is too long"),
        ("users", json!({"user": {"name": "u1", "default_project_id": ["p"]}}), "is not of type 'string'"),
        ("users", json!({"user": {"name": "u1", "default_project_id": long(65)}}), "is too long"),
        ("users", json!({"user": {"name": "u1", "enabled": "NaN"}}), "is not of type 'boolean'"),
        ("users", json!({"user": {"name": "u1", "enabled": null}}), "None is not of type 'boolean'"),
        ("users", json!({"user": {"name": "u1", "email": 5}}), "5 is not of type 'string'"),
        ("users", json!({"user": {"name": "u1", "description": {}}}), "is not of type 'string'"),
        ("users", json!({"user": {"name": "u1"}, "junk": 1}), "Additional properties are not allowed"),
        ("users", json!({"user": "u1"}), "'u1' is not of type 'object'"),
        ("users", json!({}), "'user' is a required property"),
        ("projects", json!({"project": {"name": 1}}), "1 is not of type 'string'"),
        ("projects", json!({"project": {"name": long(65)}}), "is too long"),
        ("projects", json!({"project": {"name": long(100_000)}}), "is too long"),
        ("projects", json!({"project": {"name": "p1", "description": 0}}), "0 is not of type 'string'"),
        ("projects", json!({"project": {"name": "p1", "description": long(256)}}), "is too long"),
        ("projects", json!({"project": {"name": "p1", "enabled": 1}}), "1 is not of type 'boolean'"),
        ("projects", json!({"project": {"name": "p1", "is_domain": "false"}}), "is not of type 'boolean'"),
        ("projects", json!({"project": {"name": "p1", "parent_id": "../x"}}), "does not match"),
        ("projects", json!({"project": {"name": "p1", "domain_id": false}}), "is not of type 'string'"),
        ("projects", json!({"project": {"name": "p1", "tags": ["a/b"]}}), "does not match"),
        ("projects", json!({"project": {"name": "p1", "tags": "a"}}), "is not of type 'array'"),
    ];
    for (collection, body, message) in refused {
        let r = server.send(Method::POST, &format!("/identity/v3/{collection}"), &h, Some(&body)).await;
        assert_eq!(r.status, 400, "{collection} {body:.200}: {:.300}", r.body);
        assert_eq!(r.body["error"]["title"], "Bad Request");
        let text = r.body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{collection} {body:.200}: {text:.300}");
    }
    // `domain_id: 0` was once taken for the default domain: nothing was stored.
    let users = server.send(Method::GET, "/identity/v3/users?name=u1", &h, None).await;
    assert_eq!(users.body["users"], json!([]));
    let projects = server.send(Method::GET, "/identity/v3/projects?name=p1", &h, None).await;
    assert_eq!(projects.body["projects"], json!([]));

    // An unknown domain is Keystone's 404; the default one and the limits themselves are fine.
    let body = json!({"user": {"name": "u1", "domain_id": "elsewhere"}});
    let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&body)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["message"], "Could not find domain: elsewhere.");
    let body =
        json!({"user": {"name": long(255), "domain_id": "default", "enabled": false, "email": "a@b", "colour": [1]}});
    let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["enabled"], false);
    let body =
        json!({"project": {"name": long(64), "description": null, "domain_id": "default", "parent_id": "default"}});
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let body = json!({"project": {"name": "nested", "parent_id": server.demo_project_id()}});
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let credentials = format!("/identity/v3/users/{}/credentials/OS-EC2", admin.user_id);
    let r = server.send(Method::POST, &credentials, &h, Some(&json!({"tenant_id": 0}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["error"]["message"],
        "Invalid input for field/attribute tenant_id. Value: 0. 0 is not of type 'string'"
    );
}
both!(keystone_user_and_project_bodies_are_validated);

async fn keystone_auth_bodies_are_validated(server: &TestServer) {
    let user = |u: Value| json!({"auth": {"identity": {"methods": ["password"], "password": {"user": u}}}});
    let good_user = json!({"name": "demo", "domain": {"id": "default"}, "password": "demo"});
    let with_scope = |scope: Value| {
        let mut body = user(good_user.clone());
        body["auth"]["scope"] = scope;
        body
    };
    let refused: Vec<(Value, &str)> = vec![
        (json!({}), "Expecting to find auth in request body."),
        (json!({"auth": null}), "Expecting to find auth in request body."),
        (json!({"auth": 5}), "5 is not of type 'object'"),
        (json!({"auth": {}}), "'identity' is a required property"),
        (
            json!({"auth": {"identity": {"methods": "password"}}}),
            "Invalid input for field 'identity/methods': 'password' is not of type 'array'",
        ),
        (json!({"auth": {"identity": {"methods": [["password"]]}}}), "Invalid input for field 'identity/methods/0'"),
        (json!({"auth": {"identity": {"methods": ["password"]}}}), "Expecting to find password in identity."),
        (
            user(json!({"name": 1, "domain": {"id": "default"}, "password": "demo"})),
            "Invalid input for field 'identity/password/user/name': 1 is not of type 'string'",
        ),
        (
            user(json!({"name": "demo", "domain": {"id": "default"}, "password": 0})),
            "Invalid input for field 'identity/password/user/password': 0 is not of type 'string'",
        ),
        (
            user(json!({"name": "demo", "domain": "default", "password": "demo"})),
            "Invalid input for field 'identity/password/user/domain'",
        ),
        (user(json!({"name": "demo", "domain": {}, "password": "demo"})), "id or name must be present."),
        (
            user(json!({"password": "demo"})),
            "Invalid input for field 'identity/password/user': id or name must be present.",
        ),
        (user(json!({"name": "demo", "password": "demo"})), "Expecting to find domain in user."),
        (user(json!("demo")), "'demo' is not of type 'object'"),
        (
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": 1}}}}),
            "Invalid input for field 'identity/token/id'",
        ),
        (json!({"auth": {"identity": {"methods": ["token"], "token": {}}}}), "'id' is a required property"),
        (with_scope(json!(null)), "None is not of type 'object', 'string'"),
        (with_scope(json!(7)), "7 is not of type 'object', 'string'"),
        (
            with_scope(json!("sideways")),
            "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope.",
        ),
        (with_scope(json!({})), "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope."),
        (
            with_scope(json!({"project": "demo"})),
            "Invalid input for field 'scope/project': 'demo' is not of type 'object'",
        ),
        (with_scope(json!({"project": {"name": ["demo"]}})), "Invalid input for field 'scope/project/name'"),
        (with_scope(json!({"project": {"name": "demo"}})), "Expecting to find domain in project."),
        (with_scope(json!({"project": {}})), "id or name must be present."),
    ];
    for (body, message) in refused {
        let r = server.send(Method::POST, "/v3/auth/tokens", &[], Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["title"], "Bad Request", "{body}");
        let text = r.body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text}");
        assert!(r.header("x-subject-token").is_none());
    }
    // No password, an unknown method: failed logins, never an empty password's success.
    let r = server
        .send(Method::POST, "/v3/auth/tokens", &[], Some(&user(json!({"name": "demo", "domain": {"id": "default"}}))))
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let body = json!({"auth": {"identity": {"methods": ["totp"], "totp": {}}}});
    assert_eq!(server.send(Method::POST, "/v3/auth/tokens", &[], Some(&body)).await.status, 401);
    // The old keystoneauth's unscoped form still works.
    let r = server.send(Method::POST, "/v3/auth/tokens", &[], Some(&with_scope(json!({"unscoped": {}})))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["token"].get("project").is_none());
}
both!(keystone_auth_bodies_are_validated);

// --- list query junk ----------------------------------------------------------

/// `limit` junk every paging route refuses.
const LIMIT_JUNK: &[&str] = &["limit=-1", "limit=abc", "limit=100000000000000000000", "limit=1.5"];
/// What a strict (2.75-style) route refuses besides: parameters it does not know.
const UNKNOWN_JUNK: &[&str] = &["sort_dir=sideways", "marker=junk&limit=1", "bogus=1"];

async fn boot(s: &crate::Session<'_>) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "junk", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn nova_list_routes_refuse_junk_queries(server: &TestServer) {
    let admin = server.admin().await;
    let id = boot(&admin).await;
    let attachments = format!("/servers/{id}/os-volume_attachments");
    let actions = format!("/servers/{id}/os-instance-actions");
    let offset_junk: Vec<&str> = LIMIT_JUNK.iter().copied().chain(["offset=-1", "offset=x"]).collect();
    let marker_junk: Vec<&str> = LIMIT_JUNK.iter().copied().chain(["marker=junk"]).collect();
    let strict_offset: Vec<&str> = offset_junk.iter().copied().chain(UNKNOWN_JUNK.iter().copied()).collect();
    let strict_marker: Vec<&str> =
        marker_junk.iter().copied().chain(["sort_dir=sideways", "offset=1", "bogus=1"]).collect();
    // (route, microversion, the junk it refuses)
    let table: Vec<(&str, &str, &[&str])> = vec![
        ("/servers", "2.1", &marker_junk),
        ("/servers/detail", "2.1", &marker_junk),
        ("/flavors", "2.1", &marker_junk),
        ("/flavors/detail", "2.1", &marker_junk),
        ("/os-keypairs", "2.35", &marker_junk),
        ("/images", "2.1", &marker_junk),
        ("/images/detail", "2.1", &marker_junk),
        ("/os-server-groups", "2.1", &offset_junk),
        ("/os-server-groups", "2.75", &strict_offset),
        ("/os-volumes", "2.1", &offset_junk),
        ("/os-volumes/detail", "2.1", &offset_junk),
        ("/os-snapshots", "2.1", &offset_junk),
        ("/os-snapshots/detail", "2.1", &offset_junk),
        ("/os-security-groups", "2.1", &offset_junk),
        (&attachments, "2.1", &offset_junk),
        (&attachments, "2.75", &strict_offset),
        ("/os-hypervisors", "2.33", &strict_marker),
        ("/os-hypervisors/detail", "2.53", &strict_marker),
        (&actions, "2.58", &strict_marker),
        ("/os-services", "2.75", &["limit=1", "sort_dir=sideways", "bogus=1"]),
        ("/limits", "2.75", &["limit=1", "sort_dir=sideways", "bogus=1"]),
    ];
    for (route, version, junk) in table {
        for query in junk {
            let r = admin.get(&format!("/v2.1{route}?{query}"), Some(version)).await;
            assert_eq!(r.status, 400, "{route}?{query} at {version}: {}", r.body);
            assert_eq!(r.body["badRequest"]["code"], 400, "{route}?{query} at {version}: {}", r.body);
        }
        // The route still lists with a sane query.
        let r = admin.get(&format!("/v2.1{route}?limit=1"), Some(version)).await;
        let expected = if matches!(route, "/os-services" | "/limits") { 400 } else { 200 };
        assert_eq!(r.status, expected, "{route}?limit=1 at {version}: {}", r.body);
    }
    for query in ["with_servers=maybe", "hypervisor_hostname_pattern=x&limit=1"] {
        let r = admin.get(&format!("/v2.1/os-hypervisors?{query}"), Some("2.53")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
    }
    // A pattern that matches no hypervisor is Nova's 404, not an empty list.
    let r = admin.get("/v2.1/os-hypervisors?hypervisor_hostname_pattern=no-such-host", Some("2.53")).await;
    assert_eq!(r.assert_fault(404, "itemNotFound"), "No hypervisor matching 'no-such-host' could be found.");
    // Lax routes ignore what they do not know, as Nova does.
    for route in [
        "/os-server-groups?sort_dir=sideways",
        "/os-hypervisors?marker=junk",
        "/os-services?bogus=1",
        "/limits?bogus=1",
    ] {
        assert_eq!(admin.get(&format!("/v2.1{route}"), Some("2.1")).await.status, 200, "{route}");
    }
    // Paging works: offset, and a marker that names an image.
    for name in ["g1", "g2", "g3"] {
        let body = json!({"server_group": {"name": name, "policies": ["anti-affinity"]}});
        assert_eq!(admin.post("/v2.1/os-server-groups", None, &body).await.status, 200);
    }
    let all = admin.get("/v2.1/os-server-groups", None).await.body["server_groups"].as_array().unwrap().len();
    let page = admin.get("/v2.1/os-server-groups?limit=1&offset=1", None).await;
    assert_eq!(page.body["server_groups"].as_array().unwrap().len(), 1);
    let past = admin.get(&format!("/v2.1/os-server-groups?offset={all}"), None).await;
    assert_eq!(past.body["server_groups"], json!([]));
    let images = admin.get("/v2.1/images", None).await.body["images"].as_array().unwrap().clone();
    let first = images[0]["id"].as_str().unwrap();
    let after = admin.get(&format!("/v2.1/images?marker={first}"), None).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["images"].as_array().unwrap().len(), images.len() - 1);
}
both!(nova_list_routes_refuse_junk_queries);

async fn ecs_list_routes_refuse_junk_queries(server: &TestServer) {
    let demo = server.demo().await;
    let project = server.demo_project_id();
    let detail = format!("/v1/{project}/cloudservers/detail");
    let groups = format!("/v1/{project}/cloudservers/os-server-groups");
    let table: Vec<(&str, Vec<&str>)> = vec![
        (&detail, [LIMIT_JUNK, &["limit=0", "limit=1001", "offset=-1", "offset=abc", "offset=1e3"]].concat()),
        (&groups, [LIMIT_JUNK, &["limit=0", "limit=1001", "marker=junk", "limit=1&marker=junk"]].concat()),
    ];
    for (route, junk) in table {
        for query in junk {
            let r = demo.get(&format!("{route}?{query}"), None).await;
            assert_eq!(r.status, 400, "{route}?{query}: {}", r.body);
            assert_eq!(r.body["error"]["code"], "Ecs.0005", "{route}?{query}: {}", r.body);
        }
    }
    // A page number far past the end is an empty page, not an overflow.
    let r = demo.get(&format!("{detail}?limit=1000&offset=18446744073709551615"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["servers"], json!([]));
}
both!(ecs_list_routes_refuse_junk_queries);

// --- wrong-typed Nova and ECS bodies ---------------------------------------------

async fn nova_and_ecs_bodies_refuse_wrong_types(server: &TestServer) {
    let demo = server.demo().await;
    let nova: Vec<(&str, Value)> = vec![
        ("/os-server-groups", json!({"server_group": {"name": 123, "policies": ["affinity"]}})),
        ("/os-server-groups", json!({"server_group": {"name": "g", "policies": "affinity"}})),
        ("/os-keypairs", json!({"keypair": {"name": 123}})),
        ("/servers", json!({"server": {"name": 123, "flavorRef": "m1.tiny", "imageRef": "x", "networks": "none"}})),
        ("/os-volumes", json!({"volume": {"size": "big"}})),
        ("/os-volumes", json!({"volume": {"size": 1, "display_name": 5}})),
    ];
    for (route, body) in nova {
        let r = demo.post(&format!("/v2.1{route}"), Some("2.1"), &body).await;
        assert_eq!(r.status, 400, "{route} {body}: {}", r.body);
        let message = r.body["badRequest"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("Invalid input for field/attribute"), "{route} {body}: {message}");
    }
    let project = server.demo_project_id();
    let admin = server.admin().await;
    let quotas = format!("/v2.1/os-quota-sets/{project}");
    for set in [
        json!(5),
        json!({"cores": "1.5"}),
        json!({"cores": 2_147_483_648i64}),
        json!({"cores": -2}),
        json!({"cores": [1]}),
    ] {
        let r = admin.put(&quotas, None, &json!({"quota_set": set})).await;
        assert_eq!(r.status, 400, "{set}: {}", r.body);
        assert!(r.body["badRequest"]["message"].as_str().unwrap().starts_with("Invalid input for field/attribute"));
    }
    let r = admin.put(&quotas, None, &json!({"quota_set": {"cores": "-1"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = boot(&demo).await;
    let (network, subnet) = {
        let store = server.core().store_for_tests();
        let network = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap();
        let subnet = store.subnet_list(&network.id).await.unwrap().remove(0);
        (network.id, subnet.id)
    };
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let create = |extra: Value| {
        let mut body = json!({"server": {"name": "typed", "imageRef": image, "flavorRef": "s3.small.1", "vpcid": network,
            "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"}}});
        for (k, v) in extra.as_object().unwrap() {
            body["server"][k] = v.clone();
        }
        body
    };
    let ecs: Vec<(String, Value, &str)> = vec![
        (
            format!("/v1/{project}/cloudservers/action"),
            json!({"os-stop": {"type": 5, "servers": [{"id": id}]}}),
            "type",
        ),
        (
            format!("/v1/{project}/cloudservers/os-server-groups"),
            json!({"server_group": {"name": 5, "policies": ["anti-affinity"]}}),
            "name",
        ),
        (
            format!("/v1.1/{project}/cloudservers"),
            create(json!({"extendparam": {"chargingMode": ["prePaid"]}})),
            "chargingMode",
        ),
        (
            format!("/v1/{project}/cloudservers"),
            create(json!({"server_tags": [{"key": "k", "value": 7}]})),
            "server_tags",
        ),
    ];
    for (route, body, field) in ecs {
        let r = demo.post(&route, None, &body).await;
        assert_eq!(r.status, 400, "{route} {body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "Ecs.0005", "{route} {body}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{route} {body}: {message}");
    }
    // The stop was refused, not taken for a soft one.
    assert_eq!(demo.get(&format!("/v2.1/servers/{id}"), None).await.body["server"]["status"], "ACTIVE");
}
both!(nova_and_ecs_bodies_refuse_wrong_types);
