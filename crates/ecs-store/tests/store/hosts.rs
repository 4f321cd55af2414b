use chrono::{Duration, Utc};
use ecs_store::{Claim, HostRegistration, Store, StoreError};

use crate::both;

fn registration(name: &str) -> HostRegistration {
    HostRegistration {
        name: name.into(),
        driver: "sim".into(),
        availability_zone: "nova".into(),
        vcpus: 8,
        ram_mb: 8192,
        disk_gb: 100,
        cpu_ratio: 1.0,
        ram_ratio: 1.0,
        disk_ratio: 1.0,
    }
}

/// Heartbeats for many hosts at once report each one's previous beat;
/// status, reason and forced_down are kept across a re-registration.
async fn liveness_columns(store: Store) {
    let names: Vec<String> = (0..600).map(|i| format!("h{i:03}")).collect();
    for n in &names {
        store.host_register(&registration(n)).await.unwrap();
    }
    let h = store.host_get_by_name("h000").await.unwrap();
    assert!(!h.forced_down && h.enabled && h.disabled_reason.is_none() && h.started_at.is_some());
    let past = Utc::now() - Duration::minutes(10);
    assert_eq!(store.host_heartbeat("h000", past).await.unwrap().map(|t| t > past), Some(true));
    let now = Utc::now();
    let before = store.host_heartbeat_many(&names, now).await.unwrap();
    assert_eq!(before.len(), 600, "every host beat, across statement chunks");
    assert_eq!(before.iter().find(|(n, _)| n == "h000").unwrap().1.timestamp_micros(), past.timestamp_micros());
    assert_eq!(store.host_heartbeat("nowhere", now).await.unwrap(), None);

    let disabled = store.host_set_status(&h.id, false, Some("disk")).await.unwrap();
    assert_eq!((disabled.enabled, disabled.disabled_reason.as_deref()), (false, Some("disk")));
    let down = store.host_set_forced_down(&h.id, true).await.unwrap();
    assert!(down.forced_down);
    let again = store.host_register(&registration("h000")).await.unwrap();
    assert!(again.forced_down && !again.enabled, "an operator's settings survive a restart");
    let enabled = store.host_set_status(&h.id, true, Some("ignored")).await.unwrap();
    assert_eq!((enabled.enabled, enabled.disabled_reason), (true, None));
    assert!(matches!(store.host_set_status("nope", true, None).await, Err(StoreError::NotFound)));
    assert!(matches!(store.host_set_forced_down("nope", true).await, Err(StoreError::NotFound)));
}
both!(liveness_columns);

/// A host holding a claim is not deleted; an idle one is, once.
async fn delete_refuses_a_busy_host(store: Store) {
    let busy = store.host_register(&registration("busy")).await.unwrap();
    let idle = store.host_register(&registration("idle")).await.unwrap();
    let claim = Claim { vcpus: 1, ram_mb: 512, disk_gb: 1 };
    assert!(store.host_claim("s1", &busy.id, claim).await.unwrap().is_some());
    assert!(matches!(store.host_delete(&busy.id).await, Err(StoreError::Conflict(_))));
    store.host_delete(&idle.id).await.unwrap();
    assert!(matches!(store.host_delete(&idle.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.host_list().await.unwrap().len(), 1);
    store.host_release("s1").await.unwrap();
    store.host_delete(&busy.id).await.unwrap();
}
both!(delete_refuses_a_busy_host);
