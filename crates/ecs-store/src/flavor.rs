//! Flavors and their extra specs.

use std::collections::BTreeMap;

use ecs_types::{Flavor, FlavorSpec};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Store, StoreError, StoreResult, time};

const COLUMNS: &str = "id, name, vcpus, ram_mb, disk_gb, ephemeral_gb, swap_mb, rxtx_factor, \
                       is_public, disabled, description, created_at";

/// The columns a flavor list can be sorted by (Nova's `sort_key` values map
/// onto these in the core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlavorSortKey {
    Id,
    Name,
    Vcpus,
    RamMb,
    DiskGb,
    EphemeralGb,
    SwapMb,
    RxtxFactor,
    IsPublic,
    Disabled,
    Description,
    CreatedAt,
}

impl FlavorSortKey {
    fn column(self) -> &'static str {
        match self {
            FlavorSortKey::Id => "id",
            FlavorSortKey::Name => "name",
            FlavorSortKey::Vcpus => "vcpus",
            FlavorSortKey::RamMb => "ram_mb",
            FlavorSortKey::DiskGb => "disk_gb",
            FlavorSortKey::EphemeralGb => "ephemeral_gb",
            FlavorSortKey::SwapMb => "swap_mb",
            FlavorSortKey::RxtxFactor => "rxtx_factor",
            FlavorSortKey::IsPublic => "is_public",
            FlavorSortKey::Disabled => "disabled",
            FlavorSortKey::Description => "COALESCE(description, '')",
            FlavorSortKey::CreatedAt => "created_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// A flavor list request, already validated by the core.
#[derive(Debug, Clone)]
pub struct FlavorListQuery {
    /// `Some(true)`: public only; `Some(false)`: private only; `None`: all.
    pub is_public: Option<bool>,
    pub include_disabled: bool,
    pub min_ram_mb: Option<i64>,
    pub min_disk_gb: Option<i64>,
    pub sort_key: FlavorSortKey,
    pub sort_dir: SortDir,
    pub limit: i64,
    /// Id of the last flavor of the previous page; it must exist.
    pub marker: Option<String>,
}

/// The flavor's extra specs as one JSON object column, so that a page of
/// flavors is one query returning one row per flavor.
fn extra_specs_column(backend: crate::Backend) -> String {
    format!(
        "(SELECT {} FROM flavor_extra_specs s WHERE s.flavor_id = flavors.id) AS extra_specs",
        backend.json_object_agg("s.key", "s.value")
    )
}

fn flavor_from_row(row: &AnyRow) -> StoreResult<Flavor> {
    let specs: Option<String> = row.try_get("extra_specs")?;
    let extra_specs = match specs {
        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("extra specs: {e}")))?,
        None => BTreeMap::new(),
    };
    Ok(Flavor {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        vcpus: row.try_get("vcpus")?,
        ram_mb: row.try_get("ram_mb")?,
        disk_gb: row.try_get("disk_gb")?,
        ephemeral_gb: row.try_get("ephemeral_gb")?,
        swap_mb: row.try_get("swap_mb")?,
        rxtx_factor: row.try_get("rxtx_factor")?,
        is_public: crate::flag(row, "is_public")?,
        disabled: crate::flag(row, "disabled")?,
        description: row.try_get("description")?,
        extra_specs,
        created_at: time::from_db(row.try_get("created_at")?)?,
    })
}

impl Store {
    pub async fn flavor_create(&self, spec: &FlavorSpec) -> StoreResult<Flavor> {
        let mut tx = self.write.begin().await?;
        // Name and id are both unique; tell the caller which one collided.
        let clash = sqlx::query("SELECT id, name FROM flavors WHERE id = $1 OR name = $2")
            .bind(&spec.id)
            .bind(&spec.name)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = clash {
            let id: String = row.try_get("id")?;
            return Err(StoreError::Conflict(if id == spec.id { "id".into() } else { "name".into() }));
        }
        sqlx::query(&format!(
            "INSERT INTO flavors ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&spec.id)
        .bind(&spec.name)
        .bind(spec.vcpus)
        .bind(spec.ram_mb)
        .bind(spec.disk_gb)
        .bind(spec.ephemeral_gb)
        .bind(spec.swap_mb)
        .bind(spec.rxtx_factor)
        .bind(spec.is_public)
        .bind(false)
        .bind(&spec.description)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&mut *tx)
        .await?;
        upsert_extra_specs(&mut tx, &spec.id, &spec.extra_specs).await?;
        tx.commit().await?;
        self.flavor_get(&spec.id).await
    }

    pub async fn flavor_get(&self, id: &str) -> StoreResult<Flavor> {
        let specs = extra_specs_column(self.backend);
        let sql = format!("SELECT {COLUMNS}, {specs} FROM flavors WHERE id = $1");
        flavor_from_row(&sqlx::query(&sql).bind(id).fetch_one(&self.read).await?)
    }

    pub async fn flavor_extra_specs(&self, id: &str) -> StoreResult<BTreeMap<String, String>> {
        let rows = sqlx::query("SELECT key, value FROM flavor_extra_specs WHERE flavor_id = $1")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect()
    }

    /// One page of flavors, extra specs included.
    pub async fn flavor_list(&self, q: &FlavorListQuery) -> StoreResult<Vec<Flavor>> {
        let col = q.sort_key.column();
        let (dir, cmp) = match q.sort_dir {
            SortDir::Asc => ("ASC", ">"),
            SortDir::Desc => ("DESC", "<"),
        };
        let mut sql = format!(
            "SELECT {COLUMNS}, {} FROM flavors WHERE ($1 IS NULL OR is_public = $1) \
             AND ($2 OR NOT disabled) AND ram_mb >= $3 AND disk_gb >= $4",
            extra_specs_column(self.backend)
        );
        // Keyset paging: rows strictly after the marker in (sort column, id).
        if q.marker.is_some() {
            sql.push_str(&format!(
                " AND (({col}) {cmp} (SELECT {col} FROM flavors WHERE id = $5) \
                 OR (({col}) = (SELECT {col} FROM flavors WHERE id = $5) AND id {cmp} $5))"
            ));
        }
        sql.push_str(&format!(" ORDER BY {col} {dir}, id {dir} LIMIT {}", q.limit.max(0)));

        if let Some(marker) = &q.marker {
            let exists =
                sqlx::query("SELECT 1 FROM flavors WHERE id = $1").bind(marker).fetch_optional(&self.read).await?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        let mut query = sqlx::query(&sql)
            .bind(q.is_public)
            .bind(q.include_disabled)
            .bind(q.min_ram_mb.unwrap_or(0))
            .bind(q.min_disk_gb.unwrap_or(0));
        if let Some(marker) = &q.marker {
            query = query.bind(marker);
        }
        query.fetch_all(&self.read).await?.iter().map(flavor_from_row).collect()
    }

    pub async fn flavor_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM flavors WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn flavor_set_description(&self, id: &str, description: Option<&str>) -> StoreResult<Flavor> {
        let done = sqlx::query("UPDATE flavors SET description = $1 WHERE id = $2")
            .bind(description)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.flavor_get(id).await
    }

    /// Adds or overwrites extra specs; returns the flavor's full set.
    pub async fn flavor_extra_specs_set(
        &self,
        id: &str,
        specs: &BTreeMap<String, String>,
    ) -> StoreResult<BTreeMap<String, String>> {
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query(&format!("SELECT id FROM flavors WHERE id = $1{}", self.backend.for_update()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        upsert_extra_specs(&mut tx, id, specs).await?;
        tx.commit().await?;
        self.flavor_extra_specs(id).await
    }

    pub async fn flavor_extra_spec_delete(&self, id: &str, key: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM flavor_extra_specs WHERE flavor_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

async fn upsert_extra_specs(
    tx: &mut Transaction<'_, Any>,
    flavor_id: &str,
    specs: &BTreeMap<String, String>,
) -> StoreResult<()> {
    for (key, value) in specs {
        sqlx::query(
            "INSERT INTO flavor_extra_specs (flavor_id, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (flavor_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(flavor_id)
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
