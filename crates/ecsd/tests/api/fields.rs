//! Server fields and actions as Nova treats them (issue 16): diskConfig on
//! update, rebuild and resize; access IPs in canonical form; createImage's
//! metadata and the snapshot in progress; the personality quota; FQDN
//! hostnames at 2.94; the `tenant_id` list filter; `injectNetworkInfo`.

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

const IMAGE: &str = "cirros-0.6.2-x86_64";

async fn create_body(s: &Session<'_>, name: &str) -> Value {
    let store = s.server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name == IMAGE).expect("seeded image").id;
    let network = store.network_list().await.unwrap().remove(0).id;
    json!({"server": {
        "name": name,
        "flavorRef": "s3.small.1",
        "imageRef": image,
        "networks": [{"uuid": network}],
    }})
}

/// Creates one server from `body` and waits until it is ACTIVE; returns its id.
async fn boot_with(s: &Session<'_>, body: &Value) -> String {
    let r = s.post("/v2.1/servers", None, body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn boot(s: &Session<'_>, name: &str) -> String {
    boot_with(s, &create_body(s, name).await).await
}

async fn action(s: &Session<'_>, id: &str, body: Value) -> crate::Reply {
    s.post(&format!("/v2.1/servers/{id}/action"), Some("latest"), &body).await
}

async fn show(s: &Session<'_>, id: &str) -> Value {
    let r = s.get(&format!("/v2.1/servers/{id}"), Some("latest")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["server"].clone()
}

async fn disk_config_is_kept_on_update_rebuild_and_resize(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "dcf").await;
    let path = format!("/v2.1/servers/{id}");

    let r = demo.put(&path, None, &json!({"server": {"OS-DCF:diskConfig": "AUTO"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["server"]["OS-DCF:diskConfig"], "AUTO");
    assert_eq!(show(&demo, &id).await["OS-DCF:diskConfig"], "AUTO");
    let r = demo.put(&path, None, &json!({"server": {"OS-DCF:diskConfig": "auto"}})).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let image = show(&demo, &id).await["image"]["id"].clone();
    let r = action(&demo, &id, json!({"rebuild": {"imageRef": image, "OS-DCF:diskConfig": "MANUAL"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["server"]["OS-DCF:diskConfig"], "MANUAL");
    demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(show(&demo, &id).await["OS-DCF:diskConfig"], "MANUAL");

    let r = action(&demo, &id, json!({"resize": {"flavorRef": "s3.large.2", "OS-DCF:diskConfig": "AUTO"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.wait_status(&id, "VERIFY_RESIZE").await;
    assert_eq!(s["OS-DCF:diskConfig"], "AUTO");
    let r = action(&demo, &id, json!({"confirmResize": null})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    demo.wait_status(&id, "ACTIVE").await;
    // As Nova's: a resize without diskConfig leaves the server MANUAL.
    let r = action(&demo, &id, json!({"resize": {"flavorRef": "s3.small.1"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.wait_status(&id, "VERIFY_RESIZE").await;
    assert_eq!(s["OS-DCF:diskConfig"], "MANUAL");
    let r = action(&demo, &id, json!({"resize": {"flavorRef": "s3.small.1", "OS-DCF:diskConfig": "SOMETIMES"}})).await;
    assert_eq!(r.status, 400, "{}", r.body);
}
both!(disk_config_is_kept_on_update_rebuild_and_resize);

async fn access_ips_are_stored_in_canonical_form(server: &TestServer) {
    let demo = server.demo().await;
    let mut body = create_body(&demo, "ips").await;
    body["server"]["accessIPv4"] = json!("1.1.1.1");
    body["server"]["accessIPv6"] = json!("0000:0000:0000:0000:0000:babe:220.12.22.2");
    let id = boot_with(&demo, &body).await;
    let s = show(&demo, &id).await;
    assert_eq!(s["accessIPv4"], "1.1.1.1");
    assert_eq!(s["accessIPv6"], "::babe:dc0c:1602");

    let r = demo.put(&format!("/v2.1/servers/{id}"), None, &json!({"server": {"accessIPv6": "2001:DB8:0:0::1"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["server"]["accessIPv6"], "2001:db8::1");
    let r = demo.put(&format!("/v2.1/servers/{id}"), None, &json!({"server": {"accessIPv6": "not-an-ip"}})).await;
    assert_eq!(r.status, 400, "{}", r.body);
}
both!(access_ips_are_stored_in_canonical_form);

async fn create_image_keeps_caller_metadata_and_refuses_a_second_while_saving(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "snap").await;
    // A snapshot that takes a while, as on a real host.
    server.sim().set_latency(ecs_hypervisor::Op::Snapshot, std::time::Duration::from_millis(1500));
    let body = json!({"createImage": {"name": "snap-1", "metadata": {"image_type": "test", "purpose": "p"}}});
    let r = action(&demo, &id, body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let image = r.body["image_id"].as_str().unwrap().to_string();

    // While the first is saving, Nova refuses another.
    let second = action(&demo, &id, json!({"createImage": {"name": "snap-2"}})).await;
    let message = second.assert_fault(409, "conflictingRequest");
    assert!(message.contains("while it is in task_state image_snapshot"), "{message}");
    assert_eq!(show(&demo, &id).await["OS-EXT-STS:task_state"], "image_snapshot");

    demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    let shown = demo.get(&format!("/v2.1/images/{image}"), None).await;
    let metadata = &shown.body["image"]["metadata"];
    assert_eq!(metadata["image_type"], "test", "the caller's metadata wins: {metadata}");
    assert_eq!(metadata["purpose"], "p");
    assert_eq!(metadata["instance_uuid"], id);
    assert_eq!(metadata["user_id"], demo.user_id);

    // Glance's import tasks of the image: none, as it was never imported.
    let tasks = demo.get(&format!("/image/v2/images/{image}/tasks"), None).await;
    assert_eq!(tasks.status, 200, "{}", tasks.body);
    assert_eq!(tasks.body, json!({"tasks": []}));
    let missing = demo.get("/image/v2/images/00000000-0000-0000-0000-000000000000/tasks", None).await;
    assert_eq!(missing.status, 404);
}
both!(create_image_keeps_caller_metadata_and_refuses_a_second_while_saving);

fn personality(count: usize, path_len: usize, contents: &str) -> Value {
    let files: Vec<Value> = (0..count)
        .map(|i| json!({"path": format!("/{i}{}", "p".repeat(path_len.saturating_sub(2))), "contents": contents}))
        .collect();
    json!(files)
}

async fn personality_files_count_against_the_injected_files_quotas(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let file = "VGhpcyBpcyBhIHRlc3QgZmlsZS4="; // "This is a test file."
    let limits = demo.get("/v2.1/limits", None).await;
    assert_eq!(limits.body["limits"]["absolute"]["maxPersonality"], 5);
    assert_eq!(limits.body["limits"]["absolute"]["maxPersonalitySize"], 10240);

    let with = |files: Value| {
        let demo = &demo;
        async move {
            let mut body = create_body(demo, "pf").await;
            body["server"]["personality"] = files;
            demo.post("/v2.1/servers", Some("2.56"), &body).await
        }
    };
    let r = with(personality(6, 10, file)).await;
    assert_eq!(r.assert_fault(403, "forbidden"), "Personality file limit exceeded");
    let r = with(personality(1, 256, file)).await;
    assert_eq!(r.assert_fault(403, "forbidden"), "Personality file path exceeds maximum 255");
    let big = "QUJD".repeat(2561); // 10244 bytes of base64
    let r = with(personality(1, 10, &big)).await;
    assert_eq!(r.assert_fault(403, "forbidden"), "Personality file content exceeds maximum 10240");
    let r = with(json!([{"path": "/a", "contents": "not base64!"}])).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = with(json!([{"path": "/a", "contents": file, "mode": "0644"}])).await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Five files are within the default quota; a rebuild is checked alike.
    let r = with(personality(5, 10, file)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;
    let image = show(&demo, &id).await["image"]["id"].clone();
    let rebuild = json!({"rebuild": {"imageRef": image, "personality": personality(6, 10, file)}});
    let r = demo.post(&format!("/v2.1/servers/{id}/action"), Some("2.56"), &rebuild).await;
    assert_eq!(r.assert_fault(403, "forbidden"), "Personality file limit exceeded");

    // The project's own quota counts, and disappears from the API at 2.57.
    let quotas = format!("/v2.1/os-quota-sets/{}", demo.project_id);
    let r = admin.put(&quotas, None, &json!({"quota_set": {"injected_files": 2}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["quota_set"]["injected_files"], 2);
    assert_eq!(demo.get("/v2.1/limits", None).await.body["limits"]["absolute"]["maxPersonality"], 2);
    let r = with(personality(3, 10, file)).await;
    assert_eq!(r.assert_fault(403, "forbidden"), "Personality file limit exceeded");
    let r = admin.put(&quotas, Some("2.57"), &json!({"quota_set": {"injected_files": 3}})).await;
    assert!(r.assert_fault(400, "badRequest").contains("'injected_files' was unexpected"), "{}", r.body);
}
both!(personality_files_count_against_the_injected_files_quotas);

async fn hostnames_are_fqdns_from_2_94(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let fqdn = format!("{}-guest-test.domaintest.com", "x".repeat(52));
    let create = |version: &'static str, hostname: String| {
        let demo = &demo;
        async move {
            let mut body = create_body(demo, "fq").await;
            body["server"]["hostname"] = json!(hostname);
            demo.post("/v2.1/servers", Some(version), &body).await
        }
    };
    // 2.90–2.93: a host name only.
    let r = create("2.93", fqdn.clone()).await;
    assert!(r.assert_fault(400, "badRequest").contains("is too long"), "{}", r.body);
    let r = create("2.90", "a.example".into()).await;
    assert!(r.assert_fault(400, "badRequest").contains("does not match"), "{}", r.body);

    // 2.94: an FQDN, shown as given.
    let r = create("2.94", fqdn.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;
    let shown = admin.get(&format!("/v2.1/servers/{id}"), Some("2.94")).await;
    assert_eq!(shown.body["server"]["OS-EXT-SRV-ATTR:hostname"], fqdn);
    let r = create("2.94", "bad host!".into()).await;
    assert!(r.assert_fault(400, "badRequest").contains("does not match"), "{}", r.body);
    let r = create("2.94", "x".repeat(256)).await;
    assert!(r.assert_fault(400, "badRequest").contains("is too long"), "{}", r.body);

    // Update alike: an FQDN at 2.94, refused at 2.90.
    let path = format!("/v2.1/servers/{id}");
    let r = demo.put(&path, Some("2.90"), &json!({"server": {"hostname": "new.example.org"}})).await;
    r.assert_fault(400, "badRequest");
    let r = demo.put(&path, Some("2.94"), &json!({"server": {"hostname": "new_host.example.org"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["server"]["OS-EXT-SRV-ATTR:hostname"], "new_host.example.org");
}
both!(hostnames_are_fqdns_from_2_94);

async fn tenant_id_filters_only_with_all_tenants(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let demo_server = boot(&demo, "theirs").await;
    let admin_server = boot(&admin, "mine").await;
    let ids = |r: &crate::Reply| -> Vec<String> {
        r.body["servers"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
    };
    // Without all_tenants Nova ignores tenant_id: the caller's own servers.
    for param in ["tenant_id", "project_id"] {
        let r = admin.get(&format!("/v2.1/servers/detail?{param}={}", demo.project_id), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(ids(&r), vec![admin_server.clone()], "{param}");
    }
    // With it, tenant_id picks the project.
    let r = admin.get(&format!("/v2.1/servers/detail?all_tenants=true&tenant_id={}", demo.project_id), None).await;
    assert_eq!(ids(&r), vec![demo_server.clone()]);
    let r = admin.get("/v2.1/servers/detail?all_tenants=true", None).await;
    assert_eq!(ids(&r).len(), 2);
    // A member's tenant_id cannot reach another project either.
    let r = demo.get(&format!("/v2.1/servers?tenant_id={}", admin.project_id), None).await;
    assert_eq!(ids(&r), vec![demo_server]);
}
both!(tenant_id_filters_only_with_all_tenants);

async fn inject_network_info_is_an_admin_no_op(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "inj").await;
    let path = format!("/v2.1/servers/{id}/action");
    let before = show(&demo, &id).await;

    let r = admin.post(&path, None, &json!({"injectNetworkInfo": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body, Value::Null, "no body");
    let after = show(&demo, &id).await;
    assert_eq!(after["status"], "ACTIVE");
    assert_eq!(after["addresses"], before["addresses"]);
    assert_eq!(after["OS-EXT-STS:task_state"], Value::Null);

    let r = demo.post(&path, None, &json!({"injectNetworkInfo": null})).await;
    r.assert_fault(403, "forbidden");
    let r = admin
        .post("/v2.1/servers/00000000-0000-0000-0000-000000000000/action", None, &json!({"injectNetworkInfo": {}}))
        .await;
    r.assert_fault(404, "itemNotFound");
}
both!(inject_network_info_is_an_admin_no_op);

async fn hostnames_from_names_are_sanitized_as_nova_does(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let hostname = |id: String| {
        let admin = &admin;
        async move {
            admin.get(&format!("/v2.1/servers/{id}"), Some("2.90")).await.body["server"]["OS-EXT-SRV-ATTR:hostname"]
                .clone()
        }
    };
    let id = boot_with(&demo, &create_body(&demo, "guest-instance-1.domain.com").await).await;
    assert_eq!(hostname(id).await, "guest-instance-1-domain-com");
    let id = boot_with(&demo, &create_body(&demo, "☕").await).await;
    assert_eq!(hostname(id.clone()).await, format!("Server-{id}"));

    // Several at once: the sanitized name, then the index.
    let mut body = create_body(&demo, "Web.Tier").await;
    body["server"]["min_count"] = json!(2);
    let r = demo.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let list = admin.get("/v2.1/servers/detail?all_tenants=1&name=Web", Some("2.90")).await;
    let mut names: Vec<(String, String)> = list.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap().to_string();
            (name, s["OS-EXT-SRV-ATTR:hostname"].as_str().unwrap().to_string())
        })
        .collect();
    names.sort();
    assert_eq!(names, vec![("Web.Tier-1".into(), "web-tier-1".into()), ("Web.Tier-2".into(), "web-tier-2".into())]);
}
both!(hostnames_from_names_are_sanitized_as_nova_does);
