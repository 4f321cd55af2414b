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
        let floating = state.core.store.floating_ip_list(Some(&project)).await.map_err(ecs_core::Error::from)?.len();
        let groups = state.core.store.security_group_list(Some(&project)).await.map_err(ecs_core::Error::from)?.len();
        for (k, v) in [
            ("maxSecurityGroups", ecs_core::security_group::GROUPS_QUOTA as i64),
            ("maxSecurityGroupRules", ecs_core::security_group::RULES_QUOTA as i64),
            ("maxTotalFloatingIps", ecs_core::floating_ip::FLOATING_IPS_QUOTA),
            ("totalFloatingIpsUsed", floating as i64),
            ("totalSecurityGroupsUsed", groups as i64),
            ("maxImageMeta", ecs_core::image::IMAGE_METADATA_LIMIT as i64),
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
