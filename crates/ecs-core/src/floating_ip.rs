//! Floating IPs (Nova's os-floating-ips proxy): allocated from an external
//! network (a pool), bound to a server's port by addFloatingIp.

use ecs_store::FloatingRefusal;
use ecs_types::{AuthContext, FloatingIp, Network};

use crate::{Core, Error, Kind, Resource, Result, policy};

/// Nova's default `floating_ips` quota.
pub const FLOATING_IPS_QUOTA: i64 = 10;

impl Core {
    /// The pools: external networks the caller can see.
    pub async fn floating_ip_pools(&self, ctx: &AuthContext) -> Result<Vec<Network>> {
        let all = self.store.network_list().await?;
        Ok(all.into_iter().filter(|n| n.external && (n.shared || ctx.is_admin() || n.project_id.is_some())).collect())
    }

    pub async fn floating_ips(&self, ctx: &AuthContext) -> Result<Vec<FloatingIp>> {
        Ok(self.store.floating_ip_list(Some(policy::project_of(ctx)?)).await?)
    }

    pub async fn floating_ip(&self, ctx: &AuthContext, id: &str) -> Result<FloatingIp> {
        let missing = || Error::not_found(Kind::FloatingIp, id);
        let f = self.store.floating_ip_get(id).await.map_err(Error::not_found_or(missing))?;
        if Some(f.project_id.as_str()) == ctx.project_id() || ctx.is_admin() { Ok(f) } else { Err(missing()) }
    }

    pub async fn floating_ip_allocate(&self, ctx: &AuthContext, pool: Option<&str>) -> Result<FloatingIp> {
        policy::authorize_write(ctx, "os_compute_api:os-floating-ips:create")?;
        let project = policy::project_of(ctx)?.to_string();
        let pools = self.floating_ip_pools(ctx).await?;
        let network = match pool {
            Some(name) => pools.into_iter().find(|n| n.name == name || n.id == name),
            None => pools.into_iter().next(),
        }
        .ok_or_else(|| Error::not_found(Kind::FloatingIpPool, ""))?;
        let id = ecs_types::random::uuid().to_string();
        match self.store.floating_ip_allocate(&id, &project, &network.id, FLOATING_IPS_QUOTA).await? {
            Ok(f) => Ok(f),
            Err(FloatingRefusal::Quota(_)) => Err(Error::quota(Resource::FloatingIps, 1, 0, FLOATING_IPS_QUOTA)),
            Err(FloatingRefusal::Exhausted) => Err(Error::not_found(Kind::FreeFloatingIp, network.name.clone())),
        }
    }

    pub async fn floating_ip_release(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-floating-ips:delete")?;
        self.floating_ip(ctx, id).await?;
        self.store.floating_ip_release(id).await.map_err(Error::not_found_as(Kind::FloatingIp, id))
    }

    /// `addFloatingIp` / `removeFloatingIp`.
    pub async fn server_floating_ip(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        address: &str,
        fixed_address: Option<&str>,
        add: bool,
    ) -> Result<()> {
        policy::authorize_write(
            ctx,
            if add { "os_compute_api:os-floating-ips:add" } else { "os_compute_api:os-floating-ips:remove" },
        )?;
        let server = self.server_get(ctx, server_id).await?;
        let fip = self
            .floating_ips(ctx)
            .await?
            .into_iter()
            .find(|f| f.address == address)
            .ok_or_else(|| Error::not_found(Kind::FloatingIpAddress, address))?;
        if !add {
            if fip.server_id.as_deref() != Some(server.id.as_str()) {
                return Err(Error::conflict(format!(
                    "Floating IP {address} is not associated with instance {}.",
                    server.id
                )));
            }
            return Ok(self.store.floating_ip_bind(&fip.id, None).await?);
        }
        if server.ports.is_empty() {
            return Err(Error::invalid("No nw_info cache associated with instance"));
        }
        let port = match fixed_address {
            Some(fixed) => server
                .ports
                .iter()
                .find(|p| p.address == fixed)
                .ok_or_else(|| Error::invalid("Specified fixed address not assigned to instance"))?,
            None => &server.ports[0],
        };
        // Neutron keeps one floating IP per fixed IP and external network;
        // Nova words its refusal as a failed association (400).
        let taken = self.store.floating_ip_list(None).await?.into_iter().find(|other| {
            other.id != fip.id
                && other.port_id.as_deref() == Some(port.id.as_str())
                && other.network_id == fip.network_id
        });
        if taken.is_some() {
            return Err(Error::invalid(format!(
                "Unable to associate floating IP {address} to fixed IP {fixed} for instance {server}. Error: Cannot \
                 associate floating IP {address} ({fip_id}) with port {port_id} using fixed IP {fixed}, as that fixed \
                 IP already has a floating IP on external network {network}.",
                fixed = port.address,
                server = server.id,
                fip_id = fip.id,
                port_id = port.id,
                network = fip.network_id,
            )));
        }
        Ok(self.store.floating_ip_bind(&fip.id, Some(&port.id)).await?)
    }
}
