//! The compute hosts as the API shows them (availability zones,
//! hypervisors, services): their records and whether this process drives
//! them.

use std::sync::Arc;

use ecs_hypervisor::Hypervisor;
use ecs_store::HostRegistration;
use ecs_types::server::ComputeHost;

use crate::{Core, Result};

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
