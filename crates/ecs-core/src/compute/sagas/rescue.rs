//! `rescue` and `unrescue`: the guest boots a rescue disk (the rescue
//! image's, or its own image's) with its own root disk attached as the
//! second disk (RESCUE), and back.

use ecs_hypervisor::BootSource;
use ecs_store::ServerUpdate;
use ecs_types::ImageId;
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::guest::image_boot;
use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver};

/// A rescue or unrescue that fails leaves ERROR, as Nova's does.
pub(super) const ON_FAILURE: OnFailure = OnFailure::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The rescue system's password. A secret: the engine drops it from
    /// the stored parameters when the task ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
    /// The rescue image; none: the server's own image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Rescue,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Rescue];

    fn event(&self, _step: Step) -> &'static str {
        "compute_rescue_instance"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        let image = self.image_id.as_ref().map(|i| i.to_string()).or_else(|| server.image_id.clone());
        let boot = match image {
            Some(image) => image_boot(core, &image).await?,
            None => BootSource::default(),
        };
        host_driver(core, server)?.rescue(&server.id, &boot, self.admin_pass.as_deref()).await?;
        Ok(Some(ServerUpdate {
            vm_state: Some(VmState::Rescued),
            task_state: Some(None),
            power_state: Some(PowerState::Running),
            ..Default::default()
        }))
    }

    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnrescueParams {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnrescueStep {
    Unrescue,
}

impl Saga for UnrescueParams {
    type Step = UnrescueStep;
    const STEPS: &'static [UnrescueStep] = &[UnrescueStep::Unrescue];

    fn event(&self, _step: UnrescueStep) -> &'static str {
        "compute_unrescue_instance"
    }

    async fn run(&self, _step: UnrescueStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        host_driver(cx.core, server)?.unrescue(&server.id).await?;
        Ok(Some(ServerUpdate {
            vm_state: Some(VmState::Active),
            task_state: Some(None),
            power_state: Some(PowerState::Running),
            ..Default::default()
        }))
    }

    async fn undo(&self, _step: UnrescueStep, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}
