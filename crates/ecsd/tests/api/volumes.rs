//! Volumes, snapshots and volume attachments.

use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_bare(name).await
}

async fn volume(s: &Session<'_>, size: i64) -> String {
    let r = s.post("/v2.1/os-volumes", None, &json!({"volume": {"size": size, "display_name": "data"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["volume"]["id"].as_str().unwrap().to_string()
}

async fn wait_volume(s: &Session<'_>, id: &str, status: &str) -> Value {
    for _ in 0..400 {
        let r = s.get(&format!("/v2.1/os-volumes/{id}"), None).await;
        if r.body["volume"]["status"] == status {
            return r.body["volume"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("volume {id} never became {status}");
}

async fn volumes_attach_detach_snapshots(server: &TestServer) {
    let demo = server.demo().await;
    let vol = volume(&demo, 10).await;
    let shown = wait_volume(&demo, &vol, "available").await;
    assert_eq!(shown["attachments"], json!([{}]));
    assert_eq!(shown["size"], 10);
    demo.get("/v2.1/os-volumes", Some("2.36")).await.assert_fault(404, "itemNotFound");
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 0}})).await;
    r.assert_fault(400, "badRequest");

    let id = boot(&demo, "vm").await;
    let path = format!("/v2.1/servers/{id}/os-volume_attachments");
    let r = demo.post(&path, Some("2.79"), &json!({"volumeAttachment": {"volumeId": vol}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["volumeAttachment"]["device"], "/dev/vdb");
    assert_eq!(r.body["volumeAttachment"]["delete_on_termination"], false);
    let in_use = wait_volume(&demo, &vol, "in-use").await;
    assert_eq!(in_use["attachments"][0]["serverId"], id);
    let s = demo.get(&format!("/v2.1/servers/{id}"), Some("2.3")).await;
    assert_eq!(
        s.body["server"]["os-extended-volumes:volumes_attached"],
        json!([{"id": vol, "delete_on_termination": false}])
    );
    let list = demo.get(&path, None).await;
    assert_eq!(list.body["volumeAttachments"][0]["volumeId"], vol);
    // 2.89 swaps `id` for attachment_id and bdm_uuid in GET only.
    let list = demo.get(&path, Some("2.89")).await;
    let a = &list.body["volumeAttachments"][0];
    assert!(a.get("id").is_none() && a["attachment_id"].is_string() && a["bdm_uuid"].is_string(), "{a}");
    assert_eq!(demo.get(&format!("{path}/{vol}"), None).await.status, 200);

    // Attached: no second attach, no delete, snapshots only with force.
    let r = demo.post(&path, None, &json!({"volumeAttachment": {"volumeId": vol}})).await;
    r.assert_fault(400, "badRequest");
    demo.delete(&format!("/v2.1/os-volumes/{vol}"), None).await.assert_fault(400, "badRequest");
    let auto = json!({"snapshot": {"volume_id": vol, "display_name": "autobk_snapshot-1", "force": true}});
    demo.post("/v2.1/os-snapshots", None, &auto).await.assert_fault(400, "badRequest");
    let snap = json!({"snapshot": {"volume_id": vol, "display_name": "s1"}});
    demo.post("/v2.1/os-snapshots", None, &snap).await.assert_fault(400, "badRequest");
    let r = demo.post("/v2.1/os-snapshots", None, &json!({"snapshot": {"volume_id": vol, "force": true}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let snap_id = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(demo.get("/v2.1/os-snapshots", None).await.body["snapshots"].as_array().unwrap().len(), 1);

    assert_eq!(demo.delete(&format!("{path}/{vol}"), None).await.status, 202);
    wait_volume(&demo, &vol, "available").await;
    let r = demo.delete(&format!("/v2.1/os-volumes/{vol}"), None).await;
    assert!(r.assert_fault(400, "badRequest").contains("dependent snapshots"));
    assert_eq!(demo.delete(&format!("/v2.1/os-snapshots/{snap_id}"), None).await.status, 202);

    // A volume made from the snapshot's size... and the server's delete frees volumes.
    let keep = volume(&demo, 1).await;
    let gone = volume(&demo, 1).await;
    let r = demo.post(&path, Some("2.89"), &json!({"volumeAttachment": {"volumeId": keep}})).await;
    let a = &r.body["volumeAttachment"];
    assert!(a["id"] == json!(keep) && a.get("attachment_id").is_none() && a.get("bdm_uuid").is_none(), "{a}");
    demo.post(&path, Some("2.79"), &json!({"volumeAttachment": {"volumeId": gone, "delete_on_termination": true}}))
        .await;
    wait_volume(&demo, &gone, "in-use").await;
    wait_volume(&demo, &keep, "in-use").await;
    // Not on a suspended server.
    demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"suspend": null})).await;
    demo.wait_status(&id, "SUSPENDED").await;
    let r = demo.post(&path, None, &json!({"volumeAttachment": {"volumeId": vol}})).await;
    r.assert_fault(409, "conflictingRequest");
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    wait_volume(&demo, &keep, "available").await;
    demo.get(&format!("/v2.1/os-volumes/{gone}"), None).await.assert_fault(404, "itemNotFound");
    assert_eq!(demo.delete(&format!("/v2.1/os-volumes/{vol}"), None).await.status, 202);
    // Another project's volume is not there.
    let admin = server.admin().await;
    admin.get(&format!("/v2.1/os-volumes/{keep}"), None).await;
    let theirs = volume(&admin, 1).await;
    demo.get(&format!("/v2.1/os-volumes/{theirs}"), None).await.assert_fault(404, "itemNotFound");
}
both!(volumes_attach_detach_snapshots);

async fn volume_quota(server: &TestServer) {
    let demo = server.demo().await;
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1001}})).await;
    assert!(r.assert_fault(403, "forbidden").contains("gigabytes"));
    for _ in 0..10 {
        volume(&demo, 1).await;
    }
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
    assert!(r.assert_fault(403, "forbidden").contains("volumes"));
}
both!(volume_quota);

async fn boot_from_volume(server: &TestServer) {
    let demo = server.demo().await;
    let image = demo.get("/v2.1/images", None).await.body["images"][0]["id"].as_str().unwrap().to_string();
    let given = volume(&demo, 5).await;
    let r = demo.post("/v2.1/os-snapshots", None, &json!({"snapshot": {"volume_id": given}})).await;
    let snap = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    let create = |bdm: Value, count: i64| {
        json!({"server": {"name": "bfv", "flavorRef": "m1.tiny", "networks": "none", "min_count": count,
            "block_device_mapping_v2": bdm}})
    };
    // A given volume as root, an image copied to a new volume, a blank data volume.
    let bdm = json!([
        {"source_type": "volume", "destination_type": "volume", "uuid": given, "boot_index": 0},
        {"source_type": "image", "destination_type": "volume", "uuid": image, "volume_size": 2, "boot_index": -1,
         "delete_on_termination": true},
        {"source_type": "blank", "destination_type": "volume", "volume_size": 3, "boot_index": -1},
        {"source_type": "snapshot", "destination_type": "volume", "uuid": snap, "boot_index": -1,
         "delete_on_termination": true},
    ]);
    let r = demo.post("/v2.1/os-volumes_boot", Some("2.37"), &create(bdm, 1)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    let s = demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(s["image"], "", "a volume-backed server shows no image");
    let attached = s["os-extended-volumes:volumes_attached"].as_array().unwrap().clone();
    assert_eq!(attached.len(), 4, "{s}");
    let list = demo.get(&format!("/v2.1/servers/{id}/os-volume_attachments"), None).await;
    let root = list.body["volumeAttachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["volumeId"] == given.as_str())
        .unwrap()
        .clone();
    assert_eq!(root["device"], "/dev/vda");
    assert_eq!(wait_volume(&demo, &given, "in-use").await["attachments"][0]["serverId"], id);
    let blank = attached
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .find(|v| *v != given && !attached.iter().any(|a| a["id"] == v.as_str() && a["delete_on_termination"] == true));
    let blank = blank.unwrap();
    assert_eq!(wait_volume(&demo, &blank, "in-use").await["size"], 3);

    let r = demo.delete(&format!("/v2.1/servers/{id}/os-volume_attachments/{given}"), None).await;
    assert!(r.assert_fault(400, "badRequest").contains("root device"));
    // The given volume is taken now; one volume cannot boot two servers.
    let again = json!([{"source_type": "volume", "destination_type": "volume", "uuid": given, "boot_index": 0}]);
    demo.post("/v2.1/servers", Some("2.37"), &create(again.clone(), 1)).await.assert_fault(400, "badRequest");
    let bad = json!([{"source_type": "image", "destination_type": "volume", "uuid": image, "boot_index": 0}]);
    let r = demo.post("/v2.1/servers", Some("2.37"), &create(bad, 1)).await;
    assert!(r.assert_fault(400, "badRequest").contains("Volume is smaller"));

    // Deleting the server: delete_on_termination volumes go, the rest are free.
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    wait_volume(&demo, &given, "available").await;
    wait_volume(&demo, &blank, "available").await;
    let left = demo.get("/v2.1/os-volumes", None).await.body["volumes"].as_array().unwrap().len();
    assert_eq!(left, 2, "the image and snapshot copies went with the server");
    let r = demo.post("/v2.1/servers", Some("2.37"), &create(again, 2)).await;
    assert!(r.assert_fault(400, "badRequest").contains("multiple instances"));
}
both!(boot_from_volume);

/// Many servers racing for one volume: exactly one gets it.
async fn attach_race(server: &TestServer) {
    let demo = server.demo().await;
    let vol = volume(&demo, 1).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(boot(&demo, &format!("racer{i}")).await);
    }
    let body = json!({"volumeAttachment": {"volumeId": vol}});
    let paths: Vec<String> = ids.iter().map(|id| format!("/v2.1/servers/{id}/os-volume_attachments")).collect();
    let replies = futures::future::join_all(paths.iter().map(|p| demo.post(p, None, &body))).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_fault(400, "badRequest");
    }
    wait_volume(&demo, &vol, "in-use").await;
}
both!(attach_race);

async fn swap_and_update_attachment(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "swap").await;
    let (old, new) = (volume(&demo, 1).await, volume(&demo, 2).await);
    let path = format!("/v2.1/servers/{id}/os-volume_attachments");
    demo.post(&path, None, &json!({"volumeAttachment": {"volumeId": old}})).await;
    wait_volume(&demo, &old, "in-use").await;
    // 2.85: the owner changes delete_on_termination.
    let r = demo
        .put(
            &format!("{path}/{old}"),
            Some("2.85"),
            &json!({"volumeAttachment": {"volumeId": old, "delete_on_termination": true}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let a = demo.get(&format!("{path}/{old}"), Some("2.85")).await;
    assert_eq!(a.body["volumeAttachment"]["delete_on_termination"], true);
    // Swapping is for admins.
    let body = json!({"volumeAttachment": {"volumeId": new}});
    demo.put(&format!("{path}/{old}"), None, &body).await.assert_fault(403, "forbidden");
    let admin = server.admin().await;
    let r = admin.put(&format!("{path}/{old}"), None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_volume(&demo, &new, "in-use").await;
    wait_volume(&demo, &old, "available").await;
    let list = demo.get(&path, None).await;
    assert_eq!(list.body["volumeAttachments"][0]["volumeId"], new);
    assert_eq!(list.body["volumeAttachments"][0]["device"], "/dev/vdb");
}
both!(swap_and_update_attachment);

/// A swap whose attach of the new volume fails gives the guest its old
/// disk back: the API and the host agree that the old volume is attached,
/// and the new one is free.
async fn a_failed_swap_reattaches_the_old_volume(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let id = boot(&demo, "swap").await;
    let (old, new) = (volume(&demo, 1).await, volume(&demo, 2).await);
    let path = format!("/v2.1/servers/{id}/os-volume_attachments");
    demo.post(&path, None, &json!({"volumeAttachment": {"volumeId": old}})).await;
    wait_volume(&demo, &old, "in-use").await;

    server.sim().inject(ecs_hypervisor::sim::FaultRule {
        host: None,
        op: ecs_hypervisor::Op::AttachDisk,
        times: 1,
        message: Some("attach refused".into()),
    });
    let r = admin.put(&format!("{path}/{old}"), None, &json!({"volumeAttachment": {"volumeId": new}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let store = &server.core().store_for_tests();
    for _ in 0..400 {
        if !store.task_unfinished_for_server(&id).await.unwrap() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let swap = store.task_list_for_server(&id).await.unwrap().remove(0);
    assert_eq!((swap.kind.as_str(), swap.phase), ("swap_volume", ecs_types::server::TaskPhase::Failed));
    assert!(server.sim().faults().is_empty(), "the injected failure was used");

    wait_volume(&demo, &new, "available").await;
    let kept = wait_volume(&demo, &old, "in-use").await;
    assert_eq!(kept["attachments"][0]["serverId"], id);
    let list = demo.get(&path, None).await;
    assert_eq!(list.body["volumeAttachments"], json!([list.body["volumeAttachments"][0].clone()]));
    assert_eq!(list.body["volumeAttachments"][0]["volumeId"], old);
    assert_eq!(list.body["volumeAttachments"][0]["device"], "/dev/vdb");
    let mut disks = Vec::new();
    for driver in server.core().drivers_for_tests().all() {
        if let Some(guest) = driver.info(&id).await.unwrap() {
            disks.extend(guest.disks.into_iter().map(|d| (d.id, d.device)));
        }
    }
    assert_eq!(disks, [(old.clone(), "/dev/vdb".to_string())], "the guest has its old disk back");
}
both!(a_failed_swap_reattaches_the_old_volume);
