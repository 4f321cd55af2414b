//! Volumes: attach (reserved by the request, plugged by the task) and
//! detach (unplugged, then released). The server's state is left alone by
//! a failure.

use ecs_hypervisor::DiskSpec;
use ecs_types::VolumeId;
use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, host_driver, undo_on_host};

pub(super) const ON_FAILURE: OnFailure = OnFailure::Untouched;

/// A volume to attach; the request reserved it already.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attach {
    pub volume_id: VolumeId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachStep {
    /// The request reserved the volume: this step only owns its undo.
    ReserveVolume,
    PlugDisk,
}

impl Saga for Attach {
    type Step = AttachStep;
    const STEPS: &'static [AttachStep] = &[AttachStep::ReserveVolume, AttachStep::PlugDisk];

    fn event(&self, _step: AttachStep) -> &'static str {
        "compute_attach_volume"
    }

    async fn run(&self, step: AttachStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        if step == AttachStep::PlugDisk {
            let core = cx.core;
            let driver = host_driver(core, server)?;
            let volume = core.store.volume_get(&self.volume_id).await?;
            let device = volume.attachment.as_ref().map(|a| a.device.clone()).unwrap_or_default();
            let disk = DiskSpec { id: volume.id.clone(), size_gb: volume.size_gb as u64, device, source: None };
            driver.attach_disk(&server.id, &disk).await?;
            core.store.volume_set_status(&self.volume_id, "in-use").await?;
        }
        Ok(None)
    }

    async fn undo(&self, step: AttachStep, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        match step {
            AttachStep::ReserveVolume => Ok(cx.core.store.volume_release(&self.volume_id).await?),
            AttachStep::PlugDisk => undo_on_host(cx.core, cx.server_id()?, HostUndo::DetachDisk(&self.volume_id)).await,
        }
    }
}

/// A volume to detach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detach {
    pub volume_id: VolumeId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetachStep {
    UnplugDisk,
    ReleaseVolume,
}

impl Saga for Detach {
    type Step = DetachStep;
    const STEPS: &'static [DetachStep] = &[DetachStep::UnplugDisk, DetachStep::ReleaseVolume];

    fn event(&self, _step: DetachStep) -> &'static str {
        "compute_detach_volume"
    }

    async fn run(&self, step: DetachStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        match step {
            DetachStep::UnplugDisk => host_driver(cx.core, server)?.detach_disk(&server.id, &self.volume_id).await?,
            DetachStep::ReleaseVolume => cx.core.store.volume_release(&self.volume_id).await?,
        }
        Ok(None)
    }

    async fn undo(&self, step: DetachStep, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        match step {
            // A detach that failed leaves the volume attached: on the
            // host too, should the detach have half happened.
            DetachStep::UnplugDisk => {
                let volume = cx.core.store.volume_get(&self.volume_id).await?;
                if let Some(a) = &volume.attachment {
                    let disk = DiskSpec {
                        id: volume.id.clone(),
                        size_gb: volume.size_gb as u64,
                        device: a.device.clone(),
                        source: None,
                    };
                    undo_on_host(cx.core, cx.server_id()?, HostUndo::AttachDisk(disk)).await?;
                }
                Ok(cx.core.store.volume_set_status(&self.volume_id, "in-use").await?)
            }
            DetachStep::ReleaseVolume => Ok(()),
        }
    }
}
