//! Resize, rebuild, passwords, key pairs, consoles and the UStack extras
//! through the Nova API.

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str, flavor: &str, key_name: Option<&str>) -> String {
    let store = &s.server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
    let network = store.network_list().await.unwrap().remove(0).id;
    let mut body = json!({"server": {"name": name, "flavorRef": flavor, "imageRef": image,
        "networks": [{"uuid": network}]}});
    if let Some(k) = key_name {
        body["server"]["key_name"] = json!(k);
    }
    let r = s.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn act(s: &Session<'_>, id: &str, version: &str, body: Value) -> crate::Reply {
    s.post(&format!("/v2.1/servers/{id}/action"), Some(version), &body).await
}

/// Guests of `id` on all simulated hosts.
async fn guest_hosts(server: &TestServer, id: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    for driver in server.core().drivers_for_tests().all() {
        if driver.info(id).await.unwrap().is_some() {
            hosts.push(driver.host().to_string());
        }
    }
    hosts
}

async fn cores_in_use(admin: &Session<'_>, project: &str) -> i64 {
    let q = admin.get(&format!("/v2.1/os-quota-sets/{project}/detail"), None).await;
    q.body["quota_set"]["cores"]["in_use"].as_i64().unwrap()
}

async fn last_action(s: &Session<'_>, id: &str) -> Value {
    let r = s.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    r.body["instanceActions"][0].clone()
}

async fn resize_confirm_and_revert(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let id = boot(&demo, "rs", "s3.small.1", None).await;
    let before = admin.get(&format!("/v2.1/servers/{id}"), Some("2.47")).await.body["server"].clone();
    let source = before["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string();
    assert_eq!(cores_in_use(&admin, &project).await, 1);

    // Same flavor, unknown flavor, smaller disk to zero: refused up front.
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "s3.small.1"}})).await;
    assert!(r.assert_fault(400, "badRequest").contains("must change flavor"), "{}", r.body);
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "nope"}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&demo, &id, "2.1", json!({"resize": {}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&demo, &id, "2.1", json!({"confirmResize": null})).await;
    r.assert_fault(409, "conflictingRequest");

    // Up to 2 vCPUs: VERIFY_RESIZE on the new flavor, both claims held.
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "s3.large.2"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.wait_status(&id, "VERIFY_RESIZE").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "resized");
    assert_eq!(s["flavor"]["original_name"], "s3.large.2");
    assert_eq!(s["flavor"]["vcpus"], 2);
    assert_eq!(cores_in_use(&admin, &project).await, 2, "the larger flavor counts during the window");
    let used: i64 = server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 3, "old and new claims are both held");
    let a = last_action(&demo, &id).await;
    assert_eq!(a["action"], "resize");
    let events = demo
        .get(&format!("/v2.1/servers/{id}/os-instance-actions/{}", a["request_id"].as_str().unwrap()), Some("2.51"))
        .await;
    let names: Vec<&str> = events.body["instanceAction"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"compute_prep_resize") && names.contains(&"compute_finish_resize"), "{names:?}");

    // Confirm: ACTIVE on the new flavor, the old claim and guest gone.
    let r = act(&demo, &id, "2.1", json!({"confirmResize": null})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["flavor"]["original_name"], "s3.large.2");
    assert_eq!(cores_in_use(&admin, &project).await, 2);
    let used: i64 = server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 2);
    let dest = admin.get(&format!("/v2.1/servers/{id}"), Some("2.1")).await.body["server"]["OS-EXT-SRV-ATTR:host"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(guest_hosts(server, &id).await, vec![dest.clone()]);

    // Down again, then revert: back to s3.large.2 on the host it was on.
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "s3.medium.2"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(&id, "VERIFY_RESIZE").await;
    assert_eq!(cores_in_use(&admin, &project).await, 2);
    let r = act(&demo, &id, "2.1", json!({"revertResize": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["flavor"]["original_name"], "s3.large.2");
    assert_eq!(s["OS-EXT-SRV-ATTR:host"], dest.as_str());
    assert_eq!(s["OS-EXT-STS:power_state"], 1);
    assert_eq!(guest_hosts(server, &id).await, vec![dest.clone()]);
    let used: i64 = server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 2);
    assert!(!source.is_empty());

    // A local disk never shrinks (m1.small has 20 GB): Nova rolls back.
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "m1.small"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    let a = last_action(&demo, &id).await;
    assert_eq!(a["action"], "resize");
    assert_eq!(a["message"], "Error");
    assert_eq!(cores_in_use(&admin, &project).await, 2);
    let s = demo.get(&format!("/v2.1/servers/{id}"), Some("2.47")).await;
    assert_eq!(s.body["server"]["flavor"]["original_name"], "s3.large.2");

    // Quota: an upsize beyond the cores limit is 403.
    let r = admin.put(&format!("/v2.1/os-quota-sets/{project}"), None, &json!({"quota_set": {"cores": 3}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "s3.xlarge.2"}})).await;
    assert!(r.assert_fault(403, "forbidden").contains("Quota exceeded for cores"), "{}", r.body);

    // A stopped server stays stopped through resize and confirm.
    let r = act(&demo, &id, "2.1", json!({"os-stop": null})).await;
    assert_eq!(r.status, 202);
    demo.wait_status(&id, "SHUTOFF").await;
    let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "s3.medium.4"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.wait_status(&id, "VERIFY_RESIZE").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 4);
    // Deleting in VERIFY_RESIZE removes both guests and both claims.
    let r = demo.delete(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(r.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    assert!(guest_hosts(server, &id).await.is_empty());
    let used: i64 = server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 0);
    assert_eq!(cores_in_use(&admin, &project).await, 0);
}
both!(resize_confirm_and_revert);

async fn rebuild(server: &TestServer) {
    let demo = server.demo().await;
    let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "rk"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = boot(&demo, "rb", "s3.small.1", None).await;
    let image = demo.get(&format!("/v2.1/servers/{id}"), None).await.body["server"]["image"]["id"].clone();
    // 2.98 embeds the image's properties.
    let admin = server.admin().await;
    let meta = json!({"metadata": {"os_distro": "cirros"}});
    let r = admin.post(&format!("/v2.1/images/{}/metadata", image.as_str().unwrap()), Some("2.35"), &meta).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = demo.get(&format!("/v2.1/servers/{id}"), Some("2.98")).await;
    assert_eq!(s.body["server"]["image"]["properties"]["os_distro"], "cirros", "{}", s.body);
    let s = demo.get(&format!("/v2.1/servers/{id}"), Some("2.97")).await;
    assert!(s.body["server"]["image"].get("properties").is_none());
    let user_data = "I2Nsb3VkLWNvbmZpZwo=";

    // Fields beyond the microversion are refused.
    let body = json!({"rebuild": {"imageRef": image, "key_name": "rk"}});
    act(&demo, &id, "2.53", body).await.assert_fault(400, "badRequest");
    let body = json!({"rebuild": {"imageRef": "00000000-0000-0000-0000-000000000000"}});
    act(&demo, &id, "2.1", body).await.assert_fault(400, "badRequest");
    let body = json!({"rebuild": {"imageRef": image, "key_name": "missing"}});
    act(&demo, &id, "2.54", body).await.assert_fault(400, "badRequest");

    let body = json!({"rebuild": {"imageRef": image, "name": "rebuilt", "metadata": {"a": "b"},
        "adminPass": "Secret-123", "key_name": "rk", "user_data": user_data, "description": "again",
        "preserve_ephemeral": false}});
    let r = act(&demo, &id, "2.57", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = &r.body["server"];
    assert_eq!(s["status"], "REBUILD");
    assert_eq!(s["adminPass"], "Secret-123");
    assert_eq!(s["name"], "rebuilt");
    assert_eq!(s["metadata"], json!({"a": "b"}));
    assert!(s.get("OS-EXT-STS:vm_state").is_none(), "before 2.75 the extended attributes are left out: {s}");
    assert_eq!(s["key_name"], "rk", "rebuild shows key_name from 2.54: {s}");
    assert_eq!(s["user_data"], user_data, "and user_data from 2.57: {s}");
    assert!(s.get("OS-EXT-SRV-ATTR:user_data").is_none());
    assert!(s["addresses"]["default-net"][0].get("OS-EXT-IPS:type").is_none());
    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["key_name"], "rk");
    assert_eq!(s["description"], "again");
    let a = last_action(&demo, &id).await;
    assert_eq!(a["action"], "rebuild");
    let console = act(&demo, &id, "2.1", json!({"os-getConsoleOutput": {}})).await;
    let text = console.body["output"].as_str().unwrap();
    assert!(text.contains("1 ssh key(s), user-data given"), "{text}");

    // 2.75: the full server; a stopped server comes back stopped; key_name null removes it.
    assert_eq!(act(&demo, &id, "2.1", json!({"os-stop": null})).await.status, 202);
    demo.wait_status(&id, "SHUTOFF").await;
    let r = act(&demo, &id, "2.75", json!({"rebuild": {"imageRef": image, "key_name": null}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["server"]["OS-EXT-STS:task_state"], "rebuilding");
    assert!(r.body["server"]["adminPass"].as_str().unwrap().len() >= 8);
    let s = demo.wait_status(&id, "SHUTOFF").await;
    assert_eq!(s["key_name"], Value::Null);

    // An ERROR server may be rebuilt.
    let other =
        admin.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-resetState": {"state": "error"}})).await;
    assert_eq!(other.status, 202);
    let r = act(&demo, &id, "2.1", json!({"rebuild": {"imageRef": image}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(&id, "ACTIVE").await;
}
both!(rebuild);

/// Decrypts what os-server-password holds with the key pair's private key,
/// as `nova get-password` does (openssl, PKCS#1 v1.5).
fn decrypt(private_pem: &str, sealed: &str) -> String {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let data = dir.path().join("data");
    std::fs::write(&key, private_pem).unwrap();
    std::fs::write(&data, base64::engine::general_purpose::STANDARD.decode(sealed).unwrap()).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkeyutl", "-decrypt", "-pkeyopt", "rsa_padding_mode:pkcs1", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn passwords_keys_and_consoles(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "main"}})).await;
    let private = r.body["keypair"]["private_key"].as_str().unwrap().to_string();
    demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "extra"}})).await;
    let id = boot(&demo, "pw", "s3.small.1", Some("main")).await;
    let path = format!("/v2.1/servers/{id}/os-server-password");

    assert_eq!(demo.get(&path, None).await.body, json!({"password": ""}));
    let r = act(&demo, &id, "2.1", json!({"changePassword": {"adminPass": "N3w-pass"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.get(&path, None).await;
    assert_eq!(decrypt(&private, s.body["password"].as_str().unwrap()), "N3w-pass");
    assert_eq!(demo.delete(&path, None).await.status, 204);
    assert_eq!(demo.get(&path, None).await.body["password"], "");
    act(&demo, &id, "2.1", json!({"changePassword": {}})).await.assert_fault(400, "badRequest");
    // The password does not stay in the task that carried it.
    let tasks = server.core().store_for_tests().task_list_for_server(&id).await.unwrap();
    let change = tasks.iter().find(|t| t.kind == "changePassword").unwrap();
    assert!(!change.params.to_string().contains("N3w-pass"), "{}", change.params);

    // Key pairs attached and detached reach the guest.
    let r = act(&demo, &id, "2.1", json!({"attachKeypairs": {"key_names": ["extra"]}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    let out = |r: crate::Reply| r.body["output"].as_str().unwrap_or_default().to_string();
    let mut text = String::new();
    for _ in 0..100 {
        text = out(act(&demo, &id, "2.1", json!({"os-getConsoleOutput": {"length": 5}})).await);
        if text.contains("2 ssh key(s) authorized") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(text.contains("2 ssh key(s) authorized"), "{text}");
    let r = act(&demo, &id, "2.1", json!({"detachKeypairs": {"key_names": ["nope"]}})).await;
    r.assert_fault(404, "itemNotFound");
    let r = act(&demo, &id, "2.1", json!({"attachKeypairs": {"key_names": ["missing"]}})).await;
    r.assert_fault(404, "itemNotFound");
    assert_eq!(act(&demo, &id, "2.1", json!({"detachKeypairs": {"key_names": ["extra"]}})).await.status, 202);

    // Consoles: the legacy action below 2.6, remote-consoles from 2.6, tokens for admins.
    let r = act(&demo, &id, "2.1", json!({"os-getVNCConsole": {"type": "novnc"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["console"]["type"], "novnc");
    assert!(r.body["console"]["url"].as_str().unwrap().contains("?path=%3Ftoken%3D"));
    let r = act(&demo, &id, "2.6", json!({"os-getVNCConsole": {"type": "novnc"}})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = act(&demo, &id, "2.1", json!({"os-getSPICEConsole": {"type": "spice-html5"}})).await;
    r.assert_fault(400, "badRequest");
    let consoles = format!("/v2.1/servers/{id}/remote-consoles");
    let body = json!({"remote_console": {"protocol": "vnc", "type": "novnc"}});
    assert_eq!(demo.post(&consoles, Some("2.5"), &body).await.status, 404);
    let r = demo.post(&consoles, Some("2.6"), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.body["remote_console"]["url"].as_str().unwrap().to_string();
    let token = url.rsplit("%3D").next().unwrap();
    let bad = json!({"remote_console": {"protocol": "vnc", "type": "spice-html5"}});
    demo.post(&consoles, Some("2.6"), &bad).await.assert_fault(400, "badRequest");
    let tokens = format!("/v2.1/os-console-auth-tokens/{token}");
    let t = admin.get(&tokens, Some("2.31")).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["console"]["instance_uuid"], id.as_str());
    assert!(t.body["console"]["port"].as_i64().unwrap() >= 5900);
    admin.get(&tokens, Some("2.30")).await.assert_fault(400, "badRequest");
    demo.get(&tokens, Some("2.31")).await.assert_fault(403, "forbidden");
    admin.get("/v2.1/os-console-auth-tokens/not-a-token", Some("2.31")).await.assert_fault(404, "itemNotFound");

    // os-stop HARD, UStack os-shutdown, and the monitoring action on its odd path.
    let r = act(&demo, &id, "2.1", json!({"os-stop": {"type": "HARD"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(&id, "SHUTOFF").await;
    act(&demo, &id, "2.1", json!({"changePassword": {"adminPass": "x"}})).await.assert_fault(409, "conflictingRequest");
    assert_eq!(act(&demo, &id, "2.1", json!({"os-start": null})).await.status, 202);
    demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(act(&demo, &id, "2.1", json!({"os-shutdown": null})).await.status, 202);
    demo.wait_status(&id, "SHUTOFF").await;
    act(&demo, &id, "2.1", json!({"os-stop": {"type": "LATER"}})).await.assert_fault(400, "badRequest");
    let r = demo.post(&format!("/v1.0/servers/{id}/action"), None, &json!({"monitorMetrics": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(last_action(&demo, &id).await["action"], "monitorMetrics");
    // As huaweicloudsdkecs's RegisterServerMonitor sends it (a string).
    let r = demo.post(&format!("/v1.0/servers/{id}/action"), None, &json!({"monitorMetrics": ""})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = demo.post(&format!("/v1.0/servers/{id}/action"), None, &json!({"monitorMetrics": "x"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
}
both!(passwords_keys_and_consoles);

async fn quota_overrides_and_server_groups(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let project = demo.project_id.clone();
    let r = admin
        .put(
            &format!("/v2.1/os-quota-sets/{project}"),
            None,
            &json!({"quota_set": {"metadata_items": 2, "key_pairs": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "k1"}})).await.status, 200);
    demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "k2"}})).await.assert_fault(403, "forbidden");

    let g = demo
        .post(
            "/v2.1/os-server-groups",
            Some("2.64"),
            &json!({"server_group": {"name": "g", "policy": "anti-affinity"}}),
        )
        .await;
    assert_eq!(g.status, 200, "{}", g.body);
    let group = g.body["server_group"]["id"].as_str().unwrap().to_string();
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "m", "flavorRef": "m1.tiny", "imageRef": image, "networks": "auto",
        "metadata": {"a": "1", "b": "2", "c": "3"}}, "os:scheduler_hints": {"group": group}});
    demo.post("/v2.1/servers", Some("2.71"), &body).await.assert_fault(403, "forbidden");
    let mut body = body;
    body["server"]["metadata"] = json!({"a": "1"});
    let r = demo.post("/v2.1/servers", Some("2.71"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["server_groups"], json!([group]));
    let listed = demo.get("/v2.1/servers/detail", Some("2.71")).await;
    let mine = listed.body["servers"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    assert!(mine.get("server_groups").is_none(), "server_groups is for show only: {mine}");
    let r = demo.post(&format!("/v2.1/servers/{id}/metadata"), None, &json!({"metadata": {"b": "2", "c": "3"}})).await;
    r.assert_fault(403, "forbidden");
}
both!(quota_overrides_and_server_groups);

/// A task whose parameters are malformed fails with the parameter's name
/// (it does not run with an empty value), drops the password it carried
/// and leaves its server as it was.
async fn a_task_with_malformed_parameters_fails(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "malformed", "s3.small.1", None).await;
    let store = &server.core().store_for_tests();
    let task = ecs_store::NewTask {
        id: uuid::Uuid::new_v4().to_string(),
        parent_id: None,
        kind: "changePassword".into(),
        server_id: Some(id.clone()),
        project_id: server.demo_project_id().into(),
        user_id: "someone".into(),
        request_id: "req-malformed".into(),
        params: json!({"admin_pass": 5}),
        finished: false,
        events: Vec::new(),
        failure: None,
        failure_reason: None,
    };
    store.task_insert(&task).await.unwrap();
    let mut stored = store.task_get(&task.id).await.unwrap();
    for _ in 0..400 {
        if stored.phase == ecs_types::server::TaskPhase::Failed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        stored = store.task_get(&task.id).await.unwrap();
    }
    assert_eq!(stored.phase, ecs_types::server::TaskPhase::Failed, "{stored:?}");
    let why = stored.progress["failure"].as_str().unwrap_or_default();
    assert!(why.contains("admin_pass"), "{why}");
    assert_eq!(stored.params, json!({}), "the password is dropped");
    let s = demo.get(&format!("/v2.1/servers/{id}"), None).await.body["server"].clone();
    assert_eq!((s["status"].as_str(), s["OS-EXT-STS:task_state"].as_str()), (Some("ACTIVE"), None), "{s}");
}
both!(a_task_with_malformed_parameters_fails);
