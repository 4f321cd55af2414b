//! The changes of one server on the ECS-native paths the Huawei SDK calls
//! (UpdateServer, UpdateServerMetadata, DeleteServerMetadata,
//! ShowServerConsoleOutput, UpdateServerBlockDevice), and the views it
//! reads: ServerDetail's `network_interfaces` and `hypervisor`,
//! ListCloudServers (v1.1) and `attachableQuantity`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

fn ecs_error(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), r.body["error"]["code"].as_str()), (status, Some(code)), "{}", r.body);
    assert!(r.header("x-request-id").is_some(), "no X-Request-Id");
}

async fn send(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.server.send(method, path, &[("x-auth-token", s.token.as_str())], body).await
}

/// An ECS server with a data disk, ACTIVE; its id.
async fn ecs_server(server: &TestServer, s: &Session<'_>, name: &str) -> String {
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let vpc = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let subnet = store.subnet_list(&vpc).await.unwrap().remove(0).id;
    let body = json!({"server": {
        "name": name, "imageRef": image, "flavorRef": "s3.small.1", "vpcid": vpc,
        "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"},
        "data_volumes": [{"volumetype": "SAS", "size": 10}],
    }});
    let r = s.post(&format!("/v1.1/{}/cloudservers", s.project_id), None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["serverIds"][0].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

async fn edits(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let id = ecs_server(server, &demo, "edit-me").await;
    let at = format!("/v1/{p}/cloudservers/{id}");

    // UpdateServer: name, description, hostname; the answer is the server.
    let body = json!({"server": {"name": "edited", "description": "an ECS", "hostname": "edited-host"}});
    let r = send(&demo, Method::PUT, &at, Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["server"];
    assert_eq!((s["name"].as_str(), s["description"].as_str()), (Some("edited"), Some("an ECS")), "{s}");
    assert_eq!(s["OS-EXT-SRV-ATTR:hostname"], "edited-host");
    assert_eq!(s["flavor"]["id"], "s3.small.1");
    assert!(s["addresses"].as_object().unwrap().values().all(|l| l[0]["version"] == 4), "{s}");
    let shown = demo.get(&at, None).await;
    assert_eq!(shown.body["server"]["name"], "edited");
    for bad in [json!({"server": {"name": ""}}), json!({"server": {"name": "a/b"}})] {
        ecs_error(&send(&demo, Method::PUT, &at, Some(&bad)).await, 400, "Ecs.0914");
    }
    let long = "x".repeat(86);
    for bad in [json!({"server": {"description": long}}), json!({"server": "x"}), json!({"x": 1})] {
        ecs_error(&send(&demo, Method::PUT, &at, Some(&bad)).await, 400, "Ecs.0005");
    }
    let other = format!("/v1/{p}/cloudservers/{}", uuid::Uuid::new_v4());
    ecs_error(&send(&demo, Method::PUT, &other, Some(&body)).await, 404, "Ecs.0114");

    // Metadata: set some keys (the others stay), delete one.
    let r = demo.post(&format!("{at}/metadata"), None, &json!({"metadata": {"a": "1", "b": "2"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["metadata"]["a"].as_str(), r.body["metadata"]["b"].as_str()), (Some("1"), Some("2")));
    let r = demo.post(&format!("{at}/metadata"), None, &json!({"metadata": {"a": "3"}})).await;
    assert_eq!((r.body["metadata"]["a"].as_str(), r.body["metadata"]["b"].as_str()), (Some("3"), Some("2")));
    let r = send(&demo, Method::DELETE, &format!("{at}/metadata/a"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let meta = demo.get(&at, None).await.body["server"]["metadata"].clone();
    assert!(meta.get("a").is_none() && meta["b"] == "2", "{meta}");
    ecs_error(&demo.post(&format!("{at}/metadata"), None, &json!({"metadata": {"a": 1}})).await, 400, "Ecs.0005");
    ecs_error(&demo.post(&format!("{at}/metadata"), None, &json!({"metadata": []})).await, 400, "Ecs.0005");

    // The console log, all of it or its last lines.
    let r = demo.get(&format!("{at}/console-output"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = r.body["output"].as_str().unwrap().to_string();
    assert!(all.lines().count() > 2, "{all}");
    // Nova's tail: the last lines as split at newlines.
    let r = demo.get(&format!("{at}/console-output?length=3"), None).await;
    let tail = r.body["output"].as_str().unwrap();
    assert!(!tail.is_empty() && tail.len() < all.len() && all.ends_with(tail), "{tail:?}");
    ecs_error(&demo.get(&format!("{at}/console-output?length=x"), None).await, 400, "Ecs.0005");

    // A data disk's delete_on_termination.
    let r = demo.get(&format!("{at}/block_device"), None).await;
    assert_eq!(r.body["attachableQuantity"], json!({"free_scsi": 23, "free_blk": 15, "free_disk": 23}), "{}", r.body);
    let data = r.body["volumeAttachments"].as_array().unwrap().iter().find(|a| a["bootIndex"] != 0).unwrap().clone();
    let volume = data["volumeId"].as_str().unwrap();
    let dot = |v: Value| json!({"block_device": {"delete_on_termination": v}});
    let r = send(&demo, Method::PUT, &format!("{at}/block_device/{volume}"), Some(&dot(json!(true)))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let attached = demo.get(&at, None).await.body["server"]["os-extended-volumes:volumes_attached"].clone();
    let row = attached.as_array().unwrap().iter().find(|v| v["id"] == volume).unwrap().clone();
    assert_eq!(row["delete_on_termination"], "true", "{attached}");
    ecs_error(
        &send(&demo, Method::PUT, &format!("{at}/block_device/{volume}"), Some(&dot(json!("x")))).await,
        400,
        "Ecs.0005",
    );
    let missing = uuid::Uuid::new_v4();
    ecs_error(
        &send(&demo, Method::PUT, &format!("{at}/block_device/{missing}"), Some(&dot(json!(true)))).await,
        400,
        "Ecs.0111",
    );
    // The system disk's setting stays (Huawei: "System disks cannot be modified").
    let r = demo.get(&format!("{at}/block_device"), None).await;
    let system = r.body["volumeAttachments"].as_array().unwrap().iter().find(|a| a["bootIndex"] == 0).unwrap().clone();
    let path = format!("{at}/block_device/{}", system["volumeId"].as_str().unwrap());
    ecs_error(&send(&demo, Method::PUT, &path, Some(&dot(json!(false)))).await, 400, "Ecs.0005");

    // Without credentials: 401.
    let r = server.send(Method::PUT, &at, &[], Some(&body)).await;
    assert_eq!(r.status, 401, "{}", r.body);
}
both!(edits);

async fn views(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let a = ecs_server(server, &demo, "view-a").await;
    let b = ecs_server(server, &demo, "view-b").await;

    // ServerDetail: a NIC per port, on its VPC subnet (the network), the hypervisor.
    let s = demo.get(&format!("/v1/{p}/cloudservers/{a}"), None).await.body["server"].clone();
    let nic = &s["network_interfaces"][0];
    let port = &s["addresses"].as_object().unwrap().values().next().unwrap()[0];
    assert_eq!(nic["port_id"], port["OS-EXT-IPS:port_id"], "{s}");
    assert_eq!(nic["ip_addresses"], json!([port["addr"]]), "{s}");
    assert_eq!((nic["primary"].as_bool(), nic["ipv6_addresses"].clone()), (Some(true), json!([])), "{s}");
    let port_id = nic["port_id"].as_str().unwrap();
    let network = demo.get(&format!("/networking/v2.0/ports/{port_id}"), None).await.body["port"]["network_id"].clone();
    assert_eq!(nic["subnet_id"], network, "{s}");
    assert_eq!(s["hypervisor"]["hypervisor_type"], "kvm");

    // ListCloudServers: flat, with integer flavor fields and disk sizes, paged by marker.
    let r = demo.get(&format!("/v1.1/{p}/cloudservers/detail?limit=1"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["request_id"].as_str().unwrap().starts_with("req-"));
    let first = r.body["servers"][0].clone();
    assert_eq!(first["flavor"]["vcpus"].as_i64(), Some(1), "{first}");
    assert_eq!(first["market_info"]["charge_mode"], "postPaid");
    assert_eq!((first["vm_state"].as_str(), first["power_state"].as_i64()), (Some("active"), Some(1)));
    let sizes: Vec<i64> =
        first["volumes_attached"].as_array().unwrap().iter().map(|v| v["size"].as_i64().unwrap()).collect();
    assert!(sizes.contains(&10), "{first}");
    let next = r.body["servers_links"][0]["href"].as_str().unwrap();
    let marker = next.split("marker=").nth(1).unwrap();
    let r = demo.get(&format!("/v1.1/{p}/cloudservers/detail?limit=1&marker={marker}"), None).await;
    let second = r.body["servers"][0]["id"].as_str().unwrap();
    let mut both = [first["id"].as_str().unwrap(), second];
    both.sort();
    let mut ids = [a.as_str(), b.as_str()];
    ids.sort();
    assert_eq!(both, ids);
    assert_eq!(r.body["servers_links"], json!([]), "{}", r.body);
    let r = demo.get(&format!("/v1.1/{p}/cloudservers/detail?name=view-b"), None).await;
    assert_eq!(r.body["servers"].as_array().unwrap().len(), 1);
    let r = demo.get(&format!("/v1/{p}/cloudservers/{b}/metadata"), None).await;
    assert_eq!(r.status, 405, "{}", r.body);
    let r = demo.post(&format!("/v1/{p}/cloudservers/{b}/metadata"), None, &json!({"metadata": {"tier": "db"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (query, n) in [
        ("metadata-key=tier", 1),
        ("metadata=tier|db", 1),
        ("metadata=tier|web", 0),
        ("charging_mode=postPaid", 2),
        ("charging_mode=prePaid", 0),
        ("not-tags=x", 2),
        ("flavor_name=s3.small.1", 2),
    ] {
        let r = demo.get(&format!("/v1.1/{p}/cloudservers/detail?{query}"), None).await;
        assert_eq!(r.body["servers"].as_array().unwrap().len(), n, "{query}: {}", r.body);
    }
    let r = demo.get(&format!("/v1.1/{p}/cloudservers/detail?in_recycle_bin=true"), None).await;
    assert_eq!(r.body["servers"], json!([]));
    ecs_error(&demo.get(&format!("/v1.1/{p}/cloudservers/detail?limit=0"), None).await, 400, "Ecs.0005");

    // Flavors say what a new server of theirs can take (NICs: its instance_vnic:max_count).
    let r = demo.get(&format!("/v1/{p}/cloudservers/flavors"), None).await;
    let f = r.body["flavors"].as_array().unwrap().iter().find(|f| f["id"] == "s3.small.1").unwrap().clone();
    assert_eq!(f["attachableQuantity"], json!({"free_scsi": 24, "free_blk": 16, "free_disk": 24, "free_nic": 4}));
    assert_eq!(f["os_extra_specs"]["instance_vnic:max_count"], "4");
}
both!(views);
