//! Resize and cold migration (a resize to the same flavor on another
//! host), then its confirm or revert. Until one of those, the old flavor's
//! claim stays on the source host under the migration's consumer, and a
//! guest on another host stays there too.

use ecs_hypervisor::{HypervisorError, MoveKind};
use ecs_store::ServerUpdate;
use ecs_types::migration::{MigrationStatus, MigrationType};
use ecs_types::server::{FlavorSnapshot, OpenResize, PowerState, Server, TaskState, VmState};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::guest::full_spec;
use super::{
    HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, claim_of, host_driver, idle, ignore_missing,
    undo_on, undo_on_host,
};
use crate::Core;
use crate::compute::moves::{move_dest, move_status, open_move, record_move};
use crate::compute::scheduler;
use crate::compute::{FailureKind, TaskFailure};

/// A resize rolls back (its steps undo themselves, as Nova's
/// InstanceFaultRollback): the server stays as it was and the fault tells why.
pub(super) const ON_FAILURE: OnFailure = OnFailure::RolledBackWithFault;
/// A confirm or revert cannot be rolled back: ERROR.
pub(super) const FINISH_ON_FAILURE: OnFailure = OnFailure::Error;

/// The consumer that holds a resizing server's old claim.
pub(super) fn migration_consumer(server_id: &str) -> String {
    format!("{server_id}/migration")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The flavor the server goes to (its own for a migration).
    pub flavor: FlavorSnapshot,
    /// The state the server had: an active one is started again on its new host.
    #[serde(serialize_with = "vm_state_text", deserialize_with = "vm_state_parse")]
    pub old_vm_state: VmState,
    /// A cold migration: another host is chosen.
    pub migrate: bool,
    /// Confirmed at once (ECS): the last step confirms it.
    pub auto_confirm: bool,
    /// A cold migration to this host (Nova 2.56), still through the
    /// scheduler's filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// ECS migrate: to the public pool (false) or to the dedicated host
    /// `host` (true); None goes where the server's hints say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedicated: Option<bool>,
}

fn vm_state_text<S: Serializer>(state: &VmState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

fn vm_state_parse<'de, D: Deserializer<'de>>(d: D) -> Result<VmState, D::Error> {
    let text = String::deserialize(d)?;
    VmState::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown vm_state {text}")))
}

impl Params {
    fn was_active(&self) -> bool {
        self.old_vm_state == VmState::Active
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Moves the old claim to the migration and claims the new flavor on a host.
    Claim,
    /// Stops the guest.
    Migrate,
    /// Resizes the guest in place or builds it on the new host.
    Finish,
    /// Confirms it when the task asks (does nothing otherwise).
    AutoConfirm,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Claim, Step::Migrate, Step::Finish, Step::AutoConfirm];

    fn event(&self, step: Step) -> &'static str {
        match step {
            Step::Claim => "compute_prep_resize",
            Step::Migrate => "compute_resize_instance",
            Step::Finish | Step::AutoConfirm => "compute_finish_resize",
        }
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        match step {
            Step::Claim => self.claim(cx, server).await,
            Step::Migrate => self.migrate(cx, server).await,
            Step::Finish => self.finish(cx, server).await,
            Step::AutoConfirm if !self.auto_confirm => Ok(None),
            Step::AutoConfirm => {
                // The finish step recorded the open resize; this copy predates it.
                *server = cx.core.store.server_get(&server.id).await?;
                confirm(cx.core, server).await
            }
        }
    }

    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let (core, id) = (cx.core, cx.server_id()?);
        match step {
            // The old claim comes back to the server and its quota count
            // to the old flavor (still the server's: the finish did not happen).
            Step::Claim => {
                move_status(core, cx.task, MigrationStatus::Error).await?;
                core.store.allocation_restore(id, &migration_consumer(id)).await?;
                let server = core.store.server_get(id).await?;
                let usage = (server.flavor.vcpus, server.flavor.ram_mb);
                core.store.server_update(id, &ServerUpdate { usage: Some(usage), ..Default::default() }).await?;
            }
            Step::Migrate if self.was_active() => undo_on_host(core, id, HostUndo::PowerOn).await?,
            Step::Migrate => {}
            // The server is still the old one on its source host.
            Step::Finish => {
                let server = core.store.server_get(id).await?;
                let dest = cx.progress.dest_host.clone().unwrap_or_default();
                if server.host.as_deref() == Some(dest.as_str()) {
                    if let Some(driver) = core.drivers.get(&dest) {
                        let old = &server.flavor;
                        driver.power_off(id, false).await.or_else(ignore_missing)?;
                        driver
                            .resize(id, old.vcpus as u32, old.ram_mb as u64, old.disk_gb as u64)
                            .await
                            .or_else(ignore_missing)?;
                    }
                } else {
                    if let Some(driver) = core.drivers.get(&dest) {
                        driver.abort_incoming(id).await.or_else(ignore_missing)?;
                    }
                    undo_on(core, &dest, id, HostUndo::Destroy).await?;
                }
            }
            Step::AutoConfirm => {}
        }
        Ok(())
    }
}

impl Params {
    async fn claim(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let new = &self.flavor;
        // The old flavor's claim stays, under the migration, until the
        // resize is confirmed or reverted.
        core.store.allocation_move(&server.id, &migration_consumer(&server.id)).await?;
        let kind = if self.migrate { MigrationType::Migration } else { MigrationType::Resize };
        record_move(core, cx.task, server, kind, None, &new.id).await?;
        let target = Server { flavor: new.clone(), ..server.clone() };
        // A cold migration goes to another host; so does a resize unless
        // the deployment allows the same host (Nova's
        // `allow_resize_to_same_host`).
        let excluded: Vec<String> = match &server.host {
            Some(source) if self.migrate || !core.config.allow_resize_to_same_host => vec![source.clone()],
            _ => Vec::new(),
        };
        let options = scheduler::PlaceOptions {
            excluded: &excluded,
            requested_host: self.host.as_deref(),
            tenancy: self
                .dedicated
                .map(|d| if d { scheduler::Tenancy::Dedicated { host_id: None } } else { scheduler::Tenancy::Shared }),
            resumed: true,
        };
        let host = scheduler::place_with(core, &target, claim_of(new), options).await?;
        move_dest(core, cx.task, &host.name).await?;
        cx.progress.dest_host = Some(host.name);
        cx.progress.dest_az = Some(host.availability_zone);
        Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::ResizeMigrating)), ..Default::default() }))
    }

    async fn migrate(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let (new, old) = (&self.flavor, &server.flavor);
        if disk_shrinks(old, new, server.image_id.is_some()) {
            let message = "Resize error: Unable to resize disk down.";
            return Err(StepError::Failed(TaskFailure::new(FailureKind::ResizeDiskDown, message)));
        }
        move_status(core, cx.task, MigrationStatus::Migrating).await?;
        let source = host_driver(core, server)?;
        source.power_off(&server.id, true).await?;
        // To another host: its disk goes there, unless the drivers cannot
        // move guests (then the finish builds it anew there).
        let dest = cx.progress.dest_host.clone().unwrap_or_default();
        cx.progress.respawn = false;
        if server.host.as_deref() != Some(dest.as_str()) {
            let dest_driver =
                core.drivers.get(&dest).ok_or_else(|| StepError::Fatal(format!("host {dest} is unreachable")))?;
            let target = Server { flavor: new.clone(), ..server.clone() };
            let sent = match dest_driver.prepare_incoming(&full_spec(core, &target).await?, MoveKind::Cold).await {
                Ok(to) => source.send_guest(&server.id, &to, MoveKind::Cold).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => {}
                Err(HypervisorError::Unsupported { .. }) => cx.progress.respawn = true,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::ResizeMigrated)), ..Default::default() }))
    }

    async fn finish(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let (core, new, was_active) = (cx.core, &self.flavor, self.was_active());
        let missing = || StepError::Fatal("the resize's claim step recorded no host".into());
        let dest = cx.progress.dest_host.clone().ok_or_else(missing)?;
        let dest_az = cx.progress.dest_az.clone().ok_or_else(missing)?;
        let source = server.host.clone().unwrap_or_default();
        let dest_driver =
            core.drivers.get(&dest).ok_or_else(|| StepError::Fatal(format!("host {dest} is unreachable")))?;
        if dest == source {
            dest_driver.resize(&server.id, new.vcpus as u32, new.ram_mb as u64, new.disk_gb as u64).await?;
            if was_active {
                dest_driver.power_on(&server.id).await?;
            }
        } else if cx.progress.respawn {
            let target = Server { flavor: new.clone(), ..server.clone() };
            dest_driver.spawn(&full_spec(core, &target).await?).await?;
            if !was_active {
                dest_driver.power_off(&server.id, false).await?;
            }
        } else {
            let target = Server { flavor: new.clone(), ..server.clone() };
            dest_driver.finish_incoming(&full_spec(core, &target).await?, MoveKind::Cold, was_active).await?;
        }
        move_status(core, cx.task, MigrationStatus::Finished).await?;
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
            flavor: Some(new.clone()),
            resize: Some(Some(open)),
            ..Default::default()
        }))
    }
}

/// Keeps the new flavor: the source host's guest and claim go.
async fn confirm(core: &Core, server: &Server) -> StepResult {
    let Some(open) = server.resize.clone() else { return Ok(Some(idle())) };
    if server.host.as_deref() != Some(open.source_host.as_str()) {
        undo_on(core, &open.source_host, &server.id, HostUndo::Destroy).await?;
    }
    core.store.host_release(&migration_consumer(&server.id)).await?;
    if let Some(m) = open_move(core, &server.id).await? {
        core.store.migration_set_status(&m.uuid, MigrationStatus::Confirmed, None).await?;
    }
    let stopped = server.power_state == PowerState::Shutdown;
    Ok(Some(ServerUpdate {
        vm_state: Some(if stopped { VmState::Stopped } else { VmState::Active }),
        task_state: Some(None),
        resize: Some(None),
        usage: Some((server.flavor.vcpus, server.flavor.ram_mb)),
        ..Default::default()
    }))
}

/// `confirmResize`: nothing to give.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfirmParams {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmStep {
    Confirm,
}

impl Saga for ConfirmParams {
    type Step = ConfirmStep;
    const STEPS: &'static [ConfirmStep] = &[ConfirmStep::Confirm];

    fn event(&self, _step: ConfirmStep) -> &'static str {
        "compute_confirm_resize"
    }

    async fn run(&self, _step: ConfirmStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        confirm(cx.core, server).await
    }

    async fn undo(&self, _step: ConfirmStep, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}

/// `revertResize`: nothing to give.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RevertParams {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertStep {
    Revert,
}

impl Saga for RevertParams {
    type Step = RevertStep;
    const STEPS: &'static [RevertStep] = &[RevertStep::Revert];

    fn event(&self, _step: RevertStep) -> &'static str {
        "compute_revert_resize"
    }

    /// Goes back to the old flavor on the source host.
    async fn run(&self, _step: RevertStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        let Some(open) = server.resize.clone() else { return Ok(Some(idle())) };
        let old = &open.old_flavor;
        let source = open.source_host.clone();
        let source_driver =
            core.drivers.get(&source).ok_or_else(|| StepError::Fatal(format!("host {source} is unreachable")))?;
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
        if let Some(m) = open_move(core, &server.id).await? {
            core.store.migration_set_status(&m.uuid, MigrationStatus::Reverted, None).await?;
        }
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

    async fn undo(&self, _step: RevertStep, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}

/// Nova's libvirt driver: a local disk (of a server booted from an image)
/// never shrinks.
pub(crate) fn disk_shrinks(old: &FlavorSnapshot, new: &FlavorSnapshot, image_backed: bool) -> bool {
    image_backed && (new.disk_gb < old.disk_gb || new.ephemeral_gb < old.ephemeral_gb)
}
