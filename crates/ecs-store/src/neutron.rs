//! Neutron's side of the network records: the attributes only it shows,
//! ports' security groups, routers and their interfaces, and the updates
//! of networks, subnets and ports.

use std::collections::HashMap;

use ecs_types::neutron::{NeutronAttrs, Router, RouterInterface};
use ecs_types::server::ServerPort;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::port::{NewPort, PortRefusal, insert_port};
use crate::{Store, StoreError, StoreResult, flag, time};

fn attrs_from_row(row: &AnyRow) -> StoreResult<NeutronAttrs> {
    let pairs: String = row.try_get("allowed_address_pairs")?;
    Ok(NeutronAttrs {
        description: row.try_get("description")?,
        admin_state_up: flag(row, "admin_state_up")?,
        enable_dhcp: flag(row, "enable_dhcp")?,
        allowed_address_pairs: serde_json::from_str(&pairs)
            .map_err(|e| StoreError::Corrupt(format!("allowed address pairs: {e}")))?,
        device_owner: row.try_get("device_owner")?,
        device_id: row.try_get("device_id")?,
        revision_number: row.try_get("revision_number")?,
        updated_at: row.try_get::<Option<i64>, _>("updated_at")?.map(time::from_db).transpose()?,
    })
}

const ATTR_COLUMNS: &str = "resource_id, description, admin_state_up, enable_dhcp, allowed_address_pairs, \
    device_owner, device_id, revision_number, updated_at";

/// Why a router change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterRefusal {
    /// The router still has interfaces.
    InUse,
}

impl Store {
    /// Neutron's attributes of a resource (the defaults if none were set).
    pub async fn neutron_attrs(&self, id: &str) -> StoreResult<NeutronAttrs> {
        let row = sqlx::query(&format!("SELECT {ATTR_COLUMNS} FROM neutron_attributes WHERE resource_id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(attrs_from_row).transpose().map(Option::unwrap_or_default)
    }

    /// Every resource's attributes that were set, by resource id.
    pub async fn neutron_attrs_all(&self) -> StoreResult<HashMap<String, NeutronAttrs>> {
        let rows = sqlx::query(&format!("SELECT {ATTR_COLUMNS} FROM neutron_attributes")).fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok((r.try_get("resource_id")?, attrs_from_row(r)?))).collect()
    }

    /// Sets a resource's attributes, counting a revision.
    pub async fn neutron_attrs_set(&self, id: &str, a: &NeutronAttrs) -> StoreResult<()> {
        let pairs = serde_json::to_string(&a.allowed_address_pairs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO neutron_attributes (resource_id, description, admin_state_up, enable_dhcp, \
             allowed_address_pairs, device_owner, device_id, revision_number, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (resource_id) DO UPDATE SET \
             description = $2, admin_state_up = $3, enable_dhcp = $4, allowed_address_pairs = $5, \
             device_owner = $6, device_id = $7, revision_number = neutron_attributes.revision_number + 1, \
             updated_at = $9",
        )
        .bind(id)
        .bind(&a.description)
        .bind(a.admin_state_up)
        .bind(a.enable_dhcp)
        .bind(pairs)
        .bind(&a.device_owner)
        .bind(&a.device_id)
        .bind(a.revision_number)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Forgets a deleted resource's attributes.
    pub async fn neutron_attrs_delete(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM neutron_attributes WHERE resource_id = $1").bind(id).execute(&self.write).await?;
        Ok(())
    }

    pub async fn network_update(&self, id: &str, name: &str, external: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE networks SET name = $1, external = $2 WHERE id = $3")
            .bind(name)
            .bind(external)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn subnet_update(&self, id: &str, name: &str, dns_nameservers: &[String]) -> StoreResult<()> {
        let done = sqlx::query("UPDATE subnets SET name = $1, dns_nameservers = $2 WHERE id = $3")
            .bind(name)
            .bind(dns_nameservers.join(","))
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn port_rename(&self, id: &str, name: &str) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE ports SET name = $1 WHERE id = $2").bind(name).bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Moves an unbound port to another address of its network; refused
    /// like a create when the address is taken or outside its subnets.
    pub async fn port_readdress(&self, id: &str, address: &str) -> StoreResult<Result<(), PortRefusal>> {
        let port = self.port_get(id).await?;
        let subnets = self.subnet_list(&port.network_id).await?;
        let ip: std::net::IpAddr = address.parse().map_err(|_| StoreError::Corrupt(format!("fixed ip {address}")))?;
        let Some(subnet) =
            subnets.iter().find(|s| s.cidr.parse::<ipnet::IpNet>().map(|n| n.contains(&ip)).unwrap_or(false))
        else {
            return Ok(Err(PortRefusal::AddressOutsideSubnets(address.to_string())));
        };
        let done = sqlx::query("UPDATE ports SET subnet_id = $1, address = $2 WHERE id = $3")
            .bind(&subnet.id)
            .bind(ip.to_string())
            .bind(id)
            .execute(&self.write)
            .await;
        match done.map_err(StoreError::from) {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Conflict(_)) => Ok(Err(PortRefusal::AddressInUse(address.to_string()))),
            Err(e) => Err(e),
        }
    }

    /// The security groups set on ports, by port id.
    pub async fn port_security_groups_all(&self) -> StoreResult<HashMap<String, Vec<String>>> {
        let rows = sqlx::query("SELECT port_id, group_id FROM port_security_groups ORDER BY group_id")
            .fetch_all(&self.read)
            .await?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for r in &rows {
            out.entry(r.try_get("port_id")?).or_default().push(r.try_get("group_id")?);
        }
        Ok(out)
    }

    /// Replaces a port's security groups.
    pub async fn port_security_groups_set(&self, port_id: &str, groups: &[String]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM port_security_groups WHERE port_id = $1").bind(port_id).execute(&mut *tx).await?;
        for g in groups {
            sqlx::query("INSERT INTO port_security_groups (port_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(port_id)
                .bind(g)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn router_interfaces(&self, router_id: Option<&str>) -> StoreResult<Vec<RouterInterface>> {
        let rows = sqlx::query(
            "SELECT i.router_id, i.port_id, i.subnet_id FROM router_interfaces i JOIN ports p ON p.id = i.port_id \
             WHERE ($1 IS NULL OR i.router_id = $1) ORDER BY p.created_at, p.id",
        )
        .bind(router_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RouterInterface {
                    router_id: r.try_get("router_id")?,
                    port_id: r.try_get("port_id")?,
                    subnet_id: r.try_get("subnet_id")?,
                })
            })
            .collect()
    }

    /// A project's routers (every router when None), with their interfaces.
    pub async fn router_list(&self, project_id: Option<&str>) -> StoreResult<Vec<Router>> {
        let rows = sqlx::query(
            "SELECT id, project_id, name, description, admin_state_up, gateway_network_id, created_at FROM routers \
             WHERE ($1 IS NULL OR project_id = $1) ORDER BY created_at, id",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        let interfaces = self.router_interfaces(None).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok(Router {
                    interfaces: interfaces.iter().filter(|i| i.router_id == id).cloned().collect(),
                    id,
                    project_id: r.try_get("project_id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    admin_state_up: flag(r, "admin_state_up")?,
                    gateway_network_id: r.try_get("gateway_network_id")?,
                    created_at: time::from_db(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    pub async fn router_get(&self, id: &str) -> StoreResult<Router> {
        self.router_list(None).await?.into_iter().find(|r| r.id == id).ok_or(StoreError::NotFound)
    }

    /// Creates a router unless the project holds `limit` already (-1: no
    /// limit), counted in the same transaction with the project locked.
    /// False when refused.
    pub async fn router_create(&self, r: &Router, limit: i64) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(&r.project_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM routers WHERE project_id = $1")
            .bind(&r.project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO routers (id, project_id, name, description, admin_state_up, gateway_network_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.project_id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(r.admin_state_up)
        .bind(&r.gateway_network_id)
        .bind(time::to_db(r.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a router's name, description, admin state and gateway.
    pub async fn router_update(&self, r: &Router) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE routers SET name = $1, description = $2, admin_state_up = $3, gateway_network_id = $4 \
             WHERE id = $5",
        )
        .bind(&r.name)
        .bind(&r.description)
        .bind(r.admin_state_up)
        .bind(&r.gateway_network_id)
        .bind(&r.id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a router without interfaces.
    pub async fn router_delete(&self, id: &str) -> StoreResult<Result<(), RouterRefusal>> {
        let mut tx = self.write.begin().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM router_interfaces WHERE router_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Ok(Err(RouterRefusal::InUse));
        }
        let done = sqlx::query("DELETE FROM routers WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Adds an interface to a router: a new port with `address` (the
    /// subnet's gateway) on the subnet, in one transaction.
    pub async fn router_interface_create(
        &self,
        router: &Router,
        network_id: &str,
        subnet_id: &str,
        address: &str,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        let mut tx = self.write.begin().await?;
        let new = NewPort {
            id: ecs_types::random::uuid().to_string(),
            project_id: &router.project_id,
            network_id,
            subnet_id: Some(subnet_id),
            fixed_ip: Some(address),
            name: "",
            server_id: None,
            nic_index: 0,
            preserve_on_delete: true,
        };
        let port = match insert_port(&mut tx, self.backend, new).await? {
            Ok(port) => port,
            Err(refusal) => return Ok(Err(refusal)),
        };
        sqlx::query("INSERT INTO router_interfaces (port_id, router_id, subnet_id) VALUES ($1, $2, $3)")
            .bind(&port.id)
            .bind(&router.id)
            .bind(subnet_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(port))
    }

    /// Makes an existing unbound port an interface of a router. False if
    /// it is an interface already or a server holds it.
    pub async fn router_interface_adopt(&self, router_id: &str, port: &ServerPort) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let free: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM ports WHERE id = $1 AND server_id IS NULL \
             AND id NOT IN (SELECT port_id FROM router_interfaces)",
        )
        .bind(&port.id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if free == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO router_interfaces (port_id, router_id, subnet_id) VALUES ($1, $2, $3)")
            .bind(&port.id)
            .bind(router_id)
            .bind(&port.subnet_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes an interface and deletes its port, as Neutron does.
    pub async fn router_interface_delete(&self, port_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let done =
            sqlx::query("DELETE FROM router_interfaces WHERE port_id = $1").bind(port_id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM ports WHERE id = $1").bind(port_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM neutron_attributes WHERE resource_id = $1").bind(port_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every router interface (the floating-IP rule looks across projects:
    /// an admin's router may serve a project's subnet).
    pub async fn router_interfaces_all(&self) -> StoreResult<Vec<RouterInterface>> {
        self.router_interfaces(None).await
    }
}
