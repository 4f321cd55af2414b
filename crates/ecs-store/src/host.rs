//! Compute hosts and what servers hold on them.

use ecs_types::Timestamp;
use ecs_types::server::ComputeHost;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

/// A host's zone is its aggregates' `availability_zone` metadata (Nova
/// forbids two different ones), else the zone it registered in (the
/// deployment's default zone).
const COLUMNS: &str = "id, number, name, driver, \
    COALESCE((SELECT m.value FROM aggregate_hosts ah JOIN aggregate_metadata m ON m.aggregate_id = ah.aggregate_id \
    AND m.key = 'availability_zone' WHERE ah.host = compute_hosts.name ORDER BY ah.aggregate_id LIMIT 1), \
    availability_zone) AS availability_zone, vcpus, ram_mb, disk_gb, cpu_ratio, ram_ratio, disk_ratio, \
    used_vcpus, used_ram_mb, used_disk_gb, running_vms, enabled, heartbeat_at, forced_down, disabled_reason, started_at";

fn host_from_row(row: &AnyRow) -> StoreResult<ComputeHost> {
    Ok(ComputeHost {
        id: row.try_get("id")?,
        number: row.try_get::<Option<i64>, _>("number")?.unwrap_or_default(),
        name: row.try_get("name")?,
        driver: row.try_get("driver")?,
        availability_zone: row.try_get("availability_zone")?,
        vcpus: row.try_get("vcpus")?,
        ram_mb: row.try_get("ram_mb")?,
        disk_gb: row.try_get("disk_gb")?,
        cpu_ratio: row.try_get("cpu_ratio")?,
        ram_ratio: row.try_get("ram_ratio")?,
        disk_ratio: row.try_get("disk_ratio")?,
        used_vcpus: row.try_get("used_vcpus")?,
        used_ram_mb: row.try_get("used_ram_mb")?,
        used_disk_gb: row.try_get("used_disk_gb")?,
        running_vms: row.try_get("running_vms")?,
        enabled: crate::flag(row, "enabled")?,
        heartbeat_at: time::from_db(row.try_get("heartbeat_at")?)?,
        forced_down: crate::flag(row, "forced_down")?,
        disabled_reason: row.try_get("disabled_reason")?,
        started_at: row.try_get::<Option<i64>, _>("started_at")?.map(time::from_db).transpose()?,
    })
}

/// A host as it announces itself: capacity and place, not usage.
#[derive(Debug, Clone)]
pub struct HostRegistration {
    pub name: String,
    pub driver: String,
    pub availability_zone: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub cpu_ratio: f64,
    pub ram_ratio: f64,
    pub disk_ratio: f64,
}

/// A host that an agent runs: where the control plane reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAgent {
    pub name: String,
    /// The agent's hypervisor, as it registered ("sim", "qemu-kvm", …).
    pub driver: String,
    pub url: String,
}

/// What one server holds on its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
}

impl Store {
    /// Registers a host or updates its capacity and place; usage is kept.
    pub async fn host_register(&self, h: &HostRegistration) -> StoreResult<ComputeHost> {
        let now = time::to_db(ecs_types::clock::real_now());
        sqlx::query(
            "INSERT INTO compute_hosts (id, number, name, driver, availability_zone, vcpus, ram_mb, disk_gb, \
             cpu_ratio, ram_ratio, disk_ratio, heartbeat_at, created_at, started_at) VALUES ($1, \
             (SELECT COALESCE(MAX(number), 0) + 1 FROM compute_hosts), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) \
             ON CONFLICT (name) DO UPDATE SET driver = $3, availability_zone = $4, vcpus = $5, ram_mb = $6, \
             disk_gb = $7, cpu_ratio = $8, ram_ratio = $9, disk_ratio = $10, heartbeat_at = $11, started_at = $11",
        )
        .bind(ecs_types::random::uuid().to_string())
        .bind(&h.name)
        .bind(&h.driver)
        .bind(&h.availability_zone)
        .bind(h.vcpus)
        .bind(h.ram_mb)
        .bind(h.disk_gb)
        .bind(h.cpu_ratio)
        .bind(h.ram_ratio)
        .bind(h.disk_ratio)
        .bind(now)
        .execute(&self.write)
        .await?;
        self.host_get_by_name(&h.name).await
    }

    pub async fn host_get_by_name(&self, name: &str) -> StoreResult<ComputeHost> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM compute_hosts WHERE name = $1"))
            .bind(name)
            .fetch_one(&self.read)
            .await?;
        host_from_row(&row)
    }

    pub async fn host_list(&self) -> StoreResult<Vec<ComputeHost>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM compute_hosts ORDER BY name")).fetch_all(&self.read).await?;
        rows.iter().map(host_from_row).collect()
    }

    /// Claims `c` on `host_id` for `server_id` if it still fits under the
    /// host's capacity times its allocation ratios. Idempotent: a server
    /// that already holds a claim keeps it, and the answer names its host.
    /// Returns the host id holding the claim, or None if it did not fit.
    pub async fn host_claim(&self, server_id: &str, host_id: &str, c: Claim) -> StoreResult<Option<String>> {
        let mut tx = self.write.begin().await?;
        let fitted = sqlx::query(
            "UPDATE compute_hosts SET used_vcpus = used_vcpus + $1, used_ram_mb = used_ram_mb + $2, \
             used_disk_gb = used_disk_gb + $3, running_vms = running_vms + 1 \
             WHERE id = $4 AND enabled = $5 AND used_vcpus + $1 <= vcpus * cpu_ratio \
             AND used_ram_mb + $2 <= ram_mb * ram_ratio AND used_disk_gb + $3 <= disk_gb * disk_ratio",
        )
        .bind(c.vcpus)
        .bind(c.ram_mb)
        .bind(c.disk_gb)
        .bind(host_id)
        .bind(true)
        .execute(&mut *tx)
        .await?;
        if fitted.rows_affected() == 0 {
            return Ok(None);
        }
        let inserted = sqlx::query(
            "INSERT INTO allocations (server_id, host_id, vcpus, ram_mb, disk_gb, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(server_id)
        .bind(host_id)
        .bind(c.vcpus)
        .bind(c.ram_mb)
        .bind(c.disk_gb)
        .bind(time::to_db(ecs_types::clock::real_now()))
        .execute(&mut *tx)
        .await;
        match inserted.map_err(StoreError::from) {
            Ok(_) => {}
            // The server holds a claim already: undo ours (by dropping the
            // transaction) and name the host it holds.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                return Ok(self.host_of_claim(server_id).await?.map(|h| h.id));
            }
            Err(e) => return Err(e),
        }
        tx.commit().await?;
        Ok(Some(host_id.to_string()))
    }

    /// The host on which `server_id` holds a claim, if it does.
    pub async fn host_of_claim(&self, server_id: &str) -> StoreResult<Option<ComputeHost>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM compute_hosts WHERE id = (SELECT host_id FROM allocations WHERE server_id = $1)"
        ))
        .bind(server_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(host_from_row).transpose()
    }

    /// Gives back whatever `server_id` holds. Idempotent.
    pub async fn host_release(&self, server_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        release(&mut tx, server_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hands what `from` holds over to `to` (a resize keeps the old
    /// flavor's claim under a migration consumer, as Nova's placement
    /// does). Idempotent: nothing happens once `to` holds a claim.
    pub async fn allocation_move(&self, from: &str, to: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE allocations SET server_id = $2 WHERE server_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM allocations WHERE server_id = $2)",
        )
        .bind(from)
        .bind(to)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Gives `server_id` back the claim kept under `kept` (a resize
    /// reverted), releasing what it holds now. Idempotent: nothing happens
    /// once `kept` holds nothing.
    pub async fn allocation_restore(&self, server_id: &str, kept: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let holds = sqlx::query("SELECT 1 FROM allocations WHERE server_id = $1").bind(kept).fetch_optional(&mut *tx);
        if holds.await?.is_none() {
            return Ok(());
        }
        release(&mut tx, server_id).await?;
        sqlx::query("UPDATE allocations SET server_id = $1 WHERE server_id = $2")
            .bind(server_id)
            .bind(kept)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers a host that an agent runs (or updates it), with the URL
    /// its agent serves the internal API at.
    pub async fn host_register_agent(&self, h: &HostRegistration, agent_url: &str) -> StoreResult<ComputeHost> {
        let host = self.host_register(h).await?;
        sqlx::query("UPDATE compute_hosts SET agent_url = $1 WHERE name = $2")
            .bind(agent_url)
            .bind(&h.name)
            .execute(&self.write)
            .await?;
        Ok(host)
    }

    /// The URL of the agent that runs the host `name`, if one does.
    pub async fn host_agent_url(&self, name: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT agent_url FROM compute_hosts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("agent_url")?,
            None => None,
        })
    }

    /// The hosts run by agents, with the URLs of their agents, by name.
    pub async fn host_agents(&self) -> StoreResult<Vec<HostAgent>> {
        let rows =
            sqlx::query("SELECT name, driver, agent_url FROM compute_hosts WHERE agent_url IS NOT NULL ORDER BY name")
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(HostAgent {
                    name: row.try_get("name")?,
                    driver: row.try_get("driver")?,
                    url: row.try_get("agent_url")?,
                })
            })
            .collect()
    }

    pub async fn host_get(&self, id: &str) -> StoreResult<ComputeHost> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM compute_hosts WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        host_from_row(&row)
    }

    /// Records that the process driving `name` is alive at `now`. Returns
    /// the heartbeat it replaced (None: no such host, e.g. deleted).
    pub async fn host_heartbeat(&self, name: &str, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        let names = [name.to_string()];
        Ok(self.host_heartbeat_many(&names, now).await?.into_iter().next().map(|(_, t)| t))
    }

    /// [`Store::host_heartbeat`] for every host one process drives, a few
    /// statements for all of them (a process may simulate thousands).
    /// Returns each beaten host's previous heartbeat.
    pub async fn host_heartbeat_many(&self, names: &[String], now: Timestamp) -> StoreResult<Vec<(String, Timestamp)>> {
        let mut before = Vec::with_capacity(names.len());
        // Bound the statement's parameters (SQLite allows 32766).
        for chunk in names.chunks(500) {
            let marks =
                |from: usize| (from..from + chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let mut tx = self.write.begin().await?;
            let select = format!("SELECT name, heartbeat_at FROM compute_hosts WHERE name IN ({})", marks(1));
            let mut q = sqlx::query(&select);
            for n in chunk {
                q = q.bind(n);
            }
            for row in q.fetch_all(&mut *tx).await? {
                before.push((row.try_get::<String, _>("name")?, time::from_db(row.try_get("heartbeat_at")?)?));
            }
            let update = format!("UPDATE compute_hosts SET heartbeat_at = $1 WHERE name IN ({})", marks(2));
            let mut u = sqlx::query(&update).bind(time::to_db(now));
            for n in chunk {
                u = u.bind(n);
            }
            u.execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(before)
    }

    /// Enables or disables a host, with the operator's reason (cleared
    /// when enabled, as Nova does).
    pub async fn host_set_status(&self, id: &str, enabled: bool, reason: Option<&str>) -> StoreResult<ComputeHost> {
        let reason = if enabled { None } else { reason };
        let done = sqlx::query("UPDATE compute_hosts SET enabled = $1, disabled_reason = $2 WHERE id = $3")
            .bind(enabled)
            .bind(reason)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.host_get(id).await
    }

    /// Declares a host down (or not) whatever its heartbeat says.
    pub async fn host_set_forced_down(&self, id: &str, forced_down: bool) -> StoreResult<ComputeHost> {
        let done = sqlx::query("UPDATE compute_hosts SET forced_down = $1 WHERE id = $2")
            .bind(forced_down)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.host_get(id).await
    }

    /// Deletes a host's record unless a live server is on it or a claim
    /// is held there (`Conflict`). A process still driving it registers
    /// it again when it next starts, as a Nova compute service does.
    pub async fn host_delete(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let Some(row) =
            sqlx::query("SELECT name FROM compute_hosts WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?
        else {
            return Err(StoreError::NotFound);
        };
        let name: String = row.try_get("name")?;
        let busy = sqlx::query(
            "SELECT 1 FROM servers WHERE (host = $1 OR source_host = $1) AND deleted_at IS NULL \
             UNION ALL SELECT 1 FROM allocations WHERE host_id = $2",
        )
        .bind(&name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if busy.is_some() {
            return Err(StoreError::Conflict(format!("host {name} has servers")));
        }
        sqlx::query("DELETE FROM compute_hosts WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enables or disables scheduling to a host.
    pub async fn host_set_enabled(&self, name: &str, enabled: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE compute_hosts SET enabled = $1 WHERE name = $2")
            .bind(enabled)
            .bind(name)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// Releases `consumer`'s claim within `tx`.
async fn release(tx: &mut sqlx::Transaction<'_, sqlx::Any>, consumer: &str) -> StoreResult<()> {
    let Some(row) = sqlx::query("SELECT host_id, vcpus, ram_mb, disk_gb FROM allocations WHERE server_id = $1")
        .bind(consumer)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE compute_hosts SET used_vcpus = used_vcpus - $1, used_ram_mb = used_ram_mb - $2, \
         used_disk_gb = used_disk_gb - $3, running_vms = running_vms - 1 WHERE id = $4",
    )
    .bind(row.try_get::<i64, _>("vcpus")?)
    .bind(row.try_get::<i64, _>("ram_mb")?)
    .bind(row.try_get::<i64, _>("disk_gb")?)
    .bind(row.try_get::<String, _>("host_id")?)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM allocations WHERE server_id = $1").bind(consumer).execute(&mut **tx).await?;
    Ok(())
}
