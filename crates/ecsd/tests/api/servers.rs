//! Servers through the Nova API: create to ACTIVE, list and show, update,
//! actions and their states, instance actions, delete, quotas, placement
//! failures and every 400/403/404/409 of the create conditions.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

const IMAGE: &str = "cirros-0.6.2-x86_64";

async fn image_id(s: &Session<'_>) -> String {
    // The image API arrives later; the seed is reachable through the store.
    let images = s.server.core().store_for_tests().image_list().await.unwrap();
    images.into_iter().find(|i| i.name == IMAGE).expect("seeded image").id
}

async fn network_id(s: &Session<'_>) -> String {
    s.server.core().store_for_tests().network_list().await.unwrap().remove(0).id
}

async fn create_body(s: &Session<'_>, name: &str) -> Value {
    json!({"server": {
        "name": name,
        "flavorRef": "s3.small.1",
        "imageRef": image_id(s).await,
        "networks": [{"uuid": network_id(s).await}],
    }})
}

/// Creates one server and waits until it is ACTIVE; returns its id.
async fn boot(s: &Session<'_>, name: &str) -> String {
    let r = s.post("/v2.1/servers", None, &create_body(s, name).await).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn action(s: &Session<'_>, id: &str, body: Value) -> crate::Reply {
    s.post(&format!("/v2.1/servers/{id}/action"), Some("latest"), &body).await
}

async fn create_show_list_update_delete(server: &TestServer) {
    let demo = server.demo().await;
    let body = create_body(&demo, "vm1").await;
    let r = demo.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let created = &r.body["server"];
    let id = created["id"].as_str().unwrap().to_string();
    assert!(created["adminPass"].as_str().unwrap().len() >= 8);
    assert_eq!(created["OS-DCF:diskConfig"], "MANUAL");
    assert_eq!(created["security_groups"], json!([{"name": "default"}]));
    assert!(r.header("location").unwrap().ends_with(&format!("/v2.1/servers/{id}")));

    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "active");
    assert_eq!(s["OS-EXT-STS:power_state"], 1);
    assert_eq!(s["OS-EXT-STS:task_state"], Value::Null);
    assert_eq!(s["OS-EXT-AZ:availability_zone"], "nova");
    assert_eq!(s["hostId"].as_str().unwrap().len(), 56);
    assert_eq!(s["tenant_id"], demo.project_id);
    assert_eq!(s["flavor"]["original_name"], "s3.small.1");
    assert_eq!(s["flavor"]["vcpus"], 1);
    assert!(s.get("OS-EXT-SRV-ATTR:host").is_none(), "host is admin-only: {s}");
    let addrs = s["addresses"]["default-net"].as_array().unwrap();
    assert_eq!(addrs.len(), 1);
    assert!(addrs[0]["addr"].as_str().unwrap().starts_with("192.168.0."), "{addrs:?}");
    assert!(addrs[0]["OS-EXT-IPS-MAC:mac_addr"].as_str().unwrap().starts_with("fa:16:3e:"));
    assert!(s["OS-SRV-USG:launched_at"].is_string());

    // Admin sees the host attributes.
    let admin = server.admin().await;
    let a = admin.get(&format!("/v2.1/servers/{id}"), Some("2.3")).await;
    assert!(a.body["server"]["OS-EXT-SRV-ATTR:host"].as_str().unwrap().starts_with("sim-host-"));
    assert_eq!(a.body["server"]["OS-EXT-SRV-ATTR:hostname"], "vm1");

    let list = demo.get("/v2.1/servers", None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["servers"][0]["id"], id);
    assert_eq!(list.body["servers"][0]["name"], "vm1");
    let detail = demo.get("/v2.1/servers/detail?status=ACTIVE", None).await;
    assert_eq!(detail.body["servers"].as_array().unwrap().len(), 1);
    let none = demo.get("/v2.1/servers/detail?status=SHUTOFF", None).await;
    assert_eq!(none.body["servers"], json!([]));

    let u = demo
        .put(&format!("/v2.1/servers/{id}"), Some("2.19"), &json!({"server": {"name": "vm1b", "description": "d"}}))
        .await;
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.body["server"]["name"], "vm1b");
    assert_eq!(u.body["server"]["description"], "d");

    // Another project's server is not there at all.
    let other = server.login("admin", "admin", "admin").await;
    let foreign = other.get(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(foreign.status, 200, "admins see every server");
    let r = demo.delete(&format!("/v2.1/servers/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    demo.wait_server(&id, |r| r.status == 404).await;
    let gone = demo.get(&format!("/v2.1/servers/{id}"), None).await;
    gone.assert_fault(404, "itemNotFound");
    // Its address went back to the pool.
    let net = network_id(&demo).await;
    let in_use = server.core().store_for_tests().port_address_in_use(&net, addrs[0]["addr"].as_str().unwrap()).await;
    assert!(!in_use.unwrap());
}
both!(create_show_list_update_delete);

async fn other_projects_servers_are_404(server: &TestServer) {
    let admin = server.admin().await;
    let id = boot(&admin, "admins").await;
    let demo = server.demo().await;
    demo.get(&format!("/v2.1/servers/{id}"), None).await.assert_fault(404, "itemNotFound");
    let r = action(&demo, &id, json!({"os-stop": null})).await;
    r.assert_fault(404, "itemNotFound");
    demo.delete(&format!("/v2.1/servers/{id}"), None).await.assert_fault(404, "itemNotFound");
    assert_eq!(demo.get("/v2.1/servers", None).await.body["servers"], json!([]));
    let r = demo.get("/v2.1/servers?all_tenants=1", None).await;
    r.assert_fault(403, "forbidden");
    let all = admin.get("/v2.1/servers?all_tenants=1", None).await;
    assert_eq!(all.body["servers"].as_array().unwrap().len(), 1);
}
both!(other_projects_servers_are_404);

async fn min_max_count_names_and_reservation(server: &TestServer) {
    let demo = server.demo().await;
    let mut body = create_body(&demo, "web").await;
    body["server"]["min_count"] = json!(3);
    body["server"]["max_count"] = json!("3");
    body["server"]["return_reservation_id"] = json!(true);
    let r = demo.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let reservation = r.body["reservation_id"].as_str().unwrap().to_string();
    assert!(reservation.starts_with("r-"));
    let list = demo
        .get(&format!("/v2.1/servers/detail?reservation_id={reservation}&sort_key=display_name&sort_dir=asc"), None)
        .await;
    let names: Vec<&str> =
        list.body["servers"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["web-1", "web-2", "web-3"]);
    let ips: std::collections::HashSet<String> = {
        let mut ips = std::collections::HashSet::new();
        for s in list.body["servers"].as_array().unwrap() {
            let s = demo.wait_status(s["id"].as_str().unwrap(), "ACTIVE").await;
            ips.insert(s["addresses"]["default-net"][0]["addr"].as_str().unwrap().to_string());
        }
        ips
    };
    assert_eq!(ips.len(), 3, "every server has its own address");

    // Paging: two per page, the link leads to the rest.
    let page = demo.get("/v2.1/servers?limit=2", None).await;
    assert_eq!(page.body["servers"].as_array().unwrap().len(), 2);
    let next = page.body["servers_links"][0]["href"].as_str().unwrap();
    let path = &next[next.find("/v2.1").unwrap()..];
    let rest = demo.get(path, None).await;
    assert_eq!(rest.body["servers"].as_array().unwrap().len(), 1);
    let r = demo.get("/v2.1/servers?marker=nope", None).await;
    r.assert_fault(400, "badRequest");
    let re = demo.get("/v2.1/servers?name=^web-[12]$", None).await;
    assert_eq!(re.body["servers"].as_array().unwrap().len(), 2);
}
both!(min_max_count_names_and_reservation);

async fn power_actions_locks_and_instance_actions(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "pwr").await;
    let r = action(&demo, &id, json!({"os-start": null})).await;
    let msg = r.assert_fault(409, "conflictingRequest");
    assert_eq!(msg, format!("Cannot 'start' instance {id} while it is in vm_state active"));

    for (body, status, vm, power) in [
        (json!({"os-stop": null}), "SHUTOFF", "stopped", 4),
        (json!({"os-start": null}), "ACTIVE", "active", 1),
        (json!({"reboot": {"type": "SOFT"}}), "ACTIVE", "active", 1),
        (json!({"pause": null}), "PAUSED", "paused", 3),
        (json!({"unpause": null}), "ACTIVE", "active", 1),
        (json!({"suspend": null}), "SUSPENDED", "suspended", 7),
        (json!({"resume": null}), "ACTIVE", "active", 1),
        (json!({"reboot": {"type": "HARD"}}), "ACTIVE", "active", 1),
    ] {
        let r = action(&demo, &id, body.clone()).await;
        assert_eq!(r.status, 202, "{body}: {}", r.body);
        let s = demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
        assert_eq!(s.body["server"]["status"], status, "{body}");
        assert_eq!(s.body["server"]["OS-EXT-STS:vm_state"], vm);
        assert_eq!(s.body["server"]["OS-EXT-STS:power_state"], power);
    }

    // Locked: the owner may not act; an admin may; unlock restores.
    let r = action(&demo, &id, json!({"lock": {"locked_reason": "maintenance"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.get(&format!("/v2.1/servers/{id}"), Some("2.73")).await;
    assert_eq!(s.body["server"]["locked"], true);
    assert_eq!(s.body["server"]["locked_reason"], "maintenance");
    let r = action(&demo, &id, json!({"os-stop": null})).await;
    assert_eq!(r.assert_fault(409, "conflictingRequest"), format!("Instance {id} is locked"));
    let locked = demo.get("/v2.1/servers?locked=true", Some("2.73")).await;
    assert_eq!(locked.body["servers"].as_array().unwrap().len(), 1);
    action(&demo, &id, json!({"unlock": null})).await;

    let console = action(&demo, &id, json!({"os-getConsoleOutput": {"length": 5}})).await;
    assert_eq!(console.status, 200, "{}", console.body);
    let out = console.body["output"].as_str().unwrap();
    assert!(out.lines().count() <= 5, "{out}");
    let full = action(&demo, &id, json!({"os-getConsoleOutput": {}})).await;
    assert!(full.body["output"].as_str().unwrap().contains("pwr"), "{}", full.body);

    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    let names: Vec<&str> =
        actions.body["instanceActions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["unlock", "lock", "reboot", "resume", "suspend", "unpause", "pause", "reboot", "start", "stop", "create"]
    );
    // 2.58 paging by request id.
    let page = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions?limit=4"), Some("2.58")).await;
    let first: Vec<&str> =
        page.body["instanceActions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(first, names[..4]);
    let next = page.body["links"][0]["href"].as_str().unwrap();
    let rest = demo.get(&next[next.find("/v2.1").unwrap()..], Some("2.58")).await;
    assert_eq!(rest.body["instanceActions"].as_array().unwrap().len(), 4);
    let bad = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions?marker=nope"), Some("2.58")).await;
    bad.assert_fault(400, "badRequest");
    let create = actions.body["instanceActions"].as_array().unwrap().last().unwrap();
    let req = create["request_id"].as_str().unwrap();
    let one = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions/{req}"), Some("2.62")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    let events: Vec<&str> =
        one.body["instanceAction"]["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["conductor_schedule_and_build_instances", "compute__do_build_and_run_instance"]);
    assert!(one.body["instanceAction"]["events"].as_array().unwrap().iter().all(|e| e["result"] == "Success"));

    // Admin reset-state; a member may not.
    action(&demo, &id, json!({"os-resetState": {"state": "error"}})).await.assert_fault(403, "forbidden");
    let admin = server.admin().await;
    let r = action(&admin, &id, json!({"os-resetState": {"state": "error"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(demo.get(&format!("/v2.1/servers/{id}"), None).await.body["server"]["status"], "ERROR");
    action(&demo, &id, json!({"bogus": null})).await.assert_fault(400, "badRequest");
    // forceDelete deletes an idle server in any vm_state, as Nova's
    // `force_delete` does (not only a soft-deleted one).
    let r = action(&demo, &id, json!({"forceDelete": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_server(&id, |r| r.status == 404).await;
}
both!(power_actions_locks_and_instance_actions);

async fn create_conditions(server: &TestServer) {
    let demo = server.demo().await;
    let good = create_body(&demo, "x").await;
    let net = network_id(&demo).await;
    let with = |patch: Value| {
        let mut b = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b["server"].as_object_mut().unwrap().remove(k);
            } else {
                b["server"][k] = v.clone();
            }
        }
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"flavorRef": "no-such"}), 400, "Flavor no-such could not be found."),
        (
            json!({"imageRef": "8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1"}),
            400,
            "Image 8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1 could not be found.",
        ),
        (json!({"imageRef": "not-a-uuid"}), 400, "Invalid imageRef provided."),
        (json!({"name": null}), 400, "'name' is a required property"),
        (json!({"flavorRef": null}), 400, "'flavorRef' is a required property"),
        (json!({"name": ""}), 400, "too short"),
        (
            json!({"networks": [{"uuid": "8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1"}]}),
            400,
            "Network 8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1 could not be found.",
        ),
        (json!({"networks": [{"uuid": net, "fixed_ip": "10.9.9.9"}]}), 400, "is not valid on network"),
        (json!({"networks": [{"uuid": net, "fixed_ip": "bogus"}]}), 400, "is not a 'ip-address'"),
        (
            json!({"networks": [{"uuid": net, "fixed_ip": "192.168.0.50"}], "max_count": 2}),
            400,
            "max_count cannot be greater than 1 if an fixed_ip is specified.",
        ),
        (
            json!({"networks": [{"port": "8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1"}], "max_count": 2}),
            400,
            "Unable to launch multiple instances with a single configured port ID",
        ),
        (json!({"min_count": 3, "max_count": 2}), 400, "min_count must be <= max_count"),
        (json!({"min_count": 0}), 400, "less than the minimum"),
        (json!({"availability_zone": "nowhere"}), 400, "The requested availability zone is not available"),
        (json!({"key_name": "nokey"}), 400, "Invalid key_name provided."),
        (json!({"user_data": "not base64!"}), 400, "is not a 'base64'"),
        (json!({"user_data": "A".repeat(65536 + 4)}), 400, "User data too large."),
        (json!({"OS-DCF:diskConfig": "SOMETIMES"}), 400, "is not one of"),
        (json!({"bogus": 1}), 400, "Additional properties are not allowed ('bogus' was unexpected)"),
        (
            json!({"block_device_mapping_v2": [{"source_type": "volume", "boot_index": 0, "uuid": "8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1"}], "imageRef": null}),
            400,
            "Volume 8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1 could not be found.",
        ),
        (
            json!({"block_device_mapping_v2": [{"source_type": "blank", "uuid": "8d8f0ee5-7b04-4b4c-8e06-9f0b5cb1b3a1"}]}),
            400,
            "Blank source must not have a uuid",
        ),
        (
            json!({"block_device_mapping_v2": [{"source_type": "blank", "destination_type": "local", "boot_index": -1, "volume_size": 5}]}),
            400,
            "Ephemeral disks requested are larger than the instance type allows.",
        ),
        (
            json!({"block_device_mapping": [{"volume_id": "v"}], "block_device_mapping_v2": []}),
            400,
            "Using different block_device_mapping syntaxes",
        ),
        (json!({"metadata": {"k": 1}}), 400, "is not of type 'string'"),
    ];
    for (patch, status, needle) in cases {
        let r = demo.post("/v2.1/servers", Some("2.19"), &with(patch.clone())).await;
        let msg = r.assert_fault(status, if status == 400 { "badRequest" } else { "forbidden" });
        assert!(msg.contains(needle), "{patch}: {msg:?} lacks {needle:?}");
    }
    // 2.37 requires `networks`; `none` is allowed then.
    let r = demo.post("/v2.1/servers", Some("2.37"), &with(json!({"networks": null}))).await;
    r.assert_fault(400, "badRequest");
    let r = demo.post("/v2.1/servers", Some("2.37"), &with(json!({"networks": "none"}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = demo.wait_status(r.body["server"]["id"].as_str().unwrap(), "ACTIVE").await;
    assert_eq!(s["addresses"], json!({}));
    // Too many metadata items is a quota error.
    let meta: serde_json::Map<String, Value> = (0..129).map(|i| (format!("k{i}"), json!("v"))).collect();
    let r = demo.post("/v2.1/servers", None, &with(json!({"metadata": meta}))).await;
    r.assert_fault(403, "forbidden");
    // A taken fixed IP.
    let r =
        demo.post("/v2.1/servers", None, &with(json!({"networks": [{"uuid": net, "fixed_ip": "192.168.0.77"}]}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(r.body["server"]["id"].as_str().unwrap(), "ACTIVE").await;
    let r =
        demo.post("/v2.1/servers", None, &with(json!({"networks": [{"uuid": net, "fixed_ip": "192.168.0.77"}]}))).await;
    assert!(r.assert_fault(400, "badRequest").contains("already in use"));
}
both!(create_conditions);

async fn quota_is_never_exceeded(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store_for_tests();
    store.quota_set(&demo.project_id, "instances", 20).await.unwrap();
    store.quota_set(&demo.project_id, "cores", -1).await.unwrap();
    store.quota_set(&demo.project_id, "ram", -1).await.unwrap();
    let mut body = create_body(&demo, "q").await;
    body["server"]["networks"] = json!("none");
    let replies = join_all((0..64).map(|_| demo.post("/v2.1/servers", Some("2.37"), &body))).await;
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    assert_eq!(accepted, 20);
    for r in replies.iter().filter(|r| r.status != 202) {
        let msg = r.assert_fault(403, "forbidden");
        assert_eq!(msg, "Quota exceeded for instances: Requested 1, but already used 20 of 20 instances");
    }
    assert_eq!(store.instance_usage(&demo.project_id).await.unwrap().instances, 20);
    // min_count beyond what is left fails; max_count is trimmed to fit.
    store.quota_set(&demo.project_id, "instances", 22).await.unwrap();
    body["server"]["min_count"] = json!(3);
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert!(r.assert_fault(403, "forbidden").starts_with("Quota exceeded for instances: Requested 3"));
    body["server"]["min_count"] = json!(1);
    body["server"]["max_count"] = json!(5);
    body["server"]["return_reservation_id"] = json!(true);
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202);
    let res = r.body["reservation_id"].as_str().unwrap();
    let mine = demo.get(&format!("/v2.1/servers?reservation_id={res}"), None).await;
    assert_eq!(mine.body["servers"].as_array().unwrap().len(), 2);
}
both!(quota_is_never_exceeded);

async fn placement_failures_and_rescheduling(server: &TestServer) {
    let admin = server.admin().await;
    let store = &server.core().store_for_tests();
    store.quota_set(&admin.project_id, "cores", -1).await.unwrap();
    store.quota_set(&admin.project_id, "ram", -1).await.unwrap();
    // Bigger than any host: no valid host.
    let r = admin
        .post(
            "/v2.1/flavors",
            None,
            &json!({"flavor": {"name": "huge", "id": "huge", "vcpus": 4096, "ram": 1024, "disk": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut body = create_body(&admin, "big").await;
    body["server"]["flavorRef"] = json!("huge");
    let r = admin.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let s = admin.wait_status(r.body["server"]["id"].as_str().unwrap(), "ERROR").await;
    assert_eq!(s["fault"]["code"], 500);
    assert!(s["fault"]["message"].as_str().unwrap().starts_with("No valid host was found."), "{s}");
    assert!(s["addresses"].as_object().unwrap().is_empty());

    // A flavor asking for a capability no host has.
    let r = admin
        .post(
            "/v2.1/flavors",
            None,
            &json!({"flavor": {"name": "kvm-only", "id": "kvm-only", "vcpus": 1, "ram": 512, "disk": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let specs = json!({"extra_specs": {"capabilities:hypervisor_type": "qemu"}});
    assert_eq!(admin.post("/v2.1/flavors/kvm-only/os-extra_specs", None, &specs).await.status, 200);
    body["server"]["flavorRef"] = json!("kvm-only");
    let r = admin.post("/v2.1/servers", None, &body).await;
    let s = admin.wait_status(r.body["server"]["id"].as_str().unwrap(), "ERROR").await;
    assert!(s["fault"]["message"].as_str().unwrap().starts_with("No valid host was found."), "{s}");

    // One failing host: the build moves on to another.
    let sim = server.sim();
    sim.inject(ecs_hypervisor::sim::FaultRule {
        host: Some("sim-host-1".into()),
        op: ecs_hypervisor::Op::Spawn,
        times: 100,
        message: None,
    });
    let ids = join_all((0..6).map(|i| {
        let admin = &admin;
        async move { boot(admin, &format!("r{i}")).await }
    }))
    .await;
    for id in &ids {
        let s = admin.get(&format!("/v2.1/servers/{id}"), None).await;
        assert_ne!(s.body["server"]["OS-EXT-SRV-ATTR:host"], "sim-host-1");
    }
    // Every host failing: ERROR after max attempts.
    sim.clear_faults();
    sim.inject(ecs_hypervisor::sim::FaultRule { host: None, op: ecs_hypervisor::Op::Spawn, times: 3, message: None });
    let r = admin.post("/v2.1/servers", None, &create_body(&admin, "doomed").await).await;
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    let s = admin.wait_status(&id, "ERROR").await;
    assert!(s["fault"]["message"].as_str().unwrap().starts_with("Exceeded maximum number of retries."), "{s}");
    assert!(s["fault"]["details"].as_str().unwrap().contains("spawn"), "admins see the cause: {s}");
    // ERROR servers delete cleanly and free their capacity.
    assert_eq!(admin.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    admin.wait_server(&id, |r| r.status == 404).await;
}
both!(placement_failures_and_rescheduling);

/// Two API nodes on one PostgreSQL database, each driving its own hosts:
/// a task is carried out by the node that drives the server's host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_database() {
    let db = ecs_test_utils::postgres().await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut nodes = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let config = ecsd::ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: Some(db.url.clone()),
            region: "RegionOne".into(),
            public_url: None,
            admin_password: None,
            demo_password: None,
            core: Default::default(),
            compute: ecsd::ComputeConfig {
                sim_hosts: 1,
                sim_host_prefix: format!("node{i}"),
                single_node: false,
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
        nodes.push(ecsd::start(config).await.expect("node starts"));
    }
    let http = reqwest::Client::new();
    let token = |base: String| {
        let http = http.clone();
        async move {
            let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
                "domain": {"name": "Default"}, "password": "admin"}}}, "scope": {"project": {"name": "admin",
                "domain": {"name": "Default"}}}}});
            let r = http.post(format!("{base}/identity/v3/auth/tokens")).json(&body).send().await.unwrap();
            r.headers()["x-subject-token"].to_str().unwrap().to_string()
        }
    };
    let bases: Vec<String> = nodes.iter().map(|n| format!("http://{}", n.addr)).collect();
    let t0 = token(bases[0].clone()).await;
    let image = nodes[0].core.store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "mn", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none",
        "min_count": 6, "max_count": 6}});
    let r = http
        .post(format!("{}/v2.1/servers", bases[0]))
        .header("x-auth-token", &t0)
        .header("openstack-api-version", "compute 2.37")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let get = |base: &str, path: &str| {
        http.get(format!("{base}{path}"))
            .header("x-auth-token", &t0)
            .header("openstack-api-version", "compute 2.3")
            .send()
    };
    let mut servers = Vec::new();
    for _ in 0..400 {
        let list: Value = get(&bases[1], "/v2.1/servers/detail").await.unwrap().json().await.unwrap();
        servers = list["servers"].as_array().unwrap().clone();
        if servers.iter().all(|s| s["status"] == "ACTIVE") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(servers.iter().all(|s| s["status"] == "ACTIVE"), "{servers:?}");
    // Stop every server through node 1: each stop runs on the node that
    // drives the server's host.
    for s in &servers {
        let id = s["id"].as_str().unwrap();
        let r = http
            .post(format!("{}/v2.1/servers/{id}/action", bases[1]))
            .header("x-auth-token", &t0)
            .json(&json!({"os-stop": null}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    for s in &servers {
        let id = s["id"].as_str().unwrap();
        let mut status = Value::Null;
        for _ in 0..400 {
            let one: Value = get(&bases[0], &format!("/v2.1/servers/{id}")).await.unwrap().json().await.unwrap();
            status = one["server"]["status"].clone();
            if status == "SHUTOFF" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, "SHUTOFF");
    }
    for node in nodes {
        node.stop().await.unwrap();
    }
}

async fn list_filters(server: &TestServer) {
    let demo = server.demo().await;
    let a = boot(&demo, "alpha").await;
    let mut body = create_body(&demo, "beta").await;
    body["server"]["flavorRef"] = json!("m1.tiny");
    body["server"]["tags"] = json!(["web", "blue"]);
    let r = demo.post("/v2.1/servers", Some("2.52"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let b = r.body["server"]["id"].as_str().unwrap().to_string();
    let beta = demo.wait_status(&b, "ACTIVE").await;
    assert_eq!(beta["tags"], json!(["blue", "web"]));
    let ids = |r: &crate::Reply| -> Vec<String> {
        r.body["servers"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&demo.get("/v2.1/servers?flavor=m1.tiny", None).await), [b.as_str()]);
    let image = image_id(&demo).await;
    assert_eq!(
        ids(&demo.get(&format!("/v2.1/servers?image={image}&sort_key=display_name&sort_dir=asc"), None).await),
        [a.as_str(), b.as_str()]
    );
    assert_eq!(ids(&demo.get("/v2.1/servers?tags=web,blue", Some("2.26")).await), [b.as_str()]);
    assert_eq!(ids(&demo.get("/v2.1/servers?tags-any=red,web", Some("2.26")).await), [b.as_str()]);
    assert_eq!(ids(&demo.get("/v2.1/servers?not-tags=web", Some("2.26")).await), [a.as_str()]);
    let ip = beta["addresses"]["default-net"][0]["addr"].as_str().unwrap();
    assert_eq!(ids(&demo.get(&format!("/v2.1/servers?ip=^{ip}$"), None).await), [b.as_str()]);
    let since = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    assert_eq!(demo.put(&format!("/v2.1/servers/{a}"), None, &json!({"server": {"name": "alpha2"}})).await.status, 200);
    assert_eq!(ids(&demo.get(&format!("/v2.1/servers?changes-since={since}"), None).await), [a.as_str()]);
    demo.get("/v2.1/servers?changes-since=yesterday", None).await.assert_fault(400, "badRequest");
    demo.get("/v2.1/servers?sort_key=bogus", None).await.assert_fault(400, "badRequest");
    // Deleted servers: gone from lists, visible to changes-since and to admins asking for them.
    assert_eq!(demo.delete(&format!("/v2.1/servers/{a}"), None).await.status, 204);
    demo.wait_server(&a, |r| r.status == 404).await;
    assert_eq!(ids(&demo.get("/v2.1/servers", None).await), [b.as_str()]);
    let changed = demo.get(&format!("/v2.1/servers/detail?changes-since={since}"), None).await;
    let deleted = changed.body["servers"].as_array().unwrap().iter().find(|s| s["id"] == a.as_str()).unwrap();
    assert_eq!(deleted["status"], "DELETED");
    let admin = server.admin().await;
    let all =
        admin.get(&format!("/v2.1/servers?all_tenants=1&deleted=true&project_id={}", demo.project_id), None).await;
    assert!(ids(&all).contains(&a));
    let host = admin.get(&format!("/v2.1/servers/{b}"), None).await.body["server"]["OS-EXT-SRV-ATTR:host"].clone();
    let on_host = admin.get(&format!("/v2.1/servers?all_tenants=1&host={}", host.as_str().unwrap()), None).await;
    assert!(ids(&on_host).contains(&b));
    // A member's admin-only filters are ignored, not obeyed.
    assert_eq!(ids(&demo.get("/v2.1/servers?host=nowhere", None).await), [b.as_str()]);
}
both!(list_filters);

async fn image_limits_are_checked_against_the_flavor(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store_for_tests();
    let mut big = store.image_list().await.unwrap().remove(0);
    big.id = "5a0c4c3e-1d1a-4a8e-9e0b-0a7f1b2c3d4e".into();
    big.name = "big".into();
    big.min_ram_mb = 4096;
    store.image_create(&big).await.unwrap();
    let mut body = create_body(&demo, "small").await;
    body["server"]["imageRef"] = json!(big.id);
    let r = demo.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Flavor's memory is too small for requested image.");
    let mut disk = big.clone();
    disk.id = "6b1d5d4f-2e2b-4b9f-8f1c-1b8f2c3d4e5f".into();
    disk.min_ram_mb = 0;
    disk.min_disk_gb = 100;
    store.image_create(&disk).await.unwrap();
    body["server"]["imageRef"] = json!(disk.id);
    let r = demo.post("/v2.1/servers", None, &body).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Flavor's disk is too small for requested image.");
    let mut queued = big.clone();
    queued.id = "7c2e6e5a-3f3c-4ca0-9a2d-2c9a3d4e5f6a".into();
    queued.min_ram_mb = 0;
    queued.status = "queued".into();
    store.image_create(&queued).await.unwrap();
    body["server"]["imageRef"] = json!(queued.id);
    let r = demo.post("/v2.1/servers", None, &body).await;
    assert!(r.assert_fault(400, "badRequest").ends_with("is not active."));
}
both!(image_limits_are_checked_against_the_flavor);
