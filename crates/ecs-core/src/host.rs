//! The compute hosts as the API shows them (availability zones,
//! hypervisors, services): their records and whether this process drives
//! them.

use std::sync::Arc;

use ecs_hypervisor::Hypervisor;
use ecs_store::{HostRegistration, ServerListQuery};
use ecs_types::server::{ComputeHost, Server};
use ecs_types::{AuthContext, Timestamp};

use crate::{Core, Error, Kind, Result, policy};

impl Core {
    /// Every registered compute host.
    pub async fn compute_hosts(&self) -> Result<Vec<ComputeHost>> {
        Ok(self.store.host_list().await?)
    }

    /// Whether this process drives the host `name` (has its hypervisor).
    pub fn drives_host(&self, name: &str) -> bool {
        self.drivers.get(name).is_some()
    }
}

impl Core {
    /// Registers a compute host this process drives, with its hypervisor.
    pub async fn host_add(&self, registration: &HostRegistration, driver: Arc<dyn Hypervisor>) -> Result<()> {
        self.store.host_register(registration).await?;
        self.drivers.insert(driver);
        Ok(())
    }

    /// At the start of a single node, every task lease a previous run left
    /// is this node's own: releasing them lets those tasks resume. Returns
    /// how many were released.
    pub async fn task_leases_release_all(&self) -> Result<u64> {
        Ok(self.store.task_release_all_leases().await?)
    }

    /// Closes the database (at shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// Nova's hypervisor statistics: the compute nodes of enabled services,
/// summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStatistics {
    pub count: i64,
    pub vcpus: i64,
    pub vcpus_used: i64,
    pub memory_mb: i64,
    pub memory_mb_used: i64,
    pub free_ram_mb: i64,
    pub local_gb: i64,
    pub local_gb_used: i64,
    pub free_disk_gb: i64,
    pub disk_available_least: i64,
    pub running_vms: i64,
    pub current_workload: i64,
}

/// What a host runs, per Nova's os-hosts `show`: its capacity, what it
/// has claimed now, what its servers' flavors add up to and that per
/// project.
#[derive(Debug, Clone)]
pub struct HostResources {
    pub host: ComputeHost,
    pub used_max: HostUsage,
    /// Per project, in the order projects first appear.
    pub by_project: Vec<(String, HostUsage)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostUsage {
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
}

impl HostUsage {
    fn add(&mut self, s: &Server) {
        self.vcpus += s.flavor.vcpus;
        self.ram_mb += s.flavor.ram_mb;
        self.disk_gb += s.flavor.disk_gb + s.flavor.ephemeral_gb;
    }
}

/// A host power action (os-hosts `startup`, `shutdown`, `reboot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPowerAction {
    Startup,
    Shutdown,
    Reboot,
}

impl HostPowerAction {
    fn rule(self) -> &'static str {
        match self {
            HostPowerAction::Startup => "os_compute_api:os-hosts:start",
            HostPowerAction::Shutdown => "os_compute_api:os-hosts:shutdown",
            HostPowerAction::Reboot => "os_compute_api:os-hosts:reboot",
        }
    }
}

/// The line `uptime` prints, as Nova's libvirt driver returns it:
/// ` 10:02:03 up 2 days,  3:04,  0 users,  load average: 0.00, 0.00, 0.00`.
pub fn uptime_line(now: Timestamp, up_since: Timestamp) -> String {
    let up = (now - up_since).num_seconds().max(0);
    let (days, hours, minutes) = (up / 86_400, up % 86_400 / 3_600, up % 3_600 / 60);
    let mut line = format!(" {} up ", now.format("%H:%M:%S"));
    if days > 0 {
        line.push_str(&format!("{days} day{}, ", if days == 1 { "" } else { "s" }));
    }
    if hours > 0 {
        line.push_str(&format!("{hours:2}:{minutes:02}, "));
    } else {
        line.push_str(&format!("{minutes} min, "));
    }
    line.push_str(" 0 users,  load average: 0.00, 0.00, 0.00\n");
    line
}

impl Core {
    /// A compute host by name, for the admin host APIs.
    async fn compute_host(&self, name: &str) -> Result<ComputeHost> {
        self.store.host_get_by_name(name).await.map_err(Error::not_found_as(Kind::Host, name))
    }

    /// Sums the hosts whose service is enabled (Nova's
    /// `compute_node_statistics`).
    pub async fn host_statistics(&self, ctx: &AuthContext) -> Result<HostStatistics> {
        policy::require_admin(ctx, "os_compute_api:os-hypervisors:statistics")?;
        let mut s = HostStatistics::default();
        for h in self.compute_hosts().await?.iter().filter(|h| h.enabled) {
            s.count += 1;
            s.vcpus += h.vcpus;
            s.vcpus_used += h.used_vcpus;
            s.memory_mb += h.ram_mb;
            s.memory_mb_used += h.used_ram_mb;
            s.free_ram_mb += h.ram_mb - h.used_ram_mb;
            s.local_gb += h.disk_gb;
            s.local_gb_used += h.used_disk_gb;
            s.free_disk_gb += h.disk_gb - h.used_disk_gb;
            s.disk_available_least += h.disk_gb - h.used_disk_gb;
            s.running_vms += h.running_vms;
        }
        Ok(s)
    }

    /// The hosts of enabled compute services, in the zone if one is
    /// named (Nova's os-hosts list).
    pub async fn host_list_enabled(&self, ctx: &AuthContext, zone: Option<&str>) -> Result<Vec<ComputeHost>> {
        policy::require_admin(ctx, "os_compute_api:os-hosts:list")?;
        let hosts = self.compute_hosts().await?.into_iter();
        Ok(hosts.filter(|h| h.enabled && zone.is_none_or(|z| h.availability_zone == z)).collect())
    }

    /// The hosts whose name contains `pattern` (Nova's hypervisor search,
    /// SQL `LIKE %pattern%`); none is a 404.
    pub async fn hosts_matching(&self, ctx: &AuthContext, rule: &str, pattern: &str) -> Result<Vec<ComputeHost>> {
        policy::require_admin(ctx, rule)?;
        let hosts: Vec<ComputeHost> =
            self.compute_hosts().await?.into_iter().filter(|h| h.name.contains(pattern)).collect();
        if hosts.is_empty() {
            return Err(Error::not_found(Kind::HypervisorMatch, pattern));
        }
        Ok(hosts)
    }

    /// The servers placed on the host `name`, every project's.
    pub async fn host_servers(&self, ctx: &AuthContext, name: &str) -> Result<Vec<Server>> {
        policy::require_admin(ctx, "os_compute_api:os-hypervisors:servers")?;
        let query = ServerListQuery { host: Some(name.to_string()), ..Default::default() };
        self.server_list(ctx, query).await
    }

    /// How long the host has been up, as `uptime` says it. A host that
    /// does not answer cannot say (Nova's ComputeServiceUnavailable, 400).
    /// A host is up since it registered (each start of its process).
    pub fn host_uptime(&self, ctx: &AuthContext, host: &ComputeHost, answering: bool) -> Result<String> {
        policy::require_admin(ctx, "os_compute_api:os-hypervisors:uptime")?;
        if !answering {
            return Err(Error::invalid(format!("Compute service of {} is unavailable at this time.", host.name)));
        }
        Ok(uptime_line(ecs_types::clock::real_now(), host.heartbeat_at))
    }

    /// Nova's os-hosts `show`: what the host `name` holds.
    pub async fn host_resources(&self, ctx: &AuthContext, name: &str) -> Result<HostResources> {
        policy::require_admin(ctx, "os_compute_api:os-hosts:show")?;
        let host = self.compute_host(name).await.map_err(|_| Error::not_found(Kind::HostMapping, name))?;
        let query = ServerListQuery { host: Some(name.to_string()), ..Default::default() };
        let servers = self.server_list(ctx, query).await?;
        let mut used_max = HostUsage::default();
        let mut by_project: Vec<(String, HostUsage)> = Vec::new();
        for s in &servers {
            used_max.add(s);
            match by_project.iter_mut().find(|(p, _)| *p == s.project_id) {
                Some((_, usage)) => usage.add(s),
                None => {
                    let mut usage = HostUsage::default();
                    usage.add(s);
                    by_project.push((s.project_id.clone(), usage));
                }
            }
        }
        Ok(HostResources { host, used_max, by_project })
    }

    /// Lets the host `name` take new servers or not (Nova's os-hosts
    /// `status`). Returns the host's new status, `enabled` or `disabled`.
    pub async fn host_set_enabled(&self, ctx: &AuthContext, name: &str, enabled: bool) -> Result<&'static str> {
        policy::require_admin(ctx, "os_compute_api:os-hosts:update")?;
        self.store.host_set_enabled(name, enabled).await.map_err(Error::not_found_as(Kind::Host, name))?;
        self.drivers.invalidate_view();
        Ok(if enabled { "enabled" } else { "disabled" })
    }

    /// Maintenance mode (evacuating a host) is a driver feature neither
    /// the simulator nor the QEMU driver has, as Nova's libvirt driver has
    /// not: a known host answers that it is not supported.
    /// Would return `on_maintenance` or `off_maintenance`.
    pub async fn host_maintenance(&self, ctx: &AuthContext, name: &str, _on: bool) -> Result<&'static str> {
        policy::require_admin(ctx, "os_compute_api:os-hosts:update")?;
        self.compute_host(name).await?;
        Err(Error::Unsupported)
    }

    /// Powering a host on, off or rebooting it is not something ecsd's
    /// drivers do (nor Nova's libvirt driver): a known host answers that
    /// it is not supported.
    /// Would return the driver's outcome of the action.
    pub async fn host_power(&self, ctx: &AuthContext, name: &str, action: HostPowerAction) -> Result<String> {
        policy::require_admin(ctx, action.rule())?;
        self.compute_host(name).await?;
        Err(Error::Unsupported)
    }
}

/// One host's line of the instance usage audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAudit {
    pub host: String,
    /// The servers that were active on the host at some time in the period.
    pub instances: i64,
}

/// Nova's instance usage audit of one period: ecsd keeps every server's
/// launch, termination and host, so the audit of a completed period is
/// read from those records and every host has always run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageAudit {
    pub period_beginning: Timestamp,
    pub period_ending: Timestamp,
    pub hosts: Vec<HostAudit>,
}

/// The last monthly audit period that ended before `before` (Nova's
/// `last_completed_audit_period` with its default `month` unit): from the
/// first of a month to the first of the next.
pub fn last_completed_month(before: Timestamp) -> (Timestamp, Timestamp) {
    use chrono::{Datelike, TimeZone};
    let first = |year: i32, month: u32| chrono::Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single();
    let previous = |t: Timestamp| if t.month() == 1 { (t.year() - 1, 12) } else { (t.year(), t.month() - 1) };
    let mut end = first(before.year(), before.month()).unwrap_or(before);
    if end >= before {
        let (y, m) = previous(end);
        end = first(y, m).unwrap_or(end);
    }
    let (y, m) = previous(end);
    (first(y, m).unwrap_or(end), end)
}

impl Core {
    /// The instance usage audit of the last month completed before
    /// `before` (now if none).
    pub async fn usage_audit(&self, ctx: &AuthContext, rule: &str, before: Option<Timestamp>) -> Result<UsageAudit> {
        policy::require_admin(ctx, rule)?;
        let (begin, end) = last_completed_month(before.unwrap_or_else(ecs_types::clock::now));
        let servers = self.server_list(ctx, ServerListQuery { deleted: true, ..Default::default() }).await?;
        let active = |s: &&Server| s.launched_at.is_some_and(|t| t < end) && s.terminated_at.is_none_or(|t| t > begin);
        let hosts = self
            .compute_hosts()
            .await?
            .into_iter()
            .map(|h| {
                let instances = servers.iter().filter(active).filter(|s| s.host.as_deref() == Some(&h.name)).count();
                HostAudit { host: h.name, instances: instances as i64 }
            })
            .collect();
        Ok(UsageAudit { period_beginning: begin, period_ending: end, hosts })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn the_audit_period_is_the_last_completed_month() {
        assert_eq!(last_completed_month(at(2026, 12, 3, 20)), (at(2026, 11, 1, 0), at(2026, 12, 1, 0)));
        assert_eq!(last_completed_month(at(2026, 1, 15, 0)), (at(2025, 12, 1, 0), at(2026, 1, 1, 0)));
        // The first of a month at midnight has not completed that month's period yet.
        assert_eq!(last_completed_month(at(2026, 3, 1, 0)), (at(2026, 1, 1, 0), at(2026, 2, 1, 0)));
    }

    #[test]
    fn uptime_reads_like_the_uptime_command() {
        let start = at(2026, 12, 1, 0);
        let line = uptime_line(start + chrono::Duration::minutes(4), start);
        assert_eq!(line, " 00:04:00 up 4 min,  0 users,  load average: 0.00, 0.00, 0.00\n");
        let line = uptime_line(start + chrono::Duration::minutes(2 * 1440 + 185), start);
        assert_eq!(line, " 03:05:00 up 2 days,  3:05,  0 users,  load average: 0.00, 0.00, 0.00\n");
    }
}
