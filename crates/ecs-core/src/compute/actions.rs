//! The server actions of issue 18: shelve, shelve offload and unshelve,
//! rescue and unrescue, createBackup, deferred delete (soft delete,
//! restore and the reclaim), trigger_crash_dump, and the diagnostics and
//! topology views. Each is checked here as Nova checks it and carried out
//! by a task (its saga in `sagas/`).

use std::collections::BTreeMap;

use ecs_store::ServerListQuery;
use ecs_types::server::{PowerState, Server, VmState};
use ecs_types::{AuthContext, ImageId};

use super::sagas::{
    BackupParams, RescueParams, RestoreParams, SHELVED_FOR, ShelveParams, SoftDeleteParams, TaskParams, UnrescueParams,
    UnshelveParams,
};
use super::server::generate_password;
use super::state::{self, Action};
use crate::image::{IMAGE_METADATA_LIMIT, snapshot_record};
use crate::{Core, Error, Resource, Result, policy};

/// What an unshelve asks for (2.77 zone, 2.91 host).
#[derive(Debug, Clone, Default)]
pub struct UnshelveRequest {
    /// None: not given; `Some(None)`: `availability_zone: null` (2.91), the
    /// server is no longer pinned to a zone.
    pub availability_zone: Option<Option<String>>,
    pub host: Option<String>,
}

/// What a rescue asks for.
#[derive(Debug, Clone, Default)]
pub struct RescueRequest {
    pub admin_pass: Option<String>,
    pub rescue_image_ref: Option<String>,
    /// 2.87: a volume-backed server may be rescued.
    pub allow_volume_backed: bool,
}

/// A backup to take (`createBackup`).
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub name: String,
    pub backup_type: String,
    pub rotation: u64,
    pub metadata: BTreeMap<String, String>,
}

/// Nova's server diagnostics, gathered from the guest's host.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub server: Server,
    /// The driver that runs the guest ("sim", "qemu-kvm", "qemu-tcg").
    pub driver: String,
    pub power_state: PowerState,
    pub vcpus: u32,
    pub ram_mb: u64,
    pub root_gb: u64,
    /// NICs: (port id, MAC).
    pub nics: Vec<(String, String)>,
    /// Attached volumes: (volume id, device, size in GiB).
    pub disks: Vec<(String, String, u64)>,
    /// Seconds since the server was launched.
    pub uptime: i64,
}

impl Core {
    /// The server `action` may act on now: visible, not locked against
    /// the caller, in a state that allows it, on a host that is up.
    async fn server_ready_for(&self, ctx: &AuthContext, id: &str, action: Action) -> Result<Server> {
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, action)?;
        state::check(action, &server)?;
        self.require_host_for(action, &server).await?;
        Ok(server)
    }

    /// `shelve`: the guest stops and, for an image-backed server, its disk
    /// becomes the image `<name>-shelved`. With `shelved_offload_time` 0
    /// (Nova's default), or for a volume-backed server, the guest also
    /// leaves its host at once (SHELVED_OFFLOADED).
    pub async fn server_shelve(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, Action::Shelve.rule())?;
        let server = self.server_ready_for(ctx, id, Action::Shelve).await?;
        let volume_backed = server.image_id.is_none();
        let offload = volume_backed || self.config.shelved_offload_time == 0;
        if volume_backed {
            let params = TaskParams::Shelve(ShelveParams { image_id: None, offload });
            self.queue_task(ctx, &server, Action::Shelve, params, request_id).await?;
            return Ok(());
        }
        let name = format!("{}-shelved", server.name);
        let marker = BTreeMap::from([(SHELVED_FOR.to_string(), server.id.clone())]);
        let mut image = snapshot_record(ctx, &server, &name, "snapshot", marker)?;
        // The shelved image belongs to the server's project, whoever shelved it.
        image.owner_project_id = Some(server.project_id.clone());
        let params = TaskParams::Shelve(ShelveParams { image_id: Some(ImageId::new(&image.id)), offload });
        self.start_snapshot(ctx, &server, &image, Action::Shelve, params, request_id).await?;
        Ok(())
    }

    /// `shelveOffload` (admin by Nova's default policy): a SHELVED server's
    /// guest leaves its host, whose resources are freed.
    pub async fn server_shelve_offload(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<()> {
        let server = self.server_get(ctx, id).await?;
        policy::require_admin(ctx, Action::ShelveOffload.rule())?;
        let server = self.server_ready_for(ctx, &server.id, Action::ShelveOffload).await?;
        let params = TaskParams::ShelveOffload(ShelveParams { image_id: None, offload: true });
        self.queue_task(ctx, &server, Action::ShelveOffload, params, request_id).await?;
        Ok(())
    }

    /// `unshelve`: a SHELVED server starts again where it is; a
    /// SHELVED_OFFLOADED one is scheduled anew and boots from its shelved
    /// snapshot, which is deleted once it runs.
    pub async fn server_unshelve(
        &self,
        ctx: &AuthContext,
        id: &str,
        req: UnshelveRequest,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, Action::Unshelve.rule())?;
        let server = self.server_ready_for(ctx, id, Action::Unshelve).await?;
        let offloaded = server.vm_state == VmState::ShelvedOffloaded;
        if (req.availability_zone.is_some() || req.host.is_some()) && !offloaded {
            return Err(Error::conflict(format!(
                "Specifying an availability zone or a host when unshelving server \"{}\" with status \"{}\" is \
                 not supported. The server status must be SHELVED_OFFLOADED.",
                server.id,
                server.vm_state.as_str()
            )));
        }
        let hosts = self.store.host_list().await?;
        if let Some(Some(zone)) = &req.availability_zone
            && !hosts.iter().any(|h| h.enabled && &h.availability_zone == zone)
        {
            return Err(Error::invalid("The requested availability zone is not available"));
        }
        if let Some(host) = &req.host {
            policy::require_admin(ctx, "os_compute_api:os-shelve:unshelve_to_host")?;
            let Some(found) = hosts.iter().find(|h| &h.name == host) else {
                return Err(Error::invalid(format!("Compute host {host} could not be found.")));
            };
            let zone = match &req.availability_zone {
                Some(zone) => zone.clone(),
                None => server.availability_zone.clone(),
            };
            if let Some(zone) = zone
                && found.availability_zone != zone
            {
                return Err(Error::conflict(format!("Host \"{host}\" is not in the availability zone \"{zone}\".")));
            }
        }
        let image_id = if offloaded { self.shelved_image(&server.id).await? } else { None };
        let params = TaskParams::Unshelve(UnshelveParams {
            offloaded,
            image_id: image_id.clone().map(ImageId::new),
            availability_zone: req.availability_zone.clone().flatten(),
            unpin_zone: matches!(req.availability_zone, Some(None)),
            host: req.host.clone(),
        });
        self.queue_task(ctx, &server, Action::Unshelve, params, request_id).await?;
        // A SHELVED server keeps its snapshot until it runs again.
        if !offloaded && let Some(image) = self.shelved_image(&server.id).await? {
            let _ = self.store.image_delete(&image).await;
        }
        Ok(())
    }

    /// The snapshot a shelve took of the server, if it is still there.
    async fn shelved_image(&self, server_id: &str) -> Result<Option<String>> {
        let images = self.store.image_list().await?;
        Ok(images
            .into_iter()
            .filter(|i| i.properties.get(SHELVED_FOR).map(String::as_str) == Some(server_id))
            .max_by(|a, b| a.created_at.cmp(&b.created_at))
            .map(|i| i.id))
    }

    /// `rescue`: the guest boots a rescue disk with its own root attached
    /// second. Returns the rescue system's admin password.
    pub async fn server_rescue(
        &self,
        ctx: &AuthContext,
        id: &str,
        req: RescueRequest,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::Rescue.rule())?;
        let server = self.server_ready_for(ctx, id, Action::Rescue).await?;
        if server.image_id.is_none() && !req.allow_volume_backed {
            return Err(Error::invalid(format!(
                "Instance {} cannot be rescued: Cannot rescue a volume-backed instance",
                server.id
            )));
        }
        let image_id = match &req.rescue_image_ref {
            Some(image_ref) => {
                let image = self
                    .image(ctx, image_ref)
                    .await
                    .map_err(|_| Error::invalid(format!("Requested rescue image '{image_ref}' is not supported")))?;
                if image.status != "active" {
                    return Err(Error::invalid(format!("Requested rescue image '{image_ref}' is not supported")));
                }
                Some(ImageId::new(&image.id))
            }
            None => None,
        };
        let admin_pass = req.admin_pass.clone().unwrap_or_else(generate_password);
        let params = TaskParams::Rescue(RescueParams { admin_pass: Some(admin_pass.clone()), image_id });
        self.queue_task(ctx, &server, Action::Rescue, params, request_id).await?;
        Ok(admin_pass)
    }

    pub async fn server_unrescue(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, Action::Unrescue.rule())?;
        let server = self.server_ready_for(ctx, id, Action::Unrescue).await?;
        let params = TaskParams::Unrescue(UnrescueParams {});
        self.queue_task(ctx, &server, Action::Unrescue, params, request_id).await?;
        Ok(())
    }

    /// `createBackup`: a `backup` image of the server; afterwards only the
    /// newest `rotation` backups of its `backup_type` are kept. Returns
    /// the new image's id.
    pub async fn server_backup(
        &self,
        ctx: &AuthContext,
        id: &str,
        req: BackupRequest,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::CreateBackup.rule())?;
        let server = self.server_ready_for(ctx, id, Action::CreateBackup).await?;
        if req.metadata.len() > IMAGE_METADATA_LIMIT {
            return Err(Error::quota(Resource::ImageMetadata, 0, 0, 0));
        }
        if server.image_id.is_none() {
            return Err(Error::invalid("Backup is not supported for volume-backed instances."));
        }
        let mut metadata = req.metadata.clone();
        metadata.insert("backup_type".into(), req.backup_type.clone());
        let image = snapshot_record(ctx, &server, &req.name, "backup", metadata)?;
        let params = TaskParams::CreateBackup(BackupParams {
            image_id: ImageId::new(&image.id),
            backup_type: req.backup_type.clone(),
            rotation: req.rotation,
        });
        self.start_snapshot(ctx, &server, &image, Action::CreateBackup, params, request_id).await?;
        Ok(image.id)
    }

    /// Whether a delete of `server` is deferred (Nova's soft delete under
    /// `reclaim_instance_interval`): only of a server that was built, is
    /// on a host and idle; any other is deleted at once, as Nova does.
    pub(crate) fn defers_delete(&self, server: &Server) -> bool {
        !self.config.reclaim_instance_interval.is_zero()
            && server.launched_at.is_some()
            && server.host.is_some()
            && server.task_state.is_none()
            && state::check(Action::SoftDelete, server).is_ok()
    }

    /// A deferred delete: the server waits SOFT_DELETED.
    pub(crate) async fn server_soft_delete(&self, ctx: &AuthContext, server: &Server, request_id: &str) -> Result<()> {
        self.check_locked(ctx, server, Action::SoftDelete)?;
        let params = TaskParams::SoftDelete(SoftDeleteParams {});
        self.queue_task(ctx, server, Action::SoftDelete, params, request_id).await?;
        Ok(())
    }

    /// `restore`: a SOFT_DELETED server comes back (ACTIVE).
    pub async fn server_restore(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, Action::Restore.rule())?;
        let server = self.server_ready_for(ctx, id, Action::Restore).await?;
        let params = TaskParams::Restore(RestoreParams {});
        self.queue_task(ctx, &server, Action::Restore, params, request_id).await?;
        Ok(())
    }

    /// The periodic work of deferred states: servers SOFT_DELETED longer
    /// than `reclaim_instance_interval` are deleted, servers SHELVED longer
    /// than a positive `shelved_offload_time` are offloaded, and the ECS
    /// timers run (recycle bin retention, auto-terminate). Each is a task
    /// queued with the server's state change, so it is as durable as one a
    /// user asked for. Returns how many tasks were queued.
    pub async fn run_deferred(&self) -> Result<usize> {
        let now = ecs_types::clock::now();
        let mut queued = 0;
        let interval = self.config.reclaim_instance_interval;
        if !interval.is_zero() {
            let q = ServerListQuery { vm_states: Some(vec![VmState::SoftDeleted]), ..Default::default() };
            for server in self.store.server_list(&q).await? {
                let since = server.terminated_at.unwrap_or(server.updated_at);
                let waited = (now - since).to_std().unwrap_or_default();
                if server.task_state.is_some() || waited < interval {
                    continue;
                }
                // A server in the ECS recycle bin waits for the bin's retention.
                if self.options_of(&server.id).await?.recycled_at.is_some() {
                    continue;
                }
                let ctx = system_ctx(&server);
                let params = TaskParams::Delete(Default::default());
                if self.queue_task(&ctx, &server, Action::ForceDelete, params, "req-reclaim").await.is_ok() {
                    tracing::info!(server = %server.id, "reclaiming a soft-deleted server");
                    queued += 1;
                }
            }
        }
        let offload = self.config.shelved_offload_time;
        if offload > 0 {
            let q = ServerListQuery { vm_states: Some(vec![VmState::Shelved]), ..Default::default() };
            for server in self.store.server_list(&q).await? {
                if server.task_state.is_some() || (now - server.updated_at).num_seconds() < offload {
                    continue;
                }
                let ctx = system_ctx(&server);
                let params = TaskParams::ShelveOffload(ShelveParams { image_id: None, offload: true });
                if self.queue_task(&ctx, &server, Action::ShelveOffload, params, "req-offload").await.is_ok() {
                    tracing::info!(server = %server.id, "offloading a shelved server");
                    queued += 1;
                }
            }
        }
        queued += self.run_ecs_timers().await?;
        Ok(queued)
    }

    /// `trigger_crash_dump` (2.17): an NMI to the guest. Recorded as an
    /// instance action; the guest's console shows what it did.
    pub async fn server_trigger_crash_dump(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, Action::TriggerCrashDump.rule())?;
        let server = self.server_ready_for(ctx, id, Action::TriggerCrashDump).await?;
        let not_ready = || Error::conflict(format!("Instance {id} is not ready"));
        let driver = server.host.as_deref().and_then(|h| self.drivers.get(h)).ok_or_else(not_ready)?;
        driver.inject_nmi(&server.id).await.map_err(|e| match e {
            ecs_hypervisor::HypervisorError::NotFound(_)
            | ecs_hypervisor::HypervisorError::InvalidState { .. }
            | ecs_hypervisor::HypervisorError::HostDown(_) => not_ready(),
            other => Error::Internal(other.to_string()),
        })?;
        self.record_api_action(ctx, &server, "trigger_crash_dump", request_id).await
    }

    /// The server whose topology (2.78) is asked for: any the caller sees.
    pub async fn server_topology(&self, ctx: &AuthContext, id: &str) -> Result<Server> {
        self.server_get(ctx, id).await
    }

    /// Server diagnostics (admin): what the guest's host reports of it.
    pub async fn server_diagnostics(&self, ctx: &AuthContext, id: &str) -> Result<Diagnostics> {
        let server = self.server_get(ctx, id).await?;
        policy::require_admin(ctx, "os_compute_api:os-server-diagnostics")?;
        let not_ready = || Error::conflict(format!("Instance {id} is not ready"));
        let host = server.host.clone().ok_or_else(|| {
            Error::conflict(format!(
                "Cannot 'get_diagnostics' instance {id} while it is in vm_state {}",
                server.vm_state.as_str()
            ))
        })?;
        self.require_server_host_up(&server).await?;
        let driver = self.drivers.get(&host).ok_or_else(not_ready)?;
        let info = driver
            .info(&server.id)
            .await
            .map_err(|e| if e.is_host_down() { not_ready() } else { Error::Internal(e.to_string()) })?
            .ok_or_else(not_ready)?;
        let disks = self
            .store
            .volumes_of_server(&server.id)
            .await?
            .into_iter()
            .filter_map(|v| {
                let device = v.attachment.map(|a| a.device)?;
                Some((v.id, device, v.size_gb as u64))
            })
            .collect();
        let uptime = server.launched_at.map(|t| (ecs_types::clock::now() - t).num_seconds().max(0)).unwrap_or(0);
        Ok(Diagnostics {
            driver: driver.kind().to_string(),
            power_state: info.power_state,
            vcpus: info.vcpus,
            ram_mb: info.ram_mb,
            root_gb: info.root_gb,
            nics: info.nics.iter().map(|n| (n.port_id.clone(), n.mac.clone())).collect(),
            disks,
            uptime,
            server,
        })
    }
}

/// Who the periodic tasks act as: the service itself, on the server's
/// owner's behalf (the task is recorded as the owner's).
pub(crate) fn system_ctx(server: &Server) -> AuthContext {
    let now = ecs_types::clock::now();
    AuthContext {
        user_id: server.user_id.clone(),
        user_name: "ecsd".into(),
        user_domain: ecs_types::Domain::default_domain(),
        project: None,
        roles: vec![ecs_types::Role::named("admin", "admin")],
        methods: Vec::new(),
        audit_id: String::new(),
        issued_at: now,
        expires_at: now,
        application_credential: None,
    }
}
