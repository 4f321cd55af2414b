//! Servers and their lifecycle: Nova's three state axes and the status
//! that clients see, projected from them by one table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Declares a string-backed enum with `as_str`/`parse`, so that the stored
/// text and the rendered text are the same one spelling.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Nova's `vm_state`: what the server is, stably.
    VmState {
        Building => "building",
        Active => "active",
        Stopped => "stopped",
        Paused => "paused",
        Suspended => "suspended",
        Resized => "resized",
        Rescued => "rescued",
        SoftDeleted => "soft-delete",
        Shelved => "shelved",
        ShelvedOffloaded => "shelved_offloaded",
        Error => "error",
        Deleted => "deleted",
    }
}

string_enum! {
    /// Nova's `task_state`: what is being done to the server right now.
    TaskState {
        Scheduling => "scheduling",
        BlockDeviceMapping => "block_device_mapping",
        Networking => "networking",
        Spawning => "spawning",
        Rebooting => "rebooting",
        RebootPending => "reboot_pending",
        RebootStarted => "reboot_started",
        RebootingHard => "rebooting_hard",
        RebootPendingHard => "reboot_pending_hard",
        RebootStartedHard => "reboot_started_hard",
        Pausing => "pausing",
        Unpausing => "unpausing",
        Suspending => "suspending",
        Resuming => "resuming",
        PoweringOff => "powering-off",
        PoweringOn => "powering-on",
        Rebuilding => "rebuilding",
        RebuildBlockDeviceMapping => "rebuild_block_device_mapping",
        RebuildSpawning => "rebuild_spawning",
        ResizePrep => "resize_prep",
        ResizeMigrating => "resize_migrating",
        ResizeMigrated => "resize_migrated",
        ResizeFinish => "resize_finish",
        ResizeReverting => "resize_reverting",
        ResizeConfirming => "resize_confirming",
        Migrating => "migrating",
        Deleting => "deleting",
        Shelving => "shelving",
        ImageSnapshot => "image_snapshot",
        ImageUploading => "image_uploading",
        UpdatingPassword => "updating_password",
        Unshelving => "unshelving",
        ShelvingOffloading => "shelving_offloading",
        Rescuing => "rescuing",
        Unrescuing => "unrescuing",
        ImageBackup => "image_backup",
        SoftDeleting => "soft-deleting",
        Restoring => "restoring",
    }
}

/// Nova's `power_state` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    NoState = 0,
    Running = 1,
    Paused = 3,
    Shutdown = 4,
    Crashed = 6,
    Suspended = 7,
}

impl PowerState {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => PowerState::NoState,
            1 => PowerState::Running,
            3 => PowerState::Paused,
            4 => PowerState::Shutdown,
            6 => PowerState::Crashed,
            7 => PowerState::Suspended,
            _ => return None,
        })
    }
}

/// The `status` a client sees: Nova's projection of vm_state and
/// task_state (nova/api/openstack/common.py `_STATE_MAP`), the one place it
/// is decided.
pub fn status_of(vm: VmState, task: Option<TaskState>) -> &'static str {
    use TaskState as T;
    use VmState as V;
    match (vm, task) {
        (V::Building, _) => "BUILD",
        (V::Active, Some(T::Rebooting | T::RebootPending | T::RebootStarted)) => "REBOOT",
        (V::Active, Some(T::RebootingHard | T::RebootPendingHard | T::RebootStartedHard)) => "HARD_REBOOT",
        (
            V::Active | V::Stopped | V::Error,
            Some(T::Rebuilding | T::RebuildBlockDeviceMapping | T::RebuildSpawning),
        ) => "REBUILD",
        (V::Active, Some(T::Migrating)) => "MIGRATING",
        (V::Active | V::Stopped, Some(T::ResizePrep | T::ResizeMigrating | T::ResizeMigrated | T::ResizeFinish)) => {
            "RESIZE"
        }
        (V::Active, Some(T::UpdatingPassword)) => "PASSWORD",
        (V::Active, _) => "ACTIVE",
        (V::Stopped, _) => "SHUTOFF",
        (V::Paused, _) => "PAUSED",
        (V::Suspended, _) => "SUSPENDED",
        (V::Resized, Some(T::ResizeReverting)) => "REVERT_RESIZE",
        (V::Resized, _) => "VERIFY_RESIZE",
        (V::Rescued, _) => "RESCUE",
        (V::SoftDeleted, _) => "SOFT_DELETED",
        (V::Shelved, _) => "SHELVED",
        (V::ShelvedOffloaded, _) => "SHELVED_OFFLOADED",
        (V::Error, _) => "ERROR",
        (V::Deleted, _) => "DELETED",
    }
}

/// The vm_states a `status` filter of the server list stands for
/// (Nova's `task_and_vm_state_from_status`, reduced to vm_state; the few
/// statuses that also need a task_state are refined by the caller).
pub fn vm_states_for_status(status: &str) -> Option<(Vec<VmState>, Option<Vec<TaskState>>)> {
    use TaskState as T;
    use VmState as V;
    Some(match status.to_ascii_uppercase().as_str() {
        "BUILD" => (vec![V::Building], None),
        "ACTIVE" => (vec![V::Active], None),
        "SHUTOFF" => (vec![V::Stopped], None),
        "PAUSED" => (vec![V::Paused], None),
        "SUSPENDED" => (vec![V::Suspended], None),
        "ERROR" => (vec![V::Error], None),
        "DELETED" => (vec![V::Deleted], None),
        "SOFT_DELETED" => (vec![V::SoftDeleted], None),
        "SHELVED" => (vec![V::Shelved], None),
        "SHELVED_OFFLOADED" => (vec![V::ShelvedOffloaded], None),
        "RESCUE" => (vec![V::Rescued], None),
        "VERIFY_RESIZE" => (vec![V::Resized], None),
        "REBOOT" => (vec![V::Active], Some(vec![T::Rebooting, T::RebootPending, T::RebootStarted])),
        "HARD_REBOOT" => (vec![V::Active], Some(vec![T::RebootingHard, T::RebootPendingHard, T::RebootStartedHard])),
        "REBUILD" => (
            vec![V::Active, V::Stopped, V::Error],
            Some(vec![T::Rebuilding, T::RebuildBlockDeviceMapping, T::RebuildSpawning]),
        ),
        "RESIZE" => (
            vec![V::Active, V::Stopped],
            Some(vec![T::ResizePrep, T::ResizeMigrating, T::ResizeMigrated, T::ResizeFinish]),
        ),
        "PASSWORD" => (vec![V::Active], Some(vec![T::UpdatingPassword])),
        "MIGRATING" => (vec![V::Active], Some(vec![T::Migrating])),
        "REVERT_RESIZE" => (vec![V::Resized], Some(vec![T::ResizeReverting])),
        _ => return None,
    })
}

/// The flavor as it was when the server was created (Nova embeds it from
/// 2.47 and keeps it even if the flavor is later deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlavorSnapshot {
    pub id: String,
    pub name: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub ephemeral_gb: i64,
    pub swap_mb: i64,
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
}

impl FlavorSnapshot {
    /// The flavor as a server embeds it.
    pub fn of(f: &crate::Flavor) -> FlavorSnapshot {
        FlavorSnapshot {
            id: f.id.clone(),
            name: f.name.clone(),
            vcpus: f.vcpus,
            ram_mb: f.ram_mb,
            disk_gb: f.disk_gb,
            ephemeral_gb: f.ephemeral_gb,
            swap_mb: f.swap_mb,
            extra_specs: f.extra_specs.clone(),
        }
    }
}

/// Why a server is in ERROR, as Nova's `fault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub code: i64,
    pub message: String,
    #[serde(default)]
    pub details: String,
    pub created: Timestamp,
}

/// One network the server asked for, resolved by the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestedNic {
    pub network_id: String,
    #[serde(default)]
    pub fixed_ip: Option<String>,
    /// An existing port to bind instead of making one.
    #[serde(default)]
    pub port_id: Option<String>,
    /// The subnet to take the address from (ECS `nics[].subnet_id`);
    /// otherwise the network's first subnet with room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
}

/// A block device of the server (BDM v2, after validation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockDevice {
    pub source_type: String,
    pub destination_type: String,
    #[serde(default)]
    pub uuid: Option<String>,
    pub boot_index: Option<i64>,
    #[serde(default)]
    pub volume_size: Option<i64>,
    #[serde(default)]
    pub guest_format: Option<String>,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub delete_on_termination: bool,
    /// The disk type of a volume the build makes (ECS `volumetype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// The volume behind a `volume` destination: the given one, or the
    /// one the build makes (its id chosen at create, so the build can be
    /// repeated after a crash without making a second).
    #[serde(default)]
    pub volume_id: Option<String>,
}

/// A port: one fixed IP and MAC on a network, bound to a server or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPort {
    pub id: String,
    /// Empty while the port is not bound to a server.
    pub server_id: String,
    pub network_id: String,
    pub network_name: String,
    pub subnet_id: String,
    pub address: String,
    pub mac: String,
    pub nic_index: i64,
    pub project_id: String,
    pub name: String,
    /// Made by a user (kept when its server goes), not by a create for a network.
    pub preserve_on_delete: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: String,
    pub hostname: String,
    pub description: Option<String>,
    pub flavor: FlavorSnapshot,
    /// None when booted from a volume.
    pub image_id: Option<String>,
    /// The image's name when the server was created (Nova keeps it in
    /// system metadata), so that the guest can be built without asking.
    pub image_name: Option<String>,
    pub key_name: Option<String>,
    pub key_data: Option<String>,
    pub user_data: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub security_groups: Vec<String>,
    pub block_devices: Vec<BlockDevice>,
    pub requested_networks: Vec<RequestedNic>,
    pub availability_zone: Option<String>,
    pub config_drive: bool,
    pub disk_config: String,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub reservation_id: String,
    pub launch_index: i64,
    pub vm_state: VmState,
    pub task_state: Option<TaskState>,
    pub power_state: PowerState,
    pub locked_by: Option<String>,
    pub locked_reason: Option<String>,
    pub host: Option<String>,
    pub fault: Option<Fault>,
    pub scheduler_hints: serde_json::Value,
    pub launched_at: Option<Timestamp>,
    pub terminated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub ports: Vec<ServerPort>,
    /// Attached volumes: (volume id, delete_on_termination).
    pub volumes: Vec<(String, bool)>,
    /// Floating IPs bound to its ports: (port id, address).
    pub floating_ips: Vec<(String, String)>,
    /// Ids of the server groups it belongs to.
    pub server_groups: Vec<String>,
    /// Its image's properties (shown from 2.98).
    pub image_properties: BTreeMap<String, String>,
    /// The resize awaiting confirmation or revert, if any.
    pub resize: Option<OpenResize>,
    /// os-server-password: the admin password encrypted to its key pair.
    pub password: Option<String>,
    /// Key pairs attached after create (UStack): name -> public key.
    pub attached_keys: BTreeMap<String, String>,
    /// The ECS-native create's `extendparam` (billing mode, enterprise
    /// project, ...), kept as given.
    pub extend_param: BTreeMap<String, serde_json::Value>,
}

/// What a finished resize keeps to go back to, until it is confirmed or reverted.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenResize {
    pub old_flavor: FlavorSnapshot,
    pub source_host: String,
    /// active or stopped: what the server returns to.
    pub old_vm_state: VmState,
}

impl Server {
    pub fn status(&self) -> &'static str {
        status_of(self.vm_state, self.task_state)
    }

    pub fn locked(&self) -> bool {
        self.locked_by.is_some()
    }

    /// Every public key the guest is given: the create-time key pair and
    /// any attached later.
    pub fn public_keys(&self) -> Vec<String> {
        self.key_data.iter().chain(self.attached_keys.values()).cloned().collect()
    }
}

/// A compute host: capacity, what is allocated on it, where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeHost {
    pub id: String,
    /// The integer id shown below microversion 2.53, fixed at registration.
    pub number: i64,
    pub name: String,
    pub driver: String,
    pub availability_zone: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub cpu_ratio: f64,
    pub ram_ratio: f64,
    pub disk_ratio: f64,
    pub used_vcpus: i64,
    pub used_ram_mb: i64,
    pub used_disk_gb: i64,
    pub running_vms: i64,
    pub enabled: bool,
    pub heartbeat_at: Timestamp,
    /// An operator declared the host down (Nova's `forced_down`): it is
    /// down whatever its heartbeat says, so its servers may be evacuated.
    pub forced_down: bool,
    /// Why the host was disabled, if an operator said.
    pub disabled_reason: Option<String>,
    /// When the process driving the host last registered it.
    pub started_at: Option<Timestamp>,
}

impl ComputeHost {
    /// Whether the host's service is up at `now` (Nova's DB servicegroup
    /// driver): not forced down, and heard from within `down_time`.
    pub fn is_up(&self, now: Timestamp, down_time: std::time::Duration) -> bool {
        let down_time = chrono::Duration::from_std(down_time).unwrap_or(chrono::Duration::MAX);
        !self.forced_down && now.signed_duration_since(self.heartbeat_at) <= down_time
    }

    pub fn free_vcpus(&self) -> f64 {
        self.vcpus as f64 * self.cpu_ratio - self.used_vcpus as f64
    }

    pub fn free_ram_mb(&self) -> f64 {
        self.ram_mb as f64 * self.ram_ratio - self.used_ram_mb as f64
    }

    pub fn free_disk_gb(&self) -> f64 {
        self.disk_gb as f64 * self.disk_ratio - self.used_disk_gb as f64
    }
}

string_enum! {
    /// Where a durable task is in its life.
    TaskPhase {
        Pending => "pending",
        Running => "running",
        Unwinding => "unwinding",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

impl TaskPhase {
    pub fn is_finished(self) -> bool {
        matches!(self, TaskPhase::Succeeded | TaskPhase::Failed)
    }
}

/// A durable unit of asynchronous work, and (for servers) the record
/// behind Nova's instance action and, later, the ECS job.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub seq: i64,
    pub parent_id: Option<String>,
    pub kind: String,
    pub server_id: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub request_id: String,
    pub phase: TaskPhase,
    /// Index of the next step to run, or while unwinding, of the next step
    /// whose undo is still due plus one.
    pub step: i64,
    pub params: serde_json::Value,
    pub progress: serde_json::Value,
    pub message: Option<String>,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// A step of a task as Nova's instance action event.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    pub task_id: String,
    pub seq: i64,
    pub name: String,
    pub host: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub result: Option<String>,
    pub traceback: Option<String>,
    pub details: Option<String>,
}
