//! The driver of a host that an agent runs: every [`Hypervisor`] call
//! becomes a request to the agent's internal API, carrying the fence of
//! the task it is made for. An agent that does not answer in time is
//! down, as a simulated host that is down says ([`HypervisorError::HostDown`]):
//! a build goes elsewhere, an undo is left to the reconciler.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecs_core::compute::agents::Connector;
use ecs_hypervisor::{
    BootSource, ConsoleEndpoint, DiskSpec, GuestInfo, GuestSpec, Hypervisor, HypervisorError, IncomingGuest, MoveKind,
    NicSpec, RebootKind, Result, SnapshotImage,
};
use ecs_store::HostAgent;
use serde::de::DeserializeOwned;

use super::wire::{Call, Reply, op_of};
use super::{DEADLINE_HEADER, FENCE_HEADER, Secret};

/// How long calls to agents may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Any call but a move.
    pub call: Duration,
    /// Preparing, sending or receiving a moving guest (copies a disk or memory).
    pub moving: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { call: Duration::from_secs(60), moving: Duration::from_secs(1800) }
    }
}

/// Makes [`RemoteHypervisor`]s, sharing one HTTP/2 client.
pub struct RemoteConnector {
    client: reqwest::Client,
    secret: Secret,
    timeouts: Timeouts,
}

impl RemoteConnector {
    pub fn new(secret: Secret, timeouts: Timeouts) -> anyhow::Result<RemoteConnector> {
        Ok(RemoteConnector { client: super::client(timeouts.call)?, secret, timeouts })
    }
}

impl Connector for RemoteConnector {
    fn connect(&self, agent: &HostAgent) -> Arc<dyn Hypervisor> {
        Arc::new(RemoteHypervisor {
            host: agent.name.clone(),
            kind: static_kind(&agent.driver),
            base: agent.url.trim_end_matches('/').to_string(),
            client: self.client.clone(),
            secret: self.secret.clone(),
            timeouts: self.timeouts,
        })
    }
}

/// The driver names ecsd knows, as the `'static` names the trait returns.
fn static_kind(driver: &str) -> &'static str {
    match driver {
        "sim" => "sim",
        "qemu-kvm" => "qemu-kvm",
        "qemu-tcg" => "qemu-tcg",
        _ => "remote",
    }
}

pub struct RemoteHypervisor {
    host: String,
    kind: &'static str,
    base: String,
    client: reqwest::Client,
    secret: Secret,
    timeouts: Timeouts,
}

impl RemoteHypervisor {
    async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let op = op_of(&call);
        let timeout = if call.is_long() { self.timeouts.moving } else { self.timeouts.call };
        let deadline = SystemTime::now() + timeout;
        let millis = deadline.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
        let url = format!("{}/internal/v1/hypervisor/{}", self.base, call.method());
        let mut request = self
            .client
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::AUTHORIZATION, self.secret.bearer())
            .header(DEADLINE_HEADER, millis.to_string())
            .json(&call.arguments());
        if let Some(fence) = ecs_hypervisor::fence::current() {
            request = request.header(FENCE_HEADER, fence.encode());
        }
        let down = |e: reqwest::Error| {
            tracing::warn!(host = %self.host, %op, error = %e, "agent unreachable");
            HypervisorError::HostDown(self.host.clone())
        };
        let response = request.send().await.map_err(down)?;
        let status = response.status();
        let reply: Reply = match response.json().await {
            Ok(reply) => reply,
            // A body cut short by a timeout or a dying agent: down.
            Err(e) if e.is_timeout() || e.is_request() || e.is_body() => return Err(down(e)),
            Err(e) => {
                let message = format!("the agent answered {status} with no reply it understood: {e}");
                return Err(HypervisorError::Failed { host: self.host.clone(), op, message });
            }
        };
        match reply {
            Reply::Ok(value) => serde_json::from_value(value).map_err(|e| HypervisorError::Failed {
                host: self.host.clone(),
                op,
                message: format!("the agent's reply is not understood: {e}"),
            }),
            Reply::Error(e) => Err(e.into_hypervisor(&self.host, op)),
        }
    }
}

#[async_trait::async_trait]
impl Hypervisor for RemoteHypervisor {
    fn host(&self) -> &str {
        &self.host
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn spawn(&self, spec: &GuestSpec) -> Result<GuestInfo> {
        self.call(Call::Spawn { spec: Box::new(spec.clone()) }).await
    }

    async fn destroy(&self, id: &str) -> Result<()> {
        self.call(Call::Destroy { id: id.into() }).await
    }

    async fn info(&self, id: &str) -> Result<Option<GuestInfo>> {
        self.call(Call::Info { id: id.into() }).await
    }

    async fn list(&self) -> Result<Vec<GuestInfo>> {
        self.call(Call::List).await
    }

    async fn power_on(&self, id: &str) -> Result<()> {
        self.call(Call::PowerOn { id: id.into() }).await
    }

    async fn power_off(&self, id: &str, graceful: bool) -> Result<()> {
        self.call(Call::PowerOff { id: id.into(), graceful }).await
    }

    async fn reboot(&self, id: &str, kind: RebootKind) -> Result<()> {
        self.call(Call::Reboot { id: id.into(), kind }).await
    }

    async fn pause(&self, id: &str) -> Result<()> {
        self.call(Call::Pause { id: id.into() }).await
    }

    async fn unpause(&self, id: &str) -> Result<()> {
        self.call(Call::Unpause { id: id.into() }).await
    }

    async fn suspend(&self, id: &str) -> Result<()> {
        self.call(Call::Suspend { id: id.into() }).await
    }

    async fn resume(&self, id: &str) -> Result<()> {
        self.call(Call::Resume { id: id.into() }).await
    }

    async fn console_log(&self, id: &str, tail: Option<usize>) -> Result<String> {
        self.call(Call::ConsoleLog { id: id.into(), tail }).await
    }

    async fn attach_disk(&self, id: &str, disk: &DiskSpec) -> Result<()> {
        self.call(Call::AttachDisk { id: id.into(), disk: disk.clone() }).await
    }

    async fn detach_disk(&self, id: &str, disk_id: &str) -> Result<()> {
        self.call(Call::DetachDisk { id: id.into(), disk_id: disk_id.into() }).await
    }

    async fn attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()> {
        self.call(Call::AttachNic { id: id.into(), nic: nic.clone() }).await
    }

    async fn detach_nic(&self, id: &str, port_id: &str) -> Result<()> {
        self.call(Call::DetachNic { id: id.into(), port_id: port_id.into() }).await
    }

    async fn resize(&self, id: &str, vcpus: u32, ram_mb: u64, root_gb: u64) -> Result<()> {
        self.call(Call::Resize { id: id.into(), vcpus, ram_mb, root_gb }).await
    }

    async fn snapshot(&self, id: &str, image_id: &str) -> Result<SnapshotImage> {
        // TODO(qemu): the image file stays on the agent's host; an API node
        // elsewhere cannot serve it until images are streamed or shared.
        self.call(Call::Snapshot { id: id.into(), image_id: image_id.into() }).await
    }

    async fn delete_disk(&self, disk_id: &str) -> Result<()> {
        self.call(Call::DeleteDisk { disk_id: disk_id.into() }).await
    }

    async fn stored_disks(&self) -> Result<Vec<String>> {
        self.call(Call::StoredDisks).await
    }

    async fn set_admin_password(&self, id: &str, password: &str) -> Result<()> {
        self.call(Call::SetAdminPassword { id: id.into(), password: password.into() }).await
    }

    async fn set_public_keys(&self, id: &str, keys: &[String]) -> Result<()> {
        self.call(Call::SetPublicKeys { id: id.into(), keys: keys.to_vec() }).await
    }

    async fn rescue(&self, id: &str, rescue: &BootSource, admin_pass: Option<&str>) -> Result<()> {
        let call = Call::Rescue { id: id.into(), rescue: rescue.clone(), admin_pass: admin_pass.map(String::from) };
        self.call(call).await
    }

    async fn unrescue(&self, id: &str) -> Result<()> {
        self.call(Call::Unrescue { id: id.into() }).await
    }

    async fn inject_nmi(&self, id: &str) -> Result<()> {
        self.call(Call::InjectNmi { id: id.into() }).await
    }

    async fn vnc_console(&self, id: &str) -> Result<ConsoleEndpoint> {
        self.call(Call::VncConsole { id: id.into() }).await
    }

    async fn prepare_incoming(&self, spec: &GuestSpec, kind: MoveKind) -> Result<IncomingGuest> {
        self.call(Call::PrepareIncoming { spec: Box::new(spec.clone()), kind }).await
    }

    async fn send_guest(&self, id: &str, to: &IncomingGuest, kind: MoveKind) -> Result<()> {
        self.call(Call::SendGuest { id: id.into(), to: to.clone(), kind }).await
    }

    async fn finish_incoming(&self, spec: &GuestSpec, kind: MoveKind, power_on: bool) -> Result<GuestInfo> {
        self.call(Call::FinishIncoming { spec: Box::new(spec.clone()), kind, power_on }).await
    }

    async fn abort_incoming(&self, id: &str) -> Result<()> {
        self.call(Call::AbortIncoming { id: id.into() }).await
    }

    async fn cancel_send(&self, id: &str) -> Result<()> {
        self.call(Call::CancelSend { id: id.into() }).await
    }

    async fn force_complete_send(&self, id: &str) -> Result<()> {
        self.call(Call::ForceCompleteSend { id: id.into() }).await
    }
}
