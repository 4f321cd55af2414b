//! Host aggregates, their hosts and metadata.

use std::collections::BTreeMap;

use ecs_types::Aggregate;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

fn aggregate_from_row(row: &AnyRow) -> StoreResult<Aggregate> {
    Ok(Aggregate {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        name: row.try_get("name")?,
        hosts: Vec::new(),
        metadata: BTreeMap::new(),
        created_at: time::from_db(row.try_get("created_at")?)?,
        updated_at: row.try_get::<Option<i64>, _>("updated_at")?.map(time::from_db).transpose()?,
    })
}

impl Store {
    /// Every live aggregate with its hosts and metadata, by id.
    pub async fn aggregate_list(&self) -> StoreResult<Vec<Aggregate>> {
        let rows = sqlx::query(
            "SELECT id, uuid, name, created_at, updated_at FROM aggregates WHERE deleted_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        let mut aggs: Vec<Aggregate> = rows.iter().map(aggregate_from_row).collect::<StoreResult<_>>()?;
        let hosts = sqlx::query("SELECT aggregate_id, host FROM aggregate_hosts ORDER BY host").fetch_all(&self.read);
        for r in hosts.await? {
            let id: i64 = r.try_get("aggregate_id")?;
            if let Ok(i) = aggs.binary_search_by_key(&id, |a| a.id) {
                aggs[i].hosts.push(r.try_get("host")?);
            }
        }
        let meta = sqlx::query("SELECT aggregate_id, key, value FROM aggregate_metadata").fetch_all(&self.read);
        for r in meta.await? {
            let id: i64 = r.try_get("aggregate_id")?;
            if let Ok(i) = aggs.binary_search_by_key(&id, |a| a.id) {
                aggs[i].metadata.insert(r.try_get("key")?, r.try_get("value")?);
            }
        }
        Ok(aggs)
    }

    /// A live aggregate by id, with its hosts and metadata.
    pub async fn aggregate_get(&self, id: i64) -> StoreResult<Aggregate> {
        let row = sqlx::query(
            "SELECT id, uuid, name, created_at, updated_at FROM aggregates WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .fetch_one(&self.read)
        .await?;
        let mut agg = aggregate_from_row(&row)?;
        let hosts = sqlx::query("SELECT host FROM aggregate_hosts WHERE aggregate_id = $1 ORDER BY host")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        agg.hosts = hosts.iter().map(|r| r.try_get("host")).collect::<Result<_, _>>()?;
        let meta = sqlx::query("SELECT key, value FROM aggregate_metadata WHERE aggregate_id = $1")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        for r in meta {
            agg.metadata.insert(r.try_get("key")?, r.try_get("value")?);
        }
        Ok(agg)
    }

    /// Creates an aggregate (in `zone` if given). `Conflict` if a live one
    /// has the name.
    pub async fn aggregate_create(&self, name: &str, zone: Option<&str>) -> StoreResult<Aggregate> {
        // The id is the next integer; two creates racing for it retry.
        for _ in 0..5 {
            let mut tx = self.write.begin().await?;
            let taken = sqlx::query("SELECT 1 FROM aggregates WHERE name = $1 AND deleted_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("aggregate name {name}")));
            }
            let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 AS id FROM aggregates")
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
            let inserted = sqlx::query("INSERT INTO aggregates (id, uuid, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(ecs_types::random::uuid().to_string())
                .bind(name)
                .bind(time::to_db(ecs_types::clock::now()))
                .execute(&mut *tx)
                .await;
            match inserted.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
            if let Some(zone) = zone {
                sqlx::query("INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(ecs_types::aggregate::AZ_KEY)
                    .bind(zone)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            return self.aggregate_get(id).await;
        }
        Err(StoreError::Conflict(format!("aggregate name {name}")))
    }

    /// Renames a live aggregate. `Conflict` if another has the name,
    /// `NotFound` if it is gone.
    pub async fn aggregate_rename(&self, id: i64, name: &str) -> StoreResult<()> {
        let taken = sqlx::query("SELECT 1 FROM aggregates WHERE name = $1 AND id <> $2 AND deleted_at IS NULL")
            .bind(name)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!("aggregate name {name}")));
        }
        let done = sqlx::query("UPDATE aggregates SET name = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL")
            .bind(name)
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes an aggregate that holds no host. Returns false if it holds
    /// hosts; `NotFound` if it is gone.
    pub async fn aggregate_delete(&self, id: i64) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let held = sqlx::query("SELECT 1 FROM aggregate_hosts WHERE aggregate_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if held.is_some() {
            return Ok(false);
        }
        let done = sqlx::query("UPDATE aggregates SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM aggregate_metadata WHERE aggregate_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds `host` to the aggregate. `Conflict` if it is there already.
    pub async fn aggregate_add_host(&self, id: i64, host: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO aggregate_hosts (aggregate_id, host) VALUES ($1, $2)")
            .bind(id)
            .bind(host)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Takes `host` out of the aggregate; false if it was not in it.
    pub async fn aggregate_remove_host(&self, id: i64, host: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM aggregate_hosts WHERE aggregate_id = $1 AND host = $2")
            .bind(id)
            .bind(host)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Takes `host` out of every aggregate (its service was deleted).
    pub async fn aggregate_remove_host_everywhere(&self, host: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM aggregate_hosts WHERE host = $1").bind(host).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    /// Sets (Some) or removes (None) metadata keys, in one transaction.
    pub async fn aggregate_set_metadata(&self, id: i64, changes: &[(String, Option<String>)]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE aggregates SET updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for (key, value) in changes {
            sqlx::query("DELETE FROM aggregate_metadata WHERE aggregate_id = $1 AND key = $2")
                .bind(id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            if let Some(value) = value {
                sqlx::query("INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
