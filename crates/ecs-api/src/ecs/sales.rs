//! What can be had where: `GET /v1/{project_id}/cloudservers/resize_flavors`
//! (the flavors a server may resize to), `…/flavor-sell-policies`,
//! `…/flavors/{flavor_id}/resources` (the zones that can take a flavor)
//! and `GET /v1/{project_id}/availability-zones`.

use std::cmp::Ordering;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ecs_core::compute::ecs_ops::ResizeSource;
use ecs_types::Flavor;
use serde_json::{Value, json};

use super::{EcsCall, EcsError, ListQuery, illegal};
use crate::{AppState, BaseUrl};

/// A flavor as `resize_flavors` shows it: the flavor list's view, its
/// extra specs as `extra_specs`, and the (unlimited) `instance_quota`.
fn resize_view(base: &BaseUrl, project: &str, f: &Flavor) -> Value {
    let mut v = super::flavors::view(base, project, f);
    if let Some(map) = v.as_object_mut() {
        let specs = map.remove("os_extra_specs").unwrap_or_else(|| json!({}));
        map.insert("extra_specs".into(), specs);
        map.insert("instance_quota".into(), json!({}));
    }
    v
}

fn order_by(key: &str, a: &Flavor, b: &Flavor) -> Ordering {
    match key {
        "name" => a.name.cmp(&b.name),
        "memory_mb" => a.ram_mb.cmp(&b.ram_mb),
        "vcpus" => a.vcpus.cmp(&b.vcpus),
        "root_gb" => a.disk_gb.cmp(&b.disk_gb),
        _ => a.id.cmp(&b.id),
    }
}

/// `GET /v1/{project_id}/cloudservers/resize_flavors?instance_uuid=|
/// source_flavor_id=|source_flavor_name=&sort_key=&sort_dir=&limit=&marker=`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/resize_flavors",
    tag = "ECS flavors",
    summary = "List the flavors a server may be resized to (`instance_uuid` or `source_flavor_id`)",
    params(("instance_uuid" = Option<String>, Query, description = "The server to resize."), ("source_flavor_id" = Option<String>, Query, description = "Or its flavor."), ("sort_key" = Option<String>, Query), ("sort_dir" = Option<String>, Query, description = "`asc` or `desc`."), ("marker" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses(
        (status = 200, description = "`{\"flavors\": [{\"id\", \"name\", \"vcpus\", \"ram\", \"disk\", \"extra_specs\"…}]}`", body = Object),
    ),
)]
pub async fn resize_flavors(
    State(state): State<AppState>,
    base: BaseUrl,
    call: EcsCall,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let limit = query.limit()?;
    let text = |k: &str| query.get(k).filter(|v| !v.is_empty()).map(String::from);
    let source = ResizeSource {
        server_id: text("instance_uuid"),
        flavor_id: text("source_flavor_id"),
        flavor_name: text("source_flavor_name"),
    };
    if source.server_id.is_none() && source.flavor_id.is_none() && source.flavor_name.is_none() {
        return Err(illegal("One of instance_uuid, source_flavor_id and source_flavor_name is required."));
    }
    let key = query.get("sort_key").unwrap_or("flavorid");
    if !matches!(key, "flavorid" | "name" | "memory_mb" | "vcpus" | "root_gb") {
        return Err(illegal(format!("sort_key must be flavorid, name, memory_mb, vcpus or root_gb, not {key}")));
    }
    let descending = match query.get("sort_dir").unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => return Err(illegal(format!("sort_dir must be asc or desc, not {other}"))),
    };
    let mut flavors = state.core.resize_flavors(&call.ctx, &source).await?;
    flavors.sort_by(|a, b| {
        let o = order_by(key, a, b).then_with(|| a.id.cmp(&b.id));
        if descending { o.reverse() } else { o }
    });
    let start = match query.get("marker").filter(|m| !m.is_empty()) {
        None => 0,
        Some(m) => flavors.iter().position(|f| f.id == m).ok_or_else(|| illegal(format!("marker {m} not found")))? + 1,
    };
    let shown: Vec<Value> =
        flavors.iter().skip(start).take(limit.unwrap_or(usize::MAX)).map(|f| resize_view(&base, &project, f)).collect();
    Ok(Json(json!({"flavors": shown})))
}

/// `GET /v1/{project_id}/cloudservers/flavor-sell-policies`: per flavor
/// and zone, pay-per-use (ecsd's only way to sell), `available` where the
/// flavor is on sale and the zone up, else `sellout`; filters `flavor_id`,
/// `sell_status`, `sell_mode`, `availability_zone_id`; paged by `id`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/flavor-sell-policies",
    tag = "ECS flavors",
    summary = "List flavor sales policies",
    responses(
        (status = 200, description = "`{\"count\", \"sell_policies\": [{\"id\", \"flavor_id\", \"sell_status\", \"availability_zone_id\", \"sell_mode\"…}]}`", body = Object),
    ),
)]
pub async fn sell_policies(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let limit = query.limit()?;
    let filter = |k: &str| query.get(k).filter(|v| !v.is_empty());
    if let Some(s) = filter("sell_status")
        && !matches!(s, "available" | "sellout")
    {
        return Err(illegal(format!("sell_status must be available or sellout, not {s}")));
    }
    if let Some(m) = filter("sell_mode")
        && !matches!(m, "postPaid" | "prePaid" | "spot" | "ri")
    {
        return Err(illegal(format!("sell_mode must be postPaid, prePaid, spot or ri, not {m}")));
    }
    let marker = filter("marker")
        .map(|m| m.parse::<u64>().map_err(|_| illegal("marker must be a policy id")))
        .transpose()?
        .unwrap_or(0);
    let mut policies = Vec::new();
    let mut id = 0u64;
    for (flavor, zones) in state.core.flavors_on_sale(&call.ctx).await? {
        for (zone, on_sale) in zones {
            id += 1;
            let status = if on_sale { "available" } else { "sellout" };
            let wanted = filter("flavor_id").is_none_or(|f| f == flavor.id)
                && filter("sell_status").is_none_or(|s| s == status)
                && filter("sell_mode").is_none_or(|m| m == "postPaid")
                && filter("availability_zone_id").is_none_or(|z| z == zone);
            if wanted && id > marker {
                policies.push(json!({
                    "id": id,
                    "flavor_id": flavor.id,
                    "sell_status": status,
                    "availability_zone_id": zone,
                    "sell_mode": "postPaid",
                    "spot_options": null,
                }));
            }
        }
    }
    let count = policies.len();
    policies.truncate(limit.unwrap_or(usize::MAX));
    Ok(Json(json!({"count": count, "sell_policies": policies})))
}

/// `GET /v1/{project_id}/cloudservers/flavors/{flavor_id}/resources`: the
/// zones of this region that sell the flavor, the first preferred.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/flavors/{flavor_id}/resources",
    tag = "ECS flavors",
    summary = "Show where a flavor can be had (its resources by availability zone)",
    responses(
        (status = 200, description = "`{\"resources\": [{\"availability_zone_id\", \"status\", …}]}`", body = Object),
    ),
)]
pub async fn capacity(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, flavor_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    if let Some(c) = query.get("count")
        && c.parse::<u32>().map_or(true, |c| c == 0)
    {
        return Err(illegal("count must be a positive integer"));
    }
    let region = state.config.region.clone();
    let regions: Option<Vec<&str>> =
        query.get("region_ids").filter(|r| !r.is_empty()).map(|r| r.split(',').map(str::trim).collect());
    let (_flavor, zones) = state.core.flavor_zones(&call.ctx, &flavor_id).await?;
    let here = regions.is_none_or(|r| r.contains(&region.as_str()));
    let resources: Vec<Value> = zones
        .into_iter()
        .filter(|(_, on_sale)| here && *on_sale)
        .enumerate()
        .map(|(i, (zone, _))| json!({"region_id": region, "availability_zone": zone, "prefer": i == 0}))
        .collect();
    Ok(Json(json!({"resources": resources})))
}

/// `GET /v1/{project_id}/availability-zones`: ecsd's zones (its hosts'),
/// central and shared.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/availability-zones",
    tag = "ECS flavors",
    summary = "List availability zones",
    responses(
        (status = 200, description = "`{\"availability_zones\": [{\"zone_name\", \"zone_state\"…}]}`", body = Object),
    ),
)]
pub async fn zones(State(state): State<AppState>, call: EcsCall) -> Result<Json<Value>, EcsError> {
    let _ = &call;
    let zones: Vec<Value> = state
        .core
        .availability_zones()
        .await?
        .into_iter()
        .map(|(zone, _)| {
            json!({
                "availability_zone_id": zone,
                "type": "Center",
                "mode": "shared",
                "public_border_group": "center",
                "alias": zone,
                "az_group_ids": [],
                "category": 0,
            })
        })
        .collect();
    Ok(Json(json!({"availability_zones": zones})))
}
