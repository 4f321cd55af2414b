//! Hostile input (issue 14): wrong-typed and oversized bodies and junk
//! list queries are refused in the dialect's own format, never coerced,
//! defaulted or ignored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, both};

// --- Keystone bodies ----------------------------------------------------------

async fn keystone_user_and_project_bodies_are_validated(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let long = |n: usize| "x".repeat(n);
    let refused: Vec<(&str, Value, &str)> = vec![
        ("users", json!({"user": {"name": 123}}), "123 is not of type 'string'"),
        ("users", json!({"user": {"name": ""}}), "is too short"),
        ("users", json!({"user": {"name": "   "}}), "does not match"),
        ("users", json!({"user": {"name": long(100_000)}}), "is too long"),
        ("users", json!({"user": {"name": "u1", "domain_id": 0}}), "0 is not of type 'string'"),
        ("users", json!({"user": {"name": "u1", "domain_id": long(65)}}), "is too long"),
        ("users", json!({"user": {"name": "u1", "default_project_id": ["p"]}}), "is not of type 'string'"),
        ("users", json!({"user": {"name": "u1", "default_project_id": long(65)}}), "is too long"),
        ("users", json!({"user": {"name": "u1", "enabled": "NaN"}}), "is not of type 'boolean'"),
        ("users", json!({"user": {"name": "u1", "enabled": null}}), "None is not of type 'boolean'"),
        ("users", json!({"user": {"name": "u1", "email": 5}}), "5 is not of type 'string'"),
        ("users", json!({"user": {"name": "u1", "description": {}}}), "is not of type 'string'"),
        ("users", json!({"user": {"name": "u1"}, "junk": 1}), "Additional properties are not allowed"),
        ("users", json!({"user": "u1"}), "'u1' is not of type 'object'"),
        ("users", json!({}), "'user' is a required property"),
        ("projects", json!({"project": {"name": 1}}), "1 is not of type 'string'"),
        ("projects", json!({"project": {"name": long(65)}}), "is too long"),
        ("projects", json!({"project": {"name": long(100_000)}}), "is too long"),
        ("projects", json!({"project": {"name": "p1", "description": 0}}), "0 is not of type 'string'"),
        ("projects", json!({"project": {"name": "p1", "description": long(256)}}), "is too long"),
        ("projects", json!({"project": {"name": "p1", "enabled": 1}}), "1 is not of type 'boolean'"),
        ("projects", json!({"project": {"name": "p1", "is_domain": "false"}}), "is not of type 'boolean'"),
        ("projects", json!({"project": {"name": "p1", "parent_id": "../x"}}), "does not match"),
        ("projects", json!({"project": {"name": "p1", "domain_id": false}}), "is not of type 'string'"),
        ("projects", json!({"project": {"name": "p1", "tags": ["a/b"]}}), "does not match"),
        ("projects", json!({"project": {"name": "p1", "tags": "a"}}), "is not of type 'array'"),
    ];
    for (collection, body, message) in refused {
        let r = server.send(Method::POST, &format!("/identity/v3/{collection}"), &h, Some(&body)).await;
        assert_eq!(r.status, 400, "{collection} {body:.200}: {:.300}", r.body);
        assert_eq!(r.body["error"]["title"], "Bad Request");
        let text = r.body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{collection} {body:.200}: {text:.300}");
    }
    // `domain_id: 0` was once taken for the default domain: nothing was stored.
    let users = server.send(Method::GET, "/identity/v3/users?name=u1", &h, None).await;
    assert_eq!(users.body["users"], json!([]));
    let projects = server.send(Method::GET, "/identity/v3/projects?name=p1", &h, None).await;
    assert_eq!(projects.body["projects"], json!([]));

    // An unknown domain is Keystone's 404; the default one and the limits themselves are fine.
    let body = json!({"user": {"name": "u1", "domain_id": "elsewhere"}});
    let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&body)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["message"], "Could not find domain: elsewhere.");
    let body =
        json!({"user": {"name": long(255), "domain_id": "default", "enabled": false, "email": "a@b", "colour": [1]}});
    let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["enabled"], false);
    let body =
        json!({"project": {"name": long(64), "description": null, "domain_id": "default", "parent_id": "default"}});
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let body = json!({"project": {"name": "nested", "parent_id": server.demo_project_id()}});
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let credentials = format!("/identity/v3/users/{}/credentials/OS-EC2", admin.user_id);
    let r = server.send(Method::POST, &credentials, &h, Some(&json!({"tenant_id": 0}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["error"]["message"],
        "Invalid input for field/attribute tenant_id. Value: 0. 0 is not of type 'string'"
    );
}
both!(keystone_user_and_project_bodies_are_validated);

async fn keystone_auth_bodies_are_validated(server: &TestServer) {
    let user = |u: Value| json!({"auth": {"identity": {"methods": ["password"], "password": {"user": u}}}});
    let good_user = json!({"name": "demo", "domain": {"id": "default"}, "password": "demo"});
    let with_scope = |scope: Value| {
        let mut body = user(good_user.clone());
        body["auth"]["scope"] = scope;
        body
    };
    let refused: Vec<(Value, &str)> = vec![
        (json!({}), "Expecting to find auth in request body."),
        (json!({"auth": null}), "Expecting to find auth in request body."),
        (json!({"auth": 5}), "5 is not of type 'object'"),
        (json!({"auth": {}}), "'identity' is a required property"),
        (
            json!({"auth": {"identity": {"methods": "password"}}}),
            "Invalid input for field 'identity/methods': 'password' is not of type 'array'",
        ),
        (json!({"auth": {"identity": {"methods": [["password"]]}}}), "Invalid input for field 'identity/methods/0'"),
        (json!({"auth": {"identity": {"methods": ["password"]}}}), "Expecting to find password in identity."),
        (
            user(json!({"name": 1, "domain": {"id": "default"}, "password": "demo"})),
            "Invalid input for field 'identity/password/user/name': 1 is not of type 'string'",
        ),
        (
            user(json!({"name": "demo", "domain": {"id": "default"}, "password": 0})),
            "Invalid input for field 'identity/password/user/password': 0 is not of type 'string'",
        ),
        (
            user(json!({"name": "demo", "domain": "default", "password": "demo"})),
            "Invalid input for field 'identity/password/user/domain'",
        ),
        (user(json!({"name": "demo", "domain": {}, "password": "demo"})), "id or name must be present."),
        (
            user(json!({"password": "demo"})),
            "Invalid input for field 'identity/password/user': id or name must be present.",
        ),
        (user(json!({"name": "demo", "password": "demo"})), "Expecting to find domain in user."),
        (user(json!("demo")), "'demo' is not of type 'object'"),
        (
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": 1}}}}),
            "Invalid input for field 'identity/token/id'",
        ),
        (json!({"auth": {"identity": {"methods": ["token"], "token": {}}}}), "'id' is a required property"),
        (with_scope(json!(null)), "None is not of type 'object', 'string'"),
        (with_scope(json!(7)), "7 is not of type 'object', 'string'"),
        (
            with_scope(json!("sideways")),
            "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope.",
        ),
        (with_scope(json!({})), "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope."),
        (
            with_scope(json!({"project": "demo"})),
            "Invalid input for field 'scope/project': 'demo' is not of type 'object'",
        ),
        (with_scope(json!({"project": {"name": ["demo"]}})), "Invalid input for field 'scope/project/name'"),
        (with_scope(json!({"project": {"name": "demo"}})), "Expecting to find domain in project."),
        (with_scope(json!({"project": {}})), "id or name must be present."),
    ];
    for (body, message) in refused {
        let r = server.send(Method::POST, "/v3/auth/tokens", &[], Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["title"], "Bad Request", "{body}");
        let text = r.body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text}");
        assert!(r.header("x-subject-token").is_none());
    }
    // No password, an unknown method: failed logins, never an empty password's success.
    let r = server
        .send(Method::POST, "/v3/auth/tokens", &[], Some(&user(json!({"name": "demo", "domain": {"id": "default"}}))))
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let body = json!({"auth": {"identity": {"methods": ["totp"], "totp": {}}}});
    assert_eq!(server.send(Method::POST, "/v3/auth/tokens", &[], Some(&body)).await.status, 401);
    // The old keystoneauth's unscoped form still works.
    let r = server.send(Method::POST, "/v3/auth/tokens", &[], Some(&with_scope(json!({"unscoped": {}})))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["token"].get("project").is_none());
}
both!(keystone_auth_bodies_are_validated);
