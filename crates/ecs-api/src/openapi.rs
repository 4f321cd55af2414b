//! The OpenAPI 3 document of the ECS-native API and of ecsd's own admin
//! APIs, generated from the handlers' `#[utoipa::path(…)]` annotations.
//! Served unauthenticated at `GET /openapi.json`, checked in at
//! `docs/openapi.json` (`ecsd openapi > docs/openapi.json` regenerates it);
//! the `openapi` test of `crates/ecsd/tests/api` fails when the document,
//! the checked-in copy and the routers disagree.
//!
//! # Documenting a new endpoint
//!
//! 1. Annotate its handler (the function its router names):
//!    ```ignore
//!    #[utoipa::path(post, path = "/admin/v1/clock", tag = "ecsd admin",
//!        summary = "Advance ecsd's clock",
//!        request_body = ClockChange,                       // a type deriving utoipa::ToSchema
//!        responses((status = 200, description = "The clock now.", body = ClockView)))]
//!    pub(crate) async fn advance(…)
//!    ```
//!    (a handler that reads `serde_json::Value`: `request_body(content = Object,
//!    description = "…", example = json!({…}))`, or a documentation type in
//!    [`schemas`]).
//! 2. Add the handler to the `paths(…)` list of its dialect's doc struct:
//!    `AdminApi` in `admin/mod.rs` (`paths(simulator::show, …, clock::advance)`)
//!    or `EcsApi` in `ecs/mod.rs`.
//!
//! Then `ecsd openapi > docs/openapi.json`. The rest is added here, for
//! every operation: the path parameters (`{project_id}`, `{server_id}`…,
//! described in [`PATH_PARAMETERS`]), the error responses in the dialect's
//! format (ECS `{"error": {"code", "message"}}`, admin
//! `{"error": {"code", "message", "field"?}}`), a unique `operationId` from
//! the method and path, and the routes one handler serves at several paths
//! (`ecs::DOCUMENTED_AS`). A new dialect's router file goes into `ROUTERS`
//! of `tests/api/routes.rs` as usual; the test then asks for its
//! operations if its dialect is "ecs" or "admin".

pub mod schemas;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi};

use crate::AppState;

const DESCRIPTION: &str = "\
The ECS-native API of ecsd (`/v1/{project_id}/cloudservers…`, `/v1.1/…`, `/v2[.1]/{project_id}/cloudservers…`, \
v3 launch templates and scheduled events; Huawei Cloud ECS as in its API reference) and ecsd's own admin \
APIs (`/admin/v1/…`, admin role only). ecsd also serves OpenStack Nova, Keystone, Neutron, Cinder and Glance \
and Huawei VPC, EIP, EVS and IMS on the same listener: those follow their upstream references and are not \
described here.\n\n\
Authenticate with a Keystone token (`POST /identity/v3/auth/tokens`, then `X-Auth-Token`) or an AK/SK \
signature (`ecsd credential create`). ECS errors are `{\"error\": {\"code\": \"Ecs.0005\", \"message\": \"…\"}}` \
with the codes of the ECS reference; admin errors `{\"error\": {\"code\", \"message\", \"field\"?}}`, `field` \
naming the part of a document at fault. Asynchronous ECS calls answer `{\"job_id\"}`: poll \
`GET /v1/{project_id}/jobs/{job_id}`.";

#[derive(OpenApi)]
#[openapi(
    info(title = "ecsd ECS-native and admin API", description = DESCRIPTION,
        license(name = "Apache-2.0", identifier = "Apache-2.0")),
    servers((url = "http://127.0.0.1:8774", description = "`ecsd serve` on its default address")),
    tags(
        (name = "ECS servers", description = "Create, list, show, change and delete servers (seed 002 §5.1)."),
        (name = "ECS server actions", description = "Batch start/stop/reboot, reinstall and change OS, resize, migrate (§5.2, §5.3)."),
        (name = "ECS jobs", description = "The jobs asynchronous calls answer with, and their sub-jobs (§5.8)."),
        (name = "ECS flavors", description = "Flavors, resize targets, sales policies, availability zones (§5.4)."),
        (name = "ECS quotas", description = "The project's quotas and usage (§5.7)."),
        (name = "ECS tags", description = "Server tags and queries by tag (§5.9)."),
        (name = "ECS server groups", description = "Server groups (affinity, anti-affinity) and their members (§5.10)."),
        (name = "ECS NICs", description = "A server's NICs: add, delete, change subnet or VPC, virtual IPs (§5.5)."),
        (name = "ECS disks", description = "Attached disks, shared disks and disk slots (§5.6)."),
        (name = "ECS passwords", description = "Password reset and generated passwords."),
        (name = "ECS recycle bin", description = "Deleted servers kept for a while, restored or deleted for good."),
        (name = "ECS launch templates", description = "Launch templates and their versions (v3)."),
        (name = "ECS scheduled events", description = "Scheduled maintenance events of servers (v3)."),
        (name = "ECS server options", description = "Per-server settings and consoles: metadata options, serial and VNC consoles, auto-recovery, auto-terminate, redeploy, crash dump, billing mode."),
        (name = "ecsd admin", description = "ecsd's own admin APIs: what makes it an emulator (admin role only; another role → 403, no token → 401)."),
    ),
    components(schemas(schemas::EcsErrorBody, schemas::AdminErrorBody)),
    modifiers(&Security),
    security(("token" = []), ("aksk" = [])),
)]
struct Base;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Auth-Token",
                "A Keystone token: `POST /identity/v3/auth/tokens` answers it in `X-Subject-Token`.",
            ))),
        );
        components.add_security_scheme(
            "aksk",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "An AK/SK signature as the Huawei Cloud SDKs send it: \
                 `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names;…>, Signature=<hex>` \
                 with `X-Sdk-Date: YYYYMMDDTHHMMSSZ`; the signature is HMAC-SHA256 with the SK over the \
                 canonical request (method, path with a trailing `/`, sorted query, signed headers, SHA-256 \
                 of the body). Keys: `ecsd credential create`.",
            ))),
        );
    }
}

/// What the path parameters are, by name.
pub const PATH_PARAMETERS: &[(&str, &str)] = &[
    ("project_id", "The project (tenant) id; the credentials must be scoped to it."),
    ("server_id", "A server's id."),
    ("job_id", "A job's id, as an asynchronous call answered it."),
    ("group_id", "A server group's id."),
    ("volume_id", "A disk's (volume's) id."),
    ("port_id", "A NIC's (port's) id."),
    ("nic_id", "A NIC's (port's) id."),
    ("flavor_id", "A flavor's id."),
    ("key", "A metadata key."),
    ("launch_template_id", "A launch template's id."),
    ("id", "A scheduled event's id."),
];

/// The error responses every operation of a dialect has (`{dialect}{status}`):
/// name, status, description, body schema. (An ECS GET changes nothing, so
/// it has no 409.)
const ERRORS: &[(&str, u16, &str, &str)] = &[
    (
        "Ecs400",
        400,
        "The request is malformed or breaks a rule (`Ecs.0005` and the field's own codes).",
        "EcsErrorBody",
    ),
    ("Ecs401", 401, "No token or signature, or a bad one (`Common.0013`).", "EcsErrorBody"),
    (
        "Ecs403",
        403,
        "The role may not do this, or the path's project is not the credentials' (`Ecs.0003`).",
        "EcsErrorBody",
    ),
    ("Ecs404", 404, "The server, job or other resource does not exist (`Ecs.0114`, `Ecs.0614`…).", "EcsErrorBody"),
    (
        "Ecs409",
        409,
        "The resource's state forbids it (`Ecs.0100`, locked `Ecs.0605`…) or a quota is spent.",
        "EcsErrorBody",
    ),
    ("Ecs500", 500, "ecsd failed (`Common.0001`).", "EcsErrorBody"),
    (
        "Admin400",
        400,
        "The document does not parse or does not hold together (`InvalidDocument`, naming the `field`).",
        "AdminErrorBody",
    ),
    ("Admin401", 401, "No token or signature, or a bad one (`Unauthorized`).", "AdminErrorBody"),
    ("Admin403", 403, "The caller is not an admin (`Forbidden`); nothing was changed.", "AdminErrorBody"),
];

/// The whole document.
pub fn document() -> Document {
    let mut doc = Base::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, _, description, schema) in ERRORS {
        let response = ResponseBuilder::new()
            .description(*description)
            .content("application/json", Content::new(Some(Ref::from_schema_name(*schema))))
            .build();
        components.responses.insert(name.to_string(), RefOr::T(response));
    }
    doc.merge(crate::ecs::EcsApi::openapi());
    doc.merge(crate::admin::AdminApi::openapi());
    for (route, documented) in crate::ecs::DOCUMENTED_AS {
        let item =
            doc.paths.paths.get(*documented).cloned().unwrap_or_else(|| panic!("{documented} is not documented"));
        doc.paths.paths.insert(route.to_string(), item);
    }
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, mut item)| {
            for (method, op) in operations(&mut item) {
                finish(&path, method, op);
            }
            (path, item)
        })
        .collect::<BTreeMap<_, _>>();
    doc
}

/// The document as served and checked in: pretty JSON, a newline at the end.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

/// `GET /openapi.json`, unauthenticated.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(serve))
}

async fn serve() -> impl IntoResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(document_json).clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    let all = [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
        ("head", &mut item.head),
    ];
    all.into_iter().filter_map(|(m, op)| op.as_mut().map(|op| (m, op))).collect()
}

/// Adds to an operation what every one of its dialect has: the path
/// parameters, its error responses and a unique operation id.
fn finish(path: &str, method: &str, op: &mut Operation) {
    let names: Vec<&str> =
        path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
    let params = op.parameters.get_or_insert_with(Vec::new);
    for (i, name) in names.iter().enumerate() {
        if params.iter().any(|p| p.name == *name && p.parameter_in == ParameterIn::Path) {
            continue;
        }
        let description = PATH_PARAMETERS.iter().find(|(n, _)| n == name).map(|(_, d)| *d);
        let param = ParameterBuilder::new()
            .name(*name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(description)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        params.insert(i, param);
    }
    let dialect = if path.starts_with("/admin/") { "Admin" } else { "Ecs" };
    for (name, status, _, _) in ERRORS {
        let Some(name_dialect) = name.strip_suffix(&status.to_string()) else { continue };
        if name_dialect != dialect || (*status == 409 && dialect == "Ecs" && method == "get") {
            continue;
        }
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
    }
    op.operation_id = Some(operation_id(path, method));
}

/// `get /v1/{project_id}/cloudservers/{server_id}` → `get_v1_cloudservers_server_id`.
fn operation_id(path: &str, method: &str) -> String {
    let mut id = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty() && *s != "{project_id}") {
        id.push('_');
        id.extend(
            segment.chars().filter(|c| !matches!(c, '{' | '}')).map(
                |c| {
                    if c.is_ascii_alphanumeric() { c } else { '_' }
                },
            ),
        );
    }
    id
}
