//! Hosts run by agents (`ecsd agent`, one per compute host): what an
//! agent reports in its heartbeat, and how an API node comes to drive the
//! agents' hosts — a driver per host from a [`Connector`] that the binary
//! hands in (it speaks the internal API; the core knows no transport).

use std::sync::Arc;

use ecs_hypervisor::Hypervisor;
use ecs_store::{HostAgent, HostRegistration};
use serde::{Deserialize, Serialize};

use crate::{Core, Error, Result};

/// Makes the driver of a host that an agent runs.
pub trait Connector: Send + Sync {
    fn connect(&self, agent: &HostAgent) -> Arc<dyn Hypervisor>;
}

/// What an agent says of its host on each heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    /// Where the agent serves the internal API (`http://ADDR:PORT`).
    pub agent_url: String,
    /// Its hypervisor: "sim", "qemu-kvm", "qemu-tcg".
    pub driver: String,
    pub availability_zone: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    #[serde(default = "default_cpu_ratio")]
    pub cpu_ratio: f64,
    #[serde(default = "one")]
    pub ram_ratio: f64,
    #[serde(default = "one")]
    pub disk_ratio: f64,
    /// The agent's first heartbeat since it started, or since it could
    /// not reach the control plane (or was not running) for a while: its
    /// guests may be stale and are reconciled.
    #[serde(default)]
    pub fresh: bool,
}

fn default_cpu_ratio() -> f64 {
    4.0
}

fn one() -> f64 {
    1.0
}

/// What the control plane answers a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAck {
    /// The host's id in the records.
    pub host_id: String,
    /// Whether the heartbeat (re)registered the host.
    pub registered: bool,
    /// Whether the host was down (its heartbeat had lapsed) before this
    /// beat: it may run guests of servers evacuated or deleted meanwhile.
    #[serde(default)]
    pub back: bool,
}

/// A host name as Nova's services take it: printable, no slash (it is a
/// URL path segment), at most 255 characters.
fn valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl AgentReport {
    fn check(&self, host: &str) -> Result<()> {
        if !valid_host_name(host) {
            return Err(Error::invalid(format!("invalid host name {host:?}")));
        }
        let url = self.agent_url.as_str();
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            return Err(Error::invalid(format!("agent_url must be an http(s) URL, not {url:?}")));
        }
        if self.driver.is_empty() || self.availability_zone.is_empty() {
            return Err(Error::invalid("driver and availability_zone are required"));
        }
        if self.vcpus <= 0 || self.ram_mb <= 0 || self.disk_gb <= 0 {
            return Err(Error::invalid("vcpus, ram_mb and disk_gb must be positive"));
        }
        let ratios = [self.cpu_ratio, self.ram_ratio, self.disk_ratio];
        if ratios.iter().any(|r| !r.is_finite() || *r <= 0.0) {
            return Err(Error::invalid("allocation ratios must be positive"));
        }
        Ok(())
    }

    fn registration(&self, host: &str) -> HostRegistration {
        HostRegistration {
            name: host.to_string(),
            driver: self.driver.clone(),
            availability_zone: self.availability_zone.clone(),
            vcpus: self.vcpus,
            ram_mb: self.ram_mb,
            disk_gb: self.disk_gb,
            cpu_ratio: self.cpu_ratio,
            ram_ratio: self.ram_ratio,
            disk_ratio: self.disk_ratio,
        }
    }
}

impl Core {
    /// An agent's heartbeat: registers its host when it is new, has
    /// changed, or the agent is fresh; the API node that takes it then
    /// drives the host. Called by the internal API only (its caller holds
    /// the service secret), so no user policy applies.
    pub async fn agent_heartbeat(
        &self,
        host: &str,
        report: &AgentReport,
        connector: &dyn Connector,
    ) -> Result<AgentAck> {
        report.check(host)?;
        let known_url = self.store.host_agent_url(host).await?;
        let record = match self.store.host_get_by_name(host).await {
            Ok(h) => Some(h),
            Err(ecs_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let now = ecs_types::clock::real_now();
        let down_time = chrono::Duration::from_std(self.config.service_down_time).unwrap_or(chrono::Duration::MAX);
        // Heard from too long ago: its service went down, and its servers
        // may have been evacuated meanwhile.
        let lapsed = record.as_ref().is_some_and(|h| now.signed_duration_since(h.heartbeat_at) > down_time);
        let unchanged = record.as_ref().is_some_and(|h| {
            h.driver == report.driver
                && h.availability_zone == report.availability_zone
                && (h.vcpus, h.ram_mb, h.disk_gb) == (report.vcpus, report.ram_mb, report.disk_gb)
                && (h.cpu_ratio, h.ram_ratio, h.disk_ratio) == (report.cpu_ratio, report.ram_ratio, report.disk_ratio)
        }) && known_url.as_deref() == Some(report.agent_url.as_str());
        let registered = report.fresh || !unchanged;
        let host_id = if registered {
            // Registering beats too (and marks when the agent started).
            self.store.host_register_agent(&report.registration(host), &report.agent_url).await?.id
        } else {
            self.store.host_heartbeat(host, now).await?;
            record.map(|h| h.id).unwrap_or_default()
        };
        if registered {
            self.sync_remote_drivers(connector).await?;
            // New capacity or place: the next decision reads the hosts again.
            self.drivers.invalidate_view();
        }
        Ok(AgentAck { host_id, registered, back: lapsed })
    }

    /// Drives every host that an agent runs through its agent (see
    /// [`Drivers::sync_remote`](super::Drivers::sync_remote)). Returns how
    /// many drivers changed.
    pub async fn sync_remote_drivers(&self, connector: &dyn Connector) -> Result<usize> {
        let agents = self.store.host_agents().await?;
        Ok(self.drivers.sync_remote(&agents, connector))
    }

    /// Reconciles the host `name` with the records, if it is driven here
    /// (after its agent came back: stale guests go).
    pub async fn reconcile_host_named(&self, name: &str) -> Result<Option<super::reconcile::Reconciled>> {
        match self.drivers.get(name) {
            Some(driver) => Ok(Some(self.reconcile_host(driver.as_ref()).await?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::Drivers;

    /// Drivers of simulated hosts, standing in for agents.
    struct Sims;

    impl Connector for Sims {
        fn connect(&self, agent: &HostAgent) -> Arc<dyn Hypervisor> {
            let control = ecs_hypervisor::sim::SimControl::default();
            Arc::new(ecs_hypervisor::sim::SimHypervisor::new(agent.name.clone(), control, None).unwrap())
        }
    }

    #[test]
    fn remote_drivers_follow_the_agents() {
        let drivers = Drivers::default();
        drivers.insert(Sims.connect(&HostAgent { name: "local".into(), driver: "sim".into(), url: String::new() }));
        let agent = |name: &str, url: &str| HostAgent { name: name.into(), driver: "sim".into(), url: url.into() };
        let agents = [agent("h1", "http://a:1"), agent("h2", "http://b:1"), agent("local", "http://c:1")];
        assert_eq!(drivers.sync_remote(&agents, &Sims), 2, "a host driven here stays so");
        assert_eq!(drivers.sync_remote(&agents, &Sims), 0);
        // h1's agent moved, h2's host is gone.
        assert_eq!(drivers.sync_remote(&[agent("h1", "http://a:2")], &Sims), 2);
        let mut hosts = drivers.hosts();
        hosts.sort();
        assert_eq!(hosts, ["h1", "local"]);
        assert_eq!(drivers.local_hosts(), ["local"]);
    }

    fn report() -> AgentReport {
        AgentReport {
            agent_url: "http://127.0.0.1:9000".into(),
            driver: "sim".into(),
            availability_zone: "nova".into(),
            vcpus: 8,
            ram_mb: 1024,
            disk_gb: 10,
            cpu_ratio: 4.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
            fresh: true,
        }
    }

    #[test]
    fn reports_are_checked() {
        assert!(report().check("h1").is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(256)] {
            assert!(report().check(bad).is_err(), "{bad:?}");
        }
        for url in ["", "ftp://x", "http://", "http://a b"] {
            let r = AgentReport { agent_url: url.into(), ..report() };
            assert!(r.check("h1").is_err(), "{url:?}");
        }
        assert!(AgentReport { vcpus: 0, ..report() }.check("h1").is_err());
        assert!(AgentReport { cpu_ratio: f64::NAN, ..report() }.check("h1").is_err());
        assert!(AgentReport { driver: String::new(), ..report() }.check("h1").is_err());
    }
}
