//! Deletes a server: the guest goes (on both hosts of a resize not yet
//! confirmed), then its ports and EIPs, its claims, its volumes, and the
//! record. Nothing here can be rolled back: a failure leaves ERROR.

use ecs_store::ServerUpdate;
use ecs_types::server::{PowerState, Server, VmState};
use serde::{Deserialize, Serialize};

use super::{HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, is_false, undo_on};
use crate::Core;
use crate::compute::sagas::resize::migration_consumer;

pub(super) const ON_FAILURE: OnFailure = OnFailure::Error;

/// What an ECS delete asks beyond Nova's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The data disks go too (ECS `delete_volume`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete_volume: bool,
    /// The EIPs go too (true) or stay (false); not given, each EIP's own
    /// `delete_on_termination` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_publicip: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Destroy,
    ReleaseNetwork,
    ReleaseClaim,
    ReleaseVolumes,
    MarkDeleted,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] =
        &[Step::Destroy, Step::ReleaseNetwork, Step::ReleaseClaim, Step::ReleaseVolumes, Step::MarkDeleted];

    fn event(&self, _step: Step) -> &'static str {
        "compute_terminate_instance"
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        match step {
            Step::Destroy => destroy(core, server).await?,
            Step::ReleaseNetwork => {
                // EIPs go with the server when an ECS delete says so, or,
                // when it does not say, those created to go with it.
                match self.delete_publicip {
                    Some(false) => {}
                    explicit => core.store.floating_ips_release_for_server(&server.id, explicit.is_some()).await?,
                }
                core.store.ports_release(&server.id).await?;
            }
            Step::ReleaseClaim => {
                core.store.host_release(&server.id).await?;
                core.store.host_release(&migration_consumer(&server.id)).await?;
                core.store.console_tokens_delete_for_server(&server.id).await?;
            }
            Step::ReleaseVolumes => {
                // The guest is gone: its volumes are free, or go with it.
                for volume in core.store.volumes_of_server(&server.id).await? {
                    match volume.attachment {
                        Some(a) if a.delete_on_termination || self.delete_volume => {
                            core.store.volume_purge(&volume.id).await?;
                            core.volume_storage_release(&volume.id).await;
                        }
                        _ => core.store.volume_release(&volume.id).await?,
                    }
                }
            }
            Step::MarkDeleted => {
                return Ok(Some(ServerUpdate {
                    vm_state: Some(VmState::Deleted),
                    task_state: Some(None),
                    power_state: Some(PowerState::NoState),
                    terminated_at: Some(ecs_types::clock::now()),
                    deleted: true,
                    ..Default::default()
                }));
            }
        }
        Ok(None)
    }

    /// A delete gives nothing back: what is gone stays gone.
    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}

async fn destroy(core: &Core, server: &Server) -> Result<(), StepError> {
    // A resize not yet confirmed left the old guest on its source host.
    if let Some(open) = &server.resize
        && server.host.as_deref() != Some(open.source_host.as_str())
    {
        undo_on(core, &open.source_host, &server.id, HostUndo::Destroy).await?;
    }
    let Some(host) = server.host.as_deref() else { return Ok(()) };
    // Nova's local delete: a host whose service is down is not asked.
    if !core.host_named_up(host).await {
        tracing::warn!(server = %server.id, %host, "host down; deleting locally");
        return Ok(());
    }
    match core.drivers.get(host) {
        Some(driver) => match driver.destroy(&server.id).await {
            Ok(()) => {}
            // Nova's local delete: the host is gone, so the record goes
            // now and the reconciler removes the guest if the host comes back.
            Err(e) if e.is_host_down() => tracing::warn!(server = %server.id, %host, "host down; deleting locally"),
            Err(e) => return Err(e.into()),
        },
        None => tracing::warn!(server = %server.id, %host, "no driver for host; deleting locally"),
    }
    Ok(())
}
