//! `/limits`: the project's absolute limits and what it uses of them.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::validate::QueryParams;
use super::{NovaCall, NovaError};
use crate::AppState;

pub async fn show(
    State(state): State<AppState>,
    call: NovaCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, NovaError> {
    let q = QueryParams::parse(raw.as_deref())?;
    let own = ecs_core::policy::project_of(&call.ctx)?.to_string();
    // Admins may look at another project (`tenant_id`), as in Nova.
    let project = match q.get("tenant_id") {
        Some(p) if call.ctx.is_admin() => p.to_string(),
        _ => own,
    };
    let limits = state.core.instance_limits(&project).await?;
    let used = state.core.store.instance_usage(&project).await.map_err(ecs_core::Error::from)?;
    let quota = &state.core.config.quota;
    let mut absolute = json!({
        "maxTotalInstances": limits.instances,
        "maxTotalCores": limits.cores,
        "maxTotalRAMSize": limits.ram_mb,
        "maxServerMeta": quota.metadata_items,
        "maxTotalKeypairs": state.core.config.keypair_quota,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalInstancesUsed": used.instances,
        "totalCoresUsed": used.cores,
        "totalRAMUsed": used.ram_mb,
        "totalServerGroupsUsed": 0,
    });
    if !call.version.at_least(36) {
        for (k, v) in [
            ("maxSecurityGroups", 10),
            ("maxSecurityGroupRules", 20),
            ("maxTotalFloatingIps", 10),
            ("totalFloatingIpsUsed", 0),
            ("totalSecurityGroupsUsed", 0),
            ("maxImageMeta", 128),
        ] {
            absolute[k] = json!(v);
        }
    }
    if !call.version.at_least(57) {
        absolute["maxPersonality"] = json!(5);
        absolute["maxPersonalitySize"] = json!(10240);
    }
    Ok(Json(json!({"limits": {"rate": [], "absolute": absolute}})))
}
