//! EC2-style credentials (access key / secret key) of users on projects.
//!
//! The secret is stored as is, not hashed: verifying an SDK-HMAC-SHA256
//! signature means recomputing the HMAC keyed with the secret, so the
//! server must hold the secret itself (Keystone keeps EC2 secrets the
//! same way).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreResult, time};

const COLUMNS: &str = "access, secret, user_id, project_id, created_at";

/// One access key of a user, scoped to a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The access key (AK), the credential's id.
    pub access: String,
    /// The secret key (SK).
    pub secret: String,
    pub user_id: String,
    pub project_id: String,
    pub created_at: ecs_types::Timestamp,
}

fn credential_from_row(row: &AnyRow) -> StoreResult<Credential> {
    Ok(Credential {
        access: row.try_get("access")?,
        secret: row.try_get("secret")?,
        user_id: row.try_get("user_id")?,
        project_id: row.try_get("project_id")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
    })
}

impl Store {
    pub async fn credential_insert(&self, c: &Credential) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO credentials (access, secret, user_id, project_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.access)
        .bind(&c.secret)
        .bind(&c.user_id)
        .bind(&c.project_id)
        .bind(time::to_db(c.created_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn credential_get(&self, access: &str) -> StoreResult<Credential> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM credentials WHERE access = $1"))
            .bind(access)
            .fetch_one(&self.read)
            .await?;
        credential_from_row(&row)
    }

    /// A user's credentials, oldest first.
    pub async fn credential_list(&self, user_id: &str) -> StoreResult<Vec<Credential>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM credentials WHERE user_id = $1 ORDER BY created_at, access"))
                .bind(user_id)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(credential_from_row).collect()
    }

    pub async fn credential_delete(&self, access: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM credentials WHERE access = $1").bind(access).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }
}
