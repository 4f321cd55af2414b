//! What only the network service (Neutron) shows of the network records:
//! the attributes it adds to networks, subnets, ports and floating IPs,
//! and routers.

use crate::Timestamp;

/// Neutron's attributes of a network, subnet, port or floating IP (by id),
/// kept beside the record the other dialects share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeutronAttrs {
    pub description: String,
    pub admin_state_up: bool,
    /// Subnets only.
    pub enable_dhcp: bool,
    /// Ports only: (ip_address, mac_address) pairs.
    pub allowed_address_pairs: Vec<(String, String)>,
    /// Ports only: who owns a port no server holds (`network:router_interface`).
    pub device_owner: String,
    pub device_id: String,
    pub revision_number: i64,
    pub updated_at: Option<Timestamp>,
}

impl Default for NeutronAttrs {
    fn default() -> Self {
        NeutronAttrs {
            description: String::new(),
            admin_state_up: true,
            enable_dhcp: true,
            allowed_address_pairs: Vec::new(),
            device_owner: String::new(),
            device_id: String::new(),
            revision_number: 0,
            updated_at: None,
        }
    }
}

/// A router: a gateway on an external network, and interfaces (ports) on
/// subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    pub gateway_network_id: Option<String>,
    pub created_at: Timestamp,
    pub interfaces: Vec<RouterInterface>,
}

/// One interface of a router: its port on a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterInterface {
    pub router_id: String,
    pub port_id: String,
    pub subnet_id: String,
}

/// A VPC (Huawei Cloud's VPC API): a router of the same id, with the
/// address range its subnets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub cidr: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What makes a network a VPC subnet: its VPC and availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcMembership {
    pub network_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub updated_at: Timestamp,
}
