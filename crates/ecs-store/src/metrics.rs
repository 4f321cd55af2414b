//! Cheap aggregates read when `/metrics` is scraped, and the readiness
//! check of `/readyz`.

use ecs_types::Timestamp;
use sqlx::Row;

use crate::{Backend, Store, StoreResult, time};

/// Tasks not finished, as the engine sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQueue {
    /// Unfinished and held by no live lease: waiting for a worker.
    pub waiting: i64,
    /// Unfinished and held by a live lease: running somewhere.
    pub running: i64,
    /// When the oldest waiting task was queued.
    pub oldest_waiting: Option<Timestamp>,
}

impl Store {
    /// Live (not deleted) servers by `vm_state`.
    pub async fn servers_by_vm_state(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT vm_state, COUNT(*) AS n FROM servers WHERE deleted_at IS NULL GROUP BY vm_state ORDER BY vm_state",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("vm_state")?, r.try_get("n")?))).collect()
    }

    /// The task queue: how many wait, how many run, since when the oldest waits.
    pub async fn task_queue(&self) -> StoreResult<TaskQueue> {
        // Leases run on real time (`clock::real_now`), as the engine takes them.
        let now = time::to_db(ecs_types::clock::real_now());
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN lease_until IS NULL OR lease_until < $1 THEN 1 ELSE 0 END), 0) AS waiting, \
             COALESCE(SUM(CASE WHEN lease_until >= $1 THEN 1 ELSE 0 END), 0) AS running, \
             MIN(CASE WHEN lease_until IS NULL OR lease_until < $1 THEN created_at END) AS oldest \
             FROM tasks WHERE phase IN ('pending', 'running', 'unwinding')",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        // PostgreSQL's SUM of integers is NUMERIC; both read back as i64 once cast.
        let count = |column: &str| -> StoreResult<i64> {
            match row.try_get::<i64, _>(column) {
                Ok(n) => Ok(n),
                Err(_) => Ok(row.try_get::<f64, _>(column).map(|n| n as i64)?),
            }
        };
        Ok(TaskQueue {
            waiting: count("waiting")?,
            running: count("running")?,
            oldest_waiting: row.try_get::<Option<i64>, _>("oldest")?.map(time::from_db).transpose()?,
        })
    }

    /// Why the database is not ready to serve, if it is not: unreachable,
    /// or migrations this build knows are not applied.
    pub async fn readiness(&self) -> Result<(), String> {
        let applied = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = $1")
            .bind(true)
            .fetch_all(&self.read)
            .await
            .map_err(|e| format!("database unreachable: {e}"))?;
        let applied = applied.iter().filter_map(|r| r.try_get::<i64, _>("version").ok()).collect::<Vec<_>>();
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        let pending = migrator.iter().filter(|m| !applied.contains(&m.version)).count();
        if pending > 0 {
            return Err(format!("{pending} database migrations are not applied (run `ecsd db migrate`)"));
        }
        Ok(())
    }
}
