//! The network service's own rules (Neutron v2.0), over the records the
//! other dialects share: security groups and their rules (Nova's
//! os-security-groups shows the same rows), routers, floating IPs (Nova's
//! os-floating-ips and the ECS EIPs are the same rows), updates of
//! networks, subnets and ports, and Neutron's quotas.

use std::collections::{BTreeMap, HashMap};

use ecs_store::{FloatingRefusal, GroupRefusal, PortRefusal, RouterRefusal};
use ecs_types::neutron::{NeutronAttrs, Router, RouterInterface};
use ecs_types::server::ServerPort;
use ecs_types::{AuthContext, FloatingIp, Network, SecurityGroup, SecurityGroupRule};
use ipnet::IpNet;

use crate::{Conflict, Core, Error, Invalid, Kind, Result, policy};

/// Neutron's default quotas, by its resource names.
pub const QUOTA_DEFAULTS: &[(&str, i64)] = &[
    ("floatingip", 50),
    ("network", 100),
    ("port", 500),
    ("rbac_policy", 10),
    ("router", 10),
    ("security_group", 10),
    ("security_group_rule", 100),
    ("subnet", 100),
    ("subnetpool", -1),
];

/// `device_owner` of a router's interface port.
pub const ROUTER_INTERFACE: &str = "network:router_interface";

/// A 400 of Neutron's named `fault`.
fn bad(fault: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid(Invalid::Neutron { fault, message: message.into() })
}

/// neutron-lib's `BadRequest` about a resource.
fn bad_request(resource: &str, message: impl std::fmt::Display) -> Error {
    bad("BadRequest", format!("Bad {resource} request: {message}."))
}

/// A 409 of Neutron's named `fault`.
fn clash(fault: &'static str, message: impl Into<String>) -> Error {
    Error::Conflict(Conflict::Neutron { fault, message: message.into() })
}

fn over_quota(resource: &str) -> Error {
    clash("OverQuota", format!("Quota exceeded for resources: ['{resource}']."))
}

/// A rule as Neutron's `POST /security-group-rules` gives it (types
/// already checked by the API).
#[derive(Debug, Clone, Default)]
pub struct NeutronRule {
    pub security_group_id: String,
    pub direction: String,
    pub ethertype: Option<String>,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
}

/// The protocol names Neutron takes, with their numbers.
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("icmpv6", 58),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// A protocol's number (names or `0`–`255`), None for any.
fn protocol_number(protocol: Option<&str>) -> Option<u8> {
    let p = protocol?;
    PROTOCOLS.iter().find(|(n, _)| *n == p).map(|(_, n)| *n).or_else(|| p.parse().ok())
}

/// The remote prefix that means "anywhere" counts as none when rules are compared.
fn prefix_key(prefix: Option<&str>) -> Option<IpNet> {
    let net = prefix?.parse::<IpNet>().ok()?.trunc();
    (net.prefix_len() != 0).then_some(net)
}

/// Neutron's checks of a new rule (`securitygroups_db`), in its order:
/// the rule in canonical form, or the fault.
pub fn checked_rule(req: &NeutronRule) -> Result<SecurityGroupRule> {
    if !matches!(req.direction.as_str(), "ingress" | "egress") {
        return Err(bad(
            "InvalidInput",
            format!("Invalid input for direction. Reason: '{}' is not in ['ingress', 'egress'].", req.direction),
        ));
    }
    let ethertype = match req.ethertype.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("ipv4") => "IPv4",
        Some("ipv6") => "IPv6",
        Some(_) => {
            return Err(bad(
                "SecurityGroupRuleInvalidEtherType",
                format!(
                    "Security group rule for ethertype '{}' not supported. Allowed values are ['IPv4', 'IPv6'].",
                    req.ethertype.as_deref().unwrap_or_default()
                ),
            ));
        }
    };
    let protocol = match req.protocol.as_deref().map(str::to_ascii_lowercase) {
        None => None,
        Some(p) if p == "any" => None,
        Some(p) => {
            let known = PROTOCOLS.iter().any(|(n, _)| *n == p) || p.parse::<u8>().is_ok();
            if !known {
                let names: Vec<&str> = PROTOCOLS.iter().map(|(n, _)| *n).collect();
                return Err(bad(
                    "SecurityGroupRuleInvalidProtocol",
                    format!(
                        "Security group rule protocol {p} not supported. Only protocol values [None, {}] and integer \
                         representations [0 to 255] are supported.",
                        names.join(", ")
                    ),
                ));
            }
            Some(p)
        }
    };
    let number = protocol_number(protocol.as_deref());
    if ethertype == "IPv4" && number == Some(58) {
        return Err(bad(
            "SecurityGroupEthertypeConflictWithProtocol",
            format!("Invalid ethertype {ethertype} for protocol {}.", protocol.as_deref().unwrap_or_default()),
        ));
    }
    let (min, max) = (req.port_range_min, req.port_range_max);
    for value in [min, max].into_iter().flatten() {
        if !(0..=65535).contains(&value) {
            return Err(bad("SecurityGroupInvalidPortValue", format!("Invalid value for port {value}.")));
        }
    }
    if min.is_some() || max.is_some() {
        match number {
            None => {
                return Err(bad(
                    "SecurityGroupProtocolRequiredWithPorts",
                    "Must also specify protocol if port range is given.",
                ));
            }
            Some(6 | 17 | 33 | 132 | 136) => {
                if min == Some(0) || max == Some(0) {
                    return Err(bad("SecurityGroupInvalidPortValue", "Invalid value for port 0."));
                }
                if !matches!((min, max), (Some(a), Some(b)) if a <= b) {
                    return Err(bad(
                        "SecurityGroupInvalidPortRange",
                        "For TCP/UDP protocols, port_range_min must be <= port_range_max",
                    ));
                }
            }
            Some(1 | 58) => {
                for (value, field, attr) in [(min, "type", "port_range_min"), (max, "code", "port_range_max")] {
                    if let Some(v) = value
                        && !(0..=255).contains(&v)
                    {
                        return Err(bad(
                            "SecurityGroupInvalidIcmpValue",
                            format!("Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."),
                        ));
                    }
                }
                if let (None, Some(code)) = (min, max) {
                    return Err(bad(
                        "SecurityGroupMissingIcmpType",
                        format!(
                            "ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."
                        ),
                    ));
                }
            }
            Some(_) => {
                return Err(bad(
                    "SecurityGroupInvalidProtocolForPortRange",
                    format!(
                        "Invalid protocol {} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.",
                        protocol.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    if req.remote_ip_prefix.is_some() && req.remote_group_id.is_some() {
        return Err(bad(
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            "Only remote_ip_prefix or remote_group_id may be provided.",
        ));
    }
    let remote_ip_prefix = match &req.remote_ip_prefix {
        None => None,
        Some(prefix) => {
            let net: IpNet =
                prefix.parse().or_else(|_| prefix.parse::<std::net::IpAddr>().map(IpNet::from)).map_err(|_| {
                    bad(
                        "InvalidInput",
                        format!("Invalid input for remote_ip_prefix. Reason: '{prefix}' is not a valid IP subnet."),
                    )
                })?;
            let family = if net.addr().is_ipv4() { "IPv4" } else { "IPv6" };
            if family != ethertype {
                return Err(bad(
                    "SecurityGroupRuleParameterConflict",
                    format!("Conflicting value ethertype {ethertype} for CIDR {prefix}"),
                ));
            }
            Some(net.to_string())
        }
    };
    Ok(SecurityGroupRule {
        id: ecs_types::random::uuid().to_string(),
        group_id: req.security_group_id.clone(),
        protocol,
        from_port: min,
        to_port: max,
        cidr: remote_ip_prefix,
        remote_group_id: req.remote_group_id.clone(),
        direction: req.direction.clone(),
        ethertype: ethertype.to_string(),
    })
}

/// Two rules that let the same traffic through (Neutron's duplicate check).
fn same_rule(a: &SecurityGroupRule, b: &SecurityGroupRule) -> bool {
    a.direction == b.direction
        && a.ethertype == b.ethertype
        && protocol_number(a.protocol.as_deref()) == protocol_number(b.protocol.as_deref())
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && prefix_key(a.cidr.as_deref()) == prefix_key(b.cidr.as_deref())
        && a.remote_group_id == b.remote_group_id
}

/// Changes to a network (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct NetworkUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub external: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct SubnetUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enable_dhcp: Option<bool>,
    pub dns_nameservers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct PortUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub security_groups: Option<Vec<String>>,
    pub allowed_address_pairs: Option<Vec<(String, Option<String>)>>,
    pub fixed_ip: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RouterUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    /// Some(None): remove the gateway.
    pub gateway_network_id: Option<Option<String>>,
}

/// What `add_router_interface` answers.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    pub router: Router,
    pub port: ServerPort,
}

/// Everything a listing of ports or floating IPs shows beside the records.
#[derive(Debug, Clone, Default)]
pub struct NeutronView {
    pub attrs: HashMap<String, NeutronAttrs>,
    pub port_groups: HashMap<String, Vec<String>>,
    pub interfaces: Vec<RouterInterface>,
    pub routers: Vec<Router>,
}

impl NeutronView {
    pub fn attrs(&self, id: &str) -> NeutronAttrs {
        self.attrs.get(id).cloned().unwrap_or_default()
    }

    /// The router a floating IP goes through: one with a gateway on its
    /// network and an interface on its port's subnet.
    pub fn router_of(&self, fip: &FloatingIp, ports: &[ServerPort]) -> Option<String> {
        let port = ports.iter().find(|p| Some(&p.id) == fip.port_id.as_ref())?;
        router_between(&self.routers, &self.interfaces, &fip.network_id, &port.subnet_id).map(|r| r.id.clone())
    }
}

fn router_between<'a>(
    routers: &'a [Router],
    interfaces: &[RouterInterface],
    network_id: &str,
    subnet_id: &str,
) -> Option<&'a Router> {
    routers.iter().find(|r| {
        r.gateway_network_id.as_deref() == Some(network_id)
            && interfaces.iter().any(|i| i.router_id == r.id && i.subnet_id == subnet_id)
    })
}

impl Core {
    /// Networks as Neutron shows them: the caller's, shared ones, external
    /// ones (every project may allocate from them), any for an admin.
    pub async fn neutron_networks(&self, ctx: &AuthContext) -> Result<Vec<Network>> {
        let all = self.store.network_list().await?;
        Ok(all
            .into_iter()
            .filter(|n| n.shared || n.external || ctx.is_admin() || n.project_id.as_deref() == ctx.project_id())
            .collect())
    }

    async fn neutron_network(&self, ctx: &AuthContext, id: &str) -> Result<Network> {
        self.neutron_networks(ctx)
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::not_found(Kind::Network, id))
    }

    /// The subnets of a network the caller sees (as Neutron shows them).
    pub async fn neutron_subnets(&self, ctx: &AuthContext, network_id: &str) -> Result<Vec<ecs_types::Subnet>> {
        self.neutron_network(ctx, network_id).await?;
        Ok(self.store.subnet_list(network_id).await?)
    }

    /// Every port (floating IPs of a project may sit on ports the view
    /// needs to place, e.g. to name their router).
    pub async fn store_ports_for_neutron(&self) -> Result<Vec<ServerPort>> {
        Ok(self.store.port_list(None).await?)
    }

    /// The attributes, port groups and routers listings show.
    pub async fn neutron_view(&self) -> Result<NeutronView> {
        Ok(NeutronView {
            attrs: self.store.neutron_attrs_all().await?,
            port_groups: self.store.port_security_groups_all().await?,
            interfaces: self.store.router_interfaces_all().await?,
            routers: self.store.router_list(None).await?,
        })
    }

    /// The groups a port is in: its own, else (a server's NIC) its server's.
    pub async fn port_security_group_ids(&self, view: &NeutronView, port: &ServerPort) -> Result<Vec<String>> {
        if let Some(own) = view.port_groups.get(&port.id) {
            return Ok(own.clone());
        }
        if port.server_id.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.server_security_groups(&port.server_id).await?.into_iter().map(|g| g.id).collect())
    }

    // --- security groups -------------------------------------------------

    /// Neutron's list: the caller's groups (the `default` made if missing);
    /// an admin sees every project's.
    pub async fn neutron_security_groups(&self, ctx: &AuthContext) -> Result<Vec<SecurityGroup>> {
        let own = self.security_groups(ctx).await?;
        if ctx.is_admin() { Ok(self.store.security_group_list(None).await?) } else { Ok(own) }
    }

    pub async fn neutron_security_group_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        policy::authorize_write(ctx, "create_security_group")?;
        let project = policy::project_of(ctx)?.to_string();
        self.security_groups(ctx).await?;
        if name == "default" {
            return Err(clash("SecurityGroupDefaultAlreadyExists", "Default security group already exists."));
        }
        let limit = self.neutron_quota_limit(&project, "security_group").await?;
        match self.store.security_group_create(&project, name, description, false, limit).await? {
            Ok(group) => Ok(group),
            Err(GroupRefusal::Quota(_)) => Err(over_quota("security_group")),
            Err(_) => Err(clash("SecurityGroupNameExists", format!("Security group {name} already exists"))),
        }
    }

    pub async fn neutron_security_group_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<SecurityGroup> {
        policy::authorize_write(ctx, "update_security_group")?;
        let g = self.security_group(ctx, id).await?;
        let name = name.unwrap_or(&g.name);
        if g.name == "default" && name != "default" {
            return Err(clash("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed."));
        }
        if g.name != "default" && name == "default" {
            return Err(clash("SecurityGroupDefaultAlreadyExists", "Default security group already exists."));
        }
        self.store
            .security_group_update(id, name, description.unwrap_or(&g.description))
            .await
            .map_err(Error::not_found_as(Kind::SecurityGroup, id))?
            .map_err(|_| clash("SecurityGroupNameExists", format!("Security group {name} already exists")))?;
        self.security_group(ctx, id).await
    }

    pub async fn neutron_security_group_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_security_group")?;
        let g = self.security_group(ctx, id).await?;
        // An admin may remove a project's default group (Tempest's
        // cleanup of its projects does); it comes back on the next use.
        if g.name == "default" && !ctx.is_admin() {
            return Err(clash(
                "SecurityGroupCannotRemoveDefault",
                "Insufficient rights for removing default security group.",
            ));
        }
        match self.store.security_group_delete(id).await.map_err(Error::not_found_as(Kind::SecurityGroup, id))? {
            Ok(()) => Ok(()),
            Err(_) => Err(clash("SecurityGroupInUse", format!("Security Group {id} in use."))),
        }
    }

    pub async fn neutron_rule_create(&self, ctx: &AuthContext, req: NeutronRule) -> Result<SecurityGroupRule> {
        policy::authorize_write(ctx, "create_security_group_rule")?;
        let parent = self.security_group(ctx, &req.security_group_id).await?;
        let rule = checked_rule(&req)?;
        if let Some(remote) = &rule.remote_group_id {
            self.security_group(ctx, remote).await?;
        }
        if let Some(existing) = parent.rules.iter().find(|r| same_rule(r, &rule)) {
            return Err(clash(
                "SecurityGroupRuleExists",
                format!("Security group rule already exists. Rule id is {}.", existing.id),
            ));
        }
        let limit = self.neutron_quota_limit(&parent.project_id, "security_group_rule").await?;
        let held: usize =
            self.store.security_group_list(Some(&parent.project_id)).await?.iter().map(|g| g.rules.len()).sum();
        if limit >= 0 && held as i64 >= limit {
            return Err(over_quota("security_group_rule"));
        }
        self.store.security_group_rule_create(&rule).await?;
        Ok(rule)
    }

    /// The rules of the groups the caller sees.
    pub async fn neutron_rules(&self, ctx: &AuthContext) -> Result<Vec<(SecurityGroupRule, String)>> {
        Ok(self
            .neutron_security_groups(ctx)
            .await?
            .into_iter()
            .flat_map(|g| {
                let project = g.project_id.clone();
                g.rules.into_iter().map(move |r| (r, project.clone()))
            })
            .collect())
    }

    pub async fn neutron_rule(&self, ctx: &AuthContext, id: &str) -> Result<(SecurityGroupRule, String)> {
        let missing = || Error::not_found(Kind::SecurityGroupRule, id);
        let rule = self.store.security_group_rule_get(id).await.map_err(Error::not_found_or(missing))?;
        let group = self.security_group(ctx, &rule.group_id).await.map_err(|_| missing())?;
        Ok((rule, group.project_id))
    }

    pub async fn neutron_rule_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_security_group_rule")?;
        self.neutron_rule(ctx, id).await?;
        self.store
            .security_group_rule_delete(id)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::SecurityGroupRule, id)))
    }

    // --- networks, subnets, ports ------------------------------------------

    /// Neutron's attributes of a new network, subnet or port.
    pub async fn neutron_attrs_init(&self, id: &str, attrs: &NeutronAttrs) -> Result<()> {
        Ok(self.store.neutron_attrs_set(id, attrs).await?)
    }

    pub async fn network_update(&self, ctx: &AuthContext, id: &str, u: NetworkUpdate) -> Result<Network> {
        policy::authorize_write(ctx, "update_network")?;
        let n = self.neutron_network(ctx, id).await?;
        if !ctx.is_admin() && n.project_id.as_deref() != ctx.project_id() {
            return Err(policy::forbidden("update_network"));
        }
        if u.external.is_some_and(|e| e != n.external) {
            policy::require_admin(ctx, "update_network:router:external")?;
            if u.external == Some(false) {
                let in_use = self.store.floating_ip_list(None).await?.iter().any(|f| f.network_id == id)
                    || self.store.router_list(None).await?.iter().any(|r| r.gateway_network_id.as_deref() == Some(id));
                if in_use {
                    return Err(clash(
                        "ExternalNetworkInUse",
                        format!("External network {id} cannot be updated to be internal: it is in use."),
                    ));
                }
            }
        }
        let name = u.name.unwrap_or(n.name.clone());
        self.store.network_update(id, &name, u.external.unwrap_or(n.external)).await?;
        let mut attrs = self.store.neutron_attrs(id).await?;
        attrs.description = u.description.unwrap_or(attrs.description);
        attrs.admin_state_up = u.admin_state_up.unwrap_or(attrs.admin_state_up);
        self.store.neutron_attrs_set(id, &attrs).await?;
        self.neutron_network(ctx, id).await
    }

    pub async fn subnet_update(&self, ctx: &AuthContext, id: &str, u: SubnetUpdate) -> Result<()> {
        policy::authorize_write(ctx, "update_subnet")?;
        let networks = self.neutron_networks(ctx).await?;
        let mut found = None;
        for n in &networks {
            if let Some(s) = self.store.subnet_list(&n.id).await?.into_iter().find(|s| s.id == id) {
                found = Some((n.clone(), s));
            }
        }
        let (network, subnet) = found.ok_or_else(|| Error::not_found(Kind::Subnet, id))?;
        if !ctx.is_admin() && network.project_id.as_deref() != ctx.project_id() {
            return Err(policy::forbidden("update_subnet"));
        }
        if let Some(dns) = &u.dns_nameservers {
            for d in dns {
                d.parse::<std::net::IpAddr>().map_err(|_| {
                    bad(
                        "InvalidInput",
                        format!("Invalid input for dns_nameservers. Reason: '{d}' is not a valid nameserver."),
                    )
                })?;
            }
        }
        self.store
            .subnet_update(
                id,
                u.name.as_deref().unwrap_or(&subnet.name),
                u.dns_nameservers.as_ref().unwrap_or(&subnet.dns_nameservers),
            )
            .await?;
        let mut attrs = self.store.neutron_attrs(id).await?;
        attrs.description = u.description.unwrap_or(attrs.description);
        attrs.enable_dhcp = u.enable_dhcp.unwrap_or(attrs.enable_dhcp);
        self.store.neutron_attrs_set(id, &attrs).await?;
        Ok(())
    }

    /// The caller's groups named by id, for a port.
    async fn port_groups(&self, ctx: &AuthContext, ids: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for id in ids {
            let g = self.security_group(ctx, id).await?;
            if !out.contains(&g.id) {
                out.push(g.id);
            }
        }
        Ok(out)
    }

    /// Neutron's port create: a port (Nova's rules), then its attributes
    /// and groups (the project's `default` when none are named).
    #[allow(clippy::too_many_arguments)]
    pub async fn neutron_port_create(
        &self,
        ctx: &AuthContext,
        network_id: &str,
        name: &str,
        fixed_ip: Option<&str>,
        security_groups: Option<Vec<String>>,
        attrs: NeutronAttrs,
    ) -> Result<ServerPort> {
        policy::authorize_write(ctx, "create_port")?;
        let groups = match security_groups {
            Some(ids) => self.port_groups(ctx, &ids).await?,
            None => {
                self.security_groups(ctx).await?.into_iter().filter(|g| g.name == "default").map(|g| g.id).collect()
            }
        };
        let port = self.port_create(ctx, network_id, name, fixed_ip).await?;
        self.store.neutron_attrs_set(&port.id, &attrs).await?;
        self.store.port_security_groups_set(&port.id, &groups).await?;
        Ok(port)
    }

    pub async fn port_update(&self, ctx: &AuthContext, id: &str, u: PortUpdate) -> Result<ServerPort> {
        policy::authorize_write(ctx, "update_port")?;
        let port = self.port(ctx, id).await?;
        let mut attrs = self.store.neutron_attrs(id).await?;
        if let Some(groups) = &u.security_groups {
            let groups = self.port_groups(ctx, groups).await?;
            self.store.port_security_groups_set(id, &groups).await?;
        }
        if let Some(ip) = &u.fixed_ip
            && *ip != port.address
        {
            if !port.server_id.is_empty() || attrs.device_owner == ROUTER_INTERFACE {
                return Err(Conflict::PortInUse { id: id.to_string() }.into());
            }
            match self.store.port_readdress(id, ip).await? {
                Ok(()) => {}
                Err(PortRefusal::AddressInUse(ip)) => return Err(Invalid::FixedIpInUse { ip }.into()),
                Err(_) => {
                    return Err(bad(
                        "InvalidIpForNetwork",
                        format!("IP address {ip} is not a valid IP for any of the subnets on the specified network."),
                    ));
                }
            }
        }
        if let Some(name) = &u.name {
            self.store.port_rename(id, name).await?;
        }
        if let Some(pairs) = u.allowed_address_pairs {
            attrs.allowed_address_pairs =
                pairs.into_iter().map(|(ip, mac)| (ip, mac.unwrap_or_else(|| port.mac.clone()))).collect();
        }
        attrs.description = u.description.unwrap_or(attrs.description);
        attrs.admin_state_up = u.admin_state_up.unwrap_or(attrs.admin_state_up);
        self.store.neutron_attrs_set(id, &attrs).await?;
        self.port(ctx, id).await
    }

    /// A port delete as Neutron refuses it: a router's interface goes
    /// through the router.
    pub async fn neutron_port_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_port")?;
        self.port(ctx, id).await?;
        if self.store.router_interfaces_all().await?.iter().any(|i| i.port_id == id) {
            return Err(clash(
                "L3PortInUse",
                format!("Port {id} cannot be deleted directly via the port API: has device owner {ROUTER_INTERFACE}."),
            ));
        }
        self.port_delete(ctx, id).await?;
        self.store.neutron_attrs_delete(id).await?;
        Ok(())
    }

    // --- routers -----------------------------------------------------------

    pub async fn routers(&self, ctx: &AuthContext) -> Result<Vec<Router>> {
        let project = if ctx.is_admin() { None } else { Some(policy::project_of(ctx)?) };
        Ok(self.store.router_list(project).await?)
    }

    pub async fn router(&self, ctx: &AuthContext, id: &str) -> Result<Router> {
        let r = self.store.router_get(id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::Router, id)))?;
        if ctx.is_admin() || Some(r.project_id.as_str()) == ctx.project_id() {
            Ok(r)
        } else {
            Err(Error::not_found(Kind::Router, id))
        }
    }

    /// An external network a router may have its gateway on.
    async fn gateway_network(&self, ctx: &AuthContext, id: &str) -> Result<Network> {
        let n = self.neutron_network(ctx, id).await?;
        if !n.external {
            return Err(bad_request("router", format_args!("Network {id} is not an external network")));
        }
        Ok(n)
    }

    pub async fn router_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        description: &str,
        admin_state_up: bool,
        gateway: Option<&str>,
    ) -> Result<Router> {
        policy::authorize_write(ctx, "create_router")?;
        let project = policy::project_of(ctx)?.to_string();
        if let Some(g) = gateway {
            self.gateway_network(ctx, g).await?;
        }
        let limit = self.neutron_quota_limit(&project, "router").await?;
        let router = Router {
            id: ecs_types::random::uuid().to_string(),
            project_id: project,
            name: name.to_string(),
            description: description.to_string(),
            admin_state_up,
            gateway_network_id: gateway.map(String::from),
            created_at: ecs_types::clock::now(),
            interfaces: Vec::new(),
        };
        if !self.store.router_create(&router, limit).await? {
            return Err(over_quota("router"));
        }
        Ok(router)
    }

    /// Floating IPs that reach their ports through `router`.
    async fn floating_ips_through(&self, router: &Router) -> Result<Vec<FloatingIp>> {
        let view = self.neutron_view().await?;
        let ports = self.store.port_list(None).await?;
        Ok(self
            .store
            .floating_ip_list(None)
            .await?
            .into_iter()
            .filter(|f| view.router_of(f, &ports).as_deref() == Some(router.id.as_str()))
            .collect())
    }

    pub async fn router_update(&self, ctx: &AuthContext, id: &str, u: RouterUpdate) -> Result<Router> {
        policy::authorize_write(ctx, "update_router")?;
        let mut r = self.router(ctx, id).await?;
        if let Some(gateway) = &u.gateway_network_id
            && *gateway != r.gateway_network_id
        {
            if let Some(g) = gateway {
                self.gateway_network(ctx, g).await?;
            }
            if let Some(old) = &r.gateway_network_id
                && !self.floating_ips_through(&r).await?.is_empty()
            {
                return Err(clash(
                    "RouterExternalGatewayInUseByFloatingIp",
                    format!(
                        "Gateway cannot be updated for router {id}, since a gateway to external network {old} is \
                         required by one or more floating IPs."
                    ),
                ));
            }
        }
        r.name = u.name.unwrap_or(r.name);
        r.description = u.description.unwrap_or(r.description);
        r.admin_state_up = u.admin_state_up.unwrap_or(r.admin_state_up);
        r.gateway_network_id = u.gateway_network_id.unwrap_or(r.gateway_network_id);
        self.store.router_update(&r).await.map_err(Error::not_found_as(Kind::Router, id))?;
        self.router(ctx, id).await
    }

    pub async fn router_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_router")?;
        self.router(ctx, id).await?;
        // A VPC's router goes with the VPC, once its subnets are gone.
        if self.store.vpc_memberships().await?.iter().any(|m| m.vpc_id == id) {
            return Err(clash("RouterInUse", format!("Router {id} is a VPC that still has subnets")));
        }
        match self.store.router_delete(id).await.map_err(Error::not_found_as(Kind::Router, id))? {
            Ok(()) => Ok(()),
            Err(RouterRefusal::InUse) => Err(clash("RouterInUse", format!("Router {id} still has ports"))),
        }
    }

    /// `add_router_interface` by subnet (a new port with the subnet's
    /// gateway address) or by an unbound port.
    pub async fn router_interface_add(
        &self,
        ctx: &AuthContext,
        id: &str,
        subnet_id: Option<&str>,
        port_id: Option<&str>,
    ) -> Result<InterfaceInfo> {
        policy::authorize_write(ctx, "add_router_interface")?;
        let router = self.router(ctx, id).await?;
        let port = match (subnet_id, port_id) {
            (Some(_), Some(_)) => return Err(bad_request("router", "Cannot specify both subnet-id and port-id")),
            (None, None) => return Err(bad_request("router", "Either subnet_id or port_id must be specified")),
            (Some(subnet_id), None) => {
                let networks = self.neutron_networks(ctx).await?;
                let (network, subnet) = self
                    .subnet_in(&networks, subnet_id)
                    .await?
                    .ok_or_else(|| Error::not_found(Kind::Subnet, subnet_id))?;
                let Some(gateway) = subnet.gateway_ip.clone() else {
                    return Err(bad_request("router", "Subnet for router interface must have a gateway IP"));
                };
                if router.interfaces.iter().any(|i| i.subnet_id == subnet.id) {
                    return Err(bad_request("router", format_args!("Router already has a port on subnet {subnet_id}")));
                }
                match self.store.router_interface_create(&router, &network.id, &subnet.id, &gateway).await? {
                    Ok(port) => port,
                    Err(PortRefusal::AddressInUse(ip)) => return Err(Invalid::FixedIpInUse { ip }.into()),
                    Err(_) => return Err(Invalid::NoFixedIpLeft.into()),
                }
            }
            (None, Some(port_id)) => {
                let port = self.port(ctx, port_id).await?;
                if router.interfaces.iter().any(|i| i.subnet_id == port.subnet_id) {
                    return Err(bad_request(
                        "router",
                        format_args!("Router already has a port on subnet {}", port.subnet_id),
                    ));
                }
                if !self.store.router_interface_adopt(&router.id, &port).await? {
                    return Err(Conflict::PortInUse { id: port.id }.into());
                }
                port
            }
        };
        let mut attrs = self.store.neutron_attrs(&port.id).await?;
        attrs.device_owner = ROUTER_INTERFACE.to_string();
        attrs.device_id = router.id.clone();
        self.store.neutron_attrs_set(&port.id, &attrs).await?;
        self.store.port_security_groups_set(&port.id, &[]).await?;
        Ok(InterfaceInfo { router: self.router(ctx, id).await?, port })
    }

    pub async fn router_interface_remove(
        &self,
        ctx: &AuthContext,
        id: &str,
        subnet_id: Option<&str>,
        port_id: Option<&str>,
    ) -> Result<InterfaceInfo> {
        policy::authorize_write(ctx, "remove_router_interface")?;
        let router = self.router(ctx, id).await?;
        let interface = match (subnet_id, port_id) {
            (None, None) => return Err(bad_request("router", "Either subnet_id or port_id must be specified")),
            (_, Some(port_id)) => router.interfaces.iter().find(|i| i.port_id == port_id).ok_or_else(|| {
                Error::not_found(Kind::RouterInterface { router_id: id.to_string(), by_subnet: false }, port_id)
            })?,
            (Some(subnet_id), None) => {
                router.interfaces.iter().find(|i| i.subnet_id == subnet_id).ok_or_else(|| {
                    Error::not_found(Kind::RouterInterface { router_id: id.to_string(), by_subnet: true }, subnet_id)
                })?
            }
        };
        if let Some(subnet_id) = subnet_id
            && interface.subnet_id != subnet_id
        {
            return Err(bad_request(
                "router",
                format_args!("Subnet {subnet_id} is not the subnet of port {}", interface.port_id),
            ));
        }
        let ports = self.store.port_list(None).await?;
        let needed = self
            .floating_ips_through(&router)
            .await?
            .iter()
            .any(|f| ports.iter().any(|p| Some(&p.id) == f.port_id.as_ref() && p.subnet_id == interface.subnet_id));
        let only_path = needed && router.interfaces.iter().filter(|i| i.subnet_id == interface.subnet_id).count() == 1;
        if only_path {
            return Err(clash(
                "RouterInterfaceInUseByFloatingIP",
                format!(
                    "Router interface for subnet {} on router {id} cannot be deleted, as it is required by one or \
                     more floating IPs.",
                    interface.subnet_id
                ),
            ));
        }
        let port = self.store.port_get(&interface.port_id).await?;
        self.store.router_interface_delete(&interface.port_id).await?;
        Ok(InterfaceInfo { router: self.router(ctx, id).await?, port })
    }

    // --- floating IPs ------------------------------------------------------

    /// Neutron's floating IPs: the caller's (an admin's: every one).
    pub async fn neutron_floating_ips(&self, ctx: &AuthContext) -> Result<Vec<FloatingIp>> {
        let project = if ctx.is_admin() { None } else { Some(policy::project_of(ctx)?) };
        Ok(self.store.floating_ip_list(project).await?)
    }

    /// The port (and fixed address) a floating IP may be associated with,
    /// after Neutron's checks.
    async fn association(
        &self,
        ctx: &AuthContext,
        fip: &FloatingIp,
        port_id: &str,
        fixed_ip: Option<&str>,
    ) -> Result<ServerPort> {
        let port = self.port(ctx, port_id).await?;
        if let Some(ip) = fixed_ip
            && ip != port.address
        {
            return Err(bad_request("floatingip", format_args!("Port {port_id} does not have fixed ip {ip}")));
        }
        let attrs = self.store.neutron_attrs(&port.id).await?;
        if attrs.device_owner.starts_with("network:") {
            return Err(bad_request(
                "floatingip",
                format_args!(
                    "Port {port_id} has owner {} and therefore cannot be assigned a floating IP",
                    attrs.device_owner
                ),
            ));
        }
        let routers = self.store.router_list(None).await?;
        let interfaces = self.store.router_interfaces_all().await?;
        if router_between(&routers, &interfaces, &fip.network_id, &port.subnet_id).is_none() {
            return Err(Error::not_found(
                Kind::ExternalGateway { subnet_id: port.subnet_id.clone(), port_id: port.id.clone() },
                fip.network_id.clone(),
            ));
        }
        let taken = self.store.floating_ip_list(None).await?.into_iter().any(|other| {
            other.id != fip.id
                && other.port_id.as_deref() == Some(port.id.as_str())
                && other.network_id == fip.network_id
        });
        if taken {
            return Err(clash(
                "FloatingIPPortAlreadyAssociated",
                format!(
                    "Cannot associate floating IP {} ({}) with port {} using fixed IP {}, as that fixed IP already has \
                     a floating IP on external network {}.",
                    fip.address, fip.id, port.id, port.address, fip.network_id
                ),
            ));
        }
        Ok(port)
    }

    pub async fn neutron_floating_ip_create(
        &self,
        ctx: &AuthContext,
        network_id: &str,
        port_id: Option<&str>,
        fixed_ip: Option<&str>,
        description: &str,
    ) -> Result<FloatingIp> {
        policy::authorize_write(ctx, "create_floatingip")?;
        let project = policy::project_of(ctx)?.to_string();
        let network = self.neutron_network(ctx, network_id).await?;
        if !network.external {
            return Err(bad_request(
                "floatingip",
                format_args!("Network {network_id} is not a valid external network"),
            ));
        }
        let id = ecs_types::random::uuid().to_string();
        let probe = FloatingIp {
            id: id.clone(),
            project_id: project.clone(),
            network_id: network.id.clone(),
            pool: network.name.clone(),
            address: String::new(),
            port_id: None,
            fixed_ip: None,
            server_id: None,
            created_at: ecs_types::clock::now(),
            eip: Default::default(),
        };
        let port = match port_id {
            Some(p) => Some(self.association(ctx, &probe, p, fixed_ip).await?),
            None => None,
        };
        let limit = self.neutron_quota_limit(&project, "floatingip").await?;
        let fip = match self.store.floating_ip_allocate(&id, &project, &network.id, limit).await? {
            Ok(f) => f,
            Err(FloatingRefusal::Quota(_)) => return Err(over_quota("floatingip")),
            Err(FloatingRefusal::Exhausted) => {
                return Err(clash(
                    "IpAddressGenerationFailure",
                    format!("No more IP addresses available on network {network_id}."),
                ));
            }
        };
        if !description.is_empty() {
            let attrs = NeutronAttrs { description: description.to_string(), ..Default::default() };
            self.store.neutron_attrs_set(&fip.id, &attrs).await?;
        }
        if let Some(port) = port {
            self.store.floating_ip_bind(&fip.id, Some(&port.id)).await?;
        }
        self.floating_ip(ctx, &id).await
    }

    /// `PUT /floatingips/{id}`: associate (`port_id`), disassociate
    /// (`port_id: null`), describe.
    pub async fn neutron_floating_ip_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        port_id: Option<Option<&str>>,
        fixed_ip: Option<&str>,
        description: Option<&str>,
    ) -> Result<FloatingIp> {
        policy::authorize_write(ctx, "update_floatingip")?;
        let fip = self.floating_ip(ctx, id).await?;
        match port_id {
            Some(Some(p)) => {
                let port = self.association(ctx, &fip, p, fixed_ip).await?;
                self.store.floating_ip_bind(id, Some(&port.id)).await?;
            }
            Some(None) => self.store.floating_ip_bind(id, None).await?,
            None => {}
        }
        if let Some(d) = description {
            let mut attrs = self.store.neutron_attrs(id).await?;
            attrs.description = d.to_string();
            self.store.neutron_attrs_set(id, &attrs).await?;
        }
        self.floating_ip(ctx, id).await
    }

    pub async fn neutron_floating_ip_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_floatingip")?;
        self.floating_ip(ctx, id).await?;
        self.store.floating_ip_release(id).await.map_err(Error::not_found_as(Kind::FloatingIp, id))?;
        self.store.neutron_attrs_delete(id).await?;
        Ok(())
    }

    // --- quotas --------------------------------------------------------------

    /// A project's limit of a Neutron resource: its own, else the default.
    pub async fn neutron_quota_limit(&self, project_id: &str, resource: &str) -> Result<i64> {
        let key = format!("neutron:{resource}");
        if let Some(own) = self.store.quota_limits(project_id).await?.get(&key) {
            return Ok(*own);
        }
        Ok(QUOTA_DEFAULTS.iter().find(|(n, _)| *n == resource).map(|(_, l)| *l).unwrap_or(-1))
    }

    /// A project's Neutron quotas: (limit, used) by resource.
    pub async fn neutron_quota(
        &self,
        ctx: &AuthContext,
        project_id: &str,
    ) -> Result<BTreeMap<&'static str, (i64, i64)>> {
        if !ctx.is_admin() && ctx.project_id() != Some(project_id) {
            return Err(policy::forbidden("get_quota"));
        }
        let own = self.store.quota_limits(project_id).await?;
        let networks = self.store.network_list().await?;
        let mine: Vec<&Network> = networks.iter().filter(|n| n.project_id.as_deref() == Some(project_id)).collect();
        let mut subnets = 0;
        for n in &mine {
            subnets += self.store.subnet_list(&n.id).await?.len() as i64;
        }
        let groups = self.store.security_group_list(Some(project_id)).await?;
        let used = |name: &str| -> i64 {
            match name {
                "network" => mine.len() as i64,
                "subnet" => subnets,
                "security_group" => groups.len() as i64,
                "security_group_rule" => groups.iter().map(|g| g.rules.len() as i64).sum(),
                _ => 0,
            }
        };
        let ports = self.store.port_list(Some(project_id)).await?.len() as i64;
        let routers = self.store.router_list(Some(project_id)).await?.len() as i64;
        let fips = self.store.floating_ip_list(Some(project_id)).await?.len() as i64;
        Ok(QUOTA_DEFAULTS
            .iter()
            .map(|(name, default)| {
                let limit = own.get(&format!("neutron:{name}")).copied().unwrap_or(*default);
                let in_use = match *name {
                    "port" => ports,
                    "router" => routers,
                    "floatingip" => fips,
                    other => used(other),
                };
                (*name, (limit, in_use))
            })
            .collect())
    }

    /// Sets Neutron quotas of a project (admin).
    pub async fn neutron_quota_update(
        &self,
        ctx: &AuthContext,
        project_id: &str,
        limits: &[(String, i64)],
    ) -> Result<()> {
        policy::require_admin(ctx, "update_quota")?;
        for (name, limit) in limits {
            if !QUOTA_DEFAULTS.iter().any(|(n, _)| n == name) {
                return Err(bad("InvalidInput", format!("Unrecognized attribute(s) '{name}'")));
            }
            if *limit < -1 {
                return Err(bad(
                    "InvalidInput",
                    format!("Invalid input for {name}. Reason: '{limit}' should be greater than or equal to -1."),
                ));
            }
        }
        for (name, limit) in limits {
            self.store.quota_set(project_id, &format!("neutron:{name}"), *limit).await?;
        }
        Ok(())
    }

    /// Puts a project's Neutron quotas back to the defaults (admin).
    pub async fn neutron_quota_reset(&self, ctx: &AuthContext, project_id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_quota")?;
        for (name, default) in QUOTA_DEFAULTS {
            self.store.quota_set(project_id, &format!("neutron:{name}"), *default).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: &str, protocol: Option<&str>, min: Option<i64>, max: Option<i64>) -> NeutronRule {
        NeutronRule {
            security_group_id: "g".into(),
            direction: direction.into(),
            protocol: protocol.map(String::from),
            port_range_min: min,
            port_range_max: max,
            ..Default::default()
        }
    }

    fn fault(r: NeutronRule) -> &'static str {
        match checked_rule(&r) {
            Ok(_) => "",
            Err(Error::Invalid(Invalid::Neutron { fault, .. })) => fault,
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn rules_are_checked_as_neutron_checks_them() {
        assert_eq!(fault(rule("ingress", Some("tcp"), Some(22), Some(22))), "");
        assert_eq!(fault(rule("ingress", Some("6"), Some(1), Some(65535))), "");
        assert_eq!(fault(rule("ingress", Some("any"), None, None)), "");
        assert_eq!(fault(rule("sideways", None, None, None)), "InvalidInput");
        assert_eq!(fault(rule("ingress", Some("foo"), None, None)), "SecurityGroupRuleInvalidProtocol");
        assert_eq!(fault(rule("ingress", Some("256"), None, None)), "SecurityGroupRuleInvalidProtocol");
        assert_eq!(fault(rule("ingress", Some("tcp"), Some(90), Some(80))), "SecurityGroupInvalidPortRange");
        assert_eq!(fault(rule("ingress", Some("tcp"), Some(80), None)), "SecurityGroupInvalidPortRange");
        assert_eq!(fault(rule("ingress", Some("udp"), Some(0), Some(10))), "SecurityGroupInvalidPortValue");
        assert_eq!(fault(rule("ingress", Some("tcp"), Some(1), Some(70000))), "SecurityGroupInvalidPortValue");
        assert_eq!(fault(rule("ingress", None, Some(1), Some(2))), "SecurityGroupProtocolRequiredWithPorts");
        assert_eq!(fault(rule("ingress", Some("icmp"), Some(8), Some(0))), "");
        assert_eq!(fault(rule("ingress", Some("icmp"), Some(300), None)), "SecurityGroupInvalidIcmpValue");
        assert_eq!(fault(rule("ingress", Some("icmp"), None, Some(0))), "SecurityGroupMissingIcmpType");
        assert_eq!(fault(rule("ingress", Some("gre"), Some(1), Some(2))), "SecurityGroupInvalidProtocolForPortRange");
        assert_eq!(fault(rule("egress", Some("icmpv6"), None, None)), "SecurityGroupEthertypeConflictWithProtocol");
        let mut r = rule("ingress", None, None, None);
        r.remote_ip_prefix = Some("::/0".into());
        assert_eq!(fault(r.clone()), "SecurityGroupRuleParameterConflict");
        r.ethertype = Some("ipv6".into());
        assert_eq!(fault(r.clone()), "");
        r.remote_group_id = Some("g".into());
        assert_eq!(fault(r.clone()), "SecurityGroupRemoteGroupAndRemoteIpPrefix");
        r.remote_group_id = None;
        r.ethertype = Some("IPv5".into());
        assert_eq!(fault(r), "SecurityGroupRuleInvalidEtherType");
    }

    #[test]
    fn duplicates_compare_protocol_numbers_and_networks() {
        let mut a = checked_rule(&rule("ingress", Some("tcp"), Some(22), Some(22))).unwrap();
        let mut b = checked_rule(&rule("ingress", Some("6"), Some(22), Some(22))).unwrap();
        assert!(same_rule(&a, &b));
        a.cidr = Some("0.0.0.0/0".into());
        assert!(same_rule(&a, &b), "anywhere is no prefix");
        b.cidr = Some("10.0.0.0/8".into());
        assert!(!same_rule(&a, &b));
    }
}
