//! Images as Glance v2 manages them: create, JSON-patch updates, tags,
//! visibility and members, protection, deactivation, and image data —
//! uploaded, staged and imported, downloaded — stored as files under the
//! data directory (where the QEMU driver boots them from).
//!
//! Glance's rules live here once; the API only parses and renders.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use ecs_hypervisor::{IMAGE_FILE_PROPERTY, IMAGE_INITRD_PROPERTY, IMAGE_KERNEL_PROPERTY, SnapshotImage};
use ecs_store::StoreError;
use ecs_types::image::{GlanceImage, ImageData, ImageMember};
use ecs_types::{AuthContext, Image};
use md5::Digest;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::{Conflict, Core, Error, Forbidden, Invalid, Kind, Result, policy};

/// Glance's `disk_format` values.
pub const DISK_FORMATS: &[&str] = &["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"];
/// Glance's `container_format` values.
pub const CONTAINER_FORMATS: &[&str] = &["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];
pub const VISIBILITIES: &[&str] = &["public", "private", "shared", "community"];
pub const MEMBER_STATUSES: &[&str] = &["pending", "accepted", "rejected"];
/// Import methods ecsd offers (`GET /v2/info/import`).
pub const IMPORT_METHODS: &[&str] = &["glance-direct"];

/// Attributes the caller may never set (Glance's `_readonly_properties`).
const READ_ONLY: &[&str] = &[
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "stores",
];
/// Glance's `_reserved_properties`.
const RESERVED: &[&str] = &["location", "deleted", "deleted_at"];
/// Glance's `image_property_quota`, `image_tag_quota`, `image_member_quota`.
pub const PROPERTY_QUOTA: usize = 128;
pub const TAG_QUOTA: usize = 128;
pub const MEMBER_QUOTA: usize = 128;
/// Glance's `image_size_cap` (1 TiB).
pub const IMAGE_SIZE_CAP: u64 = 1 << 40;
/// Properties ecsd keeps for itself (where an image's files are).
const OWN_PREFIX: &str = "ecsd:";
/// Bytes of the file a simulated snapshot stores.
const SIM_SNAPSHOT_BYTES: usize = 64 * 1024;

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::Image, id)
}

fn bad(message: impl Into<String>) -> Error {
    Error::Invalid(Invalid::Other(message.into()))
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::Forbidden(Forbidden::Other(message.into()))
}

fn conflict(message: impl Into<String>) -> Error {
    Error::Conflict(Conflict::Other(message.into()))
}

/// Too many properties, tags or members (Glance's 413).
fn over_limit(limit: usize) -> Error {
    Error::QuotaExceeded {
        resource: crate::Resource::ImageMetadata,
        requested: 1,
        used: limit as i64,
        limit: limit as i64,
    }
}

/// One JSON-patch operation of `application/openstack-images-v2.1-json-patch`.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOp {
    Add(String, Value),
    Replace(String, Value),
    Remove(String),
}

/// An image as one caller sees it: with their membership, if it is shared with them.
#[derive(Debug, Clone)]
pub struct VisibleImage {
    pub image: GlanceImage,
    /// The caller's member status (when the image is shared with their project).
    pub member_status: Option<String>,
}

/// Where an image's data is, to be streamed to a caller.
#[derive(Debug, Clone)]
pub struct ImageFile {
    pub path: PathBuf,
    pub size: u64,
    pub checksum: Option<String>,
}

/// Whether `ctx` may see `image`, given the projects it is shared with.
fn visible(ctx: &AuthContext, image: &Image, member: Option<&ImageMember>) -> bool {
    ctx.is_admin()
        || matches!(image.visibility.as_str(), "public" | "community")
        || (image.owner_project_id.is_some() && image.owner_project_id.as_deref() == ctx.project_id())
        || (image.visibility == "shared" && member.is_some())
}

fn is_owner(ctx: &AuthContext, image: &Image) -> bool {
    image.owner_project_id.is_some() && image.owner_project_id.as_deref() == ctx.project_id()
}

/// Checks a custom property's name: not ecsd's own nor Glance's reserved namespace.
fn check_property_name(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 255 {
        return Err(bad(format!(
            "Provided object does not match schema 'image': '{key}' is not a valid property name"
        )));
    }
    if key.starts_with(OWN_PREFIX) || key.starts_with("os_glance") {
        return Err(forbidden(format!("Attribute '{key}' is reserved.")));
    }
    Ok(())
}

fn schema_error(detail: impl std::fmt::Display) -> Error {
    bad(format!("Provided object does not match schema 'image': {detail}"))
}

fn string_or_null<'v>(key: &str, value: &'v Value) -> Result<Option<&'v str>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(schema_error(format!("{other} is not of type 'null', 'string' (at '{key}')"))),
    }
}

fn one_of(key: &str, value: &Value, allowed: &[&str], nullable: bool) -> Result<Option<String>> {
    let s = string_or_null(key, value)?;
    match s {
        None if nullable => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        _ => Err(schema_error(format!("{value} is not one of {allowed:?} (at '{key}')"))),
    }
}

fn non_negative(key: &str, value: &Value) -> Result<i64> {
    match value.as_i64() {
        Some(n) if n >= 0 && !value.is_f64() => Ok(n),
        Some(_) => Err(schema_error(format!("{value} is less than the minimum of 0 (at '{key}')"))),
        None => Err(schema_error(format!("{value} is not of type 'integer' (at '{key}')"))),
    }
}

fn boolean(key: &str, value: &Value) -> Result<bool> {
    value.as_bool().ok_or_else(|| schema_error(format!("{value} is not of type 'boolean' (at '{key}')")))
}

fn tags_of(value: &Value) -> Result<Vec<String>> {
    let Some(items) = value.as_array() else {
        return Err(schema_error(format!("{value} is not of type 'array' (at 'tags')")));
    };
    let mut tags: Vec<String> = Vec::new();
    for item in items {
        let tag = item.as_str().ok_or_else(|| schema_error(format!("{item} is not of type 'string' (at 'tags')")))?;
        check_tag(tag)?;
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    if tags.len() > TAG_QUOTA {
        return Err(over_limit(TAG_QUOTA));
    }
    Ok(tags)
}

/// A tag: at most 255 characters (Glance's schema).
pub fn check_tag(tag: &str) -> Result<()> {
    if tag.chars().count() > 255 {
        return Err(schema_error(format!("'{tag}' is too long (at 'tags')")));
    }
    if tag.contains('\0') {
        return Err(schema_error("a tag may not hold NUL"));
    }
    Ok(())
}

/// Sets one attribute as the caller asked (create or patch); `creating`
/// allows `id`.
fn set_attribute(ctx: &AuthContext, g: &mut GlanceImage, key: &str, value: &Value) -> Result<()> {
    let i = &mut g.image;
    match key {
        "name" => {
            let name = string_or_null(key, value)?.unwrap_or("");
            if name.chars().count() > 255 {
                return Err(schema_error("the name is longer than 255 characters (at 'name')"));
            }
            if name.contains('\0') {
                return Err(schema_error("a name may not hold NUL"));
            }
            i.name = name.to_string();
        }
        "visibility" => {
            let v = one_of(key, value, VISIBILITIES, false)?.unwrap_or_default();
            if v == "public" && !ctx.is_admin() {
                return Err(Error::Forbidden(Forbidden::Policy { rule: "publicize_image".into() }));
            }
            i.visibility = v;
        }
        "disk_format" => i.disk_format = one_of(key, value, DISK_FORMATS, true)?.unwrap_or_default(),
        "container_format" => i.container_format = one_of(key, value, CONTAINER_FORMATS, true)?.unwrap_or_default(),
        "min_disk" => i.min_disk_gb = non_negative(key, value)?,
        "min_ram" => i.min_ram_mb = non_negative(key, value)?,
        "protected" => g.protected = boolean(key, value)?,
        "os_hidden" => g.os_hidden = boolean(key, value)?,
        "tags" => g.tags = tags_of(value)?,
        "owner" => {
            let owner = string_or_null(key, value)?;
            if owner != i.owner_project_id.as_deref() {
                if !ctx.is_admin() {
                    return Err(forbidden("Owner can't be updated by non admin."));
                }
                i.owner_project_id = owner.map(str::to_string);
            }
        }
        "locations" => return Err(forbidden("It's not allowed to update locations if locations are invisible.")),
        _ => {
            check_property_name(key)?;
            let Some(s) = value.as_str() else {
                return Err(schema_error(format!("{value} is not of type 'string' (at '{key}')")));
            };
            if s.contains('\0') {
                return Err(schema_error("a property may not hold NUL"));
            }
            if key == "os_type" {
                i.os_type = s.to_string();
            }
            i.properties.insert(key.to_string(), s.to_string());
            if custom_properties(&i.properties) > PROPERTY_QUOTA {
                return Err(over_limit(PROPERTY_QUOTA));
            }
        }
    }
    Ok(())
}

fn custom_properties(properties: &BTreeMap<String, String>) -> usize {
    properties.keys().filter(|k| !k.starts_with(OWN_PREFIX)).count()
}

/// Glance's base attributes: settable, never removable.
const BASE: &[&str] = &[
    "name",
    "visibility",
    "disk_format",
    "container_format",
    "min_disk",
    "min_ram",
    "protected",
    "os_hidden",
    "tags",
    "owner",
];

fn check_writable(key: &str) -> Result<()> {
    if READ_ONLY.contains(&key) {
        return Err(forbidden(format!("Attribute '{key}' is read-only.")));
    }
    if RESERVED.contains(&key) {
        return Err(forbidden(format!("Attribute '{key}' is reserved.")));
    }
    Ok(())
}

/// Streams of image data hashed as they are written: MD5 (`checksum`) and
/// SHA-512 (`os_hash_value`) each on a thread of their own, the file on a
/// third, so that an upload runs at the disk's pace rather than a hash's.
struct Pipeline {
    senders: Vec<mpsc::Sender<bytes_like::Chunk>>,
    md5: tokio::task::JoinHandle<String>,
    sha512: tokio::task::JoinHandle<String>,
    writer: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Chunks shared between the threads without copying.
mod bytes_like {
    pub type Chunk = std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>;
}

impl Pipeline {
    fn start(file: std::fs::File) -> Pipeline {
        let (md5_tx, mut md5_rx) = mpsc::channel::<bytes_like::Chunk>(16);
        let (sha_tx, mut sha_rx) = mpsc::channel::<bytes_like::Chunk>(16);
        let (file_tx, mut file_rx) = mpsc::channel::<bytes_like::Chunk>(16);
        let md5 = tokio::task::spawn_blocking(move || {
            let mut h = md5::Md5::new();
            while let Some(chunk) = md5_rx.blocking_recv() {
                h.update((*chunk).as_ref());
            }
            hex::encode(h.finalize())
        });
        let sha512 = tokio::task::spawn_blocking(move || {
            let mut h = sha2::Sha512::new();
            while let Some(chunk) = sha_rx.blocking_recv() {
                h.update((*chunk).as_ref());
            }
            hex::encode(h.finalize())
        });
        let writer = tokio::task::spawn_blocking(move || {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            while let Some(chunk) = file_rx.blocking_recv() {
                out.write_all((*chunk).as_ref())?;
            }
            out.flush()
        });
        Pipeline { senders: vec![md5_tx, sha_tx, file_tx], md5, sha512, writer }
    }

    async fn send(&self, chunk: bytes_like::Chunk) -> Result<()> {
        for tx in &self.senders {
            tx.send(chunk.clone()).await.map_err(|_| Error::internal("image writer stopped"))?;
        }
        Ok(())
    }

    async fn finish(self) -> Result<(String, String)> {
        drop(self.senders);
        let written = self.writer.await.map_err(Error::internal)?;
        written.map_err(|e| Error::internal(format!("writing image data: {e}")))?;
        let md5 = self.md5.await.map_err(Error::internal)?;
        let sha512 = self.sha512.await.map_err(Error::internal)?;
        Ok((md5, sha512))
    }
}

/// The virtual size a qcow2 header declares (bytes 24..32, big-endian).
fn qcow2_virtual_size(head: &[u8]) -> Option<i64> {
    (head.len() >= 32 && head[..4] == *b"QFI\xfb")
        .then(|| i64::from_be_bytes(head[24..32].try_into().expect("8 bytes")))
        .filter(|n| *n >= 0)
}

/// An upload (`PUT /file`) or a staging (`PUT /stage`) in progress. Unless
/// [`ImageUpload::finish`]ed, it removes its partial file and puts the image
/// back to `queued` when dropped: a body cut off midway leaves no half
/// image and no file behind.
pub struct ImageUpload {
    store: ecs_store::Store,
    image_id: String,
    partial: PathBuf,
    target: PathBuf,
    /// `saving` (upload) or `uploading` (staging).
    status: &'static str,
    pipeline: Option<Pipeline>,
    size: u64,
    head: Vec<u8>,
    done: bool,
}

impl ImageUpload {
    /// Takes the next piece of the body.
    pub async fn write(&mut self, chunk: impl AsRef<[u8]> + Send + Sync + 'static) -> Result<()> {
        let len = chunk.as_ref().len();
        self.size += len as u64;
        if self.size > IMAGE_SIZE_CAP {
            return Err(Error::QuotaExceeded {
                resource: crate::Resource::ImageMetadata,
                requested: self.size as i64,
                used: 0,
                limit: IMAGE_SIZE_CAP as i64,
            });
        }
        if self.head.len() < 32 {
            let take = (32 - self.head.len()).min(len);
            self.head.extend_from_slice(&chunk.as_ref()[..take]);
        }
        let pipeline = self.pipeline.as_ref().ok_or_else(|| Error::internal("upload already finished"))?;
        pipeline.send(std::sync::Arc::new(chunk)).await
    }

    /// The whole body arrived: the file takes its place and the image its
    /// data (active after an upload, still `uploading` after a staging).
    pub async fn finish(mut self) -> Result<()> {
        let pipeline = self.pipeline.take().ok_or_else(|| Error::internal("upload already finished"))?;
        let (checksum, sha512) = pipeline.finish().await?;
        std::fs::rename(&self.partial, &self.target).map_err(Error::internal)?;
        let data = ImageData {
            size: self.size as i64,
            checksum,
            os_hash_algo: "sha512".into(),
            os_hash_value: sha512,
            virtual_size: qcow2_virtual_size(&self.head).or(Some(self.size as i64)),
        };
        let image = match self.store.glance_image_get(&self.image_id).await {
            Ok(image) => image.image,
            Err(StoreError::NotFound) => {
                let _ = std::fs::remove_file(&self.target);
                self.done = true;
                return Err(not_found(&self.image_id));
            }
            Err(e) => {
                // Dropped unfinished: the image goes back to queued.
                let _ = std::fs::remove_file(&self.target);
                return Err(e.into());
            }
        };
        let mut properties = image.properties;
        let to = if self.status == "saving" {
            properties.insert(IMAGE_FILE_PROPERTY.into(), self.target.display().to_string());
            "active"
        } else {
            "uploading"
        };
        let stored = self.store.image_set_data(&self.image_id, self.status, to, Some(&data), &properties).await;
        self.done = true;
        match stored {
            Ok(true) => Ok(()),
            Ok(false) => {
                let _ = std::fs::remove_file(&self.target);
                Err(conflict(format!("Image {} was changed while its data was uploaded.", self.image_id)))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&self.target);
                Err(e.into())
            }
        }
    }
}

impl Drop for ImageUpload {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The threads stop when their senders go; the partial file goes at
        // once (unlinked even while the writer thread still holds it open).
        self.pipeline.take();
        let _ = std::fs::remove_file(&self.partial);
        let (store, id, status) = (self.store.clone(), self.image_id.clone(), self.status);
        let cleanup = async move {
            if let Err(e) = store.image_transition(&id, status, "queued").await {
                tracing::warn!(image = %id, error = %e, "could not put an image back to queued");
            }
            tracing::info!(image = %id, "image upload cut off: partial data removed, image queued again");
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(cleanup);
            }
            Err(_) => tracing::warn!(image = %self.image_id, "no runtime to put an image back to queued"),
        }
    }
}

/// MD5, SHA-512 and size of a file, computed on a blocking thread.
async fn hash_file(path: PathBuf) -> Result<ImageData> {
    tokio::task::spawn_blocking(move || -> std::io::Result<ImageData> {
        use std::io::Read;
        let mut f = std::fs::File::open(&path)?;
        let (mut md5, mut sha) = (md5::Md5::new(), sha2::Sha512::new());
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        let mut head = Vec::new();
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if head.is_empty() {
                head.extend_from_slice(&buf[..n.min(32)]);
            }
            md5.update(&buf[..n]);
            sha.update(&buf[..n]);
            size += n as u64;
        }
        Ok(ImageData {
            size: size as i64,
            checksum: hex::encode(md5.finalize()),
            os_hash_algo: "sha512".into(),
            os_hash_value: hex::encode(sha.finalize()),
            virtual_size: qcow2_virtual_size(&head).or(Some(size as i64)),
        })
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)
}

/// Hashes an image file (for `ecsd image import`).
pub async fn image_file_data(path: &Path) -> Result<ImageData> {
    hash_file(path.to_path_buf()).await
}

impl Core {
    /// Where image data lives.
    fn images_dir(&self) -> Result<PathBuf> {
        let dir = self.config.images_dir.clone().ok_or(Error::Unsupported)?;
        std::fs::create_dir_all(dir.join("staging")).map_err(Error::internal)?;
        Ok(dir)
    }

    /// The images the caller may see, with their memberships.
    pub async fn glance_images(&self, ctx: &AuthContext) -> Result<Vec<VisibleImage>> {
        let memberships: HashMap<String, ImageMember> = match ctx.project_id() {
            Some(project) => {
                self.store.image_memberships(project).await?.into_iter().map(|m| (m.image_id.clone(), m)).collect()
            }
            None => HashMap::new(),
        };
        Ok(self
            .store
            .glance_image_list()
            .await?
            .into_iter()
            .filter_map(|g| {
                let member = memberships.get(&g.image.id);
                visible(ctx, &g.image, member)
                    .then(|| VisibleImage { member_status: member.map(|m| m.status.clone()), image: g })
            })
            .collect())
    }

    /// An image the caller may see (404 otherwise).
    pub async fn glance_image(&self, ctx: &AuthContext, id: &str) -> Result<GlanceImage> {
        let g = self.store.glance_image_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        let member = match ctx.project_id() {
            Some(p) if g.image.visibility == "shared" => {
                self.store.image_members(id).await?.into_iter().find(|m| m.member_id == p)
            }
            _ => None,
        };
        if !visible(ctx, &g.image, member.as_ref()) {
            return Err(not_found(id));
        }
        Ok(g)
    }

    /// Whether a project may boot from an image (Nova's check through Glance).
    pub(crate) async fn image_visible_to(&self, ctx: &AuthContext, project_id: &str, image: &Image) -> Result<bool> {
        if ctx.is_admin()
            || matches!(image.visibility.as_str(), "public" | "community")
            || image.owner_project_id.as_deref() == Some(project_id)
        {
            return Ok(true);
        }
        if image.visibility != "shared" {
            return Ok(false);
        }
        Ok(self.store.image_members(&image.id).await?.iter().any(|m| m.member_id == project_id))
    }

    /// An image the caller may change: their project's, or any for an admin.
    /// Others' visible images answer 403, as Glance does.
    async fn glance_own_image(&self, ctx: &AuthContext, id: &str, rule: &str) -> Result<GlanceImage> {
        policy::authorize_write(ctx, rule)?;
        let g = self.glance_image(ctx, id).await?;
        if ctx.is_admin() || is_owner(ctx, &g.image) {
            Ok(g)
        } else {
            Err(Error::Forbidden(Forbidden::Policy { rule: rule.to_string() }))
        }
    }

    /// `POST /v2/images`: a `queued` image without data.
    pub async fn glance_image_create(&self, ctx: &AuthContext, body: &Map<String, Value>) -> Result<GlanceImage> {
        policy::authorize_write(ctx, "add_image")?;
        let project = policy::project_of(ctx)?.to_string();
        let now = ecs_types::clock::now();
        let mut g = GlanceImage {
            image: Image {
                id: ecs_types::random::uuid().to_string(),
                name: String::new(),
                status: "queued".into(),
                visibility: "shared".into(),
                owner_project_id: Some(project),
                disk_format: String::new(),
                container_format: String::new(),
                min_ram_mb: 0,
                min_disk_gb: 0,
                size_bytes: 0,
                os_type: String::new(),
                properties: BTreeMap::new(),
                created_at: now,
            },
            protected: false,
            os_hidden: false,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            virtual_size: None,
            tags: Vec::new(),
            updated_at: now,
        };
        for (key, value) in body {
            if key == "id" {
                let id =
                    value.as_str().ok_or_else(|| schema_error(format!("{value} is not of type 'string' (at 'id')")))?;
                let parsed = uuid::Uuid::parse_str(id)
                    .map_err(|_| schema_error(format!("'{id}' does not match '^([0-9a-fA-F]){{8}}-([0-9a-fA-F]){{4}}-([0-9a-fA-F]){{4}}-([0-9a-fA-F]){{4}}-([0-9a-fA-F]){{12}}$' (at 'id')")))?;
                g.image.id = parsed.hyphenated().to_string();
                continue;
            }
            check_writable(key)?;
            set_attribute(ctx, &mut g, key, value)?;
        }
        match self.store.glance_image_create(&g).await {
            Ok(()) => Ok(g),
            Err(StoreError::Conflict(_)) => {
                Err(conflict(format!("Image with identifier {} already exists!", g.image.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /v2/images/{id}`: JSON-patch operations, as Glance applies them.
    pub async fn glance_image_patch(&self, ctx: &AuthContext, id: &str, ops: &[PatchOp]) -> Result<GlanceImage> {
        let mut g = self.glance_own_image(ctx, id, "modify_image").await?;
        let status = g.image.status.clone();
        if matches!(status.as_str(), "killed" | "deleted" | "pending_delete") {
            return Err(forbidden(format!("Image {id} is in status {status} and cannot be changed.")));
        }
        for op in ops {
            let key = match op {
                PatchOp::Add(k, _) | PatchOp::Replace(k, _) | PatchOp::Remove(k) => k.as_str(),
            };
            check_writable(key)?;
            if matches!(key, "disk_format" | "container_format")
                && status != "queued"
                && !matches!(op, PatchOp::Remove(_))
            {
                let current = if key == "disk_format" { &g.image.disk_format } else { &g.image.container_format };
                let same = match op {
                    PatchOp::Add(_, v) | PatchOp::Replace(_, v) => v.as_str() == Some(current.as_str()),
                    PatchOp::Remove(_) => false,
                };
                if !same {
                    return Err(forbidden(format!("Attribute {key} can be only replaced for a queued image.")));
                }
            }
            match op {
                PatchOp::Add(key, value) => set_attribute(ctx, &mut g, key, value)?,
                PatchOp::Replace(key, value) => {
                    if !BASE.contains(&key.as_str()) && key != "locations" && !g.image.properties.contains_key(key) {
                        check_property_name(key)?;
                        return Err(conflict(format!("Property {key} does not exist.")));
                    }
                    set_attribute(ctx, &mut g, key, value)?
                }
                PatchOp::Remove(key) => {
                    if BASE.contains(&key.as_str()) {
                        return Err(forbidden(format!("Property {key} may not be removed.")));
                    }
                    if key == "locations" {
                        return Err(forbidden("It's not allowed to remove locations if locations are invisible."));
                    }
                    check_property_name(key)?;
                    if g.image.properties.remove(key).is_none() {
                        return Err(conflict(format!("Property {key} does not exist.")));
                    }
                }
            }
        }
        g.updated_at = ecs_types::clock::now();
        if !self.store.glance_image_update(&g, &status).await.map_err(Error::not_found_or(|| not_found(id)))? {
            return Err(conflict(format!("Image {id} changed meanwhile; try again.")));
        }
        self.glance_image(ctx, id).await
    }

    /// `PUT /v2/images/{id}/tags/{tag}` (`add`) and `DELETE` (`!add`).
    pub async fn glance_image_tag(&self, ctx: &AuthContext, id: &str, tag: &str, add: bool) -> Result<()> {
        let mut g = self.glance_own_image(ctx, id, "modify_image").await?;
        check_tag(tag)?;
        let has = g.tags.iter().any(|t| t == tag);
        if add {
            if has {
                return Ok(());
            }
            if g.tags.len() >= TAG_QUOTA {
                return Err(over_limit(TAG_QUOTA));
            }
            g.tags.push(tag.to_string());
        } else {
            if !has {
                return Err(Error::not_found(Kind::Tag, tag));
            }
            g.tags.retain(|t| t != tag);
        }
        g.updated_at = ecs_types::clock::now();
        let status = g.image.status.clone();
        if !self.store.glance_image_update(&g, &status).await.map_err(Error::not_found_or(|| not_found(id)))? {
            return Err(conflict(format!("Image {id} changed meanwhile; try again.")));
        }
        Ok(())
    }

    /// `DELETE /v2/images/{id}` (and Nova's): refused while protected; the
    /// image's files go with it (unless a server still boots from them).
    pub async fn glance_image_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        let g = self.glance_own_image(ctx, id, "delete_image").await?;
        if g.protected {
            return Err(forbidden(format!("Image {id} is protected and cannot be deleted.")));
        }
        self.store.image_delete(id).await.map_err(Error::not_found_as(Kind::Image, id))?;
        self.remove_image_files(&g.image).await;
        Ok(())
    }

    /// Removes the files of a deleted image that lie in the images
    /// directory, unless a server's disk is still backed by them (as Nova
    /// keeps its image cache).
    async fn remove_image_files(&self, image: &Image) {
        let Ok(dir) = self.images_dir() else { return };
        let _ = std::fs::remove_file(dir.join("staging").join(&image.id));
        let q = ecs_store::ServerListQuery { image_id: Some(image.id.clone()), ..Default::default() };
        match self.store.server_list(&q).await {
            Ok(servers) if servers.is_empty() => {}
            Ok(_) => {
                tracing::info!(image = %image.id, "image deleted; its file stays while servers boot from it");
                return;
            }
            Err(e) => {
                tracing::warn!(image = %image.id, error = %e, "image files kept");
                return;
            }
        }
        for key in [IMAGE_FILE_PROPERTY, IMAGE_KERNEL_PROPERTY, IMAGE_INITRD_PROPERTY] {
            if let Some(path) = image.properties.get(key)
                && within(&dir, Path::new(path))
            {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// `deactivate` (`active` → `deactivated`) and `reactivate` (back).
    pub async fn glance_image_activation(&self, ctx: &AuthContext, id: &str, deactivate: bool) -> Result<()> {
        let rule = if deactivate { "deactivate" } else { "reactivate" };
        let g = self.glance_own_image(ctx, id, rule).await?;
        let (from, to) = if deactivate { ("active", "deactivated") } else { ("deactivated", "active") };
        if g.image.status == to {
            return Ok(());
        }
        if g.image.status != from || !self.store.image_transition(id, from, to).await? {
            return Err(forbidden(format!("Not allowed to {rule} image in status '{}'", g.image.status)));
        }
        Ok(())
    }

    /// Whether the caller may change the image under `rule` (for refusals
    /// of a request's form, which must not hide a policy refusal).
    pub async fn glance_image_changeable(&self, ctx: &AuthContext, id: &str, rule: &str) -> Result<()> {
        self.glance_own_image(ctx, id, rule).await.map(drop)
    }

    /// Starts `PUT /v2/images/{id}/file` (`stage` false: `queued` → `saving`)
    /// or `PUT /v2/images/{id}/stage` (`queued` → `uploading`).
    pub async fn glance_upload(&self, ctx: &AuthContext, id: &str, stage: bool) -> Result<ImageUpload> {
        let g = self.glance_own_image(ctx, id, "upload_image").await?;
        let (to, verb) = if stage { ("uploading", "stage") } else { ("saving", "upload") };
        if g.image.status != "queued" {
            return Err(conflict(format!(
                "Image status transition from {} to {to} is not allowed; an image's data is {verb}ed once.",
                g.image.status
            )));
        }
        if !stage && (g.image.disk_format.is_empty() || g.image.container_format.is_empty()) {
            return Err(bad("Properties disk_format, container_format must be set prior to saving data."));
        }
        let dir = self.images_dir()?;
        if !self.store.image_transition(id, "queued", to).await? {
            let now = self.store.glance_image_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
            return Err(conflict(format!("Image status transition from {} to {to} is not allowed", now.image.status)));
        }
        let (partial, target) = if stage {
            (dir.join("staging").join(format!("{id}.partial")), dir.join("staging").join(id))
        } else {
            let format = if g.image.disk_format.is_empty() { "raw" } else { &g.image.disk_format };
            (dir.join(format!("{id}.{format}.partial")), dir.join(format!("{id}.{format}")))
        };
        let file = match std::fs::File::create(&partial) {
            Ok(f) => f,
            Err(e) => {
                let _ = self.store.image_transition(id, to, "queued").await;
                return Err(Error::internal(format!("creating {}: {e}", partial.display())));
            }
        };
        Ok(ImageUpload {
            store: self.store.clone(),
            image_id: id.to_string(),
            partial,
            target,
            status: to,
            pipeline: Some(Pipeline::start(file)),
            size: 0,
            head: Vec::new(),
            done: false,
        })
    }

    /// `POST /v2/images/{id}/import` with `glance-direct`: the staged data
    /// becomes the image's (`uploading` → `importing` → `active`).
    pub async fn glance_import(&self, ctx: &AuthContext, id: &str, method: &str) -> Result<()> {
        let g = self.glance_own_image(ctx, id, "add_image").await?;
        if !IMPORT_METHODS.contains(&method) {
            return Err(bad(format!("Import method {method} is not supported.")));
        }
        if g.image.status != "uploading" {
            return Err(conflict("Image needs to be staged before 'glance-direct' method can be used"));
        }
        if g.image.disk_format.is_empty() || g.image.container_format.is_empty() {
            return Err(bad("Properties disk_format, container_format must be set prior to importing data."));
        }
        let dir = self.images_dir()?;
        if !self.store.image_transition(id, "uploading", "importing").await? {
            return Err(conflict("Image needs to be staged before 'glance-direct' method can be used"));
        }
        let staged = dir.join("staging").join(id);
        let target = dir.join(format!("{id}.{}", g.image.disk_format));
        if let Err(e) = std::fs::rename(&staged, &target) {
            let _ = self.store.image_transition(id, "importing", "queued").await;
            return Err(Error::internal(format!("importing {}: {e}", staged.display())));
        }
        let g = self.store.glance_image_get(id).await?;
        let data = ImageData {
            size: g.image.size_bytes,
            checksum: g.checksum.unwrap_or_default(),
            os_hash_algo: g.os_hash_algo.unwrap_or_else(|| "sha512".into()),
            os_hash_value: g.os_hash_value.unwrap_or_default(),
            virtual_size: g.virtual_size,
        };
        let mut properties = g.image.properties;
        properties.insert(IMAGE_FILE_PROPERTY.into(), target.display().to_string());
        if !self.store.image_set_data(id, "importing", "active", Some(&data), &properties).await? {
            let _ = std::fs::remove_file(&target);
            return Err(conflict(format!("Image {id} changed while it was imported.")));
        }
        Ok(())
    }

    /// `GET /v2/images/{id}/file`: where the data is (`None`: no data, 204).
    pub async fn glance_image_file(&self, ctx: &AuthContext, id: &str) -> Result<Option<ImageFile>> {
        let g = self.glance_image(ctx, id).await?;
        if g.image.status == "deactivated" && !ctx.is_admin() {
            return Err(forbidden("The requested image has been deactivated. Image data download is forbidden."));
        }
        if g.image.status != "active" && g.image.status != "deactivated" {
            return Ok(None);
        }
        let Some(path) = g.image.properties.get(IMAGE_FILE_PROPERTY) else { return Ok(None) };
        let Ok(dir) = self.images_dir() else { return Ok(None) };
        let path = PathBuf::from(path);
        if !within(&dir, &path) {
            return Ok(None);
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            tracing::warn!(image = id, path = %path.display(), "image file missing");
            return Ok(None);
        };
        Ok(Some(ImageFile { path, size: meta.len(), checksum: g.checksum }))
    }

    /// Records a finished snapshot's data: the driver's file (hashed), or for
    /// a simulated host a small file of its own, so that the size shown is
    /// the size downloaded.
    pub(crate) async fn image_snapshot_done(&self, image_id: &str, snapshot: SnapshotImage) -> Result<()> {
        let image = self.store.image_get(image_id).await.map_err(Error::not_found_or(|| not_found(image_id)))?;
        let mut properties = image.properties;
        properties.extend(snapshot.properties);
        let file = match properties.get(IMAGE_FILE_PROPERTY) {
            Some(path) => Some(PathBuf::from(path)),
            None => match self.images_dir() {
                Ok(dir) => {
                    let path = dir.join(format!("{image_id}.raw"));
                    let mut content = format!("ecsd simulated snapshot {image_id}\n").into_bytes();
                    content.resize(SIM_SNAPSHOT_BYTES, 0);
                    std::fs::write(&path, content).map_err(Error::internal)?;
                    properties.insert(IMAGE_FILE_PROPERTY.into(), path.display().to_string());
                    Some(path)
                }
                Err(_) => None,
            },
        };
        let data = match &file {
            Some(path) => Some(hash_file(path.clone()).await?),
            None => None,
        };
        let data = data.unwrap_or(ImageData { size: snapshot.size_bytes as i64, ..Default::default() });
        let stored = self.store.image_set_data(image_id, "saving", "active", Some(&data), &properties).await?;
        if !stored {
            // Deleted (or changed) meanwhile: its file is nobody's.
            if let (Some(path), Ok(dir)) = (&file, self.images_dir())
                && within(&dir, path)
            {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }

    /// `POST /v2/images/{id}/members`.
    pub async fn image_member_create(&self, ctx: &AuthContext, id: &str, member_id: &str) -> Result<ImageMember> {
        let g = self.glance_own_image(ctx, id, "add_member").await?;
        if g.image.visibility != "shared" {
            return Err(forbidden("Only shared images have members."));
        }
        if member_id.is_empty() || member_id.chars().count() > 255 || member_id.contains('\0') {
            return Err(bad(format!("Invalid member id: {member_id:?}")));
        }
        let members = self.store.image_members(id).await?;
        if members.iter().any(|m| m.member_id == member_id) {
            return Err(conflict(format!("Member {member_id} is duplicated for image {id}")));
        }
        if members.len() >= MEMBER_QUOTA {
            return Err(over_limit(MEMBER_QUOTA));
        }
        let now = ecs_types::clock::now();
        let m = ImageMember {
            image_id: id.to_string(),
            member_id: member_id.to_string(),
            status: "pending".into(),
            created_at: now,
            updated_at: now,
        };
        match self.store.image_member_add(&m).await {
            Ok(()) => Ok(m),
            Err(StoreError::Conflict(_)) => Err(conflict(format!("Member {member_id} is duplicated for image {id}"))),
            Err(StoreError::NotFound) => Err(not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /v2/images/{id}/members`: all of them for the owner, the
    /// caller's own membership for a member.
    pub async fn image_members(&self, ctx: &AuthContext, id: &str) -> Result<Vec<ImageMember>> {
        let g = self.glance_image(ctx, id).await?;
        if g.image.visibility != "shared" {
            return Err(forbidden("Only shared images have members."));
        }
        let members = self.store.image_members(id).await?;
        if ctx.is_admin() || is_owner(ctx, &g.image) {
            return Ok(members);
        }
        Ok(members.into_iter().filter(|m| Some(m.member_id.as_str()) == ctx.project_id()).collect())
    }

    pub async fn image_member(&self, ctx: &AuthContext, id: &str, member_id: &str) -> Result<ImageMember> {
        self.image_members(ctx, id)
            .await?
            .into_iter()
            .find(|m| m.member_id == member_id)
            .ok_or_else(|| Error::not_found(Kind::ImageMember { image_id: id.to_string() }, member_id))
    }

    /// `PUT /v2/images/{id}/members/{member}`: the member accepts, rejects
    /// or defers a share; only the member may.
    pub async fn image_member_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        member_id: &str,
        status: &str,
    ) -> Result<ImageMember> {
        policy::authorize_write(ctx, "modify_member")?;
        let current = self.image_member(ctx, id, member_id).await?;
        if ctx.project_id() != Some(member_id) {
            return Err(forbidden("You are not permitted to modify 'status' on this image member."));
        }
        if !MEMBER_STATUSES.contains(&status) {
            return Err(bad(format!("Invalid status: {status}")));
        }
        self.store
            .image_member_set_status(id, member_id, status)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::ImageMember { image_id: id.into() }, member_id)))?;
        Ok(ImageMember { status: status.to_string(), updated_at: ecs_types::clock::now(), ..current })
    }

    pub async fn image_member_delete(&self, ctx: &AuthContext, id: &str, member_id: &str) -> Result<()> {
        let g = self.glance_own_image(ctx, id, "delete_member").await?;
        if g.image.visibility != "shared" {
            return Err(forbidden("Only shared images have members."));
        }
        self.store
            .image_member_delete(id, member_id)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::ImageMember { image_id: id.into() }, member_id)))
    }
}

/// Whether `path` lies inside `dir` (both resolved): files elsewhere are
/// never served nor removed, whatever an image's properties say.
fn within(dir: &Path, path: &Path) -> bool {
    match (dir.canonicalize(), path.canonicalize()) {
        (Ok(dir), Ok(path)) => path.starts_with(dir),
        _ => false,
    }
}
