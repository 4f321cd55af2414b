//! The web console at `/console/`: static pages, styles and ES modules
//! (and the vendored noVNC client), built into the binary from
//! `crates/ecs-api/console/`. Anyone may fetch them; the pages' scripts
//! talk to ecsd's own public APIs with a Keystone token, as any client
//! does. A path with no file is a 404; a file answers GET and HEAD only.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::dialect::Dialect;

include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// Where the console's vendored noVNC lives, under `/console/`.
const NOVNC: &str = "vendor/novnc/";

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(path, body)| {
            let etag = format!("\"{}\"", &hex::encode(Sha256::digest(body))[..20]);
            (*path, Asset { body, content_type: content_type(path), etag: HeaderValue::from_str(&etag).unwrap() })
        })
        .collect()
});

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("md" | "txt") => "text/plain; charset=utf-8",
        _ if !path.contains('.') || path.ends_with("LICENSE") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The console's routes: `/console` sends the browser to `/console/`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(index).fallback(index))
        .route("/console/{*path}", get(asset).fallback(asset))
}

async fn index(method: Method, headers: HeaderMap) -> Response {
    serve("index.html", &method, &headers)
}

async fn asset(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().strip_prefix("/console/").unwrap_or_default();
    serve(path, &method, &headers)
}

/// noVNC's client, for the VNC proxy's own page (`/core/rfb.js` beside
/// `/vnc_auto.html`): the file at `path` of the vendored package, if any.
pub fn novnc(path: &str, method: &Method, headers: &HeaderMap) -> Option<Response> {
    let path = format!("{NOVNC}{}", path.trim_start_matches('/'));
    ASSETS.contains_key(path.as_str()).then(|| serve(&path, method, headers))
}

fn serve(path: &str, method: &Method, headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.get(path) else {
        return Dialect::Unknown.not_found();
    };
    if method != Method::GET && method != Method::HEAD {
        let mut r = Dialect::Unknown.method_not_allowed();
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        return r;
    }
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let common = [
        (header::ETAG, asset.etag.clone()),
        // Revalidated each load: a new ecsd's console is picked up at once.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_and_novnc_are_built_in() {
        for path in ["index.html", "app.css", "js/app.js", "vendor/novnc/core/rfb.js", "vendor/novnc/LICENSE.txt"] {
            assert!(ASSETS.contains_key(path), "{path}");
        }
        assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("vendor/novnc/vendor/pako/LICENSE"), "text/plain; charset=utf-8");
    }
}
