//! Networks and subnets: created by projects (shared ones by admins),
//! with the checks Neutron makes (CIDR, gateway, pools, overlaps), and
//! deleted only when no port uses them.

use std::net::{IpAddr, Ipv4Addr};

use ecs_types::{AuthContext, Network, Subnet};
use ipnet::Ipv4Net;

use crate::{Core, Error, Kind, Result, policy};

/// A subnet to add, as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct SubnetRequest {
    pub network_id: String,
    pub name: String,
    pub cidr: String,
    /// None: the first host address; Some(None): no gateway.
    pub gateway_ip: Option<Option<String>>,
    pub dns_nameservers: Vec<String>,
    pub allocation_pools: Vec<(String, String)>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(format!("Invalid input for operation: {}", message.into()))
}

fn ipv4(text: &str, what: &str) -> Result<Ipv4Addr> {
    text.parse().map_err(|_| invalid(format!("'{text}' is not a valid IP address for {what}.")))
}

impl Core {
    /// The subnet `id` of one of the internal `networks` (those the caller
    /// sees), with its network.
    pub async fn subnet_in(&self, networks: &[Network], id: &str) -> Result<Option<(Network, Subnet)>> {
        for network in networks.iter().filter(|n| !n.external) {
            let subnets = self.store.subnet_list(&network.id).await?;
            if let Some(subnet) = subnets.into_iter().find(|s| s.id == id) {
                return Ok(Some((network.clone(), subnet)));
            }
        }
        Ok(None)
    }

    /// A network the caller may see and change: their project's, or any for an admin.
    async fn own_network(&self, ctx: &AuthContext, id: &str) -> Result<Network> {
        let not_found = || Error::not_found(Kind::Network, id);
        let n = self.store.network_get(id).await.map_err(Error::not_found_or(not_found))?;
        if ctx.is_admin() || n.project_id.as_deref() == ctx.project_id() { Ok(n) } else { Err(not_found()) }
    }

    /// A network the caller may see: their project's, a shared one, or any for an admin.
    pub async fn network(&self, ctx: &AuthContext, id: &str) -> Result<Network> {
        self.networks(ctx).await?.into_iter().find(|n| n.id == id).ok_or_else(|| Error::not_found(Kind::Network, id))
    }

    /// The subnets of a network the caller may see.
    pub async fn subnets(&self, ctx: &AuthContext, network_id: &str) -> Result<Vec<Subnet>> {
        self.network(ctx, network_id).await?;
        Ok(self.store.subnet_list(network_id).await?)
    }

    pub async fn network_create(&self, ctx: &AuthContext, name: &str, shared: bool, external: bool) -> Result<Network> {
        policy::authorize_write(ctx, "create_network")?;
        if shared {
            policy::require_admin(ctx, "create_network:shared")?;
        }
        if external {
            policy::require_admin(ctx, "create_network:router:external")?;
        }
        let project = policy::project_of(ctx)?.to_string();
        let network = Network {
            id: ecs_types::random::uuid().to_string(),
            name: name.to_string(),
            project_id: Some(project),
            shared,
            external,
            created_at: ecs_types::clock::now(),
        };
        self.store.network_create(&network, &[]).await?;
        Ok(network)
    }

    pub async fn subnet_create(&self, ctx: &AuthContext, req: SubnetRequest) -> Result<Subnet> {
        policy::authorize_write(ctx, "create_subnet")?;
        self.own_network(ctx, &req.network_id).await?;
        let subnet = self.checked_subnet(req).await?;
        self.store.subnet_create(&subnet).await?;
        Ok(subnet)
    }

    /// Applies Neutron's rules to a requested subnet.
    pub async fn checked_subnet(&self, req: SubnetRequest) -> Result<Subnet> {
        let net: Ipv4Net = req.cidr.parse().map_err(|_| {
            if req.cidr.contains(':') {
                invalid("IPv6 subnets are not supported.")
            } else {
                invalid(format!("'{}' is not a valid IP subnet.", req.cidr))
            }
        })?;
        if net.trunc() != net {
            return Err(invalid(format!(
                "'{}' isn't a recognized IP subnet cidr, '{}' is recommended",
                req.cidr,
                net.trunc()
            )));
        }
        if net.prefix_len() > 30 {
            return Err(invalid(format!("{} is too small to hold addresses.", req.cidr)));
        }
        for other in self.store.subnet_list(&req.network_id).await? {
            if let Ok(o) = other.cidr.parse::<Ipv4Net>()
                && (o.contains(&net.network()) || net.contains(&o.network()))
            {
                return Err(invalid(format!(
                    "Requested subnet with cidr: {} for network: {} overlaps with another subnet",
                    req.cidr, req.network_id
                )));
            }
        }
        let gateway = match &req.gateway_ip {
            None => net.hosts().next().map(|g| g.to_string()),
            Some(None) => None,
            Some(Some(g)) => {
                let ip = ipv4(g, "gateway_ip")?;
                if !net.contains(&ip) || ip == net.network() || ip == net.broadcast() {
                    return Err(invalid(format!("Gateway ip {g} conflicts with the subnet {}.", req.cidr)));
                }
                Some(ip.to_string())
            }
        };
        for dns in &req.dns_nameservers {
            dns.parse::<IpAddr>().map_err(|_| invalid(format!("'{dns}' is not a valid nameserver.")))?;
        }
        let mut pools = Vec::new();
        for (start, end) in &req.allocation_pools {
            let (a, b) = (ipv4(start, "allocation_pools")?, ipv4(end, "allocation_pools")?);
            if a > b || !net.contains(&a) || !net.contains(&b) || a == net.network() || b == net.broadcast() {
                return Err(invalid(format!(
                    "The allocation pool {start}-{end} spans beyond the subnet cidr {}.",
                    req.cidr
                )));
            }
            if let Some(g) = gateway.as_deref().and_then(|g| g.parse::<Ipv4Addr>().ok())
                && a <= g
                && g <= b
            {
                return Err(invalid(format!("Gateway ip {g} conflicts with allocation pool {start}-{end}.")));
            }
            pools.push((a.to_string(), b.to_string()));
        }
        Ok(Subnet {
            id: ecs_types::random::uuid().to_string(),
            network_id: req.network_id,
            name: req.name,
            cidr: net.to_string(),
            gateway_ip: gateway,
            ip_version: 4,
            dns_nameservers: req.dns_nameservers,
            allocation_pools: pools,
            created_at: ecs_types::clock::now(),
        })
    }

    pub async fn network_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_network")?;
        self.own_network(ctx, id).await?;
        if !self.store.network_delete(id).await.map_err(Error::not_found_as(Kind::Network, id))? {
            return Err(Error::conflict(format!(
                "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
            )));
        }
        Ok(())
    }

    pub async fn subnet_delete(&self, ctx: &AuthContext, network_id: &str, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_subnet")?;
        self.own_network(ctx, network_id).await?;
        if !self.store.subnet_delete(id).await.map_err(Error::not_found_as(Kind::Subnet, id))? {
            return Err(Error::conflict(format!(
                "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
            )));
        }
        Ok(())
    }
}
