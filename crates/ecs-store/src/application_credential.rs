//! Keystone application credentials of users. The secret is stored only
//! as a hash; roles and access rules as JSON arrays.

use ecs_types::{AccessRule, ApplicationCredential};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

const COLUMNS: &str = "id, name, description, user_id, project_id, secret_hash, expires_at, unrestricted, role_ids, \
                       access_rules, created_at";

fn rules_to_json(rules: &[AccessRule]) -> String {
    Value::Array(
        rules.iter().map(|r| json!({"id": r.id, "service": r.service, "method": r.method, "path": r.path})).collect(),
    )
    .to_string()
}

fn rules_from_json(text: &str) -> StoreResult<Vec<AccessRule>> {
    let corrupt = || StoreError::Corrupt(format!("access rules {text:?}"));
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt())?;
    let field = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).map(String::from).ok_or_else(corrupt);
    value
        .as_array()
        .ok_or_else(corrupt)?
        .iter()
        .map(|r| {
            Ok(AccessRule {
                id: field(r, "id")?,
                service: field(r, "service")?,
                method: field(r, "method")?,
                path: field(r, "path")?,
            })
        })
        .collect()
}

fn from_row(row: &AnyRow) -> StoreResult<ApplicationCredential> {
    let role_ids: String = row.try_get("role_ids")?;
    let role_ids: Vec<String> =
        serde_json::from_str(&role_ids).map_err(|_| StoreError::Corrupt(format!("role ids {role_ids:?}")))?;
    let access_rules: String = row.try_get("access_rules")?;
    Ok(ApplicationCredential {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        user_id: row.try_get("user_id")?,
        project_id: row.try_get("project_id")?,
        secret_hash: row.try_get("secret_hash")?,
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(time::from_db).transpose()?,
        unrestricted: crate::flag(row, "unrestricted")?,
        role_ids,
        access_rules: rules_from_json(&access_rules)?,
        created_at: time::from_db(row.try_get("created_at")?)?,
    })
}

impl Store {
    /// Stores a new application credential; a name the user already has
    /// is a `Conflict`.
    pub async fn application_credential_insert(&self, c: &ApplicationCredential) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO application_credentials ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.user_id)
        .bind(&c.project_id)
        .bind(&c.secret_hash)
        .bind(c.expires_at.map(time::to_db))
        .bind(c.unrestricted)
        .bind(serde_json::to_string(&c.role_ids).unwrap_or_else(|_| "[]".into()))
        .bind(rules_to_json(&c.access_rules))
        .bind(time::to_db(c.created_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn application_credential_get(&self, id: &str) -> StoreResult<ApplicationCredential> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM application_credentials WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        from_row(&row)
    }

    pub async fn application_credential_get_by_name(
        &self,
        user_id: &str,
        name: &str,
    ) -> StoreResult<ApplicationCredential> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM application_credentials WHERE user_id = $1 AND name = $2"))
                .bind(user_id)
                .bind(name)
                .fetch_one(&self.read)
                .await?;
        from_row(&row)
    }

    /// A user's application credentials, oldest first.
    pub async fn application_credential_list(&self, user_id: &str) -> StoreResult<Vec<ApplicationCredential>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM application_credentials WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn application_credential_delete(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM application_credentials WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // Its tokens go with it.
        sqlx::query("UPDATE tokens SET revoked = TRUE WHERE application_credential_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user's application credentials on a project (Keystone
    /// does when a role assignment of theirs there is removed), and revokes
    /// their tokens; returns how many.
    pub async fn application_credential_delete_for(&self, user_id: &str, project_id: &str) -> StoreResult<u64> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE tokens SET revoked = TRUE WHERE application_credential_id IN \
             (SELECT id FROM application_credentials WHERE user_id = $1 AND project_id = $2)",
        )
        .bind(user_id)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM application_credentials WHERE user_id = $1 AND project_id = $2")
            .bind(user_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
