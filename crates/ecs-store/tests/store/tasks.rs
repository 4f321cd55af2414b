use chrono::{Duration, Utc};
use ecs_store::{NewTask, Store, TaskAdvance};

use crate::both;

fn new_task(id: &str) -> NewTask {
    NewTask {
        id: id.into(),
        parent_id: None,
        kind: "os-stop".into(),
        server_id: None,
        project_id: "p".into(),
        user_id: "u".into(),
        request_id: "req-1".into(),
        params: serde_json::json!({}),
        finished: false,
        events: Vec::new(),
        failure: None,
        failure_reason: None,
    }
}

fn step(n: i64) -> TaskAdvance {
    TaskAdvance { step: n, ..Default::default() }
}

/// A second claim of a task — even by the same worker, after its lease ran
/// out — fences off the first: the first claim's records and renewals are
/// refused and change nothing.
async fn a_superseded_claim_writes_nothing(store: Store) {
    store.task_insert(&new_task("t1")).await.unwrap();
    let expired = Utc::now() - Duration::seconds(1);
    let first = store.task_claim("node-a", 10, expired, &[], &[], chrono::DateTime::UNIX_EPOCH).await.unwrap();
    assert_eq!(first.len(), 1);
    let later = Utc::now() + Duration::hours(1);
    let second = store.task_claim("node-a", 10, later, &[], &[], chrono::DateTime::UNIX_EPOCH).await.unwrap();
    assert_eq!(second.len(), 1, "an expired lease is claimed again");
    let (old, new) = (first[0].token, second[0].token);
    assert_ne!(old, new, "every claim carries a new token");

    assert!(!store.task_advance("t1", old, later, &step(1)).await.unwrap(), "the stale claim's record is refused");
    assert!(!store.task_renew("t1", old, later).await.unwrap(), "the stale claim cannot renew");
    assert_eq!(store.task_get("t1").await.unwrap().step, 0);

    assert!(store.task_renew("t1", new, later).await.unwrap());
    assert!(store.task_advance("t1", new, later, &step(1)).await.unwrap());
    assert_eq!(store.task_get("t1").await.unwrap().step, 1);
    assert!(
        store.task_claim("node-b", 10, later, &[], &[], chrono::DateTime::UNIX_EPOCH).await.unwrap().is_empty(),
        "a live lease holds"
    );

    // A restart's release supersedes every claim made before it.
    store.task_release_all_leases().await.unwrap();
    assert!(!store.task_advance("t1", new, later, &step(2)).await.unwrap());
}
both!(a_superseded_claim_writes_nothing);

/// A worker never claims the tasks it says it is running, even once their
/// leases ran out.
async fn running_tasks_are_not_claimed(store: Store) {
    store.task_insert(&new_task("t1")).await.unwrap();
    store.task_insert(&new_task("t2")).await.unwrap();
    let expired = Utc::now() - Duration::seconds(1);
    assert_eq!(store.task_claim("node-a", 10, expired, &[], &[], chrono::DateTime::UNIX_EPOCH).await.unwrap().len(), 2);
    let again =
        store.task_claim("node-a", 10, expired, &[], &["t1".to_string()], chrono::DateTime::UNIX_EPOCH).await.unwrap();
    assert_eq!(again.iter().map(|c| c.task.id.as_str()).collect::<Vec<_>>(), ["t2"]);
}
both!(running_tasks_are_not_claimed);

/// A finished task keeps no lease; its own claim's renewal is still no error.
async fn a_finished_task_keeps_no_lease(store: Store) {
    store.task_insert(&new_task("t1")).await.unwrap();
    let later = Utc::now() + Duration::hours(1);
    let claim = store.task_claim("node-a", 10, later, &[], &[], chrono::DateTime::UNIX_EPOCH).await.unwrap().remove(0);
    let done = TaskAdvance { phase: Some(ecs_types::server::TaskPhase::Succeeded), ..step(1) };
    assert!(store.task_advance("t1", claim.token, later, &done).await.unwrap());
    assert!(store.task_renew("t1", claim.token, later).await.unwrap());
    assert_eq!(store.task_unfinished_count().await.unwrap(), 0);
}
both!(a_finished_task_keeps_no_lease);
