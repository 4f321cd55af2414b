//! `/os-instance_usage_audit_log[/{before}]` (admins): the instance usage
//! audit of the last completed month, per host.

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDateTime;
use ecs_core::host::UsageAudit;
use serde_json::{Map, Value, json};

use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn render(audit: &UsageAudit) -> Value {
    let mut log = Map::new();
    for h in &audit.hosts {
        let message = format!("Instance usage audit ran for host {}, {} instances in 0 seconds.", h.host, h.instances);
        log.insert(h.host.clone(), json!({"state": "DONE", "instances": h.instances, "errors": 0, "message": message}));
    }
    let hosts = audit.hosts.len();
    // Python's str() of a datetime.
    let time = |t: ecs_types::Timestamp| t.format("%Y-%m-%d %H:%M:%S").to_string();
    json!({
        "period_beginning": time(audit.period_beginning),
        "period_ending": time(audit.period_ending),
        "num_hosts": hosts,
        "num_hosts_done": hosts,
        "num_hosts_running": 0,
        "num_hosts_not_run": 0,
        "hosts_not_run": [],
        "total_instances": audit.hosts.iter().map(|h| h.instances).sum::<i64>(),
        "total_errors": 0,
        "overall_status": "ALL hosts done. 0 errors.",
        "log": log,
    })
}

pub async fn index(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    let audit = state.core.usage_audit(&call.ctx, "os_compute_api:os-instance-usage-audit-log:list", None).await?;
    Ok(Json(json!({"instance_usage_audit_logs": render(&audit)})))
}

/// The audit of the last month completed before a time given as Nova
/// reads it: `%Y-%m-%d %H:%M:%S`, with fractional seconds after a dot.
pub async fn show(State(state): State<AppState>, call: NovaCall, Path(before): Path<String>) -> Result<Json<Value>> {
    ecs_core::policy::require_admin(&call.ctx, "os_compute_api:os-instance-usage-audit-log:show")?;
    let format = if before.contains('.') { "%Y-%m-%d %H:%M:%S%.f" } else { "%Y-%m-%d %H:%M:%S" };
    let time = NaiveDateTime::parse_from_str(&before, format)
        .map_err(|_| NovaError::bad_request(format!("Invalid timestamp for date {before}")))?;
    let rule = "os_compute_api:os-instance-usage-audit-log:show";
    let audit = state.core.usage_audit(&call.ctx, rule, Some(time.and_utc())).await?;
    Ok(Json(json!({"instance_usage_audit_log": render(&audit)})))
}
