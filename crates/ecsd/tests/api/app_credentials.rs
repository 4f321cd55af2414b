//! Keystone application credentials (issue 18): create, list, show,
//! delete, and authentication with them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, both};

fn app_auth(credential: Value) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": credential}}})
}

async fn auth(server: &TestServer, credential: Value) -> crate::Reply {
    server.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&app_auth(credential))).await
}

async fn application_credentials_authenticate_with_their_roles(server: &TestServer) {
    let demo = server.demo().await;
    let h = [("x-auth-token", demo.token.as_str())];
    let base = format!("/identity/v3/users/{}/application_credentials", demo.user_id);

    // Generated secret, shown once; roles default to the token's (an empty list too).
    let body = json!({"application_credential": {"name": "empty-roles", "roles": []}});
    let r = server.send(Method::POST, &base, &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["application_credential"]["roles"].as_array().unwrap().iter().any(|r| r["name"] == "member"));
    let r = server.send(Method::POST, &base, &h, Some(&json!({"application_credential": {"name": "ci"}}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = &r.body["application_credential"];
    let id = made["id"].as_str().unwrap().to_string();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 64);
    assert_eq!(made["project_id"], server.demo_project_id());
    assert_eq!(made["user_id"], json!(demo.user_id));
    assert_eq!(made["unrestricted"], false);
    assert_eq!(made["expires_at"], Value::Null);
    assert!(made["roles"].as_array().unwrap().iter().any(|r| r["name"] == "member"));

    // Shown and listed without the secret; found by name.
    let r = server.send(Method::GET, &format!("{base}/{id}"), &h, None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["application_credential"].get("secret").is_none());
    let r = server.send(Method::GET, &format!("{base}?name=ci"), &h, None).await;
    assert_eq!(r.body["application_credentials"].as_array().unwrap().len(), 1);
    let r = server.send(Method::GET, &format!("{base}?name=other"), &h, None).await;
    assert_eq!(r.body["application_credentials"], json!([]));
    // The name is the user's own.
    let r = server.send(Method::POST, &base, &h, Some(&json!({"application_credential": {"name": "ci"}}))).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["title"], "Conflict");

    // Authenticate by id, and by name and user: scoped to the project.
    let r = auth(server, json!({"id": id, "secret": secret})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.header("x-subject-token").unwrap().to_string();
    assert_eq!(r.body["token"]["methods"], json!(["application_credential"]));
    assert_eq!(r.body["token"]["project"]["id"], server.demo_project_id());
    assert_eq!(r.body["token"]["application_credential"]["id"], json!(id));
    assert_eq!(r.body["token"]["application_credential"]["restricted"], true);
    assert!(r.body["token"]["catalog"].as_array().is_some_and(|c| !c.is_empty()));
    let by_name = json!({"name": "ci", "secret": secret, "user": {"name": "demo", "domain": {"name": "Default"}}});
    assert_eq!(auth(server, by_name).await.status, 201);
    let by_user_id = json!({"name": "ci", "secret": secret, "user": {"id": demo.user_id}});
    assert_eq!(auth(server, by_user_id).await.status, 201);
    let r = server.send(Method::GET, "/v2.1/flavors", &[("x-auth-token", &token)], None).await;
    assert_eq!(r.status, 200);

    // Wrong secret, unknown id, no user with a name, a scope: refused.
    let r = auth(server, json!({"id": id, "secret": "wrong"})).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["title"], "Unauthorized");
    assert_eq!(auth(server, json!({"id": "nope", "secret": secret})).await.status, 401);
    let r = auth(server, json!({"name": "ci", "secret": secret})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], 400);
    let mut scoped = app_auth(json!({"id": id, "secret": secret}));
    scoped["auth"]["scope"] = json!({"project": {"id": server.demo_project_id()}});
    assert_eq!(server.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&scoped)).await.status, 401);

    // A restricted credential may not make another, nor re-scope its token.
    let th = [("x-auth-token", token.as_str())];
    let r = server.send(Method::POST, &base, &th, Some(&json!({"application_credential": {"name": "ci2"}}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["title"], "Forbidden");
    let rescope = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}});
    assert_eq!(server.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&rescope)).await.status, 403);

    // An unrestricted one may.
    let body = json!({"application_credential": {"name": "free", "unrestricted": true, "secret": "s3cret"}});
    let r = server.send(Method::POST, &base, &h, Some(&body)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["application_credential"]["secret"], "s3cret");
    let free = auth(server, json!({"id": r.body["application_credential"]["id"], "secret": "s3cret"})).await;
    let free_token = free.header("x-subject-token").unwrap().to_string();
    let r = server
        .send(
            Method::POST,
            &base,
            &[("x-auth-token", &free_token)],
            Some(&json!({"application_credential": {"name": "child"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Another user's credentials are not a member's to see.
    let admin = server.admin().await;
    let r = server
        .send(Method::GET, &format!("/identity/v3/users/{}/application_credentials", admin.user_id), &h, None)
        .await;
    assert_eq!(r.status, 403);
    // Nor to make for someone else, even by an admin.
    let r = server
        .send(
            Method::POST,
            &base,
            &[("x-auth-token", &admin.token)],
            Some(&json!({"application_credential": {"name": "for-demo"}})),
        )
        .await;
    assert_eq!(r.status, 403);

    // Deleting it ends its tokens.
    assert_eq!(server.send(Method::DELETE, &format!("{base}/{id}"), &h, None).await.status, 204);
    let r = server.send(Method::GET, "/v2.1/flavors", &[("x-auth-token", &token)], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(auth(server, json!({"id": id, "secret": secret})).await.status, 401);
    let r = server.send(Method::GET, &format!("{base}/{id}"), &h, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["title"], "Not Found");
    assert_eq!(server.send(Method::DELETE, &format!("{base}/{id}"), &h, None).await.status, 404);
}
both!(application_credentials_authenticate_with_their_roles);

async fn application_credential_roles_expiry_and_owners(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let base = format!("/identity/v3/users/{}/application_credentials", admin.user_id);

    // Only some of the roles: a reader credential of the admin reads, changes nothing.
    let body = json!({"application_credential": {"name": "ro", "roles": [{"name": "reader"}], "description": "d"}});
    let r = server.send(Method::POST, &base, &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = &r.body["application_credential"];
    assert_eq!(made["description"], "d");
    assert_eq!(made["roles"].as_array().unwrap().len(), 1);
    let r = auth(server, json!({"id": made["id"], "secret": made["secret"]})).await;
    assert_eq!(r.status, 201);
    let roles: Vec<&str> =
        r.body["token"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(roles, ["reader"]);
    let token = r.header("x-subject-token").unwrap().to_string();
    let th = [("x-auth-token", token.as_str())];
    assert_eq!(server.send(Method::GET, "/v2.1/servers", &th, None).await.status, 200);
    let kp = json!({"keypair": {"name": "k"}});
    assert_eq!(server.send(Method::POST, "/v2.1/os-keypairs", &th, Some(&kp)).await.status, 403);

    // No such role: 404; a role the token does not carry: 400, as Keystone.
    let r = server
        .send(
            Method::POST,
            &base,
            &h,
            Some(&json!({"application_credential": {"name": "x", "roles": [{"name": "nope"}]}})),
        )
        .await;
    assert_eq!(r.status, 404);
    let demo = server.demo().await;
    let r = server
        .send(
            Method::POST,
            &format!("/identity/v3/users/{}/application_credentials", demo.user_id),
            &[("x-auth-token", &demo.token)],
            Some(&json!({"application_credential": {"name": "x", "roles": [{"name": "admin"}]}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["error"]["message"],
        "Invalid application credential: Cannot create an application credential with unassigned role"
    );
    // A role asked brings the roles it implies.
    let r = server
        .send(
            Method::POST,
            &format!("/identity/v3/users/{}/application_credentials", demo.user_id),
            &[("x-auth-token", &demo.token)],
            Some(&json!({"application_credential": {"name": "m", "roles": [{"name": "member"}]}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut names: Vec<&str> = r.body["application_credential"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["member", "reader"]);

    // Bad bodies: Keystone's 400.
    for bad in [
        json!({}),
        json!({"application_credential": {}}),
        json!({"application_credential": {"name": 1}}),
        json!({"application_credential": {"name": "b", "expires_at": "tomorrow"}}),
        json!({"application_credential": {"name": "b", "unrestricted": "yes"}}),
        json!({"application_credential": {"name": "b", "roles": "admin"}}),
        json!({"application_credential": {"name": "b", "expires_at": "2001-01-01T00:00:00"}}),
        json!({"application_credential": {"name": "b", "access_rules": [{"service": "compute", "method": "FETCH", "path": "/"}]}}),
    ] {
        let r = server.send(Method::POST, &base, &h, Some(&bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"]["title"], "Bad Request", "{bad}");
    }

    // Expiry: the token ends with the credential; an expired one is 401.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let body = json!({"application_credential": {"name": "brief", "expires_at": soon, "secret": "s"}});
    let r = server.send(Method::POST, &base, &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let brief = r.body["application_credential"]["id"].clone();
    assert!(r.body["application_credential"]["expires_at"].as_str().is_some());
    let r = auth(server, json!({"id": brief, "secret": "s"})).await;
    assert_eq!(r.status, 201);
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!((parse(&r.body["token"]["expires_at"]) - chrono::Utc::now().fixed_offset()).num_seconds() < 3);
    let brief_token = r.header("x-subject-token").unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    assert_eq!(auth(server, json!({"id": brief, "secret": "s"})).await.status, 401);
    let r = server.send(Method::GET, "/v2.1/flavors", &[("x-auth-token", &brief_token)], None).await;
    assert_eq!(r.status, 401);

    // Access rules: only the calls they name.
    let body = json!({"application_credential": {"name": "narrow", "secret": "s", "access_rules": [
        {"service": "compute", "method": "GET", "path": "/v2.1/flavors/**"}]}});
    let r = server.send(Method::POST, &base, &h, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["application_credential"]["access_rules"][0]["service"], "compute");
    let r = auth(server, json!({"id": r.body["application_credential"]["id"], "secret": "s"})).await;
    let narrow = r.header("x-subject-token").unwrap().to_string();
    let nh = [("x-auth-token", narrow.as_str())];
    assert_eq!(server.send(Method::GET, "/v2.1/flavors/detail", &nh, None).await.status, 200);
    assert_eq!(server.send(Method::GET, "/v2.1/servers", &nh, None).await.status, 401);
    assert_eq!(server.send(Method::GET, "/networking/v2.0/networks", &nh, None).await.status, 401);

    // Removing a role assignment of the user on the project deletes their
    // credentials there (Keystone's callback), and so does deleting the user.
    let user = json!({"user": {"name": "robot", "password": "pw", "default_project_id": server.demo_project_id()}});
    let r = server.send(Method::POST, "/identity/v3/users", &h, Some(&user)).await;
    let robot = r.body["user"]["id"].as_str().unwrap().to_string();
    let roles = server.send(Method::GET, "/identity/v3/roles?name=member", &h, None).await;
    let member = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{}/users/{robot}/roles/{member}", server.demo_project_id());
    assert_eq!(server.send(Method::PUT, &grant, &h, None).await.status, 204);
    let robot_session = server.login("robot", "pw", "demo").await;
    let r = server
        .send(
            Method::POST,
            &format!("/identity/v3/users/{robot}/application_credentials"),
            &[("x-auth-token", &robot_session.token)],
            Some(&json!({"application_credential": {"name": "bot", "secret": "s"}})),
        )
        .await;
    assert_eq!(r.status, 201);
    let bot = r.body["application_credential"]["id"].clone();
    let r = auth(server, json!({"id": bot, "secret": "s"})).await;
    let bot_token = r.header("x-subject-token").unwrap().to_string();
    // The admin lists them.
    let listed = format!("/identity/v3/users/{robot}/application_credentials");
    let r = server.send(Method::GET, &listed, &h, None).await;
    assert_eq!(r.body["application_credentials"].as_array().unwrap().len(), 1);
    let reader = server.send(Method::GET, "/identity/v3/roles?name=reader", &h, None).await;
    let reader = reader.body["roles"][0]["id"].as_str().unwrap().to_string();
    let second = format!("/identity/v3/projects/{}/users/{robot}/roles/{reader}", server.demo_project_id());
    assert_eq!(server.send(Method::PUT, &second, &h, None).await.status, 204);
    assert_eq!(server.send(Method::DELETE, &second, &h, None).await.status, 204);
    assert_eq!(auth(server, json!({"id": bot, "secret": "s"})).await.status, 401);
    let r = server.send(Method::GET, "/v2.1/flavors", &[("x-auth-token", &bot_token)], None).await;
    assert_eq!(r.status, 401);
    let r = server.send(Method::GET, &listed, &h, None).await;
    assert_eq!(r.body["application_credentials"], json!([]));
    // A new one, then the user goes.
    let robot_session = server.login("robot", "pw", "demo").await;
    let r = server
        .send(
            Method::POST,
            &listed,
            &[("x-auth-token", &robot_session.token)],
            Some(&json!({"application_credential": {"name": "bot", "secret": "s"}})),
        )
        .await;
    assert_eq!(r.status, 201);
    let bot = r.body["application_credential"]["id"].clone();
    let r = auth(server, json!({"id": bot, "secret": "s"})).await;
    let bot_token = r.header("x-subject-token").unwrap().to_string();
    assert_eq!(server.send(Method::DELETE, &format!("/identity/v3/users/{robot}"), &h, None).await.status, 204);
    assert_eq!(auth(server, json!({"id": bot, "secret": "s"})).await.status, 401);
    let r = server.send(Method::GET, "/v2.1/flavors", &[("x-auth-token", &bot_token)], None).await;
    assert_eq!(r.status, 401);
}
both!(application_credential_roles_expiry_and_owners);

async fn deleting_the_project_ends_its_application_credentials(server: &TestServer) {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&json!({"project": {"name": "gone"}}))).await;
    let project = r.body["project"]["id"].as_str().unwrap().to_string();
    let roles = server.send(Method::GET, "/identity/v3/roles?name=admin", &h, None).await;
    let role = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{project}/users/{}/roles/{role}", admin.user_id);
    assert_eq!(server.send(Method::PUT, &grant, &h, None).await.status, 204);
    let there = server.login("admin", "admin", "gone").await;
    let base = format!("/identity/v3/users/{}/application_credentials", admin.user_id);
    let r = server
        .send(
            Method::POST,
            &base,
            &[("x-auth-token", &there.token)],
            Some(&json!({"application_credential": {"name": "in-gone", "secret": "s"}})),
        )
        .await;
    assert_eq!(r.status, 201);
    let id = r.body["application_credential"]["id"].clone();
    let r = auth(server, json!({"id": id, "secret": "s"})).await;
    assert_eq!(r.status, 201);
    let token = r.header("x-subject-token").unwrap().to_string();
    assert_eq!(server.send(Method::DELETE, &format!("/identity/v3/projects/{project}"), &h, None).await.status, 204);
    assert_eq!(auth(server, json!({"id": id, "secret": "s"})).await.status, 401);
    assert_eq!(server.send(Method::GET, "/v2.1/flavors", &[("x-auth-token", &token)], None).await.status, 401);
    let r = server.send(Method::GET, &base, &h, None).await;
    assert_eq!(r.body["application_credentials"], json!([]));
}
both!(deleting_the_project_ends_its_application_credentials);
