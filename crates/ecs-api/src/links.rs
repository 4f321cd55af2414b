//! Where the caller reached us: the scheme, host and port that links and
//! the catalog must use so that clients can follow them (clients follow the
//! version documents' `self` links; a wrong host sends them nowhere).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::AppState;

/// `scheme://host[:port]` (plus any path prefix of a configured public
/// URL), never with a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    pub fn from_headers(headers: &HeaderMap, configured: Option<&str>) -> BaseUrl {
        if let Some(url) = configured {
            return BaseUrl(url.trim_end_matches('/').to_string());
        }
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.split(',').next().unwrap_or("").trim().to_string())
        };
        let scheme = get("x-forwarded-proto").filter(|s| s == "http" || s == "https").unwrap_or_else(|| "http".into());
        let host = get("x-forwarded-host")
            .filter(|h| !h.is_empty())
            .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(String::from))
            .unwrap_or_else(|| "localhost".into());
        BaseUrl(format!("{scheme}://{host}"))
    }

    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.0, path.trim_start_matches('/'))
    }
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(BaseUrl::from_headers(&parts.headers, state.config.public_url.as_deref()))
    }
}
