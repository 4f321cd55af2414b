//! Errors of Huawei Cloud's VPC API: `{"code": "VPC.xxxx", "message": …}`
//! (the shape of the VPC API reference's error codes chapter; the Huawei
//! SDKs read `code`/`message` as `error_code`/`error_msg`).
//!
//! Codes by module, as the reference numbers them: `VPC.00xx` common
//! (`VPC.0007` another project's path, `VPC.0008` bad credentials,
//! `VPC.2201` a policy refusal), `VPC.01xx` VPCs (`VPC.0003` no such VPC,
//! `VPC.0101` bad input, `VPC.0114` the router quota, `VPC.0113` subnets
//! left), `VPC.02xx` subnets (`VPC.0201` bad input, `VPC.0202` no such
//! subnet, `VPC.0209` quota, `VPC.0211` ports on it), `VPC.03xx` private
//! IPs, `VPC.06xx` security groups, `VPC.07xx` ports, `VPC.08xx` security
//! group rules; `APIGW.0101` no such API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::BodyError;

/// The resource a request is about: it picks the codes of bad input,
/// quotas and clashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Vpc,
    Subnet,
    PrivateIp,
    SecurityGroup,
    Port,
    Rule,
    Quota,
}

impl Area {
    fn invalid(self) -> &'static str {
        match self {
            Area::Vpc | Area::Quota => "VPC.0101",
            Area::Subnet => "VPC.0201",
            Area::PrivateIp => "VPC.0301",
            Area::SecurityGroup => "VPC.0601",
            Area::Port => "VPC.0701",
            Area::Rule => "VPC.0801",
        }
    }

    fn quota(self) -> &'static str {
        match self {
            Area::Vpc | Area::Quota => "VPC.0114",
            Area::Subnet => "VPC.0209",
            Area::PrivateIp => "VPC.0303",
            Area::SecurityGroup => "VPC.0603",
            Area::Port => "VPC.0703",
            Area::Rule => "VPC.0803",
        }
    }

    /// Something still uses the resource.
    fn in_use(self) -> &'static str {
        match self {
            Area::Vpc | Area::Quota => "VPC.0113",
            Area::Subnet => "VPC.0211",
            Area::PrivateIp => "VPC.0304",
            Area::SecurityGroup => "VPC.0604",
            Area::Port => "VPC.0704",
            Area::Rule => "VPC.0804",
        }
    }

    /// An address taken, or none left.
    fn addresses(self) -> &'static str {
        match self {
            Area::Port => "VPC.0703",
            _ => "VPC.0303",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The v3 API's shape: `{"request_id", "error_code", "error_msg"}`.
    pub v3: Option<String>,
}

impl VpcError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> VpcError {
        VpcError { status, code, message: message.into(), v3: None }
    }

    /// In the v3 API's shape, with the request's id.
    pub fn v3(mut self, request_id: &str) -> VpcError {
        self.v3 = Some(request_id.to_string());
        self
    }

    /// Bad input about `area` (400).
    pub fn invalid(area: Area, message: impl Into<String>) -> VpcError {
        VpcError::new(StatusCode::BAD_REQUEST, area.invalid(), message)
    }

    /// No API at this path: the gateway's APIGW.0101.
    pub fn no_such_api() -> VpcError {
        VpcError::new(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment.",
        )
    }

    pub fn method_not_allowed() -> VpcError {
        VpcError::new(StatusCode::METHOD_NOT_ALLOWED, "APIGW.0101", "The API does not exist.")
    }

    /// Bad credentials (VPC.0008).
    pub fn unauthorized(message: impl Into<String>) -> VpcError {
        VpcError::new(StatusCode::UNAUTHORIZED, "VPC.0008", message)
    }

    /// A core error about `area`, in the VPC API's words.
    pub fn core(area: Area, e: ecs_core::Error) -> VpcError {
        use ecs_core::{Conflict, Error as E, Forbidden, Invalid, Kind};
        let status = |s: u16| StatusCode::from_u16(s).expect("status");
        match &e {
            E::NotFound { kind, id } => {
                let (code, what) = match kind {
                    Kind::Router => ("VPC.0003", "VPC"),
                    Kind::Network | Kind::Subnet => ("VPC.0202", "Subnet"),
                    Kind::Port if area == Area::PrivateIp => ("VPC.0302", "Private IP"),
                    Kind::Port => ("VPC.0702", "Port"),
                    Kind::SecurityGroup | Kind::SecurityGroupName { .. } => ("VPC.0602", "Security group"),
                    Kind::SecurityGroupRule => ("VPC.0802", "Security group rule"),
                    _ => return VpcError::new(status(404), "VPC.0003", e.to_string()),
                };
                VpcError::new(status(404), code, format!("{what} {id} does not exist."))
            }
            E::Forbidden(Forbidden::Policy { rule }) => {
                VpcError::new(status(403), "VPC.2201", format!("Policy doesn't allow {rule} to be performed."))
            }
            E::Forbidden(_) => VpcError::new(status(403), "VPC.2201", e.to_string()),
            E::Unauthorized(_) => VpcError::unauthorized(e.to_string()),
            E::Invalid(Invalid::FixedIpInUse { .. } | Invalid::NoFixedIpLeft) => {
                VpcError::new(status(409), area.addresses(), e.to_string())
            }
            E::Invalid(_) | E::Unsupported => VpcError::invalid(area, e.to_string()),
            E::QuotaExceeded { .. } => VpcError::new(status(409), area.quota(), e.to_string()),
            E::Conflict(Conflict::Neutron { fault, message }) => {
                let code = match *fault {
                    "OverQuota" => area.quota(),
                    "SecurityGroupRuleExists" => "VPC.0804",
                    "SubnetInUse" => "VPC.0211",
                    "RouterInUse" => "VPC.0113",
                    "SecurityGroupInUse" | "SecurityGroupCannotRemoveDefault" | "SecurityGroupCannotUpdateDefault" => {
                        "VPC.0604"
                    }
                    "SecurityGroupDefaultAlreadyExists" | "SecurityGroupNameExists" => "VPC.0601",
                    _ => area.in_use(),
                };
                let status = if code == "VPC.0601" { status(400) } else { status(409) };
                VpcError::new(status, code, message.clone())
            }
            E::Conflict(_) | E::InvalidState { .. } | E::Locked { .. } => {
                VpcError::new(status(409), area.in_use(), e.to_string())
            }
            E::NoValidHost { .. } | E::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                VpcError::new(status(500), "VPC.0105", "The request failed: internal error.")
            }
        }
    }
}

/// A core error outside any one resource's area.
impl From<ecs_core::Error> for VpcError {
    fn from(e: ecs_core::Error) -> Self {
        VpcError::core(Area::Vpc, e)
    }
}

/// A body that cannot be read: the gateway's APIGW.0201 for one too large,
/// VPC.0001 with the fault's status for the rest.
impl From<BodyError> for VpcError {
    fn from(e: BodyError) -> Self {
        let (status, message) = match e {
            BodyError::TooLarge => {
                return VpcError::new(StatusCode::PAYLOAD_TOO_LARGE, "APIGW.0201", "Request entity too large.");
            }
            BodyError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json.")
            }
            BodyError::UnsupportedEncoding => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Encoding is not supported.")
            }
            BodyError::Incomplete => (StatusCode::BAD_REQUEST, "The request body is incomplete."),
            BodyError::TimedOut => (StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body."),
            BodyError::Malformed => (StatusCode::BAD_REQUEST, "The request body is not JSON."),
        };
        VpcError::new(status, "VPC.0001", message)
    }
}

impl IntoResponse for VpcError {
    fn into_response(self) -> Response {
        let body = match &self.v3 {
            None => json!({"code": self.code, "message": self.message}),
            Some(request_id) => json!({"request_id": request_id, "error_code": self.code, "error_msg": self.message}),
        };
        (self.status, Json(body)).into_response()
    }
}

/// `result.area(Area::Subnet)?`: a core result, its error worded for `area`.
pub trait InArea<T> {
    fn area(self, area: Area) -> Result<T, VpcError>;
}

impl<T> InArea<T> for Result<T, ecs_core::Error> {
    fn area(self, area: Area) -> Result<T, VpcError> {
        self.map_err(|e| VpcError::core(area, e))
    }
}

#[cfg(test)]
mod tests {
    use ecs_core::{Conflict, Error as E, Kind};

    use super::*;

    #[test]
    fn core_errors_take_the_vpc_codes() {
        let clash = |fault| E::Conflict(Conflict::Neutron { fault, message: "m".into() });
        let cases = [
            (VpcError::core(Area::Vpc, E::not_found(Kind::Router, "x")), 404, "VPC.0003"),
            (VpcError::core(Area::Vpc, E::not_found(Kind::Network, "x")), 404, "VPC.0202"),
            (VpcError::core(Area::Subnet, E::invalid("bad")), 400, "VPC.0201"),
            (VpcError::core(Area::Vpc, clash("OverQuota")), 409, "VPC.0114"),
            (VpcError::core(Area::Subnet, clash("SubnetInUse")), 409, "VPC.0211"),
            (VpcError::core(Area::Vpc, clash("RouterInUse")), 409, "VPC.0113"),
            (VpcError::core(Area::Rule, clash("SecurityGroupRuleExists")), 409, "VPC.0804"),
            (VpcError::core(Area::Port, ecs_core::policy::forbidden("create_port")), 403, "VPC.2201"),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{e:?}");
        }
    }
}
