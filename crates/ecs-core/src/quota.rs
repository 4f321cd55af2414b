//! Quota sets (Nova's os-quota-sets): the configured defaults, a project's
//! own limits, and what it uses.

use std::collections::BTreeMap;

use ecs_store::StoreError;
use ecs_types::AuthContext;

use crate::compute::server::InjectedFile;
use crate::{Core, Error, Invalid, Resource, Result, policy};

/// The quota class whose limits are every project's defaults.
pub const DEFAULT_CLASS: &str = "default";

/// The quota resources Nova shows, with ecsd's configured defaults.
fn configured_defaults(core: &Core) -> BTreeMap<&'static str, i64> {
    let q = &core.config.quota;
    BTreeMap::from([
        ("instances", q.instances),
        ("cores", q.cores),
        ("ram", q.ram_mb),
        ("metadata_items", q.metadata_items),
        ("key_pairs", core.config.keypair_quota),
        ("server_groups", crate::server_group::GROUPS_QUOTA),
        ("server_group_members", crate::server_group::MEMBERS_QUOTA),
        ("injected_files", 5),
        ("injected_file_content_bytes", 10240),
        ("injected_file_path_bytes", 255),
        ("fixed_ips", -1),
        ("floating_ips", crate::floating_ip::FLOATING_IPS_QUOTA),
        ("security_groups", crate::security_group::GROUPS_QUOTA as i64),
        ("security_group_rules", crate::security_group::RULES_QUOTA as i64),
    ])
}

/// Keystone's ids are at most 64 printable characters; anything else names
/// no project and is not worth a query (PostgreSQL cannot even compare a
/// text with a NUL in it).
fn could_be_project_id(id: &str) -> bool {
    id.len() <= 64 && !id.chars().any(char::is_control)
}

/// One resource: its limit and what is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaItem {
    pub limit: i64,
    pub in_use: i64,
}

impl Core {
    /// The limits of a quota class: the configured defaults, overridden by
    /// what was set for the class. The `default` class's are the limits of
    /// every project that has none of its own.
    async fn class_limits(&self, class_name: &str) -> Result<BTreeMap<&'static str, i64>> {
        let set = self.store.quota_class_limits(class_name).await?;
        let mut limits = configured_defaults(self);
        for (name, limit) in limits.iter_mut() {
            if let Some(v) = set.get(*name) {
                *limit = *v;
            }
        }
        Ok(limits)
    }

    /// The defaults every project without limits of its own gets.
    pub(crate) async fn default_limits(&self) -> Result<BTreeMap<&'static str, i64>> {
        self.class_limits(DEFAULT_CLASS).await
    }

    /// A quota class's limits (Nova's os-quota-class-sets `show`).
    pub async fn quota_class(&self, ctx: &AuthContext, class_name: &str) -> Result<BTreeMap<&'static str, i64>> {
        policy::require_admin(ctx, "os_compute_api:os-quota-class-sets:show")?;
        self.class_limits(class_name).await
    }

    /// Sets limits of a quota class; setting the `default` class's changes
    /// the defaults of every project without limits of its own.
    pub async fn quota_class_update(
        &self,
        ctx: &AuthContext,
        class_name: &str,
        values: BTreeMap<String, i64>,
    ) -> Result<BTreeMap<&'static str, i64>> {
        policy::require_admin(ctx, "os_compute_api:os-quota-class-sets:update")?;
        let length = class_name.chars().count();
        if length > 255 {
            return Err(Error::invalid(format!("quota_class_name has {length} characters, more than 255.")));
        }
        let known = configured_defaults(self);
        if let Some(name) = values.keys().find(|n| !known.contains_key(n.as_str())) {
            return Err(Error::invalid(format!("Bad key(s) {name} in quota_class_set")));
        }
        if let Some((name, limit)) = values.iter().find(|(_, l)| **l < -1) {
            return Err(Error::invalid(format!("Quota limit {limit} for {name} must be -1 or greater.")));
        }
        self.store.quota_class_set(class_name, &values).await?;
        self.class_limits(class_name).await
    }

    fn quota_project(&self, ctx: &AuthContext, project_id: &str) -> Result<()> {
        if ctx.is_admin() || ctx.project_id() == Some(project_id) {
            Ok(())
        } else {
            Err(policy::forbidden("os_compute_api:os-quota-sets:show"))
        }
    }

    /// Nova's `verify_project_id`: quotas are shown and kept only for a
    /// project the identity service knows, so that a junk id (a path, a
    /// NUL, 10 KB) is a 400 and never a row.
    async fn known_project(&self, project_id: &str) -> Result<()> {
        let lookup = if could_be_project_id(project_id) {
            self.store.project_get(project_id).await.map(|_| ())
        } else {
            Err(StoreError::NotFound)
        };
        match lookup {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(Invalid::NotAProject { id: project_id.to_string() }.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The defaults, as shown for a project (which must exist).
    pub async fn quota_defaults(&self, project_id: &str) -> Result<BTreeMap<&'static str, i64>> {
        self.known_project(project_id).await?;
        self.default_limits().await
    }

    /// The limit of one resource for a project: its own, else the default.
    pub(crate) async fn quota_limit(&self, project_id: &str, resource: &str) -> Result<i64> {
        if let Some(own) = self.store.quota_limits(project_id).await?.get(resource) {
            return Ok(*own);
        }
        Ok(self.default_limits().await?.get(resource).copied().unwrap_or(-1))
    }

    /// Nova's 403 for more metadata items than the project may have.
    pub(crate) async fn check_metadata_quota(&self, project_id: &str, items: usize) -> Result<()> {
        let limit = self.quota_limit(project_id, "metadata_items").await?;
        if limit >= 0 && items as i64 > limit {
            return Err(Error::quota(Resource::MetadataItems, items as i64, 0, limit));
        }
        Ok(())
    }

    /// Nova's 403 for personality files beyond the project's
    /// `injected_files` quota, or a path or contents longer than its byte
    /// quotas allow (the path's limit named first, as Nova names it).
    pub(crate) async fn check_injected_files_quota(&self, project_id: &str, files: &[InjectedFile]) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let over = |limit: i64, n: usize| limit >= 0 && n as i64 > limit;
        let limit = self.quota_limit(project_id, "injected_files").await?;
        if over(limit, files.len()) {
            return Err(Error::quota(Resource::InjectedFiles, files.len() as i64, 0, limit));
        }
        let longest_path = files.iter().map(|f| f.path.len()).max().unwrap_or(0);
        let longest_contents = files.iter().map(|f| f.contents.len()).max().unwrap_or(0);
        for (resource, length) in
            [(Resource::InjectedFilePathBytes, longest_path), (Resource::InjectedFileContentBytes, longest_contents)]
        {
            let limit = self.quota_limit(project_id, resource.name()).await?;
            if over(limit, length) {
                return Err(Error::quota(resource, length as i64, 0, limit));
            }
        }
        Ok(())
    }

    /// A project's quotas with usage.
    pub async fn quota_set(&self, ctx: &AuthContext, project_id: &str) -> Result<BTreeMap<&'static str, QuotaItem>> {
        self.quota_project(ctx, project_id)?;
        self.known_project(project_id).await?;
        let own = self.store.quota_limits(project_id).await?;
        let usage = self.store.instance_usage(project_id).await?;
        let floating = self.store.floating_ip_list(Some(project_id)).await?.len() as i64;
        let groups = self.store.security_group_list(Some(project_id)).await?.len() as i64;
        Ok(self
            .default_limits()
            .await?
            .into_iter()
            .map(|(name, default)| {
                let in_use = match name {
                    "instances" => usage.instances,
                    "cores" => usage.cores,
                    "ram" => usage.ram_mb,
                    "floating_ips" => floating,
                    "security_groups" => groups,
                    _ => 0,
                };
                (name, QuotaItem { limit: own.get(name).copied().unwrap_or(default), in_use })
            })
            .collect())
    }

    /// The absolute limits of a project and what it uses of them, under
    /// the names Nova's `/limits` and the ECS-native limits share (-1 is
    /// unlimited). Callers drop what their API version does not show.
    pub async fn absolute_limits(&self, project_id: &str) -> Result<BTreeMap<&'static str, i64>> {
        let own = self.store.quota_limits(project_id).await?;
        let defaults = self.default_limits().await?;
        let limit = |name: &str| own.get(name).or_else(|| defaults.get(name)).copied().unwrap_or(-1);
        let used = self.store.instance_usage(project_id).await?;
        let floating = self.store.floating_ip_list(Some(project_id)).await?.len() as i64;
        let security_groups = self.store.security_group_list(Some(project_id)).await?.len() as i64;
        let server_groups = self.store.server_group_list(Some(project_id)).await?.len() as i64;
        Ok(BTreeMap::from([
            ("maxTotalInstances", limit("instances")),
            ("maxTotalCores", limit("cores")),
            ("maxTotalRAMSize", limit("ram")),
            ("maxTotalKeypairs", limit("key_pairs")),
            ("maxServerMeta", limit("metadata_items")),
            ("maxPersonality", limit("injected_files")),
            ("maxPersonalitySize", limit("injected_file_content_bytes")),
            ("maxServerGroups", limit("server_groups")),
            ("maxServerGroupMembers", limit("server_group_members")),
            ("maxSecurityGroups", limit("security_groups")),
            ("maxSecurityGroupRules", limit("security_group_rules")),
            ("maxTotalFloatingIps", limit("floating_ips")),
            ("maxImageMeta", crate::image::IMAGE_METADATA_LIMIT as i64),
            ("totalInstancesUsed", used.instances),
            ("totalCoresUsed", used.cores),
            ("totalRAMUsed", used.ram_mb),
            ("totalServerGroupsUsed", server_groups),
            ("totalSecurityGroupsUsed", security_groups),
            ("totalFloatingIpsUsed", floating),
        ]))
    }

    /// Admin update; a limit below what is in use is refused unless `force`.
    pub async fn quota_update(
        &self,
        ctx: &AuthContext,
        project_id: &str,
        values: BTreeMap<String, i64>,
        force: bool,
    ) -> Result<BTreeMap<&'static str, QuotaItem>> {
        policy::require_admin(ctx, "os_compute_api:os-quota-sets:update")?;
        let current = self.quota_set(ctx, project_id).await?;
        for (name, limit) in &values {
            let Some(item) = current.get(name.as_str()) else {
                return Err(Error::invalid(format!("Bad key(s) {name} in quota_set")));
            };
            if *limit < -1 {
                return Err(Error::invalid(format!("Quota limit {limit} for {name} must be -1 or greater.")));
            }
            if !force && *limit >= 0 && *limit < item.in_use {
                return Err(Error::invalid(format!(
                    "Quota limit {limit} for {name} must be greater than or equal to already used and reserved {}.",
                    item.in_use
                )));
            }
        }
        for (name, limit) in &values {
            self.store.quota_set(project_id, name, *limit).await?;
        }
        self.quota_set(ctx, project_id).await
    }

    /// Forgets a project's own limits. Like Nova, the project need not
    /// exist: the quotas of a project deleted since can still be cleared.
    pub async fn quota_reset(&self, ctx: &AuthContext, project_id: &str) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:os-quota-sets:delete")?;
        if !could_be_project_id(project_id) {
            return Ok(()); // no quota was ever kept under it
        }
        Ok(self.store.quota_reset(project_id).await?)
    }
}
