//! Compute services (Nova's os-services) and host liveness: a host is up
//! while the process driving it beats within `service_down_time` and no
//! operator forced it down. Everything that asks "is this host up" — the
//! service and hypervisor views, `host_status`, the scheduler, actions
//! that need a server's host, evacuation — asks here.

use ecs_store::StoreError;
use ecs_types::server::{ComputeHost, Server};
use ecs_types::{AuthContext, Timestamp};
use std::collections::HashMap;

use crate::{Conflict, Core, Error, Kind, Result, policy};

/// The one binary ecsd runs per compute host.
pub const COMPUTE_BINARY: &str = "nova-compute";

/// A compute service as os-services shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub host: ComputeHost,
    pub binary: &'static str,
    /// Whether it beats and is not forced down.
    pub up: bool,
}

/// What an operator changes on a service (os-services PUT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceChange {
    /// Enabled (true) or disabled.
    pub enabled: Option<bool>,
    pub disabled_reason: Option<String>,
    pub forced_down: Option<bool>,
}

/// The state of a server's host as `host_status` (2.16) shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Up,
    /// Forced down by an operator.
    Down,
    /// Disabled by an operator.
    Maintenance,
    /// Not heard from within `service_down_time`.
    Unknown,
    /// No host (never scheduled, or its service was deleted).
    None,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Up => "UP",
            HostStatus::Down => "DOWN",
            HostStatus::Maintenance => "MAINTENANCE",
            HostStatus::Unknown => "UNKNOWN",
            HostStatus::None => "",
        }
    }

    /// Nova's order: forced down, then disabled, then the heartbeat.
    pub fn of(host: &ComputeHost, now: Timestamp, down_time: std::time::Duration) -> HostStatus {
        if host.forced_down {
            HostStatus::Down
        } else if !host.enabled {
            HostStatus::Maintenance
        } else if host.is_up(now, down_time) {
            HostStatus::Up
        } else {
            HostStatus::Unknown
        }
    }
}

/// Every host's status by name, read once for a list of servers.
#[derive(Debug, Clone, Default)]
pub struct HostStatuses(HashMap<String, HostStatus>);

impl HostStatuses {
    pub fn of(&self, server: &Server) -> HostStatus {
        match server.host.as_deref() {
            Some(h) => self.0.get(h).copied().unwrap_or(HostStatus::None),
            None => HostStatus::None,
        }
    }
}

impl Core {
    /// Whether `host`'s service is up now.
    pub fn host_is_up(&self, host: &ComputeHost) -> bool {
        host.is_up(ecs_types::clock::real_now(), self.config.service_down_time)
    }

    /// Whether the server's host is up; a server without a host has none
    /// to be down, a host whose record is gone is down.
    pub async fn server_host_up(&self, server: &Server) -> Result<bool> {
        let Some(name) = server.host.as_deref() else { return Ok(true) };
        match self.store.host_get_by_name(name).await {
            Ok(h) => Ok(self.host_is_up(&h)),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the host `name` is up; a host without a record is not.
    pub async fn host_named_up(&self, name: &str) -> bool {
        match self.store.host_get_by_name(name).await {
            Ok(h) => self.host_is_up(&h),
            Err(_) => false,
        }
    }

    /// Refuses an action that needs the server's host when the host is
    /// down (Nova's `check_instance_host(check_is_up=True)`, a 409).
    pub async fn require_server_host_up(&self, server: &Server) -> Result<()> {
        if self.server_host_up(server).await? { Ok(()) } else { Err(Conflict::HostUnavailable.into()) }
    }

    /// [`Core::require_server_host_up`] for the actions that need the host.
    pub(crate) async fn require_host_for(&self, action: crate::compute::state::Action, server: &Server) -> Result<()> {
        if action.needs_host() { self.require_server_host_up(server).await } else { Ok(()) }
    }

    /// Every host's `host_status`, by name.
    pub async fn host_statuses(&self) -> Result<HostStatuses> {
        let now = ecs_types::clock::real_now();
        let down_time = self.config.service_down_time;
        let hosts = self.store.host_list().await?;
        Ok(HostStatuses(hosts.into_iter().map(|h| (h.name.clone(), HostStatus::of(&h, now, down_time))).collect()))
    }

    fn service_of(&self, host: ComputeHost) -> Service {
        let up = self.host_is_up(&host);
        Service { host, binary: COMPUTE_BINARY, up }
    }

    /// The compute services, filtered by exact host and binary (an empty
    /// filter filters nothing, as Nova's).
    pub async fn service_list(
        &self,
        ctx: &AuthContext,
        host: Option<&str>,
        binary: Option<&str>,
    ) -> Result<Vec<Service>> {
        policy::require_admin(ctx, "os_compute_api:os-services:list")?;
        let wanted = |filter: Option<&str>, value: &str| filter.is_none_or(|w| w.is_empty() || w == value);
        if !wanted(binary, COMPUTE_BINARY) {
            return Ok(Vec::new());
        }
        let hosts = self.store.host_list().await?;
        Ok(hosts.into_iter().filter(|h| wanted(host, &h.name)).map(|h| self.service_of(h)).collect())
    }

    /// A service by its UUID (2.53) or, with `by_number`, its integer id.
    async fn service_host(&self, id: &str, by_number: bool) -> Result<ComputeHost> {
        let not_found = || Error::not_found(Kind::Service, id);
        if by_number {
            let number: i64 = id.trim().parse().map_err(|_| not_found())?;
            let hosts = self.store.host_list().await?;
            return hosts.into_iter().find(|h| h.number == number).ok_or_else(not_found);
        }
        self.store.host_get(&id.to_ascii_lowercase()).await.map_err(Error::not_found_or(not_found))
    }

    /// Changes a service by UUID (os-services 2.53 PUT).
    pub async fn service_update(&self, ctx: &AuthContext, id: &str, change: ServiceChange) -> Result<Service> {
        policy::require_admin(ctx, "os_compute_api:os-services:update")?;
        let host = self.service_host(id, false).await?;
        self.service_apply(host, change).await
    }

    /// Changes the service `binary` of `host` (os-services before 2.53:
    /// enable, disable, disable-log-reason, force-down).
    pub async fn service_update_by_host(
        &self,
        ctx: &AuthContext,
        host: &str,
        binary: &str,
        change: ServiceChange,
    ) -> Result<Service> {
        policy::require_admin(ctx, "os_compute_api:os-services:update")?;
        if binary != COMPUTE_BINARY {
            return Err(Error::invalid(format!(
                "Updating a {binary} service is not supported. Only nova-compute services can be updated."
            )));
        }
        let not_found = || Error::not_found(Kind::HostBinary { binary: binary.to_string() }, host);
        let record = self.store.host_get_by_name(host).await.map_err(Error::not_found_or(not_found))?;
        self.service_apply(record, change).await
    }

    async fn service_apply(&self, host: ComputeHost, change: ServiceChange) -> Result<Service> {
        if change.enabled.is_none() && change.forced_down.is_none() {
            return Err(Error::invalid(
                "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
            ));
        }
        if change.enabled == Some(true) && change.disabled_reason.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(Error::invalid("Specifying 'disabled_reason' with status 'enabled' is invalid."));
        }
        let mut record = host.clone();
        if let Some(enabled) = change.enabled {
            record = self
                .store
                .host_set_status(&host.id, enabled, change.disabled_reason.as_deref())
                .await
                .map_err(Error::not_found_as(Kind::Service, &host.id))?;
            // The scheduler's cached view must not place on it any more.
            self.drivers.invalidate_view();
        }
        if let Some(forced_down) = change.forced_down {
            // TODO(moves): refuse to force a host up while `done` evacuation
            // records name it as their source (Nova's _check_for_evacuations).
            record = self
                .store
                .host_set_forced_down(&host.id, forced_down)
                .await
                .map_err(Error::not_found_as(Kind::Service, &host.id))?;
            self.drivers.invalidate_view();
            if host.forced_down && !forced_down {
                self.host_returned(&record.name).await;
            }
        }
        Ok(self.service_of(record))
    }

    /// Deletes a service unless its host still has servers (409, as Nova).
    pub async fn service_delete(&self, ctx: &AuthContext, id: &str, by_number: bool) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:os-services:delete")?;
        let host = self.service_host(id, by_number).await?;
        match self.store.host_delete(&host.id).await {
            Ok(()) => {
                // As Nova's: a deleted compute service leaves its aggregates.
                self.aggregate_remove_host_everywhere(&host.name).await?;
                Ok(())
            }
            Err(StoreError::Conflict(_)) => Err(Conflict::HostHasServers.into()),
            Err(StoreError::NotFound) => Err(Error::not_found(Kind::Service, id)),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that the hosts `names` are alive now (driven here, or by an
    /// agent that reported in). Returns those whose heartbeat had lapsed:
    /// they are back, and may run guests of servers evacuated meanwhile.
    pub async fn hosts_heartbeat(&self, names: &[String]) -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let now = ecs_types::clock::real_now();
        let down_time = chrono::Duration::from_std(self.config.service_down_time).unwrap_or(chrono::Duration::MAX);
        let before = self.store.host_heartbeat_many(names, now).await?;
        Ok(before.into_iter().filter(|(_, at)| now.signed_duration_since(*at) > down_time).map(|(n, _)| n).collect())
    }

    /// The hosts whose hypervisor runs in this process.
    pub fn local_hosts(&self) -> Vec<String> {
        self.drivers.local_hosts()
    }

    /// Beats for every host this process drives, and cleans up after those
    /// that come back from a lapse (their servers may have been evacuated
    /// meanwhile). `silent`: hosts that cannot beat (the simulator lost
    /// them). Returns the hosts that came back.
    pub async fn heartbeat_local_hosts(&self, silent: &[String]) -> Result<Vec<String>> {
        // Hosts run by agents beat through their agents' heartbeats.
        let mut names = self.drivers.local_hosts();
        names.retain(|n| !silent.contains(n));
        let returned = self.hosts_heartbeat(&names).await?;
        for name in &returned {
            tracing::info!(host = %name, "host is back after its heartbeat lapsed");
            self.host_returned(name).await;
        }
        Ok(returned)
    }

    /// A host is back (its heartbeat resumed, or it is no longer forced
    /// down): destroy what it still runs of servers now elsewhere, so no
    /// guest runs twice, and close its evacuations.
    async fn host_returned(&self, name: &str) {
        if let Err(e) = self.host_back(name).await {
            tracing::warn!(host = %name, error = %e, "cleaning up a returning host failed");
        }
    }

    /// [`Core::host_returned`] for any host: reconciled if driven here
    /// (locally or through its agent), and the evacuations from it that
    /// are `done` become `completed`. Returns what the reconciliation did.
    pub async fn host_back(&self, name: &str) -> Result<Option<crate::compute::reconcile::Reconciled>> {
        let done = match self.drivers.get(name) {
            Some(driver) => Some(self.reconcile_host(driver.as_ref()).await?),
            None => None,
        };
        self.evacuations_complete(name).await?;
        Ok(done)
    }

    /// The evacuations from `host` that are `done` become `completed`: its
    /// copies of those servers are gone (Nova's compute service does this
    /// when it starts).
    pub async fn evacuations_complete(&self, host: &str) -> Result<usize> {
        use ecs_types::migration::{MigrationStatus, MigrationType};
        let q = ecs_store::MigrationListQuery {
            host: Some(host.to_string()),
            status: Some(MigrationStatus::Done.as_str().to_string()),
            migration_type: Some(MigrationType::Evacuation.as_str().to_string()),
            ..Default::default()
        };
        let mut n = 0;
        for m in self.store.migration_list(&q).await? {
            if m.source_compute.as_deref() == Some(host)
                && self
                    .store
                    .migration_set_status(&m.uuid, MigrationStatus::Completed, Some(&[MigrationStatus::Done]))
                    .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn host(heartbeat_at: Timestamp) -> ComputeHost {
        ComputeHost {
            id: "h".into(),
            number: 1,
            name: "h".into(),
            driver: "sim".into(),
            availability_zone: "nova".into(),
            vcpus: 1,
            ram_mb: 1,
            disk_gb: 1,
            cpu_ratio: 1.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
            used_vcpus: 0,
            used_ram_mb: 0,
            used_disk_gb: 0,
            running_vms: 0,
            enabled: true,
            heartbeat_at,
            forced_down: false,
            disabled_reason: None,
            started_at: None,
        }
    }

    #[test]
    fn host_status_follows_novas_order() {
        let now = ecs_types::clock::now();
        let down = Duration::from_secs(30);
        let mut h = host(now);
        assert_eq!(HostStatus::of(&h, now, down), HostStatus::Up);
        h.heartbeat_at = now - chrono::Duration::seconds(31);
        assert_eq!(HostStatus::of(&h, now, down), HostStatus::Unknown);
        h.enabled = false;
        assert_eq!(HostStatus::of(&h, now, down), HostStatus::Maintenance);
        h.forced_down = true;
        assert_eq!(HostStatus::of(&h, now, down), HostStatus::Down);
        h.heartbeat_at = now;
        assert!(!h.is_up(now, down), "forced down whatever the heartbeat");
    }
}
