//! How Glance shows images and members, and its schemas.

use ecs_core::glance::{CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES};
use ecs_types::Timestamp;
use ecs_types::image::{GlanceImage, ImageMember};
use serde_json::{Value, json};

fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn text_or_null(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { json!(s) }
}

/// An image: Glance's base attributes, then its custom properties at the
/// top level (ecsd's own `ecsd:*` ones, naming files, stay hidden).
pub(super) fn image(g: &GlanceImage) -> Value {
    let i = &g.image;
    let has_data =
        g.checksum.is_some() || !matches!(i.status.as_str(), "queued" | "saving" | "uploading" | "importing");
    let mut v = json!({
        "id": i.id, "name": text_or_null(&i.name), "status": i.status, "visibility": i.visibility,
        "protected": g.protected, "os_hidden": g.os_hidden, "checksum": g.checksum,
        "os_hash_algo": g.os_hash_algo, "os_hash_value": g.os_hash_value,
        "min_ram": i.min_ram_mb, "min_disk": i.min_disk_gb, "owner": i.owner_project_id,
        "size": if has_data { json!(i.size_bytes) } else { Value::Null },
        "virtual_size": g.virtual_size,
        "container_format": text_or_null(&i.container_format), "disk_format": text_or_null(&i.disk_format),
        "created_at": time(i.created_at), "updated_at": time(g.updated_at), "tags": g.tags,
        "self": format!("/v2/images/{}", i.id), "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image",
    });
    if !i.os_type.is_empty() {
        v["os_type"] = json!(i.os_type);
    }
    if g.checksum.is_some() {
        v["stores"] = json!("file");
    }
    for (key, value) in &i.properties {
        if !key.starts_with("ecsd:") && v.get(key).is_none() {
            v[key] = json!(value);
        }
    }
    v
}

pub(super) fn member(m: &ImageMember) -> Value {
    json!({
        "created_at": time(m.created_at), "updated_at": time(m.updated_at), "image_id": m.image_id,
        "member_id": m.member_id, "status": m.status, "schema": "/v2/schemas/member",
    })
}

fn nullable_enum(values: &[&str]) -> Value {
    let mut all: Vec<Value> = vec![Value::Null];
    all.extend(values.iter().map(|v| json!(v)));
    json!({"type": ["null", "string"], "enum": all})
}

pub(super) fn image_schema() -> Value {
    let read_only = |t: Value, description: &str| json!({"type": t, "readOnly": true, "description": description});
    json!({
        "name": "image",
        "additionalProperties": {"type": "string"},
        "properties": {
            "id": {"type": "string", "description": "An identifier for the image",
                "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
            "name": {"type": ["null", "string"], "maxLength": 255, "description": "Descriptive name for the image"},
            "status": read_only(json!("string"), "Status of the image"),
            "visibility": {"type": "string", "enum": VISIBILITIES, "description": "Scope of image accessibility"},
            "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
            "os_hidden": {"type": "boolean", "description": "If true, image will not appear in default image list response."},
            "checksum": read_only(json!(["null", "string"]), "md5 hash of image contents."),
            "os_hash_algo": read_only(json!(["null", "string"]), "Algorithm to calculate the os_hash_value"),
            "os_hash_value": read_only(json!(["null", "string"]), "Hexdigest of the image contents using the algorithm specified by the os_hash_algo"),
            "owner": {"type": ["null", "string"], "maxLength": 255, "description": "Owner of the image"},
            "size": read_only(json!(["null", "integer"]), "Size of image file in bytes"),
            "virtual_size": read_only(json!(["null", "integer"]), "Virtual size of image in bytes"),
            "container_format": nullable_enum(CONTAINER_FORMATS),
            "disk_format": nullable_enum(DISK_FORMATS),
            "created_at": read_only(json!("string"), "Date and time of image registration"),
            "updated_at": read_only(json!("string"), "Date and time of the last image modification"),
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}, "description": "List of strings related to the image"},
            "direct_url": read_only(json!("string"), "URL to access the image file kept in external store"),
            "min_ram": {"type": "integer", "minimum": 0, "description": "Amount of ram (in MB) required to boot image."},
            "min_disk": {"type": "integer", "minimum": 0, "description": "Amount of disk space (in GB) required to boot image."},
            "self": read_only(json!("string"), "An image self url"),
            "file": read_only(json!("string"), "An image file url"),
            "stores": read_only(json!("string"), "Store in which image data resides."),
            "schema": read_only(json!("string"), "An image schema url"),
            "locations": {"type": "array", "items": {"type": "object"}, "description": "A set of URLs to access the image file kept in external store"},
        },
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}],
    })
}

pub(super) fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "image_id": {"type": "string", "description": "An identifier for the image"},
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "schema": {"type": "string", "readOnly": true},
            "status": {"type": "string", "enum": ["pending", "accepted", "rejected"], "description": "The status of this image member"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
        },
    })
}
