//! Nova's image proxy: snapshots of servers (createImage), metadata, delete.

use serde_json::json;

use crate::{TestServer, both};

async fn snapshots_metadata_and_delete(server: &TestServer) {
    let demo = server.demo().await;
    let images = demo.get("/v2.1/images/detail", None).await;
    let seeded = images.body["images"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"server": {"name": "snap", "flavorRef": "m1.tiny", "imageRef": seeded, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;

    let action = format!("/v2.1/servers/{id}/action");
    let r = demo
        .post(&action, Some("2.45"), &json!({"createImage": {"name": "snap-1", "metadata": {"purpose": "test"}}}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let image = r.body["image_id"].as_str().unwrap().to_string();
    // One snapshot at a time, as in Nova.
    demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
    let old = demo.post(&action, None, &json!({"createImage": {"name": "snap-2"}})).await;
    assert_eq!(old.status, 202, "{}", old.body);
    assert!(old.header("location").unwrap().contains("/images/"), "below 2.45 the image is in Location");

    let mut shown = json!(null);
    for _ in 0..200 {
        shown = demo.get(&format!("/v2.1/images/{image}"), None).await.body["image"].clone();
        if shown["status"] == "ACTIVE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(shown["status"], "ACTIVE");
    assert_eq!(shown["metadata"]["purpose"], "test");
    assert_eq!(shown["metadata"]["image_type"], "snapshot");
    assert_eq!(shown["server"]["id"], id);
    assert!(shown["OS-EXT-IMG-SIZE:size"].as_i64().unwrap() > 0);
    let actions = demo.get(&format!("/v2.1/servers/{id}/os-instance-actions"), None).await;
    assert!(actions.body["instanceActions"].as_array().unwrap().iter().any(|a| a["action"] == "createImage"));

    // The proxy's filters.
    let named = demo.get("/v2.1/images/detail?name=snap-1&status=ACTIVE", None).await;
    assert_eq!(named.body["images"].as_array().unwrap().len(), 1);
    let none = demo.get("/v2.1/images?minRam=1000000", None).await;
    assert_eq!(none.body["images"], json!([]));
    demo.get("/v2.1/images?minDisk=big", None).await.assert_fault(400, "badRequest");
    // Boot from the snapshot.
    let body = json!({"server": {"name": "from-snap", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);

    // Metadata.
    let meta = format!("/v2.1/images/{image}/metadata");
    let r = demo.post(&meta, None, &json!({"metadata": {"os": "linux"}})).await;
    assert_eq!(r.body["metadata"]["os"], "linux");
    assert_eq!(r.body["metadata"]["purpose"], "test");
    let r = demo.put(&format!("{meta}/os"), None, &json!({"meta": {"os": "bsd"}})).await;
    assert_eq!(r.body["meta"]["os"], "bsd");
    assert_eq!(demo.get(&format!("{meta}/os"), None).await.body["meta"]["os"], "bsd");
    assert_eq!(demo.delete(&format!("{meta}/os"), None).await.status, 204);
    demo.get(&format!("{meta}/os"), None).await.assert_fault(404, "itemNotFound");
    let r = demo.put(&meta, None, &json!({"metadata": {"only": "this"}})).await;
    assert_eq!(r.body["metadata"], json!({"only": "this"}));

    // Others cannot see a private snapshot; nobody but its owner deletes it.
    let admin = server.login("admin", "admin", "admin").await;
    let theirs = admin.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
    assert_eq!(theirs.status, 200);
    demo.delete(&format!("/v2.1/images/{seeded}"), None).await.assert_fault(403, "forbidden");
    assert_eq!(demo.delete(&format!("/v2.1/images/{image}"), None).await.status, 204);
    demo.get(&format!("/v2.1/images/{image}"), None).await.assert_fault(404, "itemNotFound");
    demo.get("/v2.1/images", Some("2.36")).await.assert_fault(404, "itemNotFound");

    // Not from an ERROR server.
    admin.post(&action, None, &json!({"os-resetState": {"state": "error"}})).await;
    let r = demo.post(&action, None, &json!({"createImage": {"name": "nope"}})).await;
    assert!(r.assert_fault(409, "conflictingRequest").contains("vm_state error"));
}
both!(snapshots_metadata_and_delete);

/// Tempest's `test_delete_image_that_is_not_yet_active`: the image of a
/// createImage deleted at once, before or while the snapshot is taken;
/// either way the server goes back to no task and the image stays gone.
async fn an_image_deleted_while_saving_leaves_the_server_idle(server: &TestServer) {
    let demo = server.demo().await;
    let id = demo.boot_bare("snap-deleted").await;
    for _ in 0..5 {
        let r = demo
            .post(&format!("/v2.1/servers/{id}/action"), Some("2.45"), &json!({"createImage": {"name": "s"}}))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let image = r.body["image_id"].as_str().unwrap().to_string();
        let r = demo.delete(&format!("/v2.1/images/{image}"), None).await;
        assert_eq!(r.status, 204, "{}", r.body);
        demo.wait_server(&id, |r| r.body["server"]["OS-EXT-STS:task_state"].is_null()).await;
        assert_eq!(demo.get(&format!("/v2.1/images/{image}"), None).await.status, 404);
    }
}
both!(an_image_deleted_while_saving_leaves_the_server_idle);
