//! Nova's compatibility APIs over ecsd's hosts, servers and quotas, at the
//! microversions Nova serves them: os-hypervisors' statistics, uptime,
//! search and servers, os-hosts, os-quota-class-sets, the usage audit
//! log, `/extensions` and os-tenant-networks.

use serde_json::json;

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str) -> (String, String) {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    let admin = s.server.admin().await;
    let shown = admin.get(&format!("/v2.1/servers/{id}"), None).await;
    (id, shown.body["server"]["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string())
}

async fn hypervisor_compat(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let (id, host) = boot(&demo, "on-a-host").await;

    // Statistics sum the enabled hosts, until 2.87.
    let stats = admin.get("/v2.1/os-hypervisors/statistics", None).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let s = &stats.body["hypervisor_statistics"];
    assert_eq!(s["count"], 4);
    assert_eq!(s["running_vms"], 1);
    assert_eq!(s["vcpus_used"], 1);
    assert_eq!(s["free_ram_mb"].as_i64().unwrap(), s["memory_mb"].as_i64().unwrap() - 512, "{s}");
    admin.get("/v2.1/os-hypervisors/statistics", Some("2.88")).await.assert_fault(404, "itemNotFound");
    demo.get("/v2.1/os-hypervisors/statistics", None).await.assert_fault(403, "forbidden");

    // Uptime: an `uptime` line, by integer id before 2.53 and UUID after.
    let up = admin.get("/v2.1/os-hypervisors/1/uptime", None).await;
    assert_eq!(up.status, 200, "{}", up.body);
    let line = up.body["hypervisor"]["uptime"].as_str().unwrap();
    assert!(line.contains(" up ") && line.contains("load average"), "{line}");
    assert_eq!(up.body["hypervisor"]["id"], 1);
    admin.get("/v2.1/os-hypervisors/99/uptime", None).await.assert_fault(404, "itemNotFound");
    admin.get("/v2.1/os-hypervisors/x/uptime", Some("2.53")).await.assert_fault(400, "badRequest");
    demo.get("/v2.1/os-hypervisors/1/uptime", None).await.assert_fault(403, "forbidden");
    let list = admin.get("/v2.1/os-hypervisors", Some("2.53")).await;
    let uuid = list.body["hypervisors"][0]["id"].as_str().unwrap().to_string();
    let up = admin.get(&format!("/v2.1/os-hypervisors/{uuid}/uptime"), Some("2.53")).await;
    assert_eq!(up.body["hypervisor"]["id"], uuid.as_str());
    admin.get(&format!("/v2.1/os-hypervisors/{uuid}/uptime"), Some("2.88")).await.assert_fault(404, "itemNotFound");
    let detail = admin.get(&format!("/v2.1/os-hypervisors/{uuid}"), Some("2.88")).await;
    assert!(detail.body["hypervisor"]["uptime"].as_str().unwrap().contains(" up "), "{}", detail.body);
    // A host that does not answer cannot say.
    server.sim().set_host_down("sim-host-2", true);
    let down = admin.get("/v2.1/os-hypervisors/2/uptime", None).await;
    assert_eq!(down.assert_fault(400, "badRequest"), "Compute service of sim-host-2 is unavailable at this time.");
    server.sim().set_host_down("sim-host-2", false);

    // Search and servers by hostname pattern, until 2.52.
    let found = admin.get("/v2.1/os-hypervisors/sim-host/search", None).await;
    assert_eq!(found.body["hypervisors"].as_array().unwrap().len(), 4, "{}", found.body);
    assert!(found.body["hypervisors"][0].get("servers").is_none());
    let none = admin.get("/v2.1/os-hypervisors/nohost/search", None).await;
    assert_eq!(none.assert_fault(404, "itemNotFound"), "No hypervisor matching 'nohost' could be found.");
    admin.get("/v2.1/os-hypervisors/sim-host/search", Some("2.53")).await.assert_fault(404, "itemNotFound");
    let on = admin.get(&format!("/v2.1/os-hypervisors/{host}/servers"), Some("2.52")).await;
    assert_eq!(on.body["hypervisors"][0]["servers"], json!([{"name": "on-a-host", "uuid": id}]), "{}", on.body);
    let all = admin.get("/v2.1/os-hypervisors/sim/servers", None).await;
    let without: Vec<_> =
        all.body["hypervisors"].as_array().unwrap().iter().filter(|h| h.get("servers").is_none()).collect();
    assert_eq!(without.len(), 3, "hosts without servers have no `servers` key before 2.75: {}", all.body);
    admin.get(&format!("/v2.1/os-hypervisors/{host}/servers"), Some("2.53")).await.assert_fault(404, "itemNotFound");

    // From 2.53: the pattern and with_servers filters.
    let q = format!("/v2.1/os-hypervisors?hypervisor_hostname_pattern={host}&with_servers=true");
    let on = admin.get(&q, Some("2.53")).await;
    assert_eq!(on.body["hypervisors"][0]["servers"][0]["uuid"], id.as_str(), "{}", on.body);
    let empty = admin.get("/v2.1/os-hypervisors/detail?with_servers=true", Some("2.75")).await;
    assert!(empty.body["hypervisors"].as_array().unwrap().iter().all(|h| h["servers"].is_array()), "{}", empty.body);
    admin
        .get("/v2.1/os-hypervisors?hypervisor_hostname_pattern=nohost", Some("2.53"))
        .await
        .assert_fault(404, "itemNotFound");
    admin.get("/v2.1/os-hypervisors?with_servers=maybe", Some("2.53")).await.assert_fault(400, "badRequest");
    let one = admin.get(&format!("/v2.1/os-hypervisors/{uuid}?with_servers=true"), Some("2.75")).await;
    assert!(one.body["hypervisor"]["servers"].is_array(), "{}", one.body);
    admin.get("/v2.1/os-hypervisors/sim-host-1", Some("2.53")).await.assert_fault(400, "badRequest");
    admin.get("/v2.1/os-hypervisors/sim-host-1", Some("2.52")).await.assert_fault(404, "itemNotFound");
}

both!(hypervisor_compat);

async fn os_hosts(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let (_, host) = boot(&demo, "hosted").await;

    let hosts = admin.get("/v2.1/os-hosts", None).await;
    let list = hosts.body["hosts"].as_array().unwrap();
    assert_eq!(list.len(), 4, "{}", hosts.body);
    assert_eq!(list[0], json!({"host_name": "sim-host-1", "service": "compute", "zone": "nova"}));
    assert_eq!(admin.get("/v2.1/os-hosts?zone=", None).await.body["hosts"].as_array().unwrap().len(), 4);
    assert_eq!(admin.get("/v2.1/os-hosts?zone=nova", None).await.body["hosts"].as_array().unwrap().len(), 4);
    assert_eq!(admin.get("/v2.1/os-hosts?zone=xxx", None).await.body["hosts"], json!([]));
    admin.get("/v2.1/os-hosts", Some("2.43")).await.assert_fault(404, "itemNotFound");
    demo.get("/v2.1/os-hosts", None).await.assert_fault(403, "forbidden");

    // Show: total, used now, used by flavors, and per project.
    let shown = admin.get(&format!("/v2.1/os-hosts/{host}"), None).await;
    let rows = shown.body["host"].as_array().unwrap();
    let projects: Vec<&str> = rows.iter().map(|r| r["resource"]["project"].as_str().unwrap()).collect();
    assert_eq!(projects, ["(total)", "(used_now)", "(used_max)", server.demo_project_id()]);
    assert_eq!(
        rows[2]["resource"],
        json!({"host": host, "project": "(used_max)", "cpu": 1, "memory_mb": 512, "disk_gb": 1})
    );
    let missing = admin.get("/v2.1/os-hosts/nohost", None).await;
    assert_eq!(missing.assert_fault(404, "itemNotFound"), "Host 'nohost' is not mapped to any cell");

    // Update: status switches scheduling; maintenance mode and power are not supported.
    let path = "/v2.1/os-hosts/sim-host-4";
    let r = admin.put(path, None, &json!({"status": "disable"})).await;
    assert_eq!(r.body, json!({"host": "sim-host-4", "status": "disabled"}));
    assert_eq!(admin.get("/v2.1/os-hosts", None).await.body["hosts"].as_array().unwrap().len(), 3);
    let r = admin.put(path, None, &json!({"status": "Enable"})).await;
    assert_eq!(r.body["status"], "enabled");
    admin.put(path, None, &json!({"maintenance_mode": "enable"})).await.assert_fault(501, "notImplemented");
    admin.put(path, None, &json!({"status": "invalid"})).await.assert_fault(400, "badRequest");
    admin.put(path, None, &json!({})).await.assert_fault(400, "badRequest");
    admin.put(path, None, &json!({"status": "enable", "other": 1})).await.assert_fault(400, "badRequest");
    let r = admin.put("/v2.1/os-hosts/nohost", None, &json!({"status": "enable"})).await;
    assert_eq!(r.assert_fault(404, "itemNotFound"), "Host nohost could not be found.");
    demo.put(path, None, &json!({"status": "enable"})).await.assert_fault(403, "forbidden");
    for action in ["startup", "shutdown", "reboot"] {
        admin.get(&format!("{path}/{action}"), None).await.assert_fault(501, "notImplemented");
        admin.get(&format!("/v2.1/os-hosts/nohost/{action}"), None).await.assert_fault(404, "itemNotFound");
        demo.get(&format!("{path}/{action}"), None).await.assert_fault(403, "forbidden");
    }
}

both!(os_hosts);

async fn quota_classes(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let path = "/v2.1/os-quota-class-sets/default";
    let shown = admin.get(path, None).await;
    let set = shown.body["quota_class_set"].as_object().unwrap();
    assert_eq!(set["id"], "default");
    assert!(set.contains_key("floating_ips") && !set.contains_key("server_groups"), "{}", shown.body);
    let v250 = admin.get(path, Some("2.50")).await;
    let set = v250.body["quota_class_set"].as_object().unwrap();
    assert!(!set.contains_key("floating_ips") && set.contains_key("server_groups"), "{}", v250.body);
    assert!(set.contains_key("injected_files"));
    let v257 = admin.get(path, Some("2.57")).await;
    assert!(!v257.body["quota_class_set"].as_object().unwrap().contains_key("injected_files"));
    demo.get(path, None).await.assert_fault(403, "forbidden");

    // Raising the default class raises the defaults of projects without their own.
    let instances = set["instances"].as_i64().unwrap();
    let r =
        admin.put(path, Some("2.57"), &json!({"quota_class_set": {"instances": instances + 100, "cores": "-1"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["quota_class_set"]["instances"], instances + 100);
    assert!(r.body["quota_class_set"].get("id").is_none());
    let project = server.demo_project_id();
    let defaults = demo.get(&format!("/v2.1/os-quota-sets/{project}/defaults"), None).await;
    assert_eq!(defaults.body["quota_set"]["instances"], instances + 100);
    assert_eq!(defaults.body["quota_set"]["cores"], -1);
    let limits = demo.get("/v2.1/limits", None).await;
    assert_eq!(limits.body["limits"]["absolute"]["maxTotalInstances"], instances + 100);

    // Keys by microversion; limits from -1.
    for body in [
        json!({"quota_class_set": {"floating_ips": 1}}),
        json!({"quota_class_set": {"injected_files": 1}}),
        json!({"quota_class_set": {"instances": -2}}),
        json!({"quota_set": {"instances": 1}}),
    ] {
        admin.put(path, Some("2.57"), &body).await.assert_fault(400, "badRequest");
    }
    let old = admin.put(path, Some("2.1"), &json!({"quota_class_set": {"floating_ips": 7, "server_groups": 9}})).await;
    assert_eq!(old.body["quota_class_set"]["floating_ips"], 7, "{}", old.body);
    assert!(old.body["quota_class_set"].get("server_groups").is_none());
    demo.put(path, None, &json!({"quota_class_set": {"instances": 1}})).await.assert_fault(403, "forbidden");
    // Another class is kept but changes no project's limits.
    admin.put("/v2.1/os-quota-class-sets/gold", None, &json!({"quota_class_set": {"ram": 1}})).await;
    assert_eq!(admin.get("/v2.1/os-quota-class-sets/gold", None).await.body["quota_class_set"]["ram"], 1);
    let defaults = demo.get(&format!("/v2.1/os-quota-sets/{project}/defaults"), None).await;
    assert_ne!(defaults.body["quota_set"]["ram"], 1);
}

both!(quota_classes);

async fn usage_audit_log(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let list = admin.get("/v2.1/os-instance_usage_audit_log", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let log = &list.body["instance_usage_audit_logs"];
    assert_eq!(log["num_hosts"], 4);
    assert_eq!(log["num_hosts_done"], 4);
    assert_eq!(log["overall_status"], "ALL hosts done. 0 errors.");
    assert_eq!(log["log"]["sim-host-1"]["state"], "DONE");
    assert!(log["period_beginning"].as_str().unwrap().ends_with("-01 00:00:00"), "{log}");

    // A past month: its period, and the servers active then (none).
    let shown = admin.get("/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00", None).await;
    let log = &shown.body["instance_usage_audit_log"];
    assert_eq!(log["period_beginning"], "2026-02-01 00:00:00", "{}", shown.body);
    assert_eq!(log["period_ending"], "2026-03-01 00:00:00");
    assert_eq!(log["total_instances"], 0);
    let fraction = admin.get("/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00.5", None).await;
    assert_eq!(fraction.status, 200, "{}", fraction.body);
    let bad = admin.get("/v2.1/os-instance_usage_audit_log/invalid_time", None).await;
    assert_eq!(bad.assert_fault(400, "badRequest"), "Invalid timestamp for date invalid_time");
    demo.get("/v2.1/os-instance_usage_audit_log", None).await.assert_fault(403, "forbidden");
    demo.get("/v2.1/os-instance_usage_audit_log/invalid_time", None).await.assert_fault(403, "forbidden");
}

both!(usage_audit_log);

async fn extensions(server: &TestServer) {
    let demo = server.demo().await;
    let list = demo.get("/v2.1/extensions", None).await;
    let exts = list.body["extensions"].as_array().unwrap();
    assert_eq!(exts.len(), 99);
    assert!(exts.iter().any(|e| e["name"] == "Hosts"), "{}", list.body);
    let legacy = demo.get("/v2/extensions", None).await;
    let aliases: Vec<&str> =
        legacy.body["extensions"].as_array().unwrap().iter().map(|e| e["alias"].as_str().unwrap()).collect();
    assert!(aliases.contains(&"OS-EXT-VIF-NET") && aliases.is_sorted(), "{aliases:?}");
    let one = demo.get("/v2.1/extensions/os-consoles", None).await;
    assert_eq!(one.body["extension"]["alias"], "os-consoles");
    assert_eq!(one.body["extension"]["links"], json!([]));
    demo.get("/v2.1/extensions/OS-EXT-VIF-NET", None).await.assert_fault(404, "itemNotFound");
    demo.get("/v2.1/extensions/nothing", None).await.assert_fault(404, "itemNotFound");
}

both!(extensions);

async fn tenant_networks(server: &TestServer) {
    let demo = server.demo().await;
    let visible = demo.get("/v2.1/os-networks", None).await;
    let first = &visible.body["networks"][0];
    let id = first["id"].as_str().unwrap();
    let list = demo.get("/v2.1/os-tenant-networks", None).await;
    let networks = list.body["networks"].as_array().unwrap();
    assert_eq!(networks.len(), visible.body["networks"].as_array().unwrap().len(), "{}", list.body);
    assert!(networks.contains(&json!({"id": id, "cidr": "None", "label": first["label"]})), "{}", list.body);
    let one = demo.get(&format!("/v2.1/os-tenant-networks/{id}"), Some("2.35")).await;
    assert_eq!(one.body["network"]["id"], id);
    let missing = demo.get("/v2.1/os-tenant-networks/nonet", None).await;
    assert_eq!(missing.assert_fault(404, "itemNotFound"), "Network not found");
    demo.get("/v2.1/os-tenant-networks", Some("2.36")).await.assert_fault(404, "itemNotFound");
    let gone = demo.post("/v2.1/os-tenant-networks", None, &json!({"network": {"label": "x"}})).await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert_eq!(demo.delete(&format!("/v2.1/os-tenant-networks/{id}"), None).await.status, 410);
}

both!(tenant_networks);
