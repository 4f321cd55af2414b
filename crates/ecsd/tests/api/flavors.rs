use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, both};

fn ids(body: &Value) -> Vec<String> {
    body["flavors"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

async fn seeded_flavors_render_per_microversion(server: &TestServer) {
    let demo = server.demo().await;
    let brief = demo.get("/v2.1/flavors", None).await;
    assert_eq!(brief.status, 200);
    let all = ids(&brief.body);
    for id in ["m1.tiny", "s3.small.1", "s3.medium.2", "s3.large.2", "c1.large"] {
        assert!(all.contains(&id.to_string()), "{id} missing from {all:?}");
    }
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "default order is by flavor id");
    assert_eq!(keys(&brief.body["flavors"][0]), ["id", "links", "name"]);
    let links = &brief.body["flavors"][0]["links"];
    assert_eq!(links[0]["href"], json!(format!("{}/v2.1/flavors/{}", server.base, all[0])));
    assert_eq!(links[1]["href"], json!(format!("{}/flavors/{}", server.base, all[0])));

    let show = demo.get("/v2.1/flavors/s3.small.1", None).await;
    let f = &show.body["flavor"];
    assert_eq!((f["vcpus"].as_i64(), f["ram"].as_i64(), f["disk"].as_i64()), (Some(1), Some(1024), Some(40)));
    assert_eq!(f["swap"], "");
    assert_eq!(f["rxtx_factor"], 1.0);
    assert_eq!(
        keys(f),
        [
            "OS-FLV-DISABLED:disabled",
            "OS-FLV-EXT-DATA:ephemeral",
            "disk",
            "id",
            "links",
            "name",
            "os-flavor-access:is_public",
            "ram",
            "rxtx_factor",
            "swap",
            "vcpus"
        ]
    );
    let f55 = demo.get("/v2.1/flavors/s3.small.1", Some("2.55")).await.body["flavor"].clone();
    assert!(f55.get("description").is_some() && f55.get("extra_specs").is_none());
    let f61 = demo.get("/v2.1/flavors/s3.small.1", Some("2.61")).await.body["flavor"].clone();
    assert_eq!(f61["extra_specs"]["ecs:performancetype"], "normal");
    assert_eq!(f61["swap"], "");
    let f75 = demo.get("/v2.1/flavors/s3.small.1", Some("2.75")).await.body["flavor"].clone();
    assert_eq!(f75["swap"], 0);
    let brief55 = demo.get("/v2.1/flavors", Some("2.55")).await;
    assert!(brief55.body["flavors"][0].get("description").is_some());
    let detail = demo.get("/v2.1/flavors/detail?minRam=4096&sort_key=memory_mb&sort_dir=desc", Some("2.61")).await;
    let rams: Vec<i64> =
        detail.body["flavors"].as_array().unwrap().iter().map(|f| f["ram"].as_i64().unwrap()).collect();
    assert!(!rams.is_empty() && rams.iter().all(|r| *r >= 4096));
    assert!(rams.windows(2).all(|w| w[0] >= w[1]), "{rams:?}");

    let missing = demo.get("/v2.1/flavors/nope", None).await;
    assert_eq!(missing.assert_fault(404, "itemNotFound"), "Flavor nope could not be found.");
}
both!(seeded_flavors_render_per_microversion);

async fn flavor_paging_and_query_validation(server: &TestServer) {
    let demo = server.demo().await;
    let everything = ids(&demo.get("/v2.1/flavors", None).await.body);
    let mut seen = Vec::new();
    let mut next = Some("/v2.1/flavors/detail?limit=4".to_string());
    while let Some(path) = next.take() {
        let page = demo.get(&path, None).await;
        assert_eq!(page.status, 200, "{path}");
        seen.extend(ids(&page.body));
        if let Some(href) = page.body["flavors_links"][0]["href"].as_str() {
            assert!(href.contains("limit=4") && href.contains("marker="), "{href}");
            next = Some(href.strip_prefix(&server.base).unwrap().to_string());
        }
    }
    assert_eq!(seen, everything);

    demo.get("/v2.1/flavors?marker=nope", None).await.assert_fault(400, "badRequest");
    demo.get("/v2.1/flavors?limit=-1", None).await.assert_fault(400, "badRequest");
    demo.get("/v2.1/flavors?sort_key=bogus", None).await.assert_fault(400, "badRequest");
    demo.get("/v2.1/flavors?sort_dir=up", None).await.assert_fault(400, "badRequest");
    assert_eq!(
        demo.get("/v2.1/flavors?minRam=x", None).await.assert_fault(400, "badRequest"),
        "Invalid minRam filter [x]"
    );
    // Unknown parameters: ignored before 2.75, refused from 2.75.
    assert_eq!(demo.get("/v2.1/flavors?foo=1", Some("2.74")).await.status, 200);
    demo.get("/v2.1/flavors?foo=1", Some("2.75")).await.assert_fault(400, "badRequest");
}
both!(flavor_paging_and_query_validation);

async fn admins_manage_flavors_and_extra_specs(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let body = json!({"flavor": {"name": "custom", "id": "x1.custom", "ram": 768, "vcpus": "2", "disk": 5,
        "os-flavor-access:is_public": false, "rxtx_factor": 2.0}});
    demo.post("/v2.1/flavors", None, &body).await.assert_fault(403, "forbidden");
    let created = admin.post("/v2.1/flavors", Some("2.61"), &body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["flavor"]["vcpus"], 2);
    assert_eq!(created.body["flavor"]["extra_specs"], json!({}));
    admin.post("/v2.1/flavors", None, &body).await.assert_fault(409, "conflictingRequest");
    let same_name = json!({"flavor": {"name": "custom", "ram": 1, "vcpus": 1, "disk": 0}});
    assert_eq!(
        admin.post("/v2.1/flavors", None, &same_name).await.assert_fault(409, "conflictingRequest"),
        "Flavor with name custom already exists."
    );
    for bad in [
        json!({"flavor": {"name": "b", "ram": 0, "vcpus": 1, "disk": 0}}),
        json!({"flavor": {"name": "b", "ram": 1, "vcpus": 1}}),
        json!({"flavor": {"name": " b", "ram": 1, "vcpus": 1, "disk": 0}}),
        json!({"flavor": {"name": "b", "ram": 1, "vcpus": 1, "disk": 0, "id": "bad/id"}}),
        json!({"flavor": {"name": "b", "ram": 1, "vcpus": 1, "disk": 0, "extra": 1}}),
        json!({"flavor": {"name": "b", "ram": 1, "vcpus": 1, "disk": 0, "description": "d"}}),
    ] {
        admin.post("/v2.1/flavors", None, &bad).await.assert_fault(400, "badRequest");
    }
    // A generated id when none is given.
    let auto =
        admin.post("/v2.1/flavors", None, &json!({"flavor": {"name": "auto", "ram": 1, "vcpus": 1, "disk": 0}})).await;
    assert_eq!(auto.body["flavor"]["id"].as_str().unwrap().len(), 36);

    // Private: invisible to members, listed for admins with is_public=none/false.
    demo.get("/v2.1/flavors/x1.custom", None).await.assert_fault(404, "itemNotFound");
    assert!(!ids(&demo.get("/v2.1/flavors?is_public=none", None).await.body).contains(&"x1.custom".to_string()));
    assert!(!ids(&admin.get("/v2.1/flavors", None).await.body).contains(&"x1.custom".to_string()));
    assert_eq!(ids(&admin.get("/v2.1/flavors?is_public=false", None).await.body), ["x1.custom"]);
    assert!(ids(&admin.get("/v2.1/flavors?is_public=none", None).await.body).contains(&"x1.custom".to_string()));

    // Description (2.55).
    let desc = json!({"flavor": {"description": "for tests"}});
    admin
        .nova(Method::PUT, "/v2.1/flavors/x1.custom", Some("2.54"), Some(&desc))
        .await
        .assert_fault(404, "itemNotFound");
    let updated = admin.nova(Method::PUT, "/v2.1/flavors/x1.custom", Some("2.55"), Some(&desc)).await;
    assert_eq!(updated.body["flavor"]["description"], "for tests");

    // Extra specs.
    let specs = admin
        .post(
            "/v2.1/flavors/x1.custom/os-extra_specs",
            None,
            &json!({"extra_specs": {"hw:cpu_policy": "dedicated", "n": 3}}),
        )
        .await;
    assert_eq!(specs.body, json!({"extra_specs": {"hw:cpu_policy": "dedicated", "n": "3"}}));
    assert_eq!(admin.get("/v2.1/flavors/x1.custom/os-extra_specs/n", None).await.body, json!({"n": "3"}));
    let put = admin.nova(Method::PUT, "/v2.1/flavors/x1.custom/os-extra_specs/n", None, Some(&json!({"n": "4"}))).await;
    assert_eq!(put.body, json!({"n": "4"}));
    admin
        .nova(Method::PUT, "/v2.1/flavors/x1.custom/os-extra_specs/n", None, Some(&json!({"m": "4"})))
        .await
        .assert_fault(400, "badRequest");
    admin
        .post("/v2.1/flavors/x1.custom/os-extra_specs", None, &json!({"extra_specs": {"bad/key": "v"}}))
        .await
        .assert_fault(400, "badRequest");
    assert_eq!(admin.delete("/v2.1/flavors/x1.custom/os-extra_specs/n", None).await.status, 200);
    admin.get("/v2.1/flavors/x1.custom/os-extra_specs/n", None).await.assert_fault(404, "itemNotFound");
    assert_eq!(
        admin.get("/v2.1/flavors/x1.custom/os-extra_specs", None).await.body,
        json!({"extra_specs": {"hw:cpu_policy": "dedicated"}})
    );
    demo.post("/v2.1/flavors/s3.small.1/os-extra_specs", None, &json!({"extra_specs": {"a": "b"}}))
        .await
        .assert_fault(403, "forbidden");
    assert_eq!(
        demo.get("/v2.1/flavors/s3.small.1/os-extra_specs/ecs:generation", None).await.body,
        json!({"ecs:generation": "s3"})
    );

    demo.delete("/v2.1/flavors/s3.small.1", None).await.assert_fault(403, "forbidden");
    assert_eq!(admin.delete("/v2.1/flavors/x1.custom", None).await.status, 202);
    admin.get("/v2.1/flavors/x1.custom", None).await.assert_fault(404, "itemNotFound");
    admin.delete("/v2.1/flavors/x1.custom", None).await.assert_fault(404, "itemNotFound");
}
both!(admins_manage_flavors_and_extra_specs);
