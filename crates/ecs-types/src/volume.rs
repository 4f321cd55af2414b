//! Volumes (block storage owned by ecsd), their attachments and snapshots.

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeAttachment {
    pub id: String,
    pub volume_id: String,
    pub server_id: String,
    pub device: String,
    pub delete_on_termination: bool,
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
}
