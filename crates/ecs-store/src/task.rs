//! The durable task queue. A task is inserted in the same transaction as
//! the state change that starts it; workers claim tasks with a lease,
//! record each finished step (and the server state it produced) in one
//! transaction, and a task whose lease ran out — its worker died — is
//! claimed again and resumes at its recorded step.
//!
//! Leases are fenced: every claim bumps the task's `lease_token`, and
//! every write made for a claim (a step's record, a renewal) is
//! conditional on the token it was claimed with. A run whose lease was
//! taken over — by another node, or by a second claim on the same node,
//! whose `claimed_by` is the same — has its writes refused.

use ecs_types::Timestamp;
use ecs_types::server::{Task, TaskEvent, TaskPhase};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::server::{ServerUpdate, apply_server_update};
use crate::{Backend, Store, StoreError, StoreResult, time};

const COLUMNS: &str = "seq, id, parent_id, kind, server_id, project_id, user_id, request_id, phase, step, params, \
    progress, message, attempts, created_at, updated_at, finished_at";

/// A task to insert.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub id: String,
    pub parent_id: Option<String>,
    pub kind: String,
    pub server_id: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub request_id: String,
    pub params: serde_json::Value,
    /// A task that is done when inserted (lock, unlock: actions that Nova
    /// records but that need no worker).
    pub finished: bool,
    /// Events to record with it (for finished tasks).
    pub events: Vec<String>,
    /// With `finished`: a task refused before it could run (a batch member
    /// in the wrong state), recorded as failed for this reason.
    pub failure: Option<String>,
    /// With `failure`: the typed reason the core records beside the text
    /// (its `failure_reason` progress key), for the dialects' codes.
    pub failure_reason: Option<serde_json::Value>,
}

impl NewTask {
    /// A task that is done when recorded (a job whose work its request
    /// did, or whose state is its sub-jobs'), of no server.
    pub fn done(kind: &str, project_id: &str, user_id: &str, request_id: &str, params: serde_json::Value) -> NewTask {
        NewTask {
            id: ecs_types::random::uuid().to_string(),
            parent_id: None,
            kind: kind.into(),
            server_id: None,
            project_id: project_id.into(),
            user_id: user_id.into(),
            request_id: request_id.into(),
            params,
            finished: true,
            events: Vec::new(),
            failure: None,
            failure_reason: None,
        }
    }
}

/// The fencing token of one claim of a task: written by the claim, named
/// by every write made for it, superseded by the next claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseToken(pub i64);

/// A task claimed by a worker, with the token its writes must carry.
#[derive(Debug, Clone)]
pub struct ClaimedTask {
    pub task: Task,
    pub token: LeaseToken,
}

/// What a worker records after a step, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct TaskAdvance {
    pub phase: Option<TaskPhase>,
    pub step: i64,
    pub progress: serde_json::Value,
    pub message: Option<String>,
    /// Events started (name, host) before this point.
    pub start_events: Vec<(String, Option<String>)>,
    /// Events finished: (name, result, traceback).
    pub finish_events: Vec<(String, String, Option<String>)>,
    pub server: Option<(String, ServerUpdate)>,
    /// Replaces the task's parameters (a finished task drops its secrets).
    pub params: Option<serde_json::Value>,
}

impl TaskAdvance {
    /// This record followed by `later`, as one record.
    pub fn then(self, later: TaskAdvance) -> TaskAdvance {
        let server = match (self.server, later.server) {
            (Some((id, first)), Some((_, second))) => Some((id, first.then(second))),
            (first, second) => second.or(first),
        };
        let mut start_events = self.start_events;
        start_events.extend(later.start_events);
        let mut finish_events = self.finish_events;
        finish_events.extend(later.finish_events);
        TaskAdvance {
            phase: later.phase.or(self.phase),
            step: later.step,
            progress: later.progress,
            message: later.message.or(self.message),
            start_events,
            finish_events,
            server,
            params: later.params.or(self.params),
        }
    }
}

fn task_from_row(row: &AnyRow) -> StoreResult<Task> {
    let phase: String = row.try_get("phase")?;
    let json = |c: &str| -> StoreResult<serde_json::Value> {
        let text: String = row.try_get(c)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("tasks.{c}: {e}")))
    };
    Ok(Task {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        parent_id: row.try_get("parent_id")?,
        kind: row.try_get("kind")?,
        server_id: row.try_get("server_id")?,
        project_id: row.try_get("project_id")?,
        user_id: row.try_get("user_id")?,
        request_id: row.try_get("request_id")?,
        phase: TaskPhase::parse(&phase).ok_or_else(|| StoreError::Corrupt(format!("task phase {phase}")))?,
        step: row.try_get("step")?,
        params: json("params")?,
        progress: json("progress")?,
        message: row.try_get("message")?,
        attempts: row.try_get("attempts")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        updated_at: time::from_db(row.try_get("updated_at")?)?,
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(time::from_db).transpose()?,
    })
}

fn event_from_row(row: &AnyRow) -> StoreResult<TaskEvent> {
    Ok(TaskEvent {
        task_id: row.try_get("task_id")?,
        seq: row.try_get("seq")?,
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        started_at: time::from_db(row.try_get("started_at")?)?,
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(time::from_db).transpose()?,
        result: row.try_get("result")?,
        traceback: row.try_get("traceback")?,
        details: row.try_get("details")?,
    })
}

pub(crate) async fn insert_task(tx: &mut Transaction<'_, Any>, t: &NewTask) -> StoreResult<()> {
    let now = time::to_db(ecs_types::clock::now());
    let phase = match (t.finished, &t.failure) {
        (false, _) => TaskPhase::Pending,
        (true, None) => TaskPhase::Succeeded,
        (true, Some(_)) => TaskPhase::Failed,
    };
    let progress = match (&t.failure, &t.failure_reason) {
        (None, _) => serde_json::json!({}),
        (Some(f), None) => serde_json::json!({"failure": f}),
        (Some(f), Some(reason)) => serde_json::json!({"failure": f, "failure_reason": reason}),
    };
    sqlx::query(
        "INSERT INTO tasks (id, parent_id, kind, server_id, project_id, user_id, request_id, phase, params, \
         created_at, updated_at, finished_at, progress, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)",
    )
    .bind(&t.id)
    .bind(&t.parent_id)
    .bind(&t.kind)
    .bind(&t.server_id)
    .bind(&t.project_id)
    .bind(&t.user_id)
    .bind(&t.request_id)
    .bind(phase.as_str())
    .bind(t.params.to_string())
    .bind(now)
    .bind(t.finished.then_some(now))
    .bind(progress.to_string())
    .bind(t.failure.as_ref().map(|_| "Error"))
    .execute(&mut **tx)
    .await?;
    for (i, name) in t.events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO task_events (task_id, seq, name, started_at, finished_at, result) \
             VALUES ($1, $2, $3, $4, $4, 'Success')",
        )
        .bind(&t.id)
        .bind(i as i64)
        .bind(name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

const UNFINISHED: &str = "('pending', 'running', 'unwinding')";

impl Store {
    /// Inserts a task on its own (no state change goes with it).
    pub async fn task_insert(&self, t: &NewTask) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        insert_task(&mut tx, t).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `n` runnable tasks for `worker` until `lease_until`. A
    /// task is runnable when it is unfinished, nobody holds a live lease on
    /// it, and no earlier task of the same server is unfinished (tasks of
    /// one server run in order).
    ///
    /// Only tasks this worker can carry out are claimed: those of servers
    /// not placed yet or placed on one of `hosts` (the hosts it drives),
    /// and those of servers whose host is down (forced down, or silent
    /// since before `up_since`): nobody drives it, and what such a task
    /// can do (a local delete, an evacuation, failing cleanly) any worker can.
    /// Tasks in `running` (those the worker runs now) are never claimed:
    /// a claim would fence off the run still in flight.
    ///
    /// Each claim bumps the task's lease token; the returned token is the
    /// one the claim's writes must carry.
    pub async fn task_claim(
        &self,
        worker: &str,
        n: i64,
        lease_until: Timestamp,
        hosts: &[String],
        running: &[String],
        up_since: Timestamp,
    ) -> StoreResult<Vec<ClaimedTask>> {
        let now = time::to_db(ecs_types::clock::real_now());
        let placeholders =
            |from: usize, n: usize| (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        // Another worker's host that is up ($5: the oldest heartbeat that counts).
        let up = "s.host IN (SELECT h.name FROM compute_hosts h WHERE h.forced_down = FALSE AND h.heartbeat_at >= $5)";
        let foreign_host = if hosts.is_empty() {
            format!("s.host IS NOT NULL AND {up}")
        } else {
            format!("s.host IS NOT NULL AND s.host NOT IN ({}) AND {up}", placeholders(6, hosts.len()))
        };
        let not_running = if running.is_empty() {
            String::new()
        } else {
            format!("AND t.id NOT IN ({}) ", placeholders(6 + hosts.len(), running.len()))
        };
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE tasks SET claimed_by = $1, lease_until = $2, lease_token = lease_token + 1, \
             attempts = attempts + 1, updated_at = $3, \
             phase = CASE WHEN phase = 'pending' THEN 'running' ELSE phase END \
             WHERE seq IN (SELECT t.seq FROM tasks t WHERE t.phase IN {UNFINISHED} \
               AND (t.lease_until IS NULL OR t.lease_until < $3) {not_running}\
               AND NOT EXISTS (SELECT 1 FROM tasks e WHERE e.server_id = t.server_id AND e.seq < t.seq \
                               AND e.phase IN {UNFINISHED}) \
               AND NOT EXISTS (SELECT 1 FROM servers s WHERE s.id = t.server_id AND {foreign_host}) \
               ORDER BY t.seq LIMIT $4{skip_locked}) \
             AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING {COLUMNS}, lease_token"
        );
        let mut query =
            sqlx::query(&sql).bind(worker).bind(time::to_db(lease_until)).bind(now).bind(n).bind(time::to_db(up_since));
        for value in hosts.iter().chain(running) {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.write).await?;
        let mut tasks = rows
            .iter()
            .map(|row| Ok(ClaimedTask { task: task_from_row(row)?, token: LeaseToken(row.try_get("lease_token")?) }))
            .collect::<StoreResult<Vec<_>>>()?;
        tasks.sort_by_key(|c| c.task.seq);
        Ok(tasks)
    }

    /// Extends the claim `token` of task `id` to `lease_until` (a worker's
    /// heartbeat while a step runs). False when a later claim superseded
    /// it. A task that has finished keeps no lease, but its own claim is
    /// still answered true.
    pub async fn task_renew(&self, id: &str, token: LeaseToken, lease_until: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE tasks SET lease_until = CASE WHEN phase IN {UNFINISHED} THEN $1 ELSE NULL END \
             WHERE id = $2 AND lease_token = $3"
        ))
        .bind(time::to_db(lease_until))
        .bind(id)
        .bind(token.0)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a step's outcome (and the server state it produced) for
    /// the claim `token`, extending its lease. Returns false, writing
    /// nothing, when a later claim superseded it.
    pub async fn task_advance(
        &self,
        id: &str,
        token: LeaseToken,
        lease_until: Timestamp,
        a: &TaskAdvance,
    ) -> StoreResult<bool> {
        let now = time::to_db(ecs_types::clock::now());
        let mut tx = self.write.begin().await?;
        let finished = a.phase.is_some_and(TaskPhase::is_finished);
        let done = sqlx::query(
            "UPDATE tasks SET step = $1, progress = $2, phase = COALESCE($3, phase), message = COALESCE($4, message), \
             updated_at = $5, lease_until = $6, finished_at = $7 WHERE id = $8 AND lease_token = $9",
        )
        .bind(a.step)
        .bind(a.progress.to_string())
        .bind(a.phase.map(|p| p.as_str()))
        .bind(&a.message)
        .bind(now)
        .bind(if finished { None } else { Some(time::to_db(lease_until)) })
        .bind(finished.then_some(now))
        .bind(id)
        .bind(token.0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(params) = &a.params {
            sqlx::query("UPDATE tasks SET params = $1 WHERE id = $2")
                .bind(params.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (name, host) in &a.start_events {
            sqlx::query(
                "INSERT INTO task_events (task_id, seq, name, host, started_at) \
                 SELECT $1, COALESCE(MAX(seq) + 1, 0), $2, $3, $4 FROM task_events WHERE task_id = $1",
            )
            .bind(id)
            .bind(name)
            .bind(host)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for (name, result, traceback) in &a.finish_events {
            sqlx::query(
                "UPDATE task_events SET finished_at = $1, result = $2, traceback = $3 \
                 WHERE task_id = $4 AND name = $5 AND finished_at IS NULL",
            )
            .bind(now)
            .bind(result)
            .bind(traceback)
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        if let Some((server_id, update)) = &a.server {
            apply_server_update(&mut tx, server_id, update).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Gives up every lease at once: on a single-node start, whatever ran
    /// before the restart is nobody's and resumes now. The tokens move on
    /// too, so no write of an earlier claim can land afterwards.
    pub async fn task_release_all_leases(&self) -> StoreResult<u64> {
        let done = sqlx::query(&format!(
            "UPDATE tasks SET claimed_by = NULL, lease_until = NULL, lease_token = lease_token + 1 \
             WHERE phase IN {UNFINISHED}"
        ))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn task_get(&self, id: &str) -> StoreResult<Task> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE id = $1")).bind(id).fetch_one(&self.read).await?;
        task_from_row(&row)
    }

    /// The sub-tasks of a task (an ECS job's sub-jobs), oldest first.
    pub async fn task_children(&self, parent_id: &str) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE parent_id = $1 ORDER BY seq"))
            .bind(parent_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// A server's tasks, newest first (Nova's instance actions).
    pub async fn task_list_for_server(&self, server_id: &str) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE server_id = $1 ORDER BY seq DESC"))
            .bind(server_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// How many tasks are not finished (for tests and shutdown).
    pub async fn task_unfinished_count(&self) -> StoreResult<i64> {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM tasks WHERE phase IN {UNFINISHED}"))
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Whether a server has a task still running or queued.
    pub async fn task_unfinished_for_server(&self, server_id: &str) -> StoreResult<bool> {
        let row =
            sqlx::query(&format!("SELECT COUNT(*) AS n FROM tasks WHERE server_id = $1 AND phase IN {UNFINISHED}"))
                .bind(server_id)
                .fetch_one(&self.read)
                .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    pub async fn task_events(&self, task_id: &str) -> StoreResult<Vec<TaskEvent>> {
        let rows = sqlx::query(
            "SELECT task_id, seq, name, host, started_at, finished_at, result, traceback, details \
             FROM task_events WHERE task_id = $1 ORDER BY seq",
        )
        .bind(task_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
