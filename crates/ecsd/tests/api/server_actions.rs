//! Issue 18's Nova server actions: shelve, shelveOffload and unshelve,
//! rescue and unrescue, createBackup with rotation, deferred delete with
//! restore, forceDelete and the reclaim, trigger_crash_dump, diagnostics
//! and topology — their states, refusals and effects on the hosts.

use std::time::Duration;

use ecs_core::CoreConfig;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

/// Declares `sqlite` and `postgres` tests of `$name(server)` on a server
/// whose core config `$config()` makes.
macro_rules! with_config {
    ($name:ident, $config:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::TestServer::start_with(ecs_test_utils::sqlite(), super::$config()).await;
                super::$name(&server).await;
                server.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let server = $crate::TestServer::start_with(ecs_test_utils::postgres().await, super::$config()).await;
                super::$name(&server).await;
                server.stop().await;
            }
        }
    };
}

fn keep_shelved() -> CoreConfig {
    CoreConfig { shelved_offload_time: -1, ..CoreConfig::default() }
}

fn deferred_delete() -> CoreConfig {
    CoreConfig { reclaim_instance_interval: Duration::from_secs(2), ..CoreConfig::default() }
}

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_on_network(name).await
}

async fn act(s: &Session<'_>, id: &str, version: &str, body: Value) -> crate::Reply {
    s.post(&format!("/v2.1/servers/{id}/action"), Some(version), &body).await
}

/// The hosts that run a guest of `id`.
async fn guest_hosts(server: &TestServer, id: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    for driver in server.core().drivers_for_tests().all() {
        if driver.info(id).await.unwrap().is_some() {
            hosts.push(driver.host().to_string());
        }
    }
    hosts
}

async fn used_vcpus(server: &TestServer) -> i64 {
    server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum()
}

async fn images_named(server: &TestServer, name: &str) -> Vec<ecs_types::Image> {
    server.core().store_for_tests().image_list().await.unwrap().into_iter().filter(|i| i.name == name).collect()
}

/// Waits until the server has `status` and no task state.
async fn settle(s: &Session<'_>, id: &str, status: &str) -> Value {
    let r = s
        .wait_server(id, |r| {
            r.body["server"]["status"] == status && r.body["server"]["OS-EXT-STS:task_state"].is_null()
        })
        .await;
    r.body["server"].clone()
}

async fn last_action(s: &Session<'_>, id: &str) -> Value {
    let r = s.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    r.body["instanceActions"][0].clone()
}

async fn shelve_offload_and_unshelve(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "sh").await;
    assert_eq!(used_vcpus(server).await, 1);

    // Nova's default shelved_offload_time 0: offloaded at once.
    let r = act(&demo, &id, "2.1", json!({"shelve": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = settle(&demo, &id, "SHELVED_OFFLOADED").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "shelved_offloaded");
    let s = admin.get(&format!("/v2.1/servers/{id}"), Some("2.47")).await.body["server"].clone();
    assert!(s["OS-EXT-SRV-ATTR:host"].is_null(), "{s}");
    assert!(guest_hosts(server, &id).await.is_empty(), "the guest left its host");
    assert_eq!(used_vcpus(server).await, 0, "the host's resources are freed");
    let shelved = images_named(server, "sh-shelved").await;
    assert_eq!(shelved.len(), 1);
    assert_eq!(shelved[0].status, "active");
    assert_eq!(shelved[0].properties["instance_uuid"], id);
    assert_eq!(last_action(&demo, &id).await["action"], "shelve");

    // Nova's refusals.
    let r = act(&demo, &id, "2.1", json!({"shelve": null})).await;
    let msg = r.assert_fault(409, "conflictingRequest").to_string();
    assert_eq!(msg, format!("Cannot 'shelve' instance {id} while it is in vm_state shelved_offloaded"));
    let r = act(&admin, &id, "2.1", json!({"shelveOffload": null})).await;
    r.assert_fault(409, "conflictingRequest");
    let r = act(&demo, &id, "2.77", json!({"unshelve": {"availability_zone": "nowhere"}})).await;
    assert!(r.assert_fault(400, "badRequest").contains("availability zone is not available"), "{}", r.body);
    let r = act(&demo, &id, "2.77", json!({"unshelve": {}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&demo, &id, "2.91", json!({"unshelve": {"host": "sim-host-1"}})).await;
    r.assert_fault(403, "forbidden");
    let r = act(&admin, &id, "2.91", json!({"unshelve": {"host": "nowhere"}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&admin, &id, "2.91", json!({"unshelve": {"host": "sim-host-1", "availability_zone": "other"}})).await;
    r.assert_fault(400, "badRequest");

    // Unshelve to a named host (2.91, admin): scheduled anew, booted from
    // the shelved snapshot, which then goes.
    let r = act(&admin, &id, "2.91", json!({"unshelve": {"host": "sim-host-3", "availability_zone": null}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settle(&demo, &id, "ACTIVE").await;
    assert_eq!(guest_hosts(server, &id).await, vec!["sim-host-3".to_string()]);
    assert_eq!(used_vcpus(server).await, 1);
    assert!(images_named(server, "sh-shelved").await.is_empty(), "the shelved snapshot is deleted");
    assert_eq!(last_action(&demo, &id).await["action"], "unshelve");

    // An unshelve of an ACTIVE server is refused.
    let r = act(&demo, &id, "2.1", json!({"unshelve": null})).await;
    let msg = r.assert_fault(409, "conflictingRequest").to_string();
    assert_eq!(msg, format!("Cannot 'unshelve' instance {id} while it is in vm_state active"));

    // A reader cannot shelve; another project does not see the server.
    let r = act(&demo, &id, "2.1", json!({"shelve": null})).await;
    assert_eq!(r.status, 202);
    settle(&demo, &id, "SHELVED_OFFLOADED").await;
    let r = act(&demo, &id, "2.77", json!({"unshelve": {"availability_zone": "nova"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settle(&demo, &id, "ACTIVE").await;
    let r = demo.delete(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(r.status, 204);
}
both!(shelve_offload_and_unshelve);

async fn shelve_kept_then_offloaded(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "kept").await;
    let r = act(&demo, &id, "2.1", json!({"shelve": {}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = settle(&demo, &id, "SHELVED").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 4);
    let hosts = guest_hosts(server, &id).await;
    assert_eq!(hosts.len(), 1, "a SHELVED guest stays on its host");
    assert_eq!(used_vcpus(server).await, 1);
    assert_eq!(images_named(server, "kept-shelved").await.len(), 1);

    // Naming a zone is only for an offloaded server.
    let r = act(&demo, &id, "2.77", json!({"unshelve": {"availability_zone": "nova"}})).await;
    assert!(r.assert_fault(409, "conflictingRequest").contains("must be SHELVED_OFFLOADED"), "{}", r.body);
    // shelveOffload is the admin's.
    let r = act(&demo, &id, "2.1", json!({"shelveOffload": null})).await;
    r.assert_fault(403, "forbidden");

    // Unshelve of SHELVED: started where it is; the snapshot goes.
    let r = act(&demo, &id, "2.1", json!({"unshelve": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settle(&demo, &id, "ACTIVE").await;
    assert_eq!(guest_hosts(server, &id).await, hosts);
    assert!(images_named(server, "kept-shelved").await.is_empty());

    // Shelve, then offload by the admin.
    assert_eq!(act(&demo, &id, "2.1", json!({"shelve": null})).await.status, 202);
    settle(&demo, &id, "SHELVED").await;
    let r = act(&admin, &id, "2.1", json!({"shelveOffload": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settle(&demo, &id, "SHELVED_OFFLOADED").await;
    assert!(guest_hosts(server, &id).await.is_empty());
    assert_eq!(used_vcpus(server).await, 0);
    assert_eq!(last_action(&demo, &id).await["action"], "shelveOffload");
    assert_eq!(act(&demo, &id, "2.1", json!({"unshelve": null})).await.status, 202);
    settle(&demo, &id, "ACTIVE").await;
    assert_eq!(guest_hosts(server, &id).await.len(), 1);
}
with_config!(shelve_kept_then_offloaded, keep_shelved);

async fn rescue_and_unrescue(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "rs").await;
    let r = act(&demo, &id, "2.1", json!({"rescue": {"adminPass": "Resc-ue1"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"adminPass": "Resc-ue1"}));
    let s = settle(&demo, &id, "RESCUE").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "rescued");
    let console = act(&demo, &id, "2.1", json!({"os-getConsoleOutput": {}})).await;
    assert!(console.body["output"].as_str().unwrap().contains("(original root)"), "{}", console.body);

    let r = act(&demo, &id, "2.1", json!({"rescue": null})).await;
    let msg = r.assert_fault(409, "conflictingRequest").to_string();
    assert_eq!(msg, format!("Cannot 'rescue' instance {id} while it is in vm_state rescued"));
    let r = act(&demo, &id, "2.1", json!({"shelve": null})).await;
    r.assert_fault(409, "conflictingRequest");

    let r = act(&demo, &id, "2.1", json!({"unrescue": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settle(&demo, &id, "ACTIVE").await;
    let r = act(&demo, &id, "2.1", json!({"unrescue": null})).await;
    r.assert_fault(409, "conflictingRequest");

    // Without a password one is made; a rescue image must exist.
    let r = act(&demo, &id, "2.1", json!({"rescue": {"rescue_image_ref": uuid::Uuid::new_v4().to_string()}})).await;
    assert!(r.assert_fault(400, "badRequest").contains("is not supported"), "{}", r.body);
    let r = act(&demo, &id, "2.1", json!({"rescue": {"rescue_image_ref": "nope"}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&demo, &id, "2.1", json!({"rescue": {"bogus": 1}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&demo, &id, "2.1", json!({"rescue": null})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["adminPass"].as_str().unwrap().len() >= 8);
    settle(&demo, &id, "RESCUE").await;
    assert_eq!(last_action(&demo, &id).await["action"], "rescue");
}
both!(rescue_and_unrescue);

async fn backups_rotate(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "bk").await;
    let mut made = Vec::new();
    for n in 0..3 {
        let body = json!({"createBackup": {"name": format!("bk-{n}"), "backup_type": "daily", "rotation": 2}});
        let r = act(&demo, &id, "2.45", body).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let image_id = r.body["image_id"].as_str().unwrap().to_string();
        made.push(image_id);
        settle(&demo, &id, "ACTIVE").await;
        // Each backup is taken before the next starts.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = server.core().store_for_tests();
    let kept: Vec<String> = store
        .image_list()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.properties.get("image_type").map(String::as_str) == Some("backup"))
        .map(|i| i.id)
        .collect();
    assert_eq!(kept.len(), 2, "rotation keeps the newest two: {kept:?}");
    assert!(!kept.contains(&made[0]) && kept.contains(&made[1]) && kept.contains(&made[2]));
    let image = store.image_get(&made[2]).await.unwrap();
    assert_eq!(image.properties["backup_type"], "daily");
    assert_eq!(image.status, "active");
    assert_eq!(last_action(&demo, &id).await["action"], "createBackup");

    // A weekly backup does not rotate the daily ones; before 2.45 the
    // image is named by the Location header.
    let body = json!({"createBackup": {"name": "w", "backup_type": "weekly", "rotation": "1"}});
    let r = act(&demo, &id, "2.44", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.header("location").unwrap().contains("/images/"), "{:?}", r.headers);
    settle(&demo, &id, "ACTIVE").await;
    let backups =
        store.image_list().await.unwrap().into_iter().filter(|i| i.properties.contains_key("backup_type")).count();
    assert_eq!(backups, 3);

    for bad in [
        json!({"createBackup": {"name": "x", "backup_type": "daily", "rotation": -1}}),
        json!({"createBackup": {"name": "x", "backup_type": "daily"}}),
        json!({"createBackup": {"name": "", "backup_type": "daily", "rotation": 1}}),
        json!({"createBackup": {"name": "x", "backup_type": 5, "rotation": 1}}),
        json!({"createBackup": {"name": "x", "backup_type": "daily", "rotation": 1, "extra": 1}}),
    ] {
        let r = act(&demo, &id, "2.45", bad.clone()).await;
        r.assert_fault(400, "badRequest");
    }
}
both!(backups_rotate);

async fn soft_delete_restore_and_reclaim(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "sd").await;

    // A delete is deferred: SOFT_DELETED, the guest off but kept.
    let r = demo.delete(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let s = settle(&demo, &id, "SOFT_DELETED").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 4);
    assert_eq!(guest_hosts(server, &id).await.len(), 1);
    let r = act(&demo, &id, "2.1", json!({"restore": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settle(&demo, &id, "ACTIVE").await;
    assert_eq!(last_action(&demo, &id).await["action"], "restore");
    let r = act(&demo, &id, "2.1", json!({"restore": null})).await;
    let msg = r.assert_fault(409, "conflictingRequest").to_string();
    assert_eq!(msg, format!("Cannot 'restore' instance {id} while it is in vm_state active"));

    // forceDelete deletes a soft-deleted server at once.
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    settle(&demo, &id, "SOFT_DELETED").await;
    let r = act(&demo, &id, "2.1", json!({"forceDelete": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_server(&id, |r| r.status == 404).await;
    assert!(guest_hosts(server, &id).await.is_empty());

    // Left alone, it is reclaimed after the interval.
    let id = boot(&demo, "sd2").await;
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    settle(&demo, &id, "SOFT_DELETED").await;
    demo.wait_server(&id, |r| r.status == 404).await;
    assert!(guest_hosts(server, &id).await.is_empty());
    assert_eq!(used_vcpus(server).await, 0);
}
with_config!(soft_delete_restore_and_reclaim, deferred_delete);

async fn without_reclaim_delete_is_at_once(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "hd").await;
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    let id = boot(&demo, "hd2").await;
    let r = act(&demo, &id, "2.1", json!({"restore": null})).await;
    r.assert_fault(409, "conflictingRequest");
    // forceDelete takes any idle server, as Nova's.
    let r = act(&demo, &id, "2.1", json!({"forceDelete": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_server(&id, |r| r.status == 404).await;
}
both!(without_reclaim_delete_is_at_once);

async fn crash_dump_diagnostics_and_topology(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "cd").await;

    let r = act(&demo, &id, "2.16", json!({"trigger_crash_dump": null})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = act(&demo, &id, "2.17", json!({"trigger_crash_dump": {}})).await;
    r.assert_fault(400, "badRequest");
    let r = act(&demo, &id, "2.17", json!({"trigger_crash_dump": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let console = act(&demo, &id, "2.1", json!({"os-getConsoleOutput": {}})).await;
    assert!(console.body["output"].as_str().unwrap().contains("NMI"), "{}", console.body);
    assert_eq!(last_action(&demo, &id).await["action"], "trigger_crash_dump");

    // Diagnostics: the admin's, in either shape.
    let path = format!("/v2.1/servers/{id}/diagnostics");
    demo.get(&path, Some("2.48")).await.assert_fault(403, "forbidden");
    let d = admin.get(&path, Some("2.48")).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["state"], "running");
    assert_eq!(d.body["num_cpus"], 1);
    assert_eq!(d.body["num_nics"], 1);
    assert_eq!(d.body["memory_details"]["maximum"], 1024);
    assert!(d.body["cpu_details"].is_array() && d.body["disk_details"].is_array(), "{}", d.body);
    let old = admin.get(&path, Some("2.47")).await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert!(old.body.get("cpu0_time").is_some() && old.body.get("memory").is_some(), "{}", old.body);

    // Topology (2.78): one NUMA node holding the flavor.
    let path = format!("/v2.1/servers/{id}/topology");
    assert_eq!(demo.get(&path, Some("2.77")).await.status, 404);
    let t = demo.get(&path, Some("2.78")).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["nodes"][0]["vcpu_set"], json!([0]));
    assert_eq!(t.body["nodes"][0]["memory_mb"], 1024);
    assert!(t.body["nodes"][0].get("host_node").is_none());
    let t = admin.get(&path, Some("2.78")).await;
    assert_eq!(t.body["nodes"][0]["host_node"], 0);

    // A stopped server takes no NMI.
    assert_eq!(act(&demo, &id, "2.1", json!({"os-stop": null})).await.status, 202);
    settle(&demo, &id, "SHUTOFF").await;
    let r = act(&demo, &id, "2.17", json!({"trigger_crash_dump": null})).await;
    let msg = r.assert_fault(409, "conflictingRequest").to_string();
    assert_eq!(msg, format!("Cannot 'trigger_crash_dump' instance {id} while it is in vm_state stopped"));
}
both!(crash_dump_diagnostics_and_topology);

async fn private_flavor_access(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let body = json!({"flavor": {"name": "priv", "ram": 512, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": false}});
    let r = admin.post("/v2.1/flavors", None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fid = r.body["flavor"]["id"].as_str().unwrap().to_string();
    let visible = |r: &crate::Reply| r.body["flavors"].as_array().unwrap().iter().any(|f| f["id"] == fid.as_str());

    // Invisible and unusable to a project without access.
    assert_eq!(demo.get(&format!("/v2.1/flavors/{fid}"), None).await.status, 404);
    assert!(!visible(&demo.get("/v2.1/flavors/detail", None).await));
    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
    let boot = json!({"server": {"name": "p", "flavorRef": fid, "imageRef": image, "networks": "none"}});
    demo.post("/v2.1/servers", Some("2.37"), &boot).await.assert_fault(400, "badRequest");

    let access = format!("/v2.1/flavors/{fid}/os-flavor-access");
    let act = format!("/v2.1/flavors/{fid}/action");
    let r = admin.get(&access, None).await;
    assert_eq!(r.body, json!({"flavor_access": []}));
    let add = json!({"addTenantAccess": {"tenant": demo.project_id}});
    demo.post(&act, None, &add).await.assert_fault(403, "forbidden");
    let r = admin.post(&act, None, &add).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"flavor_access": [{"flavor_id": fid, "tenant_id": demo.project_id}]}));
    let r = admin.post(&act, None, &add).await;
    assert!(r.assert_fault(409, "conflictingRequest").contains("already exists"), "{}", r.body);
    demo.get(&access, None).await.assert_fault(403, "forbidden");

    // Now the project sees and uses it.
    assert_eq!(demo.get(&format!("/v2.1/flavors/{fid}"), None).await.status, 200);
    assert!(visible(&demo.get("/v2.1/flavors/detail", None).await));
    let r = demo.post("/v2.1/servers", Some("2.37"), &boot).await;
    assert_eq!(r.status, 202, "{}", r.body);

    let remove = json!({"removeTenantAccess": {"tenant": demo.project_id}});
    let r = admin.post(&act, None, &remove).await;
    assert_eq!(r.body, json!({"flavor_access": []}));
    let r = admin.post(&act, None, &remove).await;
    assert!(r.assert_fault(404, "itemNotFound").contains("Flavor access not found"), "{}", r.body);
    assert_eq!(demo.get(&format!("/v2.1/flavors/{fid}"), None).await.status, 404);

    // Public flavors have no access list.
    let r = admin.get("/v2.1/flavors/m1.tiny/os-flavor-access", None).await;
    assert!(r.assert_fault(404, "itemNotFound").contains("public flavors"), "{}", r.body);
    let r = admin.post("/v2.1/flavors/m1.tiny/action", None, &add).await;
    r.assert_fault(409, "conflictingRequest");
    for bad in [json!({"addTenantAccess": {}}), json!({"addTenantAccess": {"tenant": "a b"}}), json!({"nope": {}})] {
        admin.post(&act, None, &bad).await.assert_fault(400, "badRequest");
    }
    let r = admin.post("/v2.1/flavors/nope/action", None, &add).await;
    r.assert_fault(404, "itemNotFound");
}
both!(private_flavor_access);

async fn tenant_usage(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S").to_string();
    let a = boot(&demo, "ua").await;
    let b = boot(&demo, "ub").await;
    assert_eq!(demo.delete(&format!("/v2.1/servers/{b}"), None).await.status, 204);
    demo.wait_server(&b, |r| r.status == 404).await;
    let end = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S").to_string();
    let window = format!("start={start}&end={end}");

    let r = admin.get(&format!("/v2.1/os-simple-tenant-usage?{window}&detailed=1"), Some("2.1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let usages = r.body["tenant_usages"].as_array().unwrap();
    let mine = usages.iter().find(|u| u["tenant_id"] == demo.project_id.as_str()).unwrap();
    let servers = mine["server_usages"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{mine}");
    let ended = servers.iter().find(|s| s["instance_id"] == b.as_str()).unwrap();
    assert_eq!(ended["state"], "terminated");
    assert!(ended["ended_at"].is_string());
    let running = servers.iter().find(|s| s["instance_id"] == a.as_str()).unwrap();
    assert_eq!(running["state"], "active");
    assert_eq!(running["vcpus"], 1);
    assert_eq!(running["flavor"], "s3.small.1");
    assert!(mine["total_hours"].as_f64().unwrap() > 0.0);
    let r = admin.get(&format!("/v2.1/os-simple-tenant-usage?{window}"), Some("2.1")).await;
    assert!(r.body["tenant_usages"][0].get("server_usages").is_none(), "{}", r.body);

    // A project reads its own usage only; the list is the admin's.
    demo.get("/v2.1/os-simple-tenant-usage", None).await.assert_fault(403, "forbidden");
    let r = demo.get(&format!("/v2.1/os-simple-tenant-usage/{}?{window}", demo.project_id), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["tenant_usage"]["server_usages"].as_array().unwrap().len(), 2);
    let other = format!("/v2.1/os-simple-tenant-usage/{}", admin.project_id);
    demo.get(&other, None).await.assert_fault(403, "forbidden");
    let r = admin.get(&format!("{other}?{window}"), None).await;
    assert_eq!(r.body, json!({"tenant_usage": {}}));

    // 2.40: paged by server.
    let r = admin.get(&format!("/v2.1/os-simple-tenant-usage?{window}&limit=1"), Some("2.40")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let next = r.body["tenant_usages_links"][0]["href"].as_str().unwrap().to_string();
    assert!(next.contains("marker="), "{next}");
    let path = &next[next.find("/v2.1/").unwrap()..];
    let r = admin.get(path, Some("2.40")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["tenant_usages"].as_array().unwrap().len(), 1);

    for bad in ["start=yesterday", &format!("start={end}&end={start}")] {
        let r = admin.get(&format!("/v2.1/os-simple-tenant-usage?{bad}"), None).await;
        r.assert_fault(400, "badRequest");
    }
    let r = admin.get(&format!("/v2.1/os-simple-tenant-usage?{window}&marker=nope"), Some("2.40")).await;
    r.assert_fault(400, "badRequest");
}
both!(tenant_usage);
