//! `/limits`: the project's absolute limits and what it uses of them.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::validate::{ListQuery, ListRules, Paging};
use super::{NovaCall, NovaError};
use crate::AppState;

/// Nova's `limits_query_schema` (strict from 2.75).
const QUERY: ListRules = ListRules { paging: Paging::None, filters: &["tenant_id", "reserved"], strict_from: Some(75) };

pub async fn show(
    State(state): State<AppState>,
    call: NovaCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, NovaError> {
    let query = ListQuery::parse(raw.as_deref(), call.version, &QUERY)?;
    let q = &query.params;
    let own = ecs_core::policy::project_of(&call.ctx)?.to_string();
    // Admins may look at another project (`tenant_id`), as in Nova.
    let project = match q.get("tenant_id") {
        Some(p) if call.ctx.is_admin() => p.to_string(),
        _ => own,
    };
    let mut absolute = state.core.absolute_limits(&project).await?;
    // 2.36 dropped the proxied resources, 2.57 file injection.
    let mut gone = Vec::new();
    if call.version.at_least(36) {
        gone.extend([
            "maxSecurityGroups",
            "maxSecurityGroupRules",
            "maxTotalFloatingIps",
            "totalFloatingIpsUsed",
            "totalSecurityGroupsUsed",
            "maxImageMeta",
        ]);
    }
    if call.version.at_least(57) {
        gone.extend(["maxPersonality", "maxPersonalitySize"]);
    }
    absolute.retain(|k, _| !gone.contains(k));
    Ok(Json(json!({"limits": {"rate": [], "absolute": absolute}})))
}
