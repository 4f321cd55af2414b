//! Migration records: every move of a server between hosts.

use ecs_types::Timestamp;
use ecs_types::migration::{Migration, MigrationStatus, MigrationType};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

const COLUMNS: &str = "id, uuid, server_id, task_id, project_id, user_id, migration_type, status, source_compute, \
    source_node, dest_compute, dest_node, dest_host, old_flavor_id, new_flavor_id, memory_total, memory_processed, \
    memory_remaining, disk_total, disk_processed, disk_remaining, force_complete, created_at, updated_at";

fn migration_from_row(row: &AnyRow) -> StoreResult<Migration> {
    let kind: String = row.try_get("migration_type")?;
    let status: String = row.try_get("status")?;
    Ok(Migration {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        server_id: row.try_get("server_id")?,
        task_id: row.try_get("task_id")?,
        project_id: row.try_get("project_id")?,
        user_id: row.try_get("user_id")?,
        migration_type: MigrationType::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown migration type {kind}")))?,
        status: MigrationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown migration status {status}")))?,
        source_compute: row.try_get("source_compute")?,
        source_node: row.try_get("source_node")?,
        dest_compute: row.try_get("dest_compute")?,
        dest_node: row.try_get("dest_node")?,
        dest_host: row.try_get("dest_host")?,
        old_flavor_id: row.try_get("old_flavor_id")?,
        new_flavor_id: row.try_get("new_flavor_id")?,
        memory_total: row.try_get("memory_total")?,
        memory_processed: row.try_get("memory_processed")?,
        memory_remaining: row.try_get("memory_remaining")?,
        disk_total: row.try_get("disk_total")?,
        disk_processed: row.try_get("disk_processed")?,
        disk_remaining: row.try_get("disk_remaining")?,
        force_complete: crate::flag(row, "force_complete")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        updated_at: time::from_db(row.try_get("updated_at")?)?,
    })
}

/// A move as it starts.
#[derive(Debug, Clone)]
pub struct NewMigration {
    pub server_id: String,
    pub task_id: String,
    pub project_id: String,
    pub user_id: String,
    pub migration_type: MigrationType,
    pub status: MigrationStatus,
    pub source_compute: Option<String>,
    pub dest_compute: Option<String>,
    pub old_flavor_id: String,
    pub new_flavor_id: String,
}

/// Which migrations to list; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct MigrationListQuery {
    pub server_id: Option<String>,
    /// The source or the destination.
    pub host: Option<String>,
    pub status: Option<String>,
    pub migration_type: Option<String>,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub changes_since: Option<Timestamp>,
    pub changes_before: Option<Timestamp>,
}

/// How far a live move's copy has got, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoveProgress {
    pub memory_total: i64,
    pub memory_processed: i64,
    pub disk_total: i64,
    pub disk_processed: i64,
}

impl Store {
    /// Records a move; the task's record if it has one already (a task
    /// step that runs again).
    pub async fn migration_record(&self, m: &NewMigration) -> StoreResult<Migration> {
        let now = time::to_db(ecs_types::clock::now());
        sqlx::query(
            "INSERT INTO migrations (uuid, server_id, task_id, project_id, user_id, migration_type, status, \
             source_compute, source_node, dest_compute, dest_node, dest_host, old_flavor_id, new_flavor_id, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9, NULL, $10, $11, $12, $12) \
             ON CONFLICT (task_id) DO NOTHING",
        )
        .bind(ecs_types::random::uuid().to_string())
        .bind(&m.server_id)
        .bind(&m.task_id)
        .bind(&m.project_id)
        .bind(&m.user_id)
        .bind(m.migration_type.as_str())
        .bind(m.status.as_str())
        .bind(&m.source_compute)
        .bind(&m.dest_compute)
        .bind(&m.old_flavor_id)
        .bind(&m.new_flavor_id)
        .bind(now)
        .execute(&self.write)
        .await?;
        self.migration_of_task(&m.task_id).await?.ok_or(StoreError::NotFound)
    }

    /// The record a task made, if any.
    pub async fn migration_of_task(&self, task_id: &str) -> StoreResult<Option<Migration>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM migrations WHERE task_id = $1"))
            .bind(task_id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(migration_from_row).transpose()
    }

    /// A server's migration by Nova's integer id.
    pub async fn migration_get(&self, server_id: &str, id: i64) -> StoreResult<Migration> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM migrations WHERE server_id = $1 AND id = $2"))
            .bind(server_id)
            .bind(id)
            .fetch_optional(&self.write)
            .await?
            .ok_or(StoreError::NotFound)?;
        migration_from_row(&row)
    }

    /// Migrations matching `q`, newest first.
    pub async fn migration_list(&self, q: &MigrationListQuery) -> StoreResult<Vec<Migration>> {
        let mut sql = format!("SELECT {COLUMNS} FROM migrations WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = |sql: &mut String, clause: &str| {
            n += 1;
            sql.push_str(&clause.replace('?', &format!("${n}")));
        };
        for (value, clause) in [
            (&q.server_id, " AND server_id = ?"),
            (&q.status, " AND status = ?"),
            (&q.migration_type, " AND migration_type = ?"),
            (&q.project_id, " AND project_id = ?"),
            (&q.user_id, " AND user_id = ?"),
        ] {
            if let Some(v) = value {
                next(&mut sql, clause);
                texts.push(v.clone());
            }
        }
        let mut host_param = None;
        if let Some(h) = &q.host {
            next(&mut sql, " AND (source_compute = ? OR dest_compute = ?)");
            host_param = Some(h.clone());
        }
        let mut times = Vec::new();
        if let Some(t) = q.changes_since {
            next(&mut sql, " AND updated_at >= ?");
            times.push(time::to_db(t));
        }
        if let Some(t) = q.changes_before {
            next(&mut sql, " AND updated_at <= ?");
            times.push(time::to_db(t));
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC");
        let mut query = sqlx::query(&sql);
        for t in &texts {
            query = query.bind(t);
        }
        if let Some(h) = &host_param {
            query = query.bind(h);
        }
        for t in times {
            query = query.bind(t);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(migration_from_row).collect()
    }

    /// Sets a migration's status; with `from`, only out of one of those.
    /// Returns whether it changed.
    pub async fn migration_set_status(
        &self,
        uuid: &str,
        status: MigrationStatus,
        from: Option<&[MigrationStatus]>,
    ) -> StoreResult<bool> {
        let mut sql = "UPDATE migrations SET status = $1, updated_at = $2 WHERE uuid = $3".to_string();
        if let Some(from) = from {
            let names: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
            sql.push_str(&format!(" AND status IN ({})", names.join(", ")));
        }
        let done = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(uuid)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Asks a live move to finish now; the step sending it sees it.
    pub async fn migration_force(&self, uuid: &str) -> StoreResult<()> {
        sqlx::query("UPDATE migrations SET force_complete = $1, updated_at = $2 WHERE uuid = $3")
            .bind(true)
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(uuid)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Names the destination once it is chosen.
    pub async fn migration_set_dest(&self, uuid: &str, host: &str) -> StoreResult<()> {
        sqlx::query("UPDATE migrations SET dest_compute = $1, dest_node = $1, updated_at = $2 WHERE uuid = $3")
            .bind(host)
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(uuid)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records a live move's progress.
    pub async fn migration_set_progress(&self, uuid: &str, p: MoveProgress) -> StoreResult<()> {
        sqlx::query(
            "UPDATE migrations SET memory_total = $1, memory_processed = $2, memory_remaining = $3, \
             disk_total = $4, disk_processed = $5, disk_remaining = $6, updated_at = $7 WHERE uuid = $8",
        )
        .bind(p.memory_total)
        .bind(p.memory_processed)
        .bind(p.memory_total - p.memory_processed)
        .bind(p.disk_total)
        .bind(p.disk_processed)
        .bind(p.disk_total - p.disk_processed)
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(uuid)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
