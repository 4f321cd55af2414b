//! `/flavors` and `/flavors/{id}/os-extra_specs` (Nova os-flavors,
//! os-flavor-manage, os-flavor-extra-specs; microversions 2.55, 2.61, 2.75).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::flavor::{FlavorListRequest, PublicFilter, sort_key_from_nova};
use ecs_store::SortDir;
use ecs_types::{Flavor, FlavorSpec};
use serde_json::{Value, json};

use super::validate::{self, QueryParams, invalid_query};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

const SORT_KEYS: &[&str] = &[
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "rxtx_factor",
    "swap",
    "updated_at",
    "vcpu_weight",
    "vcpus",
];
const LIST_PARAMS: &[&str] = &["limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"];

fn brief(call: &NovaCall, f: &Flavor) -> Value {
    let mut v = json!({"id": f.id, "name": f.name, "links": call.links.resource("flavors", &f.id)});
    if call.version.at_least(55) {
        v["description"] = json!(f.description);
    }
    v
}

/// The full flavor as Nova renders it at the request's microversion.
fn full(call: &NovaCall, f: &Flavor) -> Value {
    let swap = if call.version.at_least(75) {
        json!(f.swap_mb)
    } else if f.swap_mb == 0 {
        json!("")
    } else {
        json!(f.swap_mb)
    };
    let mut v = json!({
        "id": f.id,
        "name": f.name,
        "ram": f.ram_mb,
        "disk": f.disk_gb,
        "swap": swap,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "vcpus": f.vcpus,
        "os-flavor-access:is_public": f.is_public,
        "rxtx_factor": f.rxtx_factor,
        "links": call.links.resource("flavors", &f.id),
    });
    if call.version.at_least(55) {
        v["description"] = json!(f.description);
    }
    if call.version.at_least(61) {
        v["extra_specs"] = json!(f.extra_specs);
    }
    v
}

fn list_request(call: &NovaCall, q: &QueryParams) -> Result<FlavorListRequest> {
    if call.version.at_least(75) {
        q.only(LIST_PARAMS)?;
    }
    let mut req = FlavorListRequest::default();
    if let Some(key) = q.get("sort_key") {
        if !SORT_KEYS.contains(&key) {
            return Err(invalid_query(
                "sort_key",
                key,
                format!("'{key}' is not one of {SORT_KEYS:?}").replace('"', "'"),
            ));
        }
        req.sort_key = sort_key_from_nova(key).unwrap_or(req.sort_key);
    }
    req.sort_dir = match q.get("sort_dir") {
        None | Some("asc") => SortDir::Asc,
        Some("desc") => SortDir::Desc,
        Some(other) => {
            return Err(invalid_query("sort_dir", other, format!("'{other}' is not one of ['asc', 'desc']")));
        }
    };
    req.limit = q.limit()?;
    req.marker = q.get("marker").map(String::from);
    let int_filter = |name: &str| -> Result<Option<i64>> {
        q.get(name)
            .map(|raw| {
                raw.trim().parse::<i64>().map_err(|_| NovaError::bad_request(format!("Invalid {name} filter [{raw}]")))
            })
            .transpose()
    };
    req.min_ram_mb = int_filter("minRam")?;
    req.min_disk_gb = int_filter("minDisk")?;
    req.is_public = match q.get("is_public") {
        None => PublicFilter::Public,
        Some(raw) if raw.eq_ignore_ascii_case("none") => PublicFilter::All,
        Some(raw) => match raw.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => PublicFilter::Public,
            "0" | "f" | "false" | "off" | "n" | "no" => PublicFilter::Private,
            _ => return Err(NovaError::bad_request(format!("Invalid is_public filter [{raw}]"))),
        },
    };
    Ok(req)
}

async fn list(
    state: &AppState,
    call: &NovaCall,
    raw: Option<String>,
    collection: &str,
    render: fn(&NovaCall, &Flavor) -> Value,
) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let req = list_request(call, &q)?;
    let page_size = req.limit.map_or(ecs_core::flavor::MAX_LIMIT, |l| l.min(ecs_core::flavor::MAX_LIMIT));
    let flavors = state.core.flavor_list(&call.ctx, req).await?;
    let mut body = json!({"flavors": flavors.iter().map(|f| render(call, f)).collect::<Vec<_>>()});
    if let Some(last) = flavors.last().filter(|_| page_size > 0 && flavors.len() as i64 == page_size) {
        body["flavors_links"] = call.links.next(collection, &q, &last.id);
    }
    Ok(Json(body))
}

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    list(&state, &call, raw, "flavors", brief).await
}

pub async fn detail(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    list(&state, &call, raw, "flavors/detail", full).await
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let flavor = state.core.flavor_get(&call.ctx, &id).await?;
    Ok(Json(json!({"flavor": full(&call, &flavor)})))
}

/// Admin create (os-flavor-manage).
pub async fn create(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Json<Value>> {
    validate::object(&body, "", &["flavor"], &["flavor"])?;
    let mut allowed = vec![
        "name",
        "id",
        "ram",
        "vcpus",
        "disk",
        "OS-FLV-EXT-DATA:ephemeral",
        "swap",
        "rxtx_factor",
        "os-flavor-access:is_public",
    ];
    if call.version.at_least(55) {
        allowed.push("description");
    }
    let f = &body["flavor"];
    let fields = validate::object(f, "flavor", &allowed, &["name", "ram", "vcpus", "disk"])?;
    let name = match call.flavour {
        super::Flavour::Legacy => validate::name_loose(&f["name"], "name")?,
        super::Flavour::V21 => validate::name(&f["name"], "name")?,
    };
    let id = match fields.get("id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v) => {
            let s = validate::string(v, "id", 1, 255)?;
            validate::pattern(
                v,
                "id",
                |c| c.is_ascii_alphanumeric() || ". _-".contains(c),
                "^(?! )[a-zA-Z0-9. _-]+(?<! )$",
            )?;
            if s.starts_with(' ') || s.ends_with(' ') {
                return Err(validate::invalid(
                    "id",
                    v,
                    format!("'{s}' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'"),
                ));
            }
            s.to_string()
        }
    };
    let opt_int = |key: &str, min| fields.get(key).map(|v| validate::integer(v, key, min)).transpose();
    let rxtx_factor = match fields.get("rxtx_factor") {
        None => 1.0,
        Some(v) => {
            let x = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            match x {
                Some(x) if x > 0.0 && x <= 3.40282e38 => x,
                _ => return Err(validate::invalid("rxtx_factor", v, format!("{v} is not a positive number"))),
            }
        }
    };
    let description = match fields.get("description") {
        None | Some(Value::Null) => None,
        Some(v) => Some(validate::string(v, "description", 0, 65535)?.to_string()),
    };
    let spec = FlavorSpec {
        id,
        name: name.to_string(),
        ram_mb: validate::integer(&f["ram"], "ram", 1)?,
        vcpus: validate::integer(&f["vcpus"], "vcpus", 1)?,
        disk_gb: validate::integer(&f["disk"], "disk", 0)?,
        ephemeral_gb: opt_int("OS-FLV-EXT-DATA:ephemeral", 0)?.unwrap_or(0),
        swap_mb: opt_int("swap", 0)?.unwrap_or(0),
        rxtx_factor,
        is_public: fields
            .get("os-flavor-access:is_public")
            .map(|v| validate::boolean(v, "os-flavor-access:is_public"))
            .transpose()?
            .unwrap_or(true),
        description,
        extra_specs: Default::default(),
    };
    let flavor = state.core.flavor_create(&call.ctx, spec).await?;
    Ok(Json(json!({"flavor": full(&call, &flavor)})))
}

/// 2.55+: update the description.
pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    if !call.version.at_least(55) {
        return Err(NovaError::not_found());
    }
    validate::object(&body, "", &["flavor"], &["flavor"])?;
    validate::object(&body["flavor"], "flavor", &["description"], &["description"])?;
    let description = match &body["flavor"]["description"] {
        Value::Null => None,
        v => Some(validate::string(v, "description", 0, 65535)?),
    };
    let flavor = state.core.flavor_set_description(&call.ctx, &id, description).await?;
    Ok(Json(json!({"flavor": full(&call, &flavor)})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.flavor_delete(&call.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn extra_specs_index(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let specs = state.core.flavor_extra_specs(&call.ctx, &id).await?;
    Ok(Json(json!({"extra_specs": specs})))
}

pub async fn extra_specs_create(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    validate::object(&body, "", &["extra_specs"], &["extra_specs"])?;
    let specs = validate::spec_map(&body["extra_specs"], "extra_specs")?;
    state.core.flavor_extra_specs_set(&call.ctx, &id, &specs).await?;
    Ok(Json(json!({"extra_specs": specs})))
}

pub async fn extra_spec_show(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let value = state.core.flavor_extra_spec(&call.ctx, &id, &key).await?;
    Ok(Json(json!({key: value})))
}

pub async fn extra_spec_update(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let specs = validate::spec_map(&body, "")?;
    if specs.len() != 1 {
        return Err(NovaError::bad_request(format!("{} does not have exactly one property", body)));
    }
    if !specs.contains_key(&key) {
        return Err(NovaError::bad_request("Request body and URI mismatch"));
    }
    state.core.flavor_extra_specs_set(&call.ctx, &id, &specs).await?;
    Ok(Json(json!(specs)))
}

pub async fn extra_spec_delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.flavor_extra_spec_delete(&call.ctx, &id, &key).await?;
    Ok(StatusCode::OK)
}
