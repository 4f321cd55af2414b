//! Images as Glance v2 shows them: the record Nova's proxy shows, plus the
//! hashes of its data, protection, tags, and the members of shared images.

use serde::{Deserialize, Serialize};

use crate::{Image, Timestamp};

/// An image with Glance's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlanceImage {
    pub image: Image,
    pub protected: bool,
    pub os_hidden: bool,
    /// MD5 of the data, hex.
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub virtual_size: Option<i64>,
    pub tags: Vec<String>,
    pub updated_at: Timestamp,
}

/// What an upload learned of an image's data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageData {
    pub size: i64,
    pub checksum: String,
    pub os_hash_algo: String,
    pub os_hash_value: String,
    pub virtual_size: Option<i64>,
}

/// A project an image is shared with, and whether it took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMember {
    pub image_id: String,
    pub member_id: String,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
