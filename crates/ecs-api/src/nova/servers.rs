//! `/servers`: create, list, show, update, delete, actions and instance
//! actions, rendered per microversion as Nova renders them.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ecs_core::compute::server::{
    CreateRequest, InjectedFile, InstanceAction, MAX_USER_DATA_BYTES, Naming, NetworkChoice, NetworkRequest,
};
use ecs_core::compute::state::Action;
use ecs_store::{ServerEdit, ServerListQuery, ServerSortKey};
use ecs_types::Timestamp;
use ecs_types::server::{BlockDevice, Server, VmState, vm_states_for_status};
use serde_json::{Map, Value, json};

use super::lifecycle::{accepted, no_args};
use super::validate::{self, QueryParams, invalid, invalid_query};
use super::{ApiVersion, NovaBody, NovaCall, NovaError};
use crate::AppState;
use crate::request_id::RequestId;
use crate::server_view::{host_id, iso, usage_time};

type Result<T> = std::result::Result<T, NovaError>;

/// Nova's `[api] max_limit`.
const MAX_LIMIT: i64 = 1000;

fn addresses(s: &Server) -> Value {
    let mut out = Map::new();
    for p in &s.ports {
        let entry = json!({
            "version": if p.address.contains(':') { 6 } else { 4 },
            "addr": p.address,
            "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": p.mac,
        });
        let list = out.entry(p.network_name.clone()).or_insert_with(|| json!([])).as_array_mut().expect("array");
        list.push(entry);
        for (_, address) in s.floating_ips.iter().filter(|(port, _)| port == &p.id) {
            list.push(json!({
                "version": 4,
                "addr": address,
                "OS-EXT-IPS:type": "floating",
                "OS-EXT-IPS-MAC:mac_addr": p.mac,
            }));
        }
    }
    Value::Object(out)
}

fn bookmark(call: &NovaCall, collection: &str, id: &str) -> Value {
    let links = call.links.resource(collection, id);
    json!([links[1].clone()])
}

/// A server in the list (`GET /servers`): id, name, links.
fn brief(call: &NovaCall, s: &Server) -> Value {
    json!({"id": s.id, "name": s.name, "links": call.links.resource("servers", &s.id)})
}

/// The full server at the request's microversion.
pub(super) fn detail(call: &NovaCall, s: &Server) -> Value {
    let v = call.version;
    let admin = call.ctx.is_admin();
    let status = s.status();
    let image = match &s.image_id {
        Some(id) if v.at_least(98) => {
            json!({"id": id, "links": bookmark(call, "images", id), "properties": s.image_properties})
        }
        Some(id) => json!({"id": id, "links": bookmark(call, "images", id)}),
        None => json!(""),
    };
    let flavor = if v.at_least(47) {
        let f = &s.flavor;
        json!({
            "vcpus": f.vcpus, "ram": f.ram_mb, "disk": f.disk_gb, "ephemeral": f.ephemeral_gb,
            "swap": f.swap_mb, "original_name": f.name, "extra_specs": f.extra_specs,
        })
    } else {
        json!({"id": s.flavor.id, "links": bookmark(call, "flavors", &s.flavor.id)})
    };
    let mut out = json!({
        "id": s.id,
        "name": s.name,
        "status": status,
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": s.metadata,
        "hostId": host_id(&s.project_id, s.host.as_deref()),
        "image": image,
        "flavor": flavor,
        "created": iso(s.created_at),
        "updated": iso(s.updated_at),
        "addresses": addresses(s),
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "links": call.links.resource("servers", &s.id),
        "OS-DCF:diskConfig": s.disk_config,
        "OS-EXT-AZ:availability_zone": s.availability_zone.clone().unwrap_or_default(),
        "config_drive": if s.config_drive { "True" } else { "" },
        "key_name": s.key_name,
        "OS-SRV-USG:launched_at": usage_time(s.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(s.terminated_at),
        "OS-EXT-STS:task_state": s.task_state.map(|t| t.as_str()),
        "OS-EXT-STS:vm_state": s.vm_state.as_str(),
        "OS-EXT-STS:power_state": s.power_state.code(),
        "os-extended-volumes:volumes_attached": s.volumes.iter().map(|(id, dot)| {
            if v.at_least(3) { json!({"id": id, "delete_on_termination": dot}) } else { json!({"id": id}) }
        }).collect::<Vec<_>>(),
    });
    // Nova shows the key only for a server in some group.
    if !s.security_groups.is_empty() {
        out["security_groups"] = s.security_groups.iter().map(|n| json!({"name": n})).collect();
    }
    if matches!(status, "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING") {
        // Nova's drivers do not report progress: it stays 0.
        out["progress"] = json!(0);
    }
    if admin {
        out["OS-EXT-SRV-ATTR:host"] = json!(s.host);
        out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(s.host);
        out["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &s.id[..8]));
        if v.at_least(3) {
            out["OS-EXT-SRV-ATTR:reservation_id"] = json!(s.reservation_id);
            out["OS-EXT-SRV-ATTR:launch_index"] = json!(s.launch_index);
            out["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
            out["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
            out["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
            out["OS-EXT-SRV-ATTR:user_data"] = json!(s.user_data);
        }
    }
    if (admin && v.at_least(3)) || v.at_least(90) {
        out["OS-EXT-SRV-ATTR:hostname"] = json!(s.hostname);
    }
    if matches!(status, "ERROR" | "DELETED")
        && let Some(f) = &s.fault
    {
        let mut fault = json!({"code": f.code, "created": iso(f.created), "message": f.message});
        if admin || f.code != 500 {
            fault["details"] = json!(f.details);
        }
        out["fault"] = fault;
    }
    if v.at_least(9) {
        out["locked"] = json!(s.locked());
    }
    if v.at_least(16) && admin {
        // What the views that know no better show; list and show put the
        // host's real status here (`with_host_status`).
        out["host_status"] = json!(if s.host.is_some() { "UP" } else { "" });
    }
    if v.at_least(19) {
        out["description"] = json!(s.description);
    }
    if v.at_least(26) {
        out["tags"] = json!(s.tags);
    }
    if v.at_least(63) {
        out["trusted_image_certificates"] = Value::Null;
    }
    if v.at_least(71) {
        out["server_groups"] = json!(s.server_groups);
    }
    if v.at_least(73) {
        out["locked_reason"] = json!(s.locked_reason);
    }
    if v.at_least(96) {
        out["pinned_availability_zone"] = json!(s.availability_zone);
    }
    if v.at_least(100) {
        out["scheduler_hints"] = s.scheduler_hints.clone();
    }
    out
}

// --- create -------------------------------------------------------------------

fn optional_string(fields: &Map<String, Value>, key: &str, path: &str, max: usize) -> Result<Option<String>> {
    fields.get(key).map(|v| validate::string(v, &format!("{path}/{key}"), 0, max).map(String::from)).transpose()
}

/// `accessIPv4`/`accessIPv6`: empty, or an address of that family.
pub(super) fn access_ip(v: &Value, field: &str) -> Result<String> {
    let a = validate::string(v, field, 0, 64)?;
    if a.is_empty() {
        return Ok(String::new());
    }
    // Stored in canonical form (`::babe:dc0c:1602` for
    // `0000:…:babe:220.12.22.2`), as Nova's IP address fields store it.
    let canonical = match field {
        "accessIPv4" => a.parse::<std::net::Ipv4Addr>().map(|ip| ip.to_string()),
        _ => a.parse::<std::net::Ipv6Addr>().map(|ip| ip.to_string()),
    };
    canonical.map_err(|_| {
        let family = if field == "accessIPv4" { "ipv4" } else { "ipv6" };
        invalid(field, v, format!("'{a}' is not a '{family}'"))
    })
}

fn parse_networks(call: &NovaCall, v: &Value) -> Result<NetworkChoice> {
    if let Value::String(s) = v {
        return match s.as_str() {
            "auto" if call.version.at_least(37) => Ok(NetworkChoice::Auto),
            "none" if call.version.at_least(37) => Ok(NetworkChoice::None),
            _ => Err(invalid("networks", v, format!("'{s}' is not of type 'array'"))),
        };
    }
    let list = v.as_array().ok_or_else(|| invalid("networks", v, format!("{v} is not of type 'array'")))?;
    let mut out = Vec::new();
    for (i, n) in list.iter().enumerate() {
        let path = format!("networks/{i}");
        let fields = validate::object(n, &path, &["uuid", "fixed_ip", "port", "tag"], &[])?;
        let uuid = optional_string(fields, "uuid", &path, 255)?;
        let port = optional_string(fields, "port", &path, 255)?.filter(|p| !p.is_empty());
        let fixed_ip = optional_string(fields, "fixed_ip", &path, 64)?;
        fields.get("tag").map(|t| validate::tag(t, &format!("{path}/tag"))).transpose()?;
        if let Some(ip) = &fixed_ip
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid(&format!("{path}/fixed_ip"), &json!(ip), format!("'{ip}' is not a 'ip-address'")));
        }
        if uuid.is_none() && port.is_none() {
            return Err(NovaError::bad_request("Bad networks format: network uuid is not in proper format (None)"));
        }
        if let Some(u) = &uuid
            && uuid::Uuid::parse_str(u).is_err()
        {
            return Err(NovaError::bad_request(format!(
                "Bad networks format: network uuid is not in proper format ({u})"
            )));
        }
        out.push(NetworkRequest { uuid, fixed_ip, port, subnet_id: None });
    }
    Ok(NetworkChoice::List(out))
}

fn parse_block_devices(v: &Value) -> Result<Vec<BlockDevice>> {
    let list =
        v.as_array().ok_or_else(|| invalid("block_device_mapping_v2", v, format!("{v} is not of type 'array'")))?;
    let allowed = [
        "source_type",
        "destination_type",
        "uuid",
        "boot_index",
        "volume_size",
        "guest_format",
        "device_name",
        "delete_on_termination",
        "device_type",
        "disk_bus",
        "no_device",
        "volume_type",
        "tag",
        "volume_id",
        "snapshot_id",
        "image_id",
    ];
    let mut out = Vec::new();
    for (i, b) in list.iter().enumerate() {
        let path = format!("block_device_mapping_v2/{i}");
        let f = validate::object(b, &path, &allowed, &[])?;
        let source = match f.get("source_type") {
            Some(s) => validate::one_of(s, &format!("{path}/source_type"), &["volume", "image", "snapshot", "blank"])?,
            None => return Err(NovaError::bad_request("Block Device Mapping is Invalid: Missing device source_type.")),
        };
        let uuid = optional_string(f, "uuid", &path, 255)?;
        f.get("tag").map(|t| validate::tag(t, &format!("{path}/tag"))).transpose()?;
        let boot_index = match f.get("boot_index") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(|| {
                invalid(&format!("{path}/boot_index"), &f["boot_index"], format!("{n} is not of type 'integer'"))
            })?),
            Some(Value::String(s)) => Some(s.parse::<i64>().map_err(|_| {
                NovaError::bad_request(format!("Block Device Mapping is Invalid: Boot index {s} is invalid."))
            })?),
            Some(other) => return Err(invalid(&format!("{path}/boot_index"), other, "is not of type 'integer'")),
        };
        let destination = match f.get("destination_type") {
            Some(d) => validate::one_of(d, &format!("{path}/destination_type"), &["local", "volume"])?.to_string(),
            None if matches!(source, "volume" | "snapshot") => "volume".into(),
            None => "local".into(),
        };
        if source != "blank" && uuid.is_none() {
            return Err(NovaError::bad_request(format!(
                "Block Device Mapping is Invalid: Missing uuid for {source} source."
            )));
        }
        if source == "blank" && uuid.is_some() {
            return Err(NovaError::bad_request("Block Device Mapping is Invalid: Blank source must not have a uuid."));
        }
        if let Some(name) = optional_string(f, "device_name", &path, 255)?
            && !name.is_empty()
            && !(name.starts_with("/dev/") || name.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(NovaError::bad_request(format!(
                "Block Device Mapping is Invalid: Device name {name} is invalid."
            )));
        }
        let volume_size =
            f.get("volume_size").map(|s| validate::integer(s, &format!("{path}/volume_size"), 0)).transpose()?;
        let delete_on_termination = f
            .get("delete_on_termination")
            .map(|d| validate::boolean(d, &format!("{path}/delete_on_termination")))
            .transpose()?
            .unwrap_or(false);
        out.push(BlockDevice {
            source_type: source.to_string(),
            destination_type: destination,
            uuid,
            boot_index,
            volume_size,
            guest_format: optional_string(f, "guest_format", &path, 255)?,
            device_name: optional_string(f, "device_name", &path, 255)?,
            delete_on_termination,
            volume_type: None,
            volume_id: None,
        });
    }
    let mut boot: Vec<i64> = out.iter().filter_map(|b| b.boot_index).filter(|i| *i >= 0).collect();
    boot.sort_unstable();
    if boot.iter().enumerate().any(|(i, b)| *b != i as i64) {
        return Err(NovaError::bad_request(
            "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping \
             combination is not valid.",
        ));
    }
    Ok(out)
}

/// Nova's 1D tag rules (2.26+).
fn validate_tags(v: &Value, path: &str) -> Result<Vec<String>> {
    let list = v.as_array().ok_or_else(|| invalid(path, v, format!("{v} is not of type 'array'")))?;
    if list.len() > 50 {
        return Err(invalid(path, v, format!("{v} is too long")));
    }
    let mut tags = Vec::new();
    for t in list {
        let s = validate::tag(t, path)?;
        if !tags.iter().any(|x: &String| x == s) {
            tags.push(s.to_string());
        }
    }
    Ok(tags)
}

pub(super) fn metadata_map(v: &Value, path: &str) -> Result<BTreeMap<String, String>> {
    let map = v.as_object().ok_or_else(|| invalid(path, v, format!("{v} is not of type 'object'")))?;
    let mut out = BTreeMap::new();
    for (k, val) in map {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(invalid(
                path,
                v,
                format!("'{k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{{1,255}}$'"),
            ));
        }
        let s = val.as_str().ok_or_else(|| invalid(path, v, format!("{val} is not of type 'string'")))?;
        if s.chars().count() > 255 {
            return Err(invalid(path, v, format!("'{s}' is too long")));
        }
        out.insert(k.clone(), s.to_string());
    }
    Ok(out)
}

/// `imageRef`: an image id or link (its last segment); empty is none.
pub(super) fn image_ref_param(v: &Value) -> Result<Option<String>> {
    let raw = validate::string(v, "imageRef", 0, 255)?;
    let id = raw.rsplit('/').next().unwrap_or(raw);
    if id.is_empty() {
        Ok(None)
    } else if uuid::Uuid::parse_str(id).is_err() {
        Err(NovaError::bad_request("Invalid imageRef provided."))
    } else {
        Ok(Some(id.to_string()))
    }
}

/// `user_data`: base64 within Nova's size limit; null is none.
pub(super) fn user_data_param(u: &Value) -> Result<Option<String>> {
    if u.is_null() {
        return Ok(None);
    }
    let text = u.as_str().ok_or_else(|| invalid("user_data", u, format!("{u} is not of type 'string'")))?;
    if text.len() > MAX_USER_DATA_BYTES {
        return Err(NovaError::bad_request(format!(
            "User data too large. User data must be no larger than {MAX_USER_DATA_BYTES} bytes once base64 \
             encoded. Your data is {} bytes",
            text.len()
        )));
    }
    use base64::Engine;
    if base64::engine::general_purpose::STANDARD.decode(text.trim()).is_err() {
        return Err(invalid("user_data", u, format!("'{text}' is not a 'base64'")));
    }
    Ok(Some(text.to_string()))
}

/// `personality` (before 2.57): files of `path` and base64 `contents`,
/// as Nova's schema takes them.
pub(super) fn personality_param(v: &Value) -> Result<Vec<InjectedFile>> {
    let list = v.as_array().ok_or_else(|| invalid("personality", v, format!("{v} is not of type 'array'")))?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("personality/{i}");
            let f = validate::object(item, &at, &["path", "contents"], &[])?;
            let text = |key: &str| -> Result<String> {
                match f.get(key) {
                    None => Ok(String::new()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(other) => {
                        Err(invalid(&format!("{at}/{key}"), other, format!("{other} is not of type 'string'")))
                    }
                }
            };
            let contents = text("contents")?;
            use base64::Engine;
            if base64::engine::general_purpose::STANDARD.decode(contents.trim()).is_err() {
                return Err(invalid(
                    &format!("{at}/contents"),
                    &f["contents"],
                    format!("'{contents}' is not a 'base64'"),
                ));
            }
            Ok(InjectedFile { path: text("path")?, contents })
        })
        .collect()
}

/// `hostname`: from 2.90 a host name (Nova's `hostname`: 2–63 letters,
/// digits and inner hyphens), from 2.94 an FQDN (Nova's `fqdn`: 1–255 of
/// letters, digits, `-`, `.` and `_`), stored as given.
pub(super) fn hostname_param(version: ApiVersion, h: &Value) -> Result<String> {
    if version.at_least(94) {
        validate::string(h, "hostname", 1, 255)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        return Ok(validate::pattern(h, "hostname", allowed, "^[a-zA-Z0-9-._]*$")?.to_string());
    }
    let name = validate::string(h, "hostname", 2, 63)?;
    let inner_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let ends_ok = !name.starts_with('-') && !name.ends_with('-');
    if !(inner_ok && ends_ok) {
        return Err(invalid(
            "hostname",
            h,
            format!("'{name}' does not match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'"),
        ));
    }
    Ok(name.to_string())
}

pub async fn create(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    NovaBody(body): NovaBody,
) -> Result<Response> {
    let v = call.version;
    let top =
        validate::object(&body, "", &["server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"], &["server"])?;
    let mut allowed = vec![
        "name",
        "imageRef",
        "flavorRef",
        "adminPass",
        "metadata",
        "networks",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "availability_zone",
        "config_drive",
        "key_name",
        "user_data",
        "security_groups",
        "block_device_mapping",
        "block_device_mapping_v2",
        "min_count",
        "max_count",
        "return_reservation_id",
    ];
    if !v.at_least(57) {
        allowed.push("personality");
    }
    if v.at_least(19) {
        allowed.push("description");
    }
    if v.at_least(52) {
        allowed.push("tags");
    }
    if v.at_least(63) {
        allowed.push("trusted_image_certificates");
    }
    if v.at_least(74) {
        allowed.extend(["host", "hypervisor_hostname"]);
    }
    if v.at_least(90) {
        allowed.push("hostname");
    }
    let s = validate::object(&body["server"], "server", &allowed, &["name", "flavorRef"])?;
    let name = validate::name(&s["name"], "name")?.to_string();
    let flavor_ref = validate::string(&s["flavorRef"], "flavorRef", 1, 255)?;
    // Nova accepts a flavor or image link and takes its last segment.
    let flavor_ref = flavor_ref.rsplit('/').next().unwrap_or(flavor_ref).to_string();
    let image_ref = s.get("imageRef").map(image_ref_param).transpose()?.flatten();
    if s.contains_key("block_device_mapping") && s.contains_key("block_device_mapping_v2") {
        return Err(NovaError::bad_request(
            "Using different block_device_mapping syntaxes is not allowed in the same request.",
        ));
    }
    let block_devices = match s.get("block_device_mapping_v2") {
        Some(b) => parse_block_devices(b)?,
        None => Vec::new(),
    };
    if let Some(legacy) = s.get("block_device_mapping") {
        let list =
            legacy.as_array().ok_or_else(|| invalid("block_device_mapping", legacy, "is not of type 'array'"))?;
        if let Some(first) = list.first() {
            let id = first.get("volume_id").and_then(Value::as_str).unwrap_or_default();
            return Err(NovaError::bad_request(format!("Volume {id} could not be found.")));
        }
    }
    if image_ref.is_none() && block_devices.is_empty() {
        return Err(NovaError::bad_request("Missing imageRef attribute"));
    }
    let min_count = s.get("min_count").map(|m| validate::integer(m, "min_count", 1)).transpose()?.unwrap_or(1);
    let max_count = s.get("max_count").map(|m| validate::integer(m, "max_count", 1)).transpose()?.unwrap_or(min_count);
    if min_count > max_count {
        return Err(NovaError::bad_request("min_count must be <= max_count"));
    }
    let networks = match s.get("networks") {
        Some(n) => parse_networks(&call, n)?,
        None if v.at_least(37) => return Err(invalid("server", &body["server"], "'networks' is a required property")),
        None => NetworkChoice::Unspecified,
    };
    let user_data = s.get("user_data").map(user_data_param).transpose()?.flatten();
    let metadata = s.get("metadata").map(|m| metadata_map(m, "metadata")).transpose()?.unwrap_or_default();
    let disk_config = match s.get("OS-DCF:diskConfig") {
        Some(d) => validate::one_of(d, "OS-DCF:diskConfig", &["AUTO", "MANUAL"])?.to_string(),
        None => "MANUAL".into(),
    };
    let config_drive = match s.get("config_drive") {
        None | Some(Value::Null) => false,
        Some(Value::String(x)) if x.is_empty() => false,
        Some(c) => validate::boolean(c, "config_drive")?,
    };
    let security_groups = match s.get("security_groups") {
        None => vec!["default".to_string()],
        Some(list) => {
            let items = list.as_array().ok_or_else(|| invalid("security_groups", list, "is not of type 'array'"))?;
            let mut names = Vec::new();
            for (i, g) in items.iter().enumerate() {
                let f = validate::object(g, &format!("security_groups/{i}"), &["name"], &[])?;
                if let Some(n) = f.get("name") {
                    names.push(validate::string(n, &format!("security_groups/{i}/name"), 1, 255)?.to_string());
                }
            }
            names.dedup();
            names
        }
    };
    let availability_zone = optional_string(s, "availability_zone", "server", 255)?.filter(|a| !a.is_empty());
    let availability_zone = availability_zone.map(|az| az.split(':').next().unwrap_or_default().to_string());
    let key_name = optional_string(s, "key_name", "server", 255)?;
    let admin_pass = optional_string(s, "adminPass", "server", 255)?;
    let description = if v.at_least(19) { optional_string(s, "description", "server", 255)? } else { None };
    let tags = match s.get("tags") {
        Some(t) => validate_tags(t, "tags")?,
        None => Vec::new(),
    };
    let injected_files = s.get("personality").map(personality_param).transpose()?.unwrap_or_default();
    let hostname = s.get("hostname").map(|h| hostname_param(v, h)).transpose()?;
    if hostname.is_some() && max_count > 1 {
        return Err(NovaError::bad_request("Cannot use hostname with multiple instances."));
    }
    let access_ipv4 = s.get("accessIPv4").map(|a| access_ip(a, "accessIPv4")).transpose()?.unwrap_or_default();
    let access_ipv6 = s.get("accessIPv6").map(|a| access_ip(a, "accessIPv6")).transpose()?.unwrap_or_default();
    let return_reservation_id = s
        .get("return_reservation_id")
        .map(|r| validate::boolean(r, "return_reservation_id"))
        .transpose()?
        .unwrap_or(false);
    let scheduler_hints = top
        .get("os:scheduler_hints")
        .or_else(|| top.get("OS-SCH-HNT:scheduler_hints"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !scheduler_hints.is_object() {
        return Err(invalid("os:scheduler_hints", &scheduler_hints, "is not of type 'object'"));
    }

    let req = CreateRequest {
        name,
        flavor_ref,
        image_ref,
        networks,
        key_name,
        user_data,
        injected_files,
        metadata,
        availability_zone,
        min_count,
        max_count,
        security_groups,
        block_devices,
        config_drive,
        admin_pass,
        disk_config,
        description,
        tags,
        hostname,
        scheduler_hints,
        access_ipv4,
        access_ipv6,
        request_id,
        naming: Naming::Indexed,
        public_ip: None,
        extend_param: BTreeMap::new(),
        as_job: false,
        client_token: None,
        dry_run: false,
    };
    let created = state.core.server_create(&call.ctx, req).await?;
    if return_reservation_id {
        return Ok((StatusCode::ACCEPTED, Json(json!({"reservation_id": created.reservation_id}))).into_response());
    }
    let first = &created.servers[0];
    let links = call.links.resource("servers", &first.id);
    let location = links[0]["href"].as_str().unwrap_or_default().to_string();
    let body = json!({"server": {
        "id": first.id,
        "links": links,
        "OS-DCF:diskConfig": first.disk_config,
        "security_groups": first.security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "adminPass": created.admin_pass,
    }});
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(body)).into_response())
}

// --- list ---------------------------------------------------------------------

const LIST_PARAMS: &[&str] = &[
    "user_id",
    "project_id",
    "tenant_id",
    "launch_index",
    "image_ref",
    "image",
    "kernel_id",
    "ramdisk_id",
    "hostname",
    "key_name",
    "power_state",
    "vm_state",
    "task_state",
    "host",
    "node",
    "flavor",
    "reservation_id",
    "launched_at",
    "terminated_at",
    "availability_zone",
    "name",
    "display_name",
    "description",
    "display_description",
    "locked_by",
    "uuid",
    "root_device_name",
    "config_drive",
    "access_ip_v4",
    "access_ip_v6",
    "auto_disk_config",
    "progress",
    "sort_key",
    "sort_dir",
    "all_tenants",
    "soft_deleted",
    "deleted",
    "status",
    "changes-since",
    "changes-before",
    "ip",
    "ip6",
    "created_at",
    "block_device_mapping",
    "services",
    "metadata",
    "system_metadata",
    "info_cache",
    "security_groups",
    "pci_devices",
    "limit",
    "marker",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
    "locked",
];

fn sort_key(key: &str) -> Option<ServerSortKey> {
    Some(match key {
        "created_at" => ServerSortKey::CreatedAt,
        "updated_at" => ServerSortKey::UpdatedAt,
        "display_name" => ServerSortKey::Name,
        "hostname" => ServerSortKey::Hostname,
        "uuid" => ServerSortKey::Id,
        "vm_state" => ServerSortKey::VmState,
        "task_state" => ServerSortKey::TaskState,
        "power_state" => ServerSortKey::PowerState,
        "project_id" => ServerSortKey::ProjectId,
        "user_id" => ServerSortKey::UserId,
        "host" | "node" => ServerSortKey::Host,
        "availability_zone" => ServerSortKey::AvailabilityZone,
        "launched_at" => ServerSortKey::LaunchedAt,
        "key_name" => ServerSortKey::KeyName,
        "image_ref" => ServerSortKey::ImageId,
        "instance_type_id" => ServerSortKey::FlavorId,
        "launch_index" => ServerSortKey::LaunchIndex,
        _ => return None,
    })
}

fn time_param(q: &QueryParams, name: &str) -> Result<Option<Timestamp>> {
    q.get(name)
        .map(|raw| {
            chrono::DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
                .map_err(|_| invalid_query(name, raw, format!("'{raw}' is not a 'date-time'")))
        })
        .transpose()
}

fn tag_list(q: &QueryParams, name: &str) -> Vec<String> {
    q.get(name).map(|t| t.split(',').filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default()
}

fn truthy(raw: &str) -> bool {
    matches!(raw.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "t" | "y")
}

/// Filters, sorting and paging of a list request.
async fn list(state: &AppState, call: &NovaCall, raw: Option<String>, full: bool) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    if call.version.at_least(75) {
        q.only(LIST_PARAMS)?;
    }
    let admin = call.ctx.is_admin();
    let mut query = ServerListQuery::default();
    let all_tenants = q.get("all_tenants").is_some_and(|v| v.is_empty() || truthy(v));
    if all_tenants && !admin {
        return Err(NovaError::new(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.",
        ));
    }
    // As Nova's: without all_tenants the list is the caller's project's,
    // whatever `tenant_id` or `project_id` says (lp:#1185290).
    query.project_id = if all_tenants {
        q.get("project_id").or_else(|| q.get("tenant_id")).map(String::from)
    } else {
        call.ctx.project_id().map(String::from)
    };
    if admin {
        query.user_id = q.get("user_id").map(String::from);
        query.host = q.get("host").map(String::from);
        query.deleted = q.get("deleted").is_some_and(truthy);
    }
    if let Some(status) = q.get("status") {
        match vm_states_for_status(status) {
            Some((vm, tasks)) => {
                query.vm_states = Some(vm);
                query.task_states = tasks;
            }
            // Nova answers an unknown status with an empty list.
            None => return Ok(Json(json!({"servers": []}))),
        }
    }
    if let Some(vm) = q.get("vm_state") {
        let states: Vec<VmState> = vm.split(',').filter_map(VmState::parse).collect();
        query.vm_states = Some(states);
    }
    query.image_id = q.get("image").map(|i| i.rsplit('/').next().unwrap_or(i).to_string());
    query.flavor_id = q.get("flavor").map(|f| f.rsplit('/').next().unwrap_or(f).to_string());
    query.reservation_id = q.get("reservation_id").map(String::from);
    query.availability_zone = q.get("availability_zone").map(String::from);
    if let Some(l) = q.get("locked") {
        query.locked = Some(
            validate::boolean(&json!(l), "locked")
                .map_err(|_| invalid_query("locked", l, format!("'{l}' is not one of the accepted boolean values")))?,
        );
    }
    query.changes_since = time_param(&q, "changes-since")?;
    query.changes_before = time_param(&q, "changes-before")?;
    if let (Some(a), Some(b)) = (query.changes_since, query.changes_before)
        && a > b
    {
        return Err(NovaError::bad_request("The value of changes-since must be less than or equal to changes-before."));
    }
    query.tags_all = tag_list(&q, "tags");
    query.tags_any = tag_list(&q, "tags-any");
    query.not_tags_all = tag_list(&q, "not-tags");
    query.not_tags_any = tag_list(&q, "not-tags-any");
    let keys: Vec<&str> = q.0.iter().filter(|(k, _)| k == "sort_key").map(|(_, v)| v.as_str()).collect();
    let dirs: Vec<&str> = q.0.iter().filter(|(k, _)| k == "sort_dir").map(|(_, v)| v.as_str()).collect();
    for (i, key) in keys.iter().enumerate() {
        let Some(k) = sort_key(key) else {
            return Err(invalid_query("sort_key", key, format!("'{key}' is not one of the allowed sort keys")));
        };
        let dir = dirs.get(i).or(dirs.last()).copied().unwrap_or("desc");
        let asc = match dir {
            "asc" => true,
            "desc" => false,
            other => return Err(invalid_query("sort_dir", other, format!("'{other}' is not one of ['asc', 'desc']"))),
        };
        query.sort.push((k, asc));
    }
    let limit = q.limit()?.map(|l| l.min(MAX_LIMIT)).unwrap_or(MAX_LIMIT);
    query.marker = q.get("marker").map(String::from);

    // Regular-expression filters (name, ip) run here; SQLite has no REGEXP.
    let name_re = q
        .get("name")
        .or_else(|| q.get("display_name"))
        .map(|n| regex::Regex::new(n).map_err(|_| invalid_query("name", n, "is not a valid regular expression")))
        .transpose()?;
    let ip_re = q
        .get("ip")
        .map(|n| regex::Regex::new(n).map_err(|_| invalid_query("ip", n, "is not a valid regular expression")))
        .transpose()?;
    let regex_filtered = name_re.is_some() || ip_re.is_some();
    query.limit = if regex_filtered { None } else { Some(limit) };
    let mut servers = state.core.server_list(&call.ctx, query).await?;
    if regex_filtered {
        servers.retain(|s| {
            name_re.as_ref().is_none_or(|re| re.is_match(&s.name))
                && ip_re.as_ref().is_none_or(|re| s.ports.iter().any(|p| re.is_match(&p.address)))
        });
        servers.truncate(limit as usize);
    }
    let statuses = if full && call.version.at_least(16) && call.ctx.is_admin() {
        Some(state.core.host_statuses().await?)
    } else {
        None
    };
    let render = |s: &Server| match (&statuses, full) {
        (Some(statuses), _) => with_host_status(list_detail(call, s), statuses, s),
        (None, true) => list_detail(call, s),
        (None, false) => brief(call, s),
    };
    let mut body = json!({"servers": servers.iter().map(render).collect::<Vec<_>>()});
    if servers.len() as i64 == limit
        && let Some(last) = servers.last()
    {
        let collection = if full { "servers/detail" } else { "servers" };
        body["servers_links"] = call.links.next(collection, &q, &last.id);
    }
    Ok(Json(body))
}

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    list(&state, &call, raw, false).await
}

pub async fn detail_list(
    State(state): State<AppState>,
    call: NovaCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    list(&state, &call, raw, true).await
}

/// A server in `GET /servers/detail`: as shown, less `server_groups`, which
/// Nova (2.71) puts only in show, update and rebuild.
fn list_detail(call: &NovaCall, s: &Server) -> Value {
    let mut out = detail(call, s);
    if let Value::Object(map) = &mut out {
        map.remove("server_groups");
    }
    out
}

/// The server as rebuild returns it (Nova's `_action_rebuild`): the update
/// view, with `key_name` from 2.54 (before 2.75 too) and the top-level
/// `user_data` from 2.57, never `OS-EXT-SRV-ATTR:user_data`.
pub(super) fn rebuild_view(call: &NovaCall, s: &Server) -> Value {
    let mut out = update_view(call, s);
    if let Value::Object(map) = &mut out {
        map.remove("OS-EXT-SRV-ATTR:user_data");
        if call.version.at_least(54) {
            map.insert("key_name".to_string(), json!(s.key_name));
        }
        if call.version.at_least(57) {
            map.insert("user_data".to_string(), json!(s.user_data));
        }
    }
    out
}

/// The server as `PUT /servers/{id}` and rebuild return it: before 2.75
/// without the extended attributes and address details (Nova's view with
/// every `show_*` switched off), from 2.75 as GET shows it.
pub(super) fn update_view(call: &NovaCall, s: &Server) -> Value {
    let mut out = detail(call, s);
    if call.version.at_least(75) {
        return out;
    }
    const KEPT: [&str; 24] = [
        "id",
        "name",
        "status",
        "image",
        "flavor",
        "fault",
        "user_id",
        "tenant_id",
        "created",
        "updated",
        "progress",
        "metadata",
        "links",
        "addresses",
        "hostId",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "locked",
        "description",
        "tags",
        "trusted_image_certificates",
        "server_groups",
        "locked_reason",
    ];
    if let Value::Object(map) = &mut out {
        map.retain(|k, _| KEPT.contains(&k.as_str()));
        if let Some(Value::Object(networks)) = map.get_mut("addresses") {
            for entry in networks.values_mut().filter_map(Value::as_array_mut).flatten() {
                if let Value::Object(e) = entry {
                    e.retain(|k, _| k == "version" || k == "addr");
                }
            }
        }
    }
    out
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    let mut out = detail(&call, &server);
    if out.get("host_status").is_some() {
        out = with_host_status(out, &state.core.host_statuses().await?, &server);
    }
    Ok(Json(json!({"server": out})))
}

/// `host_status` (2.16, admins) from the host's liveness: UP, DOWN (forced
/// down), MAINTENANCE (disabled), UNKNOWN (heartbeat lapsed) or "".
fn with_host_status(mut out: Value, statuses: &ecs_core::service::HostStatuses, s: &Server) -> Value {
    if let Some(status) = out.get_mut("host_status") {
        *status = json!(statuses.of(s).as_str());
    }
    out
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    validate::object(&body, "", &["server"], &["server"])?;
    let mut allowed = vec!["name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"];
    if call.version.at_least(19) {
        allowed.push("description");
    }
    if call.version.at_least(90) {
        allowed.push("hostname");
    }
    let s = validate::object(&body["server"], "server", &allowed, &[])?;
    let mut edit = ServerEdit::default();
    if let Some(n) = s.get("name") {
        edit.name = Some(validate::name(n, "name")?.to_string());
    }
    if let Some(h) = s.get("hostname") {
        edit.hostname = Some(hostname_param(call.version, h)?);
    }
    if let Some(d) = s.get("description") {
        edit.description = Some(match d {
            Value::Null => None,
            other => Some(validate::string(other, "description", 0, 255)?.to_string()),
        });
    }
    edit.access_ipv4 = s.get("accessIPv4").map(|a| access_ip(a, "accessIPv4")).transpose()?;
    edit.access_ipv6 = s.get("accessIPv6").map(|a| access_ip(a, "accessIPv6")).transpose()?;
    edit.disk_config = s
        .get("OS-DCF:diskConfig")
        .map(|d| validate::one_of(d, "OS-DCF:diskConfig", &["AUTO", "MANUAL"]).map(String::from))
        .transpose()?;
    let server = state.core.server_edit(&call.ctx, &id, edit).await?;
    Ok(Json(json!({"server": update_view(&call, &server)})))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.server_delete(&call.ctx, &id, false, &request_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- actions ------------------------------------------------------------------

pub async fn action(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Response> {
    let map = body.as_object().ok_or_else(|| NovaError::bad_request("Malformed request body"))?;
    let Some((name, args)) = map.iter().next().filter(|_| map.len() == 1) else {
        return Err(NovaError::bad_request("Malformed request body"));
    };
    let core = &state.core;
    let ctx = &call.ctx;
    match name.as_str() {
        "os-start" | "pause" | "unpause" | "suspend" | "resume" => {
            let action = match name.as_str() {
                "os-start" => Action::Start,
                "pause" => Action::Pause,
                "unpause" => Action::Unpause,
                "suspend" => Action::Suspend,
                _ => Action::Resume,
            };
            no_args(name, args)?;
            core.server_power(ctx, &id, action, &request_id).await?;
            accepted()
        }
        "reboot" => {
            let f = validate::object(args, "reboot", &["type"], &["type"])?;
            let kind = validate::one_of(&f["type"], "reboot/type", &["HARD", "Hard", "hard", "SOFT", "Soft", "soft"])?;
            let hard = kind.eq_ignore_ascii_case("hard");
            core.server_power(ctx, &id, Action::Reboot { hard }, &request_id).await?;
            accepted()
        }
        "lock" => {
            let reason = if call.version.at_least(73) && !args.is_null() {
                let f = validate::object(args, "lock", &["locked_reason"], &[])?;
                f.get("locked_reason").map(|r| validate::string(r, "locked_reason", 0, 255)).transpose()?
            } else {
                no_args(name, args)?;
                None
            };
            core.server_lock(ctx, &id, true, reason, &request_id).await?;
            accepted()
        }
        "unlock" => {
            no_args(name, args)?;
            core.server_lock(ctx, &id, false, None, &request_id).await?;
            accepted()
        }
        "createImage" => {
            let f = validate::object(args, "createImage", &["name", "metadata"], &["name"])?;
            let image_name = validate::string(&f["name"], "name", 1, 255)?;
            let metadata = match f.get("metadata") {
                Some(m) => metadata_map(m, "metadata")?,
                None => BTreeMap::new(),
            };
            let image_id = core.server_create_image(ctx, &id, image_name, metadata, &request_id).await?;
            if call.version.at_least(45) {
                return Ok((StatusCode::ACCEPTED, Json(json!({"image_id": image_id}))).into_response());
            }
            let location = call.links.resource("images", &image_id)[0]["href"].as_str().unwrap_or_default().to_string();
            Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)]).into_response())
        }
        "addFloatingIp" | "removeFloatingIp" => {
            // Removed from the API at 2.44, as in Nova.
            if call.version.at_least(44) {
                return Err(NovaError::not_found());
            }
            let mut allowed = vec!["address"];
            if name == "addFloatingIp" {
                allowed.push("fixed_address");
            }
            let f = validate::object(args, name, &allowed, &["address"])?;
            let address = validate::string(&f["address"], "address", 1, 64)?;
            if address.parse::<std::net::IpAddr>().is_err() {
                return Err(invalid("address", &f["address"], format!("'{address}' is not a 'ip-address'")));
            }
            let fixed = f.get("fixed_address").map(|a| validate::string(a, "fixed_address", 1, 64)).transpose()?;
            core.server_floating_ip(ctx, &id, address, fixed, name == "addFloatingIp").await?;
            accepted()
        }
        "addSecurityGroup" | "removeSecurityGroup" => {
            let f = validate::object(args, name, &["name"], &["name"])?;
            let group = validate::string(&f["name"], "name", 1, 255)?;
            core.server_security_group(ctx, &id, group, name == "addSecurityGroup").await?;
            accepted()
        }
        "os-resetState" => {
            let f = validate::object(args, "os-resetState", &["state"], &["state"])?;
            let target = validate::one_of(&f["state"], "os-resetState/state", &["active", "error"])?;
            let vm = if target == "active" { VmState::Active } else { VmState::Error };
            core.server_reset_state(ctx, &id, vm).await?;
            accepted()
        }
        // Nova's schema takes any value for the action's argument.
        "injectNetworkInfo" => {
            core.server_inject_network_info(ctx, &id).await?;
            accepted()
        }
        "forceDelete" => {
            no_args(name, args)?;
            core.server_delete(ctx, &id, true, &request_id).await?;
            accepted()
        }
        "os-getConsoleOutput" => {
            let f = validate::object(args, "os-getConsoleOutput", &["length"], &[])?;
            let length = match f.get("length") {
                None | Some(Value::Null) => None,
                Some(l) => {
                    let n = match l {
                        Value::Number(n) => n.as_i64(),
                        Value::String(s) => s.parse::<i64>().ok(),
                        _ => None,
                    }
                    .ok_or_else(|| invalid("length", l, format!("{l} is not of type 'integer', 'string'")))?;
                    if n < -1 {
                        return Err(invalid("length", l, format!("{n} is less than the minimum of -1")));
                    }
                    (n >= 0).then_some(n as usize)
                }
            };
            let output = core.server_console_output(ctx, &id, length).await?;
            Ok(Json(json!({"output": output})).into_response())
        }
        other => super::lifecycle::action(&state, &call, &request_id, &id, other, args).await,
    }
}

// --- instance actions -----------------------------------------------------------

fn action_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn action_view(call: &NovaCall, server_id: &str, a: &InstanceAction) -> Value {
    let mut v = json!({
        "action": a.action,
        "instance_uuid": server_id,
        "request_id": a.task.request_id,
        "user_id": a.task.user_id,
        "project_id": a.task.project_id,
        "start_time": action_time(a.task.created_at),
        "message": a.task.message,
    });
    if call.version.at_least(58) {
        v["updated_at"] = json!(action_time(a.task.updated_at));
    }
    v
}

/// Instance actions, newest first; 2.58 adds `limit`/`marker` (a request
/// id) and `changes-since`, 2.66 `changes-before`, over `updated_at`.
pub async fn actions_index(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let mut actions = state.core.instance_actions(&call.ctx, &id).await?;
    let mut links = None;
    if call.version.at_least(58) {
        let mut allowed = vec!["limit", "marker", "changes-since"];
        if call.version.at_least(66) {
            allowed.push("changes-before");
        }
        q.only(&allowed)?;
        if let Some(since) = time_param(&q, "changes-since")? {
            actions.retain(|a| a.task.updated_at >= since);
        }
        if call.version.at_least(66)
            && let Some(before) = time_param(&q, "changes-before")?
        {
            actions.retain(|a| a.task.updated_at <= before);
        }
        if let Some(marker) = q.get("marker") {
            let at = actions
                .iter()
                .position(|a| a.task.request_id == marker)
                .ok_or_else(|| NovaError::bad_request(format!("Marker {marker} could not be found.")))?;
            actions.drain(..=at);
        }
        let limit = q.limit()?.map(|l| l.min(MAX_LIMIT)).unwrap_or(MAX_LIMIT) as usize;
        actions.truncate(limit);
        if actions.len() == limit
            && let Some(last) = actions.last()
        {
            links = Some(call.links.next(&format!("servers/{id}/os-instance-actions"), &q, &last.task.request_id));
        }
    }
    let mut body = json!({"instanceActions": actions.iter().map(|a| action_view(&call, &id, a)).collect::<Vec<_>>()});
    if let Some(links) = links {
        body["links"] = links;
    }
    Ok(Json(body))
}

pub async fn actions_show(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, request_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let a = state.core.instance_action(&call.ctx, &id, &request_id).await?;
    let admin = call.ctx.is_admin();
    let mut view = action_view(&call, &id, &a);
    if admin || call.version.at_least(51) {
        let events: Vec<Value> = a
            .events
            .iter()
            .map(|e| {
                let mut ev = json!({
                    "event": e.name,
                    "start_time": action_time(e.started_at),
                    "finish_time": e.finished_at.map(action_time),
                    "result": e.result,
                });
                if admin {
                    ev["traceback"] = json!(e.traceback);
                }
                if call.version.at_least(62) {
                    let host = e.host.clone();
                    if admin {
                        ev["host"] = json!(host);
                    }
                    ev["hostId"] = json!(host_id(&a.task.project_id, host.as_deref()));
                }
                if call.version.at_least(84) {
                    ev["details"] = json!(e.details);
                }
                ev
            })
            .collect();
        view["events"] = json!(events);
    }
    Ok(Json(json!({"instanceAction": view})))
}
