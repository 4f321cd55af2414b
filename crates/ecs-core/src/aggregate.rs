//! Host aggregates (Nova's os-aggregates) and what hangs off them: a
//! host's availability zone, tenant isolation and dedicated hosts.

use ecs_store::{ServerListQuery, StoreError};
use ecs_types::aggregate::AZ_KEY;
use ecs_types::server::ComputeHost;
use ecs_types::{Aggregate, AuthContext};
use serde_json::Value;

use crate::{Core, Error, Kind, Result, policy};

fn not_found(id: i64) -> Error {
    Error::not_found(Kind::Aggregate, id.to_string())
}

fn name_exists(name: &str) -> Error {
    Error::conflict(format!("Aggregate {name} already exists."))
}

/// Python's repr of a list of strings, as Nova's messages print them.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Which call a refused zone change came from: Nova words each its way
/// (and add_host answers 409, the others 400).
#[derive(Clone, Copy)]
enum ZoneChange {
    Update,
    Metadata,
    AddHost,
}

impl ZoneChange {
    fn refuse(self, id: i64, reason: &str) -> Error {
        match self {
            ZoneChange::Update => Error::invalid(format!("Cannot update aggregate {id}. Reason: {reason}.")),
            ZoneChange::Metadata => {
                Error::invalid(format!("Cannot update metadata of aggregate {id}. Reason: {reason}."))
            }
            ZoneChange::AddHost => Error::conflict(format!("Cannot add host to aggregate {id}. Reason: {reason}.")),
        }
    }
}

impl Core {
    pub async fn aggregates(&self, ctx: &AuthContext) -> Result<Vec<Aggregate>> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:index")?;
        Ok(self.store.aggregate_list().await?)
    }

    async fn aggregate_by_id(&self, id: i64) -> Result<Aggregate> {
        self.store.aggregate_get(id).await.map_err(Error::not_found_or(|| not_found(id)))
    }

    pub async fn aggregate(&self, ctx: &AuthContext, id: i64) -> Result<Aggregate> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:show")?;
        self.aggregate_by_id(id).await
    }

    pub async fn aggregate_create(&self, ctx: &AuthContext, name: &str, zone: Option<&str>) -> Result<Aggregate> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:create")?;
        let created = self.store.aggregate_create(name, zone.filter(|z| !z.is_empty())).await;
        created.map_err(|e| match e {
            StoreError::Conflict(_) => name_exists(name),
            e => e.into(),
        })
    }

    /// Renames the aggregate and/or moves it to another zone (`zone`
    /// Some: the zone asked for, None inside when sent as null).
    pub async fn aggregate_update(
        &self,
        ctx: &AuthContext,
        id: i64,
        name: Option<&str>,
        zone: Option<Option<&str>>,
    ) -> Result<Aggregate> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:update")?;
        let agg = self.aggregate_by_id(id).await?;
        if let Some(zone) = zone {
            self.check_zone(&agg, zone, &agg.hosts, ZoneChange::Update).await?;
        }
        if let Some(name) = name {
            self.store.aggregate_rename(id, name).await.map_err(|e| match e {
                StoreError::Conflict(_) => name_exists(name),
                StoreError::NotFound => not_found(id),
                e => e.into(),
            })?;
        }
        if let Some(Some(zone)) = zone {
            let set = [(AZ_KEY.to_string(), Some(zone.to_string()))];
            self.store.aggregate_set_metadata(id, &set).await.map_err(Error::not_found_or(|| not_found(id)))?;
        }
        self.aggregates_changed();
        self.aggregate_by_id(id).await
    }

    pub async fn aggregate_delete(&self, ctx: &AuthContext, id: i64) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:delete")?;
        let deleted = self.store.aggregate_delete(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        if !deleted {
            return Err(Error::invalid(format!("Cannot remove aggregate {id}. Reason: Host aggregate is not empty.")));
        }
        self.aggregates_changed();
        Ok(())
    }

    pub async fn aggregate_add_host(&self, ctx: &AuthContext, id: i64, host: &str) -> Result<Aggregate> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:add_host")?;
        let agg = self.aggregate_by_id(id).await?;
        // TODO(services): a host is known by its compute service record once services land.
        self.store
            .host_get_by_name(host)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::ComputeHost, host)))?;
        if agg.hosts.iter().any(|h| h == host) {
            return Err(Error::conflict(format!("Aggregate {id} already has host {host}.")));
        }
        if let Some(zone) = agg.availability_zone() {
            self.check_zone(&agg, Some(zone), &[host.to_string()], ZoneChange::AddHost).await?;
        }
        self.store.aggregate_add_host(id, host).await.map_err(|e| match e {
            StoreError::Conflict(_) => Error::conflict(format!("Aggregate {id} already has host {host}.")),
            e => e.into(),
        })?;
        self.aggregates_changed();
        self.aggregate_by_id(id).await
    }

    pub async fn aggregate_remove_host(&self, ctx: &AuthContext, id: i64, host: &str) -> Result<Aggregate> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:remove_host")?;
        // Nova answers every miss here (aggregate, host, membership) alike.
        let miss = || Error::not_found(Kind::AggregateHost { aggregate_id: id.to_string() }, host);
        self.aggregate_by_id(id).await.map_err(|_| miss())?;
        if !self.store.aggregate_remove_host(id, host).await? {
            return Err(miss());
        }
        self.aggregates_changed();
        self.aggregate_by_id(id).await
    }

    /// Sets metadata keys (`None` removes one). An `availability_zone` key
    /// moves the aggregate's hosts to that zone, under Nova's rules.
    pub async fn aggregate_set_metadata(
        &self,
        ctx: &AuthContext,
        id: i64,
        changes: Vec<(String, Option<String>)>,
    ) -> Result<Aggregate> {
        policy::require_admin(ctx, "os_compute_api:os-aggregates:set_metadata")?;
        let agg = self.aggregate_by_id(id).await?;
        if let Some((_, zone)) = changes.iter().find(|(k, _)| k == AZ_KEY) {
            self.check_zone(&agg, zone.as_deref(), &agg.hosts, ZoneChange::Metadata).await?;
        }
        self.store.aggregate_set_metadata(id, &changes).await.map_err(Error::not_found_or(|| not_found(id)))?;
        self.aggregates_changed();
        self.aggregate_by_id(id).await
    }

    /// Takes a host out of every aggregate (its compute service was
    /// deleted). Returns how many memberships it had.
    pub async fn aggregate_remove_host_everywhere(&self, host: &str) -> Result<u64> {
        let n = self.store.aggregate_remove_host_everywhere(host).await?;
        self.aggregates_changed();
        Ok(n)
    }

    /// Nova's `is_safe_to_update_az`: a zone has a name, a host is in one
    /// zone only, and the zone of hosts with servers does not change
    /// under them.
    async fn check_zone(&self, agg: &Aggregate, zone: Option<&str>, hosts: &[String], how: ZoneChange) -> Result<()> {
        let Some(zone) = zone.filter(|z| !z.is_empty()) else {
            let reason = format!("Aggregate {} does not support empty named availability zone", agg.name);
            return Err(how.refuse(agg.id, &reason));
        };
        let mut conflicting: Vec<String> = self
            .store
            .aggregate_list()
            .await?
            .into_iter()
            .filter(|a| a.id != agg.id && a.hosts.iter().any(|h| hosts.contains(h)))
            .filter_map(|a| a.availability_zone().filter(|z| *z != zone).map(str::to_string))
            .collect();
        conflicting.sort();
        conflicting.dedup();
        if !conflicting.is_empty() {
            let reason = format!("One or more hosts already in availability zone(s) {}", py_list(&conflicting));
            return Err(how.refuse(agg.id, &reason));
        }
        if !matches!(how, ZoneChange::AddHost) && agg.availability_zone() != Some(zone) {
            for host in hosts {
                let q = ServerListQuery { host: Some(host.clone()), ..Default::default() };
                if !self.store.server_list(&q).await?.is_empty() {
                    return Err(how.refuse(agg.id, "One or more hosts contain instances in this zone"));
                }
            }
        }
        Ok(())
    }

    /// Aggregates decide zones, isolation and dedication: the scheduler's
    /// view must not outlive a change.
    fn aggregates_changed(&self) {
        self.drivers.invalidate_view();
    }

    /// The dedicated host `host_id` (a compute host's UUID, the ECS DeH
    /// id) if it is dedicated to `project_id`. Unknown and other
    /// projects' hosts are alike unknown (400). For creates and
    /// migrations.
    pub async fn dedicated_host_for(&self, project_id: &str, host_id: &str) -> Result<ComputeHost> {
        let unknown = || Error::unknown(Kind::DedicatedHost, host_id);
        let hosts = self.store.host_list().await?;
        let host = hosts.into_iter().find(|h| h.id == host_id).ok_or_else(unknown)?;
        let aggs = self.store.aggregate_list().await?;
        let owner = aggs.iter().filter(|a| a.hosts.contains(&host.name)).find_map(|a| a.dedicated_project());
        if owner != Some(project_id) {
            return Err(unknown());
        }
        Ok(host)
    }

    /// A create's `tenancy` and `dedicated_host_id` scheduler hints (seed
    /// 002 §5.1.1, §8.1): `shared` or `dedicated`; a named dedicated host
    /// must be the project's and in the zone asked for. A host id without
    /// `dedicated` tenancy has no effect, as the seed says.
    pub(crate) async fn check_tenancy_hints(&self, project_id: &str, hints: &Value, zone: Option<&str>) -> Result<()> {
        let hint = |key: &str| -> Result<Option<String>> {
            match &hints[key] {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                Value::Array(a) if a.len() == 1 && a[0].is_string() => Ok(a[0].as_str().map(str::to_string)),
                _ => Err(Error::invalid(format!("Invalid {key} scheduler hint."))),
            }
        };
        let dedicated = match hint("tenancy")?.as_deref() {
            None | Some("shared") => false,
            Some("dedicated") => true,
            Some(other) => {
                return Err(Error::invalid(format!("Invalid tenancy {other}: it is shared or dedicated.")));
            }
        };
        let host_id = hint("dedicated_host_id")?;
        if let (true, Some(id)) = (dedicated, host_id) {
            let host = self.dedicated_host_for(project_id, &id).await?;
            if zone.is_some_and(|z| z != host.availability_zone) {
                return Err(Error::invalid(format!(
                    "The dedicated host {id} is not in availability zone {}.",
                    zone.unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_lists_print_as_python_does() {
        assert_eq!(py_list(&["az1".into(), "az2".into()]), "['az1', 'az2']");
    }
}
