//! Host aggregates (os-aggregates), the zones they make, tenant isolation
//! and dedicated hosts.

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

const ACTION: &str = "/v2.1/os-aggregates";

async fn create(admin: &Session<'_>, name: &str, zone: Option<&str>) -> i64 {
    let r = admin.post(ACTION, None, &json!({"aggregate": {"name": name, "availability_zone": zone}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["aggregate"]["id"].as_i64().unwrap()
}

async fn act(admin: &Session<'_>, id: i64, body: Value) -> crate::Reply {
    admin.post(&format!("{ACTION}/{id}/action"), None, &body).await
}

async fn add(admin: &Session<'_>, id: i64, host: &str) {
    let r = act(admin, id, json!({"add_host": {"host": host}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn aggregate_api(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let r = admin.post(ACTION, None, &json!({"aggregate": {"name": "rack1", "availability_zone": "az1"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = &r.body["aggregate"];
    assert_eq!((a["name"].as_str(), a["availability_zone"].as_str()), (Some("rack1"), Some("az1")));
    assert!(a.get("hosts").is_none() && a.get("metadata").is_none() && a.get("uuid").is_none(), "{a}");
    assert_eq!(a["deleted"], false);
    let id = a["id"].as_i64().unwrap();

    // Duplicate names conflict; bad bodies are 400s.
    let dup = admin.post(ACTION, None, &json!({"aggregate": {"name": "rack1"}})).await;
    assert_eq!(dup.assert_fault(409, "conflictingRequest"), "Aggregate rack1 already exists.");
    for bad in [
        json!({"aggregate": {}}),
        json!({"aggregate": {"name": ""}}),
        json!({"aggregate": {"name": " padded"}}),
        json!({"aggregate": {"name": "x", "availability_zone": "a:b"}}),
        json!({"aggregate": {"name": "x", "colour": "red"}}),
        json!({"name": "x"}),
    ] {
        admin.post(ACTION, None, &bad).await.assert_fault(400, "badRequest");
    }
    // Admin only; a reader or member gets 403.
    demo.get(ACTION, None).await.assert_fault(403, "forbidden");
    demo.post(ACTION, None, &json!({"aggregate": {"name": "mine"}})).await.assert_fault(403, "forbidden");

    // Show, with uuid from 2.41; missing and non-integer ids.
    let shown = admin.get(&format!("{ACTION}/{id}"), Some("2.41")).await;
    assert_eq!(shown.body["aggregate"]["uuid"].as_str().unwrap().len(), 36, "{}", shown.body);
    assert_eq!(shown.body["aggregate"]["metadata"], json!({"availability_zone": "az1"}));
    assert_eq!(shown.body["aggregate"]["hosts"], json!([]));
    let missing = admin.get(&format!("{ACTION}/9999"), None).await;
    assert_eq!(missing.assert_fault(404, "itemNotFound"), "Aggregate 9999 could not be found.");
    let word = admin.get(&format!("{ACTION}/abc"), None).await;
    assert_eq!(word.assert_fault(400, "badRequest"), "Invalid input received: id must be an integer");

    // Hosts: unknown, added, twice, removed, not a member.
    let unknown = act(&admin, id, json!({"add_host": {"host": "nowhere"}})).await;
    assert_eq!(unknown.assert_fault(404, "itemNotFound"), "Compute host nowhere could not be found.");
    add(&admin, id, "sim-host-1").await;
    let twice = act(&admin, id, json!({"add_host": {"host": "sim-host-1"}})).await;
    assert_eq!(twice.assert_fault(409, "conflictingRequest"), format!("Aggregate {id} already has host sim-host-1."));
    act(&admin, id, json!({"add_host": {}})).await.assert_fault(400, "badRequest");
    act(&admin, id, json!({"fly": {}})).await.assert_fault(400, "badRequest");

    // A host is in one zone only.
    let other = create(&admin, "rack2", Some("az2")).await;
    let clash = act(&admin, other, json!({"add_host": {"host": "sim-host-1"}})).await;
    assert_eq!(
        clash.assert_fault(409, "conflictingRequest"),
        format!(
            "Cannot add host to aggregate {other}. Reason: One or more hosts already in availability zone(s) ['az1']."
        )
    );
    // A zone-less aggregate takes it.
    let plain = create(&admin, "gpu", None).await;
    add(&admin, plain, "sim-host-1").await;

    // Metadata: set, remove with null, an empty zone refused.
    let set = act(&admin, id, json!({"set_metadata": {"metadata": {"ssd": "true", "x": "1"}}})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["aggregate"]["metadata"], json!({"availability_zone": "az1", "ssd": "true", "x": "1"}));
    let removed = act(&admin, id, json!({"set_metadata": {"metadata": {"x": null}}})).await;
    assert_eq!(removed.body["aggregate"]["metadata"], json!({"availability_zone": "az1", "ssd": "true"}));
    assert!(removed.body["aggregate"]["updated_at"].is_string());
    let empty = act(&admin, id, json!({"set_metadata": {"metadata": {"availability_zone": null}}})).await;
    assert_eq!(
        empty.assert_fault(400, "badRequest"),
        format!(
            "Cannot update metadata of aggregate {id}. Reason: Aggregate rack1 does not support empty named \
             availability zone."
        )
    );
    for bad in [json!({"metadata": {"a/b": "1"}}), json!({"metadata": {"a": 1}}), json!({"metadata": []}), json!({})] {
        act(&admin, id, json!({"set_metadata": bad})).await.assert_fault(400, "badRequest");
    }

    // Update: rename, clash, move zone, nothing to change.
    let renamed = admin.put(&format!("{ACTION}/{id}"), None, &json!({"aggregate": {"name": "rack-one"}})).await;
    assert_eq!(renamed.body["aggregate"]["name"], "rack-one", "{}", renamed.body);
    let clash = admin.put(&format!("{ACTION}/{id}"), None, &json!({"aggregate": {"name": "rack2"}})).await;
    clash.assert_fault(409, "conflictingRequest");
    let moved = admin.put(&format!("{ACTION}/{id}"), None, &json!({"aggregate": {"availability_zone": "az9"}})).await;
    assert_eq!(moved.body["aggregate"]["availability_zone"], "az9", "{}", moved.body);
    admin.put(&format!("{ACTION}/{id}"), None, &json!({"aggregate": {}})).await.assert_fault(400, "badRequest");
    admin
        .put(&format!("{ACTION}/77"), None, &json!({"aggregate": {"name": "z"}}))
        .await
        .assert_fault(404, "itemNotFound");

    // The list shows them all, hosts and metadata included.
    let list = admin.get(ACTION, None).await;
    let names: Vec<&str> =
        list.body["aggregates"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["rack-one", "rack2", "gpu"]);
    assert_eq!(list.body["aggregates"][0]["hosts"], json!(["sim-host-1"]));

    // Delete: not while it holds hosts; then gone, and its id not reused.
    let busy = admin.delete(&format!("{ACTION}/{id}"), None).await;
    assert_eq!(
        busy.assert_fault(400, "badRequest"),
        format!("Cannot remove aggregate {id}. Reason: Host aggregate is not empty.")
    );
    let gone = act(&admin, id, json!({"remove_host": {"host": "sim-host-2"}})).await;
    assert_eq!(gone.assert_fault(404, "itemNotFound"), format!("Cannot remove host sim-host-2 in aggregate {id}"));
    let out = act(&admin, id, json!({"remove_host": {"host": "sim-host-1"}})).await;
    assert_eq!(out.body["aggregate"]["hosts"], json!([]), "{}", out.body);
    let deleted = admin.delete(&format!("{ACTION}/{id}"), None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    admin.get(&format!("{ACTION}/{id}"), None).await.assert_fault(404, "itemNotFound");
    let again = create(&admin, "rack1", None).await;
    assert!(again > plain, "ids are not reused");
    // A deleted service's host leaves every aggregate.
    assert_eq!(server.core().aggregate_remove_host_everywhere("sim-host-1").await.unwrap(), 1);
}
both!(aggregate_api);

async fn boot(s: &Session<'_>, name: &str, zone: Option<&str>, hints: Value) -> crate::Reply {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let mut body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"},
        "os:scheduler_hints": hints});
    if let Some(z) = zone {
        body["server"]["availability_zone"] = json!(z);
    }
    s.post("/v2.1/servers", Some("2.37"), &body).await
}

async fn host_of(admin: &Session<'_>, r: &crate::Reply) -> (String, String) {
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap();
    let s = admin.wait_server(id, |r| r.body["server"]["status"] != "BUILD").await;
    let status = s.body["server"]["status"].as_str().unwrap().to_string();
    (status, s.body["server"]["OS-EXT-SRV-ATTR:host"].as_str().unwrap_or("").to_string())
}

async fn zones_and_placement(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    for q in ["instances", "cores", "ram"] {
        server.core().store_for_tests().quota_set(&demo.project_id, q, -1).await.unwrap();
    }
    let az1 = create(&admin, "edge", Some("az1")).await;
    add(&admin, az1, "sim-host-1").await;
    let zones = admin.get("/v2.1/os-availability-zone", None).await;
    let names: Vec<&str> = zones.body["availabilityZoneInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zoneName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["az1", "nova"], "{}", zones.body);
    let detail = admin.get("/v2.1/os-availability-zone/detail", None).await;
    let az1_hosts = &detail.body["availabilityZoneInfo"][0]["hosts"];
    assert!(az1_hosts["sim-host-1"]["nova-compute"]["available"].as_bool().unwrap(), "{}", detail.body);
    let hv = admin.get("/v2.1/os-hosts", None).await;
    assert!(
        hv.body["hosts"].as_array().unwrap().iter().any(|h| h["host_name"] == "sim-host-1" && h["zone"] == "az1"),
        "{}",
        hv.body
    );

    // A server asked in az1 lands on its one host; that zone then keeps its name.
    let (status, host) = host_of(&admin, &boot(&demo, "in-az1", Some("az1"), json!({})).await).await;
    assert_eq!((status.as_str(), host.as_str()), ("ACTIVE", "sim-host-1"));
    let (_, host) = host_of(&admin, &boot(&demo, "in-nova", Some("nova"), json!({})).await).await;
    assert_ne!(host, "sim-host-1");
    let rename = admin.put(&format!("{ACTION}/{az1}"), None, &json!({"aggregate": {"availability_zone": "az2"}})).await;
    assert_eq!(
        rename.assert_fault(400, "badRequest"),
        format!("Cannot update aggregate {az1}. Reason: One or more hosts contain instances in this zone.")
    );
    boot(&demo, "nowhere", Some("az7"), json!({})).await.assert_fault(400, "badRequest");

    // Tenant isolation: hosts 2 and 3 take the admin project's servers only.
    let isolated = create(&admin, "admins-only", None).await;
    add(&admin, isolated, "sim-host-2").await;
    add(&admin, isolated, "sim-host-3").await;
    let tenants = json!({"set_metadata": {"metadata": {"filter_tenant_id": admin.project_id}}});
    assert_eq!(act(&admin, isolated, tenants).await.status, 200);
    for i in 0..3 {
        let (status, host) = host_of(&admin, &boot(&demo, &format!("iso{i}"), Some("nova"), json!({})).await).await;
        assert_eq!((status.as_str(), host.as_str()), ("ACTIVE", "sim-host-4"));
    }

    // Dedicated hosts: sim-host-3 is the demo project's DeH.
    let deh = create(&admin, "deh-demo", None).await;
    add(&admin, deh, "sim-host-3").await;
    let owner = json!({"set_metadata": {"metadata": {"dedicated_project_id": demo.project_id}}});
    assert_eq!(act(&admin, deh, owner).await.status, 200);
    let open = json!({"set_metadata": {"metadata": {"filter_tenant_id": null}}});
    assert_eq!(act(&admin, isolated, open).await.status, 200);
    let hypervisors = admin.get("/v2.1/os-hypervisors", Some("2.53")).await;
    let id_of = |name: &str| {
        hypervisors.body["hypervisors"].as_array().unwrap().iter().find(|h| h["hypervisor_hostname"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (status, host) = host_of(&admin, &boot(&demo, "on-deh", None, json!({"tenancy": "dedicated"})).await).await;
    assert_eq!((status.as_str(), host.as_str()), ("ACTIVE", "sim-host-3"));
    let named = json!({"tenancy": "dedicated", "dedicated_host_id": id_of("sim-host-3")});
    assert_eq!(host_of(&admin, &boot(&demo, "named-deh", None, named).await).await.1, "sim-host-3");
    // Shared servers never go to a dedicated host.
    for i in 0..2 {
        let (_, host) = host_of(&admin, &boot(&demo, &format!("shared{i}"), None, json!({})).await).await;
        assert_ne!(host, "sim-host-3");
    }
    // Unknown, foreign (another project's) and misplaced DeH ids, bad tenancy.
    let unknown = boot(&demo, "x", None, json!({"tenancy": "dedicated", "dedicated_host_id": "no-such"})).await;
    assert_eq!(unknown.assert_fault(400, "badRequest"), "The dedicated host no-such does not exist.");
    let foreign = json!({"tenancy": "dedicated", "dedicated_host_id": id_of("sim-host-3")});
    boot(&admin, "x", None, foreign.clone()).await.assert_fault(400, "badRequest");
    boot(&demo, "x", Some("az1"), foreign).await.assert_fault(400, "badRequest");
    boot(&demo, "x", None, json!({"tenancy": "private"})).await.assert_fault(400, "badRequest");
    assert_eq!(
        server.core().dedicated_host_for(&demo.project_id, &id_of("sim-host-3")).await.unwrap().name,
        "sim-host-3"
    );
    assert!(server.core().dedicated_host_for(&admin.project_id, &id_of("sim-host-3")).await.is_err());
    // The ECS create takes the same hints, with the seed's code.
    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let vpc = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let subnet = store.subnet_list(&vpc).await.unwrap().remove(0).id;
    let ecs = |hints: Value| {
        json!({"server": {"name": "ecs-deh", "imageRef": image, "flavorRef": "s3.small.1", "vpcid": vpc,
            "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"}, "os:scheduler_hints": hints}})
    };
    let path = format!("/v1/{}/cloudservers", demo.project_id);
    let headers = [("x-auth-token", demo.token.as_str())];
    let bad = ecs(json!({"tenancy": "dedicated", "dedicated_host_id": id_of("sim-host-1")}));
    let r = server.send(reqwest::Method::POST, &path, &headers, Some(&bad)).await;
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (400, Some("Ecs.0005")), "{}", r.body);
    let good = ecs(json!({"tenancy": "dedicated", "dedicated_host_id": id_of("sim-host-3")}));
    let r = server.send(reqwest::Method::POST, &path, &headers, Some(&good)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let job = format!("/v1/{}/jobs/{}", demo.project_id, r.body["job_id"].as_str().unwrap());
    let mut status = String::new();
    for _ in 0..500 {
        status = demo.get(&job, None).await.body["status"].as_str().unwrap_or("").to_string();
        if status == "SUCCESS" || status == "FAIL" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "SUCCESS");
    // A project with no dedicated host has nowhere to put a dedicated server.
    let (status, _) = host_of(&admin, &boot(&admin, "no-deh", None, json!({"tenancy": "dedicated"})).await).await;
    assert_eq!(status, "ERROR");
}
both!(zones_and_placement);
