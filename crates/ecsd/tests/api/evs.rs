//! Huawei's EVS API over Cinder volumes (create, list, show, update,
//! expand, delete as jobs, its error codes) and the ECS disk operations
//! beside attach/detach: batch attach/detach, os-volume_attachments,
//! appendvolumequota and the block_device PUT.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

async fn send(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.server.send(method, path, &[("x-auth-token", s.token.as_str())], body).await
}

fn assert_code(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (status, Some(code)), "{}", r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
}

/// Creates one disk; its id, after its job.
async fn disk(s: &Session<'_>, body: Value) -> String {
    let r = send(s, Method::POST, &format!("/v2.1/{}/cloudvolumes", s.project_id), Some(&body)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let job = s.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "createVolume");
    let id = job["entities"]["volume_id"].as_str().unwrap().to_string();
    assert_eq!(r.body["volume_ids"], json!([id]));
    id
}

async fn cloudvolumes(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let create = format!("/v2.1/{p}/cloudvolumes");

    // Bad input.
    let bad = [
        (json!({}), 400, "EVS.1008"),
        (json!({"volume": {"size": 10}}), 400, "EVS.1009"),
        (json!({"volume": {"volume_type": "SSD"}}), 400, "EVS.1010"),
        (json!({"volume": {"volume_type": "SSD", "size": 0}}), 400, "EVS.1010"),
        (json!({"volume": {"volume_type": "SSD", "size": 40000}}), 400, "EVS.1010"),
        (json!({"volume": {"volume_type": "SSD", "size": 10, "name": "x".repeat(65)}}), 400, "EVS.1003"),
        (json!({"volume": {"volume_type": "SSD", "size": 10, "count": 101}}), 400, "EVS.1009"),
        (json!({"volume": {"volume_type": "SSD", "size": 10, "multiattach": true}}), 400, "EVS.5400"),
        (json!({"volume": {"volume_type": "SSD", "size": 10, "backup_id": "b"}}), 400, "EVS.1006"),
        (json!({"volume": {"volume_type": "gold", "size": 10}}), 400, "EVS.5400"),
        (json!({"volume": {"volume_type": "SSD", "size": 10, "availability_zone": "nowhere"}}), 400, "EVS.5400"),
        (
            json!({"volume": {"volume_type": "SSD", "size": 10}, "bssParam": {"chargingMode": "prePaid"}}),
            400,
            "EVS.5400",
        ),
    ];
    for (body, status, code) in bad {
        assert_code(&send(&demo, Method::POST, &create, Some(&body)).await, status, code);
    }

    // Create (a job naming its disk), show.
    let id = disk(&demo, json!({"volume": {"volume_type": "SSD", "size": 10, "name": "data", "metadata": {"k": "v"}}}))
        .await;
    let shown = send(&demo, Method::GET, &format!("/v2/{p}/cloudvolumes/{id}"), None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let v = &shown.body["volume"];
    assert_eq!(
        (v["name"].as_str(), v["size"].as_i64(), v["status"].as_str()),
        (Some("data"), Some(10), Some("available"))
    );
    assert_eq!(v["volume_type"], "SSD");
    assert_eq!(v["bootable"], "false");
    assert_eq!(v["shareable"], "false");
    assert_eq!(v["metadata"]["k"], "v");
    assert_eq!(v["os-vol-tenant-attr:tenant_id"], p.as_str());
    assert_eq!(v["attachments"], json!([]));
    // The same record as Cinder's volume.
    let cinder = send(&demo, Method::GET, &format!("/volume/v3/{p}/volumes/{id}"), None).await;
    assert_eq!(cinder.body["volume"]["name"], "data");

    // Several at once: one job of sub-jobs.
    let r = send(
        &demo,
        Method::POST,
        &format!("/v2/{p}/cloudvolumes"),
        Some(&json!({"volume": {"volume_type": "SAS", "size": 5, "count": 2, "name": "many"}})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["volume_ids"].as_array().unwrap().len(), 2);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["entities"]["sub_jobs_total"], 2);
    assert!(job["entities"]["sub_jobs"][0]["entities"]["volume_id"].is_string(), "{job}");

    // The list: filters, sorting, paging.
    let detail = format!("/v2/{p}/cloudvolumes/detail");
    let all = send(&demo, Method::GET, &detail, None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["count"], 3);
    let named = send(&demo, Method::GET, &format!("{detail}?name=data"), None).await;
    assert_eq!(named.body["volumes"].as_array().unwrap().len(), 1);
    let page = send(&demo, Method::GET, &format!("{detail}?limit=2&sort_key=size&sort_dir=asc"), None).await;
    assert_eq!(page.body["volumes"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["volumes"][0]["size"], 5);
    assert!(page.body["volumes_links"][0]["href"].is_string(), "{}", page.body);
    let last = page.body["volumes"][1]["id"].as_str().unwrap();
    let rest =
        send(&demo, Method::GET, &format!("{detail}?limit=2&sort_key=size&sort_dir=asc&marker={last}"), None).await;
    assert_eq!(rest.body["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["volumes"][0]["id"], id.as_str());
    let offset = send(&demo, Method::GET, &format!("{detail}?offset=2&sort_key=size&sort_dir=asc"), None).await;
    assert_eq!(offset.body["volumes"][0]["id"], id.as_str());
    let meta = send(&demo, Method::GET, &format!("{detail}?metadata=%7B%22k%22%3A%22v%22%7D"), None).await;
    assert_eq!(meta.body["count"], 1, "{}", meta.body);
    assert_code(&send(&demo, Method::GET, &format!("{detail}?limit=x"), None).await, 400, "EVS.5400");
    assert_code(&send(&demo, Method::GET, &format!("{detail}?sort_key=name"), None).await, 400, "EVS.5400");

    // Another project's disk is not found; another project's path refused.
    let admin = server.admin().await;
    let theirs = format!("/v2/{}/cloudvolumes/{id}", admin.project_id);
    assert_code(&send(&admin, Method::GET, &theirs, None).await, 404, "EVS.1002");
    assert_code(&send(&admin, Method::DELETE, &theirs, None).await, 404, "EVS.1002");
    assert_code(
        &send(&demo, Method::GET, &format!("/v2/{}/cloudvolumes/detail", admin.project_id), None).await,
        400,
        "EVS.0001",
    );
    assert_code(&demo.server.send(Method::GET, &detail, &[], None).await, 401, "EVS.0002");
    assert_code(
        &send(&demo, Method::GET, &format!("/v2/{p}/cloudvolumes/{id}/nothing"), None).await,
        404,
        "APIGW.0101",
    );

    // Update: flat, as the SDK reads it.
    let r =
        send(&demo, Method::PUT, &format!("/v2/{p}/cloudvolumes/{id}"), Some(&json!({"volume": {"name": "renamed"}})))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "renamed");
    assert_eq!(r.body["id"], id.as_str());
    assert_code(
        &send(&demo, Method::PUT, &format!("/v2/{p}/cloudvolumes/{id}"), Some(&json!({"volume": {}}))).await,
        400,
        "EVS.1007",
    );

    // Expand: a job; no shrinking.
    let action = format!("/v2.1/{p}/cloudvolumes/{id}/action");
    assert_code(
        &send(&demo, Method::POST, &action, Some(&json!({"os-extend": {"new_size": 5}}))).await,
        400,
        "EVS.5400",
    );
    assert_code(&send(&demo, Method::POST, &action, Some(&json!({"os-extend": {}}))).await, 400, "EVS.1011");
    assert_code(&send(&demo, Method::POST, &action, Some(&json!({"resize": {}}))).await, 400, "EVS.1011");
    let r = send(&demo, Method::POST, &action, Some(&json!({"os-extend": {"new_size": 20}}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!((job["job_type"].as_str(), job["entities"]["size"].as_i64()), (Some("extendVolume"), Some(20)));

    // Quota: Cinder's volumes quota, as EVS's code.
    let q = json!({"quota_set": {"volumes": 3}});
    let r = send(&admin, Method::PUT, &format!("/volume/v3/{}/os-quota-sets/{p}", admin.project_id), Some(&q)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let over = send(&demo, Method::POST, &create, Some(&json!({"volume": {"volume_type": "SSD", "size": 1}}))).await;
    assert_code(&over, 413, "EVS.5400");

    // Delete: a job; then it is gone.
    let r = send(&demo, Method::DELETE, &format!("/v2/{p}/cloudvolumes/{id}"), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(
        (job["job_type"].as_str(), job["entities"]["volume_id"].as_str()),
        (Some("deleteVolume"), Some(id.as_str()))
    );
    assert_code(&send(&demo, Method::GET, &format!("/v2/{p}/cloudvolumes/{id}"), None).await, 404, "EVS.1002");
}

both!(cloudvolumes);

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_bare(name).await
}

async fn ecs_disk_operations(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let vm = boot(&demo, "vm").await;
    let other = boot(&demo, "vm2").await;
    let id = disk(&demo, json!({"volume": {"volume_type": "SSD", "size": 10}})).await;

    // An EVS disk attaches through ECS.
    let quota = send(&demo, Method::GET, &format!("/v1/{p}/cloudservers/{vm}/appendvolumequota"), None).await;
    assert_eq!(quota.status, 200, "{}", quota.body);
    let free = quota.body["free_blk"].as_i64().unwrap();
    assert_eq!(quota.body["count"], free);
    assert!(quota.body["free_scsi"].is_i64());
    let attach = json!({"volumeAttachment": {"volumeId": id}});
    let r = send(&demo, Method::POST, &format!("/v1/{p}/cloudservers/{vm}/attachvolume"), Some(&attach)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = demo.finished_job(r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["entities"]["volume_id"], id.as_str());
    let list = send(&demo, Method::GET, &format!("/v1/{p}/cloudservers/{vm}/os-volume_attachments"), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let a = &list.body["volumeAttachments"][0];
    assert_eq!((a["volumeId"].as_str(), a["serverId"].as_str()), (Some(id.as_str()), Some(vm.as_str())));
    assert!(a["device"].as_str().unwrap().starts_with("/dev/vd"), "{a}");
    let quota = send(&demo, Method::GET, &format!("/v1/{p}/cloudservers/{vm}/appendvolumequota"), None).await;
    assert_eq!(quota.body["free_blk"].as_i64(), Some(free - 1));
    let shown = send(&demo, Method::GET, &format!("/v2/{p}/cloudvolumes/{id}"), None).await;
    assert_eq!(shown.body["volume"]["status"], "in-use");
    assert_eq!(shown.body["volume"]["attachments"][0]["server_id"], vm.as_str());
    // An attached disk is not deleted.
    assert_code(&send(&demo, Method::DELETE, &format!("/v2/{p}/cloudvolumes/{id}"), None).await, 400, "EVS.5400");

    // delete_on_termination through block_device.
    let bd = format!("/v1/{p}/cloudservers/{vm}/block_device/{id}");
    let r = send(&demo, Method::PUT, &bd, Some(&json!({"block_device": {"delete_on_termination": true}}))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = demo.get(&format!("/v2.1/servers/{vm}/os-volume_attachments/{id}"), Some("2.79")).await;
    assert_eq!(r.body["volumeAttachment"]["delete_on_termination"], true, "{}", r.body);
    let r = send(&demo, Method::PUT, &bd, Some(&json!({"block_device": {}}))).await;
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (400, Some("Ecs.0005")), "{}", r.body);
    let r = send(
        &demo,
        Method::PUT,
        &format!("/v1/{p}/cloudservers/{other}/block_device/{id}"),
        Some(&json!({"block_device": {"delete_on_termination": false}})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Batch detach, then batch attach to one server; a disk is not shared.
    let detach = format!("/v1/{p}/batchaction/detachvolumes/{id}");
    let r = send(&demo, Method::POST, &detach, Some(&json!({"serverinfo": [vm]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(demo.finished_job(r.body["job_id"].as_str().unwrap()).await["status"], "SUCCESS");
    let attach = format!("/v1/{p}/batchaction/attachvolumes/{id}");
    let two = json!({"serverinfo": [{"server_id": vm}, {"server_id": other}]});
    let r = send(&demo, Method::POST, &attach, Some(&two)).await;
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (400, Some("Ecs.0005")), "{}", r.body);
    let r = send(&demo, Method::POST, &attach, Some(&json!({"serverinfo": []}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r =
        send(&demo, Method::POST, &attach, Some(&json!({"serverinfo": [{"server_id": other, "device": "/dev/sdc"}]})))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(demo.finished_job(r.body["job_id"].as_str().unwrap()).await["status"], "SUCCESS");
    let list = send(&demo, Method::GET, &format!("/v1/{p}/cloudservers/{other}/os-volume_attachments"), None).await;
    assert_eq!(list.body["volumeAttachments"][0]["device"], "/dev/vdc");
    // Detaching from a server it is not on.
    let r = send(&demo, Method::POST, &detach, Some(&json!({"serverinfo": [{"server_id": vm}]}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = send(&demo, Method::GET, &format!("/v1/{p}/cloudservers/none-such/os-volume_attachments"), None).await;
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (404, Some("Ecs.0114")), "{}", r.body);
}

both!(ecs_disk_operations);
