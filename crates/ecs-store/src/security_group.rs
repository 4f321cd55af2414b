//! Security groups, their rules, and the servers in them.

use ecs_types::{SecurityGroup, SecurityGroupRule};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

fn rule_from_row(row: &AnyRow) -> StoreResult<SecurityGroupRule> {
    Ok(SecurityGroupRule {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        protocol: row.try_get("protocol")?,
        from_port: row.try_get("from_port")?,
        to_port: row.try_get("to_port")?,
        cidr: row.try_get("cidr")?,
        remote_group_id: row.try_get("remote_group_id")?,
        direction: row.try_get("direction")?,
        ethertype: row.try_get("ethertype")?,
    })
}

const RULE_COLUMNS: &str = "id, group_id, protocol, from_port, to_port, cidr, remote_group_id, direction, ethertype";

/// Why a security group change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRefusal {
    /// A group of that name exists in the project.
    Exists,
    /// The project has `limit` groups already.
    Quota(i64),
    /// Servers are in the group.
    InUse,
}

impl Store {
    async fn groups_where(&self, clause: &str, bind: Option<&str>) -> StoreResult<Vec<SecurityGroup>> {
        let rows = sqlx::query(&format!(
            "SELECT id, project_id, name, description FROM security_groups WHERE {clause} ORDER BY name, id"
        ))
        .bind(bind)
        .fetch_all(&self.read)
        .await?;
        let mut groups = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let rules = sqlx::query(&format!(
                "SELECT {RULE_COLUMNS} FROM security_group_rules WHERE group_id = $1 ORDER BY created_at, id"
            ))
            .bind(&id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(rule_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
            groups.push(SecurityGroup {
                id,
                project_id: row.try_get("project_id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                rules,
            });
        }
        Ok(groups)
    }

    /// A project's groups (every group when None).
    pub async fn security_group_list(&self, project_id: Option<&str>) -> StoreResult<Vec<SecurityGroup>> {
        self.groups_where("($1 IS NULL OR project_id = $1)", project_id).await
    }

    /// (id, name) of a project's groups, without their rules: what a
    /// server create needs to resolve names, in one query.
    pub async fn security_group_names(&self, project_id: &str) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT id, name FROM security_groups WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
    }

    pub async fn security_group_get(&self, id: &str) -> StoreResult<SecurityGroup> {
        self.groups_where("id = $1", Some(id)).await?.pop().ok_or(StoreError::NotFound)
    }

    /// Creates a group unless the project holds `limit` already (-1: no
    /// limit; counted in the same transaction, the project locked, like
    /// instances), with Neutron's rules for a new group: all egress (IPv4
    /// and IPv6); `self_rule` (the `default` group) adds all ingress from
    /// members of the group itself.
    pub async fn security_group_create(
        &self,
        project_id: &str,
        name: &str,
        description: &str,
        self_rule: bool,
        limit: i64,
    ) -> StoreResult<Result<SecurityGroup, GroupRefusal>> {
        let id = ecs_types::random::uuid().to_string();
        let now = time::to_db(ecs_types::clock::now());
        let mut tx = self.write.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM security_groups WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(Err(GroupRefusal::Quota(limit)));
        }
        let inserted = sqlx::query(
            "INSERT INTO security_groups (id, project_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(name)
        .bind(description)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted.map_err(StoreError::from) {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Ok(Err(GroupRefusal::Exists)),
            Err(e) => return Err(e),
        }
        let mut defaults = Vec::new();
        if self_rule {
            defaults.extend([("ingress", "IPv4", true), ("ingress", "IPv6", true)]);
        }
        defaults.extend([("egress", "IPv4", false), ("egress", "IPv6", false)]);
        // Spaced by a microsecond so that they list in this order.
        for (n, (direction, ethertype, remote)) in defaults.into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO security_group_rules (id, group_id, remote_group_id, direction, ethertype, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ecs_types::random::uuid().to_string())
            .bind(&id)
            .bind(remote.then_some(id.as_str()))
            .bind(direction)
            .bind(ethertype)
            .bind(now + n as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(self.security_group_get(&id).await?))
    }

    pub async fn security_group_update(
        &self,
        id: &str,
        name: &str,
        description: &str,
    ) -> StoreResult<Result<(), GroupRefusal>> {
        let done = sqlx::query("UPDATE security_groups SET name = $1, description = $2 WHERE id = $3")
            .bind(name)
            .bind(description)
            .bind(id)
            .execute(&self.write)
            .await;
        match done.map_err(StoreError::from) {
            Ok(d) if d.rows_affected() == 0 => Err(StoreError::NotFound),
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Conflict(_)) => Ok(Err(GroupRefusal::Exists)),
            Err(e) => Err(e),
        }
    }

    /// Deletes a group no server or port is in.
    pub async fn security_group_delete(&self, id: &str) -> StoreResult<Result<(), GroupRefusal>> {
        let mut tx = self.write.begin().await?;
        let used: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM server_security_groups WHERE group_id = $1) + \
             (SELECT COUNT(*) FROM port_security_groups WHERE group_id = $1) AS n",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if used > 0 {
            return Ok(Err(GroupRefusal::InUse));
        }
        let done = sqlx::query("DELETE FROM security_groups WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn security_group_rule_create(&self, r: &SecurityGroupRule) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO security_group_rules (id, group_id, protocol, from_port, to_port, cidr, remote_group_id, \
             direction, ethertype, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&r.id)
        .bind(&r.group_id)
        .bind(&r.protocol)
        .bind(r.from_port)
        .bind(r.to_port)
        .bind(&r.cidr)
        .bind(&r.remote_group_id)
        .bind(&r.direction)
        .bind(&r.ethertype)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn security_group_rule_get(&self, id: &str) -> StoreResult<SecurityGroupRule> {
        let row = sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM security_group_rules WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        rule_from_row(&row)
    }

    pub async fn security_group_rule_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM security_group_rules WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Puts a server in a group (or takes it out). Idempotent.
    pub async fn server_security_group_set(&self, server_id: &str, group_id: &str, member: bool) -> StoreResult<()> {
        if member {
            sqlx::query(
                "INSERT INTO server_security_groups (server_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(server_id)
            .bind(group_id)
            .execute(&self.write)
            .await?;
        } else {
            sqlx::query("DELETE FROM server_security_groups WHERE server_id = $1 AND group_id = $2")
                .bind(server_id)
                .bind(group_id)
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    /// The groups a server is in.
    pub async fn server_security_groups(&self, server_id: &str) -> StoreResult<Vec<SecurityGroup>> {
        self.groups_where("id IN (SELECT group_id FROM server_security_groups WHERE server_id = $1)", Some(server_id))
            .await
    }
}
