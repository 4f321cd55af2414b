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
