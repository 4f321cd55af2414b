//! EIP views, field for field as the SDK's response models read them.

use ecs_core::eip::{DEFAULT_TYPE, bandwidth_id, bandwidth_name, bandwidth_size};
use ecs_types::FloatingIp;
use serde_json::{Value, json};

/// EIP v1 times: `yyyy-MM-dd HH:mm:ss`, UTC.
fn time(f: &FloatingIp) -> String {
    f.created_at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// ISO times without a zone, as bandwidths and v3 show them.
fn iso(f: &FloatingIp) -> String {
    f.created_at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Bound to a port: ACTIVE; free: DOWN.
fn status(f: &FloatingIp) -> &'static str {
    if f.port_id.is_some() { "ACTIVE" } else { "DOWN" }
}

fn ip_type(f: &FloatingIp) -> &str {
    f.eip.ip_type.as_deref().unwrap_or(DEFAULT_TYPE)
}

fn charge_mode(f: &FloatingIp) -> &str {
    f.eip.bandwidth_charge_mode.as_deref().unwrap_or("bandwidth")
}

/// `PublicipCreateResp`.
pub fn created(f: &FloatingIp) -> Value {
    json!({
        "id": f.id,
        "status": status(f),
        "type": ip_type(f),
        "public_ip_address": f.address,
        "tenant_id": f.project_id,
        "create_time": time(f),
        "bandwidth_size": bandwidth_size(f),
        "ip_version": 4,
        "enterprise_project_id": "0",
        "alias": f.eip.alias,
    })
}

/// `PublicipUpdateResp`.
pub fn updated(f: &FloatingIp, region: &str) -> Value {
    let mut v = show(f, region);
    if let Some(o) = v.as_object_mut() {
        for key in ["tags", "public_border_group", "allow_share_bandwidth_types"] {
            o.remove(key);
        }
    }
    v
}

/// `PublicipShowResp`.
pub fn show(f: &FloatingIp, region: &str) -> Value {
    json!({
        "id": f.id,
        "status": status(f),
        "type": ip_type(f),
        "public_ip_address": f.address,
        "private_ip_address": f.fixed_ip,
        "port_id": f.port_id,
        "tenant_id": f.project_id,
        "create_time": time(f),
        "bandwidth_id": bandwidth_id(&f.id),
        "bandwidth_name": bandwidth_name(f),
        "bandwidth_share_type": "PER",
        "bandwidth_size": bandwidth_size(f),
        "profile": {"region_id": region, "user_id": "", "product_id": "", "order_id": ""},
        "enterprise_project_id": "0",
        "ip_version": 4,
        "tags": [],
        "public_border_group": "center",
        "allow_share_bandwidth_types": [],
        "alias": f.eip.alias,
    })
}

/// `BandwidthResp`: an EIP's dedicated (`PER`) bandwidth.
pub fn bandwidth(f: &FloatingIp) -> Value {
    let line = ip_type(f).strip_prefix("5_").unwrap_or("bgp").to_string();
    json!({
        "id": bandwidth_id(&f.id),
        "name": bandwidth_name(f),
        "size": bandwidth_size(f),
        "share_type": "PER",
        "charge_mode": charge_mode(f),
        "bandwidth_type": line,
        "billing_info": "",
        "publicip_info": [{
            "publicip_id": f.id,
            "publicip_address": f.address,
            "publicip_type": ip_type(f),
            "ip_version": 4,
        }],
        "tenant_id": f.project_id,
        "enterprise_project_id": "0",
        "status": "NORMAL",
        "enable_bandwidth_rules": false,
        "rule_quota": 0,
        "bandwidth_rules": [],
        "created_at": iso(f),
        "updated_at": iso(f),
        "public_border_group": "center",
    })
}

/// v3 `PublicipSingleShowResp`.
pub fn v3(f: &FloatingIp) -> Value {
    let vnic = f.port_id.as_ref().map(|port| {
        json!({
            "private_ip_address": f.fixed_ip,
            "port_id": port,
            "device_id": f.server_id,
            "device_owner": if f.server_id.is_some() { "compute:nova" } else { "" },
            "instance_id": f.server_id,
            "instance_type": if f.server_id.is_some() { "ECS" } else { "" },
        })
    });
    json!({
        "id": f.id,
        "project_id": f.project_id,
        "ip_version": 4,
        "public_ip_address": f.address,
        "network_type": ip_type(f),
        "status": status(f),
        "description": f.eip.alias.clone().unwrap_or_default(),
        "public_border_group": "center",
        "created_at": format!("{}Z", iso(f)),
        "updated_at": format!("{}Z", iso(f)),
        "type": "EIP",
        "vnic": vnic,
        "bandwidth": {
            "id": bandwidth_id(&f.id),
            "size": bandwidth_size(f),
            "share_type": "PER",
            "charge_mode": charge_mode(f),
            "name": bandwidth_name(f),
            "billing_info": "",
        },
        "enterprise_project_id": "0",
        "billing_info": "",
        "lock_status": "",
        "associate_instance_type": if f.port_id.is_some() { "PORT" } else { "" },
        "associate_instance_id": f.port_id.clone().unwrap_or_default(),
        "publicip_pool_id": f.network_id,
        "publicip_pool_name": ip_type(f),
        "alias": f.eip.alias,
    })
}
