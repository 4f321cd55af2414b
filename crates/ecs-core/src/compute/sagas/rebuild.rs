//! Rebuild (Nova) and OS reinstall or change (ECS): the root disk is
//! rebuilt from the new image; the guest goes and comes back with the same
//! NICs and volumes. The records changed when the request was accepted.

use ecs_store::ServerUpdate;
use ecs_types::ImageId;
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::guest::full_spec;
use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver, ignore_missing, is_false};

/// A half-done rebuild cannot be rolled back: ERROR, as Nova does.
pub(super) const ON_FAILURE: OnFailure = OnFailure::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The guest's new admin password. A secret: the engine drops it from
    /// the stored parameters when the task ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
    pub image_id: ImageId,
    pub preserve_ephemeral: bool,
    /// ECS `withStopServer`: a running guest is shut down first.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stop_first: bool,
    /// ECS: the rebuilt guest is started (Nova keeps a stopped one stopped).
    #[serde(default, skip_serializing_if = "is_false")]
    pub start_after: bool,
    /// ECS: an OS change rather than a reinstall (which job ShowJob names).
    #[serde(default, skip_serializing_if = "is_false")]
    pub os_change: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Rebuild,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Rebuild];

    fn event(&self, _step: Step) -> &'static str {
        "compute_rebuild_instance"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        let driver = host_driver(core, server)?;
        if self.stop_first && server.power_state == PowerState::Running {
            driver.power_off(&server.id, true).await.or_else(ignore_missing)?;
        }
        driver.destroy(&server.id).await?;
        let mut spec = full_spec(core, server).await?;
        spec.admin_pass = self.admin_pass.clone();
        driver.spawn(&spec).await?;
        let stopped = server.vm_state == VmState::Stopped && !self.start_after;
        if stopped {
            driver.power_off(&server.id, false).await?;
        }
        Ok(Some(ServerUpdate {
            vm_state: Some(if stopped { VmState::Stopped } else { VmState::Active }),
            task_state: Some(None),
            power_state: Some(if stopped { PowerState::Shutdown } else { PowerState::Running }),
            launched_at: Some(ecs_types::clock::now()),
            ..Default::default()
        }))
    }

    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}
