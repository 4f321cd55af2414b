//! A hypervisor driver wrapped so that every call is counted and timed
//! (`ecsd_hypervisor_operations_total`, `…_duration_seconds`), whichever
//! driver it is (simulated, QEMU, an agent's). The drivers the core holds
//! are wrapped when they are added.

use std::sync::Arc;

use ecs_hypervisor::{
    BootSource, ConsoleEndpoint, DiskSpec, GuestInfo, GuestSpec, Hypervisor, IncomingGuest, MoveKind, NicSpec,
    RebootKind, Result, SnapshotImage,
};

use super::Metrics;

pub(crate) struct Metered {
    pub(crate) inner: Arc<dyn Hypervisor>,
    pub(crate) metrics: Arc<Metrics>,
}

impl Metered {
    async fn timed<T>(&self, op: &str, call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let started = super::timed();
        let result = call.await;
        self.metrics.hypervisor_op(self.inner.kind(), op, result.is_ok(), started.elapsed());
        result
    }
}

#[async_trait::async_trait]
impl Hypervisor for Metered {
    fn host(&self) -> &str {
        self.inner.host()
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn spawn(&self, spec: &GuestSpec) -> Result<GuestInfo> {
        self.timed("spawn", self.inner.spawn(spec)).await
    }

    async fn destroy(&self, id: &str) -> Result<()> {
        self.timed("destroy", self.inner.destroy(id)).await
    }

    async fn info(&self, id: &str) -> Result<Option<GuestInfo>> {
        self.timed("info", self.inner.info(id)).await
    }

    async fn list(&self) -> Result<Vec<GuestInfo>> {
        self.timed("list", self.inner.list()).await
    }

    async fn power_on(&self, id: &str) -> Result<()> {
        self.timed("power_on", self.inner.power_on(id)).await
    }

    async fn power_off(&self, id: &str, graceful: bool) -> Result<()> {
        self.timed("power_off", self.inner.power_off(id, graceful)).await
    }

    async fn reboot(&self, id: &str, kind: RebootKind) -> Result<()> {
        self.timed("reboot", self.inner.reboot(id, kind)).await
    }

    async fn pause(&self, id: &str) -> Result<()> {
        self.timed("pause", self.inner.pause(id)).await
    }

    async fn unpause(&self, id: &str) -> Result<()> {
        self.timed("unpause", self.inner.unpause(id)).await
    }

    async fn suspend(&self, id: &str) -> Result<()> {
        self.timed("suspend", self.inner.suspend(id)).await
    }

    async fn resume(&self, id: &str) -> Result<()> {
        self.timed("resume", self.inner.resume(id)).await
    }

    async fn console_log(&self, id: &str, tail: Option<usize>) -> Result<String> {
        self.timed("console_log", self.inner.console_log(id, tail)).await
    }

    async fn attach_disk(&self, id: &str, disk: &DiskSpec) -> Result<()> {
        self.timed("attach_disk", self.inner.attach_disk(id, disk)).await
    }

    async fn detach_disk(&self, id: &str, disk_id: &str) -> Result<()> {
        self.timed("detach_disk", self.inner.detach_disk(id, disk_id)).await
    }

    async fn attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()> {
        self.timed("attach_nic", self.inner.attach_nic(id, nic)).await
    }

    async fn detach_nic(&self, id: &str, port_id: &str) -> Result<()> {
        self.timed("detach_nic", self.inner.detach_nic(id, port_id)).await
    }

    async fn resize(&self, id: &str, vcpus: u32, ram_mb: u64, root_gb: u64) -> Result<()> {
        self.timed("resize", self.inner.resize(id, vcpus, ram_mb, root_gb)).await
    }

    async fn snapshot(&self, id: &str, image_id: &str) -> Result<SnapshotImage> {
        self.timed("snapshot", self.inner.snapshot(id, image_id)).await
    }

    async fn delete_disk(&self, disk_id: &str) -> Result<()> {
        self.timed("delete_disk", self.inner.delete_disk(disk_id)).await
    }

    async fn stored_disks(&self) -> Result<Vec<String>> {
        self.timed("stored_disks", self.inner.stored_disks()).await
    }

    async fn set_admin_password(&self, id: &str, password: &str) -> Result<()> {
        self.timed("set_admin_password", self.inner.set_admin_password(id, password)).await
    }

    async fn set_public_keys(&self, id: &str, keys: &[String]) -> Result<()> {
        self.timed("set_public_keys", self.inner.set_public_keys(id, keys)).await
    }

    async fn vnc_console(&self, id: &str) -> Result<ConsoleEndpoint> {
        self.timed("vnc_console", self.inner.vnc_console(id)).await
    }

    async fn rescue(&self, id: &str, rescue: &BootSource, admin_pass: Option<&str>) -> Result<()> {
        self.timed("rescue", self.inner.rescue(id, rescue, admin_pass)).await
    }

    async fn unrescue(&self, id: &str) -> Result<()> {
        self.timed("unrescue", self.inner.unrescue(id)).await
    }

    async fn inject_nmi(&self, id: &str) -> Result<()> {
        self.timed("inject_nmi", self.inner.inject_nmi(id)).await
    }

    async fn prepare_incoming(&self, spec: &GuestSpec, kind: MoveKind) -> Result<IncomingGuest> {
        self.timed("prepare_incoming", self.inner.prepare_incoming(spec, kind)).await
    }

    async fn send_guest(&self, id: &str, to: &IncomingGuest, kind: MoveKind) -> Result<()> {
        self.timed("send_guest", self.inner.send_guest(id, to, kind)).await
    }

    async fn finish_incoming(&self, spec: &GuestSpec, kind: MoveKind, power_on: bool) -> Result<GuestInfo> {
        self.timed("finish_incoming", self.inner.finish_incoming(spec, kind, power_on)).await
    }

    async fn abort_incoming(&self, id: &str) -> Result<()> {
        self.timed("abort_incoming", self.inner.abort_incoming(id)).await
    }

    async fn cancel_send(&self, id: &str) -> Result<()> {
        self.timed("cancel_send", self.inner.cancel_send(id)).await
    }

    async fn send_progress(&self, id: &str) -> Result<Option<f64>> {
        self.timed("send_progress", self.inner.send_progress(id)).await
    }

    async fn force_complete_send(&self, id: &str) -> Result<()> {
        self.timed("force_complete_send", self.inner.force_complete_send(id)).await
    }

    async fn receive_incoming_file(
        &self,
        id: &str,
        name: &str,
        body: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<()> {
        self.timed("receive_incoming_file", self.inner.receive_incoming_file(id, name, body)).await
    }

    fn as_sim(&self) -> Option<&ecs_hypervisor::sim::SimHypervisor> {
        self.inner.as_sim()
    }
}
