//! Which action is allowed in which state: the one place it is decided
//! (Nova's `check_instance_state` decorators, gathered in a table).

use ecs_types::server::{Server, TaskState, VmState};

use crate::{Error, Result, StateAttr};

/// Something a user asks of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Stop,
    Start,
    Reboot {
        hard: bool,
    },
    Pause,
    Unpause,
    Suspend,
    Resume,
    Delete,
    ForceDelete,
    Lock,
    Unlock,
    Update,
    ConsoleOutput,
    AttachInterface,
    DetachInterface,
    AttachVolume,
    DetachVolume,
    CreateImage,
    Resize,
    ConfirmResize,
    RevertResize,
    Rebuild,
    ChangePassword,
    SetKeypairs,
    RemoteConsole,
    Evacuate,
    /// A cold migration (Nova's `migrate`, ECS `migrate`).
    Migrate,
    LiveMigrate,
    /// Forcing a live migration to finish (its conflict message).
    ForceComplete,
    Shelve,
    ShelveOffload,
    Unshelve,
    Rescue,
    Unrescue,
    CreateBackup,
    /// A delete under `reclaim_instance_interval`: the server waits
    /// SOFT_DELETED until it is restored or reclaimed.
    SoftDelete,
    Restore,
    TriggerCrashDump,
}

impl Action {
    /// The name Nova uses in its conflict messages and instance actions.
    pub fn name(self) -> &'static str {
        match self {
            Action::Stop => "stop",
            Action::Start => "start",
            Action::Reboot { .. } => "reboot",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Delete => "delete",
            Action::ForceDelete => "forceDelete",
            Action::Lock => "lock",
            Action::Unlock => "unlock",
            Action::Update => "update",
            Action::ConsoleOutput => "get_console_output",
            Action::AttachInterface => "attach_interface",
            Action::DetachInterface => "detach_interface",
            Action::AttachVolume => "attach_volume",
            Action::DetachVolume => "detach_volume",
            Action::CreateImage => "createImage",
            Action::Resize => "resize",
            Action::ConfirmResize => "confirmResize",
            Action::RevertResize => "revertResize",
            Action::Rebuild => "rebuild",
            Action::ChangePassword => "changePassword",
            Action::SetKeypairs => "set_keypairs",
            Action::RemoteConsole => "get_vnc_console",
            Action::Evacuate => "evacuate",
            Action::Migrate => "migrate",
            Action::LiveMigrate => "os-migrateLive",
            Action::ForceComplete => "force_complete",
            Action::Shelve => "shelve",
            Action::ShelveOffload => "shelveOffload",
            Action::Unshelve => "unshelve",
            Action::Rescue => "rescue",
            Action::Unrescue => "unrescue",
            Action::CreateBackup => "createBackup",
            Action::SoftDelete => "soft_delete",
            Action::Restore => "restore",
            Action::TriggerCrashDump => "trigger_crash_dump",
        }
    }

    /// The Nova policy rule the action is allowed under (every one of
    /// them changes the server, or shows what only members may see).
    pub fn rule(self) -> &'static str {
        match self {
            Action::Stop => "os_compute_api:servers:stop",
            Action::Start => "os_compute_api:servers:start",
            Action::Reboot { .. } => "os_compute_api:servers:reboot",
            Action::Pause => "os_compute_api:os-pause-server:pause",
            Action::Unpause => "os_compute_api:os-pause-server:unpause",
            Action::Suspend => "os_compute_api:os-suspend-server:suspend",
            Action::Resume => "os_compute_api:os-suspend-server:resume",
            Action::Delete => "os_compute_api:servers:delete",
            Action::ForceDelete => "os_compute_api:os-deferred-delete:force",
            Action::Lock => "os_compute_api:os-lock-server:lock",
            Action::Unlock => "os_compute_api:os-lock-server:unlock",
            Action::Update => "os_compute_api:servers:update",
            Action::ConsoleOutput => "os_compute_api:os-console-output",
            Action::AttachInterface => "os_compute_api:os-attach-interfaces:create",
            Action::DetachInterface => "os_compute_api:os-attach-interfaces:delete",
            Action::AttachVolume => "os_compute_api:os-volumes-attachments:create",
            Action::DetachVolume => "os_compute_api:os-volumes-attachments:delete",
            Action::CreateImage => "os_compute_api:servers:create_image",
            Action::Resize => "os_compute_api:servers:resize",
            Action::ConfirmResize => "os_compute_api:servers:confirm_resize",
            Action::RevertResize => "os_compute_api:servers:revert_resize",
            Action::Rebuild => "os_compute_api:servers:rebuild",
            Action::ChangePassword => "os_compute_api:os-admin-password",
            Action::SetKeypairs => "os_compute_api:servers:set_keypairs",
            Action::RemoteConsole => "os_compute_api:os-remote-consoles",
            Action::Evacuate => "os_compute_api:os-evacuate",
            Action::Migrate => "os_compute_api:os-migrate-server:migrate",
            Action::LiveMigrate => "os_compute_api:os-migrate-server:migrate_live",
            Action::ForceComplete => "os_compute_api:servers:migrations:force_complete",
            Action::Shelve => "os_compute_api:os-shelve:shelve",
            Action::ShelveOffload => "os_compute_api:os-shelve:shelve_offload",
            Action::Unshelve => "os_compute_api:os-shelve:unshelve",
            Action::Rescue => "os_compute_api:os-rescue",
            Action::Unrescue => "os_compute_api:os-unrescue",
            Action::CreateBackup => "os_compute_api:os-create-backup",
            Action::SoftDelete => "os_compute_api:servers:delete",
            Action::Restore => "os_compute_api:os-deferred-delete:restore",
            Action::TriggerCrashDump => "os_compute_api:servers:trigger_crash_dump",
        }
    }

    /// vm_states the action starts from; None means any.
    pub fn allowed_vm_states(self) -> Option<&'static [VmState]> {
        use VmState::*;
        Some(match self {
            Action::Stop => &[Active, Error],
            Action::Start => &[Stopped],
            // Nova: soft reboot from active only; hard reboot also from
            // stopped, paused, suspended and error.
            Action::Reboot { hard: false } => &[Active],
            Action::Reboot { hard: true } => &[Active, Stopped, Paused, Suspended, Error],
            Action::Pause => &[Active],
            Action::Unpause => &[Paused],
            Action::Suspend => &[Active],
            Action::Resume => &[Suspended],
            Action::AttachInterface | Action::DetachInterface => &[Active, Paused, Stopped],
            // The seeds: no volume changes on a suspended or paused server.
            Action::AttachVolume | Action::DetachVolume => &[Active, Stopped],
            Action::CreateImage => &[Active, Stopped, Paused, Suspended],
            Action::Resize | Action::Migrate => &[Active, Stopped],
            // Nova moves a paused guest live too.
            Action::LiveMigrate | Action::ForceComplete => &[Active, Paused],
            Action::ConfirmResize | Action::RevertResize => &[Resized],
            Action::Rebuild => &[Active, Stopped, Error],
            Action::Evacuate => &[Active, Stopped, Error],
            Action::ChangePassword => &[Active],
            Action::SetKeypairs => &[Active, Stopped],
            Action::RemoteConsole => &[Active, Stopped, Paused, Suspended, Resized, Rescued],
            Action::ConsoleOutput => &[Active, Stopped, Paused, Suspended, Error, Resized, Rescued, Building],
            Action::Shelve | Action::CreateBackup => &[Active, Stopped, Paused, Suspended],
            Action::ShelveOffload => &[Shelved],
            Action::Unshelve => &[Shelved, ShelvedOffloaded],
            Action::Rescue => &[Active, Stopped, Error],
            Action::Unrescue => &[Rescued],
            Action::Restore => &[SoftDeleted],
            // Nova's soft delete takes a server that was built, idle.
            Action::SoftDelete => &[Active, Stopped, Paused, Suspended, Error, Resized, Rescued, Shelved],
            Action::TriggerCrashDump => &[Active, Paused, Rescued, Resized, Error],
            // Nova's force_delete: any vm_state, no task running.
            Action::Delete | Action::ForceDelete | Action::Lock | Action::Unlock | Action::Update => return None,
        })
    }

    /// task_states the action may start from besides idle.
    pub fn allowed_task_states(self) -> Option<&'static [TaskState]> {
        use TaskState::*;
        match self {
            // Delete interrupts anything (a build is unwound by its own
            // task before the delete runs: tasks of a server run in order).
            Action::Delete | Action::Lock | Action::Unlock | Action::Update => None,
            Action::ConsoleOutput | Action::RemoteConsole => None,
            // Nova lets a hard reboot override a stuck soft reboot.
            Action::Reboot { hard: true } => {
                Some(&[Rebooting, RebootPending, RebootStarted, RebootingHard, RebootPendingHard, RebootStartedHard])
            }
            _ => Some(&[]),
        }
    }

    /// Whether the action needs the server's host to be up: refused with
    /// 409 while it is down (Nova's `check_instance_host(check_is_up=True)`).
    /// A delete does without (Nova's local delete), and an evacuation
    /// needs the host down.
    pub fn needs_host(self) -> bool {
        !matches!(
            self,
            Action::Delete
                | Action::ForceDelete
                | Action::Lock
                | Action::Unlock
                | Action::Update
                | Action::Evacuate
                | Action::Unshelve
        )
    }

    /// Whether a locked server refuses this action for its non-admin owner.
    pub fn refused_when_locked(self) -> bool {
        // Nova does not check the lock for a backup.
        !matches!(
            self,
            Action::Lock | Action::Unlock | Action::ConsoleOutput | Action::RemoteConsole | Action::CreateBackup
        )
    }

    /// The task state the server shows while the action runs.
    pub fn task_state(self) -> Option<TaskState> {
        Some(match self {
            Action::Stop => TaskState::PoweringOff,
            Action::Start => TaskState::PoweringOn,
            Action::Reboot { hard: false } => TaskState::Rebooting,
            Action::Reboot { hard: true } => TaskState::RebootingHard,
            Action::Pause => TaskState::Pausing,
            Action::Unpause => TaskState::Unpausing,
            Action::Suspend => TaskState::Suspending,
            Action::Resume => TaskState::Resuming,
            Action::Delete | Action::ForceDelete => TaskState::Deleting,
            Action::CreateImage => TaskState::ImageSnapshot,
            Action::Resize | Action::Migrate => TaskState::ResizePrep,
            Action::LiveMigrate => TaskState::Migrating,
            Action::RevertResize => TaskState::ResizeReverting,
            Action::ConfirmResize => TaskState::ResizeConfirming,
            Action::Rebuild | Action::Evacuate => TaskState::Rebuilding,
            Action::ChangePassword => TaskState::UpdatingPassword,
            Action::Shelve => TaskState::Shelving,
            Action::ShelveOffload => TaskState::ShelvingOffloading,
            Action::Unshelve => TaskState::Unshelving,
            Action::Rescue => TaskState::Rescuing,
            Action::Unrescue => TaskState::Unrescuing,
            Action::CreateBackup => TaskState::ImageBackup,
            Action::SoftDelete => TaskState::SoftDeleting,
            Action::Restore => TaskState::Restoring,
            _ => return None,
        })
    }
}

/// Nova's 409 for an action the server's state forbids.
pub fn invalid_state(action: Action, server: &Server) -> Error {
    let (attr, state) = match server.task_state {
        Some(t) if action.allowed_vm_states().is_none_or(|s| s.contains(&server.vm_state)) => {
            (StateAttr::TaskState, t.as_str())
        }
        _ => (StateAttr::VmState, server.vm_state.as_str()),
    };
    Error::InvalidState { action: action.name(), server_id: server.id.clone(), attr, state: state.to_string() }
}

/// Checks `action` against the server's current state.
pub fn check(action: Action, server: &Server) -> Result<()> {
    if let Some(states) = action.allowed_vm_states()
        && !states.contains(&server.vm_state)
    {
        return Err(invalid_state(action, server));
    }
    if let Some(tasks) = action.allowed_task_states()
        && let Some(t) = server.task_state
        && !tasks.contains(&t)
    {
        return Err(invalid_state(action, server));
    }
    Ok(())
}
