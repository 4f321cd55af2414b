//! Volumes (block storage owned by ecsd), their attachments and snapshots.

use std::collections::BTreeMap;

use crate::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub size_gb: i64,
    /// creating, available, attaching, in-use, detaching, deleting, error.
    pub status: String,
    pub volume_type: String,
    pub availability_zone: String,
    pub snapshot_id: Option<String>,
    pub created_at: Timestamp,
    pub attachment: Option<VolumeAttachment>,
    /// Cinder's volume metadata.
    pub metadata: BTreeMap<String, String>,
    pub bootable: bool,
    /// The volume this one was cloned from.
    pub source_volid: Option<String>,
    /// The image this one was made from.
    pub image_id: Option<String>,
    /// Who made it (none for volumes older than the column).
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeAttachment {
    pub id: String,
    pub volume_id: String,
    pub server_id: String,
    pub device: String,
    pub delete_on_termination: bool,
    /// `rw` or `ro` (Cinder's attach mode).
    pub attach_mode: String,
    /// The connector a Cinder attachment was given (JSON), if any.
    pub connector: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSnapshot {
    pub id: String,
    pub project_id: String,
    pub volume_id: String,
    pub name: String,
    pub description: String,
    pub size_gb: i64,
    pub status: String,
    pub created_at: Timestamp,
    pub metadata: BTreeMap<String, String>,
}

/// A volume type (Cinder's `types`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: BTreeMap<String, String>,
}
