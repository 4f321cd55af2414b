use reqwest::Method;
use serde_json::json;

use crate::{TestServer, both};

async fn bad_requests_get_nova_faults(server: &TestServer) {
    let admin = server.admin().await;
    let token = admin.token.as_str();
    let send_raw = |path: &'static str, content_type: &'static str, body: Vec<u8>| {
        let client = server.client.clone();
        let url = format!("{}{path}", server.base);
        let token = token.to_string();
        async move {
            let r = client
                .post(url)
                .header("x-auth-token", token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = send_raw("/v2.1/os-keypairs", "application/json", b"{\"keypair\":".to_vec()).await;
    assert_eq!((status, body["badRequest"]["message"].as_str()), (400, Some("Malformed request body")));
    let (status, body) = send_raw("/v2.1/os-keypairs", "text/plain", b"{}".to_vec()).await;
    assert_eq!(status, 415);
    assert_eq!(body["badMediaType"]["code"], 415);
    let (status, body) = send_raw("/v2.1/os-keypairs", "application/json", vec![b' '; 200_000]).await;
    assert_eq!(status, 413);
    assert_eq!(body["overLimit"]["code"], 413);

    admin.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": 5}})).await.assert_fault(400, "badRequest");
    admin.post("/v2.1/os-keypairs", None, &json!([1, 2])).await.assert_fault(400, "badRequest");
    admin.post("/v2.1/os-keypairs", None, &json!({"wrong": {}})).await.assert_fault(400, "badRequest");

    admin.get("/v2.1/os-keypairs/none-such", None).await.assert_fault(404, "itemNotFound");
    admin.get("/v2.1/servers/x/y/z", None).await.assert_fault(404, "itemNotFound");
    admin.nova(Method::PATCH, "/v2.1/flavors", None, None).await.assert_fault(405, "badMethod");
}
both!(bad_requests_get_nova_faults);

async fn missing_or_bad_tokens_are_401(server: &TestServer) {
    for headers in [vec![], vec![("x-auth-token", "garbage")], vec![("x-auth-token", "")]] {
        let r = server.send(Method::GET, "/v2.1/flavors", &headers, None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"]["message"], "The request you have made requires authentication.");
    }
}
both!(missing_or_bad_tokens_are_401);

async fn project_in_path_must_match_the_token(server: &TestServer) {
    let demo = server.demo().await;
    let own = format!("/v2.1/{}/flavors", demo.project_id);
    assert_eq!(demo.get(&own, None).await.status, 200);
    let other = format!("/v2.1/{}/flavors", server.admin_project_id());
    let message = demo.get(&other, None).await.assert_fault(400, "badRequest").to_string();
    assert!(message.starts_with("Malformed request URL"), "{message}");
    let legacy = format!("/v2/{}/os-keypairs", demo.project_id);
    assert_eq!(demo.get(&legacy, None).await.status, 200);
}
both!(project_in_path_must_match_the_token);
