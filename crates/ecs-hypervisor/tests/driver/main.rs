//! The driver contract against the simulator, and what only the simulator
//! does: injected failures, lost hosts, latency, persistence. The QEMU
//! driver's contract run and its own checks are in [`qemu`].

mod qemu;
mod qemu_moves;

use std::sync::Arc;
use std::time::Duration;

use ecs_hypervisor::sim::{FaultRule, SimControl, SimHypervisor, SimSettings};
use ecs_hypervisor::{DiskSpec, Hypervisor, HypervisorError, Op, PowerState, RebootKind, contract};

#[tokio::test]
async fn contract_in_memory() {
    let sim = SimHypervisor::new("h1", SimControl::default(), None).unwrap();
    contract::run_all(&sim, &contract::template()).await;
}

#[tokio::test]
async fn contract_moves() {
    let dir = tempfile::tempdir().unwrap();
    let control = SimControl::default();
    let a = SimHypervisor::new("h1", control.clone(), Some(dir.path().to_path_buf())).unwrap();
    let b = SimHypervisor::new("h2", control.clone(), Some(dir.path().to_path_buf())).unwrap();
    contract::run_moves(&a, &b, &contract::template()).await;
    // The moved guests were journaled where they went.
    let on_disk = ecs_hypervisor::sim::guests_on_disk(dir.path()).unwrap();
    assert!(on_disk.values().all(|ids| ids.is_empty()), "{on_disk:?}");
}

#[tokio::test]
async fn a_live_move_in_flight_is_cancelled_or_forced() {
    use ecs_hypervisor::MoveKind;
    let control = SimControl::default();
    let a = Arc::new(SimHypervisor::new("h1", control.clone(), None).unwrap());
    let b = SimHypervisor::new("h2", control.clone(), None).unwrap();
    control.set_latency(Op::Migrate, Duration::from_secs(30));
    let kind = MoveKind::Live { block: false };
    let s = contract::spec("m-abort");
    a.spawn(&s).await.unwrap();
    let to = b.prepare_incoming(&s, kind).await.unwrap();
    let send = {
        let (a, to) = (a.clone(), to.clone());
        tokio::spawn(async move { a.send_guest("m-abort", &to, kind).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.cancel_send("m-abort").await.unwrap();
    let cancelled = tokio::time::timeout(Duration::from_secs(10), send).await.unwrap().unwrap();
    assert!(matches!(cancelled, Err(HypervisorError::Failed { op: Op::Migrate, .. })), "{cancelled:?}");
    assert_eq!(a.info("m-abort").await.unwrap().unwrap().power_state, PowerState::Running, "runs on at the source");
    b.abort_incoming("m-abort").await.unwrap();
    assert!(b.finish_incoming(&s, kind, true).await.is_err(), "nothing was received");

    let to = b.prepare_incoming(&s, kind).await.unwrap();
    let send = {
        let (a, to) = (a.clone(), to.clone());
        tokio::spawn(async move { a.send_guest("m-abort", &to, kind).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.force_complete_send("m-abort").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), send).await.unwrap().unwrap().unwrap();
    assert_eq!(b.finish_incoming(&s, kind, true).await.unwrap().power_state, PowerState::Running);
}

#[tokio::test]
async fn contract_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    contract::run_all(&sim, &contract::template()).await;
}

#[tokio::test]
async fn faults_fail_exactly_n_calls_and_change_nothing() {
    let control = SimControl::default();
    let h1 = SimHypervisor::new("h1", control.clone(), None).unwrap();
    let h2 = SimHypervisor::new("h2", control.clone(), None).unwrap();
    control.inject(FaultRule { host: Some("h1".into()), op: Op::Spawn, times: 2, message: Some("disk full".into()) });
    let s = contract::spec("f1");
    for left in [1, 0] {
        let err = h1.spawn(&s).await.unwrap_err();
        assert!(
            matches!(&err, HypervisorError::Failed { op: Op::Spawn, message, host } if message == "disk full" && host == "h1")
        );
        assert_eq!(h1.info("f1").await.unwrap(), None, "a failed spawn leaves nothing");
        assert_eq!(control.faults().first().map(|f| f.times), (left > 0).then_some(left), "one failure used per call");
    }
    h2.spawn(&contract::spec("f2")).await.expect("other hosts are not affected");
    h1.spawn(&s).await.expect("the third call passes");
    assert!(control.faults().is_empty());

    control.inject(FaultRule { host: None, op: Op::PowerOff, times: 1, message: None });
    assert!(h2.power_off("f2", true).await.is_err());
    assert_eq!(h2.info("f2").await.unwrap().unwrap().power_state, PowerState::Running);
    h2.power_off("f2", true).await.unwrap();

    // A rule for another operation is not consumed; clear_faults drops the rest.
    control.inject(FaultRule { host: None, op: Op::AttachDisk, times: 5, message: None });
    h2.detach_disk("f2", "none").await.unwrap();
    let disk = DiskSpec { id: "v1".into(), size_gb: 1, device: "/dev/vdb".into(), source: None };
    assert!(matches!(h2.attach_disk("f2", &disk).await, Err(HypervisorError::Failed { op: Op::AttachDisk, .. })));
    assert!(h2.info("f2").await.unwrap().unwrap().disks.is_empty(), "a failed attach attaches nothing");
    assert_eq!(control.faults()[0].times, 4);
    control.clear_faults();
    h2.attach_disk("f2", &disk).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_host_lost_mid_operation_fails_it() {
    let control = SimControl::default();
    control.set_latency(Op::Spawn, Duration::from_secs(3));
    let h = Arc::new(SimHypervisor::new("h1", control.clone(), None).unwrap());
    let task = tokio::spawn({
        let h = h.clone();
        async move { h.spawn(&contract::spec("m1")).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    control.set_host_down("h1", true);
    assert_eq!(control.hosts_down(), ["h1"]);
    assert!(task.await.unwrap().unwrap_err().is_host_down());
    control.set_host_down("h1", false);
    assert_eq!(h.info("m1").await.unwrap(), None);
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

#[tokio::test]
async fn the_journal_stays_proportional_to_the_guests() {
    let dir = tempfile::tempdir().unwrap();
    let open = || SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    let h = open();
    h.spawn(&contract::spec("j1")).await.unwrap();
    for _ in 0..3000 {
        h.power_off("j1", false).await.unwrap();
        h.power_on("j1").await.unwrap();
    }
    h.pause("j1").await.unwrap();
    let journal = std::fs::read_to_string(dir.path().join("h1.journal")).unwrap();
    assert!(journal.lines().count() < 4200, "rewritten while running: {} lines", journal.lines().count());
    drop(h);
    let h = open();
    assert_eq!(h.info("j1").await.unwrap().unwrap().power_state, PowerState::Paused, "the last change survives");
}

#[tokio::test]
async fn thousands_of_guests_persist() {
    let dir = tempfile::tempdir().unwrap();
    let open = || SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    let h = open();
    for i in 0..3000 {
        h.spawn(&contract::spec(&format!("g{i}"))).await.unwrap();
    }
    for i in (0..3000).step_by(3) {
        h.destroy(&format!("g{i}")).await.unwrap();
    }
    drop(h);
    let h = open();
    assert_eq!(h.list().await.unwrap().len(), 2000);
    assert_eq!(ecs_hypervisor::sim::guests_on_disk(dir.path()).unwrap()["h1"].len(), 2000);
}

#[tokio::test]
async fn secrets_and_user_data_are_not_kept_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    let mut s = contract::spec("s1");
    s.admin_pass = Some("hunter2-secret".into());
    s.user_data = Some(b"#!/bin/sh\necho private-user-data\n".to_vec());
    h.spawn(&s).await.unwrap();
    let journal = std::fs::read_to_string(dir.path().join("h1.journal")).unwrap();
    assert!(!journal.contains("hunter2"), "{journal}");
    assert!(journal.contains(r#""user_data":[]"#), "only that user-data was given is kept: {journal}");
    drop(h);
    let h = SimHypervisor::new("h1", SimControl::default(), Some(dir.path().to_path_buf())).unwrap();
    assert!(h.console_log("s1", None).await.unwrap().contains("user-data given"));
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

    let realistic = SimControl::realistic();
    assert_eq!(realistic.latency(Op::Resize), Duration::from_secs(4));
    assert_eq!(realistic.latency(Op::ConsoleLog), Duration::ZERO);
    let h = SimHypervisor::new("h2", realistic.clone(), None).unwrap();
    h.spawn(&contract::spec("l2")).await.unwrap();
    let before = tokio::time::Instant::now();
    h.console_log("l2", None).await.unwrap();
    h.power_off("l2", true).await.unwrap();
    assert_eq!(before.elapsed(), Duration::from_secs(2));
    realistic.set_latency_all(Duration::from_millis(10));
    assert!(Op::ALL.iter().all(|op| realistic.latency(*op) == Duration::from_millis(10)));
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

    // apply replaces everything, it does not merge.
    copy.apply(&SimSettings::default());
    assert_eq!(copy.settings(), SimSettings::default());
    assert!(copy.faults().is_empty() && copy.hosts_down().is_empty());
    assert_eq!(copy.latency(Op::Spawn), Duration::ZERO);

    // The document the admin API and --sim-config take; fields may be left out.
    let doc: SimSettings = serde_json::from_str(
        r#"{"faults": [{"host": "sim-host-2", "op": "spawn", "times": 3}], "latency_ms": {"power_off": 5}}"#,
    )
    .unwrap();
    copy.apply(&doc);
    assert_eq!(copy.faults(), [FaultRule { host: Some("sim-host-2".into()), op: Op::Spawn, times: 3, message: None }]);
    assert_eq!(copy.latency(Op::PowerOff), Duration::from_millis(5));
    assert!(serde_json::from_str::<SimSettings>(r#"{"latency_ms": {"warp": 1}}"#).is_err(), "unknown ops are refused");
}

#[test]
fn ops_have_stable_names() {
    for op in Op::ALL {
        assert_eq!(Op::parse(op.as_str()), Some(op));
        assert_eq!(serde_json::to_value(op).unwrap(), op.as_str());
        assert_eq!(op.to_string(), op.as_str());
    }
    assert_eq!(Op::parse("attach_nic"), Some(Op::AttachNic));
    assert_eq!(Op::parse("nope"), None);
    for state in [PowerState::NoState, PowerState::Running, PowerState::Paused, PowerState::Shutdown] {
        assert_eq!(PowerState::from_code(state.code()), Some(state));
    }
    assert_eq!(PowerState::Suspended.code(), 7);
    assert_eq!(PowerState::from_code(2), None);
}

#[tokio::test]
async fn console_output_is_deterministic() {
    let a = SimHypervisor::new("h1", SimControl::default(), None).unwrap();
    let b = SimHypervisor::new("h2", SimControl::default(), None).unwrap();
    let s = contract::spec("det");
    a.spawn(&s).await.unwrap();
    b.spawn(&s).await.unwrap();
    assert_eq!(a.console_log("det", None).await.unwrap(), b.console_log("det", None).await.unwrap());
    let log = a.console_log("det", None).await.unwrap();
    assert!(log.starts_with("[    0.000000] Linux version"), "{log}");
    assert!(log.contains("eth0: link up, mac fa:16:3e:00:00:01") && log.contains("eth0: inet 192.168.0.10"), "{log}");
    assert!(log.contains("1 ssh key(s), user-data given"), "{log}");
    assert!(log.ends_with(&format!("{} login: \n", s.hostname)), "{log}");
}

#[tokio::test]
async fn the_console_tells_what_happened_and_stays_bounded() {
    let h = SimHypervisor::new("h1", SimControl::default(), None).unwrap();
    let s = contract::spec("con");
    h.spawn(&s).await.unwrap();
    let boots = |log: &str| log.matches("Linux version").count();
    h.suspend("con").await.unwrap();
    h.resume("con").await.unwrap();
    let log = h.console_log("con", None).await.unwrap();
    assert_eq!(boots(&log), 1, "waking from suspend is not a boot: {log}");
    h.power_off("con", false).await.unwrap();
    assert!(!h.console_log("con", None).await.unwrap().contains("Power down"), "a forced power-off prints nothing");
    h.power_on("con").await.unwrap();
    h.power_off("con", true).await.unwrap();
    let log = h.console_log("con", None).await.unwrap();
    assert!(log.contains("reboot: Power down"), "{log}");
    assert_eq!(boots(&log), 2);
    for _ in 0..300 {
        h.reboot("con", RebootKind::Hard).await.unwrap();
    }
    let log = h.console_log("con", None).await.unwrap();
    assert!(log.lines().count() <= 1000, "{} lines", log.lines().count());
    assert!(log.ends_with(&format!("{} login: \n", s.hostname)), "{log}");
    assert!(log.contains("(boot 302)"), "the boot count goes on past the forgotten ones");
    assert_eq!(h.console_log("con", Some(0)).await.unwrap(), "");
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
