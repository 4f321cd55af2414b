//! The driver contract against real QEMU guests (the tiny guest of
//! `scripts/tiny-guest.sh`), and what only real guests show: the config
//! drive read inside the guest, a hot-plugged disk seen by its kernel, a
//! guest that survives its driver, and a failed boot that leaves nothing.

use std::time::Duration;

use ecs_hypervisor::qemu::{Accel, AccelChoice, NetworkMode, QemuConfig, QemuHypervisor, detect_accel};
use ecs_hypervisor::{BootSource, DiskSpec, GuestSpec, Hypervisor, HypervisorError, PowerState, contract};
use ecs_test_utils::{TINY_GUEST_MARKER, tiny_guest};

struct Setup {
    driver: QemuHypervisor,
    base: GuestSpec,
    _dir: tempfile::TempDir,
}

impl Drop for Setup {
    /// A failed check must not leave guests running after the test.
    fn drop(&mut self) {
        let Ok(guests) = std::fs::read_dir(&self.driver.config().state_dir) else { return };
        for guest in guests.flatten() {
            if let Ok(pid) = std::fs::read_to_string(guest.path().join("qemu.pid")) {
                let _ = std::process::Command::new("kill").args(["-9", pid.trim()]).status();
            }
        }
    }
}

fn setup() -> Option<Setup> {
    setup_with(NetworkMode::User)
}

fn setup_with(network: NetworkMode) -> Option<Setup> {
    let guest = tiny_guest(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    let dir = tempfile::tempdir().unwrap();
    let (accel, why) = detect_accel(AccelChoice::Auto).unwrap();
    eprintln!("accelerator: {why}");
    let mut config = QemuConfig::under(dir.path(), "qemu-test", accel, network);
    // The tiny guest ignores ACPI: a graceful stop is forced after this.
    config.shutdown_timeout = Duration::from_secs(1);
    let mut base = contract::template();
    base.boot = BootSource { kernel: Some(guest.kernel), initrd: Some(guest.initrd), ..Default::default() };
    Some(Setup { driver: QemuHypervisor::new(config).unwrap(), base, _dir: dir })
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
    panic!("the console of {id} never showed {text:?}: {}", d.console_log(id, None).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_contract() {
    let Some(s) = setup() else { return };
    assert!(matches!(s.driver.config().accel, Accel::Kvm | Accel::Tcg));
    contract::run_all(&s.driver, &s.base).await;
    assert!(s.driver.list().await.unwrap().is_empty(), "every check cleaned up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_guest_reads_its_config_drive_and_sees_hotplugged_disks() {
    let Some(s) = setup() else { return };
    let d = &s.driver;
    let mut spec = contract::spec_from(&s.base, "q-drive");
    spec.user_data = Some(b"hello-from-user-data".to_vec());
    spec.admin_pass = Some("Secret-Pass-1".into());
    d.spawn(&spec).await.unwrap();
    let log = console_shows(d, "q-drive", TINY_GUEST_MARKER).await;
    assert!(log.contains("ecsd-guest: uuid q-drive"), "{log}");
    assert!(log.contains("ecsd-guest: user_data hello-from-user-data"), "{log}");
    let dir = d.config().state_dir.join("q-drive");
    assert!(!std::fs::read_to_string(dir.join("guest.json")).unwrap().contains("Secret-Pass-1"), "no password at rest");

    // 1 GiB is 1048576 blocks in /proc/partitions.
    let disk = DiskSpec { id: "q-vol".into(), size_gb: 1, device: "/dev/vdb".into(), source: None };
    d.attach_disk("q-drive", &disk).await.unwrap();
    let log = console_shows(d, "q-drive", "1048576 vdc").await;
    assert!(d.config().volumes_dir.join("q-vol.qcow2").exists(), "{log}");
    d.detach_disk("q-drive", "q-vol").await.unwrap();
    d.destroy("q-drive").await.unwrap();
    assert!(!dir.exists(), "the guest's files are gone");
    assert!(d.config().volumes_dir.join("q-vol.qcow2").exists(), "a volume outlives its guest");
    d.delete_disk("q-vol").await.unwrap();
    assert!(!d.config().volumes_dir.join("q-vol.qcow2").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_guests_outlive_their_driver_and_dead_ones_read_as_shut_down() {
    let Some(s) = setup() else { return };
    let config = s.driver.config().clone();
    s.driver.spawn(&contract::spec_from(&s.base, "q-keep")).await.unwrap();
    s.driver.spawn(&contract::spec_from(&s.base, "q-die")).await.unwrap();
    // A new driver over the same directory: ecsd restarted.
    let d = QemuHypervisor::new(config.clone()).unwrap();
    assert_eq!(d.info("q-keep").await.unwrap().unwrap().power_state, PowerState::Running);
    let pid: i32 = std::fs::read_to_string(config.state_dir.join("q-die/qemu.pid")).unwrap().trim().parse().unwrap();
    std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    for _ in 0..100 {
        if d.info("q-die").await.unwrap().unwrap().power_state == PowerState::Shutdown {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d.info("q-die").await.unwrap().unwrap().power_state, PowerState::Shutdown);
    d.power_on("q-die").await.unwrap();
    assert_eq!(d.info("q-die").await.unwrap().unwrap().power_state, PowerState::Running);
    for id in ["q-keep", "q-die"] {
        d.destroy(id).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_failed_boot_leaves_nothing_and_says_why() {
    let Some(s) = setup() else { return };
    let mut spec = contract::spec_from(&s.base, "q-bad");
    spec.boot = BootSource { disk: Some("/nonexistent/image.qcow2".into()), ..Default::default() };
    let err = s.driver.spawn(&spec).await.unwrap_err();
    assert!(matches!(&err, HypervisorError::Failed { message, .. } if message.contains("does not exist")), "{err}");
    assert!(!s.driver.config().state_dir.join("q-bad").exists());
    // QEMU itself refusing: more memory than it can address.
    let mut spec = contract::spec_from(&s.base, "q-huge");
    spec.ram_mb = 1 << 40;
    let err = s.driver.spawn(&spec).await.unwrap_err();
    assert!(err.to_string().contains("QEMU did not start"), "{err}");
    assert!(!s.driver.config().state_dir.join("q-huge").exists());
    assert!(s.driver.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_guests_on_one_bridged_network_reach_each_other() {
    if NetworkMode::detect().await != NetworkMode::Bridge {
        eprintln!("skipping: this process cannot make Linux bridges (needs root with CAP_NET_ADMIN)");
        return;
    }
    let Some(s) = setup_with(NetworkMode::Bridge) else { return };
    let d = &s.driver;
    let network = format!("bridgetest-{}", std::process::id());
    let guest = |id: &str, ip: &str, mac: &str, user_data: &str| {
        let mut spec = contract::spec_from(&s.base, id);
        spec.nics[0].network_id = network.clone();
        spec.nics[0].ip = Some(ip.parse().unwrap());
        spec.nics[0].mac = mac.into();
        spec.nics[0].subnet =
            Some(ecs_hypervisor::SubnetSpec { cidr: "192.168.77.0/24".into(), gateway: None, dns: vec![] });
        spec.user_data = Some(user_data.as_bytes().to_vec());
        spec
    };
    d.spawn(&guest("q-net-a", "192.168.77.10", "fa:16:3e:77:00:0a", "idle")).await.unwrap();
    d.spawn(&guest("q-net-b", "192.168.77.11", "fa:16:3e:77:00:0b", "ping 192.168.77.10")).await.unwrap();
    console_shows(d, "q-net-a", "ecsd-guest: eth0 192.168.77.10").await;
    let log = console_shows(d, "q-net-b", "ecsd-guest: ping 192.168.77.10").await;
    assert!(log.contains("ecsd-guest: ping 192.168.77.10 ok"), "{log}");
    for id in ["q-net-a", "q-net-b"] {
        d.destroy(id).await.unwrap();
    }
    let bridge = format!("/sys/class/net/brq{}", &network[..11]);
    assert!(!std::path::Path::new(&bridge).exists(), "the empty bridge is removed");
}
