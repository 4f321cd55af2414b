//! The driver contract: what every [`Hypervisor`] must do, as checks any
//! driver's own test runs with `contract::run_all(&driver, &base).await`,
//! `base` being a guest the driver can boot ([`template`] for drivers that
//! need no image). Each check uses its own guest ids and cleans up, so one
//! driver serves all.

use std::time::Duration;

use crate::{DiskSpec, GuestSpec, Hypervisor, HypervisorError, MoveKind, NicSpec, PowerState, RebootKind};

/// A small guest with one NIC and no image.
pub fn template() -> GuestSpec {
    GuestSpec {
        id: String::new(),
        name: String::new(),
        hostname: String::new(),
        project_id: "contract-project".into(),
        availability_zone: Some("nova".into()),
        key_name: Some("contract-key".into()),
        vcpus: 1,
        ram_mb: 256,
        root_gb: 1,
        ephemeral_gb: 0,
        swap_mb: 0,
        image_id: None,
        image_name: Some("contract-image".into()),
        boot: Default::default(),
        nics: vec![NicSpec {
            port_id: String::new(),
            network_id: "net".into(),
            mac: "fa:16:3e:00:00:01".into(),
            ip: Some("192.168.0.10".parse().expect("ip")),
            subnet: Some(crate::SubnetSpec {
                cidr: "192.168.0.0/24".into(),
                gateway: Some("192.168.0.1".into()),
                dns: vec!["192.168.0.2".into()],
            }),
        }],
        disks: Vec::new(),
        user_data: Some(b"#cloud-config\n".to_vec()),
        admin_pass: None,
        public_keys: vec!["ssh-ed25519 AAAA contract".into()],
        metadata: Default::default(),
    }
}

/// The template's guest named after the check.
pub fn spec(id: &str) -> GuestSpec {
    spec_from(&template(), id)
}

/// `base` named after the check, its NICs with ports of their own.
pub fn spec_from(base: &GuestSpec, id: &str) -> GuestSpec {
    let mut s = base.clone();
    s.id = id.to_string();
    s.name = format!("contract-{id}");
    s.hostname = format!("contract-{id}");
    for (i, nic) in s.nics.iter_mut().enumerate() {
        nic.port_id = format!("{id}-port{i}");
    }
    s
}

/// How long a real guest may take to write to its console.
const CONSOLE_WAIT: Duration = Duration::from_secs(120);

/// The console once `done` holds of it and it has stopped changing: a real
/// guest writes asynchronously, a simulated one at once.
async fn console_when(d: &dyn Hypervisor, id: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + CONSOLE_WAIT;
    let mut last = String::new();
    loop {
        let now = d.console_log(id, None).await.expect("console");
        if done(&now) && now == last {
            return now;
        }
        assert!(tokio::time::Instant::now() < deadline, "the console never got there: {now}");
        last = now;
        tokio::time::sleep(Duration::from_millis(if done(&last) { 700 } else { 200 })).await;
    }
}

async fn power(d: &dyn Hypervisor, id: &str) -> PowerState {
    d.info(id).await.expect("info").expect("guest exists").power_state
}

fn is_invalid_state<T: std::fmt::Debug>(r: crate::Result<T>) -> bool {
    matches!(r, Err(HypervisorError::InvalidState { .. }))
}

/// Runs every check against `driver`.
pub async fn run_all(driver: &dyn Hypervisor, base: &GuestSpec) {
    spawn_and_destroy(driver, base).await;
    power_cycle(driver, base).await;
    reboots(driver, base).await;
    pause_and_suspend(driver, base).await;
    unknown_guests(driver, base).await;
    console(driver, base).await;
    devices(driver, base).await;
    resize_and_snapshot(driver, base).await;
    credentials_and_console(driver, base).await;
}

/// Password and keys reach a running guest; its VNC console speaks RFB
/// until the guest is gone.
pub async fn credentials_and_console(d: &dyn Hypervisor, base: &GuestSpec) {
    let id = "c-creds";
    d.spawn(&spec_from(base, id)).await.expect("spawn");
    // Without a guest agent a driver may not set passwords at all.
    let passwords = match d.set_admin_password(id, "s3cret-Pass").await {
        Ok(()) => true,
        Err(HypervisorError::Unsupported { .. }) => false,
        Err(e) => panic!("password: {e}"),
    };
    let keys = vec!["ssh-ed25519 AAAA one".to_string(), "ssh-ed25519 AAAA two".to_string()];
    d.set_public_keys(id, &keys).await.expect("keys");
    d.set_public_keys(id, &keys).await.expect("keys again");
    let console = d.vnc_console(id).await.expect("vnc");
    assert!(!console.host.is_empty() && console.port >= 5900);
    let mut vnc = vnc_greeted(&console).await;
    assert_eq!(d.vnc_console(id).await.expect("vnc again"), console, "one console per guest");
    d.power_off(id, false).await.expect("off");
    if passwords {
        assert!(is_invalid_state(d.set_admin_password(id, "x").await), "no agent in a stopped guest");
    }
    d.destroy(id).await.expect("destroy");
    assert!(matches!(d.vnc_console(id).await, Err(HypervisorError::NotFound(_))));
    vnc_closed(&mut vnc).await;
    if passwords {
        assert!(matches!(d.set_admin_password(id, "x").await, Err(HypervisorError::NotFound(_))));
    }
}

/// A connection to `console` that has read the server's RFB greeting.
async fn vnc_greeted(console: &crate::ConsoleEndpoint) -> tokio::net::TcpStream {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect((console.host.as_str(), console.port)).await.expect("VNC connects");
    let mut greeting = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut greeting))
        .await
        .expect("the VNC server greets in time")
        .expect("greeting");
    assert!(greeting.starts_with(b"RFB 003.") && greeting.ends_with(b"\n"), "{greeting:?}");
    stream
}

/// Asserts that the server ends the VNC session.
async fn vnc_closed(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 256];
    let closed = async {
        // Whatever was still in flight, then the end (or a reset).
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed).await.expect("the VNC session ends with the guest");
}

pub async fn spawn_and_destroy(d: &dyn Hypervisor, base: &GuestSpec) {
    assert!(!d.host().is_empty() && !d.kind().is_empty());
    let mut s = spec_from(base, "c-spawn");
    s.disks.push(DiskSpec { id: "c-spawn-vol".into(), size_gb: 2, device: "/dev/vdb".into(), source: None });
    let info = d.spawn(&s).await.expect("spawn");
    assert_eq!(info.id, s.id);
    assert_eq!(info.power_state, PowerState::Running);
    assert_eq!((info.vcpus, info.ram_mb, info.root_gb), (1, 256, 1));
    assert_eq!(info.nics, s.nics);
    assert_eq!(info.disks, s.disks);
    assert_eq!(d.info(&s.id).await.expect("info"), Some(info.clone()));
    assert_eq!(d.spawn(&s).await.expect("spawn again"), info, "spawn is idempotent");
    assert_eq!(d.list().await.expect("list").iter().filter(|g| g.id == s.id).count(), 1, "and makes no second guest");
    assert!(d.list().await.expect("list").iter().any(|g| g.id == s.id));
    d.destroy(&s.id).await.expect("destroy");
    d.destroy(&s.id).await.expect("destroy is idempotent");
    assert_eq!(d.info(&s.id).await.expect("info"), None);
    assert!(!d.list().await.expect("list").iter().any(|g| g.id == s.id));
}

pub async fn power_cycle(d: &dyn Hypervisor, base: &GuestSpec) {
    let s = spec_from(base, "c-power");
    d.spawn(&s).await.expect("spawn");
    d.power_on(&s.id).await.expect("power_on while running is a no-op");
    d.power_off(&s.id, true).await.expect("power_off");
    assert_eq!(power(d, &s.id).await, PowerState::Shutdown);
    d.power_off(&s.id, false).await.expect("power_off is idempotent");
    d.power_on(&s.id).await.expect("power_on");
    assert_eq!(power(d, &s.id).await, PowerState::Running);
    d.destroy(&s.id).await.expect("destroy");
}

pub async fn reboots(d: &dyn Hypervisor, base: &GuestSpec) {
    let s = spec_from(base, "c-reboot");
    d.spawn(&s).await.expect("spawn");
    d.reboot(&s.id, RebootKind::Soft).await.expect("soft reboot");
    assert_eq!(power(d, &s.id).await, PowerState::Running);
    d.power_off(&s.id, true).await.expect("power_off");
    assert!(is_invalid_state(d.reboot(&s.id, RebootKind::Soft).await), "soft reboot needs a running guest");
    d.reboot(&s.id, RebootKind::Hard).await.expect("hard reboot starts a stopped guest");
    assert_eq!(power(d, &s.id).await, PowerState::Running);
    d.destroy(&s.id).await.expect("destroy");
}

pub async fn pause_and_suspend(d: &dyn Hypervisor, base: &GuestSpec) {
    let s = spec_from(base, "c-pause");
    d.spawn(&s).await.expect("spawn");
    d.pause(&s.id).await.expect("pause");
    assert_eq!(power(d, &s.id).await, PowerState::Paused);
    d.unpause(&s.id).await.expect("unpause");
    assert_eq!(power(d, &s.id).await, PowerState::Running);
    d.pause(&s.id).await.expect("pause");
    d.pause(&s.id).await.expect("pause is idempotent");
    assert!(is_invalid_state(d.resume(&s.id).await), "a paused guest is unpaused, not resumed");
    d.suspend(&s.id).await.expect("a paused guest can suspend");
    assert_eq!(power(d, &s.id).await, PowerState::Suspended);
    d.suspend(&s.id).await.expect("suspend is idempotent");
    assert!(is_invalid_state(d.pause(&s.id).await), "a suspended guest cannot pause");
    assert!(is_invalid_state(d.unpause(&s.id).await), "a suspended guest is resumed, not unpaused");
    d.resume(&s.id).await.expect("resume");
    assert_eq!(power(d, &s.id).await, PowerState::Running);
    d.suspend(&s.id).await.expect("a running guest can suspend");
    d.resume(&s.id).await.expect("resume");
    // Reaching a state the guest is already in is a no-op: a task repeated
    // after a crash must not fail on its own earlier success.
    d.unpause(&s.id).await.expect("unpause of a running guest is a no-op");
    d.resume(&s.id).await.expect("resume of a running guest is a no-op");
    d.power_off(&s.id, true).await.expect("power_off");
    for (what, r) in [
        ("pause", d.pause(&s.id).await),
        ("unpause", d.unpause(&s.id).await),
        ("suspend", d.suspend(&s.id).await),
        ("resume", d.resume(&s.id).await),
    ] {
        assert!(is_invalid_state(r), "a stopped guest cannot {what}");
    }
    assert_eq!(power(d, &s.id).await, PowerState::Shutdown, "refused operations change nothing");
    d.destroy(&s.id).await.expect("destroy");
}

pub async fn unknown_guests(d: &dyn Hypervisor, _base: &GuestSpec) {
    let missing = "c-missing";
    assert_eq!(d.info(missing).await.expect("info"), None);
    d.destroy(missing).await.expect("destroying an absent guest is fine");
    let disk = DiskSpec { id: "c-missing-vol".into(), size_gb: 1, device: "/dev/vdb".into(), source: None };
    let nic = NicSpec {
        port_id: "c-missing-port".into(),
        network_id: "net".into(),
        mac: "fa:16:3e:00:00:09".into(),
        ip: None,
        subnet: None,
    };
    for (what, r) in [
        ("power_on", d.power_on(missing).await),
        ("power_off", d.power_off(missing, true).await),
        ("soft reboot", d.reboot(missing, RebootKind::Soft).await),
        ("hard reboot", d.reboot(missing, RebootKind::Hard).await),
        ("pause", d.pause(missing).await),
        ("unpause", d.unpause(missing).await),
        ("suspend", d.suspend(missing).await),
        ("resume", d.resume(missing).await),
        ("attach_disk", d.attach_disk(missing, &disk).await),
        ("detach_disk", d.detach_disk(missing, &disk.id).await),
        ("attach_nic", d.attach_nic(missing, &nic).await),
        ("detach_nic", d.detach_nic(missing, &nic.port_id).await),
        ("resize", d.resize(missing, 1, 256, 1).await),
    ] {
        assert!(matches!(r, Err(HypervisorError::NotFound(_))), "{what}: {r:?}");
    }
    assert!(matches!(d.console_log(missing, None).await, Err(HypervisorError::NotFound(_))));
    assert!(matches!(d.snapshot(missing, "c-missing-img").await, Err(HypervisorError::NotFound(_))));
    assert_eq!(d.info(missing).await.expect("info"), None, "and none of them made a guest");
}

pub async fn console(d: &dyn Hypervisor, base: &GuestSpec) {
    let s = spec_from(base, "c-console");
    d.spawn(&s).await.expect("spawn");
    let first = console_when(d, &s.id, |c| c.contains(&s.hostname)).await;
    d.reboot(&s.id, RebootKind::Soft).await.expect("reboot");
    let second = console_when(d, &s.id, |c| c.len() > first.len() && c.matches(&s.hostname).count() > 1).await;
    let tail = d.console_log(&s.id, Some(2)).await.expect("tail");
    assert_eq!(tail.lines().count(), 2);
    assert!(second.ends_with(&tail), "the tail is the end of the log");
    d.power_off(&s.id, true).await.expect("power_off");
    d.power_on(&s.id).await.expect("power_on");
    console_when(d, &s.id, |c| c.len() > second.len() && c.matches(&s.hostname).count() > 2).await;
    d.destroy(&s.id).await.expect("destroy");
}

pub async fn devices(d: &dyn Hypervisor, base: &GuestSpec) {
    let s = spec_from(base, "c-devices");
    d.spawn(&s).await.expect("spawn");
    let disk = DiskSpec { id: "c-vol-1".into(), size_gb: 1, device: "/dev/vdb".into(), source: None };
    d.attach_disk(&s.id, &disk).await.expect("attach disk");
    d.attach_disk(&s.id, &disk).await.expect("attach disk is idempotent");
    let nic = NicSpec {
        port_id: "c-port1".into(),
        network_id: "net".into(),
        mac: "fa:16:3e:00:00:02".into(),
        ip: None,
        subnet: None,
    };
    d.attach_nic(&s.id, &nic).await.expect("attach nic");
    d.attach_nic(&s.id, &nic).await.expect("attach nic is idempotent");
    let info = d.info(&s.id).await.expect("info").expect("guest");
    assert_eq!(info.disks, vec![disk.clone()]);
    assert_eq!(info.nics.len(), 2);
    assert_eq!(info.nics[1], nic);
    d.detach_disk(&s.id, "c-vol-1").await.expect("detach disk");
    d.detach_disk(&s.id, "c-vol-1").await.expect("detach disk is idempotent");
    d.detach_nic(&s.id, "c-port1").await.expect("detach nic");
    d.detach_nic(&s.id, "c-port1").await.expect("detach nic is idempotent");
    let info = d.info(&s.id).await.expect("info").expect("guest");
    assert!(info.disks.is_empty());
    assert_eq!(info.nics, s.nics);
    d.destroy(&s.id).await.expect("destroy");
}

pub async fn resize_and_snapshot(d: &dyn Hypervisor, base: &GuestSpec) {
    let s = spec_from(base, "c-resize");
    d.spawn(&s).await.expect("spawn");
    assert!(is_invalid_state(d.resize(&s.id, 2, 512, 2).await), "resize needs a stopped guest");
    let info = d.info(&s.id).await.expect("info").expect("guest");
    assert_eq!((info.vcpus, info.ram_mb, info.root_gb), (1, 256, 1), "a refused resize changes nothing");
    assert!(d.snapshot(&s.id, "c-img-running").await.expect("snapshot of a running guest").size_bytes > 0);
    d.power_off(&s.id, false).await.expect("power_off");
    d.resize(&s.id, 2, 512, 2).await.expect("resize");
    let info = d.info(&s.id).await.expect("info").expect("guest");
    assert_eq!((info.vcpus, info.ram_mb, info.root_gb), (2, 512, 2));
    assert_eq!(info.power_state, PowerState::Shutdown, "resize does not start the guest");
    assert!(d.snapshot(&s.id, "c-img-stopped").await.expect("snapshot").size_bytes > 0);
    d.power_on(&s.id).await.expect("power_on");
    assert_eq!(d.info(&s.id).await.expect("info").expect("guest").vcpus, 2, "the new size holds after a boot");
    d.destroy(&s.id).await.expect("destroy");
}

/// The moves between two hosts `a` and `b` of one driver (both must be
/// able to reach each other): cold with a new flavor, live with the guest
/// running on (its console not restarted), a live move of a stopped guest
/// refused, and the undo operations idempotent.
pub async fn run_moves(a: &dyn Hypervisor, b: &dyn Hypervisor, base: &GuestSpec) {
    // Cold: stopped on `a`, defined on `b` with a bigger flavor and started.
    let s = spec_from(base, "m-cold");
    a.spawn(&s).await.expect("spawn");
    assert!(
        is_invalid_state(
            a.send_guest(&s.id, &b.prepare_incoming(&s, MoveKind::Cold).await.expect("prepare"), MoveKind::Cold).await
        ),
        "a cold move needs a stopped guest"
    );
    a.power_off(&s.id, true).await.expect("off");
    let to = b.prepare_incoming(&s, MoveKind::Cold).await.expect("prepare");
    assert_eq!(to.host, b.host());
    a.send_guest(&s.id, &to, MoveKind::Cold).await.expect("send");
    let bigger = GuestSpec { vcpus: s.vcpus + 1, ram_mb: s.ram_mb * 2, ..s.clone() };
    let got = b.finish_incoming(&bigger, MoveKind::Cold, true).await.expect("finish");
    assert_eq!((got.vcpus, got.ram_mb), (bigger.vcpus, bigger.ram_mb));
    assert_eq!(power(b, &s.id).await, PowerState::Running);
    // A repeated finish (a retried step) answers the same guest.
    assert_eq!(b.finish_incoming(&bigger, MoveKind::Cold, true).await.expect("finish again").id, s.id);
    assert_eq!(power(a, &s.id).await, PowerState::Shutdown, "the source keeps its copy until destroyed");
    a.destroy(&s.id).await.expect("destroy source");
    b.destroy(&s.id).await.expect("destroy");

    // Live: running throughout; the console goes on without a new boot.
    let s = spec_from(base, "m-live");
    a.spawn(&s).await.expect("spawn");
    let before = console_when(a, &s.id, |c| c.contains(&s.hostname)).await;
    let boots = before.matches("Linux version").count();
    let kind = MoveKind::Live { block: true };
    let to = b.prepare_incoming(&s, kind).await.expect("prepare");
    a.send_guest(&s.id, &to, kind).await.expect("send");
    let got = b.finish_incoming(&s, kind, true).await.expect("finish");
    assert_eq!(got.power_state, PowerState::Running);
    assert_ne!(power(a, &s.id).await, PowerState::Running, "the source stops once the destination runs it");
    let after = b.console_log(&s.id, None).await.expect("console");
    assert_eq!(after.matches("Linux version").count(), boots, "no restart across a live move");
    a.destroy(&s.id).await.expect("destroy source");
    // A stopped guest does not move live.
    b.power_off(&s.id, false).await.expect("off");
    let back = a.prepare_incoming(&s, kind).await.expect("prepare back");
    assert!(is_invalid_state(b.send_guest(&s.id, &back, kind).await));
    a.abort_incoming(&s.id).await.expect("abort");
    a.abort_incoming(&s.id).await.expect("abort again");
    b.destroy(&s.id).await.expect("destroy");

    // Nothing in flight: the undo operations do nothing.
    b.abort_incoming("m-none").await.expect("abort unknown");
    a.cancel_send("m-none").await.expect("cancel unknown");
    a.force_complete_send("m-none").await.expect("force unknown");
}
