//! Nova's `os-simple-tenant-usage`: the servers that ran in a period,
//! for the usage each project's flavors add up to.

use ecs_store::ServerListQuery;
use ecs_types::server::Server;
use ecs_types::{AuthContext, Timestamp};

use crate::{Core, Error, Result, policy};

impl Core {
    /// The servers (deleted ones too) that ran between `start` and `end`,
    /// of `project` or of every project (admin), oldest first; `marker`
    /// and `limit` page through them (2.40).
    pub async fn usage_servers(
        &self,
        ctx: &AuthContext,
        project: Option<&str>,
        start: Timestamp,
        end: Timestamp,
        marker: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Server>> {
        match project {
            None => policy::require_admin(ctx, "os_compute_api:os-simple-tenant-usage:list")?,
            Some(p) if ctx.project_id() != Some(p) => {
                policy::require_admin(ctx, "os_compute_api:os-simple-tenant-usage:show")?
            }
            Some(_) => {}
        }
        let q = ServerListQuery { project_id: project.map(String::from), deleted: true, ..Default::default() };
        let mut servers: Vec<Server> = self
            .store
            .server_list(&q)
            .await?
            .into_iter()
            .filter(|s| s.launched_at.is_some_and(|l| l < end) && s.terminated_at.is_none_or(|t| t > start))
            .collect();
        servers.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        if let Some(marker) = marker {
            let at = servers
                .iter()
                .position(|s| s.id == marker)
                .ok_or_else(|| Error::invalid(format!("Marker {marker} could not be found.")))?;
            servers.drain(..=at);
        }
        if let Some(limit) = limit {
            servers.truncate(limit);
        }
        Ok(servers)
    }
}
