//! The ECS-native API (`/v1/{project_id}/…`): jobs over the task engine
//! and the seed's error bodies.

use serde_json::json;

use crate::{TestServer, both};

async fn jobs(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store;
    let image = store.image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "j", "flavorRef": "s3.small.1", "imageRef": image, "networks": "auto"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;
    let project = demo.project_id.clone();

    // The create, as an ECS job: the same record as the instance action.
    let task = store.task_list_for_server(&id).await.unwrap().pop().unwrap();
    let job = task.id.replace('-', "");
    let r = demo.get(&format!("/v1/{project}/jobs/{job}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "SUCCESS");
    assert_eq!(r.body["job_id"], job.as_str());
    assert_eq!(r.body["job_type"], "createServer");
    assert_eq!(r.body["entities"]["server_id"], id.as_str());
    assert_eq!(r.body["error_code"], json!(null));
    assert!(r.body["begin_time"].as_str().unwrap().ends_with('Z'));
    assert!(r.body["end_time"].is_string());

    // A failed job says why: a resize to a smaller disk rolls back.
    let r = demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"resize": {"flavorRef": "m1.small"}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let resize = loop {
        let t = store.task_list_for_server(&id).await.unwrap().remove(0);
        if t.finished_at.is_some() {
            break t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let r = demo.get(&format!("/v1/{project}/jobs/{}", resize.id), None).await;
    assert_eq!(r.body["status"], "FAIL", "{}", r.body);
    assert_eq!(r.body["job_type"], "resizeServer");
    assert!(r.body["fail_reason"].as_str().unwrap().contains("Unable to resize disk down"), "{}", r.body);

    // Errors in the seed's shape and status.
    let r = demo.get(&format!("/v1/{project}/jobs/ffffffffffffffffffffffffffffffff"), None).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Common.0011");
    let r = demo.get(&format!("/v1/{project}/jobs/not-a-job"), None).await;
    assert_eq!(r.body["error"]["code"], "Common.0011");
    let admin = server.admin().await;
    let r = demo.get(&format!("/v1/{}/jobs/{job}", admin.project_id), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Ecs.0003");
    let r = server.send(reqwest::Method::GET, &format!("/v1/{project}/jobs/{job}"), &[], None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Common.0013");
    // Another project's job does not exist for the caller.
    let r = admin.get(&format!("/v1/{}/jobs/{job}", admin.project_id), None).await;
    assert_eq!(r.status, 200, "admins see every job: {}", r.body);
}
both!(jobs);
