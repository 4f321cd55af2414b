//! NICs: attach (bind or make the port, then plug it into the guest) and
//! detach (unplug, then let the port go). The server's state is left alone
//! by a failure.

use ecs_store::{PortRefusal, StoreError};
use ecs_types::server::{RequestedNic, Server};
use ecs_types::{NetworkId, PortId, SubnetId};
use serde::{Deserialize, Serialize};

use super::guest::{nic_spec, nic_subnet};
use super::{HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, host_driver, undo_on_host};
use crate::compute::{FailureKind, TaskFailure};

pub(super) const ON_FAILURE: OnFailure = OnFailure::Untouched;

/// A NIC to attach, as its port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachParams {
    /// The port: the given one, or the id the new one gets.
    pub port_id: PortId,
    #[serde(flatten)]
    pub nic: NewNic,
}

/// Where the attached NIC's port comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NewNic {
    /// An existing port (stored as `"existing_port": "yes"`).
    Existing { existing_port: String },
    /// A new port on a network, optionally on one of its subnets with a fixed IP.
    Network { net_id: NetworkId, subnet_id: Option<SubnetId>, fixed_ip: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachStep {
    AttachPort,
    PlugNic,
}

impl Saga for AttachParams {
    type Step = AttachStep;
    const STEPS: &'static [AttachStep] = &[AttachStep::AttachPort, AttachStep::PlugNic];

    fn event(&self, _step: AttachStep) -> &'static str {
        "compute_attach_interface"
    }

    async fn run(&self, step: AttachStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let core = cx.core;
        let port_id = &self.port_id;
        match step {
            AttachStep::AttachPort => {
                let port = match &self.nic {
                    NewNic::Existing { .. } => {
                        core.store.port_bind(port_id, &server.id, None).await?.map_err(|_| {
                            StepError::Failed(TaskFailure::new(
                                FailureKind::PortInUse,
                                format!("Port {port_id} is still in use."),
                            ))
                        })?
                    }
                    NewNic::Network { net_id, subnet_id, fixed_ip } => {
                        let nic = RequestedNic {
                            network_id: net_id.to_string(),
                            subnet_id: subnet_id.as_ref().map(SubnetId::to_string),
                            fixed_ip: fixed_ip.clone(),
                            port_id: None,
                        };
                        core.store.port_allocate_as(port_id, &server.id, &server.project_id, &nic).await?.map_err(
                            |r| match r {
                                PortRefusal::Exhausted => StepError::Failed(TaskFailure::new(
                                    FailureKind::NoFixedIpLeft,
                                    format!("No more IP addresses available on network {net_id}."),
                                )),
                                PortRefusal::AddressInUse(ip) => StepError::Failed(TaskFailure::new(
                                    FailureKind::FixedIpInUse,
                                    format!("Fixed IP address {ip} is already in use."),
                                )),
                                r => StepError::Fatal(format!("Failed to allocate a port on network {net_id}: {r:?}")),
                            },
                        )?
                    }
                };
                server.ports.retain(|p| p.id != port.id);
                server.ports.push(port);
            }
            AttachStep::PlugNic => {
                let driver = host_driver(core, server)?;
                let port = match server.ports.iter().find(|p| p.id == **port_id).cloned() {
                    Some(p) => p,
                    None => core.store.port_get(port_id).await?,
                };
                let mut nic = nic_spec(&port);
                nic.subnet = nic_subnet(core, &nic).await?;
                driver.attach_nic(&server.id, &nic).await?;
            }
        }
        Ok(None)
    }

    async fn undo(&self, step: AttachStep, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        match step {
            AttachStep::AttachPort => Ok(cx.core.store.port_release(&self.port_id).await?),
            AttachStep::PlugNic => undo_on_host(cx.core, cx.server_id()?, HostUndo::DetachNic(&self.port_id)).await,
        }
    }
}

/// A NIC to detach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetachParams {
    pub port_id: PortId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetachStep {
    UnplugNic,
    ReleasePort,
}

impl Saga for DetachParams {
    type Step = DetachStep;
    const STEPS: &'static [DetachStep] = &[DetachStep::UnplugNic, DetachStep::ReleasePort];

    fn event(&self, _step: DetachStep) -> &'static str {
        "compute_detach_interface"
    }

    async fn run(&self, step: DetachStep, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        match step {
            DetachStep::UnplugNic => host_driver(cx.core, server)?.detach_nic(&server.id, &self.port_id).await?,
            DetachStep::ReleasePort => cx.core.store.port_release(&self.port_id).await?,
        }
        Ok(None)
    }

    async fn undo(&self, step: DetachStep, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let (core, id) = (cx.core, cx.server_id()?);
        match step {
            // A detach that failed leaves the NIC plugged in.
            DetachStep::UnplugNic => match core.store.port_get(&self.port_id).await {
                Ok(port) if port.server_id == id => {
                    let mut nic = nic_spec(&port);
                    nic.subnet = nic_subnet(core, &nic).await?;
                    undo_on_host(core, id, HostUndo::AttachNic(nic)).await
                }
                Ok(_) | Err(StoreError::NotFound) => Ok(()),
                Err(e) => Err(e.into()),
            },
            DetachStep::ReleasePort => Ok(()),
        }
    }
}
