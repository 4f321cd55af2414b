//! Placement: filters drop the hosts that cannot take a server, weighers
//! order the rest, and the first host whose claim succeeds wins (the claim
//! is a conditional update, so two schedulers racing for the last slot
//! cannot both get it).

use ecs_store::Claim;
use ecs_types::server::{ComputeHost, Server};

use super::sagas::StepError;
use crate::Core;
use crate::compute::{FailureKind, TaskFailure};

/// Nova's message when nothing fits.
pub const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

/// Nova's ComputeCapabilitiesFilter, for the host attributes ecsd knows:
/// a flavor extra spec `capabilities:<attr>` must equal the host's value.
fn capabilities_match(host: &ComputeHost, server: &Server) -> bool {
    server.flavor.extra_specs.iter().all(|(key, wanted)| {
        let Some(attr) = key.strip_prefix("capabilities:") else { return true };
        let actual = match attr {
            "hypervisor_type" => host.driver.as_str(),
            "hypervisor_hostname" | "host" => host.name.as_str(),
            "availability_zone" => host.availability_zone.as_str(),
            // Unknown capabilities cannot be satisfied.
            _ => return false,
        };
        // `s== value` is Nova's string-equality operator; plain values compare as they are.
        wanted.strip_prefix("s== ").unwrap_or(wanted).eq_ignore_ascii_case(actual)
    })
}

/// Nova's ComputeFilter: a host takes new servers only while its service
/// is enabled and up (beating, not forced down).
// TODO(aggregates): keep calling this from the rewritten filters.
pub fn host_available(core: &Core, host: &ComputeHost) -> bool {
    host.enabled && core.host_is_up(host)
}

fn passes_filters(core: &Core, host: &ComputeHost, server: &Server, claim: Claim, tried: &[String]) -> bool {
    let az_ok = server.availability_zone.as_deref().is_none_or(|az| az == host.availability_zone);
    host_available(core, host)
        && az_ok
        && capabilities_match(host, server)
        && !tried.contains(&host.name)
        && core.drivers.get(&host.name).is_some()
        && host.free_vcpus() >= claim.vcpus as f64
        && host.free_ram_mb() >= claim.ram_mb as f64
        && host.free_disk_gb() >= claim.disk_gb as f64
}

/// Spreads servers (Nova's default positive RAM and CPU weighers): the
/// host with the most free room, relative to the roomiest, comes first.
fn weigh(hosts: &mut [ComputeHost]) {
    let max_ram = hosts.iter().map(|h| h.free_ram_mb()).fold(1.0, f64::max);
    let max_cpu = hosts.iter().map(|h| h.free_vcpus()).fold(1.0, f64::max);
    let weight = |h: &ComputeHost| h.free_ram_mb() / max_ram + h.free_vcpus() / max_cpu;
    hosts.sort_by(|a, b| weight(b).total_cmp(&weight(a)).then_with(|| a.name.cmp(&b.name)));
}

/// Picks a host for `server` and claims `claim` on it.
/// `resumed`: the task ran before (a crash interrupted it), so a claim may
/// exist already; that placement is kept.
pub async fn place(
    core: &Core,
    server: &Server,
    claim: Claim,
    tried: &[String],
    resumed: bool,
) -> Result<ComputeHost, StepError> {
    if resumed && let Some(host) = core.store.host_of_claim(&server.id).await? {
        return Ok(host);
    }
    // Like Nova's scheduler, decide on a recent view of the hosts; the
    // claim is what checks capacity for real. If nothing on that view
    // takes the claim, look again at the current one before giving up.
    // Server groups: hard policies filter, soft ones weigh.
    let group = core.store.server_group_of(&server.id).await?;
    let member_hosts = match &group {
        Some(g) => core.store.server_group_hosts(&g.id, &server.id).await?,
        None => Vec::new(),
    };
    let on = |h: &ComputeHost| member_hosts.iter().filter(|m| **m == h.name).count() as i64;
    let group_allows = |h: &ComputeHost| match group.as_ref().map(|g| g.policy.as_str()) {
        Some("affinity") => member_hosts.is_empty() || on(h) > 0,
        Some("anti-affinity") => on(h) < group.as_ref().and_then(|g| g.max_server_per_host).unwrap_or(1),
        _ => true,
    };
    for fresh in [false, true] {
        let view = core.drivers.host_view(&core.store, fresh).await?;
        let mut hosts: Vec<ComputeHost> =
            view.into_iter().filter(|h| passes_filters(core, h, server, claim, tried) && group_allows(h)).collect();
        weigh(&mut hosts);
        match group.as_ref().map(|g| g.policy.as_str()) {
            Some("soft-affinity") => hosts.sort_by_key(|h| -on(h)),
            Some("soft-anti-affinity") => hosts.sort_by_key(|h| on(h)),
            _ => {}
        }
        for host in hosts {
            let Some(host) = claim_first(core, server, claim, vec![host]).await? else { continue };
            // Members placed at the same moment: look again now that our
            // claim is written, and give way if a hard policy broke.
            if let Some(g) = &group
                && matches!(g.policy.as_str(), "affinity" | "anti-affinity")
            {
                let now = core.store.server_group_hosts(&g.id, &server.id).await?;
                let here = now.iter().filter(|m| **m == host.name).count() as i64;
                let broken = match g.policy.as_str() {
                    "affinity" => !now.is_empty() && here == 0,
                    _ => here >= g.max_server_per_host.unwrap_or(1),
                };
                if broken {
                    core.store.host_release(&server.id).await?;
                    continue;
                }
            }
            return Ok(host);
        }
    }
    Err(StepError::Failed(TaskFailure::new(FailureKind::NoValidHost, NO_VALID_HOST)))
}

/// Claims on the first host of `hosts` that takes it.
async fn claim_first(
    core: &Core,
    server: &Server,
    claim: Claim,
    hosts: Vec<ComputeHost>,
) -> Result<Option<ComputeHost>, StepError> {
    for host in hosts {
        match core.store.host_claim(&server.id, &host.id, claim).await? {
            Some(holder) if holder == host.id => {
                core.drivers.note_claim(&host.id, claim);
                return Ok(Some(host));
            }
            // It held a claim elsewhere already: keep that placement.
            Some(_) => return Ok(core.store.host_of_claim(&server.id).await?),
            None => {}
        }
    }
    Ok(None)
}
