//! Failed ECS jobs carry the seed's codes: a job's sub-jobs their own
//! (`error_code`, `fail_reason`, `entities.errorcode_message`), the job
//! Common.0021 with its first failed sub-job's reason; a job without
//! sub-jobs the code of what failed (a smaller disk: Ecs.0009; a disk the
//! host would not attach: Ecs.0205). The same situations found before the
//! job starts answer at once with the same codes and a request id.

use ecs_core::{CoreConfig, QuotaDefaults};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Session, TestServer};

async fn job_of(s: &Session<'_>, r: &crate::Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    s.finished_job(r.body["job_id"].as_str().expect("a job id")).await
}

/// An ECS create body for one volume-backed server (with `data` GB of data disk).
async fn ecs_body(server: &TestServer, name: &str, data: Option<i64>) -> Value {
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let vpc = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let subnet = store.subnet_list(&vpc).await.unwrap().remove(0).id;
    let mut body = json!({"server": {
        "name": name, "imageRef": image, "flavorRef": "s3.small.1", "vpcid": vpc,
        "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"},
    }});
    if let Some(size) = data {
        body["server"]["data_volumes"] = json!([{"volumetype": "SSD", "size": size}]);
    }
    body
}

/// A sync refusal in ECS's shape, with the request id the SDK shows.
fn refused(r: &crate::Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (status, Some(code)), "{}", r.body);
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
    assert!(r.header("x-request-id").is_some_and(|id| id.starts_with("req-")), "no X-Request-Id");
}

async fn failed_jobs_carry_seed_codes(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let batch = format!("/v1/{p}/cloudservers/action");

    // An image-backed server (Nova's) and a volume-backed one (ECS's).
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "nova", "flavorRef": "s3.small.1", "imageRef": image, "networks": "auto"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let nova = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&nova, "ACTIVE").await;
    let r = demo.post(&format!("/v1.1/{p}/cloudservers"), None, &ecs_body(server, "ecs", None).await).await;
    let job = job_of(&demo, &r).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let ecs = job["entities"]["sub_jobs"][0]["entities"]["server_id"].as_str().unwrap().to_string();

    // Starting a running server: its sub-job fails with Ecs.0100, the job with Common.0021.
    let r = demo.post(&batch, None, &json!({"os-start": {"servers": [{"id": nova}]}})).await;
    let job = job_of(&demo, &r).await;
    assert_eq!((job["status"].as_str(), job["error_code"].as_str()), (Some("FAIL"), Some("Common.0021")), "{job}");
    let sub = &job["entities"]["sub_jobs"][0];
    assert_eq!((sub["status"].as_str(), sub["error_code"].as_str()), (Some("FAIL"), Some("Ecs.0100")), "{job}");
    assert!(sub["fail_reason"].as_str().unwrap().contains("Cannot 'start'"), "{job}");
    assert_eq!(sub["entities"]["errorcode_message"], sub["fail_reason"], "{job}");
    assert_eq!(job["fail_reason"], sub["fail_reason"], "{job}");

    // Stopping a locked server: Ecs.0605 in its sub-job.
    assert_eq!(demo.post(&format!("/v2.1/servers/{nova}/action"), None, &json!({"lock": null})).await.status, 202);
    let r = demo.post(&batch, None, &json!({"os-stop": {"servers": [{"id": nova}, {"id": ecs}]}})).await;
    let job = job_of(&demo, &r).await;
    assert_eq!(job["error_code"], "Common.0021", "{job}");
    let subs = job["entities"]["sub_jobs"].as_array().unwrap();
    let of = |id: &str| subs.iter().find(|s| s["entities"]["server_id"] == id).unwrap().clone();
    assert_eq!((of(&nova)["status"].as_str(), of(&nova)["error_code"].as_str()), (Some("FAIL"), Some("Ecs.0605")));
    assert_eq!((of(&ecs)["status"].as_str(), of(&ecs)["error_code"].as_str()), (Some("SUCCESS"), None), "{job}");
    assert_eq!(demo.post(&format!("/v2.1/servers/{nova}/action"), None, &json!({"unlock": null})).await.status, 202);

    // A resize to a flavor with a smaller disk fails in its job: Ecs.0009.
    let r = demo.post(&batch, None, &json!({"os-stop": {"type": "HARD", "servers": [{"id": nova}]}})).await;
    assert_eq!(job_of(&demo, &r).await["status"], "SUCCESS");
    demo.wait_status(&nova, "SHUTOFF").await;
    let resize = json!({"resize": {"flavorRef": "m1.small"}});
    let r = demo.post(&format!("/v1/{p}/cloudservers/{nova}/resize"), None, &resize).await;
    let job = job_of(&demo, &r).await;
    assert_eq!((job["status"].as_str(), job["error_code"].as_str()), (Some("FAIL"), Some("Ecs.0009")), "{job}");
    assert!(job["fail_reason"].as_str().unwrap().contains("Unable to resize disk down"), "{job}");
    assert_eq!(job["job_type"], "resizeServer");
    assert_eq!(demo.wait_status(&nova, "SHUTOFF").await["flavor"]["original_name"], "s3.small.1");

    // A disk the host will not attach: the attach job fails with Ecs.0205.
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
    let volume = r.body["volume"]["id"].as_str().unwrap().to_string();
    server.sim().inject(ecs_hypervisor::sim::FaultRule {
        host: None,
        op: ecs_hypervisor::Op::AttachDisk,
        times: 1,
        message: Some("the bus is full".into()),
    });
    let attach = json!({"volumeAttachment": {"volumeId": volume}});
    let r = demo.post(&format!("/v1/{p}/cloudservers/{ecs}/attachvolume"), None, &attach).await;
    let job = job_of(&demo, &r).await;
    assert_eq!((job["status"].as_str(), job["error_code"].as_str()), (Some("FAIL"), Some("Ecs.0205")), "{job}");
    assert!(job["fail_reason"].as_str().unwrap().contains("the bus is full"), "{job}");
    assert_eq!(job["entities"]["server_id"], ecs.as_str());

    // Then it attaches; the same disk again, or on another server, is refused at once.
    let r = demo.post(&format!("/v1/{p}/cloudservers/{ecs}/attachvolume"), None, &attach).await;
    assert_eq!(job_of(&demo, &r).await["status"], "SUCCESS");
    let r = demo.post(&format!("/v1/{p}/cloudservers/{ecs}/attachvolume"), None, &attach).await;
    refused(&r, 400, "Ecs.0057");
    let r = demo.post(&format!("/v1/{p}/cloudservers/{nova}/attachvolume"), None, &attach).await;
    refused(&r, 400, "Ecs.0103");

    // The system disk stays: Ecs.0102.
    let system = server.core().store_for_tests().volumes_of_server(&ecs).await.unwrap();
    let system = system.iter().find(|v| v.attachment.as_ref().is_some_and(|a| a.device == "/dev/vda")).unwrap();
    let r = demo.delete(&format!("/v1/{p}/cloudservers/{ecs}/detachvolume/{}", system.id), None).await;
    refused(&r, 400, "Ecs.0102");

    // An unknown server is Ecs.0114 (404), an unknown job Common.0011.
    let r = demo.get(&format!("/v1/{p}/cloudservers/{}", uuid::Uuid::new_v4()), None).await;
    refused(&r, 404, "Ecs.0114");
    let r = demo.get(&format!("/v1/{p}/jobs/{}", uuid::Uuid::new_v4().simple()), None).await;
    refused(&r, 400, "Common.0011");
}
crate::both!(failed_jobs_carry_seed_codes);

/// Disks over the EVS quota: refused before a job starts, Ecs.0021.
async fn quota(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let r = demo.post(&format!("/v1.1/{p}/cloudservers"), None, &ecs_body(server, "big", Some(10)).await).await;
    refused(&r, 400, "Ecs.0021");
    // Without the data disk it fits.
    let r = demo.post(&format!("/v1.1/{p}/cloudservers"), None, &ecs_body(server, "small", None).await).await;
    assert_eq!(job_of(&demo, &r).await["status"], "SUCCESS");
    // The EVS quota counts the system disk: a second server is over it.
    let r = demo.post(&format!("/v1.1/{p}/cloudservers"), None, &ecs_body(server, "more", None).await).await;
    refused(&r, 400, "Ecs.0021");
    let r = server.send(Method::GET, &format!("/v1/{p}/cloudservers/detail"), &[], None).await;
    refused(&r, 401, "Common.0013");
}

mod quota {
    use super::*;

    fn config() -> CoreConfig {
        CoreConfig { quota: QuotaDefaults { volumes: 1, ..Default::default() }, ..Default::default() }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = TestServer::start_with(ecs_test_utils::sqlite(), config()).await;
        super::quota(&server).await;
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let server = TestServer::start_with(ecs_test_utils::postgres().await, config()).await;
        super::quota(&server).await;
        server.stop().await;
    }
}
