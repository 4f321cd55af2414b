//! Cinder v3 (`/volume`): versions and microversions, volumes, types,
//! snapshots, attachments over Nova's attachment rows, quotas and limits,
//! and exact quotas under parallel creates.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

/// A Cinder call at `volume {version}` (None: no header).
async fn cinder(s: &Session<'_>, method: Method, path: &str, version: Option<&str>, body: Option<&Value>) -> Reply {
    let mut headers = vec![("x-auth-token", s.token.as_str())];
    let v;
    if let Some(version) = version {
        v = format!("volume {version}");
        headers.push(("openstack-api-version", v.as_str()));
    }
    s.server.send(method, &format!("/volume/v3/{}{path}", s.project_id), &headers, body).await
}

async fn get(s: &Session<'_>, path: &str) -> Reply {
    cinder(s, Method::GET, path, None, None).await
}

async fn post(s: &Session<'_>, path: &str, body: Value) -> Reply {
    cinder(s, Method::POST, path, None, Some(&body)).await
}

async fn create(s: &Session<'_>, body: Value) -> Value {
    let r = post(s, "/volumes", json!({"volume": body})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["volume"]["status"], "available", "{}", r.body);
    r.body["volume"].clone()
}

/// A user holding `role` in `project` (by name), made by the admin.
async fn user_in<'a>(
    server: &'a TestServer,
    admin: &Session<'_>,
    name: &str,
    project: &str,
    role: &str,
) -> Session<'a> {
    let token = [("x-auth-token", admin.token.as_str())];
    let r = server.send(Method::GET, &format!("/identity/v3/projects?name={project}"), &token, None).await;
    let project_id = match r.body["projects"][0]["id"].as_str() {
        Some(id) => id.to_string(),
        None => {
            let body = json!({"project": {"name": project}});
            let r = server.send(Method::POST, "/identity/v3/projects", &token, Some(&body)).await;
            r.body["project"]["id"].as_str().unwrap().to_string()
        }
    };
    let body = json!({"user": {"name": name, "password": "pw"}});
    let r = server.send(Method::POST, "/identity/v3/users", &token, Some(&body)).await;
    let user = r.body["user"]["id"].as_str().expect("a user").to_string();
    let r = server.send(Method::GET, &format!("/identity/v3/roles?name={role}"), &token, None).await;
    let role = r.body["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!("/identity/v3/projects/{project_id}/users/{user}/roles/{role}");
    assert!(server.send(Method::PUT, &grant, &token, None).await.status.is_success());
    server.login(name, "pw", project).await
}

async fn boot(s: &Session<'_>) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "vm", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn versions_and_catalog(server: &TestServer) {
    let demo = server.demo().await;
    let r = server.send(Method::GET, "/volume/", &[], None).await;
    assert_eq!(r.status, 300, "{}", r.body);
    assert_eq!(r.body["versions"][0]["id"], "v3.0");
    assert_eq!(r.body["versions"][0]["min_version"], "3.0");
    assert_eq!(r.body["versions"][0]["version"], "3.70");
    let r = server.send(Method::GET, "/volume/v3/", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Negotiation: the default is 3.0; latest the max; outside 406.
    let r = get(&demo, "/volumes").await;
    assert_eq!(r.header("openstack-api-version"), Some("volume 3.0"));
    let r = cinder(&demo, Method::GET, "/volumes", Some("latest"), None).await;
    assert_eq!(r.header("openstack-api-version"), Some("volume 3.70"));
    let r = cinder(&demo, Method::GET, "/volumes", Some("3.71"), None).await;
    assert_eq!(r.status, 406, "{}", r.body);
    assert_eq!(r.body["computeFault"]["code"], 406);
    cinder(&demo, Method::GET, "/volumes", Some("2.1"), None).await.assert_fault(406, "computeFault");
    cinder(&demo, Method::GET, "/volumes", Some("3.x"), None).await.assert_fault(400, "badRequest");
    // Without the project (3.67), and another project's path refused.
    let path = "/volume/v3/volumes";
    let r = server.send(Method::GET, path, &[("x-auth-token", &demo.token)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let other = format!("/volume/v3/{}/volumes", server.admin_project_id());
    let r = server.send(Method::GET, &other, &[("x-auth-token", &demo.token)], None).await;
    r.assert_fault(400, "badRequest");
    let r = server.send(Method::GET, "/volume/v3/x/nothing", &[("x-auth-token", &demo.token)], None).await;
    r.assert_fault(404, "itemNotFound");
    let r = server.send(Method::GET, "/volume/v3/volumes", &[], None).await;
    assert_eq!(r.status, 401);

    // The catalog names block-storage and volumev3 with the project.
    let r = server.password_auth("demo", "demo", Some("demo")).await;
    let catalog = r.body["token"]["catalog"].as_array().unwrap();
    for kind in ["block-storage", "volumev3"] {
        let service = catalog.iter().find(|s| s["type"] == kind).expect(kind);
        let url = service["endpoints"][0]["url"].as_str().unwrap();
        assert!(url.ends_with(&format!("/volume/v3/{}", demo.project_id)), "{url}");
    }
}
both!(versions_and_catalog);

async fn volumes_crud(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let a = create(&demo, json!({"size": 2, "name": "a", "metadata": {"tier": "gold"}})).await;
    let a_id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["volume_type"], "__DEFAULT__");
    assert_eq!(a["bootable"], "false");
    assert_eq!(a["metadata"], json!({"tier": "gold"}));
    let b = create(&demo, json!({"size": 1, "name": "b", "volume_type": "SSD"})).await;
    let b_id = b["id"].as_str().unwrap().to_string();
    create(&demo, json!({"size": 3, "name": "c"})).await;

    // Lists: summary, detail, filters, paging.
    let r = get(&demo, "/volumes").await;
    let list = r.body["volumes"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list[0].get("size").is_none() && list[0]["links"].is_array());
    let r = get(&demo, "/volumes/detail?name=a").await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["volumes"][0]["id"], a_id.as_str());
    let r = get(&demo, "/volumes/detail?metadata=%7B%27tier%27%3A%20%27gold%27%7D").await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1, "{}", r.body);
    let r = get(&demo, "/volumes/detail?sort=size:asc&limit=2").await;
    let sizes: Vec<i64> = r.body["volumes"].as_array().unwrap().iter().map(|v| v["size"].as_i64().unwrap()).collect();
    assert_eq!(sizes, [1, 2]);
    assert!(r.body["volumes_links"][0]["href"].as_str().unwrap().contains("marker="), "{}", r.body);
    let r = get(&demo, &format!("/volumes/detail?sort=size:asc&marker={a_id}")).await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1);
    get(&demo, "/volumes?limit=x").await.assert_fault(400, "badRequest");
    get(&demo, "/volumes?sort=junk").await.assert_fault(400, "badRequest");
    get(&demo, "/volumes?marker=nothing").await.assert_fault(404, "itemNotFound");
    // all_tenants is an admin's.
    let r = get(&admin, "/volumes/detail?all_tenants=1").await;
    assert!(r.body["volumes"].as_array().unwrap().len() >= 3);
    assert!(r.body["volumes"][0].get("os-vol-host-attr:host").is_some());
    assert_eq!(get(&demo, "/volumes?all_tenants=1").await.body["volumes"].as_array().unwrap().len(), 3);
    assert_eq!(get(&admin, "/volumes").await.body["volumes"].as_array().unwrap().len(), 0);

    // Another project's volume is not there (an admin sees it); a
    // reader changes nothing.
    let stranger = user_in(server, &admin, "stranger", "other", "member").await;
    get(&stranger, &format!("/volumes/{a_id}")).await.assert_fault(404, "itemNotFound");
    let r = cinder(&stranger, Method::DELETE, &format!("/volumes/{a_id}"), None, None).await;
    r.assert_fault(404, "itemNotFound");
    assert_eq!(get(&admin, &format!("/volumes/{a_id}")).await.status, 200);
    let reader = user_in(server, &admin, "viewer", "demo", "reader").await;
    assert_eq!(get(&reader, &format!("/volumes/{a_id}")).await.status, 200);
    post(&reader, "/volumes", json!({"volume": {"size": 1}})).await.assert_fault(403, "forbidden");
    let r = cinder(&reader, Method::DELETE, &format!("/volumes/{a_id}"), None, None).await;
    r.assert_fault(403, "forbidden");
    // Microversioned fields.
    let r = cinder(&demo, Method::GET, &format!("/volumes/{a_id}"), Some("3.65"), None).await;
    assert_eq!(r.body["volume"]["consumes_quota"], true);
    assert_eq!(r.body["volume"]["shared_targets"], false);
    assert!(get(&demo, &format!("/volumes/{a_id}")).await.body["volume"].get("consumes_quota").is_none());

    // Update, metadata.
    let r =
        cinder(&demo, Method::PUT, &format!("/volumes/{a_id}"), None, Some(&json!({"volume": {"name": "a2"}}))).await;
    assert_eq!(r.body["volume"]["name"], "a2", "{}", r.body);
    let meta = format!("/volumes/{a_id}/metadata");
    let r = post(&demo, &meta, json!({"metadata": {"k": "v"}})).await;
    assert_eq!(r.body["metadata"], json!({"tier": "gold", "k": "v"}));
    let r = cinder(&demo, Method::PUT, &meta, None, Some(&json!({"metadata": {"only": "1"}}))).await;
    assert_eq!(r.body["metadata"], json!({"only": "1"}));
    let r = cinder(&demo, Method::PUT, &format!("{meta}/x"), None, Some(&json!({"meta": {"y": "1"}}))).await;
    r.assert_fault(400, "badRequest");
    assert_eq!(get(&demo, &format!("{meta}/only")).await.body, json!({"meta": {"only": "1"}}));
    assert_eq!(cinder(&demo, Method::DELETE, &format!("{meta}/only"), None, None).await.status, 200);
    get(&demo, &format!("{meta}/only")).await.assert_fault(404, "itemNotFound");

    // Actions.
    let action = format!("/volumes/{a_id}/action");
    assert_eq!(post(&demo, &action, json!({"os-extend": {"new_size": 5}})).await.status, 202);
    assert_eq!(get(&demo, &format!("/volumes/{a_id}")).await.body["volume"]["size"], 5);
    post(&demo, &action, json!({"os-extend": {"new_size": 4}})).await.assert_fault(400, "badRequest");
    assert_eq!(post(&demo, &action, json!({"os-retype": {"new_type": "SAS"}})).await.status, 202);
    post(&demo, &action, json!({"os-retype": {"new_type": "nope"}})).await.assert_fault(404, "itemNotFound");
    assert_eq!(post(&demo, &action, json!({"os-set_bootable": {"bootable": true}})).await.status, 200);
    let shown = get(&demo, &format!("/volumes/{a_id}")).await.body["volume"].clone();
    assert_eq!((shown["volume_type"].as_str(), shown["bootable"].as_str()), (Some("SAS"), Some("true")));
    post(&demo, &action, json!({"os-reset_status": {"status": "error"}})).await.assert_fault(403, "forbidden");
    post(&demo, &action, json!({"os-junk": {}})).await.assert_fault(400, "badRequest");
    let admin_action = format!("/volume/v3/{}/volumes/{a_id}/action", admin.project_id);
    let body = json!({"os-reset_status": {"status": "error"}});
    let r = server.send(Method::POST, &admin_action, &[("x-auth-token", &admin.token)], Some(&body)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(get(&demo, &format!("/volumes/{a_id}")).await.body["volume"]["status"], "error");

    // Sources: snapshot, volume, image.
    let r =
        post(&demo, "/snapshots", json!({"snapshot": {"volume_id": b_id, "name": "s", "metadata": {"m": "1"}}})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let snap = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["snapshot"]["metadata"], json!({"m": "1"}));
    let from_snap = create(&demo, json!({"snapshot_id": snap})).await;
    assert_eq!((from_snap["size"].as_i64(), from_snap["volume_type"].as_str()), (Some(1), Some("SSD")));
    assert_eq!(from_snap["snapshot_id"], snap.as_str());
    let r = post(&demo, "/volumes", json!({"volume": {"snapshot_id": snap, "size": 0}})).await;
    r.assert_fault(400, "badRequest");
    let clone = create(&demo, json!({"source_volid": b_id, "size": 4})).await;
    assert_eq!(clone["source_volid"], b_id.as_str());
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let from_image = create(&demo, json!({"imageRef": image, "size": 8})).await;
    assert_eq!(from_image["bootable"], "true");
    // The image metadata is shown by a show, not by the create's answer (as Cinder's extension).
    assert!(from_image.get("volume_image_metadata").is_none(), "{from_image}");
    let shown = get(&demo, &format!("/volumes/{}", from_image["id"].as_str().unwrap())).await;
    assert_eq!(shown.body["volume"]["volume_image_metadata"]["image_id"], image.as_str(), "{}", shown.body);
    let r = post(&demo, "/volumes", json!({"volume": {"imageRef": "nothing", "size": 1}})).await;
    r.assert_fault(400, "badRequest");
    post(&demo, "/volumes", json!({"volume": {"size": 1, "volume_type": "nope"}}))
        .await
        .assert_fault(404, "itemNotFound");
    post(&demo, "/volumes", json!({"volume": {"name": "x"}})).await.assert_fault(400, "badRequest");
    post(&demo, "/volumes", json!({"volume": {"size": -1}})).await.assert_fault(400, "badRequest");

    // Revert to the latest snapshot (3.40).
    let b_action = format!("/volumes/{b_id}/action");
    let revert = json!({"revert": {"snapshot_id": snap}});
    post(&demo, &b_action, revert.clone()).await.assert_fault(400, "badRequest");
    let r = cinder(&demo, Method::POST, &b_action, Some("3.40"), Some(&revert)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Snapshot update and list.
    let r = cinder(&demo, Method::PUT, &format!("/snapshots/{snap}"), None, Some(&json!({"snapshot": {"name": "s2"}})))
        .await;
    assert_eq!(r.body["snapshot"]["name"], "s2", "{}", r.body);
    assert_eq!(get(&demo, "/snapshots/detail").await.body["snapshots"].as_array().unwrap().len(), 1);

    // Delete: refused with snapshots, cascade takes them along.
    let path = format!("/volumes/{b_id}");
    cinder(&demo, Method::DELETE, &path, None, None).await.assert_fault(400, "badRequest");
    assert_eq!(cinder(&demo, Method::DELETE, &format!("{path}?cascade=true"), None, None).await.status, 202);
    get(&demo, &path).await.assert_fault(404, "itemNotFound");
    get(&demo, &format!("/snapshots/{snap}")).await.assert_fault(404, "itemNotFound");
    // An errored volume is deleted; os-force_delete is an admin's.
    let r =
        post(&demo, &format!("/volumes/{}/action", from_snap["id"].as_str().unwrap()), json!({"os-force_delete": {}}))
            .await;
    r.assert_fault(403, "forbidden");
    assert_eq!(cinder(&demo, Method::DELETE, &format!("/volumes/{a_id}"), None, None).await.status, 202);
}
both!(volumes_crud);

async fn types_quotas_limits(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let r = get(&demo, "/types/default").await;
    assert_eq!(r.body["volume_type"]["name"], "__DEFAULT__", "{}", r.body);
    let names: Vec<String> = get(&demo, "/types").await.body["volume_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"__DEFAULT__".to_string()) && names.contains(&"SSD".to_string()), "{names:?}");
    post(&demo, "/types", json!({"volume_type": {"name": "fast"}})).await.assert_fault(403, "forbidden");
    let r = post(&admin, "/types", json!({"volume_type": {"name": "fast", "extra_specs": {"speed": "9"}}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fast = r.body["volume_type"]["id"].as_str().unwrap().to_string();
    post(&admin, "/types", json!({"volume_type": {"name": "fast"}})).await.assert_fault(409, "conflictingRequest");
    let r = post(&admin, &format!("/types/{fast}/extra_specs"), json!({"extra_specs": {"k": "v"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&admin, &format!("/types/{fast}")).await;
    assert_eq!(r.body["volume_type"]["extra_specs"], json!({"speed": "9", "k": "v"}));
    let private = json!({"volume_type": {"name": "hidden", "os-volume-type-access:is_public": false}});
    let hidden = post(&admin, "/types", private).await.body["volume_type"]["id"].as_str().unwrap().to_string();
    get(&demo, &format!("/types/{hidden}")).await.assert_fault(404, "itemNotFound");
    // A type in use is not deleted.
    let v = create(&demo, json!({"size": 1, "volume_type": "fast"})).await;
    let del = cinder(&admin, Method::DELETE, &format!("/types/{fast}"), None, None).await;
    del.assert_fault(400, "badRequest");
    cinder(&demo, Method::DELETE, &format!("/volumes/{}", v["id"].as_str().unwrap()), None, None).await;
    assert_eq!(cinder(&admin, Method::DELETE, &format!("/types/{fast}"), None, None).await.status, 202);
    cinder(&admin, Method::DELETE, "/types/__DEFAULT__", None, None).await.assert_fault(400, "badRequest");

    // Quotas: shown with use, set by an admin, enforced with overLimit.
    let p = demo.project_id.clone();
    let r = get(&demo, &format!("/os-quota-sets/{p}?usage=true")).await;
    assert_eq!(r.body["quota_set"]["volumes"]["limit"], 10, "{}", r.body);
    assert_eq!(r.body["quota_set"]["volumes"]["in_use"], 0);
    assert!(r.body["quota_set"].get("volumes_SSD").is_some());
    let quota_path = format!("/volume/v3/{}/os-quota-sets/{p}", admin.project_id);
    let body = json!({"quota_set": {"volumes": 2, "gigabytes": 5, "volumes_SSD": 1}});
    let r = server.send(Method::PUT, &quota_path, &[("x-auth-token", &admin.token)], Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["quota_set"]["volumes"], 2);
    let denied = cinder(&demo, Method::PUT, &format!("/os-quota-sets/{p}"), None, Some(&body)).await;
    denied.assert_fault(403, "forbidden");
    create(&demo, json!({"size": 1, "volume_type": "SSD"})).await;
    let r = post(&demo, "/volumes", json!({"volume": {"size": 1, "volume_type": "SSD"}})).await;
    r.assert_fault(413, "overLimit");
    let r = post(&demo, "/volumes", json!({"volume": {"size": 5}})).await;
    assert!(r.assert_fault(413, "overLimit").contains("gigabytes"), "{}", r.body);
    create(&demo, json!({"size": 1})).await;
    post(&demo, "/volumes", json!({"volume": {"size": 1}})).await.assert_fault(413, "overLimit");
    // Nova's proxy counts against the same quota.
    let r = demo.post("/v2.1/os-volumes", None, &json!({"volume": {"size": 1}})).await;
    assert!(r.status.is_client_error(), "{}", r.body);
    let r = get(&demo, "/limits").await;
    let abs = &r.body["limits"]["absolute"];
    assert_eq!((abs["maxTotalVolumes"].as_i64(), abs["totalVolumesUsed"].as_i64()), (Some(2), Some(2)), "{abs}");
    assert_eq!(abs["totalGigabytesUsed"], 2);
    let r = get(&demo, &format!("/os-quota-sets/{p}/defaults")).await;
    assert_eq!(r.body["quota_set"]["volumes"], 10);
    let r = server.send(Method::DELETE, &quota_path, &[("x-auth-token", &admin.token)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(&demo, &format!("/os-quota-sets/{p}")).await.body["quota_set"]["volumes"], 10);
    get(&demo, &format!("/os-quota-sets/{}", admin.project_id)).await.assert_fault(403, "forbidden");
}
both!(types_quotas_limits);

async fn attachments_share_novas_rows(server: &TestServer) {
    let demo = server.demo().await;
    let vm = boot(&demo).await;
    // Nova attaches; Cinder lists the attachment and refuses deletes.
    let v = create(&demo, json!({"size": 1})).await["id"].as_str().unwrap().to_string();
    let path = format!("/v2.1/servers/{vm}/os-volume_attachments");
    let r = demo.post(&path, Some("2.79"), &json!({"volumeAttachment": {"volumeId": v}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for _ in 0..400 {
        if get(&demo, &format!("/volumes/{v}")).await.body["volume"]["status"] == "in-use" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let shown = get(&demo, &format!("/volumes/{v}")).await.body["volume"].clone();
    assert_eq!(shown["status"], "in-use");
    assert_eq!(shown["attachments"][0]["server_id"], vm.as_str());
    cinder(&demo, Method::GET, "/attachments", Some("3.26"), None).await.assert_fault(404, "itemNotFound");
    let r = cinder(&demo, Method::GET, "/attachments/detail", Some("3.27"), None).await;
    assert_eq!(r.body["attachments"][0]["volume_id"], v.as_str(), "{}", r.body);
    assert_eq!(r.body["attachments"][0]["status"], "attached");
    cinder(&demo, Method::DELETE, &format!("/volumes/{v}"), None, None).await.assert_fault(400, "badRequest");
    // Extend in use from 3.42 only; snapshots of it need force before 3.66.
    let action = format!("/volumes/{v}/action");
    let extend = json!({"os-extend": {"new_size": 2}});
    cinder(&demo, Method::POST, &action, Some("3.41"), Some(&extend)).await.assert_fault(400, "badRequest");
    assert_eq!(cinder(&demo, Method::POST, &action, Some("3.42"), Some(&extend)).await.status, 202);
    let snap = json!({"snapshot": {"volume_id": v}});
    post(&demo, "/snapshots", snap.clone()).await.assert_fault(400, "badRequest");
    let r = cinder(&demo, Method::POST, "/snapshots", Some("3.66"), Some(&snap)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let snap_id = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    cinder(&demo, Method::DELETE, &format!("/snapshots/{snap_id}"), None, None).await;
    assert_eq!(demo.delete(&format!("{path}/{v}"), None).await.status, 202);

    // Cinder attaches (reserve, connect, complete); Nova sees it.
    let w = create(&demo, json!({"size": 1})).await["id"].as_str().unwrap().to_string();
    let body = json!({"attachment": {"volume_uuid": w, "instance_uuid": vm}});
    let r = cinder(&demo, Method::POST, "/attachments", Some("3.44"), Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["attachment"]["status"], "reserved");
    let att = r.body["attachment"]["id"].as_str().unwrap().to_string();
    assert_eq!(get(&demo, &format!("/volumes/{w}")).await.body["volume"]["status"], "reserved");
    let again = cinder(&demo, Method::POST, "/attachments", Some("3.44"), Some(&body)).await;
    again.assert_fault(400, "badRequest");
    let connector = json!({"attachment": {"connector": {"host": "h", "initiator": "iqn"}}});
    let r = cinder(&demo, Method::PUT, &format!("/attachments/{att}"), Some("3.44"), Some(&connector)).await;
    assert_eq!(r.body["attachment"]["status"], "attaching", "{}", r.body);
    assert_eq!(r.body["attachment"]["connection_info"]["driver_volume_type"], "local");
    let complete = json!({"os-complete": {}});
    let r = cinder(&demo, Method::POST, &format!("/attachments/{att}/action"), Some("3.44"), Some(&complete)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(get(&demo, &format!("/volumes/{w}")).await.body["volume"]["status"], "in-use");
    let listed = demo.get(&path, None).await;
    let ids: Vec<&str> =
        listed.body["volumeAttachments"].as_array().unwrap().iter().map(|a| a["volumeId"].as_str().unwrap()).collect();
    assert!(ids.contains(&w.as_str()), "{}", listed.body);
    // Another project sees no such attachment.
    let admin = server.admin().await;
    let other = format!("/volume/v3/{}/attachments/{att}", admin.project_id);
    let r = server
        .send(Method::GET, &other, &[("x-auth-token", &admin.token), ("openstack-api-version", "volume 3.27")], None)
        .await;
    assert_eq!(r.status, 200, "an admin sees every project's: {}", r.body);
    let r = cinder(&demo, Method::DELETE, &format!("/attachments/{att}"), Some("3.27"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(&demo, &format!("/volumes/{w}")).await.body["volume"]["status"], "available");
    cinder(&demo, Method::GET, &format!("/attachments/{att}"), Some("3.27"), None)
        .await
        .assert_fault(404, "itemNotFound");
}
both!(attachments_share_novas_rows);

/// 64 parallel creates against a quota of 20: exactly 20 are made.
async fn volume_quota_is_exact_under_parallel_creates(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;
    let quota_path = format!("/volume/v3/os-quota-sets/{}", demo.project_id);
    let body = json!({"quota_set": {"volumes": 20}});
    let r = server.send(Method::PUT, &quota_path, &[("x-auth-token", &admin.token)], Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let creates = (0..64).map(|i| {
        let demo = &demo;
        async move { post(demo, "/volumes", json!({"volume": {"size": 1, "name": format!("q{i}")}})).await }
    });
    let replies = futures::future::join_all(creates).await;
    let made = replies.iter().filter(|r| r.status == 202).count();
    let over = replies.iter().filter(|r| r.status == 413 && r.body["overLimit"]["code"] == 413).count();
    assert_eq!((made, over), (20, 44), "{:?}", replies.iter().find(|r| r.status != 202 && r.status != 413));
    assert_eq!(get(&demo, "/volumes").await.body["volumes"].as_array().unwrap().len(), 20);
}
both!(volume_quota_is_exact_under_parallel_creates);
