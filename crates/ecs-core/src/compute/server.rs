//! Server commands and queries: what both API dialects call.

use std::collections::BTreeMap;

use ecs_store::{
    ClientToken, CreateRefusal, InstanceLimits, InstanceUsage, NewServer, NewTask, ServerEdit, ServerListQuery,
    StoreError, Transition,
};
use ecs_types::server::{
    BlockDevice, FlavorSnapshot, PowerState, RequestedNic, Server, Task, TaskEvent, TaskState, VmState,
};
use ecs_types::{AuthContext, FloatingIpId, Network, NetworkId, PortId, SubnetId};
use rand::Rng;
use serde_json::{Value, json};

use super::sagas::{
    AttachInterfaceParams, CreateParams, DetachInterfaceParams, NewNic, PowerOp, PowerParams, TaskParams,
};
use super::state::{self, Action};
use crate::compute::{FailureKind, TaskFailure};
use crate::{Conflict, Core, Error, Invalid, Kind, Resource, Result, policy};

/// Nova's limit on the base64 text of `user_data`.
pub const MAX_USER_DATA_BYTES: usize = 65535;

/// Which networks a create asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkChoice {
    /// Not given (before 2.37): the project's only network, if it has one.
    Unspecified,
    /// `"auto"` (2.37+): like Unspecified, but there must be one.
    Auto,
    /// `"none"` (2.37+): no network at all.
    None,
    List(Vec<NetworkRequest>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRequest {
    pub uuid: Option<String>,
    pub fixed_ip: Option<String>,
    pub port: Option<String>,
    /// ECS `nics[].subnet_id`: the subnet of the network to use.
    pub subnet_id: Option<String>,
}

/// A personality file (Nova before 2.57): counted against the project's
/// `injected_files` quotas; ecsd's guests boot without it, as Nova's do
/// without file injection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFile {
    pub path: String,
    /// Base64, as the request gave it (Nova measures the encoded text).
    pub contents: String,
}

/// A create request after the API checked its syntax.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub name: String,
    pub flavor_ref: String,
    pub image_ref: Option<String>,
    pub networks: NetworkChoice,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub injected_files: Vec<InjectedFile>,
    pub metadata: BTreeMap<String, String>,
    pub availability_zone: Option<String>,
    pub min_count: i64,
    pub max_count: i64,
    pub security_groups: Vec<String>,
    pub block_devices: Vec<BlockDevice>,
    pub config_drive: bool,
    pub admin_pass: Option<String>,
    pub disk_config: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub hostname: Option<String>,
    pub scheduler_hints: Value,
    /// Nova 2.74 `host` and `hypervisor_hostname` (admin): build there
    /// (an ecsd host is its one hypervisor, so both name the same).
    pub requested_host: Option<String>,
    pub requested_node: Option<String>,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub request_id: String,
    /// How the servers of one request are named when there are several.
    pub naming: Naming,
    /// An EIP bound to each server's first NIC.
    pub public_ip: Option<PublicIp>,
    /// Kept with each server as given (ECS `extendparam`).
    pub extend_param: BTreeMap<String, Value>,
    /// Build the servers as the sub-jobs of one job ([`Core::server_create_job`]).
    pub as_job: bool,
    /// A job's idempotency token and a digest of its request.
    pub client_token: Option<ClientToken>,
    /// Check everything, create nothing.
    pub dry_run: bool,
}

/// Names of several servers made by one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Naming {
    /// Nova's `name-1`, `name-2`, ...
    #[default]
    Indexed,
    /// ECS's `name-0001`, ... counting on from a `-<number>` the name ends in.
    Serial,
}

/// The EIP an ECS create binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIp {
    /// An existing, unbound EIP of the project; None: allocate one.
    pub existing: Option<String>,
    pub delete_on_termination: bool,
    /// A new EIP's line (`iptype`) and dedicated bandwidth, as the EIP API shows them.
    pub ip_type: Option<String>,
    pub bandwidth_size: Option<i64>,
    pub bandwidth_charge_mode: Option<String>,
}

/// What a create answers.
#[derive(Debug, Clone)]
pub struct Created {
    pub servers: Vec<Server>,
    pub reservation_id: String,
    pub admin_pass: String,
    /// The ECS job the servers are built under.
    pub job_id: Option<String>,
}

/// What `create` did.
enum Outcome {
    Created(Created),
    /// A dry run passed.
    Checked,
    /// The client token was used before, for this job.
    Replay(ecs_store::TokenUse),
}

/// What a create as a job answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCreated {
    Started {
        job_id: String,
        server_ids: Vec<String>,
    },
    /// A `dry_run` that passed.
    Checked,
}

/// [`Naming::Serial`] for several servers of one name: `-0001`, `-0002`, ... or,
/// when the name ends in `-<number>`, counting on from that number.
fn ecs_names(name: &str, count: i64) -> Vec<String> {
    if count == 1 {
        return vec![name.to_string()];
    }
    let (stem, first) = match name.rsplit_once('-') {
        Some((stem, n)) if !n.is_empty() && n.len() <= 4 && n.chars().all(|c| c.is_ascii_digit()) => {
            (stem, n.parse().unwrap_or(1))
        }
        _ => (name, 1),
    };
    (0..count).map(|i| format!("{stem}-{:04}", first + i)).collect()
}

/// Nova's `sanitize_hostname` (since Wallaby): Latin-1 only, the first 63
/// characters, spaces, underscores and dots as hyphens, word characters
/// and hyphens kept, lower case, no leading or trailing `-` or `.`
/// (`guest-1.domain.com` becomes `guest-1-domain-com`).
pub fn sanitize_hostname(name: &str) -> String {
    let latin1 = name.chars().filter(|c| u32::from(*c) <= 0xFF).take(63);
    let out: String = latin1
        .map(|c| if matches!(c, ' ' | '_' | '.') { '-' } else { c })
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_lowercase();
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// A password like Nova's `generate_password`: 12 characters from an
/// alphabet without look-alikes.
pub(crate) fn generate_password() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut rng = ecs_types::random::rng();
    (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

fn reservation_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = ecs_types::random::rng();
    let tail: String = (0..8).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("r-{tail}")
}

fn not_found(id: &str) -> Error {
    Error::not_found(Kind::Server, id)
}

fn network_visible(ctx: &AuthContext, n: &Network) -> bool {
    n.shared || ctx.is_admin() || n.project_id.as_deref() == ctx.project_id()
}

/// A task record of `kind` on `server` (a saga's, a job's or an action
/// the API did alone).
fn new_task(ctx: &AuthContext, kind: &str, server_id: &str, request_id: &str) -> NewTask {
    NewTask {
        id: ecs_types::random::uuid().to_string(),
        parent_id: None,
        kind: kind.into(),
        server_id: Some(server_id.into()),
        project_id: ctx.project_id().unwrap_or_default().into(),
        user_id: ctx.user_id.clone(),
        request_id: request_id.into(),
        params: json!({}),
        finished: false,
        events: Vec::new(),
        failure: None,
        failure_reason: None,
    }
}

/// The task that runs the saga `params` on server `server_id`.
fn saga_task(ctx: &AuthContext, server_id: &str, params: TaskParams, request_id: &str) -> NewTask {
    let mut task = new_task(ctx, params.kind().as_str(), server_id, request_id);
    task.params = params.to_value();
    task
}

/// Nova's 403 for a request beyond a quota limit.
pub(crate) fn quota_exceeded(r: ecs_store::QuotaRefusal) -> Error {
    let resource = Resource::parse(r.resource).unwrap_or(Resource::Instances);
    Error::quota(resource, r.requested, r.used, r.limit)
}

/// The state change that starts `action`, with the task that carries it out.
pub(crate) fn transition(action: Action, task: NewTask) -> Transition<'static> {
    Transition {
        from: action.allowed_vm_states().unwrap_or(VmState::ALL),
        from_tasks: action.allowed_task_states().unwrap_or(TaskState::ALL),
        task_state: action.task_state(),
        task: Some(task),
    }
}

/// An instance action and its events, as Nova lists them.
#[derive(Debug, Clone)]
pub struct InstanceAction {
    pub action: &'static str,
    pub task: Task,
    pub events: Vec<TaskEvent>,
}

impl Core {
    /// The quota limits that apply to a project (the defaults, overridden
    /// per project).
    pub async fn instance_limits(&self, project_id: &str) -> Result<InstanceLimits> {
        let set = self.store.quota_limits(project_id).await?;
        let d = self.default_limits().await?;
        let limit = |name: &str| set.get(name).or_else(|| d.get(name)).copied().unwrap_or(-1);
        Ok(InstanceLimits { instances: limit("instances"), cores: limit("cores"), ram_mb: limit("ram") })
    }

    async fn resolve_networks(
        &self,
        ctx: &AuthContext,
        choice: &NetworkChoice,
        max_count: i64,
    ) -> Result<Vec<RequestedNic>> {
        if *choice == NetworkChoice::None {
            return Ok(Vec::new());
        }
        let visible = self.networks(ctx).await?;
        // External networks are floating-IP pools: never chosen for a NIC on their own.
        let internal: Vec<&Network> = visible.iter().filter(|n| !n.external).collect();
        match choice {
            NetworkChoice::None => Ok(Vec::new()),
            NetworkChoice::Unspecified | NetworkChoice::Auto => match internal.as_slice() {
                [] if *choice == NetworkChoice::Auto => {
                    Err(Error::invalid("Unable to automatically allocate a network for project"))
                }
                [] => Ok(Vec::new()),
                [only] => Ok(vec![RequestedNic { network_id: only.id.clone(), ..Default::default() }]),
                _ => Err(Conflict::MultipleNetworks.into()),
            },
            NetworkChoice::List(list) => {
                let mut nics = Vec::new();
                for req in list {
                    if let Some(port) = &req.port {
                        if max_count > 1 {
                            return Err(Error::invalid(
                                "Unable to launch multiple instances with a single configured port ID. Please \
                                 launch your instance one by one with different ports.",
                            ));
                        }
                        let port = self.usable_port(ctx, port).await?;
                        nics.push(RequestedNic {
                            network_id: port.network_id,
                            port_id: Some(port.id),
                            ..Default::default()
                        });
                        continue;
                    }
                    let uuid = req.uuid.as_deref().unwrap_or_default();
                    let Some(network) = visible.iter().find(|n| n.id == uuid) else {
                        return Err(Error::unknown(Kind::Network, uuid));
                    };
                    if let Some(ip) = &req.fixed_ip {
                        if max_count > 1 {
                            return Err(Invalid::FixedIpWithCount.into());
                        }
                        self.check_fixed_ip(network, req.subnet_id.as_deref(), ip).await?;
                    }
                    nics.push(RequestedNic {
                        network_id: network.id.clone(),
                        fixed_ip: req.fixed_ip.clone(),
                        port_id: None,
                        subnet_id: req.subnet_id.clone(),
                    });
                }
                Ok(nics)
            }
        }
    }

    /// A port of the caller's that no server holds (400 if unknown, 409 if bound).
    async fn usable_port(&self, ctx: &AuthContext, id: &str) -> Result<ecs_types::server::ServerPort> {
        let port = self.store.port_get(id).await.map_err(Error::not_found_or(|| Error::unknown(Kind::Port, id)))?;
        if !ctx.is_admin() && Some(port.project_id.as_str()) != ctx.project_id() {
            return Err(Error::unknown(Kind::Port, id));
        }
        if !port.server_id.is_empty() {
            return Err(Conflict::PortInUse { id: id.to_string() }.into());
        }
        Ok(port)
    }

    /// The EIP a create binds: an existing one of the project's that no
    /// port holds, or a pool to allocate one from.
    async fn check_public_ip(&self, ctx: &AuthContext, public_ip: Option<&PublicIp>) -> Result<()> {
        match public_ip {
            None => Ok(()),
            Some(PublicIp { existing: Some(id), .. }) => {
                let eip = self.floating_ip(ctx, id).await.map_err(|e| match e {
                    Error::NotFound { kind, id } => Error::Invalid(Invalid::Unknown { kind, id }),
                    other => other,
                })?;
                match eip.port_id {
                    Some(_) => Err(Invalid::FloatingIpBound { id: id.clone() }.into()),
                    None => Ok(()),
                }
            }
            Some(PublicIp { existing: None, .. }) if self.floating_ip_pools(ctx).await?.is_empty() => {
                Err(Error::unknown(Kind::FloatingIpPool, ""))
            }
            Some(_) => Ok(()),
        }
    }

    /// Checks a fixed IP asked for on `network`: inside one of its subnets
    /// (the one named, if any) and free.
    pub(crate) async fn check_fixed_ip(&self, network: &Network, subnet_id: Option<&str>, ip: &str) -> Result<()> {
        let addr: std::net::IpAddr = ip.parse().map_err(|_| Invalid::InvalidFixedIp { ip: ip.to_string() })?;
        let subnets = self.store.subnet_list(&network.id).await?;
        let mut candidates = subnets.iter().filter(|s| subnet_id.is_none_or(|id| s.id == id));
        if !candidates.any(|s| s.cidr.parse::<ipnet::IpNet>().is_ok_and(|net| net.contains(&addr))) {
            return Err(Invalid::FixedIpOutsideNetwork { ip: ip.to_string(), network_id: network.id.clone() }.into());
        }
        if self.store.port_address_in_use(&network.id, ip).await? {
            return Err(Invalid::FixedIpInUse { ip: ip.to_string() }.into());
        }
        Ok(())
    }

    /// Creates `min_count`..`max_count` servers and queues their builds.
    pub async fn server_create(&self, ctx: &AuthContext, req: CreateRequest) -> Result<Created> {
        policy::authorize_write(ctx, "os_compute_api:servers:create")?;
        match self.create(ctx, req).await? {
            Outcome::Created(created) => Ok(created),
            Outcome::Checked | Outcome::Replay(_) => Err(Error::internal("a Nova create made no servers")),
        }
    }

    /// A create as one job (the ECS-native create): `count` servers (all
    /// or none) built as its sub-jobs; a request repeated with its client
    /// token gets the first one's job back.
    pub async fn server_create_job(&self, ctx: &AuthContext, req: CreateRequest) -> Result<JobCreated> {
        policy::authorize_write(ctx, "os_compute_api:servers:create")?;
        let project_id = policy::project_of(ctx)?.to_string();
        let token = req.client_token.clone();
        let earlier = match &token {
            Some(t) => self.store.client_token_get(&project_id, &t.token).await?,
            None => None,
        };
        let earlier = match earlier {
            Some(earlier) => earlier,
            None => match self.create(ctx, req).await? {
                Outcome::Created(created) => {
                    return Ok(JobCreated::Started {
                        job_id: created.job_id.unwrap_or_default(),
                        server_ids: created.servers.into_iter().map(|s| s.id).collect(),
                    });
                }
                Outcome::Checked => return Ok(JobCreated::Checked),
                Outcome::Replay(earlier) => earlier,
            },
        };
        if token.is_some_and(|t| t.request_hash != earlier.request_hash) {
            return Err(Conflict::ClientTokenReused.into());
        }
        let sub_jobs = self.store.task_children(&earlier.task_id).await?;
        Ok(JobCreated::Started {
            job_id: earlier.task_id,
            server_ids: sub_jobs.into_iter().filter_map(|t| t.server_id).collect(),
        })
    }

    async fn create(&self, ctx: &AuthContext, req: CreateRequest) -> Result<Outcome> {
        let project_id = policy::project_of(ctx)?.to_string();
        if req.min_count > req.max_count {
            return Err(Error::invalid("min_count must be <= max_count"));
        }
        super::metadata::check_tags(&req.tags)?;
        let flavor = self
            .store
            .flavor_get(&req.flavor_ref)
            .await
            .map_err(Error::not_found_or(|| Error::unknown(Kind::Flavor, &req.flavor_ref)))?;
        if flavor.disabled {
            return Err(Invalid::FlavorDisabled.into());
        }
        if !self.flavor_usable(ctx, &flavor).await? {
            return Err(Error::unknown(Kind::Flavor, &req.flavor_ref));
        }

        // The boot source: an image, or a block device with boot_index 0.
        let boot_device = req.block_devices.iter().find(|b| b.boot_index == Some(0));
        let volume_backed = boot_device.is_some_and(|b| b.destination_type == "volume");
        let image_ref = match boot_device {
            Some(b) if b.source_type == "image" => b.uuid.clone(),
            Some(_) if volume_backed => None,
            _ if req.image_ref.is_some() => req.image_ref.clone(),
            _ => {
                return Err(Error::invalid(
                    "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device \
                     mapping combination is not valid.",
                ));
            }
        };
        for b in req.block_devices.iter().filter(|b| b.destination_type == "volume") {
            let id = b.uuid.clone().unwrap_or_default();
            match b.source_type.as_str() {
                "volume" => {
                    let volume = self.volume(ctx, &id).await.map_err(|_| Error::unknown(Kind::Volume, &id))?;
                    if volume.status != "available" {
                        return Err(Error::invalid(format!(
                            "Invalid volume: Volume {id} status must be available, but current status is: {}",
                            volume.status
                        )));
                    }
                    if req.max_count > 1 {
                        return Err(Error::invalid("Cannot attach one or more volumes to multiple instances"));
                    }
                }
                "snapshot" => {
                    self.snapshot(ctx, &id).await.map_err(|_| Error::unknown(Kind::Snapshot, &id))?;
                }
                "image" => {
                    let size = b.volume_size.unwrap_or(0);
                    let image = self.image(ctx, &id).await.map_err(|_| Error::unknown(Kind::Image, &id))?;
                    // The image must fit: its own size and the minimum it asks for.
                    let image_gb = (image.size_bytes + (1 << 30) - 1) >> 30;
                    let min_gb = image.min_disk_gb.max(image_gb).max(1);
                    if size < min_gb {
                        return Err(Invalid::RootDiskTooSmall { size_gb: size, min_gb }.into());
                    }
                }
                _ => {
                    if b.volume_size.unwrap_or(0) < 1 {
                        return Err(Error::invalid(
                            "Block Device Mapping is Invalid: a blank volume needs a volume_size.",
                        ));
                    }
                }
            }
        }
        for b in &req.block_devices {
            if b.source_type == "blank" && b.destination_type == "local" {
                let size = b.volume_size.unwrap_or(0);
                if b.guest_format.as_deref() == Some("swap") {
                    if size > flavor.swap_mb {
                        return Err(Error::invalid("Swap drive requested is larger than instance type allows."));
                    }
                } else if size > flavor.ephemeral_gb {
                    return Err(Error::invalid(
                        "Ephemeral disks requested are larger than the instance type allows. If no size is given \
                         in one block device mapping, flavor ephemeral size will be used.",
                    ));
                }
            }
        }
        if req.block_devices.iter().filter(|b| b.guest_format.as_deref() == Some("swap")).count() > 1 {
            return Err(Error::invalid("More than one swap drive requested."));
        }
        let mut image_name = None;
        if let Some(image_id) = &image_ref {
            let image =
                self.boot_image(ctx, &project_id, image_id, flavor.ram_mb, flavor.disk_gb, volume_backed).await?;
            image_name = Some(image.name);
        }
        let flavor_names = [flavor.id.as_str(), flavor.name.as_str()];
        let image_names = [image_ref.as_deref().unwrap_or_default(), image_name.as_deref().unwrap_or_default()];
        if let Some((code, message)) = self.scenarios.create_request(&flavor_names, &image_names, &req.name) {
            return Err(Invalid::Injected { code, message }.into());
        }
        let key_data = match &req.key_name {
            Some(name) => Some(
                self.store
                    .keypair_get(&ctx.user_id, name)
                    .await
                    .map_err(Error::not_found_or(|| {
                        Error::unknown(Kind::Keypair { user_id: ctx.user_id.clone() }, name)
                    }))?
                    .public_key,
            ),
            None => None,
        };
        if let Some(az) = &req.availability_zone {
            // The scheduler's view knows the zones: no scan of the hosts per create.
            if !self.host_view(false).await?.has_zone(az) {
                return Err(Invalid::AvailabilityZone.into());
            }
        }
        self.check_metadata_quota(&project_id, req.metadata.len()).await?;
        self.check_injected_files_quota(&project_id, &req.injected_files).await?;
        self.check_public_ip(ctx, req.public_ip.as_ref()).await?;
        let nics = self.resolve_networks(ctx, &req.networks, req.max_count).await?;
        let groups = self.security_groups_named(ctx, &req.security_groups).await?;
        let server_group = self.hinted_group(ctx, &req.scheduler_hints, req.max_count).await?.map(|g| g.id);
        self.check_tenancy_hints(&project_id, &req.scheduler_hints, req.availability_zone.as_deref()).await?;
        let requested_host =
            self.requested_destination(ctx, req.requested_host.as_deref(), req.requested_node.as_deref()).await?;
        let group_ids: Vec<String> = groups.iter().map(|(id, _)| id.clone()).collect();
        let group_names: Vec<String> = groups.iter().map(|(_, name)| name.clone()).collect();

        let limits = self.instance_limits(&project_id).await?;
        let per_server = InstanceUsage { instances: 1, cores: flavor.vcpus, ram_mb: flavor.ram_mb };
        // The volumes a server's build makes count against the EVS quota (Cinder's volumes and gigabytes).
        let new_volumes: Vec<&BlockDevice> =
            req.block_devices.iter().filter(|b| b.destination_type == "volume" && b.source_type != "volume").collect();
        let disks = ecs_store::DiskQuota {
            per_server_volumes: new_volumes.len() as i64,
            per_server_gb: new_volumes.iter().map(|b| b.volume_size.unwrap_or(0)).sum(),
            max_volumes: self.config.quota.volumes,
            max_gb: self.config.quota.gigabytes,
        };
        if req.dry_run {
            let used = self.store.instance_usage(&project_id).await?;
            let volumes = self.store.volume_list(Some(&project_id)).await?;
            let used_gb = volumes.iter().map(|v| v.size_gb).sum();
            let n = req.min_count;
            let wanted = [
                ("instances", limits.instances, used.instances, n),
                ("cores", limits.cores, used.cores, n * flavor.vcpus),
                ("ram", limits.ram_mb, used.ram_mb, n * flavor.ram_mb),
                ("volumes", disks.max_volumes, volumes.len() as i64, n * disks.per_server_volumes),
                ("gigabytes", disks.max_gb, used_gb, n * disks.per_server_gb),
            ];
            if let Some((resource, limit, used, requested)) =
                wanted.into_iter().find(|(_, limit, used, requested)| *limit >= 0 && used + requested > *limit)
            {
                return Err(quota_exceeded(ecs_store::QuotaRefusal { resource, requested, used, limit }));
            }
            return Ok(Outcome::Checked);
        }
        // An ECS create is one job; each server's build is a sub-job.
        let job = req.as_job.then(|| {
            let mut task = new_task(ctx, "createServer", "", &req.request_id);
            task.server_id = None;
            task.params = json!({"count": req.max_count});
            // The job has no steps: its state is its sub-jobs'.
            task.finished = true;
            ecs_store::CreateJob { task, client_token: req.client_token.clone() }
        });
        let job_id = job.as_ref().map(|j| j.task.id.clone());
        let build_params = CreateParams {
            requested_host,
            publicip: req.public_ip.as_ref().map(|eip| super::sagas::PublicIp {
                id: eip.existing.as_deref().map(FloatingIpId::new),
                delete_on_termination: eip.delete_on_termination,
                ip_type: eip.ip_type.clone(),
                bandwidth_size: eip.bandwidth_size,
                bandwidth_charge_mode: eip.bandwidth_charge_mode.clone(),
            }),
        };
        let extend_param = req.extend_param.clone();
        let snapshot = FlavorSnapshot::of(&flavor);
        let reservation = reservation_id();
        let admin_pass = req.admin_pass.clone().unwrap_or_else(generate_password);
        let now = ecs_types::clock::now();
        let build = |count: i64| {
            (0..count)
                .map(|index| {
                    let id = ecs_types::random::uuid().to_string();
                    let serial = count > 1 && req.naming == Naming::Serial;
                    let name = match count {
                        1 => req.name.clone(),
                        _ if serial => ecs_names(&req.name, count).swap_remove(index as usize),
                        _ => format!("{}-{}", req.name, index + 1),
                    };
                    // Nova's: the requested hostname as given, else the
                    // sanitized name (Nova's indexed after sanitizing).
                    let hostname = match &req.hostname {
                        Some(h) => h.clone(),
                        None => {
                            let base = sanitize_hostname(if serial { &name } else { &req.name });
                            if base.is_empty() {
                                format!("Server-{id}")
                            } else if count > 1 && !serial {
                                format!("{base}-{}", index + 1)
                            } else {
                                base
                            }
                        }
                    };
                    let server = Server {
                        id: id.clone(),
                        project_id: project_id.clone(),
                        user_id: ctx.user_id.clone(),
                        name,
                        hostname,
                        description: req.description.clone(),
                        flavor: snapshot.clone(),
                        // A volume-backed server shows no image, as in Nova.
                        image_id: image_ref.clone().filter(|_| !volume_backed),
                        image_name: image_name.clone(),
                        key_name: req.key_name.clone(),
                        key_data: key_data.clone(),
                        user_data: req.user_data.clone(),
                        metadata: req.metadata.clone(),
                        tags: req.tags.clone(),
                        security_groups: group_names.clone(),
                        block_devices: req
                            .block_devices
                            .iter()
                            .map(|b| {
                                let mut b = b.clone();
                                if b.destination_type == "volume" {
                                    b.volume_id = Some(match b.source_type.as_str() {
                                        "volume" => b.uuid.clone().unwrap_or_default(),
                                        _ => ecs_types::random::uuid().to_string(),
                                    });
                                }
                                b
                            })
                            .collect(),
                        requested_networks: nics.clone(),
                        availability_zone: req.availability_zone.clone(),
                        config_drive: req.config_drive,
                        disk_config: req.disk_config.clone(),
                        access_ipv4: req.access_ipv4.clone(),
                        access_ipv6: req.access_ipv6.clone(),
                        reservation_id: reservation.clone(),
                        launch_index: index,
                        vm_state: VmState::Building,
                        task_state: Some(TaskState::Scheduling),
                        power_state: PowerState::NoState,
                        locked_by: None,
                        locked_reason: None,
                        host: None,
                        fault: None,
                        scheduler_hints: req.scheduler_hints.clone(),
                        launched_at: None,
                        terminated_at: None,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                        ports: Vec::new(),
                        volumes: Vec::new(),
                        floating_ips: Vec::new(),
                        server_groups: server_group.iter().cloned().collect(),
                        image_properties: BTreeMap::new(),
                        resize: None,
                        password: None,
                        attached_keys: BTreeMap::new(),
                        extend_param: extend_param.clone(),
                    };
                    let mut task = saga_task(ctx, &id, TaskParams::Create(build_params.clone()), &req.request_id);
                    task.parent_id = job_id.clone();
                    NewServer {
                        server,
                        task,
                        security_group_ids: group_ids.clone(),
                        server_group_id: server_group.clone(),
                    }
                })
                .collect()
        };
        let created = self
            .store
            .server_create_batch(
                &project_id,
                ecs_store::CreateQuota {
                    per_server,
                    limits,
                    disks,
                    min_count: req.min_count,
                    max_count: req.max_count,
                },
                job.as_ref(),
                build,
            )
            .await?;
        let servers = match created {
            Ok(servers) => servers,
            Err(CreateRefusal::Quota(refusal)) => return Err(quota_exceeded(refusal)),
            Err(CreateRefusal::Replay(earlier)) => return Ok(Outcome::Replay(earlier)),
        };
        self.wake.notify();
        Ok(Outcome::Created(Created { servers, reservation_id: reservation, admin_pass, job_id }))
    }

    /// The images the caller may boot from.
    /// The image a server boots from, checked as Nova does: visible to the
    /// project, active, and fitting a flavor of `ram_mb` and `disk_gb`
    /// (a volume-backed root and disk-0 flavors skip the disk checks).
    pub(crate) async fn boot_image(
        &self,
        ctx: &AuthContext,
        project_id: &str,
        image_id: &str,
        ram_mb: i64,
        disk_gb: i64,
        volume_backed: bool,
    ) -> Result<ecs_types::Image> {
        let image = self
            .store
            .image_get(image_id)
            .await
            .map_err(Error::not_found_or(|| Error::unknown(Kind::Image, image_id)))?;
        if !self.image_visible_to(ctx, project_id, &image).await? {
            return Err(Error::unknown(Kind::Image, image_id));
        }
        if image.status != "active" {
            return Err(Invalid::ImageNotActive { id: image_id.to_string() }.into());
        }
        if ram_mb < image.min_ram_mb {
            return Err(Invalid::FlavorRamTooSmall.into());
        }
        let image_gb = (image.size_bytes + (1 << 30) - 1) >> 30;
        if !volume_backed && disk_gb > 0 && (disk_gb < image.min_disk_gb || disk_gb < image_gb) {
            return Err(Invalid::FlavorDiskTooSmall.into());
        }
        Ok(image)
    }

    pub async fn images(&self, ctx: &AuthContext) -> Result<Vec<ecs_types::Image>> {
        // What Glance lists by default: public images, the project's own, and
        // those shared with it that it accepted.
        let project = ctx.project_id();
        Ok(self
            .glance_images(ctx)
            .await?
            .into_iter()
            .filter(|v| {
                let i = &v.image.image;
                ctx.is_admin()
                    || i.visibility == "public"
                    || i.owner_project_id.as_deref() == project
                    || v.member_status.as_deref() == Some("accepted")
            })
            .map(|v| v.image.image)
            .collect())
    }

    /// The networks the caller may attach servers to.
    pub async fn networks(&self, ctx: &AuthContext) -> Result<Vec<Network>> {
        Ok(self.store.network_list().await?.into_iter().filter(|n| network_visible(ctx, n)).collect())
    }

    /// A server the caller may see: their project's, or any for an admin.
    pub async fn server_get(&self, ctx: &AuthContext, id: &str) -> Result<Server> {
        let server = self.store.server_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        let visible = ctx.is_admin() || Some(server.project_id.as_str()) == ctx.project_id();
        if !visible || server.deleted_at.is_some() {
            return Err(not_found(id));
        }
        Ok(server)
    }

    /// Lists servers. Non-admins are confined to their project whatever
    /// the query says.
    pub async fn server_list(&self, ctx: &AuthContext, mut q: ServerListQuery) -> Result<Vec<Server>> {
        if !ctx.is_admin() {
            q.project_id = Some(policy::project_of(ctx)?.to_string());
            q.host = None;
            q.deleted = false;
        }
        self.store.server_list(&q).await.map_err(|e| match e {
            StoreError::NotFound => Error::unknown(Kind::Marker, q.marker.clone().unwrap_or_default()),
            other => other.into(),
        })
    }

    /// The task that carries out `params` on `server`, owned by the server's project.
    pub(crate) fn task_for(&self, ctx: &AuthContext, server: &Server, params: TaskParams, request_id: &str) -> NewTask {
        let mut task = saga_task(ctx, &server.id, params, request_id);
        task.project_id = server.project_id.clone();
        task
    }

    pub(crate) fn check_locked(&self, ctx: &AuthContext, server: &Server, action: Action) -> Result<()> {
        if server.locked() && action.refused_when_locked() && !ctx.is_admin() {
            let by_admin = server.locked_by.as_deref() == Some("admin");
            return Err(Error::Locked { server_id: server.id.clone(), by_admin });
        }
        Ok(())
    }

    pub async fn server_edit(&self, ctx: &AuthContext, id: &str, edit: ServerEdit) -> Result<Server> {
        policy::authorize_write(ctx, Action::Update.rule())?;
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, Action::Update)?;
        self.store.server_edit(id, &edit).await.map_err(Error::not_found_or(|| not_found(id)))?;
        self.server_get(ctx, id).await
    }

    /// Starts a power action (stop, start, reboot, pause, …).
    pub async fn server_power(&self, ctx: &AuthContext, id: &str, action: Action, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, action.rule())?;
        let op = match action {
            Action::Stop => PowerOp::Stop,
            Action::Start => PowerOp::Start,
            Action::Reboot { hard: false } => PowerOp::SoftReboot,
            Action::Reboot { hard: true } => PowerOp::HardReboot,
            Action::Pause => PowerOp::Pause,
            Action::Unpause => PowerOp::Unpause,
            Action::Suspend => PowerOp::Suspend,
            Action::Resume => PowerOp::Resume,
            other => return Err(Error::Internal(format!("{} is not a power action", other.name()))),
        };
        self.start_task(ctx, id, action, TaskParams::Power(PowerParams::new(op)), request_id).await
    }

    /// Stops a server; `force` powers it off without asking the guest.
    pub async fn server_stop(&self, ctx: &AuthContext, id: &str, force: bool, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, Action::Stop.rule())?;
        let server = self.server_get(ctx, id).await?;
        let params = TaskParams::Power(PowerParams { op: PowerOp::Stop, force });
        self.check_and_queue(ctx, &server, Action::Stop, params, request_id).await?;
        Ok(())
    }

    /// Deletes a server: queued behind whatever it is doing.
    pub async fn server_delete(&self, ctx: &AuthContext, id: &str, force: bool, request_id: &str) -> Result<()> {
        let action = if force { Action::ForceDelete } else { Action::Delete };
        policy::authorize_write(ctx, action.rule())?;
        if !force {
            // Under `reclaim_instance_interval` a delete is deferred.
            let server = self.server_get(ctx, id).await?;
            if self.defers_delete(&server) {
                return self.server_soft_delete(ctx, &server, request_id).await;
            }
        }
        self.start_task(ctx, id, action, TaskParams::Delete(Default::default()), request_id).await
    }

    async fn start_task(
        &self,
        ctx: &AuthContext,
        id: &str,
        action: Action,
        params: TaskParams,
        request_id: &str,
    ) -> Result<()> {
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, action)?;
        state::check(action, &server)?;
        self.require_host_for(action, &server).await?;
        if action == Action::Delete && server.task_state == Some(TaskState::Deleting) {
            // Already being deleted: Nova answers 204 again.
            return Ok(());
        }
        self.queue_task(ctx, &server, action, params, request_id).await.map(|_| ())
    }

    /// Moves the server into the action's task state and queues the task
    /// that carries it out, in one transaction; 409 if the server changed
    /// state since it was read. Returns the task id.
    pub(crate) async fn queue_task(
        &self,
        ctx: &AuthContext,
        server: &Server,
        action: Action,
        params: TaskParams,
        request_id: &str,
    ) -> Result<String> {
        let task = self.task_for(ctx, server, params, request_id);
        self.queue(ctx, server, action, task).await
    }

    /// [`Core::queue_task`] for a task already made (a sub-task of a job).
    pub(crate) async fn queue(
        &self,
        ctx: &AuthContext,
        server: &Server,
        action: Action,
        task: NewTask,
    ) -> Result<String> {
        let task_id = task.id.clone();
        if !self.store.server_transition(&server.id, &transition(action, task)).await? {
            // Someone changed it between our read and the write.
            let now = self.server_get(ctx, &server.id).await?;
            return Err(state::invalid_state(action, &now));
        }
        self.wake.notify();
        Ok(task_id)
    }

    /// Locks a server (2.73: with a reason). Recorded as an instance action.
    pub async fn server_lock(
        &self,
        ctx: &AuthContext,
        id: &str,
        lock: bool,
        reason: Option<&str>,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, if lock { Action::Lock } else { Action::Unlock }.rule())?;
        let server = self.server_get(ctx, id).await?;
        if !lock && server.locked() && !ctx.is_admin() && server.locked_by.as_deref() == Some("admin") {
            return Err(policy::forbidden("os_compute_api:os-lock-server:unlock:unlock_override"));
        }
        let by = if ctx.is_admin() && server.user_id != ctx.user_id { "admin" } else { "owner" };
        self.store
            .server_set_lock(id, lock.then_some(by), if lock { reason } else { None })
            .await
            .map_err(Error::not_found_or(|| not_found(id)))?;
        self.record_api_action(ctx, &server, if lock { "lock" } else { "unlock" }, request_id).await
    }

    /// Records an action done by the API alone as a finished instance action.
    pub(crate) async fn record_api_action(
        &self,
        ctx: &AuthContext,
        server: &Server,
        name: &str,
        request_id: &str,
    ) -> Result<()> {
        let mut task = new_task(ctx, name, &server.id, request_id);
        task.project_id = server.project_id.clone();
        task.finished = true;
        task.events = vec![format!("api_{name}")];
        self.store.task_insert(&task).await?;
        Ok(())
    }

    /// Admin `os-resetState`.
    pub async fn server_reset_state(&self, ctx: &AuthContext, id: &str, vm_state: VmState) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:os-admin-actions:reset_state")?;
        self.server_get(ctx, id).await?;
        self.store.server_reset_state(id, vm_state).await.map_err(Error::not_found_or(|| not_found(id)))?;
        Ok(())
    }

    /// Admin `injectNetworkInfo`: Nova has the host's driver write the
    /// server's network configuration into the guest; neither of ecsd's
    /// drivers injects files (guests learn their network by DHCP), so, as
    /// with Nova's libvirt driver, nothing changes. Nova records no
    /// instance action for it and lets any state through; its lock check
    /// never stops the admin who alone may call it.
    pub async fn server_inject_network_info(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        // Nova finds the server before it asks the policy.
        self.server_get(ctx, id).await?;
        policy::require_admin(ctx, "os_compute_api:os-admin-actions:inject_network_info")
    }

    /// The guest's console, its last `length` lines if given, counted as
    /// Nova counts them (see [`console_tail`]).
    pub async fn server_console_output(&self, ctx: &AuthContext, id: &str, length: Option<usize>) -> Result<String> {
        policy::authorize_write(ctx, Action::ConsoleOutput.rule())?;
        let server = self.server_get(ctx, id).await?;
        state::check(Action::ConsoleOutput, &server)?;
        let driver = server.host.as_deref().and_then(|h| self.drivers.get(h));
        let Some(driver) = driver else {
            return Err(Conflict::NoConsole { server_id: id.to_string() }.into());
        };
        // The driver's tail holds at least the pieces Nova's count keeps.
        let log = driver.console_log(id, length).await.map_err(|e| match e {
            ecs_hypervisor::HypervisorError::NotFound(_) => Conflict::NoConsole { server_id: id.to_string() }.into(),
            other => Error::Internal(other.to_string()),
        })?;
        Ok(match length {
            Some(n) => console_tail(&log, n).to_string(),
            None => log,
        })
    }

    /// A server's instance actions, newest first. Deleted servers keep theirs.
    pub async fn instance_actions(&self, ctx: &AuthContext, id: &str) -> Result<Vec<InstanceAction>> {
        let server = self.store.server_get(id).await.map_err(Error::not_found_or(|| not_found(id)))?;
        if !(ctx.is_admin() || Some(server.project_id.as_str()) == ctx.project_id()) {
            return Err(not_found(id));
        }
        let tasks = self.store.task_list_for_server(id).await?;
        Ok(tasks
            .into_iter()
            .map(|task| InstanceAction { action: action_name(&task.kind), task, events: Vec::new() })
            .collect())
    }

    /// One instance action with its events, by request id.
    pub async fn instance_action(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<InstanceAction> {
        let mut action = self
            .instance_actions(ctx, id)
            .await?
            .into_iter()
            .find(|a| a.task.request_id == request_id)
            .ok_or_else(|| Error::not_found(Kind::InstanceAction { server_id: id.to_string() }, request_id))?;
        action.events = self.store.task_events(&action.task.id).await?;
        // An event recorded without a host ran where the server is.
        let host = self.store.server_get(id).await.ok().and_then(|s| s.host);
        for event in action.events.iter_mut().filter(|e| e.host.is_none()) {
            event.host = host.clone();
        }
        Ok(action)
    }
}

/// A NIC to attach: a new port on a network (optionally on one of its
/// subnets, with a fixed IP) or an existing port.
#[derive(Debug, Clone)]
pub enum InterfaceRequest {
    Network { net_id: String, subnet_id: Option<String>, fixed_ip: Option<String> },
    Port(String),
}

impl Core {
    /// A server's ports (`os-interface`).
    pub async fn interfaces(&self, ctx: &AuthContext, server_id: &str) -> Result<Vec<ecs_types::server::ServerPort>> {
        Ok(self.server_get(ctx, server_id).await?.ports)
    }

    /// Attaches a NIC and waits for it, as Nova's synchronous attach does.
    pub async fn interface_attach(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        req: InterfaceRequest,
        request_id: &str,
    ) -> Result<ecs_types::server::ServerPort> {
        policy::authorize_write(ctx, Action::AttachInterface.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        let (task_id, port_id) = self.interface_attach_start(ctx, &server, &req, None, request_id).await?;
        self.wait_task(&task_id, |why| match crate::job::failure_error(why) {
            // Nova's NoMoreFixedIps is the caller's problem (400); anything else is ours.
            Some(no_address @ Error::Invalid(Invalid::NoFixedIpLeft)) => no_address,
            _ => Error::Internal(format!("Failed to attach network adapter device to {server_id}: {}", why.message)),
        })
        .await?;
        self.store.port_get(&port_id).await.map_err(Error::from)
    }

    /// Checks a NIC attach and queues its task (a sub-task of job `parent`
    /// if given) without waiting; returns the task id and the NIC's port id.
    pub async fn interface_attach_start(
        &self,
        ctx: &AuthContext,
        server: &Server,
        req: &InterfaceRequest,
        parent: Option<&str>,
        request_id: &str,
    ) -> Result<(String, String)> {
        policy::authorize_write(ctx, Action::AttachInterface.rule())?;
        let (port_id, params) = match req {
            InterfaceRequest::Port(port) => {
                let port = self.usable_port(ctx, port).await?;
                let nic = NewNic::Existing { existing_port: "yes".into() };
                (port.id.clone(), AttachInterfaceParams { port_id: PortId::new(&port.id), nic })
            }
            InterfaceRequest::Network { net_id, subnet_id, fixed_ip } => {
                let network = self
                    .networks(ctx)
                    .await?
                    .into_iter()
                    .find(|n| &n.id == net_id)
                    .ok_or_else(|| Error::not_found(Kind::Network, net_id.as_str()))?;
                if let Some(ip) = fixed_ip {
                    self.check_fixed_ip(&network, subnet_id.as_deref(), ip).await?;
                }
                let port_id = ecs_types::random::uuid().to_string();
                let nic = NewNic::Network {
                    net_id: NetworkId::new(net_id),
                    subnet_id: subnet_id.as_deref().map(SubnetId::new),
                    fixed_ip: fixed_ip.clone(),
                };
                (port_id.clone(), AttachInterfaceParams { port_id: PortId::new(port_id), nic })
            }
        };
        let params = TaskParams::AttachInterface(params);
        let task_id =
            self.check_and_queue_child(ctx, server, Action::AttachInterface, params, parent, request_id).await?;
        Ok((task_id, port_id))
    }

    /// Detaches a NIC (asynchronously, as Nova does).
    pub async fn interface_detach(
        &self,
        ctx: &AuthContext,
        server_id: &str,
        port_id: &str,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, Action::DetachInterface.rule())?;
        let server = self.server_get(ctx, server_id).await?;
        self.interface_detach_start(ctx, &server, port_id, None, request_id).await?;
        Ok(())
    }

    /// Checks a NIC detach and queues its task (a sub-task of job `parent`
    /// if given); returns the task id.
    pub async fn interface_detach_start(
        &self,
        ctx: &AuthContext,
        server: &Server,
        port_id: &str,
        parent: Option<&str>,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::DetachInterface.rule())?;
        if !server.ports.iter().any(|p| p.id == port_id) {
            return Err(Error::not_found(Kind::Interface, port_id));
        }
        let params = TaskParams::DetachInterface(DetachInterfaceParams { port_id: PortId::new(port_id) });
        self.check_and_queue_child(ctx, server, Action::DetachInterface, params, parent, request_id).await
    }

    /// Checks the lock and the state for `action`, then queues its task.
    pub(crate) async fn check_and_queue(
        &self,
        ctx: &AuthContext,
        server: &Server,
        action: Action,
        params: TaskParams,
        request_id: &str,
    ) -> Result<String> {
        self.check_and_queue_child(ctx, server, action, params, None, request_id).await
    }

    /// [`Core::check_and_queue`] for a sub-task of job `parent` (if given).
    pub(crate) async fn check_and_queue_child(
        &self,
        ctx: &AuthContext,
        server: &Server,
        action: Action,
        params: TaskParams,
        parent: Option<&str>,
        request_id: &str,
    ) -> Result<String> {
        self.check_locked(ctx, server, action)?;
        state::check(action, server)?;
        self.require_host_for(action, server).await?;
        let mut task = self.task_for(ctx, server, params, request_id);
        task.parent_id = parent.map(String::from);
        self.queue(ctx, server, action, task).await
    }

    /// Waits until a task ends; its failure (with the step's message, if
    /// any) becomes `failed(message)`.
    pub(crate) async fn wait_task(&self, task_id: &str, failed: impl FnOnce(&TaskFailure) -> Error) -> Result<()> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let task = self.store.task_get(task_id).await?;
            if let Some(failure) = TaskFailure::of(&task) {
                return Err(failed(&failure));
            }
            match task.phase {
                ecs_types::server::TaskPhase::Succeeded => return Ok(()),
                _ if tokio::time::Instant::now() > deadline => {
                    return Err(failed(&TaskFailure::new(FailureKind::Other, "timed out")));
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }
}

fn action_name(kind: &str) -> &'static str {
    match super::TaskKind::parse(kind) {
        Some(k) => k.action(),
        None => match kind {
            "lock" => "lock",
            "unlock" => "unlock",
            "monitorMetrics" => "monitorMetrics",
            "trigger_crash_dump" => "trigger_crash_dump",
            _ => "unknown",
        },
    }
}

/// The last `length` lines of a console log as Nova counts them: the log
/// cut at its newlines, so that a final newline ends an empty last piece
/// that counts as a line (`length: 3` of `a\nb\nc\n` is `b\nc\n`).
fn console_tail(log: &str, length: usize) -> &str {
    if length == 0 {
        return "";
    }
    match log.rmatch_indices('\n').nth(length - 1) {
        Some((newline, _)) => &log[newline + 1..],
        None => log,
    }
}

#[cfg(test)]
mod tests {
    use super::{console_tail, sanitize_hostname};

    #[test]
    fn console_tail_counts_pieces_between_newlines() {
        assert_eq!(console_tail("a\nb\nc\n", 3), "b\nc\n");
        assert_eq!(console_tail("a\nb\nc\n", 1), "");
        assert_eq!(console_tail("a\nb\nlogin: ", 2), "b\nlogin: ");
        assert_eq!(console_tail("a\nb\n", 10), "a\nb\n");
        assert_eq!(console_tail("a\nb\n", 0), "");
        assert_eq!(console_tail("", 3), "");
    }

    #[test]
    fn hostnames_are_sanitized_as_nova_does() {
        for (name, hostname) in [
            ("guest-instance-1.domain.com", "guest-instance-1-domain-com"),
            ("My Server_1", "my-server-1"),
            ("..-web01-..", "web01"),
            ("café☕", "café"),
            ("a@b#c", "abc"),
            ("☕☕", ""),
        ] {
            assert_eq!(sanitize_hostname(name), hostname, "{name}");
        }
        // Cut to 63 before anything is removed, as Nova cuts.
        assert_eq!(sanitize_hostname(&format!("{}!!", "x".repeat(62))), "x".repeat(62));
        assert_eq!(sanitize_hostname(&"y".repeat(80)).len(), 63);
    }
}
