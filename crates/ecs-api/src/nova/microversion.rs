//! Microversion negotiation (DECISIONS.md §10): the version is read from
//! `OpenStack-API-Version: compute X.Y` or the legacy
//! `X-OpenStack-Nova-API-Version`, defaults to the minimum, `latest` means
//! the maximum; out of range is a 406, malformed a 400. Every response of
//! a `/v2.1` path echoes both headers and `Vary`. `/v2` has no
//! microversions and behaves as 2.1.

use std::borrow::Cow;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::NovaError;

/// A compute API microversion. Compared as (major, minor): 2.100 > 2.99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    pub const fn new(major: u16, minor: u16) -> Self {
        ApiVersion { major, minor }
    }

    /// Whether this request's version is `2.minor` or newer.
    pub fn at_least(self, minor: u16) -> bool {
        self >= ApiVersion::new(2, minor)
    }

    fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.trim_matches(|c: char| c.is_ascii_whitespace()).split_once('.')?;
        let valid =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0'));
        if !valid(major) || !valid(minor) || major == "0" {
            return None;
        }
        Some(ApiVersion::new(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

pub const MIN_VERSION: ApiVersion = ApiVersion::new(2, 1);
/// The newest microversion whose every change to the resources ecsd
/// serves is implemented.
pub const MAX_VERSION: ApiVersion = ApiVersion::new(2, 100);

/// A header's text as the version parser sees it: bytes that are not
/// UTF-8 become U+FFFD, so that a version written with them (or with any
/// non-ASCII character, `☃`, a full-width `２.１`) is malformed (400) and
/// never taken for an absent header (2.1). Only ASCII whitespace separates,
/// as in HTTP.
fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

fn ascii_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_ascii_whitespace()).filter(|w| !w.is_empty())
}

/// The requested compute version string, if any header names one.
fn requested(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("openstack-api-version") {
        for item in header_text(value).split(',') {
            let mut words = ascii_words(item);
            if words.next().is_some_and(|s| s.eq_ignore_ascii_case("compute")) {
                return Some(words.collect::<Vec<_>>().join(" "));
            }
        }
    }
    headers.get("x-openstack-nova-api-version").map(|v| ascii_words(&header_text(v)).collect::<Vec<_>>().join(" "))
}

/// Decides the version of a `/v2.1` request.
pub fn negotiate(headers: &HeaderMap) -> Result<ApiVersion, NovaError> {
    let Some(asked) = requested(headers) else {
        return Ok(MIN_VERSION);
    };
    if asked.eq_ignore_ascii_case("latest") {
        return Ok(MAX_VERSION);
    }
    let version = ApiVersion::parse(&asked).ok_or_else(|| {
        NovaError::bad_request(format!(
            "API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum."
        ))
    })?;
    if version < MIN_VERSION || version > MAX_VERSION {
        return Err(NovaError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {version} is not supported by the API. Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}."
            ),
        ));
    }
    Ok(version)
}

/// Whether a request came in on `/v2` (no microversions) or `/v2.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Legacy,
    V21,
}

/// Middleware for the `/v2.1` routes.
pub async fn v21(mut req: Request, next: Next) -> Response {
    // Another service's path under `/v2.1` (ECS's `cloudservers`, IMS's
    // `cloudimages`) that none of its routes took ends in this router's
    // fallback, which answers in that service's format: Nova's versions
    // are not its.
    if req.extensions().get::<crate::dialect::Dialect>().is_some_and(|d| *d != crate::dialect::Dialect::Nova) {
        return next.run(req).await;
    }
    let version = match negotiate(req.headers()) {
        Ok(v) => v,
        Err(e) => {
            let mut response = e.into_response();
            echo(&mut response, MIN_VERSION);
            return response;
        }
    };
    req.extensions_mut().insert(version);
    req.extensions_mut().insert(Flavour::V21);
    let mut response = next.run(req).await;
    echo(&mut response, version);
    response
}

/// Middleware for the `/v2` routes.
pub async fn legacy(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(MIN_VERSION);
    req.extensions_mut().insert(Flavour::Legacy);
    next.run(req).await
}

fn echo(response: &mut Response, version: ApiVersion) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("compute {version}")) {
        headers.insert("openstack-api-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&version.to_string()) {
        headers.insert("x-openstack-nova-api-version", v);
    }
    headers.append("vary", HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn versions_compare_as_pairs() {
        assert!(ApiVersion::new(2, 100) > ApiVersion::new(2, 99));
        assert_eq!(ApiVersion::parse("2.10"), Some(ApiVersion::new(2, 10)));
        assert_eq!(ApiVersion::parse("2.01"), None);
        assert_eq!(ApiVersion::parse("2"), None);
        assert_eq!(ApiVersion::parse("two.one"), None);
    }

    #[test]
    fn headers_are_read_and_limited() {
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), MIN_VERSION);
        assert_eq!(negotiate(&with("openstack-api-version", "compute 2.61")).unwrap(), ApiVersion::new(2, 61));
        assert_eq!(negotiate(&with("openstack-api-version", "placement 1.2, compute latest")).unwrap(), MAX_VERSION);
        assert_eq!(negotiate(&with("x-openstack-nova-api-version", "2.2")).unwrap(), ApiVersion::new(2, 2));
        assert_eq!(
            negotiate(&with("x-openstack-nova-api-version", "2.1000")).unwrap_err().status,
            StatusCode::NOT_ACCEPTABLE
        );
        assert_eq!(
            negotiate(&with("x-openstack-nova-api-version", "3.0")).unwrap_err().status,
            StatusCode::NOT_ACCEPTABLE
        );
        assert_eq!(
            negotiate(&with("x-openstack-nova-api-version", "abc")).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    fn raw(name: &str, bytes: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(bytes).unwrap());
        h
    }

    #[test]
    fn non_ascii_versions_are_malformed_not_absent() {
        for name in ["openstack-api-version", "x-openstack-nova-api-version"] {
            let prefix = if name == "openstack-api-version" { "compute " } else { "" };
            for version in ["☃", "２.１", "2.１", "2.1\u{a0}", "\u{3000}2.5"] {
                let value = format!("{prefix}{version}");
                let e = negotiate(&raw(name, value.as_bytes())).unwrap_err();
                assert_eq!(e.status, StatusCode::BAD_REQUEST, "{name}: {value}");
                assert!(e.message.contains("is of invalid format"), "{}", e.message);
            }
            // Not UTF-8 at all (a Latin-1 byte).
            let value = [prefix.as_bytes(), b"2.\xb9"].concat();
            assert_eq!(negotiate(&raw(name, &value)).unwrap_err().status, StatusCode::BAD_REQUEST);
        }
        // Only ASCII whitespace separates the service from its version.
        let joined = raw("openstack-api-version", "compute\u{3000}2.5".as_bytes());
        assert_eq!(negotiate(&joined).unwrap(), MIN_VERSION);
        assert_eq!(negotiate(&with("openstack-api-version", "compute \t2.5 ")).unwrap(), ApiVersion::new(2, 5));
    }
}
