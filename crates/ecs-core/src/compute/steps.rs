//! What each kind of task does, as steps with an undo each. Every step
//! and every undo is idempotent: after a crash the step that was running
//! runs again.

use std::sync::Arc;

use ecs_hypervisor::{BootSource, DiskSpec, GuestSpec, Hypervisor, HypervisorError, NicSpec, RebootKind, SubnetSpec};
use ecs_store::{Claim, PortRefusal, ServerUpdate, StoreError};
use ecs_types::server::{
    Fault, FlavorSnapshot, OpenResize, PowerState, RequestedNic, Server, Task, TaskState, VmState,
};
use serde_json::{Value, json};

use super::engine::SECRET_PARAM;
use super::scheduler;
use crate::Core;

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The host failed the guest; another host may do (builds only).
    #[error("{0}")]
    Reschedule(String),
    /// Nothing to retry: unwind.
    #[error("{0}")]
    Fatal(String),
    /// The database failed us; the step runs again later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HypervisorError> for StepError {
    fn from(e: HypervisorError) -> Self {
        StepError::Fatal(e.to_string())
    }
}

/// Power operations, one step each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerOp {
    Stop,
    Start,
    SoftReboot,
    HardReboot,
    Pause,
    Unpause,
    Suspend,
    Resume,
}

impl PowerOp {
    /// The states the server has once the operation is done.
    fn end_state(self) -> (VmState, PowerState) {
        match self {
            PowerOp::Stop => (VmState::Stopped, PowerState::Shutdown),
            PowerOp::Pause => (VmState::Paused, PowerState::Paused),
            PowerOp::Suspend => (VmState::Suspended, PowerState::Suspended),
            PowerOp::Start | PowerOp::SoftReboot | PowerOp::HardReboot | PowerOp::Unpause | PowerOp::Resume => {
                (VmState::Active, PowerState::Running)
            }
        }
    }

    async fn apply(self, driver: &dyn Hypervisor, id: &str) -> Result<(), HypervisorError> {
        match self {
            PowerOp::Stop => driver.power_off(id, true).await,
            PowerOp::Start => driver.power_on(id).await,
            PowerOp::SoftReboot => driver.reboot(id, RebootKind::Soft).await,
            PowerOp::HardReboot => driver.reboot(id, RebootKind::Hard).await,
            PowerOp::Pause => driver.pause(id).await,
            PowerOp::Unpause => driver.unpause(id).await,
            PowerOp::Suspend => driver.suspend(id).await,
            PowerOp::Resume => driver.resume(id).await,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Schedule,
    AllocateNetwork,
    BindPublicIp,
    BlockDevices,
    Spawn,
    Power(PowerOp),
    Destroy,
    ReleaseNetwork,
    ReleaseClaim,
    MarkDeleted,
    AttachPort,
    PlugNic,
    UnplugNic,
    ReleasePort,
    ReserveVolume,
    PlugDisk,
    UnplugDisk,
    ReleaseVolume,
    ReleaseVolumes,
    Snapshot,
    SwapDisk,
    ResizeClaim,
    ResizeMigrate,
    ResizeFinish,
    ResizeConfirm,
    /// A resize's own confirm, when it was asked to confirm itself (ECS).
    ResizeAutoConfirm,
    ResizeRevert,
    Rebuild,
    SetPassword,
    SetKeys,
}

/// The kinds of task, stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Create,
    Delete,
    Power(PowerOp),
    AttachInterface,
    DetachInterface,
    AttachVolume,
    DetachVolume,
    CreateImage,
    SwapVolume,
    Resize,
    ConfirmResize,
    RevertResize,
    Rebuild,
    ChangePassword,
    AttachKeypairs,
    DetachKeypairs,
}

impl TaskKind {
    pub fn parse(s: &str) -> Option<TaskKind> {
        Some(match s {
            "create" => TaskKind::Create,
            "delete" => TaskKind::Delete,
            "stop" => TaskKind::Power(PowerOp::Stop),
            "start" => TaskKind::Power(PowerOp::Start),
            "reboot" => TaskKind::Power(PowerOp::SoftReboot),
            "reboot_hard" => TaskKind::Power(PowerOp::HardReboot),
            "pause" => TaskKind::Power(PowerOp::Pause),
            "unpause" => TaskKind::Power(PowerOp::Unpause),
            "suspend" => TaskKind::Power(PowerOp::Suspend),
            "resume" => TaskKind::Power(PowerOp::Resume),
            "attach_interface" => TaskKind::AttachInterface,
            "detach_interface" => TaskKind::DetachInterface,
            "attach_volume" => TaskKind::AttachVolume,
            "detach_volume" => TaskKind::DetachVolume,
            "createImage" => TaskKind::CreateImage,
            "swap_volume" => TaskKind::SwapVolume,
            "resize" => TaskKind::Resize,
            "confirmResize" => TaskKind::ConfirmResize,
            "revertResize" => TaskKind::RevertResize,
            "rebuild" => TaskKind::Rebuild,
            "changePassword" => TaskKind::ChangePassword,
            "attachKeypairs" => TaskKind::AttachKeypairs,
            "detachKeypairs" => TaskKind::DetachKeypairs,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Create => "create",
            TaskKind::Delete => "delete",
            TaskKind::Power(PowerOp::Stop) => "stop",
            TaskKind::Power(PowerOp::Start) => "start",
            TaskKind::Power(PowerOp::SoftReboot) => "reboot",
            TaskKind::Power(PowerOp::HardReboot) => "reboot_hard",
            TaskKind::Power(PowerOp::Pause) => "pause",
            TaskKind::Power(PowerOp::Unpause) => "unpause",
            TaskKind::Power(PowerOp::Suspend) => "suspend",
            TaskKind::Power(PowerOp::Resume) => "resume",
            TaskKind::AttachInterface => "attach_interface",
            TaskKind::DetachInterface => "detach_interface",
            TaskKind::AttachVolume => "attach_volume",
            TaskKind::DetachVolume => "detach_volume",
            TaskKind::CreateImage => "createImage",
            TaskKind::SwapVolume => "swap_volume",
            TaskKind::Resize => "resize",
            TaskKind::ConfirmResize => "confirmResize",
            TaskKind::RevertResize => "revertResize",
            TaskKind::Rebuild => "rebuild",
            TaskKind::ChangePassword => "changePassword",
            TaskKind::AttachKeypairs => "attachKeypairs",
            TaskKind::DetachKeypairs => "detachKeypairs",
        }
    }

    /// The instance action name Nova shows for it.
    pub fn action(self) -> &'static str {
        match self {
            TaskKind::Power(PowerOp::SoftReboot | PowerOp::HardReboot) => "reboot",
            other => other.as_str(),
        }
    }

    pub fn steps(self) -> &'static [Step] {
        match self {
            TaskKind::Create => {
                &[Step::Schedule, Step::AllocateNetwork, Step::BindPublicIp, Step::BlockDevices, Step::Spawn]
            }
            TaskKind::Delete => {
                &[Step::Destroy, Step::ReleaseNetwork, Step::ReleaseClaim, Step::ReleaseVolumes, Step::MarkDeleted]
            }
            TaskKind::Power(PowerOp::Stop) => &[Step::Power(PowerOp::Stop)],
            TaskKind::Power(PowerOp::Start) => &[Step::Power(PowerOp::Start)],
            TaskKind::Power(PowerOp::SoftReboot) => &[Step::Power(PowerOp::SoftReboot)],
            TaskKind::Power(PowerOp::HardReboot) => &[Step::Power(PowerOp::HardReboot)],
            TaskKind::Power(PowerOp::Pause) => &[Step::Power(PowerOp::Pause)],
            TaskKind::Power(PowerOp::Unpause) => &[Step::Power(PowerOp::Unpause)],
            TaskKind::Power(PowerOp::Suspend) => &[Step::Power(PowerOp::Suspend)],
            TaskKind::Power(PowerOp::Resume) => &[Step::Power(PowerOp::Resume)],
            TaskKind::AttachInterface => &[Step::AttachPort, Step::PlugNic],
            TaskKind::DetachInterface => &[Step::UnplugNic, Step::ReleasePort],
            TaskKind::AttachVolume => &[Step::ReserveVolume, Step::PlugDisk],
            TaskKind::DetachVolume => &[Step::UnplugDisk, Step::ReleaseVolume],
            TaskKind::CreateImage => &[Step::Snapshot],
            TaskKind::SwapVolume => &[Step::SwapDisk],
            // The last step does nothing unless the task has `auto_confirm`.
            TaskKind::Resize => &[Step::ResizeClaim, Step::ResizeMigrate, Step::ResizeFinish, Step::ResizeAutoConfirm],
            TaskKind::ConfirmResize => &[Step::ResizeConfirm],
            TaskKind::RevertResize => &[Step::ResizeRevert],
            TaskKind::Rebuild => &[Step::Rebuild],
            TaskKind::ChangePassword => &[Step::SetPassword],
            TaskKind::AttachKeypairs | TaskKind::DetachKeypairs => &[Step::SetKeys],
        }
    }

    /// The instance action event a step belongs to (Nova's names).
    pub fn event(self, step: Step) -> &'static str {
        match (self, step) {
            (TaskKind::Create, Step::Schedule) => "conductor_schedule_and_build_instances",
            (TaskKind::Create, _) => "compute__do_build_and_run_instance",
            (TaskKind::Delete, _) => "compute_terminate_instance",
            (TaskKind::AttachInterface, _) => "compute_attach_interface",
            (TaskKind::DetachInterface, _) => "compute_detach_interface",
            (TaskKind::AttachVolume, _) => "compute_attach_volume",
            (TaskKind::DetachVolume, _) => "compute_detach_volume",
            (TaskKind::CreateImage, _) => "compute_snapshot_instance",
            (TaskKind::SwapVolume, _) => "compute_swap_volume",
            (TaskKind::Resize, Step::ResizeClaim) => "compute_prep_resize",
            (TaskKind::Resize, Step::ResizeMigrate) => "compute_resize_instance",
            (TaskKind::Resize, _) => "compute_finish_resize",
            (TaskKind::ConfirmResize, _) => "compute_confirm_resize",
            (TaskKind::RevertResize, _) => "compute_revert_resize",
            (TaskKind::Rebuild, _) => "compute_rebuild_instance",
            (TaskKind::ChangePassword, _) => "compute_set_admin_password",
            (TaskKind::AttachKeypairs | TaskKind::DetachKeypairs, _) => "compute_set_keypairs",
            (TaskKind::Power(op), _) => match op {
                PowerOp::Stop => "compute_stop_instance",
                PowerOp::Start => "compute_start_instance",
                PowerOp::SoftReboot | PowerOp::HardReboot => "compute_reboot_instance",
                PowerOp::Pause => "compute_pause_instance",
                PowerOp::Unpause => "compute_unpause_instance",
                PowerOp::Suspend => "compute_suspend_instance",
                PowerOp::Resume => "compute_resume_instance",
            },
        }
    }

    /// Whether a host failure sends the task back to the scheduler.
    pub fn reschedules(self) -> bool {
        self == TaskKind::Create
    }

    /// The server state a failed task leaves behind.
    pub fn on_failure(self, message: &str, details: &str) -> Option<ServerUpdate> {
        let fault = |code| {
            Some(Fault {
                code,
                message: message.to_string(),
                details: details.to_string(),
                created: chrono::Utc::now(),
            })
        };
        Some(match self {
            TaskKind::Create => ServerUpdate {
                vm_state: Some(VmState::Error),
                task_state: Some(None),
                power_state: Some(PowerState::NoState),
                host: Some(None),
                fault: Some(fault(500)),
                ..Default::default()
            },
            // What cannot be rolled back leaves the server in ERROR, as Nova does.
            TaskKind::Delete
            | TaskKind::Power(PowerOp::SoftReboot | PowerOp::HardReboot)
            | TaskKind::Rebuild
            | TaskKind::ConfirmResize
            | TaskKind::RevertResize => ServerUpdate {
                vm_state: Some(VmState::Error),
                task_state: Some(None),
                fault: Some(fault(500)),
                ..Default::default()
            },
            // Other power operations revert the task state and leave the
            // server as it was; the failure shows in the instance action.
            TaskKind::Power(_) => ServerUpdate { task_state: Some(None), ..Default::default() },
            // Interface changes leave the server's state alone.
            TaskKind::AttachInterface
            | TaskKind::DetachInterface
            | TaskKind::AttachVolume
            | TaskKind::DetachVolume
            | TaskKind::SwapVolume
            | TaskKind::AttachKeypairs
            | TaskKind::DetachKeypairs => {
                return None;
            }
            // A resize rolls back (its steps undo themselves, as Nova's
            // InstanceFaultRollback) and a password change changes nothing:
            // the server stays as it was; the failure shows in the
            // instance action and the fault.
            TaskKind::Resize | TaskKind::ChangePassword => {
                ServerUpdate { task_state: Some(None), fault: Some(fault(500)), ..Default::default() }
            }
            // A failed snapshot leaves the server as it was.
            TaskKind::CreateImage => ServerUpdate { task_state: Some(None), ..Default::default() },
        })
    }
}

type Progress = serde_json::Map<String, Value>;

/// A text parameter the task was queued with.
fn param<'a>(task: &'a Task, key: &str) -> Option<&'a str> {
    task.params.get(key).and_then(Value::as_str)
}

/// A boolean parameter the task was queued with (absent is false).
fn flag(task: &Task, key: &str) -> bool {
    task.params.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// What an undo asks of the server's host.
enum HostUndo<'a> {
    Destroy,
    DetachNic(&'a str),
    DetachDisk(&'a str),
    /// Gives back a disk or NIC that a failed step took away.
    AttachDisk(DiskSpec),
    AttachNic(NicSpec),
    PowerOn,
}

/// Runs an undo on the server's host. Something already gone counts as
/// done; a host that is down is left to the reconciler, which removes what
/// no server owns when the host is back.
async fn undo_on_host(core: &Core, server_id: &str, undo: HostUndo<'_>) -> Result<(), StepError> {
    let server = core.store.server_get(server_id).await?;
    match server.host.as_deref() {
        Some(host) => undo_on(core, host, server_id, undo).await,
        None => Ok(()),
    }
}

/// [`undo_on_host`] on a named host.
async fn undo_on(core: &Core, host: &str, server_id: &str, undo: HostUndo<'_>) -> Result<(), StepError> {
    let Some(driver) = core.drivers.get(host) else { return Ok(()) };
    let done = match undo {
        HostUndo::Destroy => driver.destroy(server_id).await,
        HostUndo::DetachNic(port) => driver.detach_nic(server_id, port).await,
        HostUndo::DetachDisk(volume) => driver.detach_disk(server_id, volume).await,
        HostUndo::AttachDisk(disk) => driver.attach_disk(server_id, &disk).await,
        HostUndo::AttachNic(nic) => driver.attach_nic(server_id, &nic).await,
        HostUndo::PowerOn => driver.power_on(server_id).await,
    };
    match done {
        Ok(()) | Err(HypervisorError::NotFound(_)) => Ok(()),
        Err(e) if e.is_host_down() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The consumer that holds a resizing server's old claim.
/// The id of the EIP an ECS create allocates for a server: fixed by the
/// server, so that a step run again after a crash finds the one it made.
fn eip_id(server_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{server_id}/publicip"));
    let bytes: [u8; 16] = digest[..16].try_into().expect("16 of 32 bytes");
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Allocates a server's EIP from the first floating-IP pool (idempotent).
async fn allocate_eip(core: &Core, server: &Server) -> Result<String, StepError> {
    let pools = core.store.network_list().await?;
    let pool = pools.iter().find(|n| n.external).ok_or_else(|| StepError::Fatal("No EIP pool exists.".into()))?;
    let id = eip_id(&server.id);
    match core
        .store
        .floating_ip_allocate(&id, &server.project_id, &pool.id, crate::floating_ip::FLOATING_IPS_QUOTA)
        .await?
    {
        Ok(_) => Ok(id),
        Err(ecs_store::FloatingRefusal::Quota(limit)) => {
            Err(StepError::Fatal(format!("The EIP quota of {limit} is reached.")))
        }
        Err(ecs_store::FloatingRefusal::Exhausted) => Err(StepError::Fatal("No free EIP is left.".into())),
    }
}

fn migration_consumer(server_id: &str) -> String {
    format!("{server_id}/migration")
}

/// The flavor a resize task goes to.
fn resize_flavor(task: &Task) -> Result<FlavorSnapshot, StepError> {
    serde_json::from_value(task.params.get("flavor").cloned().unwrap_or_default())
        .map_err(|e| StepError::Fatal(format!("resize task without a flavor: {e}")))
}

/// What a server of `flavor` holds on its host.
pub(crate) fn claim_of(flavor: &FlavorSnapshot) -> Claim {
    Claim { vcpus: flavor.vcpus, ram_mb: flavor.ram_mb, disk_gb: flavor.disk_gb + flavor.ephemeral_gb }
}

/// The server with no task running.
fn idle() -> ServerUpdate {
    ServerUpdate { task_state: Some(None), ..Default::default() }
}

/// The admin password encrypted to an RSA public key (PKCS#1 v1.5, base64),
/// as a Windows guest posts it for `nova get-password` to decrypt. Other
/// key types cannot encrypt: there is then nothing to keep.
fn seal_to_key(openssh_public_key: &str, password: &str) -> Option<String> {
    use base64::Engine;
    let key = ssh_key::PublicKey::from_openssh(openssh_public_key.trim()).ok()?;
    let rsa_key = rsa::RsaPublicKey::try_from(key.key_data().rsa()?).ok()?;
    let sealed = rsa_key.encrypt(&mut rand::rngs::OsRng, rsa::Pkcs1v15Encrypt, password.as_bytes()).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(sealed))
}

fn server_id(task: &Task) -> Result<&str, StepError> {
    task.server_id.as_deref().ok_or_else(|| StepError::Fatal("task has no server".into()))
}

fn driver_for(core: &Core, server: &Server) -> Result<Arc<dyn Hypervisor>, StepError> {
    let host = server.host.as_deref().ok_or_else(|| StepError::Fatal("the server has no host".into()))?;
    core.drivers.get(host).ok_or_else(|| StepError::Reschedule(format!("host {host} is unreachable")))
}

impl Step {
    /// Whether the step's outcome is recorded on its own. Scheduling is
    /// recorded together with the network step after it, block devices
    /// with the spawn: all are idempotent, so a crash between them only
    /// repeats the earlier step, and a write per build is saved.
    pub fn record_after(self) -> bool {
        !matches!(self, Step::Schedule | Step::BlockDevices)
    }

    /// Runs the step on `server` (keeping that copy current); returns the
    /// server state it produced, for the record.
    pub async fn run(
        self,
        core: &Core,
        task: &Task,
        server: &mut Server,
        progress: &mut Progress,
    ) -> Result<Option<ServerUpdate>, StepError> {
        match self {
            Step::Schedule => {
                let tried: Vec<String> = progress
                    .get("tried_hosts")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                let claim = claim_of(&server.flavor);
                // Only a task claimed before (resumed after a crash) can hold a claim already.
                let resumed = task.attempts > 1;
                let host = scheduler::place(core, server, claim, &tried, resumed).await?;
                server.host = Some(host.name.clone());
                let mut tried = tried;
                if !tried.contains(&host.name) {
                    tried.push(host.name.clone());
                }
                progress.insert("tried_hosts".into(), json!(tried));
                progress.insert("host".into(), json!(host.name));
                Ok(Some(ServerUpdate {
                    host: Some(Some(host.name.clone())),
                    availability_zone: Some(host.availability_zone.clone()),
                    task_state: Some(Some(TaskState::Networking)),
                    ..Default::default()
                }))
            }
            Step::AllocateNetwork => {
                let mut ports = Vec::new();
                for (index, nic) in server.requested_networks.iter().enumerate() {
                    if let Some(port_id) = &nic.port_id {
                        match core.store.port_bind(port_id, &server.id, Some(index as i64)).await? {
                            Ok(port) => ports.push(port),
                            Err(_) => return Err(StepError::Fatal(format!("Port {port_id} is still in use."))),
                        }
                        continue;
                    }
                    let allocated = core.store.port_allocate(&server.id, &server.project_id, index as i64, nic).await?;
                    match allocated {
                        Ok(port) => ports.push(port),
                        Err(PortRefusal::Exhausted) => {
                            return Err(StepError::Fatal(format!(
                                "No more IP addresses available on network {}.",
                                nic.network_id
                            )));
                        }
                        Err(PortRefusal::AddressInUse(ip)) => {
                            return Err(StepError::Fatal(format!("Fixed IP address {ip} is already in use.")));
                        }
                        Err(PortRefusal::PortInUse) => {
                            return Err(StepError::Fatal("The port is still in use.".into()));
                        }
                        Err(PortRefusal::NoSubnet | PortRefusal::AddressOutsideSubnets(_)) => {
                            return Err(StepError::Fatal(format!(
                                "Network {} has no subnet for the requested address.",
                                nic.network_id
                            )));
                        }
                    }
                }
                server.ports = ports;
                Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::BlockDeviceMapping)), ..Default::default() }))
            }
            Step::BindPublicIp => {
                let Some(eip) = task.params.get("publicip") else { return Ok(None) };
                let port =
                    server.ports.first().ok_or_else(|| StepError::Fatal("An EIP needs a NIC to bind to.".into()))?;
                let id = match eip.get("id").and_then(Value::as_str) {
                    Some(id) => id.to_string(),
                    None => allocate_eip(core, server).await?,
                };
                let delete_on_termination = eip.get("delete_on_termination").and_then(Value::as_bool).unwrap_or(false);
                if !core.store.floating_ip_bind_for_build(&id, &port.id, delete_on_termination).await? {
                    return Err(StepError::Fatal(format!("EIP {id} is bound to another NIC.")));
                }
                Ok(None)
            }
            Step::BlockDevices => {
                let mut mappings: Vec<_> =
                    server.block_devices.iter().filter(|b| b.destination_type == "volume").cloned().collect();
                mappings.sort_by_key(|b| b.boot_index.filter(|i| *i >= 0).unwrap_or(i64::MAX));
                for b in mappings {
                    let Some(volume_id) = b.volume_id.clone() else { continue };
                    if b.source_type != "volume" {
                        make_volume(core, server, &b, &volume_id).await?;
                    }
                    let device =
                        if b.boot_index == Some(0) { Some("/dev/vda".to_string()) } else { b.device_name.clone() };
                    core.store
                        .volume_attach_for_build(&volume_id, &server.id, device.as_deref(), b.delete_on_termination)
                        .await?
                        .map_err(|r| StepError::Fatal(format!("Volume {volume_id} cannot be attached: {r:?}")))?;
                }
                Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::Spawning)), ..Default::default() }))
            }
            Step::Spawn => {
                let driver = driver_for(core, server)?;
                let spec = full_spec(core, server).await?;
                driver.spawn(&spec).await.map_err(|e| StepError::Reschedule(e.to_string()))?;
                Ok(Some(ServerUpdate {
                    vm_state: Some(VmState::Active),
                    task_state: Some(None),
                    power_state: Some(PowerState::Running),
                    launched_at: Some(chrono::Utc::now()),
                    ..Default::default()
                }))
            }
            Step::Power(op) => {
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                if op == PowerOp::Stop && flag(task, "force") {
                    driver.power_off(&server.id, false).await?;
                } else {
                    op.apply(driver.as_ref(), &server.id).await?;
                }
                let (vm_state, power_state) = op.end_state();
                Ok(Some(ServerUpdate {
                    vm_state: Some(vm_state),
                    task_state: Some(None),
                    power_state: Some(power_state),
                    ..Default::default()
                }))
            }
            Step::AttachPort => {
                let param = |k: &str| param(task, k).map(String::from);
                let port_id = param("port_id").ok_or_else(|| StepError::Fatal("no port id".into()))?;
                let port = if param("existing_port").is_some() {
                    core.store
                        .port_bind(&port_id, &server.id, None)
                        .await?
                        .map_err(|_| StepError::Fatal(format!("Port {port_id} is still in use.")))?
                } else {
                    let network = param("net_id").ok_or_else(|| StepError::Fatal("no network".into()))?;
                    let nic = RequestedNic {
                        network_id: network.clone(),
                        subnet_id: param("subnet_id"),
                        fixed_ip: param("fixed_ip"),
                        port_id: None,
                    };
                    core.store.port_allocate_as(&port_id, &server.id, &server.project_id, &nic).await?.map_err(|r| {
                        StepError::Fatal(format!("Failed to allocate a port on network {network}: {r:?}"))
                    })?
                };
                server.ports.retain(|p| p.id != port.id);
                server.ports.push(port);
                Ok(None)
            }
            Step::PlugNic | Step::UnplugNic => {
                let port_id = param(task, "port_id").unwrap_or_default();
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                if self == Step::UnplugNic {
                    driver.detach_nic(&server.id, port_id).await?;
                } else {
                    let port = match server.ports.iter().find(|p| p.id == port_id).cloned() {
                        Some(p) => p,
                        None => core.store.port_get(port_id).await?,
                    };
                    let mut nic = nic_spec(&port);
                    nic.subnet = nic_subnet(core, &nic).await?;
                    driver.attach_nic(&server.id, &nic).await?;
                }
                Ok(None)
            }
            Step::ReserveVolume => Ok(None),
            Step::SwapDisk => {
                let param = |k: &str| param(task, k).unwrap_or_default().to_string();
                let (old, new) = (param("old_volume_id"), param("new_volume_id"));
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                let old_volume = core.store.volume_get(&old).await?;
                let new_volume = core.store.volume_get(&new).await?;
                let device = old_volume.attachment.or(new_volume.attachment).map(|a| a.device).unwrap_or_default();
                driver.detach_disk(&server.id, &old).await?;
                let disk = DiskSpec { id: new.clone(), size_gb: new_volume.size_gb as u64, device, source: None };
                driver.attach_disk(&server.id, &disk).await?;
                core.store.volume_swap_finish(&old, &new).await?;
                Ok(None)
            }
            Step::Snapshot => {
                let image_id = param(task, "image_id").unwrap_or_default();
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                let snapshot = driver.snapshot(&server.id, image_id).await?;
                if !snapshot.properties.is_empty() {
                    // What boots the snapshot: its disk file, and the kernel the server booted.
                    let mut properties = core.store.image_get(image_id).await?.properties;
                    properties.extend(snapshot.properties);
                    core.store.image_set_properties(image_id, &properties).await?;
                }
                core.store.image_set_status(image_id, "active", Some(snapshot.size_bytes as i64)).await?;
                Ok(Some(ServerUpdate { task_state: Some(None), ..Default::default() }))
            }
            Step::PlugDisk | Step::UnplugDisk => {
                let volume_id = param(task, "volume_id").unwrap_or_default();
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                if self == Step::UnplugDisk {
                    driver.detach_disk(&server.id, volume_id).await?;
                } else {
                    let volume = core.store.volume_get(volume_id).await?;
                    let device = volume.attachment.as_ref().map(|a| a.device.clone()).unwrap_or_default();
                    let disk = DiskSpec { id: volume.id.clone(), size_gb: volume.size_gb as u64, device, source: None };
                    driver.attach_disk(&server.id, &disk).await?;
                    core.store.volume_set_status(volume_id, "in-use").await?;
                }
                Ok(None)
            }
            Step::ReleaseVolume => {
                let volume_id = param(task, "volume_id").unwrap_or_default();
                core.store.volume_release(volume_id).await?;
                Ok(None)
            }
            Step::ReleaseVolumes => {
                // The guest is gone: its volumes are free, or go with it.
                for volume in core.store.volumes_of_server(&server.id).await? {
                    // An ECS delete with `delete_volume` takes the data disks too.
                    match volume.attachment {
                        Some(a) if a.delete_on_termination || flag(task, "delete_volume") => {
                            core.store.volume_purge(&volume.id).await?;
                            core.volume_storage_release(&volume.id).await;
                        }
                        _ => core.store.volume_release(&volume.id).await?,
                    }
                }
                Ok(None)
            }
            Step::ReleasePort => {
                let port_id = param(task, "port_id").unwrap_or_default();
                core.store.port_release(port_id).await?;
                Ok(None)
            }
            Step::Destroy => {
                // A resize not yet confirmed left the old guest on its source host.
                if let Some(open) = &server.resize
                    && server.host.as_deref() != Some(open.source_host.as_str())
                {
                    undo_on(core, &open.source_host, &server.id, HostUndo::Destroy).await?;
                }
                if let Some(host) = server.host.as_deref() {
                    match core.drivers.get(host) {
                        Some(driver) => match driver.destroy(&server.id).await {
                            Ok(()) => {}
                            // Nova's local delete: the host is gone, so the
                            // record goes now and the reconciler removes the
                            // guest if the host comes back.
                            Err(e) if e.is_host_down() => {
                                tracing::warn!(server = %server.id, %host, "host down; deleting locally")
                            }
                            Err(e) => return Err(e.into()),
                        },
                        None => tracing::warn!(server = %server.id, %host, "no driver for host; deleting locally"),
                    }
                }
                Ok(None)
            }
            Step::ReleaseNetwork => {
                // EIPs go with the server when an ECS delete says so, or,
                // when it does not say, those created to go with it.
                match task.params.get("delete_publicip").and_then(Value::as_bool) {
                    Some(false) => {}
                    explicit => core.store.floating_ips_release_for_server(&server.id, explicit.is_some()).await?,
                }
                core.store.ports_release(&server.id).await?;
                Ok(None)
            }
            Step::ReleaseClaim => {
                core.store.host_release(&server.id).await?;
                core.store.host_release(&migration_consumer(&server.id)).await?;
                core.store.console_tokens_delete_for_server(&server.id).await?;
                Ok(None)
            }
            Step::ResizeClaim => {
                let new = resize_flavor(task)?;
                // The old flavor's claim stays, under the migration, until
                // the resize is confirmed or reverted.
                core.store.allocation_move(&server.id, &migration_consumer(&server.id)).await?;
                let target = Server { flavor: new.clone(), ..server.clone() };
                // A cold migration goes to another host.
                let source = if flag(task, "migrate") { server.host.clone() } else { None };
                let host = scheduler::place(core, &target, claim_of(&new), source.as_slice(), true).await?;
                progress.insert("dest_host".into(), json!(host.name));
                progress.insert("dest_az".into(), json!(host.availability_zone));
                Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::ResizeMigrating)), ..Default::default() }))
            }
            Step::ResizeMigrate => {
                let new = resize_flavor(task)?;
                // Nova's libvirt driver: a local disk never shrinks.
                let old = &server.flavor;
                if server.image_id.is_some() && (new.disk_gb < old.disk_gb || new.ephemeral_gb < old.ephemeral_gb) {
                    return Err(StepError::Fatal("Resize error: Unable to resize disk down.".into()));
                }
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                driver.power_off(&server.id, true).await?;
                Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::ResizeMigrated)), ..Default::default() }))
            }
            Step::ResizeFinish => {
                let new = resize_flavor(task)?;
                let was_active = param(task, "old_vm_state") == Some(VmState::Active.as_str());
                let text = |key: &str| progress.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                let (dest, dest_az) = (text("dest_host"), text("dest_az"));
                let source = server.host.clone().unwrap_or_default();
                let dest_driver =
                    core.drivers.get(&dest).ok_or_else(|| StepError::Fatal(format!("host {dest} is unreachable")))?;
                if dest == source {
                    dest_driver.resize(&server.id, new.vcpus as u32, new.ram_mb as u64, new.disk_gb as u64).await?;
                    if was_active {
                        dest_driver.power_on(&server.id).await?;
                    }
                } else {
                    let target = Server { flavor: new.clone(), ..server.clone() };
                    dest_driver.spawn(&full_spec(core, &target).await?).await?;
                    if !was_active {
                        dest_driver.power_off(&server.id, false).await?;
                    }
                }
                let open = OpenResize {
                    old_flavor: server.flavor.clone(),
                    source_host: source,
                    old_vm_state: if was_active { VmState::Active } else { VmState::Stopped },
                };
                Ok(Some(ServerUpdate {
                    vm_state: Some(VmState::Resized),
                    task_state: Some(None),
                    power_state: Some(if was_active { PowerState::Running } else { PowerState::Shutdown }),
                    host: Some(Some(dest)),
                    availability_zone: Some(dest_az),
                    flavor: Some(new),
                    resize: Some(Some(open)),
                    ..Default::default()
                }))
            }
            Step::ResizeAutoConfirm if !flag(task, "auto_confirm") => Ok(None),
            Step::ResizeConfirm | Step::ResizeAutoConfirm => {
                if self == Step::ResizeAutoConfirm {
                    // The finish step recorded the open resize; this copy predates it.
                    *server = core.store.server_get(&server.id).await?;
                }
                let Some(open) = server.resize.clone() else { return Ok(Some(idle())) };
                if server.host.as_deref() != Some(open.source_host.as_str()) {
                    undo_on(core, &open.source_host, &server.id, HostUndo::Destroy).await?;
                }
                core.store.host_release(&migration_consumer(&server.id)).await?;
                let stopped = server.power_state == PowerState::Shutdown;
                Ok(Some(ServerUpdate {
                    vm_state: Some(if stopped { VmState::Stopped } else { VmState::Active }),
                    task_state: Some(None),
                    resize: Some(None),
                    usage: Some((server.flavor.vcpus, server.flavor.ram_mb)),
                    ..Default::default()
                }))
            }
            Step::ResizeRevert => {
                let Some(open) = server.resize.clone() else { return Ok(Some(idle())) };
                let old = &open.old_flavor;
                let source = open.source_host.clone();
                let source_driver = core
                    .drivers
                    .get(&source)
                    .ok_or_else(|| StepError::Fatal(format!("host {source} is unreachable")))?;
                if server.host.as_deref() == Some(source.as_str()) {
                    source_driver.power_off(&server.id, false).await?;
                    source_driver.resize(&server.id, old.vcpus as u32, old.ram_mb as u64, old.disk_gb as u64).await?;
                } else if let Some(dest) = server.host.as_deref() {
                    undo_on(core, dest, &server.id, HostUndo::Destroy).await?;
                }
                let active = open.old_vm_state == VmState::Active;
                if active {
                    source_driver.power_on(&server.id).await?;
                }
                core.store.allocation_restore(&server.id, &migration_consumer(&server.id)).await?;
                let source_az = core.store.host_get_by_name(&source).await?.availability_zone;
                Ok(Some(ServerUpdate {
                    vm_state: Some(open.old_vm_state),
                    task_state: Some(None),
                    power_state: Some(if active { PowerState::Running } else { PowerState::Shutdown }),
                    host: Some(Some(source)),
                    availability_zone: Some(source_az),
                    flavor: Some(old.clone()),
                    usage: Some((old.vcpus, old.ram_mb)),
                    resize: Some(None),
                    ..Default::default()
                }))
            }
            Step::Rebuild => {
                // The root disk is rebuilt from the new image: the guest
                // goes and comes back with the same NICs and volumes.
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                // ECS `withStopServer`: the guest is shut down first.
                if flag(task, "stop_first") && server.power_state == PowerState::Running {
                    driver.power_off(&server.id, true).await.or_else(ignore_missing)?;
                }
                driver.destroy(&server.id).await?;
                let mut spec = full_spec(core, server).await?;
                spec.admin_pass = param(task, SECRET_PARAM).map(String::from);
                driver.spawn(&spec).await?;
                // An ECS reinstall starts the server; Nova's rebuild keeps a stopped one stopped.
                let stopped = server.vm_state == VmState::Stopped && !flag(task, "start_after");
                if stopped {
                    driver.power_off(&server.id, false).await?;
                }
                Ok(Some(ServerUpdate {
                    vm_state: Some(if stopped { VmState::Stopped } else { VmState::Active }),
                    task_state: Some(None),
                    power_state: Some(if stopped { PowerState::Shutdown } else { PowerState::Running }),
                    launched_at: Some(chrono::Utc::now()),
                    ..Default::default()
                }))
            }
            Step::SetPassword => {
                let password = param(task, SECRET_PARAM).unwrap_or_default();
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                driver.set_admin_password(&server.id, password).await?;
                // What `os-server-password` returns: readable with the key pair's private key only.
                if let Some(sealed) = server.key_data.as_deref().and_then(|k| seal_to_key(k, password)) {
                    core.store.server_set_password(&server.id, Some(&sealed)).await?;
                }
                Ok(Some(idle()))
            }
            Step::SetKeys => {
                let driver = driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))?;
                driver.set_public_keys(&server.id, &server.public_keys()).await?;
                Ok(None)
            }
            Step::MarkDeleted => Ok(Some(ServerUpdate {
                vm_state: Some(VmState::Deleted),
                task_state: Some(None),
                power_state: Some(PowerState::NoState),
                terminated_at: Some(chrono::Utc::now()),
                deleted: true,
                ..Default::default()
            })),
        }
    }

    /// Undoes the step. Steps with nothing to give back do nothing.
    pub async fn undo(self, core: &Core, task: &Task, progress: &mut Progress) -> Result<(), StepError> {
        let id = server_id(task)?;
        match self {
            Step::Schedule => core.store.host_release(id).await?,
            Step::AllocateNetwork => core.store.ports_release(id).await?,
            // Volumes the build made go; given ones are free again.
            Step::BlockDevices => {
                let server = core.store.server_get(id).await?;
                for b in server.block_devices.iter().filter(|b| b.destination_type == "volume") {
                    let Some(volume_id) = &b.volume_id else { continue };
                    match core.store.volume_get(volume_id).await {
                        Ok(v)
                            if v.attachment.as_ref().is_some_and(|a| a.server_id == id)
                                || b.source_type != "volume" =>
                        {
                            if b.source_type == "volume" {
                                core.store.volume_release(volume_id).await?;
                            } else {
                                core.store.volume_purge(volume_id).await?;
                                core.volume_storage_release(volume_id).await;
                            }
                        }
                        Ok(_) | Err(ecs_store::StoreError::NotFound) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            // An EIP the build made goes; a given one is unbound.
            Step::BindPublicIp => match task.params.get("publicip").map(|e| e.get("id").and_then(Value::as_str)) {
                None => {}
                Some(None) => match core.store.floating_ip_release(&eip_id(id)).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                },
                Some(Some(given)) => {
                    let bound_here = core.store.floating_ip_get(given).await?.server_id.as_deref() == Some(id);
                    if bound_here {
                        core.store.floating_ip_bind(given, None).await?;
                    }
                }
            },
            Step::Spawn => undo_on_host(core, id, HostUndo::Destroy).await?,
            Step::AttachPort => {
                if let Some(port_id) = param(task, "port_id") {
                    core.store.port_release(port_id).await?;
                }
            }
            Step::PlugNic => {
                undo_on_host(core, id, HostUndo::DetachNic(param(task, "port_id").unwrap_or_default())).await?
            }
            Step::ReserveVolume => {
                if let Some(volume_id) = param(task, "volume_id") {
                    core.store.volume_release(volume_id).await?;
                }
            }
            Step::PlugDisk => {
                undo_on_host(core, id, HostUndo::DetachDisk(param(task, "volume_id").unwrap_or_default())).await?
            }
            // A detach that failed leaves the volume attached: on the
            // host too, should the detach have half happened.
            Step::UnplugDisk => {
                if let Some(volume_id) = param(task, "volume_id") {
                    let volume = core.store.volume_get(volume_id).await?;
                    if let Some(a) = &volume.attachment {
                        let disk = DiskSpec {
                            id: volume.id.clone(),
                            size_gb: volume.size_gb as u64,
                            device: a.device.clone(),
                            source: None,
                        };
                        undo_on_host(core, id, HostUndo::AttachDisk(disk)).await?;
                    }
                    core.store.volume_set_status(volume_id, "in-use").await?;
                }
            }
            Step::ReleaseVolume | Step::ReleaseVolumes => {}
            // A swap that failed gives the guest its old disk back, on the
            // device it had, and leaves the new volume free.
            Step::SwapDisk => {
                let (Some(old), Some(new)) = (param(task, "old_volume_id"), param(task, "new_volume_id")) else {
                    return Ok(());
                };
                let old_volume = core.store.volume_get(old).await?;
                let new_volume = core.store.volume_get(new).await?;
                let device =
                    old_volume.attachment.as_ref().or(new_volume.attachment.as_ref()).map(|a| a.device.clone());
                undo_on_host(core, id, HostUndo::DetachDisk(new)).await?;
                let disk = DiskSpec {
                    id: old.to_string(),
                    size_gb: old_volume.size_gb as u64,
                    device: device.unwrap_or_default(),
                    source: None,
                };
                undo_on_host(core, id, HostUndo::AttachDisk(disk)).await?;
                if new_volume.attachment.is_some() {
                    // The record had moved to the new volume: move it back.
                    core.store.volume_swap_finish(new, old).await?;
                } else {
                    core.store.volume_set_status(new, "available").await?;
                }
            }
            // Nova deletes the image of a snapshot that failed.
            Step::Snapshot => {
                if let Some(image_id) = param(task, "image_id") {
                    core.store.image_delete(image_id).await?;
                }
            }
            // The old claim comes back to the server and its quota count
            // to the old flavor (still the server's: the finish did not happen).
            Step::ResizeClaim => {
                core.store.allocation_restore(id, &migration_consumer(id)).await?;
                let server = core.store.server_get(id).await?;
                let usage = (server.flavor.vcpus, server.flavor.ram_mb);
                core.store.server_update(id, &ServerUpdate { usage: Some(usage), ..Default::default() }).await?;
            }
            Step::ResizeMigrate => {
                if param(task, "old_vm_state") == Some(VmState::Active.as_str()) {
                    undo_on_host(core, id, HostUndo::PowerOn).await?;
                }
            }
            // The server is still the old one on its source host.
            Step::ResizeFinish => {
                let server = core.store.server_get(id).await?;
                let dest = progress.get("dest_host").and_then(Value::as_str).unwrap_or_default();
                if server.host.as_deref() == Some(dest) {
                    if let Some(driver) = core.drivers.get(dest) {
                        let old = &server.flavor;
                        driver.power_off(id, false).await.or_else(ignore_missing)?;
                        driver
                            .resize(id, old.vcpus as u32, old.ram_mb as u64, old.disk_gb as u64)
                            .await
                            .or_else(ignore_missing)?;
                    }
                } else {
                    undo_on(core, dest, id, HostUndo::Destroy).await?;
                }
            }
            // A detach that failed leaves the NIC plugged in.
            Step::UnplugNic => {
                if let Some(port_id) = param(task, "port_id") {
                    match core.store.port_get(port_id).await {
                        Ok(port) if port.server_id == id => {
                            let mut nic = nic_spec(&port);
                            nic.subnet = nic_subnet(core, &nic).await?;
                            undo_on_host(core, id, HostUndo::AttachNic(nic)).await?;
                        }
                        Ok(_) | Err(StoreError::NotFound) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Step::ReleasePort
            | Step::Power(_)
            | Step::Destroy
            | Step::ReleaseNetwork
            | Step::ReleaseClaim
            | Step::MarkDeleted
            | Step::ResizeConfirm
            | Step::ResizeAutoConfirm
            | Step::ResizeRevert
            | Step::Rebuild
            | Step::SetPassword
            | Step::SetKeys => {}
        }
        Ok(())
    }
}

fn nic_spec(p: &ecs_types::server::ServerPort) -> NicSpec {
    NicSpec {
        port_id: p.id.clone(),
        network_id: p.network_id.clone(),
        mac: p.mac.clone(),
        ip: p.address.parse().ok(),
        subnet: None,
    }
}

/// A guest that is already gone needs no undoing.
fn ignore_missing(e: HypervisorError) -> Result<(), HypervisorError> {
    match e {
        HypervisorError::NotFound(_) => Ok(()),
        other => Err(other),
    }
}

/// The guest as the server describes it: what it boots, its attached
/// volumes (those made from an image start as that image's file) and the
/// subnets of its NICs.
async fn full_spec(core: &Core, server: &Server) -> Result<GuestSpec, StepError> {
    let mut spec = guest_spec(server);
    let image_of = |volume_id: &str| {
        server
            .block_devices
            .iter()
            .find(|b| b.volume_id.as_deref() == Some(volume_id) && b.source_type == "image")
            .and_then(|b| b.uuid.clone())
    };
    let boot_image = server.image_id.clone().or_else(|| {
        let boot = server.block_devices.iter().find(|b| b.boot_index == Some(0))?;
        image_of(boot.volume_id.as_deref()?)
    });
    if let Some(image) = boot_image {
        spec.boot = image_boot(core, &image).await?;
    }
    for v in core.store.volumes_of_server(&server.id).await? {
        let Some(attachment) = v.attachment else { continue };
        let source = match image_of(&v.id) {
            Some(image) => image_boot(core, &image).await?.disk,
            None => None,
        };
        spec.disks.push(DiskSpec { id: v.id, size_gb: v.size_gb as u64, device: attachment.device, source });
    }
    for nic in &mut spec.nics {
        nic.subnet = nic_subnet(core, nic).await?;
    }
    Ok(spec)
}

/// The files an image boots from (none for an image without them, or gone).
async fn image_boot(core: &Core, image_id: &str) -> Result<BootSource, StepError> {
    match core.store.image_get(image_id).await {
        Ok(image) => Ok(BootSource::from_properties(&image.properties)),
        Err(StoreError::NotFound) => Ok(BootSource::default()),
        Err(e) => Err(e.into()),
    }
}

/// The subnet a NIC's address is on, for the guest's static configuration.
async fn nic_subnet(core: &Core, nic: &NicSpec) -> Result<Option<SubnetSpec>, StepError> {
    let Some(ip) = nic.ip else { return Ok(None) };
    let subnets = core.store.subnet_list(&nic.network_id).await?;
    Ok(subnets
        .into_iter()
        .find(|s| s.cidr.parse::<ipnet::IpNet>().is_ok_and(|net| net.contains(&ip)))
        .map(|s| SubnetSpec { cidr: s.cidr, gateway: s.gateway_ip, dns: s.dns_nameservers }))
}

/// What the hypervisor needs to build the guest.
fn guest_spec(server: &Server) -> GuestSpec {
    let nics = server.ports.iter().map(nic_spec).collect();
    GuestSpec {
        id: server.id.clone(),
        name: server.name.clone(),
        hostname: server.hostname.clone(),
        project_id: server.project_id.clone(),
        availability_zone: server.availability_zone.clone(),
        key_name: server.key_name.clone(),
        vcpus: server.flavor.vcpus as u32,
        ram_mb: server.flavor.ram_mb as u64,
        root_gb: server.flavor.disk_gb as u64,
        ephemeral_gb: server.flavor.ephemeral_gb as u64,
        swap_mb: server.flavor.swap_mb as u64,
        image_id: server.image_id.clone(),
        image_name: server.image_name.clone(),
        boot: BootSource::default(),
        nics,
        disks: Vec::new(),
        user_data: server.user_data.as_deref().and_then(|u| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(u).ok()
        }),
        admin_pass: None,
        public_keys: server.public_keys(),
        metadata: server.metadata.clone(),
    }
}

/// Makes the volume a block device mapping asks for (from an image, a
/// snapshot or blank). Idempotent by the id chosen at create.
async fn make_volume(
    core: &Core,
    server: &Server,
    b: &ecs_types::server::BlockDevice,
    volume_id: &str,
) -> Result<(), StepError> {
    match core.store.volume_get(volume_id).await {
        Ok(_) => return Ok(()),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let size = match (b.source_type.as_str(), &b.uuid) {
        ("snapshot", Some(snap)) => core.store.snapshot_get(snap).await?.size_gb.max(b.volume_size.unwrap_or(0)),
        _ => b.volume_size.unwrap_or(1),
    };
    let volume = ecs_types::volume::Volume {
        id: volume_id.to_string(),
        project_id: server.project_id.clone(),
        name: String::new(),
        description: String::new(),
        size_gb: size,
        status: "available".into(),
        volume_type: b.volume_type.clone().unwrap_or_else(|| "SATA".into()),
        availability_zone: server.availability_zone.clone().unwrap_or_else(|| "nova".into()),
        snapshot_id: (b.source_type == "snapshot").then(|| b.uuid.clone()).flatten(),
        created_at: chrono::Utc::now(),
        attachment: None,
    };
    core.store
        .volume_create(&volume, core.config.quota.volumes, core.config.quota.gigabytes)
        .await?
        .map_err(|r| StepError::Fatal(format!("Build of instance {} aborted: volume not created: {r:?}", server.id)))?;
    Ok(())
}
