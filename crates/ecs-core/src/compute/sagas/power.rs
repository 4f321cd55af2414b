//! Power operations (stop, start, reboot, pause, suspend and back): one
//! hypervisor call each.

use ecs_hypervisor::{Hypervisor, HypervisorError, RebootKind};
use ecs_store::ServerUpdate;
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, TaskParams, host_driver, is_false};

/// Power operations, one kind of task each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PowerOp {
    Stop,
    /// (The default only fills the field that `Params` does not store;
    /// reading a task sets it from the kind.)
    #[default]
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

/// A failed reboot leaves ERROR, as Nova does; the other operations
/// revert the task state and leave the server as it was (the failure shows
/// in the instance action).
pub(super) const fn on_failure(op: PowerOp) -> OnFailure {
    match op {
        PowerOp::SoftReboot | PowerOp::HardReboot => OnFailure::Error,
        _ => OnFailure::Idle,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The operation: the task's kind, not stored in its parameters.
    #[serde(skip)]
    pub op: PowerOp,
    /// Stop only: power off without asking the guest.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
}

impl Params {
    pub fn new(op: PowerOp) -> Params {
        Params { op, force: false }
    }
}

pub(super) fn parse(op: PowerOp, params: serde_json::Value) -> Result<TaskParams, super::ParamsError> {
    let params: Params = super::read(params)?;
    Ok(TaskParams::Power(Params { op, ..params }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Power,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Power];

    fn event(&self, _step: Step) -> &'static str {
        match self.op {
            PowerOp::Stop => "compute_stop_instance",
            PowerOp::Start => "compute_start_instance",
            PowerOp::SoftReboot | PowerOp::HardReboot => "compute_reboot_instance",
            PowerOp::Pause => "compute_pause_instance",
            PowerOp::Unpause => "compute_unpause_instance",
            PowerOp::Suspend => "compute_suspend_instance",
            PowerOp::Resume => "compute_resume_instance",
        }
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let driver = host_driver(cx.core, server)?;
        if self.op == PowerOp::Stop && self.force {
            driver.power_off(&server.id, false).await?;
        } else {
            self.op.apply(driver.as_ref(), &server.id).await?;
        }
        let (vm_state, power_state) = self.op.end_state();
        Ok(Some(ServerUpdate {
            vm_state: Some(vm_state),
            task_state: Some(None),
            power_state: Some(power_state),
            ..Default::default()
        }))
    }

    /// The guest is as the hypervisor left it; the failure state says the rest.
    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}
