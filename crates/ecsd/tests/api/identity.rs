use ecs_core::CoreConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, both};

async fn password_token_carries_scope_roles_and_catalog(server: &TestServer) {
    let r = server.password_auth("admin", "admin", Some("admin")).await;
    assert_eq!(r.status, 201);
    let secret = r.header("x-subject-token").unwrap();
    assert!(secret.len() >= 32);
    let token = &r.body["token"];
    assert_eq!(token["methods"], json!(["password"]));
    assert_eq!(token["user"]["name"], "admin");
    assert_eq!(token["user"]["domain"]["id"], "default");
    assert_eq!(token["project"]["id"], server.admin_project_id());
    assert_eq!(token["project"]["name"], "admin");
    assert!(token["roles"].as_array().unwrap().iter().any(|r| r["name"] == "admin"));
    // 24 hours of validity (seed 002 §4.2).
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let lifetime = parse(&token["expires_at"]) - parse(&token["issued_at"]);
    assert_eq!(lifetime.num_hours(), 24);

    let compute = token["catalog"].as_array().unwrap().iter().find(|s| s["type"] == "compute").unwrap();
    let interfaces: Vec<&str> =
        compute["endpoints"].as_array().unwrap().iter().map(|e| e["interface"].as_str().unwrap()).collect();
    assert_eq!(interfaces, ["public", "internal", "admin"]);
    assert_eq!(compute["endpoints"][0]["url"], json!(format!("{}/v2.1", server.base)));
    assert_eq!(compute["endpoints"][0]["region_id"], "RegionOne");

    // Scope by project id, through the /v3 alias.
    let by_id = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"id": "default"}, "password": "demo"}}},
        "scope": {"project": {"id": server.demo_project_id()}}}});
    let r = server.send(Method::POST, "/v3/auth/tokens", &[], Some(&by_id)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["token"]["project"]["name"], "demo");
    assert!(r.body["token"]["roles"].as_array().unwrap().iter().all(|r| r["name"] != "admin"));

    // No scope: the user's default project (as Keystone does).
    let r = server.password_auth("demo", "demo", None).await;
    assert_eq!(r.body["token"]["project"]["name"], "demo");
    // Explicitly unscoped: no project, no catalog.
    let unscoped = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"}, "password": "demo"}}}, "scope": "unscoped"}});
    let r = server.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&unscoped)).await;
    assert_eq!(r.status, 201);
    assert!(r.body["token"].get("project").is_none() && r.body["token"].get("catalog").is_none());

    // Re-scope with the token method.
    let rescope = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": r.header("x-subject-token").unwrap()}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}});
    let r = server.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&rescope)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["token"]["methods"], json!(["token"]));
}
both!(password_token_carries_scope_roles_and_catalog);

async fn bad_credentials_are_401_in_keystone_format(server: &TestServer) {
    for (user, password, project) in
        [("admin", "wrong", "admin"), ("nobody", "x", "admin"), ("demo", "demo", "admin"), ("admin", "admin", "nope")]
    {
        let r = server.password_auth(user, password, Some(project)).await;
        assert_eq!(r.status, 401, "{user}/{project}");
        assert_eq!(r.body["error"]["code"], 401);
        assert_eq!(r.body["error"]["title"], "Unauthorized");
        assert!(r.header("www-authenticate").unwrap().starts_with("Keystone"));
        assert!(r.header("x-subject-token").is_none());
    }
    let r = server.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&json!({"auth": {}}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["title"], "Bad Request");
    let r = server.send(Method::POST, "/identity/v3/auth/tokens", &[("content-type", "application/json")], None).await;
    assert_eq!(r.status, 400);
}
both!(bad_credentials_are_401_in_keystone_format);

async fn tokens_validate_and_revoke(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let check = |subject: &str| {
        let subject = subject.to_string();
        let token = admin.token.clone();
        async move {
            server
                .send(
                    Method::GET,
                    "/identity/v3/auth/tokens",
                    &[("x-auth-token", &token), ("x-subject-token", &subject)],
                    None,
                )
                .await
        }
    };
    let r = check(&demo.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token"]["user"]["name"], "demo");
    assert_eq!(r.header("x-subject-token"), Some(demo.token.as_str()));
    let head = server
        .send(Method::HEAD, "/v3/auth/tokens", &[("x-auth-token", &demo.token), ("x-subject-token", &demo.token)], None)
        .await;
    assert_eq!(head.status, 200);
    // A member may not inspect someone else's token.
    let r = server
        .send(Method::GET, "/v3/auth/tokens", &[("x-auth-token", &demo.token), ("x-subject-token", &admin.token)], None)
        .await;
    assert_eq!(r.status, 403);

    let r = server
        .send(
            Method::DELETE,
            "/identity/v3/auth/tokens",
            &[("x-auth-token", &demo.token), ("x-subject-token", &demo.token)],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(check(&demo.token).await.status, 404);
    let r = demo.get("/v2.1/flavors", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], 401);
    assert_eq!(check("not-a-token").await.status, 404);
}
both!(tokens_validate_and_revoke);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    let core = CoreConfig { token_ttl: chrono::Duration::milliseconds(700), ..CoreConfig::default() };
    let server = TestServer::start_with(ecs_test_utils::sqlite(), core).await;
    let admin = server.admin().await;
    assert_eq!(admin.get("/v2.1/flavors", None).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let r = admin.get("/v2.1/flavors", None).await;
    assert_eq!(r.status, 401, "cached validations must not outlive the token");
    server.stop().await;
}

async fn discovery_documents(server: &TestServer) {
    let r = server.send(Method::GET, "/identity", &[], None).await;
    assert_eq!(r.status, 300);
    assert_eq!(r.body["versions"]["values"][0]["id"], "v3.14");
    for (path, href) in [("/identity/v3", "/identity/v3/"), ("/v3", "/v3/")] {
        let r = server.send(Method::GET, path, &[], None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["version"]["status"], "stable");
        assert_eq!(r.body["version"]["links"][0]["href"], json!(format!("{}{href}", server.base)));
    }
}
both!(discovery_documents);

async fn admins_manage_projects_users_and_grants(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let r = server
        .send(
            Method::POST,
            "/identity/v3/projects",
            &h,
            Some(&json!({"project": {"name": "team", "description": "d"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let project_id = r.body["project"]["id"].as_str().unwrap().to_string();
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&json!({"project": {"name": "team"}}))).await;
    assert_eq!(r.status, 409);
    let r = server
        .send(
            Method::POST,
            "/identity/v3/users",
            &h,
            Some(&json!({"user": {"name": "carol", "password": "pw", "default_project_id": project_id}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let user_id = r.body["user"]["id"].as_str().unwrap().to_string();

    // No role yet: cannot get a token for the project.
    assert_eq!(server.password_auth("carol", "pw", Some("team")).await.status, 401);
    let roles = server.send(Method::GET, "/identity/v3/roles?name=member", &h, None).await;
    let member = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{project_id}/users/{user_id}/roles/{member}");
    assert_eq!(server.send(Method::PUT, &grant, &h, None).await.status, 204);
    assert_eq!(server.send(Method::HEAD, &grant, &h, None).await.status, 204);
    let carol = server.login("carol", "pw", "team").await;
    assert_eq!(carol.get("/v2.1/flavors", None).await.status, 200);

    let ra = server
        .send(Method::GET, &format!("/identity/v3/role_assignments?user.id={user_id}&include_names=1"), &h, None)
        .await;
    assert_eq!(ra.body["role_assignments"][0]["role"]["name"], "member");
    assert_eq!(ra.body["role_assignments"][0]["scope"]["project"]["name"], "team");
    let projects =
        server.send(Method::GET, "/identity/v3/auth/projects", &[("x-auth-token", &carol.token)], None).await;
    assert_eq!(projects.body["projects"][0]["name"], "team");

    // Revoking the grant ends the project token at once.
    assert_eq!(server.send(Method::DELETE, &grant, &h, None).await.status, 204);
    assert_eq!(carol.get("/v2.1/flavors", None).await.status, 401);

    // Members manage nothing.
    let demo = server.demo().await;
    let r = server
        .send(
            Method::POST,
            "/identity/v3/projects",
            &[("x-auth-token", &demo.token)],
            Some(&json!({"project": {"name": "x"}})),
        )
        .await;
    assert_eq!(r.status, 403);
    let listed = server.send(Method::GET, "/identity/v3/projects", &[("x-auth-token", &demo.token)], None).await;
    assert_eq!(listed.body["projects"].as_array().unwrap().len(), 1);
    assert_eq!(server.send(Method::DELETE, &format!("/identity/v3/users/{user_id}"), &h, None).await.status, 204);
    assert_eq!(server.send(Method::DELETE, &format!("/identity/v3/projects/{project_id}"), &h, None).await.status, 204);
    assert_eq!(server.send(Method::GET, &format!("/identity/v3/projects/{project_id}"), &h, None).await.status, 404);
}
both!(admins_manage_projects_users_and_grants);

/// A user created without a password (absent or null) has none: no
/// password, the empty one included, authenticates them, scoped or not.
/// A password of another type is refused, not replaced by the empty one.
async fn users_without_a_password_cannot_log_in_with_one(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let roles = server.send(Method::GET, "/identity/v3/roles?name=member", &h, None).await;
    let member = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    for (name, user) in
        [("nopw-absent", json!({"name": "nopw-absent"})), ("nopw-null", json!({"name": "nopw-null", "password": null}))]
    {
        let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&json!({"user": user}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let user_id = r.body["user"]["id"].as_str().unwrap();
        let grant = format!("/identity/v3/projects/{}/users/{user_id}/roles/{member}", server.demo_project_id());
        assert_eq!(server.send(Method::PUT, &grant, &h, None).await.status, 204);
        for password in ["", "null", "0"] {
            assert_eq!(server.password_auth(name, password, None).await.status, 401, "{name} with {password:?}");
            assert_eq!(server.password_auth(name, password, Some("demo")).await.status, 401, "{name} scoped");
        }
    }
    for (i, password) in [json!(0), json!(["x"]), json!({"a": 1}), json!(true)].into_iter().enumerate() {
        let body = json!({"user": {"name": format!("badpw-{i}"), "password": password}});
        let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&body)).await;
        assert_eq!(r.status, 400, "{password}: {}", r.body);
        assert_eq!(r.body["error"]["title"], "Bad Request");
        assert_eq!(server.password_auth(&format!("badpw-{i}"), "", None).await.status, 401);
    }
}
both!(users_without_a_password_cannot_log_in_with_one);
