//! Evacuation: a server whose host is down is rebuilt on another host
//! with the same ports, volumes and metadata (Nova's `evacuate`). The
//! source host is not asked anything: it is down. When it comes back, its
//! copy of the guest is destroyed (`Core::reconcile_host`), as Nova's
//! compute service destroys evacuated instances at start.

use ecs_store::ServerUpdate;
use ecs_types::migration::{MigrationStatus, MigrationType};
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::guest::full_spec;
use super::{
    HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, claim_of, ignore_missing, is_false, undo_on,
};
use crate::compute::moves::{move_status, record_move};
use crate::compute::scheduler;
use crate::compute::{FailureKind, TaskFailure};

/// A failed evacuation leaves the server where it was (on its down
/// host), with a fault that tells why; it may be tried again.
pub(super) const ON_FAILURE: OnFailure = OnFailure::RolledBackWithFault;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The host asked for; the scheduler picks one if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// 2.29 to 2.67: the asked-for host is taken without the scheduler's filters.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
    /// The rebuilt guest's admin password. A secret: the engine drops it
    /// from the stored parameters when the task ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
    /// 2.95: the evacuated server ends SHUTOFF, whatever it was.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stop: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Gives up the source host's claim and claims on the new host.
    Claim,
    /// Builds the guest on the new host.
    Rebuild,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Claim, Step::Rebuild];

    fn event(&self, _step: Step) -> &'static str {
        "compute_rebuild_instance"
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        match step {
            Step::Claim => self.claim(cx, server).await,
            Step::Rebuild => self.rebuild(cx, server).await,
        }
    }

    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let (core, id) = (cx.core, cx.server_id()?);
        match step {
            // The claim goes back to the source host if it still fits there.
            Step::Claim => {
                move_status(core, cx.task, MigrationStatus::Failed).await?;
                let server = core.store.server_get(id).await?;
                let source = server.host.clone().unwrap_or_default();
                if core.store.host_of_claim(id).await?.is_some_and(|h| h.name != source) {
                    core.store.host_release(id).await?;
                }
                if let Ok(h) = core.store.host_get_by_name(&source).await {
                    core.store.host_claim(id, &h.id, claim_of(&server.flavor)).await?;
                }
            }
            Step::Rebuild => {
                if let Some(dest) = cx.progress.dest_host.clone() {
                    undo_on(core, &dest, id, HostUndo::Destroy).await?;
                }
            }
        }
        Ok(())
    }
}

impl Params {
    async fn claim(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let source = server.host.clone().unwrap_or_default();
        // The evacuation's record (Nova's migration of type evacuation),
        // accepted until the guest is rebuilt.
        record_move(core, cx.task, server, MigrationType::Evacuation, None, &server.flavor.id).await?;
        // The down host's claim goes with it (its resources are not
        // counted while the server lives elsewhere). Once the new claim
        // is made, a re-run finds it and keeps it.
        if core.store.host_of_claim(&server.id).await?.is_some_and(|h| h.name == source) {
            core.store.host_release(&server.id).await?;
        }
        let claim = claim_of(&server.flavor);
        let host = match &self.host {
            Some(target) if self.force => {
                let h = core.store.host_get_by_name(target).await?;
                match core.store.host_claim(&server.id, &h.id, claim).await? {
                    Some(holder) if holder == h.id => h,
                    Some(_) => core.store.host_of_claim(&server.id).await?.unwrap_or(h),
                    None => {
                        return Err(StepError::Failed(TaskFailure::new(
                            FailureKind::NoValidHost,
                            scheduler::NO_VALID_HOST,
                        )));
                    }
                }
            }
            // The asked-for host, through the scheduler's filters: every
            // other host counts as tried.
            Some(target) => {
                let options = scheduler::PlaceOptions {
                    excluded: std::slice::from_ref(&source),
                    requested_host: Some(target.as_str()),
                    resumed: true,
                    ..Default::default()
                };
                scheduler::place_with(core, server, claim, options).await?
            }
            None => scheduler::place(core, server, claim, std::slice::from_ref(&source), true).await?,
        };
        record_move(core, cx.task, server, MigrationType::Evacuation, Some(&host.name), &server.flavor.id).await?;
        cx.progress.dest_host = Some(host.name);
        cx.progress.dest_az = Some(host.availability_zone);
        Ok(None)
    }

    async fn rebuild(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let missing = || StepError::Fatal("the evacuation's claim step recorded no host".into());
        let dest = cx.progress.dest_host.clone().ok_or_else(missing)?;
        let dest_az = cx.progress.dest_az.clone().ok_or_else(missing)?;
        let driver = core.drivers.get(&dest).ok_or_else(|| StepError::Fatal(format!("host {dest} is unreachable")))?;
        // A half-built guest of an interrupted run goes first.
        driver.destroy(&server.id).await.or_else(ignore_missing)?;
        let mut spec = full_spec(core, server).await?;
        spec.admin_pass = self.admin_pass.clone();
        driver.spawn(&spec).await?;
        // Before 2.95 a stopped server stays stopped and any other comes
        // back running (Nova rebuilds it ACTIVE).
        let stopped = self.stop || server.vm_state == VmState::Stopped;
        if stopped {
            driver.power_off(&server.id, false).await?;
        }
        // `done` until the source host is back and has destroyed its copy
        // (then `completed`, as Nova's compute service marks it at start).
        move_status(core, cx.task, MigrationStatus::Done).await?;
        Ok(Some(ServerUpdate {
            vm_state: Some(if stopped { VmState::Stopped } else { VmState::Active }),
            task_state: Some(None),
            power_state: Some(if stopped { PowerState::Shutdown } else { PowerState::Running }),
            host: Some(Some(dest)),
            availability_zone: Some(dest_az),
            launched_at: Some(ecs_types::clock::now()),
            ..Default::default()
        }))
    }
}
