//! Moves between hosts through the Nova API, on the simulated hosts
//! (sim-host-1 … 4): cold migration with a target host, confirm and
//! revert; live migration, watched, forced and aborted; the migration
//! records `os-migrations` lists; and the refusals Nova gives.

use std::time::Duration;

use ecs_hypervisor::Op;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_on_network(name).await
}

async fn act(s: &Session<'_>, id: &str, version: &str, body: Value) -> crate::Reply {
    s.post(&format!("/v2.1/servers/{id}/action"), Some(version), &body).await
}

async fn host_of(admin: &Session<'_>, id: &str) -> String {
    let r = admin.get(&format!("/v2.1/servers/{id}"), Some("2.1")).await;
    r.body["server"]["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string()
}

/// A host other than `not`.
async fn other_host(server: &TestServer, not: &str) -> String {
    let hosts = server.core().store_for_tests().host_list().await.unwrap();
    hosts.into_iter().map(|h| h.name).find(|h| h != not).unwrap()
}

/// The hosts holding a guest of `id`, with its power state.
async fn guests(server: &TestServer, id: &str) -> Vec<(String, ecs_hypervisor::PowerState)> {
    let mut out = Vec::new();
    for driver in server.core().drivers_for_tests().all() {
        if let Some(g) = driver.info(id).await.unwrap() {
            out.push((driver.host().to_string(), g.power_state));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn migrations(admin: &Session<'_>, version: &str, query: &str) -> Vec<Value> {
    let r = admin.get(&format!("/v2.1/os-migrations{query}"), Some(version)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["migrations"].as_array().unwrap().clone()
}

async fn cold_migration(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "cold").await;
    let source = host_of(&admin, &id).await;
    let target = other_host(server, &source).await;

    // Refusals: not an admin, the same host, an unknown or disabled host,
    // a body beyond 2.56's schema.
    let to = |h: &str| json!({"migrate": {"host": h}});
    act(&demo, &id, "2.56", to(&target)).await.assert_fault(403, "forbidden");
    let r = act(&admin, &id, "2.56", to(&source)).await;
    assert!(r.assert_fault(400, "badRequest").contains("Cannot migrate to the host where the server exists."));
    let r = act(&admin, &id, "2.56", to("nowhere")).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Compute host nowhere could not be found.");
    act(&admin, &id, "2.56", json!({"migrate": {"host": target, "force": true}})).await.assert_fault(400, "badRequest");
    let store = server.core().store_for_tests();
    store.host_set_enabled(&target, false).await.unwrap();
    let r = act(&admin, &id, "2.56", to(&target)).await;
    assert!(r.assert_fault(400, "badRequest").contains("No valid host"), "{}", r.body);
    store.host_set_enabled(&target, true).await.unwrap();
    assert!(migrations(&admin, "2.1", "").await.is_empty(), "a refusal records no move");

    // To the host asked for: VERIFY_RESIZE there, the source's copy kept
    // (stopped) until confirmed.
    let r = act(&admin, &id, "2.56", to(&target)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_status(&id, "VERIFY_RESIZE").await;
    assert_eq!(s["OS-EXT-SRV-ATTR:host"], target.as_str());
    assert_eq!(s["flavor"]["original_name"], "s3.small.1");
    let on = guests(server, &id).await;
    assert_eq!(on.len(), 2, "{on:?}");
    assert!(on.contains(&(target.clone(), ecs_hypervisor::PowerState::Running)), "{on:?}");
    let listed = migrations(&admin, "2.23", "").await;
    assert_eq!(listed.len(), 1);
    let m = &listed[0];
    assert_eq!((m["migration_type"].as_str(), m["status"].as_str()), (Some("migration"), Some("finished")));
    assert_eq!((m["source_compute"].as_str(), m["dest_compute"].as_str()), (Some(&*source), Some(&*target)));
    assert_eq!(m["instance_uuid"], id.as_str());
    assert!(m.get("links").is_none(), "only an in-progress live migration has links");
    let old = &migrations(&admin, "2.1", "").await[0];
    assert!(old.get("migration_type").is_none() && old.get("uuid").is_none());
    let new = &migrations(&admin, "2.80", "").await[0];
    assert!(new["uuid"].is_string() && new["user_id"].is_string() && new["project_id"].is_string(), "{new}");
    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    assert_eq!(actions.body["instanceActions"][0]["action"], "migrate");

    let r = act(&admin, &id, "2.1", json!({"confirmResize": null})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    admin.wait_status(&id, "ACTIVE").await;
    assert_eq!(guests(server, &id).await, vec![(target.clone(), ecs_hypervisor::PowerState::Running)]);
    assert_eq!(migrations(&admin, "2.23", "").await[0]["status"], "confirmed");
    let used: i64 = store.host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 1, "the source's claim is gone");

    // The scheduler's choice (before 2.56 the argument is not looked at),
    // then a revert: back on `target`, running.
    let r = act(&admin, &id, "2.1", json!({"migrate": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_status(&id, "VERIFY_RESIZE").await;
    assert_ne!(s["OS-EXT-SRV-ATTR:host"], target.as_str(), "a cold migration leaves its host");
    let r = act(&admin, &id, "2.1", json!({"revertResize": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["OS-EXT-SRV-ATTR:host"], target.as_str());
    assert_eq!(guests(server, &id).await, vec![(target.clone(), ecs_hypervisor::PowerState::Running)]);
    let listed = migrations(&admin, "2.59", "").await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["status"], "reverted", "newest first");
    // Paging (2.59): one at a time, the next link naming the marker.
    let r = admin.get("/v2.1/os-migrations?limit=1", Some("2.59")).await;
    assert_eq!(r.body["migrations"].as_array().unwrap().len(), 1);
    assert!(r.body["migrations_links"][0]["href"].as_str().unwrap().contains("marker="), "{}", r.body);
    let marker = r.body["migrations"][0]["uuid"].as_str().unwrap();
    let rest = migrations(&admin, "2.59", &format!("?marker={marker}")).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["status"], "confirmed");
    admin.get("/v2.1/os-migrations?marker=nope", Some("2.59")).await.assert_fault(400, "badRequest");
    assert_eq!(migrations(&admin, "2.1", &format!("?host={target}&migration_type=migration")).await.len(), 2);
    assert!(migrations(&admin, "2.1", "?status=error").await.is_empty());
    demo.get("/v2.1/os-migrations", None).await.assert_fault(403, "forbidden");
}
both!(cold_migration);

async fn live_migration(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "live").await;
    let source = host_of(&admin, &id).await;
    let target = other_host(server, &source).await;
    let live = |body: Value| json!({"os-migrateLive": body});

    // Refusals.
    let to = |h: &str| live(json!({"host": h, "block_migration": "auto"}));
    act(&demo, &id, "2.25", to(&target)).await.assert_fault(403, "forbidden");
    let r = act(&admin, &id, "2.25", to(&source)).await;
    assert_eq!(
        r.assert_fault(400, "badRequest"),
        format!("Unable to migrate instance ({id}) to current host ({source}).")
    );
    let r = act(&admin, &id, "2.25", to("nowhere")).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Compute host nowhere could not be found.");
    act(&admin, &id, "2.25", live(json!({"host": null}))).await.assert_fault(400, "badRequest");
    act(&admin, &id, "2.1", to(&target)).await.assert_fault(400, "badRequest");
    let forced = live(json!({"host": null, "block_migration": false, "force": true}));
    let r = act(&admin, &id, "2.30", forced).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Can't force to a non-provided destination");
    let forced = live(json!({"host": target, "block_migration": "auto", "force": true}));
    act(&admin, &id, "2.68", forced).await.assert_fault(400, "badRequest");
    assert_eq!(act(&demo, &id, "2.1", json!({"os-stop": null})).await.status, 202);
    demo.wait_status(&id, "SHUTOFF").await;
    let r = act(&admin, &id, "2.25", to(&target)).await;
    let text = r.assert_fault(409, "conflictingRequest");
    assert_eq!(text, format!("Cannot 'os-migrateLive' instance {id} while it is in vm_state stopped"));
    assert_eq!(act(&demo, &id, "2.1", json!({"os-start": null})).await.status, 202);
    demo.wait_status(&id, "ACTIVE").await;

    // To the host asked for, at 2.0's schema: running throughout, no new boot.
    let body = live(json!({"host": target, "block_migration": false, "disk_over_commit": false}));
    let r = act(&admin, &id, "2.1", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_server(&id, |r| r.body["server"]["OS-EXT-SRV-ATTR:host"] == target.as_str()).await;
    let s = &s.body["server"];
    assert_eq!((s["status"].as_str(), s["OS-EXT-STS:task_state"].as_null()), (Some("ACTIVE"), Some(())));
    assert_eq!(guests(server, &id).await, vec![(target.clone(), ecs_hypervisor::PowerState::Running)]);
    let console = demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-getConsoleOutput": {}})).await;
    let boots = console.body["output"].as_str().unwrap().matches("Linux version").count();
    assert_eq!(boots, 2, "the boot and the restart before, none from the move: {}", console.body);
    let m = &migrations(&admin, "2.23", "?migration_type=live-migration").await[0];
    assert_eq!((m["status"].as_str(), m["dest_compute"].as_str()), (Some("completed"), Some(&*target)));
    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    assert_eq!(actions.body["instanceActions"][0]["action"], "live-migration");
    let used: i64 = server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 1, "the source's claim is gone");

    // A slow move, watched and forced to finish; then one aborted.
    server.sim().set_latency(Op::Migrate, Duration::from_secs(60));
    let path = format!("/v2.1/servers/{id}/migrations");
    let running = || async {
        for _ in 0..200 {
            let r = admin.get(&path, Some("2.23")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if let Some(m) = r.body["migrations"].as_array().unwrap().first()
                && m["status"] == "running"
            {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the live migration never ran");
    };
    let here = target.clone();
    let r = act(&admin, &id, "2.25", live(json!({"host": null, "block_migration": "auto"}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let m = running().await;
    assert_eq!(m["server_uuid"], id.as_str());
    assert!(m["memory_total_bytes"].as_i64().unwrap() > 0, "{m}");
    let mid = m["id"].as_i64().unwrap();
    let shown = admin.get(&format!("{path}/{mid}"), Some("2.23")).await;
    assert_eq!(shown.body["migration"]["id"], mid, "{}", shown.body);
    // The copy advances while it runs.
    let mut advanced = false;
    for _ in 0..100 {
        let m = &admin.get(&format!("{path}/{mid}"), Some("2.23")).await.body["migration"];
        let (total, done) = (m["memory_total_bytes"].as_i64().unwrap(), m["memory_processed_bytes"].as_i64().unwrap());
        assert_eq!(m["memory_remaining_bytes"].as_i64().unwrap(), total - done, "{m}");
        if done > 0 {
            advanced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(advanced, "the processed bytes never moved");
    let listed = &migrations(&admin, "2.23", "?status=running").await[0];
    assert!(listed["links"][0]["href"].as_str().unwrap().ends_with(&format!("/migrations/{mid}")), "{listed}");
    admin.get(&path, Some("2.22")).await.assert_fault(404, "itemNotFound");
    let force = json!({"force_complete": null});
    admin.post(&format!("{path}/{mid}/action"), Some("2.21"), &force).await.assert_fault(404, "itemNotFound");
    demo.post(&format!("{path}/{mid}/action"), Some("2.22"), &force).await.assert_fault(403, "forbidden");
    let r = admin.post(&format!("{path}/{mid}/action"), Some("2.22"), &force).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    let moved_to = s.body["server"]["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string();
    assert_ne!(moved_to, here, "forced to finish, it moved");
    let r = admin.post(&format!("{path}/{mid}/action"), Some("2.22"), &force).await;
    let text = r.assert_fault(409, "conflictingRequest");
    assert_eq!(text, format!("Cannot 'force_complete' instance {id} while it is in task_state None"));
    admin.get(&format!("{path}/{mid}"), Some("2.23")).await.assert_fault(404, "itemNotFound");
    admin.get(&format!("{path}/999999"), Some("2.23")).await.assert_fault(404, "itemNotFound");
    admin.delete(&format!("{path}/999999"), Some("2.24")).await.assert_fault(404, "itemNotFound");

    let r = act(&admin, &id, "2.25", live(json!({"host": null, "block_migration": "auto"}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let mid = running().await["id"].as_i64().unwrap();
    admin.delete(&format!("{path}/{mid}"), Some("2.23")).await.assert_fault(404, "itemNotFound");
    let r = admin.delete(&format!("{path}/{mid}"), Some("2.24")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    assert_eq!(s.body["server"]["OS-EXT-SRV-ATTR:host"], moved_to.as_str(), "aborted, it stays");
    assert_eq!(s.body["server"]["status"], "ACTIVE");
    assert_eq!(guests(server, &id).await, vec![(moved_to.clone(), ecs_hypervisor::PowerState::Running)]);
    let m = &migrations(&admin, "2.23", "").await[0];
    assert_eq!(m["status"], "cancelled", "{m}");
    let used: i64 = server.core().store_for_tests().host_list().await.unwrap().iter().map(|h| h.used_vcpus).sum();
    assert_eq!(used, 1, "the destination's claim is given back");
    server.sim().set_latency(Op::Migrate, Duration::ZERO);
}
both!(live_migration);

/// One host: a resize has nowhere to go unless it may stay (Nova's
/// `allow_resize_to_same_host`); a cold migration never stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_to_the_same_host_only_when_allowed() {
    for allowed in [false, true] {
        let server = TestServer::start_serving(ecs_test_utils::sqlite(), |c| {
            c.compute.sim_hosts = 1;
            c.core.allow_resize_to_same_host = allowed;
        })
        .await;
        let demo = server.demo().await;
        let admin = server.admin().await;
        let id = boot(&demo, "one").await;
        let r = act(&demo, &id, "2.1", json!({"resize": {"flavorRef": "s3.large.2"}})).await;
        assert_eq!(r.status, 202, "{}", r.body);
        if allowed {
            let s = demo.wait_status(&id, "VERIFY_RESIZE").await;
            assert_eq!(s["flavor"]["original_name"], "s3.large.2");
            let r = act(&demo, &id, "2.1", json!({"confirmResize": null})).await;
            assert_eq!(r.status, 204, "{}", r.body);
            demo.wait_status(&id, "ACTIVE").await;
        } else {
            let s = demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
            assert_eq!(s.body["server"]["status"], "ACTIVE");
            let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
            assert_eq!(actions.body["instanceActions"][0]["message"], "Error", "{}", actions.body);
            assert_eq!(s.body["server"]["flavor"]["original_name"], "s3.small.1");
            let m = &migrations(&admin, "2.23", "").await[0];
            assert_eq!((m["migration_type"].as_str(), m["status"].as_str()), (Some("resize"), Some("error")));
        }
        // A cold migration has no other host to go to either way.
        let r = act(&admin, &id, "2.1", json!({"migrate": null})).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let s = admin.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
        assert_eq!(s.body["server"]["status"], "ACTIVE");
        assert_eq!(migrations(&admin, "2.23", "?migration_type=migration").await[0]["status"], "error");
        server.stop().await;
    }
}

/// Nova moves a paused server live; it stays paused on its new host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_server_moves_live() {
    let server = TestServer::start(ecs_test_utils::sqlite()).await;
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "paused").await;
    let source = host_of(&admin, &id).await;
    assert_eq!(act(&demo, &id, "2.1", json!({"pause": null})).await.status, 202);
    demo.wait_status(&id, "PAUSED").await;
    let r = act(&admin, &id, "2.25", json!({"os-migrateLive": {"host": null, "block_migration": "auto"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    admin.wait_server(&id, |r| r.body["server"]["OS-EXT-SRV-ATTR:host"] != source.as_str()).await;
    let s = admin.wait_status(&id, "PAUSED").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 3, "{s}");
    let on = guests(&server, &id).await;
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].1, ecs_hypervisor::PowerState::Paused);
    server.stop().await;
}

/// Anti-affinity holds in every move: a live or cold migration onto a
/// group member's host is refused by the scheduler, and the server stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_keep_anti_affinity() {
    let server = TestServer::start(ecs_test_utils::sqlite()).await;
    let demo = server.demo().await;
    let admin = server.admin().await;
    let r = demo
        .post(
            "/v2.1/os-server-groups",
            None,
            &json!({"server_group": {"name": "apart",
        "policies": ["anti-affinity"]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let group = r.body["server_group"]["id"].as_str().unwrap().to_string();
    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
    let network = store.network_list().await.unwrap().remove(0).id;
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let body = json!({"server": {"name": name, "flavorRef": "s3.small.1", "imageRef": image,
            "networks": [{"uuid": network}]}, "os:scheduler_hints": {"group": group}});
        let r = demo.post("/v2.1/servers", None, &body).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["server"]["id"].as_str().unwrap().to_string();
        demo.wait_status(&id, "ACTIVE").await;
        ids.push(id);
    }
    let (a, b) = (&ids[0], &ids[1]);
    let (host_a, host_b) = (host_of(&admin, a).await, host_of(&admin, b).await);
    assert_ne!(host_a, host_b);

    let live = json!({"os-migrateLive": {"host": host_b, "block_migration": "auto"}});
    assert_eq!(act(&admin, a, "2.25", live).await.status, 202);
    let s = admin.wait_server(a, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    assert_eq!(s.body["server"]["OS-EXT-SRV-ATTR:host"], host_a.as_str(), "it stays");
    assert_eq!(s.body["server"]["status"], "ACTIVE");
    assert_eq!(migrations(&admin, "2.23", "").await[0]["status"], "error");

    assert_eq!(act(&admin, a, "2.56", json!({"migrate": {"host": host_b}})).await.status, 202);
    let s = admin.wait_server(a, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    assert_eq!(s.body["server"]["OS-EXT-SRV-ATTR:host"], host_a.as_str(), "it stays");
    assert_eq!(migrations(&admin, "2.23", "").await[0]["status"], "error");

    // Anywhere else is fine, and the group still holds.
    assert_eq!(act(&admin, a, "2.1", json!({"migrate": null})).await.status, 202);
    let s = admin.wait_status(a, "VERIFY_RESIZE").await;
    assert_ne!(s["OS-EXT-SRV-ATTR:host"], host_b.as_str());
    assert_ne!(s["OS-EXT-SRV-ATTR:host"], host_a.as_str());
    server.stop().await;
}

/// The ECS job an answer `{"job_id"}` names, once it has finished.
async fn ecs_job(s: &Session<'_>, r: crate::Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    let job = r.body["job_id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let r = s.get(&format!("/v1/{}/jobs/{job}", s.project_id), None).await;
        if matches!(r.body["status"].as_str(), Some("SUCCESS" | "FAIL")) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job} did not finish");
}

/// ECS migrate (seed 002 §5.2.3) to a dedicated host of the project and
/// back to the public pool; the same DeH is Ecs.0221, an unknown or
/// another project's DeH the seed's code for an unknown one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_migrate_to_a_dedicated_host_and_back() {
    let server = TestServer::start(ecs_test_utils::sqlite()).await;
    let demo = server.demo().await;
    let admin = server.admin().await;
    let r = admin.post("/v2.1/os-aggregates", None, &json!({"aggregate": {"name": "deh"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let agg = r.body["aggregate"]["id"].as_i64().unwrap();
    let action = format!("/v2.1/os-aggregates/{agg}/action");
    assert_eq!(admin.post(&action, None, &json!({"add_host": {"host": "sim-host-3"}})).await.status, 200);
    let owner = json!({"set_metadata": {"metadata": {"dedicated_project_id": demo.project_id}}});
    assert_eq!(admin.post(&action, None, &owner).await.status, 200);
    let deh = server.core().store_for_tests().host_get_by_name("sim-host-3").await.unwrap().id;

    let id = boot(&demo, "to-deh").await;
    let theirs = boot(&admin, "not-theirs").await;
    assert_ne!(host_of(&admin, &id).await, "sim-host-3", "a shared server is not on the DeH");
    for s in [&demo, &admin] {
        let mine = if std::ptr::eq(s, &demo) { &id } else { &theirs };
        assert_eq!(act(s, mine, "2.1", json!({"os-stop": null})).await.status, 202);
        s.wait_status(mine, "SHUTOFF").await;
    }
    let migrate = |p: &str, server: &str| format!("/v1/{p}/cloudservers/{server}/migrate");
    let to_deh = json!({"migrate": {"dedicated_host_id": deh}});
    let p = demo.project_id.clone();
    let done = ecs_job(&demo, demo.post(&migrate(&p, &id), None, &to_deh).await).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    assert_eq!(host_of(&admin, &id).await, "sim-host-3");
    assert_eq!(demo.wait_status(&id, "SHUTOFF").await["status"], "SHUTOFF");

    let r = demo.post(&migrate(&p, &id), None, &to_deh).await;
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (400, Some("Ecs.0221")), "{}", r.body);
    let unknown = json!({"migrate": {"dedicated_host_id": "no-such"}});
    let r = demo.post(&migrate(&p, &id), None, &unknown).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    let a = admin.project_id.clone();
    let r = admin.post(&migrate(&a, &theirs), None, &to_deh).await;
    assert_eq!(r.status.as_u16(), 400, "another project's DeH: {}", r.body);

    // Back to the public pool.
    let done = ecs_job(&demo, demo.post(&migrate(&p, &id), None, &json!({"migrate": null})).await).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    assert_ne!(host_of(&admin, &id).await, "sim-host-3");
    server.stop().await;
}
