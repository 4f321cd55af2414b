//! Volumes and snapshots (Nova's os-volumes and os-snapshots proxies, owned
//! here), and attaching volumes to servers through the task engine.

use ecs_store::VolumeRefusal;
use ecs_types::volume::{Volume, VolumeAttachment, VolumeSnapshot};
use ecs_types::{AuthContext, VolumeId};

use crate::compute::TaskParams;
use crate::compute::sagas::{AttachVolumeParams, DetachVolumeParams, SwapVolumeParams};
use crate::compute::state::{self, Action};
use crate::{Conflict, Core, Error, Invalid, Kind, Resource, Result, policy};

/// Cinder's default quotas.
pub const SNAPSHOTS_QUOTA: i64 = 10;

/// A volume to create.
#[derive(Debug, Clone, Default)]
pub struct VolumeRequest {
    pub size_gb: i64,
    pub name: String,
    pub description: String,
    pub availability_zone: Option<String>,
    pub volume_type: Option<String>,
    pub snapshot_id: Option<String>,
}

pub(crate) fn refused(r: VolumeRefusal, id: &str) -> Error {
    match r {
        VolumeRefusal::Quota(resource, limit, used, asked) => {
            Error::quota(Resource::parse(resource).unwrap_or(Resource::Volumes), asked, used, limit)
        }
        VolumeRefusal::State(status) => Invalid::VolumeState { id: id.to_string(), status }.into(),
        VolumeRefusal::HasSnapshots(n) => {
            Error::invalid(format!("Invalid volume: Volume {id} still has {n} dependent snapshots."))
        }
        VolumeRefusal::DeviceInUse(device) => Conflict::DeviceInUse { device }.into(),
        VolumeRefusal::Attached => {
            Error::invalid(format!("Invalid volume: Volume {id} cannot be deleted while in attached state"))
        }
    }
}

impl Core {
    pub async fn volume(&self, ctx: &AuthContext, id: &str) -> Result<Volume> {
        let missing = || Error::not_found(Kind::Volume, id);
        let v = self.store.volume_get(id).await.map_err(Error::not_found_or(missing))?;
        if ctx.is_admin() || Some(v.project_id.as_str()) == ctx.project_id() { Ok(v) } else { Err(missing()) }
    }

    pub async fn volumes(&self, ctx: &AuthContext) -> Result<Vec<Volume>> {
        Ok(self.store.volume_list(Some(policy::project_of(ctx)?)).await?)
    }

    pub async fn volume_create(&self, ctx: &AuthContext, req: VolumeRequest) -> Result<Volume> {
        policy::authorize_write(ctx, "os_compute_api:os-volumes:create")?;
        let project = policy::project_of(ctx)?.to_string();
        let size_gb = match &req.snapshot_id {
            Some(snap) => {
                let s = self.snapshot(ctx, snap).await?;
                s.size_gb.max(req.size_gb)
            }
            None => req.size_gb,
        };
        if size_gb < 1 {
            return Err(Error::invalid("Invalid input received: size must be an integer (GB) greater than 0"));
        }
        let zones: Vec<String> = self.store.host_list().await?.into_iter().map(|h| h.availability_zone).collect();
        let az = match req.availability_zone {
            Some(az) if !zones.contains(&az) => {
                return Err(Error::invalid(format!("Invalid input received: Availability zone '{az}' is invalid.")));
            }
            Some(az) => az,
            None => zones.first().cloned().unwrap_or_else(|| "nova".into()),
        };
        let volume = Volume {
            id: ecs_types::random::uuid().to_string(),
            project_id: project,
            name: req.name,
            description: req.description,
            size_gb,
            status: "available".into(),
            volume_type: req.volume_type.unwrap_or_else(|| "SATA".into()),
            availability_zone: az,
            snapshot_id: req.snapshot_id,
            created_at: ecs_types::clock::now(),
            attachment: None,
            metadata: Default::default(),
            bootable: false,
            source_volid: None,
            image_id: None,
            user_id: Some(ctx.user_id.clone()),
        };
        let id = volume.id.clone();
        // The project's Cinder quotas (os-quota-sets of /volume) hold here too.
        let limits = self.volume_limits(&volume.project_id, &volume.volume_type).await?;
        self.store.volume_create_within(&volume, &limits).await?.map_err(|r| refused(r, &id))
    }

    pub async fn volume_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-volumes:delete")?;
        self.volume(ctx, id).await?;
        self.store.volume_delete(id).await.map_err(Error::not_found_as(Kind::Volume, id))?.map_err(|r| match r {
            VolumeRefusal::State(status) => Error::invalid(format!(
                "Invalid volume: Volume status must be available or error or error_restoring or error_extending \
                 or error_managing and must not be migrating, attached, belong to a group, have snapshots or be \
                 disassociated from snapshots after volume transfer. (status {status})"
            )),
            other => refused(other, id),
        })?;
        self.volume_storage_release(id).await;
        Ok(())
    }

    /// Removes a deleted volume's storage from the hosts that keep it. A
    /// failure (or a crash first) leaves a file that the reconciler removes
    /// at the next start, since no volume owns it.
    pub async fn volume_storage_release(&self, id: &str) {
        for driver in self.drivers.all() {
            if let Err(e) = driver.delete_disk(id).await {
                tracing::warn!(host = driver.host(), volume = id, error = %e, "removing a volume's storage failed");
            }
        }
    }

    /// Attaches a volume (`os-volume_attachments`): reserved at once, plugged by a task.
    pub async fn volume_attach(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        volume_id: &str,
        device: Option<&str>,
        delete_on_termination: bool,
        request_id: &str,
    ) -> Result<VolumeAttachment> {
        policy::authorize_write(ctx, Action::AttachVolume.rule())?;
        let (attachment, _task) =
            self.volume_attach_start(ctx, server_id, volume_id, device, delete_on_termination, request_id).await?;
        Ok(attachment)
    }

    /// [`Core::volume_attach`], also returning the id of the task that plugs it.
    pub async fn volume_attach_start(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        volume_id: &str,
        device: Option<&str>,
        delete_on_termination: bool,
        request_id: &str,
    ) -> Result<(VolumeAttachment, String)> {
        policy::authorize_write(ctx, Action::AttachVolume.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        let volume = self.volume(ctx, volume_id).await?;
        self.attach_checks(ctx, &server, &volume, None).await?;
        let params = TaskParams::AttachVolume(AttachVolumeParams { volume_id: VolumeId::new(volume_id) });
        let task = self.task_for(ctx, &server, params, request_id);
        let task_id = task.id.clone();
        let attachment = self
            .store
            .volume_attach_reserve(volume_id, server_id, device, delete_on_termination, &task)
            .await?
            .map_err(|r| refused(r, volume_id))?;
        self.wake.notify();
        Ok((attachment, task_id))
    }

    /// The checks of an attach, making nothing (a dry run): the store's
    /// reservation repeats the volume's and the device's atomically.
    pub async fn volume_attach_check(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        volume_id: &str,
        device: Option<&str>,
    ) -> Result<()> {
        let server = self.server_get(ctx, server_id).await?;
        let volume = self.volume(ctx, volume_id).await?;
        self.attach_checks(ctx, &server, &volume, device).await
    }

    /// An attach's rules: the server unlocked and in a state that allows
    /// it, the volume free, available and in the server's zone, the device
    /// (if checked) not taken.
    async fn attach_checks(
        &self,
        ctx: &AuthContext,
        server: &ecs_types::server::Server,
        volume: &Volume,
        device: Option<&str>,
    ) -> Result<()> {
        self.check_locked(ctx, server, Action::AttachVolume)?;
        state::check(Action::AttachVolume, server)?;
        self.require_host_for(Action::AttachVolume, server).await?;
        if let Some(a) = &volume.attachment {
            let here = a.server_id == server.id;
            return Err(Invalid::VolumeAttached { id: volume.id.clone(), server_id: a.server_id.clone(), here }.into());
        }
        if volume.status != "available" {
            return Err(Invalid::VolumeState { id: volume.id.clone(), status: volume.status.clone() }.into());
        }
        if Some(&volume.availability_zone) != server.availability_zone.as_ref() {
            return Err(Error::invalid(format!(
                "Invalid volume: Instance and volume not in same availability_zone ({} vs {})",
                server.availability_zone.as_deref().unwrap_or(""),
                volume.availability_zone
            )));
        }
        if let Some(device) = device {
            let attached = self.store.volumes_of_server(&server.id).await?;
            if attached.iter().any(|v| v.attachment.as_ref().is_some_and(|a| a.device == device)) {
                return Err(Conflict::DeviceInUse { device: device.to_string() }.into());
            }
        }
        Ok(())
    }

    /// ECS's UpdateServerBlockDevice: whether a data disk goes with its
    /// server. The system disk's setting is not the caller's to change, and
    /// a disk attached elsewhere (or gone) is not attached here.
    pub async fn data_disk_delete_on_termination(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        volume_id: &str,
        delete_on_termination: bool,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-volumes-attachments:update")?;
        self.server_get(ctx, server_id).await?;
        let not_attached = || Error::not_found(Kind::VolumeAttachment { server_id: server_id.to_string() }, volume_id);
        let volume = self.volume(ctx, volume_id).await.map_err(|e| match e {
            Error::NotFound { .. } => not_attached(),
            other => other,
        })?;
        match &volume.attachment {
            Some(a) if a.server_id == server_id && a.device == "/dev/vda" => Err(Invalid::SystemDiskChange.into()),
            Some(a) if a.server_id == server_id => {
                let dot = Some(delete_on_termination);
                self.volume_attachment_update(ctx, server_id, volume_id, volume_id, dot, request_id).await
            }
            _ => Err(not_attached()),
        }
    }

    /// Detaches a volume; the volume is `detaching` until the task is done.
    /// Returns the task's id.
    pub async fn volume_detach(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        volume_id: &str,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::DetachVolume.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        // A disk that is gone is not attached to this server either.
        let not_attached = || Error::not_found(Kind::VolumeAttachment { server_id: server_id.to_string() }, volume_id);
        let volume = self.volume(ctx, volume_id).await.map_err(|e| match e {
            Error::NotFound { .. } => not_attached(),
            other => other,
        })?;
        if volume.attachment.as_ref().is_none_or(|a| a.server_id != server_id) {
            return Err(not_attached());
        }
        if volume.attachment.as_ref().is_some_and(|a| a.device == "/dev/vda") {
            return Err(Invalid::SystemDiskDetach.into());
        }
        self.check_locked(ctx, &server, Action::DetachVolume)?;
        state::check(Action::DetachVolume, &server)?;
        self.require_host_for(Action::DetachVolume, &server).await?;
        let params = TaskParams::DetachVolume(DetachVolumeParams { volume_id: VolumeId::new(volume_id) });
        let task = self.task_for(ctx, &server, params, request_id);
        let task_id = task.id.clone();
        let began = self.store.volume_detach_begin(volume_id, &task).await;
        began.map_err(Error::not_found_as(Kind::Volume, volume_id))?.map_err(|r| match r {
            VolumeRefusal::State(s) => Error::invalid(format!(
                "Invalid volume: Unable to detach volume. Volume status must be 'in-use' (it is {s})."
            )),
            other => refused(other, volume_id),
        })?;
        self.wake.notify();
        Ok(task_id)
    }

    /// Swaps an attached volume for another (admin), or with the same
    /// volume changes its delete_on_termination (2.85).
    pub async fn volume_attachment_update(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        volume_id: &str,
        new_volume_id: &str,
        delete_on_termination: Option<bool>,
        request_id: &str,
    ) -> Result<()> {
        // Nova checks only the swap rule on a swap: the service that swaps
        // (Cinder, with the `service` role) need not be a project member.
        let swapping = new_volume_id != volume_id;
        if swapping {
            policy::require_service_or_admin(ctx, "os_compute_api:os-volumes-attachments:swap")?;
        } else {
            policy::authorize_write(ctx, "os_compute_api:os-volumes-attachments:update")?;
        }
        let server = self.server_get(ctx, server_id).await?;
        let volume = self.volume(ctx, volume_id).await?;
        if volume.attachment.as_ref().is_none_or(|a| a.server_id != server_id) {
            return Err(Error::not_found(Kind::AttachmentOf, volume_id));
        }
        if !swapping {
            if let Some(dot) = delete_on_termination {
                self.store.volume_set_delete_on_termination(volume_id, dot).await?;
            }
            return Ok(());
        }
        let new = self.volume(ctx, new_volume_id).await?;
        self.check_locked(ctx, &server, Action::AttachVolume)?;
        state::check(Action::AttachVolume, &server)?;
        self.require_host_for(Action::AttachVolume, &server).await?;
        let params =
            SwapVolumeParams { old_volume_id: VolumeId::new(volume_id), new_volume_id: VolumeId::new(&new.id) };
        let task = self.task_for(ctx, &server, TaskParams::SwapVolume(params), request_id);
        self.store.volume_swap_begin(&new.id, &task).await?.map_err(|r| refused(r, new_volume_id))?;
        self.wake.notify();
        Ok(())
    }

    /// The volumes attached to a server.
    pub async fn server_volumes(&self, ctx: &AuthContext, server_id: &str) -> Result<Vec<Volume>> {
        self.server_get(ctx, server_id).await?;
        Ok(self.store.volumes_of_server(server_id).await?)
    }

    pub async fn snapshot(&self, ctx: &AuthContext, id: &str) -> Result<VolumeSnapshot> {
        let missing = || Error::not_found(Kind::Snapshot, id);
        let s = self.store.snapshot_get(id).await.map_err(Error::not_found_or(missing))?;
        if ctx.is_admin() || Some(s.project_id.as_str()) == ctx.project_id() { Ok(s) } else { Err(missing()) }
    }

    pub async fn snapshots(&self, ctx: &AuthContext) -> Result<Vec<VolumeSnapshot>> {
        Ok(self.store.snapshot_list(Some(policy::project_of(ctx)?)).await?)
    }

    /// Snapshots a volume; one in use needs `force`, as in Cinder.
    pub async fn snapshot_create(
        &self,
        ctx: &AuthContext,
        volume_id: &str,
        name: &str,
        description: &str,
        force: bool,
    ) -> Result<VolumeSnapshot> {
        policy::authorize_write(ctx, "os_compute_api:os-volumes:snapshots:create")?;
        if name.starts_with("autobk_snapshot") {
            return Err(Error::invalid("Invalid input: a snapshot name must not start with autobk_snapshot"));
        }
        let volume = self.volume(ctx, volume_id).await?;
        if volume.status != "available" && !(force && volume.status == "in-use") {
            return Err(Error::invalid(format!(
                "Invalid volume: Volume {volume_id} status must be available, but current status is: {}",
                volume.status
            )));
        }
        let snapshot = VolumeSnapshot {
            id: ecs_types::random::uuid().to_string(),
            project_id: volume.project_id.clone(),
            volume_id: volume.id.clone(),
            name: name.to_string(),
            description: description.to_string(),
            size_gb: volume.size_gb,
            status: "available".into(),
            created_at: ecs_types::clock::now(),
            metadata: Default::default(),
        };
        let limits = self.cinder_limits(&snapshot.project_id).await?;
        let max = limits.get("snapshots").copied().unwrap_or(SNAPSHOTS_QUOTA);
        self.store.snapshot_create(&snapshot, max).await?.map_err(|r| refused(r, volume_id))
    }

    pub async fn snapshot_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-volumes:snapshots:delete")?;
        self.snapshot(ctx, id).await?;
        self.store.snapshot_delete(id).await.map_err(Error::not_found_as(Kind::Snapshot, id))
    }
}
