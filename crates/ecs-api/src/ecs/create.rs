//! CreateServers: `POST /v1/{project_id}/cloudservers` (seed 002 §5.1.1)
//! and `POST /v1.1/{project_id}/cloudservers` (seed 001). The request's
//! syntax and shape are checked here, each failure with its own Ecs code;
//! the create itself, with every rule about flavors, images, networks,
//! key pairs, security groups and quotas, is the core's (the same as
//! Nova's), whose typed errors `ecs/error.rs` words with the seed's codes.
//! The servers are built as the sub-jobs of one job.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ecs_core::compute::server::{CreateRequest, JobCreated, Naming, NetworkChoice, NetworkRequest, PublicIp};
use ecs_types::Image;
use ecs_types::server::BlockDevice;
use serde_json::{Map, Value, json};

use super::EcsBody;
use super::input::{
    MAX_NICS, check_password, check_user_data, find_subnet, optional_bool, optional_int, optional_str, required_str,
};
use super::{EcsCall, EcsError, illegal};
use crate::AppState;
use crate::request_id::RequestId;

/// The two versions of the API differ in a few rules (DECISIONS.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V1_1,
}

impl Version {
    fn max_name(self) -> usize {
        match self {
            Version::V1 => 128,
            Version::V1_1 => 64,
        }
    }

    fn name_char_ok(self, c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && self == Version::V1)
    }

    fn volume_types(self) -> &'static [&'static str] {
        match self {
            Version::V1 => &["SATA", "SSD"],
            Version::V1_1 => &["SATA", "SAS", "GPSSD", "SSD", "ESSD"],
        }
    }
}

/// With `count` > 1 a name takes a `-0001` suffix, so it is kept shorter.
const MAX_NAME_WITH_SUFFIX: usize = 59;
const MAX_DATA_VOLUMES: usize = 59;
const MAX_COUNT: i64 = 500;
const MAX_COUNT_PREPAID: i64 = 100;
const MAX_METADATA: usize = 10;
const MAX_TAGS: usize = 10;

#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers",
    tag = "ECS servers",
    summary = "Create servers, as one job of sub-jobs (§5.1.1)",
    request_body(content = crate::openapi::schemas::CreateServersRequest, description = "The servers to create."),
    responses(
        (status = 200, description = "The job building them and the servers' ids.", body = crate::openapi::schemas::CreateServersReply),
        (status = 202, description = "`dry_run`: the request would be accepted."),
    ),
)]
pub async fn create_v1(
    state: State<AppState>,
    request_id: Extension<RequestId>,
    call: EcsCall,
    headers: HeaderMap,
    EcsBody(body): EcsBody,
) -> Result<Response, EcsError> {
    create(state, request_id, call, headers, body, Version::V1).await
}

#[utoipa::path(
    post,
    path = "/v1.1/{project_id}/cloudservers",
    tag = "ECS servers",
    summary = "Create servers, v1.1 rules (seed 001; volume types SAS/GPSSD/ESSD, names of at most 64)",
    request_body(content = crate::openapi::schemas::CreateServersRequest, description = "The servers to create."),
    responses(
        (status = 200, description = "The job building them and the servers' ids.", body = crate::openapi::schemas::CreateServersReply),
        (status = 202, description = "`dry_run`: the request would be accepted."),
    ),
)]
pub async fn create_v1_1(
    state: State<AppState>,
    request_id: Extension<RequestId>,
    call: EcsCall,
    headers: HeaderMap,
    EcsBody(body): EcsBody,
) -> Result<Response, EcsError> {
    create(state, request_id, call, headers, body, Version::V1_1).await
}

async fn create(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    headers: HeaderMap,
    raw: axum::body::Bytes,
    version: Version,
) -> Result<Response, EcsError> {
    let body: Value = super::json_body(&raw)?;
    let server = body.get("server").and_then(Value::as_object).ok_or_else(|| illegal("request body is illegal."))?;
    let dry_run = optional_bool(body.get("dry_run"), "dry_run")?.unwrap_or(false);
    let client_token = super::client_token(&headers, &raw)?;
    let checked = Checker { state: &state, call: &call, version, server }.check().await?;
    let prepaid = checked.prepaid;
    let mut req = checked.request;
    req.request_id = request_id;
    req.client_token = client_token;
    req.dry_run = dry_run;
    match state.core.server_create_job(&call.ctx, req).await? {
        JobCreated::Checked => Ok(StatusCode::ACCEPTED.into_response()),
        JobCreated::Started { job_id, server_ids } => {
            let mut out = json!({"job_id": ecs_core::job::job_id(&job_id), "serverIds": server_ids});
            if prepaid {
                out["order_id"] = json!(order_id());
            }
            Ok(Json(out).into_response())
        }
    }
}

/// A yearly/monthly create answers with an order (ecsd bills nothing).
fn order_id() -> String {
    let serial = ecs_types::random::uuid().as_u128() % 100_000;
    format!("CS{}{serial:05}", ecs_types::clock::now().format("%y%m%d%H%M"))
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, EcsError> {
    v.as_object().ok_or_else(|| illegal(format!("{field} must be an object")))
}

fn array<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a [Value], EcsError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(illegal(format!("{field} must be an array"))),
    }
}

/// The checked request and what the response needs to know.
struct Checked {
    request: CreateRequest,
    prepaid: bool,
}

struct Checker<'a> {
    state: &'a AppState,
    call: &'a EcsCall,
    version: Version,
    server: &'a Map<String, Value>,
}

impl Checker<'_> {
    async fn check(&self) -> Result<Checked, EcsError> {
        let s = self.server;
        let core = &self.state.core;
        let ctx = &self.call.ctx;
        let extend_param: BTreeMap<String, Value> = match s.get("extendparam") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(v) => object(v, "extendparam")?.clone().into_iter().collect(),
        };
        // A string, or the older API's number 0 or 1 (DECISIONS.md §9).
        let charging = match extend_param.get("chargingMode") {
            Some(Value::Number(n)) => n.to_string(),
            other => optional_str(other, "extendparam.chargingMode")?.unwrap_or("postPaid").to_string(),
        };
        let prepaid = match charging.as_str() {
            "prePaid" | "1" => true,
            "postPaid" | "0" => false,
            other => return Err(illegal(format!("extendparam.chargingMode must be prePaid or postPaid, not {other}"))),
        };
        let count = optional_int(s.get("count"), "count")?.unwrap_or(1);
        let max_count = if prepaid { MAX_COUNT_PREPAID } else { MAX_COUNT };
        if !(1..=max_count).contains(&count) {
            return Err(EcsError::with_message("Ecs.0913", format!("count must be between 1 and {max_count}.")));
        }
        let name = self.name(count)?;
        if s.contains_key("auto_terminate_time") {
            return Err(illegal("auto_terminate_time is not supported."));
        }
        if let Some(d) = optional_str(s.get("description"), "description")?
            && (d.chars().count() > 85 || d.contains(['<', '>']))
        {
            return Err(EcsError::with_message("Ecs.0041", "description: at most 85 characters, without < or >."));
        }

        let flavor_ref = required_str(s.get("flavorRef"), "flavorRef")?;
        // The flavor and image fill in the reserved metadata and the system
        // disk's default size (a missing one is Ecs.0029/Ecs.0031 by its
        // kind); whether they may be used is the core's rule.
        let flavor = core.flavor_get(ctx, flavor_ref).await?;
        let image_ref = required_str(s.get("imageRef"), "imageRef")?;
        let image = core.image(ctx, image_ref).await?;

        let (vpc, nics) = self.nics().await?;
        let mut block_devices = vec![self.root_volume(&image)?];
        block_devices.extend(self.data_volumes()?);

        let admin_pass = optional_str(s.get("adminPass"), "adminPass")?.filter(|p| !p.is_empty());
        if let Some(p) = admin_pass {
            check_password(p)?;
        }
        let key_name = optional_str(s.get("key_name"), "key_name")?.filter(|k| !k.is_empty());
        let user_data = optional_str(s.get("user_data"), "user_data")?.filter(|u| !u.is_empty());
        if let Some(u) = user_data {
            check_user_data(u, "user_data")?;
        }
        let mut metadata = self.metadata()?;
        if prepaid && key_name.is_some() && metadata.is_empty() {
            return Err(illegal("A yearly/monthly ECS logged in with a key pair needs metadata (op_svc_userid)."));
        }
        // The reserved keys ECS sets itself (§8.2 Table 8-17).
        let reserved = [
            ("metering.image_id", image.id.clone()),
            ("metering.imagetype", if image.visibility == "public" { "gold" } else { "private" }.to_string()),
            ("metering.resourcespeccode", format!("{}.{}", flavor.id, image.os_type.to_lowercase())),
            ("metering.resourcetype", "1".to_string()),
            ("image_name", image.name.clone()),
            ("os_type", image.os_type.clone()),
            ("os_bit", "64".to_string()),
            ("vpc_id", vpc.clone()),
            ("charging_mode", if prepaid { "1" } else { "0" }.to_string()),
        ];
        for (k, v) in reserved {
            metadata.insert(k.to_string(), v);
        }
        let security_groups = self.security_groups()?;
        let public_ip = self.public_ip(count).await?;
        let scheduler_hints = match s.get("os:scheduler_hints") {
            None | Some(Value::Null) => json!({}),
            Some(v) => Value::Object(object(v, "os:scheduler_hints")?.clone()),
        };
        let request = CreateRequest {
            name,
            flavor_ref: flavor.id.clone(),
            image_ref: None,
            networks: NetworkChoice::List(nics),
            key_name: key_name.map(String::from),
            user_data: user_data.map(String::from),
            injected_files: Vec::new(),
            metadata,
            availability_zone: optional_str(s.get("availability_zone"), "availability_zone")?
                .filter(|z| !z.is_empty())
                .map(String::from),
            min_count: count,
            max_count: count,
            security_groups,
            block_devices,
            config_drive: false,
            admin_pass: admin_pass.map(String::from),
            disk_config: "MANUAL".into(),
            description: optional_str(s.get("description"), "description")?.map(String::from),
            tags: self.tags()?,
            hostname: None,
            scheduler_hints,
            requested_host: None,
            requested_node: None,
            access_ipv4: String::new(),
            access_ipv6: String::new(),
            request_id: String::new(),
            naming: Naming::Serial,
            public_ip,
            extend_param,
            as_job: true,
            client_token: None,
            dry_run: false,
        };
        Ok(Checked { request, prepaid })
    }

    /// `name`: its length and characters by version; with `count` > 1 at
    /// most 59 characters, leaving room for the suffix.
    fn name(&self, count: i64) -> Result<String, EcsError> {
        let name = required_str(self.server.get("name"), "name")?;
        let max = if count > 1 { MAX_NAME_WITH_SUFFIX } else { self.version.max_name() };
        if name.chars().count() > max {
            return Err(EcsError::with_message("Ecs.0914", format!("name: at most {max} characters.")));
        }
        if !name.chars().all(|c| self.version.name_char_ok(c)) {
            return Err(EcsError::with_message(
                "Ecs.0915",
                "name: only letters, digits, underscores (_) and hyphens (-) are allowed.",
            ));
        }
        Ok(name.to_string())
    }

    /// `vpcid` and `nics`: each NIC on a subnet; the first (primary) one in
    /// the VPC. A fixed address is the core's to check (in its subnet, free).
    async fn nics(&self) -> Result<(String, Vec<NetworkRequest>), EcsError> {
        let core = &self.state.core;
        let ctx = &self.call.ctx;
        let vpc_id = required_str(self.server.get("vpcid"), "vpcid")?;
        let networks = core.networks(ctx).await?;
        let vpc_missing = || EcsError::with_message("Ecs.0014", format!("VPC {vpc_id} does not exist."));
        // A VPC, or (as before the VPC API) the primary NIC's network.
        let known = core.vpcs(ctx).await?.iter().any(|v| v.id == vpc_id)
            || networks.iter().any(|n| n.id == vpc_id && !n.external);
        if !known {
            return Err(vpc_missing());
        }
        let list = array(self.server, "nics")?;
        if list.is_empty() {
            return Err(illegal("nics is required"));
        }
        if list.len() > MAX_NICS {
            return Err(EcsError::with_message("Ecs.0050", format!("An ECS has at most {MAX_NICS} NICs.")));
        }
        let mut out = Vec::new();
        for (index, nic) in list.iter().enumerate() {
            let nic = object(nic, "nics[]")?;
            // The VPC subnet id (the network's id), or a Neutron subnet id.
            let subnet_id = required_str(nic.get("subnet_id"), "subnet_id")?;
            let (network, subnet) = find_subnet(self.state, &networks, subnet_id)
                .await?
                .ok_or_else(|| EcsError::with_message("Ecs.0038", format!("Subnet {subnet_id} does not exist.")))?;
            if index == 0 && core.vpc_holds(ctx, vpc_id, &network.id).await? != Some(true) {
                return Err(EcsError::new("Ecs.0064"));
            }
            let ip = optional_str(nic.get("ip_address"), "ip_address")?.filter(|ip| !ip.is_empty());
            if let Some(ip) = ip {
                ip.parse::<Ipv4Addr>().map_err(|_| illegal(format!("ip_address {ip} is not an IPv4 address.")))?;
            }
            out.push(NetworkRequest {
                uuid: Some(network.id.clone()),
                fixed_ip: ip.map(String::from),
                port: None,
                subnet_id: Some(subnet.id.clone()),
            });
        }
        // The VPC the primary NIC is in (a network in none: as given).
        let primary = out.first().and_then(|n| n.uuid.clone()).unwrap_or_default();
        let vpc = core.vpc_of_networks().await?.remove(&primary).unwrap_or_else(|| vpc_id.to_string());
        Ok((vpc, out))
    }

    /// `root_volume`: the system disk, a volume made from the image.
    fn root_volume(&self, image: &Image) -> Result<BlockDevice, EcsError> {
        let root = self.server.get("root_volume").ok_or_else(|| illegal("root_volume is required"))?;
        let root = object(root, "root_volume")?;
        let volume_type = self.volume_type(root, "root_volume")?;
        // Not given: as large as the image needs (the core checks a given size against it).
        let image_gb = ((image.size_bytes + (1 << 30) - 1) >> 30).max(image.min_disk_gb).max(1);
        let size = match optional_int(root.get("size"), "root_volume.size")? {
            None | Some(0) => image_gb,
            Some(size) if size > 1024 => return Err(illegal("root_volume.size must be between 1 and 1024.")),
            Some(size) => size,
        };
        Ok(BlockDevice {
            source_type: "image".into(),
            destination_type: "volume".into(),
            uuid: Some(image.id.clone()),
            boot_index: Some(0),
            volume_size: Some(size),
            guest_format: None,
            device_name: Some("/dev/vda".into()),
            delete_on_termination: true,
            volume_type: Some(volume_type),
            volume_id: None,
        })
    }

    /// `data_volumes`: blank volumes, kept when the server goes unless the
    /// delete says `delete_volume`.
    fn data_volumes(&self) -> Result<Vec<BlockDevice>, EcsError> {
        let list = array(self.server, "data_volumes")?;
        if list.len() > MAX_DATA_VOLUMES {
            return Err(EcsError::with_message(
                "Ecs.0042",
                format!("An ECS has at most {MAX_DATA_VOLUMES} data disks."),
            ));
        }
        list.iter()
            .map(|v| {
                let v = object(v, "data_volumes[]")?;
                let volume_type = self.volume_type(v, "data_volumes[]")?;
                let size = optional_int(v.get("size"), "data_volumes[].size")?
                    .ok_or_else(|| illegal("data_volumes[].size is required"))?;
                if !(10..=32768).contains(&size) {
                    return Err(illegal("data_volumes[].size must be between 10 and 32768."));
                }
                let multiattach = optional_bool(v.get("multiattach"), "data_volumes[].multiattach")?;
                let shareable = optional_bool(v.get("shareable"), "data_volumes[].shareable")?;
                if let (Some(a), Some(b)) = (multiattach, shareable)
                    && a != b
                {
                    return Err(illegal("data_volumes[]: multiattach and shareable must be equal."));
                }
                if v.get("data_image_id").is_some_and(|i| !i.is_null()) {
                    return Err(illegal("data_volumes[].data_image_id: data disk images are not supported."));
                }
                Ok(BlockDevice {
                    source_type: "blank".into(),
                    destination_type: "volume".into(),
                    uuid: None,
                    boot_index: None,
                    volume_size: Some(size),
                    guest_format: None,
                    device_name: None,
                    delete_on_termination: false,
                    volume_type: Some(volume_type),
                    volume_id: None,
                })
            })
            .collect()
    }

    fn volume_type(&self, v: &Map<String, Value>, path: &str) -> Result<String, EcsError> {
        let t = required_str(v.get("volumetype"), "volumetype")
            .map_err(|_| illegal(format!("{path}.volumetype is required")))?;
        if !self.version.volume_types().contains(&t) {
            return Err(EcsError::with_message("Ecs.0043", format!("The disk type {t} does not exist.")));
        }
        Ok(t.to_string())
    }

    /// `metadata`: at most 10 pairs of the seed's characters.
    fn metadata(&self) -> Result<BTreeMap<String, String>, EcsError> {
        let Some(v) = self.server.get("metadata").filter(|v| !v.is_null()) else { return Ok(BTreeMap::new()) };
        let map = object(v, "metadata")?;
        if map.len() > MAX_METADATA {
            return Err(illegal(format!("metadata: at most {MAX_METADATA} pairs.")));
        }
        map.iter()
            .map(|(k, v)| {
                let key_ok = (1..=255).contains(&k.chars().count())
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || " -_:.".contains(c));
                let value = v.as_str().filter(|v| v.chars().count() <= 255);
                match (key_ok, value) {
                    (true, Some(value)) => Ok((k.clone(), value.to_string())),
                    _ => Err(illegal(format!("metadata: invalid pair {k}"))),
                }
            })
            .collect()
    }

    /// `security_groups[].id` (the core resolves them to the project's groups).
    fn security_groups(&self) -> Result<Vec<String>, EcsError> {
        let list = array(self.server, "security_groups")?;
        if list.is_empty() {
            return Ok(vec!["default".into()]);
        }
        list.iter()
            .map(|g| {
                let id =
                    g.get("id").and_then(Value::as_str).ok_or_else(|| illegal("security_groups[].id is required"))?;
                Ok(id.to_string())
            })
            .collect()
    }

    /// `publicip`: an existing free EIP of the project, or a new one.
    async fn public_ip(&self, count: i64) -> Result<Option<PublicIp>, EcsError> {
        let Some(v) = self.server.get("publicip").filter(|v| !v.is_null()) else { return Ok(None) };
        let p = object(v, "publicip")?;
        let delete_on_termination =
            optional_bool(p.get("delete_on_termination"), "publicip.delete_on_termination")?.unwrap_or(false);
        if let Some(id) = optional_str(p.get("id"), "id")?.filter(|i| !i.is_empty()) {
            if count > 1 {
                return Err(illegal("publicip.id cannot be given when count is greater than 1."));
            }
            // That it exists and is free is the core's rule.
            return Ok(Some(PublicIp {
                existing: Some(id.to_string()),
                delete_on_termination,
                ip_type: None,
                bandwidth_size: None,
                bandwidth_charge_mode: None,
            }));
        }
        let eip = p.get("eip").ok_or_else(|| illegal("publicip needs id or eip"))?;
        let eip = object(eip, "publicip.eip")?;
        let ip_type = required_str(eip.get("iptype"), "iptype")?.to_string();
        let bandwidth =
            object(eip.get("bandwidth").ok_or_else(|| illegal("publicip.eip.bandwidth is required"))?, "bandwidth")?;
        let bandwidth_size = match required_str(bandwidth.get("sharetype"), "sharetype")? {
            "PER" => {
                let size = optional_int(bandwidth.get("size"), "bandwidth.size")?
                    .ok_or_else(|| illegal("bandwidth.size is required"))?;
                if size > 1000 {
                    return Err(EcsError::new("Ecs.0045"));
                }
                if size < 1 {
                    return Err(illegal("bandwidth.size must be between 1 and 1000."));
                }
                Some(size)
            }
            "WHOLE" => {
                required_str(bandwidth.get("id"), "id")?;
                None
            }
            other => return Err(illegal(format!("bandwidth.sharetype must be PER or WHOLE, not {other}"))),
        };
        if let Some(mode) = optional_str(bandwidth.get("chargemode"), "chargemode")?
            && !mode.is_empty()
            && mode != "traffic"
        {
            return Err(illegal("bandwidth.chargemode must be traffic."));
        }
        // That a pool exists to allocate from is the core's rule (Ecs.0013).
        Ok(Some(PublicIp {
            existing: None,
            delete_on_termination,
            ip_type: Some(ip_type),
            bandwidth_size,
            bandwidth_charge_mode: Some("traffic".into()),
        }))
    }

    /// `tags` (v1.1, `"key.value"`) and `server_tags` (`{key, value}`),
    /// kept as the server's tags `key=value`.
    fn tags(&self) -> Result<Vec<String>, EcsError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for t in array(self.server, "tags")? {
            let t = t.as_str().ok_or_else(|| illegal("tags[] must be strings"))?;
            let (k, v) = t.split_once('.').unwrap_or((t, ""));
            pairs.push((k.to_string(), v.to_string()));
        }
        for t in array(self.server, "server_tags")? {
            let key = t.get("key").and_then(Value::as_str).ok_or_else(|| illegal("server_tags[].key is required"))?;
            let value = optional_str(t.get("value"), "server_tags[].value")?.unwrap_or_default();
            pairs.push((key.to_string(), value.to_string()));
        }
        if pairs.len() > MAX_TAGS {
            return Err(EcsError::new("Ecs.0905"));
        }
        let word = |s: &str, dot: bool| {
            s.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || c == '_'
                    || c == '-'
                    || (dot && c == '.')
                    || ('\u{4E00}'..='\u{9FFF}').contains(&c)
            })
        };
        let mut out = Vec::with_capacity(pairs.len());
        for (i, (k, v)) in pairs.iter().enumerate() {
            if k.is_empty() || k.chars().count() > 36 || v.chars().count() > 43 || !word(k, false) || !word(v, true) {
                return Err(EcsError::with_message("Ecs.0907", format!("Invalid tag {k}.{v}")));
            }
            if pairs[..i].iter().any(|(other, _)| other == k) {
                return Err(EcsError::new("Ecs.0908"));
            }
            out.push(format!("{k}={v}"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_seed_rules() {
        assert!(check_password("P@ssw0rd123").is_ok());
        assert!(check_password("Passw0rd").is_ok());
        for bad in ["Pa1!", "password", "PASSWORD123", "Pass word1!", "Root@12345", "xtoor@12345A", &"Aa1!".repeat(7)] {
            assert_eq!(check_password(bad).unwrap_err().code, "Ecs.0011", "{bad}");
        }
    }
}
