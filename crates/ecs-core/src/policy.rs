//! Who may do what. Defaults follow Nova's and Keystone's default policies:
//! the `admin` role may do everything; members act on their own project's
//! and their own user's resources.

use ecs_types::AuthContext;

use crate::{Error, Forbidden, Result};

/// Fails unless the caller holds the admin role.
pub fn require_admin(ctx: &AuthContext, rule: &str) -> Result<()> {
    if ctx.is_admin() { Ok(()) } else { Err(forbidden(rule)) }
}

/// Keystone's default roles: `admin` and `member` may change things,
/// `reader` may only look (Nova's `project_reader` rules, the seed's §9
/// read-only policies).
pub fn may_write(ctx: &AuthContext) -> bool {
    ctx.is_admin() || ctx.has_role("member")
}

/// Nova's wording for a policy refusal.
pub fn forbidden(rule: &str) -> Error {
    Error::Forbidden(Forbidden::Policy { rule: rule.to_string() })
}

/// The project a project-scoped operation acts in.
pub fn project_of(ctx: &AuthContext) -> Result<&str> {
    ctx.project_id().ok_or(Error::Forbidden(Forbidden::ProjectScope))
}
