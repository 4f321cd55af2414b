//! Huawei IMS (`/v2/cloudimages`) over the Glance image records: the list
//! with IMS's filters and attributes, private images of a server or a
//! volume as jobs, updates, deletes, and IMS's error body.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

async fn ims(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.server.send(method, path, &[("x-auth-token", s.token.as_str())], body).await
}

fn assert_ims_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
    assert!(r.header("x-request-id").is_some_and(|id| id.starts_with("req-")));
}

fn ids(r: &Reply) -> Vec<String> {
    r.body["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

async fn job_done(s: &Session<'_>, job: &str) -> Value {
    let project = &s.project_id;
    for _ in 0..600 {
        let r = s.get(&format!("/v1/{project}/jobs/{job}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if matches!(r.body["status"].as_str(), Some("SUCCESS" | "FAIL")) {
            return r.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("job {job} did not finish");
}

async fn ims_images(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();
    let seeded = server.core().store_for_tests().image_list().await.unwrap().remove(0);

    // The list: the public image, as IMS shows it.
    let r = ims(&demo, Method::GET, "/v2/cloudimages", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("version").is_none(), "Nova's version document: {}", r.body);
    let image = r.body["images"].as_array().unwrap().iter().find(|i| i["id"] == seeded.id.as_str()).unwrap().clone();
    assert_eq!(image["name"], seeded.name.as_str());
    assert_eq!(image["__imagetype"], "gold");
    assert_eq!(image["__os_type"], "Linux");
    assert_eq!(image["__platform"], "Other");
    assert_eq!(image["__os_bit"], "64");
    assert_eq!(image["__isregistered"], "true");
    assert_eq!(image["__image_size"], seeded.size_bytes.to_string());
    assert_eq!(image["status"], "active");
    assert_eq!(image["visibility"], "public");
    assert_eq!(image["min_disk"], 1);
    assert_eq!(image["disk_format"], "qcow2");
    assert_eq!(image["virtual_env_type"], "FusionCompute");
    assert_eq!(image["self"], format!("/v2/images/{}", seeded.id));

    // IMS's filters.
    for (query, listed) in [
        ("__imagetype=gold", true),
        ("__imagetype=private", false),
        ("__platform=Other", true),
        ("__platform=Ubuntu", false),
        ("__os_type=Linux", true),
        ("__os_type=Windows", false),
        (&format!("name={}", seeded.name), true),
        ("name=nothing", false),
        ("status=active", true),
        ("status=queued", false),
        (&format!("id={}", seeded.id), true),
        ("visibility=public", true),
        ("visibility=private", false),
        ("min_disk=1", true),
        ("min_disk=40", false),
        ("disk_format=qcow2", true),
        ("disk_format=raw", false),
        ("__support_kvm=true", true),
        ("architecture=x86", true),
        ("architecture=arm", false),
        ("flavor_id=m1.tiny", true),
        ("member_status=accepted", true),
        ("sort_key=name&sort_dir=asc&limit=10", true),
    ] {
        let r = ims(&demo, Method::GET, &format!("/v2/cloudimages?{query}"), None).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(ids(&r).contains(&seeded.id), listed, "{query}: {}", r.body);
    }
    let r = ims(&demo, Method::GET, "/v2/cloudimages?__imagetype=bogus", None).await;
    assert_ims_error(&r, 400, "IMG.0024");
    let r = ims(&demo, Method::GET, "/v2/cloudimages?limit=0", None).await;
    assert_ims_error(&r, 400, "IMG.0001");
    let r = ims(&demo, Method::GET, "/v2/cloudimages?sort_key=bogus", None).await;
    assert_ims_error(&r, 400, "IMG.0001");
    let r = server.send(Method::GET, "/v2/cloudimages", &[], None).await;
    assert_ims_error(&r, 401, "APIGW.0301");

    // A private image of a server's system disk: a job naming the image.
    let body = json!({"server": {"name": "src", "flavorRef": "s3.small.1", "imageRef": seeded.id, "networks": "auto"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let server_id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&server_id, "ACTIVE").await;
    let body = json!({"name": "from-server", "instance_id": server_id, "description": "made by a test",
        "tags": ["env.test"], "min_ram": 512, "os_version": "CirrOS 0.6.2 64bit"});
    let r = ims(&demo, Method::POST, "/v2/cloudimages/action", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = job_done(&demo, r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let from_server = job["entities"]["image_id"].as_str().expect("the job names its image").to_string();
    // ShowJobProgress: the same job at IMS's own path.
    let r = ims(&demo, Method::GET, &format!("/v1/cloudimages/job/{}", job["job_id"].as_str().unwrap()), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["entities"]["image_id"], from_server.as_str());
    assert_eq!(r.body["status"], "SUCCESS");
    let r = ims(&admin, Method::GET, &format!("/v1/cloudimages/job/{}", "f".repeat(32)), None).await;
    assert_ims_error(&r, 404, "IMG.0001");
    let r = ims(&demo, Method::GET, &format!("/v2/cloudimages?__imagetype=private&id={from_server}"), None).await;
    assert_eq!(r.body["images"].as_array().unwrap().len(), 1, "{}", r.body);
    let image = &r.body["images"][0];
    assert_eq!(image["name"], "from-server");
    assert_eq!(image["status"], "active");
    assert_eq!(image["__imagetype"], "private");
    assert_eq!(image["visibility"], "private");
    assert_eq!(image["owner"], p.as_str());
    assert_eq!(image["__data_origin"], format!("instance,{server_id}"));
    assert_eq!(image["__description"], "made by a test");
    assert_eq!(image["__os_version"], "CirrOS 0.6.2 64bit");
    assert_eq!(image["min_ram"], 512);
    assert_eq!(image["tags"], json!(["env.test"]));
    // The same create under /v2.1 (IMS's "safe mode" path) is the same call.
    let body = json!({"name": "again", "instance_id": server_id});
    let r = ims(&demo, Method::POST, "/v2.1/cloudimages/action", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let again = job_done(&demo, r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(again["status"], "SUCCESS", "{again}");

    // A private image of a volume.
    let r = demo.post(&format!("/volume/v3/{p}/volumes"), Some("volume 3.44"), &json!({"volume": {"size": 2}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let volume = r.body["volume"]["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let r = demo.get(&format!("/volume/v3/{p}/volumes/{volume}"), Some("volume 3.44")).await;
        if r.body["volume"]["status"] == "available" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let body = json!({"name": "from-volume", "volume_id": volume, "image_tags": [{"key": "k", "value": "v"}]});
    let r = ims(&demo, Method::POST, "/v2/cloudimages/action", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let job = job_done(&demo, r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let from_volume = job["entities"]["image_id"].as_str().unwrap().to_string();
    let r = ims(&demo, Method::GET, &format!("/v2/cloudimages?id={from_volume}"), None).await;
    let image = &r.body["images"][0];
    assert_eq!(image["name"], "from-volume");
    assert_eq!(image["status"], "active");
    assert_eq!(image["min_disk"], 2);
    assert_eq!(image["__data_origin"], format!("volume,{volume}"));
    assert_eq!(image["tags"], json!(["k.v"]));

    // Create refusals.
    let missing = "00000000-0000-0000-0000-000000000000";
    for (body, status, code) in [
        (json!({"instance_id": server_id}), 400, "IMG.0013"),
        (json!({"name": "x".repeat(129), "instance_id": server_id}), 400, "IMG.0002"),
        (json!({"name": "x", "description": "d".repeat(1025), "instance_id": server_id}), 400, "IMG.0004"),
        (json!({"name": "x"}), 400, "IMG.0012"),
        (json!({"name": "x", "instance_id": missing}), 400, "IMG.0005"),
        (json!({"name": "x", "volume_id": missing}), 400, "IMG.0001"),
        (json!({"name": "x", "instance_id": server_id, "volume_id": volume}), 400, "IMG.0001"),
        (json!({"name": 5, "instance_id": server_id}), 400, "IMG.0001"),
    ] {
        let r = ims(&demo, Method::POST, "/v2/cloudimages/action", Some(&body)).await;
        assert_ims_error(&r, status, code);
    }
    let r = demo.server.send(Method::POST, "/v2/cloudimages/action", &[("x-auth-token", &demo.token)], None).await;
    assert_ims_error(&r, 400, "IMG.0007");
    // Another project's server is none of the caller's.
    let r = ims(&admin, Method::GET, "/v2/cloudimages?__imagetype=private", None).await;
    assert!(!ids(&r).contains(&from_server), "{}", r.body);

    // Update: IMS's changes (values as strings).
    let changes = json!([
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/__description", "value": "changed"},
        {"op": "replace", "path": "/min_ram", "value": "1024"},
        {"op": "add", "path": "/__os_version", "value": "CirrOS 0.6 64bit"},
    ]);
    let r = ims(&demo, Method::PATCH, &format!("/v2/cloudimages/{from_server}"), Some(&changes)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "renamed");
    assert_eq!(r.body["__description"], "changed");
    assert_eq!(r.body["min_ram"], 1024);
    assert_eq!(r.body["__os_version"], "CirrOS 0.6 64bit");
    assert_eq!(r.body["__imagetype"], "private");
    let changes = json!([{"op": "remove", "path": "/__description"}]);
    let r = ims(&demo, Method::PATCH, &format!("/v2/cloudimages/{from_server}"), Some(&changes)).await;
    assert_eq!(r.body["__description"], "", "{}", r.body);
    let rename = json!([{"op": "replace", "path": "/name", "value": "x"}]);
    let r = ims(&demo, Method::PATCH, &format!("/v2/cloudimages/{missing}"), Some(&rename)).await;
    assert_ims_error(&r, 404, "IMG.0046");
    let r = ims(&admin, Method::PATCH, &format!("/v2/cloudimages/{from_server}"), Some(&rename)).await;
    assert_eq!(r.status, 200, "admins may change any image: {}", r.body);
    let r = ims(&demo, Method::PATCH, &format!("/v2/cloudimages/{}", seeded.id), Some(&rename)).await;
    assert_ims_error(&r, 403, "Pdp.0001");
    let bad = json!([{"op": "move", "path": "/name", "value": "x"}]);
    let r = ims(&demo, Method::PATCH, &format!("/v2/cloudimages/{from_server}"), Some(&bad)).await;
    assert_ims_error(&r, 400, "IMG.0001");
    let bad = json!([{"op": "replace", "path": "/min_ram", "value": "lots"}]);
    let r = ims(&demo, Method::PATCH, &format!("/v2/cloudimages/{from_server}"), Some(&bad)).await;
    assert_ims_error(&r, 400, "IMG.0001");

    // Quota: the project's private images.
    let r = ims(&demo, Method::GET, "/v1/cloudimages/quota", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["quotas"]["resources"][0]["type"], "image");
    assert_eq!(r.body["quotas"]["resources"][0]["used"], 3);

    // Delete: the Glance-style path the IMS SDK calls.
    let r =
        ims(&demo, Method::DELETE, &format!("/v2/images/{from_volume}"), Some(&json!({"delete_backup": false}))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = ims(&demo, Method::GET, "/v2/cloudimages?__imagetype=private", None).await;
    assert!(!ids(&r).contains(&from_volume), "{}", r.body);
    assert!(ids(&r).contains(&from_server), "{}", r.body);

    // No such IMS API: IMS's body, never Nova's.
    let r = ims(&demo, Method::GET, "/v2/cloudimages/nothing/else", None).await;
    assert_ims_error(&r, 404, "APIGW.0101");
    let r = ims(&demo, Method::DELETE, "/v2/cloudimages", None).await;
    assert_ims_error(&r, 405, "APIGW.0101");
    // Under /v2.1 too, whatever Nova microversion a header asks for.
    let headers = [("x-auth-token", demo.token.as_str()), ("x-openstack-nova-api-version", "2.999")];
    let r = server.send(Method::POST, "/v2.1/cloudimages/action/x", &headers, Some(&json!({}))).await;
    assert_ims_error(&r, 404, "APIGW.0101");
}
both!(ims_images);
