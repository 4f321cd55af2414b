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
    let send = |method: Method, path: String| async move { server.send(method, &path, &token, None).await };
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
        // A body refused before it is read may end its connection: a client of its own.
        let mut req =
            reqwest::Client::new().post(format!("{}{path}", server.base)).header("x-auth-token", &admin.token);
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

    // Query junk on an ECS route is ECS's too.
    let token = [("x-auth-token", admin.token.as_str())];
    let detach = format!("/v1/{p}/cloudservers/x/detachvolume/y?delete_flag=%FF");
    let r = server.send(Method::DELETE, &detach, &token, None).await;
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (400, Some("Ecs.0005")), "{}", r.body);
    let twice = format!("/v1/{p}/cloudservers/x/detachvolume/y?delete_flag=0&delete_flag=1");
    let r = server.send(Method::DELETE, &twice, &token, None).await;
    assert!(r.body["error"]["code"].is_string(), "{}", r.body);

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
    // A body refused before it is read ends its connection: a client of its own.
    let r = reqwest::Client::new()
        .post(format!("{}/v2.1/os-floating-ips", server.base))
        .header("x-auth-token", &admin.token)
        .body(vec![b' '; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<Value>().await.unwrap()["overLimit"]["code"], 413);
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

async fn neutron_bodies_and_attributes_are_checked_as_neutron_does(server: &TestServer) {
    let demo = server.demo().await;
    let token = demo.token.as_str();
    let raw = |content_type: &'static str, body: Vec<u8>| {
        // A body refused before it is read ends its connection: a client of its own.
        let req = reqwest::Client::new()
            .post(format!("{}/networking/v2.0/networks", server.base))
            .header("x-auth-token", token)
            .header("content-type", content_type)
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let kind = |b: &Value| b["NeutronError"]["type"].as_str().map(String::from);
    let (status, body) = raw("application/json", b"{\"network\":".to_vec()).await;
    assert_eq!((status, kind(&body).as_deref()), (400, Some("HTTPBadRequest")), "{body}");
    let (status, body) = raw("text/plain", b"{}".to_vec()).await;
    assert_eq!((status, kind(&body).as_deref()), (415, Some("HTTPUnsupportedMediaType")), "{body}");
    let (status, body) = raw("application/json", vec![b' '; 200_000]).await;
    assert_eq!((status, kind(&body).as_deref()), (413, Some("HTTPRequestEntityTooLarge")), "{body}");

    let create = |kind: &'static str, body: Value| {
        let path = format!("/networking/v2.0/{kind}");
        async move { server.send(Method::POST, &path, &[("x-auth-token", token)], Some(&body)).await }
    };
    let refused = |r: &Reply, kind: &str, message: &str| {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["NeutronError"]["type"], kind, "{}", r.body);
        assert_eq!(r.body["NeutronError"]["message"], message, "{}", r.body);
    };
    let long = "n".repeat(256);
    for (body, kind, message) in [
        (json!({"network": {"name": "n", "colour": "red"}}), "HTTPBadRequest", "Unrecognized attribute(s) 'colour'"),
        (json!({"network": {"id": "mine"}}), "HTTPBadRequest", "Attribute 'id' not allowed in POST"),
        (
            json!({"network": {"name": 123}}),
            "HTTPBadRequest",
            "Invalid input for name. Reason: '123' is not a valid string.",
        ),
        (
            json!({"network": {"name": long}}),
            "HTTPBadRequest",
            &format!("Invalid input for name. Reason: '{long}' exceeds maximum length of 255."),
        ),
        (
            json!({"network": {"admin_state_up": "NaN"}}),
            "InvalidInput",
            "Invalid input for operation: 'NaN' cannot be converted to boolean.",
        ),
        (
            json!({"network": {"shared": null}}),
            "InvalidInput",
            "Invalid input for operation: 'None' cannot be converted to boolean.",
        ),
    ] {
        refused(&create("networks", body).await, kind, message);
    }
    // What convert_to_boolean takes, it takes.
    let r =
        create("networks", json!({"network": {"name": "strings", "shared": "false", "admin_state_up": "True"}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["network"]["shared"], false);
    let network_id = r.body["network"]["id"].as_str().unwrap().to_string();

    let subnet = json!({"subnet": {"network_id": network_id, "cidr": "10.9.0.0/24", "ip_version": 4, "enable_dhcp": "yes",
        "description": "d".repeat(256)}});
    let r = create("subnets", subnet).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["NeutronError"]["message"].as_str().unwrap().starts_with("Invalid input for description."));
    let r = create("ports", json!({"port": {"network_id": network_id, "admin_state_up": [true]}})).await;
    assert_eq!((r.status.as_u16(), &r.body["NeutronError"]["type"]), (400, &json!("InvalidInput")), "{}", r.body);
    let r = create("ports", json!({"port": {"network_id": network_id, "device_owner": 5}})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Nothing refused was made.
    let r = server.send(Method::GET, "/networking/v2.0/ports", &[("x-auth-token", token)], None).await;
    assert!(r.body["ports"].as_array().unwrap().iter().all(|p| p["network_id"] != network_id.as_str()), "{}", r.body);
}
both!(neutron_bodies_and_attributes_are_checked_as_neutron_does);

async fn neutron_list_queries_are_checked(server: &TestServer) {
    let demo = server.demo().await;
    let token = [("x-auth-token", demo.token.as_str())];
    for name in ["q-b", "q-a", "q-c"] {
        let body = json!({"network": {"name": name}});
        let r = server.send(Method::POST, "/networking/v2.0/networks", &token, Some(&body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let list = |query: &'static str| async move {
        server.send(Method::GET, &format!("/networking/v2.0/networks?{query}"), &token, None).await
    };
    let names = |r: &Reply| -> Vec<String> {
        r.body["networks"].as_array().unwrap().iter().filter_map(|n| n["name"].as_str().map(String::from)).collect()
    };
    for (query, kind) in [
        ("limit=-1", "BadRequest"),
        ("limit=abc", "BadRequest"),
        ("limit=10%5E20", "BadRequest"),
        ("sort_key=name&sort_dir=sideways", "HTTPBadRequest"),
        ("sort_key=colour&sort_dir=asc", "HTTPBadRequest"),
        ("sort_key=name", "HTTPBadRequest"),
    ] {
        let r = list(query).await;
        assert_eq!((r.status.as_u16(), &r.body["NeutronError"]["type"]), (400, &json!(kind)), "{query}: {}", r.body);
    }
    let r = list("limit=-1").await;
    assert_eq!(
        r.body["NeutronError"]["message"],
        "Bad limit request: Limit must be an integer 0 or greater and not '-1'."
    );
    // A marker Neutron cannot find is the resource's 404, as its lookup answers.
    let r = list("marker=junk").await;
    assert_eq!((r.status.as_u16(), &r.body["NeutronError"]["type"]), (404, &json!("NetworkNotFound")), "{}", r.body);
    assert_eq!(list("limit=0").await.status, 200);
    assert_eq!(list("unknown_filter=x").await.status, 200);

    // Sorted pages, walked with the marker.
    let r = list("name=q-a&name=q-b&name=q-c&sort_key=name&sort_dir=asc&limit=2").await;
    assert_eq!(names(&r), ["q-a", "q-b"], "{}", r.body);
    let last = r.body["networks"][1]["id"].as_str().unwrap().to_string();
    let r = server
        .send(
            Method::GET,
            &format!("/networking/v2.0/networks?name=q-a&name=q-b&name=q-c&sort_key=name&sort_dir=asc&marker={last}"),
            &token,
            None,
        )
        .await;
    assert_eq!(names(&r), ["q-c"], "{}", r.body);
    let r = list("name=q-a&name=q-b&name=q-c&sort_key=name&sort_dir=desc&limit=100000000000000000000").await;
    assert_eq!(names(&r), ["q-c", "q-b", "q-a"], "{}", r.body);
    for path in ["/networking/v2.0/subnets?limit=x", "/networking/v2.0/ports?sort_key=id&sort_dir=up"] {
        let r = server.send(Method::GET, path, &token, None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body["NeutronError"]["type"].is_string(), "{path}: {}", r.body);
    }
}
both!(neutron_list_queries_are_checked);

async fn glance_list_queries_are_checked(server: &TestServer) {
    let demo = server.demo().await;
    let token = [("x-auth-token", demo.token.as_str())];
    let list = |query: String| async move {
        server.send(Method::GET, &format!("/image/v2/images?{query}"), &token, None).await
    };
    for (query, message) in [
        ("limit=-1", "limit param must be positive"),
        ("limit=abc", "limit param must be an integer"),
        ("limit=10%5E20", "limit param must be an integer"),
        ("marker=junk", "No image found with ID junk"),
        ("sort_dir=sideways", "Invalid sort direction: sideways"),
    ] {
        let r = list(query.into()).await;
        assert_eq!((r.status.as_u16(), &r.body["code"]), (400, &json!(400)), "{query}: {}", r.body);
        assert_eq!(r.body["message"], message, "{query}");
    }
    let r = list("sort_key=colour".into()).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let all = list("sort_key=name&sort_dir=asc".into()).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let images = all.body["images"].as_array().unwrap().clone();
    let names: Vec<&str> = images.iter().map(|i| i["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let r = list("sort_key=name&sort_dir=asc&limit=1".into()).await;
    assert_eq!(r.body["images"].as_array().unwrap().len(), 1.min(images.len()), "{}", r.body);
    if let Some(first) = images.first() {
        let r = list(format!("sort_key=name&sort_dir=asc&marker={}", first["id"].as_str().unwrap())).await;
        assert_eq!(r.body["images"].as_array().unwrap().len(), images.len() - 1, "{}", r.body);
    }
}
both!(glance_list_queries_are_checked);
