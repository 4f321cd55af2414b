//! Flavor access (Nova's os-flavor-access): which projects may see and use
//! a private flavor.

use sqlx::Row;

use crate::{Store, StoreError, StoreResult};

impl Store {
    /// The projects given access to a flavor, in order.
    pub async fn flavor_access_list(&self, flavor_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT project_id FROM flavor_projects WHERE flavor_id = $1 ORDER BY project_id")
            .bind(flavor_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("project_id")?)).collect()
    }

    /// The private flavors a project has been given.
    pub async fn flavor_access_of_project(&self, project_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT flavor_id FROM flavor_projects WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("flavor_id")?)).collect()
    }

    /// Gives a project access; false if it had it already.
    pub async fn flavor_access_add(&self, flavor_id: &str, project_id: &str) -> StoreResult<bool> {
        let added = sqlx::query("INSERT INTO flavor_projects (flavor_id, project_id) VALUES ($1, $2)")
            .bind(flavor_id)
            .bind(project_id)
            .execute(&self.write)
            .await;
        match added.map_err(StoreError::from) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes a project's access away; false if it had none.
    pub async fn flavor_access_remove(&self, flavor_id: &str, project_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM flavor_projects WHERE flavor_id = $1 AND project_id = $2")
            .bind(flavor_id)
            .bind(project_id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
