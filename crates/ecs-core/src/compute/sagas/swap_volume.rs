//! Swaps an attached volume for another (admin): the new one takes the
//! old one's device.

use ecs_hypervisor::DiskSpec;
use ecs_types::VolumeId;
use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, host_driver, undo_on_host};

pub(super) const ON_FAILURE: OnFailure = OnFailure::Untouched;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub old_volume_id: VolumeId,
    pub new_volume_id: VolumeId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SwapDisk,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::SwapDisk];

    fn event(&self, _step: Step) -> &'static str {
        "compute_swap_volume"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        let (old, new) = (&self.old_volume_id, &self.new_volume_id);
        let driver = host_driver(core, server)?;
        let old_volume = core.store.volume_get(old).await?;
        let new_volume = core.store.volume_get(new).await?;
        let device = old_volume.attachment.or(new_volume.attachment).map(|a| a.device).unwrap_or_default();
        driver.detach_disk(&server.id, old).await?;
        let disk = DiskSpec { id: new.to_string(), size_gb: new_volume.size_gb as u64, device, source: None };
        driver.attach_disk(&server.id, &disk).await?;
        core.store.volume_swap_finish(old, new).await?;
        Ok(None)
    }

    /// A swap that failed gives the guest its old disk back, on the
    /// device it had, and leaves the new volume free.
    async fn undo(&self, _step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let (core, id) = (cx.core, cx.server_id()?);
        let (old, new) = (&self.old_volume_id, &self.new_volume_id);
        let old_volume = core.store.volume_get(old).await?;
        let new_volume = core.store.volume_get(new).await?;
        let device = old_volume.attachment.as_ref().or(new_volume.attachment.as_ref()).map(|a| a.device.clone());
        undo_on_host(core, id, HostUndo::DetachDisk(new)).await?;
        let disk = DiskSpec {
            id: old.to_string(),
            size_gb: old_volume.size_gb as u64,
            device: device.unwrap_or_default(),
            source: None,
        };
        undo_on_host(core, id, HostUndo::AttachDisk(disk)).await?;
        if new_volume.attachment.is_some() {
            // The record had moved to the new volume: move it back.
            core.store.volume_swap_finish(new, old).await?;
        } else {
            core.store.volume_set_status(new, "available").await?;
        }
        Ok(())
    }
}
