//! The cluster: a throwaway PostgreSQL, two `ecsd api` processes and three
//! simulated `ecsd agent` processes on loopback. Agents and API nodes are
//! killed (SIGKILL), an agent is cut off (SIGSTOP, then SIGCONT) in the
//! middle of bursts of work, and each comes back: nothing is stuck, lost or
//! done twice — every server has exactly one guest, on its host, in its
//! power state — and anti-affinity holds.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecs_hypervisor::{Hypervisor, PowerState};
use ecsd::internal::{Secret, remote};
use serde_json::{Value, json};

use super::agents::SECRET;

/// A child process, killed when dropped.
struct Proc {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
        rustix::process::kill_process(pid, signal).expect("signalling");
    }

    /// SIGKILL, and reaped.
    fn kill(mut self) {
        self.signal(rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!("--- {} ---\n{}", self.name, lines[lines.len().saturating_sub(30)..].join("\n"))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `ecsd <args>` and reads its stdout up to the line `ready` starts.
fn start(name: &str, args: &[String], dir: &Path, ready: &str) -> Proc {
    let log = dir.join(format!("{name}.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(args)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let proc = Proc { child, name: name.into(), log };
    loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with(ready) => break,
            Some(Ok(_)) => {}
            _ => panic!("{name} did not start\n{}", proc.log_tail()),
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    proc
}

struct Api {
    port: u16,
    internal: u16,
}

impl Api {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&self, i: usize, db: &str, dir: &Path) -> Proc {
        let args: Vec<String> = [
            "api",
            "--database-url",
            db,
            "--data-dir",
            &dir.join(format!("api{i}")).display().to_string(),
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--vnc-proxy-listen",
            "off",
            "--internal-listen",
            &format!("127.0.0.1:{}", self.internal),
            "--internal-secret",
            SECRET,
            "--sim-hosts",
            "0",
            "--task-lease",
            "3",
            "--agent-timeout",
            "3",
            "--quota-instances",
            "-1",
            "--quota-cores",
            "-1",
            "--quota-ram-mb",
            "-1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        start(&format!("api{i}"), &args, dir, "then:")
    }
}

struct Agent {
    name: String,
    port: u16,
}

impl Agent {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&self, apis: &[Api], dir: &Path) -> Proc {
        let control = apis.iter().map(|a| format!("http://127.0.0.1:{}", a.internal)).collect::<Vec<_>>().join(",");
        let config = dir.join("sim.json");
        // Spawns take a while, so that work is in flight when something dies.
        std::fs::write(&config, r#"{"latency_ms": {"spawn": 600, "power_off": 300, "destroy": 100}}"#).unwrap();
        let args: Vec<String> = [
            "agent",
            "--host",
            &self.name,
            "--control-plane",
            &control,
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--data-dir",
            &dir.join(&self.name).display().to_string(),
            "--heartbeat-interval",
            "0.5",
            "--internal-secret",
            SECRET,
            "--sim-config",
            &config.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        start(&self.name, &args, dir, "ecsd agent")
    }

    fn driver(&self) -> std::sync::Arc<dyn Hypervisor> {
        let timeouts = remote::Timeouts { call: Duration::from_secs(5), moving: Duration::from_secs(5) };
        let connector = remote::RemoteConnector::new(Secret::new(SECRET).unwrap(), timeouts).unwrap();
        let host = ecs_store::HostAgent { name: self.name.clone(), driver: "sim".into(), url: self.url() };
        ecs_core::compute::agents::Connector::connect(&connector, &host)
    }
}

/// The admin's calls to whichever API node answers.
struct Client {
    http: reqwest::Client,
    bases: Vec<String>,
    token: String,
    next: std::sync::atomic::AtomicUsize,
}

impl Client {
    async fn login(bases: Vec<String>) -> Client {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
            "domain": {"name": "Default"}, "password": "admin"}}}, "scope": {"project": {"name": "admin",
            "domain": {"name": "Default"}}}}});
        let r = http.post(format!("{}/identity/v3/auth/tokens", bases[0])).json(&body).send().await.unwrap();
        let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
        Client { http, bases, token, next: Default::default() }
    }

    /// A Nova call, round-robin over the API nodes, skipping any that is down.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        for _ in 0..self.bases.len() * 10 {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.bases.len();
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.bases[i]))
                .header("x-auth-token", &self.token)
                .header("openstack-api-version", "compute 2.64");
            if let Some(body) = body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    return (status, r.json().await.unwrap_or(Value::Null));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("no API node answers {path}");
    }

    async fn create(&self, image: &str, name: &str, group: Option<&str>) -> String {
        let mut body = json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
        if let Some(g) = group {
            body["os:scheduler_hints"] = json!({"group": g});
        }
        let (status, body) = self.call(reqwest::Method::POST, "/v2.1/servers", Some(&body)).await;
        assert_eq!(status, 202, "{body}");
        body["server"]["id"].as_str().unwrap().to_string()
    }

    async fn servers(&self) -> Vec<Value> {
        let (status, body) = self.call(reqwest::Method::GET, "/v2.1/servers/detail", None).await;
        assert_eq!(status, 200, "{body}");
        body["servers"].as_array().unwrap().clone()
    }

    /// Waits until no server is building or has a task, and returns them.
    async fn settled(&self, what: &str, procs: &[&Proc]) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let servers = self.servers().await;
            let busy: Vec<String> = servers
                .iter()
                .filter(|s| s["status"] == "BUILD" || !s["OS-EXT-STS:task_state"].is_null())
                .map(|s| format!("{} {} {}", s["id"], s["status"], s["OS-EXT-STS:task_state"]))
                .collect();
            if busy.is_empty() {
                return servers;
            }
            if started.elapsed() > Duration::from_secs(90) {
                let logs: Vec<String> = procs.iter().map(|p| p.log_tail()).collect();
                panic!("{what}: still busy after 90 s: {busy:?}\n{}", logs.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn procs(a: &[Proc]) -> Vec<&Proc> {
    a.iter().collect()
}

/// A server in a line: for failures.
fn brief(s: &Value) -> String {
    format!(
        "{} {} {} on {} {}",
        s["name"], s["status"], s["OS-EXT-STS:task_state"], s["OS-EXT-SRV-ATTR:host"], s["fault"]["message"]
    )
}

fn briefs(servers: &[Value]) -> Vec<String> {
    servers.iter().map(brief).collect()
}

fn host_of(server: &Value) -> &str {
    server["OS-EXT-SRV-ATTR:host"].as_str().unwrap_or("")
}

/// Every server has exactly one guest, on its host, in the power state
/// its record shows; no guest is left that no server owns.
async fn assert_one_guest_each(servers: &[Value], agents: &[Agent], what: &str) {
    let mut guests: HashMap<String, Vec<(String, PowerState)>> = HashMap::new();
    for agent in agents {
        for guest in agent.driver().list().await.unwrap() {
            guests.entry(guest.id).or_default().push((agent.name.clone(), guest.power_state));
        }
    }
    for server in servers {
        let id = server["id"].as_str().unwrap();
        let on = guests.remove(id).unwrap_or_default();
        assert_eq!(on.len(), 1, "{what}: server {id} ({}) has guests on {on:?}", server["status"]);
        assert_eq!(on[0].0, host_of(server), "{what}: server {id}'s guest is on another host");
        let running = on[0].1 == PowerState::Running;
        assert_eq!(
            running,
            server["OS-EXT-STS:power_state"] == 1,
            "{what}: server {id}: record {} vs guest {on:?}",
            brief(server)
        );
    }
    assert!(guests.is_empty(), "{what}: guests no server owns: {guests:?}");
}

async fn wait_for_hosts(client: &Client, n: usize) {
    for _ in 0..200 {
        let (_, body) = client.call(reqwest::Method::GET, "/v2.1/os-hypervisors", None).await;
        if body["hypervisors"].as_array().is_some_and(|h| h.len() == n) {
            // Every API node drives them once it has read them (each second).
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} hosts did not register");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_agents_and_api_nodes_fail_and_return() {
    use rustix::process::Signal;
    let db = ecs_test_utils::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    // ECSD_CLUSTER_KEEP=1 keeps the processes' logs and data for a look.
    let kept = std::env::var_os("ECSD_CLUSTER_KEEP").map(|_| dir.path().to_path_buf());
    let dir = dir.path();
    let apis = [Api { port: free_port(), internal: free_port() }, Api { port: free_port(), internal: free_port() }];
    let agents: Vec<Agent> = (1..=3).map(|i| Agent { name: format!("h{i}"), port: free_port() }).collect();
    // One node seeds the database first; the second finds it seeded.
    let mut api_procs = vec![apis[0].start(1, &db.url, dir)];
    api_procs.push(apis[1].start(2, &db.url, dir));
    let mut agent_procs: Vec<Option<Proc>> = agents.iter().map(|a| Some(a.start(&apis, dir))).collect();
    let client = Client::login(apis.iter().map(Api::base).collect()).await;
    wait_for_hosts(&client, 3).await;
    let (_, images) = client.call(reqwest::Method::GET, "/image/v2/images", None).await;
    let image = images["images"][0]["id"].as_str().unwrap().to_string();

    // 1. A burst spread over the hosts, an anti-affinity group among it.
    let (status, body) = client
        .call(
            reqwest::Method::POST,
            "/v2.1/os-server-groups",
            Some(&json!({"server_group": {"name": "spread", "policy": "anti-affinity"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let group = body["server_group"]["id"].as_str().unwrap().to_string();
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(client.create(&image, &format!("member-{i}"), Some(&group)).await);
    }
    for i in 0..6 {
        client.create(&image, &format!("first-{i}"), None).await;
    }
    let servers = client.settled("first burst", &procs(&api_procs)).await;
    assert!(servers.iter().all(|s| s["status"] == "ACTIVE"), "{:#?}", briefs(&servers));
    let mut member_hosts: Vec<&str> =
        servers.iter().filter(|s| members.contains(&s["id"].as_str().unwrap().to_string())).map(host_of).collect();
    member_hosts.sort();
    assert_eq!(member_hosts, ["h1", "h2", "h3"], "anti-affinity across the agents' hosts");
    let used: std::collections::BTreeSet<&str> = servers.iter().map(host_of).collect();
    assert_eq!(used.len(), 3, "the burst spreads over every host");
    assert_one_guest_each(&servers, &agents, "first burst").await;

    // 2. An agent dies (SIGKILL): builds that go there fail over to the others.
    agent_procs[2].take().unwrap().kill();
    let mut second = Vec::new();
    for i in 0..6 {
        second.push(client.create(&image, &format!("second-{i}"), None).await);
    }
    let servers = client.settled("after an agent died", &procs(&api_procs)).await;
    for s in servers.iter().filter(|s| second.contains(&s["id"].as_str().unwrap().to_string())) {
        assert_eq!(s["status"], "ACTIVE", "{}", brief(s));
        assert_ne!(host_of(s), "h3", "nothing is built on the dead host: {}", brief(s));
    }
    // EVACUATION (services): evacuate h3's servers here once h3 is `down`,
    // check they come up on h1/h2 with anti-affinity kept, and that the
    // returning h3 destroys its stale copies.

    // 3. It returns, with its guests: they are kept, being still its servers'.
    agent_procs[2] = Some(agents[2].start(&apis, dir));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let servers = client.settled("after the agent returned", &procs(&api_procs)).await;
    assert!(servers.iter().all(|s| s["status"] == "ACTIVE"), "{:#?}", briefs(&servers));
    assert_one_guest_each(&servers, &agents, "after the agent returned").await;

    // 4. An API node dies (SIGKILL) in the middle of a burst: the other
    // finishes its tasks once their leases run out; then it returns.
    let mut third = Vec::new();
    for i in 0..8 {
        third.push(client.create(&image, &format!("third-{i}"), None).await);
    }
    api_procs.remove(0).kill();
    let alive = Client { bases: vec![apis[1].base()], ..Client::login(vec![apis[1].base()]).await };
    let servers = alive.settled("after an API node died", &procs(&api_procs)).await;
    for s in servers.iter().filter(|s| third.contains(&s["id"].as_str().unwrap().to_string())) {
        assert_eq!(s["status"], "ACTIVE", "{}", brief(s));
    }
    assert_one_guest_each(&servers, &agents, "after an API node died").await;
    api_procs.insert(0, apis[0].start(1, &db.url, dir));

    // 5. An agent is cut off (SIGSTOP) while work goes to it: calls to it
    // time out, builds go elsewhere, a stop of its server fails; when it
    // resumes (SIGCONT) the calls that waited are past their deadline and
    // not acted on, and its host is reconciled.
    let on_h2 = servers.iter().find(|s| host_of(s) == "h2" && s["status"] == "ACTIVE").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    agent_procs[1].as_ref().unwrap().signal(Signal::STOP);
    let (status, body) = client
        .call(reqwest::Method::POST, &format!("/v2.1/servers/{on_h2}/action"), Some(&json!({"os-stop": null})))
        .await;
    assert_eq!(status, 202, "{body}");
    let mut fourth = Vec::new();
    for i in 0..6 {
        fourth.push(client.create(&image, &format!("fourth-{i}"), None).await);
    }
    let servers = client.settled("while an agent is cut off", &procs(&api_procs)).await;
    for s in servers.iter().filter(|s| fourth.contains(&s["id"].as_str().unwrap().to_string())) {
        assert_eq!(s["status"], "ACTIVE", "{}", brief(s));
        assert_ne!(host_of(s), "h2", "nothing is built on the cut-off host: {}", brief(s));
    }
    agent_procs[1].as_ref().unwrap().signal(Signal::CONT);
    // Heartbeats resume; the waiting calls meet their deadline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let servers = client.settled("after the agent resumed", &procs(&api_procs)).await;
    assert_one_guest_each(&servers, &agents, "after the agent resumed").await;

    // Nothing lost: every server created is there, none twice.
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for s in &servers {
        *by_name.entry(s["name"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(servers.len(), 3 + 6 + 6 + 8 + 6, "{by_name:?}");
    assert!(by_name.values().all(|n| *n == 1), "{by_name:?}");
    let final_members: Vec<&str> =
        servers.iter().filter(|s| members.contains(&s["id"].as_str().unwrap().to_string())).map(host_of).collect();
    let distinct: std::collections::BTreeSet<&str> = final_members.iter().copied().collect();
    assert_eq!(distinct.len(), 3, "anti-affinity still holds: {final_members:?}");

    drop(agent_procs);
    drop(api_procs);
    if let Some(kept) = kept {
        let to = std::env::temp_dir().join("ecsd-cluster-kept");
        let _ = std::fs::remove_dir_all(&to);
        let _ = Command::new("cp").arg("-r").arg(&kept).arg(&to).status();
        eprintln!("kept in {}", to.display());
    }
}
