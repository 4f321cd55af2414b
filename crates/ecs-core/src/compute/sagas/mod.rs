//! What each kind of task does: one module per saga, each declaring its
//! typed parameters, its steps in order with an undo beside each, the
//! Nova instance-action event each step belongs to and the server state a
//! failure leaves behind. The engine (`super::engine`) runs any of them
//! through the [`Saga`] trait; this file holds the one table of kinds.
//!
//! Every step and every undo is idempotent: after a crash the step that
//! was running runs again.
//!
//! Adding a kind of task: write its module (params, steps, `impl Saga`),
//! add its row to `task_kinds!` and its `TaskParams` variant; the
//! compiler then names the matches below that need its arm.

use std::future::Future;
use std::sync::Arc;

use ecs_hypervisor::{DiskSpec, Hypervisor, HypervisorError, NicSpec};
use ecs_store::{Claim, ServerUpdate, StoreError};
use ecs_types::server::{Fault, FlavorSnapshot, PowerState, Server, Task, VmState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Core;
use crate::compute::failure::TaskFailure;

mod backup;
mod create;
mod delete;
mod evacuate;
mod guest;
mod interfaces;
mod keys;
mod live_migrate;
mod password;
mod power;
mod rebuild;
mod rescue;
pub(crate) mod resize;
mod shelve;
mod snapshot;
mod soft_delete;
mod swap_volume;
mod unshelve;
mod volumes;

pub use backup::Params as BackupParams;
pub use create::{Params as CreateParams, PublicIp};
pub use delete::Params as DeleteParams;
pub use evacuate::Params as EvacuateParams;
pub use interfaces::{AttachParams as AttachInterfaceParams, DetachParams as DetachInterfaceParams, NewNic};
pub use keys::Params as KeypairsParams;
pub use live_migrate::Params as LiveMigrateParams;
pub use password::Params as PasswordParams;
pub use power::{Params as PowerParams, PowerOp};
pub use rebuild::Params as RebuildParams;
pub use rescue::{Params as RescueParams, UnrescueParams};
pub use resize::{ConfirmParams, Params as ResizeParams, RevertParams};
pub use shelve::{Params as ShelveParams, SHELVED_FOR};
pub use snapshot::Params as SnapshotParams;
pub use soft_delete::{Params as SoftDeleteParams, RestoreParams};
pub use swap_volume::Params as SwapVolumeParams;
pub use unshelve::Params as UnshelveParams;
pub use volumes::{Attach as AttachVolumeParams, Detach as DetachVolumeParams};

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The host failed the guest; another host may do (builds only).
    #[error("{0}")]
    Reschedule(String),
    /// Nothing to retry: unwind.
    #[error("{0}")]
    Fatal(String),
    /// Nothing to retry, for a reason the dialects name in their own
    /// codes (no host, no address left): unwind.
    #[error("{}", .0.message)]
    Failed(TaskFailure),
    /// The database failed us; the step runs again later.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host did not answer: the step is tried again, backing off,
    /// while the host may still be up; once its service is down the task
    /// fails (and unwinds) rather than wait for it.
    #[error("host {0} is unavailable")]
    HostUnavailable(String),
}

impl From<HypervisorError> for StepError {
    fn from(e: HypervisorError) -> Self {
        match e {
            HypervisorError::HostDown(host) => StepError::HostUnavailable(host),
            other => StepError::Fatal(other.to_string()),
        }
    }
}

/// What a step did to the server, for the engine to record with it.
pub type StepResult = Result<Option<ServerUpdate>, StepError>;

/// What a task's run keeps between its steps, stored as the task's
/// `progress` (JSON keys are stable: ECS jobs and waiting callers read
/// `failure`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The instance-action events started so far (Nova's names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Why the task failed (the message callers and ECS jobs show) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// … typed, for each dialect to name in its own codes …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<TaskFailure>,
    /// … and the detail behind it (the event's traceback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_detail: Option<String>,
    /// Create: the build attempt under way (the first is 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i64>,
    /// Create: the hosts tried so far, which a reschedule avoids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tried_hosts: Vec<String>,
    /// Create: the host the last schedule chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Create: why the last host failed the build (for the fault when no
    /// other host is left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// Resize: the host (and its zone) the claim was made on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_az: Option<String>,
    /// Cold migration: the drivers could not move the guest, so the
    /// destination builds it anew.
    #[serde(default, skip_serializing_if = "is_false")]
    pub respawn: bool,
    /// Live migration: where the destination receives the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming: Option<ecs_hypervisor::IncomingGuest>,
}

/// What a step runs with.
pub struct StepContext<'a> {
    pub core: &'a Core,
    pub task: &'a Task,
    pub progress: &'a mut Progress,
}

impl StepContext<'_> {
    /// The task's server.
    pub fn server_id(&self) -> Result<&str, StepError> {
        self.task.server_id.as_deref().ok_or_else(|| StepError::Fatal("task has no server".into()))
    }
}

/// A saga: its steps in order, each with an undo. Implemented by each
/// kind's parameter type, so that a step reads its parameters typed.
pub trait Saga: Sync {
    /// The steps, one variant each.
    type Step: Copy + Eq + std::fmt::Debug + Send + Sync + 'static;
    /// The steps in the order they run.
    const STEPS: &'static [Self::Step];
    /// Whether a host's failure sends the task back to the scheduler.
    const RESCHEDULES: bool = false;

    /// The Nova instance-action event `step` belongs to.
    fn event(&self, step: Self::Step) -> &'static str;

    /// Whether the step's outcome is recorded on its own; otherwise with
    /// the step after it (the step is then repeated after a crash between
    /// them, which its idempotence allows, and a write is saved).
    fn recorded_alone(&self, _step: Self::Step) -> bool {
        true
    }

    /// Runs `step` on `server` (keeping that copy current); returns the
    /// server state it produced, for the record.
    fn run(
        &self,
        step: Self::Step,
        cx: &mut StepContext<'_>,
        server: &mut Server,
    ) -> impl Future<Output = StepResult> + Send;

    /// Gives back what `step` took. It may have half happened.
    fn undo(&self, step: Self::Step, cx: &mut StepContext<'_>) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// The server state a failed task leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// A failed build: ERROR, off its host, with a fault.
    BuildError,
    /// What cannot be rolled back leaves the server in ERROR with a fault, as Nova does.
    Error,
    /// Rolled back: the task state clears and the fault tells why.
    RolledBackWithFault,
    /// The task state clears; the failure shows in the instance action only.
    Idle,
    /// The server's state is left alone.
    Untouched,
}

impl OnFailure {
    pub fn update(self, message: &str, details: &str) -> Option<ServerUpdate> {
        let fault = || {
            Some(Fault {
                code: 500,
                message: message.to_string(),
                details: details.to_string(),
                created: ecs_types::clock::now(),
            })
        };
        Some(match self {
            OnFailure::BuildError => ServerUpdate {
                vm_state: Some(VmState::Error),
                task_state: Some(None),
                power_state: Some(PowerState::NoState),
                host: Some(None),
                fault: Some(fault()),
                ..Default::default()
            },
            OnFailure::Error => ServerUpdate {
                vm_state: Some(VmState::Error),
                task_state: Some(None),
                fault: Some(fault()),
                ..Default::default()
            },
            OnFailure::RolledBackWithFault => {
                ServerUpdate { task_state: Some(None), fault: Some(fault()), ..Default::default() }
            }
            OnFailure::Idle => idle(),
            OnFailure::Untouched => return None,
        })
    }
}

/// The one table of task kinds: the name each is stored under, the
/// instance action Nova lists it as, and its failure state.
macro_rules! task_kinds {
    ($($kind:ident => $name:literal, action $action:literal, $failure:expr;)+) => {
        /// The kinds of task the engine runs, stored by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TaskKind { $($kind),+ }

        impl TaskKind {
            /// Every kind, in table order (the crash sweep walks them all).
            pub const ALL: &'static [TaskKind] = &[$(TaskKind::$kind),+];

            /// The name the task is stored under.
            pub fn as_str(self) -> &'static str {
                match self { $(TaskKind::$kind => $name),+ }
            }

            pub fn parse(s: &str) -> Option<TaskKind> {
                match s { $($name => Some(TaskKind::$kind),)+ _ => None }
            }

            /// The instance action Nova shows for it.
            pub fn action(self) -> &'static str {
                match self { $(TaskKind::$kind => $action),+ }
            }

            /// The server state a failure leaves behind.
            pub fn on_failure(self) -> OnFailure {
                match self { $(TaskKind::$kind => $failure),+ }
            }
        }
    };
}

task_kinds! {
    Create => "create", action "create", create::ON_FAILURE;
    Delete => "delete", action "delete", delete::ON_FAILURE;
    Stop => "stop", action "stop", power::on_failure(PowerOp::Stop);
    Start => "start", action "start", power::on_failure(PowerOp::Start);
    Reboot => "reboot", action "reboot", power::on_failure(PowerOp::SoftReboot);
    RebootHard => "reboot_hard", action "reboot", power::on_failure(PowerOp::HardReboot);
    Pause => "pause", action "pause", power::on_failure(PowerOp::Pause);
    Unpause => "unpause", action "unpause", power::on_failure(PowerOp::Unpause);
    Suspend => "suspend", action "suspend", power::on_failure(PowerOp::Suspend);
    Resume => "resume", action "resume", power::on_failure(PowerOp::Resume);
    AttachInterface => "attach_interface", action "attach_interface", interfaces::ON_FAILURE;
    DetachInterface => "detach_interface", action "detach_interface", interfaces::ON_FAILURE;
    AttachVolume => "attach_volume", action "attach_volume", volumes::ON_FAILURE;
    DetachVolume => "detach_volume", action "detach_volume", volumes::ON_FAILURE;
    CreateImage => "createImage", action "createImage", snapshot::ON_FAILURE;
    SwapVolume => "swap_volume", action "swap_volume", swap_volume::ON_FAILURE;
    Resize => "resize", action "resize", resize::ON_FAILURE;
    Migrate => "migrate", action "migrate", resize::ON_FAILURE;
    LiveMigrate => "live-migration", action "live-migration", live_migrate::ON_FAILURE;
    ConfirmResize => "confirmResize", action "confirmResize", resize::FINISH_ON_FAILURE;
    RevertResize => "revertResize", action "revertResize", resize::FINISH_ON_FAILURE;
    Rebuild => "rebuild", action "rebuild", rebuild::ON_FAILURE;
    ChangePassword => "changePassword", action "changePassword", password::ON_FAILURE;
    AttachKeypairs => "attachKeypairs", action "attachKeypairs", keys::ON_FAILURE;
    DetachKeypairs => "detachKeypairs", action "detachKeypairs", keys::ON_FAILURE;
    Evacuate => "evacuate", action "evacuate", evacuate::ON_FAILURE;
    Shelve => "shelve", action "shelve", shelve::ON_FAILURE;
    ShelveOffload => "shelveOffload", action "shelveOffload", shelve::ON_FAILURE;
    Unshelve => "unshelve", action "unshelve", unshelve::ON_FAILURE;
    Rescue => "rescue", action "rescue", rescue::ON_FAILURE;
    Unrescue => "unrescue", action "unrescue", rescue::ON_FAILURE;
    CreateBackup => "createBackup", action "createBackup", backup::ON_FAILURE;
    SoftDelete => "soft_delete", action "delete", soft_delete::ON_FAILURE;
    Restore => "restore", action "restore", soft_delete::RESTORE_ON_FAILURE;
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TaskKind {
    /// The power kind of an operation.
    pub fn power(op: PowerOp) -> TaskKind {
        match op {
            PowerOp::Stop => TaskKind::Stop,
            PowerOp::Start => TaskKind::Start,
            PowerOp::SoftReboot => TaskKind::Reboot,
            PowerOp::HardReboot => TaskKind::RebootHard,
            PowerOp::Pause => TaskKind::Pause,
            PowerOp::Unpause => TaskKind::Unpause,
            PowerOp::Suspend => TaskKind::Suspend,
            PowerOp::Resume => TaskKind::Resume,
        }
    }

    /// The names of its steps, in order (for the crash sweep and logs).
    pub fn steps(self) -> Vec<String> {
        fn names<S: Saga>() -> Vec<String> {
            S::STEPS.iter().map(|s| format!("{s:?}")).collect()
        }
        match self {
            TaskKind::Create => names::<CreateParams>(),
            TaskKind::Delete => names::<DeleteParams>(),
            TaskKind::Stop
            | TaskKind::Start
            | TaskKind::Reboot
            | TaskKind::RebootHard
            | TaskKind::Pause
            | TaskKind::Unpause
            | TaskKind::Suspend
            | TaskKind::Resume => names::<PowerParams>(),
            TaskKind::AttachInterface => names::<AttachInterfaceParams>(),
            TaskKind::DetachInterface => names::<DetachInterfaceParams>(),
            TaskKind::AttachVolume => names::<AttachVolumeParams>(),
            TaskKind::DetachVolume => names::<DetachVolumeParams>(),
            TaskKind::CreateImage => names::<SnapshotParams>(),
            TaskKind::SwapVolume => names::<SwapVolumeParams>(),
            TaskKind::Resize | TaskKind::Migrate => names::<ResizeParams>(),
            TaskKind::LiveMigrate => names::<LiveMigrateParams>(),
            TaskKind::ConfirmResize => names::<ConfirmParams>(),
            TaskKind::RevertResize => names::<RevertParams>(),
            TaskKind::Rebuild => names::<RebuildParams>(),
            TaskKind::ChangePassword => names::<PasswordParams>(),
            TaskKind::AttachKeypairs | TaskKind::DetachKeypairs => names::<KeypairsParams>(),
            TaskKind::Evacuate => names::<EvacuateParams>(),
            TaskKind::Shelve | TaskKind::ShelveOffload => names::<ShelveParams>(),
            TaskKind::Unshelve => names::<UnshelveParams>(),
            TaskKind::Rescue => names::<RescueParams>(),
            TaskKind::Unrescue => names::<UnrescueParams>(),
            TaskKind::CreateBackup => names::<BackupParams>(),
            TaskKind::SoftDelete => names::<SoftDeleteParams>(),
            TaskKind::Restore => names::<RestoreParams>(),
        }
    }
}

/// A task's kind with the parameters it was queued with: written when the
/// task is queued (the variant is the stored `kind`, the content its
/// `params`) and read back typed by its saga.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TaskParams {
    Create(CreateParams),
    Delete(DeleteParams),
    Power(PowerParams),
    AttachInterface(AttachInterfaceParams),
    DetachInterface(DetachInterfaceParams),
    AttachVolume(AttachVolumeParams),
    DetachVolume(DetachVolumeParams),
    CreateImage(SnapshotParams),
    SwapVolume(SwapVolumeParams),
    /// A resize, or a cold migration (stored as `migrate`).
    Resize(ResizeParams),
    LiveMigrate(LiveMigrateParams),
    ConfirmResize(ConfirmParams),
    RevertResize(RevertParams),
    Rebuild(RebuildParams),
    ChangePassword(PasswordParams),
    AttachKeypairs(KeypairsParams),
    DetachKeypairs(KeypairsParams),
    Evacuate(EvacuateParams),
    Shelve(ShelveParams),
    ShelveOffload(ShelveParams),
    Unshelve(UnshelveParams),
    Rescue(RescueParams),
    Unrescue(UnrescueParams),
    CreateBackup(BackupParams),
    SoftDelete(SoftDeleteParams),
    Restore(RestoreParams),
}

impl TaskParams {
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskParams::Create(_) => TaskKind::Create,
            TaskParams::Delete(_) => TaskKind::Delete,
            TaskParams::Power(p) => TaskKind::power(p.op),
            TaskParams::AttachInterface(_) => TaskKind::AttachInterface,
            TaskParams::DetachInterface(_) => TaskKind::DetachInterface,
            TaskParams::AttachVolume(_) => TaskKind::AttachVolume,
            TaskParams::DetachVolume(_) => TaskKind::DetachVolume,
            TaskParams::CreateImage(_) => TaskKind::CreateImage,
            TaskParams::SwapVolume(_) => TaskKind::SwapVolume,
            TaskParams::Resize(p) if p.migrate => TaskKind::Migrate,
            TaskParams::Resize(_) => TaskKind::Resize,
            TaskParams::LiveMigrate(_) => TaskKind::LiveMigrate,
            TaskParams::ConfirmResize(_) => TaskKind::ConfirmResize,
            TaskParams::RevertResize(_) => TaskKind::RevertResize,
            TaskParams::Rebuild(_) => TaskKind::Rebuild,
            TaskParams::ChangePassword(_) => TaskKind::ChangePassword,
            TaskParams::AttachKeypairs(_) => TaskKind::AttachKeypairs,
            TaskParams::DetachKeypairs(_) => TaskKind::DetachKeypairs,
            TaskParams::Evacuate(_) => TaskKind::Evacuate,
            TaskParams::Shelve(_) => TaskKind::Shelve,
            TaskParams::ShelveOffload(_) => TaskKind::ShelveOffload,
            TaskParams::Unshelve(_) => TaskKind::Unshelve,
            TaskParams::Rescue(_) => TaskKind::Rescue,
            TaskParams::Unrescue(_) => TaskKind::Unrescue,
            TaskParams::CreateBackup(_) => TaskKind::CreateBackup,
            TaskParams::SoftDelete(_) => TaskKind::SoftDelete,
            TaskParams::Restore(_) => TaskKind::Restore,
        }
    }

    /// The parameters as stored.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("task parameters serialize")
    }

    /// Reads a stored task's parameters; a missing or malformed one is an
    /// error naming it.
    pub fn of(task: &Task) -> Result<TaskParams, String> {
        let kind = TaskKind::parse(&task.kind).ok_or_else(|| format!("unknown task kind {}", task.kind))?;
        let params = task.params.clone();
        let parsed = match kind {
            TaskKind::Create => read(params).map(TaskParams::Create),
            TaskKind::Delete => read(params).map(TaskParams::Delete),
            TaskKind::Stop => power::parse(PowerOp::Stop, params),
            TaskKind::Start => power::parse(PowerOp::Start, params),
            TaskKind::Reboot => power::parse(PowerOp::SoftReboot, params),
            TaskKind::RebootHard => power::parse(PowerOp::HardReboot, params),
            TaskKind::Pause => power::parse(PowerOp::Pause, params),
            TaskKind::Unpause => power::parse(PowerOp::Unpause, params),
            TaskKind::Suspend => power::parse(PowerOp::Suspend, params),
            TaskKind::Resume => power::parse(PowerOp::Resume, params),
            TaskKind::AttachInterface => read(params).map(TaskParams::AttachInterface),
            TaskKind::DetachInterface => read(params).map(TaskParams::DetachInterface),
            TaskKind::AttachVolume => read(params).map(TaskParams::AttachVolume),
            TaskKind::DetachVolume => read(params).map(TaskParams::DetachVolume),
            TaskKind::CreateImage => read(params).map(TaskParams::CreateImage),
            TaskKind::SwapVolume => read(params).map(TaskParams::SwapVolume),
            TaskKind::Resize | TaskKind::Migrate => read(params).map(TaskParams::Resize),
            TaskKind::LiveMigrate => read(params).map(TaskParams::LiveMigrate),
            TaskKind::ConfirmResize => read(params).map(TaskParams::ConfirmResize),
            TaskKind::RevertResize => read(params).map(TaskParams::RevertResize),
            TaskKind::Rebuild => read(params).map(TaskParams::Rebuild),
            TaskKind::ChangePassword => read(params).map(TaskParams::ChangePassword),
            TaskKind::AttachKeypairs => read(params).map(TaskParams::AttachKeypairs),
            TaskKind::DetachKeypairs => read(params).map(TaskParams::DetachKeypairs),
            TaskKind::Evacuate => read(params).map(TaskParams::Evacuate),
            TaskKind::Shelve => read(params).map(TaskParams::Shelve),
            TaskKind::ShelveOffload => read(params).map(TaskParams::ShelveOffload),
            TaskKind::Unshelve => read(params).map(TaskParams::Unshelve),
            TaskKind::Rescue => read(params).map(TaskParams::Rescue),
            TaskKind::Unrescue => read(params).map(TaskParams::Unrescue),
            TaskKind::CreateBackup => read(params).map(TaskParams::CreateBackup),
            TaskKind::SoftDelete => read(params).map(TaskParams::SoftDelete),
            TaskKind::Restore => read(params).map(TaskParams::Restore),
        };
        parsed.map_err(|e| format!("{kind} task {} has malformed parameters: {e}", task.id))
    }
}

/// Stored parameters as `T`; an error names the parameter at fault.
fn read<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, ParamsError> {
    serde_path_to_error::deserialize(params)
}

type ParamsError = serde_path_to_error::Error<serde_json::Error>;

/// Runs `$body` with `$saga` bound to the saga of `$params` (a
/// `&TaskParams`): the one place a task's parameters choose its saga.
macro_rules! with_saga {
    ($params:expr, $saga:ident => $body:expr) => {
        match $params {
            $crate::compute::sagas::TaskParams::Create($saga) => $body,
            $crate::compute::sagas::TaskParams::Delete($saga) => $body,
            $crate::compute::sagas::TaskParams::Power($saga) => $body,
            $crate::compute::sagas::TaskParams::AttachInterface($saga) => $body,
            $crate::compute::sagas::TaskParams::DetachInterface($saga) => $body,
            $crate::compute::sagas::TaskParams::AttachVolume($saga) => $body,
            $crate::compute::sagas::TaskParams::DetachVolume($saga) => $body,
            $crate::compute::sagas::TaskParams::CreateImage($saga) => $body,
            $crate::compute::sagas::TaskParams::SwapVolume($saga) => $body,
            $crate::compute::sagas::TaskParams::Resize($saga) => $body,
            $crate::compute::sagas::TaskParams::LiveMigrate($saga) => $body,
            $crate::compute::sagas::TaskParams::ConfirmResize($saga) => $body,
            $crate::compute::sagas::TaskParams::RevertResize($saga) => $body,
            $crate::compute::sagas::TaskParams::Rebuild($saga) => $body,
            $crate::compute::sagas::TaskParams::ChangePassword($saga) => $body,
            $crate::compute::sagas::TaskParams::AttachKeypairs($saga) => $body,
            $crate::compute::sagas::TaskParams::DetachKeypairs($saga) => $body,
            $crate::compute::sagas::TaskParams::Evacuate($saga) => $body,
            $crate::compute::sagas::TaskParams::Shelve($saga) => $body,
            $crate::compute::sagas::TaskParams::ShelveOffload($saga) => $body,
            $crate::compute::sagas::TaskParams::Unshelve($saga) => $body,
            $crate::compute::sagas::TaskParams::Rescue($saga) => $body,
            $crate::compute::sagas::TaskParams::Unrescue($saga) => $body,
            $crate::compute::sagas::TaskParams::CreateBackup($saga) => $body,
            $crate::compute::sagas::TaskParams::SoftDelete($saga) => $body,
            $crate::compute::sagas::TaskParams::Restore($saga) => $body,
        }
    };
}
pub(crate) use with_saga;

// Helpers the sagas share.

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

/// A guest that is already gone needs no undoing.
fn ignore_missing(e: HypervisorError) -> Result<(), HypervisorError> {
    match e {
        HypervisorError::NotFound(_) => Ok(()),
        other => Err(other),
    }
}

/// The driver of the server's host; `Reschedule` when it is not driven here.
fn driver_for(core: &Core, server: &Server) -> Result<Arc<dyn Hypervisor>, StepError> {
    let host = server.host.as_deref().ok_or_else(|| StepError::Fatal("the server has no host".into()))?;
    core.drivers.get(host).ok_or_else(|| StepError::Reschedule(format!("host {host} is unreachable")))
}

/// [`driver_for`] where no other host could do: a missing host is fatal.
fn host_driver(core: &Core, server: &Server) -> Result<Arc<dyn Hypervisor>, StepError> {
    driver_for(core, server).map_err(|e| StepError::Fatal(e.to_string()))
}

/// What a server of `flavor` holds on its host.
pub(crate) fn claim_of(flavor: &FlavorSnapshot) -> Claim {
    Claim { vcpus: flavor.vcpus, ram_mb: flavor.ram_mb, disk_gb: flavor.disk_gb + flavor.ephemeral_gb }
}

/// The server with no task running.
fn idle() -> ServerUpdate {
    ServerUpdate { task_state: Some(None), ..Default::default() }
}

/// For `skip_serializing_if`: flags that are off are not written.
fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(kind: &str, params: Value) -> Task {
        Task {
            id: "t".into(),
            seq: 1,
            parent_id: None,
            kind: kind.into(),
            server_id: Some("s".into()),
            project_id: "p".into(),
            user_id: "u".into(),
            request_id: "r".into(),
            phase: ecs_types::server::TaskPhase::Pending,
            step: 0,
            params,
            progress: Value::Null,
            message: None,
            attempts: 0,
            created_at: ecs_types::clock::now(),
            updated_at: ecs_types::clock::now(),
            finished_at: None,
        }
    }

    #[test]
    fn every_kind_has_steps_and_round_trips_its_name() {
        for kind in TaskKind::ALL {
            assert_eq!(TaskKind::parse(kind.as_str()), Some(*kind));
            assert!(!kind.steps().is_empty(), "{kind}");
        }
        assert_eq!(TaskKind::RebootHard.action(), "reboot");
    }

    #[test]
    fn a_missing_parameter_is_an_error_not_empty() {
        let e = TaskParams::of(&stored("attach_volume", serde_json::json!({}))).unwrap_err();
        assert!(e.contains("volume_id"), "{e}");
        let e = TaskParams::of(&stored("resize", serde_json::json!({"migrate": false}))).unwrap_err();
        assert!(e.contains("flavor"), "{e}");
        assert!(TaskParams::of(&stored("shelve", serde_json::json!({}))).is_err());
        let e = TaskParams::of(&stored("changePassword", serde_json::json!({"admin_pass": 5}))).unwrap_err();
        assert!(e.contains("admin_pass"), "{e}");
        let e = TaskParams::of(&stored("stop", serde_json::json!({"force": "yes"}))).unwrap_err();
        assert!(e.contains("force"), "{e}");
    }

    #[test]
    fn parameters_are_stored_as_before() {
        let stop = TaskParams::Power(PowerParams { op: PowerOp::Stop, force: true });
        assert_eq!((stop.kind().as_str(), stop.to_value()), ("stop", serde_json::json!({"force": true})));
        let start = TaskParams::Power(PowerParams { op: PowerOp::Start, force: false });
        assert_eq!(start.to_value(), serde_json::json!({}));
        let read = TaskParams::of(&stored("reboot_hard", serde_json::json!({}))).unwrap();
        assert_eq!(read.kind(), TaskKind::RebootHard);
        let nic = serde_json::json!({"port_id": "p", "existing_port": "yes"});
        let read = TaskParams::of(&stored("attach_interface", nic.clone())).unwrap();
        assert_eq!(read.to_value(), nic);
        let nic = serde_json::json!({"port_id": "p", "net_id": "n", "subnet_id": null, "fixed_ip": "10.0.0.5"});
        let read = TaskParams::of(&stored("attach_interface", nic.clone())).unwrap();
        assert_eq!(read.to_value(), nic);
    }

    #[test]
    fn secrets_sit_where_the_engine_drops_them() {
        let rebuild = TaskParams::Rebuild(RebuildParams {
            admin_pass: Some("pw".into()),
            image_id: ecs_types::ImageId::new("i"),
            preserve_ephemeral: false,
            stop_first: false,
            start_after: false,
            os_change: false,
        });
        assert_eq!(rebuild.to_value()[super::super::engine::SECRET_PARAM], "pw");
        let change = TaskParams::ChangePassword(PasswordParams { admin_pass: Some("pw".into()) });
        assert_eq!(change.to_value()[super::super::engine::SECRET_PARAM], "pw");
        // Once dropped, the parameters still read (the task is over).
        assert!(TaskParams::of(&stored("changePassword", serde_json::json!({}))).is_ok());
    }

    #[test]
    fn progress_keeps_the_keys_readers_look_for() {
        use crate::compute::failure::{FAILURE_REASON, FailureKind};
        let progress = Progress {
            failure: Some("no".into()),
            failure_reason: Some(TaskFailure::new(FailureKind::Other, "no")),
            ..Default::default()
        };
        let stored = serde_json::to_value(&progress).unwrap();
        assert_eq!(stored["failure"], "no");
        assert_eq!(stored[FAILURE_REASON]["kind"], "other");
        assert_eq!(serde_json::from_value::<Progress>(stored).unwrap(), progress);
    }
}
