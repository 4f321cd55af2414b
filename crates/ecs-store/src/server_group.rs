//! Server groups and their members.

use ecs_types::ServerGroup;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Store, StoreError, StoreResult, time};

/// Why a server was not added to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRefusal {
    /// The server is in another group already (a server has one group).
    InOtherGroup(String),
    /// The group holds `limit` members already.
    Full(i64),
    /// Other members hold `max_per_host` places on the server's host.
    HostTaken(String),
}

fn group_from_row(row: &AnyRow, members: Vec<String>) -> StoreResult<ServerGroup> {
    Ok(ServerGroup {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        policy: row.try_get("policy")?,
        max_server_per_host: row.try_get("max_server_per_host")?,
        members,
    })
}

impl Store {
    async fn group_members(&self, id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT server_id FROM server_group_members WHERE group_id = $1 ORDER BY server_id")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("server_id")?)).collect()
    }

    /// Creates a group unless the project holds `limit` already.
    pub async fn server_group_create(&self, g: &ServerGroup, limit: i64) -> StoreResult<Option<ServerGroup>> {
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(&g.project_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM server_groups WHERE project_id = $1")
            .bind(&g.project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO server_groups (id, project_id, user_id, name, policy, max_server_per_host, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&g.id)
        .bind(&g.project_id)
        .bind(&g.user_id)
        .bind(&g.name)
        .bind(&g.policy)
        .bind(g.max_server_per_host)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(g.clone()))
    }

    pub async fn server_group_get(&self, id: &str) -> StoreResult<ServerGroup> {
        let row = sqlx::query("SELECT * FROM server_groups WHERE id = $1").bind(id).fetch_one(&self.read).await?;
        group_from_row(&row, self.group_members(id).await?)
    }

    /// A project's groups (every group when None).
    pub async fn server_group_list(&self, project_id: Option<&str>) -> StoreResult<Vec<ServerGroup>> {
        let rows =
            sqlx::query("SELECT * FROM server_groups WHERE ($1 IS NULL OR project_id = $1) ORDER BY created_at, id")
                .bind(project_id)
                .fetch_all(&self.read)
                .await?;
        let mut out = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            out.push(group_from_row(row, self.group_members(&id).await?)?);
        }
        Ok(out)
    }

    pub async fn server_group_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM server_groups WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Adds servers to a group unless it would then hold more than `limit`.
    pub async fn server_group_add_members(&self, id: &str, servers: &[String], limit: i64) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM server_groups WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM server_group_members WHERE group_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held + servers.len() as i64 > limit {
            return Ok(false);
        }
        for s in servers {
            sqlx::query("INSERT INTO server_group_members (group_id, server_id) VALUES ($1, $2)")
                .bind(id)
                .bind(s)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Adds one placed server to a group, all checks in one transaction:
    /// not in a group yet, fewer than `limit` members, and (with
    /// `max_per_host`, anti-affinity) fewer than that many other members
    /// on the server's host. Adding a member again changes nothing.
    pub async fn server_group_add_member(
        &self,
        id: &str,
        server_id: &str,
        limit: i64,
        max_per_host: Option<i64>,
    ) -> StoreResult<Result<(), MemberRefusal>> {
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            // The server (it joins one group at most), then the group (its
            // member count and hosts).
            sqlx::query("SELECT id FROM servers WHERE id = $1 FOR UPDATE")
                .bind(server_id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query("SELECT id FROM server_groups WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let current = sqlx::query("SELECT group_id FROM server_group_members WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = current {
            let group: String = row.try_get("group_id")?;
            return Ok(if group == id { Ok(()) } else { Err(MemberRefusal::InOtherGroup(group)) });
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM server_group_members WHERE group_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && held >= limit {
            return Ok(Err(MemberRefusal::Full(limit)));
        }
        if let Some(max) = max_per_host {
            let row = sqlx::query(
                "SELECT c.name AS host, (SELECT COUNT(*) FROM server_group_members m \
                 JOIN allocations o ON o.server_id = m.server_id \
                 WHERE m.group_id = $1 AND o.host_id = a.host_id) AS n \
                 FROM allocations a JOIN compute_hosts c ON c.id = a.host_id WHERE a.server_id = $2",
            )
            .bind(id)
            .bind(server_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let n: i64 = row.try_get("n")?;
                if n >= max {
                    return Ok(Err(MemberRefusal::HostTaken(row.try_get("host")?)));
                }
            }
        }
        sqlx::query("INSERT INTO server_group_members (group_id, server_id) VALUES ($1, $2)")
            .bind(id)
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Removes a server from a group; false if it was not a member.
    pub async fn server_group_remove_member(&self, id: &str, server_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM server_group_members WHERE group_id = $1 AND server_id = $2")
            .bind(id)
            .bind(server_id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The group a server is in, if any.
    pub async fn server_group_of(&self, server_id: &str) -> StoreResult<Option<ServerGroup>> {
        let row = sqlx::query("SELECT group_id FROM server_group_members WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => Ok(Some(self.server_group_get(&r.try_get::<String, _>("group_id")?).await?)),
            None => Ok(None),
        }
    }

    /// Hosts of a group's other members, one entry per member: where they
    /// hold claims, which are written when placed (so a member being placed
    /// at this moment counts too).
    pub async fn server_group_hosts(&self, group_id: &str, except: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT c.name AS host FROM server_group_members m JOIN allocations a ON a.server_id = m.server_id \
             JOIN compute_hosts c ON c.id = a.host_id WHERE m.group_id = $1 AND m.server_id <> $2",
        )
        .bind(group_id)
        .bind(except)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("host")?)).collect()
    }

    /// Removes a server from its groups (it was deleted).
    pub async fn server_group_forget(&self, server_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM server_group_members WHERE server_id = $1")
            .bind(server_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
