//! `createBackup`: a snapshot of type `backup`, then the rotation keeps
//! the newest `rotation` backups of the server of that `backup_type` and
//! deletes the older ones (Nova's `_rotate_backups`).

use ecs_types::ImageId;
use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, idle};
use crate::compute::sagas::snapshot;

/// A failed backup leaves the server as it was.
pub(super) const ON_FAILURE: OnFailure = OnFailure::Idle;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The image record the request made.
    pub image_id: ImageId,
    pub backup_type: String,
    /// How many backups of this type to keep.
    pub rotation: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Snapshot,
    Rotate,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Snapshot, Step::Rotate];

    fn event(&self, _step: Step) -> &'static str {
        "compute_backup_instance"
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        match step {
            Step::Snapshot => {
                snapshot::take(core, server, &self.image_id).await?;
                Ok(None)
            }
            Step::Rotate => {
                let prop = |i: &ecs_types::Image, k: &str| i.properties.get(k).cloned().unwrap_or_default();
                let mut backups: Vec<_> = core
                    .store
                    .image_list()
                    .await?
                    .into_iter()
                    .filter(|i| {
                        prop(i, "instance_uuid") == server.id
                            && prop(i, "image_type") == "backup"
                            && prop(i, "backup_type") == self.backup_type
                            && i.status == "active"
                    })
                    .collect();
                // Newest first; the id breaks ties so that every run agrees.
                backups.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
                for old in backups.iter().skip(self.rotation as usize) {
                    snapshot::drop_image(core, &old.id).await?;
                }
                Ok(Some(idle()))
            }
        }
    }

    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        match step {
            Step::Snapshot => snapshot::drop_image(cx.core, &self.image_id).await,
            Step::Rotate => Ok(()),
        }
    }
}
