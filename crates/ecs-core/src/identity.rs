//! Identity: password and token authentication, token issue, validation
//! and revocation, and the management of projects, users and roles
//! (the Keystone v3 subset that ecsd serves itself).
//!
//! A token is 32 random bytes, URL-safe base64. Only its SHA-256 is stored.
//! Validated tokens are cached in memory for `token_cache_ttl`; a revocation
//! through this process evicts at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use ecs_store::{Store, StoreError};
use ecs_types::identity::DEFAULT_DOMAIN_ID;
use ecs_types::{AuthContext, Domain, Project, Role, RoleAssignment, TokenRecord, User, new_hex_id};
use sha2::{Digest, Sha256};

use crate::{CoreConfig, Error, Kind, Result, Unauthorized, policy};

mod application_credential;
pub use application_credential::{
    AppCredentialLookup, CreatedAppCredential, NewAccessRule, NewAppCredential, RoleRef, access_rule_path_matches,
    access_rules_allow,
};

/// The role implications Keystone's bootstrap creates (`admin` implies
/// `manager`, which implies `member`, which implies `reader`; `service`
/// implies nothing). A token carries its holder's roles and every role they
/// imply, as Keystone's do. ecsd has no implied-role API: the chain is fixed.
pub const IMPLIED_ROLES: &[(&str, &str)] = &[("admin", "manager"), ("manager", "member"), ("member", "reader")];

/// The changes to a role, as a Keystone `PATCH` body gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleChanges<'a> {
    pub name: Option<&'a str>,
    /// `Some(None)`: the description is cleared.
    pub description: Option<Option<&'a str>>,
}

/// Keystone's wording for a role name already taken (its `handle_conflicts`).
fn role_conflict(e: StoreError, name: &str) -> Error {
    match e {
        StoreError::Conflict(_) => Error::conflict(format!(
            "Conflict occurred attempting to store role - Duplicate entry found with name {name}."
        )),
        other => other.into(),
    }
}

/// Keystone's text for every authentication failure: it never says which
/// part was wrong.
pub const UNAUTHORIZED: &str = "The request you have made requires authentication.";

/// A reference to a domain by id or by name.
#[derive(Debug, Clone)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

/// A user named in an authentication request.
#[derive(Debug, Clone)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// A project named in a scope.
#[derive(Debug, Clone)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// How the caller proves who they are.
#[derive(Debug, Clone)]
pub enum Credentials {
    Password {
        user: UserRef,
        password: String,
    },
    /// Re-scoping: an existing valid token.
    Token(String),
    /// An application credential and its secret (no scope may be asked:
    /// the token is scoped to the credential's project).
    ApplicationCredential {
        credential: AppCredentialLookup,
        secret: String,
    },
}

/// A user to create, as a Keystone body describes it: well-typed, not yet
/// checked against what exists.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub name: &'a str,
    /// None: the user has no password and cannot log in with one.
    pub password: Option<&'a str>,
    /// None: the default domain.
    pub domain_id: Option<&'a str>,
    pub default_project_id: Option<&'a str>,
    pub enabled: bool,
}

/// A project to create, as a Keystone body describes it.
#[derive(Debug, Clone, Copy)]
pub struct NewProject<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// None: the default domain.
    pub domain_id: Option<&'a str>,
    /// None: the domain itself (projects do not nest here).
    pub parent_id: Option<&'a str>,
    pub enabled: bool,
    /// A project acting as a domain (not offered: one domain only).
    pub is_domain: bool,
}

/// What the new token is for. `Default` scopes to the user's default
/// project when they have one (as Keystone does), else unscoped.
#[derive(Debug, Clone)]
pub enum Scope {
    Default,
    Unscoped,
    Project(ProjectRef),
}

/// A freshly issued token: the secret (shown once, in `X-Subject-Token`)
/// and what it stands for.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub secret: String,
    pub context: AuthContext,
}

/// A role assignment with what it names.
#[derive(Debug, Clone)]
pub struct NamedAssignment {
    pub role: Role,
    pub user: User,
    pub project: Project,
}

pub struct Identity {
    store: Store,
    config: CoreConfig,
    cache: Mutex<HashMap<String, (AuthContext, Instant)>>,
}

fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut ecs_types::random::rng());
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing: {e}")))
}

/// The stored hash of a user who has no password: no PHC string, so no
/// password verifies against it.
pub const NO_PASSWORD: &str = "";

pub fn verify_password(password: &str, phc: &str) -> bool {
    if phc == NO_PASSWORD {
        return false;
    }
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

fn unauthorized() -> Error {
    Error::Unauthorized(Unauthorized::Credentials)
}

impl Identity {
    pub fn new(store: Store, config: CoreConfig) -> Self {
        Identity { store, config, cache: Mutex::new(HashMap::new()) }
    }

    fn domain_id(&self, d: &DomainRef) -> Result<String> {
        match d {
            DomainRef::Id(id) if id == DEFAULT_DOMAIN_ID => Ok(id.clone()),
            DomainRef::Name(name) if name == ecs_types::identity::DEFAULT_DOMAIN_NAME => Ok(DEFAULT_DOMAIN_ID.into()),
            _ => Err(unauthorized()),
        }
    }

    async fn find_user(&self, user: &UserRef) -> Result<User> {
        let found = match user {
            UserRef::Id(id) => self.store.user_get(id).await,
            UserRef::Name { name, domain } => self.store.user_get_by_name(&self.domain_id(domain)?, name).await,
        };
        match found {
            Ok(u) if u.enabled => Ok(u),
            Ok(_) | Err(StoreError::NotFound) => Err(unauthorized()),
            Err(e) => Err(e.into()),
        }
    }

    async fn find_project(&self, project: &ProjectRef) -> Result<Project> {
        let found = match project {
            ProjectRef::Id(id) => self.store.project_get(id).await,
            ProjectRef::Name { name, domain } => self.store.project_get_by_name(&self.domain_id(domain)?, name).await,
        };
        match found {
            Ok(p) if p.enabled => Ok(p),
            Ok(_) | Err(StoreError::NotFound) => Err(unauthorized()),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /v3/auth/tokens`.
    pub async fn authenticate(&self, credentials: Credentials, scope: Scope) -> Result<IssuedToken> {
        let mut app_credential = None;
        let (user, methods) = match credentials {
            Credentials::Password { user, password } => {
                let user = self.find_user(&user).await?;
                let hash = user.password_hash.clone();
                // Argon2 is deliberately slow: keep it off the async workers.
                let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?;
                if !ok {
                    return Err(unauthorized());
                }
                (user, vec!["password".to_string()])
            }
            Credentials::Token(secret) => {
                let ctx = self.validate(&secret).await?;
                // Re-scoping would shed the credential's limits.
                if ctx.application_credential.is_some() {
                    return Err(policy::forbidden(
                        "Using an application credential token to create another token. Create a new token with \
                         the application credential instead",
                    ));
                }
                let user = self.find_user(&UserRef::Id(ctx.user_id)).await?;
                (user, vec!["token".to_string()])
            }
            Credentials::ApplicationCredential { credential, secret } => {
                // Keystone: "Application credentials cannot request a scope."
                if !matches!(scope, Scope::Default) {
                    return Err(unauthorized());
                }
                let (credential, user) = self.application_credential_check(&credential, secret).await?;
                app_credential = Some(credential);
                (user, vec!["application_credential".to_string()])
            }
        };
        let scope = match &app_credential {
            Some(c) => Scope::Project(ProjectRef::Id(c.project_id.clone())),
            None => scope,
        };

        let project = match scope {
            Scope::Unscoped => None,
            Scope::Project(p) => Some(self.find_project(&p).await?),
            Scope::Default => match &user.default_project_id {
                Some(id) => match self.store.project_get(id).await {
                    Ok(p) if p.enabled => Some(p),
                    _ => None,
                },
                None => None,
            },
        };
        if let Some(p) = &project
            && self.store.roles_for(&user.id, &p.id).await?.is_empty()
        {
            return Err(unauthorized());
        }

        let mut raw = [0u8; 32];
        ecs_types::random::fill(&mut raw);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = ecs_types::clock::now();
        // A token lasts no longer than the credential it was issued for.
        let expires_at = match app_credential.as_ref().and_then(|c| c.expires_at) {
            Some(end) => end.min(now + self.config.token_ttl),
            None => now + self.config.token_ttl,
        };
        let record = TokenRecord {
            id_hash: token_hash(&secret),
            user_id: user.id.clone(),
            project_id: project.as_ref().map(|p| p.id.clone()),
            methods,
            audit_id: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..16]),
            issued_at: now,
            expires_at,
            revoked: false,
            application_credential_id: app_credential.map(|c| c.id),
        };
        self.store.token_insert(&record).await?;
        let context = self.context_for(&record, &user).await?;
        Ok(IssuedToken { secret, context })
    }

    /// `held` and the roles they imply ([`IMPLIED_ROLES`]); an implied
    /// role that was deleted is left out.
    async fn with_implied_roles(&self, mut held: Vec<Role>) -> Result<Vec<Role>> {
        let mut next = 0;
        while next < held.len() {
            let name = held[next].name.clone();
            next += 1;
            for (_, implied) in IMPLIED_ROLES.iter().filter(|(role, _)| *role == name) {
                if held.iter().any(|r| r.name == *implied) {
                    continue;
                }
                match self.store.role_get_by_name(implied).await {
                    Ok(role) => held.push(role),
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(held)
    }

    async fn context_for(&self, record: &TokenRecord, user: &User) -> Result<AuthContext> {
        let mut app_credential = None;
        let (project, roles) = match &record.project_id {
            Some(pid) => {
                let project = match self.store.project_get(pid).await {
                    Ok(p) if p.enabled => p,
                    Ok(_) | Err(StoreError::NotFound) => return Err(unauthorized()),
                    Err(e) => return Err(e.into()),
                };
                let roles = self.store.roles_for(&user.id, pid).await?;
                // A user who lost every role on the project loses the token.
                if roles.is_empty() {
                    return Err(unauthorized());
                }
                let mut roles = self.with_implied_roles(roles).await?;
                if let Some(id) = &record.application_credential_id {
                    let (reference, delegated) = self.application_credential_scope(id, roles).await?;
                    app_credential = Some(reference);
                    roles = delegated;
                }
                (Some(project), roles)
            }
            None => (None, Vec::new()),
        };
        Ok(AuthContext {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            user_domain: Domain::default_domain(),
            project,
            roles,
            methods: record.methods.clone(),
            audit_id: record.audit_id.clone(),
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            application_credential: app_credential,
        })
    }

    /// Resolves a token to its caller, or 401.
    pub async fn validate(&self, secret: &str) -> Result<AuthContext> {
        let hash = token_hash(secret);
        let now = ecs_types::clock::now();
        {
            let cache = self.cache.lock().map_err(|_| Error::internal("token cache poisoned"))?;
            if let Some((ctx, at)) = cache.get(&hash)
                && at.elapsed() < self.config.token_cache_ttl
                && ctx.expires_at > now
            {
                return Ok(ctx.clone());
            }
        }
        let record = match self.store.token_get(&hash).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(unauthorized()),
            Err(e) => return Err(e.into()),
        };
        if record.revoked || record.expires_at <= now {
            return Err(unauthorized());
        }
        let user = self.find_user(&UserRef::Id(record.user_id.clone())).await?;
        let ctx = self.context_for(&record, &user).await?;
        let mut cache = self.cache.lock().map_err(|_| Error::internal("token cache poisoned"))?;
        // Bound the cache: drop stale entries when it grows.
        if cache.len() > 100_000 {
            let ttl = self.config.token_cache_ttl;
            cache.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        cache.insert(hash, (ctx.clone(), Instant::now()));
        Ok(ctx)
    }

    /// `DELETE /v3/auth/tokens`: a user may revoke their own tokens, an
    /// admin anyone's.
    pub async fn revoke(&self, caller: &AuthContext, secret: &str) -> Result<()> {
        let subject = self.validate(secret).await.map_err(|_| Error::not_found(Kind::Token, ""))?;
        if subject.user_id != caller.user_id && !caller.is_admin() {
            return Err(policy::forbidden("identity:revoke_token"));
        }
        let hash = token_hash(secret);
        self.store.token_revoke(&hash).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&hash);
        }
        Ok(())
    }

    /// Validates `subject` on behalf of `caller` (`GET /v3/auth/tokens`).
    pub async fn inspect(&self, caller: &AuthContext, subject: &str) -> Result<AuthContext> {
        let ctx = self.validate(subject).await.map_err(|_| Error::not_found(Kind::Token, ""))?;
        if ctx.user_id != caller.user_id && !caller.is_admin() {
            return Err(policy::forbidden("identity:validate_token"));
        }
        Ok(ctx)
    }

    pub async fn purge_expired_tokens(&self) -> Result<u64> {
        Ok(self.store.token_purge_expired(ecs_types::clock::now()).await?)
    }

    // --- projects, users, roles -------------------------------------------

    pub async fn project_list(&self, caller: &AuthContext) -> Result<Vec<Project>> {
        if caller.is_admin() {
            Ok(self.store.project_list().await?)
        } else {
            Ok(self.store.project_list_for_user(&caller.user_id).await?)
        }
    }

    /// Projects the caller holds a role on (`GET /v3/auth/projects`).
    pub async fn projects_of(&self, caller: &AuthContext) -> Result<Vec<Project>> {
        Ok(self.store.project_list_for_user(&caller.user_id).await?)
    }

    pub async fn project_get(&self, caller: &AuthContext, id: &str) -> Result<Project> {
        let not_found = || Error::not_found(Kind::Project, id);
        let project = self.store.project_get(id).await.map_err(Error::not_found_or(not_found))?;
        if caller.is_admin() || caller.project_id() == Some(id) { Ok(project) } else { Err(not_found()) }
    }

    /// The domain a new user or project goes in: the default one, the only
    /// one there is (Keystone's `get_domain`: an unknown one is a 404).
    fn new_owner_domain(domain_id: Option<&str>) -> Result<String> {
        match domain_id {
            None => Ok(DEFAULT_DOMAIN_ID.into()),
            Some(id) if id == DEFAULT_DOMAIN_ID => Ok(id.into()),
            Some(id) => Err(Error::not_found(Kind::Domain, id)),
        }
    }

    pub async fn project_create(&self, caller: &AuthContext, new: &NewProject<'_>) -> Result<Project> {
        policy::require_admin(caller, "identity:create_project")?;
        if new.is_domain {
            return Err(Error::invalid("Projects acting as domains are not supported: there is one domain."));
        }
        let domain_id = Self::new_owner_domain(new.domain_id)?;
        if let Some(parent) = new.parent_id.filter(|p| *p != domain_id) {
            let not_found = || Error::not_found(Kind::Project, parent);
            self.store.project_get(parent).await.map_err(Error::not_found_or(not_found))?;
            return Err(Error::invalid("Nested projects are not supported: a project's parent is its domain."));
        }
        let name = new.name;
        let project = Project {
            id: new_hex_id(),
            name: name.to_string(),
            domain_id,
            description: new.description.to_string(),
            enabled: new.enabled,
        };
        match self.store.project_create(&project).await {
            Ok(()) => Ok(project),
            Err(StoreError::Conflict(_)) => Err(Error::conflict(format!(
                "Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {name}."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn project_delete(&self, caller: &AuthContext, id: &str) -> Result<()> {
        policy::require_admin(caller, "identity:delete_project")?;
        self.store.project_delete(id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::Project, id)))?;
        // Its tokens (those of its application credentials too) end with it.
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (ctx, _)| ctx.project_id() != Some(id));
        }
        Ok(())
    }

    pub async fn user_list(&self, caller: &AuthContext) -> Result<Vec<User>> {
        if caller.is_admin() {
            Ok(self.store.user_list().await?)
        } else {
            Ok(vec![self.store.user_get(&caller.user_id).await?])
        }
    }

    pub async fn user_get(&self, caller: &AuthContext, id: &str) -> Result<User> {
        let not_found = || Error::not_found(Kind::User, id);
        if !caller.is_admin() && caller.user_id != id {
            return Err(policy::forbidden("identity:get_user"));
        }
        self.store.user_get(id).await.map_err(Error::not_found_or(not_found))
    }

    pub async fn user_create(&self, caller: &AuthContext, new: &NewUser<'_>) -> Result<User> {
        policy::require_admin(caller, "identity:create_user")?;
        Self::new_owner_domain(new.domain_id)?;
        if let Some(pid) = new.default_project_id {
            self.store.project_get(pid).await.map_err(Error::not_found_or(|| Error::not_found(Kind::Project, pid)))?;
        }
        let mut user = self.new_user(new.name, new.password, new.default_project_id)?;
        user.enabled = new.enabled;
        self.store_user(user).await
    }

    /// Creates a user without a caller (the seed). A user without a
    /// password stores none ([`NO_PASSWORD`]) and password authentication
    /// refuses them, as Keystone does.
    pub async fn user_insert(
        &self,
        name: &str,
        password: Option<&str>,
        default_project_id: Option<&str>,
    ) -> Result<User> {
        let user = self.new_user(name, password, default_project_id)?;
        self.store_user(user).await
    }

    fn new_user(&self, name: &str, password: Option<&str>, default_project_id: Option<&str>) -> Result<User> {
        Ok(User {
            id: new_hex_id(),
            name: name.to_string(),
            domain_id: DEFAULT_DOMAIN_ID.into(),
            password_hash: password.map(hash_password).transpose()?.unwrap_or_else(|| NO_PASSWORD.to_string()),
            default_project_id: default_project_id.map(String::from),
            enabled: true,
        })
    }

    async fn store_user(&self, user: User) -> Result<User> {
        match self.store.user_create(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(Error::conflict(format!(
                "Conflict occurred attempting to store user - Duplicate entry found with name {} at domain ID {}.",
                user.name, user.domain_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_delete(&self, caller: &AuthContext, id: &str) -> Result<()> {
        policy::require_admin(caller, "identity:delete_user")?;
        self.store.user_delete(id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::User, id)))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (ctx, _)| ctx.user_id != id);
        }
        Ok(())
    }

    pub async fn role_list(&self, _caller: &AuthContext) -> Result<Vec<Role>> {
        Ok(self.store.role_list().await?)
    }

    pub async fn role_get(&self, _caller: &AuthContext, id: &str) -> Result<Role> {
        self.store.role_get(id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::Role, id)))
    }

    /// `POST /v3/roles`: a global role (ecsd has one domain and no
    /// domain-specific roles).
    pub async fn role_create(&self, caller: &AuthContext, name: &str, description: Option<&str>) -> Result<Role> {
        policy::require_admin(caller, "identity:create_role")?;
        let role = Role { id: new_hex_id(), name: name.into(), description: description.map(String::from) };
        self.store.role_create(&role).await.map_err(|e| role_conflict(e, name))?;
        Ok(role)
    }

    /// `PATCH /v3/roles/{id}`.
    pub async fn role_update(&self, caller: &AuthContext, id: &str, changes: &RoleChanges<'_>) -> Result<Role> {
        policy::require_admin(caller, "identity:update_role")?;
        let mut role = self.role_get(caller, id).await?;
        if let Some(name) = changes.name {
            role.name = name.into();
        }
        if let Some(description) = changes.description {
            role.description = description.map(String::from);
        }
        self.store.role_update(&role).await.map_err(|e| match e {
            StoreError::NotFound => Error::not_found(Kind::Role, id),
            other => role_conflict(other, &role.name),
        })?;
        self.forget_cached_roles(id);
        Ok(role)
    }

    /// `DELETE /v3/roles/{id}`: the role and every assignment of it.
    pub async fn role_delete(&self, caller: &AuthContext, id: &str) -> Result<()> {
        policy::require_admin(caller, "identity:delete_role")?;
        self.store.role_delete(id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::Role, id)))?;
        self.forget_cached_roles(id);
        Ok(())
    }

    /// Drops every validated token kept in memory: the tokens table was
    /// replaced (a reset to a snapshot), so each is checked again.
    pub fn forget_cached_tokens(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    /// Drops cached tokens that carry role `id`: they must be rebuilt with
    /// the role as it now is (or without it).
    fn forget_cached_roles(&self, id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (ctx, _)| ctx.roles.iter().all(|r| r.id != id));
        }
    }

    /// `GET /v3/users/{id}/projects`: the projects a user holds a role on,
    /// for that user or an admin.
    pub async fn user_projects(&self, caller: &AuthContext, user_id: &str) -> Result<Vec<Project>> {
        if caller.user_id != user_id && !caller.is_admin() {
            return Err(policy::forbidden("identity:list_user_projects"));
        }
        Ok(self.store.project_list_for_user(user_id).await?)
    }

    /// The role, user and project an assignment the caller listed names
    /// (`include_names`).
    pub async fn role_assignment_named(&self, a: &RoleAssignment) -> Result<NamedAssignment> {
        Ok(NamedAssignment {
            role: self.store.role_get(&a.role_id).await?,
            user: self.store.user_get(&a.user_id).await?,
            project: self.store.project_get(&a.project_id).await?,
        })
    }

    pub async fn role_assignment_list(
        &self,
        caller: &AuthContext,
        user_id: Option<&str>,
        project_id: Option<&str>,
    ) -> Result<Vec<RoleAssignment>> {
        if !caller.is_admin() && user_id != Some(caller.user_id.as_str()) {
            return Err(policy::forbidden("identity:list_role_assignments"));
        }
        Ok(self.store.role_assignment_list(user_id, project_id).await?)
    }

    /// `PUT /v3/projects/{p}/users/{u}/roles/{r}`.
    pub async fn grant(&self, caller: &AuthContext, a: &RoleAssignment) -> Result<()> {
        policy::require_admin(caller, "identity:create_grant")?;
        self.check_assignment_parts(a).await?;
        Ok(self.store.role_assignment_add(a).await?)
    }

    pub async fn revoke_grant(&self, caller: &AuthContext, a: &RoleAssignment) -> Result<()> {
        policy::require_admin(caller, "identity:revoke_grant")?;
        self.check_assignment_parts(a).await?;
        self.store.role_assignment_remove(a).await.map_err(Error::not_found_or(|| {
            let kind = Kind::RoleAssignment { user_id: a.user_id.clone(), project_id: a.project_id.clone() };
            Error::not_found(kind, a.role_id.as_str())
        }))?;
        // As Keystone: the user's application credentials there go too.
        self.store.application_credential_delete_for(&a.user_id, &a.project_id).await?;
        // Tokens of that user may now carry a role they no longer hold.
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (ctx, _)| ctx.user_id != a.user_id);
        }
        Ok(())
    }

    /// `HEAD/GET /v3/projects/{p}/users/{u}/roles/{r}`.
    pub async fn check_grant(&self, caller: &AuthContext, a: &RoleAssignment) -> Result<()> {
        if !caller.is_admin() && caller.user_id != a.user_id {
            return Err(policy::forbidden("identity:check_grant"));
        }
        let held = self.store.role_assignment_list(Some(&a.user_id), Some(&a.project_id)).await?;
        if held.iter().any(|h| h.role_id == a.role_id) {
            Ok(())
        } else {
            Err(Error::not_found(Kind::HeldRole, a.role_id.as_str()))
        }
    }

    async fn check_assignment_parts(&self, a: &RoleAssignment) -> Result<()> {
        self.store
            .user_get(&a.user_id)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::User, a.user_id.as_str())))?;
        self.store
            .project_get(&a.project_id)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::Project, a.project_id.as_str())))?;
        self.store
            .role_get(&a.role_id)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::Role, a.role_id.as_str())))?;
        Ok(())
    }

    /// Sets a user's password (the binary's `--admin-password`).
    pub async fn set_password(&self, user_id: &str, password: &str) -> Result<()> {
        self.store.user_set_password_hash(user_id, &hash_password(password)?).await?;
        Ok(())
    }

    /// Sets the password of `name` in the default domain (the binary's
    /// `--admin-password`, without a caller).
    pub async fn set_password_by_name(&self, name: &str, password: &str) -> Result<()> {
        let user = self.store.user_get_by_name(DEFAULT_DOMAIN_ID, name).await?;
        self.set_password(&user.id, password).await
    }

    /// Whether `name` in the default domain still has `password`.
    pub async fn password_is(&self, name: &str, password: &str) -> Result<bool> {
        match self.store.user_get_by_name(DEFAULT_DOMAIN_ID, name).await {
            Ok(u) => Ok(verify_password(password, &u.password_hash)),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
