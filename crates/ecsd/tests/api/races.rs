//! Races and hostile input (issue 14): the loser of a delete race is a 404
//! in its dialect's format, never a 500.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer, both};

/// How many clients delete the same thing at once.
const RACERS: usize = 8;

/// Sends `RACERS` copies of one request at once.
async fn race(s: &Session<'_>, method: Method, path: &str) -> Vec<Reply> {
    let headers = [("x-auth-token", s.token.as_str())];
    join_all((0..RACERS).map(|_| s.server.send(method.clone(), path, &headers, None))).await
}

/// Exactly one reply is `won`; every other passes `lost`.
fn one_wins(path: &str, replies: &[Reply], won: u16, lost: impl Fn(&Reply)) {
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == won).count(), 1, "{path}: {statuses:?}");
    for r in replies.iter().filter(|r| r.status.as_u16() != won) {
        lost(r);
    }
}

fn nova_404(r: &Reply) {
    r.assert_fault(404, "itemNotFound");
}

fn neutron_404(kind: &'static str) -> impl Fn(&Reply) {
    move |r: &Reply| {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.body["NeutronError"]["type"], kind, "{}", r.body);
    }
}

fn keystone_404(r: &Reply) {
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], 404, "{}", r.body);
}

fn ecs_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
}

fn ecs_404(r: &Reply) {
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body["error"]["code"].as_str().is_some_and(|c| c.starts_with("Ecs.")), "{}", r.body);
}

/// `POST` as `s` on any prefix; the reply must be `status`; returns the body.
async fn made(s: &Session<'_>, path: &str, body: Value, status: u16) -> Value {
    let r = s.server.send(Method::POST, path, &[("x-auth-token", &s.token)], Some(&body)).await;
    assert_eq!(r.status, status, "{path}: {}", r.body);
    r.body
}

fn id(body: &Value, key: &str) -> String {
    body[key]["id"].as_str().unwrap_or_else(|| panic!("no {key}.id in {body}")).to_string()
}

async fn concurrent_deletes(server: &TestServer) {
    let demo = server.demo().await;
    let admin = server.admin().await;

    // Neutron: ports, subnets, networks (each first, as they depend).
    let net = id(&made(&demo, "/networking/v2.0/networks", json!({"network": {"name": "race"}}), 201).await, "network");
    let subnet_body = json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/24"}});
    let subnet = id(&made(&demo, "/networking/v2.0/subnets", subnet_body, 201).await, "subnet");
    let port = id(&made(&demo, "/networking/v2.0/ports", json!({"port": {"network_id": net}}), 201).await, "port");
    for (path, kind) in [
        (format!("/networking/v2.0/ports/{port}"), "PortNotFound"),
        (format!("/networking/v2.0/subnets/{subnet}"), "SubnetNotFound"),
        (format!("/networking/v2.0/networks/{net}"), "NetworkNotFound"),
    ] {
        one_wins(&path, &race(&demo, Method::DELETE, &path).await, 204, neutron_404(kind));
    }

    // Nova security groups and their rules.
    let group = json!({"security_group": {"name": "race", "description": "d"}});
    let group = id(&made(&demo, "/v2.1/os-security-groups", group, 200).await, "security_group");
    let rule = json!({"security_group_rule": {"parent_group_id": group, "ip_protocol": "tcp", "from_port": 22,
        "to_port": 22, "cidr": "10.0.0.0/8"}});
    let rule = id(&made(&demo, "/v2.1/os-security-group-rules", rule, 200).await, "security_group_rule");
    for path in [format!("/v2.1/os-security-group-rules/{rule}"), format!("/v2.1/os-security-groups/{group}")] {
        one_wins(&path, &race(&demo, Method::DELETE, &path).await, 202, nova_404);
    }

    // Volumes and snapshots.
    let volume = id(&made(&demo, "/v2.1/os-volumes", json!({"volume": {"size": 1}}), 200).await, "volume");
    let snapshot = json!({"snapshot": {"volume_id": volume}});
    let snapshot = id(&made(&demo, "/v2.1/os-snapshots", snapshot, 200).await, "snapshot");
    for path in [format!("/v2.1/os-snapshots/{snapshot}"), format!("/v2.1/os-volumes/{volume}")] {
        one_wins(&path, &race(&demo, Method::DELETE, &path).await, 202, nova_404);
    }

    // Server groups, on the Nova and the ECS paths.
    let sg = json!({"server_group": {"name": "race", "policies": ["anti-affinity"]}});
    let nova_group = id(&made(&demo, "/v2.1/os-server-groups", sg.clone(), 200).await, "server_group");
    let path = format!("/v2.1/os-server-groups/{nova_group}");
    one_wins(&path, &race(&demo, Method::DELETE, &path).await, 204, nova_404);
    let ecs_groups = format!("/v1/{}/cloudservers/os-server-groups", demo.project_id);
    let ecs_group = id(&made(&demo, &ecs_groups, sg, 200).await, "server_group");
    let path = format!("{ecs_groups}/{ecs_group}");
    one_wins(&path, &race(&demo, Method::DELETE, &path).await, 204, ecs_404);

    // Floating IPs (from an external network), key pairs, images.
    let public = json!({"network": {"name": "public", "shared": true, "router:external": true}});
    let public = id(&made(&admin, "/networking/v2.0/networks", public, 201).await, "network");
    let pool = json!({"subnet": {"network_id": public, "cidr": "172.24.4.0/24"}});
    made(&admin, "/networking/v2.0/subnets", pool, 201).await;
    let fip = id(&made(&demo, "/v2.1/os-floating-ips", json!({"pool": "public"}), 200).await, "floating_ip");
    let path = format!("/v2.1/os-floating-ips/{fip}");
    one_wins(&path, &race(&demo, Method::DELETE, &path).await, 202, nova_404);
    made(&demo, "/v2.1/os-keypairs", json!({"keypair": {"name": "race", "public_key": crate::keypairs_vector()}}), 200)
        .await;
    let path = "/v2.1/os-keypairs/race";
    one_wins(path, &race(&demo, Method::DELETE, path).await, 202, nova_404);
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let path = format!("/v2.1/images/{image}");
    one_wins(&path, &race(&admin, Method::DELETE, &path).await, 204, nova_404);

    // Keystone users and projects.
    let user = json!({"user": {"name": "racer", "password": "secret-pw", "domain_id": "default"}});
    let user = id(&made(&admin, "/identity/v3/users", user, 201).await, "user");
    let project = json!({"project": {"name": "race", "domain_id": "default"}});
    let project = id(&made(&admin, "/identity/v3/projects", project, 201).await, "project");
    for path in [format!("/identity/v3/users/{user}"), format!("/identity/v3/projects/{project}")] {
        one_wins(&path, &race(&admin, Method::DELETE, &path).await, 204, keystone_404);
    }
}
both!(concurrent_deletes);

/// Boots an ACTIVE server with `networks` ("none", "auto" or a list).
async fn boot(s: &Session<'_>, networks: Value) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "racer", "flavorRef": "m1.tiny", "imageRef": image, "networks": networks}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let sid = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&sid, "ACTIVE").await;
    sid
}

/// A server's tag, or metadata item, deleted by many at once: one 204, the
/// rest 404 (a read-modify-write once let every one of them succeed).
async fn concurrent_item_deletes(server: &TestServer) {
    let demo = server.demo().await;
    let sid = boot(&demo, json!("none")).await;
    let path = format!("/v2.1/servers/{sid}/tags/doomed");
    assert_eq!(demo.put(&path, Some("2.26"), &Value::Null).await.status, 201);
    let replies = join_all((0..RACERS).map(|_| demo.nova(Method::DELETE, &path, Some("2.26"), None))).await;
    one_wins(&path, &replies, 204, nova_404);
    assert_eq!(demo.get(&format!("/v2.1/servers/{sid}/tags"), Some("2.26")).await.body, json!({"tags": []}));

    let metadata = format!("/v2.1/servers/{sid}/metadata");
    let r = demo.post(&metadata, None, &json!({"metadata": {"doomed": "1", "kept": "2"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let path = format!("{metadata}/doomed");
    one_wins(&path, &race(&demo, Method::DELETE, &path).await, 204, nova_404);
    assert_eq!(demo.get(&metadata, None).await.body, json!({"metadata": {"kept": "2"}}));
}
both!(concurrent_item_deletes);

/// Quotas are shown and kept only for projects Keystone knows (Nova's
/// `verify_project_id`): anything else is a 400, and nothing is stored.
async fn quotas_of_unknown_projects(server: &TestServer) {
    let admin = server.admin().await;
    let long = "p".repeat(10 * 1024);
    let junk = ["..%2F..%2Fetc%2Fpasswd", "%00", "a%0D%0Ab", long.as_str(), "8c4f1b2e-5a3d-4c8e-9f1a-2b3c4d5e6f70"];
    let set = json!({"quota_set": {"instances": 5}});
    for id in junk {
        let base = format!("/v2.1/os-quota-sets/{id}");
        let message = admin.put(&base, None, &set).await.assert_fault(400, "badRequest").to_string();
        assert!(message.starts_with("Project ID ") && message.ends_with(" is not a valid project."), "{message}");
        for path in [base.clone(), format!("{base}/detail"), format!("{base}/defaults")] {
            admin.get(&path, None).await.assert_fault(400, "badRequest");
        }
        // Nova clears quotas without asking Keystone (the project may be gone).
        assert_eq!(admin.delete(&base, None).await.status, 202);
    }
    // A known project still works, and the policy still comes first.
    let own = format!("/v2.1/os-quota-sets/{}", admin.project_id);
    assert_eq!(admin.get(&format!("{own}/defaults"), None).await.status, 200);
    assert_eq!(admin.put(&own, None, &set).await.body["quota_set"]["instances"], 5);
    let demo = server.demo().await;
    demo.get("/v2.1/os-quota-sets/no-such-project", None).await.assert_fault(403, "forbidden");
}
both!(quotas_of_unknown_projects);

/// A rule field of the wrong type is Nova's 400, never read as absent (a
/// `"cidr": 0` once opened the rule to 0.0.0.0/0); so are group bodies.
async fn security_group_field_types(server: &TestServer) {
    let demo = server.demo().await;
    let group = json!({"security_group": {"name": "typed", "description": "d"}});
    let group = id(&made(&demo, "/v2.1/os-security-groups", group, 200).await, "security_group");
    let rule = |fields: Value| {
        let mut r = json!({"parent_group_id": group, "ip_protocol": "tcp", "from_port": 22, "to_port": 22});
        r.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        json!({"security_group_rule": r})
    };
    for fields in [
        json!({"cidr": 0}),
        json!({"cidr": ["10.0.0.0/8"]}),
        json!({"cidr": true}),
        json!({"cidr": {"cidr": "10.0.0.0/8"}}),
        json!({"ip_protocol": 6}),
        json!({"ip_protocol": ["tcp"]}),
        json!({"from_port": true}),
        json!({"to_port": [22]}),
        json!({"from_port": 22.5}),
        json!({"group_id": 0}),
        json!({"group_id": [group]}),
        json!({"parent_group_id": 0}),
        json!({"parent_group_id": null}),
        json!({"parent_group_id": [group]}),
    ] {
        let r = demo.post("/v2.1/os-security-group-rules", None, &rule(fields.clone())).await;
        r.assert_fault(400, "badRequest");
    }
    let show = demo.get(&format!("/v2.1/os-security-groups/{group}"), None).await;
    assert_eq!(show.body["security_group"]["rules"], json!([]), "a refused rule was stored");
    // Absent (or null) is Nova's default, 0.0.0.0/0; a string is parsed.
    let r = demo.post("/v2.1/os-security-group-rules", None, &rule(json!({"cidr": null}))).await;
    assert_eq!(r.body["security_group_rule"]["ip_range"]["cidr"], "0.0.0.0/0", "{}", r.body);
    let r = demo.post("/v2.1/os-security-group-rules", None, &rule(json!({"cidr": "10.0.0.0/8"}))).await;
    assert_eq!(r.body["security_group_rule"]["ip_range"]["cidr"], "10.0.0.0/8", "{}", r.body);

    // Group bodies: name and description are strings of at most 255.
    for body in [
        json!({"name": 123, "description": "d"}),
        json!({"name": "n", "description": ["d"]}),
        json!({"name": null, "description": "d"}),
        json!({"name": "n".repeat(256), "description": "d"}),
        json!({"name": "n", "description": "d".repeat(256)}),
        json!({"name": "  ", "description": "d"}),
    ] {
        let body = json!({"security_group": body});
        demo.post("/v2.1/os-security-groups", None, &body).await.assert_fault(400, "badRequest");
        demo.put(&format!("/v2.1/os-security-groups/{group}"), None, &body).await.assert_fault(400, "badRequest");
    }
}
both!(security_group_field_types);

/// Device tags (`os-interface`, `os-volume_attachments`, a create's
/// `networks[]` and `block_device_mapping_v2[]`) follow Nova's tag schema:
/// a string of 1–60 characters without `/` or `,` (nor control characters).
async fn device_tags(server: &TestServer) {
    let demo = server.demo().await;
    let sid = boot(&demo, json!("auto")).await;
    let net = server.core().store_for_tests().network_list().await.unwrap().remove(0).id;
    let volume = id(&made(&demo, "/v2.1/os-volumes", json!({"volume": {"size": 1}}), 200).await, "volume");
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let bad = [
        json!(5),
        json!(["eth0"]),
        json!({}),
        json!(true),
        json!(""),
        json!("a/b"),
        json!("a,b"),
        json!("t".repeat(61)),
        json!("a\u{0}b"),
        json!("a\r\nb"),
    ];
    for tag in &bad {
        let nic = json!({"interfaceAttachment": {"net_id": net, "tag": tag}});
        let r = demo.post(&format!("/v2.1/servers/{sid}/os-interface"), Some("2.49"), &nic).await;
        r.assert_fault(400, "badRequest");
        let attach = json!({"volumeAttachment": {"volumeId": volume, "tag": tag}});
        let r = demo.post(&format!("/v2.1/servers/{sid}/os-volume_attachments"), Some("2.49"), &attach).await;
        r.assert_fault(400, "badRequest");
        let create = |extra: Value| {
            let mut s = json!({"name": "t", "flavorRef": "m1.tiny", "imageRef": image});
            s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!({"server": s})
        };
        let networks = create(json!({"networks": [{"uuid": net, "tag": tag}]}));
        demo.post("/v2.1/servers", Some("2.49"), &networks).await.assert_fault(400, "badRequest");
        let bdm = create(json!({"networks": "none", "block_device_mapping_v2": [{"source_type": "image",
            "uuid": image, "boot_index": 0, "destination_type": "local", "tag": tag}]}));
        demo.post("/v2.1/servers", Some("2.49"), &bdm).await.assert_fault(400, "badRequest");
    }
    assert_eq!(
        demo.get(&format!("/v2.1/servers/{sid}/os-interface"), None).await.body["interfaceAttachments"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a refused NIC was attached"
    );
    // A good tag is taken.
    let nic = json!({"interfaceAttachment": {"net_id": net, "tag": "data-nic"}});
    let r = demo.post(&format!("/v2.1/servers/{sid}/os-interface"), Some("2.49"), &nic).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
both!(device_tags);

/// Tags with control characters are refused in each dialect's format (they
/// were stored, then the `Location` echoing them failed as text/plain), and
/// a `Location` holds the tag percent-encoded.
async fn tag_characters(server: &TestServer) {
    let demo = server.demo().await;
    let sid = boot(&demo, json!("none")).await;
    let tags = format!("/v2.1/servers/{sid}/tags");
    for raw in ["%0D%0A", "%00", "a%0Ab", "%7F", "a%2Fb", "a,b"] {
        let r = demo.put(&format!("{tags}/{raw}"), Some("2.26"), &Value::Null).await;
        let message = r.assert_fault(400, "badRequest");
        assert!(message.starts_with("Tag '"), "{message}");
        // Nothing of the kind exists: 404, never a 500 (PostgreSQL cannot
        // compare a NUL).
        demo.get(&format!("{tags}/{raw}"), Some("2.26")).await.assert_fault(404, "itemNotFound");
        demo.delete(&format!("{tags}/{raw}"), Some("2.26")).await.assert_fault(404, "itemNotFound");
    }
    for bad in [json!(["a\r\nb"]), json!(["\u{0}"]), json!([5]), json!(["ok", ["nested"]])] {
        demo.put(&tags, Some("2.26"), &json!({"tags": bad})).await.assert_fault(400, "badRequest");
    }
    assert_eq!(demo.get(&tags, Some("2.26")).await.body, json!({"tags": []}));

    // Printable tags are taken; the Location is a valid, encoded URL.
    let r = demo.put(&format!("{tags}/a%20b"), Some("2.26"), &Value::Null).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.header("location").unwrap().ends_with(&format!("/servers/{sid}/tags/a%20b")), "{:?}", r.headers);
    let r = demo.put(&format!("{tags}/%C3%A9t%C3%A9"), Some("2.26"), &Value::Null).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.header("location").unwrap().ends_with("/tags/%C3%A9t%C3%A9"), "{:?}", r.headers);
    assert_eq!(demo.get(&tags, Some("2.26")).await.body, json!({"tags": ["a b", "été"]}));

    // A create's tags.
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let create = json!({"server": {"name": "t", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none",
        "tags": ["fine", "not\r\nfine"]}});
    demo.post("/v2.1/servers", Some("2.52"), &create).await.assert_fault(400, "badRequest");

    // ECS 2D tags: create, delete and filter keys and values.
    let ecs = format!("/v1/{}/cloudservers/{sid}/tags/action", demo.project_id);
    for (action, tag) in [
        ("create", json!({"key": "a\r\nb", "value": "v"})),
        ("create", json!({"key": "k", "value": "v\u{0}"})),
        ("delete", json!({"key": "a\r\nb"})),
        ("delete", json!({"key": "k", "value": "\u{0}"})),
    ] {
        let r = demo.post(&ecs, None, &json!({"action": action, "tags": [tag]})).await;
        ecs_error(&r, 400, "Ecs.0907");
    }
    let filter = format!("/v1/{}/cloudservers/resource_instances/action", demo.project_id);
    let r = demo.post(&filter, None, &json!({"action": "filter", "tags": [{"key": "\u{0}"}]})).await;
    ecs_error(&r, 400, "Ecs.0907");
    let v11 = format!("/v1.1/{}/cloudservers", demo.project_id);
    let store = server.core().store_for_tests();
    let vpc = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let subnet = store.subnet_list(&vpc).await.unwrap().remove(0).id;
    let r = demo
        .post(
            &v11,
            None,
            &json!({"server": {"name": "t", "imageRef": image, "flavorRef": "s3.small.1",
            "vpcid": vpc, "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"},
            "server_tags": [{"key": "k", "value": 5}]}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("server_tags"), "{}", r.body);
    assert_eq!(demo.get(&tags, Some("2.26")).await.body, json!({"tags": ["a b", "été"]}));
}
both!(tag_characters);

/// A microversion with non-ASCII characters is malformed (Nova's 400), not
/// an absent header served as 2.1.
async fn non_ascii_microversions(server: &TestServer) {
    let demo = server.demo().await;
    for (name, value) in [
        ("openstack-api-version", "compute ☃"),
        ("openstack-api-version", "compute ２.１"),
        ("openstack-api-version", "compute 2.⁵"),
        ("x-openstack-nova-api-version", "☃"),
        ("x-openstack-nova-api-version", "２.１"),
    ] {
        let r = server.send(Method::GET, "/v2.1/servers", &[("x-auth-token", &demo.token), (name, value)], None).await;
        let message = r.assert_fault(400, "badRequest");
        assert!(message.contains("is of invalid format"), "{name}: {value}: {message}");
        assert_eq!(r.header("openstack-api-version"), Some("compute 2.1"));
    }
    let r = server
        .send(
            Method::GET,
            "/v2.1/servers",
            &[("x-auth-token", &demo.token), ("openstack-api-version", "compute 2.5")],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.5"));
}
both!(non_ascii_microversions);

/// An id with a NUL names nothing, on PostgreSQL as on SQLite: a 4xx on
/// every route, never a 500 (PostgreSQL refuses the parameter outright).
async fn nul_ids_name_nothing(server: &TestServer) {
    let demo = server.demo().await;
    let p = demo.project_id.clone();
    let mut paths: Vec<String> = [
        "/v2.1/servers/%00",
        "/v2.1/os-volumes/%00",
        "/v2.1/os-snapshots/%00",
        "/v2.1/os-server-groups/%00",
        "/v2.1/os-security-groups/%00",
        "/v2.1/os-security-group-rules/%00",
        "/v2.1/flavors/%00",
        "/v2.1/os-keypairs/%00",
        "/v2.1/images/%00",
        "/v2.1/os-floating-ips/%00",
        "/networking/v2.0/networks/%00",
        "/networking/v2.0/ports/%00",
        "/networking/v2.0/subnets/%00",
        "/identity/v3/projects/%00",
        "/identity/v3/users/%00",
        "/image/v2/images/%00",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    paths.extend([
        format!("/v1/{p}/cloudservers/%00"),
        format!("/v1/{p}/jobs/%00"),
        format!("/v1/{p}/cloudservers/os-server-groups/%00"),
    ]);
    let mut served = Vec::new();
    for path in &paths {
        for method in [Method::GET, Method::DELETE] {
            let r = server.send(method.clone(), path, &[("x-auth-token", &demo.token)], None).await;
            if !r.status.is_client_error() {
                served.push(format!("{method} {path}: {} {}", r.status, r.body));
            }
        }
    }
    let filter = json!({"action": "filter", "matches": [{"key": "resource_name", "value": "\u{0}"}]});
    let r = demo.post(&format!("/v1/{p}/cloudservers/resource_instances/action"), None, &filter).await;
    assert!(!r.status.is_server_error(), "{}", r.body);
    assert!(served.is_empty(), "{served:#?}");
}
both!(nul_ids_name_nothing);
