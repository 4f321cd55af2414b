//! How IMS shows an image: Glance's attributes and IMS's `__`-prefixed
//! ones (what huaweicloudsdkims's `ImageInfo` reads), all as strings
//! where IMS sends strings.

use ecs_types::Timestamp;
use ecs_types::image::GlanceImage;
use serde_json::{Value, json};

fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// IMS's `__imagetype` of an image, for the project `project`: `gold`
/// (public), `private` (the project's own), `shared` (someone else's,
/// shared with it).
pub(super) fn imagetype(g: &GlanceImage, project: Option<&str>) -> &'static str {
    let i = &g.image;
    if matches!(i.visibility.as_str(), "public" | "community") {
        "gold"
    } else if i.owner_project_id.is_some() && i.owner_project_id.as_deref() == project {
        "private"
    } else {
        "shared"
    }
}

/// IMS's platform names, from Glance's `os_distro` values.
fn platform_of_distro(distro: &str) -> Option<&'static str> {
    let d = distro.to_ascii_lowercase();
    Some(match d.as_str() {
        "ubuntu" => "Ubuntu",
        "centos" => "CentOS",
        "debian" => "Debian",
        "fedora" => "Fedora",
        "rhel" | "redhat" => "RedHat",
        "sles" | "suse" => "SUSE",
        "opensuse" => "OpenSUSE",
        "windows" => "Windows",
        "euleros" => "EulerOS",
        "openeuler" => "openEuler",
        "coreos" => "CoreOS",
        "oraclelinux" | "oracle" => "Oracle Linux",
        "rocky" => "Rocky Linux",
        "almalinux" => "AlmaLinux",
        _ => return None,
    })
}

/// An image's platform: its `__platform`, else its distribution's, else
/// the one its name starts with, else `Other`.
fn platform(g: &GlanceImage) -> String {
    let p = &g.image.properties;
    if let Some(platform) = p.get("__platform") {
        return platform.clone();
    }
    if let Some(platform) = p.get("os_distro").and_then(|d| platform_of_distro(d)) {
        return platform.into();
    }
    let first = g.image.name.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
    platform_of_distro(first).unwrap_or("Other").into()
}

/// `Linux` or `Windows`, as IMS spells them.
fn os_type(g: &GlanceImage, platform: &str) -> &'static str {
    let t = g.image.os_type.to_ascii_lowercase();
    if t == "windows" || platform == "Windows" { "Windows" } else { "Linux" }
}

fn os_bit(g: &GlanceImage) -> String {
    let p = &g.image.properties;
    if let Some(bit) = p.get("__os_bit") {
        return bit.clone();
    }
    match p.get("architecture").map(String::as_str) {
        Some("i386" | "i686" | "x86") => "32".into(),
        _ => "64".into(),
    }
}

/// IMS's statuses: `queued`, `saving`, `active`, `killed`, `deleted`.
fn status(glance: &str) -> &str {
    match glance {
        "uploading" | "importing" => "saving",
        "deactivated" => "active",
        "pending_delete" => "deleted",
        other => other,
    }
}

/// An image as IMS shows it to `project`.
pub(super) fn image(g: &GlanceImage, project: Option<&str>) -> Value {
    let i = &g.image;
    let p = &i.properties;
    let prop = |key: &str| p.get(key).cloned().unwrap_or_default();
    let platform = platform(g);
    let os_type = os_type(g, &platform);
    let bit = os_bit(g);
    let os_version = p.get("__os_version").cloned().unwrap_or_else(|| match p.get("os_version") {
        Some(v) => format!("{platform} {v} {bit}bit"),
        None => format!("Other {os_type}({bit} bit)"),
    });
    let arm = matches!(p.get("architecture").map(String::as_str), Some("aarch64" | "arm64"));
    let virtual_env =
        if p.get("virtual_env_type").is_some() { prop("virtual_env_type") } else { "FusionCompute".into() };
    let active = i.status == "active";
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "status": status(&i.status),
        "visibility": i.visibility,
        "owner": i.owner_project_id.clone().unwrap_or_default(),
        "protected": g.protected,
        "checksum": g.checksum.clone().unwrap_or_default(),
        "container_format": i.container_format,
        "disk_format": i.disk_format,
        "min_disk": i.min_disk_gb,
        "min_ram": i.min_ram_mb,
        "max_ram": prop("max_ram"),
        "size": i.size_bytes,
        "virtual_size": g.virtual_size.unwrap_or(0),
        "tags": g.tags,
        "created_at": time(i.created_at),
        "updated_at": time(g.updated_at),
        "active_at": if active { time(g.updated_at) } else { String::new() },
        "self": format!("/v2/images/{}", i.id),
        "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image",
        "enterprise_project_id": p.get("enterprise_project_id").cloned().unwrap_or_else(|| "0".into()),
        "virtual_env_type": virtual_env,
        "hw_firmware_type": p.get("hw_firmware_type").cloned().unwrap_or_else(|| "bios".into()),
        "hw_vif_multiqueue_enabled": p.get("hw_vif_multiqueue_enabled").cloned().unwrap_or_else(|| "true".into()),
        "os_shutdown_timeout": prop("os_shutdown_timeout"),
        "__imagetype": imagetype(g, project),
        "__platform": platform,
        "__os_type": os_type,
        "__os_version": os_version,
        "__os_bit": bit,
        "__image_size": i.size_bytes.to_string(),
        "__image_source_type": "uds",
        "__isregistered": "true",
        "__description": prop("__description"),
        "__data_origin": prop("__data_origin"),
        "__originalimagename": prop("__originalimagename"),
        "__backup_id": prop("__backup_id"),
        "__productcode": prop("__productcode"),
        "__image_displayname": i.name,
        "__root_origin": prop("__root_origin"),
        "__sequence_num": prop("__sequence_num"),
        "__support_kvm": "true",
        "__support_xen": "false",
        "__support_arm": arm.to_string(),
        "__support_amd": "false",
        "__support_diskintensive": "false",
        "__support_highperformance": "false",
        "__support_largememory": "false",
        "__support_kvm_infiniband": "false",
        "__support_xen_hana": "false",
        "__support_kvm_gpu_type": "",
        "__support_xen_gpu_type": "",
        "__support_fc_inject": "false",
        "__support_kvm_hi1822_hisriov": "false",
        "__support_kvm_hi1822_hivirtionet": "false",
        "__support_agent_list": prop("__support_agent_list"),
        "__system__cmkid": prop("__system__cmkid"),
        "__os_feature_list": prop("__os_feature_list"),
        "__account_code": prop("__account_code"),
        "__is_offshelved": "false",
        "__lazyloading": "false",
        "__system_support_market": false,
    });
    // The image's other properties, as Glance shows them (ecsd's own stay hidden).
    for (key, value) in p {
        if !key.starts_with("ecsd:") && v.get(key).is_none() {
            v[key] = json!(value);
        }
    }
    v
}
