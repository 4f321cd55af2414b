//! `/admin/v1/clock`: admins advance ecsd's clock, and what depends on it
//! follows at once — token expiry, job times, the reclaim of soft-deleted
//! servers, ECS auto-terminate, shelved offload, simulated latencies —
//! with no real waiting. Others are refused (403) and nothing moves.

use std::time::{Duration, Instant};

use ecs_core::CoreConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Session, TestServer};

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clock_moves_what_depends_on_it() {
        let server = crate::TestServer::start_with(ecs_test_utils::sqlite(), super::config()).await;
        super::clock_moves_what_depends_on_it(&server).await;
        server.stop().await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clock_moves_what_depends_on_it() {
        let server = crate::TestServer::start_with(ecs_test_utils::postgres().await, super::config()).await;
        super::clock_moves_what_depends_on_it(&server).await;
        server.stop().await;
    }
}

/// An hour before soft-deleted servers are reclaimed and shelved ones offloaded.
fn config() -> CoreConfig {
    CoreConfig {
        reclaim_instance_interval: Duration::from_secs(3600),
        shelved_offload_time: 3600,
        ..CoreConfig::default()
    }
}

async fn clock(s: &Session<'_>) -> Value {
    let r = s.get("/admin/v1/clock", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["clock"].clone()
}

async fn advance(s: &Session<'_>, seconds: u64) -> Value {
    let r = s.post("/admin/v1/clock/advance", None, &json!({"seconds": seconds})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["clock"].clone()
}

fn parse(t: &Value) -> chrono::DateTime<chrono::Utc> {
    t.as_str().expect("a time").parse().expect("RFC 3339")
}

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_on_network(name).await
}

async fn act(s: &Session<'_>, id: &str, body: Value) {
    let r = s.post(&format!("/v2.1/servers/{id}/action"), Some("2.90"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
}

async fn clock_moves_what_depends_on_it(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;

    // Admins only; a refused advance moves nothing.
    let c = clock(&admin).await;
    assert_eq!(c["offset_seconds"], 0, "{c}");
    let started = parse(&c["now"]);
    assert!((started - chrono::Utc::now()).num_seconds().abs() < 60, "{c}");
    let r = demo.get("/admin/v1/clock", None).await;
    assert_eq!((r.status.as_u16(), &r.body["error"]["code"]), (403, &json!("Forbidden")), "{}", r.body);
    let r = demo.post("/admin/v1/clock/advance", None, &json!({"seconds": 3600})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = server.send(Method::GET, "/admin/v1/clock", &[], None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Malformed: refused naming the field; backwards or nowhere neither.
    for bad in [json!({"seconds": 0}), json!({"seconds": -5}), json!({"seconds": "ten"}), json!({"seconds": 1.5})] {
        let r = admin.post("/admin/v1/clock/advance", None, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"]["field"], "seconds", "{bad}: {}", r.body);
    }
    let r = admin.post("/admin/v1/clock/advance", None, &json!({"seconds": 1u64 << 40})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = admin.post("/admin/v1/clock/advance", None, &json!({"secs": 5})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(clock(&admin).await["offset_seconds"], 0);

    // A simulated reboot of 30 s ends as soon as the clock passes it.
    let rebooted = boot(&demo, "rebooted").await;
    server.sim().set_latency(ecs_hypervisor::Op::Reboot, Duration::from_secs(30));
    act(&demo, &rebooted, json!({"reboot": {"type": "HARD"}})).await;
    demo.wait_status(&rebooted, "HARD_REBOOT").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = Instant::now();
    let c = advance(&admin, 30).await;
    assert_eq!(c["offset_seconds"], 30, "{c}");
    demo.wait_status(&rebooted, "ACTIVE").await;
    assert!(before.elapsed() < Duration::from_secs(10), "the reboot waited {:?}", before.elapsed());
    server.sim().set_latency(ecs_hypervisor::Op::Reboot, Duration::ZERO);

    // Deferred: a soft-deleted server, a shelved one, an auto-terminate time.
    let deleted = boot(&demo, "deleted").await;
    assert_eq!(demo.delete(&format!("/v2.1/servers/{deleted}"), None).await.status, 204);
    demo.wait_status(&deleted, "SOFT_DELETED").await;
    act(&demo, &rebooted, json!({"shelve": null})).await;
    demo.wait_status(&rebooted, "SHELVED").await;
    let terminated = boot(&demo, "terminated").await;
    let at = (parse(&clock(&admin).await["now"]) + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    let p = &demo.project_id;
    let r = demo
        .post(
            &format!("/v1/{p}/cloudservers/{terminated}/actions/update-auto-terminate-time"),
            None,
            &json!({"auto_terminate_time": at.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Nothing is due yet.
    assert_eq!(server.core().run_deferred().await.unwrap(), 0);

    // A day later: the token has expired, the deferred work is done.
    let c = advance(&admin, 24 * 3600 + 60).await;
    assert_eq!(c["offset_seconds"], 24 * 3600 + 90, "{c}");
    assert!(parse(&c["now"]) - chrono::Utc::now() > chrono::Duration::hours(24), "{c}");
    assert_eq!(demo.get("/v2.1/servers", None).await.status, 401, "the token expired");
    assert_eq!(admin.get("/admin/v1/clock", None).await.status, 401, "the token expired");
    let admin = server.admin().await;
    let demo = server.demo().await;
    demo.wait_server(&deleted, |r| r.status == 404).await;
    demo.wait_server(&terminated, |r| r.status == 404).await;
    demo.wait_status(&rebooted, "SHELVED_OFFLOADED").await;

    // Jobs are timed by the clock: an ECS job begun now begins a day ahead.
    let ecs = boot(&demo, "ecs").await;
    let r = demo.post(&format!("/v1/{p}/cloudservers/delete"), None, &json!({"servers": [{"id": ecs}]})).await;
    let job = demo.finished_job_of(&r).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let now = parse(&clock(&admin).await["now"]);
    for field in ["begin_time", "end_time"] {
        let t: chrono::DateTime<chrono::Utc> = job[field].as_str().unwrap().parse().unwrap();
        assert!(t - chrono::Utc::now() > chrono::Duration::hours(23), "{field}: {job}");
        assert!((now - t).num_seconds().abs() < 60, "{field}: {job}");
    }
}
