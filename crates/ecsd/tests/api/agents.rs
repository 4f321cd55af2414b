//! Hosts run by agents in this process (`ecsd::start_agent`): servers
//! land on them through the internal API, the internal API takes only the
//! service secret over HTTP/2, fences refuse stale calls, and an agent
//! that comes back destroys the guests deleted while it was away. The
//! cluster test (`cluster.rs`) runs the same with real processes.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ecs_core::CoreConfig;
use ecs_hypervisor::Hypervisor;
use ecsd::internal::agent::{AgentConfig, HostReport, RunningAgent};
use ecsd::internal::{Secret, remote};
use serde_json::{Value, json};

use crate::{Session, TestServer};

pub const SECRET: &str = "test-internal-secret-0123456789";

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

/// A server with no simulated hosts of its own, taking agents' heartbeats.
async fn control_plane(db: ecs_test_utils::TestDb) -> TestServer {
    TestServer::start_serving(db, |c| {
        c.compute.sim_hosts = 0;
        let mut core = CoreConfig::default();
        core.engine.poll = Duration::from_millis(50);
        c.core = core;
        c.internal = Some(ecsd::InternalConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            secret: secret(),
            timeouts: remote::Timeouts { call: Duration::from_secs(5), moving: Duration::from_secs(30) },
            sync_interval: Duration::from_millis(200),
        });
    })
    .await
}

async fn agent(name: &str, control: SocketAddr, dir: &Path) -> RunningAgent {
    let config = AgentConfig {
        host: name.into(),
        control_plane: vec![format!("http://{control}")],
        listen: "127.0.0.1:0".parse().unwrap(),
        advertise: None,
        data_dir: dir.join(name),
        heartbeat_interval: Duration::from_millis(200),
        secret: secret(),
        report: HostReport {
            availability_zone: "nova".into(),
            vcpus: 16,
            ram_mb: 65536,
            disk_gb: 1000,
            cpu_ratio: 4.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
        },
    };
    ecsd::start_agent(config, ecsd::AgentDriver::Sim { latency: Default::default() }).await.unwrap()
}

/// The driver the API nodes use for `agent`'s host.
fn driver_of(name: &str, agent: &RunningAgent) -> std::sync::Arc<dyn Hypervisor> {
    let connector = remote::RemoteConnector::new(secret(), Default::default()).unwrap();
    let host = ecs_store::HostAgent { name: name.into(), driver: "sim".into(), url: agent.url.clone() };
    ecs_core::compute::agents::Connector::connect(&connector, &host)
}

async fn wait_for_hosts(server: &TestServer, hosts: &[&str]) {
    for _ in 0..200 {
        if hosts.iter().all(|h| server.core().drives_host(h)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hosts {hosts:?} did not register");
}

async fn create(s: &Session<'_>, name: &str, group: Option<&str>) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let mut body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    if let Some(g) = group {
        body["os:scheduler_hints"] = json!({"group": g});
    }
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["server"]["id"].as_str().unwrap().to_string()
}

async fn guests(driver: &dyn Hypervisor) -> Vec<String> {
    driver.list().await.unwrap().into_iter().map(|g| g.id).collect()
}

async fn servers_land_on_agents_hosts(db: ecs_test_utils::TestDb) {
    let server = control_plane(db).await;
    let control = server.internal_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a1, a2) = (agent("agent-1", control, dir.path()).await, agent("agent-2", control, dir.path()).await);
    wait_for_hosts(&server, &["agent-1", "agent-2"]).await;

    let admin = server.admin().await;
    let r = admin.get("/v2.1/os-hypervisors/detail", Some("2.53")).await;
    let names: Vec<&str> =
        r.body["hypervisors"].as_array().unwrap().iter().filter_map(|h| h["hypervisor_hostname"].as_str()).collect();
    assert_eq!(names, ["agent-1", "agent-2"], "{}", r.body);

    let r = admin
        .post(
            "/v2.1/os-server-groups",
            Some("2.64"),
            &json!({"server_group": {"name": "spread", "policy": "anti-affinity"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let group = r.body["server_group"]["id"].as_str().unwrap().to_string();
    let ids = [create(&admin, "one", Some(&group)).await, create(&admin, "two", Some(&group)).await];
    let mut hosts = Vec::new();
    for id in &ids {
        let s = admin.wait_status(id, "ACTIVE").await;
        hosts.push(s["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_string());
    }
    hosts.sort();
    assert_eq!(hosts, ["agent-1", "agent-2"], "anti-affinity spreads over the agents' hosts");
    let (d1, d2) = (driver_of("agent-1", &a1), driver_of("agent-2", &a2));
    let mut all = [guests(d1.as_ref()).await, guests(d2.as_ref()).await].concat();
    all.sort();
    let mut want = ids.to_vec();
    want.sort();
    assert_eq!(all, want, "each guest runs on its agent");

    // Actions reach the agent; so does a console log (no task, no fence).
    let r = admin.post(&format!("/v2.1/servers/{}/action", ids[0]), None, &json!({"os-stop": null})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    admin.wait_status(&ids[0], "SHUTOFF").await;
    let r = admin.post(&format!("/v2.1/servers/{}/action", ids[1]), None, &json!({"os-getConsoleOutput": {}})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    for id in &ids {
        assert_eq!(admin.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    }
    for id in &ids {
        admin.wait_server(id, |r| r.status == 404).await;
    }
    assert!(guests(d1.as_ref()).await.is_empty() && guests(d2.as_ref()).await.is_empty());
    a1.stop().await.unwrap();
    a2.stop().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_land_on_agents_hosts_sqlite() {
    servers_land_on_agents_hosts(ecs_test_utils::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_land_on_agents_hosts_postgres() {
    servers_land_on_agents_hosts(ecs_test_utils::postgres().await).await;
}

/// An HTTP/2 (prior knowledge) client, as API nodes and agents use.
fn h2() -> reqwest::Client {
    reqwest::Client::builder().http2_prior_knowledge().build().unwrap()
}

async fn post(url: &str, auth: Option<&str>, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let mut request = h2().post(url).json(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_api_takes_only_the_secret() {
    let server = control_plane(ecs_test_utils::sqlite()).await;
    let control = server.internal_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a1 = agent("agent-1", control, dir.path()).await;
    let bearer = secret().bearer();
    let beat = json!({"agent_url": "http://127.0.0.1:1", "driver": "sim", "availability_zone": "nova",
        "vcpus": 4, "ram_mb": 1024, "disk_gb": 10});
    let url = format!("http://{control}/internal/v1/hosts/x1/heartbeat");

    // No secret, a wrong one, a user token: 401, whatever the user's role.
    let admin = server.admin().await;
    for auth in [None, Some("Bearer wrong-secret-0123456789"), Some(&*format!("Bearer {}", admin.token))] {
        assert_eq!(post(&url, auth, &[], &beat).await.0, 401, "{auth:?}");
    }
    let (status, _) = post(&url, None, &[("x-auth-token", admin.token.as_str())], &beat).await;
    assert_eq!(status, 401, "a user token is no credential here");
    // HTTP/1.1 is not spoken.
    let http1 = reqwest::Client::new().post(&url).header("authorization", &bearer).json(&beat).send().await;
    assert!(http1.is_err() || !http1.unwrap().status().is_success());
    // Bad heartbeats: 400, nothing registered.
    let bad_url = format!("http://{control}/internal/v1/hosts/bad%20name/heartbeat");
    assert_eq!(post(&bad_url, Some(&bearer), &[], &beat).await.0, 400);
    for bad in [
        json!({}),
        json!({"agent_url": "ftp://x", "driver": "sim", "availability_zone": "nova", "vcpus": 4, "ram_mb": 1, "disk_gb": 1}),
        json!({"agent_url": "http://x:1", "driver": "sim", "availability_zone": "nova", "vcpus": -4, "ram_mb": 1, "disk_gb": 1}),
    ] {
        let (status, body) = post(&url, Some(&bearer), &[], &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert!(!server.core().store_for_tests().host_list().await.unwrap().iter().any(|h| h.name == "x1"));

    // The agent: the secret, known methods, fences.
    let call = |method: &str| format!("{}/internal/v1/hypervisor/{method}", a1.url);
    assert_eq!(post(&call("list"), None, &[], &json!({})).await.0, 401);
    assert_eq!(post(&call("list"), Some(&format!("Bearer {}", admin.token)), &[], &json!({})).await.0, 401);
    let (status, body) = post(&call("list"), Some(&bearer), &[], &json!({})).await;
    assert_eq!((status, &body), (200, &json!({"ok": []})));
    assert_eq!(post(&call("no_such"), Some(&bearer), &[], &json!({})).await.0, 400);
    assert_eq!(post(&call("power_on"), Some(&bearer), &[], &json!({"id": 7})).await.0, 400);
    assert_eq!(post(&call("power_on"), Some(&bearer), &[("x-ecsd-fence", "x")], &json!({"id": "g"})).await.0, 400);

    let (status, body) = post(&call("power_on"), Some(&bearer), &[("x-ecsd-fence", "10:2")], &json!({"id": "g"})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (409, Some("not_found")), "{body}");
    for stale in ["10:1", "9:5"] {
        let (status, body) =
            post(&call("power_on"), Some(&bearer), &[("x-ecsd-fence", stale)], &json!({"id": "g"})).await;
        assert_eq!((status, body["error"]["kind"].as_str()), (409, Some("fenced")), "{stale}: {body}");
    }
    let (_, body) = post(&call("power_on"), Some(&bearer), &[("x-ecsd-fence", "10:3")], &json!({"id": "g"})).await;
    assert_eq!(body["error"]["kind"], "not_found", "a newer claim is admitted: {body}");
    // A call that arrives after its caller gave up is not acted on.
    let (status, body) = post(&call("list"), Some(&bearer), &[("x-ecsd-deadline", "1000")], &json!({})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (409, Some("host_down")), "{body}");
    let fences = std::fs::read_to_string(dir.path().join("agent-1/fences.json")).unwrap();
    assert!(fences.contains("\"g\""), "the fence is kept on disk: {fences}");

    a1.stop().await.unwrap();
    server.stop().await;
}

/// An agent stopped while its server is deleted finds the guest when it
/// returns, and destroys it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_agent_destroys_guests_deleted_meanwhile() {
    let server = control_plane(ecs_test_utils::sqlite()).await;
    let control = server.internal_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a1 = agent("agent-1", control, dir.path()).await;
    wait_for_hosts(&server, &["agent-1"]).await;
    let admin = server.admin().await;
    let (keep, gone) = (create(&admin, "keep", None).await, create(&admin, "gone", None).await);
    admin.wait_status(&keep, "ACTIVE").await;
    admin.wait_status(&gone, "ACTIVE").await;
    a1.stop().await.unwrap();

    assert_eq!(admin.delete(&format!("/v2.1/servers/{gone}"), None).await.status, 204);
    admin.wait_server(&gone, |r| r.status == 404).await;

    let a1 = agent("agent-1", control, dir.path()).await;
    let d1 = driver_of("agent-1", &a1);
    for _ in 0..200 {
        if guests(d1.as_ref()).await == [keep.clone()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(guests(d1.as_ref()).await, std::slice::from_ref(&keep), "the deleted server's guest is destroyed, the other kept");
    admin.wait_status(&keep, "ACTIVE").await;
    a1.stop().await.unwrap();
    server.stop().await;
}
