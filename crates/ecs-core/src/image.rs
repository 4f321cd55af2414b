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
        // What Nova records about the snapshot, then the caller's metadata,
        // which wins where it names the same keys (`image_type: test`).
        let mut properties = BTreeMap::from([
            ("image_type".to_string(), "snapshot".to_string()),
            ("instance_uuid".to_string(), server.id.clone()),
            ("user_id".to_string(), ctx.user_id.clone()),
        ]);
        let project = policy::project_of(ctx)?;
        if project != server.project_id {
            // An admin's snapshot of another project's server, as Nova
            // marks it.
            properties.insert("instance_owner".into(), server.project_id.clone());
        }
        properties.extend(metadata);
        let image = Image {
            id: uuid::Uuid::new_v4().to_string(),
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
            created_at: chrono::Utc::now(),
        };
        self.store.image_create(&image).await?;
        let params = TaskParams::CreateImage(SnapshotParams { image_id: ImageId::new(&image.id) });
        let task = self.task_for(ctx, &server, params, request_id);
        let from = Action::CreateImage.allowed_vm_states().unwrap_or_default();
        let transition =
            Transition { from, from_tasks: &[], task_state: Action::CreateImage.task_state(), task: Some(task) };
        if !self.store.server_transition(&server.id, &transition).await? {
            match self.store.image_delete(&image.id).await {
                // Gone already if the caller deleted it meanwhile.
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            let now = self.server_get(ctx, server_id).await?;
            return Err(state::invalid_state(Action::CreateImage, &now));
        }
        self.wake.notify();
        Ok(image.id)
    }
}
