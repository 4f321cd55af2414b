//! Images, networks and subnets: only what the seed and listing need so far.

use ecs_types::{Image, Network, Subnet};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreResult, time};

pub(crate) fn image_from_row(row: &AnyRow) -> StoreResult<Image> {
    Ok(Image {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        visibility: row.try_get("visibility")?,
        owner_project_id: row.try_get("owner_project_id")?,
        disk_format: row.try_get("disk_format")?,
        container_format: row.try_get("container_format")?,
        min_ram_mb: row.try_get("min_ram_mb")?,
        min_disk_gb: row.try_get("min_disk_gb")?,
        size_bytes: row.try_get("size_bytes")?,
        os_type: row.try_get("os_type")?,
        properties: serde_json::from_str(&row.try_get::<String, _>("properties")?)
            .map_err(|e| crate::StoreError::Corrupt(format!("image properties: {e}")))?,
        created_at: time::from_db(row.try_get("created_at")?)?,
    })
}

fn network_from_row(row: &AnyRow) -> StoreResult<Network> {
    Ok(Network {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        project_id: row.try_get("project_id")?,
        shared: crate::flag(row, "shared")?,
        external: crate::flag(row, "external")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
    })
}

pub(crate) async fn insert_subnet(tx: &mut sqlx::Transaction<'_, sqlx::Any>, s: &Subnet) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO subnets (id, network_id, name, cidr, gateway_ip, ip_version, dns_nameservers, \
         allocation_pools, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&s.id)
    .bind(&s.network_id)
    .bind(&s.name)
    .bind(&s.cidr)
    .bind(&s.gateway_ip)
    .bind(s.ip_version)
    .bind(s.dns_nameservers.join(","))
    .bind(serde_json::to_string(&s.allocation_pools).expect("pools serialise"))
    .bind(time::to_db(s.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn image_create(&self, i: &Image) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO images (id, name, status, visibility, owner_project_id, disk_format, \
             container_format, min_ram_mb, min_disk_gb, size_bytes, os_type, properties, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.status)
        .bind(&i.visibility)
        .bind(&i.owner_project_id)
        .bind(&i.disk_format)
        .bind(&i.container_format)
        .bind(i.min_ram_mb)
        .bind(i.min_disk_gb)
        .bind(i.size_bytes)
        .bind(&i.os_type)
        .bind(serde_json::to_string(&i.properties).expect("properties serialise"))
        .bind(time::to_db(i.created_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn image_get(&self, id: &str) -> StoreResult<Image> {
        let row = sqlx::query("SELECT * FROM images WHERE id = $1").bind(id).fetch_one(&self.read).await?;
        image_from_row(&row)
    }

    /// Sets an image's status (and size, once known).
    pub async fn image_set_status(&self, id: &str, status: &str, size_bytes: Option<i64>) -> StoreResult<()> {
        sqlx::query("UPDATE images SET status = $1, size_bytes = COALESCE($2, size_bytes) WHERE id = $3")
            .bind(status)
            .bind(size_bytes)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn image_set_properties(
        &self,
        id: &str,
        properties: &std::collections::BTreeMap<String, String>,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE images SET properties = $1 WHERE id = $2")
            .bind(serde_json::to_string(properties).expect("properties serialise"))
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes an image record; `NotFound` if there was none.
    pub async fn image_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM images WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn image_list(&self) -> StoreResult<Vec<Image>> {
        sqlx::query("SELECT * FROM images ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(image_from_row)
            .collect()
    }

    /// Creates a network and its subnets in one transaction.
    pub async fn network_create(&self, n: &Network, subnets: &[Subnet]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO networks (id, name, project_id, shared, external, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&n.id)
        .bind(&n.name)
        .bind(&n.project_id)
        .bind(n.shared)
        .bind(n.external)
        .bind(time::to_db(n.created_at))
        .execute(&mut *tx)
        .await?;
        for s in subnets {
            insert_subnet(&mut tx, s).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn network_list(&self) -> StoreResult<Vec<Network>> {
        let rows = sqlx::query(
            "SELECT id, name, project_id, shared, external, created_at FROM networks ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(network_from_row).collect()
    }

    /// Adds a subnet to an existing network.
    pub async fn subnet_create(&self, s: &Subnet) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        insert_subnet(&mut tx, s).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a network and its subnets unless a port is on it.
    pub async fn network_delete(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ports WHERE network_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM subnets WHERE network_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM networks WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a subnet unless a port has an address on it.
    pub async fn subnet_delete(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ports WHERE subnet_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM subnets WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn network_get(&self, id: &str) -> StoreResult<Network> {
        let row = sqlx::query("SELECT id, name, project_id, shared, external, created_at FROM networks WHERE id = $1")
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        network_from_row(&row)
    }

    pub async fn subnet_list(&self, network_id: &str) -> StoreResult<Vec<Subnet>> {
        let rows = sqlx::query(
            "SELECT id, network_id, name, cidr, gateway_ip, ip_version, dns_nameservers, allocation_pools, \
             created_at FROM subnets WHERE network_id = $1 ORDER BY created_at, id",
        )
        .bind(network_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let dns: String = row.try_get("dns_nameservers")?;
                Ok(Subnet {
                    id: row.try_get("id")?,
                    network_id: row.try_get("network_id")?,
                    name: row.try_get("name")?,
                    cidr: row.try_get("cidr")?,
                    gateway_ip: row.try_get("gateway_ip")?,
                    ip_version: row.try_get("ip_version")?,
                    dns_nameservers: dns.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
                    allocation_pools: serde_json::from_str(&row.try_get::<String, _>("allocation_pools")?)
                        .map_err(|e| crate::StoreError::Corrupt(format!("allocation pools: {e}")))?,
                    created_at: time::from_db(row.try_get("created_at")?)?,
                })
            })
            .collect()
    }
}
