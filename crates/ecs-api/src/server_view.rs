//! Pieces of a server's rendering that the Nova and ECS-native dialects share.

use ecs_types::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha224};

pub fn iso(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Nova's usage timestamps carry microseconds and no zone.
pub fn usage_time(t: Option<Timestamp>) -> Value {
    t.map(|t| json!(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())).unwrap_or(Value::Null)
}

/// `hostId`: a hash of project and host, so that a project can tell
/// whether two of its servers share a host without learning the host.
pub fn host_id(project_id: &str, host: Option<&str>) -> String {
    match host {
        Some(h) => hex::encode(Sha224::digest(format!("{project_id}{h}").as_bytes())),
        None => String::new(),
    }
}
