//! ecsd's clock as admins steer it (`/admin/v1/clock`): advancing it runs
//! at once what was waiting for the time — the reclaim of soft-deleted
//! servers, ECS auto-terminate and recycle-bin expiry, shelved offload —
//! and ends simulated latencies and sleeps that the advance moves past.

use std::time::Duration;

use ecs_types::{AuthContext, Timestamp};

use crate::{Core, Error, Result, policy};

/// The clock as an admin reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    pub now: Timestamp,
    /// How far admin advances have moved it since the service started.
    pub offset: Duration,
}

impl Core {
    pub fn clock(&self, ctx: &AuthContext) -> Result<ClockView> {
        policy::require_admin(ctx, "ecsd:admin")?;
        Ok(view())
    }

    /// Moves the clock forward by `by` (forward only), then queues the
    /// deferred work that became due before answering, so that a caller
    /// sees it queued (its tasks run as usual).
    pub async fn advance_clock(&self, ctx: &AuthContext, by: Duration) -> Result<ClockView> {
        policy::require_admin(ctx, "ecsd:admin")?;
        ecs_types::clock::advance(by).map_err(|e| Error::invalid(e.to_string()))?;
        tracing::info!(seconds = by.as_secs_f64(), now = %ecs_types::clock::now(), "clock advanced");
        match self.run_deferred().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(queued = n, "deferred deletes and offloads queued after the advance"),
            Err(e) => tracing::warn!(error = %e, "deferred deletes and offloads failed after the advance"),
        }
        Ok(view())
    }
}

fn view() -> ClockView {
    ClockView { now: ecs_types::clock::now(), offset: ecs_types::clock::offset() }
}
