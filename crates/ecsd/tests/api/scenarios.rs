//! Fault scenarios (`/admin/v1/scenario`, `ecsd serve --scenario`) and the
//! metadata triggers: each trigger fires exactly when it says, and only
//! an admin may load a scenario, a well-formed one.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Session, TestServer, both};

const PATH: &str = "/admin/v1/scenario";

async fn load(admin: &Session<'_>, scenario: &Value) -> crate::Reply {
    admin.server.send(Method::PUT, PATH, &[("x-auth-token", &admin.token)], Some(scenario)).await
}

async fn report(admin: &Session<'_>) -> Value {
    let r = admin.server.send(Method::GET, PATH, &[("x-auth-token", &admin.token)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A Nova create (admin: on `host` if given, microversion 2.74).
async fn nova_boot(s: &Session<'_>, name: &str, host: Option<&str>, metadata: Value) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let mut body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none",
        "metadata": metadata}});
    if let Some(host) = host {
        body["server"]["host"] = json!(host);
    }
    let r = s.post("/v2.1/servers", Some("2.74"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["server"]["id"].as_str().unwrap().to_string()
}

async fn settled(s: &Session<'_>, id: &str) -> Value {
    s.wait_server(id, |r| !matches!(r.body["server"]["status"].as_str(), Some("BUILD" | "REBOOT" | "HARD_REBOOT")))
        .await
        .body["server"]
        .clone()
}

/// An ECS create body on the seeded network.
async fn ecs_body(server: &TestServer, name: &str, flavor: &str, metadata: Value) -> Value {
    let store = &server.core().store_for_tests();
    let image = store.image_list().await.unwrap().remove(0).id;
    let network = store.network_list().await.unwrap().into_iter().find(|n| !n.external).unwrap().id;
    let subnet = store.subnet_list(&network).await.unwrap().remove(0).id;
    let vpc = server.core().vpc_of_networks().await.unwrap().remove(&network).expect("the seed's VPC");
    json!({"server": {"name": name, "imageRef": image, "flavorRef": flavor, "vpcid": vpc,
        "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"}, "metadata": metadata}})
}

async fn ecs_create(s: &Session<'_>, body: &Value) -> crate::Reply {
    let path = format!("/v1/{}/cloudservers", s.project_id);
    s.server.send(Method::POST, &path, &[("x-auth-token", &s.token)], Some(body)).await
}

/// The sub-job of a finished ECS create job.
async fn ecs_sub_job(s: &Session<'_>, reply: &crate::Reply) -> Value {
    let job = s.finished_job_of(reply).await;
    job["entities"]["sub_jobs"][0].clone()
}

async fn third_create_on_a_host_finds_no_valid_host(server: &TestServer) {
    let admin = server.admin().await;
    let rule = json!({"rules": [{"name": "3rd on host 1", "op": "create", "host": "sim-host-1", "nth": 3,
        "no_valid_host": true}]});
    let r = load(&admin, &rule).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rules"][0]["pending"], true, "{}", r.body);
    // Another host's creates do not count.
    let elsewhere = nova_boot(&admin, "elsewhere", Some("sim-host-2"), json!({})).await;
    assert_eq!(settled(&admin, &elsewhere).await["status"], "ACTIVE");
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let id = nova_boot(&admin, &format!("pinned-{i}"), Some("sim-host-1"), json!({})).await;
        let view = settled(&admin, &id).await;
        assert_eq!(view["OS-EXT-SRV-ATTR:host"], if i == 3 { json!(null) } else { json!("sim-host-1") }, "{view}");
        if i == 3 {
            let fault = view["fault"]["message"].as_str().unwrap_or_default();
            assert!(fault.starts_with("No valid host was found"), "{view}");
        }
        statuses.push(view["status"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses, ["ACTIVE", "ACTIVE", "ERROR", "ACTIVE"]);
    let rule = &report(&admin).await["rules"][0];
    assert_eq!((rule["seen"].as_u64(), rule["fired"].as_u64(), &rule["pending"]), (Some(4), Some(1), &json!(false)));
    assert_eq!(rule["rule"]["host"], "sim-host-1", "{rule}");

    // The ECS job of such a build fails with the seed's code for it.
    let demo = server.demo().await;
    let r = load(&admin, &json!({"rules": [{"op": "create", "no_valid_host": true, "times": 1}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = ecs_create(&demo, &ecs_body(server, "ecs-nvh", "s3.small.1", json!({})).await).await;
    let sub = ecs_sub_job(&demo, &r).await;
    assert_eq!(sub["status"], "FAIL", "{sub}");
    assert_eq!(sub["error_code"], "Ecs.0319", "{sub}");
    // `times: 1`: the next one builds.
    let r = ecs_create(&demo, &ecs_body(server, "ecs-ok", "s3.small.1", json!({})).await).await;
    assert_eq!(ecs_sub_job(&demo, &r).await["status"], "SUCCESS");
}
both!(third_create_on_a_host_finds_no_valid_host);

async fn every_fifth_request_to_a_route_is_503(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let rules = json!({"rules": [
        {"route": "GET /v2.1/flavors/{flavor_id}", "every": 5},
        {"route": "GET /v1/{project_id}/cloudservers/detail", "nth": 2, "status": 500},
    ]});
    let r = load(&admin, &rules).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut answers = Vec::new();
    for _ in 0..10 {
        // With the project in the path too: the rule is on the route as routed.
        let r = demo.get(&format!("/v2.1/{}/flavors/m1.tiny", demo.project_id), None).await;
        assert!(r.header("x-openstack-request-id").is_some_and(|id| id.starts_with("req-")));
        if r.status == 503 {
            let message = r.assert_fault(503, "serviceUnavailable");
            assert!(message.contains("scenario"), "{message}");
        } else {
            assert_eq!(r.body["flavor"]["id"], "m1.tiny", "{}", r.body);
        }
        answers.push(r.status.as_u16());
    }
    assert_eq!(answers, [200, 200, 200, 200, 503, 200, 200, 200, 200, 503]);
    // Other routes are not counted.
    assert_eq!(demo.get("/v2.1/flavors", None).await.status, 200);

    // The ECS route answers in the ECS format, on exactly the 2nd request.
    let path = format!("/v1/{}/cloudservers/detail", demo.project_id);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let r = server.send(Method::GET, &path, &[("x-auth-token", &demo.token)], None).await;
        if r.status == 500 {
            assert!(r.body["error"]["code"].is_string(), "{}", r.body);
            assert!(r.header("x-request-id").is_some());
        }
        answers.push(r.status.as_u16());
    }
    assert_eq!(answers, [200, 500, 200]);

    let rules = report(&admin).await["rules"].clone();
    assert_eq!((rules[0]["seen"].as_u64(), rules[0]["fired"].as_u64()), (Some(10), Some(2)), "{rules}");
    assert_eq!((rules[1]["seen"].as_u64(), rules[1]["fired"].as_u64()), (Some(3), Some(1)), "{rules}");
    assert_eq!(rules[1]["rule"]["route"], "GET /v1/{project_id}/cloudservers/detail");

    // A route ecsd does not have is refused, naming the rule.
    let r = load(&admin, &json!({"rules": [{"route": "GET /v2.1/no-such-thing/{id}", "every": 2}]})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "rules[0].route", "{}", r.body);
    let r = load(&admin, &json!({"rules": [{"route": "DELETE /v2.1/flavors", "every": 2}]})).await;
    assert_eq!(r.body["error"]["field"], "rules[0].route", "{}", r.body);
    // The loaded one stays, and clearing it ends the 503s.
    assert_eq!(report(&admin).await["rules"].as_array().unwrap().len(), 2);
    let r = server.send(Method::DELETE, PATH, &[("x-auth-token", &admin.token)], None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    for _ in 0..5 {
        assert_eq!(demo.get("/v2.1/flavors/m1.tiny", None).await.status, 200);
    }
    assert_eq!(report(&admin).await["rules"], json!([]));
}
both!(every_fifth_request_to_a_route_is_503);

async fn host_goes_down_after_its_delay(server: &TestServer) {
    let admin = server.admin().await;
    let r = load(&admin, &json!({"rules": [{"after_ms": 1000, "host_down": "sim-host-2"}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let started = Instant::now();
    let rule = &r.body["rules"][0];
    assert_eq!(rule["pending"], true, "{rule}");
    assert!(rule["due_in_ms"].as_u64().unwrap() > 500, "{rule}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.sim().hosts_down().is_empty());
    while !server.sim().hosts_down().contains(&"sim-host-2".to_string()) {
        assert!(started.elapsed() < Duration::from_secs(5), "the host did not go down");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
    let rule = &report(&admin).await["rules"][0];
    assert_eq!((rule["fired"].as_u64(), &rule["pending"]), (Some(1), &json!(false)), "{rule}");

    // It comes back when a rule says so.
    let r = load(&admin, &json!({"rules": [{"after_ms": 200, "host_up": "sim-host-2"}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let started = Instant::now();
    while !server.sim().hosts_down().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(5), "the host did not come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A timed rule of a scenario replaced or cleared before its time does nothing.
    assert_eq!(load(&admin, &json!({"rules": [{"after_ms": 300, "host_down": "sim-host-3"}]})).await.status, 200);
    let r = server.send(Method::DELETE, PATH, &[("x-auth-token", &admin.token)], None).await;
    assert_eq!(r.status, 204);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(server.sim().hosts_down().is_empty());
}
both!(host_goes_down_after_its_delay);

async fn flavor_rule_answers_the_ecs_code(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let rule = json!({"rules": [{"request": "create", "flavor": "s3.small.1", "error": "Ecs.0023"}]});
    assert_eq!(load(&admin, &rule).await.status, 200);
    let r = ecs_create(&demo, &ecs_body(server, "refused", "s3.small.1", json!({})).await).await;
    crate::assert_ecs_error(&r, 400, "Ecs.0023");
    assert_eq!(r.body["error"]["message"], "project_id in token mismatches with project_id in url.");
    // Another flavor is not refused.
    let r = ecs_create(&demo, &ecs_body(server, "other", "s3.medium.2", json!({})).await).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // On Nova's path: a 400 with the message.
    let image = server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "nova", "flavorRef": "s3.small.1", "imageRef": image, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    let message = r.assert_fault(400, "badRequest");
    assert!(message.contains("Ecs.0023"), "{message}");
    let rule = &report(&admin).await["rules"][0];
    assert_eq!((rule["seen"].as_u64(), rule["fired"].as_u64()), (Some(2), Some(2)), "{rule}");

    // With a message of its own, and only the nth time.
    let rule = json!({"rules": [{"request": "create", "flavor": "s3.small.1", "nth": 2, "error": "Ecs.0319",
        "message": "sold out"}]});
    assert_eq!(load(&admin, &rule).await.status, 200);
    let body = ecs_body(server, "nth", "s3.small.1", json!({})).await;
    assert_eq!(ecs_create(&demo, &body).await.status, 200);
    let r = ecs_create(&demo, &body).await;
    crate::assert_ecs_error(&r, 400, "Ecs.0319");
    assert_eq!(r.body["error"]["message"], "sold out");
    assert_eq!(ecs_create(&demo, &body).await.status, 200);

    // Nova answers with the status of the code's row: Ecs.0069 is a 403.
    let rule = json!({"rules": [{"request": "create", "server_name": "unpaid", "error": "Ecs.0069"}]});
    assert_eq!(load(&admin, &rule).await.status, 200);
    let body = json!({"server": {"name": "unpaid", "flavorRef": "s3.small.1", "imageRef": image, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    let message = r.assert_fault(403, "forbidden");
    assert!(message.contains("Ecs.0069"), "{message}");
}
both!(flavor_rule_answers_the_ecs_code);

async fn metadata_triggers(server: &TestServer) {
    let demo = server.demo().await;
    // The build fails with the message given.
    let id = nova_boot(&demo, "doomed", None, json!({"ecsd:fail-build": "disk on fire"})).await;
    let view = settled(&demo, &id).await;
    assert_eq!(view["status"], "ERROR", "{view}");
    assert_eq!(view["fault"]["message"], "disk on fire", "{view}");
    // No valid host.
    let id = nova_boot(&demo, "homeless", None, json!({"ecsd:no-valid-host": ""})).await;
    let view = settled(&demo, &id).await;
    assert!(view["fault"]["message"].as_str().unwrap_or_default().starts_with("No valid host was found"), "{view}");
    // The same through ECS: the job fails with the create's code.
    let r = ecs_create(&demo, &ecs_body(server, "ecs-doomed", "s3.small.1", json!({"ecsd:fail-build": "boom"})).await)
        .await;
    let sub = ecs_sub_job(&demo, &r).await;
    assert_eq!(
        (&sub["status"], &sub["error_code"], &sub["fail_reason"]),
        (&json!("FAIL"), &json!("Ecs.0204"), &json!("boom"))
    );
    // A slow build.
    let started = Instant::now();
    let id = nova_boot(&demo, "slow", None, json!({"ecsd:build-latency-ms": "700"})).await;
    assert_eq!(settled(&demo, &id).await["status"], "ACTIVE");
    assert!(started.elapsed() >= Duration::from_millis(700), "{:?}", started.elapsed());
    // An action that fails; others on the same server do not.
    let id = nova_boot(&demo, "stubborn", None, json!({"ecsd:fail-reboot": "will not reboot"})).await;
    assert_eq!(settled(&demo, &id).await["status"], "ACTIVE");
    let action = |body: Value| {
        let demo = &demo;
        let id = id.clone();
        async move { demo.post(&format!("/v2.1/servers/{id}/action"), None, &body).await }
    };
    assert_eq!(action(json!({"os-stop": null})).await.status, 202);
    demo.wait_status(&id, "SHUTOFF").await;
    assert_eq!(action(json!({"os-start": null})).await.status, 202);
    demo.wait_status(&id, "ACTIVE").await;
    assert_eq!(action(json!({"reboot": {"type": "SOFT"}})).await.status, 202);
    let view = settled(&demo, &id).await;
    assert_eq!(view["status"], "ERROR", "{view}");
    assert_eq!(view["fault"]["message"], "will not reboot", "{view}");
    // Real metadata triggers nothing.
    let id = nova_boot(&demo, "plain", None, json!({"fail-build": "x", "ecsd": "y"})).await;
    assert_eq!(settled(&demo, &id).await["status"], "ACTIVE");
}
both!(metadata_triggers);

async fn scenario_api_is_admin_only_and_checked(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let good = json!({"rules": [{"op": "reboot", "latency_ms": 10}]});
    assert_eq!(load(&admin, &good).await.status, 200);

    let r = server.send(Method::GET, PATH, &[], None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let other = json!({"rules": [{"op": "spawn", "fail": "x"}]});
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let r = server.send(method, PATH, &[("x-auth-token", &demo.token)], Some(&other)).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "Forbidden", "{}", r.body);
    }
    assert_eq!(report(&admin).await["rules"][0]["rule"], json!({"op": "reboot", "latency_ms": 10}));

    for (doc, field, reason) in [
        (json!({"rules": [{"op": "explode", "fail": "x"}]}), "rules[0].op", "unknown operation `explode`"),
        (
            json!({"rules": [good["rules"][0].clone(), {"op": "reboot", "nth": 0, "fail": "x"}]}),
            "rules[1].nth",
            "nonzero",
        ),
        (json!({"rules": [{"request": "create", "error": "Ecs.9999"}]}), "rules[0].error", "not an ECS error code"),
        (json!({"rules": [{"op": "reboot", "error": "Ecs.0023"}]}), "rules[0]", "a rule on an operation"),
        (json!({"rules": [{"after_ms": 5}]}), "rules[0]", "`host_down` or `host_up`"),
        (json!({"rules": [{"op": "reboot", "fial": "x"}]}), "rules[0].fial", "unknown field `fial`"),
        (json!({"rulez": []}), "rulez", "unknown field `rulez`"),
    ] {
        let r = load(&admin, &doc).await;
        assert_eq!(r.status, 400, "{doc}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "InvalidDocument", "{}", r.body);
        if field.is_empty() {
            assert!(r.body["error"].get("field").is_none(), "{}", r.body);
        } else {
            assert_eq!(r.body["error"]["field"], field, "{doc}: {}", r.body);
        }
        assert!(r.body["error"]["message"].as_str().unwrap().contains(reason), "{doc}: {}", r.body);
    }
    // Nothing changed.
    assert_eq!(report(&admin).await["rules"][0]["rule"], json!({"op": "reboot", "latency_ms": 10}));

    // The example scenario of the docs loads.
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenarios/example.json")).unwrap();
    let example: Value = serde_json::from_str(&example).unwrap();
    let r = load(&admin, &example).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rules"].as_array().unwrap().len(), example["rules"].as_array().unwrap().len());
    let rules_of = |report: &Value| -> Vec<Value> {
        report["rules"].as_array().unwrap().iter().map(|r| r["rule"].clone()).collect()
    };
    let example_rules = rules_of(&r.body);

    // The same example in YAML, under a YAML media type, loads the same rules.
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenarios/example.yaml")).unwrap();
    let r = put_yaml(&admin, &yaml).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rules_of(&r.body), example_rules);
    // A YAML document that does not fit says where and which field.
    let r = put_yaml(&admin, "rules:\n  - op: reboot\n    latency_ms: 5\n  - op: explode\n    fail: x\n").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "rules[1].op", "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("unknown operation `explode`") && message.contains("line 4"), "{}", r.body);
    let r = put_yaml(&admin, "rules: [\n").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "InvalidDocument", "{}", r.body);
    // Nothing changed.
    assert_eq!(report(&admin).await["rules"].as_array().unwrap().len(), example_rules.len());

    let r = server.send(Method::DELETE, PATH, &[("x-auth-token", &admin.token)], None).await;
    assert_eq!(r.status, 204);
}
both!(scenario_api_is_admin_only_and_checked);

async fn put_yaml(admin: &Session<'_>, text: &str) -> crate::Reply {
    let resp = (admin.server.client.put(format!("{}{PATH}", admin.server.base)))
        .header("x-auth-token", &admin.token)
        .header("content-type", "application/yaml")
        .body(text.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    crate::Reply { status, headers, body }
}

/// `ecsd serve --scenario FILE`: a file that does not parse or hold
/// together stops it at start, naming the file, line, column and reason;
/// the example starts.
#[test]
fn a_bad_scenario_file_stops_ecsd_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cases = [
        (
            "syntax.json",
            "{\"rules\": [\n  {\"op\": \"reboot\",, \"fail\": \"x\"}\n]}\n",
            "syntax.json:2:19:",
            "key must be a string",
        ),
        (
            "op.json",
            "{\"rules\": [\n  {\"op\": \"reboot\", \"latency_ms\": 5},\n  {\"op\": \"explode\", \"fail\": \"x\"}\n]}\n",
            "op.json:3:",
            "rules[1].op: unknown operation `explode`",
        ),
        (
            "nth.json",
            "{\"rules\": [\n\n  {\"op\": \"spawn\", \"nth\": 0, \"fail\": \"x\"}]}",
            "nth.json:3:",
            "rules[0].nth",
        ),
        (
            "code.json",
            "{\"rules\": [\n  {\"request\": \"create\",\n   \"error\": \"Ecs.9999\"}]}",
            "code.json:3:13:",
            "rules[0].error",
        ),
        (
            "route.json",
            "{\"rules\": [{\"route\": \"GET /v2.1/nowhere\"}]}",
            "route.json:1:22:",
            "no route `GET /v2.1/nowhere`",
        ),
        // YAML, by the file's extension.
        ("syntax.yaml", "rules:\n  - op: \"reboot\n", "syntax.yaml:3:1:", "unexpected end of stream"),
        (
            "op.yml",
            "rules:\n  - op: reboot\n    latency_ms: 5\n  - op: explode\n    fail: x\n",
            "op.yml:4:",
            "rules[1].op: unknown operation `explode`",
        ),
        ("code.yaml", "rules:\n  - request: create\n    error: Ecs.9999\n", "code.yaml:3:12:", "rules[0].error"),
    ];
    for (name, text, place, reason) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecsd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--vnc-proxy-listen", "off"])
            .arg("--data-dir")
            .arg(&data)
            .arg("--scenario")
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} started: {stderr}");
        assert!(stderr.contains(place), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
    }
    // The example loads (ECSD_SCENARIO works as the flag does).
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenarios/example.json");
    let ecsd = crate::process::spawn(&["--data-dir", data.to_str().unwrap()], &[("ECSD_SCENARIO", example)]);
    drop(ecsd);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenarios/example.yaml");
    let ecsd = crate::process::spawn(&["--data-dir", data.to_str().unwrap(), "--scenario", example], &[]);
    drop(ecsd);
}
