//! The guest as a server describes it, for the steps that build one.

use ecs_hypervisor::{BootSource, DiskSpec, GuestSpec, NicSpec, SubnetSpec};
use ecs_store::StoreError;
use ecs_types::server::{Server, ServerPort};

use super::StepError;
use crate::Core;

pub(super) fn nic_spec(p: &ServerPort) -> NicSpec {
    NicSpec {
        port_id: p.id.clone(),
        network_id: p.network_id.clone(),
        mac: p.mac.clone(),
        ip: p.address.parse().ok(),
        subnet: None,
    }
}

/// The guest as the server describes it: what it boots, its attached
/// volumes (those made from an image start as that image's file) and the
/// subnets of its NICs.
pub(super) async fn full_spec(core: &Core, server: &Server) -> Result<GuestSpec, StepError> {
    let mut spec = guest_spec(server);
    let image_of = |volume_id: &str| {
        server
            .block_devices
            .iter()
            .find(|b| b.volume_id.as_deref() == Some(volume_id) && b.source_type == "image")
            .and_then(|b| b.uuid.clone())
    };
    let boot_image = server.image_id.clone().or_else(|| {
        let boot = server.block_devices.iter().find(|b| b.boot_index == Some(0))?;
        image_of(boot.volume_id.as_deref()?)
    });
    if let Some(image) = boot_image {
        spec.boot = image_boot(core, &image).await?;
    }
    for v in core.store.volumes_of_server(&server.id).await? {
        let Some(attachment) = v.attachment else { continue };
        let source = match image_of(&v.id) {
            Some(image) => image_boot(core, &image).await?.disk,
            None => None,
        };
        spec.disks.push(DiskSpec { id: v.id, size_gb: v.size_gb as u64, device: attachment.device, source });
    }
    for nic in &mut spec.nics {
        nic.subnet = nic_subnet(core, nic).await?;
    }
    Ok(spec)
}

/// The files an image boots from (none for an image without them, or gone).
pub(super) async fn image_boot(core: &Core, image_id: &str) -> Result<BootSource, StepError> {
    match core.store.image_get(image_id).await {
        Ok(image) => Ok(BootSource::from_properties(&image.properties)),
        Err(StoreError::NotFound) => Ok(BootSource::default()),
        Err(e) => Err(e.into()),
    }
}

/// The subnet a NIC's address is on, for the guest's static configuration.
pub(super) async fn nic_subnet(core: &Core, nic: &NicSpec) -> Result<Option<SubnetSpec>, StepError> {
    let Some(ip) = nic.ip else { return Ok(None) };
    let subnets = core.store.subnet_list(&nic.network_id).await?;
    Ok(subnets
        .into_iter()
        .find(|s| s.cidr.parse::<ipnet::IpNet>().is_ok_and(|net| net.contains(&ip)))
        .map(|s| SubnetSpec { cidr: s.cidr, gateway: s.gateway_ip, dns: s.dns_nameservers }))
}

/// What the hypervisor needs to build the guest.
fn guest_spec(server: &Server) -> GuestSpec {
    let nics = server.ports.iter().map(nic_spec).collect();
    GuestSpec {
        id: server.id.clone(),
        name: server.name.clone(),
        hostname: server.hostname.clone(),
        project_id: server.project_id.clone(),
        availability_zone: server.availability_zone.clone(),
        key_name: server.key_name.clone(),
        vcpus: server.flavor.vcpus as u32,
        ram_mb: server.flavor.ram_mb as u64,
        root_gb: server.flavor.disk_gb as u64,
        ephemeral_gb: server.flavor.ephemeral_gb as u64,
        swap_mb: server.flavor.swap_mb as u64,
        image_id: server.image_id.clone(),
        image_name: server.image_name.clone(),
        boot: BootSource::default(),
        nics,
        disks: Vec::new(),
        user_data: server.user_data.as_deref().and_then(|u| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(u).ok()
        }),
        admin_pass: None,
        public_keys: server.public_keys(),
        metadata: server.metadata.clone(),
    }
}
