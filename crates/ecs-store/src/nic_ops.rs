//! ECS NIC changes that keep the port: its delete-on-termination flag and
//! its place (network, subnet, address).

use crate::port::{PortRefusal, choose_address, port_from_row};
use crate::{Store, StoreError, StoreResult};
use ecs_types::server::ServerPort;

impl Store {
    /// Whether the port goes with its server (`delete_on_termination`):
    /// stored as its opposite, `preserve_on_delete`.
    pub async fn port_set_preserve(&self, id: &str, preserve: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE ports SET preserve_on_delete = $1 WHERE id = $2")
            .bind(preserve)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Moves a port to `network_id` (its `subnet_id`, if named) at
    /// `fixed_ip`, or at the lowest free address when None; the port keeps
    /// its id, MAC and server.
    pub async fn port_move(
        &self,
        id: &str,
        network_id: &str,
        subnet_id: Option<&str>,
        fixed_ip: Option<&str>,
    ) -> StoreResult<Result<ServerPort, PortRefusal>> {
        let mut tx = self.write.begin().await?;
        let (subnet, address) = match choose_address(&mut tx, self.backend, network_id, subnet_id, fixed_ip).await? {
            Ok(place) => place,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let done = sqlx::query("UPDATE ports SET network_id = $1, subnet_id = $2, address = $3 WHERE id = $4")
            .bind(network_id)
            .bind(&subnet)
            .bind(&address)
            .bind(id)
            .execute(&mut *tx)
            .await;
        match done.map_err(StoreError::from) {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Ok(Err(PortRefusal::AddressInUse(address))),
            Err(e) => return Err(e),
        }
        let row = sqlx::query(
            "SELECT p.id, p.server_id, p.network_id, n.name AS network_name, p.subnet_id, p.address, p.mac, \
             p.nic_index, p.project_id, p.name, p.preserve_on_delete FROM ports p \
             JOIN networks n ON n.id = p.network_id WHERE p.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let port = port_from_row(&row)?;
        tx.commit().await?;
        Ok(Ok(port))
    }
}
