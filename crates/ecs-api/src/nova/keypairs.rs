//! `/os-keypairs` (Nova microversions 2.2 type, 2.10 admin `user_id`, 2.35
//! paging, 2.75 strict queries, 2.92 import only).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::keypair::KeypairRequest;
use ecs_types::{Keypair, KeypairType};
use serde_json::{Value, json};

use super::validate::{self, QueryParams};
use super::{Flavour, NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn summary(call: &NovaCall, k: &Keypair) -> Value {
    let mut v = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if call.version.at_least(2) {
        v["type"] = json!(k.key_type.as_str());
    }
    v
}

/// The query parameters a keypair call accepts at this microversion, and
/// the `user_id` one (2.10+).
fn user_query(call: &NovaCall, q: &QueryParams, paging: bool) -> Result<Option<String>> {
    if call.version.at_least(75) {
        let mut allowed = vec!["user_id"];
        if paging {
            allowed.extend(["limit", "marker"]);
        }
        q.only(&allowed)?;
    }
    Ok(if call.version.at_least(10) { q.get("user_id").map(String::from) } else { None })
}

const NAME_PATTERN: &str = "^[_\\- a-zA-Z0-9]+$";
const NAME_PATTERN_V292: &str = "^[_\\-\\@\\. a-zA-Z0-9]+$";

pub async fn create(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Response> {
    let v = call.version;
    validate::object(&body, "", &["keypair"], &["keypair"])?;
    let mut allowed = vec!["name", "public_key"];
    if v.at_least(2) {
        allowed.push("type");
    }
    if v.at_least(10) {
        allowed.push("user_id");
    }
    let required: &[&str] = if v.at_least(92) { &["name", "public_key"] } else { &["name"] };
    let kp = &body["keypair"];
    let fields = validate::object(kp, "keypair", &allowed, required)?;

    let name = if call.flavour == Flavour::Legacy {
        validate::name_loose(&kp["name"], "name")?
    } else {
        validate::name(&kp["name"], "name")?;
        if v.at_least(92) {
            validate::pattern(
                &kp["name"],
                "name",
                |c| c.is_ascii_alphanumeric() || "_- @.".contains(c),
                NAME_PATTERN_V292,
            )?
        } else {
            validate::pattern(&kp["name"], "name", |c| c.is_ascii_alphanumeric() || "_- ".contains(c), NAME_PATTERN)?
        }
    };
    let public_key = fields
        .get("public_key")
        .map(|p| {
            p.as_str()
                .map(String::from)
                .ok_or_else(|| validate::invalid("public_key", p, format!("{p} is not of type 'string'")))
        })
        .transpose()?;
    let key_type = match fields.get("type") {
        None => KeypairType::Ssh,
        Some(t) => KeypairType::parse(validate::one_of(t, "type", &["ssh", "x509"])?).unwrap_or(KeypairType::Ssh),
    };
    let user_id =
        fields.get("user_id").map(|u| validate::string(u, "user_id", 1, 255).map(String::from)).transpose()?;

    let created = state
        .core
        .keypair_create(&call.ctx, KeypairRequest { name: name.to_string(), key_type, public_key, user_id })
        .await?;
    let k = &created.keypair;
    let mut out = summary(&call, k);
    out["user_id"] = json!(k.user_id);
    if let Some(private) = created.private_key {
        out["private_key"] = json!(private);
    }
    let status = if v.at_least(2) { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({"keypair": out}))).into_response())
}

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let paging = call.version.at_least(35);
    let user_id = user_query(&call, &q, paging)?;
    let (limit, marker) = if paging { (q.limit()?, q.get("marker")) } else { (None, None) };
    let keypairs = state.core.keypair_list(&call.ctx, user_id.as_deref(), limit, marker).await?;
    let mut body = json!({
        "keypairs": keypairs.iter().map(|k| json!({"keypair": summary(&call, k)})).collect::<Vec<_>>(),
    });
    if paging {
        let page_size = limit.map_or(ecs_core::flavor::MAX_LIMIT, |l| l.min(ecs_core::flavor::MAX_LIMIT));
        if let Some(last) = keypairs.last().filter(|_| page_size > 0 && keypairs.len() as i64 == page_size) {
            body["keypairs_links"] = call.links.next("os-keypairs", &q, &last.name);
        }
    }
    Ok(Json(body))
}

pub async fn show(
    State(state): State<AppState>,
    call: NovaCall,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let user_id = user_query(&call, &q, false)?;
    let k = state.core.keypair_get(&call.ctx, &name, user_id.as_deref()).await?;
    let mut out = summary(&call, &k);
    out["user_id"] = json!(k.user_id);
    out["id"] = json!(k.id);
    out["created_at"] = json!(k.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
    out["deleted"] = json!(false);
    out["deleted_at"] = Value::Null;
    out["updated_at"] = Value::Null;
    Ok(Json(json!({"keypair": out})))
}

pub async fn delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode> {
    let q = QueryParams::parse(raw.as_deref())?;
    let user_id = user_query(&call, &q, false)?;
    state.core.keypair_delete(&call.ctx, &name, user_id.as_deref()).await?;
    Ok(if call.version.at_least(2) { StatusCode::NO_CONTENT } else { StatusCode::ACCEPTED })
}
