//! Builds a server: place it, give it its ports, its EIP and its volumes,
//! then spawn the guest. A host that fails the spawn sends the build back
//! to the scheduler (Nova's reschedule) after every step is undone.

use ecs_store::{PortRefusal, ServerUpdate, StoreError, VolumeRefusal};
use ecs_types::FloatingIpId;
use ecs_types::server::{BlockDevice, PowerState, Server, TaskState, VmState};
use serde::{Deserialize, Serialize};

use super::guest::full_spec;
use super::{HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, claim_of, driver_for, undo_on_host};
use crate::Core;
use crate::compute::scheduler;
use crate::compute::{FailureKind, TaskFailure};

pub(super) const ON_FAILURE: OnFailure = OnFailure::BuildError;

/// What a build is queued with (beyond the server record itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Nova 2.74: only this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_host: Option<String>,
    /// ECS `publicip`: an EIP to bind to the first NIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicip: Option<PublicIp>,
}

/// The EIP an ECS create asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicIp {
    /// An existing EIP to bind; none: one is allocated for the server.
    pub id: Option<FloatingIpId>,
    /// Whether the EIP goes when the server does.
    #[serde(default)]
    pub delete_on_termination: bool,
    /// A new EIP's line and dedicated bandwidth (EIP API attributes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_charge_mode: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Schedule,
    AllocateNetwork,
    BindPublicIp,
    BlockDevices,
    Spawn,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] =
        &[Step::Schedule, Step::AllocateNetwork, Step::BindPublicIp, Step::BlockDevices, Step::Spawn];
    const RESCHEDULES: bool = true;

    fn event(&self, step: Step) -> &'static str {
        match step {
            Step::Schedule => "conductor_schedule_and_build_instances",
            _ => "compute__do_build_and_run_instance",
        }
    }

    /// Scheduling is recorded with the network step after it, block
    /// devices with the spawn: a write per build is saved.
    fn recorded_alone(&self, step: Step) -> bool {
        !matches!(step, Step::Schedule | Step::BlockDevices)
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        match step {
            Step::Schedule => schedule(cx, server, self.requested_host.as_deref()).await,
            Step::AllocateNetwork => allocate_network(cx.core, server).await,
            Step::BindPublicIp => bind_public_ip(self, cx.core, server).await,
            Step::BlockDevices => block_devices(cx.core, server).await,
            Step::Spawn => spawn(cx.core, server).await,
        }
    }

    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let id = cx.server_id()?;
        match step {
            Step::Schedule => Ok(cx.core.store.host_release(id).await?),
            Step::AllocateNetwork => Ok(cx.core.store.ports_release(id).await?),
            Step::BindPublicIp => unbind_public_ip(self, cx.core, id).await,
            Step::BlockDevices => release_block_devices(cx.core, id).await,
            Step::Spawn => undo_on_host(cx.core, id, HostUndo::Destroy).await,
        }
    }
}

async fn schedule(cx: &mut StepContext<'_>, server: &mut Server, requested_host: Option<&str>) -> StepResult {
    let claim = claim_of(&server.flavor);
    // Only a task claimed before (resumed after a crash) can hold a claim already.
    let resumed = cx.task.attempts > 1;
    let options =
        scheduler::PlaceOptions { excluded: &cx.progress.tried_hosts, requested_host, resumed, ..Default::default() };
    let host = scheduler::place_with(cx.core, server, claim, options).await?;
    server.host = Some(host.name.clone());
    if !cx.progress.tried_hosts.contains(&host.name) {
        cx.progress.tried_hosts.push(host.name.clone());
    }
    cx.progress.host = Some(host.name.clone());
    Ok(Some(ServerUpdate {
        host: Some(Some(host.name.clone())),
        availability_zone: Some(host.availability_zone.clone()),
        task_state: Some(Some(TaskState::Networking)),
        ..Default::default()
    }))
}

async fn allocate_network(core: &Core, server: &mut Server) -> StepResult {
    let mut ports = Vec::new();
    for (index, nic) in server.requested_networks.iter().enumerate() {
        if let Some(port_id) = &nic.port_id {
            match core.store.port_bind(port_id, &server.id, Some(index as i64)).await? {
                Ok(port) => ports.push(port),
                Err(_) => return Err(failed(FailureKind::PortInUse, format!("Port {port_id} is still in use."))),
            }
            continue;
        }
        let allocated = core.store.port_allocate(&server.id, &server.project_id, index as i64, nic).await?;
        match allocated {
            Ok(port) => ports.push(port),
            Err(PortRefusal::Exhausted) => {
                let message = format!("No more IP addresses available on network {}.", nic.network_id);
                return Err(StepError::Failed(TaskFailure::new(FailureKind::NoFixedIpLeft, message)));
            }
            Err(PortRefusal::AddressInUse(ip)) => {
                return Err(failed(FailureKind::FixedIpInUse, format!("Fixed IP address {ip} is already in use.")));
            }
            Err(PortRefusal::PortInUse) => return Err(failed(FailureKind::PortInUse, "The port is still in use.")),
            Err(PortRefusal::NoSubnet | PortRefusal::AddressOutsideSubnets(_)) => {
                return Err(StepError::Fatal(format!(
                    "Network {} has no subnet for the requested address.",
                    nic.network_id
                )));
            }
        }
    }
    server.ports = ports;
    Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::BlockDeviceMapping)), ..Default::default() }))
}

async fn bind_public_ip(params: &Params, core: &Core, server: &Server) -> StepResult {
    let Some(eip) = &params.publicip else { return Ok(None) };
    let port = server.ports.first().ok_or_else(|| StepError::Fatal("An EIP needs a NIC to bind to.".into()))?;
    let id = match &eip.id {
        Some(id) => id.to_string(),
        None => {
            let id = allocate_eip(core, server).await?;
            let attrs = ecs_types::EipAttrs {
                ip_type: eip.ip_type.clone(),
                bandwidth_size: eip.bandwidth_size,
                bandwidth_charge_mode: eip.bandwidth_charge_mode.clone(),
                ..Default::default()
            };
            core.store.floating_ip_set_eip(&id, &attrs).await?;
            id
        }
    };
    if !core.store.floating_ip_bind_for_build(&id, &port.id, eip.delete_on_termination).await? {
        return Err(StepError::Fatal(format!("EIP {id} is bound to another NIC.")));
    }
    Ok(None)
}

/// An EIP the build made goes; a given one is unbound.
async fn unbind_public_ip(params: &Params, core: &Core, server_id: &str) -> Result<(), StepError> {
    match params.publicip.as_ref().map(|e| e.id.as_deref()) {
        None => {}
        Some(None) => match core.store.floating_ip_release(&eip_id(server_id)).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        },
        Some(Some(given)) => {
            let bound_here = core.store.floating_ip_get(given).await?.server_id.as_deref() == Some(server_id);
            if bound_here {
                core.store.floating_ip_bind(given, None).await?;
            }
        }
    }
    Ok(())
}

async fn block_devices(core: &Core, server: &Server) -> StepResult {
    let mut mappings: Vec<_> =
        server.block_devices.iter().filter(|b| b.destination_type == "volume").cloned().collect();
    mappings.sort_by_key(|b| b.boot_index.filter(|i| *i >= 0).unwrap_or(i64::MAX));
    for b in mappings {
        let Some(volume_id) = b.volume_id.clone() else { continue };
        if b.source_type != "volume" {
            make_volume(core, server, &b, &volume_id).await?;
        }
        let device = if b.boot_index == Some(0) { Some("/dev/vda".to_string()) } else { b.device_name.clone() };
        core.store
            .volume_attach_for_build(&volume_id, &server.id, device.as_deref(), b.delete_on_termination)
            .await?
            .map_err(|r| failed(FailureKind::VolumeUnavailable, format!("Volume {volume_id} cannot be attached: {r:?}")))?;
    }
    Ok(Some(ServerUpdate { task_state: Some(Some(TaskState::Spawning)), ..Default::default() }))
}

/// Volumes the build made go; given ones are free again.
async fn release_block_devices(core: &Core, server_id: &str) -> Result<(), StepError> {
    let server = core.store.server_get(server_id).await?;
    for b in server.block_devices.iter().filter(|b| b.destination_type == "volume") {
        let Some(volume_id) = &b.volume_id else { continue };
        match core.store.volume_get(volume_id).await {
            Ok(v) if v.attachment.as_ref().is_some_and(|a| a.server_id == server_id) || b.source_type != "volume" => {
                if b.source_type == "volume" {
                    core.store.volume_release(volume_id).await?;
                } else {
                    core.store.volume_purge(volume_id).await?;
                    core.volume_storage_release(volume_id).await;
                }
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn spawn(core: &Core, server: &Server) -> StepResult {
    let driver = driver_for(core, server)?;
    injected_build_faults(core, server).await?;
    let spec = full_spec(core, server).await?;
    driver.spawn(&spec).await.map_err(|e| StepError::Reschedule(e.to_string()))?;
    Ok(Some(ServerUpdate {
        vm_state: Some(VmState::Active),
        task_state: Some(None),
        power_state: Some(PowerState::Running),
        launched_at: Some(ecs_types::clock::now()),
        ..Default::default()
    }))
}

/// What a fault scenario or the server's own metadata
/// (`ecsd:fail-build`, `ecsd:no-valid-host`, `ecsd:build-latency-ms`; see
/// `compute::metadata::TRIGGER_PREFIX`) makes of this build on
/// its host: counted once per build placed on a host.
async fn injected_build_faults(core: &Core, server: &Server) -> Result<(), StepError> {
    use ecs_hypervisor::scenario::{Effect, HostOp};
    let host = server.host.as_deref().unwrap_or_default();
    let scenario = core.scenarios.host_op(host, HostOp::Create);
    let from_metadata = server
        .metadata
        .get(crate::compute::metadata::BUILD_LATENCY_KEY)
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    if let Some(latency) = scenario.latency.max(from_metadata) {
        tokio::time::sleep(latency).await;
    }
    if let Some(message) = server.metadata.get(crate::compute::metadata::FAIL_BUILD_KEY) {
        let message = if message.is_empty() { "Build failed (ecsd:fail-build)." } else { message };
        return Err(failed(FailureKind::Hypervisor, message));
    }
    if server.metadata.contains_key(crate::compute::metadata::NO_VALID_HOST_KEY) {
        return Err(failed(FailureKind::NoValidHost, scheduler::NO_VALID_HOST));
    }
    match scenario.fail {
        Some(Effect::NoValidHost) => Err(failed(FailureKind::NoValidHost, scheduler::NO_VALID_HOST)),
        Some(Effect::Fail(message)) => Err(failed(FailureKind::Hypervisor, message)),
        _ => Ok(()),
    }
}

/// The id of the EIP an ECS create allocates for a server: fixed by the
/// server, so that a step run again after a crash finds the one it made.
fn eip_id(server_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{server_id}/publicip"));
    let bytes: [u8; 16] = digest[..16].try_into().expect("16 of 32 bytes");
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// A step's typed failure.
fn failed(kind: FailureKind, message: impl Into<String>) -> StepError {
    StepError::Failed(TaskFailure::new(kind, message))
}

/// Allocates a server's EIP from the first floating-IP pool (idempotent).
async fn allocate_eip(core: &Core, server: &Server) -> Result<String, StepError> {
    let pools = core.store.network_list().await?;
    let pool = pools.iter().find(|n| n.external).ok_or_else(|| StepError::Fatal("No EIP pool exists.".into()))?;
    let id = eip_id(&server.id);
    // An EIP is a floating IP: the project's floating IP quota (Neutron's,
    // which the VPC/EIP side sets), not a fixed number.
    let limit = core
        .neutron_quota_limit(&server.project_id, "floatingip")
        .await
        .map_err(|e| StepError::Fatal(format!("The EIP quota could not be read: {e}")))?;
    match core.store.floating_ip_allocate(&id, &server.project_id, &pool.id, limit).await? {
        Ok(_) => Ok(id),
        Err(ecs_store::FloatingRefusal::Quota(limit)) => {
            Err(failed(FailureKind::FloatingIpQuota, format!("The EIP quota of {limit} is reached.")))
        }
        Err(ecs_store::FloatingRefusal::Exhausted) => {
            Err(StepError::Failed(TaskFailure::new(FailureKind::NoFreeFloatingIp, "No free EIP is left.")))
        }
    }
}

/// Makes the volume a block device mapping asks for (from an image, a
/// snapshot or blank). Idempotent by the id chosen at create.
async fn make_volume(core: &Core, server: &Server, b: &BlockDevice, volume_id: &str) -> Result<(), StepError> {
    match core.store.volume_get(volume_id).await {
        Ok(_) => return Ok(()),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let size = match (b.source_type.as_str(), &b.uuid) {
        ("snapshot", Some(snap)) => core.store.snapshot_get(snap).await?.size_gb.max(b.volume_size.unwrap_or(0)),
        _ => b.volume_size.unwrap_or(1),
    };
    let volume = ecs_types::volume::Volume {
        id: volume_id.to_string(),
        project_id: server.project_id.clone(),
        name: String::new(),
        description: String::new(),
        size_gb: size,
        status: "available".into(),
        volume_type: b.volume_type.clone().unwrap_or_else(|| "SATA".into()),
        availability_zone: server.availability_zone.clone().unwrap_or_else(|| "nova".into()),
        snapshot_id: (b.source_type == "snapshot").then(|| b.uuid.clone()).flatten(),
        created_at: ecs_types::clock::now(),
        attachment: None,
        metadata: Default::default(),
        bootable: false,
        source_volid: None,
        image_id: None,
        user_id: Some(server.user_id.clone()),
    };
    core.store.volume_create(&volume, core.config.quota.volumes, core.config.quota.gigabytes).await?.map_err(|r| {
        let kind = if matches!(r, VolumeRefusal::Quota(..)) { FailureKind::VolumeQuota } else { FailureKind::Other };
        failed(kind, format!("Build of instance {} aborted: volume not created: {r:?}", server.id))
    })?;
    Ok(())
}
