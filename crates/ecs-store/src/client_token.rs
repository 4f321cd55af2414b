//! Idempotency tokens (`X-Client-Token`, DECISIONS.md §13): the first
//! request with a token records the job it started, in the transaction that
//! inserts that job; a later one with the same token gets that job back.

use sqlx::{Any, Row, Transaction};

use crate::task::{NewTask, insert_task};
use crate::{Store, StoreResult, time};

/// How long a token is remembered.
const RETENTION: chrono::Duration = chrono::Duration::hours(24);

/// A request's token and a digest of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub token: String,
    pub request_hash: String,
}

/// What a token was used for the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub request_hash: String,
    pub task_id: String,
}

/// Records `token` for `task_id` unless a live record exists; returns the
/// existing record if so. An expired record is replaced.
pub(crate) async fn claim(
    tx: &mut Transaction<'_, Any>,
    project_id: &str,
    token: &ClientToken,
    task_id: &str,
) -> StoreResult<Option<TokenUse>> {
    let now = ecs_types::clock::now();
    sqlx::query("DELETE FROM client_tokens WHERE project_id = $1 AND token = $2 AND created_at < $3")
        .bind(project_id)
        .bind(&token.token)
        .bind(time::to_db(now - RETENTION))
        .execute(&mut **tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO client_tokens (project_id, token, request_hash, task_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, token) DO NOTHING",
    )
    .bind(project_id)
    .bind(&token.token)
    .bind(&token.request_hash)
    .bind(task_id)
    .bind(time::to_db(now))
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT request_hash, task_id FROM client_tokens WHERE project_id = $1 AND token = $2")
        .bind(project_id)
        .bind(&token.token)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Some(TokenUse { request_hash: row.try_get("request_hash")?, task_id: row.try_get("task_id")? }))
}

impl Store {
    /// The live record of a token, if any.
    pub async fn client_token_get(&self, project_id: &str, token: &str) -> StoreResult<Option<TokenUse>> {
        let not_before = time::to_db(ecs_types::clock::now() - RETENTION);
        let row = sqlx::query(
            "SELECT request_hash, task_id FROM client_tokens WHERE project_id = $1 AND token = $2 AND created_at >= $3",
        )
        .bind(project_id)
        .bind(token)
        .bind(not_before)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok(TokenUse { request_hash: r.try_get("request_hash")?, task_id: r.try_get("task_id")? }))
            .transpose()
    }

    /// Inserts a job (a task with no steps of its own), recording `token`
    /// with it; if the token was used already, inserts nothing and returns
    /// what it was used for.
    pub async fn job_insert(&self, job: &NewTask, token: Option<&ClientToken>) -> StoreResult<Option<TokenUse>> {
        let mut tx = self.write.begin().await?;
        if let Some(token) = token
            && let Some(earlier) = claim(&mut tx, &job.project_id, token, &job.id).await?
        {
            return Ok(Some(earlier));
        }
        insert_task(&mut tx, job).await?;
        tx.commit().await?;
        Ok(None)
    }
}
