//! Who may do what. Defaults follow Nova's and Keystone's default policies:
//! the `admin` role may do everything; members act on their own project's
//! and their own user's resources; a `reader` may look but change nothing.
//!
//! Every core operation that changes something starts with
//! [`authorize_write`] naming its rule, so the write policy holds on every
//! dialect (Nova, ECS, Neutron, Glance, Keystone) whatever its handlers do.
//! Rules are named as the service that owns the operation names them:
//! Nova's `os_compute_api:servers:create`, Neutron's `create_network`,
//! Glance's `delete_image`, Keystone's `identity:create_user`.

use ecs_types::AuthContext;

use crate::{Error, Forbidden, Result};

/// Fails unless the caller holds the admin role.
pub fn require_admin(ctx: &AuthContext, rule: &str) -> Result<()> {
    if ctx.is_admin() { Ok(()) } else { Err(forbidden(rule)) }
}

/// Fails unless the caller holds the `service` role (service-to-service
/// calls, Nova's `service_or_admin`) or the admin role.
pub fn require_service_or_admin(ctx: &AuthContext, rule: &str) -> Result<()> {
    if ctx.is_admin() || ctx.has_role("service") { Ok(()) } else { Err(forbidden(rule)) }
}

/// Keystone's default roles: `admin` and `member` may change things,
/// `reader` may only look (Nova's `project_reader` rules, the seed's §9
/// read-only policies). `manager` implies `member` (the token carries the
/// roles its holder's roles imply, see `identity::IMPLIED_ROLES`).
pub fn may_write(ctx: &AuthContext) -> bool {
    ctx.is_admin() || ctx.has_role("member")
}

/// Fails, refused under `rule`, unless the caller may change things.
pub fn authorize_write(ctx: &AuthContext, rule: &str) -> Result<()> {
    if may_write(ctx) { Ok(()) } else { Err(forbidden(rule)) }
}

/// A refusal under a policy rule.
pub fn forbidden(rule: &str) -> Error {
    Error::Forbidden(Forbidden::Policy { rule: rule.to_string() })
}

/// The project a project-scoped operation acts in.
pub fn project_of(ctx: &AuthContext) -> Result<&str> {
    ctx.project_id().ok_or(Error::Forbidden(Forbidden::ProjectScope))
}

#[cfg(test)]
mod tests {
    use ecs_types::{Domain, Role};

    use super::*;

    fn holding(roles: &[&str]) -> AuthContext {
        AuthContext {
            user_id: "u".into(),
            user_name: "u".into(),
            user_domain: Domain::default_domain(),
            project: None,
            roles: roles.iter().map(|r| Role::named(*r, *r)).collect(),
            methods: vec!["password".into()],
            audit_id: "a".into(),
            issued_at: ecs_types::clock::now(),
            expires_at: ecs_types::clock::now(),
            application_credential: None,
        }
    }

    #[test]
    fn readers_may_not_write_members_and_admins_may() {
        let refused = authorize_write(&holding(&["reader"]), "create_network").unwrap_err();
        assert!(matches!(&refused, Error::Forbidden(Forbidden::Policy { rule }) if rule == "create_network"));
        assert_eq!(refused.to_string(), "Policy doesn't allow create_network to be performed.");
        assert!(authorize_write(&holding(&[]), "x").is_err());
        assert!(authorize_write(&holding(&["member", "reader"]), "x").is_ok());
        assert!(authorize_write(&holding(&["admin"]), "x").is_ok());
    }
}
