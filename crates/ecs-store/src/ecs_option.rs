//! The ECS-native settings beside the server records: a project's named
//! settings (the recycle bin), each server's ECS options, and launch
//! templates with their versions. Settings and options are JSON text the
//! core reads and writes whole.

use sqlx::Row;

use crate::{Store, StoreResult, time};

/// A launch template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplateRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub default_version: i64,
    pub latest_version: i64,
    pub created_at: ecs_types::Timestamp,
    pub updated_at: ecs_types::Timestamp,
}

/// One version of a launch template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplateVersionRow {
    pub id: String,
    pub template_id: String,
    pub version_number: i64,
    pub description: String,
    /// The template data, JSON text.
    pub template_data: String,
    pub created_at: ecs_types::Timestamp,
}

impl Store {
    /// A project's setting `name` (JSON text), if it was ever set.
    pub async fn project_setting_get(&self, project_id: &str, name: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM ecs_project_settings WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// Sets a project's setting `name`.
    pub async fn project_setting_put(&self, project_id: &str, name: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ecs_project_settings (project_id, name, value) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value",
        )
        .bind(project_id)
        .bind(name)
        .bind(value)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Every project's setting `name`: `(project_id, value)`.
    pub async fn project_settings_named(&self, name: &str) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT project_id, value FROM ecs_project_settings WHERE name = $1")
            .bind(name)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("project_id")?, r.try_get("value")?))).collect()
    }

    /// A server's ECS options (JSON text), if any were set.
    pub async fn server_options_get(&self, server_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT options FROM ecs_server_options WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("options")).transpose()?)
    }

    /// Sets a server's ECS options.
    pub async fn server_options_put(&self, server_id: &str, project_id: &str, options: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ecs_server_options (server_id, project_id, options) VALUES ($1, $2, $3) \
             ON CONFLICT (server_id) DO UPDATE SET options = excluded.options",
        )
        .bind(server_id)
        .bind(project_id)
        .bind(options)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The ECS options of these servers that have any: `(server_id, options)`.
    pub async fn server_options_of(&self, server_ids: &[String]) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        for chunk in server_ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql =
                format!("SELECT server_id, options FROM ecs_server_options WHERE server_id IN ({})", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.read).await? {
                out.push((r.try_get("server_id")?, r.try_get("options")?));
            }
        }
        Ok(out)
    }

    /// Every server's ECS options: `(server_id, options)`.
    pub async fn server_options_all(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT server_id, options FROM ecs_server_options").fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok((r.try_get("server_id")?, r.try_get("options")?))).collect()
    }

    /// The options of a server that is gone go with it.
    pub async fn server_options_delete(&self, server_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM ecs_server_options WHERE server_id = $1").bind(server_id).execute(&self.write).await?;
        Ok(())
    }

    /// A new launch template with its first version, in one transaction.
    /// A name the project already uses is `Conflict`.
    pub async fn launch_template_insert(
        &self,
        t: &LaunchTemplateRow,
        first: &LaunchTemplateVersionRow,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO ecs_launch_templates (id, project_id, name, description, default_version, latest_version, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.id)
        .bind(&t.project_id)
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.default_version)
        .bind(t.latest_version)
        .bind(time::to_db(t.created_at))
        .bind(time::to_db(t.updated_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ecs_launch_template_versions (id, template_id, project_id, version_number, description, \
             template_data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&first.id)
        .bind(&t.id)
        .bind(&t.project_id)
        .bind(first.version_number)
        .bind(&first.description)
        .bind(&first.template_data)
        .bind(time::to_db(first.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A project's launch templates, oldest first.
    pub async fn launch_template_list(&self, project_id: &str) -> StoreResult<Vec<LaunchTemplateRow>> {
        let rows = sqlx::query(
            "SELECT id, project_id, name, description, default_version, latest_version, created_at, updated_at \
             FROM ecs_launch_templates WHERE project_id = $1 ORDER BY created_at, id",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LaunchTemplateRow {
                    id: r.try_get("id")?,
                    project_id: r.try_get("project_id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    default_version: r.try_get("default_version")?,
                    latest_version: r.try_get("latest_version")?,
                    created_at: time::from_db(r.try_get("created_at")?)?,
                    updated_at: time::from_db(r.try_get("updated_at")?)?,
                })
            })
            .collect()
    }

    /// A project's launch template versions, oldest first.
    pub async fn launch_template_versions(&self, project_id: &str) -> StoreResult<Vec<LaunchTemplateVersionRow>> {
        let rows = sqlx::query(
            "SELECT id, template_id, version_number, description, template_data, created_at \
             FROM ecs_launch_template_versions WHERE project_id = $1 ORDER BY created_at, template_id, version_number",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LaunchTemplateVersionRow {
                    id: r.try_get("id")?,
                    template_id: r.try_get("template_id")?,
                    version_number: r.try_get("version_number")?,
                    description: r.try_get("description")?,
                    template_data: r.try_get("template_data")?,
                    created_at: time::from_db(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    /// Deletes a project's launch template and its versions; `NotFound`
    /// when the project has no such template.
    pub async fn launch_template_delete(&self, project_id: &str, id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM ecs_launch_template_versions WHERE template_id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM ecs_launch_templates WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
