//! Snapshots of the whole service (`/admin/v1/snapshots`): snapshot →
//! change things → reset → the API shows exactly the state at the
//! snapshot, and its servers still work through the simulator.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_bare(name).await
}

/// What the API shows of the cloud, to compare before and after.
async fn listings(demo: &Session<'_>, admin: &Session<'_>) -> Vec<Value> {
    let project = demo.project_id.clone();
    let mut out = Vec::new();
    for (s, path) in [
        (demo, "/v2.1/servers/detail".to_string()),
        (demo, "/v2.1/os-keypairs".to_string()),
        (demo, format!("/volume/v3/{project}/volumes/detail")),
        (demo, "/v2.1/flavors/detail".to_string()),
        (admin, format!("/v2.1/os-quota-sets/{project}")),
        (admin, "/v2.1/servers/detail?all_tenants=1".to_string()),
    ] {
        let version = if path.starts_with("/v2.1") { Some("2.37") } else { None };
        let r = s.get(&path, version).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        out.push(r.body);
    }
    out
}

async fn admin_call(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> crate::Reply {
    server.send(method, path, &[("x-auth-token", token)], body).await
}

async fn snapshot_reset_restores_everything(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let kept = boot(&demo, "kept").await;
    let r = demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "before"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = listings(&demo, &admin).await;

    let r = admin_call(server, &admin.token, Method::POST, "/admin/v1/snapshots", Some(&json!({"name": "base"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["snapshot"]["name"], "base");
    assert!(r.body["snapshot"]["counts"]["servers"].as_u64().unwrap() >= 1, "{}", r.body);
    assert_eq!(r.body["snapshot"]["guests"], 1, "{}", r.body);
    let r = admin_call(server, &admin.token, Method::POST, "/admin/v1/snapshots", Some(&json!({"name": "base"}))).await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Change things: servers, a volume, a key pair, a quota.
    boot(&demo, "added").await;
    let r = demo.delete(&format!("/v2.1/servers/{kept}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    demo.wait_server(&kept, |r| r.status == 404).await;
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1, "display_name": "data"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    demo.delete("/v2.1/os-keypairs/before", None).await;
    demo.post("/v2.1/os-keypairs", None, &json!({"keypair": {"name": "after"}})).await;
    let project = demo.project_id.clone();
    let r = admin.put(&format!("/v2.1/os-quota-sets/{project}"), None, &json!({"quota_set": {"instances": 3}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(listings(&demo, &admin).await, before);

    // A member may not reset; nothing changes.
    let r = admin_call(server, &demo.token, Method::POST, "/admin/v1/snapshots/base/restore", None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(demo.get("/v2.1/os-keypairs/after", None).await.status, 200);

    let r = admin_call(server, &admin.token, Method::POST, "/admin/v1/snapshots/base/restore", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(listings(&demo, &admin).await, before);

    // The restored server's guest came back: it stops and starts.
    let r = demo.post(&format!("/v2.1/servers/{kept}/action"), None, &json!({"os-stop": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(&kept, "SHUTOFF").await;
    let r = demo.post(&format!("/v2.1/servers/{kept}/action"), None, &json!({"os-start": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    demo.wait_status(&kept, "ACTIVE").await;
    let log = demo.post(&format!("/v2.1/servers/{kept}/action"), None, &json!({"os-getConsoleOutput": {}})).await;
    assert!(log.body["output"].as_str().unwrap().contains("boot 2"), "{}", log.body);

    // Twice in a row gives the same state again.
    let r = admin_call(server, &admin.token, Method::POST, "/admin/v1/snapshots/base/restore", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(listings(&demo, &admin).await, before);

    let r = admin_call(server, &admin.token, Method::GET, "/admin/v1/snapshots", None).await;
    assert_eq!(r.body["snapshots"][0]["name"], "base", "{}", r.body);
    let r = admin_call(server, &admin.token, Method::GET, "/admin/v1/snapshots/base", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin_call(server, &admin.token, Method::DELETE, "/admin/v1/snapshots/base", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = admin_call(server, &admin.token, Method::GET, "/admin/v1/snapshots/base", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}
both!(snapshot_reset_restores_everything);

async fn snapshots_refuse_bad_calls(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let body = json!({"name": "x"});
    for (method, path) in [
        (Method::POST, "/admin/v1/snapshots"),
        (Method::GET, "/admin/v1/snapshots"),
        (Method::GET, "/admin/v1/snapshots/x"),
        (Method::DELETE, "/admin/v1/snapshots/x"),
        (Method::POST, "/admin/v1/snapshots/x/restore"),
    ] {
        let r = admin_call(server, &demo.token, method.clone(), path, Some(&body)).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        let r = server.send(method.clone(), path, &[], Some(&body)).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
    }
    let r = admin_call(server, &admin.token, Method::GET, "/admin/v1/snapshots", None).await;
    assert_eq!(r.body["snapshots"], json!([]), "a refused create made one: {}", r.body);

    for path in ["/admin/v1/snapshots/nope", "/admin/v1/snapshots/nope/restore"] {
        let method = if path.ends_with("restore") { Method::POST } else { Method::GET };
        let r = admin_call(server, &admin.token, method, path, None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "NotFound");
    }
    let r = admin_call(server, &admin.token, Method::DELETE, "/admin/v1/snapshots/nope", None).await;
    assert_eq!(r.status, 404, "{}", r.body);

    for (bad, field) in [
        (json!({"name": 5}), "name"),
        (json!({"name": "no/slash"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({}), ""),
        (json!({"name": "a", "extra": 1}), ""),
    ] {
        let r = admin_call(server, &admin.token, Method::POST, "/admin/v1/snapshots", Some(&bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "InvalidDocument", "{}", r.body);
        if !field.is_empty() {
            assert_eq!(r.body["error"]["field"], field, "{bad}: {}", r.body);
        } else {
            assert!(r.body["error"]["message"].as_str().unwrap().contains("name") || bad.get("extra").is_some());
        }
    }
}
both!(snapshots_refuse_bad_calls);

/// A token of `user` on its own project from a running binary.
async fn login(base: &str, user: &str) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user,
        "domain": {"name": "Default"}, "password": user}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}});
    let r = reqwest::Client::new().post(format!("{base}/identity/v3/auth/tokens")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    r.headers()["x-subject-token"].to_str().unwrap().to_string()
}

async fn call(base: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("x-auth-token", token)
        .header("openstack-api-version", "compute 2.37");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// What a running binary shows of the cloud, its own address left out.
async fn process_listings(base: &str) -> String {
    let admin = login(base, "admin").await;
    let demo = login(base, "demo").await;
    let mut out = Vec::new();
    for (token, path) in [
        (&admin, "/v2.1/servers/detail?all_tenants=1"),
        (&demo, "/v2.1/os-keypairs"),
        (&admin, "/v2.1/flavors/detail"),
        (&admin, "/image/v2/images"),
        (&admin, "/networking/v2.0/networks"),
        (&admin, "/identity/v3/projects"),
        (&admin, "/identity/v3/users"),
    ] {
        let (status, body) = call(base, token, Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.push(body);
    }
    serde_json::to_string_pretty(&out).unwrap().replace(base, "BASE")
}

async fn wait_active(base: &str, token: &str, id: &str, status: &str) {
    for _ in 0..400 {
        let (_, body) = call(base, token, Method::GET, &format!("/v2.1/servers/{id}"), None).await;
        if body["server"]["status"] == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("server {id} never became {status}");
}

fn ecsd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ecsd")).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_export_import_moves_a_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (d1, file) = (path("one"), path("cloud.state"));

    // Nothing to export where there is no database, and none is made.
    let out = ecsd(&["state", "export", &file, "--data-dir", &d1]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ecsd database"), "{out:?}");
    assert!(!std::path::Path::new(&d1).exists());

    let first = crate::process::spawn(&["--data-dir", &d1], &[]);
    let demo = login(&first.base, "demo").await;
    let (status, images) = call(&first.base, &demo, Method::GET, "/image/v2/images", None).await;
    assert_eq!(status, 200);
    let image = images["images"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"server": {"name": "moved", "flavorRef": "m1.tiny", "imageRef": image, "networks": "auto"}});
    let (status, created) = call(&first.base, &demo, Method::POST, "/v2.1/servers", Some(body)).await;
    assert_eq!(status, 202, "{created}");
    let server = created["server"]["id"].as_str().unwrap().to_string();
    wait_active(&first.base, &demo, &server, "ACTIVE").await;
    let body = json!({"keypair": {"name": "kept", "public_key": crate::keypairs_vector()}});
    assert_eq!(call(&first.base, &demo, Method::POST, "/v2.1/os-keypairs", Some(body)).await.0, 201);
    let before = process_listings(&first.base).await;
    drop(first);

    let out = ecsd(&["state", "export", &file, "--data-dir", &d1]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 simulated guests"), "{out:?}");

    // Into a new data directory: the same cloud, its server still working.
    let d2 = path("two");
    let out = ecsd(&["state", "import", &file, "--data-dir", &d2]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second = crate::process::spawn(&["--data-dir", &d2], &[]);
    assert_eq!(process_listings(&second.base).await, before);
    let demo = login(&second.base, "demo").await;
    let stop = json!({"os-stop": null});
    let (status, body) =
        call(&second.base, &demo, Method::POST, &format!("/v2.1/servers/{server}/action"), Some(stop)).await;
    assert_eq!(status, 202, "{body}");
    wait_active(&second.base, &demo, &server, "SHUTOFF").await;
    drop(second);

    // Into PostgreSQL: the file is the same whatever the database.
    let pg = ecs_test_utils::postgres().await;
    let d3 = path("three");
    let out = ecsd(&["state", "import", &file, "--data-dir", &d3, "--database-url", &pg.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let third = crate::process::spawn(&["--data-dir", &d3, "--database-url", &pg.url], &[]);
    assert_eq!(process_listings(&third.base).await, before);
    drop(third);

    // A truncated file is refused, and no database is left behind.
    let text = std::fs::read_to_string(&file).unwrap();
    let truncated = path("truncated.state");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let d4 = path("four");
    let out = ecsd(&["state", "import", &truncated, "--data-dir", &d4]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated") || err.contains("line"), "{err}");
    assert!(!std::path::Path::new(&d4).join("ecsd.sqlite").exists());

    // A file of another schema version is refused naming both versions,
    // into a new database as into one that holds a cloud.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut header: Value = serde_json::from_str(&lines[0]).unwrap();
    let version = header["schema_version"].as_i64().unwrap();
    header["schema_version"] = json!(20991231000001_i64);
    lines[0] = header.to_string();
    let newer = path("newer.state");
    std::fs::write(&newer, lines.join("\n") + "\n").unwrap();
    for target in [&d4, &d2] {
        let out = ecsd(&["state", "import", &newer, "--data-dir", target]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("20991231000001") && err.contains(&version.to_string()), "{err}");
    }
    assert!(!std::path::Path::new(&d4).join("ecsd.sqlite").exists());
    let again = crate::process::spawn(&["--data-dir", &d2], &[]);
    let after = process_listings(&again.base).await;
    assert_ne!(after, before, "the server stopped above");
    assert!(after.contains("SHUTOFF"), "the refused import changed nothing");
}

/// A file of an older schema goes into a new, empty database at its own
/// schema and is migrated on; into a database that has a schema it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_state_files_are_migrated_into_new_databases() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    let old = ecs_store::Store::connect(&url("old.sqlite")).await.unwrap();
    let versions = old.schema_versions();
    let older = versions[versions.len() - 3];
    old.migrate_to(older).await.unwrap();
    assert_eq!(old.schema_version().await.unwrap(), older);
    let file = dir.path().join("old.state");
    ecsd::state::export(&old, &dir.path().join("no-sim"), &file).await.unwrap();
    old.close().await;
    let state = ecsd::state::read(&file).unwrap();
    assert_eq!(state.header.schema_version, older);

    let fresh = ecs_store::Store::connect(&url("new.sqlite")).await.unwrap();
    ecsd::state::import(&fresh, &dir.path().join("sim"), &state, true).await.unwrap();
    assert_eq!(fresh.schema_version().await.unwrap(), *versions.last().unwrap());
    // Now at the newest schema: the same file is refused, naming both versions.
    let err = ecsd::state::import(&fresh, &dir.path().join("sim"), &state, false).await.unwrap_err().to_string();
    assert!(err.contains(&older.to_string()) && err.contains(&versions.last().unwrap().to_string()), "{err}");
    fresh.close().await;
}
