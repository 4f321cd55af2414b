//! What the fuzz targets share: an ecsd served in process, for the targets
//! that fuzz request bodies through the real routers (so they reach each
//! route's own parsing, not a copy of it).

use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Request, Response};
use ecs_api::{ApiConfig, AppState};
use tower::util::BoxCloneService;
use tower::ServiceExt;

/// One ecsd per fuzzing process, over a throwaway SQLite database, with
/// simulated hosts; requests go straight to its service, not over TCP.
pub struct Served {
    runtime: tokio::runtime::Runtime,
    service: BoxCloneService<Request<Body>, Response<Body>, std::convert::Infallible>,
    /// A token of the seeded `demo` user, member of the `demo` project.
    pub member_token: String,
    pub demo_project: String,
    _running: ecsd::Running,
    _dir: tempfile::TempDir,
}

impl Served {
    /// The process's server, started on first use.
    pub fn get() -> &'static Mutex<Served> {
        static SERVED: OnceLock<Mutex<Served>> = OnceLock::new();
        SERVED.get_or_init(|| Mutex::new(Served::start()))
    }

    fn start() -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = ecsd::ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: Some(format!("sqlite://{}?mode=rwc", dir.path().join("fuzz.sqlite").display())),
            region: "RegionOne".into(),
            public_url: None,
            admin_password: None,
            demo_password: None,
            core: ecs_core::CoreConfig::default(),
            compute: ecsd::ComputeConfig::default(),
            vnc_proxy_listen: None,
            novncproxy_base_url_given: false,
            early_policy_gates: true,
            http: Default::default(),
            internal: None,
            random_seed: None,
            clock_start: None,
        };
        let running = runtime.block_on(ecsd::start(config)).expect("ecsd starts");
        let state = AppState {
            core: running.core.clone(),
            config: std::sync::Arc::new(ApiConfig::default()),
            sim: Some(running.sim.clone()),
        };
        let mut served = Served {
            service: BoxCloneService::new(ecs_api::service(state)),
            runtime,
            member_token: String::new(),
            demo_project: running.seed.demo_project.id.clone(),
            _running: running,
            _dir: dir,
        };
        let login = br#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo",
            "domain": {"name": "Default"}, "password": "demo"}}},
            "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}"#;
        let (status, headers) = served.send("POST", "/identity/v3/auth/tokens", &[], login.to_vec());
        assert_eq!(status, 201, "the demo user logs in");
        served.member_token = headers.into_iter().find(|(k, _)| k == "x-subject-token").expect("a token").1;
        served
    }

    /// Sends a request with a JSON body and reads the whole answer;
    /// returns its status and headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Vec<(String, String)>) {
        let mut request = Request::builder().method(method).uri(path).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body)).expect("a request");
        let service = self.service.clone();
        self.runtime.block_on(async move {
            let response = service.oneshot(request).await.unwrap_or_else(|e| match e {});
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("the answer's body");
            (status, headers)
        })
    }
}
