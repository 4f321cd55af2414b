//! The ECS-native operations of issue 19 that Nova has no route for: the
//! recycle bin (a delete that keeps the server for the policy's retention),
//! launch templates, scheduled events, metadata and serial console
//! options, the remote console, password reset, redeploy, crash dump, the
//! auto-terminate time and the billing mode change.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, assert_ecs_error, both};

async fn boot(s: &Session<'_>, name: &str) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "auto"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn send(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.nova(method, path, None, body).await
}

/// A member of a project of its own.
async fn stranger<'a>(server: &'a TestServer, admin: &Session<'_>) -> Session<'a> {
    let r = admin.post("/identity/v3/projects", None, &json!({"project": {"name": "elsewhere"}})).await;
    let project = r.body["project"]["id"].as_str().unwrap().to_string();
    let user = json!({"user": {"name": "stranger", "password": "pw", "default_project_id": project}});
    let r = admin.post("/identity/v3/users", None, &user).await;
    let user = r.body["user"]["id"].as_str().unwrap().to_string();
    let roles = admin.get("/identity/v3/roles?name=member", None).await;
    let member = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{project}/users/{user}/roles/{member}");
    assert_eq!(admin.nova(Method::PUT, &grant, None, None).await.status, 204);
    server.login("stranger", "pw", "elsewhere").await
}

/// Sets a server's stored ECS options' time field `key` to `hours` ago.
async fn backdate(server: &TestServer, id: &str, project: &str, key: &str, hours: i64) {
    let store = server.core().store_for_tests();
    let text = store.server_options_get(id).await.unwrap().expect("options");
    let mut options: Value = serde_json::from_str(&text).unwrap();
    let at = chrono::Utc::now() - chrono::Duration::hours(hours);
    options[key] = json!(at);
    store.server_options_put(id, project, &options.to_string()).await.unwrap();
}

async fn gone(s: &Session<'_>, id: &str) {
    for _ in 0..600 {
        if s.get(&format!("/v1/{}/cloudservers/{id}", s.project_id), None).await.status == 404 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("server {id} is still there");
}

fn bin_ids(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["servers"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

async fn recycle_bin(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let bin = format!("/v1/{p}/recycle-bin");
    let servers = format!("/v1/{p}/recycle-bin/cloudservers");

    // Off by default, with Huawei's policy fields.
    let r = demo.get(&bin, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["switch"], "off");
    assert_eq!(r.body["project_id"], p.as_str());
    assert_eq!(r.body["policy"]["retention_hour"], 24);
    assert_eq!(r.body["policy"]["recycle_threshold_day"], 7);

    // Bad input.
    let put = |path: &str, body: Value| {
        let path = path.to_string();
        let demo = &demo;
        async move { send(demo, Method::PUT, &path, Some(&body)).await }
    };
    assert_ecs_error(&put(&bin, json!({"recycle_bin": {"switch": "maybe"}})).await, 400, "Ecs.0005");
    assert_ecs_error(&put(&bin, json!({"recycle_bin": {}})).await, 400, "Ecs.0005");
    let policy = format!("{bin}/policy");
    assert_ecs_error(
        &put(&policy, json!({"policy": {"retention_hour": 0, "recycle_threshold_day": 1}})).await,
        400,
        "Ecs.0005",
    );
    assert_ecs_error(
        &put(&policy, json!({"policy": {"retention_hour": "x", "recycle_threshold_day": 1}})).await,
        400,
        "Ecs.0005",
    );
    assert_ecs_error(&put(&policy, json!({"policy": {"retention_hour": 1}})).await, 400, "Ecs.0005");

    // Off: a delete is for good, as before.
    let id = boot(&demo, "plain").await;
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &json!({"servers": [{"id": id}]})).await;
    assert_eq!(demo.finished_job_of(&r).await["status"], "SUCCESS");
    gone(&demo, &id).await;

    // On, with every server old enough: a delete keeps the server, stopped.
    assert_eq!(put(&bin, json!({"recycle_bin": {"switch": "on"}})).await.status, 204);
    let r = put(&policy, json!({"policy": {"retention_hour": 2, "recycle_threshold_day": 0}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = demo.get(&bin, None).await;
    assert_eq!((r.body["switch"].as_str(), r.body["policy"]["retention_hour"].as_i64()), (Some("on"), Some(2)));

    let id = boot(&demo, "kept").await;
    let other = boot(&demo, "running").await;
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &json!({"servers": [{"id": id}]})).await;
    let job = demo.finished_job_of(&r).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let shown = demo.get(&format!("/v1/{p}/cloudservers/{id}"), None).await;
    assert_eq!(shown.body["server"]["status"], "SOFT_DELETED", "{}", shown.body);
    let listed = demo.get(&servers, None).await;
    assert_eq!(bin_ids(&listed), vec![id.clone()]);
    assert_eq!(listed.body["servers"][0]["status"], "SOFT_DELETED");
    assert!(listed.body["servers"][0]["flavor"]["id"].is_string());
    assert_eq!(bin_ids(&demo.get(&format!("{servers}?name=nomatch"), None).await), Vec::<String>::new());
    assert_ecs_error(&demo.get(&format!("{servers}?limit=0"), None).await, 400, "Ecs.0005");

    // Only servers of the bin can be reverted or deleted from it; another
    // project's are not found.
    let revert = |s: &str| format!("/v1/{p}/recycle-bin/cloudservers/{s}/actions/revert");
    assert_ecs_error(&demo.post(&revert(&other), None, &json!({})).await, 404, "Ecs.0114");
    assert_ecs_error(&send(&demo, Method::DELETE, &format!("{servers}/{other}"), None).await, 404, "Ecs.0114");
    let stranger = stranger(server, &admin).await;
    let theirs = format!("/v1/{}/recycle-bin/cloudservers/{id}", stranger.project_id);
    assert_ecs_error(&send(&stranger, Method::DELETE, &theirs, None).await, 404, "Ecs.0114");
    assert_eq!(
        bin_ids(&stranger.get(&format!("/v1/{}/recycle-bin/cloudservers", stranger.project_id), None).await).len(),
        0
    );

    // Revert: the server comes back.
    let r = demo.post(&revert(&id), None, &json!({})).await;
    assert_eq!(demo.finished_job_of(&r).await["status"], "SUCCESS");
    demo.wait_status(&id, "ACTIVE").await;
    assert!(bin_ids(&demo.get(&servers, None).await).is_empty());

    // Deleted again and then from the bin: gone.
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &json!({"servers": [{"id": id}]})).await;
    assert_eq!(demo.finished_job_of(&r).await["status"], "SUCCESS");
    let r = send(&demo, Method::DELETE, &format!("{servers}/{id}"), None).await;
    assert_eq!(demo.finished_job_of(&r).await["status"], "SUCCESS");
    gone(&demo, &id).await;

    // Left in the bin past the retention, the engine deletes it.
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &json!({"servers": [{"id": other}]})).await;
    assert_eq!(demo.finished_job_of(&r).await["status"], "SUCCESS");
    server.core().run_deferred().await.unwrap();
    assert_eq!(bin_ids(&demo.get(&servers, None).await), vec![other.clone()], "kept within the retention");
    backdate(server, &other, &p, "recycled_at", 3).await;
    assert!(server.core().run_deferred().await.unwrap() >= 1);
    gone(&demo, &other).await;

    // Young servers skip the bin under a threshold.
    let r = put(&policy, json!({"policy": {"retention_hour": 2, "recycle_threshold_day": 3}})).await;
    assert_eq!(r.status, 200);
    let young = boot(&demo, "young").await;
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &json!({"servers": [{"id": young}]})).await;
    assert_eq!(demo.finished_job_of(&r).await["status"], "SUCCESS");
    gone(&demo, &young).await;
}
both!(recycle_bin);

async fn launch_templates_and_events(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let templates = format!("/v3/{p}/launch-templates");
    let data = json!({"flavor_id": "m1.tiny", "name": "web", "security_group_ids": [],
        "block_device_mappings": [{"source_id": "img-1", "source_type": "image", "volume_size": 10,
            "attachment": {"boot_index": 0}}],
        "network_interfaces": [{"virsubnet_id": "net-1", "attachment": {"device_index": 0}}],
        "metadata": {"k": "v"}});
    let body = json!({"launch_template": {"name": "lt1", "description": "d", "version_description": "v1",
        "template_data": data}});
    let r = demo.post(&templates, None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["launch_template_id"].as_str().unwrap().to_string();
    // A dry run checks and keeps nothing.
    let mut dry = body.clone();
    dry["dry_run"] = json!(true);
    dry["launch_template"]["name"] = json!("dry");
    assert_eq!(demo.post(&templates, None, &dry).await.status, 202);
    // The same name again, and bad input.
    assert_ecs_error(&demo.post(&templates, None, &body).await, 400, "Ecs.0100");
    for bad in [
        json!({}),
        json!({"launch_template": {"template_data": {}}}),
        json!({"launch_template": {"name": "x", "template_data": []}}),
        json!({"launch_template": {"name": "x", "template_data": {"flavor_id": 1}}}),
        json!({"launch_template": {"name": "x", "template_data": {"network_interfaces": {}}}}),
        json!({"launch_template": {"name": ""}}),
    ] {
        assert_ecs_error(&demo.post(&templates, None, &bad).await, 400, "Ecs.0005");
    }
    let b = json!({"launch_template": {"name": "lt2", "template_data": {"flavor_id": "m1.small"}}});
    let second = demo.post(&templates, None, &b).await.body["launch_template_id"].as_str().unwrap().to_string();

    let r = demo.get(&templates, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body["launch_templates"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let t = &list[0];
    assert_eq!(
        (t["id"].as_str(), t["name"].as_str(), t["description"].as_str()),
        (Some(id.as_str()), Some("lt1"), Some("d"))
    );
    assert_eq!((t["default_version"].as_i64(), t["latest_version"].as_i64()), (Some(1), Some(1)));
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'));
    let r = demo.get(&format!("{templates}?name=lt2"), None).await;
    assert_eq!(r.body["launch_templates"][0]["id"], second.as_str());
    let r = demo.get(&format!("{templates}?limit=1"), None).await;
    assert_eq!(r.body["launch_templates"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["page_info"]["next_marker"], id.as_str());
    let r = demo.get(&format!("{templates}?limit=1&marker={id}"), None).await;
    assert_eq!(r.body["launch_templates"][0]["id"], second.as_str());
    assert_ecs_error(&demo.get(&format!("{templates}?marker=nope"), None).await, 400, "Ecs.0005");
    // Another project sees none of them.
    let other = admin.get(&format!("/v3/{}/launch-templates", admin.project_id), None).await;
    assert_eq!(other.body["launch_templates"], json!([]));

    let versions = format!("/v3/{p}/launch-template-versions");
    let r = demo.get(&format!("{versions}?launch_template_id={id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = &r.body["launch_template_versions"][0];
    assert_eq!(v["launch_template_id"], id.as_str());
    assert_eq!((v["version_number"].as_i64(), v["version_description"].as_str()), (Some(1), Some("v1")));
    assert_eq!(v["template_data"], data);
    assert!(v["version_id"].is_string() && v["created_at"].is_string());
    let r = demo.get(&format!("{versions}?flavor_id=m1.small"), None).await;
    assert_eq!(r.body["launch_template_versions"][0]["launch_template_id"], second.as_str());
    let r = demo.get(&format!("{versions}?image_id=img-1&version=1"), None).await;
    assert_eq!(r.body["launch_template_versions"].as_array().unwrap().len(), 1);
    assert_eq!(demo.get(&format!("{versions}?version=2"), None).await.body["launch_template_versions"], json!([]));
    assert_ecs_error(&demo.get(&format!("{versions}?version=x"), None).await, 400, "Ecs.0005");

    // Delete: another project's or an unknown one is not found.
    let theirs = format!("/v3/{}/launch-templates/{id}", admin.project_id);
    assert_ecs_error(&send(&admin, Method::DELETE, &theirs, None).await, 404, "Ecs.0005");
    assert_eq!(send(&demo, Method::DELETE, &format!("{templates}/{id}"), None).await.status, 204);
    assert_ecs_error(&send(&demo, Method::DELETE, &format!("{templates}/{id}"), None).await, 404, "Ecs.0005");
    assert_eq!(demo.get(&versions, None).await.body["launch_template_versions"].as_array().unwrap().len(), 1);

    // Scheduled events: none are raised; one named by id does not exist.
    let events = format!("/v3/{p}/instance-scheduled-events");
    let r = demo.get(&events, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["events"], json!([]));
    assert_ecs_error(&demo.get(&format!("{events}?limit=x"), None).await, 400, "Ecs.0005");
    let e = format!("{events}/0ead944a-72e8-494f-89ba-5846fb7ac5c0");
    let r = send(&demo, Method::PUT, &e, Some(&json!({"not_before": "2030-07-09T10:40:00Z"}))).await;
    assert_ecs_error(&r, 404, "Ecs.0005");
    assert_ecs_error(&send(&demo, Method::PUT, &e, Some(&json!({"not_before": "soon"}))).await, 400, "Ecs.0005");
    assert_ecs_error(&send(&demo, Method::PUT, &e, Some(&json!({}))).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&format!("{e}/actions/accept"), None, &json!({})).await, 404, "Ecs.0005");
    // v3 paths ECS does not serve answer in ECS's format.
    let r = demo.get(&format!("/v3/{p}/launch-templates/x/y"), None).await;
    assert_eq!(r.status, 404);
    let r = send(&demo, Method::PATCH, &templates, None).await;
    assert_eq!(r.status, 405);
    assert!(r.body["error"]["code"].is_string(), "{}", r.body);
}
both!(launch_templates_and_events);

async fn server_options(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let id = boot(&demo, "opts").await;
    let base = format!("/v1/{p}/cloudservers/{id}");

    // Metadata options: Huawei's defaults, then changed one at a time.
    let r = demo.get(&format!("{base}/metadata-options"), None).await;
    assert_eq!(r.body, json!({"http_endpoint": "enabled", "http_tokens": "optional"}));
    let put = |path: String, body: Value| {
        let demo = &demo;
        async move { send(demo, Method::PUT, &path, Some(&body)).await }
    };
    assert_eq!(put(format!("{base}/metadata-options"), json!({"http_tokens": "required"})).await.status, 204);
    let r = demo.get(&format!("{base}/metadata-options"), None).await;
    assert_eq!(r.body, json!({"http_endpoint": "enabled", "http_tokens": "required"}));
    for bad in [json!({"http_tokens": "maybe"}), json!({"http_endpoint": 1}), json!({}), json!([])] {
        assert_ecs_error(&put(format!("{base}/metadata-options"), bad).await, 400, "Ecs.0005");
    }

    // Serial console: refused until enabled; then a console URL.
    let serial = format!("{base}/actions/serial-console");
    assert_ecs_error(&demo.post(&serial, None, &json!({})).await, 400, "Ecs.0005");
    let options = format!("{base}/serial-console-options");
    assert_ecs_error(&put(options.clone(), json!({"serial_console_options": {}})).await, 400, "Ecs.0005");
    assert_eq!(put(options.clone(), json!({"serial_console_options": {"enabled": true}})).await.status, 204);
    let r = demo.post(&serial, None, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["serial_console"]["url"].as_str().unwrap().contains("token"), "{}", r.body);

    // Remote console: the noVNC URL.
    let console = format!("{base}/remote_console");
    let r = demo.post(&console, None, &json!({"remote_console": {"protocol": "vnc", "type": "novnc"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["remote_console"]["protocol"].as_str(), r.body["remote_console"]["type"].as_str()),
        (Some("vnc"), Some("novnc"))
    );
    assert!(r.body["remote_console"]["url"].as_str().unwrap().contains("token"));
    for bad in
        [json!({"remote_console": {"protocol": "rdp", "type": "novnc"}}), json!({"remote_console": {}}), json!({})]
    {
        assert_ecs_error(&demo.post(&console, None, &bad).await, 400, "Ecs.0005");
    }

    // Crash dump and redeploy.
    let r = demo.post(&format!("{base}/actions/trigger-crash-dump"), None, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = demo.post(&format!("{base}/actions/redeploy"), None, &json!({})).await;
    let job = demo.finished_job_of(&r).await;
    assert!(matches!(job["status"].as_str(), Some("SUCCESS" | "FAIL")), "{job}");
    demo.wait_status(&id, "ACTIVE").await;

    // Billing: ecsd's accounts pay per use, without a payment method.
    let charge = format!("/v1/{p}/cloudservers/actions/change-charge-mode");
    let good = json!({"server_ids": [id], "charge_mode": "prePaid",
        "prepaid_options": {"period_type": "month", "period_num": "1", "auto_pay": true}});
    assert_ecs_error(&demo.post(&charge, None, &good).await, 403, "Ecs.0069");
    let mut unknown = good.clone();
    unknown["server_ids"] = json!(["00000000-0000-0000-0000-000000000000"]);
    assert_ecs_error(&demo.post(&charge, None, &unknown).await, 404, "Ecs.0114");
    let mut post_paid = good.clone();
    post_paid["charge_mode"] = json!("postPaid");
    assert_ecs_error(&demo.post(&charge, None, &post_paid).await, 400, "Ecs.0005");
    assert_ecs_error(&demo.post(&charge, None, &json!({"server_ids": []})).await, 400, "Ecs.0005");

    // Auto-terminate: from 30 minutes ahead, shown on the server, and
    // done by the engine once the time has passed.
    let terminate = format!("{base}/actions/update-auto-terminate-time");
    for bad in
        [json!({"auto_terminate_time": "2020-01-01T00:00:00Z"}), json!({"auto_terminate_time": "tomorrow"}), json!({})]
    {
        assert_ecs_error(&demo.post(&terminate, None, &bad).await, 400, "Ecs.0005");
    }
    let at = (chrono::Utc::now() + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:17Z").to_string();
    let r = demo.post(&terminate, None, &json!({"auto_terminate_time": at})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let shown = demo.get(&base, None).await.body["server"]["auto_terminate_time"].as_str().unwrap().to_string();
    assert_eq!(shown, format!("{}00Z", &at[..at.len() - 3]), "seconds are dropped");
    server.core().run_deferred().await.unwrap();
    assert_eq!(demo.get(&base, None).await.status, 200, "not yet");
    backdate(server, &id, &p, "auto_terminate_time", 1).await;
    assert!(server.core().run_deferred().await.unwrap() >= 1);
    gone(&demo, &id).await;

    // Another project's server is not found; an unknown one neither.
    let mine = boot(&demo, "mine").await;
    let stranger = stranger(server, &admin).await;
    let theirs = format!("/v1/{}/cloudservers/{mine}", stranger.project_id);
    assert_ecs_error(&stranger.get(&format!("{theirs}/metadata-options"), None).await, 404, "Ecs.0114");
    let r =
        send(&stranger, Method::PUT, &format!("{theirs}/metadata-options"), Some(&json!({"http_tokens": "required"})))
            .await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    let r = stranger
        .post(
            &format!("{theirs}/remote_console"),
            None,
            &json!({"remote_console": {"protocol": "vnc", "type": "novnc"}}),
        )
        .await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    assert_ecs_error(&demo.get(&format!("/v1/{p}/cloudservers/nope/metadata-options"), None).await, 404, "Ecs.0114");
}
both!(server_options);

async fn passwords(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let id = boot(&demo, "pw").await;
    let base = format!("/v1/{p}/cloudservers/{id}");

    assert_eq!(demo.get(&format!("{base}/os-resetpwd-flag"), None).await.body, json!({"resetpwd_flag": "True"}));
    let reset = format!("{base}/os-reset-password");
    let r = send(&demo, Method::PUT, &reset, Some(&json!({"reset-password": {"new_password": "N3w-Passw0rd"}}))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let weak = json!({"reset-password": {"new_password": "weak"}});
    assert_ecs_error(&send(&demo, Method::PUT, &reset, Some(&weak)).await, 400, "Ecs.0011");
    assert_ecs_error(&send(&demo, Method::PUT, &reset, Some(&json!({"reset-password": {}}))).await, 400, "Ecs.0005");

    let r = demo.get(&format!("{base}/os-server-password"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["password"].is_string());
    assert_eq!(send(&demo, Method::DELETE, &format!("{base}/os-server-password"), None).await.status, 204);
    assert_eq!(demo.get(&format!("{base}/os-server-password"), None).await.body["password"], "");

    let batch = format!("/v1/{p}/cloudservers/os-reset-passwords");
    let body = json!({"new_password": "N3w-Passw0rd", "servers": [{"id": id}]});
    let r = send(&demo, Method::PUT, &batch, Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"response": [{"id": id}]}));
    let r = send(&demo, Method::PUT, &batch, Some(&json!({"dry_run": true, "servers": [{"id": id}]}))).await;
    assert_eq!(r.body, json!({"response": [{"id": id}]}));
    let unknown = json!({"new_password": "N3w-Passw0rd", "servers": [{"id": "nope"}]});
    assert_ecs_error(&send(&demo, Method::PUT, &batch, Some(&unknown)).await, 404, "Ecs.0114");
    assert_ecs_error(&send(&demo, Method::PUT, &batch, Some(&json!({"servers": [{"id": id}]}))).await, 400, "Ecs.0005");
    assert_ecs_error(
        &send(&demo, Method::PUT, &batch, Some(&json!({"new_password": "weak", "servers": [{"id": id}]}))).await,
        400,
        "Ecs.0011",
    );

    let stranger = stranger(server, &admin).await;
    let theirs = format!("/v1/{}/cloudservers/{id}", stranger.project_id);
    let r = send(
        &stranger,
        Method::PUT,
        &format!("{theirs}/os-reset-password"),
        Some(&json!({"reset-password": {"new_password": "N3w-Passw0rd"}})),
    )
    .await;
    assert_ecs_error(&r, 404, "Ecs.0114");
    assert_ecs_error(&stranger.get(&format!("{theirs}/os-server-password"), None).await, 404, "Ecs.0114");
    assert_ecs_error(&stranger.get(&format!("{theirs}/os-resetpwd-flag"), None).await, 404, "Ecs.0114");
}
both!(passwords);
