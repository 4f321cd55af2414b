//! Request validation in Nova's terms: the checks of Nova's JSON schemas,
//! with Nova's wording ("Invalid input for field/attribute …"), over a
//! parsed `serde_json::Value`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::NovaError;

/// Python-ish rendering of a value, as Nova's messages show it.
pub(crate) fn repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A body error at `path` (empty: the top level) about `value`.
pub fn invalid(path: &str, value: &Value, message: impl AsRef<str>) -> NovaError {
    if path.is_empty() {
        NovaError::bad_request(message.as_ref())
    } else {
        NovaError::bad_request(format!(
            "Invalid input for field/attribute {path}. Value: {}. {}",
            value_text(value),
            message.as_ref()
        ))
    }
}

/// A query-string error.
pub fn invalid_query(name: &str, value: &str, message: impl AsRef<str>) -> NovaError {
    NovaError::bad_request(format!("Invalid input for query parameters {name}. Value: {value}. {}", message.as_ref()))
}

/// An object at `path` with only `allowed` keys and all `required` ones.
pub fn object<'a>(
    v: &'a Value,
    path: &str,
    allowed: &[&str],
    required: &[&str],
) -> Result<&'a Map<String, Value>, NovaError> {
    let map = v.as_object().ok_or_else(|| invalid(path, v, format!("{} is not of type 'object'", repr(v))))?;
    for key in required {
        if !map.contains_key(*key) {
            return Err(invalid(path, v, format!("'{key}' is a required property")));
        }
    }
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(path, v, format!("Additional properties are not allowed ('{extra}' was unexpected)")));
    }
    Ok(map)
}

/// A string of `min..=max` characters.
pub fn string<'a>(v: &'a Value, path: &str, min: usize, max: usize) -> Result<&'a str, NovaError> {
    let s = v.as_str().ok_or_else(|| invalid(path, v, format!("{} is not of type 'string'", repr(v))))?;
    let len = s.chars().count();
    if len < min {
        return Err(invalid(path, v, format!("{} is too short", repr(v))));
    }
    if len > max {
        return Err(invalid(path, v, format!("{} is too long", repr(v))));
    }
    Ok(s)
}

/// Unicode "printable" as Nova's validators mean it: not a control or
/// format character, and no separator but the plain space kind (Zs).
fn printable(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{feff}')
}

/// Nova's `name` format: printable, no leading or trailing whitespace.
pub fn name<'a>(v: &'a Value, path: &str) -> Result<&'a str, NovaError> {
    let s = string(v, path, 1, 255)?;
    if !s.chars().all(printable) || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(invalid(path, v, format!("{} is not a 'name'", repr(v))));
    }
    Ok(s)
}

/// Nova's `name_with_leading_trailing_spaces` (legacy v2): printable with
/// at least one non-space character.
pub fn name_loose<'a>(v: &'a Value, path: &str) -> Result<&'a str, NovaError> {
    let s = string(v, path, 1, 255)?;
    if !s.chars().all(printable) || s.trim().is_empty() {
        return Err(invalid(path, v, format!("{} is not a 'name_with_leading_trailing_spaces'", repr(v))));
    }
    Ok(s)
}

/// A string whose every character passes `allowed`; `pattern` is the
/// regex Nova prints in its message.
pub fn pattern<'a>(
    v: &'a Value,
    path: &str,
    allowed: impl Fn(char) -> bool,
    pattern: &str,
) -> Result<&'a str, NovaError> {
    let s = v.as_str().ok_or_else(|| invalid(path, v, format!("{} is not of type 'string'", repr(v))))?;
    if s.is_empty() || !s.chars().all(allowed) {
        return Err(invalid(path, v, format!("{} does not match '{pattern}'", repr(v))));
    }
    Ok(s)
}

/// Nova's `parameter_types.tag` (server tags and device tags alike): a
/// string of 1–60 characters without `/` or `,`. Control characters are
/// refused too: a tag is echoed in a `Location` header and in logs.
pub fn tag<'a>(v: &'a Value, path: &str) -> Result<&'a str, NovaError> {
    let s = v.as_str().ok_or_else(|| invalid(path, v, format!("{} is not of type 'string'", repr(v))))?;
    match tag_problem(s) {
        Some(problem) => Err(invalid(path, v, problem)),
        None => Ok(s),
    }
}

/// What is wrong with a tag, in the schema validator's words (None: fine).
pub fn tag_problem(s: &str) -> Option<String> {
    let shown = format!("'{}'", s.escape_debug());
    if s.is_empty() {
        Some(format!("{shown} is too short"))
    } else if s.chars().count() > 60 {
        Some(format!("{shown} is too long"))
    } else if s.contains(['/', ',']) {
        Some(format!("{shown} does not match '^[^,/]*$'"))
    } else if s.chars().any(char::is_control) {
        Some(format!("{shown} contains a control character"))
    } else {
        None
    }
}

/// One of `choices`.
pub fn one_of<'a>(v: &'a Value, path: &str, choices: &[&str]) -> Result<&'a str, NovaError> {
    match v.as_str() {
        Some(s) if choices.contains(&s) => Ok(s),
        _ => Err(invalid(path, v, format!("{} is not one of {choices:?}", repr(v)).replace('"', "'"))),
    }
}

/// An array of at least `min_items` items.
pub fn array<'a>(v: &'a Value, path: &str, min_items: usize) -> Result<&'a [Value], NovaError> {
    let items = v.as_array().ok_or_else(|| invalid(path, v, format!("{} is not of type 'array'", repr(v))))?;
    if items.len() < min_items {
        return Err(invalid(path, v, format!("{} is too short", repr(v))));
    }
    Ok(items)
}

/// A string in the `uuid` format (oslo's `is_uuid_like`: with or without
/// dashes, any case).
pub fn uuid<'a>(v: &'a Value, path: &str) -> Result<&'a str, NovaError> {
    match v.as_str() {
        Some(s) if uuid::Uuid::try_parse(s).is_ok() => Ok(s),
        _ => Err(invalid(path, v, format!("{} is not a 'uuid'", repr(v)))),
    }
}

/// Nova's `flavor_param_positive`/`_non_negative`: an integer, or a string
/// of digits, between `min` and 2³¹−1.
pub fn integer(v: &Value, path: &str, min: i64) -> Result<i64, NovaError> {
    const MAX_INT: i64 = 2_147_483_647;
    let n = match v {
        Value::Number(n) => {
            n.as_i64().ok_or_else(|| invalid(path, v, format!("{v} is not of type 'integer', 'string'")))?
        }
        Value::String(s) => {
            if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
                return Err(invalid(path, v, format!("{} does not match '^[0-9]*$'", repr(v))));
            }
            s.parse::<i64>()
                .map_err(|_| invalid(path, v, format!("{} is greater than the maximum of {MAX_INT}", repr(v))))?
        }
        _ => return Err(invalid(path, v, format!("{} is not of type 'integer', 'string'", repr(v)))),
    };
    if n < min {
        return Err(invalid(path, v, format!("{n} is less than the minimum of {min}")));
    }
    if n > MAX_INT {
        return Err(invalid(path, v, format!("{n} is greater than the maximum of {MAX_INT}")));
    }
    Ok(n)
}

/// Nova's `common_quota`: an integer, or a string of one, from -1
/// (unlimited) to 2³¹−1.
pub fn quota(v: &Value, path: &str) -> Result<i64, NovaError> {
    const MAX_INT: i64 = 2_147_483_647;
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(path, v, format!("{} does not match '^-?[0-9]+$'", repr(v))));
            }
            Some(s.parse::<i64>().unwrap_or(i64::MAX))
        }
        _ => None,
    }
    .ok_or_else(|| invalid(path, v, format!("{} is not of type 'integer', 'string'", repr(v))))?;
    if n < -1 {
        return Err(invalid(path, v, format!("{n} is less than the minimum of -1")));
    }
    if n > MAX_INT {
        return Err(invalid(path, v, format!("{} is greater than the maximum of {MAX_INT}", repr(v))));
    }
    Ok(n)
}

/// Nova's `boolean` parameter type: a JSON boolean or one of its strings.
pub fn boolean(v: &Value, path: &str) -> Result<bool, NovaError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.as_str() {
            "True" | "TRUE" | "true" | "1" | "ON" | "On" | "on" | "YES" | "Yes" | "yes" => Ok(true),
            "False" | "FALSE" | "false" | "0" | "OFF" | "Off" | "off" | "NO" | "No" | "no" => Ok(false),
            _ => Err(invalid(path, v, format!("{} is not one of the accepted boolean values", repr(v)))),
        },
        _ => Err(invalid(path, v, format!("{} is not of type 'boolean', 'string'", repr(v)))),
    }
}

/// Nova's metadata-like map (`extra_specs`): keys `^[a-zA-Z0-9-_:. ]{1,255}$`,
/// values strings (numbers and booleans are turned into strings) of at most
/// 255 characters.
pub fn spec_map(v: &Value, path: &str) -> Result<BTreeMap<String, String>, NovaError> {
    let map = v.as_object().ok_or_else(|| invalid(path, v, format!("{} is not of type 'object'", repr(v))))?;
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let key_ok = !key.is_empty()
            && key.chars().count() <= 255
            && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c));
        if !key_ok {
            return Err(invalid(path, v, format!("Additional properties are not allowed ('{key}' was unexpected)")));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            other => {
                return Err(invalid(
                    &format!("{path}/{key}"),
                    other,
                    format!("{} is not of type 'string', 'number', 'boolean'", repr(other)),
                ));
            }
        };
        if text.chars().count() > 255 {
            return Err(invalid(&format!("{path}/{key}"), value, format!("{} is too long", repr(value))));
        }
        out.insert(key.clone(), text);
    }
    Ok(out)
}

/// The query string as ordered pairs (first value of a name wins).
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Result<Self, NovaError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
            .map(QueryParams)
            .map_err(|_| NovaError::bad_request("Malformed query string"))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Refuses any parameter not in `allowed` (Nova 2.75's strict queries).
    pub fn only(&self, allowed: &[&str]) -> Result<(), NovaError> {
        match self.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(NovaError::bad_request(format!(
                "Invalid input for query parameters {k}. Value: {k}. Additional properties are not allowed ('{k}' was unexpected)"
            ))),
            None => Ok(()),
        }
    }

    /// Nova's `limit`: a non-negative integer.
    pub fn limit(&self) -> Result<Option<i64>, NovaError> {
        self.non_negative("limit")
    }

    /// Re-encodes the query with `marker` replaced, sorted as Nova does.
    pub fn with_marker(&self, marker: &str) -> String {
        let mut pairs: Vec<(String, String)> = self.0.iter().filter(|(k, _)| k != "marker").cloned().collect();
        pairs.push(("marker".into(), marker.into()));
        pairs.sort();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// What one Nova list route reads from its query string, after its
/// `*_query` schema: how it pages, its own filters, and from which
/// microversion it refuses anything else (most became strict at 2.75).
/// Parameters a lax route does not know are ignored, as Nova ignores them.
pub struct ListRules {
    pub paging: Paging,
    /// The route's filters (never refused at a strict microversion).
    pub filters: &'static [&'static str],
    /// From this minor microversion on, unknown parameters are a 400.
    pub strict_from: Option<u16>,
}

/// How a Nova list route pages.
pub enum Paging {
    /// Not at all: `limit` and the rest are not its parameters.
    None,
    /// `limit` and `offset` (Nova's `common.limited`).
    Offset,
    /// `limit` and `marker` (an item's id), from this minor microversion on.
    Marker { from: u16 },
}

/// Nova's page size when a request names none (`osapi_max_limit`).
pub const MAX_LIMIT: usize = 1000;

/// A list route's query string, checked against its [`ListRules`].
pub struct ListQuery {
    pub params: QueryParams,
    paging: bool,
    limit: usize,
    offset: usize,
    marker: Option<String>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>, version: super::ApiVersion, rules: &ListRules) -> Result<Self, NovaError> {
        let params = QueryParams::parse(raw)?;
        let paging: &[&str] = match rules.paging {
            Paging::None => &[],
            Paging::Offset => &["limit", "offset"],
            Paging::Marker { from } if version.at_least(from) => &["limit", "marker"],
            Paging::Marker { .. } => &[],
        };
        if rules.strict_from.is_some_and(|minor| version.at_least(minor)) {
            let allowed: Vec<&str> = paging.iter().chain(rules.filters).copied().collect();
            params.only(&allowed)?;
        }
        let uses = |name: &str| paging.contains(&name);
        let limit = if uses("limit") { params.limit()? } else { None };
        let offset = if uses("offset") { params.non_negative("offset")? } else { None };
        let marker = if uses("marker") { params.get("marker").map(String::from) } else { None };
        Ok(ListQuery {
            paging: !paging.is_empty(),
            // `limit=0` is no limit, as in Nova's `common.limited`.
            limit: limit.filter(|l| *l > 0).map_or(MAX_LIMIT, |l| (l as usize).min(MAX_LIMIT)),
            offset: offset.unwrap_or(0) as usize,
            marker,
            params,
        })
    }

    /// The page of `items` the query asks for: after the marker (found by
    /// `id`; one that names nothing is a 400), past the offset, at most
    /// the limit.
    pub fn page<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> String) -> Result<Vec<T>, NovaError> {
        if !self.paging {
            return Ok(items);
        }
        if let Some(marker) = &self.marker {
            let at = items
                .iter()
                .position(|i| id(i) == *marker)
                .ok_or_else(|| NovaError::from(ecs_core::Error::unknown(ecs_core::Kind::Marker, marker.as_str())))?;
            items.drain(..=at);
        }
        items.drain(..self.offset.min(items.len()));
        items.truncate(self.limit);
        Ok(items)
    }
}

impl QueryParams {
    /// A non-negative integer parameter (Nova's `non_negative_integer`).
    pub fn non_negative(&self, name: &str) -> Result<Option<i64>, NovaError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if n >= 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
                _ => Err(invalid_query(name, raw, format!("'{raw}' does not match '^[0-9]*$'"))),
            },
        }
    }
}
