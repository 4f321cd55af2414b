//! Security groups (Nova's os-security-groups, proxied to the network
//! service in Nova, owned here): a `default` group per project made on
//! first use, rules checked as Nova checks them, servers joined and left.

use ecs_store::GroupRefusal;
use ecs_types::{AuthContext, SecurityGroup, SecurityGroupRule};

use crate::{Core, Error, Kind, Resource, Result, policy};

/// Groups and rules a project may have (Nova's defaults).
pub const GROUPS_QUOTA: usize = 10;
pub const RULES_QUOTA: usize = 20;

/// A rule as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct RuleRequest {
    pub parent_group_id: String,
    pub ip_protocol: Option<String>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidr: Option<String>,
    pub group_id: Option<String>,
}

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::SecurityGroup, id)
}

impl Core {
    /// The caller's groups, the `default` one made if missing.
    pub async fn security_groups(&self, ctx: &AuthContext) -> Result<Vec<SecurityGroup>> {
        let project = policy::project_of(ctx)?;
        let mut groups = self.store.security_group_list(Some(project)).await?;
        if !groups.iter().any(|g| g.name == "default") {
            // Another request may make it at the same moment: either wins.
            let _ = self.store.security_group_create(project, "default", "Default security group", true, -1).await?;
            groups = self.store.security_group_list(Some(project)).await?;
        }
        Ok(groups)
    }

    /// `os-security-groups`: the caller's groups, or with `all_tenants`
    /// every project's for an admin (others still get their own).
    pub async fn security_group_list(&self, ctx: &AuthContext, all_tenants: bool) -> Result<Vec<SecurityGroup>> {
        // Listing makes the caller's `default` group, whichever list is asked for.
        let own = self.security_groups(ctx).await?;
        if all_tenants && ctx.is_admin() { Ok(self.store.security_group_list(None).await?) } else { Ok(own) }
    }

    /// One of the caller's groups (admins: any).
    pub async fn security_group(&self, ctx: &AuthContext, id: &str) -> Result<SecurityGroup> {
        let g = self.store.security_group_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        if ctx.is_admin() || Some(g.project_id.as_str()) == ctx.project_id() { Ok(g) } else { Err(not_found(id)) }
    }

    /// Resolves names (or ids) to the caller's groups as (id, name), as a
    /// server create names them.
    pub async fn security_groups_named(&self, ctx: &AuthContext, names: &[String]) -> Result<Vec<(String, String)>> {
        let project = policy::project_of(ctx)?;
        let mut groups = self.store.security_group_names(project).await?;
        if !groups.iter().any(|(_, n)| n == "default") {
            groups = self.security_groups(ctx).await?.into_iter().map(|g| (g.id, g.name)).collect();
        }
        names
            .iter()
            .map(|n| {
                groups.iter().find(|(id, name)| name == n || id == n).cloned().ok_or_else(|| {
                    let project_id = ctx.project_id().unwrap_or_default().to_string();
                    Error::unknown(Kind::SecurityGroupName { project_id }, n.as_str())
                })
            })
            .collect()
    }

    pub async fn security_group_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        policy::authorize_write(ctx, "os_compute_api:os-security-groups:create")?;
        // The default group exists first, so that it counts.
        self.security_groups(ctx).await?;
        let project = policy::project_of(ctx)?;
        match self.store.security_group_create(project, name, description, false, GROUPS_QUOTA as i64).await? {
            Ok(group) => Ok(group),
            Err(GroupRefusal::Quota(_)) => Err(Error::quota(Resource::SecurityGroups, 1, 0, GROUPS_QUOTA as i64)),
            Err(_) => Err(Error::invalid(format!("Security group {name} already exists"))),
        }
    }

    pub async fn security_group_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        policy::authorize_write(ctx, "os_compute_api:os-security-groups:update")?;
        let g = self.security_group(ctx, id).await?;
        if g.name == "default" && name != "default" {
            return Err(Error::invalid("Unable to update system group 'default'"));
        }
        self.store
            .security_group_update(id, name, description)
            .await?
            .map_err(|_| Error::invalid(format!("Security group {name} already exists")))?;
        self.security_group(ctx, id).await
    }

    pub async fn security_group_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-security-groups:delete")?;
        let g = self.security_group(ctx, id).await?;
        if g.name == "default" {
            return Err(Error::invalid("Unable to delete system group 'default'"));
        }
        match self.store.security_group_delete(id).await.map_err(Error::not_found_as(Kind::SecurityGroup, id))? {
            Ok(()) => Ok(()),
            Err(GroupRefusal::InUse) => Err(Error::invalid("Security group is still in use")),
            Err(_) => unreachable!("delete refuses only groups in use"),
        }
    }

    /// Adds a rule after Nova's checks.
    pub async fn security_group_rule_create(&self, ctx: &AuthContext, req: RuleRequest) -> Result<SecurityGroupRule> {
        policy::authorize_write(ctx, "os_compute_api:os-security-groups:rule:create")?;
        let parent = self.security_group(ctx, &req.parent_group_id).await?;
        if parent.rules.iter().filter(|r| r.direction == "ingress").count() >= RULES_QUOTA {
            return Err(Error::quota(Resource::SecurityGroupRules, 1, 0, RULES_QUOTA as i64));
        }
        let protocol = req.ip_protocol.as_deref().map(str::to_lowercase);
        let (from, to) = match protocol.as_deref() {
            None => (None, None),
            Some("tcp" | "udp") => {
                let (f, t) = (req.from_port.unwrap_or(1), req.to_port.unwrap_or(65535));
                if !(1..=65535).contains(&f) || !(1..=65535).contains(&t) || f > t {
                    return Err(Error::invalid(format!(
                        "Invalid port range {f}:{t}. Valid TCP ports should be between 1-65535"
                    )));
                }
                (Some(f), Some(t))
            }
            Some("icmp") => {
                let (f, t) = (req.from_port.unwrap_or(-1), req.to_port.unwrap_or(-1));
                if !(-1..=255).contains(&f) || !(-1..=255).contains(&t) {
                    return Err(Error::invalid(format!(
                        "Invalid port range {f}:{t}. For ICMP, the type:code must be valid"
                    )));
                }
                (Some(f), Some(t))
            }
            Some(other) => return Err(Error::invalid(format!("Invalid IP protocol {other}."))),
        };
        let (cidr, remote) = match (&req.cidr, &req.group_id) {
            (Some(_), Some(_)) => return Err(Error::invalid("Not enough parameters to build a valid rule.")),
            (_, Some(group)) => (None, Some(self.security_group(ctx, group).await?.id)),
            (cidr, None) => {
                let cidr = cidr.clone().unwrap_or_else(|| "0.0.0.0/0".into());
                let net: ipnet::IpNet = cidr.parse().map_err(|_| Error::invalid(format!("Invalid cidr {cidr}.")))?;
                if net.prefix_len() == 0 && !net.addr().is_unspecified() {
                    return Err(Error::invalid(format!("Bad prefix for network in cidr {cidr}")));
                }
                // Kept as given (`10.2.3.124/24`), as Neutron keeps a rule's
                // remote_ip_prefix; rules are compared by the network it names.
                (Some(cidr), None)
            }
        };
        let rule = SecurityGroupRule {
            id: ecs_types::random::uuid().to_string(),
            group_id: parent.id.clone(),
            protocol,
            from_port: from,
            to_port: to,
            ethertype: if cidr.as_deref().is_some_and(|c| c.contains(':')) { "IPv6" } else { "IPv4" }.to_string(),
            direction: "ingress".to_string(),
            cidr,
            remote_group_id: remote,
        };
        let network =
            |cidr: &Option<String>| cidr.as_deref().and_then(|c| c.parse::<ipnet::IpNet>().ok()).map(|n| n.trunc());
        let same = |r: &SecurityGroupRule| {
            (&r.direction, &r.ethertype) == (&rule.direction, &rule.ethertype)
                && (&r.protocol, r.from_port, r.to_port, network(&r.cidr), &r.remote_group_id)
                    == (&rule.protocol, rule.from_port, rule.to_port, network(&rule.cidr), &rule.remote_group_id)
        };
        if parent.rules.iter().any(same) {
            return Err(Error::invalid(format!("This rule already exists in group {}", parent.id)));
        }
        self.store.security_group_rule_create(&rule).await?;
        Ok(rule)
    }

    pub async fn security_group_rule_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-security-groups:rule:delete")?;
        let missing = || Error::not_found(Kind::SecurityGroupRule, id);
        let rule = self.store.security_group_rule_get(id).await.map_err(Error::not_found_or(missing))?;
        self.security_group(ctx, &rule.group_id).await.map_err(|_| missing())?;
        self.store.security_group_rule_delete(id).await.map_err(Error::not_found_or(missing))
    }

    /// `addSecurityGroup` / `removeSecurityGroup`.
    pub async fn server_security_group(&self, ctx: &AuthContext, server_id: &str, name: &str, add: bool) -> Result<()> {
        policy::authorize_write(
            ctx,
            if add { "os_compute_api:os-security-groups:add" } else { "os_compute_api:os-security-groups:remove" },
        )?;
        let server = self.server_get(ctx, server_id).await?;
        let group =
            self.security_groups(ctx).await?.into_iter().find(|g| g.name == name || g.id == name).ok_or_else(|| {
                let project_id = ctx.project_id().unwrap_or_default().to_string();
                Error::not_found(Kind::SecurityGroupName { project_id }, name)
            })?;
        let member = self.store.server_security_groups(server_id).await?.iter().any(|g| g.id == group.id);
        match (add, member) {
            (true, true) => Err(Error::invalid(format!(
                "Security group {name} is already associated with the instance {}",
                server.id
            ))),
            // Nova: a 404 when no port of the server has the group.
            (false, false) => Err(Error::not_found(Kind::SecurityGroupMember { server_id: server.id }, name)),
            _ => Ok(self.store.server_security_group_set(server_id, &group.id, add).await?),
        }
    }

    /// The groups a server is in.
    pub async fn server_security_groups(&self, ctx: &AuthContext, server_id: &str) -> Result<Vec<SecurityGroup>> {
        self.server_get(ctx, server_id).await?;
        Ok(self.store.server_security_groups(server_id).await?)
    }
}
