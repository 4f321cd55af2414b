use reqwest::Method;
use serde_json::json;

use crate::{TestServer, both};

async fn version_documents_are_unauthenticated_and_self_linked(server: &TestServer) {
    let root = server.send(Method::GET, "/", &[], None).await;
    assert_eq!(root.status, 200);
    let versions = root.body["versions"].as_array().unwrap();
    let v21 = versions.iter().find(|v| v["id"] == "v2.1").unwrap();
    assert_eq!(v21["status"], "CURRENT");
    assert_eq!(v21["version"], "2.100");
    assert_eq!(v21["min_version"], "2.1");
    assert_eq!(v21["links"][0]["href"], json!(format!("{}/v2.1/", server.base)));
    let v20 = versions.iter().find(|v| v["id"] == "v2.0").unwrap();
    assert_eq!(v20["version"], "");

    for path in ["/v2.1", "/v2.1/"] {
        let doc = server.send(Method::GET, path, &[], None).await;
        assert_eq!(doc.status, 200);
        assert_eq!(doc.body["version"]["id"], "v2.1");
        assert_eq!(doc.body["version"]["media-types"][0]["type"], "application/vnd.openstack.compute+json;version=2.1");
    }
    let v2 = server.send(Method::GET, "/v2", &[], None).await;
    assert_eq!(v2.body["version"]["id"], "v2.0");

    // Links follow the host the client used (clients follow them).
    let proxied = server
        .send(Method::GET, "/", &[("x-forwarded-proto", "https"), ("x-forwarded-host", "api.example")], None)
        .await;
    assert_eq!(proxied.body["versions"][1]["links"][0]["href"], "https://api.example/v2.1/");
}
both!(version_documents_are_unauthenticated_and_self_linked);

async fn microversions_are_negotiated_and_echoed(server: &TestServer) {
    let admin = server.admin().await;
    let r = admin.get("/v2.1/flavors", Some("2.61")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.61"));
    assert_eq!(r.header("x-openstack-nova-api-version"), Some("2.61"));
    assert!(r.header("vary").unwrap().contains("OpenStack-API-Version"));

    let latest = admin.get("/v2.1/flavors", Some("latest")).await;
    assert_eq!(latest.header("x-openstack-nova-api-version"), Some("2.100"));

    let legacy = server
        .send(
            Method::GET,
            "/v2.1/flavors",
            &[("x-auth-token", &admin.token), ("x-openstack-nova-api-version", "2.2")],
            None,
        )
        .await;
    assert_eq!(legacy.header("openstack-api-version"), Some("compute 2.2"));

    let none = admin.get("/v2.1/flavors", None).await;
    assert_eq!(none.header("x-openstack-nova-api-version"), Some("2.1"));

    // Nova names no fault for a 406: its body is a computeFault.
    admin.get("/v2.1/flavors", Some("2.101")).await.assert_fault(406, "computeFault");
    admin.get("/v2.1/flavors", Some("2.0")).await.assert_fault(406, "computeFault");
    let out_of_range = admin.get("/v2.1/servers", Some("3.0")).await;
    assert_eq!(
        out_of_range.body,
        json!({"computeFault": {"code": 406, "message": "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.100."}})
    );
    admin.get("/v2.1/flavors", Some("bogus")).await.assert_fault(400, "badRequest");

    // /v2 has no microversions: headers are neither read nor echoed.
    let v2 = admin.get("/v2/flavors/detail", Some("2.75")).await;
    assert_eq!(v2.status, 200);
    assert_eq!(v2.header("openstack-api-version"), None);
    assert_eq!(v2.body["flavors"][0]["swap"], "");
}
both!(microversions_are_negotiated_and_echoed);

async fn every_response_has_a_request_id(server: &TestServer) {
    for path in ["/", "/v2.1/flavors", "/v2.1/no-such-thing", "/identity/v3"] {
        let r = server.send(Method::GET, path, &[], None).await;
        let id = r.header("x-openstack-request-id").unwrap_or_else(|| panic!("no request id on {path}"));
        assert!(id.starts_with("req-"));
        assert_eq!(r.header("x-compute-request-id"), Some(id));
    }
}
both!(every_response_has_a_request_id);
