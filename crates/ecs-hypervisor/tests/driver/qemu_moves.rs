//! Moving the tiny guest between two QEMU drivers on this machine, each
//! with its own data directory, as two agents' hosts: live (with block
//! migration, and over shared volumes), cold, cancelled, and the moves
//! the driver refuses.

use std::sync::Arc;
use std::time::Duration;

use ecs_hypervisor::qemu::{AccelChoice, NetworkMode, QemuConfig, QemuHypervisor, detect_accel};
use ecs_hypervisor::{
    BootSource, DiskSpec, GuestSpec, Hypervisor, HypervisorError, MoveKind, Op, PowerState, contract,
};
use ecs_test_utils::tiny_guest;

struct Pair {
    a: Arc<QemuHypervisor>,
    b: Arc<QemuHypervisor>,
    base: GuestSpec,
    _dir: tempfile::TempDir,
}

impl Drop for Pair {
    /// A failed check must not leave guests running after the test.
    fn drop(&mut self) {
        for driver in [self.a.as_ref(), self.b.as_ref()] {
            let Ok(guests) = std::fs::read_dir(&driver.config().state_dir) else { continue };
            for guest in guests.flatten() {
                if let Ok(pid) = std::fs::read_to_string(guest.path().join("qemu.pid")) {
                    let _ = std::process::Command::new("kill").args(["-9", pid.trim()]).status();
                }
            }
        }
    }
}

/// Two hosts; with `shared_volumes` their volumes live in one directory
/// (shared storage), otherwise nothing is shared.
fn pair(shared_volumes: bool, bandwidth: Option<u64>) -> Option<Pair> {
    pair_with(shared_volumes, bandwidth, None)
}

/// With `transfer`, a URL and token: files reach host b through its agent's
/// transfer endpoint instead of its directory.
fn pair_with(shared_volumes: bool, bandwidth: Option<u64>, transfer: Option<(String, String)>) -> Option<Pair> {
    let guest = tiny_guest(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    let dir = tempfile::tempdir().unwrap();
    let (accel, _) = detect_accel(AccelChoice::Auto).unwrap();
    let config = |name: &str| {
        let mut config = QemuConfig::under(&dir.path().join(name), name, accel, NetworkMode::User);
        config.shutdown_timeout = Duration::from_secs(1);
        config.migration_bandwidth = bandwidth;
        config
    };
    let a = config("qemu-a");
    let mut b = config("qemu-b");
    if shared_volumes {
        b.volumes_dir = a.volumes_dir.clone();
    }
    let mut a = a;
    if let Some((url, token)) = transfer {
        b.transfer_url = Some(url);
        a.transfer_token = Some(token);
    }
    let mut base = contract::template();
    base.boot = BootSource { kernel: Some(guest.kernel), initrd: Some(guest.initrd), ..Default::default() };
    base.user_data = Some(b"count".to_vec());
    Some(Pair {
        a: Arc::new(QemuHypervisor::new(a).unwrap()),
        b: Arc::new(QemuHypervisor::new(b).unwrap()),
        base,
        _dir: dir,
    })
}

/// The console once it shows `text`.
async fn console_shows(d: &dyn Hypervisor, id: &str, text: &str) -> String {
    for _ in 0..600 {
        let log = d.console_log(id, None).await.unwrap();
        if log.contains(text) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the console of {id} on {} never showed {text:?}: {}", d.host(), d.console_log(id, None).await.unwrap());
}

/// The counter the guest prints every second, in order.
fn counts(log: &str) -> Vec<u64> {
    log.lines().filter_map(|l| l.trim().strip_prefix("ecsd-guest: count ")?.trim().parse().ok()).collect()
}

async fn live_move(p: &Pair, spec: &GuestSpec, block: bool) {
    let id = &spec.id;
    let kind = MoveKind::Live { block };
    let before = counts(&console_shows(p.a.as_ref(), id, "ecsd-guest: count 3").await);
    let to = p.b.prepare_incoming(spec, kind).await.unwrap();
    assert_eq!(to.host, "qemu-b");
    assert_eq!(p.b.prepare_incoming(spec, kind).await.unwrap(), to, "a repeated prepare gives the same place");
    assert!(p.b.list().await.unwrap().is_empty(), "an incoming guest is not the host's yet");
    p.a.send_guest(id, &to, kind).await.unwrap();
    p.a.send_guest(id, &to, kind).await.expect("a repeated send of a moved guest succeeds");
    let info = p.b.finish_incoming(spec, kind, true).await.unwrap();
    assert_eq!(info.power_state, PowerState::Running);
    let stats = p.a.move_stats(id).unwrap();
    eprintln!("live move (block: {block}): {stats:?}");
    assert!(stats.downtime_ms > 0 && stats.total_ms >= stats.downtime_ms, "{stats:?}");
    // The source keeps the guest, stopped, until it is destroyed.
    assert_eq!(p.a.info(id).await.unwrap().unwrap().power_state, PowerState::Shutdown);
    p.a.destroy(id).await.unwrap();

    // The console continues on the destination, the counter with no restart.
    let last = *before.last().unwrap();
    let log = console_shows(p.b.as_ref(), id, &format!("ecsd-guest: count {}\n", last + 3)).await;
    let after = counts(&log);
    assert_eq!(after, (1..=*after.last().unwrap()).collect::<Vec<_>>(), "no restart, no gap: {log}");
    assert_eq!(log.matches("Linux version").count(), 1, "one boot: {log}");
    assert_eq!(p.b.list().await.unwrap().len(), 1);
    p.b.destroy(id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_live_block_migration_keeps_the_guest_running() {
    let Some(p) = pair(false, None) else { return };
    let mut spec = contract::spec_from(&p.base, "q-live");
    // A data volume travels with the root disk.
    spec.disks.push(DiskSpec { id: "q-live-vol".into(), size_gb: 1, device: "/dev/vdb".into(), source: None });
    p.a.spawn(&spec).await.unwrap();
    // And one attached after boot.
    let hot = DiskSpec { id: "q-live-hot".into(), size_gb: 1, device: "/dev/vdc".into(), source: None };
    p.a.attach_disk("q-live", &hot).await.unwrap();
    spec.disks.push(hot);
    live_move(&p, &spec, true).await;
    for volume in ["q-live-vol", "q-live-hot"] {
        assert!(p.b.config().volumes_dir.join(format!("{volume}.qcow2")).exists(), "{volume} was copied");
        assert!(!p.a.config().volumes_dir.join(format!("{volume}.qcow2")).exists(), "{volume} left its source");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_live_migration_over_shared_volumes_copies_no_disk() {
    let Some(p) = pair(true, None) else { return };
    let mut spec = contract::spec_from(&p.base, "q-shared");
    spec.disks.push(DiskSpec { id: "q-shared-boot".into(), size_gb: 1, device: "/dev/vda".into(), source: None });
    p.a.spawn(&spec).await.unwrap();
    live_move(&p, &spec, false).await;
    assert!(p.a.config().volumes_dir.join("q-shared-boot.qcow2").exists(), "a shared volume stays");
    assert_eq!(p.a.move_stats("q-shared").unwrap().disk_ms, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_cold_migration_copies_the_root_disk_and_console() {
    let Some(p) = pair(false, None) else { return };
    let mut spec = contract::spec_from(&p.base, "q-cold");
    // A volume this host does not share travels with the root disk.
    spec.disks.push(DiskSpec { id: "q-cold-vol".into(), size_gb: 1, device: "/dev/vdb".into(), source: None });
    p.a.spawn(&spec).await.unwrap();
    console_shows(p.a.as_ref(), "q-cold", "ecsd-guest: count 1").await;
    let to = p.b.prepare_incoming(&spec, MoveKind::Cold).await.unwrap();
    let err = p.a.send_guest("q-cold", &to, MoveKind::Cold).await.unwrap_err();
    assert!(matches!(err, HypervisorError::InvalidState { state: PowerState::Running, op: Op::Migrate, .. }), "{err}");
    p.a.power_off("q-cold", false).await.unwrap();
    p.a.send_guest("q-cold", &to, MoveKind::Cold).await.unwrap();
    p.a.send_guest("q-cold", &to, MoveKind::Cold).await.expect("a repeated copy succeeds");
    let root = |d: &QemuHypervisor| d.config().state_dir.join("q-cold/root.qcow2");
    let same =
        std::process::Command::new("qemu-img").args(["compare", "-q"]).args([root(&p.a), root(&p.b)]).status().unwrap();
    assert!(same.success(), "the destination's root disk is the source's");
    assert!(p.b.config().state_dir.join("q-cold/volume-q-cold-vol.qcow2").exists(), "received, not yet in place");
    eprintln!("cold move: {:?}", p.a.move_stats("q-cold").unwrap());

    // Finished with a bigger flavor (a resize to another host), and started.
    let resized = GuestSpec { root_gb: 2, ..spec.clone() };
    let info = p.b.finish_incoming(&resized, MoveKind::Cold, true).await.unwrap();
    assert_eq!((info.power_state, info.root_gb), (PowerState::Running, 2));
    assert!(p.b.config().volumes_dir.join("q-cold-vol.qcow2").exists(), "the volume is in place");
    p.b.finish_incoming(&resized, MoveKind::Cold, true).await.expect("a repeated finish succeeds");
    // The log goes on from the source's boot: the guest boots a second time in it.
    let mut log = String::new();
    for _ in 0..600 {
        log = p.b.console_log("q-cold", None).await.unwrap();
        if log.matches("ecsd-guest: uuid q-cold").count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(log.matches("Linux version").count(), 2, "{log}");
    assert_eq!(log.matches("ecsd-guest: uuid q-cold").count(), 2, "{log}");
    let size =
        std::process::Command::new("qemu-img").args(["info", "-U", "--output=json"]).arg(root(&p.b)).output().unwrap();
    assert!(String::from_utf8_lossy(&size.stdout).contains("\"virtual-size\": 2147483648"));
    // A revert: the destination's copy goes, the source's starts again.
    p.b.destroy("q-cold").await.unwrap();
    p.a.power_on("q-cold").await.unwrap();
    assert_eq!(p.a.info("q-cold").await.unwrap().unwrap().power_state, PowerState::Running);
    p.a.destroy("q-cold").await.unwrap();
    assert!(p.a.config().volumes_dir.join("q-cold-vol.qcow2").exists(), "a reverted move's volume stays put");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_cancelled_live_migration_leaves_the_guest_running_on_its_source() {
    // 200 KB/s: the move cannot finish before it is cancelled.
    let Some(p) = pair(false, Some(200_000)) else { return };
    let spec = contract::spec_from(&p.base, "q-cancel");
    p.a.spawn(&spec).await.unwrap();
    console_shows(p.a.as_ref(), "q-cancel", "ecsd-guest: count 2").await;
    let kind = MoveKind::Live { block: true };
    let to = p.b.prepare_incoming(&spec, kind).await.unwrap();
    let a = p.a.clone();
    let send = tokio::spawn({
        let (a, to) = (a.clone(), to.clone());
        async move { a.send_guest("q-cancel", &to, kind).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.info("q-cancel").await.unwrap().unwrap().power_state, PowerState::Running, "info does not wait");
    a.force_complete_send("q-cancel").await.unwrap();
    a.cancel_send("q-cancel").await.unwrap();
    let err = send.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert_eq!(a.info("q-cancel").await.unwrap().unwrap().power_state, PowerState::Running);
    let last = *counts(&a.console_log("q-cancel", None).await.unwrap()).last().unwrap();
    console_shows(a.as_ref(), "q-cancel", &format!("ecsd-guest: count {}\n", last + 2)).await;
    a.cancel_send("q-cancel").await.expect("nothing in flight is Ok");
    p.b.abort_incoming("q-cancel").await.unwrap();
    p.b.abort_incoming("q-cancel").await.unwrap();
    assert!(!p.b.config().state_dir.join("q-cancel").exists(), "the destination dropped everything");
    a.destroy("q-cancel").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_moves_refused() {
    let Some(p) = pair(false, None) else { return };
    let spec = contract::spec_from(&p.base, "q-bad");
    p.a.spawn(&spec).await.unwrap();
    // Without shared storage only a block migration copies the root disk.
    let err = p.b.prepare_incoming(&spec, MoveKind::Live { block: false }).await.unwrap_err();
    assert!(err.to_string().contains("not on storage this host shares"), "{err}");
    assert!(!p.b.config().state_dir.join("q-bad").exists(), "a refused prepare leaves nothing");
    // A guest cannot come to the host it is on, nor go to it.
    let err = p.a.prepare_incoming(&spec, MoveKind::Cold).await.unwrap_err();
    assert!(err.to_string().contains("already on host qemu-a"), "{err}");
    let to = p.b.prepare_incoming(&spec, MoveKind::Cold).await.unwrap();
    let here = ecs_hypervisor::IncomingGuest { host: "qemu-a".into(), uri: to.uri.clone() };
    assert!(p.a.send_guest("q-bad", &here, MoveKind::Cold).await.unwrap_err().to_string().contains("its own host"));
    // Nothing received: the destination cannot finish.
    let err = p.b.finish_incoming(&spec, MoveKind::Cold, true).await.unwrap_err();
    assert!(err.to_string().contains("was not received"), "{err}");
    let err = p.b.finish_incoming(&spec, MoveKind::Live { block: true }, true).await.unwrap_err();
    assert!(err.to_string().contains("prepared for a Cold move"), "{err}");
    p.b.abort_incoming("q-bad").await.unwrap();
    // A stopped guest does not move live; an unknown one not at all.
    p.a.power_off("q-bad", false).await.unwrap();
    let live = MoveKind::Live { block: true };
    let to = p.b.prepare_incoming(&spec, live).await.unwrap();
    let err = p.a.send_guest("q-bad", &to, live).await.unwrap_err();
    assert!(matches!(err, HypervisorError::InvalidState { state: PowerState::Shutdown, .. }), "{err}");
    assert!(matches!(p.a.send_guest("nope", &to, live).await, Err(HypervisorError::NotFound(_))));
    let garbled = ecs_hypervisor::IncomingGuest { host: "qemu-b".into(), uri: "udp:x".into() };
    assert!(p.a.send_guest("q-bad", &garbled, live).await.unwrap_err().to_string().contains("unknown part"));
    let mut body: &[u8] = b"x";
    let err = p.b.receive_incoming_file("q-bad", "../../etc/passwd", &mut body).await.unwrap_err();
    assert!(err.to_string().contains("no file"), "{err}");
    assert!(matches!(
        p.b.receive_incoming_file("nope", "console.log", &mut body).await,
        Err(HypervisorError::NotFound(_))
    ));
    p.b.abort_incoming("q-bad").await.unwrap();
    assert!(p.b.list().await.unwrap().is_empty());
    p.a.destroy("q-bad").await.unwrap();

    // A volume attached after another was detached takes its port, where a
    // fresh start would not put it: refused before anything is copied.
    let spec = contract::spec_from(&p.base, "q-plugged");
    p.a.spawn(&spec).await.unwrap();
    let disk = |id: &str| DiskSpec { id: id.into(), size_gb: 1, device: "/dev/vdb".into(), source: None };
    for id in ["q-plugged-1", "q-plugged-2"] {
        p.a.attach_disk("q-plugged", &disk(id)).await.unwrap();
    }
    p.a.detach_disk("q-plugged", "q-plugged-1").await.unwrap();
    p.a.attach_disk("q-plugged", &disk("q-plugged-3")).await.unwrap();
    let moved = GuestSpec { disks: vec![disk("q-plugged-2"), disk("q-plugged-3")], ..spec.clone() };
    let to = p.b.prepare_incoming(&moved, live).await.unwrap();
    let err = p.a.send_guest("q-plugged", &to, live).await.unwrap_err();
    assert!(err.to_string().contains("other PCIe ports"), "{err}");
    assert_eq!(p.a.info("q-plugged").await.unwrap().unwrap().power_state, PowerState::Running);
    p.b.abort_incoming("q-plugged").await.unwrap();
    // Stopped and started, it moves.
    p.a.power_off("q-plugged", false).await.unwrap();
    p.a.power_on("q-plugged").await.unwrap();
    let to = p.b.prepare_incoming(&moved, live).await.unwrap();
    p.a.send_guest("q-plugged", &to, live).await.unwrap();
    p.b.finish_incoming(&moved, live, true).await.unwrap();
    p.a.destroy("q-plugged").await.unwrap();
    p.b.destroy("q-plugged").await.unwrap();
}

/// A stand-in for the destination agent's transfer endpoint, as the agent
/// serves it: `PUT {transfer_url}/{guest id}/{file}` with the cluster's
/// Bearer token, the body handed to `receive_incoming_file`.
async fn serve_transfers(listener: tokio::net::TcpListener, driver: Arc<QemuHypervisor>, token: String) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((socket, _)) = listener.accept().await else { return };
        let (driver, token) = (driver.clone(), token.clone());
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(socket);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
            let length: u64 = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut body = (&mut reader).take(length);
            let status = match path.strip_prefix("/transfers/").and_then(|p| p.split_once('/')) {
                _ if !head.contains(&format!("Authorization: Bearer {token}\r\n")) => "401 Unauthorized",
                Some((id, file)) => match driver.receive_incoming_file(id, file, &mut body).await {
                    Ok(()) => "204 No Content",
                    Err(_) => "404 Not Found",
                },
                None => "404 Not Found",
            };
            let _ = tokio::io::copy(&mut body, &mut tokio::io::sink()).await;
            let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
            let _ = reader.get_mut().write_all(answer.as_bytes()).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_moves_send_files_through_the_agents_transfer_endpoint() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/transfers", listener.local_addr().unwrap());
    let Some(p) = pair_with(false, None, Some((url.clone(), "transfer-secret".into()))) else { return };
    tokio::spawn(serve_transfers(listener, p.b.clone(), "transfer-secret".into()));

    // Live: memory and disks go QEMU to QEMU, the console log through the endpoint.
    let spec = contract::spec_from(&p.base, "q-http-live");
    p.a.spawn(&spec).await.unwrap();
    let to = p.b.prepare_incoming(&spec, MoveKind::Live { block: true }).await.unwrap();
    assert!(to.uri.ends_with(&format!(";files={url}/q-http-live")), "{}", to.uri);
    live_move(&p, &spec, true).await;

    // Cold: the root disk and the console log both.
    let mut spec = contract::spec_from(&p.base, "q-http-cold");
    spec.disks.push(DiskSpec { id: "q-http-boot".into(), size_gb: 1, device: "/dev/vda".into(), source: None });
    p.a.spawn(&spec).await.unwrap();
    console_shows(p.a.as_ref(), "q-http-cold", "ecsd-guest: count 1").await;
    p.a.power_off("q-http-cold", false).await.unwrap();
    let to = p.b.prepare_incoming(&spec, MoveKind::Cold).await.unwrap();
    p.a.send_guest("q-http-cold", &to, MoveKind::Cold).await.unwrap();
    let info = p.b.finish_incoming(&spec, MoveKind::Cold, false).await.unwrap();
    assert_eq!(info.power_state, PowerState::Shutdown);
    let log = p.b.console_log("q-http-cold", None).await.unwrap();
    assert!(log.contains("ecsd-guest: count 1"), "the source's console came along: {log}");
    assert!(!p.a.config().state_dir.join("q-http-cold/outgoing.qcow2").exists(), "the staged copy is gone");
    assert!(p.b.config().volumes_dir.join("q-http-boot.qcow2").exists(), "the boot volume came along");
    p.b.power_on("q-http-cold").await.unwrap();
    console_shows(p.b.as_ref(), "q-http-cold", "ECSD-GUEST-READY").await;

    // A source without the token is turned away.
    let other = contract::spec_from(&p.base, "q-http-denied");
    let to = p.b.prepare_incoming(&other, MoveKind::Cold).await.unwrap();
    let mut config = p.a.config().clone();
    config.transfer_token = Some("wrong".into());
    config.host = "qemu-c".into();
    config.state_dir = p.a.config().state_dir.parent().unwrap().join("qemu-c");
    let c = QemuHypervisor::new(config).unwrap();
    c.spawn(&other).await.unwrap();
    c.power_off("q-http-denied", false).await.unwrap();
    let err = c.send_guest("q-http-denied", &to, MoveKind::Cold).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");
    c.destroy("q-http-denied").await.unwrap();
    p.b.abort_incoming("q-http-denied").await.unwrap();
    p.b.destroy("q-http-cold").await.unwrap();
    p.a.destroy("q-http-cold").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_force_completed_live_migration_finishes_one_that_does_not_converge() {
    // The guest rewrites memory faster than 8 MB/s carries it.
    let Some(p) = pair(false, Some(8_000_000)) else { return };
    let mut spec = contract::spec_from(&p.base, "q-force");
    spec.user_data = Some(b"dirty".to_vec());
    p.a.spawn(&spec).await.unwrap();
    console_shows(p.a.as_ref(), "q-force", "ecsd-guest: count 2\n").await;
    let kind = MoveKind::Live { block: true };
    let to = p.b.prepare_incoming(&spec, kind).await.unwrap();
    let send = tokio::spawn({
        let (a, to) = (p.a.clone(), to.clone());
        async move { a.send_guest("q-force", &to, kind).await }
    });
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(!send.is_finished(), "the move converged on its own: {:?}", p.a.move_stats("q-force"));
    p.a.force_complete_send("q-force").await.unwrap();
    tokio::time::timeout(Duration::from_secs(120), send).await.expect("forced, it completes").unwrap().unwrap();
    p.b.finish_incoming(&spec, kind, true).await.unwrap();
    eprintln!("forced live move: {:?}", p.a.move_stats("q-force").unwrap());
    let last = *counts(&p.b.console_log("q-force", None).await.unwrap()).last().unwrap();
    let log = console_shows(p.b.as_ref(), "q-force", &format!("ecsd-guest: count {}\n", last + 2)).await;
    let after = counts(&log);
    assert_eq!(after, (1..=*after.last().unwrap()).collect::<Vec<_>>(), "no restart: {log}");
    p.a.destroy("q-force").await.unwrap();
    p.b.destroy("q-force").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_a_move_left_behind_by_a_restarted_agent_is_undone_and_done_again() {
    let Some(p) = pair(false, Some(200_000)) else { return };
    let spec = contract::spec_from(&p.base, "q-restart");
    p.a.spawn(&spec).await.unwrap();
    console_shows(p.a.as_ref(), "q-restart", "ecsd-guest: count 2").await;
    let kind = MoveKind::Live { block: true };
    let to = p.b.prepare_incoming(&spec, kind).await.unwrap();
    let send = tokio::spawn({
        let (a, to) = (p.a.clone(), to.clone());
        async move { a.send_guest("q-restart", &to, kind).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The agent dies mid-move; QEMU's migration goes on without it.
    send.abort();
    assert!(send.await.unwrap_err().is_cancelled());
    let mut config = p.a.config().clone();
    config.migration_bandwidth = None;
    let a = QemuHypervisor::new(config).unwrap();
    a.cancel_send("q-restart").await.unwrap();
    assert_eq!(a.info("q-restart").await.unwrap().unwrap().power_state, PowerState::Running);
    let last = *counts(&a.console_log("q-restart", None).await.unwrap()).last().unwrap();
    console_shows(&a, "q-restart", &format!("ecsd-guest: count {}\n", last + 1)).await;
    // The task engine aborts the destination's wait and prepares it again.
    p.b.abort_incoming("q-restart").await.unwrap();
    let to = p.b.prepare_incoming(&spec, kind).await.unwrap();
    a.send_guest("q-restart", &to, kind).await.unwrap();
    p.b.finish_incoming(&spec, kind, true).await.unwrap();
    let last = *counts(&p.b.console_log("q-restart", None).await.unwrap()).last().unwrap();
    let log = console_shows(p.b.as_ref(), "q-restart", &format!("ecsd-guest: count {}\n", last + 1)).await;
    let after = counts(&log);
    assert_eq!(after, (1..=*after.last().unwrap()).collect::<Vec<_>>(), "no restart: {log}");
    a.destroy("q-restart").await.unwrap();
    p.b.destroy("q-restart").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_a_paused_guest_moves_live_and_stays_paused() {
    let Some(p) = pair(false, None) else { return };
    let spec = contract::spec_from(&p.base, "q-paused");
    p.a.spawn(&spec).await.unwrap();
    console_shows(p.a.as_ref(), "q-paused", "ecsd-guest: count 2").await;
    p.a.pause("q-paused").await.unwrap();
    let kind = MoveKind::Live { block: true };
    let to = p.b.prepare_incoming(&spec, kind).await.unwrap();
    p.a.send_guest("q-paused", &to, kind).await.unwrap();
    let info = p.b.finish_incoming(&spec, kind, true).await.unwrap();
    assert_eq!(info.power_state, PowerState::Paused, "as Nova: a paused server arrives paused");
    p.a.destroy("q-paused").await.unwrap();
    p.b.unpause("q-paused").await.unwrap();
    let last = *counts(&p.b.console_log("q-paused", None).await.unwrap()).last().unwrap();
    let log = console_shows(p.b.as_ref(), "q-paused", &format!("ecsd-guest: count {}\n", last + 1)).await;
    let after = counts(&log);
    assert_eq!(after, (1..=*after.last().unwrap()).collect::<Vec<_>>(), "no restart: {log}");
    p.b.destroy("q-paused").await.unwrap();
}
