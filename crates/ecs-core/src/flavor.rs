//! Flavors: listing with Nova's filters and paging, admin management and
//! extra specs. Non-admins see public, enabled flavors only.

use std::collections::BTreeMap;

use ecs_store::{FlavorListQuery, FlavorSortKey, SortDir, StoreError};
use ecs_types::{AuthContext, Flavor, FlavorSpec};

use crate::{Core, Error, Kind, Result, policy};

/// Nova's `[api] max_limit`: the largest page, and the default one.
pub const MAX_LIMIT: i64 = 1000;

/// Which flavors by visibility an admin asked for (`is_public` query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicFilter {
    Public,
    Private,
    All,
}

#[derive(Debug, Clone)]
pub struct FlavorListRequest {
    pub is_public: PublicFilter,
    pub min_ram_mb: Option<i64>,
    pub min_disk_gb: Option<i64>,
    pub sort_key: FlavorSortKey,
    pub sort_dir: SortDir,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

impl Default for FlavorListRequest {
    fn default() -> Self {
        FlavorListRequest {
            is_public: PublicFilter::Public,
            min_ram_mb: None,
            min_disk_gb: None,
            sort_key: FlavorSortKey::Id,
            sort_dir: SortDir::Asc,
            limit: None,
            marker: None,
        }
    }
}

/// Maps one of Nova's flavor `sort_key` values onto a column.
pub fn sort_key_from_nova(key: &str) -> Option<FlavorSortKey> {
    Some(match key {
        "flavorid" => FlavorSortKey::Id,
        "name" => FlavorSortKey::Name,
        "memory_mb" => FlavorSortKey::RamMb,
        "vcpus" => FlavorSortKey::Vcpus,
        "root_gb" => FlavorSortKey::DiskGb,
        "ephemeral_gb" => FlavorSortKey::EphemeralGb,
        "swap" => FlavorSortKey::SwapMb,
        "rxtx_factor" => FlavorSortKey::RxtxFactor,
        "is_public" => FlavorSortKey::IsPublic,
        "disabled" => FlavorSortKey::Disabled,
        "description" => FlavorSortKey::Description,
        // Nova's internal row id and timestamps follow creation order.
        "id" | "created_at" | "updated_at" => FlavorSortKey::CreatedAt,
        "vcpu_weight" => FlavorSortKey::Id,
        _ => return None,
    })
}

/// Whether a flavor is on sale in availability zone `az` (§5.4.1): its
/// status there (`cond:operation:az`, entries like `az0(normal)`), else its
/// region-wide `cond:operation:status` (absent: normal), is normal, obt or
/// promotion.
pub fn flavor_on_sale_in(flavor: &Flavor, az: &str) -> bool {
    let specs = &flavor.extra_specs;
    let in_az = specs.get("cond:operation:az").and_then(|list| {
        list.split(',').find_map(|entry| {
            let (name, rest) = entry.trim().split_once('(')?;
            let status = rest.strip_suffix(')')?.trim();
            // "If the parentheses are left blank, the configuration is invalid."
            (name.trim() == az && !status.is_empty()).then_some(status)
        })
    });
    let status = in_az.or(specs.get("cond:operation:status").map(|s| s.trim())).unwrap_or("normal");
    matches!(status, "normal" | "obt" | "promotion")
}

fn flavor_not_found(id: &str) -> Error {
    Error::not_found(Kind::Flavor, id)
}

impl Core {
    pub async fn flavor_list(&self, ctx: &AuthContext, req: FlavorListRequest) -> Result<Vec<Flavor>> {
        let admin = ctx.is_admin();
        let query = FlavorListQuery {
            is_public: match (admin, req.is_public) {
                (false, _) | (true, PublicFilter::Public) => Some(true),
                (true, PublicFilter::Private) => Some(false),
                (true, PublicFilter::All) => None,
            },
            include_disabled: admin,
            min_ram_mb: req.min_ram_mb,
            min_disk_gb: req.min_disk_gb,
            sort_key: req.sort_key,
            sort_dir: req.sort_dir,
            limit: req.limit.map_or(MAX_LIMIT, |l| l.min(MAX_LIMIT)),
            marker: req.marker.clone(),
        };
        // A project given private flavors sees them too (os-flavor-access).
        let granted = match ctx.project_id() {
            Some(p) if !admin => self.store.flavor_access_of_project(p).await?,
            _ => Vec::new(),
        };
        let mut query = query;
        if !granted.is_empty() {
            query.is_public = None;
        }
        match self.store.flavor_list(&query).await {
            Err(StoreError::NotFound) => {
                Err(Error::invalid(format!("marker [{}] not found", req.marker.unwrap_or_default())))
            }
            Ok(list) if !granted.is_empty() => {
                Ok(list.into_iter().filter(|f| f.is_public || granted.contains(&f.id)).collect())
            }
            other => Ok(other?),
        }
    }

    /// A flavor by id; a private flavor is invisible to non-admins.
    pub async fn flavor_get(&self, ctx: &AuthContext, id: &str) -> Result<Flavor> {
        let flavor = self.store.flavor_get(id).await.map_err(Error::not_found_or(|| flavor_not_found(id)))?;
        if !self.flavor_usable(ctx, &flavor).await? {
            return Err(flavor_not_found(id));
        }
        Ok(flavor)
    }

    /// Admin flavor create. `spec.id` empty means "generate a UUID".
    pub async fn flavor_create(&self, ctx: &AuthContext, mut spec: FlavorSpec) -> Result<Flavor> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-manage:create")?;
        spec.name = spec.name.trim().to_string();
        if spec.name.is_empty() {
            return Err(Error::invalid("Flavor name must not be empty."));
        }
        if spec.id.is_empty() {
            spec.id = ecs_types::random::uuid().to_string();
        }
        match self.store.flavor_create(&spec).await {
            Err(StoreError::Conflict(what)) if what == "id" => {
                Err(Error::conflict(format!("Flavor with ID {} already exists.", spec.id)))
            }
            Err(StoreError::Conflict(_)) => {
                Err(Error::conflict(format!("Flavor with name {} already exists.", spec.name)))
            }
            other => Ok(other?),
        }
    }

    pub async fn flavor_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-manage:delete")?;
        self.store.flavor_delete(id).await.map_err(Error::not_found_or(|| flavor_not_found(id)))
    }

    /// Nova 2.55 `PUT /flavors/{id}`: only the description changes.
    pub async fn flavor_set_description(
        &self,
        ctx: &AuthContext,
        id: &str,
        description: Option<&str>,
    ) -> Result<Flavor> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-manage:update")?;
        self.store.flavor_set_description(id, description).await.map_err(Error::not_found_or(|| flavor_not_found(id)))
    }

    pub async fn flavor_extra_specs(&self, ctx: &AuthContext, id: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.flavor_get(ctx, id).await?.extra_specs)
    }

    pub async fn flavor_extra_spec(&self, ctx: &AuthContext, id: &str, key: &str) -> Result<String> {
        let mut specs = self.flavor_extra_specs(ctx, id).await?;
        specs.remove(key).ok_or_else(|| extra_spec_not_found(id, key))
    }

    /// Adds or overwrites extra specs (admin); returns the full set.
    pub async fn flavor_extra_specs_set(
        &self,
        ctx: &AuthContext,
        id: &str,
        specs: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-extra-specs:create")?;
        self.store.flavor_extra_specs_set(id, specs).await.map_err(Error::not_found_or(|| flavor_not_found(id)))
    }

    pub async fn flavor_extra_spec_delete(&self, ctx: &AuthContext, id: &str, key: &str) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:os-flavor-extra-specs:delete")?;
        self.flavor_get(ctx, id).await?;
        self.store
            .flavor_extra_spec_delete(id, key)
            .await
            .map_err(Error::not_found_or(|| extra_spec_not_found(id, key)))
    }
}

fn extra_spec_not_found(id: &str, key: &str) -> Error {
    Error::not_found(Kind::ExtraSpec { flavor_id: id.to_string() }, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flavor(specs: &[(&str, &str)]) -> Flavor {
        Flavor {
            id: "f".into(),
            name: "f".into(),
            vcpus: 1,
            ram_mb: 1024,
            disk_gb: 0,
            ephemeral_gb: 0,
            swap_mb: 0,
            rxtx_factor: 1.0,
            is_public: true,
            disabled: false,
            description: None,
            extra_specs: specs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            created_at: ecs_types::clock::now(),
        }
    }

    #[test]
    fn sale_status_per_az() {
        assert!(flavor_on_sale_in(&flavor(&[]), "az1"));
        assert!(flavor_on_sale_in(&flavor(&[("cond:operation:status", "obt")]), "az1"));
        assert!(!flavor_on_sale_in(&flavor(&[("cond:operation:status", "sellout")]), "az1"));
        let f = flavor(&[
            ("cond:operation:status", "abandon"),
            ("cond:operation:az", "az0(normal), az1(sellout), az2(obt), az3()"),
        ]);
        assert!(flavor_on_sale_in(&f, "az0"));
        assert!(!flavor_on_sale_in(&f, "az1"));
        assert!(flavor_on_sale_in(&f, "az2"));
        assert!(!flavor_on_sale_in(&f, "az3"), "blank is no setting: the region's abandon");
        assert!(!flavor_on_sale_in(&f, "az9"));
    }
}
