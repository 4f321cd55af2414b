//! Per-project quota limits that differ from the configured defaults.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::{Store, StoreResult};

impl Store {
    /// The limits set for a project, by resource name.
    pub async fn quota_limits(&self, project_id: &str) -> StoreResult<BTreeMap<String, i64>> {
        let rows = sqlx::query("SELECT resource, hard_limit FROM quota_limits WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("resource")?, r.try_get("hard_limit")?))).collect()
    }

    pub async fn quota_set(&self, project_id: &str, resource: &str, limit: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO quota_limits (project_id, resource, hard_limit) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = $3",
        )
        .bind(project_id)
        .bind(resource)
        .bind(limit)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Forgets a project's own limits: the defaults apply again.
    pub async fn quota_reset(&self, project_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM quota_limits WHERE project_id = $1").bind(project_id).execute(&self.write).await?;
        Ok(())
    }

    /// The limits a quota class sets, by resource name.
    pub async fn quota_class_limits(&self, class_name: &str) -> StoreResult<BTreeMap<String, i64>> {
        let rows = sqlx::query("SELECT resource, hard_limit FROM quota_classes WHERE class_name = $1")
            .bind(class_name)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("resource")?, r.try_get("hard_limit")?))).collect()
    }

    /// Sets the limits of a quota class, all or none.
    pub async fn quota_class_set(&self, class_name: &str, limits: &BTreeMap<String, i64>) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        for (resource, limit) in limits {
            sqlx::query(
                "INSERT INTO quota_classes (class_name, resource, hard_limit) VALUES ($1, $2, $3) \
                 ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = $3",
            )
            .bind(class_name)
            .bind(resource)
            .bind(limit)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
