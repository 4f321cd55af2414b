//! `GET /v1/{project_id}/cloudservers/flavors[?availability_zone=]` (§5.4.1):
//! the flavors the caller may use, typed as the seed prints them, with
//! their extra specs as `os_extra_specs`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ecs_core::flavor::{FlavorListRequest, flavor_on_sale_in};
use ecs_types::Flavor;
use serde_json::{Value, json};

use super::{EcsCall, EcsError, ListQuery};
use crate::{AppState, BaseUrl};

pub(super) fn view(base: &BaseUrl, project: &str, f: &Flavor) -> Value {
    let rest = format!("{project}/flavors/{}", f.id);
    json!({
        "id": f.id,
        "name": f.name,
        "vcpus": f.vcpus.to_string(),
        "ram": f.ram_mb,
        "disk": f.disk_gb.to_string(),
        "swap": if f.swap_mb == 0 { String::new() } else { f.swap_mb.to_string() },
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "rxtx_factor": f.rxtx_factor,
        "rxtx_quota": null,
        "rxtx_cap": null,
        "os-flavor-access:is_public": f.is_public,
        "links": [
            {"rel": "self", "href": base.join(&format!("v1.0/{rest}")), "type": null},
            {"rel": "bookmark", "href": base.join(&rest), "type": null},
        ],
        "os_extra_specs": f.extra_specs,
        // A new server of the flavor: no data disk yet, all its NICs free.
        "attachableQuantity": super::block_devices::attachable_quantity(0, Some(max_nics(f))),
    })
}

/// The NICs a server of the flavor may have: its `instance_vnic:max_count`,
/// or seed 001's 12.
fn max_nics(f: &Flavor) -> usize {
    f.extra_specs.get("instance_vnic:max_count").and_then(|v| v.parse().ok()).unwrap_or(super::input::MAX_NICS)
}

#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/flavors",
    tag = "ECS flavors",
    summary = "List flavors with their extra specs (§5.4.1; `availability_zone` filter)",
    params(("availability_zone" = Option<String>, Query, description = "Flavors sold in this zone.")),
    responses(
        (status = 200, description = "`{\"flavors\": [{\"id\", \"name\", \"vcpus\", \"ram\", \"disk\", \"os-extra_specs\"…}]}`", body = Object),
    ),
)]
pub async fn index(
    State(state): State<AppState>,
    base: BaseUrl,
    call: EcsCall,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let az = query.get("availability_zone").filter(|v| !v.is_empty());
    let flavors = state.core.flavor_list(&call.ctx, FlavorListRequest::default()).await?;
    let shown: Vec<Value> = flavors
        .iter()
        .filter(|f| az.is_none_or(|az| flavor_on_sale_in(f, az)))
        .map(|f| view(&base, &project, f))
        .collect();
    Ok(Json(json!({"flavors": shown})))
}
