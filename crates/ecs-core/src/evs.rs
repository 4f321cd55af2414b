//! Huawei's EVS API over Cinder volumes: an EVS disk is a volume. Its
//! changes (create, expand, delete) answer jobs, which are task-engine
//! tasks shown by `GET /v1/{project_id}/jobs/{job_id}`: the simulated
//! backend does the work at once, so each job is recorded done, with the
//! volume it concerns (`entities.volume_id`).

use ecs_store::NewTask;
use ecs_types::AuthContext;
use ecs_types::volume::Volume;
use serde_json::json;

use crate::cinder::CinderVolumeRequest;
use crate::{Core, Error, Invalid, Kind, Result, policy};

/// EVS's disk types (and ECS's `volumetype`s), taken without a Cinder type of that name.
pub const DISK_TYPES: &[&str] = &["SATA", "SAS", "SSD", "GPSSD", "ESSD", "GPSSD2", "ESSD2"];

/// The most disks one create makes (`count`).
pub const MAX_COUNT: usize = 100;

/// A finished job of `kind` about `volume`.
fn job(ctx: &AuthContext, kind: &str, volume: &Volume, parent: Option<&str>, request_id: &str) -> NewTask {
    let params = json!({
        "volume_id": volume.id,
        "name": volume.name,
        "size": volume.size_gb,
        "volume_type": volume.volume_type,
    });
    NewTask {
        parent_id: parent.map(str::to_string),
        ..NewTask::done(kind, &volume.project_id, &ctx.user_id, request_id, params)
    }
}

impl Core {
    /// One EVS disk of the caller's project (an admin's too: EVS paths
    /// name a project, and another project's disk is not found there).
    pub async fn evs_volume(&self, ctx: &AuthContext, id: &str) -> Result<Volume> {
        let v = self.volume(ctx, id).await?;
        if Some(v.project_id.as_str()) == ctx.project_id() { Ok(v) } else { Err(Error::not_found(Kind::Volume, id)) }
    }

    /// Makes `count` disks as one job (of sub-jobs when more than one);
    /// all or none: a refusal of one (a quota) removes those made before it.
    pub async fn evs_volume_create(
        &self,
        ctx: &AuthContext,
        req: CinderVolumeRequest,
        count: usize,
        request_id: &str,
    ) -> Result<(Vec<Volume>, String)> {
        policy::authorize_write(ctx, "evs:volumes:create")?;
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(Invalid::BatchSize { given: count, max: MAX_COUNT }.into());
        }
        let mut made: Vec<Volume> = Vec::new();
        for i in 0..count {
            let mut one = req.clone();
            if count > 1 && !one.name.is_empty() {
                one.name = format!("{}-{:04}", req.name, i + 1);
            }
            match self.volume_create_as(ctx, one, DISK_TYPES).await {
                Ok(v) => made.push(v),
                Err(e) => {
                    for v in &made {
                        self.store.volume_purge(&v.id).await?;
                    }
                    return Err(e);
                }
            }
        }
        let task_id = if let [volume] = made.as_slice() {
            let task = job(ctx, "createVolume", volume, None, request_id);
            self.store.task_insert(&task).await?;
            task.id
        } else {
            let mut parent = job(ctx, "batchCreateVolumes", &made[0], None, request_id);
            parent.params = json!({"volume_ids": made.iter().map(|v| v.id.clone()).collect::<Vec<_>>()});
            self.store.task_insert(&parent).await?;
            for v in &made {
                self.store.task_insert(&job(ctx, "createVolume", v, Some(&parent.id), request_id)).await?;
            }
            parent.id
        };
        Ok((made, task_id))
    }

    /// `os-extend`: an EVS disk grows attached or not; a job.
    pub async fn evs_volume_extend(
        &self,
        ctx: &AuthContext,
        id: &str,
        new_size: i64,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, "evs:volumes:extend")?;
        self.evs_volume(ctx, id).await?;
        self.cinder_volume_extend(ctx, id, new_size, true).await?;
        let volume = self.volume(ctx, id).await?;
        let task = job(ctx, "extendVolume", &volume, None, request_id);
        self.store.task_insert(&task).await?;
        Ok(task.id)
    }

    /// Deletes an EVS disk (never an attached one); a job.
    pub async fn evs_volume_delete(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<String> {
        policy::authorize_write(ctx, "evs:volumes:delete")?;
        let volume = self.evs_volume(ctx, id).await?;
        if volume.attachment.is_some() {
            return Err(Invalid::VolumeAttached {
                id: id.to_string(),
                server_id: volume.attachment.as_ref().map(|a| a.server_id.clone()).unwrap_or_default(),
                here: false,
            }
            .into());
        }
        self.cinder_volume_delete(ctx, id, false, false).await?;
        let task = job(ctx, "deleteVolume", &volume, None, request_id);
        self.store.task_insert(&task).await?;
        Ok(task.id)
    }

    /// Renames or redescribes an EVS disk.
    pub async fn evs_volume_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Volume> {
        if name.is_none() && description.is_none() {
            return Err(Error::invalid("volume name and description can not both be empty!"));
        }
        policy::authorize_write(ctx, "volume:update")?;
        self.evs_volume(ctx, id).await?;
        self.cinder_volume_update(ctx, id, name, description, None, None).await
    }
}

/// The data disks a KVM ECS takes besides its system disk, on its
/// virtio-blk (VBD) bus and on its SCSI bus. ecsd attaches all on virtio-blk.
const MAX_BLK_DATA_DISKS: usize = 16;
const MAX_SCSI_DATA_DISKS: usize = 24;

/// How many more data disks a server takes, by bus: one rule for ECS's
/// `appendvolumequota`, `attachableQuantity` and `os-interface_extension`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSlots {
    pub free_blk: usize,
    pub free_scsi: usize,
}

impl DiskSlots {
    /// The slots left with `data_disks` data disks attached.
    pub fn with_attached(data_disks: usize) -> DiskSlots {
        DiskSlots {
            free_blk: MAX_BLK_DATA_DISKS.saturating_sub(data_disks),
            free_scsi: MAX_SCSI_DATA_DISKS.saturating_sub(data_disks),
        }
    }

    /// Disks it may still attach, on the bus ecsd attaches to.
    pub fn free(&self) -> usize {
        self.free_blk
    }
}

impl Core {
    /// The disk slots of a server (ECS `appendvolumequota`).
    pub async fn server_disk_slots(&self, ctx: &AuthContext, server_id: &str) -> Result<DiskSlots> {
        let server = self.server_get(ctx, server_id).await?;
        let volumes = self.server_volumes(ctx, server_id).await?;
        let root = server.block_devices.iter().find(|b| b.boot_index == Some(0)).and_then(|b| b.volume_id.as_deref());
        let data_disks = volumes.iter().filter(|v| Some(v.id.as_str()) != root).count();
        Ok(DiskSlots::with_attached(data_disks))
    }

    /// ECS `batchaction/attachvolumes`: a shared disk to several servers.
    /// ecsd's disks attach to one server at a time, so one server is all a
    /// batch may name; its job is the attach's.
    pub async fn volume_attach_servers(
        &self,
        ctx: &AuthContext,
        volume_id: &str,
        servers: &[(String, Option<String>)],
        request_id: &str,
    ) -> Result<String> {
        let [(server_id, device)] = servers else {
            return Err(not_shareable(volume_id, servers.len()));
        };
        let (_, task) =
            self.volume_attach_start(ctx, server_id, volume_id, device.as_deref(), false, request_id).await?;
        Ok(task)
    }

    /// ECS `batchaction/detachvolumes`: a disk off the servers named
    /// (one: ecsd's disks are attached to one server at most).
    pub async fn volume_detach_servers(
        &self,
        ctx: &AuthContext,
        volume_id: &str,
        servers: &[String],
        request_id: &str,
    ) -> Result<String> {
        let [server_id] = servers else {
            return Err(not_shareable(volume_id, servers.len()));
        };
        self.volume_detach(ctx, server_id, volume_id, request_id).await
    }
}

fn not_shareable(volume_id: &str, servers: usize) -> Error {
    if servers == 0 {
        return Error::invalid("serverinfo must name at least one server.");
    }
    Error::invalid(format!("Volume {volume_id} is not a shared disk: it attaches to one server at a time."))
}
