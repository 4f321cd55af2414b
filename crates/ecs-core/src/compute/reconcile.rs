//! Keeps hypervisors and records in agreement after a crash or a host's
//! return: a guest whose server is gone, or lives on another host, is
//! destroyed (Nova's `_cleanup_running_deleted_instances`), unless a task
//! of that server is still to run and will see to it.

use std::collections::HashSet;

use crate::{Core, Result};

impl Core {
    /// Destroys the guests no live server owns. Returns how many went.
    pub async fn reconcile_guests(&self) -> Result<usize> {
        let mut removed = 0;
        for driver in self.drivers.all() {
            let guests = match driver.list().await {
                Ok(g) => g,
                Err(e) => {
                    tracing::warn!(host = driver.host(), error = %e, "cannot list guests; skipping host");
                    continue;
                }
            };
            let owned: HashSet<String> = self.store.server_ids_on_host(driver.host()).await?.into_iter().collect();
            for guest in guests {
                if owned.contains(&guest.id) || self.store.task_unfinished_for_server(&guest.id).await? {
                    continue;
                }
                tracing::warn!(host = driver.host(), guest = %guest.id, "destroying a guest that no server owns");
                match driver.destroy(&guest.id).await {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!(guest = %guest.id, error = %e, "destroying a leaked guest failed"),
                }
            }
        }
        Ok(removed)
    }
}
