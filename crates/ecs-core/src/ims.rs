//! Huawei IMS's private images, over the Glance image records: an image
//! of a server's system disk (the createImage snapshot task, shown as an
//! ECS job) or of a volume (made at once, shown as a finished job).

use std::collections::BTreeMap;

use ecs_hypervisor::SnapshotImage;
use ecs_store::NewTask;
use ecs_types::{AuthContext, ImageId};

use crate::compute::TaskParams;
use crate::compute::sagas::SnapshotParams;
use crate::compute::state::{self, Action};
use crate::image::snapshot_record;
use crate::{Core, Error, Kind, Result, policy};

/// Properties the IMS view reads back: where the image came from and the
/// caller's description.
pub const DATA_ORIGIN: &str = "__data_origin";
pub const DESCRIPTION: &str = "__description";
/// The task kind of an image made from a volume.
pub const VOLUME_IMAGE_TASK: &str = "createImageByVolume";

/// What a new private image is called and described as.
#[derive(Debug, Clone, Default)]
pub struct PrivateImage {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub min_ram_mb: Option<i64>,
    /// More properties (`__os_version`, …).
    pub properties: BTreeMap<String, String>,
}

/// A private image on its way: the image and the task (job) making it.
#[derive(Debug, Clone)]
pub struct ImageJob {
    pub image_id: String,
    pub task_id: String,
}

/// The OS properties of the image a new one is made from, which its
/// private image keeps (platform, version, distribution).
fn inherited(properties: &BTreeMap<String, String>) -> impl Iterator<Item = (String, String)> + '_ {
    const KEPT: &[&str] = &["os_distro", "os_version", "__platform", "__os_version", "__os_bit", "architecture"];
    properties.iter().filter(|(k, _)| KEPT.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone()))
}

fn properties_of(req: &PrivateImage, origin: String, from: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut properties: BTreeMap<String, String> = inherited(from).collect();
    properties.insert(DATA_ORIGIN.into(), origin);
    if let Some(d) = &req.description {
        properties.insert(DESCRIPTION.into(), d.clone());
    }
    properties.extend(req.properties.clone());
    properties
}

impl Core {
    /// An image of a server's system disk: createImage's snapshot task,
    /// whose job shows the image it makes.
    pub async fn ims_image_from_server(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        req: PrivateImage,
        request_id: &str,
    ) -> Result<ImageJob> {
        policy::authorize_write(ctx, Action::CreateImage.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        self.check_locked(ctx, &server, Action::CreateImage)?;
        state::check(Action::CreateImage, &server)?;
        self.require_host_for(Action::CreateImage, &server).await?;
        let properties = properties_of(&req, format!("instance,{}", server.id), &server.image_properties);
        let mut image = snapshot_record(ctx, &server, &req.name, "snapshot", properties)?;
        if let Some(ram) = req.min_ram_mb {
            image.min_ram_mb = ram;
        }
        let params = TaskParams::CreateImage(SnapshotParams { image_id: ImageId::new(&image.id) });
        let task_id = self.start_snapshot(ctx, &server, &image, Action::CreateImage, params, request_id).await?;
        if !req.tags.is_empty() {
            self.ims_tag(&image.id, &req.tags).await?;
        }
        Ok(ImageJob { image_id: image.id, task_id })
    }

    /// An image of a volume (a system disk image, `volume_id`): volumes
    /// hold no data in ecsd, so the image is made at once; its job is
    /// recorded done.
    pub async fn ims_image_from_volume(
        &self,
        ctx: &AuthContext,
        volume_id: &str,
        req: PrivateImage,
        request_id: &str,
    ) -> Result<ImageJob> {
        policy::authorize_write(ctx, "add_image")?;
        let project = policy::project_of(ctx)?.to_string();
        let volume = self.volume(ctx, volume_id).await?;
        if !matches!(volume.status.as_str(), "available" | "in-use") {
            return Err(crate::Invalid::VolumeState { id: volume.id.clone(), status: volume.status.clone() }.into());
        }
        // What the volume was made from tells its OS.
        let source = match &volume.image_id {
            Some(id) => self.store.image_get(id).await.ok(),
            None => None,
        };
        let from = source.as_ref().map(|i| i.properties.clone()).unwrap_or_default();
        let properties = properties_of(&req, format!("volume,{}", volume.id), &from);
        let image = ecs_types::Image {
            id: ecs_types::random::uuid().to_string(),
            name: req.name.clone(),
            status: "saving".into(),
            visibility: "private".into(),
            owner_project_id: Some(project.clone()),
            disk_format: "qcow2".into(),
            container_format: "bare".into(),
            min_ram_mb: req.min_ram_mb.unwrap_or(0),
            min_disk_gb: volume.size_gb,
            size_bytes: 0,
            os_type: source.as_ref().map(|i| i.os_type.clone()).filter(|t| !t.is_empty()).unwrap_or("Linux".into()),
            properties,
            created_at: ecs_types::clock::now(),
        };
        self.store.image_create(&image).await?;
        let snapshot = SnapshotImage { size_bytes: 0, properties: BTreeMap::new() };
        self.image_snapshot_done(&image.id, snapshot).await?;
        if !req.tags.is_empty() {
            self.ims_tag(&image.id, &req.tags).await?;
        }
        let params = serde_json::json!({"image_id": image.id, "volume_id": volume.id});
        let task = NewTask::done(VOLUME_IMAGE_TASK, &project, &ctx.user_id, request_id, params);
        self.store.task_insert(&task).await?;
        Ok(ImageJob { image_id: image.id, task_id: task.id })
    }

    /// Adds tags to a new image (again if its snapshot finished meanwhile).
    async fn ims_tag(&self, image_id: &str, tags: &[String]) -> Result<()> {
        for tag in tags {
            crate::glance::check_tag(tag)?;
        }
        for _ in 0..3 {
            let mut g =
                self.store.glance_image_get(image_id).await.map_err(|_| Error::not_found(Kind::Image, image_id))?;
            for tag in tags {
                if !g.tags.contains(tag) {
                    g.tags.push(tag.clone());
                }
            }
            let status = g.image.status.clone();
            if self.store.glance_image_update(&g, &status).await? {
                return Ok(());
            }
        }
        Err(Error::Conflict(crate::Conflict::Other(format!("Image {image_id} changed meanwhile; try again."))))
    }
}
