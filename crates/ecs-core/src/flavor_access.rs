//! Flavor access (Nova's os-flavor-access): a private flavor is seen and
//! used only by admins and the projects given access to it.

use ecs_types::{AuthContext, Flavor};

use crate::{Core, Error, Kind, Result, policy};

impl Core {
    /// A flavor by id for the access calls (admin's, any visibility).
    async fn flavor_for_access(&self, id: &str) -> Result<Flavor> {
        self.store.flavor_get(id).await.map_err(Error::not_found_or(|| Error::not_found(Kind::Flavor, id)))
    }

    /// `GET /flavors/{id}/os-flavor-access`: the projects with access.
    pub async fn flavor_access_list(&self, ctx: &AuthContext, id: &str) -> Result<Vec<String>> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-access")?;
        let flavor = self.flavor_for_access(id).await?;
        if flavor.is_public {
            return Err(Error::not_found(Kind::PublicFlavorAccess, id));
        }
        Ok(self.store.flavor_access_list(id).await?)
    }

    /// `addTenantAccess`: returns the access list after.
    pub async fn flavor_access_add(&self, ctx: &AuthContext, id: &str, project: &str) -> Result<Vec<String>> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-access:add_tenant_access")?;
        let flavor = self.flavor_for_access(id).await?;
        if flavor.is_public {
            return Err(Error::conflict("Can not add access to a public flavor."));
        }
        if !self.store.flavor_access_add(id, project).await? {
            return Err(Error::conflict(format!(
                "Flavor access already exists for flavor {id} and project {project} combination."
            )));
        }
        Ok(self.store.flavor_access_list(id).await?)
    }

    /// `removeTenantAccess`: returns the access list after.
    pub async fn flavor_access_remove(&self, ctx: &AuthContext, id: &str, project: &str) -> Result<Vec<String>> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-access:remove_tenant_access")?;
        self.flavor_for_access(id).await?;
        if !self.store.flavor_access_remove(id, project).await? {
            return Err(Error::not_found(Kind::FlavorAccess { flavor_id: id.to_string() }, project));
        }
        Ok(self.store.flavor_access_list(id).await?)
    }

    /// Whether the caller may see and use `flavor`.
    pub(crate) async fn flavor_usable(&self, ctx: &AuthContext, flavor: &Flavor) -> Result<bool> {
        if flavor.is_public || ctx.is_admin() {
            return Ok(true);
        }
        let Some(project) = ctx.project_id() else { return Ok(false) };
        Ok(self.store.flavor_access_list(&flavor.id).await?.iter().any(|p| p == project))
    }
}
