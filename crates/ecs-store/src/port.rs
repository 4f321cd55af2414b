//! Ports and fixed-IP allocation (IPAM). An address is unique per subnet
//! by constraint; allocation picks the lowest free host address. A port is
//! made for a server's requested network (and deleted with it) or by a
//! user (and only unbound when its server goes).

use std::collections::HashSet;
use std::net::IpAddr;

use ecs_types::server::{RequestedNic, ServerPort};
use ipnet::IpNet;
use rand::Rng;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Backend, Store, StoreError, StoreResult, time};

const SELECT: &str = "SELECT p.id, p.server_id, p.network_id, n.name AS network_name, p.subnet_id, p.address, \
    p.mac, p.nic_index, p.project_id, p.name, p.preserve_on_delete FROM ports p JOIN networks n ON n.id = p.network_id";

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
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        preserve_on_delete: crate::flag(row, "preserve_on_delete")?,
    })
}

/// Why a port could not be allocated or bound.
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
    /// The port is bound to another server.
    PortInUse,
}

/// A random MAC with OpenStack's `fa:16:3e` prefix.
fn new_mac() -> String {
    let mut rng = ecs_types::random::rng();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", rng.r#gen::<u8>(), rng.r#gen::<u8>(), rng.r#gen::<u8>())
}

/// The lowest host address of `net`, inside its allocation pools if it
/// has any, that is neither used nor the gateway.
pub(crate) fn lowest_free(
    net: &IpNet,
    gateway: Option<&str>,
    pools: &[(IpAddr, IpAddr)],
    used: &HashSet<String>,
) -> Option<IpAddr> {
    let gateway = gateway.and_then(|g| g.parse::<IpAddr>().ok());
    let pooled = |ip: &IpAddr| pools.is_empty() || pools.iter().any(|(first, last)| first <= ip && ip <= last);
    net.hosts().find(|ip| Some(*ip) != gateway && pooled(ip) && !used.contains(&ip.to_string()))
}

/// A new port's place: which subnet, which address.
pub(crate) async fn choose_address(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    network_id: &str,
    subnet_id: Option<&str>,
    fixed_ip: Option<&str>,
) -> StoreResult<Result<(String, String), PortRefusal>> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let subnets = sqlx::query(&format!(
        "SELECT id, cidr, gateway_ip, allocation_pools FROM subnets WHERE network_id = $1 AND ip_version = 4 \
         ORDER BY created_at, id{lock}"
    ))
    .bind(network_id)
    .fetch_all(&mut **tx)
    .await?;
    if subnets.is_empty() {
        return Ok(Err(PortRefusal::NoSubnet));
    }
    for subnet in &subnets {
        let id: String = subnet.try_get("id")?;
        if subnet_id.is_some_and(|wanted| wanted != id) {
            continue;
        }
        let subnet_id = id;
        let cidr: String = subnet.try_get("cidr")?;
        let gateway: Option<String> = subnet.try_get("gateway_ip")?;
        let net: IpNet = cidr.parse().map_err(|_| StoreError::Corrupt(format!("subnet cidr {cidr}")))?;
        let pools: Vec<(String, String)> = serde_json::from_str(&subnet.try_get::<String, _>("allocation_pools")?)
            .map_err(|e| StoreError::Corrupt(format!("allocation pools: {e}")))?;
        let pools: Vec<(IpAddr, IpAddr)> =
            pools.iter().filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?))).collect();
        if let Some(ip) = fixed_ip {
            let addr: IpAddr = ip.parse().map_err(|_| StoreError::Corrupt(format!("fixed ip {ip}")))?;
            if net.contains(&addr) {
                return Ok(Ok((subnet_id, addr.to_string())));
            }
            continue;
        }
        let used: HashSet<String> = sqlx::query("SELECT address FROM ports WHERE subnet_id = $1")
            .bind(&subnet_id)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get("address"))
            .collect::<Result<_, _>>()?;
        if let Some(ip) = lowest_free(&net, gateway.as_deref(), &pools, &used) {
            return Ok(Ok((subnet_id, ip.to_string())));
        }
    }
    Ok(Err(match fixed_ip {
        Some(ip) => PortRefusal::AddressOutsideSubnets(ip.to_string()),
        None => PortRefusal::Exhausted,
    }))
}

/// What a new port is.
pub(crate) struct NewPort<'a> {
    pub(crate) id: String,
    pub(crate) project_id: &'a str,
    pub(crate) network_id: &'a str,
    pub(crate) subnet_id: Option<&'a str>,
    pub(crate) fixed_ip: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) server_id: Option<&'a str>,
    pub(crate) nic_index: i64,
    pub(crate) preserve_on_delete: bool,
}

/// Allocates an address and inserts the port in `tx`.
pub(crate) async fn insert_port(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    p: NewPort<'_>,
) -> StoreResult<Result<ServerPort, PortRefusal>> {
    let (subnet_id, address) = match choose_address(tx, backend, p.network_id, p.subnet_id, p.fixed_ip).await? {
        Ok(place) => place,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let port_id = p.id;
    let inserted = sqlx::query(
        "INSERT INTO ports (id, project_id, network_id, subnet_id, address, mac, server_id, nic_index, name, \
         preserve_on_delete, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&port_id)
    .bind(p.project_id)
    .bind(p.network_id)
    .bind(&subnet_id)
    .bind(&address)
    .bind(new_mac())
    .bind(p.server_id)
    .bind(p.nic_index)
    .bind(p.name)
    .bind(p.preserve_on_delete)
    .bind(time::to_db(ecs_types::clock::now()))
    .execute(&mut **tx)
    .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => {}
        // A MAC clash is a 1-in-16-million accident: the caller's retry draws again.
        Err(StoreError::Conflict(_)) => return Ok(Err(PortRefusal::AddressInUse(address))),
        Err(e) => return Err(e),
    }
    let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1")).bind(&port_id).fetch_one(&mut **tx).await?;
    Ok(Ok(port_from_row(&row)?))
}

/// Inserts the port and commits, unless the allocation was refused.
async fn insert_port_committed(
    mut tx: Transaction<'_, Any>,
    backend: Backend,
    p: NewPort<'_>,
) -> StoreResult<Result<ServerPort, PortRefusal>> {
    let port = insert_port(&mut tx, backend, p).await?;
    if port.is_ok() {
        tx.commit().await?;
    }
    Ok(port)
}

impl Store {
    /// Allocates the `nic_index`-th port of a server as `nic` asks (its
    /// network, subnet and fixed IP). Idempotent by (server, nic_index): a
    /// port that already exists is returned.
    pub async fn port_allocate(
        &self,
        server_id: &str,
        project_id: &str,
        nic_index: i64,
        nic: &RequestedNic,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        let mut tx = self.write.begin().await?;
        if let Some(row) = sqlx::query(&format!("{SELECT} WHERE p.server_id = $1 AND p.nic_index = $2"))
            .bind(server_id)
            .bind(nic_index)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok(Ok(port_from_row(&row)?));
        }
        let new = NewPort {
            id: ecs_types::random::uuid().to_string(),
            project_id,
            network_id: &nic.network_id,
            subnet_id: nic.subnet_id.as_deref(),
            fixed_ip: nic.fixed_ip.as_deref(),
            name: "",
            server_id: Some(server_id),
            nic_index,
            preserve_on_delete: false,
        };
        insert_port_committed(tx, self.backend, new).await
    }

    /// Makes port `port_id` on `network_id` for a server as its next NIC
    /// (an interface attach). Idempotent by the port id, which the caller
    /// chose before: a port that exists already is returned.
    pub async fn port_allocate_as(
        &self,
        port_id: &str,
        server_id: &str,
        project_id: &str,
        nic: &RequestedNic,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        let mut tx = self.write.begin().await?;
        if let Some(row) =
            sqlx::query(&format!("{SELECT} WHERE p.id = $1")).bind(port_id).fetch_optional(&mut *tx).await?
        {
            return Ok(Ok(port_from_row(&row)?));
        }
        let nic_index: i64 = sqlx::query("SELECT COALESCE(MAX(nic_index) + 1, 0) AS n FROM ports WHERE server_id = $1")
            .bind(server_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let new = NewPort {
            id: port_id.to_string(),
            project_id,
            network_id: &nic.network_id,
            subnet_id: nic.subnet_id.as_deref(),
            fixed_ip: nic.fixed_ip.as_deref(),
            name: "",
            server_id: Some(server_id),
            nic_index,
            preserve_on_delete: false,
        };
        insert_port_committed(tx, self.backend, new).await
    }

    /// A user's port, bound to nothing yet.
    pub async fn port_create(
        &self,
        project_id: &str,
        network_id: &str,
        name: &str,
        fixed_ip: Option<&str>,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        let tx = self.write.begin().await?;
        let new = NewPort {
            id: ecs_types::random::uuid().to_string(),
            project_id,
            network_id,
            subnet_id: None,
            fixed_ip,
            name,
            server_id: None,
            nic_index: 0,
            preserve_on_delete: true,
        };
        insert_port_committed(tx, self.backend, new).await
    }

    pub async fn port_get(&self, id: &str) -> StoreResult<ServerPort> {
        let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1")).bind(id).fetch_one(&self.read).await?;
        port_from_row(&row)
    }

    /// Ports of a project (every port when `project_id` is None).
    pub async fn port_list(&self, project_id: Option<&str>) -> StoreResult<Vec<ServerPort>> {
        let rows =
            sqlx::query(&format!("{SELECT} WHERE ($1 IS NULL OR p.project_id = $1) ORDER BY p.created_at, p.id"))
                .bind(project_id)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(port_from_row).collect()
    }

    /// Binds a port to a server as its `nic_index`-th NIC (the next one if
    /// None). Idempotent for the same server; refused if another holds it.
    pub async fn port_bind(
        &self,
        port_id: &str,
        server_id: &str,
        nic_index: Option<i64>,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE ports SET nic_index = COALESCE($2, (SELECT COALESCE(MAX(q.nic_index) + 1, 0) FROM ports q \
             WHERE q.server_id = $1)), server_id = $1 WHERE id = $3 AND server_id IS NULL",
        )
        .bind(server_id)
        .bind(nic_index)
        .bind(port_id)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1")).bind(port_id).fetch_one(&mut *tx).await?;
        let port = port_from_row(&row)?;
        if done.rows_affected() == 0 && port.server_id != server_id {
            return Ok(Err(PortRefusal::PortInUse));
        }
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

    /// Takes a port off its server: a user's port is kept unbound, a port
    /// made for the server is deleted. Idempotent.
    pub async fn port_release(&self, port_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE ports SET server_id = NULL, nic_index = 0 WHERE id = $1 AND preserve_on_delete = $2")
            .bind(port_id)
            .bind(true)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM ports WHERE id = $1 AND preserve_on_delete = $2")
            .bind(port_id)
            .bind(false)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Releases every port of a server (see [`Store::port_release`]). Idempotent.
    pub async fn ports_release(&self, server_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE ports SET server_id = NULL, nic_index = 0 WHERE server_id = $1 AND preserve_on_delete = $2",
        )
        .bind(server_id)
        .bind(true)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM ports WHERE server_id = $1").bind(server_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user's port that no server holds.
    pub async fn port_delete(&self, port_id: &str) -> StoreResult<Result<(), PortRefusal>> {
        let done = sqlx::query("DELETE FROM ports WHERE id = $1 AND server_id IS NULL")
            .bind(port_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 1 {
            return Ok(Ok(()));
        }
        self.port_get(port_id).await?;
        Ok(Err(PortRefusal::PortInUse))
    }
}
