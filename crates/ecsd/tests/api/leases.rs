//! Task leases: a step that outlasts the lease keeps it with a heartbeat
//! and runs once, and two engines over one database never run one task
//! twice.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::{Core, CoreConfig};
use ecs_hypervisor::Op;
use serde_json::json;

use crate::{Session, TestServer};

/// A one-second lease, polled often, so that an unrenewed lease would be
/// taken over well within a test.
fn short_lease() -> CoreConfig {
    let mut config = CoreConfig::default();
    config.engine.lease = Duration::from_secs(1);
    config.engine.poll = Duration::from_millis(50);
    config
}

/// Declares `sqlite` and `postgres` tests running `$body(server)` on a
/// server with [`short_lease`].
macro_rules! with_short_lease {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::TestServer::start_with(ecs_test_utils::sqlite(), super::short_lease()).await;
                super::$name(&server).await;
                server.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let server =
                    $crate::TestServer::start_with(ecs_test_utils::postgres().await, super::short_lease()).await;
                super::$name(&server).await;
                server.stop().await;
            }
        }
    };
}

async fn boot(s: &Session<'_>) -> String {
    let image = s.server.core().store_for_tests().image_list().await.unwrap().remove(0).id;
    let body = json!({"server": {"name": "lease", "flavorRef": "m1.tiny", "imageRef": image, "networks": "none"}});
    let r = s.post("/v2.1/servers", Some("2.37"), &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    s.wait_status(&id, "ACTIVE").await;
    id
}

/// Runs `action` on server `id` with `op` taking three leases, waits for
/// `status` and checks that the operation ran once and its task
/// succeeded with one event.
async fn runs_once(s: &Session<'_>, id: &str, action: &str, op: Op, status: &str) {
    let sim = s.server.sim();
    let lease = s.server.core().config.engine.lease;
    sim.set_latency(op, lease * 3);
    let before = sim.calls(op);
    let r = s.post(&format!("/v2.1/servers/{id}/action"), None, &json!({ action: null })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_status(id, status).await;
    sim.set_latency(op, Duration::ZERO);
    assert_eq!(sim.calls(op) - before, 1, "{action}: the operation ran once");
    let tasks = s.server.core().store_for_tests().task_list_for_server(id).await.unwrap();
    let task = &tasks[0];
    assert_eq!(task.phase, ecs_types::server::TaskPhase::Succeeded, "{action}: {task:?}");
    let events = s.server.core().store_for_tests().task_events(&task.id).await.unwrap();
    assert_eq!(events.len(), 1, "{action}: {events:?}");
    assert_eq!(events[0].result.as_deref(), Some("Success"));
}

/// A stop and a start each taking three times the lease run once: the
/// heartbeat keeps the lease, so the engine does not claim the task again.
async fn a_step_longer_than_the_lease_runs_once(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo).await;
    runs_once(&demo, &id, "os-stop", Op::PowerOff, "SHUTOFF").await;
    runs_once(&demo, &id, "os-start", Op::PowerOn, "ACTIVE").await;
}
with_short_lease!(a_step_longer_than_the_lease_runs_once);

/// A second engine (another node over the same database, driving the same
/// hosts) polls for work while the first runs long steps: each still runs
/// once.
async fn two_engines_run_a_task_once(server: &TestServer) {
    let first = server.core();
    let second: Arc<Core> = Core::new(first.store_for_tests().clone(), first.config.clone());
    assert_ne!(second.node_id, first.node_id);
    for driver in first.drivers_for_tests().all() {
        second.drivers_for_tests().insert(driver);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let engine = tokio::spawn(ecs_core::compute::engine::run(second, async move {
        let _ = stopped.await;
    }));

    let demo = server.demo().await;
    let id = boot(&demo).await;
    runs_once(&demo, &id, "os-stop", Op::PowerOff, "SHUTOFF").await;
    runs_once(&demo, &id, "os-start", Op::PowerOn, "ACTIVE").await;
    runs_once(&demo, &id, "suspend", Op::Suspend, "SUSPENDED").await;

    let _ = stop.send(());
    engine.await.unwrap();
}
with_short_lease!(two_engines_run_a_task_once);
