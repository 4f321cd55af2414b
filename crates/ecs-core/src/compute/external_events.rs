//! `os-server-external-events`: what other services (Neutron, Cinder,
//! Ironic) tell Nova about a server, with the `service` role (or admin).
//!
//! ecsd's own records are what those events would make Nova refresh
//! (ports, volume sizes, power state come from ecsd itself), so an accepted
//! event changes nothing: it is acknowledged per server as Nova does.

use ecs_store::StoreError;
use ecs_types::AuthContext;

use crate::{Core, Result, policy};

/// Events Nova refuses (400 for that event) without a tag.
const TAG_REQUIRED: &[&str] = &["volume-extended", "power-update", "accelerator-request-bound"];

/// One event as a service reports it.
#[derive(Debug, Clone)]
pub struct ExternalEvent {
    pub name: String,
    pub server_id: String,
    pub tag: Option<String>,
}

/// What became of one event: Nova's per-event `code` (200 accepted, 400
/// a tag missing, 404 no such server, 422 a server without a host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOutcome {
    pub code: u16,
}

impl EventOutcome {
    pub fn accepted(&self) -> bool {
        self.code == 200
    }
}

impl Core {
    /// Takes events for servers of any project; the outcomes are in the
    /// events' order.
    pub async fn server_external_events(
        &self,
        ctx: &AuthContext,
        events: &[ExternalEvent],
    ) -> Result<Vec<EventOutcome>> {
        policy::require_service_or_admin(ctx, "os_compute_api:os-server-external-events:create")?;
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            let server = match self.store.server_get(&event.server_id).await {
                Ok(s) if s.deleted_at.is_none() => Some(s),
                Ok(_) | Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            let code = match server {
                None => 404,
                Some(_) if event.tag.is_none() && TAG_REQUIRED.contains(&event.name.as_str()) => 400,
                Some(s) if s.host.is_some() => 200,
                Some(_) => 422,
            };
            outcomes.push(EventOutcome { code });
        }
        Ok(outcomes)
    }
}
