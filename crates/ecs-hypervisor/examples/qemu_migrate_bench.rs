//! Times moving the tiny guest between two QEMU drivers on this machine
//! (two hosts' data directories): its boot as the baseline, a live block
//! migration with the guest's downtime, and a cold migration. Run by
//! `scripts/bench-qemu-migrate.sh`; `RUNS` runs, medians printed last.

use std::time::{Duration, Instant};

use ecs_hypervisor::qemu::{AccelChoice, NetworkMode, QemuConfig, QemuHypervisor, detect_accel};
use ecs_hypervisor::{BootSource, Hypervisor, MoveKind, contract};

async fn wait_console(d: &QemuHypervisor, id: &str, text: &str) {
    for _ in 0..6000 {
        if d.console_log(id, None).await.unwrap().contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{id} never showed {text:?}");
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let work = tempfile::tempdir().unwrap();
    let guest = ecs_test_utils::tiny_guest(work.path()).expect("QEMU and the tiny guest's parts");
    let (accel, why) = detect_accel(AccelChoice::Auto).unwrap();
    println!("accelerator: {why}");
    let driver = |name: &str| {
        let mut config = QemuConfig::under(&work.path().join(name), name, accel, NetworkMode::User);
        config.shutdown_timeout = Duration::from_secs(1);
        QemuHypervisor::new(config).unwrap()
    };
    let (a, b) = (driver("bench-a"), driver("bench-b"));
    let mut base = contract::template();
    base.boot = BootSource { kernel: Some(guest.kernel), initrd: Some(guest.initrd), ..Default::default() };
    base.user_data = Some(b"count".to_vec());
    println!("guest: {} vCPU, {} MiB, root {} GiB (blank, block-copied)", base.vcpus, base.ram_mb, base.root_gb);
    let (mut boot, mut live, mut downtime, mut cold, mut cold_ready) = (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let spec = contract::spec_from(&base, &format!("bench-{run}"));
        let id = spec.id.as_str();
        let started = Instant::now();
        a.spawn(&spec).await.unwrap();
        wait_console(&a, id, ecs_test_utils::TINY_GUEST_MARKER).await;
        boot.push(started.elapsed().as_millis() as u64);
        wait_console(&a, id, "ecsd-guest: count 2").await;

        // Live, a -> b: prepare, send (disks mirrored, memory sent), finish.
        let kind = MoveKind::Live { block: true };
        let started = Instant::now();
        let to = b.prepare_incoming(&spec, kind).await.unwrap();
        a.send_guest(id, &to, kind).await.unwrap();
        b.finish_incoming(&spec, kind, true).await.unwrap();
        live.push(started.elapsed().as_millis() as u64);
        downtime.push(a.move_stats(id).unwrap().downtime_ms);
        a.destroy(id).await.unwrap();

        // Cold, b -> a: stopped, the root disk and the console copied, started again.
        b.power_off(id, false).await.unwrap();
        let started = Instant::now();
        let to = a.prepare_incoming(&spec, MoveKind::Cold).await.unwrap();
        b.send_guest(id, &to, MoveKind::Cold).await.unwrap();
        a.finish_incoming(&spec, MoveKind::Cold, true).await.unwrap();
        cold.push(started.elapsed().as_millis() as u64);
        let log = a.console_log(id, None).await.unwrap();
        let boots = log.matches(ecs_test_utils::TINY_GUEST_MARKER).count();
        for _ in 0..6000 {
            if a.console_log(id, None).await.unwrap().matches(ecs_test_utils::TINY_GUEST_MARKER).count() > boots {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cold_ready.push(started.elapsed().as_millis() as u64);
        b.destroy(id).await.unwrap();
        a.destroy(id).await.unwrap();
        println!(
            "run {run}: boot {} ms, live {} ms (downtime {} ms), cold {} ms (guest ready again {} ms)",
            boot[run], live[run], downtime[run], cold[run], cold_ready[run]
        );
    }
    let (boot, live, downtime, cold, cold_ready) =
        (median(boot), median(live), median(downtime), median(cold), median(cold_ready));
    println!("median over {runs} runs:");
    println!("  boot to ready (baseline)   {boot:>6} ms");
    println!("  live migration (block)     {live:>6} ms   {:.2}x boot", live as f64 / boot as f64);
    println!("  live migration downtime    {downtime:>6} ms   {:.3}x boot", downtime as f64 / boot as f64);
    println!("  cold migration (copy)      {cold:>6} ms   {:.2}x boot", cold as f64 / boot as f64);
    println!("  cold migration to ready    {cold_ready:>6} ms   {:.2}x boot", cold_ready as f64 / boot as f64);
}
