//! Images as Nova's proxy shows them: snapshots of servers (createImage),
//! delete, and image metadata.

use std::collections::BTreeMap;

use ecs_store::{StoreError, Transition};
use ecs_types::{AuthContext, Image, ImageId};

use crate::compute::TaskParams;
use crate::compute::sagas::SnapshotParams;
use crate::compute::state::{self, Action};
use crate::{Core, Error, Forbidden, Kind, Resource, Result, policy};

/// Nova's `maxImageMeta`.
pub const IMAGE_METADATA_LIMIT: usize = 128;

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::Image, id)
}

impl Core {
    /// An image the caller may see.
    pub async fn image(&self, ctx: &AuthContext, id: &str) -> Result<Image> {
        self.images(ctx).await?.into_iter().find(|i| i.id == id).ok_or_else(|| not_found(id))
    }

    /// An image the caller may change: their project's, or any for an admin.
    async fn own_image(&self, ctx: &AuthContext, id: &str) -> Result<Image> {
        let image = self.image(ctx, id).await?;
        if ctx.is_admin() || image.owner_project_id.as_deref() == ctx.project_id() {
            Ok(image)
        } else {
            Err(Error::Forbidden(Forbidden::Other(format!("You are not authorized to change image {id}."))))
        }
    }

    pub async fn image_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        self.glance_image_delete(ctx, id).await
    }

    /// Replaces (`replace`) or merges image metadata.
    pub async fn image_metadata_set(
        &self,
        ctx: &AuthContext,
        id: &str,
        metadata: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        policy::authorize_write(ctx, "modify_image")?;
        let image = self.own_image(ctx, id).await?;
        // ecsd's own keys (where the image's files are) stay whatever the caller sends.
        let mut properties = if replace {
            image.properties.into_iter().filter(|(k, _)| k.starts_with("ecsd:")).collect()
        } else {
            image.properties
        };
        if metadata.keys().any(|k| k.starts_with("ecsd:")) {
            return Err(Error::Forbidden(Forbidden::Other("Image properties named ecsd:* are reserved.".into())));
        }
        properties.extend(metadata);
        if properties.len() > IMAGE_METADATA_LIMIT {
            return Err(Error::quota(Resource::ImageMetadata, 0, 0, 0));
        }
        self.store.image_set_properties(id, &properties).await?;
        Ok(properties)
    }

    pub async fn image_metadata_delete(&self, ctx: &AuthContext, id: &str, key: &str) -> Result<()> {
        policy::authorize_write(ctx, "modify_image")?;
        let mut image = self.own_image(ctx, id).await?;
        if key.starts_with("ecsd:") || image.properties.remove(key).is_none() {
            return Err(Error::not_found(Kind::MetadataItem, ""));
        }
        Ok(self.store.image_set_properties(id, &image.properties).await?)
    }

    /// `createImage`: a private image of the server, `saving` until the
    /// snapshot task is done. Returns the image id.
    pub async fn server_create_image(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        name: &str,
        metadata: BTreeMap<String, String>,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::CreateImage.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        self.check_locked(ctx, &server, Action::CreateImage)?;
        state::check(Action::CreateImage, &server)?;
        self.require_host_for(Action::CreateImage, &server).await?;
        // Nova counts only the caller's metadata against the limit.
        if metadata.len() > IMAGE_METADATA_LIMIT {
            return Err(Error::quota(Resource::ImageMetadata, 0, 0, 0));
        }
        let image = snapshot_record(ctx, &server, name, "snapshot", metadata)?;
        let params = TaskParams::CreateImage(SnapshotParams { image_id: ImageId::new(&image.id) });
        self.start_snapshot(ctx, &server, &image, Action::CreateImage, params, request_id).await?;
        Ok(image.id)
    }

    /// Stores the `saving` image record of a snapshot and moves the server
    /// into `action`'s task state with the task `params` that takes it, in
    /// one transition; the record goes again if the server has changed.
    pub(crate) async fn start_snapshot(
        &self,
        ctx: &AuthContext,
        server: &ecs_types::server::Server,
        image: &Image,
        action: Action,
        params: TaskParams,
        request_id: &str,
    ) -> Result<String> {
        self.store.image_create(image).await?;
        let task = self.task_for(ctx, server, params, request_id);
        let task_id = task.id.clone();
        let from = action.allowed_vm_states().unwrap_or_default();
        let transition = Transition { from, from_tasks: &[], task_state: action.task_state(), task: Some(task) };
        if !self.store.server_transition(&server.id, &transition).await? {
            match self.store.image_delete(&image.id).await {
                // Gone already if the caller deleted it meanwhile.
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            let now = self.server_get(ctx, &server.id).await?;
            return Err(state::invalid_state(action, &now));
        }
        self.wake.notify();
        Ok(task_id)
    }
}

/// The image record a snapshot of `server` fills (`saving` until then):
/// what Nova records about it (`image_type` snapshot or backup), then the
/// caller's metadata, which wins where it names the same keys.
pub(crate) fn snapshot_record(
    ctx: &AuthContext,
    server: &ecs_types::server::Server,
    name: &str,
    image_type: &str,
    metadata: BTreeMap<String, String>,
) -> Result<Image> {
    let mut properties = BTreeMap::from([
        ("image_type".to_string(), image_type.to_string()),
        ("instance_uuid".to_string(), server.id.clone()),
        ("user_id".to_string(), ctx.user_id.clone()),
    ]);
    let project = policy::project_of(ctx)?;
    if project != server.project_id {
        // An admin's snapshot of another project's server, as Nova marks it.
        properties.insert("instance_owner".into(), server.project_id.clone());
    }
    properties.extend(metadata);
    Ok(Image {
        id: ecs_types::random::uuid().to_string(),
        name: name.to_string(),
        status: "saving".into(),
        visibility: "private".into(),
        owner_project_id: Some(project.to_string()),
        disk_format: "qcow2".into(),
        container_format: "bare".into(),
        min_ram_mb: 0,
        min_disk_gb: server.flavor.disk_gb,
        size_bytes: 0,
        os_type: "Linux".into(),
        properties,
        created_at: ecs_types::clock::now(),
    })
}
