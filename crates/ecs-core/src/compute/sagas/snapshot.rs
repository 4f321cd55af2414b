//! `createImage`: the guest's disk becomes the image the request made
//! (`saving` until then).

use ecs_store::StoreError;
use ecs_types::ImageId;
use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver, idle};
use crate::Core;

/// A failed snapshot leaves the server as it was.
pub(super) const ON_FAILURE: OnFailure = OnFailure::Idle;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The image record the request made.
    pub image_id: ImageId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Snapshot,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Snapshot];

    fn event(&self, _step: Step) -> &'static str {
        "compute_snapshot_instance"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        take(cx.core, server, self.image_id.as_str()).await?;
        Ok(Some(idle()))
    }

    /// Nova deletes the image of a snapshot that failed.
    async fn undo(&self, _step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        drop_image(cx.core, &self.image_id).await
    }
}

/// Copies the server's root disk into the image record `image_id` (made
/// `saving` by the request) and makes it active: the one snapshot path
/// of createImage, createBackup and shelve. An image already active was
/// taken by an earlier run of the step.
pub(super) async fn take(core: &Core, server: &Server, image_id: &str) -> Result<(), StepError> {
    match core.store.image_get(image_id).await {
        Ok(image) if image.status == "active" => return Ok(()),
        Ok(_) => {}
        // Deleted before the step ran (Nova's ImageNotFound while
        // snapshotting): nothing is left to take, and the server goes on.
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let driver = host_driver(core, server)?;
    let snapshot = driver.snapshot(&server.id, image_id).await?;
    // What boots the snapshot (its disk file, and the kernel the server
    // booted) and its data's size and hashes.
    match core.image_snapshot_done(image_id, snapshot).await {
        Ok(()) | Err(crate::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(StepError::Fatal(e.to_string())),
    }
}

/// Deletes an image record; one already gone is fine.
pub(super) async fn drop_image(core: &Core, image_id: &str) -> Result<(), StepError> {
    match core.store.image_delete(image_id).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
