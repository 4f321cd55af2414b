//! ECS-native server operations beyond Nova's: auto recovery, batch
//! rename, the flavors a server may resize to, batch resize, the zones a
//! flavor is sold in, ECS group members in a batch, and NIC changes (its
//! delete-on-termination, its subnet and address, a VPC change, virtual
//! IPs) — each over the rules the Nova and Neutron sides already keep.

use std::collections::BTreeMap;

use ecs_store::{PortRefusal, ServerEdit};
use ecs_types::server::{FlavorSnapshot, Server, ServerPort, VmState};
use ecs_types::{AuthContext, Flavor, Network};
use serde_json::json;

use super::batch::{MAX_BATCH, job_task};
use super::lifecycle::{ResizeOptions, resize_target_check};
use super::sagas::resize::disk_shrinks;
use super::server::InterfaceRequest;
use super::state::{self, Action};
use super::{TaskKind, batch::NicOp};
use crate::flavor::{FlavorListRequest, flavor_on_sale_in};
use crate::neutron::PortUpdate;
use crate::{Core, Error, Invalid, Kind, Result, policy};

/// The device owner of a virtual IP's port (Huawei's VPC).
pub const VIP_OWNER: &str = "neutron:VIP_PORT";

/// Which flavors a resize list is for: a server's, or a flavor's.
#[derive(Debug, Clone, Default)]
pub struct ResizeSource {
    pub server_id: Option<String>,
    pub flavor_id: Option<String>,
    pub flavor_name: Option<String>,
}

/// Whether a flavor allows auto recovery: its `cond:compute` names
/// `autorecovery` (seed 002 §5.4.1); a flavor without `cond:compute`
/// makes no such condition.
fn flavor_supports_auto_recovery(flavor: &FlavorSnapshot) -> bool {
    flavor.extra_specs.get("cond:compute").is_none_or(|c| c.split(',').any(|v| v.trim() == "autorecovery"))
}

/// A server's primary NIC: its first.
fn primary(server: &Server) -> Option<&ServerPort> {
    server.ports.iter().min_by_key(|p| p.nic_index)
}

fn port_refused(network_id: &str, refusal: PortRefusal) -> Error {
    match refusal {
        PortRefusal::AddressInUse(ip) => Invalid::FixedIpInUse { ip }.into(),
        PortRefusal::Exhausted => Invalid::NoFixedIpLeft.into(),
        PortRefusal::AddressOutsideSubnets(ip) => {
            Invalid::FixedIpOutsideNetwork { ip, network_id: network_id.to_string() }.into()
        }
        PortRefusal::NoSubnet => Error::invalid(format!("Network {network_id} has no subnet.")),
        PortRefusal::PortInUse => Error::invalid("The port is in use."),
    }
}

impl Core {
    // --- auto recovery (seed 002 §11.1) ---------------------------------

    /// Whether a server recovers by itself when its host fails: as a user
    /// set it, else whenever its flavor supports it.
    pub async fn server_auto_recovery(&self, ctx: &AuthContext, id: &str) -> Result<bool> {
        let server = self.server_get(ctx, id).await?;
        let supported = flavor_supports_auto_recovery(&server.flavor);
        Ok(supported && self.store.auto_recovery_get(&server.id).await?.unwrap_or(true))
    }

    /// Turns a server's auto recovery on (only where its flavor supports
    /// it) or off.
    pub async fn server_auto_recovery_set(&self, ctx: &AuthContext, id: &str, enabled: bool) -> Result<()> {
        policy::authorize_write(ctx, Action::Update.rule())?;
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, Action::Update)?;
        if enabled && !flavor_supports_auto_recovery(&server.flavor) {
            return Err(Invalid::NoAutoRecovery { flavor: server.flavor.name.clone() }.into());
        }
        self.store.auto_recovery_set(&server.id, enabled).await?;
        Ok(())
    }

    // --- batch rename ---------------------------------------------------

    /// Names every server of `ids` `name` (all must exist and be unlocked;
    /// `dry_run` checks only).
    pub async fn servers_rename(&self, ctx: &AuthContext, ids: &[String], name: &str, dry_run: bool) -> Result<()> {
        policy::authorize_write(ctx, Action::Update.rule())?;
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(Invalid::BatchSize { given: ids.len(), max: MAX_BATCH }.into());
        }
        let mut servers = Vec::with_capacity(ids.len());
        for id in ids {
            let server = self.server_get(ctx, id).await?;
            self.check_locked(ctx, &server, Action::Update)?;
            servers.push(server);
        }
        if dry_run {
            return Ok(());
        }
        for server in &servers {
            let edit = ServerEdit { name: Some(name.to_string()), ..Default::default() };
            self.server_edit(ctx, &server.id, edit).await?;
        }
        Ok(())
    }

    // --- resize ---------------------------------------------------------

    /// The flavors a server (or a server of a flavor) may be resized to.
    pub async fn resize_flavors(&self, ctx: &AuthContext, source: &ResizeSource) -> Result<Vec<Flavor>> {
        let flavors = self.flavor_list(ctx, FlavorListRequest::default()).await?;
        let (old, image_backed) = match &source.server_id {
            Some(id) => {
                let server = self.server_get(ctx, id).await?;
                (server.flavor, server.image_id.is_some())
            }
            None => {
                let found = flavors.iter().find(|f| {
                    source.flavor_id.as_deref().is_some_and(|id| f.id == id)
                        || (source.flavor_id.is_none() && source.flavor_name.as_deref() == Some(f.name.as_str()))
                });
                let Some(flavor) = found else {
                    let named = source.flavor_id.clone().or_else(|| source.flavor_name.clone());
                    return match named {
                        Some(n) => Err(Error::not_found(Kind::Flavor, n)),
                        None => {
                            Err(Error::invalid("instance_uuid, source_flavor_id or source_flavor_name is required"))
                        }
                    };
                };
                // A server of that flavor booted from an image.
                (FlavorSnapshot::of(flavor), true)
            }
        };
        Ok(flavors
            .into_iter()
            .filter(|f| {
                let new = FlavorSnapshot::of(f);
                !f.disabled
                    && resize_target_check(&old, image_backed, &new).is_ok()
                    && !disk_shrinks(&old, &new, image_backed)
            })
            .collect())
    }

    /// Resizes every server of `ids` to `flavor_id` (only stopped servers
    /// when `stopped_only`; the ECS resize confirms itself): one job, a sub-job per server; a
    /// server the resize refuses is a failed sub-job.
    pub async fn servers_resize(
        &self,
        ctx: &AuthContext,
        ids: &[String],
        flavor_id: &str,
        stopped_only: bool,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::Resize.rule())?;
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(Invalid::BatchSize { given: ids.len(), max: MAX_BATCH }.into());
        }
        let flavor = self.flavor_get(ctx, flavor_id).await?;
        let mut servers = Vec::with_capacity(ids.len());
        for id in ids {
            servers.push(self.server_get(ctx, id).await?);
        }
        let job = job_task(ctx, "batchResizeServers", &servers[0].project_id, json!({"servers": ids}), request_id);
        self.store.task_insert(&job).await?;
        let new = FlavorSnapshot::of(&flavor);
        let opts = ResizeOptions { stopped_only, auto_confirm: true, ..Default::default() };
        for server in servers {
            let checked = resize_target_check(&server.flavor, server.image_id.is_some(), &new);
            let started = match checked {
                Ok(()) => {
                    let (s, n) = (server.clone(), new.clone());
                    self.start_move_under(ctx, s, n, Action::Resize, None, opts, Some(&job.id), request_id).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = started {
                let mut task = job_task(ctx, TaskKind::Resize.as_str(), &server.project_id, json!({}), request_id);
                task.server_id = Some(server.id.clone());
                task.parent_id = Some(job.id.clone());
                task.failure = Some(e.to_string());
                self.store.task_insert(&task).await?;
            }
        }
        Ok(job.id)
    }

    // --- zones ----------------------------------------------------------

    /// The availability zones of the compute hosts, each available while
    /// one of its hosts is enabled.
    pub async fn availability_zones(&self) -> Result<Vec<(String, bool)>> {
        let mut zones: BTreeMap<String, bool> = BTreeMap::new();
        for h in self.compute_hosts().await? {
            *zones.entry(h.availability_zone).or_default() |= h.enabled;
        }
        Ok(zones.into_iter().collect())
    }

    /// A flavor the caller may use, with every zone and whether the flavor
    /// is on sale there.
    pub async fn flavor_zones(&self, ctx: &AuthContext, flavor_id: &str) -> Result<(Flavor, Vec<(String, bool)>)> {
        let flavor = self.flavor_get(ctx, flavor_id).await?;
        let zones = self.availability_zones().await?;
        let sold = zones.into_iter().map(|(z, up)| (z.clone(), up && flavor_on_sale_in(&flavor, &z))).collect();
        Ok((flavor, sold))
    }

    /// Every flavor the caller may use, each with every zone and whether
    /// it is on sale there.
    pub async fn flavors_on_sale(&self, ctx: &AuthContext) -> Result<Vec<(Flavor, Vec<(String, bool)>)>> {
        let zones = self.availability_zones().await?;
        let flavors = self.flavor_list(ctx, FlavorListRequest::default()).await?;
        Ok(flavors
            .into_iter()
            .map(|f| {
                let sold = zones.iter().map(|(z, up)| (z.clone(), *up && flavor_on_sale_in(&f, z))).collect();
                (f, sold)
            })
            .collect())
    }

    // --- ECS groups -----------------------------------------------------

    /// Adds (`add`) or removes each server of `ids` to or from group `id`
    /// (which must exist); each server's failure, if any.
    pub async fn server_group_members_batch(
        &self,
        ctx: &AuthContext,
        id: &str,
        ids: &[String],
        add: bool,
    ) -> Result<Vec<(String, Option<String>)>> {
        policy::authorize_write(ctx, "os_compute_api:os-server-groups:create")?;
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(Invalid::BatchSize { given: ids.len(), max: MAX_BATCH }.into());
        }
        self.server_group(ctx, id).await?;
        let mut out = Vec::with_capacity(ids.len());
        for server in ids {
            let done = if add {
                self.server_group_add_member(ctx, id, server).await
            } else {
                self.server_group_remove_member(ctx, id, server).await
            };
            out.push((server.clone(), done.err().map(|e| e.to_string())));
        }
        Ok(out)
    }

    // --- NICs -----------------------------------------------------------

    /// A server and one of its NICs.
    async fn server_nic(&self, ctx: &AuthContext, server_id: &str, port_id: &str) -> Result<(Server, ServerPort)> {
        let server = self.server_get(ctx, server_id).await?;
        let port = server
            .ports
            .iter()
            .find(|p| p.id == port_id)
            .cloned()
            .ok_or_else(|| Error::not_found(Kind::Interface, port_id))?;
        Ok((server, port))
    }

    /// Whether a NIC goes with its server (`delete_on_termination`).
    pub async fn server_nic_set_delete_on_termination(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        port_id: &str,
        delete: bool,
    ) -> Result<()> {
        policy::authorize_write(ctx, Action::Update.rule())?;
        let (server, port) = self.server_nic(ctx, server_id, port_id).await?;
        self.check_locked(ctx, &server, Action::Update)?;
        self.store.port_set_preserve(&port.id, !delete).await?;
        Ok(())
    }

    /// Moves a stopped server's primary NIC to `subnet_id` of `network`
    /// at `fixed_ip` (or the next free address); the NIC keeps its id.
    pub async fn server_nic_change(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        port_id: &str,
        network: &Network,
        subnet_id: &str,
        fixed_ip: Option<&str>,
    ) -> Result<ServerPort> {
        policy::authorize_write(ctx, Action::AttachInterface.rule())?;
        let (server, port) = self.server_nic(ctx, server_id, port_id).await?;
        self.check_locked(ctx, &server, Action::AttachInterface)?;
        state::check(Action::AttachInterface, &server)?;
        if server.vm_state != VmState::Stopped || server.task_state.is_some() {
            return Err(state::invalid_state(Action::AttachInterface, &server));
        }
        if primary(&server).map(|p| p.id.as_str()) != Some(port.id.as_str()) {
            return Err(Invalid::NotPrimaryNic { id: port.id }.into());
        }
        if let Some(ip) = fixed_ip
            && ip != port.address
        {
            self.check_fixed_ip(network, Some(subnet_id), ip).await?;
        }
        self.store
            .port_move(&port.id, &network.id, Some(subnet_id), fixed_ip)
            .await?
            .map_err(|r| port_refused(&network.id, r))
    }

    /// Moves a server with one NIC to another network: one job whose
    /// sub-jobs attach the new NIC and detach the old one.
    pub async fn server_change_vpc(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        nic: InterfaceRequest,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::AttachInterface.rule())?;
        policy::authorize_write(ctx, Action::DetachInterface.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        let [old] = server.ports.as_slice() else {
            return Err(Error::invalid("The VPC of an ECS can be changed only while it has one NIC."));
        };
        if let InterfaceRequest::Network { net_id, .. } = &nic
            && *net_id == old.network_id
        {
            return Err(Error::invalid("The ECS is in that subnet already."));
        }
        self.nic_job(ctx, server_id, NicOp::Replace { old: old.id.clone(), new: nic }, request_id).await
    }

    /// Binds virtual IP `ip` of `network` (`subnet_id`) to a server's NIC:
    /// the address's port (made, owned by `neutron:VIP_PORT`, if no port
    /// has it) goes into the NIC's allowed address pairs, and with
    /// `reverse` the NIC's address into the virtual IP port's.
    pub async fn nic_virtual_ip_bind(
        &self,
        ctx: &AuthContext,
        nic_id: &str,
        network: &Network,
        subnet_id: &str,
        ip: &str,
        reverse: bool,
    ) -> Result<ServerPort> {
        policy::authorize_write(ctx, "update_port")?;
        let nic = self.server_port(ctx, nic_id).await?;
        if nic.network_id != network.id {
            return Err(Error::invalid(format!("NIC {nic_id} is not in subnet {subnet_id}.")));
        }
        let existing = self.ports(ctx).await?.into_iter().find(|p| p.network_id == network.id && p.address == ip);
        let vip = match existing {
            Some(p) if !p.server_id.is_empty() => return Err(Invalid::FixedIpInUse { ip: ip.to_string() }.into()),
            Some(p) => p,
            None => {
                self.check_fixed_ip(network, Some(subnet_id), ip).await?;
                let attrs = ecs_types::neutron::NeutronAttrs { device_owner: VIP_OWNER.into(), ..Default::default() };
                self.neutron_port_create(ctx, &network.id, "", Some(ip), None, attrs).await?
            }
        };
        let mut pairs = self.store.neutron_attrs(&nic.id).await?.allowed_address_pairs;
        if !pairs.iter().any(|(a, _)| a == ip) {
            pairs.push((ip.to_string(), nic.mac.clone()));
        }
        let update = PortUpdate {
            allowed_address_pairs: Some(pairs.into_iter().map(|(a, m)| (a, Some(m))).collect()),
            ..Default::default()
        };
        self.port_update(ctx, &nic.id, update).await?;
        if reverse {
            let mut pairs = self.store.neutron_attrs(&vip.id).await?.allowed_address_pairs;
            if !pairs.iter().any(|(a, _)| *a == nic.address) {
                pairs.push((nic.address.clone(), nic.mac.clone()));
            }
            let update = PortUpdate {
                allowed_address_pairs: Some(pairs.into_iter().map(|(a, m)| (a, Some(m))).collect()),
                ..Default::default()
            };
            self.port_update(ctx, &vip.id, update).await?;
        }
        Ok(nic)
    }

    /// Unbinds every virtual IP from a server's NIC (its allowed address
    /// pairs emptied, its address taken out of virtual IP ports' pairs).
    pub async fn nic_virtual_ip_unbind(&self, ctx: &AuthContext, nic_id: &str) -> Result<ServerPort> {
        policy::authorize_write(ctx, "update_port")?;
        let nic = self.server_port(ctx, nic_id).await?;
        let clear = PortUpdate { allowed_address_pairs: Some(Vec::new()), ..Default::default() };
        self.port_update(ctx, &nic.id, clear).await?;
        for port in self.ports(ctx).await?.into_iter().filter(|p| p.network_id == nic.network_id && p.id != nic.id) {
            let attrs = self.store.neutron_attrs(&port.id).await?;
            if attrs.device_owner != VIP_OWNER || !attrs.allowed_address_pairs.iter().any(|(a, _)| *a == nic.address) {
                continue;
            }
            let kept = attrs.allowed_address_pairs.into_iter().filter(|(a, _)| *a != nic.address);
            let update = PortUpdate {
                allowed_address_pairs: Some(kept.map(|(a, m)| (a, Some(m))).collect()),
                ..Default::default()
            };
            self.port_update(ctx, &port.id, update).await?;
        }
        Ok(nic)
    }

    /// A port the caller sees that is a server's NIC.
    async fn server_port(&self, ctx: &AuthContext, id: &str) -> Result<ServerPort> {
        let port = self.port(ctx, id).await.map_err(|_| Error::not_found(Kind::Interface, id))?;
        if port.server_id.is_empty() {
            return Err(Error::not_found(Kind::Interface, id));
        }
        Ok(port)
    }
}
