//! ecsd's own admin APIs (`/admin/v1/…`): admin only, their own error
//! body, and a malformed document refused naming the field at fault.

use reqwest::Method;
use serde_json::json;

use crate::{TestServer, both};

async fn simulator_settings_are_admin_only_and_checked(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let path = "/admin/v1/simulator";

    let r = server.send(Method::GET, path, &[], None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Unauthorized");
    for method in [Method::GET, Method::PUT] {
        let r = server.send(method, path, &[("x-auth-token", &demo.token)], Some(&json!({}))).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.body["error"]["message"], "Policy doesn't allow ecsd:admin to be performed.");
    }

    let auth = [("x-auth-token", admin.token.as_str())];
    let settings = json!({"latency_ms": {"spawn": 5}, "faults": [{"op": "spawn", "times": 1}], "hosts_down": []});
    let r = server.send(Method::PUT, path, &auth, Some(&settings)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["latency_ms"]["spawn"], 5);
    assert_eq!(r.body["faults"][0]["times"], 1);
    // Nova's path shows the same settings.
    let r = admin.get("/v2.1/os-simulator", None).await;
    assert_eq!(r.body["simulator"]["faults"][0]["op"], "spawn");

    let bad = json!({"faults": [{"op": "spawn", "times": 1}, {"op": "explode", "times": 1}]});
    let r = server.send(Method::PUT, path, &auth, Some(&bad)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "InvalidDocument");
    assert_eq!(r.body["error"]["field"], "faults[1].op", "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("explode"), "{}", r.body);
    // Nothing changed.
    let r = server.send(Method::GET, path, &auth, None).await;
    assert_eq!(r.body["faults"].as_array().unwrap().len(), 1, "{}", r.body);
}
both!(simulator_settings_are_admin_only_and_checked);
