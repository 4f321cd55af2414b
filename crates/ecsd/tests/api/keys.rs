//! Issue 16, keys part: ECDSA key pair import, Keystone's default roles
//! and role CRUD, and Nova's project-id URL segments.

use serde_json::json;

use crate::{TestServer, both};

// Made with `ssh-keygen -t ecdsa -b {256,384,521}`; fingerprints from
// `ssh-keygen -l -E md5 -f key.pub` (Nova's: MD5 of the key blob).
const ECDSA: [(&str, &str); 3] = [
    (
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WBAdZiv/R9LzIhFHto/OZOEOB7HB/yokCuqbUe61z5WVo= ecdsa256@ecsd",
        "b5:e5:f7:7c:a0:d5:7a:59:3b:bb:97:8d:0a:43:80:6e",
    ),
    (
        "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBIk0l4enVzayqBLsJMyGMG1Ktdol/YKpJKoNYlYS5FFx8ZFLx7PIrqROiQv9IRYtitqD/aiL8ZdMJakcYDfVRQn0V/oQTXpYWQj9i5PnhXJDlFxG+MPFh/CJXs8tF6RZWw== ecdsa384@ecsd",
        "11:f1:18:bb:c4:73:42:e8:28:16:f9:20:49:9a:1d:54",
    ),
    (
        "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAEdeff2duhg5tgHu/oicZDP+KIYro4TwAiykYsAgXPNM99MobrX/hUlcczZubYg4d12d6XMCIKYziM7oE4BDPo/3gD7sbXY2yeaov4WYK7SY2+nXxLcC3n568wQwQCiI0/+6I14Tx+JIwqwsoM+i4dFb3H2bLkyPpinCk85SrCm5Z/Qog== ecdsa521@ecsd",
        "d1:a6:90:60:f0:a6:71:76:d8:0c:21:98:51:ec:51:c8",
    ),
];

// Keys Nova's `cryptography` refuses, each a variant of the P-256 key above:
// the point's last byte flipped (off the curve), the point compressed, and
// the point labelled as a P-384 key.
const BAD_ECDSA: [&str; 3] = [
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WBAdZiv/R9LzIhFHto/OZOEOB7HB/yokCuqbUe61z5WVs= bad@ecsd",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAAAhAvQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WB bad@ecsd",
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABBBPQdbuKVdHkzUg+R8TGkAcIsUd2F5aRdA+lvBlzdc5WBAdZiv/R9LzIhFHto/OZOEOB7HB/yokCuqbUe61z5WVo= bad@ecsd",
];

async fn ecdsa_keys_import_on_every_curve(server: &TestServer) {
    let demo = server.demo().await;
    for (i, (key, fingerprint)) in ECDSA.iter().enumerate() {
        let body = json!({"keypair": {"name": format!("ec{i}"), "public_key": key}});
        let r = demo.post("/v2.1/os-keypairs", Some("2.2"), &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["keypair"]["fingerprint"], *fingerprint);
        assert_eq!(r.body["keypair"]["type"], "ssh");
        let shown = demo.get(&format!("/v2.1/os-keypairs/ec{i}"), None).await;
        assert_eq!(shown.body["keypair"]["public_key"], *key);
    }
    for key in BAD_ECDSA {
        let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "bad", "public_key": key}})).await;
        assert_eq!(r.assert_fault(400, "badRequest"), "Keypair data is invalid: failed to generate fingerprint");
    }
}
both!(ecdsa_keys_import_on_every_curve);

fn names(list: &serde_json::Value) -> Vec<&str> {
    let mut names: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    names
}

async fn keystone_default_roles_are_seeded_and_implied(server: &TestServer) {
    let admin = server.admin().await;
    let roles = admin.get("/identity/v3/roles", None).await;
    assert_eq!(names(&roles.body["roles"]), ["admin", "manager", "member", "reader", "service"]);
    // The admin token carries the roles `admin` implies, as Keystone's do.
    let token = server.password_auth("admin", "admin", Some("admin")).await;
    assert_eq!(names(&token.body["token"]["roles"]), ["admin", "manager", "member", "reader"]);

    // Deleted, a default role comes back at the next seed (as on a database
    // seeded before `manager` and `service` existed); seeding twice adds nothing.
    let manager = admin.get("/identity/v3/roles?name=manager", None).await.body["roles"][0]["id"].clone();
    let r = admin.delete(&format!("/identity/v3/roles/{}", manager.as_str().unwrap()), None).await;
    assert_eq!(r.status, 204);
    server.core().seed(&Default::default()).await.unwrap();
    server.core().seed(&Default::default()).await.unwrap();
    let roles = admin.get("/identity/v3/roles", None).await;
    assert_eq!(names(&roles.body["roles"]), ["admin", "manager", "member", "reader", "service"]);
}
both!(keystone_default_roles_are_seeded_and_implied);

/// A new user of the demo project holding only `role`.
async fn user_holding<'a>(server: &'a TestServer, name: &str, role: &str) -> crate::Session<'a> {
    let admin = server.admin().await;
    let user = admin.post("/identity/v3/users", None, &json!({"user": {"name": name, "password": "pw"}})).await;
    assert_eq!(user.status, 201, "{}", user.body);
    let role_id = admin.get(&format!("/identity/v3/roles?name={role}"), None).await.body["roles"][0]["id"].clone();
    let grant = format!(
        "/identity/v3/projects/{}/users/{}/roles/{}",
        server.demo_project_id(),
        user.body["user"]["id"].as_str().unwrap(),
        role_id.as_str().unwrap()
    );
    assert_eq!(admin.put(&grant, None, &json!(null)).await.status, 204);
    server.login(name, "pw", "demo").await
}

async fn manager_acts_as_member_and_service_does_not(server: &TestServer) {
    let manager = user_holding(server, "boss", "manager").await;
    let token = server.password_auth("boss", "pw", Some("demo")).await;
    assert_eq!(names(&token.body["token"]["roles"]), ["manager", "member", "reader"]);
    let key = json!({"keypair": {"name": "k", "public_key": ECDSA[0].0}});
    assert_eq!(manager.post("/v2.1/os-keypairs", None, &key).await.status, 200);

    let service = user_holding(server, "cinder", "service").await;
    let token = server.password_auth("cinder", "pw", Some("demo")).await;
    assert_eq!(names(&token.body["token"]["roles"]), ["service"]);
    service.post("/v2.1/os-keypairs", None, &key).await.assert_fault(403, "forbidden");
}
both!(manager_acts_as_member_and_service_does_not);

async fn keystone_role_crud(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let body = json!({"role": {"name": "auditor", "description": "Looks at things"}});
    let r = demo.post("/identity/v3/roles", None, &body).await;
    assert_eq!(r.status, 403, "{}", r.body);

    let r = admin.post("/identity/v3/roles", None, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let role = r.body["role"].clone();
    let id = role["id"].as_str().unwrap();
    assert_eq!((role["name"].as_str(), role["description"].as_str()), (Some("auditor"), Some("Looks at things")));
    assert_eq!(role["domain_id"], json!(null));
    assert!(role["links"]["self"].as_str().unwrap().ends_with(&format!("/identity/v3/roles/{id}")));

    let dup = admin.post("/identity/v3/roles", None, &json!({"role": {"name": "auditor"}})).await;
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.body["error"]["message"],
        "Conflict occurred attempting to store role - Duplicate entry found with name auditor."
    );
    assert_eq!(dup.body["error"]["title"], "Conflict");
    let r = admin.post("/identity/v3/roles", None, &json!({"role": {"description": "x"}})).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let listed = admin.get("/identity/v3/roles?name=auditor", None).await;
    assert_eq!(listed.body["roles"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["roles"][0]["id"], id);
    let shown = demo.get(&format!("/identity/v3/roles/{id}"), None).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["role"], role);

    let path = format!("/identity/v3/roles/{id}");
    let patch = |body: serde_json::Value| {
        let path = path.clone();
        let admin = &admin;
        async move { admin.nova(reqwest::Method::PATCH, &path, None, Some(&body)).await }
    };
    let r = patch(json!({"role": {"name": "inspector", "description": null}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["role"]["name"].as_str(), &r.body["role"]["description"]), (Some("inspector"), &json!(null)));
    assert_eq!(patch(json!({"role": {}})).await.status, 400);
    let taken = patch(json!({"role": {"name": "member"}})).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    let r = demo.nova(reqwest::Method::PATCH, &path, None, Some(&json!({"role": {"name": "x"}}))).await;
    assert_eq!(r.status, 403);

    // Deleting a role removes its assignments.
    let grant = format!("/identity/v3/projects/{}/users/{}/roles/{id}", demo.project_id, demo.user_id);
    assert_eq!(admin.put(&grant, None, &json!(null)).await.status, 204);
    assert_eq!(demo.delete(&path, None).await.status, 403);
    assert_eq!(admin.delete(&path, None).await.status, 204);
    let assignments = admin.get(&format!("/identity/v3/role_assignments?user.id={}", demo.user_id), None).await;
    assert!(assignments.body["role_assignments"].as_array().unwrap().iter().all(|a| a["role"]["id"] != id));
    let gone = admin.get(&path, None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["error"]["message"], format!("Could not find role: {id}."));
    assert_eq!(admin.delete(&path, None).await.status, 404);
    // The demo user's token still works, with the roles it still holds.
    assert_eq!(demo.get("/v2.1/os-keypairs", None).await.status, 200);
}
both!(keystone_role_crud);

async fn only_hex_segments_are_project_ids(server: &TestServer) {
    let admin = server.admin().await;
    // Not a project id (Nova's `[0-9a-f-]+`): a route, or a 404 in Nova's words.
    for path in ["/v2.1/os-simulator", "/v2/os-simulator"] {
        let r = admin.get(path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body["simulator"].is_object(), "{path}: {}", r.body);
    }
    for path in ["/v2/word", "/v2.1/word", "/v2.1/word/servers", "/v2/Deadbeef/servers", "/v2.1/os-nothing"] {
        let r = admin.get(path, None).await;
        assert_eq!(r.assert_fault(404, "itemNotFound"), "The resource could not be found.", "{path}");
    }
    // A project id: the version document, or the route under it for the
    // token's own project, a malformed URL for another.
    let own = server.admin_project_id();
    assert_eq!(admin.get(&format!("/v2.1/{own}"), None).await.body["version"]["id"], "v2.1");
    assert_eq!(admin.get(&format!("/v2/{own}/servers"), None).await.status, 200);
    assert_eq!(admin.get(&format!("/v2.1/{own}/os-simulator"), None).await.status, 200);
    let r = admin.get("/v2.1/deadbeef-0000/servers", None).await;
    assert!(r.assert_fault(400, "badRequest").starts_with("Malformed request URL: URL's project_id 'deadbeef-0000'"));
}
both!(only_hex_segments_are_project_ids);

async fn services_report_server_events(server: &TestServer) {
    let demo = server.demo().await;
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "ev", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;

    // The `service` role of another project, or admin, may report; a member may not.
    let events = json!({"events": [{"name": "network-changed", "server_uuid": id}]});
    let r = demo.post("/v2.1/os-server-external-events", None, &events).await;
    assert_eq!(
        r.assert_fault(403, "forbidden"),
        "Policy doesn't allow os_compute_api:os-server-external-events:create to be performed."
    );
    let neutron = user_holding(server, "neutron", "service").await;
    let r = neutron.post("/v2.1/os-server-external-events", None, &events).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"events": [{"name": "network-changed", "server_uuid": id, "status": "completed", "code": 200}]})
    );

    // Per event: an unknown server is 404, a missing tag 400; any failure makes it 207.
    let admin = server.admin().await;
    let unknown = "8b0c8f1e-4a5c-4a40-9d5e-7c1b3f2a0e11";
    let events = json!({"events": [
        {"name": "network-vif-plugged", "server_uuid": id, "tag": "port", "status": "in-progress"},
        {"name": "network-changed", "server_uuid": unknown},
        {"name": "volume-extended", "server_uuid": id},
    ]});
    let r = admin.post("/v2.1/os-server-external-events", Some("2.51"), &events).await;
    assert_eq!(r.status, 207, "{}", r.body);
    let codes: Vec<_> =
        r.body["events"].as_array().unwrap().iter().map(|e| (e["code"].clone(), e["status"].clone())).collect();
    assert_eq!(codes, [(json!(200), json!("completed")), (json!(404), json!("failed")), (json!(400), json!("failed"))]);
    assert_eq!(r.body["events"][0]["tag"], "port");

    // The schema of each microversion.
    let r = admin.post("/v2.1/os-server-external-events", Some("2.50"), &events).await;
    assert!(
        r.assert_fault(400, "badRequest")
            .starts_with("Invalid input for field/attribute name. Value: volume-extended.")
    );
    for bad in [
        json!({"events": []}),
        json!({"events": [{"name": "network-changed"}]}),
        json!({"events": [{"name": "network-changed", "server_uuid": "nope"}]}),
        json!({"events": [{"name": "network-changed", "server_uuid": id, "extra": 1}]}),
        json!({"events": [{"name": "network-changed", "server_uuid": id, "status": "done"}]}),
    ] {
        let r = admin.post("/v2.1/os-server-external-events", None, &bad).await;
        r.assert_fault(400, "badRequest");
    }
}
both!(services_report_server_events);
