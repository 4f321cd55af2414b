//! Floating IPs: addresses of external networks, allocated to projects and
//! bound to ports.

use std::collections::HashSet;
use std::net::IpAddr;

use ecs_types::{EipAttrs, FloatingIp};
use ipnet::IpNet;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::port::lowest_free;
use crate::{Backend, Store, StoreError, StoreResult, time};

const SELECT: &str = "SELECT f.id, f.project_id, f.network_id, n.name AS pool, f.address, f.port_id, \
    p.address AS fixed_ip, p.server_id, f.created_at, f.alias, f.ip_type, f.bandwidth_name, f.bandwidth_size, \
    f.bandwidth_charge_mode FROM floating_ips f JOIN networks n ON n.id = f.network_id \
    LEFT JOIN ports p ON p.id = f.port_id";

fn from_row(row: &AnyRow) -> StoreResult<FloatingIp> {
    Ok(FloatingIp {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        network_id: row.try_get("network_id")?,
        pool: row.try_get("pool")?,
        address: row.try_get("address")?,
        port_id: row.try_get("port_id")?,
        fixed_ip: row.try_get("fixed_ip")?,
        server_id: row.try_get("server_id")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        eip: EipAttrs {
            alias: row.try_get("alias")?,
            ip_type: row.try_get("ip_type")?,
            bandwidth_name: row.try_get("bandwidth_name")?,
            bandwidth_size: row.try_get("bandwidth_size")?,
            bandwidth_charge_mode: row.try_get("bandwidth_charge_mode")?,
        },
    })
}

/// Why an allocation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloatingRefusal {
    /// The project holds `limit` already.
    Quota(i64),
    /// The pool has no free address.
    Exhausted,
}

impl Store {
    /// Allocates the lowest free address of pool `network_id` to a project
    /// as floating IP `id`. Idempotent by `id`: one that exists is returned.
    pub async fn floating_ip_allocate(
        &self,
        id: &str,
        project_id: &str,
        network_id: &str,
        limit: i64,
    ) -> StoreResult<Result<FloatingIp, FloatingRefusal>> {
        match self.floating_ip_get(id).await {
            Ok(existing) => return Ok(Ok(existing)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let mut tx = self.write.begin().await?;
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        sqlx::query(&format!("SELECT id FROM networks WHERE id = $1{lock}"))
            .bind(network_id)
            .fetch_one(&mut *tx)
            .await?;
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM floating_ips WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(Err(FloatingRefusal::Quota(limit)));
        }
        let used: HashSet<String> = sqlx::query("SELECT address FROM floating_ips WHERE network_id = $1")
            .bind(network_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("address"))
            .collect::<Result<_, _>>()?;
        let subnets = sqlx::query(
            "SELECT cidr, gateway_ip, allocation_pools FROM subnets WHERE network_id = $1 ORDER BY created_at, id",
        )
        .bind(network_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut address = None;
        for s in &subnets {
            let cidr: String = s.try_get("cidr")?;
            let net: IpNet = cidr.parse().map_err(|_| StoreError::Corrupt(format!("subnet cidr {cidr}")))?;
            let pools: Vec<(String, String)> = serde_json::from_str(&s.try_get::<String, _>("allocation_pools")?)
                .map_err(|e| StoreError::Corrupt(format!("allocation pools: {e}")))?;
            let pools: Vec<(IpAddr, IpAddr)> =
                pools.iter().filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?))).collect();
            let gateway: Option<String> = s.try_get("gateway_ip")?;
            if let Some(ip) = lowest_free(&net, gateway.as_deref(), &pools, &used) {
                address = Some(ip.to_string());
                break;
            }
        }
        let Some(address) = address else { return Ok(Err(FloatingRefusal::Exhausted)) };
        sqlx::query(
            "INSERT INTO floating_ips (id, project_id, network_id, address, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(project_id)
        .bind(network_id)
        .bind(&address)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(self.floating_ip_get(id).await?))
    }

    pub async fn floating_ip_get(&self, id: &str) -> StoreResult<FloatingIp> {
        let row = sqlx::query(&format!("{SELECT} WHERE f.id = $1")).bind(id).fetch_one(&self.read).await?;
        from_row(&row)
    }

    /// A project's floating IPs (every one when None).
    pub async fn floating_ip_list(&self, project_id: Option<&str>) -> StoreResult<Vec<FloatingIp>> {
        let rows = sqlx::query(&format!("{SELECT} WHERE ($1 IS NULL OR f.project_id = $1) ORDER BY f.address"))
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Binds a floating IP to a port (or unbinds it with None).
    pub async fn floating_ip_bind(&self, id: &str, port_id: Option<&str>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE floating_ips SET port_id = $1 WHERE id = $2")
            .bind(port_id)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets a floating IP's EIP attributes (all of them, as given).
    pub async fn floating_ip_set_eip(&self, id: &str, eip: &EipAttrs) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE floating_ips SET alias = $1, ip_type = $2, bandwidth_name = $3, bandwidth_size = $4, \
             bandwidth_charge_mode = $5 WHERE id = $6",
        )
        .bind(&eip.alias)
        .bind(&eip.ip_type)
        .bind(&eip.bandwidth_name)
        .bind(eip.bandwidth_size)
        .bind(&eip.bandwidth_charge_mode)
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Binds a floating IP to `port_id` if it is bound to nothing (or to
    /// that port already); false if it is bound elsewhere.
    pub async fn floating_ip_bind_if_free(&self, id: &str, port_id: &str) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE floating_ips SET port_id = $1 WHERE id = $2 AND (port_id IS NULL OR port_id = $1)")
                .bind(port_id)
                .bind(id)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn floating_ip_release(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM floating_ips WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Binds a floating IP to a server's port for an ECS create, marking
    /// whether it goes with the server. False if it is bound elsewhere.
    /// Idempotent.
    pub async fn floating_ip_bind_for_build(
        &self,
        id: &str,
        port_id: &str,
        delete_on_termination: bool,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE floating_ips SET port_id = $1, delete_on_termination = $2 \
             WHERE id = $3 AND (port_id IS NULL OR port_id = $1)",
        )
        .bind(port_id)
        .bind(delete_on_termination)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases the floating IPs bound to a server's ports: every one (an
    /// ECS delete with `delete_publicip`), or those marked to go with it.
    /// Idempotent.
    pub async fn floating_ips_release_for_server(&self, server_id: &str, all: bool) -> StoreResult<()> {
        let only_marked = if all { "" } else { " AND delete_on_termination = TRUE" };
        sqlx::query(&format!(
            "DELETE FROM floating_ips WHERE port_id IN (SELECT id FROM ports WHERE server_id = $1){only_marked}"
        ))
        .bind(server_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
