//! Huawei Cloud's VPC API over the network records: a VPC is a router
//! (same id) with an address range; a VPC subnet is a network (same id,
//! the id an ECS `nics[].subnet_id` names) with its one IPv4 subnet, in
//! one VPC. Security groups, ports and private IPs are Neutron's own (see
//! [`crate::neutron`]); only what the VPC API adds is here.
//!
//! Refusals are Neutron's faults (`OverQuota`, `SubnetInUse`, `RouterInUse`)
//! or plain bad input; the VPC API words them with its `VPC.xxxx` codes.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ecs_store::VpcRefusal;
use ecs_types::neutron::{NeutronAttrs, Vpc, VpcMembership};
use ecs_types::server::ServerPort;
use ecs_types::{AuthContext, Network, SecurityGroup, Subnet, Timestamp};
use ipnet::Ipv4Net;

use crate::network::SubnetRequest;
use crate::{Conflict, Core, Error, Kind, Result, policy};

/// The seed's VPC, holding the seeded network.
pub const SEED_VPC_NAME: &str = "default-vpc";
pub const SEED_VPC_CIDR: &str = "192.168.0.0/16";
/// The availability zone subnets are in when none is named.
pub const DEFAULT_AZ: &str = "nova";

/// The private ranges a VPC's CIDR must lie in, with the longest prefix
/// (Huawei: 10.0.0.0/8–24, 172.16.0.0/12–24, 192.168.0.0/16–24).
const PRIVATE_RANGES: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// A VPC subnet as the VPC API shows it.
#[derive(Debug, Clone)]
pub struct VpcSubnet {
    pub network: Network,
    pub subnet: Subnet,
    pub vpc_id: String,
    pub availability_zone: String,
    pub description: String,
    pub dhcp_enable: bool,
    pub updated_at: Timestamp,
    /// Addresses of the subnet not taken by a port (gateway, network and
    /// broadcast addresses excluded).
    pub available_ips: i64,
}

/// `POST /v1/{project_id}/subnets`.
#[derive(Debug, Clone, Default)]
pub struct VpcSubnetRequest {
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    pub cidr: String,
    pub gateway_ip: String,
    pub dhcp_enable: Option<bool>,
    pub dns: Vec<String>,
    pub availability_zone: Option<String>,
}

/// `PUT /v1/{project_id}/vpcs/{vpc_id}/subnets/{subnet_id}` (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct VpcSubnetUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub dhcp_enable: Option<bool>,
    pub dns: Option<Vec<String>>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(message)
}

fn clash(fault: &'static str, message: impl Into<String>) -> Error {
    Error::Conflict(Conflict::Neutron { fault, message: message.into() })
}

fn vpc_not_found(id: &str) -> Error {
    Error::not_found(Kind::Router, id)
}

fn subnet_not_found(id: &str) -> Error {
    Error::not_found(Kind::Network, id)
}

/// A VPC's CIDR: empty (none), or a private range of prefix 8 to 24.
pub fn checked_vpc_cidr(cidr: &str) -> Result<String> {
    if cidr.is_empty() {
        return Ok(String::new());
    }
    let net: Ipv4Net = cidr.parse().map_err(|_| invalid(format!("cidr {cidr} is not an IPv4 CIDR.")))?;
    if net.trunc() != net {
        return Err(invalid(format!("cidr {cidr} is not a network address; {} is.", net.trunc())));
    }
    let private = PRIVATE_RANGES.iter().any(|r| r.parse::<Ipv4Net>().is_ok_and(|r| r.contains(&net)));
    if !private || net.prefix_len() > 24 {
        return Err(invalid(format!(
            "cidr {cidr} must be within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a prefix of at most 24."
        )));
    }
    Ok(net.to_string())
}

/// A name of up to 64 letters, digits, `_`, `-` and `.` (the VPC API's
/// rule), empty only for a VPC.
pub fn checked_name(name: &str, what: &str) -> Result<()> {
    let least = usize::from(what != "VPC");
    let ok = (least..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok { Ok(()) } else { Err(invalid(format!("{what} name must be 1 to 64 letters, digits, _, - or ."))) }
}

fn checked_description(description: &str) -> Result<()> {
    if description.chars().count() > 255 || description.contains(['<', '>']) {
        return Err(invalid("description must be at most 255 characters without < or >."));
    }
    Ok(())
}

fn checked_dns(dns: &[String]) -> Result<()> {
    if dns.len() > 5 {
        return Err(invalid("At most 5 DNS servers may be given."));
    }
    for d in dns {
        d.parse::<Ipv4Addr>().map_err(|_| invalid(format!("DNS server {d} is not an IPv4 address.")))?;
    }
    Ok(())
}

/// The addresses a subnet may hand out beside the gateway.
fn usable_addresses(subnet: &Subnet) -> i64 {
    let Ok(net) = subnet.cidr.parse::<Ipv4Net>() else { return 0 };
    let hosts = (1i64 << (32 - i64::from(net.prefix_len()))) - 2;
    (hosts - i64::from(subnet.gateway_ip.is_some())).max(0)
}

impl Core {
    /// The VPCs the caller sees: their project's, and those holding a
    /// shared network (the seed's); every one for an admin.
    pub async fn vpcs(&self, ctx: &AuthContext) -> Result<Vec<Vpc>> {
        let all = self.store.vpc_list(None).await?;
        if ctx.is_admin() {
            return Ok(all);
        }
        let project = policy::project_of(ctx)?;
        let shared: Vec<String> = {
            let networks = self.networks(ctx).await?;
            let members = self.store.vpc_memberships().await?;
            members
                .into_iter()
                .filter(|m| networks.iter().any(|n| n.id == m.network_id && n.shared))
                .map(|m| m.vpc_id)
                .collect()
        };
        Ok(all.into_iter().filter(|v| v.project_id == project || shared.contains(&v.id)).collect())
    }

    /// A VPC the caller sees.
    pub async fn vpc(&self, ctx: &AuthContext, id: &str) -> Result<Vpc> {
        self.vpcs(ctx).await?.into_iter().find(|v| v.id == id).ok_or_else(|| vpc_not_found(id))
    }

    /// A VPC the caller may change: their project's (an admin: any).
    async fn own_vpc(&self, ctx: &AuthContext, id: &str, rule: &str) -> Result<Vpc> {
        let vpc = self.vpc(ctx, id).await?;
        if !ctx.is_admin() && ctx.project_id() != Some(vpc.project_id.as_str()) {
            return Err(policy::forbidden(rule));
        }
        Ok(vpc)
    }

    pub async fn vpc_create(&self, ctx: &AuthContext, name: &str, description: &str, cidr: &str) -> Result<Vpc> {
        policy::authorize_write(ctx, "create_vpc")?;
        let project = policy::project_of(ctx)?.to_string();
        checked_name(name, "VPC")?;
        checked_description(description)?;
        let cidr = checked_vpc_cidr(cidr)?;
        let now = ecs_types::clock::now();
        let vpc = Vpc {
            id: ecs_types::random::uuid().to_string(),
            project_id: project.clone(),
            name: name.to_string(),
            description: description.to_string(),
            cidr,
            created_at: now,
            updated_at: now,
        };
        let limit = self.neutron_quota_limit(&project, "router").await?;
        match self.store.vpc_create(&vpc, limit).await? {
            Ok(()) => Ok(vpc),
            Err(_) => Err(clash("OverQuota", "Quota exceeded for resources: ['router'].")),
        }
    }

    /// Renames, describes or re-ranges a VPC; a new CIDR must still hold
    /// every subnet.
    pub async fn vpc_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        cidr: Option<&str>,
    ) -> Result<Vpc> {
        policy::authorize_write(ctx, "update_vpc")?;
        let mut vpc = self.own_vpc(ctx, id, "update_vpc").await?;
        if let Some(name) = name {
            checked_name(name, "VPC")?;
            vpc.name = name.to_string();
        }
        if let Some(d) = description {
            checked_description(d)?;
            vpc.description = d.to_string();
        }
        if let Some(cidr) = cidr {
            let cidr = checked_vpc_cidr(cidr)?;
            if let Ok(range) = cidr.parse::<Ipv4Net>() {
                for s in self.vpc_subnets(ctx, Some(id)).await? {
                    if !s.subnet.cidr.parse::<Ipv4Net>().is_ok_and(|n| range.contains(&n)) {
                        return Err(invalid(format!(
                            "cidr {cidr} does not hold subnet {} ({}).",
                            s.network.id, s.subnet.cidr
                        )));
                    }
                }
            }
            vpc.cidr = cidr;
        }
        vpc.updated_at = ecs_types::clock::now();
        self.store.vpc_update(&vpc).await.map_err(Error::not_found_as(Kind::Router, id))?;
        self.vpc(ctx, id).await
    }

    /// Deletes a VPC that has no subnets left.
    pub async fn vpc_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_vpc")?;
        self.own_vpc(ctx, id, "delete_vpc").await?;
        match self.store.vpc_delete(id).await.map_err(Error::not_found_as(Kind::Router, id))? {
            Ok(()) => Ok(()),
            Err(_) => Err(clash("RouterInUse", format!("VPC {id} still has subnets: delete them first."))),
        }
    }

    /// The VPC subnets the caller sees (of one VPC if `vpc_id`).
    pub async fn vpc_subnets(&self, ctx: &AuthContext, vpc_id: Option<&str>) -> Result<Vec<VpcSubnet>> {
        let networks: HashMap<String, Network> =
            self.networks(ctx).await?.into_iter().map(|n| (n.id.clone(), n)).collect();
        let attrs = self.store.neutron_attrs_all().await?;
        let ports = self.store.port_list(None).await?;
        let mut out = Vec::new();
        for m in self.store.vpc_memberships().await? {
            if vpc_id.is_some_and(|v| v != m.vpc_id) {
                continue;
            }
            let Some(network) = networks.get(&m.network_id) else { continue };
            let Some(subnet) = self.store.subnet_list(&network.id).await?.into_iter().find(|s| s.ip_version == 4)
            else {
                continue;
            };
            let net_attrs = attrs.get(&network.id).cloned().unwrap_or_default();
            let sub_attrs = attrs.get(&subnet.id).cloned().unwrap_or_default();
            let taken = ports.iter().filter(|p| p.subnet_id == subnet.id).count() as i64;
            out.push(VpcSubnet {
                available_ips: (usable_addresses(&subnet) - taken).max(0),
                network: network.clone(),
                subnet,
                vpc_id: m.vpc_id,
                availability_zone: m.availability_zone,
                description: net_attrs.description,
                dhcp_enable: sub_attrs.enable_dhcp,
                updated_at: m.updated_at,
            });
        }
        Ok(out)
    }

    /// A VPC subnet the caller sees, by its id (the network's).
    pub async fn vpc_subnet(&self, ctx: &AuthContext, id: &str) -> Result<VpcSubnet> {
        self.vpc_subnets(ctx, None).await?.into_iter().find(|s| s.network.id == id).ok_or_else(|| subnet_not_found(id))
    }

    /// A VPC subnet of `vpc_id` the caller may change.
    async fn own_vpc_subnet(&self, ctx: &AuthContext, vpc_id: &str, id: &str, rule: &str) -> Result<VpcSubnet> {
        self.vpc(ctx, vpc_id).await?;
        let s = self.vpc_subnet(ctx, id).await?;
        if s.vpc_id != vpc_id {
            return Err(subnet_not_found(id));
        }
        if !ctx.is_admin() && s.network.project_id.as_deref() != ctx.project_id() {
            return Err(policy::forbidden(rule));
        }
        Ok(s)
    }

    /// Creates a VPC subnet: inside its VPC's range, overlapping none of
    /// its other subnets, with a gateway inside it (Neutron's subnet rules
    /// apply too).
    pub async fn vpc_subnet_create(&self, ctx: &AuthContext, req: VpcSubnetRequest) -> Result<VpcSubnet> {
        policy::authorize_write(ctx, "create_subnet")?;
        let project = policy::project_of(ctx)?.to_string();
        checked_name(&req.name, "Subnet")?;
        checked_description(&req.description)?;
        checked_dns(&req.dns)?;
        let vpc = self.own_vpc(ctx, &req.vpc_id, "create_subnet").await?;
        let net: Ipv4Net = req.cidr.parse().map_err(|_| invalid(format!("cidr {} is not an IPv4 CIDR.", req.cidr)))?;
        if net.prefix_len() > 29 {
            return Err(invalid(format!("cidr {} is too small: the prefix is at most 29.", req.cidr)));
        }
        if let Ok(range) = vpc.cidr.parse::<Ipv4Net>()
            && !range.contains(&net)
        {
            return Err(invalid(format!("Subnet cidr {} is not within the VPC's cidr {}.", req.cidr, vpc.cidr)));
        } else if vpc.cidr.is_empty() {
            checked_vpc_cidr(&net.supernet().map(|s| s.trunc().to_string()).unwrap_or_default())
                .map_err(|_| invalid(format!("Subnet cidr {} is not a private range.", req.cidr)))?;
        }
        for other in self.vpc_subnets(ctx, Some(&vpc.id)).await? {
            if let Ok(o) = other.subnet.cidr.parse::<Ipv4Net>()
                && (o.contains(&net.network()) || net.contains(&o.network()))
            {
                return Err(invalid(format!(
                    "Subnet cidr {} overlaps subnet {} ({}) of the VPC.",
                    req.cidr, other.network.id, other.subnet.cidr
                )));
            }
        }
        let gateway: Ipv4Addr = req
            .gateway_ip
            .parse()
            .map_err(|_| invalid(format!("gateway_ip {} is not an IPv4 address.", req.gateway_ip)))?;
        if !net.contains(&gateway) || gateway == net.network() || gateway == net.broadcast() {
            return Err(invalid(format!("gateway_ip {gateway} is not a host address of {}.", req.cidr)));
        }
        let zones = self.cinder_zones(ctx).await?;
        let availability_zone = match req.availability_zone.as_deref() {
            None | Some("") => zones.first().cloned().unwrap_or_else(|| DEFAULT_AZ.to_string()),
            Some(az) if zones.iter().any(|k| k == az) => az.to_string(),
            Some(az) => return Err(invalid(format!("availability_zone {az} does not exist."))),
        };
        let now = ecs_types::clock::now();
        let network = Network {
            id: ecs_types::random::uuid().to_string(),
            name: req.name.clone(),
            project_id: Some(project.clone()),
            shared: false,
            external: false,
            created_at: now,
        };
        let subnet = self
            .checked_subnet(SubnetRequest {
                network_id: network.id.clone(),
                name: req.name.clone(),
                cidr: req.cidr.clone(),
                gateway_ip: Some(Some(gateway.to_string())),
                dns_nameservers: req.dns.clone(),
                allocation_pools: Vec::new(),
            })
            .await?;
        let membership = VpcMembership {
            network_id: network.id.clone(),
            vpc_id: vpc.id.clone(),
            availability_zone,
            updated_at: now,
        };
        let limit = self.neutron_quota_limit(&project, "network").await?;
        if self.store.vpc_subnet_create(&network, &subnet, &membership, limit).await?.is_err() {
            return Err(clash("OverQuota", "Quota exceeded for resources: ['subnet']."));
        }
        if !req.description.is_empty() {
            let attrs = NeutronAttrs { description: req.description.clone(), ..Default::default() };
            self.store.neutron_attrs_set(&network.id, &attrs).await?;
        }
        if req.dhcp_enable == Some(false) {
            let attrs = NeutronAttrs { enable_dhcp: false, ..Default::default() };
            self.store.neutron_attrs_set(&subnet.id, &attrs).await?;
        }
        self.vpc_subnet(ctx, &network.id).await
    }

    pub async fn vpc_subnet_update(
        &self,
        ctx: &AuthContext,
        vpc_id: &str,
        id: &str,
        u: VpcSubnetUpdate,
    ) -> Result<VpcSubnet> {
        policy::authorize_write(ctx, "update_subnet")?;
        if let Some(name) = &u.name {
            checked_name(name, "Subnet")?;
        }
        if let Some(d) = &u.description {
            checked_description(d)?;
        }
        if let Some(dns) = &u.dns {
            checked_dns(dns)?;
        }
        let s = self.own_vpc_subnet(ctx, vpc_id, id, "update_subnet").await?;
        if let Some(name) = &u.name {
            self.store.network_update(id, name, false).await?;
        }
        self.subnet_update(
            ctx,
            &s.subnet.id,
            crate::neutron::SubnetUpdate {
                name: u.name.clone(),
                description: None,
                enable_dhcp: u.dhcp_enable,
                dns_nameservers: u.dns.clone(),
            },
        )
        .await?;
        if let Some(d) = u.description {
            let mut attrs = self.store.neutron_attrs(id).await?;
            attrs.description = d;
            self.store.neutron_attrs_set(id, &attrs).await?;
        }
        self.store.vpc_membership_touch(id, ecs_types::clock::now()).await?;
        self.vpc_subnet(ctx, id).await
    }

    /// Deletes a VPC subnet no port (a server's NIC, a private IP) uses.
    pub async fn vpc_subnet_delete(&self, ctx: &AuthContext, vpc_id: &str, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_subnet")?;
        self.own_vpc_subnet(ctx, vpc_id, id, "delete_subnet").await?;
        match self.store.vpc_subnet_delete(id).await.map_err(Error::not_found_as(Kind::Network, id))? {
            Ok(()) => Ok(()),
            Err(VpcRefusal::InUse) => Err(clash(
                "SubnetInUse",
                format!(
                    "Unable to complete operation on subnet {id}: one or more ports have an IP allocation from it."
                ),
            )),
            Err(_) => Err(subnet_not_found(id)),
        }
    }

    /// The subnet an ECS NIC's `subnet_id` names among the caller's
    /// `networks`: a VPC subnet id (the network's id: its IPv4 subnet), or
    /// a Neutron subnet id as before.
    pub async fn nic_subnet(&self, networks: &[Network], id: &str) -> Result<Option<(Network, Subnet)>> {
        if let Some(network) = networks.iter().find(|n| n.id == id && !n.external) {
            let subnet = self.store.subnet_list(&network.id).await?.into_iter().find(|s| s.ip_version == 4);
            return Ok(subnet.map(|s| (network.clone(), s)));
        }
        self.subnet_in(networks, id).await
    }

    /// Whether the ECS `vpcid` holds `network_id`: a VPC the caller sees
    /// holding it as a subnet, or (as before VPCs) the network itself. None
    /// when `vpc_id` is neither a VPC nor a network the caller sees.
    pub async fn vpc_holds(&self, ctx: &AuthContext, vpc_id: &str, network_id: &str) -> Result<Option<bool>> {
        if self.vpcs(ctx).await?.iter().any(|v| v.id == vpc_id) {
            let members = self.store.vpc_memberships().await?;
            return Ok(Some(members.iter().any(|m| m.vpc_id == vpc_id && m.network_id == network_id)));
        }
        if self.networks(ctx).await?.iter().any(|n| n.id == vpc_id && !n.external) {
            return Ok(Some(vpc_id == network_id));
        }
        Ok(None)
    }

    /// A private IP: a port on a VPC subnet, with `ip_address` or the next
    /// free address, in no security group.
    pub async fn vpc_private_ip_create(
        &self,
        ctx: &AuthContext,
        subnet_id: &str,
        ip_address: Option<&str>,
    ) -> Result<ServerPort> {
        policy::authorize_write(ctx, "create_port")?;
        let s = self.vpc_subnet(ctx, subnet_id).await?;
        if let Some(ip) = ip_address {
            let addr: Ipv4Addr = ip.parse().map_err(|_| invalid(format!("ip_address {ip} is not an IPv4 address.")))?;
            let net: Option<Ipv4Net> = s.subnet.cidr.parse().ok();
            if !net.is_some_and(|n| n.contains(&addr) && addr != n.network() && addr != n.broadcast()) {
                return Err(invalid(format!("ip_address {ip} is not within subnet {subnet_id} ({}).", s.subnet.cidr)));
            }
        }
        self.neutron_port_create(ctx, &s.network.id, "", ip_address, Some(Vec::new()), NeutronAttrs::default()).await
    }

    /// The caller's private IPs (ports) on a VPC subnet.
    pub async fn vpc_private_ips(&self, ctx: &AuthContext, subnet_id: &str) -> Result<Vec<ServerPort>> {
        self.vpc_subnet(ctx, subnet_id).await?;
        Ok(self.ports(ctx).await?.into_iter().filter(|p| p.network_id == subnet_id).collect())
    }

    /// A security group as the VPC API makes it: a name of 1 to 64
    /// characters (Neutron's rules apply too).
    pub async fn vpc_security_group_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        policy::authorize_write(ctx, "create_security_group")?;
        if !(1..=64).contains(&name.chars().count()) {
            return Err(invalid("Security group name must be 1 to 64 characters."));
        }
        checked_description(description)?;
        self.neutron_security_group_create(ctx, name, description).await
    }

    /// The VPC of each network that is a VPC subnet.
    pub async fn vpc_of_networks(&self) -> Result<HashMap<String, String>> {
        Ok(self.store.vpc_memberships().await?.into_iter().map(|m| (m.network_id, m.vpc_id)).collect())
    }

    /// Puts the seed's shared network into the seed's VPC (an admin
    /// project's), made on the first start that lacks them.
    pub async fn seed_vpc(&self, admin_project_id: &str, network_id: &str) -> Result<()> {
        let members = self.store.vpc_memberships().await?;
        if members.iter().any(|m| m.network_id == network_id) {
            return Ok(());
        }
        let now = ecs_types::clock::now();
        let vpc = Vpc {
            id: ecs_types::random::uuid().to_string(),
            project_id: admin_project_id.to_string(),
            name: SEED_VPC_NAME.into(),
            description: "The seed's VPC, holding default-net.".into(),
            cidr: SEED_VPC_CIDR.into(),
            created_at: now,
            updated_at: now,
        };
        self.store.vpc_create(&vpc, -1).await?.map_err(|_| Error::internal("seed VPC refused"))?;
        self.store
            .vpc_membership_add(&VpcMembership {
                network_id: network_id.to_string(),
                vpc_id: vpc.id,
                availability_zone: DEFAULT_AZ.into(),
                updated_at: now,
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_ranges_are_private_and_at_most_24() {
        assert_eq!(checked_vpc_cidr("192.168.0.0/16").unwrap(), "192.168.0.0/16");
        assert_eq!(checked_vpc_cidr("10.1.0.0/24").unwrap(), "10.1.0.0/24");
        assert_eq!(checked_vpc_cidr("").unwrap(), "");
        for bad in ["8.8.8.0/24", "10.0.0.0/25", "10.0.0.1/24", "nonsense", "172.32.0.0/16"] {
            assert!(checked_vpc_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(checked_name("vpc-1_a.b", "VPC").is_ok());
        assert!(checked_name("", "VPC").is_ok());
        assert!(checked_name("", "Subnet").is_err());
        assert!(checked_name("a b", "VPC").is_err());
        assert!(checked_name(&"x".repeat(65), "VPC").is_err());
    }
}
