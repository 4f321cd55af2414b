//! Moves between hosts: the `migrate` and `os-migrateLive` actions,
//! `os-migrations`, and a server's in-progress live migrations with
//! force-complete and abort.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::{LiveMigrateRequest, MigrationFilter};
use ecs_store::MigrationListQuery;
use ecs_types::Timestamp;
use ecs_types::migration::{Migration, MigrationType};
use serde_json::{Value, json};

use super::lifecycle::accepted;
use super::validate::{self, QueryParams, invalid, invalid_query};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;
use crate::request_id::RequestId;

type Result<T> = std::result::Result<T, NovaError>;

/// The most migrations one page shows.
const MAX_LIMIT: usize = 1000;

fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// A host name as Nova's schemas take it (`parameter_types.fqdn`), or null.
fn host_param(v: Option<&Value>, path: &str) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(h) => {
            let host = validate::string(h, path, 1, 255)?;
            if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                return Err(invalid(path, h, format!("'{host}' does not match '^[a-zA-Z0-9-._]*$'")));
            }
            Ok(Some(host.to_string()))
        }
    }
}

/// `migrate` and `os-migrateLive`, from the server action dispatcher.
pub(super) async fn action(
    state: &AppState,
    call: &NovaCall,
    request_id: &str,
    id: &str,
    name: &str,
    args: &Value,
) -> Result<Response> {
    let (core, ctx, v) = (&state.core, &call.ctx, call.version);
    if name == "migrate" {
        // Before 2.56 the argument is not looked at.
        let host = match args {
            Value::Null => None,
            _ if !v.at_least(56) => None,
            _ => host_param(validate::object(args, "migrate", &["host"], &[])?.get("host"), "host")?,
        };
        core.server_cold_migrate(ctx, id, host.as_deref(), request_id).await?;
        return accepted();
    }
    let mut allowed = vec!["host", "block_migration"];
    let mut required = vec!["host", "block_migration"];
    if !v.at_least(25) {
        allowed.push("disk_over_commit");
        required.push("disk_over_commit");
    }
    if v.at_least(30) && !v.at_least(68) {
        allowed.push("force");
    }
    let f = validate::object(args, "os-migrateLive", &allowed, &required)?;
    let host = host_param(f.get("host"), "host")?;
    let block_migration = match &f["block_migration"] {
        Value::String(s) if s == "auto" && v.at_least(25) => None,
        b => Some(validate::boolean(b, "block_migration")?),
    };
    if let Some(d) = f.get("disk_over_commit") {
        validate::boolean(d, "disk_over_commit")?;
    }
    let force = f.get("force").map(|b| validate::boolean(b, "force")).transpose()?.unwrap_or(false);
    if force && host.is_none() {
        return Err(NovaError::bad_request("Can't force to a non-provided destination"));
    }
    core.server_live_migrate(ctx, id, LiveMigrateRequest { host, block_migration, force }, request_id).await?;
    accepted()
}

/// A flavor id as Nova's integer `instance_type_id` when it is one.
fn flavor_ref(id: &str) -> Value {
    id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(id))
}

fn index_view(call: &NovaCall, m: &Migration) -> Value {
    let mut view = json!({
        "id": m.id,
        "instance_uuid": m.server_id,
        "status": m.status.as_str(),
        "source_compute": m.source_compute,
        "source_node": m.source_node,
        "dest_compute": m.dest_compute,
        "dest_node": m.dest_node,
        "dest_host": m.dest_host,
        "old_instance_type_id": flavor_ref(&m.old_flavor_id),
        "new_instance_type_id": flavor_ref(&m.new_flavor_id),
        "created_at": time(m.created_at),
        "updated_at": time(m.updated_at),
    });
    let v = call.version;
    if v.at_least(23) {
        view["migration_type"] = json!(m.migration_type.as_str());
        // Only a live migration in progress can be looked at on its own.
        if m.migration_type == MigrationType::LiveMigration && m.status.live_in_progress() {
            view["links"] = call.links.resource(&format!("servers/{}/migrations", m.server_id), &m.id.to_string());
        }
    }
    if v.at_least(59) {
        view["uuid"] = json!(m.uuid);
    }
    if v.at_least(80) {
        view["user_id"] = json!(m.user_id);
        view["project_id"] = json!(m.project_id);
    }
    view
}

fn time_query(q: &QueryParams, name: &str) -> Result<Option<Timestamp>> {
    q.get(name)
        .map(|raw| {
            chrono::DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
                .map_err(|_| invalid_query(name, raw, format!("'{raw}' is not a 'date-time'")))
        })
        .transpose()
}

/// `GET /os-migrations` (admin).
pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let v = call.version;
    let text = |name: &str| q.get(name).map(String::from);
    let mut filter = MigrationFilter {
        query: MigrationListQuery {
            server_id: text("instance_uuid"),
            host: text("host").or_else(|| text("source_compute")),
            status: text("status"),
            migration_type: text("migration_type"),
            ..Default::default()
        },
        ..Default::default()
    };
    let paged = v.at_least(59);
    if paged {
        filter.query.changes_since = time_query(&q, "changes-since")?;
        filter.marker = text("marker");
        let limit = q.limit()?.map(|l| (l as usize).min(MAX_LIMIT)).unwrap_or(MAX_LIMIT);
        filter.limit = Some(limit);
    }
    if v.at_least(66) {
        filter.query.changes_before = time_query(&q, "changes-before")?;
        if let (Some(since), Some(before)) = (filter.query.changes_since, filter.query.changes_before)
            && before < since
        {
            return Err(NovaError::bad_request(
                "The value of changes-since must be less than or equal to changes-before.",
            ));
        }
    }
    if v.at_least(80) {
        filter.query.user_id = text("user_id");
        filter.query.project_id = text("project_id");
    }
    let all = state.core.migrations(&call.ctx, &filter).await?;
    let mut body = json!({"migrations": all.iter().map(|m| index_view(&call, m)).collect::<Vec<_>>()});
    if paged
        && filter.limit == Some(all.len())
        && let Some(last) = all.last()
    {
        body["migrations_links"] = call.links.next("os-migrations", &q, &last.uuid);
    }
    Ok(Json(body))
}

fn server_view(call: &NovaCall, m: &Migration) -> Value {
    let mut view = json!({
        "id": m.id,
        "server_uuid": m.server_id,
        "status": m.status.as_str(),
        "source_compute": m.source_compute,
        "source_node": m.source_node,
        "dest_compute": m.dest_compute,
        "dest_node": m.dest_node,
        "dest_host": m.dest_host,
        "memory_total_bytes": m.memory_total,
        "memory_processed_bytes": m.memory_processed,
        "memory_remaining_bytes": m.memory_remaining,
        "disk_total_bytes": m.disk_total,
        "disk_processed_bytes": m.disk_processed,
        "disk_remaining_bytes": m.disk_remaining,
        "created_at": time(m.created_at),
        "updated_at": time(m.updated_at),
    });
    if call.version.at_least(59) {
        view["uuid"] = json!(m.uuid);
    }
    if call.version.at_least(80) {
        view["user_id"] = json!(m.user_id);
        view["project_id"] = json!(m.project_id);
    }
    view
}

/// The server migration routes exist from 2.23 (force_complete 2.22,
/// abort 2.24); earlier they are 404, as Nova's.
fn since(call: &NovaCall, minor: u16) -> Result<()> {
    if call.version.at_least(minor) { Ok(()) } else { Err(NovaError::not_found()) }
}

fn migration_id(raw: &str) -> Result<i64> {
    raw.parse::<i64>().map_err(|_| NovaError::bad_request(format!("Invalid migration id {raw}")))
}

/// `GET /servers/{id}/migrations` (2.23, admin): live migrations in progress.
pub async fn server_index(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    since(&call, 23)?;
    let all = state.core.server_live_migrations(&call.ctx, &id).await?;
    Ok(Json(json!({"migrations": all.iter().map(|m| server_view(&call, m)).collect::<Vec<_>>()})))
}

/// `GET /servers/{id}/migrations/{migration_id}` (2.23, admin).
pub async fn server_show(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, mid)): Path<(String, String)>,
) -> Result<Json<Value>> {
    since(&call, 23)?;
    let mid = migration_id(&mid).map_err(|_| NovaError::not_found())?;
    let m = state.core.server_live_migration(&call.ctx, &id, mid).await?;
    Ok(Json(json!({"migration": server_view(&call, &m)})))
}

/// `POST /servers/{id}/migrations/{migration_id}/action` with
/// `force_complete` (2.22, admin).
pub async fn server_action(
    State(state): State<AppState>,
    Extension(RequestId(_request_id)): Extension<RequestId>,
    call: NovaCall,
    Path((id, mid)): Path<(String, String)>,
    NovaBody(body): NovaBody,
) -> Result<Response> {
    since(&call, 22)?;
    let f = validate::object(&body, "", &["force_complete"], &["force_complete"])?;
    if !f["force_complete"].is_null() {
        return Err(invalid("force_complete", &f["force_complete"], "is not of type 'null'"));
    }
    let mid = migration_id(&mid)?;
    state.core.migration_force_complete(&call.ctx, &id, mid).await?;
    accepted()
}

/// `DELETE /servers/{id}/migrations/{migration_id}` (2.24, admin): abort.
pub async fn server_abort(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, mid)): Path<(String, String)>,
) -> Result<Response> {
    since(&call, 24)?;
    let mid = migration_id(&mid)?;
    state.core.migration_abort(&call.ctx, &id, mid, call.version.at_least(65)).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
