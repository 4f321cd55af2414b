//! Reading ECS-native request bodies: loose scalar types (DECISIONS.md
//! §9) and the checks several APIs share, each failing with its Ecs code.

use ecs_types::{Network, Subnet};
use serde_json::Value;

use super::{EcsError, illegal};
use crate::AppState;
use crate::nova::validate;

/// The most NICs an ECS may have (seed 001).
pub(crate) const MAX_NICS: usize = 12;

/// The most user data (before base64) a server takes (§5.1.1).
const MAX_USER_DATA_BYTES: usize = 32 * 1024;

/// The special characters a password may use (§5.1.1).
const PASSWORD_SPECIALS: &str = "!@$%^-_=+[{}]:,./?~#*";

/// A loose boolean (DECISIONS.md §9); None when absent or null.
pub(crate) fn optional_bool(v: Option<&Value>, field: &str) -> Result<Option<bool>, EcsError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => validate::boolean(v, field).map(Some).map_err(|e| illegal(format!("{field}: {}", e.message))),
    }
}

/// A loose integer (a number or a string of digits); None when absent.
pub(crate) fn optional_int(v: Option<&Value>, field: &str) -> Result<Option<i64>, EcsError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => validate::integer(v, field, 0).map(Some).map_err(|e| illegal(format!("{field}: {}", e.message))),
    }
}

/// A string field (`obj.get(field)`); None when absent or null.
pub(crate) fn optional_str<'a>(v: Option<&'a Value>, field: &str) -> Result<Option<&'a str>, EcsError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(illegal(format!("{field} must be a string"))),
    }
}

/// A string field that must be there and not empty.
pub(crate) fn required_str<'a>(v: Option<&'a Value>, field: &str) -> Result<&'a str, EcsError> {
    optional_str(v, field)?.filter(|s| !s.is_empty()).ok_or_else(|| illegal(format!("{field} is required")))
}

/// The subnet a NIC's `subnet_id` names, with its network: a VPC subnet id
/// (the network's id, as Huawei's VPC API gives it) or a Neutron subnet id.
pub(crate) async fn find_subnet(
    state: &AppState,
    networks: &[Network],
    id: &str,
) -> Result<Option<(Network, Subnet)>, EcsError> {
    Ok(state.core.nic_subnet(networks, id).await?)
}

/// §5.1.1: 8 to 26 characters of at least three kinds, not the user name
/// (`root`) or its reverse.
pub(crate) fn check_password(p: &str) -> Result<(), EcsError> {
    let kinds = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| PASSWORD_SPECIALS.contains(c)),
    ];
    let allowed = p.chars().all(|c| c.is_ascii_alphanumeric() || PASSWORD_SPECIALS.contains(c));
    let lower = p.to_lowercase();
    let ok = (8..=26).contains(&p.chars().count())
        && kinds.iter().filter(|k| **k).count() >= 3
        && allowed
        && !lower.contains("root")
        && !lower.contains("toor");
    if ok { Ok(()) } else { Err(EcsError::new("Ecs.0011")) }
}

/// `user_data`: base64 of at most 32 KB.
pub(crate) fn check_user_data(text: &str, field: &str) -> Result<(), EcsError> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| illegal(format!("{field} must be base64-encoded.")))?;
    if decoded.len() > MAX_USER_DATA_BYTES {
        return Err(illegal(format!("{field} exceeds {MAX_USER_DATA_BYTES} bytes before encoding.")));
    }
    Ok(())
}
