//! Ports and fixed-IP allocation (IPAM). An address is unique per subnet
//! by constraint; allocation picks the lowest free host address.

use std::collections::HashSet;
use std::net::IpAddr;

use ecs_types::server::ServerPort;
use ipnet::IpNet;
use rand::Rng;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Store, StoreError, StoreResult, time};

pub(crate) fn port_from_row(row: &AnyRow) -> StoreResult<ServerPort> {
    Ok(ServerPort {
        id: row.try_get("id")?,
        server_id: row.try_get::<Option<String>, _>("server_id")?.unwrap_or_default(),
        network_id: row.try_get("network_id")?,
        network_name: row.try_get("network_name")?,
        subnet_id: row.try_get("subnet_id")?,
        address: row.try_get("address")?,
        mac: row.try_get("mac")?,
        nic_index: row.try_get("nic_index")?,
    })
}

/// Why a port could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRefusal {
    /// The network has no subnet to take an address from.
    NoSubnet,
    /// Every address of the subnet is taken.
    Exhausted,
    /// The requested fixed IP is taken.
    AddressInUse(String),
    /// The requested fixed IP is not in any subnet of the network.
    AddressOutsideSubnets(String),
}

/// A random MAC with OpenStack's `fa:16:3e` prefix.
fn new_mac() -> String {
    let mut rng = rand::thread_rng();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", rng.r#gen::<u8>(), rng.r#gen::<u8>(), rng.r#gen::<u8>())
}

/// The lowest host address of `net` that is neither used nor reserved.
fn lowest_free(net: &IpNet, gateway: Option<&str>, used: &HashSet<String>) -> Option<IpAddr> {
    let gateway = gateway.and_then(|g| g.parse::<IpAddr>().ok());
    net.hosts().find(|ip| Some(*ip) != gateway && !used.contains(&ip.to_string()))
}

impl Store {
    /// Allocates the `nic_index`-th port of a server on `network_id`, with
    /// `fixed_ip` if given. Idempotent by (server, nic_index): a port that
    /// already exists is returned.
    pub async fn port_allocate(
        &self,
        server_id: &str,
        project_id: &str,
        nic_index: i64,
        network_id: &str,
        fixed_ip: Option<&str>,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        const SELECT: &str = "SELECT p.id, p.server_id, p.network_id, n.name AS network_name, p.subnet_id, \
            p.address, p.mac, p.nic_index FROM ports p JOIN networks n ON n.id = p.network_id";
        let mut tx = self.write.begin().await?;
        if let Some(row) = sqlx::query(&format!("{SELECT} WHERE p.server_id = $1 AND p.nic_index = $2"))
            .bind(server_id)
            .bind(nic_index)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok(Ok(port_from_row(&row)?));
        }
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        let subnets = sqlx::query(&format!(
            "SELECT id, cidr, gateway_ip FROM subnets WHERE network_id = $1 AND ip_version = 4 ORDER BY created_at, id{lock}"
        ))
        .bind(network_id)
        .fetch_all(&mut *tx)
        .await?;
        if subnets.is_empty() {
            return Ok(Err(PortRefusal::NoSubnet));
        }
        let mut chosen = None;
        for subnet in &subnets {
            let subnet_id: String = subnet.try_get("id")?;
            let cidr: String = subnet.try_get("cidr")?;
            let gateway: Option<String> = subnet.try_get("gateway_ip")?;
            let net: IpNet = cidr.parse().map_err(|_| StoreError::Corrupt(format!("subnet cidr {cidr}")))?;
            if let Some(ip) = fixed_ip {
                let addr: IpAddr = ip.parse().map_err(|_| StoreError::Corrupt(format!("fixed ip {ip}")))?;
                if net.contains(&addr) {
                    chosen = Some((subnet_id, addr.to_string()));
                    break;
                }
                continue;
            }
            let used: HashSet<String> = sqlx::query("SELECT address FROM ports WHERE subnet_id = $1")
                .bind(&subnet_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("address"))
                .collect::<Result<_, _>>()?;
            if let Some(ip) = lowest_free(&net, gateway.as_deref(), &used) {
                chosen = Some((subnet_id, ip.to_string()));
                break;
            }
        }
        let Some((subnet_id, address)) = chosen else {
            return Ok(Err(match fixed_ip {
                Some(ip) => PortRefusal::AddressOutsideSubnets(ip.to_string()),
                None => PortRefusal::Exhausted,
            }));
        };
        let port_id = uuid::Uuid::new_v4().to_string();
        let inserted = sqlx::query(
            "INSERT INTO ports (id, project_id, network_id, subnet_id, address, mac, server_id, nic_index, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&port_id)
        .bind(project_id)
        .bind(network_id)
        .bind(&subnet_id)
        .bind(&address)
        .bind(new_mac())
        .bind(server_id)
        .bind(nic_index)
        .bind(time::to_db(chrono::Utc::now()))
        .execute(&mut *tx)
        .await;
        match inserted.map_err(StoreError::from) {
            Ok(_) => {}
            // A MAC clash is a 1-in-16-million accident: the caller's retry draws again.
            Err(StoreError::Conflict(_)) => return Ok(Err(PortRefusal::AddressInUse(address))),
            Err(e) => return Err(e),
        }
        let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1")).bind(&port_id).fetch_one(&mut *tx).await?;
        let port = port_from_row(&row)?;
        tx.commit().await?;
        Ok(Ok(port))
    }

    /// Whether `address` is taken on any subnet of `network_id`.
    pub async fn port_address_in_use(&self, network_id: &str, address: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM ports WHERE network_id = $1 AND address = $2")
            .bind(network_id)
            .bind(address)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Releases every port of a server. Idempotent.
    pub async fn ports_release(&self, server_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM ports WHERE server_id = $1").bind(server_id).execute(&self.write).await?;
        Ok(())
    }
}
