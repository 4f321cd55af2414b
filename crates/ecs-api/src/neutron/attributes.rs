//! The attributes a create request may carry, checked as neutron-lib's
//! attribute maps check them: unknown attributes and read-only ones are
//! refused, names and descriptions are strings of at most 255 characters,
//! booleans are what `convert_to_boolean` accepts. Fields whose values the
//! handler reads further (addresses, pools) are only typed here.

use serde_json::{Map, Value};

use super::{NeutronError, bad_request};

/// neutron-lib's `NAME_MAX_LEN`, `DESCRIPTION_MAX_LEN` and `DEVICE_*_MAX_LEN`.
const MAX_LEN: usize = 255;

#[derive(Clone, Copy)]
pub(super) enum Check {
    /// `type:string` of at most 255 characters.
    Text,
    /// `convert_to_boolean`.
    Boolean,
    /// Checked by the handler, or accepted and not kept.
    Any,
    /// `allow_post: False`: shown, never set.
    ReadOnly,
}

pub(super) type Attributes = &'static [(&'static str, Check)];

/// Attributes every resource has.
const COMMON: Attributes = &[
    ("id", Check::ReadOnly),
    ("name", Check::Text),
    ("description", Check::Text),
    ("tenant_id", Check::Text),
    ("project_id", Check::Text),
    ("status", Check::ReadOnly),
    ("tags", Check::ReadOnly),
    ("created_at", Check::ReadOnly),
    ("updated_at", Check::ReadOnly),
    ("revision_number", Check::ReadOnly),
];

pub(super) const NETWORK: Attributes = &[
    ("admin_state_up", Check::Boolean),
    ("shared", Check::Boolean),
    ("router:external", Check::Boolean),
    ("port_security_enabled", Check::Boolean),
    ("subnets", Check::ReadOnly),
    ("mtu", Check::Any),
    ("availability_zone_hints", Check::Any),
    ("availability_zones", Check::ReadOnly),
    ("is_default", Check::Any),
    ("ipv4_address_scope", Check::ReadOnly),
    ("ipv6_address_scope", Check::ReadOnly),
];

pub(super) const SUBNET: Attributes = &[
    ("network_id", Check::Any),
    ("cidr", Check::Any),
    ("ip_version", Check::Any),
    ("gateway_ip", Check::Any),
    ("allocation_pools", Check::Any),
    ("dns_nameservers", Check::Any),
    ("host_routes", Check::Any),
    ("enable_dhcp", Check::Boolean),
    ("subnetpool_id", Check::Any),
    ("prefixlen", Check::Any),
    ("ipv6_address_mode", Check::Any),
    ("ipv6_ra_mode", Check::Any),
];

pub(super) const PORT: Attributes = &[
    ("network_id", Check::Any),
    ("admin_state_up", Check::Boolean),
    ("mac_address", Check::Any),
    ("fixed_ips", Check::Any),
    ("device_id", Check::Text),
    ("device_owner", Check::Text),
    ("security_groups", Check::Any),
    ("port_security_enabled", Check::Boolean),
    ("binding:vnic_type", Check::Any),
    ("allowed_address_pairs", Check::Any),
    ("binding:host_id", Check::Any),
    ("binding:profile", Check::Any),
    ("dns_name", Check::Any),
];

pub(super) const SECURITY_GROUP: Attributes =
    &[("stateful", Check::Boolean), ("shared", Check::ReadOnly), ("security_group_rules", Check::ReadOnly)];

pub(super) const SECURITY_GROUP_RULE: Attributes = &[
    ("security_group_id", Check::Any),
    ("direction", Check::Any),
    ("ethertype", Check::Any),
    ("protocol", Check::Any),
    ("port_range_min", Check::Any),
    ("port_range_max", Check::Any),
    ("remote_ip_prefix", Check::Any),
    ("remote_group_id", Check::Any),
    ("remote_address_group_id", Check::Any),
    ("normalized_cidr", Check::ReadOnly),
    ("belongs_to_default_sg", Check::ReadOnly),
];

pub(super) const ROUTER: Attributes = &[
    ("admin_state_up", Check::Boolean),
    ("external_gateway_info", Check::Any),
    ("routes", Check::Any),
    ("distributed", Check::Any),
    ("ha", Check::Any),
    ("availability_zone_hints", Check::Any),
    ("availability_zones", Check::ReadOnly),
    ("flavor_id", Check::Any),
];

pub(super) const FLOATINGIP: Attributes = &[
    ("floating_network_id", Check::Any),
    ("floating_ip_address", Check::Any),
    ("subnet_id", Check::Any),
    ("port_id", Check::Any),
    ("fixed_ip_address", Check::Any),
    ("router_id", Check::ReadOnly),
    ("dns_name", Check::Any),
    ("dns_domain", Check::Any),
    ("qos_policy_id", Check::Any),
    ("port_details", Check::ReadOnly),
    ("port_forwardings", Check::ReadOnly),
];

/// The check of attribute `name` of a resource with `own` attributes.
fn check_of(own: Attributes, name: &str) -> Option<Check> {
    COMMON.iter().chain(own).find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Checks the attributes of a create request, in Neutron's order:
/// unrecognized ones, then those that may not be set, then values.
pub(super) fn check_create(resource: &Map<String, Value>, own: Attributes) -> Result<(), NeutronError> {
    let mut unknown: Vec<&str> = resource.keys().map(String::as_str).filter(|k| check_of(own, k).is_none()).collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(bad_request(format!("Unrecognized attribute(s) '{}'", unknown.join(", "))));
    }
    if let Some(name) = resource.keys().find(|k| matches!(check_of(own, k), Some(Check::ReadOnly))) {
        return Err(bad_request(format!("Attribute '{name}' not allowed in POST")));
    }
    for (name, value) in resource {
        match check_of(own, name) {
            Some(Check::Text) => text(name, value)?,
            Some(Check::Boolean) => {
                boolean(value)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks the attributes of an update: unrecognized ones, then those
/// that may not change (`allow_put: False`), then values.
pub(super) fn check_update(
    resource: &Map<String, Value>,
    own: Attributes,
    updatable: &[&str],
) -> Result<(), NeutronError> {
    let mut unknown: Vec<&str> = resource.keys().map(String::as_str).filter(|k| check_of(own, k).is_none()).collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(bad_request(format!("Unrecognized attribute(s) '{}'", unknown.join(", "))));
    }
    if let Some(name) = resource.keys().find(|k| !updatable.contains(&k.as_str())) {
        return Err(bad_request(format!("Cannot update read-only attribute {name}")));
    }
    for (name, value) in resource {
        match check_of(own, name) {
            Some(Check::Text) => text(name, value)?,
            Some(Check::Boolean) => {
                boolean(value)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A string attribute already checked (None when absent).
pub(super) fn text_of(resource: &Map<String, Value>, name: &str) -> Option<String> {
    resource.get(name).and_then(Value::as_str).map(String::from)
}

/// An optional string (or null) attribute: `Some(None)` for null.
pub(super) fn nullable_text(resource: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, NeutronError> {
    match resource.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(NeutronError::invalid_input(format!("'{}' is not a valid string for {name}", shown(other)))),
    }
}

/// A list of ids (`security_groups`): strings, or the refusal.
pub(super) fn id_list(resource: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, NeutronError> {
    let Some(value) = resource.get(name) else { return Ok(None) };
    let invalid =
        || bad_request(format!("Invalid input for {name}. Reason: '{}' is not a list of valid ids.", shown(value)));
    let list = value.as_array().ok_or_else(invalid)?;
    list.iter().map(|v| v.as_str().map(String::from).ok_or_else(invalid)).collect::<Result<Vec<_>, _>>().map(Some)
}

/// `allowed_address_pairs`: a list of `{ip_address, mac_address?}`, the
/// address an IP or a CIDR, as `validate_allowed_address_pairs` checks.
#[allow(clippy::type_complexity)]
pub(super) fn address_pairs(
    resource: &Map<String, Value>,
) -> Result<Option<Vec<(String, Option<String>)>>, NeutronError> {
    let Some(value) = resource.get("allowed_address_pairs") else { return Ok(None) };
    let Some(list) = value.as_array() else {
        return Err(bad_request(format!("Allowed address pairs must be a list. '{}'", shown(value))));
    };
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for pair in list {
        let Some(pair) = pair.as_object() else {
            return Err(bad_request("AllowedAddressPair must be a dict."));
        };
        let Some(ip) = pair.get("ip_address") else {
            return Err(NeutronError(
                axum::http::StatusCode::BAD_REQUEST,
                "AllowedAddressPairsMissingIP",
                "AllowedAddressPair must contain ip_address".into(),
            ));
        };
        let ip = ip.as_str().unwrap_or_default();
        if ip.parse::<ipnet::IpNet>().is_err() && ip.parse::<std::net::IpAddr>().is_err() {
            return Err(bad_request(format!("'{ip}' is not a valid IP address")));
        }
        let mac = match pair.get("mac_address") {
            None | Some(Value::Null) => None,
            Some(Value::String(m)) if is_mac(m) => Some(m.to_lowercase()),
            Some(other) => return Err(bad_request(format!("'{}' is not a valid MAC address", shown(other)))),
        };
        if let Some(extra) = pair.keys().find(|k| !matches!(k.as_str(), "ip_address" | "mac_address")) {
            return Err(bad_request(format!("Unrecognized attribute(s) '{extra}'")));
        }
        if out.iter().any(|(i, m)| *i == ip && *m == mac) {
            return Err(bad_request("Duplicate address detected"));
        }
        out.push((ip.to_string(), mac));
    }
    Ok(Some(out))
}

fn is_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `convert_to_int_if_not_none`: an integer, a string of one, or null.
pub(super) fn integer(resource: &Map<String, Value>, name: &str) -> Result<Option<i64>, NeutronError> {
    match resource.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(NeutronError::invalid_input(format!("'{}' is not an integer", shown(other)))),
    }
}

/// `validate_string` with `max_len` 255.
pub(super) fn text(name: &str, value: &Value) -> Result<(), NeutronError> {
    let reason = match value {
        Value::String(s) if s.chars().count() <= MAX_LEN => return Ok(()),
        Value::String(s) => format!("'{s}' exceeds maximum length of {MAX_LEN}"),
        other => format!("'{}' is not a valid string", shown(other)),
    };
    Err(bad_request(format!("Invalid input for {name}. Reason: {reason}.")))
}

/// `convert_to_boolean` (oslo's strict `bool_from_string`): a boolean, or
/// a number or string spelling one (`1`, `"true"`, `"off"`, `"Y"`, …).
pub(super) fn boolean(value: &Value) -> Result<bool, NeutronError> {
    let spelled = match value {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match spelled.as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
        _ => Err(NeutronError::invalid_input(format!("'{}' cannot be converted to boolean", shown(value)))),
    }
}

/// A value as Python's `%s` would show it in Neutron's messages.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(body: Value, own: Attributes) -> String {
        match check_create(body.as_object().unwrap(), own) {
            Ok(()) => String::new(),
            Err(e) => e.2,
        }
    }

    #[test]
    fn attributes_are_checked_as_neutron_lib_does() {
        assert_eq!(refusal(json!({"name": "n", "shared": "true", "admin_state_up": 0}), NETWORK), "");
        assert_eq!(refusal(json!({"name": "n", "x": 1, "a": 2}), NETWORK), "Unrecognized attribute(s) 'a, x'");
        assert_eq!(refusal(json!({"id": "i"}), NETWORK), "Attribute 'id' not allowed in POST");
        assert_eq!(
            refusal(json!({"name": 123}), NETWORK),
            "Invalid input for name. Reason: '123' is not a valid string."
        );
        let long = "x".repeat(256);
        assert!(refusal(json!({"description": long}), PORT).ends_with("exceeds maximum length of 255."));
        assert_eq!(refusal(json!({"name": "é".repeat(255)}), SUBNET), "");
        assert_eq!(
            refusal(json!({"admin_state_up": "NaN"}), NETWORK),
            "Invalid input for operation: 'NaN' cannot be converted to boolean."
        );
        assert!(!refusal(json!({"shared": null}), NETWORK).is_empty());
        assert!(!refusal(json!({"enable_dhcp": 2}), SUBNET).is_empty());
    }
}
