//! Huawei's EIP API over floating IPs: an EIP is a floating IP of the
//! first external network (its pool), with an alias, a line type and a
//! dedicated bandwidth of its own. Bound to a port directly, as on Huawei
//! Cloud (no router between the port's network and the pool is needed).

use ecs_store::FloatingRefusal;
use ecs_types::{AuthContext, EipAttrs, FloatingIp};
use sha2::Digest;

use crate::{Conflict, Core, Error, Kind, Resource, Result, policy};

/// The line type of an EIP made without one (Huawei's dynamic BGP).
pub const DEFAULT_TYPE: &str = "5_bgp";
/// The bandwidth (Mbit/s) an EIP made elsewhere (Nova, Neutron, an ECS create) shows.
pub const DEFAULT_BANDWIDTH_SIZE: i64 = 1;
/// The largest dedicated bandwidth (Mbit/s).
pub const MAX_BANDWIDTH_SIZE: i64 = 2000;

/// An EIP to allocate (`POST /v1/{project_id}/publicips`).
#[derive(Debug, Clone, Default)]
pub struct EipRequest {
    pub ip_type: String,
    pub alias: Option<String>,
    /// A port to bind it to at once.
    pub port_id: Option<String>,
    pub bandwidth_name: String,
    pub bandwidth_size: i64,
    pub bandwidth_charge_mode: Option<String>,
}

/// What an EIP update changes.
#[derive(Debug, Clone, Default)]
pub struct EipUpdate {
    /// `Some(None)`: unbind; `Some(Some(port))`: bind.
    pub port_id: Option<Option<String>>,
    pub alias: Option<String>,
}

/// What a bandwidth update changes.
#[derive(Debug, Clone, Default)]
pub struct BandwidthUpdate {
    pub name: Option<String>,
    pub size: Option<i64>,
    pub charge_mode: Option<String>,
}

/// The id of an EIP's dedicated bandwidth: fixed by the EIP.
pub fn bandwidth_id(eip_id: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{eip_id}/bandwidth"));
    let bytes: [u8; 16] = digest[..16].try_into().expect("16 of 32 bytes");
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// The name an EIP's bandwidth shows when none was given.
pub fn bandwidth_name(fip: &FloatingIp) -> String {
    fip.eip.bandwidth_name.clone().unwrap_or_else(|| format!("bandwidth-{}", &fip.id[..4.min(fip.id.len())]))
}

pub fn bandwidth_size(fip: &FloatingIp) -> i64 {
    fip.eip.bandwidth_size.unwrap_or(DEFAULT_BANDWIDTH_SIZE)
}

fn check_bandwidth_size(size: i64) -> Result<()> {
    if (1..=MAX_BANDWIDTH_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(Error::invalid(format!("Bandwidth size {size} must be from 1 to {MAX_BANDWIDTH_SIZE} Mbit/s.")))
    }
}

impl Core {
    /// The caller's project's EIPs (an admin's too: Huawei lists a project's).
    pub async fn eips(&self, ctx: &AuthContext) -> Result<Vec<FloatingIp>> {
        self.floating_ips(ctx).await
    }

    /// One EIP of the caller's project: NotFound for another project's.
    pub async fn eip(&self, ctx: &AuthContext, id: &str) -> Result<FloatingIp> {
        let f = self.floating_ip(ctx, id).await?;
        if Some(f.project_id.as_str()) == ctx.project_id() {
            Ok(f)
        } else {
            Err(Error::not_found(Kind::FloatingIp, id))
        }
    }

    /// Allocates an EIP from the first pool, under the project's Neutron
    /// floating IP quota (an EIP is a floating IP), bound to `port_id` if given.
    pub async fn eip_create(&self, ctx: &AuthContext, req: EipRequest) -> Result<FloatingIp> {
        policy::authorize_write(ctx, "vpc:publicIps:create")?;
        let project = policy::project_of(ctx)?.to_string();
        check_bandwidth_size(req.bandwidth_size)?;
        let port = match &req.port_id {
            Some(p) => Some(self.eip_port(ctx, p, None).await?),
            None => None,
        };
        let pools = self.store.network_list().await?;
        let pool = pools
            .iter()
            .find(|n| n.external && (n.shared || n.project_id.as_deref() == Some(project.as_str())))
            .or_else(|| pools.iter().find(|n| n.external))
            .ok_or_else(|| Error::not_found(Kind::FloatingIpPool, ""))?;
        let limit = self.neutron_quota_limit(&project, "floatingip").await?;
        let id = ecs_types::random::uuid().to_string();
        match self.store.floating_ip_allocate(&id, &project, &pool.id, limit).await? {
            Ok(_) => {}
            Err(FloatingRefusal::Quota(limit)) => return Err(Error::quota(Resource::FloatingIps, 1, limit, limit)),
            Err(FloatingRefusal::Exhausted) => return Err(Error::not_found(Kind::FreeFloatingIp, pool.name.clone())),
        }
        let eip = EipAttrs {
            alias: req.alias,
            ip_type: Some(req.ip_type),
            bandwidth_name: Some(req.bandwidth_name),
            bandwidth_size: Some(req.bandwidth_size),
            bandwidth_charge_mode: req.bandwidth_charge_mode,
        };
        self.store.floating_ip_set_eip(&id, &eip).await?;
        if let Some(port) = port
            && !self.store.floating_ip_bind_if_free(&id, &port).await?
        {
            return Err(Error::conflict(format!("Floating IP {id} is already associated with a port.")));
        }
        self.eip(ctx, &id).await
    }

    /// A port an EIP may be bound to: the caller's, not a network device's,
    /// and without an EIP of its own (but `eip_id`).
    async fn eip_port(&self, ctx: &AuthContext, port_id: &str, eip_id: Option<&str>) -> Result<String> {
        let port = self.port(ctx, port_id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::Invalid(crate::Invalid::Unknown { kind: Kind::Port, id: port_id.into() }),
            other => other,
        })?;
        let attrs = self.store.neutron_attrs(&port.id).await?;
        if attrs.device_owner.starts_with("network:") {
            return Err(Error::invalid(format!(
                "Port {port_id} has owner {} and therefore cannot be bound to an EIP.",
                attrs.device_owner
            )));
        }
        let taken = self
            .store
            .floating_ip_list(None)
            .await?
            .into_iter()
            .any(|f| Some(f.id.as_str()) != eip_id && f.port_id.as_deref() == Some(port.id.as_str()));
        if taken {
            return Err(Conflict::PortInUse { id: port.id.clone() }.into());
        }
        Ok(port.id)
    }

    /// Binds, unbinds or renames an EIP. Binding one bound to another port
    /// is refused: unbind it first, as Huawei asks.
    pub async fn eip_update(&self, ctx: &AuthContext, id: &str, update: EipUpdate) -> Result<FloatingIp> {
        policy::authorize_write(ctx, "vpc:publicIps:update")?;
        let fip = self.eip(ctx, id).await?;
        match &update.port_id {
            Some(Some(p)) => {
                let port = self.eip_port(ctx, p, Some(id)).await?;
                if !self.store.floating_ip_bind_if_free(id, &port).await? {
                    return Err(Error::conflict(format!(
                        "Floating IP {id} is already associated with port {}.",
                        fip.port_id.as_deref().unwrap_or_default()
                    )));
                }
            }
            Some(None) => {
                self.store.floating_ip_bind(id, None).await.map_err(Error::not_found_as(Kind::FloatingIp, id))?
            }
            None => {}
        }
        if let Some(alias) = update.alias {
            let mut eip = fip.eip.clone();
            eip.alias = Some(alias);
            self.store.floating_ip_set_eip(id, &eip).await?;
        }
        self.eip(ctx, id).await
    }

    /// Releases an EIP (bound or not, as Huawei's delete does).
    pub async fn eip_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "vpc:publicIps:delete")?;
        self.eip(ctx, id).await?;
        self.store.floating_ip_release(id).await.map_err(Error::not_found_as(Kind::FloatingIp, id))?;
        self.store.neutron_attrs_delete(id).await?;
        Ok(())
    }

    /// The EIP whose dedicated bandwidth is `bandwidth_id`.
    pub async fn eip_bandwidth(&self, ctx: &AuthContext, id: &str) -> Result<FloatingIp> {
        self.eips(ctx)
            .await?
            .into_iter()
            .find(|f| bandwidth_id(&f.id) == id)
            .ok_or_else(|| Error::not_found(Kind::Bandwidth, id))
    }

    /// Renames or resizes an EIP's bandwidth.
    pub async fn eip_bandwidth_update(
        &self,
        ctx: &AuthContext,
        bandwidth_id: &str,
        update: BandwidthUpdate,
    ) -> Result<FloatingIp> {
        policy::authorize_write(ctx, "vpc:bandwidths:update")?;
        let fip = self.eip_bandwidth(ctx, bandwidth_id).await?;
        let mut eip = fip.eip.clone();
        if let Some(size) = update.size {
            check_bandwidth_size(size)?;
            eip.bandwidth_size = Some(size);
        }
        if let Some(name) = update.name {
            eip.bandwidth_name = Some(name);
        }
        if let Some(mode) = update.charge_mode {
            eip.bandwidth_charge_mode = Some(mode);
        }
        self.store.floating_ip_set_eip(&fip.id, &eip).await?;
        self.eip(ctx, &fip.id).await
    }
}
