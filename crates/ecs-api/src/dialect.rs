//! Which service a path belongs to, for the refusals made before a handler
//! runs: no route (404), no such method (405, with `Allow`), a path that
//! does not decode to UTF-8, a signed body that cannot be read. Each
//! dialect words them in its own error module; this only picks the dialect.

use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::admin::AdminError;
use crate::body::BodyError;
use crate::cinder::CinderError;
use crate::ecs::EcsError;
use crate::eip::EipError;
use crate::evs::EvsError;
use crate::glance::GlanceError;
use crate::identity::KeystoneError;
use crate::ims::ImsError;
use crate::neutron::NeutronError;
use crate::nova::NovaError;
use crate::vpc::VpcError;

/// The resources of ECS's v3 APIs, under `/v3/{project_id}/`.
const ECS_V3: &[&str] = &["launch-templates", "launch-template-versions", "instance-scheduled-events"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Nova,
    Ecs,
    Keystone,
    Neutron,
    Glance,
    /// `/volume`: Cinder's faults (Nova's shape, without Nova's headers).
    Cinder,
    /// Huawei EIP: `/v1/{p}/publicips`, `/v1/{p}/bandwidths`, `/v3/{p}/eip`.
    Eip,
    /// Huawei EVS: `/v2[.1]/{p}/cloudvolumes`.
    Evs,
    /// Huawei Cloud's VPC API: `/v1/{project_id}/vpcs`, `…/subnets`,
    /// `…/security-groups`, `…/ports`, `…/privateips`, `…/quotas`…
    Vpc,
    /// Huawei IMS: `cloudimages` under `/v1`, `/v2`, `/v2.1` (or under
    /// `/v1/{project_id}`).
    Ims,
    /// ecsd's own admin APIs: `/admin/…`.
    Admin,
    /// A path under no service's prefix: a plain JSON 404.
    Unknown,
}

impl Dialect {
    /// The dialect of a path, as sent or after the Nova project rewrite:
    /// `/v1/{project_id}/vpcs…` (and the VPC API's other resources) are the
    /// VPC API, publicips and bandwidths EIP; other `/v1/…` and `/v1.1/…` are ECS, and so is `cloudservers` under
    /// `/v2[.1][/{project_id}]`, and ECS's v3 resources under
    /// `/v3/{project_id}/`; the rest of `/v3` and `/identity` Keystone;
    /// `/networking` Neutron; `/admin` ecsd's admin APIs; `/image` Glance; `/volume` Cinder; IMS's
    /// `cloudimages` under `/v1`, `/v2`, `/v2.1` or `/v1/{project_id}`; `/`,
    /// `/v2`, `/v2.1` and `/v1.0` Nova; anything else no service's.
    pub fn of(path: &str) -> Dialect {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let at = |i: usize| segments.get(i).copied();
        let (first, second, third, fourth, fifth) = (at(0), at(1), at(2), at(3), at(4));
        match first {
            Some("v1" | "v2" | "v2.1") if second == Some("cloudimages") => Dialect::Ims,
            Some("v1") if third == Some("cloudimages") => Dialect::Ims,
            // IMS's image tags, beside Nova's `/v2/{project_id}/images`.
            Some("v2")
                if third == Some("images")
                    && (matches!(fourth, Some("tags" | "resource_instances")) || fifth == Some("tags")) =>
            {
                Dialect::Ims
            }
            Some("v1") if matches!(third, Some("publicips" | "bandwidths")) => Dialect::Eip,
            Some("v1") if third.is_some_and(|s| crate::vpc::PREFIXES.contains(&s)) => Dialect::Vpc,
            Some("v1" | "v1.1") => Dialect::Ecs,
            Some("v3") if third == Some("eip") => Dialect::Eip,
            Some("v3") if third == Some("vpc") => Dialect::Vpc,
            // ECS's v3 APIs live beside Keystone's: `/v3/{project_id}/<one of these>`.
            Some("v3") if third.is_some_and(|s| ECS_V3.contains(&s)) => Dialect::Ecs,
            Some("v3" | "identity") => Dialect::Keystone,
            Some("networking") => Dialect::Neutron,
            Some("image") => Dialect::Glance,
            Some("volume") => Dialect::Cinder,
            Some("v2" | "v2.1") if third == Some("cloudvolumes") => Dialect::Evs,
            Some("v2" | "v2.1") if [second, third].contains(&Some("cloudservers")) => Dialect::Ecs,
            None | Some("v2" | "v2.1" | "v1.0") => Dialect::Nova,
            Some("admin") => Dialect::Admin,
            Some(_) => Dialect::Unknown,
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
            Dialect::Eip => EipError::no_such_api().into_response(),
            Dialect::Evs => EvsError::no_such_api().into_response(),
            Dialect::Vpc => VpcError::no_such_api().into_response(),
            Dialect::Ims => ImsError::no_such_api().into_response(),
            Dialect::Admin => AdminError::no_such_api().into_response(),
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
            Dialect::Eip => EipError::method_not_allowed().into_response(),
            Dialect::Evs => EvsError::method_not_allowed().into_response(),
            Dialect::Vpc => VpcError::method_not_allowed().into_response(),
            Dialect::Ims => ImsError::method_not_allowed().into_response(),
            Dialect::Admin => AdminError::method_not_allowed().into_response(),
            Dialect::Unknown => {
                plain(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for the requested URL.")
            }
        }
    }

    /// A fault scenario's answer to a request (`status`, 503 as a rule): the
    /// dialect's fault for it, as if the service behind were unavailable.
    pub fn injected(self, status: StatusCode) -> Response {
        let message = "The service is unavailable (injected by an ecsd fault scenario).";
        match self {
            Dialect::Nova => NovaError::new(status, message).into_response(),
            Dialect::Ecs => EcsError::with_message("Common.0001", message).with_status(status).into_response(),
            Dialect::Keystone => KeystoneError::new(status, message).into_response(),
            Dialect::Neutron => NeutronError::injected(status, message).into_response(),
            Dialect::Glance => GlanceError(status, message.into()).into_response(),
            Dialect::Cinder => CinderError::injected(status, message).into_response(),
            Dialect::Eip => EipError::new(status, "VPC.0503", message).into_response(),
            Dialect::Evs => EvsError::new(status, "EVS.5400", message).into_response(),
            Dialect::Vpc => VpcError::new(status, "VPC.0105", message).into_response(),
            Dialect::Ims => ImsError::new(status, "IMG.0500", message).into_response(),
            Dialect::Admin => AdminError::new(status, "Unavailable", message).into_response(),
            Dialect::Unknown => plain(status, message),
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
            Dialect::Eip => EipError::from(e).into_response(),
            Dialect::Evs => EvsError::from(e).into_response(),
            Dialect::Vpc => VpcError::from(e).into_response(),
            Dialect::Ims => ImsError::from(e).into_response(),
            Dialect::Admin => AdminError::from(e).into_response(),
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
            ("/v1/p/vpcs", Vpc),
            ("/v1/p/vpcs/x/subnets/y", Vpc),
            ("/v1/p/security-group-rules", Vpc),
            ("/v1/p/privateips/x", Vpc),
            ("/v1/vpcs", Ecs),
            ("/v1.1/p/vpcs", Ecs),
            ("/v1.1/p/cloudservers", Ecs),
            ("/v2.1/cloudservers/x/reinstallos", Ecs),
            ("/v2/p/cloudservers/x/changeos", Ecs),
            ("/v3/nothing", Keystone),
            ("/v3/p/launch-templates", Ecs),
            ("/v3/p/instance-scheduled-events/e/actions/accept", Ecs),
            ("/v3/projects/launch-templates-x", Keystone),
            ("/v3/p/vpc/security-groups", Vpc),
            ("/v3/auth/tokens", Keystone),
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
            ("/v1/p/publicips", Eip),
            ("/v1/p/bandwidths/x", Eip),
            ("/v1/p/jobs/x", Ecs),
            ("/v3/p/eip/publicips", Eip),
            ("/v3/projects", Keystone),
            ("/v2/p/cloudvolumes/detail", Evs),
            ("/v2.1/p/cloudvolumes", Evs),
            ("/v2/cloudvolumes", Nova),
        ];
        for (path, dialect) in cases {
            assert_eq!(Dialect::of(path), dialect, "{path}");
        }
    }
}
