//! Identity records: domains, projects, users, roles and tokens (a subset
//! of Keystone v3).

use crate::Timestamp;

/// The only domain ecsd has; Keystone's default domain.
pub const DEFAULT_DOMAIN_ID: &str = "default";
pub const DEFAULT_DOMAIN_NAME: &str = "Default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
}

impl Domain {
    pub fn default_domain() -> Self {
        Domain { id: DEFAULT_DOMAIN_ID.into(), name: DEFAULT_DOMAIN_NAME.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    /// PHC string (argon2id); never leaves the core.
    pub password_hash: String,
    pub default_project_id: Option<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

impl Role {
    /// A role as the seed and Keystone's bootstrap make it: no description.
    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Role {
        Role { id: id.into(), name: name.into(), description: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub user_id: String,
    pub project_id: String,
    pub role_id: String,
}

/// A token as stored: the secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id_hash: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub methods: Vec<String>,
    pub audit_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
    /// The application credential the token was issued for, if any.
    pub application_credential_id: Option<String>,
}

/// Who is calling: the result of validating a token. Every core operation
/// takes one; every query is scoped by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: String,
    pub user_name: String,
    pub user_domain: Domain,
    /// `None` for an unscoped token.
    pub project: Option<Project>,
    pub roles: Vec<Role>,
    pub methods: Vec<String>,
    pub audit_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when the caller authenticated with an application credential.
    pub application_credential: Option<AppCredentialRef>,
}

/// What a token issued for an application credential carries of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentialRef {
    pub id: String,
    pub name: String,
    /// A restricted credential (the default) may not make application
    /// credentials or trusts.
    pub unrestricted: bool,
    pub access_rules: Vec<AccessRule>,
}

/// One rule of an application credential's `access_rules`: the calls it
/// may make (Keystone's `service`, `method`, `path`, the path a glob where
/// `*` is one segment and `**` any number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub id: String,
    pub service: String,
    pub method: String,
    pub path: String,
}

/// A Keystone application credential: a secret (stored as an argon2 hash)
/// standing for its user, in one project, with some of their roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationCredential {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: String,
    /// PHC string; never leaves the core.
    pub secret_hash: String,
    pub expires_at: Option<Timestamp>,
    pub unrestricted: bool,
    /// Ids of the roles delegated.
    pub role_ids: Vec<String>,
    pub access_rules: Vec<AccessRule>,
    pub created_at: Timestamp,
}

impl AuthContext {
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }

    /// Nova's and Keystone's default policy: the `admin` role is admin.
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn project_id(&self) -> Option<&str> {
        self.project.as_ref().map(|p| p.id.as_str())
    }
}
