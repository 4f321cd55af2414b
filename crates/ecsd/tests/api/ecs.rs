//! The ECS-native API (`/v1/{project_id}/…`): jobs over the task engine
//! and the seed's error bodies.

use serde_json::json;

use crate::{TestServer, both};

async fn jobs(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store_for_tests();
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

async fn show_and_list_servers(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let mut ids = Vec::new();
    for name in ["web-1", "web-2", "db-1"] {
        let body = json!({"server": {"name": name, "flavorRef": "s3.small.1", "imageRef": image,
            "networks": "auto", "metadata": {"role": name}}});
        let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["server"]["id"].as_str().unwrap().to_string();
        demo.wait_status(&id, "ACTIVE").await;
        ids.push(id);
    }
    let project = demo.project_id.clone();

    let r = demo.get(&format!("/v1/{project}/cloudservers/{}", ids[0]), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["server"];
    assert_eq!(s["name"], "web-1");
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(
        s["flavor"],
        json!({"id": "s3.small.1", "name": "s3.small.1", "disk": "40", "vcpus": "1", "ram": "1024"})
    );
    let nic = s["addresses"].as_object().unwrap().values().next().unwrap()[0].clone();
    assert_eq!(nic["version"], "4");
    assert_eq!(nic["primary"], true);
    assert!(nic["OS-EXT-IPS:port_id"].as_str().unwrap().len() == 36, "{nic}");
    assert_eq!(s["metadata"]["role"], "web-1");
    assert_eq!(s["metadata"]["metering.image_id"], image.as_str());
    assert!(s["security_groups"][0]["id"].as_str().unwrap().len() == 36, "{s}");
    assert_eq!(s["sys_tags"][0]["key"], "_sys_enterprise_project_id");
    let r = demo.get(&format!("/v1/{project}/cloudservers/00000000-0000-0000-0000-000000000000"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Ecs.0114");

    // Filters, then pages of `limit` numbered by `offset`; count is every match.
    let r = demo.get(&format!("/v1/{project}/cloudservers/detail?name=web&limit=1"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["count"], 2);
    assert_eq!(r.body["servers"].as_array().unwrap().len(), 1);
    // v1.1 (ListCloudServers) pages by marker: the next page's link, no count.
    let r = demo.get(&format!("/v1.1/{project}/cloudservers/detail?name=web&limit=1"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["servers"].as_array().unwrap().len(), 1);
    assert!(r.body["servers_links"][0]["href"].as_str().unwrap().contains("marker="), "{}", r.body);
    let page = |n: u32| format!("/v1/{project}/cloudservers/detail?limit=2&offset={n}");
    let first = demo.get(&page(1), None).await.body;
    let second = demo.get(&page(2), None).await.body;
    assert_eq!(first["count"], 3);
    assert_eq!(first["servers"].as_array().unwrap().len(), 2);
    assert_eq!(second["servers"].as_array().unwrap().len(), 1);
    let r = demo.get(&format!("/v1/{project}/cloudservers/detail?status=SHUTOFF"), None).await;
    assert_eq!(r.body["count"], 0);
    let r = demo.get(&format!("/v1/{project}/cloudservers/detail?server_id={},{}", ids[1], ids[2]), None).await;
    assert_eq!(r.body["count"], 2);
    let r = demo.get(&format!("/v1/{project}/cloudservers/detail?limit=0"), None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "Ecs.0005");
}
both!(show_and_list_servers);

async fn job_of(s: &crate::Session<'_>, project: &str, job: &str, done: bool) -> serde_json::Value {
    for _ in 0..400 {
        let r = s.get(&format!("/v1/{project}/jobs/{job}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if !done || matches!(r.body["status"].as_str(), Some("SUCCESS" | "FAIL")) {
            return r.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("job {job} did not finish");
}

async fn batch_actions(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let mut ids = Vec::new();
    for name in ["b1", "b2", "b3"] {
        let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "auto"}});
        let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
        let id = r.body["server"]["id"].as_str().unwrap().to_string();
        demo.wait_status(&id, "ACTIVE").await;
        ids.push(id);
    }
    let project = demo.project_id.clone();
    let path = format!("/v1/{project}/cloudservers/action");
    let servers = |ids: &[String]| ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>();

    // Stop all (HARD): one job, three sub-jobs, all SHUTOFF.
    let r = demo.post(&path, None, &json!({"os-stop": {"type": "HARD", "servers": servers(&ids)}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = job_of(&demo, &project, r.body["job_id"].as_str().unwrap(), true).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["entities"]["sub_jobs_total"], 3);
    assert_eq!(job["job_type"], "batchStopServers");
    assert_eq!(job["entities"]["sub_jobs"][0]["job_type"], "stopSingleServer");
    for id in &ids {
        demo.wait_status(id, "SHUTOFF").await;
    }

    // Start one, then all: the running one's sub-job fails, the job fails, the others start.
    let r = demo.post(&path, None, &json!({"os-start": {"servers": servers(&ids[..1])}})).await;
    job_of(&demo, &project, r.body["job_id"].as_str().unwrap(), true).await;
    let r = demo.post(&path, None, &json!({"os-start": {"servers": servers(&ids)}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = job_of(&demo, &project, r.body["job_id"].as_str().unwrap(), true).await;
    assert_eq!(job["status"], "FAIL", "{job}");
    assert_eq!(job["error_code"], "Common.0021");
    let failed: Vec<&serde_json::Value> =
        job["entities"]["sub_jobs"].as_array().unwrap().iter().filter(|j| j["status"] == "FAIL").collect();
    assert_eq!(failed.len(), 1, "{job}");
    assert_eq!(failed[0]["entities"]["server_id"], ids[0].as_str());
    assert!(failed[0]["fail_reason"].as_str().unwrap().contains("Cannot 'start'"), "{job}");
    for id in &ids {
        demo.wait_status(id, "ACTIVE").await;
    }

    // Reboot needs its type; bad bodies and unknown servers in the seed's shape.
    let r = demo.post(&path, None, &json!({"reboot": {"type": "SOFT", "servers": servers(&ids)}})).await;
    let job = job_of(&demo, &project, r.body["job_id"].as_str().unwrap(), true).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let r = demo.post(&path, None, &json!({"reboot": {"servers": servers(&ids)}})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Ecs.0005");
    let r = demo.post(&path, None, &json!({"os-start": {"servers": []}})).await;
    assert_eq!(r.body["error"]["code"], "Ecs.0005");
    let r = demo.post(&path, None, &json!({"os-pause": {"servers": servers(&ids)}})).await;
    assert_eq!(r.body["error"]["code"], "Ecs.0005");
    let ghost = vec!["00000000-0000-0000-0000-000000000000".to_string()];
    let r = demo.post(&path, None, &json!({"os-stop": {"servers": servers(&ghost)}})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Ecs.0114");
    // Each sub-job is also the server's Nova instance action.
    let actions = demo.get(&format!("/v2.1/servers/{}/os-instance-actions", ids[1]), None).await;
    let names: Vec<&str> =
        actions.body["instanceActions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names[..3], ["reboot", "start", "stop"], "{names:?}");
}
both!(batch_actions);

async fn batch_delete(server: &TestServer) {
    let demo = server.demo().await;
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let project = demo.project_id.clone();
    // Two servers, each with a data disk attached.
    let mut pairs = Vec::new();
    for name in ["d1", "d2"] {
        let body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "auto"}});
        let id =
            demo.post("/v2.1/servers", Some("2.37"), &body).await.body["server"]["id"].as_str().unwrap().to_string();
        demo.wait_status(&id, "ACTIVE").await;
        let v = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
        let volume = v.body["volume"]["id"].as_str().unwrap().to_string();
        let attach = json!({"volumeAttachment": {"volumeId": volume}});
        let r = demo.post(&format!("/v2.1/servers/{id}/os-volume_attachments"), None, &attach).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for _ in 0..200 {
            let v = demo.get(&format!("/v2.1/os-volumes/{volume}"), None).await;
            if v.body["volume"]["status"] == "in-use" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        pairs.push((id, volume));
    }
    let path = format!("/v1/{project}/cloudservers/delete");
    let r = demo.post(&path, None, &json!({"servers": [{"id": pairs[0].0}], "delete_volume": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = job_of(&demo, &project, r.body["job_id"].as_str().unwrap(), true).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["job_type"], "deleteServer");
    assert_eq!(job["entities"]["sub_jobs"][0]["job_type"], "deleteSingleServer");
    let r = demo.post(&path, None, &json!({"servers": [{"id": pairs[1].0}]})).await;
    job_of(&demo, &project, r.body["job_id"].as_str().unwrap(), true).await;
    for (id, _) in &pairs {
        assert_eq!(demo.get(&format!("/v2.1/servers/{id}"), None).await.status, 404);
    }
    // delete_volume took the first data disk; the second is free again.
    assert_eq!(demo.get(&format!("/v2.1/os-volumes/{}", pairs[0].1), None).await.status, 404);
    let v = demo.get(&format!("/v2.1/os-volumes/{}", pairs[1].1), None).await;
    assert_eq!(v.body["volume"]["status"], "available", "{}", v.body);
    let r = demo.post(&path, None, &json!({"servers": [{"id": pairs[1].0}], "delete_volume": "yes"})).await;
    assert_eq!(r.body["error"]["code"], "Ecs.0005");
}
both!(batch_delete);
