//! `shelve` and `shelveOffload`: the guest is shut down and its root disk
//! saved as the image `<name>-shelved` (none for a volume-backed server);
//! offloaded, the guest leaves its host and the host's resources are
//! freed (SHELVED_OFFLOADED), as Nova's `shelved_offload_time = 0` does at
//! once and `shelveOffload` does later.

use ecs_store::ServerUpdate;
use ecs_types::ImageId;
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::{HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, host_driver, ignore_missing, undo_on};
use crate::compute::sagas::snapshot;

/// A shelve half done cannot be rolled back: ERROR, with a fault.
pub(super) const ON_FAILURE: OnFailure = OnFailure::Error;

/// The image property that names the server a shelved snapshot belongs
/// to (Nova keeps `shelved_image_id` in the server's system metadata).
pub const SHELVED_FOR: &str = "ecsd:shelved_for";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The snapshot to take (`shelve` of an image-backed server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
    /// The guest leaves its host too.
    pub offload: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    PowerOff,
    Snapshot,
    Destroy,
    ReleaseClaim,
    Finish,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::PowerOff, Step::Snapshot, Step::Destroy, Step::ReleaseClaim, Step::Finish];

    fn event(&self, step: Step) -> &'static str {
        match step {
            Step::PowerOff | Step::Snapshot if self.image_id.is_some() => "compute_shelve_instance",
            _ => "compute_shelve_offload_instance",
        }
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        match step {
            Step::PowerOff => {
                let Some(host) = server.host.clone() else { return Ok(None) };
                if !core.host_named_up(&host).await && self.offload {
                    // Nova offloads a server whose host is gone locally.
                    return Ok(None);
                }
                host_driver(core, server)?.power_off(&server.id, true).await.or_else(ignore_missing)?;
                Ok(Some(ServerUpdate { power_state: Some(PowerState::Shutdown), ..Default::default() }))
            }
            Step::Snapshot => {
                if let Some(image_id) = &self.image_id {
                    snapshot::take(core, server, image_id).await?;
                }
                Ok(None)
            }
            Step::Destroy => {
                if self.offload
                    && let Some(host) = server.host.clone()
                {
                    undo_on(core, &host, &server.id, HostUndo::Destroy).await?;
                }
                Ok(None)
            }
            Step::ReleaseClaim => {
                if !self.offload {
                    return Ok(None);
                }
                core.store.host_release(&server.id).await?;
                core.store.console_tokens_delete_for_server(&server.id).await?;
                server.host = None;
                Ok(Some(ServerUpdate { host: Some(None), ..Default::default() }))
            }
            Step::Finish => {
                let (vm_state, power_state) = if self.offload {
                    (VmState::ShelvedOffloaded, PowerState::NoState)
                } else {
                    (VmState::Shelved, PowerState::Shutdown)
                };
                Ok(Some(ServerUpdate {
                    vm_state: Some(vm_state),
                    task_state: Some(None),
                    power_state: Some(power_state),
                    ..Default::default()
                }))
            }
        }
    }

    /// A snapshot that failed goes, as Nova deletes it; the rest stays.
    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        match (step, &self.image_id) {
            (Step::Snapshot, Some(image_id)) => snapshot::drop_image(cx.core, image_id).await,
            _ => Ok(()),
        }
    }
}
