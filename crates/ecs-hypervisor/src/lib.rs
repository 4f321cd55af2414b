//! The hypervisor interface of ecsd: the [`Hypervisor`] trait that every
//! compute driver implements — the simulator in [`sim`] and real guests in
//! [`qemu`] — and the [`contract`] suite that every driver must pass.
//!
//! A driver runs guests on one host. Its operations are idempotent: the
//! task engine repeats the step a crash interrupted, so an operation whose
//! target state already holds (a running guest told to start, resume or
//! unpause; a destroyed guest told to go) succeeds and changes nothing.

pub mod contract;
pub mod fence;
pub mod qemu;
pub mod scenario;
pub mod sim;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub type Result<T, E = HypervisorError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum HypervisorError {
    #[error("guest {0} not found")]
    NotFound(String),
    #[error("host {0} is unreachable")]
    HostDown(String),
    #[error("guest {id} is {state:?}; cannot {op}")]
    InvalidState { id: String, state: PowerState, op: Op },
    #[error("{op} failed on host {host}: {message}")]
    Failed { host: String, op: Op, message: String },
    /// The driver cannot do this at all (Nova's set_admin_password
    /// without a guest agent).
    #[error("{op} is not supported: {reason}")]
    Unsupported { op: Op, reason: String },
    /// The call's fence is older than one the host has already acted on
    /// for this guest: the task was claimed again, or followed by another.
    #[error("guest {id}: a newer task or claim has acted on it ({message})")]
    Fenced { id: String, message: String },
}

impl HypervisorError {
    pub fn is_host_down(&self) -> bool {
        matches!(self, HypervisorError::HostDown(_))
    }
}

/// Every operation a driver performs; fault injection and latency are keyed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Spawn,
    Destroy,
    PowerOn,
    PowerOff,
    Reboot,
    Pause,
    Unpause,
    Suspend,
    Resume,
    AttachDisk,
    DetachDisk,
    AttachNic,
    DetachNic,
    Resize,
    Snapshot,
    ConsoleLog,
    SetPassword,
    SetKeys,
    RemoteConsole,
    /// Moving a guest between hosts (cold or live), on either end.
    Migrate,
    /// Booting a guest from a rescue disk, and back.
    Rescue,
    /// A non-maskable interrupt (Nova's trigger_crash_dump).
    InjectNmi,
}

impl Op {
    pub const ALL: [Op; 22] = [
        Op::Spawn,
        Op::Destroy,
        Op::PowerOn,
        Op::PowerOff,
        Op::Reboot,
        Op::Pause,
        Op::Unpause,
        Op::Suspend,
        Op::Resume,
        Op::AttachDisk,
        Op::DetachDisk,
        Op::AttachNic,
        Op::DetachNic,
        Op::Resize,
        Op::Snapshot,
        Op::ConsoleLog,
        Op::SetPassword,
        Op::SetKeys,
        Op::RemoteConsole,
        Op::Migrate,
        Op::Rescue,
        Op::InjectNmi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Spawn => "spawn",
            Op::Destroy => "destroy",
            Op::PowerOn => "power_on",
            Op::PowerOff => "power_off",
            Op::Reboot => "reboot",
            Op::Pause => "pause",
            Op::Unpause => "unpause",
            Op::Suspend => "suspend",
            Op::Resume => "resume",
            Op::AttachDisk => "attach_disk",
            Op::DetachDisk => "detach_disk",
            Op::AttachNic => "attach_nic",
            Op::DetachNic => "detach_nic",
            Op::Resize => "resize",
            Op::Snapshot => "snapshot",
            Op::ConsoleLog => "console_log",
            Op::SetPassword => "set_password",
            Op::SetKeys => "set_keys",
            Op::RemoteConsole => "remote_console",
            Op::Migrate => "migrate",
            Op::Rescue => "rescue",
            Op::InjectNmi => "inject_nmi",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Nova's power_state codes: one definition for the records and the drivers.
pub use ecs_types::server::PowerState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicSpec {
    pub port_id: String,
    pub network_id: String,
    pub mac: String,
    pub ip: Option<IpAddr>,
    /// The subnet the address is on, for the guest's static network
    /// configuration (config drive `network_data.json`).
    #[serde(default)]
    pub subnet: Option<SubnetSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetSpec {
    pub cidr: String,
    pub gateway: Option<String>,
    pub dns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSpec {
    pub id: String,
    pub size_gb: u64,
    pub device: String,
    /// The image file a volume made from an image starts as (a boot volume).
    #[serde(default)]
    pub source: Option<PathBuf>,
}

/// Where a guest boots from: an image's disk file, or a kernel and
/// initramfs booted directly (files on the host). Empty for the simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootSource {
    pub disk: Option<PathBuf>,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub cmdline: Option<String>,
}

/// Image properties that name a [`BootSource`]'s files (set by `ecsd image import`).
pub const IMAGE_FILE_PROPERTY: &str = "ecsd:file";
pub const IMAGE_KERNEL_PROPERTY: &str = "ecsd:kernel";
pub const IMAGE_INITRD_PROPERTY: &str = "ecsd:initrd";
pub const IMAGE_CMDLINE_PROPERTY: &str = "ecsd:cmdline";

impl BootSource {
    /// The boot source an image's properties describe.
    pub fn from_properties(properties: &BTreeMap<String, String>) -> BootSource {
        let path = |key: &str| properties.get(key).filter(|v| !v.is_empty()).map(PathBuf::from);
        BootSource {
            disk: path(IMAGE_FILE_PROPERTY),
            kernel: path(IMAGE_KERNEL_PROPERTY),
            initrd: path(IMAGE_INITRD_PROPERTY),
            cmdline: properties.get(IMAGE_CMDLINE_PROPERTY).cloned(),
        }
    }

    /// The image properties that describe this boot source.
    pub fn to_properties(&self) -> BTreeMap<String, String> {
        let mut properties = BTreeMap::new();
        for (key, path) in [
            (IMAGE_FILE_PROPERTY, &self.disk),
            (IMAGE_KERNEL_PROPERTY, &self.kernel),
            (IMAGE_INITRD_PROPERTY, &self.initrd),
        ] {
            if let Some(path) = path {
                properties.insert(key.to_string(), path.display().to_string());
            }
        }
        if let Some(cmdline) = &self.cmdline {
            properties.insert(IMAGE_CMDLINE_PROPERTY.to_string(), cmdline.clone());
        }
        properties
    }
}

/// An image a snapshot made: its size and the properties that boot it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotImage {
    pub size_bytes: u64,
    pub properties: BTreeMap<String, String>,
}

/// What a guest is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestSpec {
    /// The server uuid: the guest's identity on the host.
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub project_id: String,
    pub availability_zone: Option<String>,
    pub key_name: Option<String>,
    pub vcpus: u32,
    pub ram_mb: u64,
    pub root_gb: u64,
    pub ephemeral_gb: u64,
    pub swap_mb: u64,
    pub image_id: Option<String>,
    pub image_name: Option<String>,
    pub boot: BootSource,
    pub nics: Vec<NicSpec>,
    pub disks: Vec<DiskSpec>,
    pub user_data: Option<Vec<u8>>,
    pub admin_pass: Option<String>,
    pub public_keys: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A guest as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestInfo {
    pub id: String,
    pub power_state: PowerState,
    pub vcpus: u32,
    pub ram_mb: u64,
    pub root_gb: u64,
    pub nics: Vec<NicSpec>,
    pub disks: Vec<DiskSpec>,
}

/// Where a guest's graphical or serial console listens on its host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleEndpoint {
    pub host: String,
    pub port: u16,
}

/// How a guest moves between hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// The guest is shut down on the source; its root disk is copied.
    Cold,
    /// The guest keeps running while its memory (and, with `block`, its
    /// disks, when storage is not shared) is copied; QEMU's own migration.
    Live { block: bool },
}

/// Where the destination receives a moving guest, as its
/// [`Hypervisor::prepare_incoming`] answers: the source sends to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingGuest {
    /// The destination host.
    pub host: String,
    /// Where to send: a QEMU migration URI (`tcp:ADDR:PORT`) for a live
    /// move; for a cold one, where the root disk goes (a driver's own
    /// scheme: a path, or a URL of the destination's agent).
    pub uri: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebootKind {
    Soft,
    Hard,
}

#[async_trait::async_trait]
pub trait Hypervisor: Send + Sync + 'static {
    /// The host this driver runs guests on.
    fn host(&self) -> &str;
    /// What it is, for logs and the hypervisors API: "sim", "qemu-kvm", "qemu-tcg".
    fn kind(&self) -> &'static str;
    /// Creates and boots the guest. Idempotent: a guest with this id that
    /// already exists is returned as it is.
    async fn spawn(&self, spec: &GuestSpec) -> Result<GuestInfo>;
    /// Powers off and removes the guest and its disks. Idempotent: an absent guest is Ok.
    async fn destroy(&self, id: &str) -> Result<()>;
    async fn info(&self, id: &str) -> Result<Option<GuestInfo>>;
    async fn list(&self) -> Result<Vec<GuestInfo>>;
    /// From Shutdown or Crashed to Running; idempotent when running.
    async fn power_on(&self, id: &str) -> Result<()>;
    /// Idempotent when shut down. `graceful` asks the guest first (ACPI), then forces.
    async fn power_off(&self, id: &str, graceful: bool) -> Result<()>;
    /// Ends Running; a shut-down guest is started (as Nova's hard reboot does).
    async fn reboot(&self, id: &str, kind: RebootKind) -> Result<()>;
    /// Running to Paused; idempotent when paused.
    async fn pause(&self, id: &str) -> Result<()>;
    /// Paused to Running.
    async fn unpause(&self, id: &str) -> Result<()>;
    /// Running or Paused to Suspended.
    async fn suspend(&self, id: &str) -> Result<()>;
    /// Suspended to Running.
    async fn resume(&self, id: &str) -> Result<()>;
    /// The guest's serial console, its last `tail` lines if given.
    async fn console_log(&self, id: &str, tail: Option<usize>) -> Result<String>;
    /// Idempotent by `disk.id`.
    async fn attach_disk(&self, id: &str, disk: &DiskSpec) -> Result<()>;
    /// Idempotent.
    async fn detach_disk(&self, id: &str, disk_id: &str) -> Result<()>;
    /// Idempotent by `nic.port_id`.
    async fn attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()>;
    /// Idempotent.
    async fn detach_nic(&self, id: &str, port_id: &str) -> Result<()>;
    /// New size; the guest must be shut down (Nova resizes a stopped guest).
    async fn resize(&self, id: &str, vcpus: u32, ram_mb: u64, root_gb: u64) -> Result<()>;
    /// Copies the root disk to an image.
    async fn snapshot(&self, id: &str, image_id: &str) -> Result<SnapshotImage>;
    /// Removes what stores a volume that is deleted. Idempotent.
    async fn delete_disk(&self, disk_id: &str) -> Result<()>;
    /// The volumes this host stores, by id (for the reconciler to find leaks).
    async fn stored_disks(&self) -> Result<Vec<String>>;
    /// Sets the admin password inside a running guest (Nova's
    /// set_admin_password, through the guest agent).
    async fn set_admin_password(&self, id: &str, password: &str) -> Result<()>;
    /// Replaces the guest's authorized SSH keys. Idempotent.
    async fn set_public_keys(&self, id: &str, keys: &[String]) -> Result<()>;
    /// Where the guest's VNC console listens.
    async fn vnc_console(&self, id: &str) -> Result<ConsoleEndpoint>;

    /// Nova's rescue: the guest boots from `rescue` (a rescue image's
    /// disk, or the server's own image) with its own root disk attached
    /// as the second disk; `admin_pass` is the rescue system's password.
    /// Idempotent: a guest already rescued stays so.
    async fn rescue(&self, id: &str, rescue: &BootSource, admin_pass: Option<&str>) -> Result<()> {
        let _ = (id, rescue, admin_pass);
        Err(HypervisorError::Unsupported { op: Op::Rescue, reason: format!("{} cannot rescue guests", self.kind()) })
    }

    /// Ends a rescue: the guest boots from its own root disk again.
    /// Idempotent: a guest not rescued is left as it is.
    async fn unrescue(&self, id: &str) -> Result<()> {
        let _ = id;
        Err(HypervisorError::Unsupported { op: Op::Rescue, reason: format!("{} cannot rescue guests", self.kind()) })
    }

    /// Sends the guest a non-maskable interrupt, which a Linux guest
    /// configured for it answers with a kernel crash dump (Nova's
    /// trigger_crash_dump). The guest must be running.
    async fn inject_nmi(&self, id: &str) -> Result<()> {
        let _ = id;
        Err(HypervisorError::Unsupported { op: Op::InjectNmi, reason: format!("{} cannot inject an NMI", self.kind()) })
    }

    // Moving a guest to another host. The source and the destination
    // are two drivers (two agents); the task engine calls, in order:
    // `prepare_incoming` on the destination, `send_guest` on the source,
    // then `finish_incoming` on the destination and `destroy` on the
    // source; `abort_incoming` undoes a prepare. Each is idempotent.

    /// Destination: gets ready to receive `spec`'s guest (a live move: a
    /// guest waiting for its state; a cold one: a place for its disk).
    async fn prepare_incoming(&self, spec: &GuestSpec, kind: MoveKind) -> Result<IncomingGuest> {
        let _ = (spec, kind);
        Err(HypervisorError::Unsupported { op: Op::Migrate, reason: format!("{} cannot receive guests", self.kind()) })
    }

    /// Source: sends the guest to `to`. Live: the guest runs on here until
    /// the switch-over and is stopped here once the destination has it.
    /// Cold: the guest must be shut down; its root disk is copied. The
    /// guest stays defined here until `destroy` (a revert may need it).
    async fn send_guest(&self, id: &str, to: &IncomingGuest, kind: MoveKind) -> Result<()> {
        let _ = (id, to, kind);
        Err(HypervisorError::Unsupported { op: Op::Migrate, reason: format!("{} cannot send guests", self.kind()) })
    }

    /// Destination: the received guest becomes this host's. Live: it runs
    /// on. Cold: it is defined from the received disk with `spec` (its
    /// flavor may be new) and started when `power_on`.
    async fn finish_incoming(&self, spec: &GuestSpec, kind: MoveKind, power_on: bool) -> Result<GuestInfo> {
        let _ = (spec, kind, power_on);
        Err(HypervisorError::Unsupported { op: Op::Migrate, reason: format!("{} cannot receive guests", self.kind()) })
    }

    /// Destination: drops what `prepare_incoming` made and anything
    /// received. Idempotent; an unknown guest is Ok.
    async fn abort_incoming(&self, id: &str) -> Result<()> {
        let _ = id;
        Ok(())
    }

    /// Source: stops a live move in flight (Nova's migration abort); the
    /// guest runs on here. Ok when nothing is in flight.
    async fn cancel_send(&self, id: &str) -> Result<()> {
        let _ = id;
        Ok(())
    }

    /// Source: how far a live send in flight has got, as a fraction of
    /// what it copies (0.0–1.0); None when nothing is in flight or the
    /// driver cannot tell. TODO(agent): `RemoteHypervisor` forwards it
    /// (a `SendProgress` call that, like `CancelSend`, skips the guest's
    /// lock). TODO(qemu): QMP `query-migrate`'s ram/disk counters.
    async fn send_progress(&self, id: &str) -> Result<Option<f64>> {
        let _ = id;
        Ok(None)
    }

    /// Source: makes a live move that does not converge finish now
    /// (Nova's force_complete: the guest is paused for the switch-over).
    async fn force_complete_send(&self, id: &str) -> Result<()> {
        let _ = id;
        Ok(())
    }

    /// Destination: one file of a guest being received, `name` as the
    /// source's driver names it, from a transfer the destination's agent
    /// took in (the QEMU driver's `transfer_url`). Replaces what an
    /// earlier try of the same file wrote.
    async fn receive_incoming_file(
        &self,
        id: &str,
        name: &str,
        body: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<()> {
        let _ = (id, name, body);
        Err(HypervisorError::Unsupported { op: Op::Migrate, reason: format!("{} receives no files", self.kind()) })
    }

    /// The simulated host behind this driver, if it is one in this
    /// process: snapshots of the service save and restore its guests.
    fn as_sim(&self) -> Option<&sim::SimHypervisor> {
        None
    }
}
