//! A running ecsd and authenticated sessions against it.

use ecs_core::CoreConfig;
use ecs_test_utils::TestDb;
use ecsd::{Running, ServeConfig};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    running: Running,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// A response: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Asserts an ECS error: its status, its code and a message.
#[track_caller]
pub fn assert_ecs_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Nova fault: `{"<fault>": {"code": status, "message": …}}`.
    pub fn assert_fault(&self, status: u16, fault: &str) -> &str {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body[fault]["code"], json!(status), "body: {}", self.body);
        self.body[fault]["message"].as_str().expect("fault message")
    }
}

impl TestServer {
    pub async fn start(db: TestDb) -> TestServer {
        Self::start_with(db, CoreConfig::default()).await
    }

    pub async fn start_with(db: TestDb, core: CoreConfig) -> TestServer {
        Self::start_serving(db, |c| c.core = core).await
    }

    /// Starts with the settings `adjust` makes to the defaults.
    pub async fn start_serving(db: TestDb, adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: Some(db.url.clone()),
            region: "RegionOne".into(),
            public_url: None,
            admin_password: None,
            demo_password: None,
            core: CoreConfig::default(),
            compute: ecsd::ComputeConfig::default(),
            vnc_proxy_listen: None,
            // As if `--novncproxy-base-url` were given (the core's default
            // URL): tests ask for console URLs without running a proxy.
            novncproxy_base_url_given: true,
            early_policy_gates: true,
            http: Default::default(),
            internal: None,
            random_seed: None,
            clock_start: None,
        };
        adjust(&mut config);
        let running = ecsd::start(config).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        // Pooled connections are dropped well before ecsd's 75 s idle timeout:
        // a request sent on a connection the server is closing that moment
        // fails (`IncompleteMessage`), as after the fuzzer's 75 s run.
        let client = reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(20)).build().unwrap();
        TestServer { base, client, running, _db: db, _dir: dir }
    }

    pub async fn stop(self) {
        self.running.stop().await.expect("clean stop");
    }

    /// Where the internal API (agents' heartbeats) listens, if it does.
    pub fn internal_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.internal_addr
    }

    pub fn core(&self) -> &ecs_core::Core {
        &self.running.core
    }

    pub fn sim(&self) -> &ecs_hypervisor::sim::SimControl {
        &self.running.sim
    }

    pub fn admin_project_id(&self) -> &str {
        &self.running.seed.admin_project.id
    }

    pub fn demo_project_id(&self) -> &str {
        &self.running.seed.demo_project.id
    }

    /// Sends a request; `body` `None` sends none.
    pub async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, body }
    }

    /// `POST /identity/v3/auth/tokens` with a password, scoped to a project by name.
    pub async fn password_auth(&self, user: &str, password: &str, project: Option<&str>) -> Reply {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}}});
        if let Some(p) = project {
            auth["scope"] = json!({"project": {"name": p, "domain": {"id": "default"}}});
        }
        self.send(Method::POST, "/identity/v3/auth/tokens", &[], Some(&json!({"auth": auth}))).await
    }

    pub async fn login(&self, user: &str, password: &str, project: &str) -> Session<'_> {
        let reply = self.password_auth(user, password, Some(project)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        Session {
            server: self,
            token: reply.header("x-subject-token").unwrap().to_string(),
            user_id: reply.body["token"]["user"]["id"].as_str().unwrap().to_string(),
            project_id: reply.body["token"]["project"]["id"].as_str().unwrap().to_string(),
        }
    }

    pub async fn admin(&self) -> Session<'_> {
        self.login("admin", "admin", "admin").await
    }

    pub async fn demo(&self) -> Session<'_> {
        self.login("demo", "demo", "demo").await
    }
}

/// A token and who it belongs to.
pub struct Session<'a> {
    pub server: &'a TestServer,
    pub token: String,
    pub user_id: String,
    pub project_id: String,
}

impl Session<'_> {
    /// The ECS job `job` (`GET /v1/{project_id}/jobs/{job}`) once it has
    /// ended (SUCCESS or FAIL).
    pub async fn finished_job(&self, job: &str) -> Value {
        for _ in 0..600 {
            let r = self.get(&format!("/v1/{}/jobs/{job}", self.project_id), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if matches!(r.body["status"].as_str(), Some("SUCCESS" | "FAIL")) {
                return r.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("job {job} did not finish");
    }

    /// The job of an ECS answer `{"job_id"}` (asserted 200), once it has ended.
    pub async fn finished_job_of(&self, reply: &Reply) -> Value {
        assert_eq!(reply.status, 200, "{}", reply.body);
        self.finished_job(reply.body["job_id"].as_str().expect("job_id")).await
    }

    /// A Nova call at microversion `version` (`None`: no header).
    pub async fn nova(&self, method: Method, path: &str, version: Option<&str>, body: Option<&Value>) -> Reply {
        let mut headers = vec![("x-auth-token", self.token.as_str())];
        let v;
        if let Some(version) = version {
            // A service named (`volume 3.27`) is sent as is; else Nova's.
            v = if version.contains(' ') { version.to_string() } else { format!("compute {version}") };
            headers.push(("openstack-api-version", v.as_str()));
        }
        self.server.send(method, path, &headers, body).await
    }

    pub async fn get(&self, path: &str, version: Option<&str>) -> Reply {
        self.nova(Method::GET, path, version, None).await
    }

    pub async fn post(&self, path: &str, version: Option<&str>, body: &Value) -> Reply {
        self.nova(Method::POST, path, version, Some(body)).await
    }

    pub async fn delete(&self, path: &str, version: Option<&str>) -> Reply {
        self.nova(Method::DELETE, path, version, None).await
    }

    pub async fn put(&self, path: &str, version: Option<&str>, body: &Value) -> Reply {
        self.nova(Method::PUT, path, version, Some(body)).await
    }

    /// Polls `GET /servers/{id}` until `done` holds (or gives up after 30 s).
    pub async fn wait_server(&self, id: &str, done: impl Fn(&Reply) -> bool) -> Reply {
        for _ in 0..600 {
            let r = self.get(&format!("/v2.1/servers/{id}"), Some("latest")).await;
            if done(&r) {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server {id} did not get there");
    }

    /// A cirros server of `s3.small.1` on the first network, once ACTIVE.
    pub async fn boot_on_network(&self, name: &str) -> String {
        let store = self.server.core().store_for_tests();
        let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
        let network = store.network_list().await.unwrap().remove(0).id;
        let body = serde_json::json!({"server": {"name": name, "flavorRef": "s3.small.1", "imageRef": image,
            "networks": [{"uuid": network}]}});
        self.booted(self.post("/v2.1/servers", None, &body).await).await
    }

    /// An `m1.tiny` server without a network (2.37's `"none"`), once ACTIVE.
    pub async fn boot_bare(&self, name: &str) -> String {
        let image = self.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
        let body = serde_json::json!({"server": {"name": name, "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
        self.booted(self.post("/v2.1/servers", Some("2.37"), &body).await).await
    }

    /// The id of the server a create answered (asserted 202), once ACTIVE.
    async fn booted(&self, reply: Reply) -> String {
        assert_eq!(reply.status, 202, "{}", reply.body);
        let id = reply.body["server"]["id"].as_str().unwrap().to_string();
        self.wait_status(&id, "ACTIVE").await;
        id
    }

    /// Waits for a server's status to become `status`.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        let r = self.wait_server(id, |r| r.body["server"]["status"] == status).await;
        r.body["server"].clone()
    }
}
