//! `/metrics` as Prometheus scrapes it: no token, the OpenMetrics text
//! format, parsed here by a Prometheus text parser; its counters move as
//! requests and tasks run, its gauges follow the database. Off, it is a
//! 404. And `/healthz`, `/readyz`.

use prometheus_parse::{Scrape, Value as Sampled};
use reqwest::Method;
use serde_json::json;

use crate::{TestServer, both};

/// One scrape, parsed.
struct Metrics(Scrape);

impl Metrics {
    /// The value of the sample `name` whose labels include `labels`, summed
    /// over the others; 0 when there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(braces_out(v).as_str())))
            .map(|s| match &s.value {
                Sampled::Counter(v) | Sampled::Gauge(v) | Sampled::Untyped(v) => *v,
                Sampled::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
                Sampled::Summary(_) => 0.0,
            })
            .sum()
    }

    /// Every value the label `label` takes on the samples of `name`.
    fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        self.0.samples.iter().filter(|s| s.metric == name).filter_map(|s| s.labels.get(label)).map(braces_in).collect()
    }
}

/// prometheus-parse ends a sample's labels at the first `}`, even inside a
/// quoted value (Prometheus itself does not): route templates' braces are
/// swapped for other characters before parsing, and back after.
fn braces_out(text: &str) -> String {
    text.replace('{', "\u{2039}").replace('}', "\u{203a}")
}

fn braces_in(text: &str) -> String {
    text.replace('\u{2039}', "{").replace('\u{203a}', "}")
}

async fn scrape(server: &TestServer) -> Metrics {
    // No token: Prometheus scrapes without one.
    let resp = reqwest::get(format!("{}/metrics", server.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains(r#"route="/v2.1/servers/{id}""#) || !text.contains("/v2.1/servers/"), "{text}");
    // Braces only ever stand in label values past a sample's name.
    let lines = text.lines().map(|l| match l.split_once('{') {
        Some((name, rest)) if !l.starts_with('#') => {
            let (labels, value) = rest.rsplit_once('}').expect("a closed label set");
            Ok(format!("{name}{{{}}}{value}", braces_out(labels)))
        }
        _ => Ok(l.to_string()),
    });
    Metrics(Scrape::parse(lines).expect("Prometheus text"))
}

async fn counters_move_as_requests_and_tasks_run(server: &TestServer) {
    let before = scrape(server).await;
    let admin = server.admin().await;
    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
    let body = json!({"server": {"name": "scraped", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = admin.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    admin.wait_status(&id, "ACTIVE").await;
    // A path no route serves: counted, but never under its own path.
    let nowhere = format!("/v2.1/no-such-thing/{id}");
    assert_eq!(admin.get(&nowhere, None).await.status, 404);
    let after = scrape(server).await;

    // HTTP: by route template (after the project-id rewrite), method, status.
    let show = [("route", "/v2.1/servers/{id}"), ("method", "GET"), ("status", "200")];
    let routes = after.label_values("ecsd_http_requests_total", "route");
    assert!(after.value("ecsd_http_requests_total", &show) >= 1.0, "{routes:?}");
    let created = [("route", "/v2.1/servers"), ("method", "POST"), ("status", "202")];
    assert_eq!(
        after.value("ecsd_http_requests_total", &created) - before.value("ecsd_http_requests_total", &created),
        1.0
    );
    let timed = [("route", "/v2.1/servers/{id}"), ("method", "GET")];
    assert!(after.value("ecsd_http_request_duration_seconds_count", &timed) >= 1.0);
    assert!(after.value("ecsd_http_requests_total", &[("route", "unmatched"), ("status", "404")]) >= 1.0);
    assert!(routes.iter().all(|r| !r.contains(&id)), "a raw path as a label: {routes:?}");

    // The create task, the scheduler's decision, the hypervisor's spawn.
    let grew = |name: &str, labels: &[(&str, &str)]| after.value(name, labels) - before.value(name, labels);
    let kinds = after.label_values("ecsd_tasks_total", "kind");
    assert!(grew("ecsd_tasks_total", &[("kind", "create"), ("outcome", "succeeded")]) >= 1.0, "{kinds:?}");
    assert!(grew("ecsd_task_duration_seconds_count", &[("kind", "create"), ("outcome", "succeeded")]) >= 1.0);
    assert!(grew("ecsd_scheduler_decisions_total", &[("outcome", "placed")]) >= 1.0);
    assert!(grew("ecsd_hypervisor_operations_total", &[("driver", "sim"), ("op", "spawn"), ("outcome", "ok")]) >= 1.0);
    assert!(grew("ecsd_hypervisor_operation_duration_seconds_count", &[("op", "spawn")]) >= 1.0);

    // Read from the database: servers by state, hosts, the queue.
    assert_eq!(grew("ecsd_servers", &[("vm_state", "active")]), 1.0);
    assert_eq!(after.label_values("ecsd_host_vcpus", "host").len(), 4, "the simulated hosts");
    assert_eq!(after.value("ecsd_host_vcpus", &[]), 4.0 * 64.0);
    assert_eq!(grew("ecsd_host_vcpus_used", &[]), 1.0, "m1.tiny's vCPU");
    assert_eq!(after.value("ecsd_host_up", &[]), 4.0);
    assert_eq!(after.value("ecsd_host_memory_bytes", &[]), 4.0 * 256.0 * 1024.0 * 1024.0 * 1024.0);
    assert!(after.value("ecsd_task_queue_depth", &[("state", "waiting")]) >= 0.0);
    assert_eq!(after.label_values("ecsd_task_queue_depth", "state").len(), 2);
    assert!(after.0.samples.iter().any(|s| s.metric == "ecsd_task_oldest_waiting_age_seconds"));

    // A failed task: its step failed and the steps before it undone.
    server
        .sim()
        .apply(&serde_json::from_value(json!({"faults": [{"op": "spawn", "times": 10, "message": "boom"}]})).unwrap());
    let body = json!({"server": {"name": "doomed", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = admin.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let doomed = r.body["server"]["id"].as_str().unwrap().to_string();
    admin.wait_status(&doomed, "ERROR").await;
    server.sim().apply(&Default::default());
    let failed = scrape(server).await;
    let grew = |name: &str, labels: &[(&str, &str)]| failed.value(name, labels) - after.value(name, labels);
    assert!(grew("ecsd_tasks_total", &[("kind", "create"), ("outcome", "failed")]) >= 1.0);
    assert!(grew("ecsd_task_steps_failed_total", &[("kind", "create")]) >= 1.0);
    assert!(grew("ecsd_task_steps_undone_total", &[("kind", "create")]) >= 1.0);
    assert!(grew("ecsd_hypervisor_operations_total", &[("op", "spawn"), ("outcome", "error")]) >= 1.0);
    assert_eq!(grew("ecsd_servers", &[("vm_state", "error")]), 1.0);
}
both!(counters_move_as_requests_and_tasks_run);

async fn health_and_readiness_answer_without_a_token(server: &TestServer) {
    let r = server.send(Method::GET, "/healthz", &[], None).await;
    assert_eq!((r.status.as_u16(), &r.body), (200, &json!({"status": "ok"})));
    let r = server.send(Method::GET, "/readyz", &[], None).await;
    assert_eq!((r.status.as_u16(), &r.body), (200, &json!({"status": "ready"})));
    assert!(r.header("x-request-id").is_some());
    // Not a prefix: what lies under them is unknown.
    for path in ["/healthz/x", "/readyz/x", "/metrics/x"] {
        let r = server.send(Method::GET, path, &[], None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["error"]["code"], 404, "{path}: {}", r.body);
    }
    let r = server.send(Method::POST, "/metrics", &[], Some(&json!({}))).await;
    assert_eq!(r.status, 405);
}
both!(health_and_readiness_answer_without_a_token);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_with_its_reason_once_the_database_is_gone() {
    let server = TestServer::start(ecs_test_utils::sqlite()).await;
    server.core().close().await;
    let r = server.send(Method::GET, "/readyz", &[], None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["status"], "not ready");
    assert!(r.body["reason"].as_str().unwrap().contains("database"), "{}", r.body);
    // Alive all the same.
    assert_eq!(server.send(Method::GET, "/healthz", &[], None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_off_records_nothing_and_serves_no_metrics() {
    let core = ecs_core::CoreConfig { metrics: false, ..Default::default() };
    let server = TestServer::start_with(ecs_test_utils::sqlite(), core).await;
    assert!(server.core().metrics().is_none());
    let r = server.send(Method::GET, "/metrics", &[], None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], 404);
    assert_eq!(server.send(Method::GET, "/healthz", &[], None).await.status, 200);
    assert_eq!(server.send(Method::GET, "/readyz", &[], None).await.status, 200);
    server.stop().await;
}

/// No VNC proxy and no `--novncproxy-base-url`: no console URL is handed
/// out (it would lead nowhere); Nova answers as with `[vnc] enabled = False`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_console_urls_without_a_proxy() {
    let server = TestServer::start_serving(ecs_test_utils::sqlite(), |c| {
        c.vnc_proxy_listen = None;
        c.novncproxy_base_url_given = false;
    })
    .await;
    let demo = server.demo().await;
    let store = server.core().store_for_tests();
    let image = store.image_list().await.unwrap().into_iter().find(|i| i.name.starts_with("cirros")).unwrap().id;
    let body = json!({"server": {"name": "noconsole", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = demo.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&id, "ACTIVE").await;

    let body = json!({"remote_console": {"protocol": "vnc", "type": "novnc"}});
    let r = demo.post(&format!("/v2.1/servers/{id}/remote-consoles"), Some("2.6"), &body).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Unavailable console type novnc.");
    let r =
        demo.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-getVNCConsole": {"type": "novnc"}})).await;
    assert_eq!(r.assert_fault(400, "badRequest"), "Unavailable console type novnc.");
    let p = server.demo_project_id();
    let r = demo.post(&format!("/v1/{p}/cloudservers/{id}/remote_console"), None, &body).await;
    crate::assert_ecs_error(&r, 400, "Ecs.0005");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Unavailable console type"), "{}", r.body);
    // A missing server is still a 404 first.
    let r = demo.post("/v2.1/servers/00000000-0000-0000-0000-000000000000/remote-consoles", Some("2.6"), &body).await;
    r.assert_fault(404, "itemNotFound");
    server.stop().await;
}
