//! `createImage`: the guest's disk becomes the image the request made
//! (`saving` until then).

use ecs_store::StoreError;
use ecs_types::ImageId;
use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver, idle};

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
        let (core, image_id) = (cx.core, self.image_id.as_str());
        let driver = host_driver(core, server)?;
        let snapshot = driver.snapshot(&server.id, image_id).await?;
        // What boots the snapshot (its disk file, and the kernel the server
        // booted) and its data's size and hashes.
        match core.image_snapshot_done(image_id, snapshot).await {
            Ok(()) | Err(crate::Error::NotFound { .. }) => {}
            Err(e) => return Err(StepError::Fatal(e.to_string())),
        }
        Ok(Some(idle()))
    }

    /// Nova deletes the image of a snapshot that failed.
    async fn undo(&self, _step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        match cx.core.store.image_delete(&self.image_id).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
