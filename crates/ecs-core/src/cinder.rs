//! Block storage as Cinder v3 serves it, over the same volume, snapshot
//! and attachment records Nova's os-volumes / os-volume_attachments and
//! ECS disks use: creates from an image, a snapshot or a volume, updates,
//! metadata, extend, retype, status resets, cascade and forced deletes,
//! volume types, Cinder attachments and volume quotas.
//!
//! Volumes are made synchronously, as the Nova proxy makes them (the
//! simulated backend has nothing to wait for): a create answers
//! `available` at once.

use std::collections::BTreeMap;

use ecs_store::{StoreError, VolumeLimits, VolumeRefusal, VolumeUsage};
use ecs_types::AuthContext;
use ecs_types::volume::{Volume, VolumeSnapshot, VolumeType};

use crate::volume::{SNAPSHOTS_QUOTA, refused};
use crate::{Conflict, Core, Error, Kind, Result, policy};

/// The largest volume (GB) a create or extend may ask for.
pub const MAX_SIZE_GB: i64 = 1 << 40;

/// The type a volume gets when none is asked for.
pub const DEFAULT_TYPE: &str = "__DEFAULT__";

/// Cinder's quota resources besides the per-type ones, with their
/// defaults when the configuration says nothing.
pub const QUOTA_RESOURCES: &[&str] =
    &["volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes", "groups", "per_volume_gigabytes"];

/// A Cinder volume create.
#[derive(Debug, Clone, Default)]
pub struct CinderVolumeRequest {
    pub size_gb: Option<i64>,
    pub name: String,
    pub description: String,
    pub availability_zone: Option<String>,
    pub volume_type: Option<String>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub image_ref: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A Cinder snapshot create.
#[derive(Debug, Clone, Default)]
pub struct CinderSnapshotRequest {
    pub volume_id: String,
    pub name: String,
    pub description: String,
    pub force: bool,
    /// 3.66: an in-use volume needs no `force`.
    pub in_use_ok: bool,
    pub metadata: BTreeMap<String, String>,
}

/// One quota resource of a project, with its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CinderQuota {
    pub limit: i64,
    pub in_use: i64,
}

fn type_missing(id: &str) -> impl FnOnce(StoreError) -> Error + '_ {
    Error::not_found_or(move || Error::not_found(Kind::VolumeType, id))
}

impl Core {
    // ---- Quotas ----

    /// The configured default of a Cinder quota resource.
    fn cinder_default(&self, resource: &str) -> i64 {
        match resource {
            "volumes" => self.config.quota.volumes,
            "gigabytes" => self.config.quota.gigabytes,
            "snapshots" | "backups" | "groups" => SNAPSHOTS_QUOTA,
            "backup_gigabytes" => 1000,
            _ => -1,
        }
    }

    /// A project's Cinder limits: its own where set, else the defaults,
    /// for every resource and every volume type.
    pub async fn cinder_limits(&self, project_id: &str) -> Result<BTreeMap<String, i64>> {
        let own = self.store.quota_limits(project_id).await?;
        let mut out = BTreeMap::new();
        let mut names: Vec<String> = QUOTA_RESOURCES.iter().map(|r| r.to_string()).collect();
        for t in self.store.volume_types().await? {
            for r in ["volumes", "gigabytes", "snapshots"] {
                names.push(format!("{r}_{}", t.name));
            }
        }
        for name in names {
            let limit = own.get(&name).copied().unwrap_or_else(|| self.cinder_default(&name));
            out.insert(name, limit);
        }
        Ok(out)
    }

    fn cinder_quota_project(&self, ctx: &AuthContext, project_id: &str) -> Result<()> {
        if ctx.is_admin() || ctx.project_id() == Some(project_id) {
            Ok(())
        } else {
            Err(policy::forbidden("volume_extension:quotas:show"))
        }
    }

    /// A project's quotas with their use (`os-quota-sets/{project}`).
    pub async fn cinder_quota_set(&self, ctx: &AuthContext, project_id: &str) -> Result<BTreeMap<String, CinderQuota>> {
        self.cinder_quota_project(ctx, project_id)?;
        let limits = self.cinder_limits(project_id).await?;
        let usage = self.store.volume_usage(project_id).await?;
        Ok(limits
            .into_iter()
            .map(|(name, limit)| (name.clone(), CinderQuota { limit, in_use: used(&usage, &name) }))
            .collect())
    }

    /// The default quotas (`os-quota-sets/{project}/defaults`).
    pub async fn cinder_quota_defaults(&self) -> Result<BTreeMap<String, i64>> {
        let mut out: BTreeMap<String, i64> =
            QUOTA_RESOURCES.iter().map(|r| (r.to_string(), self.cinder_default(r))).collect();
        for t in self.store.volume_types().await? {
            for r in ["volumes", "gigabytes", "snapshots"] {
                out.insert(format!("{r}_{}", t.name), -1);
            }
        }
        Ok(out)
    }

    /// Sets a project's limits (admin). A limit below what is in use is
    /// refused, as Cinder refuses it.
    pub async fn cinder_quota_update(
        &self,
        ctx: &AuthContext,
        project_id: &str,
        values: &BTreeMap<String, i64>,
    ) -> Result<BTreeMap<String, CinderQuota>> {
        policy::require_admin(ctx, "volume_extension:quotas:update")?;
        let current = self.cinder_quota_set(ctx, project_id).await?;
        for (name, value) in values {
            let Some(q) = current.get(name) else {
                return Err(Error::invalid(format!("Bad key(s) in quota set: {name}")));
            };
            if *value < -1 {
                return Err(Error::invalid(format!(
                    "Invalid input received: Quota limit {value} for {name} must be -1 or greater."
                )));
            }
            if *value >= 0 && *value < q.in_use {
                return Err(Error::invalid(format!(
                    "Invalid input received: Quota {name} limit must be equal or greater than existing resources. \
                     Current usage is {} and the requested limit is {value}.",
                    q.in_use
                )));
            }
        }
        for (name, value) in values {
            self.store.quota_set(project_id, name, *value).await?;
        }
        self.cinder_quota_set(ctx, project_id).await
    }

    /// Forgets a project's own limits (admin).
    pub async fn cinder_quota_delete(&self, ctx: &AuthContext, project_id: &str) -> Result<()> {
        policy::require_admin(ctx, "volume_extension:quotas:delete")?;
        let own = self.store.quota_limits(project_id).await?;
        let names: Vec<String> = self.cinder_limits(project_id).await?.into_keys().collect();
        for name in own.keys().filter(|n| names.contains(n)) {
            self.store.quota_unset(project_id, name).await?;
        }
        Ok(())
    }

    /// The caller's project's limits and use (`/limits`).
    pub async fn cinder_usage(&self, ctx: &AuthContext) -> Result<(BTreeMap<String, i64>, VolumeUsage)> {
        let project = policy::project_of(ctx)?;
        Ok((self.cinder_limits(project).await?, self.store.volume_usage(project).await?))
    }

    pub(crate) async fn volume_limits(&self, project_id: &str, volume_type: &str) -> Result<VolumeLimits> {
        let l = self.cinder_limits(project_id).await?;
        let get = |k: &str| l.get(k).copied().unwrap_or(-1);
        Ok(VolumeLimits {
            volumes: get("volumes"),
            gigabytes: get("gigabytes"),
            type_volumes: get(&format!("volumes_{volume_type}")),
            type_gigabytes: get(&format!("gigabytes_{volume_type}")),
            per_volume_gigabytes: get("per_volume_gigabytes"),
        })
    }

    // ---- Volumes ----

    /// Volumes the caller sees: its project's, or (admin, `all_tenants`)
    /// every project's.
    pub async fn cinder_volumes(&self, ctx: &AuthContext, all_tenants: bool) -> Result<Vec<Volume>> {
        if all_tenants && ctx.is_admin() {
            return Ok(self.store.volume_list(None).await?);
        }
        self.volumes(ctx).await
    }

    pub async fn cinder_volume_create(&self, ctx: &AuthContext, req: CinderVolumeRequest) -> Result<Volume> {
        self.volume_create_as(ctx, req, &[]).await
    }

    /// A volume create whose type may also be one of `vendor_types` (the
    /// EVS disk types, which ECS-made disks carry) without a Cinder type.
    pub(crate) async fn volume_create_as(
        &self,
        ctx: &AuthContext,
        req: CinderVolumeRequest,
        vendor_types: &[&str],
    ) -> Result<Volume> {
        policy::authorize_write(ctx, "volume:create")?;
        let project = policy::project_of(ctx)?.to_string();
        let sources = [req.snapshot_id.is_some(), req.source_volid.is_some(), req.image_ref.is_some()];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(Error::invalid(
                "Invalid input received: Only one of snapshot_id, source_volid and imageRef may be given.",
            ));
        }
        let mut min_size = 0;
        let mut bootable = false;
        let mut volume_type = req.volume_type.clone();
        let mut az = req.availability_zone.clone();
        if let Some(snap) = &req.snapshot_id {
            let s = self.snapshot(ctx, snap).await.map_err(|_| Error::not_found(Kind::Snapshot, snap))?;
            if s.status != "available" {
                return Err(Error::invalid(format!(
                    "Invalid snapshot: Originating snapshot status must be one of 'available' values (is {}).",
                    s.status
                )));
            }
            min_size = s.size_gb;
            let v = self.store.volume_get(&s.volume_id).await?;
            bootable = v.bootable;
            volume_type = volume_type.or(Some(v.volume_type));
            az = az.or(Some(v.availability_zone));
        }
        if let Some(src) = &req.source_volid {
            let v = self.volume(ctx, src).await?;
            if !["available", "in-use"].contains(&v.status.as_str()) {
                return Err(Error::invalid(format!(
                    "Invalid volume: Source volume status must be available or in-use (is {}).",
                    v.status
                )));
            }
            min_size = v.size_gb;
            bootable = v.bootable;
            volume_type = volume_type.or(Some(v.volume_type));
            az = az.or(Some(v.availability_zone));
        }
        let metadata = req.metadata.clone();
        if let Some(image) = &req.image_ref {
            let i = self.image(ctx, image).await.map_err(|_| {
                Error::invalid(format!("Invalid image identifier or unable to access requested image. (image {image})"))
            })?;
            if i.status != "active" {
                return Err(Error::invalid(format!("Invalid input received: Image {image} is not active.")));
            }
            let image_gb = (i.size_bytes + (1 << 30) - 1) >> 30;
            min_size = image_gb.max(i.min_disk_gb);
            bootable = true;
        }
        let size_gb = match req.size_gb {
            Some(s) if s < min_size => {
                return Err(Error::invalid(format!(
                    "Invalid input received: Volume size '{s}'GB cannot be smaller than the source size {min_size}GB."
                )));
            }
            Some(s) => s,
            None if min_size > 0 => min_size,
            None => return Err(Error::invalid("Invalid input received: size is required")),
        };
        if !(1..=MAX_SIZE_GB).contains(&size_gb) {
            return Err(Error::invalid(format!(
                "Invalid input received: Volume size '{size_gb}' must be an integer and greater than 0"
            )));
        }
        let type_name = match volume_type {
            Some(t) => match self.store.volume_type_get(&t).await {
                Err(StoreError::NotFound) if vendor_types.contains(&t.as_str()) => t,
                found => found.map_err(type_missing(&t))?.name,
            },
            None => DEFAULT_TYPE.to_string(),
        };
        let zones: Vec<String> = self.store.host_list().await?.into_iter().map(|h| h.availability_zone).collect();
        let az = match az {
            Some(az) if !zones.contains(&az) => {
                return Err(Error::invalid(format!("Invalid input received: Availability zone '{az}' is invalid.")));
            }
            Some(az) => az,
            None => zones.first().cloned().unwrap_or_else(|| "nova".into()),
        };
        let volume = Volume {
            id: ecs_types::random::uuid().to_string(),
            project_id: project.clone(),
            name: req.name,
            description: req.description,
            size_gb,
            status: "available".into(),
            volume_type: type_name.clone(),
            availability_zone: az,
            snapshot_id: req.snapshot_id,
            created_at: ecs_types::clock::now(),
            attachment: None,
            metadata,
            bootable,
            source_volid: req.source_volid,
            image_id: req.image_ref,
            user_id: Some(ctx.user_id.clone()),
        };
        let limits = self.volume_limits(&project, &type_name).await?;
        let id = volume.id.clone();
        self.store.volume_create_within(&volume, &limits).await?.map_err(|r| refused(r, &id))
    }

    /// Changes a volume's name, description, metadata or bootable flag.
    pub async fn cinder_volume_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        metadata: Option<&BTreeMap<String, String>>,
        bootable: Option<bool>,
    ) -> Result<Volume> {
        policy::authorize_write(ctx, "volume:update")?;
        self.volume(ctx, id).await?;
        self.store
            .volume_update(id, name, description, metadata, bootable)
            .await
            .map_err(Error::not_found_as(Kind::Volume, id))
    }

    /// Sets metadata items (`replace`: the whole metadata becomes `items`).
    pub async fn cinder_volume_metadata(
        &self,
        ctx: &AuthContext,
        id: &str,
        items: &BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        policy::authorize_write(ctx, "volume:update_volume_metadata")?;
        let v = self.volume(ctx, id).await?;
        let mut metadata = if replace { BTreeMap::new() } else { v.metadata };
        metadata.extend(items.iter().map(|(k, v)| (k.clone(), v.clone())));
        let v = self.store.volume_update(id, None, None, Some(&metadata), None).await?;
        Ok(v.metadata)
    }

    pub async fn cinder_volume_metadata_delete(&self, ctx: &AuthContext, id: &str, key: &str) -> Result<()> {
        policy::authorize_write(ctx, "volume:delete_volume_metadata")?;
        let mut metadata = self.volume(ctx, id).await?.metadata;
        if metadata.remove(key).is_none() {
            return Err(Error::not_found(Kind::CinderMetadata { owner: format!("Volume {id}") }, key));
        }
        self.store.volume_update(id, None, None, Some(&metadata), None).await?;
        Ok(())
    }

    /// `os-extend`: grows an available volume (an in-use one too when
    /// `in_use_ok`, Cinder 3.42).
    pub async fn cinder_volume_extend(
        &self,
        ctx: &AuthContext,
        id: &str,
        new_size: i64,
        in_use_ok: bool,
    ) -> Result<()> {
        policy::authorize_write(ctx, "volume:extend")?;
        let v = self.volume(ctx, id).await?;
        let statuses: &[&str] = if in_use_ok { &["available", "in-use"] } else { &["available"] };
        if !statuses.contains(&v.status.as_str()) {
            let expected = if in_use_ok { "'available' or 'in-use'" } else { "'available'" };
            return Err(Error::invalid(format!(
                "Invalid volume: Volume {id} status must be {expected} to extend, currently {}.",
                v.status
            )));
        }
        if new_size > MAX_SIZE_GB {
            return Err(Error::invalid(format!("Invalid input received: New size {new_size} is too large.")));
        }
        if new_size <= v.size_gb {
            return Err(Error::invalid(format!(
                "Invalid input received: New size for extend must be greater than current size. \
                 (current: {}, extended: {new_size}).",
                v.size_gb
            )));
        }
        let l = self.volume_limits(&v.project_id, &v.volume_type).await?;
        if l.per_volume_gigabytes >= 0 && new_size > l.per_volume_gigabytes {
            return Err(refused(VolumeRefusal::Quota("per_volume_gigabytes", l.per_volume_gigabytes, 0, new_size), id));
        }
        self.store
            .volume_extend(id, new_size, statuses, l.gigabytes, l.type_gigabytes)
            .await
            .map_err(Error::not_found_as(Kind::Volume, id))?
            .map_err(|r| refused(r, id))
    }

    /// `os-retype`: a volume of another type.
    pub async fn cinder_volume_retype(&self, ctx: &AuthContext, id: &str, new_type: &str) -> Result<()> {
        policy::authorize_write(ctx, "volume:retype")?;
        let v = self.volume(ctx, id).await?;
        let t = self.store.volume_type_get(new_type).await.map_err(type_missing(new_type))?;
        if t.name == v.volume_type {
            return Err(Error::invalid("Invalid input received: New volume type must be different from the original."));
        }
        self.store.volume_retype(id, &t.name).await?.map_err(|r| match r {
            VolumeRefusal::State(s) => Error::invalid(format!(
                "Invalid volume: Volume {id} status must be available or in-use, but current status is: {s}"
            )),
            other => refused(other, id),
        })
    }

    /// `revert` (3.40): back to the volume's latest snapshot, which must
    /// be available and as large as the volume (the simulated backend has
    /// no data to copy).
    pub async fn cinder_volume_revert(&self, ctx: &AuthContext, id: &str, snapshot_id: &str) -> Result<()> {
        policy::authorize_write(ctx, "volume:revert_to_snapshot")?;
        let v = self.volume(ctx, id).await?;
        let s = self.snapshot(ctx, snapshot_id).await?;
        if s.volume_id != v.id {
            return Err(Error::invalid(format!(
                "Invalid input received: Snapshot {snapshot_id} is not a snapshot of volume {id}."
            )));
        }
        let latest = self.store.snapshots_of_volume(id).await?.into_iter().max_by_key(|s| s.created_at);
        if latest.is_none_or(|l| l.id != s.id) {
            return Err(Error::invalid(format!(
                "Invalid snapshot: Snapshot {snapshot_id} is not the latest one of volume {id}."
            )));
        }
        if v.status != "available" || s.status != "available" {
            return Err(Error::invalid(format!(
                "Invalid volume: Volume {id} status must be available, but current status is: {}",
                v.status
            )));
        }
        if s.size_gb != v.size_gb {
            return Err(Error::invalid(format!(
                "Invalid volume: Volume {id}'s size ({}G) differs from its snapshot's ({}G).",
                v.size_gb, s.size_gb
            )));
        }
        Ok(())
    }

    /// `os-reset_status` (admin): a status set as given.
    pub async fn cinder_volume_reset_status(&self, ctx: &AuthContext, id: &str, status: &str) -> Result<()> {
        policy::require_admin(ctx, "volume_extension:volume_admin_actions:reset_status")?;
        self.volume(ctx, id).await?;
        Ok(self.store.volume_set_status(id, status).await?)
    }

    /// Cinder's delete (`cascade` takes the snapshots along, `force` any
    /// status, admin only); never an attached volume.
    pub async fn cinder_volume_delete(&self, ctx: &AuthContext, id: &str, cascade: bool, force: bool) -> Result<()> {
        if force {
            policy::require_admin(ctx, "volume_extension:volume_admin_actions:force_delete")?;
        } else {
            policy::authorize_write(ctx, "volume:delete")?;
        }
        self.volume(ctx, id).await?;
        self.store
            .volume_delete_cinder(id, cascade, force)
            .await
            .map_err(Error::not_found_as(Kind::Volume, id))?
            .map_err(|r| match r {
                VolumeRefusal::State(status) => Error::invalid(format!(
                    "Invalid volume: Volume status must be available or error or error_restoring or error_extending \
                     or error_managing and must not be migrating, attached, belong to a group, have snapshots, \
                     awaiting a transfer, or be disassociated from snapshots after volume transfer. (status {status})"
                )),
                other => refused(other, id),
            })?;
        self.volume_storage_release(id).await;
        Ok(())
    }

    /// The zones volumes may be made in (the hosts' zones).
    pub async fn cinder_zones(&self, _ctx: &AuthContext) -> Result<Vec<String>> {
        let mut zones: Vec<String> = self.store.host_list().await?.into_iter().map(|h| h.availability_zone).collect();
        zones.sort();
        zones.dedup();
        if zones.is_empty() {
            zones.push("nova".into());
        }
        Ok(zones)
    }

    // ---- Volume types ----

    /// The types the caller sees: public ones, and every one for an admin.
    pub async fn cinder_types(&self, ctx: &AuthContext) -> Result<Vec<VolumeType>> {
        let all = self.store.volume_types().await?;
        Ok(all.into_iter().filter(|t| t.is_public || ctx.is_admin()).collect())
    }

    /// A type by id (or name); `default` is the default type.
    pub async fn cinder_type(&self, ctx: &AuthContext, id: &str) -> Result<VolumeType> {
        let wanted = if id == "default" { DEFAULT_TYPE } else { id };
        let t = self.store.volume_type_get(wanted).await.map_err(type_missing(id))?;
        if t.is_public || ctx.is_admin() { Ok(t) } else { Err(Error::not_found(Kind::VolumeType, id)) }
    }

    pub async fn cinder_type_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        description: Option<String>,
        is_public: bool,
        extra_specs: BTreeMap<String, String>,
    ) -> Result<VolumeType> {
        policy::require_admin(ctx, "volume_extension:types_manage")?;
        let t = VolumeType {
            id: ecs_types::random::uuid().to_string(),
            name: name.to_string(),
            description,
            is_public,
            extra_specs,
        };
        if !self.store.volume_type_create(&t).await? {
            return Err(Conflict::Other(format!("Volume Type {name} already exists.")).into());
        }
        Ok(t)
    }

    pub async fn cinder_type_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: Option<String>,
        description: Option<String>,
        is_public: Option<bool>,
    ) -> Result<VolumeType> {
        policy::require_admin(ctx, "volume_extension:types_manage")?;
        let old = self.cinder_type(ctx, id).await?;
        let mut t = old.clone();
        if let Some(n) = name {
            if old.name == DEFAULT_TYPE && n != old.name {
                return Err(Error::invalid("Invalid input received: The default volume type cannot be renamed."));
            }
            t.name = n;
        }
        if description.is_some() {
            t.description = description;
        }
        if let Some(p) = is_public {
            t.is_public = p;
        }
        if !self.store.volume_type_update(&old.name, &t).await? {
            return Err(Conflict::Other(format!("Volume Type {} already exists.", t.name)).into());
        }
        Ok(t)
    }

    pub async fn cinder_type_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::require_admin(ctx, "volume_extension:types_manage")?;
        let t = self.cinder_type(ctx, id).await?;
        if t.name == DEFAULT_TYPE {
            return Err(Error::invalid("Invalid input received: The default volume type cannot be deleted."));
        }
        self.store
            .volume_type_delete(&t)
            .await
            .map_err(type_missing(id))?
            .map_err(|_| Error::invalid("Target volume type is still in use."))
    }

    /// Sets extra specs of a type (admin); `remove` deletes one key.
    pub async fn cinder_type_extra_specs(
        &self,
        ctx: &AuthContext,
        id: &str,
        set: &BTreeMap<String, String>,
        remove: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        policy::require_admin(ctx, "volume_extension:types_extra_specs:update")?;
        let mut t = self.cinder_type(ctx, id).await?;
        if let Some(key) = remove
            && t.extra_specs.remove(key).is_none()
        {
            let owner = format!("Volume Type {id}");
            return Err(Error::not_found(Kind::CinderMetadata { owner }, key));
        }
        t.extra_specs.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        let name = t.name.clone();
        self.store.volume_type_update(&name, &t).await?;
        Ok(t.extra_specs)
    }

    // ---- Snapshots ----

    /// Snapshots the caller sees (admin `all_tenants`: every project's).
    pub async fn cinder_snapshots(&self, ctx: &AuthContext, all_tenants: bool) -> Result<Vec<VolumeSnapshot>> {
        if all_tenants && ctx.is_admin() {
            return Ok(self.store.snapshot_list(None).await?);
        }
        self.snapshots(ctx).await
    }

    pub async fn cinder_snapshot_create(
        &self,
        ctx: &AuthContext,
        req: CinderSnapshotRequest,
    ) -> Result<VolumeSnapshot> {
        policy::authorize_write(ctx, "volume:create_snapshot")?;
        let volume = self.volume(ctx, &req.volume_id).await?;
        let ok = volume.status == "available" || (volume.status == "in-use" && (req.force || req.in_use_ok));
        if !ok {
            return Err(Error::invalid(format!(
                "Invalid volume: Volume {} status must be available, but current status is: {}",
                volume.id, volume.status
            )));
        }
        let snapshot = VolumeSnapshot {
            id: ecs_types::random::uuid().to_string(),
            project_id: volume.project_id.clone(),
            volume_id: volume.id.clone(),
            name: req.name,
            description: req.description,
            size_gb: volume.size_gb,
            status: "available".into(),
            created_at: ecs_types::clock::now(),
            metadata: req.metadata,
        };
        let max = self.cinder_limits(&volume.project_id).await?.get("snapshots").copied().unwrap_or(SNAPSHOTS_QUOTA);
        self.store.snapshot_create(&snapshot, max).await?.map_err(|r| refused(r, &volume.id))
    }

    pub async fn cinder_snapshot_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<VolumeSnapshot> {
        policy::authorize_write(ctx, "volume:update_snapshot")?;
        self.snapshot(ctx, id).await?;
        self.store
            .snapshot_update(id, name, description, metadata)
            .await
            .map_err(Error::not_found_as(Kind::Snapshot, id))
    }

    pub async fn cinder_snapshot_metadata(
        &self,
        ctx: &AuthContext,
        id: &str,
        items: &BTreeMap<String, String>,
        replace: bool,
        remove: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        policy::authorize_write(ctx, "volume:update_snapshot_metadata")?;
        let s = self.snapshot(ctx, id).await?;
        let mut metadata = if replace { BTreeMap::new() } else { s.metadata };
        if let Some(key) = remove
            && metadata.remove(key).is_none()
        {
            return Err(Error::not_found(Kind::CinderMetadata { owner: format!("Snapshot {id}") }, key));
        }
        metadata.extend(items.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(self.store.snapshot_update(id, None, None, Some(&metadata)).await?.metadata)
    }

    pub async fn cinder_snapshot_reset_status(&self, ctx: &AuthContext, id: &str, status: &str) -> Result<()> {
        policy::require_admin(ctx, "volume_extension:snapshot_admin_actions:reset_status")?;
        self.snapshot(ctx, id).await?;
        Ok(self.store.snapshot_set_status(id, status).await?)
    }

    // ---- Attachments (3.27) ----

    /// A Cinder attachment (by id) the caller sees, as its volume.
    pub async fn cinder_attachment(&self, ctx: &AuthContext, id: &str) -> Result<Volume> {
        let missing = || Error::not_found(Kind::CinderAttachment, id);
        let v = self.store.attachment_volume(id).await.map_err(Error::not_found_or(missing))?;
        if ctx.is_admin() || Some(v.project_id.as_str()) == ctx.project_id() { Ok(v) } else { Err(missing()) }
    }

    pub async fn cinder_attachments(&self, ctx: &AuthContext, all_tenants: bool) -> Result<Vec<Volume>> {
        let project = if all_tenants && ctx.is_admin() { None } else { Some(policy::project_of(ctx)?) };
        Ok(self.store.attached_volumes(project).await?)
    }

    /// Reserves a volume for a server (`reserved`), or with a connector
    /// starts attaching it (`attaching`): the attachment row Nova's attach
    /// makes too.
    pub async fn cinder_attachment_create(
        &self,
        ctx: &AuthContext,
        volume_id: &str,
        server_id: &str,
        connector: Option<String>,
        mode: &str,
    ) -> Result<Volume> {
        policy::authorize_write(ctx, "volume:attachment_create")?;
        let volume = self.volume(ctx, volume_id).await?;
        let server = self.server_get(ctx, server_id).await.map_err(|e| match e {
            Error::NotFound { .. } => {
                Error::invalid(format!("Invalid input received: Instance {server_id} could not be found."))
            }
            other => other,
        })?;
        if volume.attachment.is_some() || volume.status != "available" {
            return Err(Error::invalid(format!(
                "Invalid volume: Volume {volume_id} status must be available or downloading to reserve, but the \
                 current status is {}.",
                volume.status
            )));
        }
        let a = self
            .store
            .volume_attach_cinder(volume_id, &server.id, mode, connector.as_deref())
            .await?
            .map_err(|r| refused(r, volume_id))?;
        self.cinder_attachment(ctx, &a.id).await
    }

    /// Gives an attachment its connector (`attaching`).
    pub async fn cinder_attachment_update(&self, ctx: &AuthContext, id: &str, connector: String) -> Result<Volume> {
        policy::authorize_write(ctx, "volume:attachment_update")?;
        let v = self.cinder_attachment(ctx, id).await?;
        self.store.attachment_connect(id, &connector).await?.map_err(|r| refused(r, &v.id))?;
        self.cinder_attachment(ctx, id).await
    }

    /// Marks an attachment complete (3.44): the volume is `in-use`.
    pub async fn cinder_attachment_complete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "volume:attachment_complete")?;
        let v = self.cinder_attachment(ctx, id).await?;
        self.store.attachment_complete(id).await?.map_err(|r| refused(r, &v.id))
    }

    /// Ends an attachment: the volume is available again.
    pub async fn cinder_attachment_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "volume:attachment_delete")?;
        let v = self.cinder_attachment(ctx, id).await?;
        Ok(self.store.volume_release(&v.id).await?)
    }
}

/// What a project uses of a quota resource.
fn used(u: &VolumeUsage, name: &str) -> i64 {
    match name {
        "volumes" => u.volumes,
        "gigabytes" => u.gigabytes,
        "snapshots" => u.snapshots,
        _ => {
            for (prefix, pick) in [("volumes_", 0), ("gigabytes_", 1), ("snapshots_", 2)] {
                if let Some(t) = name.strip_prefix(prefix) {
                    let e = u.per_type.get(t).copied().unwrap_or_default();
                    return [e.0, e.1, e.2][pick];
                }
            }
            0
        }
    }
}
