//! The Keystone v3 subset: version discovery, password and token
//! authentication, token validation and revocation, the service catalog,
//! and enough of projects, users, roles and grants for the OpenStack CLI.
//!
//! Served at `/identity/v3` and, on the same listener, at `/v3`.

mod auth;
mod error;
mod validate;
mod views;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use ecs_store::Credential;
use ecs_types::{Domain, RoleAssignment};
use serde_json::{Value, json};

pub use auth::{Caller, MAX_SIGNED_BODY_BYTES, verify_signature};
pub use error::KeystoneError;

use crate::body::read_json;
use crate::{AppState, BaseUrl};

type Result<T> = std::result::Result<T, KeystoneError>;

pub fn router() -> Router<AppState> {
    let v3 = Router::new()
        .route("/auth/tokens", get(validate_token).head(check_token).post(issue_token).delete(revoke_token))
        .route("/auth/projects", get(auth_projects))
        .route("/auth/catalog", get(auth_catalog))
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{id}", get(show_project).delete(delete_project))
        .route("/projects/{project}/users/{user}/roles", get(list_grants))
        .route(
            "/projects/{project}/users/{user}/roles/{role}",
            put(grant).head(check_grant).get(check_grant).delete(revoke_grant),
        )
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(show_user).delete(delete_user))
        .route("/users/{id}/projects", get(user_projects))
        .route("/users/{id}/credentials/OS-EC2", get(list_ec2_credentials).post(create_ec2_credential))
        .route("/users/{id}/credentials/OS-EC2/{access}", get(show_ec2_credential).delete(delete_ec2_credential))
        .route("/users/{id}/application_credentials", get(list_app_credentials).post(create_app_credential))
        .route(
            "/users/{id}/application_credentials/{credential}",
            get(show_app_credential).delete(delete_app_credential),
        )
        .route("/roles", get(list_roles).post(create_role))
        .route("/roles/{id}", get(show_role).patch(update_role).delete(delete_role))
        .route("/role_assignments", get(list_role_assignments))
        .route("/domains", get(list_domains))
        .route("/domains/{id}", get(show_domain));
    Router::new()
        .route("/identity", get(versions))
        .route("/identity/", get(versions))
        .route("/identity/v3", get(version_identity))
        .route("/identity/v3/", get(version_identity))
        .route("/v3", get(version_short))
        .route("/v3/", get(version_short))
        .nest("/identity/v3", v3.clone())
        .nest("/v3", v3)
}

async fn versions(base: BaseUrl) -> Response {
    let body = json!({"versions": {"values": [views::version(&base, "identity/v3")]}});
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

async fn version_identity(base: BaseUrl) -> Json<Value> {
    Json(json!({"version": views::version(&base, "identity/v3")}))
}

async fn version_short(base: BaseUrl) -> Json<Value> {
    Json(json!({"version": views::version(&base, "v3")}))
}

// --- tokens -----------------------------------------------------------------

fn wants_catalog(query: &std::collections::HashMap<String, String>) -> bool {
    !query.contains_key("nocatalog")
}

async fn issue_token(
    State(state): State<AppState>,
    base: BaseUrl,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response> {
    let body = read_json(&headers, body).await?;
    let (credentials, scope) = validate::auth(&body)?;
    let issued = state.core.identity.authenticate(credentials, scope).await?;
    let body = views::token(&base, &state.config.region, &issued.context, wants_catalog(&query));
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let secret = HeaderValue::from_str(&issued.secret).map_err(|_| KeystoneError::unauthorized())?;
    response.headers_mut().insert("x-subject-token", secret);
    Ok(response)
}

/// The token a caller asks about; two of them name none (404, as for any
/// token Keystone cannot use).
fn subject_token(headers: &HeaderMap) -> Result<String> {
    auth::sole_header(headers, "x-subject-token")
        .ok()
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .ok_or_else(|| KeystoneError::new(StatusCode::NOT_FOUND, "Could not find token."))
}

async fn validate_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    let subject = subject_token(&headers)?;
    let ctx = state.core.identity.inspect(&caller, &subject).await?;
    let body = views::token(&base, &state.config.region, &ctx, wants_catalog(&query));
    let mut response = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&subject) {
        response.headers_mut().insert("x-subject-token", v);
    }
    Ok(response)
}

async fn check_token(State(state): State<AppState>, Caller(caller): Caller, headers: HeaderMap) -> Result<StatusCode> {
    let subject = subject_token(&headers)?;
    state.core.identity.inspect(&caller, &subject).await?;
    Ok(StatusCode::OK)
}

async fn revoke_token(State(state): State<AppState>, Caller(caller): Caller, headers: HeaderMap) -> Result<StatusCode> {
    let subject = subject_token(&headers)?;
    state.core.identity.revoke(&caller, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn auth_projects(State(state): State<AppState>, Caller(caller): Caller, base: BaseUrl) -> Result<Json<Value>> {
    let projects = state.core.identity.projects_of(&caller).await?;
    Ok(Json(json!({
        "projects": projects.iter().map(|p| views::project(&base, p)).collect::<Vec<_>>(),
        "links": views::collection(&base, "auth/projects"),
    })))
}

async fn auth_catalog(State(state): State<AppState>, Caller(caller): Caller, base: BaseUrl) -> Json<Value> {
    Json(
        json!({"catalog": views::catalog(&base, &state.config.region, caller.project_id()), "links": views::collection(&base, "auth/catalog")}),
    )
}

// --- projects, users, roles -------------------------------------------------

async fn list_projects(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>> {
    let projects = state.core.identity.project_list(&caller).await?;
    let projects: Vec<Value> = projects
        .iter()
        .filter(|p| query.get("name").is_none_or(|n| n == &p.name))
        .map(|p| views::project(&base, p))
        .collect();
    Ok(Json(json!({"projects": projects, "links": views::collection(&base, "projects")})))
}

async fn show_project(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    // The CLI looks projects up by name through this path too.
    let project = match state.core.identity.project_get(&caller, &id).await {
        Ok(p) => p,
        Err(missing @ ecs_core::Error::NotFound { .. }) => {
            let all = state.core.identity.project_list(&caller).await?;
            all.into_iter().find(|p| p.name == id).ok_or(missing)?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(json!({"project": views::project(&base, &project)})))
}

async fn create_project(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response> {
    let body = read_json(&headers, body).await?;
    let new = validate::project_create(&body)?;
    let project = state.core.identity.project_create(&caller, &new).await?;
    Ok((StatusCode::CREATED, Json(json!({"project": views::project(&base, &project)}))).into_response())
}

async fn delete_project(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.identity.project_delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>> {
    let users = state.core.identity.user_list(&caller).await?;
    let users: Vec<Value> = users
        .iter()
        .filter(|u| query.get("name").is_none_or(|n| n == &u.name))
        .map(|u| views::user(&base, u))
        .collect();
    Ok(Json(json!({"users": users, "links": views::collection(&base, "users")})))
}

async fn show_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let user = state.core.identity.user_get(&caller, &id).await?;
    Ok(Json(json!({"user": views::user(&base, &user)})))
}

async fn user_projects(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let projects = state.core.identity.user_projects(&caller, &id).await?;
    Ok(Json(json!({
        "projects": projects.iter().map(|p| views::project(&base, p)).collect::<Vec<_>>(),
        "links": views::collection(&base, &format!("users/{id}/projects")),
    })))
}

async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response> {
    let body = read_json(&headers, body).await?;
    let new = validate::user_create(&body)?;
    let user = state.core.identity.user_create(&caller, &new).await?;
    Ok((StatusCode::CREATED, Json(json!({"user": views::user(&base, &user)}))).into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.identity.user_delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_roles(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>> {
    let roles = state.core.identity.role_list(&caller).await?;
    let roles: Vec<Value> = roles
        .iter()
        .filter(|r| query.get("name").is_none_or(|n| n == &r.name))
        .map(|r| views::role(&base, r))
        .collect();
    Ok(Json(json!({"roles": roles, "links": views::collection(&base, "roles")})))
}

async fn show_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let role = state.core.identity.role_get(&caller, &id).await?;
    Ok(Json(json!({"role": views::role(&base, &role)})))
}

async fn create_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response> {
    let body = read_json(&headers, body).await?;
    let (name, description) = validate::role_create(&body)?;
    let role = state.core.identity.role_create(&caller, name, description).await?;
    Ok((StatusCode::CREATED, Json(json!({"role": views::role(&base, &role)}))).into_response())
}

async fn update_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Value>> {
    let body = read_json(&headers, body).await?;
    let changes = validate::role_update(&body)?;
    let role = state.core.identity.role_update(&caller, &id, &changes).await?;
    Ok(Json(json!({"role": views::role(&base, &role)})))
}

async fn delete_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.identity.role_delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_role_assignments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>> {
    let user = query.get("user.id").map(String::as_str);
    let project = query.get("scope.project.id").map(String::as_str);
    let include_names = query.get("include_names").is_some_and(|v| v != "false" && v != "0");
    let assignments = state.core.identity.role_assignment_list(&caller, user, project).await?;
    let mut out = Vec::with_capacity(assignments.len());
    for a in &assignments {
        let mut entry = json!({
            "role": {"id": a.role_id},
            "user": {"id": a.user_id},
            "scope": {"project": {"id": a.project_id}},
            "links": {"assignment": base.join(&format!("identity/v3/projects/{}/users/{}/roles/{}", a.project_id, a.user_id, a.role_id))},
        });
        if include_names {
            let ecs_core::identity::NamedAssignment { role, user, project } =
                state.core.identity.role_assignment_named(a).await?;
            let d = views::domain(&Domain::default_domain());
            entry["role"] = json!({"id": role.id, "name": role.name});
            entry["user"] = json!({"id": user.id, "name": user.name, "domain": d});
            entry["scope"] = json!({"project": {"id": project.id, "name": project.name, "domain": d}});
        }
        out.push(entry);
    }
    Ok(Json(json!({"role_assignments": out, "links": views::collection(&base, "role_assignments")})))
}

async fn list_grants(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path((project, user)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let assignments = state.core.identity.role_assignment_list(&caller, Some(&user), Some(&project)).await?;
    let mut roles = Vec::new();
    for a in assignments {
        let role = state.core.identity.role_get(&caller, &a.role_id).await?;
        roles.push(views::role(&base, &role));
    }
    Ok(Json(
        json!({"roles": roles, "links": views::collection(&base, &format!("projects/{project}/users/{user}/roles"))}),
    ))
}

fn assignment((project_id, user_id, role_id): (String, String, String)) -> RoleAssignment {
    RoleAssignment { user_id, project_id, role_id }
}

async fn grant(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(p): Path<(String, String, String)>,
) -> Result<StatusCode> {
    state.core.identity.grant(&caller, &assignment(p)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check_grant(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(p): Path<(String, String, String)>,
) -> Result<StatusCode> {
    state.core.identity.check_grant(&caller, &assignment(p)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_grant(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(p): Path<(String, String, String)>,
) -> Result<StatusCode> {
    state.core.identity.revoke_grant(&caller, &assignment(p)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_domains(Caller(_caller): Caller, base: BaseUrl) -> Json<Value> {
    Json(
        json!({"domains": [views::domain_full(&base, &Domain::default_domain())], "links": views::collection(&base, "domains")}),
    )
}

async fn show_domain(Caller(_caller): Caller, base: BaseUrl, Path(id): Path<String>) -> Result<Json<Value>> {
    let d = Domain::default_domain();
    if id != d.id && id != d.name {
        return Err(KeystoneError::new(StatusCode::NOT_FOUND, format!("Could not find domain: {id}.")));
    }
    Ok(Json(json!({"domain": views::domain_full(&base, &d)})))
}

// --- EC2-style credentials (OS-EC2) -------------------------------------------

fn ec2_credential(base: &BaseUrl, c: &Credential) -> Value {
    json!({
        "user_id": c.user_id, "tenant_id": c.project_id, "access": c.access, "secret": c.secret,
        "trust_id": null,
        "links": {"self": base.join(&format!("identity/v3/users/{}/credentials/OS-EC2/{}", c.user_id, c.access))},
    })
}

async fn create_ec2_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response> {
    let body = read_json(&headers, body).await?;
    let project_id = validate::ec2_credential_create(&body)?;
    let credential = state.core.credential_create(&caller, &user_id, project_id).await?;
    Ok((StatusCode::CREATED, Json(json!({"credential": ec2_credential(&base, &credential)}))).into_response())
}

async fn list_ec2_credentials(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    let credentials = state.core.credential_list(&caller, &user_id).await?;
    Ok(Json(json!({
        "credentials": credentials.iter().map(|c| ec2_credential(&base, c)).collect::<Vec<_>>(),
        "links": views::collection(&base, &format!("users/{user_id}/credentials/OS-EC2")),
    })))
}

async fn show_ec2_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path((user_id, access)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let credential = state.core.credential_get(&caller, &user_id, &access).await?;
    Ok(Json(json!({"credential": ec2_credential(&base, &credential)})))
}

async fn delete_ec2_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((user_id, access)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.credential_delete(&caller, &user_id, &access).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- application credentials --------------------------------------------------

async fn create_app_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response> {
    let body = read_json(&headers, body).await?;
    let new = validate::app_credential_create(&body)?;
    let made = state.core.identity.application_credential_create(&caller, &user_id, new).await?;
    let view = views::application_credential(&base, &made.credential, &made.roles, Some(&made.secret));
    Ok((StatusCode::CREATED, Json(json!({"application_credential": view}))).into_response())
}

async fn list_app_credentials(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path(user_id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>> {
    let name = query.get("name").map(String::as_str);
    let credentials = state.core.identity.application_credential_list(&caller, &user_id, name).await?;
    let mut out = Vec::with_capacity(credentials.len());
    for c in &credentials {
        let roles = state.core.identity.application_credential_roles(c).await?;
        out.push(views::application_credential(&base, c, &roles, None));
    }
    Ok(Json(json!({
        "application_credentials": out,
        "links": views::collection(&base, &format!("users/{user_id}/application_credentials")),
    })))
}

async fn show_app_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    base: BaseUrl,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let c = state.core.identity.application_credential_get(&caller, &user_id, &id).await?;
    let roles = state.core.identity.application_credential_roles(&c).await?;
    Ok(Json(json!({"application_credential": views::application_credential(&base, &c, &roles, None)})))
}

async fn delete_app_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.identity.application_credential_delete(&caller, &user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
