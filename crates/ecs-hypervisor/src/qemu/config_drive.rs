//! The config drive: an ISO 9660 image labelled `config-2` in OpenStack's
//! layout (`openstack/latest/{meta_data,network_data,vendor_data}.json`
//! and `user_data`), which cloud-init and the tiny test guest read at boot.

use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::{GuestSpec, NicSpec};

/// The files of the drive, by path under its root.
pub fn files(spec: &GuestSpec) -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("openstack/latest/meta_data.json", meta_data(spec).to_string().into_bytes()),
        ("openstack/latest/network_data.json", network_data(&spec.nics).to_string().into_bytes()),
        ("openstack/latest/vendor_data.json", b"{}".to_vec()),
        ("openstack/latest/vendor_data2.json", b"{}".to_vec()),
    ];
    if let Some(user_data) = &spec.user_data {
        files.push(("openstack/latest/user_data", user_data.clone()));
    }
    files
}

fn meta_data(spec: &GuestSpec) -> Value {
    let mut public_keys = Map::new();
    let mut keys = Vec::new();
    for (i, key) in spec.public_keys.iter().enumerate() {
        let name = match (&spec.key_name, i) {
            (Some(name), 0) => name.clone(),
            _ => format!("key-{i}"),
        };
        public_keys.insert(name.clone(), json!(key));
        keys.push(json!({"name": name, "type": "ssh", "data": key}));
    }
    let mut meta = json!({
        "uuid": spec.id,
        "name": spec.name,
        "hostname": spec.hostname,
        "launch_index": 0,
        "availability_zone": spec.availability_zone,
        "project_id": spec.project_id,
        "meta": spec.metadata,
        "public_keys": public_keys,
        "keys": keys,
        "devices": [],
    });
    if let Some(password) = &spec.admin_pass {
        meta["admin_pass"] = json!(password);
    }
    meta
}

/// Static addresses for every NIC (Nova's `network_data.json`).
fn network_data(nics: &[NicSpec]) -> Value {
    let mut links = Vec::new();
    let mut networks = Vec::new();
    let mut services = Vec::new();
    for (i, nic) in nics.iter().enumerate() {
        let link = format!("tap{}", short(&nic.port_id));
        links.push(json!({
            "id": link, "vif_id": nic.port_id, "type": "phy",
            "ethernet_mac_address": nic.mac, "mtu": 1500,
        }));
        let (Some(IpAddr::V4(ip)), Some(subnet)) = (nic.ip, &nic.subnet) else { continue };
        let prefix: u32 = subnet.cidr.split_once('/').and_then(|(_, p)| p.parse().ok()).unwrap_or(32).min(32);
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        let routes: Vec<Value> = subnet
            .gateway
            .iter()
            .map(|gw| json!({"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": gw}))
            .collect();
        let dns: Vec<Value> = subnet.dns.iter().map(|d| json!({"type": "dns", "address": d})).collect();
        networks.push(json!({
            "id": format!("network{i}"), "type": "ipv4", "link": link,
            "ip_address": ip.to_string(), "netmask": std::net::Ipv4Addr::from(mask).to_string(),
            "routes": routes, "network_id": nic.network_id, "services": dns,
        }));
        for d in &subnet.dns {
            let service = json!({"type": "dns", "address": d});
            if !services.contains(&service) {
                services.push(service);
            }
        }
    }
    json!({"links": links, "networks": networks, "services": services})
}

/// The first 11 characters of an id, as Neutron names its TAP devices.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(11)]
}

/// Writes the drive's files under `staging` and makes the ISO at `iso`
/// (through a temporary file, so a crash never leaves half an image).
pub async fn build(spec: &GuestSpec, staging: &Path, iso: &Path, iso_tool: &Path) -> std::io::Result<()> {
    let _ = tokio::fs::remove_dir_all(staging).await;
    for (path, content) in files(spec) {
        let file = staging.join(path);
        tokio::fs::create_dir_all(file.parent().expect("a file under the root")).await?;
        tokio::fs::write(&file, content).await?;
    }
    let partial = iso.with_extension("iso.partial");
    let output = tokio::process::Command::new(iso_tool)
        .args(["-o"])
        .arg(&partial)
        .args(["-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-publisher", "ecsd", "-quiet", "-J", "-r"])
        .args(["-V", "config-2"])
        .arg(staging)
        .output()
        .await?;
    let _ = tokio::fs::remove_dir_all(staging).await;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "{} failed: {}",
            iso_tool.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    tokio::fs::rename(&partial, iso).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_data_is_static_ipv4_with_routes_and_dns() {
        let mut spec = crate::contract::spec("cd");
        spec.admin_pass = Some("Secret-1".into());
        let files = files(&spec);
        let meta: Value = serde_json::from_slice(&files[0].1).unwrap();
        assert_eq!(meta["uuid"], "cd");
        assert_eq!(meta["hostname"], "contract-cd");
        assert_eq!(meta["admin_pass"], "Secret-1");
        assert_eq!(meta["public_keys"]["contract-key"], "ssh-ed25519 AAAA contract");
        let net: Value = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(net["links"][0]["ethernet_mac_address"], "fa:16:3e:00:00:01");
        assert_eq!(net["networks"][0]["ip_address"], "192.168.0.10");
        assert_eq!(net["networks"][0]["netmask"], "255.255.255.0");
        assert_eq!(net["networks"][0]["routes"][0]["gateway"], "192.168.0.1");
        assert_eq!(net["services"][0]["address"], "192.168.0.2");
        assert!(files.iter().any(|(p, c)| *p == "openstack/latest/user_data" && c == b"#cloud-config\n"));
    }
}
