//! Unknown paths (issue 18): a 404 in the format of the service whose
//! prefix the path is under, never an empty body and never a version
//! document; version documents where the real services serve them; a
//! request id on every answer.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, TestServer, both};

#[derive(Clone, Copy, Debug)]
enum Format {
    Nova,
    Ecs,
    Neutron,
    Glance,
    Keystone,
    Cinder,
    Vpc,
    Ims,
    Admin,
    Plain,
}

fn assert_404(r: &Reply, format: Format, path: &str) {
    assert_eq!(r.status, 404, "{path}: {}", r.body);
    let id = r.header("x-request-id").unwrap_or_else(|| panic!("{path}: no X-Request-Id"));
    assert!(id.starts_with("req-"), "{path}");
    assert_eq!(r.header("x-openstack-request-id"), Some(id), "{path}");
    let b = &r.body;
    assert!(b.get("version").is_none() && b.get("versions").is_none(), "{path}: a version document");
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    match format {
        Format::Nova | Format::Cinder => {
            assert_eq!(b["itemNotFound"]["code"], 404, "{path}: {b}");
            assert!(text(&b["itemNotFound"]["message"]), "{path}: {b}");
            let compute = r.header("openstack-api-version").is_some_and(|v| v.starts_with("compute"));
            assert!(matches!(format, Format::Nova) || !compute, "{path}: Nova's headers on Cinder's answer");
        }
        Format::Ims => {
            assert_eq!(b["error"]["code"], "APIGW.0101", "{path}: {b}");
            assert!(text(&b["error"]["message"]), "{path}: {b}");
        }
        Format::Ecs => {
            assert!(text(&b["error"]["code"]), "{path}: {b}");
            assert!(text(&b["error"]["message"]), "{path}: {b}");
        }
        Format::Neutron => {
            assert!(text(&b["NeutronError"]["type"]), "{path}: {b}");
            assert!(b["NeutronError"]["message"].is_string(), "{path}: {b}");
        }
        Format::Glance => {
            assert_eq!(b["code"], 404, "{path}: {b}");
            assert!(text(&b["title"]) && text(&b["message"]), "{path}: {b}");
        }
        Format::Keystone => {
            assert_eq!(b["error"], json!({"code": 404, "title": "Not Found", "message": b["error"]["message"]}));
            assert!(text(&b["error"]["message"]), "{path}: {b}");
        }
        Format::Vpc => {
            assert_eq!(b["code"], "APIGW.0101", "{path}: {b}");
            assert!(text(&b["message"]), "{path}: {b}");
        }
        Format::Admin => {
            assert_eq!(b["error"]["code"], "NotFound", "{path}: {b}");
            assert!(text(&b["error"]["message"]), "{path}: {b}");
        }
        Format::Plain => {
            assert_eq!(b["error"]["code"], 404, "{path}: {b}");
            assert!(text(&b["error"]["message"]), "{path}: {b}");
        }
    }
}

async fn unknown_paths_answer_404_in_their_services_format(server: &TestServer) {
    let admin = server.admin().await;
    let p = admin.project_id.clone();
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "u", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = admin.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let vm = r.body["server"]["id"].as_str().unwrap().to_string();
    use Format::*;
    let cases = [
        ("/v2/anything".to_string(), Nova),
        ("/v2.1/anything".into(), Nova),
        ("/v2/anything/else".into(), Nova),
        (format!("/v2.1/{p}/nothing"), Nova),
        ("/v1.0/nothing".into(), Nova),
        (format!("/v1/{p}/nothing"), Ecs),
        (format!("/v1/{p}/cloudservers/x/nothing"), Ecs),
        (format!("/v1.1/{p}/nothing"), Ecs),
        (format!("/v1/{p}/vpcs/x/nothing"), Vpc),
        (format!("/v1/{p}/subnets/x/privateips/y"), Vpc),
        (format!("/v1/{p}/security-group-rules/x/y"), Vpc),
        (format!("/v3/{p}/vpc/nothing"), Vpc),
        ("/v1.1/anything".into(), Ecs),
        // Under a real server: ECS's APIs the router does not serve.
        (format!("/v1/{p}/cloudservers/{vm}/no-such-api"), Ecs),
        (format!("/v1.1/{p}/cloudservers/{vm}/no-such-api"), Ecs),
        (format!("/v2/{p}/cloudservers/{vm}/no-such-api"), Ecs),
        (format!("/v2.1/{p}/cloudservers/{vm}/no-such-api"), Ecs),
        ("/v2/cloudimages/x/nothing".into(), Ims),
        ("/v2.1/cloudimages/nothing".into(), Ims),
        ("/v1/cloudimages/nothing".into(), Ims),
        (format!("/v1/{p}/cloudimages/x/nothing"), Ims),
        (format!("/v2/{p}/images/x/tags/nothing/else"), Ims),
        ("/networking/anything".into(), Neutron),
        ("/networking/v2.0/anything".into(), Neutron),
        ("/networking/v2.0/networks/x/y/z".into(), Neutron),
        ("/image/anything".into(), Glance),
        ("/image/v2/anything".into(), Glance),
        ("/identity/anything".into(), Keystone),
        ("/identity/v3/anything".into(), Keystone),
        ("/v3/anything".into(), Keystone),
        ("/volume/anything".into(), Cinder),
        (format!("/volume/v3/{p}/anything/else/entirely"), Cinder),
        ("/admin/anything".into(), Admin),
        ("/admin/v1/nothing/else".into(), Admin),
        ("/anything".into(), Plain),
        ("/v2.0/anything".into(), Plain),
        ("/compute/v2.1".into(), Plain),
        // Beside the unauthenticated OpenAPI document.
        ("/openapi.json/x".into(), Plain),
        ("/openapi".into(), Plain),
        ("/favicon.ico".into(), Plain),
        // Beneath the operator endpoints (served without a token).
        ("/metrics/anything".into(), Plain),
        ("/healthz/anything".into(), Plain),
        ("/readyz/anything".into(), Plain),
        // Under the web console, a path with no file.
        ("/console/anything".into(), Plain),
        ("/console/js/nothing.js".into(), Plain),
    ];
    for (path, format) in &cases {
        // With and without a token; GET, and other methods where nothing is routed.
        assert_404(&server.send(Method::GET, path, &[], None).await, *format, path);
        let r = server.send(Method::GET, path, &[("x-auth-token", &admin.token)], None).await;
        assert_404(&r, *format, path);
        let r = server.send(Method::DELETE, path, &[("x-auth-token", &admin.token)], None).await;
        assert_404(&r, *format, path);
        let r = server.send(Method::PUT, path, &[("x-auth-token", &admin.token)], Some(&json!({}))).await;
        assert_404(&r, *format, path);
    }
}
both!(unknown_paths_answer_404_in_their_services_format);

async fn version_documents_stay_where_the_services_serve_them(server: &TestServer) {
    for (path, status, key) in [
        ("/", 200, "versions"),
        ("/v2.1", 200, "version"),
        ("/v2.1/", 200, "version"),
        ("/v2", 200, "version"),
        ("/v2/", 200, "version"),
        ("/identity", 300, "versions"),
        ("/identity/v3", 200, "version"),
        ("/identity/v3/", 200, "version"),
        ("/v3", 200, "version"),
        ("/image", 300, "versions"),
        ("/image/", 300, "versions"),
        ("/networking", 200, "versions"),
        ("/networking/", 200, "versions"),
    ] {
        let r = server.send(Method::GET, path, &[], None).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert!(r.body.get(key).is_some(), "{path}: {}", r.body);
        assert!(r.header("x-request-id").is_some(), "{path}: no X-Request-Id");
    }
}
both!(version_documents_stay_where_the_services_serve_them);

/// 405s (a route served under other methods) carry the request id and
/// the service's format too.
async fn method_refusals_carry_a_request_id(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    for (path, check) in [
        ("/v2.1/flavors", (|b: &Value| b["badMethod"]["code"] == 405) as fn(&Value) -> bool),
        ("/networking/v2.0/networks", |b: &Value| b["NeutronError"]["type"] == "HTTPMethodNotAllowed"),
        ("/identity/v3/users", |b: &Value| b["error"]["code"] == 405),
        ("/image/v2/images", |b: &Value| b["code"] == 405),
    ] {
        let r = server.send(Method::PATCH, path, &h, None).await;
        assert_eq!(r.status, 405, "{path}");
        assert!(check(&r.body), "{path}: {}", r.body);
        assert!(r.header("x-request-id").is_some_and(|id| id.starts_with("req-")), "{path}");
    }
}
both!(method_refusals_carry_a_request_id);
