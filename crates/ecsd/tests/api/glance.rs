//! Glance v2: images with data (upload, staging and import, download),
//! JSON-patch, tags, visibility and members, protection, deactivation,
//! list filters and paging; an upload cut off midway leaves nothing.

use std::io::{Read, Write};

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

const PATCH: &str = "application/openstack-images-v2.1-json-patch";

async fn call(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.server.send(method, &format!("/image{path}"), &[("x-auth-token", s.token.as_str())], body).await
}

async fn patch(s: &Session<'_>, id: &str, ops: Value) -> Reply {
    let resp = s
        .server
        .client
        .patch(format!("{}/image/v2/images/{id}", s.server.base))
        .header("x-auth-token", &s.token)
        .header("content-type", PATCH)
        .body(ops.to_string())
        .send()
        .await
        .unwrap();
    reply(resp).await
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body }
}

async fn put_data(s: &Session<'_>, id: &str, what: &str, data: Vec<u8>) -> Reply {
    let resp = s
        .server
        .client
        .put(format!("{}/image/v2/images/{id}/{what}", s.server.base))
        .header("x-auth-token", &s.token)
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    reply(resp).await
}

async fn download(s: &Session<'_>, id: &str) -> (u16, Option<String>, Vec<u8>) {
    let resp = s
        .server
        .client
        .get(format!("{}/image/v2/images/{id}/file", s.server.base))
        .header("x-auth-token", &s.token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let md5 = resp.headers().get("content-md5").map(|v| v.to_str().unwrap().to_string());
    (status, md5, resp.bytes().await.unwrap().to_vec())
}

async fn create(s: &Session<'_>, body: Value) -> Value {
    let r = call(s, Method::POST, "/v2/images", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(b))
}

fn sha512_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha512::digest(b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn files(server: &TestServer) -> Vec<String> {
    let dir = server.core().config.images_dir.clone().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.extend(
        std::fs::read_dir(dir.join("staging"))
            .map(|d| d.flatten().map(|e| format!("staging/{}", e.file_name().to_string_lossy())).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    names.retain(|n| n != "staging");
    names
}

async fn create_upload_download_and_delete(server: &TestServer) {
    let demo = server.demo().await;
    // Glance's validation.
    for (body, status) in [
        (json!({"name": "x", "disk_format": "floppy"}), 400),
        (json!({"name": "x", "container_format": "box"}), 400),
        (json!({"name": "x", "min_disk": -1}), 400),
        (json!({"name": "x", "min_ram": "lots"}), 400),
        (json!({"name": "x", "protected": "yes"}), 400),
        (json!({"name": "x", "visibility": "everyone"}), 400),
        (json!({"name": "x", "tags": "a"}), 400),
        (json!({"name": "x", "custom": 5}), 400),
        (json!({"name": "x".repeat(256)}), 400),
        (json!({"name": "x", "id": "not-a-uuid"}), 400),
        (json!({"name": "x", "status": "active"}), 403),
        (json!({"name": "x", "size": 5}), 403),
        (json!({"name": "x", "checksum": "abc"}), 403),
        (json!({"name": "x", "deleted": true}), 403),
        (json!({"name": "x", "ecsd:file": "/etc/passwd"}), 403),
        (json!({"name": "x", "visibility": "public"}), 403),
    ] {
        let r = call(&demo, Method::POST, "/v2/images", Some(&body)).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.body);
        assert_eq!(r.body["code"], status, "{}", r.body);
        assert!(r.body["message"].is_string(), "{}", r.body);
    }
    let image = create(
        &demo,
        json!({"name": "up", "disk_format": "raw", "container_format": "bare", "min_disk": 1, "min_ram": 64,
            "tags": ["t1", "t1", "t2"], "hw_disk_bus": "virtio"}),
    )
    .await;
    let id = image["id"].as_str().unwrap().to_string();
    assert_eq!(image["status"], "queued");
    assert_eq!(image["visibility"], "shared", "Glance's default visibility");
    assert_eq!(image["size"], Value::Null);
    assert_eq!(image["checksum"], Value::Null);
    assert_eq!(image["tags"], json!(["t1", "t2"]));
    assert_eq!(image["hw_disk_bus"], "virtio");
    assert_eq!(image["owner"], demo.project_id.as_str());
    assert_eq!(image["min_ram"], 64);
    // No data yet: 204.
    assert_eq!(download(&demo, &id).await.0, 204);

    let bytes = data(3 << 20);
    let r = put_data(&demo, &id, "file", bytes.clone()).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let shown = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["size"], bytes.len());
    assert_eq!(shown["checksum"], md5_hex(&bytes));
    assert_eq!(shown["os_hash_algo"], "sha512");
    assert_eq!(shown["os_hash_value"], sha512_hex(&bytes));
    assert!(shown.get("ecsd:file").is_none(), "ecsd's own properties stay hidden: {shown}");
    let (status, md5, got) = download(&demo, &id).await;
    assert_eq!(status, 200);
    assert_eq!(md5.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert!(got == bytes, "the data downloaded is the data uploaded");
    // Once only.
    let r = put_data(&demo, &id, "file", bytes.clone()).await;
    assert_eq!(r.status, 409, "{}", r.body);
    // Not without formats.
    let bare = create(&demo, json!({"name": "no-formats"})).await;
    let r = put_data(&demo, bare["id"].as_str().unwrap(), "file", vec![1, 2, 3]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Only octet-stream.
    let r = demo
        .server
        .client
        .put(format!("{}/image/v2/images/{}/file", server.base, bare["id"].as_str().unwrap()))
        .header("x-auth-token", &demo.token)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // Boots: the uploaded image is a server's image.
    let body = json!({"server": {"name": "from-upload", "flavorRef": "m1.tiny", "imageRef": id, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let server_id = r.body["server"]["id"].as_str().unwrap().to_string();
    let s = demo.wait_status(&server_id, "ACTIVE").await;
    assert_eq!(s["image"]["id"], id.as_str());
    // Nova's `server list` asks Glance for its images by `id=in:`.
    let r = call(&demo, Method::GET, &format!("/v2/images?id=in:{id},{}", bare["id"].as_str().unwrap()), None).await;
    let mut names: Vec<&str> =
        r.body["images"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["no-formats", "up"], "{}", r.body);

    // Protected images stay.
    let r = patch(&demo, &id, json!([{"op": "replace", "path": "/protected", "value": true}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&demo, Method::DELETE, &format!("/v2/images/{id}"), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("is protected"), "{}", r.body);
    // Nova's proxy refuses it too.
    assert_eq!(demo.delete(&format!("/v2.1/images/{id}"), None).await.status, 403);
    patch(&demo, &id, json!([{"op": "replace", "path": "/protected", "value": false}])).await;
    assert_eq!(demo.delete(&format!("/v2.1/servers/{server_id}"), None).await.status, 204);
    demo.wait_server(&server_id, |r| r.status == 404).await;
    let file = format!("{id}.raw");
    assert!(files(server).contains(&file), "{:?}", files(server));
    let r = call(&demo, Method::DELETE, &format!("/v2/images/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(!files(server).contains(&file), "deleting an image removes its data: {:?}", files(server));
    let r = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["message"], format!("No image found with ID {id}"));
    assert_eq!(download(&demo, &id).await.0, 404);
}
both!(create_upload_download_and_delete);

async fn json_patch_as_glance_applies_it(server: &TestServer) {
    let demo = server.demo().await;
    let image = create(&demo, json!({"name": "p", "disk_format": "qcow2", "container_format": "bare", "a": "1"})).await;
    let id = image["id"].as_str().unwrap();
    let r = patch(
        &demo,
        id,
        json!([
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/b", "value": "2"},
            {"op": "add", "path": "/a", "value": "one"},
            {"op": "remove", "path": "/b"},
            {"op": "add", "path": "/tags", "value": ["x", "y"]},
            {"op": "replace", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/disk_format", "value": "raw"},
            {"op": "add", "path": "/os~1distro", "value": "debian"},
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "renamed");
    assert_eq!(r.body["a"], "one");
    assert!(r.body.get("b").is_none());
    assert_eq!(r.body["tags"], json!(["x", "y"]));
    assert_eq!(r.body["min_ram"], 512);
    assert_eq!(r.body["disk_format"], "raw");
    assert_eq!(r.body["os/distro"], "debian");
    for (ops, status) in [
        (json!([{"op": "replace", "path": "/status", "value": "active"}]), 403),
        (json!([{"op": "replace", "path": "/id", "value": "x"}]), 403),
        (json!([{"op": "replace", "path": "/size", "value": 1}]), 403),
        (json!([{"op": "replace", "path": "/checksum", "value": "x"}]), 403),
        (json!([{"op": "add", "path": "/deleted", "value": "x"}]), 403),
        (json!([{"op": "remove", "path": "/name"}]), 403),
        (json!([{"op": "add", "path": "/ecsd:file", "value": "/etc/passwd"}]), 403),
        (json!([{"op": "replace", "path": "/visibility", "value": "public"}]), 403),
        (json!([{"op": "replace", "path": "/missing", "value": "x"}]), 409),
        (json!([{"op": "remove", "path": "/missing"}]), 409),
        (json!([{"op": "replace", "path": "/visibility", "value": "everyone"}]), 400),
        (json!([{"op": "replace", "path": "/min_disk", "value": -2}]), 400),
        (json!([{"op": "add", "path": "/prop", "value": 3}]), 400),
        (json!([{"op": "move", "path": "/name", "value": "x"}]), 400),
        (json!([{"op": "add", "path": "/name"}]), 400),
        (json!([{"op": "add", "path": "name", "value": "x"}]), 400),
        (json!([{"op": "add", "path": "/a/b", "value": "x"}]), 400),
        (json!({"op": "add"}), 400),
    ] {
        let r = patch(&demo, id, ops.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{ops}: {}", r.body);
        assert_eq!(r.body["code"], status, "{}", r.body);
    }
    // Refused changes change nothing.
    let shown = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body;
    assert_eq!(shown["name"], "renamed");
    assert_eq!(shown["visibility"], "shared");
    // Not JSON-patch: 415.
    let r = server
        .client
        .patch(format!("{}/image/v2/images/{id}", server.base))
        .header("x-auth-token", &demo.token)
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // Tags one at a time.
    let tag = format!("/v2/images/{id}/tags/new%20tag");
    assert_eq!(call(&demo, Method::PUT, &tag, None).await.status, 204);
    assert_eq!(call(&demo, Method::PUT, &tag, None).await.status, 204);
    let shown = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body;
    assert_eq!(shown["tags"], json!(["x", "y", "new tag"]));
    assert_eq!(call(&demo, Method::DELETE, &tag, None).await.status, 204);
    assert_eq!(call(&demo, Method::DELETE, &tag, None).await.status, 404);

    // Formats change only before data.
    assert_eq!(put_data(&demo, id, "file", vec![7; 1000]).await.status, 204);
    let r = patch(&demo, id, json!([{"op": "replace", "path": "/disk_format", "value": "qcow2"}])).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = patch(&demo, id, json!([{"op": "replace", "path": "/name", "value": "still"}])).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Another project's image: 404 if hidden, 403 if visible but not its own.
    let admin = server.admin().await;
    let seeded = call(&admin, Method::GET, "/v2/images?name=cirros-0.6.2-x86_64", None).await.body["images"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = patch(&demo, &seeded, json!([{"op": "replace", "path": "/name", "value": "mine"}])).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let private = create(&admin, json!({"name": "admins", "visibility": "private"})).await;
    let r =
        patch(&demo, private["id"].as_str().unwrap(), json!([{"op": "replace", "path": "/name", "value": "x"}])).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(&demo, Method::DELETE, &format!("/v2/images/{}", private["id"].as_str().unwrap()), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}
both!(json_patch_as_glance_applies_it);

/// A user with the member role in a project of their own.
async fn third_party(server: &TestServer) -> Session<'_> {
    let admin = server.admin().await;
    let h = [("x-auth-token", admin.token.as_str())];
    let r = server.send(Method::POST, "/identity/v3/projects", &h, Some(&json!({"project": {"name": "third"}}))).await;
    let project = r.body["project"]["id"].as_str().unwrap().to_string();
    let r = server
        .send(
            Method::POST,
            "/identity/v3/users",
            &h,
            Some(&json!({"user": {"name": "trudy", "password": "pw", "default_project_id": project}})),
        )
        .await;
    let user = r.body["user"]["id"].as_str().unwrap().to_string();
    let roles = server.send(Method::GET, "/identity/v3/roles?name=member", &h, None).await;
    let member = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{project}/users/{user}/roles/{member}");
    assert_eq!(server.send(Method::PUT, &grant, &h, None).await.status, 204);
    server.login("trudy", "pw", "third").await
}

async fn visibility_and_members(server: &TestServer) {
    let demo = server.demo().await;
    let third = third_party(server).await;
    let shared = create(&demo, json!({"name": "shared-one", "disk_format": "raw", "container_format": "bare"})).await;
    let id = shared["id"].as_str().unwrap().to_string();
    assert_eq!(put_data(&demo, &id, "file", data(4096)).await.status, 204);
    let private = create(&demo, json!({"name": "private-one", "visibility": "private"})).await;
    let community = create(&demo, json!({"name": "community-one", "visibility": "community"})).await;
    let names = |r: &Reply| -> Vec<String> {
        r.body["images"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
    };

    // Not a member yet: the shared image is hidden, the community one shown only when asked.
    let listed = names(&call(&third, Method::GET, "/v2/images", None).await);
    assert!(!listed.iter().any(|n| n.ends_with("-one")), "{listed:?}");
    assert_eq!(call(&third, Method::GET, &format!("/v2/images/{id}"), None).await.status, 404);
    assert_eq!(
        call(&third, Method::GET, &format!("/v2/images/{}", private["id"].as_str().unwrap()), None).await.status,
        404
    );
    let r = call(&third, Method::GET, "/v2/images?visibility=community", None).await;
    assert_eq!(names(&r), ["community-one"]);
    assert_eq!(
        call(&third, Method::GET, &format!("/v2/images/{}", community["id"].as_str().unwrap()), None).await.status,
        200
    );

    // Members: the owner adds, the member decides.
    let members = format!("/v2/images/{id}/members");
    let r = call(&demo, Method::POST, &members, Some(&json!({"member": third.project_id}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["member_id"], third.project_id.as_str());
    assert_eq!(r.body["schema"], "/v2/schemas/member");
    let r = call(&demo, Method::POST, &members, Some(&json!({"member": third.project_id}))).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = call(
        &demo,
        Method::POST,
        &format!("/v2/images/{}/members", private["id"].as_str().unwrap()),
        Some(&json!({"member": third.project_id})),
    )
    .await;
    assert_eq!(r.status, 403, "only shared images have members: {}", r.body);
    // The member sees the image but does not own it.
    let r = call(&third, Method::POST, &members, Some(&json!({"member": "someone"}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Pending: shown by id, not listed by default.
    assert_eq!(call(&third, Method::GET, &format!("/v2/images/{id}"), None).await.status, 200);
    assert!(!names(&call(&third, Method::GET, "/v2/images", None).await).contains(&"shared-one".to_string()));
    let r = call(&third, Method::GET, "/v2/images?member_status=pending", None).await;
    assert!(names(&r).contains(&"shared-one".to_string()), "{}", r.body);
    let me = format!("{members}/{}", third.project_id);
    // The owner cannot accept for the member; the member can.
    let r = call(&demo, Method::PUT, &me, Some(&json!({"status": "accepted"}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(&third, Method::PUT, &me, Some(&json!({"status": "maybe"}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = call(&third, Method::PUT, &me, Some(&json!({"status": "accepted"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "accepted");
    assert!(names(&call(&third, Method::GET, "/v2/images", None).await).contains(&"shared-one".to_string()));
    let r = call(&third, Method::GET, &me, None).await;
    assert_eq!(r.body["status"], "accepted");
    let r = call(&demo, Method::GET, &members, None).await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1, "{}", r.body);
    // The member may download, boot, but not change it.
    let (status, _, got) = download(&third, &id).await;
    assert_eq!((status, got.len()), (200, 4096));
    let r = patch(&third, &id, json!([{"op": "replace", "path": "/name", "value": "stolen"}])).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(call(&third, Method::DELETE, &format!("/v2/images/{id}"), None).await.status, 403);
    let body = json!({"server": {"name": "member-boot", "flavorRef": "m1.tiny", "imageRef": id, "networks": "none"}});
    let r = third.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Rejected, then removed: gone from the member's list.
    call(&third, Method::PUT, &me, Some(&json!({"status": "rejected"}))).await;
    assert!(!names(&call(&third, Method::GET, "/v2/images", None).await).contains(&"shared-one".to_string()));
    assert_eq!(call(&demo, Method::DELETE, &me, None).await.status, 204);
    assert_eq!(call(&demo, Method::DELETE, &me, None).await.status, 404);
    assert_eq!(call(&third, Method::GET, &format!("/v2/images/{id}"), None).await.status, 404);

    // Public only by an admin.
    let admin = server.admin().await;
    let r = patch(&admin, &id, json!([{"op": "replace", "path": "/visibility", "value": "public"}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(call(&third, Method::GET, &format!("/v2/images/{id}"), None).await.status, 200);

    // A reader changes nothing.
    let r = call(&demo, Method::GET, "/v2/schemas/image", None).await;
    assert_eq!(r.body["name"], "image");
}
both!(visibility_and_members);

async fn import_deactivate_and_list_filters(server: &TestServer) {
    let demo = server.demo().await;
    let r = call(&demo, Method::GET, "/v2/info/import", None).await;
    assert_eq!(r.body["import-methods"]["value"], json!(["glance-direct"]));

    // glance-direct: stage, then import.
    let image = create(&demo, json!({"name": "imported", "disk_format": "qcow2", "container_format": "bare"})).await;
    let id = image["id"].as_str().unwrap().to_string();
    let import = format!("/v2/images/{id}/import");
    let r = call(&demo, Method::POST, &import, Some(&json!({"method": {"name": "glance-direct"}}))).await;
    assert_eq!(r.status, 409, "not staged yet: {}", r.body);
    let bytes = data(100_000);
    assert_eq!(put_data(&demo, &id, "stage", bytes.clone()).await.status, 204);
    let shown = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body;
    assert_eq!(shown["status"], "uploading");
    let r = call(&demo, Method::POST, &import, Some(&json!({"method": {"name": "web-download"}}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = call(&demo, Method::POST, &import, Some(&json!({"method": {"name": "glance-direct"}}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let shown = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["checksum"], md5_hex(&bytes));
    assert_eq!(download(&demo, &id).await.2, bytes);
    assert!(!files(server).iter().any(|f| f.starts_with("staging/")), "{:?}", files(server));

    // Deactivated: no download for non-admins, no boot; reactivated: both again.
    let deactivate = format!("/v2/images/{id}/actions/deactivate");
    assert_eq!(call(&demo, Method::POST, &deactivate, None).await.status, 204);
    assert_eq!(call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body["status"], "deactivated");
    assert_eq!(download(&demo, &id).await.0, 403);
    let admin = server.admin().await;
    assert_eq!(download(&admin, &id).await.0, 200);
    let body = json!({"server": {"name": "no", "flavorRef": "m1.tiny", "imageRef": id, "networks": "none"}});
    assert_eq!(demo.post("/v2.1/servers", Some("2.37"), &body).await.status, 400);
    assert_eq!(call(&demo, Method::POST, &format!("/v2/images/{id}/actions/reactivate"), None).await.status, 204);
    assert_eq!(download(&demo, &id).await.0, 200);
    let queued = create(&demo, json!({"name": "q"})).await;
    let r =
        call(&demo, Method::POST, &format!("/v2/images/{}/actions/deactivate", queued["id"].as_str().unwrap()), None)
            .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Filters, sorting and paging.
    for n in 0..5 {
        let hidden = n == 4;
        create(
            &demo,
            json!({"name": format!("page-{n}"), "tags": [format!("t{}", n % 2)], "os_hidden": hidden, "kind": "paged"}),
        )
        .await;
    }
    let names = |r: &Reply| -> Vec<String> {
        r.body["images"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
    };
    let r = call(&demo, Method::GET, "/v2/images?kind=paged&sort=name:asc", None).await;
    assert_eq!(names(&r), ["page-0", "page-1", "page-2", "page-3"], "hidden ones are not listed");
    let r = call(&demo, Method::GET, "/v2/images?kind=paged&os_hidden=true", None).await;
    assert_eq!(names(&r), ["page-4"]);
    let r = call(&demo, Method::GET, "/v2/images?tag=t1&sort_key=name&sort_dir=desc", None).await;
    assert_eq!(names(&r), ["page-3", "page-1"]);
    let r = call(&demo, Method::GET, "/v2/images?name=in:page-0,page-2&sort=name", None).await;
    assert_eq!(names(&r), ["page-2", "page-0"]);
    let r = call(&demo, Method::GET, "/v2/images?status=active&name=imported", None).await;
    assert_eq!(names(&r), ["imported"]);
    let r = call(&demo, Method::GET, "/v2/images?visibility=bogus", None).await;
    assert_eq!(r.status, 400);
    let r = call(&demo, Method::GET, "/v2/images?member_status=bogus", None).await;
    assert_eq!(r.status, 400);
    // Paging with `next`, as clients follow it.
    let mut seen = Vec::new();
    let mut path = "/v2/images?kind=paged&sort=name:asc&limit=3".to_string();
    loop {
        let r = call(&demo, Method::GET, &path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen.extend(names(&r));
        match r.body["next"].as_str() {
            Some(next) => path = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["page-0", "page-1", "page-2", "page-3"]);
}
both!(import_deactivate_and_list_filters);

/// Sends the head and part of a chunked body, then drops the connection.
fn cut_off(server: &TestServer, token: &str, path: &str, sent: usize) {
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: ecsd\r\nX-Auth-Token: {token}\r\nContent-Type: application/octet-stream\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'z'; 64 * 1024];
    let mut n = 0;
    while n < sent {
        write!(s, "{:x}\r\n", chunk.len()).unwrap();
        s.write_all(&chunk).unwrap();
        s.write_all(b"\r\n").unwrap();
        n += chunk.len();
    }
    s.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.shutdown(std::net::Shutdown::Both).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

async fn a_cut_off_upload_leaves_nothing(server: &TestServer) {
    let demo = server.demo().await;
    for what in ["file", "stage"] {
        let image =
            create(&demo, json!({"name": format!("cut-{what}"), "disk_format": "raw", "container_format": "bare"}))
                .await;
        let id = image["id"].as_str().unwrap().to_string();
        let path = format!("/image/v2/images/{id}/{what}");
        tokio::task::block_in_place(|| cut_off(server, &demo.token, &path, 4 << 20));
        // Back to queued, and no file.
        let mut shown = Value::Null;
        for _ in 0..100 {
            shown = call(&demo, Method::GET, &format!("/v2/images/{id}"), None).await.body;
            if shown["status"] == "queued" && !files(server).iter().any(|f| f.contains(&id)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(shown["status"], "queued", "{shown}");
        assert_eq!(shown["size"], Value::Null, "{shown}");
        assert_eq!(shown["checksum"], Value::Null, "{shown}");
        assert!(!files(server).iter().any(|f| f.contains(&id)), "{what}: {:?}", files(server));
        // And it can be uploaded again, whole.
        assert_eq!(put_data(&demo, &id, what, data(5000)).await.status, 204);
    }
}
both!(a_cut_off_upload_leaves_nothing);

async fn snapshots_serve_their_data(server: &TestServer) {
    let demo = server.demo().await;
    let seeded = demo.get("/v2.1/images", None).await.body["images"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"server": {"name": "snapme", "flavorRef": "m1.tiny", "imageRef": seeded, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    let sid = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&sid, "ACTIVE").await;
    let r = demo
        .post(&format!("/v2.1/servers/{sid}/action"), Some("2.45"), &json!({"createImage": {"name": "snap"}}))
        .await;
    let image = r.body["image_id"].as_str().unwrap().to_string();
    let mut shown = Value::Null;
    for _ in 0..200 {
        shown = call(&demo, Method::GET, &format!("/v2/images/{image}"), None).await.body;
        if shown["status"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(shown["status"], "active", "{shown}");
    assert_eq!(shown["image_type"], "snapshot");
    let (status, md5, got) = download(&demo, &image).await;
    assert_eq!(status, 200);
    assert_eq!(shown["size"], got.len(), "the size shown is the size served");
    assert!(!got.is_empty());
    assert_eq!(md5.as_deref(), shown["checksum"].as_str());
    assert_eq!(shown["checksum"], md5_hex(&got));
}
both!(snapshots_serve_their_data);
