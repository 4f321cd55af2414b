//! `unshelve`: a SHELVED server is started where it is; a
//! SHELVED_OFFLOADED one is scheduled anew (2.77 zone, 2.91 host) and
//! boots from its shelved snapshot (a volume-backed one from its volume).
//! The snapshot image is deleted once the server runs, as Nova does.

use ecs_store::ServerUpdate;
use ecs_types::ImageId;
use ecs_types::server::{PowerState, Server, TaskState, VmState};
use serde::{Deserialize, Serialize};

use super::guest::{full_spec, image_boot};
use super::{
    HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, claim_of, host_driver, is_false, undo_on_host,
};
use crate::compute::sagas::snapshot;
use crate::compute::scheduler;

/// A failed unshelve is undone: the server stays shelved, with a fault.
pub(super) const ON_FAILURE: OnFailure = OnFailure::RolledBackWithFault;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The server was offloaded: it needs a host and a new guest.
    pub offloaded: bool,
    /// The shelved snapshot it boots from (and that goes afterwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
    /// 2.77: the zone to schedule in …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// … 2.91: or in none (`availability_zone: null`) …
    #[serde(default, skip_serializing_if = "is_false")]
    pub unpin_zone: bool,
    /// … 2.91: only this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Schedule,
    Spawn,
    Finish,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Schedule, Step::Spawn, Step::Finish];

    fn event(&self, step: Step) -> &'static str {
        match step {
            Step::Schedule => "schedule_instances",
            _ => "compute_unshelve_instance",
        }
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        match step {
            Step::Schedule => {
                if !self.offloaded {
                    return Ok(None);
                }
                let mut wanted = server.clone();
                if self.unpin_zone {
                    wanted.availability_zone = None;
                } else if let Some(zone) = &self.availability_zone {
                    wanted.availability_zone = Some(zone.clone());
                }
                let options = scheduler::PlaceOptions {
                    requested_host: self.host.as_deref(),
                    resumed: cx.task.attempts > 1,
                    ..Default::default()
                };
                let host = scheduler::place_with(core, &wanted, claim_of(&server.flavor), options).await?;
                server.host = Some(host.name.clone());
                Ok(Some(ServerUpdate {
                    host: Some(Some(host.name.clone())),
                    availability_zone: Some(host.availability_zone.clone()),
                    task_state: Some(Some(TaskState::Spawning)),
                    ..Default::default()
                }))
            }
            Step::Spawn => {
                let driver = host_driver(core, server)?;
                if self.offloaded {
                    let mut spec = full_spec(core, server).await?;
                    if let Some(image_id) = &self.image_id {
                        spec.boot = image_boot(core, image_id).await?;
                    }
                    driver.spawn(&spec).await?;
                } else {
                    driver.power_on(&server.id).await?;
                }
                Ok(None)
            }
            Step::Finish => {
                if let Some(image_id) = &self.image_id {
                    snapshot::drop_image(core, image_id).await?;
                }
                Ok(Some(ServerUpdate {
                    vm_state: Some(VmState::Active),
                    task_state: Some(None),
                    power_state: Some(PowerState::Running),
                    launched_at: self.offloaded.then(ecs_types::clock::now),
                    ..Default::default()
                }))
            }
        }
    }

    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let core = cx.core;
        let id = cx.server_id()?.to_string();
        match step {
            Step::Schedule if self.offloaded => {
                core.store.host_release(&id).await?;
                let update = ServerUpdate { host: Some(None), ..Default::default() };
                core.store.server_update(&id, &update).await?;
                Ok(())
            }
            Step::Spawn if self.offloaded => undo_on_host(core, &id, HostUndo::Destroy).await,
            _ => Ok(()),
        }
    }
}
