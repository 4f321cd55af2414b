//! Keystone application credentials: a user delegates some of their roles
//! on one project to a secret that a program authenticates with instead of
//! the user's password (`POST /v3/users/{id}/application_credentials`,
//! `{"methods": ["application_credential"]}`).
//!
//! As Keystone: the secret is shown once and stored hashed; the roles are
//! a subset of those the creating token carries; a restricted credential
//! (the default) may not manage application credentials; a token issued
//! for one lasts no longer than it, carries only its roles the user still
//! holds, and dies with it (deleting the user or the project deletes it).

use base64::Engine;
use ecs_store::StoreError;
use ecs_types::{AccessRule, AppCredentialRef, ApplicationCredential, AuthContext, Role, User, new_hex_id};

use super::{Identity, UserRef, hash_password, unauthorized, verify_password};
use ecs_types::Timestamp;

use crate::{Error, Forbidden, Kind, Result, policy};

/// How an authentication request names its application credential.
#[derive(Debug, Clone)]
pub enum AppCredentialLookup {
    Id(String),
    Name { name: String, user: UserRef },
}

/// A role named in a create request.
#[derive(Debug, Clone)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

/// An access rule as a create request gives it.
#[derive(Debug, Clone)]
pub struct NewAccessRule {
    /// Reuse a rule of the user's by id.
    pub id: Option<String>,
    pub service: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
}

/// An application credential to create, as the body gives it.
#[derive(Debug, Clone, Default)]
pub struct NewAppCredential {
    pub name: String,
    pub description: Option<String>,
    /// None: one is generated.
    pub secret: Option<String>,
    pub expires_at: Option<Timestamp>,
    /// None: every role the creating token carries.
    pub roles: Option<Vec<RoleRef>>,
    pub unrestricted: bool,
    pub access_rules: Vec<NewAccessRule>,
}

/// A credential just made, with its secret (shown this once) and roles.
#[derive(Debug, Clone)]
pub struct CreatedAppCredential {
    pub credential: ApplicationCredential,
    pub roles: Vec<Role>,
    pub secret: String,
}

/// The action a restricted credential may not do (Keystone's words).
const RESTRICTED: &str =
    "Using method 'application_credential' is not allowed for managing additional application credentials";

fn new_secret() -> String {
    let mut raw = [0u8; 64];
    ecs_types::random::fill(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::ApplicationCredential, id)
}

/// Keystone's rule for who may see or change a user's application
/// credentials: the user themselves, or an admin for reads.
fn owner(caller: &AuthContext, user_id: &str, rule: &str, admin_may: bool) -> Result<()> {
    if caller.user_id == user_id || (admin_may && caller.is_admin()) { Ok(()) } else { Err(policy::forbidden(rule)) }
}

/// A restricted application credential may not make or remove others.
fn not_restricted(caller: &AuthContext) -> Result<()> {
    match &caller.application_credential {
        Some(c) if !c.unrestricted => Err(policy::forbidden(RESTRICTED)),
        _ => Ok(()),
    }
}

/// Does `path` match `pattern`, where `*` stands for one path segment and
/// `**` for any number of them (keystonemiddleware's access-rule glob)?
pub fn access_rule_path_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((seg, rest)) => {
                s.first().is_some_and(|first| (*seg == "*" && !first.is_empty()) || seg == first) && go(rest, &s[1..])
            }
        }
    }
    let split = |x: &str| -> Vec<String> { x.trim_end_matches('/').split('/').map(String::from).collect() };
    let (p, s) = (split(pattern), split(path));
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let s: Vec<&str> = s.iter().map(String::as_str).collect();
    go(&p, &s)
}

/// May a caller whose token carries `rules` call `method path` on
/// `service`? No rules: anything.
pub fn access_rules_allow(rules: &[AccessRule], service: &str, method: &str, path: &str) -> bool {
    rules.is_empty()
        || rules.iter().any(|r| {
            r.service == service && r.method.eq_ignore_ascii_case(method) && access_rule_path_matches(&r.path, path)
        })
}

impl Identity {
    async fn app_credential_user(&self, user_id: &str) -> Result<User> {
        self.store.user_get(user_id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::User, user_id)))
    }

    /// The roles of `credential`, by id (a role deleted since is left out).
    pub async fn application_credential_roles(&self, credential: &ApplicationCredential) -> Result<Vec<Role>> {
        let mut roles = Vec::new();
        for id in &credential.role_ids {
            match self.store.role_get(id).await {
                Ok(r) => roles.push(r),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(roles)
    }

    /// `POST /v3/users/{user_id}/application_credentials`.
    pub async fn application_credential_create(
        &self,
        caller: &AuthContext,
        user_id: &str,
        new: NewAppCredential,
    ) -> Result<CreatedAppCredential> {
        const RULE: &str = "identity:create_application_credential";
        policy::authorize_write(caller, RULE)?;
        owner(caller, user_id, RULE, false)?;
        not_restricted(caller)?;
        self.app_credential_user(user_id).await?;
        let project_id = caller.project_id().ok_or(Error::Forbidden(Forbidden::ProjectScope))?.to_string();
        let now = ecs_types::clock::now();
        if new.expires_at.is_some_and(|t| t <= now) {
            return Err(Error::invalid(
                "The 'expires_at' must not be before now. The server could not comply with the request since it is \
                 either malformed or otherwise incorrect. The client is assumed to be in error.",
            ));
        }
        // The roles: those asked and the roles they imply (Keystone adds
        // them), each one the creating token carries; by default the token's.
        let roles = match new.roles.as_deref() {
            // As Keystone, an empty list asks for the token's roles too.
            None | Some([]) => caller.roles.clone(),
            Some(asked) => {
                let mut roles: Vec<Role> = Vec::new();
                for r in asked {
                    let found = match r {
                        RoleRef::Id(id) => self.store.role_get(id).await,
                        RoleRef::Name(name) => self.store.role_get_by_name(name).await,
                    };
                    let role = match found {
                        Ok(role) => role,
                        Err(StoreError::NotFound) => {
                            let (RoleRef::Id(shown) | RoleRef::Name(shown)) = r;
                            return Err(Error::not_found(Kind::Role, shown.as_str()));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    if !roles.iter().any(|h| h.id == role.id) {
                        roles.push(role);
                    }
                }
                let roles = self.with_implied_roles(roles).await?;
                if roles.iter().any(|r| !caller.roles.iter().any(|held| held.id == r.id)) {
                    return Err(Error::invalid(
                        "Invalid application credential: Cannot create an application credential with unassigned role",
                    ));
                }
                roles
            }
        };
        if roles.is_empty() {
            return Err(Error::invalid("An application credential needs at least one role."));
        }
        // Access rules: new ones get ids; one named by id must be one of the user's.
        let mut access_rules = Vec::new();
        for rule in &new.access_rules {
            let made = match (&rule.id, &rule.service, &rule.method, &rule.path) {
                (_, Some(service), Some(method), Some(path)) => AccessRule {
                    id: rule.id.clone().unwrap_or_else(new_hex_id),
                    service: service.clone(),
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                },
                (Some(id), None, None, None) => {
                    let known = self.store.application_credential_list(user_id).await?;
                    known
                        .iter()
                        .flat_map(|c| c.access_rules.iter())
                        .find(|r| &r.id == id)
                        .cloned()
                        .ok_or_else(|| Error::not_found(Kind::AccessRule, id.as_str()))?
                }
                _ => return Err(Error::invalid("An access rule needs a service, a method and a path, or an id.")),
            };
            access_rules.push(made);
        }
        let secret = new.secret.clone().unwrap_or_else(new_secret);
        let hashed = secret.clone();
        let secret_hash = tokio::task::spawn_blocking(move || hash_password(&hashed))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let credential = ApplicationCredential {
            id: new_hex_id(),
            name: new.name.clone(),
            description: new.description.clone(),
            user_id: user_id.to_string(),
            project_id,
            secret_hash,
            expires_at: new.expires_at,
            unrestricted: new.unrestricted,
            role_ids: roles.iter().map(|r| r.id.clone()).collect(),
            access_rules,
            created_at: now,
        };
        match self.store.application_credential_insert(&credential).await {
            Ok(()) => Ok(CreatedAppCredential { credential, roles, secret }),
            Err(StoreError::Conflict(_)) => {
                Err(Error::conflict("Conflict occurred attempting to store application_credential - Duplicate entry."))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /v3/users/{user_id}/application_credentials[?name=]`.
    pub async fn application_credential_list(
        &self,
        caller: &AuthContext,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<Vec<ApplicationCredential>> {
        owner(caller, user_id, "identity:list_application_credentials", true)?;
        self.app_credential_user(user_id).await?;
        let mut all = self.store.application_credential_list(user_id).await?;
        if let Some(name) = name {
            all.retain(|c| c.name == name);
        }
        Ok(all)
    }

    /// `GET /v3/users/{user_id}/application_credentials/{id}`.
    pub async fn application_credential_get(
        &self,
        caller: &AuthContext,
        user_id: &str,
        id: &str,
    ) -> Result<ApplicationCredential> {
        owner(caller, user_id, "identity:get_application_credential", true)?;
        match self.store.application_credential_get(id).await {
            Ok(c) if c.user_id == user_id => Ok(c),
            Ok(_) | Err(StoreError::NotFound) => Err(not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /v3/users/{user_id}/application_credentials/{id}`: the
    /// credential and every token issued for it.
    pub async fn application_credential_delete(&self, caller: &AuthContext, user_id: &str, id: &str) -> Result<()> {
        const RULE: &str = "identity:delete_application_credential";
        policy::authorize_write(caller, RULE)?;
        owner(caller, user_id, RULE, true)?;
        not_restricted(caller)?;
        self.application_credential_get(caller, user_id, id).await?;
        self.store.application_credential_delete(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (ctx, _)| ctx.application_credential.as_ref().is_none_or(|c| c.id != id));
        }
        Ok(())
    }

    /// The credential an authentication request names, if its secret is
    /// right and it has not expired; else 401.
    pub(super) async fn application_credential_check(
        &self,
        lookup: &AppCredentialLookup,
        secret: String,
    ) -> Result<(ApplicationCredential, User)> {
        let found = match lookup {
            AppCredentialLookup::Id(id) => self.store.application_credential_get(id).await,
            AppCredentialLookup::Name { name, user } => {
                let user = self.find_user(user).await?;
                self.store.application_credential_get_by_name(&user.id, name).await
            }
        };
        let credential = match found {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Err(unauthorized()),
            Err(e) => return Err(e.into()),
        };
        if credential.expires_at.is_some_and(|t| t <= ecs_types::clock::now()) {
            return Err(unauthorized());
        }
        let hash = credential.secret_hash.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&secret, &hash))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        if !ok {
            return Err(unauthorized());
        }
        let user = self.find_user(&UserRef::Id(credential.user_id.clone())).await?;
        Ok((credential, user))
    }

    /// What a token issued for application credential `id` stands for
    /// now: the credential's roles that its user still holds (with those
    /// they imply) on its project, or 401 if it is gone, expired or left
    /// with no role.
    pub(super) async fn application_credential_scope(
        &self,
        id: &str,
        held: Vec<Role>,
    ) -> Result<(AppCredentialRef, Vec<Role>)> {
        let credential = match self.store.application_credential_get(id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Err(unauthorized()),
            Err(e) => return Err(e.into()),
        };
        if credential.expires_at.is_some_and(|t| t <= ecs_types::clock::now()) {
            return Err(unauthorized());
        }
        let roles: Vec<Role> = held.into_iter().filter(|r| credential.role_ids.contains(&r.id)).collect();
        if roles.is_empty() {
            return Err(unauthorized());
        }
        let reference = AppCredentialRef {
            id: credential.id,
            name: credential.name,
            unrestricted: credential.unrestricted,
            access_rules: credential.access_rules,
        };
        Ok((reference, roles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rule_globs() {
        assert!(access_rule_path_matches("/v2.1/servers", "/v2.1/servers"));
        assert!(access_rule_path_matches("/v2.1/servers/*", "/v2.1/servers/abc"));
        assert!(!access_rule_path_matches("/v2.1/servers/*", "/v2.1/servers/abc/ips"));
        assert!(access_rule_path_matches("/v2.1/servers/**", "/v2.1/servers/abc/ips"));
        assert!(access_rule_path_matches("/v2.1/servers/*/ips", "/v2.1/servers/abc/ips"));
        assert!(!access_rule_path_matches("/v2.1/flavors", "/v2.1/servers"));
    }
}
