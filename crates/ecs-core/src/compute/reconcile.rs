//! Keeps hypervisors and records in agreement after a crash or a host's
//! return: a guest whose server is gone, or lives on another host, is
//! destroyed (Nova's `_cleanup_running_deleted_instances`), unless a task
//! of that server is still to run and will see to it; a guest that died
//! while nobody watched makes its server SHUTOFF (Nova's
//! `_sync_power_states`); a volume file that no volume owns is removed.

use std::collections::HashSet;

use ecs_hypervisor::Hypervisor;
use ecs_store::{ServerUpdate, StoreError};
use ecs_types::server::{PowerState, VmState};

use crate::{Core, Result};

/// What one reconciliation pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Guests destroyed because no server owns them.
    pub leaked_guests: usize,
    /// Servers found running in the records but shut down on their host.
    pub stopped_servers: usize,
    /// Volume files removed because no volume owns them.
    pub leaked_disks: usize,
}

impl Core {
    /// Destroys the guests no live server owns and brings the power state
    /// of the others' servers in line with their hosts.
    pub async fn reconcile_guests(&self) -> Result<Reconciled> {
        let mut done = Reconciled::default();
        for driver in self.drivers.all() {
            let one = self.reconcile_host(driver.as_ref()).await?;
            done.leaked_guests += one.leaked_guests;
            done.stopped_servers += one.stopped_servers;
            done.leaked_disks += one.leaked_disks;
        }
        Ok(done)
    }

    /// [`Core::reconcile_guests`] for one host, the hypervisor that drives
    /// it (local, or an agent's): also what a host that comes back after
    /// being down runs, to destroy its copies of evacuated servers.
    pub async fn reconcile_host(&self, driver: &dyn Hypervisor) -> Result<Reconciled> {
        let mut done = Reconciled::default();
        let guests = match driver.list().await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(host = driver.host(), error = %e, "cannot list guests; skipping host");
                return Ok(done);
            }
        };
        let owned: HashSet<String> = self.store.server_ids_on_host(driver.host()).await?.into_iter().collect();
        for guest in guests {
            if self.store.task_unfinished_for_server(&guest.id).await? {
                continue;
            }
            if owned.contains(&guest.id) {
                if self.sync_power_state(&guest.id, guest.power_state).await? {
                    done.stopped_servers += 1;
                }
                continue;
            }
            tracing::warn!(host = driver.host(), guest = %guest.id, "destroying a guest that no server here owns");
            match driver.destroy(&guest.id).await {
                Ok(()) => done.leaked_guests += 1,
                Err(e) => tracing::warn!(guest = %guest.id, error = %e, "destroying a leaked guest failed"),
            }
        }
        for disk in driver.stored_disks().await.unwrap_or_default() {
            match self.store.volume_get(&disk).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    tracing::warn!(host = driver.host(), volume = %disk, "removing a volume file no volume owns");
                    match driver.delete_disk(&disk).await {
                        Ok(()) => done.leaked_disks += 1,
                        Err(e) => tracing::warn!(volume = %disk, error = %e, "removing a leaked volume failed"),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// An ACTIVE server whose guest is found shut down (it powered off,
    /// or its process died) becomes SHUTOFF, as Nova's power-state sync
    /// stops it. Returns whether it changed.
    async fn sync_power_state(&self, id: &str, on_host: PowerState) -> Result<bool> {
        if !matches!(on_host, PowerState::Shutdown | PowerState::Crashed) {
            return Ok(false);
        }
        let server = self.store.server_get(id).await?;
        if server.vm_state != VmState::Active || server.task_state.is_some() {
            return Ok(false);
        }
        tracing::warn!(server = id, "the guest is not running: the server is now SHUTOFF");
        let update = ServerUpdate {
            vm_state: Some(VmState::Stopped),
            power_state: Some(PowerState::Shutdown),
            ..Default::default()
        };
        self.store.server_update(id, &update).await?;
        Ok(true)
    }
}
