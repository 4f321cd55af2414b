//! The VPC API's records beside Neutron's: a VPC's CIDR (its router holds
//! the rest) and which VPC a network belongs to as a VPC subnet.

use ecs_types::neutron::{Vpc, VpcMembership};
use ecs_types::{Network, Subnet};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::network::insert_subnet;
use crate::{Store, StoreError, StoreResult, time};

/// Why a VPC change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpcRefusal {
    /// The project holds its quota already.
    Quota,
    /// The VPC still has subnets.
    HasSubnets,
    /// The subnet still has ports.
    InUse,
}

fn vpc_from_row(r: &AnyRow) -> StoreResult<Vpc> {
    Ok(Vpc {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        cidr: r.try_get("cidr")?,
        created_at: time::from_db(r.try_get("created_at")?)?,
        updated_at: time::from_db(r.try_get("updated_at")?)?,
    })
}

fn membership_from_row(r: &AnyRow) -> StoreResult<VpcMembership> {
    Ok(VpcMembership {
        network_id: r.try_get("network_id")?,
        vpc_id: r.try_get("vpc_id")?,
        availability_zone: r.try_get("availability_zone")?,
        updated_at: time::from_db(r.try_get("updated_at")?)?,
    })
}

const VPC_SELECT: &str = "SELECT r.id AS id, r.project_id AS project_id, r.name AS name, \
    r.description AS description, v.cidr AS cidr, r.created_at AS created_at, v.updated_at AS updated_at \
    FROM vpcs v JOIN routers r ON r.id = v.router_id";

impl Store {
    /// VPCs (of one project, or all), oldest first.
    pub async fn vpc_list(&self, project_id: Option<&str>) -> StoreResult<Vec<Vpc>> {
        let rows =
            sqlx::query(&format!("{VPC_SELECT} WHERE ($1 IS NULL OR r.project_id = $1) ORDER BY r.created_at, r.id"))
                .bind(project_id)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(vpc_from_row).collect()
    }

    pub async fn vpc_get(&self, id: &str) -> StoreResult<Vpc> {
        let row = sqlx::query(&format!("{VPC_SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        vpc_from_row(&row)
    }

    /// Creates a VPC (its router and CIDR) unless the project holds `limit`
    /// routers already (-1: no limit), counted in the same transaction.
    pub async fn vpc_create(&self, v: &Vpc, limit: i64) -> StoreResult<Result<(), VpcRefusal>> {
        let mut tx = self.write.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(&v.project_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM routers WHERE project_id = $1")
            .bind(&v.project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(Err(VpcRefusal::Quota));
        }
        sqlx::query(
            "INSERT INTO routers (id, project_id, name, description, admin_state_up, gateway_network_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6)",
        )
        .bind(&v.id)
        .bind(&v.project_id)
        .bind(&v.name)
        .bind(&v.description)
        .bind(true)
        .bind(time::to_db(v.created_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO vpcs (router_id, cidr, updated_at) VALUES ($1, $2, $3)")
            .bind(&v.id)
            .bind(&v.cidr)
            .bind(time::to_db(v.updated_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Makes an existing router a VPC (the seed's VPC).
    pub async fn vpc_adopt(&self, router_id: &str, cidr: &str, now: ecs_types::Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO vpcs (router_id, cidr, updated_at) VALUES ($1, $2, $3)")
            .bind(router_id)
            .bind(cidr)
            .bind(time::to_db(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn vpc_update(&self, v: &Vpc) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE routers SET name = $2, description = $3 WHERE id = $1")
            .bind(&v.id)
            .bind(&v.name)
            .bind(&v.description)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE vpcs SET cidr = $2, updated_at = $3 WHERE router_id = $1")
            .bind(&v.id)
            .bind(&v.cidr)
            .bind(time::to_db(v.updated_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a VPC and its router unless it has subnets or interfaces.
    pub async fn vpc_delete(&self, id: &str) -> StoreResult<Result<(), VpcRefusal>> {
        let mut tx = self.write.begin().await?;
        let subnets: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM vpc_subnets s JOIN networks n ON n.id = s.network_id WHERE s.vpc_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let interfaces: i64 = sqlx::query("SELECT COUNT(*) AS n FROM router_interfaces WHERE router_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if subnets > 0 || interfaces > 0 {
            return Ok(Err(VpcRefusal::HasSubnets));
        }
        sqlx::query("DELETE FROM vpc_subnets WHERE vpc_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM vpcs WHERE router_id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM routers WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Every network's VPC membership (networks since deleted left out).
    pub async fn vpc_memberships(&self) -> StoreResult<Vec<VpcMembership>> {
        let rows = sqlx::query(
            "SELECT s.network_id, s.vpc_id, s.availability_zone, s.updated_at FROM vpc_subnets s \
             JOIN networks n ON n.id = s.network_id ORDER BY n.created_at, n.id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(membership_from_row).collect()
    }

    /// Puts an existing network into a VPC (the seed's subnet).
    pub async fn vpc_membership_add(&self, m: &VpcMembership) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO vpc_subnets (network_id, vpc_id, availability_zone, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&m.network_id)
        .bind(&m.vpc_id)
        .bind(&m.availability_zone)
        .bind(time::to_db(m.updated_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn vpc_membership_touch(&self, network_id: &str, now: ecs_types::Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE vpc_subnets SET updated_at = $2 WHERE network_id = $1")
            .bind(network_id)
            .bind(time::to_db(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Creates a VPC subnet: the network, its subnet and its membership,
    /// unless the project holds `limit` networks already (-1: no limit).
    pub async fn vpc_subnet_create(
        &self,
        network: &Network,
        subnet: &Subnet,
        membership: &VpcMembership,
        limit: i64,
    ) -> StoreResult<Result<(), VpcRefusal>> {
        let mut tx = self.write.begin().await?;
        if let (crate::Backend::Postgres, Some(project)) = (self.backend, &network.project_id) {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(project)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM networks WHERE project_id = $1")
            .bind(&network.project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(Err(VpcRefusal::Quota));
        }
        sqlx::query(
            "INSERT INTO networks (id, name, project_id, shared, external, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&network.id)
        .bind(&network.name)
        .bind(&network.project_id)
        .bind(network.shared)
        .bind(network.external)
        .bind(time::to_db(network.created_at))
        .execute(&mut *tx)
        .await?;
        insert_subnet(&mut tx, subnet).await?;
        sqlx::query(
            "INSERT INTO vpc_subnets (network_id, vpc_id, availability_zone, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&membership.network_id)
        .bind(&membership.vpc_id)
        .bind(&membership.availability_zone)
        .bind(time::to_db(membership.updated_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Deletes a VPC subnet (network, subnets, membership, attributes)
    /// unless a port is on it.
    pub async fn vpc_subnet_delete(&self, network_id: &str) -> StoreResult<Result<(), VpcRefusal>> {
        let mut tx = self.write.begin().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ports WHERE network_id = $1")
            .bind(network_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Ok(Err(VpcRefusal::InUse));
        }
        sqlx::query(
            "DELETE FROM neutron_attributes WHERE resource_id = $1 OR resource_id IN \
             (SELECT id FROM subnets WHERE network_id = $1)",
        )
        .bind(network_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM subnets WHERE network_id = $1").bind(network_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM vpc_subnets WHERE network_id = $1").bind(network_id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM networks WHERE id = $1").bind(network_id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(Ok(()))
    }
}
