//! Issued tokens, by the SHA-256 of their secret.

use ecs_types::{Timestamp, TokenRecord};
use sqlx::Row;

use crate::{Store, StoreResult, time};

impl Store {
    pub async fn token_insert(&self, t: &TokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tokens (id_hash, user_id, project_id, methods, audit_id, issued_at, expires_at, revoked, \
             application_credential_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&t.id_hash)
        .bind(&t.user_id)
        .bind(&t.project_id)
        .bind(t.methods.join(","))
        .bind(&t.audit_id)
        .bind(time::to_db(t.issued_at))
        .bind(time::to_db(t.expires_at))
        .bind(t.revoked)
        .bind(&t.application_credential_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn token_get(&self, id_hash: &str) -> StoreResult<TokenRecord> {
        let row = sqlx::query(
            "SELECT id_hash, user_id, project_id, methods, audit_id, issued_at, expires_at, revoked, \
             application_credential_id FROM tokens WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_one(&self.read)
        .await?;
        let methods: String = row.try_get("methods")?;
        Ok(TokenRecord {
            id_hash: row.try_get("id_hash")?,
            user_id: row.try_get("user_id")?,
            project_id: row.try_get("project_id")?,
            methods: methods.split(',').filter(|m| !m.is_empty()).map(String::from).collect(),
            audit_id: row.try_get("audit_id")?,
            issued_at: time::from_db(row.try_get("issued_at")?)?,
            expires_at: time::from_db(row.try_get("expires_at")?)?,
            revoked: crate::flag(&row, "revoked")?,
            application_credential_id: row.try_get("application_credential_id")?,
        })
    }

    pub async fn token_revoke(&self, id_hash: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE tokens SET revoked = TRUE WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// Drops tokens that expired before `now`; returns how many.
    pub async fn token_purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM tokens WHERE expires_at < $1").bind(time::to_db(now)).execute(&self.write).await?;
        Ok(done.rows_affected())
    }
}
