//! Ports as Neutron shows them: a project's addresses on a network, made
//! ahead of a server (`POST /ports`) or by a server's NIC, and deleted
//! only while no server holds them.

use ecs_store::PortRefusal;
use ecs_types::AuthContext;
use ecs_types::server::ServerPort;

use crate::{Conflict, Core, Error, Invalid, Kind, Result, policy};

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::Port, id)
}

impl Core {
    /// The caller's ports (every port for an admin).
    pub async fn ports(&self, ctx: &AuthContext) -> Result<Vec<ServerPort>> {
        let project = if ctx.is_admin() { None } else { Some(policy::project_of(ctx)?) };
        Ok(self.store.port_list(project).await?)
    }

    /// A port the caller may see: their project's, or any for an admin.
    pub async fn port(&self, ctx: &AuthContext, id: &str) -> Result<ServerPort> {
        let port = self.store.port_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        if ctx.is_admin() || Some(port.project_id.as_str()) == ctx.project_id() { Ok(port) } else { Err(not_found(id)) }
    }

    /// A port on a network the caller sees, with `fixed_ip` or the next
    /// free address.
    pub async fn port_create(
        &self,
        ctx: &AuthContext,
        network_id: &str,
        name: &str,
        fixed_ip: Option<&str>,
    ) -> Result<ServerPort> {
        policy::authorize_write(ctx, "create_port")?;
        let project = policy::project_of(ctx)?;
        let network = self.network(ctx, network_id).await?;
        match self.store.port_create(project, &network.id, name, fixed_ip).await? {
            Ok(port) => Ok(port),
            Err(PortRefusal::AddressInUse(ip)) => Err(Invalid::FixedIpInUse { ip }.into()),
            Err(PortRefusal::Exhausted) => Err(Invalid::NoFixedIpLeft.into()),
            Err(other) => Err(Error::invalid(format!("Invalid fixed IP for network {network_id}: {other:?}"))),
        }
    }

    /// Deletes a port no server holds.
    pub async fn port_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "delete_port")?;
        self.port(ctx, id).await?;
        self.store
            .port_delete(id)
            .await
            .map_err(Error::not_found_as(Kind::Port, id))?
            .map_err(|_| Conflict::PortInUse { id: id.to_string() }.into())
    }
}
