//! Real guests: each server is a QEMU process on this host, driven through
//! its QMP socket. Everything a guest is lives in one directory under the
//! state directory, so ecsd can stop and start without touching guests and
//! find them again from their pid files and sockets:
//!
//! ```text
//! <state>/<guest id>/guest.json   what the guest is (spec, device slots, suspended)
//!                    root.qcow2   the root disk (unless it boots from a volume)
//!                    config.iso   the config drive
//!                    console.log  the serial console, kept across boots
//!                    qmp.sock     QEMU's monitor
//!                    qemu.pid     QEMU's process
//!                    suspend.state  the saved machine of a suspended guest
//! <volumes>/<volume id>.qcow2      volumes, which outlive their guests
//! <images>/<image id>.qcow2        snapshots (`createImage`)
//! ```
//!
//! Guests boot their image's kernel directly on the `microvm` machine when
//! the image has one, firmware from disk on `q35` otherwise; either way
//! hot-pluggable devices (volumes, NICs) sit on PCIe root ports.

mod config_drive;
pub(crate) mod moves;
mod qmp;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    BootSource, ConsoleEndpoint, DiskSpec, GuestInfo, GuestSpec, Hypervisor, HypervisorError, IncomingGuest, MoveKind,
    NicSpec, Op, PowerState, RebootKind, Result, SnapshotImage,
};
pub use moves::MoveStats;
pub use qmp::{Qmp, QmpError};

/// Root ports made at boot, one per hot-pluggable device (ECS allows 12 NICs).
const ROOT_PORTS: usize = 24;
/// How long a guest may take to let go of an unplugged device.
const UNPLUG_TIMEOUT: Duration = Duration::from_secs(60);
/// How long QEMU may take to exit once told to.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
const VNC_BASE_PORT: u16 = 5900;
/// The most of the serial log a console request returns: several boots'
/// worth (libvirt's own log keeps 2 MiB; `length` cuts it further).
const CONSOLE_OUTPUT_BYTES: u64 = 1024 * 1024;
/// The serial log's size past which it is trimmed at the guest's next start.
const CONSOLE_KEEP_MAX: u64 = 2 * 1024 * 1024;

/// What `--accel` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccelChoice {
    Auto,
    Kvm,
    Tcg,
}

/// The accelerator guests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// Picks the accelerator, with the reason. `/dev/kvm` alone is not
/// trusted: a nested `kvm_pvm` host opens it and makes VMs whose stock
/// kernels then hang, so `auto` wants the hardware modules themselves.
pub fn detect_accel(choice: AccelChoice) -> std::result::Result<(Accel, String), String> {
    detect_accel_in(choice, Path::new("/sys/module"), Path::new("/dev/kvm"))
}

fn detect_accel_in(choice: AccelChoice, modules: &Path, device: &Path) -> std::result::Result<(Accel, String), String> {
    let hardware = ["kvm_intel", "kvm_amd"].into_iter().find(|m| modules.join(m).exists());
    let device_ok = std::fs::OpenOptions::new().read(true).write(true).open(device).is_ok();
    match (choice, hardware, device_ok) {
        (AccelChoice::Tcg, ..) => Ok((Accel::Tcg, "TCG (software emulation) as asked".into())),
        (AccelChoice::Kvm, _, true) => Ok((Accel::Kvm, format!("KVM as asked ({})", hardware.unwrap_or("module?")))),
        (AccelChoice::Kvm, _, false) => Err(format!("--accel kvm, but {} cannot be opened", device.display())),
        (AccelChoice::Auto, Some(module), true) => Ok((Accel::Kvm, format!("KVM ({module})"))),
        (AccelChoice::Auto, None, true) => Ok((
            Accel::Tcg,
            format!(
                "TCG (software emulation): {} opens but neither kvm_intel nor kvm_amd is loaded \
                 (a nested or paravirtual KVM that stock guest kernels hang under)",
                device.display()
            ),
        )),
        (AccelChoice::Auto, _, false) => {
            Ok((Accel::Tcg, format!("TCG (software emulation): no usable {}", device.display())))
        }
    }
}

/// How guests' NICs reach the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// A TAP device per port on a Linux bridge per network (needs root):
    /// guests on one network reach each other.
    Bridge,
    /// QEMU's user-mode network per NIC: outbound only, no root needed.
    User,
}

impl NetworkMode {
    /// Bridges when this process may make them (root with CAP_NET_ADMIN),
    /// found by making and removing one.
    pub async fn detect() -> NetworkMode {
        let probe = "ecsd-probe0";
        let made = run("ip", &["link", "add", probe, "type", "bridge"]).await.is_ok();
        if made {
            let _ = run("ip", &["link", "del", probe]).await;
            NetworkMode::Bridge
        } else {
            NetworkMode::User
        }
    }
}

#[derive(Debug, Clone)]
pub struct QemuConfig {
    pub host: String,
    /// Where guests' directories live.
    pub state_dir: PathBuf,
    pub volumes_dir: PathBuf,
    pub images_dir: PathBuf,
    pub accel: Accel,
    pub network: NetworkMode,
    /// How long a graceful power-off or soft reboot waits for the guest
    /// (Nova's `shutdown_timeout`) before forcing it.
    pub shutdown_timeout: Duration,
    pub qemu_binary: PathBuf,
    pub qemu_img: PathBuf,
    pub iso_tool: PathBuf,
    // `ecsd agent --hypervisor qemu` sets the four below (`ecsd::start_agent`):
    // its advertised host, `--migration-bandwidth`, its transfer endpoint
    // (`PUT /internal/v1/transfers/{id}/{file}`) and the internal secret.
    /// The address other hosts reach this one at for a live move: the
    /// incoming guest's migration stream and its disks' NBD exports listen here.
    pub migration_address: String,
    /// A live move's stream cap in bytes per second (QEMU's `max-bandwidth`);
    /// None: no cap.
    pub migration_bandwidth: Option<u64>,
    /// Where other hosts send a moving guest's files (its root disk, its
    /// console log): the base URL of this host's agent transfer endpoint
    /// (`PUT {url}/{guest id}/{file}`, see [`QemuHypervisor::receive_incoming_file`]).
    /// None: they are written straight into this host's directory (one
    /// machine, or the state directory on shared storage).
    pub transfer_url: Option<String>,
    /// The Bearer token a source presents on a transfer URL (one for the cluster).
    pub transfer_token: Option<String>,
}

impl QemuConfig {
    /// The layout under an ecsd data directory, with Debian's tools.
    pub fn under(data_dir: &Path, host: &str, accel: Accel, network: NetworkMode) -> QemuConfig {
        QemuConfig {
            host: host.to_string(),
            state_dir: data_dir.join("qemu"),
            volumes_dir: data_dir.join("volumes"),
            images_dir: data_dir.join("images"),
            accel,
            network,
            shutdown_timeout: Duration::from_secs(60),
            qemu_binary: "qemu-system-x86_64".into(),
            qemu_img: "qemu-img".into(),
            iso_tool: "genisoimage".into(),
            migration_address: "127.0.0.1".into(),
            migration_bandwidth: None,
            transfer_url: None,
            transfer_token: None,
        }
    }
}

/// What the host offers guests: CPUs, memory and the disk under `dir`.
pub fn host_capacity(dir: &Path) -> (i64, i64, i64) {
    let vcpus = std::thread::available_parallelism().map(|n| n.get() as i64).unwrap_or(1);
    let ram_mb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0);
    let disk_gb =
        rustix::fs::statvfs(dir).map(|s| ((s.f_blocks as u128 * s.f_frsize as u128) >> 30) as i64).unwrap_or(0);
    (vcpus, ram_mb, disk_gb)
}

/// The host CPU's clock in kHz, from /proc/cpuinfo.
fn host_tsc_khz() -> Option<u64> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("cpu MHz"))?
        .trim_start_matches([' ', '\t', ':'])
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0) as u64)
}

/// A guest as kept in its `guest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GuestRecord {
    /// Without the admin password, which has no business in a state file.
    spec: GuestSpec,
    /// The root port each hot-pluggable device (by QEMU id) sits on.
    slots: BTreeMap<String, usize>,
    /// Whether `suspend.state` holds the machine.
    suspended: bool,
    /// Rescued: what the guest boots instead (its disk copied on write to
    /// `rescue.qcow2`), with its own root attached second.
    #[serde(default)]
    rescue: Option<BootSource>,
}

impl GuestRecord {
    fn new(spec: &GuestSpec) -> GuestRecord {
        let mut record = GuestRecord {
            spec: GuestSpec { admin_pass: None, ..spec.clone() },
            slots: BTreeMap::new(),
            suspended: false,
            rescue: None,
        };
        let ids: Vec<String> = record
            .data_disks()
            .map(|d| disk_device(&d.id))
            .chain(spec.nics.iter().map(|n| nic_device(&n.port_id)))
            .collect();
        for id in ids {
            record.take_slot(&id);
        }
        record
    }

    /// A free root port for `device`, or the one it has.
    fn take_slot(&mut self, device: &str) -> Option<usize> {
        if let Some(slot) = self.slots.get(device) {
            return Some(*slot);
        }
        // Disks fill the ports from the first, NICs from the last: a device
        // hot-plugged after boot sits where a fresh start puts it, which
        // the other host of a live move does.
        let free = |s: &usize| !self.slots.values().any(|used| used == s);
        let slot = match device.starts_with("nic") {
            true => (0..ROOT_PORTS).rev().find(free)?,
            false => (0..ROOT_PORTS).find(free)?,
        };
        self.slots.insert(device.to_string(), slot);
        Some(slot)
    }

    /// The volume the guest boots from, if it has one.
    fn boot_volume(&self) -> Option<&DiskSpec> {
        self.spec.disks.iter().find(|d| is_boot_device(&d.device))
    }

    fn data_disks(&self) -> impl Iterator<Item = &DiskSpec> {
        self.spec.disks.iter().filter(|d| !is_boot_device(&d.device))
    }

    fn info(&self, power_state: PowerState) -> GuestInfo {
        GuestInfo {
            id: self.spec.id.clone(),
            power_state,
            vcpus: self.spec.vcpus,
            ram_mb: self.spec.ram_mb,
            root_gb: self.spec.root_gb,
            nics: self.spec.nics.clone(),
            disks: self.spec.disks.clone(),
        }
    }
}

fn is_boot_device(device: &str) -> bool {
    matches!(device, "/dev/vda" | "/dev/sda" | "vda" | "sda")
}

/// A QEMU id for a volume or port: QEMU limits node names to 31
/// characters, so the id's first 24 letters and digits (a uuid's 96 bits).
fn qemu_id(prefix: &str, id: &str) -> String {
    let compact: String = id.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
    format!("{prefix}{compact}")
}

fn disk_device(volume_id: &str) -> String {
    qemu_id("disk", volume_id)
}

fn nic_device(port_id: &str) -> String {
    qemu_id("nic", port_id)
}

fn netdev_id(port_id: &str) -> String {
    qemu_id("net", port_id)
}

/// The QEMU driver of one host.
pub struct QemuHypervisor {
    config: QemuConfig,
    /// One operation at a time per guest.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Live moves this process is sending, by guest: how to cancel or
    /// force one from outside the guest's lock.
    sending: Mutex<HashMap<String, Arc<moves::SendControl>>>,
    /// The last move of each guest, for benchmarks and logs.
    stats: Mutex<HashMap<String, MoveStats>>,
}

/// Runs a helper program; its stderr is the error.
async fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> std::result::Result<String, String> {
    let program = program.as_ref();
    let output = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| format!("{}: {e}", program.to_string_lossy()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("{}: {}", program.to_string_lossy(), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// The format of a disk file, from its first bytes.
fn disk_format(path: &Path) -> &'static str {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let qcow2 = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"QFI\xfb";
    if qcow2 { "qcow2" } else { "raw" }
}

fn path_str(path: &Path) -> std::result::Result<&str, String> {
    path.to_str().ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

impl QemuHypervisor {
    pub fn new(config: QemuConfig) -> std::io::Result<QemuHypervisor> {
        for dir in [&config.state_dir, &config.volumes_dir, &config.images_dir] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(QemuHypervisor { config, locks: Mutex::default(), sending: Mutex::default(), stats: Mutex::default() })
    }

    pub fn config(&self) -> &QemuConfig {
        &self.config
    }

    async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self.locks.lock().expect("locks").entry(id.to_string()).or_default().clone();
        lock.lock_owned().await
    }

    fn failed(&self, op: Op, message: impl std::fmt::Display) -> HypervisorError {
        HypervisorError::Failed { host: self.config.host.clone(), op, message: message.to_string() }
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.config.state_dir.join(id)
    }

    pub fn volume_path(&self, volume_id: &str) -> PathBuf {
        self.config.volumes_dir.join(format!("{volume_id}.qcow2"))
    }

    fn root_path(&self, record: &GuestRecord) -> PathBuf {
        match record.boot_volume() {
            Some(volume) => self.volume_path(&volume.id),
            None => self.dir(&record.spec.id).join("root.qcow2"),
        }
    }

    fn read_record(&self, id: &str) -> Result<Option<GuestRecord>> {
        match std::fs::read(self.dir(id).join("guest.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.failed(Op::Spawn, format!("guest {id}: unreadable guest.json: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed(Op::Spawn, e)),
        }
    }

    fn record(&self, id: &str) -> Result<GuestRecord> {
        self.read_record(id)?.ok_or_else(|| HypervisorError::NotFound(id.to_string()))
    }

    /// Written through a temporary file: a crash leaves the old or the new.
    fn save(&self, record: &GuestRecord, op: Op) -> Result<()> {
        let dir = self.dir(&record.spec.id);
        let partial = dir.join("guest.json.partial");
        let bytes = serde_json::to_vec_pretty(record).expect("a record serialises");
        std::fs::write(&partial, bytes)
            .and_then(|()| std::fs::rename(&partial, dir.join("guest.json")))
            .map_err(|e| self.failed(op, e))
    }

    /// The guest's QEMU process, if it runs (checked against its command
    /// line: a pid file may outlive its process and the pid be reused).
    fn pid(&self, id: &str) -> Option<i32> {
        let dir = self.dir(id);
        let pid: i32 = std::fs::read_to_string(dir.join("qemu.pid")).ok()?.trim().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let name = format!("guest={id},");
        cmdline.split(|b| *b == 0).any(|arg| arg.starts_with(name.as_bytes())).then_some(pid)
    }

    async fn qmp(&self, id: &str, op: Op) -> Result<Qmp> {
        Qmp::connect(&self.dir(id).join("qmp.sock")).await.map_err(|e| self.failed(op, e))
    }

    async fn power_state(&self, record: &GuestRecord) -> PowerState {
        let id = &record.spec.id;
        if self.pid(id).is_none() {
            return if record.suspended { PowerState::Suspended } else { PowerState::Shutdown };
        }
        let status = match Qmp::connect(&self.dir(id).join("qmp.sock")).await {
            Ok(mut qmp) => qmp.status().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        match status.as_str() {
            // `postmigrate`: the guest has moved away and is stopped here.
            "paused" | "suspended" | "postmigrate" | "inmigrate" => PowerState::Paused,
            "shutdown" => PowerState::Shutdown,
            "guest-panicked" | "internal-error" => PowerState::Crashed,
            _ => PowerState::Running,
        }
    }

    fn invalid(&self, id: &str, state: PowerState, op: Op) -> HypervisorError {
        HypervisorError::InvalidState { id: id.to_string(), state, op }
    }

    /// Makes a volume's file if it has none: a copy of its source image
    /// grown to its size, or blank.
    async fn ensure_volume(&self, disk: &DiskSpec, op: Op) -> Result<PathBuf> {
        let path = self.volume_path(&disk.id);
        if path.exists() {
            return Ok(path);
        }
        let partial = path.with_extension("qcow2.partial");
        let partial_str = path_str(&partial).map_err(|e| self.failed(op, e))?.to_string();
        let size = format!("{}G", disk.size_gb.max(1));
        let img = &self.config.qemu_img;
        let made = match &disk.source {
            Some(source) => {
                let source = path_str(source).map_err(|e| self.failed(op, e))?;
                match run(img, &["convert", "-O", "qcow2", source, &partial_str]).await {
                    Ok(_) => grow(img, &partial_str, disk.size_gb).await,
                    Err(e) => Err(e),
                }
            }
            None => run(img, &["create", "-q", "-f", "qcow2", &partial_str, &size]).await.map(drop),
        };
        if let Err(e) = made {
            let _ = std::fs::remove_file(&partial);
            return Err(self.failed(op, e));
        }
        std::fs::rename(&partial, &path).map_err(|e| self.failed(op, e))?;
        Ok(path)
    }

    /// Everything a guest needs on disk before its first boot.
    async fn prepare(&self, record: &GuestRecord, admin_pass: Option<&str>) -> std::result::Result<(), String> {
        let spec = &record.spec;
        let dir = self.dir(&spec.id);
        for disk in &spec.disks {
            self.ensure_volume(disk, Op::Spawn).await.map_err(|e| e.to_string())?;
        }
        if record.boot_volume().is_none() {
            let root = dir.join("root.qcow2");
            let root_str = path_str(&root)?;
            let img = &self.config.qemu_img;
            match &spec.boot.disk {
                Some(image) => {
                    if !image.exists() {
                        return Err(format!("the image file {} does not exist", image.display()));
                    }
                    let backing = path_str(image)?;
                    let format = disk_format(image);
                    run(img, &["create", "-q", "-f", "qcow2", "-F", format, "-b", backing, root_str]).await?;
                    grow(img, root_str, spec.root_gb).await?;
                }
                None if spec.boot.kernel.is_some() => {
                    let size = format!("{}G", spec.root_gb.max(1));
                    run(img, &["create", "-q", "-f", "qcow2", root_str, &size]).await?;
                }
                None => return Err("the image has no disk file and no kernel to boot (see `ecsd image import`)".into()),
            }
        }
        self.write_config_drive(record, admin_pass).await
    }

    async fn write_config_drive(
        &self,
        record: &GuestRecord,
        admin_pass: Option<&str>,
    ) -> std::result::Result<(), String> {
        let dir = self.dir(&record.spec.id);
        let spec = GuestSpec { admin_pass: admin_pass.map(String::from), ..record.spec.clone() };
        config_drive::build(&spec, &dir.join("config-drive"), &dir.join("config.iso"), &self.config.iso_tool)
            .await
            .map_err(|e| format!("config drive: {e}"))
    }

    /// QEMU's command line for the guest as its record describes it.
    /// `incoming` is QEMU's `-incoming` argument: a saved machine, or `defer` for a live move.
    fn command_line(&self, record: &GuestRecord, incoming: Option<&str>) -> std::result::Result<Vec<String>, String> {
        let spec = &record.spec;
        let dir = self.dir(&spec.id);
        let file = |name: &str| dir.join(name).display().to_string();
        let mut args: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
        // Rescued, the guest boots the rescue system.
        let boot = record.rescue.as_ref().filter(|r| r.kernel.is_some() || r.disk.is_some()).unwrap_or(&spec.boot);
        let direct = boot.kernel.is_some();
        // microvm boots a kernel in a fraction of q35's time; disks need firmware.
        push(&["-name", &format!("guest={},debug-threads=on", spec.id)]);
        push(&["-machine", if direct { "microvm,pcie=on,rtc=on" } else { "q35" }]);
        match self.config.accel {
            Accel::Kvm => push(&["-accel", "kvm", "-cpu", "host"]),
            Accel::Tcg => push(&["-accel", "tcg", "-cpu", "max"]),
        }
        push(&["-m", &spec.ram_mb.max(64).to_string(), "-smp", &spec.vcpus.max(1).to_string()]);
        push(&["-nodefaults", "-no-user-config", "-display", "none"]);
        push(&["-vnc", &format!("127.0.0.1:0,to={}", u16::MAX - VNC_BASE_PORT)]);
        let console = file("console.log");
        push(&["-chardev", &format!("file,id=serial0,path={console},append=on"), "-serial", "chardev:serial0"]);
        push(&["-qmp", &format!("unix:{},server=on,wait=off", file("qmp.sock"))]);
        push(&["-pidfile", &file("qemu.pid"), "-daemonize"]);
        if let Some(kernel) = &boot.kernel {
            push(&["-kernel", path_str(kernel)?]);
            if let Some(initrd) = &boot.initrd {
                push(&["-initrd", path_str(initrd)?]);
            }
            let mut cmdline = String::from("console=ttyS0 panic=-1 pcie_ports=native root=/dev/vda");
            // Under TCG a guest calibrating its TSC against the PIT fails
            // when the host is busy, and then hangs without a clocksource;
            // the emulated TSC runs at the host's rate, so tell it.
            if let (Accel::Tcg, Some(khz)) = (self.config.accel, host_tsc_khz()) {
                cmdline.push_str(&format!(" tsc_early_khz={khz}"));
            }
            if let Some(extra) = &boot.cmdline {
                cmdline.push(' ');
                cmdline.push_str(extra);
            }
            push(&["-append", &cmdline]);
        }
        let root = self.root_path(record);
        if record.rescue.is_some() {
            // The rescue disk first (vda, booted), the guest's own root second (vdb).
            push(&["-blockdev", &blockdev("rescue", &dir.join("rescue.qcow2"), false)?]);
            push(&[
                "-device",
                if direct {
                    "virtio-blk-pci,drive=rescue,id=dev-rescue"
                } else {
                    "virtio-blk-pci,drive=rescue,id=dev-rescue,bootindex=0"
                },
            ]);
            push(&["-blockdev", &blockdev("root", &root, false)?]);
            push(&["-device", "virtio-blk-pci,drive=root,id=dev-root"]);
        } else {
            push(&["-blockdev", &blockdev("root", &root, false)?]);
            // The firmware boots the root disk; a direct kernel boot needs no boot order.
            push(&[
                "-device",
                if direct {
                    "virtio-blk-pci,drive=root,id=dev-root"
                } else {
                    "virtio-blk-pci,drive=root,id=dev-root,bootindex=0"
                },
            ]);
        }
        push(&["-blockdev", &blockdev("config", &dir.join("config.iso"), true)?]);
        push(&["-device", "virtio-blk-pci,drive=config,id=dev-config"]);
        for port in 0..ROOT_PORTS {
            push(&["-device", &format!("pcie-root-port,id=rp{port},chassis={},slot={}", port + 1, port + 1)]);
        }
        for disk in record.data_disks() {
            let device = disk_device(&disk.id);
            let slot = record.slots.get(&device).ok_or_else(|| format!("{device} has no slot"))?;
            push(&["-blockdev", &blockdev(&device, &self.volume_path(&disk.id), false)?]);
            push(&["-device", &disk_device_args(&device, &disk.id, *slot)]);
        }
        for nic in &spec.nics {
            let device = nic_device(&nic.port_id);
            let slot = record.slots.get(&device).ok_or_else(|| format!("{device} has no slot"))?;
            push(&["-netdev", &self.netdev_args(nic)]);
            push(&["-device", &nic_device_args(&device, nic, *slot)]);
        }
        if let Some(incoming) = incoming {
            push(&["-incoming", incoming]);
        }
        Ok(args)
    }

    fn netdev_args(&self, nic: &NicSpec) -> String {
        let id = netdev_id(&nic.port_id);
        match self.config.network {
            NetworkMode::Bridge => format!("tap,id={id},ifname={},script=no,downscript=no", tap_name(&nic.port_id)),
            NetworkMode::User => format!("user,id={id}"),
        }
    }

    /// A TAP device for the port on its network's bridge (bridge mode).
    async fn plug_tap(&self, nic: &NicSpec) -> std::result::Result<(), String> {
        if self.config.network != NetworkMode::Bridge {
            return Ok(());
        }
        let bridge = bridge_name(&nic.network_id);
        let tap = tap_name(&nic.port_id);
        if run("ip", &["link", "show", &bridge]).await.is_err() {
            run("ip", &["link", "add", &bridge, "type", "bridge"]).await?;
        }
        run("ip", &["link", "set", &bridge, "up"]).await?;
        if run("ip", &["link", "show", &tap]).await.is_err() {
            run("ip", &["tuntap", "add", "dev", &tap, "mode", "tap"]).await?;
        }
        run("ip", &["link", "set", &tap, "master", &bridge, "up"]).await.map(drop)
    }

    /// Removes the port's TAP device, and its network's bridge once no
    /// port is left on it (as Neutron's Linux bridge agent does).
    async fn unplug_tap(&self, nic: &NicSpec) {
        if self.config.network != NetworkMode::Bridge {
            return;
        }
        let _ = run("ip", &["link", "del", &tap_name(&nic.port_id)]).await;
        let bridge = bridge_name(&nic.network_id);
        let ports = std::fs::read_dir(format!("/sys/class/net/{bridge}/brif")).map(|d| d.count());
        if ports.is_ok_and(|n| n == 0) {
            let _ = run("ip", &["link", "del", &bridge]).await;
        }
    }

    /// Starts QEMU for the guest (from its saved machine if `incoming`).
    async fn launch(&self, record: &GuestRecord, op: Op) -> Result<()> {
        let id = &record.spec.id;
        // A fresh start lays the devices out anew, as a first start does
        // (another host starting the guest for a live move does the same).
        let laid_out;
        let record = match GuestRecord::new(&record.spec).slots {
            slots if !record.suspended && slots != record.slots => {
                laid_out = GuestRecord { slots, ..record.clone() };
                self.save(&laid_out, op)?;
                &laid_out
            }
            _ => record,
        };
        let state = self.dir(id).join("suspend.state");
        let incoming = match record.suspended {
            true => Some(format!("exec:cat {}", shell_quote(path_str(&state).map_err(|e| self.failed(op, e))?))),
            false => None,
        };
        self.start_qemu(record, incoming.as_deref(), op).await?;
        if record.suspended {
            let mut qmp = self.qmp(id, op).await?;
            let deadline = tokio::time::Instant::now() + EXIT_TIMEOUT;
            while qmp.status().await.map_err(|e| self.failed(op, e))? == "inmigrate" {
                if tokio::time::Instant::now() > deadline {
                    return Err(self.failed(op, "restoring the suspended guest timed out"));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            qmp.execute("cont", json!({})).await.map_err(|e| self.failed(op, e))?;
            let mut resumed = record.clone();
            resumed.suspended = false;
            self.save(&resumed, op)?;
            let _ = std::fs::remove_file(&state);
        }
        Ok(())
    }

    /// Runs QEMU for the guest, daemonized; `incoming` as [`Self::command_line`] takes it.
    async fn start_qemu(&self, record: &GuestRecord, incoming: Option<&str>, op: Op) -> Result<()> {
        let dir = self.dir(&record.spec.id);
        for nic in &record.spec.nics {
            self.plug_tap(nic).await.map_err(|e| self.failed(op, e))?;
        }
        let _ = std::fs::remove_file(dir.join("qmp.sock"));
        // Started here again (a move reverted): no longer a guest sent away.
        let _ = std::fs::remove_file(dir.join("sent"));
        let _ = std::fs::remove_file(dir.join(moves::MOVED_VOLUMES));
        trim_console(&dir.join("console.log"));
        let args = self.command_line(record, incoming).map_err(|e| self.failed(op, e))?;
        let output = tokio::process::Command::new(&self.config.qemu_binary)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| self.failed(op, format!("{}: {e}", self.config.qemu_binary.display())))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.failed(op, format!("QEMU did not start: {}", stderr.trim())));
        }
        Ok(())
    }

    /// Waits for the guest's QEMU to exit; false if it is still there at the end.
    async fn wait_exit(&self, id: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.pid(id).is_some() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Ends the guest's QEMU: `quit`, then SIGKILL.
    async fn kill(&self, id: &str, op: Op) -> Result<()> {
        let Some(pid) = self.pid(id) else { return Ok(()) };
        if let Ok(mut qmp) = self.qmp(id, op).await {
            let _ = qmp.execute("quit", json!({})).await;
        }
        if !self.wait_exit(id, Duration::from_secs(5)).await {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            if !self.wait_exit(id, EXIT_TIMEOUT).await {
                return Err(self.failed(op, format!("QEMU process {pid} does not exit")));
            }
        }
        Ok(())
    }

    /// Asks the guest to power off (ACPI) and waits; false if it did not.
    async fn ask_power_off(&self, id: &str, op: Op) -> Result<bool> {
        let mut qmp = self.qmp(id, op).await?;
        qmp.execute("system_powerdown", json!({})).await.map_err(|e| self.failed(op, e))?;
        drop(qmp);
        Ok(self.wait_exit(id, self.config.shutdown_timeout).await)
    }

    async fn hot_add_disk(&self, id: &str, disk: &DiskSpec, slot: usize) -> Result<()> {
        let op = Op::AttachDisk;
        let device = disk_device(&disk.id);
        let mut qmp = self.qmp(id, op).await?;
        let path = self.volume_path(&disk.id);
        let node = json!({
            "node-name": device, "driver": "qcow2",
            "file": {"driver": "file", "filename": path_str(&path).map_err(|e| self.failed(op, e))?},
        });
        ignore_duplicate(qmp.execute("blockdev-add", node).await).map_err(|e| self.failed(op, e))?;
        let args = json!({
            "driver": "virtio-blk-pci", "drive": device, "id": format!("dev-{device}"),
            "bus": format!("rp{slot}"), "serial": serial(&disk.id),
        });
        ignore_duplicate(qmp.execute("device_add", args).await).map_err(|e| self.failed(op, e))
    }

    async fn hot_add_nic(&self, id: &str, nic: &NicSpec, slot: usize) -> Result<()> {
        let op = Op::AttachNic;
        self.plug_tap(nic).await.map_err(|e| self.failed(op, e))?;
        let mut qmp = self.qmp(id, op).await?;
        let netdev = match self.config.network {
            NetworkMode::Bridge => json!({
                "type": "tap", "id": netdev_id(&nic.port_id), "ifname": tap_name(&nic.port_id),
                "script": "no", "downscript": "no",
            }),
            NetworkMode::User => json!({"type": "user", "id": netdev_id(&nic.port_id)}),
        };
        ignore_duplicate(qmp.execute("netdev_add", netdev).await).map_err(|e| self.failed(op, e))?;
        let device = nic_device(&nic.port_id);
        let args = json!({
            "driver": "virtio-net-pci", "netdev": netdev_id(&nic.port_id), "id": format!("dev-{device}"),
            "mac": nic.mac, "bus": format!("rp{slot}"),
        });
        ignore_duplicate(qmp.execute("device_add", args).await).map_err(|e| self.failed(op, e))
    }

    /// Unplugs a device and waits for the guest to let it go, then drops
    /// its backend (`blockdev-del` / `netdev_del`).
    async fn hot_remove(&self, id: &str, device: &str, backend: (&str, Value), op: Op) -> Result<()> {
        let mut qmp = self.qmp(id, op).await?;
        let qdev = format!("dev-{device}");
        match qmp.execute("device_del", json!({"id": qdev})).await {
            Ok(_) => {
                let gone =
                    qmp.wait_event(UNPLUG_TIMEOUT, qmp::device_deleted(&qdev)).await.map_err(|e| self.failed(op, e))?;
                if !gone {
                    return Err(self.failed(op, format!("the guest did not release {qdev}")));
                }
            }
            // Gone already: a step repeated after a crash.
            Err(QmpError::Command { class, .. }) if class == "DeviceNotFound" => {}
            Err(e) => return Err(self.failed(op, e)),
        }
        match qmp.execute(backend.0, backend.1).await {
            Ok(_) => Ok(()),
            Err(QmpError::Command { .. }) => Ok(()),
            Err(e) => Err(self.failed(op, e)),
        }
    }

    /// Whether QEMU runs the guest (running or paused).
    fn live(&self, id: &str) -> bool {
        self.pid(id).is_some()
    }
}

/// The end of a file, at most `max` bytes.
fn read_tail(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Keeps a serial log from growing without end across boots: past
/// [`CONSOLE_KEEP_MAX`] it is cut to its last [`CONSOLE_OUTPUT_BYTES`]
/// before QEMU opens it again (libvirt's virtlogd rotates likewise).
fn trim_console(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > CONSOLE_KEEP_MAX)
        && let Ok(tail) = read_tail(path, CONSOLE_OUTPUT_BYTES)
    {
        let _ = std::fs::write(path, tail);
    }
}

/// Grows a disk file to `size_gb` if it is smaller (never shrinks).
async fn grow(qemu_img: &Path, path: &str, size_gb: u64) -> std::result::Result<(), String> {
    if size_gb == 0 {
        return Ok(());
    }
    let info = run(qemu_img, &["info", "-U", "--output=json", path]).await?;
    let current = serde_json::from_str::<Value>(&info)
        .ok()
        .and_then(|v| v.get("virtual-size").and_then(Value::as_u64))
        .unwrap_or(0);
    let wanted = size_gb << 30;
    if wanted > current {
        run(qemu_img, &["resize", "-q", path, &format!("{size_gb}G")]).await?;
    }
    Ok(())
}

fn blockdev(node: &str, path: &Path, read_only: bool) -> std::result::Result<String, String> {
    let format = if read_only { "raw" } else { "qcow2" };
    let ro = if read_only { ",read-only=on,file.read-only=on" } else { "" };
    Ok(format!("driver={format},node-name={node},file.driver=file,file.filename={}{ro}", path_str(path)?))
}

fn disk_device_args(device: &str, volume_id: &str, slot: usize) -> String {
    format!("virtio-blk-pci,drive={device},id=dev-{device},bus=rp{slot},serial={}", serial(volume_id))
}

fn nic_device_args(device: &str, nic: &NicSpec, slot: usize) -> String {
    format!("virtio-net-pci,netdev={},id=dev-{device},mac={},bus=rp{slot}", netdev_id(&nic.port_id), nic.mac)
}

/// The disk serial the guest sees (`/dev/disk/by-id/virtio-<serial>`):
/// the volume id's first 20 characters, as Nova sets it.
fn serial(volume_id: &str) -> &str {
    &volume_id[..volume_id.len().min(20)]
}

fn bridge_name(network_id: &str) -> String {
    format!("brq{}", config_drive::short(network_id))
}

fn tap_name(port_id: &str) -> String {
    format!("tap{}", config_drive::short(port_id))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// An add that finds its device already there (a step repeated after a crash) succeeded.
fn ignore_duplicate(r: std::result::Result<Value, QmpError>) -> std::result::Result<(), QmpError> {
    match r {
        Ok(_) => Ok(()),
        Err(QmpError::Command { desc, .. })
            if desc.contains("Duplicate") || desc.contains("already") || desc.contains("in use") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[async_trait::async_trait]
impl Hypervisor for QemuHypervisor {
    fn host(&self) -> &str {
        &self.config.host
    }

    fn kind(&self) -> &'static str {
        match self.config.accel {
            Accel::Kvm => "qemu-kvm",
            Accel::Tcg => "qemu-tcg",
        }
    }

    async fn spawn(&self, spec: &GuestSpec) -> Result<GuestInfo> {
        let _guard = self.lock(&spec.id).await;
        if let Some(record) = self.read_record(&spec.id)? {
            // A spawn repeated after a crash between making the guest and
            // starting it starts it now.
            if !record.suspended && !self.live(&spec.id) {
                self.launch(&record, Op::Spawn).await?;
            }
            let state = self.power_state(&record).await;
            return Ok(record.info(state));
        }
        let dir = self.dir(&spec.id);
        std::fs::create_dir_all(&dir).map_err(|e| self.failed(Op::Spawn, e))?;
        let record = GuestRecord::new(spec);
        let prepared = match self.prepare(&record, spec.admin_pass.as_deref()).await {
            Ok(()) => self.save(&record, Op::Spawn),
            Err(e) => Err(self.failed(Op::Spawn, e)),
        };
        let started = match prepared {
            Ok(()) => self.launch(&record, Op::Spawn).await,
            Err(e) => Err(e),
        };
        if let Err(e) = started {
            // A guest that did not start leaves nothing behind but the volumes it was given.
            let _ = self.kill(&spec.id, Op::Spawn).await;
            for nic in &spec.nics {
                self.unplug_tap(nic).await;
            }
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(record.info(PowerState::Running))
    }

    async fn destroy(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let dir = self.dir(id);
        if !dir.exists() {
            return Ok(());
        }
        self.kill(id, Op::Destroy).await?;
        if let Ok(Some(record)) = self.read_record(id) {
            for nic in &record.spec.nics {
                self.unplug_tap(nic).await;
            }
        }
        // Volumes a move copied to another host live on there.
        for volume in std::fs::read_to_string(dir.join(moves::MOVED_VOLUMES)).unwrap_or_default().lines() {
            self.delete_disk(volume).await?;
        }
        std::fs::remove_dir_all(&dir).map_err(|e| self.failed(Op::Destroy, e))
    }

    async fn info(&self, id: &str) -> Result<Option<GuestInfo>> {
        if let Some(state) = self.sending_state(id) {
            return Ok(self.read_record(id)?.map(|record| record.info(state)));
        }
        let _guard = self.lock(id).await;
        match self.read_record(id)? {
            Some(record) => Ok(Some(record.info(self.power_state(&record).await))),
            None => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<GuestInfo>> {
        let entries = std::fs::read_dir(&self.config.state_dir).map_err(|e| self.failed(Op::Spawn, e))?;
        let mut guests = Vec::new();
        for entry in entries.flatten() {
            let Some(id) = entry.file_name().to_str().map(String::from) else { continue };
            if let Some(info) = self.info(&id).await? {
                guests.push(info);
            }
        }
        Ok(guests)
    }

    async fn power_on(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        if self.live(id) {
            return Ok(());
        }
        self.launch(&record, Op::PowerOn).await
    }

    async fn power_off(&self, id: &str, graceful: bool) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if record.suspended {
            // The saved machine is dropped, as a stop of a suspended libvirt domain does.
            record.suspended = false;
            self.save(&record, Op::PowerOff)?;
            let _ = std::fs::remove_file(self.dir(id).join("suspend.state"));
        }
        if !self.live(id) {
            return Ok(());
        }
        if graceful && self.ask_power_off(id, Op::PowerOff).await? {
            return Ok(());
        }
        self.kill(id, Op::PowerOff).await
    }

    async fn reboot(&self, id: &str, kind: RebootKind) -> Result<()> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        let state = self.power_state(&record).await;
        match (kind, state) {
            (RebootKind::Soft, PowerState::Running) => {
                // Nova's soft reboot: an ACPI shutdown and a fresh start,
                // or a hard reboot when the guest does not shut down in time.
                if self.ask_power_off(id, Op::Reboot).await? {
                    return self.launch(&record, Op::Reboot).await;
                }
                let mut qmp = self.qmp(id, Op::Reboot).await?;
                qmp.execute("system_reset", json!({})).await.map_err(|e| self.failed(Op::Reboot, e))?;
                Ok(())
            }
            (RebootKind::Soft, state) => Err(self.invalid(id, state, Op::Reboot)),
            (RebootKind::Hard, PowerState::Running | PowerState::Paused | PowerState::Crashed) => {
                let mut qmp = self.qmp(id, Op::Reboot).await?;
                qmp.execute("system_reset", json!({})).await.map_err(|e| self.failed(Op::Reboot, e))?;
                if state == PowerState::Paused {
                    qmp.execute("cont", json!({})).await.map_err(|e| self.failed(Op::Reboot, e))?;
                }
                Ok(())
            }
            (RebootKind::Hard, _) => {
                let mut fresh = record;
                fresh.suspended = false;
                self.save(&fresh, Op::Reboot)?;
                self.launch(&fresh, Op::Reboot).await
            }
        }
    }

    async fn pause(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        match self.power_state(&record).await {
            PowerState::Paused => Ok(()),
            PowerState::Running => {
                let mut qmp = self.qmp(id, Op::Pause).await?;
                qmp.execute("stop", json!({})).await.map(drop).map_err(|e| self.failed(Op::Pause, e))
            }
            state => Err(self.invalid(id, state, Op::Pause)),
        }
    }

    async fn unpause(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        match self.power_state(&record).await {
            PowerState::Running => Ok(()),
            PowerState::Paused => {
                let mut qmp = self.qmp(id, Op::Unpause).await?;
                qmp.execute("cont", json!({})).await.map(drop).map_err(|e| self.failed(Op::Unpause, e))
            }
            state => Err(self.invalid(id, state, Op::Unpause)),
        }
    }

    async fn suspend(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        let op = Op::Suspend;
        match self.power_state(&record).await {
            PowerState::Suspended => return Ok(()),
            PowerState::Running | PowerState::Paused => {}
            state => return Err(self.invalid(id, state, op)),
        }
        // Libvirt's managed save: the machine's memory to a file, then the process goes.
        let dir = self.dir(id);
        let partial = dir.join("suspend.state.partial");
        let target = shell_quote(path_str(&partial).map_err(|e| self.failed(op, e))?);
        let mut qmp = self.qmp(id, op).await?;
        qmp.execute("stop", json!({})).await.map_err(|e| self.failed(op, e))?;
        qmp.execute("migrate", json!({"uri": format!("exec:cat > {target}")})).await.map_err(|e| self.failed(op, e))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        loop {
            let status = qmp.execute("query-migrate", json!({})).await.map_err(|e| self.failed(op, e))?;
            match status.get("status").and_then(Value::as_str) {
                Some("completed") => break,
                Some("failed" | "cancelled") => {
                    let _ = qmp.execute("cont", json!({})).await;
                    return Err(self.failed(op, format!("saving the guest's memory failed: {status}")));
                }
                _ if tokio::time::Instant::now() > deadline => {
                    return Err(self.failed(op, "saving the guest's memory timed out"));
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        drop(qmp);
        std::fs::rename(&partial, dir.join("suspend.state")).map_err(|e| self.failed(op, e))?;
        record.suspended = true;
        self.save(&record, op)?;
        self.kill(id, op).await
    }

    async fn resume(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        match self.power_state(&record).await {
            PowerState::Running => Ok(()),
            PowerState::Suspended => self.launch(&record, Op::Resume).await,
            state => Err(self.invalid(id, state, Op::Resume)),
        }
    }

    async fn console_log(&self, id: &str, tail: Option<usize>) -> Result<String> {
        if !self.dir(id).join("guest.json").exists() {
            return Err(HypervisorError::NotFound(id.to_string()));
        }
        let bytes = match read_tail(&self.dir(id).join("console.log"), CONSOLE_OUTPUT_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.failed(Op::ConsoleLog, e)),
        };
        let text = String::from_utf8_lossy(&bytes).replace('\r', "");
        Ok(match tail {
            Some(n) => {
                let lines: Vec<&str> = text.lines().collect();
                let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
                if text.ends_with('\n') && !out.is_empty() {
                    out.push('\n');
                }
                out
            }
            None => text,
        })
    }

    async fn attach_disk(&self, id: &str, disk: &DiskSpec) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if record.spec.disks.iter().any(|d| d.id == disk.id) {
            return Ok(());
        }
        let op = Op::AttachDisk;
        self.ensure_volume(disk, op).await?;
        let slot = record.take_slot(&disk_device(&disk.id)).ok_or_else(|| self.failed(op, "no free PCIe slot"))?;
        if record.suspended {
            return Err(self.invalid(id, PowerState::Suspended, op));
        }
        if self.live(id) {
            self.hot_add_disk(id, disk, slot).await?;
        }
        record.spec.disks.push(disk.clone());
        self.save(&record, op)
    }

    async fn detach_disk(&self, id: &str, disk_id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if !record.spec.disks.iter().any(|d| d.id == disk_id) {
            return Ok(());
        }
        let op = Op::DetachDisk;
        let device = disk_device(disk_id);
        if self.live(id) {
            self.hot_remove(id, &device, ("blockdev-del", json!({"node-name": device})), op).await?;
        }
        record.spec.disks.retain(|d| d.id != disk_id);
        record.slots.remove(&device);
        self.save(&record, op)
    }

    async fn attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if record.spec.nics.iter().any(|n| n.port_id == nic.port_id) {
            return Ok(());
        }
        let op = Op::AttachNic;
        let slot = record.take_slot(&nic_device(&nic.port_id)).ok_or_else(|| self.failed(op, "no free PCIe slot"))?;
        if record.suspended {
            return Err(self.invalid(id, PowerState::Suspended, op));
        }
        if self.live(id) {
            self.hot_add_nic(id, nic, slot).await?;
        }
        record.spec.nics.push(nic.clone());
        self.save(&record, op)
    }

    async fn detach_nic(&self, id: &str, port_id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if !record.spec.nics.iter().any(|n| n.port_id == port_id) {
            return Ok(());
        }
        let op = Op::DetachNic;
        let device = nic_device(port_id);
        if self.live(id) {
            self.hot_remove(id, &device, ("netdev_del", json!({"id": netdev_id(port_id)})), op).await?;
        }
        if let Some(nic) = record.spec.nics.iter().find(|n| n.port_id == port_id) {
            self.unplug_tap(nic).await;
        }
        record.spec.nics.retain(|n| n.port_id != port_id);
        record.slots.remove(&device);
        self.save(&record, op)
    }

    async fn resize(&self, id: &str, vcpus: u32, ram_mb: u64, root_gb: u64) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        let state = self.power_state(&record).await;
        if state != PowerState::Shutdown {
            return Err(self.invalid(id, state, Op::Resize));
        }
        if record.boot_volume().is_none() {
            let root = self.root_path(&record);
            let root = path_str(&root).map_err(|e| self.failed(Op::Resize, e))?;
            grow(&self.config.qemu_img, root, root_gb).await.map_err(|e| self.failed(Op::Resize, e))?;
        }
        record.spec.vcpus = vcpus;
        record.spec.ram_mb = ram_mb;
        record.spec.root_gb = root_gb;
        self.save(&record, Op::Resize)
    }

    async fn snapshot(&self, id: &str, image_id: &str) -> Result<SnapshotImage> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        let op = Op::Snapshot;
        let root = self.root_path(&record);
        let image = self.config.images_dir.join(format!("{image_id}.qcow2"));
        let partial = image.with_extension("qcow2.partial");
        let (root_str, partial_str) =
            (path_str(&root).map_err(|e| self.failed(op, e))?, path_str(&partial).map_err(|e| self.failed(op, e))?);
        // -U: the running guest holds the disk; the copy is crash-consistent.
        if let Err(e) = run(&self.config.qemu_img, &["convert", "-U", "-O", "qcow2", root_str, partial_str]).await {
            let _ = std::fs::remove_file(&partial);
            return Err(self.failed(op, e));
        }
        std::fs::rename(&partial, &image).map_err(|e| self.failed(op, e))?;
        let size_bytes = std::fs::metadata(&image).map_err(|e| self.failed(op, e))?.len();
        let boot = crate::BootSource { disk: Some(image), ..record.spec.boot.clone() };
        Ok(SnapshotImage { size_bytes, properties: boot.to_properties() })
    }

    async fn delete_disk(&self, disk_id: &str) -> Result<()> {
        match std::fs::remove_file(self.volume_path(disk_id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed(Op::Destroy, e)),
        }
    }

    async fn stored_disks(&self) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.config.volumes_dir).map_err(|e| self.failed(Op::Destroy, e))?;
        Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".qcow2")).map(String::from))
            .collect())
    }

    async fn set_admin_password(&self, id: &str, _password: &str) -> Result<()> {
        self.record(id)?;
        Err(HypervisorError::Unsupported {
            op: Op::SetPassword,
            reason: "QEMU guests have no guest agent here; the password is set at boot from the config drive".into(),
        })
    }

    async fn set_public_keys(&self, id: &str, keys: &[String]) -> Result<()> {
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if record.spec.public_keys == keys {
            return Ok(());
        }
        // The guest reads its keys from the config drive at its next boot, as cloud-init does.
        record.spec.public_keys = keys.to_vec();
        self.write_config_drive(&record, None).await.map_err(|e| self.failed(Op::SetKeys, e))?;
        self.save(&record, Op::SetKeys)
    }

    async fn rescue(&self, id: &str, rescue: &BootSource, _admin_pass: Option<&str>) -> Result<()> {
        let op = Op::Rescue;
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if record.rescue.is_some() && self.live(id) {
            return Ok(());
        }
        let boot =
            if rescue.disk.is_some() || rescue.kernel.is_some() { rescue.clone() } else { record.spec.boot.clone() };
        self.kill(id, op).await?;
        record.suspended = false;
        let _ = std::fs::remove_file(self.dir(id).join("suspend.state"));
        // A fresh rescue disk each time, as Nova's libvirt driver makes one.
        let disk = self.dir(id).join("rescue.qcow2");
        let _ = std::fs::remove_file(&disk);
        let disk_str = path_str(&disk).map_err(|e| self.failed(op, e))?.to_string();
        let img = &self.config.qemu_img;
        let made = match &boot.disk {
            Some(image) => {
                let backing = path_str(image).map_err(|e| self.failed(op, e))?;
                run(img, &["create", "-q", "-f", "qcow2", "-F", disk_format(image), "-b", backing, &disk_str]).await
            }
            None => run(img, &["create", "-q", "-f", "qcow2", &disk_str, "1G"]).await,
        };
        made.map_err(|e| self.failed(op, e))?;
        record.rescue = Some(boot);
        self.save(&record, op)?;
        self.launch(&record, op).await
    }

    async fn unrescue(&self, id: &str) -> Result<()> {
        let op = Op::Rescue;
        let _guard = self.lock(id).await;
        let mut record = self.record(id)?;
        if record.rescue.is_none() {
            return Ok(());
        }
        self.kill(id, op).await?;
        record.rescue = None;
        self.save(&record, op)?;
        let _ = std::fs::remove_file(self.dir(id).join("rescue.qcow2"));
        self.launch(&record, op).await
    }

    async fn inject_nmi(&self, id: &str) -> Result<()> {
        let op = Op::InjectNmi;
        let _guard = self.lock(id).await;
        self.record(id)?;
        if !self.live(id) {
            return Err(self.invalid(id, PowerState::Shutdown, op));
        }
        let mut qmp = self.qmp(id, op).await?;
        qmp.execute("inject-nmi", json!({})).await.map_err(|e| self.failed(op, e))?;
        Ok(())
    }

    async fn vnc_console(&self, id: &str) -> Result<ConsoleEndpoint> {
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        if !self.live(id) {
            return Err(self.invalid(id, self.power_state(&record).await, Op::RemoteConsole));
        }
        let mut qmp = self.qmp(id, Op::RemoteConsole).await?;
        let vnc = qmp.execute("query-vnc", json!({})).await.map_err(|e| self.failed(Op::RemoteConsole, e))?;
        let port = vnc
            .get("service")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.failed(Op::RemoteConsole, format!("no VNC server: {vnc}")))?;
        let host = vnc.get("host").and_then(Value::as_str).unwrap_or("127.0.0.1").to_string();
        Ok(ConsoleEndpoint { host, port })
    }

    async fn prepare_incoming(&self, spec: &GuestSpec, kind: MoveKind) -> Result<IncomingGuest> {
        self.prepare_incoming_guest(spec, kind).await
    }

    async fn send_guest(&self, id: &str, to: &IncomingGuest, kind: MoveKind) -> Result<()> {
        self.send(id, to, kind).await
    }

    async fn finish_incoming(&self, spec: &GuestSpec, kind: MoveKind, power_on: bool) -> Result<GuestInfo> {
        self.finish_incoming_guest(spec, kind, power_on).await
    }

    async fn abort_incoming(&self, id: &str) -> Result<()> {
        self.abort_incoming_guest(id).await
    }

    async fn cancel_send(&self, id: &str) -> Result<()> {
        self.cancel(id).await
    }

    async fn force_complete_send(&self, id: &str) -> Result<()> {
        self.force_complete(id).await
    }

    async fn receive_incoming_file(
        &self,
        id: &str,
        name: &str,
        body: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<()> {
        self.receive_file(id, name, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_trusts_kvm_only_with_a_hardware_module() {
        let dir = tempfile::tempdir().unwrap();
        let (modules, device) = (dir.path().join("module"), dir.path().join("kvm"));
        std::fs::create_dir_all(modules.join("kvm_pvm")).unwrap();
        std::fs::write(&device, b"").unwrap();
        let (accel, why) = detect_accel_in(AccelChoice::Auto, &modules, &device).unwrap();
        assert_eq!(accel, Accel::Tcg, "kvm_pvm is not trusted: {why}");
        std::fs::create_dir_all(modules.join("kvm_intel")).unwrap();
        assert_eq!(detect_accel_in(AccelChoice::Auto, &modules, &device).unwrap().0, Accel::Kvm);
        assert_eq!(detect_accel_in(AccelChoice::Tcg, &modules, &device).unwrap().0, Accel::Tcg);
        let missing = dir.path().join("none");
        assert_eq!(detect_accel_in(AccelChoice::Auto, &modules, &missing).unwrap().0, Accel::Tcg);
        assert!(detect_accel_in(AccelChoice::Kvm, &modules, &missing).is_err());
    }

    #[test]
    fn the_serial_log_is_read_and_kept_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("console.log");
        let text: Vec<u8> = (0..CONSOLE_KEEP_MAX + 10).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&log, &text).unwrap();
        let tail = read_tail(&log, CONSOLE_OUTPUT_BYTES).unwrap();
        assert_eq!(tail.len() as u64, CONSOLE_OUTPUT_BYTES);
        assert!(text.ends_with(&tail));
        trim_console(&log);
        assert_eq!(std::fs::read(&log).unwrap(), tail, "a long log is cut to its end");
        trim_console(&log);
        assert_eq!(std::fs::read(&log).unwrap(), tail, "a short one is left alone");
    }

    #[test]
    fn slots_are_kept_and_reused() {
        let mut spec = crate::contract::spec("slots");
        spec.disks.push(DiskSpec { id: "v1".into(), size_gb: 1, device: "/dev/vdb".into(), source: None });
        spec.disks.push(DiskSpec { id: "boot".into(), size_gb: 1, device: "/dev/vda".into(), source: None });
        let mut record = GuestRecord::new(&spec);
        assert_eq!(record.boot_volume().map(|d| d.id.as_str()), Some("boot"));
        assert_eq!(record.slots.len(), 2, "the data disk and the NIC, not the boot volume");
        let first = record.slots[&disk_device("v1")];
        assert_eq!(record.take_slot(&disk_device("v1")), Some(first));
        record.slots.remove(&disk_device("v1"));
        assert_eq!(record.take_slot("diskv2"), Some(first), "a freed port is reused");
        assert_eq!(disk_device("0123abcd-4567-89ab-cdef-0123456789ab"), "disk0123abcd456789abcdef0123");
    }
}
