//! Key pairs, owned by users.

use ecs_types::{Keypair, KeypairType};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

const COLUMNS: &str = "id, user_id, name, type, public_key, fingerprint, created_at";

/// A key pair to insert.
#[derive(Debug, Clone)]
pub struct KeypairCreate {
    pub user_id: String,
    pub name: String,
    pub key_type: KeypairType,
    pub public_key: String,
    pub fingerprint: String,
}

fn keypair_from_row(row: &AnyRow) -> StoreResult<Keypair> {
    let key_type: String = row.try_get("type")?;
    Ok(Keypair {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        key_type: KeypairType::parse(&key_type)
            .ok_or_else(|| StoreError::Corrupt(format!("keypair type {key_type}")))?,
        public_key: row.try_get("public_key")?,
        fingerprint: row.try_get("fingerprint")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
    })
}

/// Why a key pair insert was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum KeypairInsertRefusal {
    /// The user already has `limit` key pairs.
    OverQuota,
    /// The user already has a key pair of that name.
    Exists,
}

impl Store {
    /// Inserts a key pair unless the user would then hold more than
    /// `limit` (the count and the insert are one transaction, with the
    /// user's row locked, so concurrent creates cannot overshoot).
    pub async fn keypair_create(
        &self,
        k: &KeypairCreate,
        limit: i64,
    ) -> StoreResult<Result<Keypair, KeypairInsertRefusal>> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!("SELECT id FROM users WHERE id = $1{}", self.backend.for_update()))
            .bind(&k.user_id)
            .fetch_one(&mut *tx)
            .await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM keypairs WHERE user_id = $1")
            .bind(&k.user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if limit >= 0 && count >= limit {
            return Ok(Err(KeypairInsertRefusal::OverQuota));
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(&k.user_id)
        .bind(&k.name)
        .bind(k.key_type.as_str())
        .bind(&k.public_key)
        .bind(&k.fingerprint)
        .bind(time::to_db(ecs_types::clock::now()))
        .fetch_one(&mut *tx)
        .await;
        let row = match inserted.map_err(StoreError::from) {
            Ok(row) => row,
            Err(StoreError::Conflict(_)) => return Ok(Err(KeypairInsertRefusal::Exists)),
            Err(e) => return Err(e),
        };
        let keypair = keypair_from_row(&row)?;
        tx.commit().await?;
        Ok(Ok(keypair))
    }

    pub async fn keypair_get(&self, user_id: &str, name: &str) -> StoreResult<Keypair> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM keypairs WHERE user_id = $1 AND name = $2"))
            .bind(user_id)
            .bind(name)
            .fetch_one(&self.read)
            .await?;
        keypair_from_row(&row)
    }

    /// A user's key pairs ordered by name; `marker` is the last name of the
    /// previous page and must exist.
    pub async fn keypair_list(
        &self,
        user_id: &str,
        limit: Option<i64>,
        marker: Option<&str>,
    ) -> StoreResult<Vec<Keypair>> {
        if let Some(marker) = marker {
            self.keypair_get(user_id, marker).await?;
        }
        let limit = limit.map(|l| format!(" LIMIT {}", l.max(0))).unwrap_or_default();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM keypairs WHERE user_id = $1 AND ($2 IS NULL OR name > $2) \
             ORDER BY name{limit}"
        ))
        .bind(user_id)
        .bind(marker)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(keypair_from_row).collect()
    }

    pub async fn keypair_delete(&self, user_id: &str, name: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM keypairs WHERE user_id = $1 AND name = $2")
            .bind(user_id)
            .bind(name)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
