//! Compute records: flavors and key pairs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A flavor (Nova's instance type). `id` is the public flavor id
/// (`s3.small.1`), not a database key.
#[derive(Debug, Clone, PartialEq)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub ephemeral_gb: i64,
    pub swap_mb: i64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub disabled: bool,
    pub description: Option<String>,
    pub extra_specs: BTreeMap<String, String>,
    pub created_at: Timestamp,
}

/// What a flavor is made from (admin create and the seed).
#[derive(Debug, Clone, PartialEq)]
pub struct FlavorSpec {
    pub id: String,
    pub name: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub ephemeral_gb: i64,
    pub swap_mb: i64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub description: Option<String>,
    pub extra_specs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeypairType {
    Ssh,
    X509,
}

impl KeypairType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeypairType::Ssh => "ssh",
            KeypairType::X509 => "x509",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ssh" => Some(KeypairType::Ssh),
            "x509" => Some(KeypairType::X509),
            _ => None,
        }
    }
}

/// A key pair, owned by one user (Nova scopes key pairs by user, not project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keypair {
    /// Database id; Nova shows it as an integer.
    pub id: i64,
    pub user_id: String,
    pub name: String,
    pub key_type: KeypairType,
    pub public_key: String,
    pub fingerprint: String,
    pub created_at: Timestamp,
}

/// A bootable image record (the image service that ecsd embeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub status: String,
    pub visibility: String,
    pub owner_project_id: Option<String>,
    pub disk_format: String,
    pub container_format: String,
    pub min_ram_mb: i64,
    pub min_disk_gb: i64,
    pub size_bytes: i64,
    pub os_type: String,
    pub properties: BTreeMap<String, String>,
    pub created_at: Timestamp,
}

/// A network (`project_id` `None` with `shared`: visible to every project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: Option<String>,
    pub shared: bool,
    /// An external network: a pool of floating IPs, not for servers' NICs.
    pub external: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub network_id: String,
    pub name: String,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub ip_version: i64,
    pub dns_nameservers: Vec<String>,
    /// Address ranges (first, last) to allocate from; empty: the whole CIDR.
    pub allocation_pools: Vec<(String, String)>,
    pub created_at: Timestamp,
}

/// A security group and its ingress rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub rules: Vec<SecurityGroupRule>,
}

/// One ingress rule: traffic of `protocol` on ports `from_port..=to_port`
/// from `cidr` or from members of `remote_group_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupRule {
    pub id: String,
    pub group_id: String,
    pub protocol: Option<String>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidr: Option<String>,
    pub remote_group_id: Option<String>,
    /// `ingress` (what Nova shows) or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
}

/// A floating IP: an address of an external network, allocated to a
/// project and perhaps bound to a server's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloatingIp {
    pub id: String,
    pub project_id: String,
    pub network_id: String,
    pub pool: String,
    pub address: String,
    pub port_id: Option<String>,
    pub fixed_ip: Option<String>,
    pub server_id: Option<String>,
    pub created_at: Timestamp,
    /// What the Huawei EIP API says of it (unset for one made elsewhere).
    pub eip: EipAttrs,
}

/// A floating IP as a Huawei EIP: its alias, line type and dedicated
/// bandwidth. Unset values show the EIP API's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EipAttrs {
    pub alias: Option<String>,
    /// The line: `5_bgp`, `5_sbgp`...
    pub ip_type: Option<String>,
    pub bandwidth_name: Option<String>,
    /// Mbit/s.
    pub bandwidth_size: Option<i64>,
    /// `traffic` or `bandwidth`.
    pub bandwidth_charge_mode: Option<String>,
}

/// A server group: members placed by `policy` (affinity, anti-affinity and
/// their soft variants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerGroup {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: String,
    pub policy: String,
    pub max_server_per_host: Option<i64>,
    pub members: Vec<String>,
}
