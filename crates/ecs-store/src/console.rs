//! Remote console tokens (Nova's console_auth_tokens): what a console
//! proxy needs to reach a guest's console, found by the token's hash.

use sqlx::Row;

use crate::{Store, StoreResult, time};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleToken {
    pub server_id: String,
    /// novnc, xvpvnc, serial, …
    pub console_type: String,
    pub host: String,
    pub port: i64,
    pub internal_access_path: Option<String>,
    pub expires_at: ecs_types::Timestamp,
}

impl Store {
    /// Stores a token under its hash; expired tokens are swept on the way.
    pub async fn console_token_insert(&self, token_hash: &str, t: &ConsoleToken) -> StoreResult<()> {
        let now = time::to_db(ecs_types::clock::now());
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM console_tokens WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO console_tokens (token_hash, server_id, console_type, host, port, internal_access_path, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash)
        .bind(&t.server_id)
        .bind(&t.console_type)
        .bind(&t.host)
        .bind(t.port)
        .bind(&t.internal_access_path)
        .bind(time::to_db(t.expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unexpired token with this hash.
    pub async fn console_token_get(&self, token_hash: &str) -> StoreResult<Option<ConsoleToken>> {
        let row = sqlx::query(
            "SELECT server_id, console_type, host, port, internal_access_path, expires_at FROM console_tokens \
             WHERE token_hash = $1 AND expires_at >= $2",
        )
        .bind(token_hash)
        .bind(time::to_db(ecs_types::clock::now()))
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(ConsoleToken {
                server_id: r.try_get("server_id")?,
                console_type: r.try_get("console_type")?,
                host: r.try_get("host")?,
                port: r.try_get("port")?,
                internal_access_path: r.try_get("internal_access_path")?,
                expires_at: time::from_db(r.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Tokens of a deleted server go with it.
    pub async fn console_tokens_delete_for_server(&self, server_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_tokens WHERE server_id = $1").bind(server_id).execute(&self.write).await?;
        Ok(())
    }
}
