//! `evacuate`: rebuilds a server whose host is down on another host
//! (Nova's semantics: admins only, refused while the source is up).

use ecs_store::StoreError;
use ecs_types::AuthContext;

use super::sagas::{EvacuateParams, TaskParams};
use super::server::generate_password;
use super::state::{self, Action};
use crate::{Core, Error, Invalid, Kind, Result, policy};

/// What an evacuation asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvacuateRequest {
    /// The target host; the scheduler picks one if none.
    pub host: Option<String>,
    /// The rebuilt guest's password; one is made up if none.
    pub admin_pass: Option<String>,
    /// 2.29 to 2.67: the target host without the scheduler's filters.
    pub force: bool,
    /// 2.95: the server ends SHUTOFF.
    pub stop: bool,
}

impl Core {
    /// Starts an evacuation; returns the admin password the rebuilt guest gets.
    pub async fn server_evacuate(
        &self,
        ctx: &AuthContext,
        id: &str,
        req: EvacuateRequest,
        request_id: &str,
    ) -> Result<String> {
        let server = self.server_get(ctx, id).await?;
        policy::require_admin(ctx, Action::Evacuate.rule())?;
        if let Some(target) = &req.host {
            match self.store.host_get_by_name(target).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => return Err(Error::not_found(Kind::ComputeHost, target)),
                Err(e) => return Err(e.into()),
            }
            if server.host.as_deref() == Some(target.as_str()) {
                return Err(Invalid::SameHost.into());
            }
        }
        self.check_locked(ctx, &server, Action::Evacuate)?;
        state::check(Action::Evacuate, &server)?;
        let Some(source) = server.host.clone() else {
            return Err(Error::conflict(format!("Instance {id} is not ready")));
        };
        if self.server_host_up(&server).await? {
            return Err(Invalid::HostStillUp { host: source }.into());
        }
        let admin_pass = req.admin_pass.unwrap_or_else(generate_password);
        let params =
            EvacuateParams { host: req.host, force: req.force, admin_pass: Some(admin_pass.clone()), stop: req.stop };
        self.queue_task(ctx, &server, Action::Evacuate, TaskParams::Evacuate(params), request_id).await?;
        Ok(admin_pass)
    }
}
