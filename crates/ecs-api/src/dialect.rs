//! Which service a path belongs to, for the refusals made before a handler
//! runs: no route (404), no such method (405, with `Allow`), a path that
//! does not decode to UTF-8, a signed body that cannot be read. Each
//! dialect words them in its own error module; this only picks the dialect.

use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::body::BodyError;
use crate::cinder::CinderError;
use crate::ecs::EcsError;
use crate::glance::GlanceError;
use crate::identity::KeystoneError;
use crate::ims::ImsError;
use crate::neutron::NeutronError;
use crate::nova::NovaError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Nova,
    Ecs,
    Keystone,
    Neutron,
    Glance,
    /// `/volume`: Cinder's faults (Nova's shape, without Nova's headers).
    Cinder,
    /// Huawei IMS: `cloudimages` under `/v1`, `/v2`, `/v2.1` (or under
    /// `/v1/{project_id}`).
    Ims,
    /// A path under no service's prefix: a plain JSON 404.
    Unknown,
}

impl Dialect {
    /// The dialect of a path, as sent or after the Nova project rewrite:
    /// `/v1/…` and `/v1.1/…` are ECS, and so is `cloudservers` under
    /// `/v2[.1][/{project_id}]`; `/v3` and `/identity` Keystone;
    /// `/networking` Neutron; `/image` Glance; `/volume` Cinder; IMS's
    /// `cloudimages` (see [`Dialect::huawei_service`]); `/`,
    /// `/v2`, `/v2.1` and `/v1.0` Nova; anything else no service's.
    pub fn of(path: &str) -> Dialect {
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let version = segments.next();
        if let Some(dialect) = Dialect::huawei_service(version, segments.clone()) {
            return dialect;
        }
        match version {
            Some("v1" | "v1.1") => Dialect::Ecs,
            Some("v3" | "identity") => Dialect::Keystone,
            Some("networking") => Dialect::Neutron,
            Some("image") => Dialect::Glance,
            Some("volume") => Dialect::Cinder,
            Some("v2" | "v2.1") if segments.by_ref().take(2).any(|s| s == "cloudservers") => Dialect::Ecs,
            None | Some("v2" | "v2.1" | "v1.0") => Dialect::Nova,
            Some(_) => Dialect::Unknown,
        }
    }

    /// The Huawei services whose paths share a version prefix with ECS or
    /// Nova, by the resource named after the version (`/v2/cloudimages`)
    /// or after the project (`/v1/{project_id}/cloudimages`).
    fn huawei_service<'a>(version: Option<&str>, mut rest: impl Iterator<Item = &'a str>) -> Option<Dialect> {
        let (first, second) = (rest.next(), rest.next());
        let (third, fourth) = (rest.next(), rest.next());
        match (version?, first?, second) {
            ("v1" | "v2" | "v2.1", "cloudimages", _) | ("v1", _, Some("cloudimages")) => Some(Dialect::Ims),
            // IMS's image tags, beside Nova's `/v2/{project_id}/images`.
            ("v2", _, Some("images"))
                if matches!(third, Some("tags" | "resource_instances")) || fourth == Some("tags") =>
            {
                Some(Dialect::Ims)
            }
            _ => None,
        }
    }

    pub fn not_found(self) -> Response {
        match self {
            Dialect::Nova => NovaError::not_found().into_response(),
            Dialect::Ecs => EcsError::no_such_api().into_response(),
            Dialect::Keystone => KeystoneError::not_found().into_response(),
            Dialect::Neutron => NeutronError::not_found().into_response(),
            Dialect::Glance => GlanceError::not_found().into_response(),
            Dialect::Cinder => CinderError::not_found().into_response(),
            Dialect::Ims => ImsError::no_such_api().into_response(),
            Dialect::Unknown => plain(StatusCode::NOT_FOUND, "The resource could not be found."),
        }
    }

    /// The `Allow` header is added by the router.
    pub fn method_not_allowed(self) -> Response {
        match self {
            Dialect::Nova => NovaError::method_not_allowed().into_response(),
            Dialect::Ecs => EcsError::method_not_allowed().into_response(),
            Dialect::Keystone => KeystoneError::method_not_allowed().into_response(),
            Dialect::Neutron => NeutronError::method_not_allowed().into_response(),
            Dialect::Glance => GlanceError::method_not_allowed().into_response(),
            Dialect::Cinder => CinderError::method_not_allowed().into_response(),
            Dialect::Ims => ImsError::method_not_allowed().into_response(),
            Dialect::Unknown => {
                plain(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for the requested URL.")
            }
        }
    }

    pub fn body_refused(self, e: BodyError) -> Response {
        match self {
            Dialect::Nova => NovaError::from(e).into_response(),
            Dialect::Ecs => EcsError::from(e).into_response(),
            Dialect::Keystone => KeystoneError::from(e).into_response(),
            Dialect::Neutron => NeutronError::from(e).into_response(),
            Dialect::Glance => GlanceError::from(e).into_response(),
            Dialect::Cinder => CinderError::from(e).into_response(),
            Dialect::Ims => ImsError::from(e).into_response(),
            Dialect::Unknown => {
                let status = NovaError::from(e).into_response().status();
                plain(status, status.canonical_reason().unwrap_or("Bad Request"))
            }
        }
    }
}

/// A path no service owns: `{"error": {"code": 404, "message": …}}`.
fn plain(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": {"code": status.as_u16(), "message": message}}))).into_response()
}

/// Decides the dialect once, from the path as sent: the Nova rewrite takes
/// what looks like a project out of `/v2.1/cloudservers/…` too.
pub async fn classify(mut req: Request, next: Next) -> Response {
    let dialect = Dialect::of(req.uri().path());
    req.extensions_mut().insert(dialect);
    next.run(req).await
}

/// The dialect [`classify`] found (or, outside it, the routed path's).
impl<S: Send + Sync> FromRequestParts<S> for Dialect {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<Dialect>() {
            Some(dialect) => *dialect,
            None => Dialect::of(parts.uri.path()),
        })
    }
}

/// The router's fallback: no route matches the path.
pub async fn not_found(dialect: Dialect) -> Response {
    dialect.not_found()
}

/// The router's fallback for a path served under other methods.
pub async fn method_not_allowed(dialect: Dialect) -> Response {
    dialect.method_not_allowed()
}

/// A path whose percent-escapes do not decode to UTF-8 names nothing any
/// service has (every id and name is UTF-8): a 404 in the path's dialect,
/// before routing, so no handler's path extractor has to refuse it.
pub async fn refuse_undecodable_path(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if std::str::from_utf8(&urlencoding::decode_binary(path.as_bytes())).is_err() {
        let (mut parts, _) = req.into_parts();
        let Ok(dialect) = Dialect::from_request_parts(&mut parts, &()).await;
        return dialect.not_found();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::Dialect::{self, *};

    #[test]
    fn paths_take_their_service_dialect() {
        let cases = [
            ("/", Nova),
            ("/v2.1/servers", Nova),
            ("/v2/p/servers/x", Nova),
            ("/v1.0/servers/x/action", Nova),
            ("/v1", Ecs),
            ("/v1/cloudservers", Ecs),
            ("/v1.1/p/cloudservers", Ecs),
            ("/v2.1/cloudservers/x/reinstallos", Ecs),
            ("/v2/p/cloudservers/x/changeos", Ecs),
            ("/v3/nothing", Keystone),
            ("/identity", Keystone),
            ("/networking/v2.0/nothing", Neutron),
            ("/image/v2/images", Glance),
            ("/volume/v3/p/volumes", Cinder),
            ("/volume/v3/p/nothing", Cinder),
            ("/volume", Cinder),
            ("/v2/cloudimages", Ims),
            ("/v2/cloudimages/action", Ims),
            ("/v2.1/cloudimages/x", Ims),
            ("/v1/cloudimages/quota", Ims),
            ("/v1/p/cloudimages/x/members", Ims),
            ("/v2/p/cloudimages", Nova),
            ("/v2/p/images/x/tags", Ims),
            ("/v2/p/images/tags", Ims),
            ("/v2/p/images/resource_instances/action", Ims),
            ("/v2/p/images/x", Nova),
            ("/v2/images/x/tags/t", Nova),
            ("/imagery", Unknown),
            ("/v30", Unknown),
            ("/v2.0/anything", Unknown),
        ];
        for (path, dialect) in cases {
            assert_eq!(Dialect::of(path), dialect, "{path}");
        }
    }
}
