//! Compute services and host liveness: os-services (2.53 and the older
//! actions), `host_status`, the scheduler skipping hosts that are down or
//! disabled, and evacuation off a host that is down.

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

const V: Option<&str> = Some("2.53");

async fn services(admin: &Session<'_>) -> Vec<Value> {
    let r = admin.get("/v2.1/os-services", V).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["services"].as_array().unwrap().clone()
}

async fn service_of(admin: &Session<'_>, host: &str) -> Value {
    services(admin).await.into_iter().find(|s| s["host"] == host).unwrap()
}

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_bare(name).await
}

async fn host_of(admin: &Session<'_>, id: &str) -> String {
    let shown = admin.get(&format!("/v2.1/servers/{id}"), None).await;
    shown.body["server"]["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string()
}

async fn host_status(admin: &Session<'_>, id: &str) -> String {
    let shown = admin.get(&format!("/v2.1/servers/{id}"), Some("2.16")).await;
    shown.body["server"]["host_status"].as_str().unwrap().to_string()
}

/// A host's heartbeat, set back as if its process had gone quiet.
async fn lapse(server: &TestServer, host: &str) {
    let old = chrono::Utc::now() - chrono::Duration::minutes(5);
    server.core().store_for_tests().host_heartbeat(host, old).await.unwrap();
}

async fn services_api(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let list = services(&admin).await;
    assert_eq!(list.len(), 4);
    for s in &list {
        assert_eq!(
            (s["binary"].as_str(), s["status"].as_str(), s["state"].as_str()),
            (Some("nova-compute"), Some("enabled"), Some("up")),
            "{s}"
        );
        assert_eq!(s["forced_down"], false);
        assert!(s["disabled_reason"].is_null());
    }
    let id = service_of(&admin, "sim-host-1").await["id"].as_str().unwrap().to_string();
    let path = format!("/v2.1/os-services/{id}");

    // Disable with a reason, enable again (the reason goes).
    let r = admin.put(&path, V, &json!({"status": "disabled", "disabled_reason": "maintenance"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["service"]["status"], "disabled");
    assert_eq!(r.body["service"]["disabled_reason"], "maintenance");
    assert_eq!(r.body["service"]["id"], id.as_str());
    let hv = admin.get("/v2.1/os-hypervisors/detail", V).await;
    let h1 = hv.body["hypervisors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hypervisor_hostname"] == "sim-host-1")
        .unwrap()
        .clone();
    assert_eq!((h1["status"].as_str(), h1["state"].as_str()), (Some("disabled"), Some("up")), "{h1}");
    assert_eq!(h1["service"]["disabled_reason"], "maintenance");
    let r = admin.put(&path, V, &json!({"status": "enabled"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["service"]["disabled_reason"].is_null());

    // Force down: the service is down whatever its heartbeat.
    let r = admin.put(&path, V, &json!({"forced_down": true})).await;
    assert_eq!(
        (r.body["service"]["forced_down"].as_bool(), r.body["service"]["state"].as_str()),
        (Some(true), Some("down"))
    );
    let hv = admin.get("/v2.1/os-hypervisors", V).await;
    let h1 = hv.body["hypervisors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hypervisor_hostname"] == "sim-host-1")
        .unwrap()
        .clone();
    assert_eq!(h1["state"], "down");
    let r = admin.put(&path, V, &json!({"forced_down": false})).await;
    assert_eq!(r.body["service"]["state"], "up", "{}", r.body);

    // Bad input.
    admin.put(&path, V, &json!({})).await.assert_fault(400, "badRequest");
    admin.put(&path, V, &json!({"disabled_reason": "why"})).await.assert_fault(400, "badRequest");
    admin.put(&path, V, &json!({"status": "enabled", "disabled_reason": "why"})).await.assert_fault(400, "badRequest");
    admin.put(&path, V, &json!({"status": "sideways"})).await.assert_fault(400, "badRequest");
    admin.put(&path, V, &json!({"status": "disabled", "bogus": 1})).await.assert_fault(400, "badRequest");
    admin.put(&path, V, &json!({"forced_down": "maybe"})).await.assert_fault(400, "badRequest");
    admin.put(&path, V, &json!({"status": "disabled", "disabled_reason": ""})).await.assert_fault(400, "badRequest");
    admin.put("/v2.1/os-services/not-a-uuid", V, &json!({"status": "disabled"})).await.assert_fault(400, "badRequest");
    let unknown = format!("/v2.1/os-services/{}", uuid::Uuid::new_v4());
    admin.put(&unknown, V, &json!({"status": "disabled"})).await.assert_fault(404, "itemNotFound");
    admin.delete(&unknown, V).await.assert_fault(404, "itemNotFound");
    demo.put(&path, V, &json!({"status": "disabled"})).await.assert_fault(403, "forbidden");
    demo.delete(&path, V).await.assert_fault(403, "forbidden");
    demo.get("/v2.1/os-services", V).await.assert_fault(403, "forbidden");

    // Before 2.53: the action in the path, host and binary in the body.
    let body = json!({"host": "sim-host-2", "binary": "nova-compute"});
    let r = admin.put("/v2.1/os-services/disable", None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["service"], json!({"host": "sim-host-2", "binary": "nova-compute", "status": "disabled"}));
    let with_reason = json!({"host": "sim-host-2", "binary": "nova-compute", "disabled_reason": "disk"});
    let r = admin.put("/v2.1/os-services/disable-log-reason", None, &with_reason).await;
    assert_eq!(r.body["service"]["disabled_reason"], "disk", "{}", r.body);
    assert_eq!(service_of(&admin, "sim-host-2").await["disabled_reason"], "disk");
    admin.put("/v2.1/os-services/disable-log-reason", None, &body).await.assert_fault(400, "badRequest");
    let r = admin.put("/v2.1/os-services/enable", None, &body).await;
    assert_eq!(r.body["service"]["status"], "enabled");
    let down = json!({"host": "sim-host-2", "binary": "nova-compute", "forced_down": true});
    // Before 2.11 there is no force-down, nor a forced_down in any body.
    admin.put("/v2.1/os-services/force-down", Some("2.10"), &down).await.assert_fault(400, "badRequest");
    admin.put("/v2.1/os-services/force-down", Some("2.10"), &body).await.assert_fault(404, "itemNotFound");
    let r = admin.put("/v2.1/os-services/force-down", Some("2.11"), &down).await;
    assert_eq!(r.body["service"]["forced_down"], true, "{}", r.body);
    assert_eq!(service_of(&admin, "sim-host-2").await["state"], "down");
    let up = json!({"host": "sim-host-2", "binary": "nova-compute", "forced_down": false});
    assert_eq!(admin.put("/v2.1/os-services/force-down", Some("2.11"), &up).await.status, 200);
    admin.put("/v2.1/os-services/bogus", None, &body).await.assert_fault(404, "itemNotFound");
    demo.put("/v2.1/os-services/bogus", None, &body).await.assert_fault(403, "forbidden");
    demo.put("/v2.1/os-services/disable", None, &body).await.assert_fault(403, "forbidden");
    let nowhere = json!({"host": "nowhere", "binary": "nova-compute"});
    admin.put("/v2.1/os-services/disable", None, &nowhere).await.assert_fault(404, "itemNotFound");
    let scheduler = json!({"host": "sim-host-2", "binary": "nova-scheduler"});
    admin.put("/v2.1/os-services/disable", None, &scheduler).await.assert_fault(400, "badRequest");
    admin.put("/v2.1/os-services/disable", None, &json!({"host": "sim-host-2"})).await.assert_fault(400, "badRequest");

    // Filters.
    let r = admin.get("/v2.1/os-services?host=sim-host-3", V).await;
    assert_eq!(r.body["services"].as_array().unwrap().len(), 1);
    let r = admin.get("/v2.1/os-services?binary=nova-scheduler", V).await;
    assert_eq!(r.body["services"].as_array().unwrap().len(), 0);

    // Delete: refused while the host has servers, as Nova.
    let server_id = boot(&demo, "pinned").await;
    let busy = host_of(&admin, &server_id).await;
    let busy_id = service_of(&admin, &busy).await["id"].as_str().unwrap().to_string();
    let r = admin.delete(&format!("/v2.1/os-services/{busy_id}"), V).await;
    let message = r.assert_fault(409, "conflictingRequest");
    assert!(message.contains("hosting instances"), "{message}");
    let idle = services(&admin).await.into_iter().find(|s| s["host"] != busy.as_str()).unwrap();
    let idle_path = format!("/v2.1/os-services/{}", idle["id"].as_str().unwrap());
    assert_eq!(admin.delete(&idle_path, V).await.status, 204);
    assert_eq!(services(&admin).await.len(), 3);
    admin.delete(&idle_path, V).await.assert_fault(404, "itemNotFound");
    admin.delete("/v2.1/os-services/not-a-uuid", V).await.assert_fault(400, "badRequest");
    admin.delete("/v2.1/os-services/abc", Some("2.52")).await.assert_fault(400, "badRequest");
    admin.delete("/v2.1/os-services/9999", Some("2.52")).await.assert_fault(404, "itemNotFound");
}
both!(services_api);

/// `host_status` (2.16): forced down → DOWN, disabled → MAINTENANCE,
/// heartbeat lapsed → UNKNOWN, else UP.
async fn host_status_transitions(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let id = boot(&demo, "watched").await;
    let host = host_of(&admin, &id).await;
    let service = service_of(&admin, &host).await["id"].as_str().unwrap().to_string();
    let path = format!("/v2.1/os-services/{service}");
    assert_eq!(host_status(&admin, &id).await, "UP");
    admin.put(&path, V, &json!({"status": "disabled"})).await;
    assert_eq!(host_status(&admin, &id).await, "MAINTENANCE");
    admin.put(&path, V, &json!({"forced_down": true})).await;
    assert_eq!(host_status(&admin, &id).await, "DOWN");
    admin.put(&path, V, &json!({"forced_down": false, "status": "enabled"})).await;
    assert_eq!(host_status(&admin, &id).await, "UP");
    lapse(server, &host).await;
    assert_eq!(host_status(&admin, &id).await, "UNKNOWN");
    assert_eq!(service_of(&admin, &host).await["state"], "down");
    // The detail list says the same; users never see it.
    let list = admin.get("/v2.1/servers/detail?all_tenants=1", Some("2.16")).await;
    let mine = list.body["servers"].as_array().unwrap().iter().find(|s| s["id"] == id.as_str()).unwrap().clone();
    assert_eq!(mine["host_status"], "UNKNOWN");
    // From 2.75 an update answers with the full view, host_status included.
    let r = admin.put(&format!("/v2.1/servers/{id}"), Some("2.75"), &json!({"server": {"description": "x"}})).await;
    assert_eq!(r.body["server"]["host_status"], "UNKNOWN", "{}", r.body);
    let shown = demo.get(&format!("/v2.1/servers/{id}"), Some("2.16")).await;
    assert!(shown.body["server"].get("host_status").is_none(), "{}", shown.body);
}

/// The heartbeat is kept quiet here so that a lapse set by the test holds.
async fn quiet_server() -> TestServer {
    TestServer::start_serving(ecs_test_utils::sqlite(), |c| {
        c.compute.heartbeat_interval = std::time::Duration::from_secs(3600);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_status_follows_liveness() {
    let server = quiet_server().await;
    host_status_transitions(&server).await;
    server.stop().await;
}

/// Nothing is placed on a host that is disabled, forced down or silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_skips_unavailable_hosts() {
    let server = quiet_server().await;
    let admin = server.admin().await;
    let demo = server.demo().await;
    let id_of = |s: Value| format!("/v2.1/os-services/{}", s["id"].as_str().unwrap());
    admin.put(&id_of(service_of(&admin, "sim-host-1").await), V, &json!({"status": "disabled"})).await;
    admin.put(&id_of(service_of(&admin, "sim-host-2").await), V, &json!({"forced_down": true})).await;
    lapse(&server, "sim-host-3").await;
    // The scheduler's view of the hosts is at most a second old.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for i in 0..3 {
        let id = boot(&demo, &format!("s{i}")).await;
        assert_eq!(host_of(&admin, &id).await, "sim-host-4");
    }
    server.stop().await;
}

async fn action(s: &Session<'_>, id: &str, version: &str, body: Value) -> crate::Reply {
    s.post(&format!("/v2.1/servers/{id}/action"), Some(version), &body).await
}

async fn force_down(admin: &Session<'_>, host: &str, down: bool) {
    let path = format!("/v2.1/os-services/{}", service_of(admin, host).await["id"].as_str().unwrap());
    let r = admin.put(&path, V, &json!({"forced_down": down})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Refused while the source host is up; after it is forced down the
/// server is rebuilt elsewhere with its ports and metadata, and the host's
/// stale copy goes when it comes back.
async fn evacuation(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "evacuee", "flavorRef": "m1.tiny", "imageRef": image,
        "networks": "auto", "metadata": {"role": "db"}}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    let before = demo.wait_status(&id, "ACTIVE").await;
    let source = host_of(&admin, &id).await;
    let other = if source == "sim-host-1" { "sim-host-2" } else { "sim-host-1" };

    // Refused while the source is up, and bad input.
    let r = action(&admin, &id, "2.53", json!({"evacuate": {}})).await;
    let message = r.assert_fault(400, "badRequest");
    assert_eq!(message, format!("Compute service of {source} is still in use."));
    action(&demo, &id, "2.53", json!({"evacuate": {}})).await.assert_fault(403, "forbidden");
    action(&admin, &id, "2.53", json!({"evacuate": {"host": "nowhere"}})).await.assert_fault(404, "itemNotFound");
    let same = action(&admin, &id, "2.53", json!({"evacuate": {"host": source}})).await;
    assert_eq!(same.assert_fault(400, "badRequest"), "The target host can't be the same one.");
    action(&admin, &id, "2.29", json!({"evacuate": {"force": true}})).await.assert_fault(400, "badRequest");
    action(&admin, &id, "2.68", json!({"evacuate": {"host": other, "force": true}}))
        .await
        .assert_fault(400, "badRequest");
    action(&admin, &id, "2.1", json!({"evacuate": {"host": other}})).await.assert_fault(400, "badRequest");
    action(&admin, &id, "2.14", json!({"evacuate": {"onSharedStorage": false}})).await.assert_fault(400, "badRequest");
    let unknown = uuid::Uuid::new_v4();
    action(&admin, &unknown.to_string(), "2.53", json!({"evacuate": {}})).await.assert_fault(404, "itemNotFound");

    // The host goes down; the server's host_status says so; evacuate it
    // (before 2.14 the answer carries the new password).
    force_down(&admin, &source, true).await;
    assert_eq!(host_status(&admin, &id).await, "DOWN");
    let r = action(&admin, &id, "2.1", json!({"evacuate": {"onSharedStorage": false, "adminPass": "s3cret"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["adminPass"], "s3cret");
    let after = demo
        .wait_server(&id, |r| {
            r.body["server"]["status"] == "ACTIVE" && r.body["server"]["OS-EXT-STS:task_state"].is_null()
        })
        .await;
    let dest = host_of(&admin, &id).await;
    assert_ne!(dest, source);
    assert_eq!(after.body["server"]["metadata"], json!({"role": "db"}));
    assert_eq!(after.body["server"]["addresses"], before["addresses"], "the same ports");
    assert_eq!(host_status(&admin, &id).await, "UP");
    let actions = admin.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    assert!(
        actions.body["instanceActions"].as_array().unwrap().iter().any(|a| a["action"] == "evacuate"),
        "{}",
        actions.body
    );

    // The move is on record: `done` until the source is back.
    let evacuations = async || {
        let r =
            admin.get(&format!("/v2.1/os-migrations?instance_uuid={id}&migration_type=evacuation"), Some("2.80")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["migrations"].as_array().unwrap().clone()
    };
    let records = evacuations().await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["status"], "done");
    assert_eq!(
        (records[0]["source_compute"].as_str(), records[0]["dest_compute"].as_str()),
        (Some(source.as_str()), Some(dest.as_str()))
    );

    // The source comes back: its copy of the guest is destroyed, the new one runs.
    let drivers = server.core().drivers_for_tests();
    let on = |host: &str| drivers.get(host).unwrap();
    assert!(on(&source).list().await.unwrap().iter().any(|g| g.id == id), "the down host still has its copy");
    force_down(&admin, &source, false).await;
    assert_eq!(evacuations().await[0]["status"], "completed");
    assert!(!on(&source).list().await.unwrap().iter().any(|g| g.id == id), "the stale copy is gone");
    assert!(on(&dest).list().await.unwrap().iter().any(|g| g.id == id));

    // 2.95: evacuated servers end SHUTOFF.
    force_down(&admin, &dest, true).await;
    let r = action(&admin, &id, "2.95", json!({"evacuate": {}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.is_null() || r.body == json!({}) || r.body == json!(""), "no body from 2.14: {}", r.body);
    demo.wait_status(&id, "SHUTOFF").await;
    assert_ne!(host_of(&admin, &id).await, dest);
    force_down(&admin, &dest, false).await;
}
both!(evacuation);

/// A host forced down refuses what needs it (409, Nova's wording) but
/// lets its servers be deleted (Nova's local delete).
async fn down_host_actions(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let id = boot(&demo, "stranded").await;
    let host = host_of(&admin, &id).await;
    force_down(&admin, &host, true).await;
    let r = action(&demo, &id, "2.1", json!({"os-stop": null})).await;
    assert_eq!(r.assert_fault(409, "conflictingRequest"), "Service is unavailable at this time.");
    let r = action(&demo, &id, "2.1", json!({"reboot": {"type": "HARD"}})).await;
    r.assert_fault(409, "conflictingRequest");
    let r = action(&demo, &id, "2.1", json!({"createImage": {"name": "snap"}})).await;
    r.assert_fault(409, "conflictingRequest");
    let r = action(&demo, &id, "2.1", json!({"resize": {"flavorRef": "m1.small"}})).await;
    r.assert_fault(409, "conflictingRequest");
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    // Its guest was left on the host; it goes when the host is back.
    let driver = server.core().drivers_for_tests().get(&host).unwrap();
    assert!(driver.list().await.unwrap().iter().any(|g| g.id == id));
    force_down(&admin, &host, false).await;
    assert!(!driver.list().await.unwrap().iter().any(|g| g.id == id));
}
both!(down_host_actions);

/// A host that stops answering (its process killed: the simulator loses
/// it) stops beating and is down within the detection window; a task
/// caught on it fails cleanly; its server is evacuated; when it answers
/// again its stale guest goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_host_is_detected_and_evacuated() {
    let server = TestServer::start_serving(ecs_test_utils::sqlite(), |c| {
        c.core.service_down_time = std::time::Duration::from_secs(2);
        c.compute.heartbeat_interval = std::time::Duration::from_millis(500);
    })
    .await;
    let admin = server.admin().await;
    let demo = server.demo().await;
    let id = boot(&demo, "victim").await;
    let host = host_of(&admin, &id).await;
    let lost_at = std::time::Instant::now();
    server.sim().set_host_down(&host, true);
    // Accepted while the host still looks up; the step retries, then the
    // task fails once the host is down, and the server is not stuck.
    let r = action(&demo, &id, "2.1", json!({"os-stop": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Measured on host_status, which follows the heartbeat alone (the
    // service list also shows a lost simulated host down at once).
    loop {
        if host_status(&admin, &id).await == "UNKNOWN" {
            break;
        }
        assert!(lost_at.elapsed() < std::time::Duration::from_secs(10), "never detected");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let detected = lost_at.elapsed();
    assert!(detected < std::time::Duration::from_secs(5), "detected after {detected:?}");
    // Figures for the closing note (`--no-capture` shows them).
    println!("failure detection: host down {detected:?} after it went silent (down time 2 s, beats every 0.5 s)");
    let after = demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    assert_eq!(after.body["server"]["status"], "ACTIVE", "{}", after.body);
    assert_eq!(service_of(&admin, &host).await["state"], "down");
    let evacuated_at = std::time::Instant::now();
    let r = action(&admin, &id, "2.53", json!({"evacuate": {}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    println!("evacuate to ACTIVE elsewhere: {:?} (sim)", evacuated_at.elapsed());
    let dest = host_of(&admin, &id).await;
    assert_ne!(dest, host);
    // The host answers again: its next beat notices the lapse and cleans up.
    server.sim().set_host_down(&host, false);
    let driver = server.core().drivers_for_tests().get(&host).unwrap();
    for _ in 0..100 {
        if !driver.list().await.unwrap().iter().any(|g| g.id == id) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!driver.list().await.unwrap().iter().any(|g| g.id == id), "stale guest left on {host}");
    assert_eq!(service_of(&admin, &host).await["state"], "up");
    server.stop().await;
}

/// Anti-affinity holds across evacuation: with the only other free host
/// holding the group's other member, the evacuation finds no host and the
/// server stays where it was, not stuck; once a host is free it goes there.
async fn evacuation_keeps_anti_affinity(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let g = demo
        .post(
            "/v2.1/os-server-groups",
            Some("2.64"),
            &json!({"server_group": {"name": "apart", "policy": "anti-affinity"}}),
        )
        .await;
    assert_eq!(g.status, 200, "{}", g.body);
    let group = g.body["server_group"]["id"].as_str().unwrap().to_string();
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"},
            "os:scheduler_hints": {"group": group}});
        let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["server"]["id"].as_str().unwrap().to_string();
        demo.wait_status(&id, "ACTIVE").await;
        ids.push(id);
    }
    let (a, b) = (host_of(&admin, &ids[0]).await, host_of(&admin, &ids[1]).await);
    assert_ne!(a, b);
    let spare: Vec<String> = (1..=4).map(|i| format!("sim-host-{i}")).filter(|h| *h != a && *h != b).collect();
    for h in &spare {
        let path = format!("/v2.1/os-services/{}", service_of(&admin, h).await["id"].as_str().unwrap());
        admin.put(&path, V, &json!({"status": "disabled"})).await;
    }
    force_down(&admin, &a, true).await;
    let r = action(&admin, &ids[0], "2.53", json!({"evacuate": {}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = demo.wait_server(&ids[0], |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    assert_eq!(after.body["server"]["status"], "ACTIVE", "{}", after.body);
    assert_eq!(host_of(&admin, &ids[0]).await, a, "no host may take it");
    let path = format!("/v2.1/os-services/{}", service_of(&admin, &spare[0]).await["id"].as_str().unwrap());
    admin.put(&path, V, &json!({"status": "enabled"})).await;
    let r = action(&admin, &ids[0], "2.53", json!({"evacuate": {}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    demo.wait_server(&ids[0], |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    assert_eq!(host_of(&admin, &ids[0]).await, spare[0]);
}
both!(evacuation_keeps_anti_affinity);

/// A node that dies leaves its servers' tasks to the others once its hosts
/// are down: another node evacuates one onto its own host and deletes
/// another locally; nothing waits for the dead node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_servers_are_handled_by_another_node() {
    let db = ecs_test_utils::postgres().await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let config = |i: usize| ecsd::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dirs[i].path().to_path_buf(),
        database_url: Some(db.url.clone()),
        region: "RegionOne".into(),
        public_url: None,
        admin_password: None,
        demo_password: None,
        core: ecs_core::CoreConfig { service_down_time: std::time::Duration::from_secs(2), ..Default::default() },
        compute: ecsd::ComputeConfig {
            sim_hosts: 1,
            sim_host_prefix: format!("node{i}"),
            single_node: false,
            heartbeat_interval: std::time::Duration::from_millis(500),
            ..Default::default()
        },
        vnc_proxy_listen: None,
        novncproxy_base_url_given: false,
        early_policy_gates: true,
        http: Default::default(),
        internal: None,
        random_seed: None,
        clock_start: None,
    };
    let http = reqwest::Client::new();
    let call = async |base: &str, token: &str, method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .header("x-auth-token", token)
            .header("openstack-api-version", "compute 2.53");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    let login = async |base: &str| {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
            "domain": {"name": "Default"}, "password": "admin"}}}, "scope": {"project": {"name": "admin",
            "domain": {"name": "Default"}}}}});
        let r = http.post(format!("{base}/identity/v3/auth/tokens")).json(&body).send().await.unwrap();
        r.headers()["x-subject-token"].to_str().unwrap().to_string()
    };
    let wait = async |base: &str, token: &str, id: &str, done: &dyn Fn(u16, &Value) -> bool| {
        for _ in 0..400 {
            let (status, body) = call(base, token, reqwest::Method::GET, &format!("/v2.1/servers/{id}"), None).await;
            if done(status, &body) {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server {id} did not get there");
    };
    let idle = |_: u16, b: &Value| b["server"]["status"] == "ACTIVE" && b["server"]["OS-EXT-STS:task_state"].is_null();

    // Node 0 alone places two servers on its host.
    let node0 = ecsd::start(config(0)).await.expect("node 0 starts");
    let base0 = format!("http://{}", node0.addr);
    let token = login(&base0).await;
    let image = node0.core.store_for_tests().image_list().await.unwrap().remove(0).id;
    let mut ids = Vec::new();
    for name in ["kept", "dropped"] {
        let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
        let (status, b) = call(&base0, &token, reqwest::Method::POST, "/v2.1/servers", Some(body)).await;
        assert_eq!(status, 202, "{b}");
        let id = b["server"]["id"].as_str().unwrap().to_string();
        let shown = wait(&base0, &token, &id, &idle).await;
        assert_eq!(shown["server"]["OS-EXT-SRV-ATTR:host"], "node0-1");
        ids.push(id);
    }
    let node1 = ecsd::start(config(1)).await.expect("node 1 starts");
    let base1 = format!("http://{}", node1.addr);
    node0.stop().await.unwrap();

    // Node 0's host goes quiet, then down.
    wait(&base1, &token, &ids[0], &|_, b| b["server"]["host_status"] == "UNKNOWN").await;
    let evacuate = json!({"evacuate": {}});
    let (status, b) =
        call(&base1, &token, reqwest::Method::POST, &format!("/v2.1/servers/{}/action", ids[0]), Some(evacuate)).await;
    assert_eq!(status, 200, "{b}");
    let moved =
        wait(&base1, &token, &ids[0], &|_, b| idle(0, b) && b["server"]["OS-EXT-SRV-ATTR:host"] == "node1-1").await;
    assert_eq!(moved["server"]["host_status"], "UP");
    let (status, _) = call(&base1, &token, reqwest::Method::DELETE, &format!("/v2.1/servers/{}", ids[1]), None).await;
    assert_eq!(status, 204);
    wait(&base1, &token, &ids[1], &|status, _| status == 404).await;
    // Node 0 comes back: its copies of both servers go, nothing runs twice.
    let node0 = ecsd::start(config(0)).await.expect("node 0 restarts");
    let guests = node0.core.drivers_for_tests().get("node0-1").unwrap().list().await.unwrap();
    assert!(guests.iter().all(|g| !ids.contains(&g.id)), "stale guests left: {guests:?}");
    node0.stop().await.unwrap();
    node1.stop().await.unwrap();
}
