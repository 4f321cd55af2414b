//! Errors of the ECS-native API: `{"error": {"code": "Ecs.XXXX", "message": ...}}`
//! with the status the seed's table gives the code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use ecs_core::{Conflict, Forbidden, Invalid, Kind, Resource};

use super::codes;
use crate::body::BodyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsError {
    pub code: &'static str,
    pub message: String,
    /// Sharper codes under a general one (`details: [{"code": ...}]`).
    pub details: Vec<&'static str>,
    /// A status other than the code's own (a conflict under Ecs.0005).
    status: Option<StatusCode>,
}

impl EcsError {
    /// The error `code` with the seed's message.
    pub fn new(code: &'static str) -> EcsError {
        let message = codes::lookup(code).map(|c| c.message).unwrap_or_default();
        EcsError::with_message(code, message)
    }

    /// The error `code` with a message saying what was wrong.
    pub fn with_message(code: &'static str, message: impl Into<String>) -> EcsError {
        EcsError { code, message: message.into(), details: Vec::new(), status: None }
    }

    /// Adds a sharper code as a detail, as the seed's create errors do.
    pub fn detail(mut self, code: &'static str) -> EcsError {
        self.details.push(code);
        self
    }

    /// A request that contradicts an earlier one (an `X-Client-Token`
    /// used with another body): 409 under the general code.
    pub fn conflict(message: impl Into<String>) -> EcsError {
        EcsError::with_message("Ecs.0005", message).with_status(StatusCode::CONFLICT)
    }

    /// Answers with `status` instead of the code's own.
    pub fn with_status(mut self, status: StatusCode) -> EcsError {
        self.status = Some(status);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            codes::lookup(self.code)
                .and_then(|c| StatusCode::from_u16(c.status).ok())
                .unwrap_or(StatusCode::BAD_REQUEST)
        })
    }
}

impl IntoResponse for EcsError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if !self.details.is_empty() {
            body["error"]["details"] = self.details.iter().map(|c| json!({"code": c})).collect();
        }
        (self.status(), axum::Json(body)).into_response()
    }
}

/// The refusals Huawei's API gateway makes before a request reaches ECS:
/// its own codes (the seed has none for them), in the ECS body.
impl EcsError {
    /// No API at this path (APIGW.0101, 404).
    pub fn no_such_api() -> EcsError {
        EcsError::with_message("APIGW.0101", "The API does not exist or has not been published in the environment.")
            .with_status(StatusCode::NOT_FOUND)
    }

    /// An API at this path, but not for this method: the gateway's
    /// APIGW.0101 ("The API does not exist."), answered 405 with `Allow`.
    pub fn method_not_allowed() -> EcsError {
        EcsError::with_message("APIGW.0101", "The API does not exist.").with_status(StatusCode::METHOD_NOT_ALLOWED)
    }
}

/// A body that cannot be read: the gateway's APIGW.0201 for one too large,
/// the seed's Ecs.0005 (with the HTTP status of the fault) for the rest.
impl From<BodyError> for EcsError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => EcsError::with_message("APIGW.0201", "Request entity too large.")
                .with_status(StatusCode::PAYLOAD_TOO_LARGE),
            BodyError::UnsupportedMediaType => {
                illegal_with("Content-Type must be application/json.", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            BodyError::UnsupportedEncoding => {
                illegal_with("Content-Encoding is not supported.", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            BodyError::Incomplete => illegal_with("The request body is incomplete.", StatusCode::BAD_REQUEST),
            BodyError::TimedOut => illegal_with("Timed out reading the request body.", StatusCode::REQUEST_TIMEOUT),
            BodyError::Malformed => illegal_with("request body is illegal.", StatusCode::BAD_REQUEST),
        }
    }
}

fn illegal_with(message: &str, status: StatusCode) -> EcsError {
    EcsError::with_message("Ecs.0005", message).with_status(status)
}

/// The seed's code for a missing thing of `kind`, named by the path
/// (Ecs.0114 for a server) or by the request (the sharper create codes).
fn missing_code(kind: &Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Server => "Ecs.0114",
        Kind::Flavor => "Ecs.0029",
        Kind::Image => "Ecs.0031",
        Kind::Subnet => "Ecs.0038",
        Kind::Network | Kind::SecurityGroup | Kind::SecurityGroupName { .. } | Kind::SecurityGroupMember { .. } => {
            "Ecs.0014"
        }
        Kind::Keypair { .. } | Kind::KeypairName | Kind::AttachedKeypair { .. } => "Ecs.0314",
        Kind::Volume => "Ecs.0103",
        Kind::VolumeAttachment { .. } | Kind::AttachmentOf => "Ecs.0111",
        Kind::Interface => "Ecs.0085",
        Kind::Job => "Common.0011",
        // Huawei's v3 APIs answer an unknown id with a 404 of its own: the
        // general code under 404 (see `code_status`).
        Kind::LaunchTemplate | Kind::ScheduledEvent => "Ecs.0005",
        // The seed has no code of its own for a missing server group: the
        // 404 of Ecs.0114 below.
        Kind::FloatingIpPool | Kind::FreeFloatingIp => "Ecs.0013",
        _ => return None,
    })
}

/// The one map from the core's error to the seed's codes (API-CATALOG.md,
/// seed 002's table).
pub(crate) fn code(e: &ecs_core::Error) -> &'static str {
    use ecs_core::Error as E;
    match e {
        E::NotFound { kind, .. } => missing_code(kind).unwrap_or("Ecs.0114"),
        E::InvalidState { .. } => "Ecs.0100",
        E::Locked { .. } => "Ecs.0605",
        E::QuotaExceeded { resource, .. } => match resource {
            Resource::Volumes | Resource::Gigabytes | Resource::Snapshots => "Ecs.0021",
            Resource::ServerGroups | Resource::ServerGroupMembers => "Ecs.0022",
            Resource::FloatingIps => "Ecs.0013",
            _ => "Ecs.0001",
        },
        E::NoValidHost { .. } => "Ecs.0319",
        E::Invalid(invalid) => match invalid {
            // A fault scenario's code (checked against the table when loaded).
            Invalid::Injected { code, .. } => codes::lookup(code).map_or("Ecs.0005", |c| c.code),
            // A missing thing the request names is a 400, never the 404 of Ecs.0114.
            Invalid::Unknown { kind, .. } => missing_code(kind).filter(|c| *c != "Ecs.0114").unwrap_or("Ecs.0005"),
            Invalid::FlavorDisabled => "Ecs.0027",
            Invalid::ImageNotActive { .. } => "Ecs.0032",
            Invalid::FixedIpInUse { .. } => "Ecs.0010",
            Invalid::NoFixedIpLeft => "Ecs.0012",
            Invalid::SystemDiskDetach => "Ecs.0102",
            Invalid::VolumeState { .. } | Invalid::VolumeAttached { here: false, .. } => "Ecs.0103",
            Invalid::VolumeAttached { here: true, .. } => "Ecs.0057",
            Invalid::TooManyTags { .. } => "Ecs.0905",
            Invalid::TagCharacters { .. } => "Ecs.0907",
            Invalid::SameFlavor => "Ecs.0810",
            Invalid::SameDedicatedHost => "Ecs.0221",
            Invalid::NotPrimaryNic { .. } => "Ecs.0086",
            Invalid::NoAutoRecovery { .. } => "Ecs.0036",
            // The seed has no codes of its own for an evacuation's hosts
            // (Invalid::HostStillUp, Invalid::SameHost): Ecs.0005 below.
            Invalid::BatchSize { given, max } if given > max => "Ecs.0118",
            _ => "Ecs.0005",
        },
        E::Conflict(conflict) => match conflict {
            Conflict::PortInUse { .. } => "Ecs.0919",
            Conflict::ClientTokenReused | Conflict::MultipleNetworks | Conflict::DeviceInUse { .. } => "Ecs.0005",
            Conflict::NoConsole { .. }
            | Conflict::HostUnavailable
            | Conflict::HostHasServers
            | Conflict::Neutron { .. }
            | Conflict::Other(_) => "Ecs.0100",
        },
        E::Forbidden(Forbidden::Policy { .. }) => "Pdp.0001",
        E::Forbidden(Forbidden::NoPaymentMethod) => "Ecs.0069",
        E::Forbidden(_) => "Ecs.0003",
        E::Unauthorized(_) => "Common.0013",
        E::Internal(_) => "Common.0001",
        // Only Nova's host APIs ask for what no driver has; ECS has no code for it.
        E::Unsupported => "Ecs.0005",
    }
}

/// A core error in the ECS body: its code, the core's wording as the
/// message (IAM's for a policy refusal) and the few shapes beyond a code.
impl From<ecs_core::Error> for EcsError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        let code = code(&e);
        match &e {
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                EcsError::new(code)
            }
            E::Forbidden(Forbidden::Policy { rule }) => policy_denied(rule),
            // A fault scenario's code: the table's status, its message unless the rule gave one.
            E::Invalid(Invalid::Injected { message: None, .. }) => EcsError::new(code),
            // The seed's create answers an address outside its subnet so.
            E::Invalid(Invalid::FixedIpOutsideNetwork { .. }) => {
                EcsError::with_message(code, e.to_string()).detail("Ecs.0039")
            }
            E::NotFound { kind: Kind::LaunchTemplate | Kind::ScheduledEvent, .. } => {
                EcsError::with_message(code, e.to_string()).with_status(StatusCode::NOT_FOUND)
            }
            // A request that contradicts an earlier one: 409 under the general code.
            E::Conflict(Conflict::ClientTokenReused) => EcsError::conflict(e.to_string()),
            _ => EcsError::with_message(code, e.to_string()),
        }
    }
}

/// IAM's refusal of an action (`Pdp.0001`), named by the route's IAM
/// action or, refused by the core, by the core's rule.
pub fn policy_denied(action: &str) -> EcsError {
    EcsError::with_message("Pdp.0001", format!("Policy does not allow {action} to be performed."))
}

/// A NIC the path names (`/cloudservers/nics/{nic_id}`) that the caller
/// does not see: the seed's Ecs.0085, answered 404 as a missing path
/// resource is.
pub(crate) fn path_nic(e: ecs_core::Error) -> EcsError {
    match e {
        ecs_core::Error::NotFound { kind: Kind::Interface, .. } => EcsError::from(e).with_status(StatusCode::NOT_FOUND),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_the_seed_status_and_message() {
        assert_eq!(codes::CODES.len(), 162);
        let e = EcsError::new("Ecs.0114");
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(e.message, "The ECS does not exist.");
        assert_eq!(EcsError::new("Common.0013").status(), StatusCode::UNAUTHORIZED);
        assert_eq!(EcsError::new("Ecs.0603").status(), StatusCode::NOT_IMPLEMENTED);
        assert_eq!(EcsError::new("Ecs.0005").status(), StatusCode::BAD_REQUEST);
        let mut seen = std::collections::HashSet::new();
        assert!(codes::CODES.iter().all(|c| seen.insert(c.code)), "codes are unique");
    }

    /// Each situation the core names reaches the seed's code for it.
    #[test]
    fn core_errors_take_the_seed_codes() {
        use ecs_core::{Error as E, StateAttr};
        let unknown = |kind| E::Invalid(Invalid::Unknown { kind, id: "x".into() });
        let quota = |resource| E::quota(resource, 1, 10, 10);
        let cases: Vec<(E, &str, u16)> = vec![
            (E::not_found(Kind::Server, "x"), "Ecs.0114", 404),
            (E::not_found(Kind::Job, "x"), "Common.0011", 400),
            (E::not_found(Kind::Volume, "x"), "Ecs.0103", 400),
            (E::not_found(Kind::VolumeAttachment { server_id: "s".into() }, "x"), "Ecs.0111", 400),
            (E::not_found(Kind::Interface, "x"), "Ecs.0085", 400),
            (unknown(Kind::Flavor), "Ecs.0029", 400),
            (unknown(Kind::Image), "Ecs.0031", 400),
            (unknown(Kind::Subnet), "Ecs.0038", 400),
            (unknown(Kind::SecurityGroupName { project_id: "p".into() }), "Ecs.0014", 400),
            (unknown(Kind::Keypair { user_id: "u".into() }), "Ecs.0314", 400),
            (unknown(Kind::FloatingIpPool), "Ecs.0013", 400),
            (unknown(Kind::Port), "Ecs.0005", 400),
            (
                E::InvalidState {
                    action: "stop",
                    server_id: "x".into(),
                    attr: StateAttr::VmState,
                    state: "stopped".into(),
                },
                "Ecs.0100",
                400,
            ),
            (E::Locked { server_id: "x".into(), by_admin: false }, "Ecs.0605", 400),
            (quota(Resource::Instances), "Ecs.0001", 400),
            (quota(Resource::Gigabytes), "Ecs.0021", 400),
            (quota(Resource::ServerGroups), "Ecs.0022", 400),
            (quota(Resource::FloatingIps), "Ecs.0013", 400),
            (E::NoValidHost { reason: "none".into() }, "Ecs.0319", 400),
            (Invalid::FlavorDisabled.into(), "Ecs.0027", 400),
            (Invalid::ImageNotActive { id: "x".into() }.into(), "Ecs.0032", 400),
            (Invalid::FixedIpInUse { ip: "10.0.0.9".into() }.into(), "Ecs.0010", 400),
            (Invalid::NoFixedIpLeft.into(), "Ecs.0012", 400),
            (Invalid::SystemDiskDetach.into(), "Ecs.0102", 400),
            (Invalid::VolumeAttached { id: "v".into(), server_id: "s".into(), here: true }.into(), "Ecs.0057", 400),
            (Invalid::VolumeAttached { id: "v".into(), server_id: "t".into(), here: false }.into(), "Ecs.0103", 400),
            (Invalid::VolumeState { id: "v".into(), status: "error".into() }.into(), "Ecs.0103", 400),
            (Invalid::TooManyTags { max: 10 }.into(), "Ecs.0905", 400),
            (Invalid::TagCharacters { tag: "a\r\n".into() }.into(), "Ecs.0907", 400),
            (Invalid::BatchSize { given: 1001, max: 1000 }.into(), "Ecs.0118", 400),
            (Invalid::BatchSize { given: 0, max: 1000 }.into(), "Ecs.0005", 400),
            (Invalid::SameFlavor.into(), "Ecs.0810", 400),
            (Invalid::RootDiskTooSmall { size_gb: 1, min_gb: 2 }.into(), "Ecs.0005", 400),
            (Conflict::PortInUse { id: "p".into() }.into(), "Ecs.0919", 400),
            (Conflict::ClientTokenReused.into(), "Ecs.0005", 409),
            (E::Forbidden(Forbidden::Policy { rule: "ecs:cloudServers:stop".into() }), "Pdp.0001", 403),
            (E::Forbidden(Forbidden::ProjectScope), "Ecs.0003", 403),
            (E::Forbidden(Forbidden::NoPaymentMethod), "Ecs.0069", 403),
            (E::not_found(Kind::LaunchTemplate, "x"), "Ecs.0005", 404),
            (E::not_found(Kind::ScheduledEvent, "x"), "Ecs.0005", 404),
            (E::Unauthorized(ecs_core::Unauthorized::Credentials), "Common.0013", 401),
            (E::Internal("boom".into()), "Common.0001", 500),
        ];
        for (error, code, status) in cases {
            let shown = format!("{error:?}");
            let e = EcsError::from(error);
            assert_eq!((e.code, e.status().as_u16()), (code, status), "{shown}");
        }
        let outside = EcsError::from(ecs_core::Error::from(Invalid::FixedIpOutsideNetwork {
            ip: "10.9.9.9".into(),
            network_id: "n".into(),
        }));
        assert_eq!((outside.code, outside.details), ("Ecs.0005", vec!["Ecs.0039"]));
    }
}
