//! ECS auto recovery (seed 002 §11.1): per server, as a user set it.

use sqlx::Row;

use crate::{Store, StoreResult};

impl Store {
    /// A server's auto recovery setting; None when never set.
    pub async fn auto_recovery_get(&self, server_id: &str) -> StoreResult<Option<bool>> {
        let row = sqlx::query("SELECT enabled FROM server_auto_recovery WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("enabled")).transpose()?.map(|v| v == "true"))
    }

    /// Sets a server's auto recovery.
    pub async fn auto_recovery_set(&self, server_id: &str, enabled: bool) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO server_auto_recovery (server_id, enabled) VALUES ($1, $2) \
             ON CONFLICT (server_id) DO UPDATE SET enabled = excluded.enabled",
        )
        .bind(server_id)
        .bind(if enabled { "true" } else { "false" })
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
