//! Server groups (Nova's os-server-groups): placement policies the
//! scheduler enforces for their members.

use ecs_store::MemberRefusal;
use ecs_types::server::VmState;
use ecs_types::{AuthContext, ServerGroup};

use crate::{Core, Error, Kind, Resource, Result, policy};

/// Nova's default `server_groups` and `server_group_members` quotas.
pub const GROUPS_QUOTA: i64 = 10;
pub const MEMBERS_QUOTA: i64 = 10;

pub const POLICIES: &[&str] = &["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"];

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::ServerGroup, id)
}

impl Core {
    pub async fn server_groups(&self, ctx: &AuthContext, all_projects: bool) -> Result<Vec<ServerGroup>> {
        if all_projects && ctx.is_admin() {
            return Ok(self.store.server_group_list(None).await?);
        }
        Ok(self.store.server_group_list(Some(policy::project_of(ctx)?)).await?)
    }

    pub async fn server_group(&self, ctx: &AuthContext, id: &str) -> Result<ServerGroup> {
        let g = self.store.server_group_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        if ctx.is_admin() || ctx.project_id() == Some(g.project_id.as_str()) { Ok(g) } else { Err(not_found(id)) }
    }

    pub async fn server_group_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        policy_name: &str,
        max_server_per_host: Option<i64>,
    ) -> Result<ServerGroup> {
        policy::authorize_write(ctx, "os_compute_api:os-server-groups:create")?;
        if !POLICIES.contains(&policy_name) {
            return Err(Error::invalid(format!("Invalid policy {policy_name}")));
        }
        if max_server_per_host.is_some() && policy_name != "anti-affinity" {
            return Err(Error::invalid("Only anti-affinity policy supports max_server_per_host rule."));
        }
        let group = ServerGroup {
            id: ecs_types::random::uuid().to_string(),
            project_id: policy::project_of(ctx)?.to_string(),
            user_id: ctx.user_id.clone(),
            name: name.to_string(),
            policy: policy_name.to_string(),
            max_server_per_host,
            members: Vec::new(),
        };
        self.store
            .server_group_create(&group, self.quota_limit(&group.project_id, "server_groups").await?)
            .await?
            .ok_or_else(|| Error::quota(Resource::ServerGroups, 1, 0, GROUPS_QUOTA))
    }

    pub async fn server_group_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-groups:delete")?;
        self.server_group(ctx, id).await?;
        self.store.server_group_delete(id).await.map_err(Error::not_found_as(Kind::ServerGroup, id))
    }

    /// Adds an existing server to an anti-affinity group (the ECS-native
    /// add_member): the server must be stopped and in no other group, and
    /// the policy must hold with it where it is (no more other members on
    /// its host than `max_server_per_host`, by default none).
    pub async fn server_group_add_member(&self, ctx: &AuthContext, id: &str, server_id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-groups:add_members")?;
        let group = self.server_group(ctx, id).await?;
        let server = self.server_get(ctx, server_id).await?;
        if group.policy != "anti-affinity" {
            return Err(Error::invalid(format!("Server group {id} is not an anti-affinity group")));
        }
        if server.vm_state != VmState::Stopped || server.task_state.is_some() {
            return Err(Error::conflict(format!(
                "Instance {server_id} must be stopped to join a server group, it is {}",
                server.status()
            )));
        }
        let limit = self.quota_limit(&group.project_id, "server_group_members").await?;
        let per_host = group.max_server_per_host.unwrap_or(1);
        match self.store.server_group_add_member(id, server_id, limit, Some(per_host)).await? {
            Ok(()) => Ok(()),
            Err(MemberRefusal::InOtherGroup(other)) => {
                Err(Error::invalid(format!("Instance {server_id} is a member of server group {other} already")))
            }
            Err(MemberRefusal::Full(_)) => Err(Error::quota(Resource::ServerGroupMembers, 1, 0, MEMBERS_QUOTA)),
            Err(MemberRefusal::HostTaken(host)) => Err(Error::invalid(format!(
                "Instance {server_id} is on host {host} with another member of anti-affinity group {id}"
            ))),
        }
    }

    /// Removes a server from a group; it must be a member.
    pub async fn server_group_remove_member(&self, ctx: &AuthContext, id: &str, server_id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-groups:remove_members")?;
        self.server_group(ctx, id).await?;
        if self.store.server_group_remove_member(id, server_id).await? {
            Ok(())
        } else {
            Err(Error::invalid(format!("Instance {server_id} is not a member of server group {id}")))
        }
    }

    /// The group a create's `os:scheduler_hints.group` names, checked.
    pub(crate) async fn hinted_group(
        &self,
        ctx: &AuthContext,
        hints: &serde_json::Value,
        count: i64,
    ) -> Result<Option<ServerGroup>> {
        let Some(id) = hints.get("group") else { return Ok(None) };
        let id = id.as_str().ok_or_else(|| Error::invalid("Invalid server group hint"))?;
        let group =
            self.server_group(ctx, id).await.map_err(|_| Error::invalid(format!("Invalid server group {id}")))?;
        let limit = self.quota_limit(&group.project_id, "server_group_members").await?;
        if limit >= 0 && group.members.len() as i64 + count > limit {
            return Err(Error::quota(Resource::ServerGroupMembers, 1, 0, MEMBERS_QUOTA));
        }
        Ok(Some(group))
    }
}
