//! What Cinder v3 adds over the volume records: volume types, updates,
//! extend, retype, status resets, cascade deletes, snapshot updates,
//! Cinder attachments (on the same attachment rows Nova's attach makes)
//! and usage for quotas.

use std::collections::BTreeMap;

use ecs_types::volume::{Volume, VolumeSnapshot, VolumeType};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::volume::{COLUMNS, FROM, VolumeRefusal, metadata_json, snapshot_from_row, volume_from_row};
use crate::{Backend, Store, StoreError, StoreResult, time};

fn type_from_row(row: &AnyRow) -> StoreResult<VolumeType> {
    let specs: String = row.try_get("extra_specs")?;
    Ok(VolumeType {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        is_public: row.try_get::<i64, _>("is_public")? != 0,
        extra_specs: serde_json::from_str(&specs).unwrap_or_default(),
    })
}

/// A project's block storage in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeUsage {
    pub volumes: i64,
    pub gigabytes: i64,
    pub snapshots: i64,
    pub snapshot_gigabytes: i64,
    /// By volume type name: (volumes, gigabytes, snapshots).
    pub per_type: BTreeMap<String, (i64, i64, i64)>,
}

impl Store {
    pub async fn volume_types(&self) -> StoreResult<Vec<VolumeType>> {
        let rows = sqlx::query("SELECT * FROM volume_types ORDER BY created_at, name").fetch_all(&self.read).await?;
        rows.iter().map(type_from_row).collect()
    }

    /// A volume type by id, or else by name.
    pub async fn volume_type_get(&self, id_or_name: &str) -> StoreResult<VolumeType> {
        let row = sqlx::query("SELECT * FROM volume_types WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC")
            .bind(id_or_name)
            .fetch_one(&self.read)
            .await?;
        type_from_row(&row)
    }

    /// Records a type; false when its name is taken.
    pub async fn volume_type_create(&self, t: &VolumeType) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.description)
        .bind(i64::from(t.is_public))
        .bind(metadata_json(&t.extra_specs))
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a type's name, description, visibility and extra specs;
    /// false when the new name is another type's. Volumes of the type
    /// follow a rename.
    pub async fn volume_type_update(&self, old_name: &str, t: &VolumeType) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let taken = sqlx::query("SELECT id FROM volume_types WHERE name = $1 AND id <> $2")
            .bind(&t.name)
            .bind(&t.id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE volume_types SET name = $1, description = $2, is_public = $3, extra_specs = $4 WHERE id = $5",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(i64::from(t.is_public))
        .bind(metadata_json(&t.extra_specs))
        .bind(&t.id)
        .execute(&mut *tx)
        .await?;
        if old_name != t.name {
            sqlx::query("UPDATE volumes SET volume_type = $1 WHERE volume_type = $2")
                .bind(&t.name)
                .bind(old_name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a type no volume uses; Err(volumes of it) otherwise.
    pub async fn volume_type_delete(&self, t: &VolumeType) -> StoreResult<Result<(), i64>> {
        let mut tx = self.write.begin().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM volumes WHERE volume_type = $1")
            .bind(&t.name)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n > 0 {
            return Ok(Err(n));
        }
        let done = sqlx::query("DELETE FROM volume_types WHERE id = $1").bind(&t.id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Changes what is given of a volume's name, description, metadata
    /// and bootable flag.
    pub async fn volume_update(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        metadata: Option<&BTreeMap<String, String>>,
        bootable: Option<bool>,
    ) -> StoreResult<Volume> {
        let done = sqlx::query(
            "UPDATE volumes SET name = COALESCE($1, name), description = COALESCE($2, description), \
             metadata = COALESCE($3, metadata), bootable = COALESCE($4, bootable), updated_at = $5 WHERE id = $6",
        )
        .bind(name)
        .bind(description)
        .bind(metadata.map(metadata_json))
        .bind(bootable.map(i64::from))
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.volume_get(id).await
    }

    /// Grows a volume in one of `statuses` to `new_size` within the
    /// project's `gigabytes` (and its type's) limits (-1: none).
    pub async fn volume_extend(
        &self,
        id: &str,
        new_size: i64,
        statuses: &[&str],
        max_gb: i64,
        type_max_gb: i64,
    ) -> StoreResult<Result<(), VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let v = self.volume_get(id).await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(&v.project_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(size_gb), 0) AS BIGINT) AS gb, \
             CAST(COALESCE(SUM(CASE WHEN volume_type = $2 THEN size_gb ELSE 0 END), 0) AS BIGINT) AS tgb \
             FROM volumes WHERE project_id = $1",
        )
        .bind(&v.project_id)
        .bind(&v.volume_type)
        .fetch_one(&mut *tx)
        .await?;
        let (gb, tgb): (i64, i64) = (row.try_get("gb")?, row.try_get("tgb")?);
        let grow = new_size - v.size_gb;
        if max_gb >= 0 && gb + grow > max_gb {
            return Ok(Err(VolumeRefusal::Quota("gigabytes", max_gb, gb, grow)));
        }
        if type_max_gb >= 0 && tgb + grow > type_max_gb {
            return Ok(Err(VolumeRefusal::Quota("gigabytes_type", type_max_gb, tgb, grow)));
        }
        let list = statuses.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        let done = sqlx::query(&format!(
            "UPDATE volumes SET size_gb = $1, updated_at = $2 WHERE id = $3 AND size_gb < $1 AND status IN ({list})"
        ))
        .bind(new_size)
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Ok(Err(VolumeRefusal::State(self.volume_get(id).await?.status)));
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Changes the type of an available or in-use volume.
    pub async fn volume_retype(&self, id: &str, new_type: &str) -> StoreResult<Result<(), VolumeRefusal>> {
        let done = sqlx::query(
            "UPDATE volumes SET volume_type = $1, updated_at = $2 WHERE id = $3 AND status IN ('available', 'in-use')",
        )
        .bind(new_type)
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(Err(VolumeRefusal::State(self.volume_get(id).await?.status)));
        }
        Ok(Ok(()))
    }

    /// Cinder's delete: never while attached; its snapshots go with it
    /// when `cascade`, else they refuse it; `force` takes any status.
    pub async fn volume_delete_cinder(
        &self,
        id: &str,
        cascade: bool,
        force: bool,
    ) -> StoreResult<Result<(), VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let attached = sqlx::query("SELECT id FROM volume_attachments WHERE volume_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if attached.is_some() {
            return Ok(Err(VolumeRefusal::Attached));
        }
        let snaps: i64 = sqlx::query("SELECT COUNT(*) AS n FROM volume_snapshots WHERE volume_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if snaps > 0 && !cascade {
            return Ok(Err(VolumeRefusal::HasSnapshots(snaps)));
        }
        let status: Option<String> = sqlx::query("SELECT status FROM volumes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("status"))
            .transpose()?;
        let Some(status) = status else { return Err(StoreError::NotFound) };
        let deletable = ["available", "error", "error_restoring", "error_extending", "error_managing"];
        if !force && !deletable.contains(&status.as_str()) {
            return Ok(Err(VolumeRefusal::State(status)));
        }
        // Snapshots reference the volume: a cascade removes them first.
        sqlx::query("DELETE FROM volume_snapshots WHERE volume_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM volumes WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Ok(Err(VolumeRefusal::State(self.volume_get(id).await?.status)));
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn snapshot_update(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        metadata: Option<&BTreeMap<String, String>>,
    ) -> StoreResult<VolumeSnapshot> {
        let done = sqlx::query(
            "UPDATE volume_snapshots SET name = COALESCE($1, name), description = COALESCE($2, description), \
             metadata = COALESCE($3, metadata) WHERE id = $4",
        )
        .bind(name)
        .bind(description)
        .bind(metadata.map(metadata_json))
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.snapshot_get(id).await
    }

    pub async fn snapshot_set_status(&self, id: &str, status: &str) -> StoreResult<()> {
        sqlx::query("UPDATE volume_snapshots SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Forgets a project's own limit of one resource: the default applies.
    pub async fn quota_unset(&self, project_id: &str, resource: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM quota_limits WHERE project_id = $1 AND resource = $2")
            .bind(project_id)
            .bind(resource)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The volume whose attachment has this id.
    pub async fn attachment_volume(&self, attachment_id: &str) -> StoreResult<Volume> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1"))
            .bind(attachment_id)
            .fetch_one(&self.read)
            .await?;
        volume_from_row(&row)
    }

    /// The attached volumes of a project (every project's when None).
    pub async fn attached_volumes(&self, project_id: Option<&str>) -> StoreResult<Vec<Volume>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE a.id IS NOT NULL AND ($1 IS NULL OR v.project_id = $1) \
             ORDER BY v.created_at DESC, v.id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(volume_from_row).collect()
    }

    /// Gives a reserved attachment its connector: the volume is `attaching`.
    pub async fn attachment_connect(
        &self,
        attachment_id: &str,
        connector: &str,
    ) -> StoreResult<Result<(), VolumeRefusal>> {
        let v = self.attachment_volume(attachment_id).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE volume_attachments SET connector = $1 WHERE id = $2")
            .bind(connector)
            .bind(attachment_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "UPDATE volumes SET status = 'attaching', updated_at = $1 WHERE id = $2 \
             AND status IN ('reserved', 'attaching', 'in-use')",
        )
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(&v.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(Err(VolumeRefusal::State(v.status)));
        }
        // An attachment already complete stays so.
        if v.status == "in-use" {
            sqlx::query("UPDATE volumes SET status = 'in-use' WHERE id = $1").bind(&v.id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Completes an attachment: the volume is `in-use`.
    pub async fn attachment_complete(&self, attachment_id: &str) -> StoreResult<Result<(), VolumeRefusal>> {
        let v = self.attachment_volume(attachment_id).await?;
        let done = sqlx::query(
            "UPDATE volumes SET status = 'in-use', updated_at = $1 WHERE id = $2 \
             AND status IN ('reserved', 'attaching', 'in-use')",
        )
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(&v.id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(Err(VolumeRefusal::State(v.status)));
        }
        Ok(Ok(()))
    }

    /// What a project uses (for quota sets and limits).
    pub async fn volume_usage(&self, project_id: &str) -> StoreResult<VolumeUsage> {
        let mut u = VolumeUsage::default();
        let rows = sqlx::query(
            "SELECT volume_type, COUNT(*) AS n, CAST(COALESCE(SUM(size_gb), 0) AS BIGINT) AS gb FROM volumes \
             WHERE project_id = $1 GROUP BY volume_type",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        for r in &rows {
            let (t, n, gb): (String, i64, i64) = (r.try_get("volume_type")?, r.try_get("n")?, r.try_get("gb")?);
            u.volumes += n;
            u.gigabytes += gb;
            let e = u.per_type.entry(t).or_default();
            e.0 += n;
            e.1 += gb;
        }
        let rows = sqlx::query(
            "SELECT v.volume_type, COUNT(*) AS n, CAST(COALESCE(SUM(s.size_gb), 0) AS BIGINT) AS gb \
             FROM volume_snapshots s JOIN volumes v ON v.id = s.volume_id WHERE s.project_id = $1 \
             GROUP BY v.volume_type",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        for r in &rows {
            let (t, n, gb): (String, i64, i64) = (r.try_get("volume_type")?, r.try_get("n")?, r.try_get("gb")?);
            u.snapshots += n;
            u.snapshot_gigabytes += gb;
            u.per_type.entry(t).or_default().2 += n;
        }
        Ok(u)
    }

    /// Snapshots of a project in one listing with their rows' metadata.
    pub async fn snapshots_of_volume(&self, volume_id: &str) -> StoreResult<Vec<VolumeSnapshot>> {
        let rows = sqlx::query("SELECT * FROM volume_snapshots WHERE volume_id = $1 ORDER BY created_at DESC, id")
            .bind(volume_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(snapshot_from_row).collect()
    }
}
