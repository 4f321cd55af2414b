//! UStack `attachKeypairs`/`detachKeypairs`: the request changed the
//! server's key pairs; the task tells the guest.

use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver};

pub(super) const ON_FAILURE: OnFailure = OnFailure::Untouched;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The key pairs named by the request (for the record).
    pub key_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SetKeys,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::SetKeys];

    fn event(&self, _step: Step) -> &'static str {
        "compute_set_keypairs"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        host_driver(cx.core, server)?.set_public_keys(&server.id, &server.public_keys()).await?;
        Ok(None)
    }

    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}
