//! The driver contract against the simulator, and what only the simulator
//! does: injected failures, lost hosts, latency, persistence.

use std::time::Duration;

use ecs_hypervisor::sim::{FaultRule, SimControl, SimHypervisor, SimSettings};
use ecs_hypervisor::{Hypervisor, HypervisorError, Op, PowerState, contract};

#[tokio::test]
async fn contract_in_memory() {
    let sim = SimHypervisor::new("h1", SimControl::default(), None).unwrap();
    contract::run_all(&sim).await;
}

#[tokio::test]
async fn contract_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    contract::run_all(&sim).await;
}

#[tokio::test]
async fn faults_fail_exactly_n_calls_and_change_nothing() {
    let control = SimControl::default();
    let h1 = SimHypervisor::new("h1", control.clone(), None).unwrap();
    let h2 = SimHypervisor::new("h2", control.clone(), None).unwrap();
    control.inject(FaultRule { host: Some("h1".into()), op: Op::Spawn, times: 2, message: Some("disk full".into()) });
    let s = contract::spec("f1");
    for _ in 0..2 {
        let err = h1.spawn(&s).await.unwrap_err();
        assert!(matches!(&err, HypervisorError::Failed { op: Op::Spawn, message, .. } if message == "disk full"));
        assert_eq!(h1.info("f1").await.unwrap(), None, "a failed spawn leaves nothing");
    }
    h2.spawn(&contract::spec("f2")).await.expect("other hosts are not affected");
    h1.spawn(&s).await.expect("the third call passes");
    assert!(control.faults().is_empty());

    control.inject(FaultRule { host: None, op: Op::PowerOff, times: 1, message: None });
    assert!(h2.power_off("f2", true).await.is_err());
    assert_eq!(h2.info("f2").await.unwrap().unwrap().power_state, PowerState::Running);
    h2.power_off("f2", true).await.unwrap();
}

#[tokio::test]
async fn a_lost_host_answers_nothing_until_it_returns() {
    let control = SimControl::default();
    let h = SimHypervisor::new("h1", control.clone(), None).unwrap();
    h.spawn(&contract::spec("d1")).await.unwrap();
    control.set_host_down("h1", true);
    assert!(h.list().await.unwrap_err().is_host_down());
    assert!(h.destroy("d1").await.unwrap_err().is_host_down());
    control.set_host_down("h1", false);
    assert_eq!(h.list().await.unwrap().len(), 1, "its guests are still there");
}

#[tokio::test]
async fn guests_survive_a_reopen_and_destroyed_ones_stay_gone() {
    let dir = tempfile::tempdir().unwrap();
    let open = || SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    let h = open();
    h.spawn(&contract::spec("p1")).await.unwrap();
    h.spawn(&contract::spec("p2")).await.unwrap();
    h.power_off("p1", true).await.unwrap();
    h.destroy("p2").await.unwrap();
    let console = h.console_log("p1", None).await.unwrap();
    drop(h);
    let h = open();
    let guests = h.list().await.unwrap();
    assert_eq!(guests.len(), 1);
    assert_eq!(guests[0].id, "p1");
    assert_eq!(guests[0].power_state, PowerState::Shutdown);
    assert_eq!(h.console_log("p1", None).await.unwrap(), console);
}

#[tokio::test(start_paused = true)]
async fn latency_is_applied() {
    let control = SimControl::default();
    control.set_latency(Op::Spawn, Duration::from_secs(3));
    let h = SimHypervisor::new("h1", control, None).unwrap();
    let before = tokio::time::Instant::now();
    h.spawn(&contract::spec("l1")).await.unwrap();
    assert!(before.elapsed() >= Duration::from_secs(3));
    let before = tokio::time::Instant::now();
    h.pause("l1").await.unwrap();
    assert!(before.elapsed() < Duration::from_secs(1));
}

#[test]
fn settings_round_trip() {
    let control = SimControl::realistic();
    control.inject(FaultRule { host: Some("h2".into()), op: Op::Reboot, times: 4, message: None });
    control.set_host_down("h3", true);
    let settings = control.settings();
    assert_eq!(settings.latency_ms[&Op::Spawn], 3000);
    let copy = SimControl::default();
    copy.apply(&settings);
    assert_eq!(copy.settings(), settings);
    let json = serde_json::to_string(&settings).unwrap();
    assert!(json.contains("\"spawn\":3000"), "{json}");
    let parsed: SimSettings = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, settings);
}

#[tokio::test]
async fn console_output_is_deterministic() {
    let a = SimHypervisor::new("h1", SimControl::default(), None).unwrap();
    let b = SimHypervisor::new("h2", SimControl::default(), None).unwrap();
    let s = contract::spec("det");
    a.spawn(&s).await.unwrap();
    b.spawn(&s).await.unwrap();
    assert_eq!(a.console_log("det", None).await.unwrap(), b.console_log("det", None).await.unwrap());
    assert!(a.console_log("det", None).await.unwrap().contains("inet 192.168.0.10"));
}

#[tokio::test]
async fn a_torn_journal_line_loses_only_that_change() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let h = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    h.spawn(&contract::spec("t1")).await.unwrap();
    drop(h);
    // A crash in the middle of an append.
    let mut f = std::fs::OpenOptions::new().append(true).open(dir.path().join("h1.journal")).unwrap();
    f.write_all(b"{\"op\":\"put\",\"guest\":{\"spec\":").unwrap();
    drop(f);
    let on_disk = ecs_hypervisor::sim::guests_on_disk(dir.path()).unwrap();
    assert_eq!(on_disk["h1"], vec!["t1".to_string()]);
    let h = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    assert_eq!(h.list().await.unwrap().len(), 1);
    h.spawn(&contract::spec("t2")).await.unwrap();
    drop(h);
    let h = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    assert_eq!(h.list().await.unwrap().len(), 2, "appends after a compaction are kept");
}
