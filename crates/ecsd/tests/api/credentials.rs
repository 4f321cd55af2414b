//! EC2-style credentials (`/v3/users/{id}/credentials/OS-EC2`) and
//! requests signed with them (SDK-HMAC-SHA256, as the Huawei SDKs sign).
//! Requests are signed with `ecs_core::signing::sign`, which the unit
//! tests of that module check against vectors from the real SDK signer.

use chrono::{DateTime, Utc};
use ecs_core::signing::{self, SignedRequest};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Reply;
use crate::{TestServer, both};

struct Key {
    access: String,
    secret: String,
}

async fn create_key(server: &TestServer, token: &str, user_id: &str, project_id: &str) -> Key {
    let r = server
        .send(
            Method::POST,
            &format!("/v3/users/{user_id}/credentials/OS-EC2"),
            &[("x-auth-token", token)],
            Some(&json!({"tenant_id": project_id})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let c = &r.body["credential"];
    Key { access: c["access"].as_str().unwrap().into(), secret: c["secret"].as_str().unwrap().into() }
}

/// The headers of a signed request (`Authorization` included), as the SDK
/// would send them: Content-Type, Host, X-Sdk-Date and `extra`.
fn signed_headers(
    server: &TestServer,
    key: &Key,
    method: &str,
    path_and_query: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    date: DateTime<Utc>,
) -> Vec<(String, String)> {
    let host = server.base.strip_prefix("http://").unwrap();
    let mut headers: Vec<(String, String)> = vec![
        ("Content-Type".into(), "application/json".into()),
        ("Host".into(), host.into()),
        ("X-Sdk-Date".into(), date.format(signing::DATE_FORMAT).to_string()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let req = SignedRequest { method, path, query, headers: &headers, body };
    let auth = signing::sign(&key.access, &key.secret, &req).unwrap();
    headers.push(("Authorization".into(), auth));
    headers
}

async fn send_raw(
    server: &TestServer,
    method: Method,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let mut req = server.client.request(method, format!("{}{path_and_query}", server.base));
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.body(body.to_vec()).send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body }
}

/// A request signed now with `key`, sent as signed.
async fn signed(
    server: &TestServer,
    key: &Key,
    method: Method,
    path_and_query: &str,
    extra: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let body = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    let headers = signed_headers(server, key, method.as_str(), path_and_query, extra, &body, Utc::now());
    send_raw(server, method, path_and_query, &headers, &body).await
}

fn assert_keystone_401(r: &Reply) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error"]["code"], 401, "{}", r.body);
}

async fn ec2_credentials_are_managed_like_keystone(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let demo_tok = [("x-auth-token", demo.token.as_str())];
    let admin_tok = [("x-auth-token", admin.token.as_str())];
    let collection = format!("/v3/users/{}/credentials/OS-EC2", demo.user_id);

    let r =
        server.send(Method::POST, &collection, &demo_tok, Some(&json!({"tenant_id": server.demo_project_id()}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let c = r.body["credential"].clone();
    let access = c["access"].as_str().unwrap().to_string();
    assert_eq!(access.len(), 20);
    assert!(access.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{access}");
    assert_eq!(c["secret"].as_str().unwrap().len(), 40);
    assert_eq!(c["user_id"], json!(demo.user_id));
    assert_eq!(c["tenant_id"], json!(server.demo_project_id()));
    assert_eq!(c["trust_id"], Value::Null);
    assert!(c["links"]["self"].as_str().unwrap().ends_with(&format!("{collection}/{access}")));

    // List and show, on both prefixes; the owner and an admin may.
    let r = server.send(Method::GET, &format!("/identity{collection}"), &demo_tok, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["credentials"], json!([c]));
    let item = format!("{collection}/{access}");
    for tok in [&demo_tok, &admin_tok] {
        let r = server.send(Method::GET, &item, tok, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["credential"], c);
    }

    // Someone else's credentials: 403; a project without a role: 403.
    let admin_collection = format!("/v3/users/{}/credentials/OS-EC2", admin.user_id);
    for (method, body) in [(Method::GET, None), (Method::POST, Some(json!({"tenant_id": server.admin_project_id()})))] {
        let r = server.send(method, &admin_collection, &demo_tok, body.as_ref()).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.body["error"]["code"], 403);
    }
    let r =
        server.send(Method::POST, &collection, &demo_tok, Some(&json!({"tenant_id": server.admin_project_id()}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // An admin may create one for the demo user on its project.
    let r =
        server.send(Method::POST, &collection, &admin_tok, Some(&json!({"tenant_id": server.demo_project_id()}))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Unknown project, user, credential, or a credential under another user: 404.
    let r = server.send(Method::POST, &collection, &demo_tok, Some(&json!({"tenant_id": "nope"}))).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = server.send(Method::GET, "/v3/users/nope/credentials/OS-EC2", &admin_tok, None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = server.send(Method::GET, &format!("{collection}/NOSUCHKEY"), &demo_tok, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["message"], "Could not find credential: NOSUCHKEY.");
    let r = server.send(Method::GET, &format!("{admin_collection}/{access}"), &admin_tok, None).await;
    assert_eq!(r.status, 404);
    // A body without tenant_id: 400; no token: 401.
    let r = server.send(Method::POST, &collection, &demo_tok, Some(&json!({}))).await;
    assert_eq!(r.status, 400);
    assert_keystone_401(&server.send(Method::GET, &collection, &[], None).await);

    // Delete: 204, then 404.
    let r = server.send(Method::DELETE, &item, &demo_tok, None).await;
    assert_eq!(r.status, 204);
    for method in [Method::GET, Method::DELETE] {
        assert_eq!(server.send(method, &item, &demo_tok, None).await.status, 404);
    }
    let r = server.send(Method::GET, &collection, &demo_tok, None).await;
    assert_eq!(r.body["credentials"].as_array().unwrap().len(), 1);
}
both!(ec2_credentials_are_managed_like_keystone);

async fn signed_requests_act_in_the_credentials_project(server: &TestServer) {
    let demo = server.demo().await;
    let key = create_key(server, &demo.token, &demo.user_id, server.demo_project_id()).await;
    let project = server.demo_project_id();

    let r = signed(server, &key, Method::GET, "/v2.1/flavors", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["flavors"].as_array().unwrap().iter().any(|f| f["name"] == "m1.tiny"));
    // With the project in the path and in X-Project-Id, a query and a microversion.
    let r = signed(
        server,
        &key,
        Method::GET,
        &format!("/v2.1/{project}/flavors/detail?minRam=0&limit=3&sort_key=name"),
        &[("X-Project-Id", project), ("OpenStack-API-Version", "compute 2.60")],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["flavors"].as_array().unwrap().len(), 3);
    let r = signed(server, &key, Method::GET, &format!("/v2.1/{project}/servers"), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["servers"], json!([]));
    // The key's project is the caller's: another project in the path is Nova's 400.
    let r = signed(server, &key, Method::GET, &format!("/v2.1/{}/servers", server.admin_project_id()), &[], None).await;
    r.assert_fault(400, "badRequest");

    // A signed POST: the body is checked and handed on.
    let body = json!({"server_group": {"name": "signed-group", "policies": ["anti-affinity"]}});
    let r = signed(server, &key, Method::POST, "/v2.1/os-server-groups", &[], Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["server_group"]["name"], "signed-group");
    let r = demo.get("/v2.1/os-server-groups", None).await;
    assert!(r.body["server_groups"].as_array().unwrap().iter().any(|g| g["name"] == "signed-group"), "{}", r.body);

    // Keystone paths accept signatures too.
    let r =
        signed(server, &key, Method::GET, &format!("/v3/users/{}/credentials/OS-EC2", demo.user_id), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["credentials"][0]["access"], json!(key.access));
}
both!(signed_requests_act_in_the_credentials_project);

async fn bad_signatures_are_401(server: &TestServer) {
    let demo = server.demo().await;
    let key = create_key(server, &demo.token, &demo.user_id, server.demo_project_id()).await;
    let path = "/v2.1/flavors";
    let ok = signed(server, &key, Method::GET, path, &[], None).await;
    assert_eq!(ok.status, 200);

    // A changed signature.
    let mut headers = signed_headers(server, &key, "GET", path, &[], b"", Utc::now());
    let auth = headers.last_mut().unwrap();
    let flipped = if auth.1.ends_with('0') { '1' } else { '0' };
    auth.1.pop();
    auth.1.push(flipped);
    assert_keystone_401(&send_raw(server, Method::GET, path, &headers, b"").await);

    // The wrong secret; an unknown access key.
    let wrong = Key { access: key.access.clone(), secret: "x".repeat(40) };
    assert_keystone_401(&signed(server, &wrong, Method::GET, path, &[], None).await);
    let unknown = Key { access: "AAAAAAAAAAAAAAAAAAAA".into(), secret: key.secret.clone() };
    assert_keystone_401(&signed(server, &unknown, Method::GET, path, &[], None).await);

    // A date more than 15 minutes off, either way.
    for skew in [-20, 20] {
        let date = Utc::now() + chrono::Duration::minutes(skew);
        let headers = signed_headers(server, &key, "GET", path, &[], b"", date);
        assert_keystone_401(&send_raw(server, Method::GET, path, &headers, b"").await);
    }

    // Another path, or another body, than the one signed.
    let headers = signed_headers(server, &key, "GET", path, &[], b"", Utc::now());
    assert_keystone_401(&send_raw(server, Method::GET, "/v2.1/flavors/detail", &headers, b"").await);
    let body = br#"{"server_group": {"name": "a", "policies": ["affinity"]}}"#;
    let headers = signed_headers(server, &key, "POST", "/v2.1/os-server-groups", &[], body, Utc::now());
    let other = br#"{"server_group": {"name": "b", "policies": ["affinity"]}}"#;
    assert_keystone_401(&send_raw(server, Method::POST, "/v2.1/os-server-groups", &headers, other).await);

    // X-Project-Id naming another project than the key's.
    let r = signed(server, &key, Method::GET, path, &[("X-Project-Id", server.admin_project_id())], None).await;
    assert_keystone_401(&r);

    // Another algorithm than SDK-HMAC-SHA256.
    let mut headers = signed_headers(server, &key, "GET", path, &[], b"", Utc::now());
    let auth = headers.last_mut().unwrap();
    auth.1 = auth.1.replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3");
    assert_keystone_401(&send_raw(server, Method::GET, path, &headers, b"").await);

    // A deleted credential.
    let r = server
        .send(
            Method::DELETE,
            &format!("/v3/users/{}/credentials/OS-EC2/{}", demo.user_id, key.access),
            &[("x-auth-token", demo.token.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_keystone_401(&signed(server, &key, Method::GET, path, &[], None).await);
}
both!(bad_signatures_are_401);
