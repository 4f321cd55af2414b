//! Every refusal answers in the format of the service called, with a
//! request id: no route (404), no such method (405 with `Allow`), a path
//! that is not UTF-8, ECS bodies that cannot be read (plain and AK/SK
//! signed), and ambiguous credentials.

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::Reply;
use crate::{TestServer, both};

/// The shape of each service's fault body, checked with the status.
#[derive(Clone, Copy, Debug)]
enum Format {
    Nova(&'static str),
    Ecs(&'static str),
    Keystone,
    Neutron(&'static str),
    Glance,
}

fn assert_format(r: &Reply, status: u16, format: Format, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
    assert!(r.header("x-openstack-request-id").is_some_and(|id| id.starts_with("req-")), "{what}: no request id");
    let b = &r.body;
    match format {
        Format::Nova(fault) => assert_eq!(b[fault]["code"], json!(status), "{what}: {b}"),
        Format::Ecs(code) => {
            assert_eq!(b["error"]["code"], code, "{what}: {b}");
            assert!(b["error"]["message"].is_string(), "{what}: {b}");
            assert_eq!(r.header("x-request-id"), r.header("x-openstack-request-id"), "{what}: Huawei's request id");
        }
        Format::Keystone => {
            assert_eq!(b["error"]["code"], json!(status), "{what}: {b}");
            assert!(b["error"]["title"].is_string(), "{what}: {b}");
        }
        Format::Neutron(kind) => {
            assert_eq!(b["NeutronError"]["type"], kind, "{what}: {b}");
            assert_eq!(b["NeutronError"]["detail"], "", "{what}: {b}");
            assert!(b["NeutronError"]["message"].is_string(), "{what}: {b}");
        }
        Format::Glance => assert_eq!(b["code"], json!(status), "{what}: {b}"),
    }
}

async fn refusals_outside_routes_answer_in_each_services_format(server: &TestServer) {
    let admin = server.admin().await;
    let token = [("x-auth-token", admin.token.as_str())];
    let p = admin.project_id.clone();
    let send = |method: Method, path: String| {
        async move { server.send(method, &path, &token, None).await }
    };
    use Format::*;
    // (unmatched path, path served under other methods, path that is not UTF-8, format of each)
    let cases = [
        (
            "/v2.1/servers/x/y/z".to_string(),
            "/v2.1/flavors".to_string(),
            "/v2.1/servers/%FF".to_string(),
            [Nova("itemNotFound"), Nova("badMethod")],
        ),
        (
            format!("/v1/{p}/nothing"),
            format!("/v1/{p}/cloudservers/detail"),
            format!("/v1/{p}/cloudservers/%FF"),
            [Ecs("APIGW.0101"), Ecs("APIGW.0101")],
        ),
        (
            format!("/v1.1/{p}/nothing"),
            format!("/v1.1/{p}/cloudservers/detail"),
            format!("/v1/{p}/jobs/%C3%28"),
            [Ecs("APIGW.0101"), Ecs("APIGW.0101")],
        ),
        ("/v3/nothing".into(), "/v3/projects".into(), "/v3/projects/%FF".into(), [Keystone, Keystone]),
        (
            "/identity/nothing".into(),
            "/identity/v3/users".into(),
            "/identity/v3/users/%FF".into(),
            [Keystone, Keystone],
        ),
        (
            "/networking/v2.0/nothing".into(),
            "/networking/v2.0/networks".into(),
            "/networking/v2.0/networks/%C3%28".into(),
            [Neutron("HTTPNotFound"), Neutron("HTTPMethodNotAllowed")],
        ),
        ("/image/v2/nothing".into(), "/image/v2/images".into(), "/image/v2/images/%FF".into(), [Glance, Glance]),
    ];
    for (unmatched, other_methods, undecodable, [not_found, bad_method]) in cases {
        assert_format(&send(Method::GET, unmatched.clone()).await, 404, not_found, &unmatched);
        let r = send(Method::PATCH, other_methods.clone()).await;
        assert_format(&r, 405, bad_method, &other_methods);
        let allow = r.header("allow").unwrap_or_default();
        assert!(allow.contains("GET"), "{other_methods}: Allow {allow:?}");
        assert_format(&send(Method::GET, undecodable.clone()).await, 404, not_found, &undecodable);
    }
    // ECS paths without a project segment, and ECS's `/v2.1/cloudservers/…`
    // called without one, are ECS's.
    for path in ["/v1/cloudservers", "/v1.1/cloudservers", "/v1/cloudservers/detail", "/v2.1/cloudservers/x/changeos"] {
        let r = server.send(Method::POST, path, &token, Some(&json!({}))).await;
        assert_format(&r, 404, Ecs("APIGW.0101"), path);
    }
}
both!(refusals_outside_routes_answer_in_each_services_format);

/// Sends a request head as written (the body is not sent: a declared
/// length over the limit is refused before it is read).
async fn send_head(server: &TestServer, head: &str) -> (u16, Value) {
    let addr = server.base.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the headers and the announced body are in.
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf)).await.unwrap().unwrap();
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).to_string();
        if let Some((headers, body)) = text.split_once("\r\n\r\n") {
            let length = headers
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok());
            if n == 0 || length.is_some_and(|l| body.len() >= l) {
                let status = headers.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, serde_json::from_str(body).unwrap_or(Value::String(body.into())));
            }
        }
        assert!(n > 0, "connection closed before an answer: {text}");
    }
}

async fn ecs_bodies_are_refused_in_ecs_format(server: &TestServer) {
    let admin = server.admin().await;
    let p = &admin.project_id;
    let path = format!("/v1/{p}/cloudservers/os-server-groups");
    let group = json!({"server_group": {"name": "g", "policies": ["anti-affinity"]}});
    let with = |extra: Vec<(&'static str, &'static str)>, body: Vec<u8>| {
        let mut req = server.client.post(format!("{}{path}", server.base)).header("x-auth-token", &admin.token);
        for (k, v) in extra {
            req = req.header(k, v);
        }
        async move {
            let r = req.body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let request_id = r.headers().get("x-request-id").is_some();
            (status, r.json::<Value>().await.unwrap(), request_id)
        }
    };
    let json_body = serde_json::to_vec(&group).unwrap();
    // The SDK's Content-Type (with a charset) and none at all are JSON.
    let (status, body, _) = with(vec![("content-type", "application/json;charset=UTF-8")], json_body.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = with(vec![], json_body.clone()).await;
    assert_eq!(status, 200, "{body}");
    for (extra, status) in [
        (vec![("content-type", "text/plain")], 415),
        (vec![("content-type", "application/x-www-form-urlencoded")], 415),
        (vec![("content-type", "application/json"), ("content-encoding", "gzip")], 415),
    ] {
        let (got, body, request_id) = with(extra.clone(), json_body.clone()).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some("Ecs.0005")), "{extra:?}: {body}");
        assert!(request_id, "{extra:?}");
    }
    let (status, body, _) = with(vec![("content-type", "application/json")], b"{\"server_group\":".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("Ecs.0005")), "{body}");

    // Over the 12 MB limit, declared: refused at once, plain or signed, in
    // ECS's format (not Keystone's, which checks the signature).
    let host = server.base.strip_prefix("http://").unwrap();
    let head = |auth: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: 13000000\r\nConnection: close\r\n\r\n"
        )
    };
    let (status, body) = send_head(server, &head(&format!("X-Auth-Token: {}\r\n", admin.token))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("APIGW.0201")), "{body}");
    let signed = "Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00\r\n";
    let (status, body) = send_head(server, &head(signed)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("APIGW.0201")), "{body}");
    // The same on a Nova path is Nova's.
    let nova = format!("POST /v2.1/os-keypairs HTTP/1.1\r\nHost: {host}\r\n{signed}Content-Length: 13000000\r\n\r\n");
    let (status, body) = send_head(server, &nova).await;
    assert_eq!((status, &body["overLimit"]["code"]), (413, &json!(413)), "{body}");
}
both!(ecs_bodies_are_refused_in_ecs_format);

async fn ambiguous_credentials_are_refused(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let valid_first = [("x-auth-token", admin.token.as_str()), ("x-auth-token", "garbage")];
    let r = server.send(Method::GET, "/v2.1/flavors", &valid_first, None).await;
    assert_format(&r, 401, Format::Keystone, "two tokens on Nova");
    let both_valid = [("x-auth-token", admin.token.as_str()), ("x-auth-token", demo.token.as_str())];
    let r = server.send(Method::GET, "/v2.1/flavors", &both_valid, None).await;
    assert_format(&r, 401, Format::Keystone, "two valid tokens on Nova");
    let ecs = format!("/v1/{}/cloudservers/detail", admin.project_id);
    let r = server.send(Method::GET, &ecs, &valid_first, None).await;
    assert_format(&r, 401, Format::Ecs("Common.0013"), "two tokens on ECS");
    let r = server.send(Method::GET, "/networking/v2.0/networks", &valid_first, None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // One token still works.
    assert_eq!(server.send(Method::GET, "/v2.1/flavors", &valid_first[..1], None).await.status, 200);

    // Two subject tokens name no token.
    let subjects = [
        ("x-auth-token", admin.token.as_str()),
        ("x-subject-token", admin.token.as_str()),
        ("x-subject-token", demo.token.as_str()),
    ];
    let r = server.send(Method::GET, "/v3/auth/tokens", &subjects, None).await;
    assert_format(&r, 404, Format::Keystone, "two subject tokens");
    assert_eq!(server.send(Method::GET, "/v3/auth/tokens", &subjects[..2], None).await.status, 200);

    // Two AK/SK signatures, however good the first.
    let auth = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00";
    let r = server.send(Method::GET, &ecs, &[("authorization", auth), ("authorization", auth)], None).await;
    assert_format(&r, 401, Format::Ecs("Common.0013"), "two signatures on ECS");
}
both!(ambiguous_credentials_are_refused);
