//! Deferred delete (Nova's `reclaim_instance_interval`): a delete powers
//! the guest off and leaves the server SOFT_DELETED, holding its host,
//! until `restore` brings it back or the reclaim (or `forceDelete`)
//! deletes it.

use ecs_store::ServerUpdate;
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver, ignore_missing};

pub(super) const ON_FAILURE: OnFailure = OnFailure::Error;
/// A failed restore leaves the server SOFT_DELETED.
pub(super) const RESTORE_ON_FAILURE: OnFailure = OnFailure::Idle;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    PowerOff,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::PowerOff];

    fn event(&self, _step: Step) -> &'static str {
        "compute_soft_delete_instance"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        if let Some(host) = server.host.clone()
            && core.host_named_up(&host).await
        {
            host_driver(core, server)?.power_off(&server.id, true).await.or_else(ignore_missing)?;
        }
        Ok(Some(ServerUpdate {
            vm_state: Some(VmState::SoftDeleted),
            task_state: Some(None),
            power_state: Some(PowerState::Shutdown),
            terminated_at: Some(ecs_types::clock::now()),
            ..Default::default()
        }))
    }

    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RestoreParams {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreStep {
    PowerOn,
}

impl Saga for RestoreParams {
    type Step = RestoreStep;
    const STEPS: &'static [RestoreStep] = &[RestoreStep::PowerOn];

    fn event(&self, _step: RestoreStep) -> &'static str {
        "compute_restore_instance"
    }

    async fn run(&self, _step: RestoreStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        host_driver(cx.core, server)?.power_on(&server.id).await?;
        Ok(Some(ServerUpdate {
            vm_state: Some(VmState::Active),
            task_state: Some(None),
            power_state: Some(PowerState::Running),
            ..Default::default()
        }))
    }

    async fn undo(&self, _step: RestoreStep, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}
