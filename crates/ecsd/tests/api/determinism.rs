//! Deterministic mode (`ecsd serve --seed N`): two fresh runs with the
//! same seed fed the same requests, each waiting for what it started,
//! answer the same — ids, MACs, addresses, generated passwords and key
//! pairs, host choices, tokens, request ids — apart from timestamps (the
//! clock runs at the real pace, so they are masked) and the listening
//! port in links. Another seed gives other ids.

use serde_json::{Value, json};

use crate::{Session, TestServer};

/// Replaces timestamps and the listener's address: what may differ.
fn mask(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let time = regex_lite_time(s);
            let host = mask_host(&time);
            Value::String(host)
        }
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), mask(v))).collect()),
        other => other.clone(),
    }
}

/// A string that starts like `2026-01-01T00:00:00` or `2026-01-01 00:00:00` is a time.
fn regex_lite_time(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
    {
        "<time>".into()
    } else {
        s.to_string()
    }
}

fn mask_host(s: &str) -> String {
    match s.find("127.0.0.1:") {
        Some(at) => {
            let rest = &s[at + "127.0.0.1:".len()..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            format!("{}<host>{}", &s[..at], mask_host(&rest[digits..]))
        }
        None => s.to_string(),
    }
}

/// One answer as compared: the step, its status, the ids in its headers and its body.
type Answer = (String, u16, Value);

/// `read`: a GET, whose request id depends on how often the script polled
/// before (reads draw their request ids from a stream of their own).
async fn record(out: &mut Vec<Answer>, step: &str, r: crate::Reply) -> Value {
    let read = step.ends_with("shown") || step.ends_with("list") || step == "ports";
    let request_id = if read { None } else { r.header("x-openstack-request-id") };
    let headers = json!({
        "x-openstack-request-id": request_id,
        "x-subject-token": r.header("x-subject-token"),
    });
    out.push((step.to_string(), r.status.as_u16(), mask(&json!({"headers": headers, "body": r.body}))));
    r.body
}

/// The script: a key pair with a generated key, a network, subnet and
/// port, a server with a generated admin password, a volume, an ECS
/// create job; each waited for before the next.
async fn script(server: &TestServer) -> Vec<Answer> {
    let mut out = Vec::new();
    let reply = server.password_auth("demo", "demo", Some("demo")).await;
    record(&mut out, "login", reply).await;
    let demo = server.demo().await;
    let admin = server.admin().await;
    let p = demo.project_id.clone();

    let r = demo.post("/v2.1/os-keypairs", Some("2.1"), &json!({"keypair": {"name": "k1"}})).await;
    let key = record(&mut out, "keypair", r).await;
    assert!(key["keypair"]["private_key"].as_str().is_some_and(|k| k.contains("PRIVATE KEY")), "{key}");

    let r = demo.post("/networking/v2.0/networks", None, &json!({"network": {"name": "n1"}})).await;
    let network = record(&mut out, "network", r).await["network"]["id"].as_str().unwrap().to_string();
    let body = json!({"subnet": {"network_id": network, "cidr": "10.9.0.0/24", "ip_version": 4}});
    let r = demo.post("/networking/v2.0/subnets", None, &body).await;
    record(&mut out, "subnet", r).await;
    let r = demo.post("/networking/v2.0/ports", None, &json!({"port": {"network_id": network}})).await;
    record(&mut out, "port", r).await;

    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
    let body = json!({"server": {"name": "s1", "flavorRef": "s3.small.1", "imageRef": image,
        "key_name": "k1", "networks": [{"uuid": network}]}});
    let r = demo.post("/v2.1/servers", None, &body).await;
    let created = record(&mut out, "server", r).await;
    assert!(created["server"]["adminPass"].is_string(), "{created}");
    let id = created["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;
    let r = admin.get(&format!("/v2.1/servers/{id}"), Some("2.90")).await;
    record(&mut out, "server shown", r).await;

    let r = demo.post(&format!("/volume/v3/{p}/volumes"), None, &json!({"volume": {"size": 1, "name": "v1"}})).await;
    let volume = record(&mut out, "volume", r).await["volume"]["id"].as_str().unwrap().to_string();
    wait_volume(&demo, &p, &volume).await;

    let network = store.network_list().await.unwrap().into_iter().find(|n| n.name != "n1" && !n.external).unwrap().id;
    let subnet = store.subnet_list(&network).await.unwrap().remove(0).id;
    let vpc = server.core().vpc_of_networks().await.unwrap().remove(&network).expect("the seed's VPC");
    // Three servers: their builds run one after another in deterministic
    // mode, so their ports, addresses and hosts come out the same.
    let body = json!({"server": {"name": "e1", "imageRef": image, "flavorRef": "s3.small.1", "vpcid": vpc,
        "nics": [{"subnet_id": subnet}], "root_volume": {"volumetype": "SSD"}, "count": 3}});
    let r = demo.post(&format!("/v1/{p}/cloudservers"), None, &body).await;
    let job = record(&mut out, "ecs create", r).await["job_id"].as_str().unwrap().to_string();
    let job = demo.finished_job(&job).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    out.push(("ecs job".into(), 200, mask(&job)));
    let r = demo.get(&format!("/v1/{p}/cloudservers/detail?name=e1"), None).await;
    let listed = record(&mut out, "ecs list", r).await;
    assert_eq!(listed["count"], 3, "{listed}");

    let r = demo.get(&format!("/networking/v2.0/ports?network_id={}", created_network(&out)), None).await;
    record(&mut out, "ports", r).await;
    out
}

fn created_network(out: &[Answer]) -> String {
    let network = &out.iter().find(|(step, _, _)| step == "network").unwrap().2;
    network["body"]["network"]["id"].as_str().unwrap().to_string()
}

async fn wait_volume(s: &Session<'_>, p: &str, id: &str) {
    for _ in 0..600 {
        let r = s.get(&format!("/volume/v3/{p}/volumes/{id}"), None).await;
        if r.body["volume"]["status"] == "available" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("volume {id} is not available");
}

async fn run(seed: u64) -> Vec<Answer> {
    let server = TestServer::start_serving(ecs_test_utils::sqlite(), |c| c.random_seed = Some(seed)).await;
    let answers = script(&server).await;
    server.stop().await;
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_answers() {
    let first = run(7).await;
    let second = run(7).await;
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a, b, "step {} differs between two runs of seed 7", a.0);
    }
    // Another seed: other ids.
    let other = run(8).await;
    let job = |answers: &[Answer]| answers.iter().find(|(s, _, _)| s == "ecs job").unwrap().2["job_id"].clone();
    assert_ne!(job(&first), job(&other));
    let server = |answers: &[Answer]| answers.iter().find(|(s, _, _)| s == "server").unwrap().2.clone();
    assert_ne!(server(&first)["body"]["server"]["id"], server(&other)["body"]["server"]["id"]);
    assert_ne!(server(&first)["body"]["server"]["adminPass"], server(&other)["body"]["server"]["adminPass"]);
}

/// A pinned clock starts where it is told: tokens are issued then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_clock_starts_where_told() {
    let start: chrono::DateTime<chrono::Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let server = TestServer::start_serving(ecs_test_utils::sqlite(), |c| {
        c.random_seed = Some(1);
        c.clock_start = Some(start);
    })
    .await;
    let admin = server.admin().await;
    let r = admin.get("/admin/v1/clock", None).await;
    let now: chrono::DateTime<chrono::Utc> = r.body["clock"]["now"].as_str().unwrap().parse().unwrap();
    assert!(now >= start && now - start < chrono::Duration::minutes(5), "{}", r.body);
    let token = server.password_auth("demo", "demo", Some("demo")).await;
    let issued = token.body["token"]["issued_at"].as_str().unwrap();
    assert!(issued.starts_with("2026-01-01T00:0"), "{issued}");
    server.stop().await;
}
