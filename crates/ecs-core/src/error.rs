//! The one domain error of ecsd. Lower layers have their own error types
//! (`StoreError`); the API layer maps this enum to HTTP in one place per
//! dialect (`nova/error.rs`, `ecs/error.rs`, `identity/error.rs`, the
//! Neutron and Glance renderers), by variant, never by message text.
//!
//! Each variant says what failed and carries what a dialect needs to word
//! it. The `Display` text below is the OpenStack wording (Nova, Keystone,
//! Cinder, Neutron as their clients and tests read it); it is also what a
//! failed task records, so it lives here, once. The ECS dialect picks its
//! `Ecs.XXXX` code by variant and keeps this text as the message.

use std::fmt;

use ecs_store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No such thing, or not visible to the caller (404).
    NotFound { kind: Kind, id: String },
    /// The server's state forbids the action (409).
    InvalidState { action: &'static str, server_id: String, attr: StateAttr, state: String },
    /// The server is locked (409); `by_admin` when an admin locked it.
    Locked { server_id: String, by_admin: bool },
    /// A quota would be exceeded (403 on Nova paths).
    QuotaExceeded { resource: Resource, requested: i64, used: i64, limit: i64 },
    /// No host can take the server (the scheduler's refusal).
    NoValidHost { reason: String },
    /// Bad input that passed the dialect's syntax checks (400).
    Invalid(Invalid),
    /// Clashes with what exists (409).
    Conflict(Conflict),
    /// The caller may not do this (403).
    Forbidden(Forbidden),
    /// Missing, wrong, expired or revoked credentials (401).
    Unauthorized(Unauthorized),
    /// A failure of ours, not the caller's (500). The detail is logged,
    /// never shown.
    Internal(String),
    /// A feature the deployment's drivers do not have (Nova's 501).
    Unsupported,
}

impl std::error::Error for Error {}

/// What a `NotFound` (or an unknown reference in a request) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Server,
    Flavor,
    /// A project (`id`) without access to this private flavor.
    FlavorAccess {
        flavor_id: String,
    },
    /// The access list of a public flavor (`id`), which has none.
    PublicFlavorAccess,
    /// A flavor's extra spec `id` of this flavor.
    ExtraSpec {
        flavor_id: String,
    },
    Image,
    /// A project an image is (not) shared with.
    ImageMember {
        image_id: String,
    },
    Network,
    Subnet,
    Port,
    /// A port that is not one of the server's NICs.
    Interface,
    Volume,
    /// A volume not attached to this server.
    VolumeAttachment {
        server_id: String,
    },
    /// A volume attachment named by volume id (Nova's swap path).
    AttachmentOf,
    Snapshot,
    /// A Cinder volume type by id or name.
    VolumeType,
    /// A Cinder attachment by id.
    CinderAttachment,
    /// A metadata key of a Cinder volume or snapshot (`owner`: its id).
    CinderMetadata {
        owner: String,
    },
    /// A key pair of this user.
    Keypair {
        user_id: String,
    },
    /// A key pair named on a server action.
    KeypairName,
    /// A key pair not attached to this server (ECS key detach).
    AttachedKeypair {
        server_id: String,
    },
    SecurityGroup,
    SecurityGroupRule,
    /// A security group by name or id in this project.
    SecurityGroupName {
        project_id: String,
    },
    /// A security group (by the name given) the server is not in.
    SecurityGroupMember {
        server_id: String,
    },
    ServerGroup,
    FloatingIp,
    FloatingIpAddress,
    FloatingIpPool,
    /// An EIP's bandwidth (Huawei's EIP API).
    Bandwidth,
    /// No free address left in the pool `id`.
    FreeFloatingIp,
    MetadataItem,
    Tag,
    /// An instance action by request id on this server.
    InstanceAction {
        server_id: String,
    },
    ConsoleToken,
    Job,
    /// A compute host by name (os-hosts).
    Host,
    /// A host aggregate by id.
    Aggregate,
    /// A host not in the aggregate (or either unknown), by host name.
    AggregateHost {
        aggregate_id: String,
    },
    /// A compute host by name (os-aggregates, evacuate and migrate targets).
    ComputeHost,
    /// A dedicated host (ECS DeH) by id, unknown or another project's.
    DedicatedHost,
    /// A host name no cell maps (os-hosts `show`).
    HostMapping,
    /// A hypervisor by id.
    Hypervisor,
    /// A service (os-services) by id.
    Service,
    /// A service named by host (`id`) and binary (pre-2.53 os-services).
    HostBinary {
        binary: String,
    },
    /// A hypervisor hostname pattern that matches none.
    HypervisorMatch,
    /// A Keystone domain (only the default one exists).
    Domain,
    Project,
    User,
    Role,
    /// A role assignment of `id` (the role) to this user in this project.
    RoleAssignment {
        user_id: String,
        project_id: String,
    },
    /// A role the user does not hold on the project (check_grant).
    HeldRole,
    Credential,
    /// A Keystone application credential of a user.
    ApplicationCredential,
    /// An access rule of a user's application credentials.
    AccessRule,
    Token,
    /// A paging marker that names nothing.
    Marker,
    /// A migration (by Nova's integer id) of this server.
    Migration {
        server_id: String,
    },
    /// An in-progress live migration of this server.
    LiveMigration {
        server_id: String,
    },
    /// A Neutron router.
    Router,
    /// A router interface named by port (or by subnet) this router lacks.
    RouterInterface {
        router_id: String,
        by_subnet: bool,
    },
    /// No router joins external network `id` to the port's subnet
    /// (Neutron's `ExternalGatewayForFloatingIPNotFound`).
    ExternalGateway {
        subnet_id: String,
        port_id: String,
    },
    /// An ECS launch template of the project.
    LaunchTemplate,
    /// An ECS scheduled event of the project.
    ScheduledEvent,
    /// A snapshot of the whole service (ecsd's admin API), by name.
    StateSnapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAttr {
    VmState,
    TaskState,
}

/// A quota resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Instances,
    Cores,
    Ram,
    MetadataItems,
    ImageMetadata,
    /// Personality files (Nova's injected files, before 2.57): how many …
    InjectedFiles,
    /// … the longest path …
    InjectedFilePathBytes,
    /// … and the longest (base64) contents.
    InjectedFileContentBytes,
    FloatingIps,
    KeyPairs,
    SecurityGroups,
    SecurityGroupRules,
    ServerGroups,
    ServerGroupMembers,
    /// EVS disks (Cinder volumes).
    Volumes,
    /// EVS capacity in GB (Cinder gigabytes).
    Gigabytes,
    Snapshots,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Instances => "instances",
            Resource::Cores => "cores",
            Resource::Ram => "ram",
            Resource::MetadataItems => "metadata_items",
            Resource::ImageMetadata => "image_metadata",
            Resource::InjectedFiles => "injected_files",
            Resource::InjectedFilePathBytes => "injected_file_path_bytes",
            Resource::InjectedFileContentBytes => "injected_file_content_bytes",
            Resource::FloatingIps => "floating_ips",
            Resource::KeyPairs => "key_pairs",
            Resource::SecurityGroups => "security_groups",
            Resource::SecurityGroupRules => "security_group_rules",
            Resource::ServerGroups => "server_groups",
            Resource::ServerGroupMembers => "server_group_members",
            Resource::Volumes => "volumes",
            Resource::Gigabytes => "gigabytes",
            Resource::Snapshots => "snapshots",
        }
    }

    pub fn parse(name: &str) -> Option<Resource> {
        Some(match name {
            "instances" => Resource::Instances,
            "cores" => Resource::Cores,
            "ram" => Resource::Ram,
            "volumes" => Resource::Volumes,
            "gigabytes" => Resource::Gigabytes,
            "snapshots" => Resource::Snapshots,
            _ => return None,
        })
    }
}

/// Bad input. The typed cases are the rules a dialect words with its own
/// code; `Other` is input only one dialect can send, in its wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A fault scenario's rule refused the request with this ECS error
    /// code (ECS answers the code; Nova the code's status with the message).
    Injected {
        code: String,
        message: Option<String>,
    },
    /// The request names a thing that does not exist (a 400, not a 404:
    /// the path named something else).
    Unknown {
        kind: Kind,
        id: String,
    },
    FlavorDisabled,
    ImageNotActive {
        id: String,
    },
    FlavorRamTooSmall,
    FlavorDiskTooSmall,
    /// The boot volume is smaller than the image needs.
    RootDiskTooSmall {
        size_gb: i64,
        min_gb: i64,
    },
    InvalidFixedIp {
        ip: String,
    },
    FixedIpOutsideNetwork {
        ip: String,
        network_id: String,
    },
    FixedIpInUse {
        ip: String,
    },
    /// The network has no free address left.
    NoFixedIpLeft,
    /// A fixed IP or port asked for with more than one server.
    FixedIpWithCount,
    /// An availability zone no host is in.
    AvailabilityZone,
    /// The EIP named by a create is bound to another port.
    FloatingIpBound {
        id: String,
    },
    /// The system disk (boot volume) cannot be detached.
    SystemDiskDetach,
    /// The system disk's attachment attributes cannot be changed (ECS).
    SystemDiskChange,
    /// The volume is attached already (`here`: to the server named).
    VolumeAttached {
        id: String,
        server_id: String,
        here: bool,
    },
    /// The volume is not in a state the action needs.
    VolumeState {
        id: String,
        status: String,
    },
    /// More tags than a server may hold.
    TooManyTags {
        max: usize,
    },
    /// A tag with a control character (it would reach headers and logs).
    TagCharacters {
        tag: String,
    },
    /// A batch of `given` servers, none or more than `max`.
    BatchSize {
        given: usize,
        max: usize,
    },
    /// Resizing to the flavor the server has.
    SameFlavor,
    /// Evacuating from a host whose service is up (Nova's 400).
    HostStillUp {
        host: String,
    },
    /// Evacuating to the host the server is on.
    SameHost,
    /// An ECS migrate to the dedicated host the server is on.
    SameDedicatedHost,
    /// Auto recovery for a server whose flavor's `cond:compute` leaves it out.
    NoAutoRecovery {
        flavor: String,
    },
    /// An ECS NIC change of a NIC that is not the server's primary one.
    NotPrimaryNic {
        id: String,
    },
    /// A quota call for a project the identity service does not know
    /// (Nova's `verify_project_id`).
    NotAProject {
        id: String,
    },
    /// A rule of the network service, by its Neutron fault name (the
    /// other dialects word it as bad input).
    Neutron {
        fault: &'static str,
        message: String,
    },
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// An `X-Client-Token` used before with another request.
    ClientTokenReused,
    PortInUse {
        id: String,
    },
    MultipleNetworks,
    /// The device path is taken on the server.
    DeviceInUse {
        device: String,
    },
    /// No console for the server's guest.
    NoConsole {
        server_id: String,
    },
    /// The server's host is down: the action needs it.
    HostUnavailable,
    /// A compute service still has servers (os-services delete).
    HostHasServers,
    /// A clash the network service names (`SecurityGroupRuleExists`,
    /// `RouterInUse`, …), by its Neutron fault name.
    Neutron {
        fault: &'static str,
        message: String,
    },
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// The policy `rule` refuses the caller.
    Policy {
        rule: String,
    },
    /// The call needs a project-scoped token.
    ProjectScope,
    /// A billing change (pay-per-use to yearly/monthly): ecsd's accounts
    /// have no payment method.
    NoPaymentMethod,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unauthorized {
    /// Bad, expired or revoked credentials.
    Credentials,
    /// A console token that is unknown or expired (shown shortened).
    ConsoleToken { shown: String },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Invalid(e)
    }
}

impl From<Conflict> for Error {
    fn from(e: Conflict) -> Self {
        Error::Conflict(e)
    }
}

impl Error {
    /// For a `StoreError::NotFound` that means "the thing the caller named".
    pub fn not_found_or(make: impl FnOnce() -> Error) -> impl FnOnce(StoreError) -> Error {
        move |e| match e {
            StoreError::NotFound => make(),
            other => other.into(),
        }
    }

    /// For a store call whose `StoreError::NotFound` means the `kind` `id`
    /// the caller named is gone: chiefly a delete that found nothing to
    /// delete because a concurrent one won the race (a 404, never a 500).
    pub fn not_found_as(kind: Kind, id: &str) -> impl FnOnce(StoreError) -> Error + '_ {
        Error::not_found_or(move || Error::not_found(kind, id))
    }

    pub fn not_found(kind: Kind, id: impl Into<String>) -> Error {
        Error::NotFound { kind, id: id.into() }
    }

    /// A reference in a request to something that does not exist (400).
    pub fn unknown(kind: Kind, id: impl Into<String>) -> Error {
        Error::Invalid(Invalid::Unknown { kind, id: id.into() })
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(Invalid::Other(message.into()))
    }

    pub fn conflict(message: impl Into<String>) -> Error {
        Error::Conflict(Conflict::Other(message.into()))
    }

    pub fn quota(resource: Resource, requested: i64, used: i64, limit: i64) -> Error {
        Error::QuotaExceeded { resource, requested, used, limit }
    }

    pub fn internal(detail: impl fmt::Display) -> Error {
        Error::Internal(detail.to_string())
    }
}

/// `"{Kind} {id} could not be found."` and its variations.
fn write_not_found(f: &mut fmt::Formatter<'_>, kind: &Kind, id: &str) -> fmt::Result {
    match kind {
        Kind::Server => write!(f, "Instance {id} could not be found."),
        Kind::Flavor => write!(f, "Flavor {id} could not be found."),
        Kind::FlavorAccess { flavor_id } => {
            write!(f, "Flavor access not found for {flavor_id} / {id} combination.")
        }
        Kind::PublicFlavorAccess => write!(f, "Access list not available for public flavors."),
        Kind::ExtraSpec { flavor_id } => write!(f, "Flavor {flavor_id} has no extra specs with key {id}."),
        Kind::Image => write!(f, "Image {id} could not be found."),
        Kind::ImageMember { image_id } => write!(f, "{id} is not a member of image {image_id}"),
        Kind::Network => write!(f, "Network {id} could not be found."),
        Kind::Subnet => write!(f, "Subnet {id} could not be found."),
        Kind::Port => write!(f, "Port {id} could not be found."),
        Kind::Interface => write!(f, "Port {id} is not attached"),
        Kind::Volume => write!(f, "Volume {id} could not be found."),
        Kind::VolumeAttachment { server_id } => write!(f, "Volume {id} is not attached to {server_id}"),
        Kind::AttachmentOf => write!(f, "volume_id not found: {id}"),
        Kind::Snapshot => write!(f, "Snapshot {id} could not be found."),
        Kind::VolumeType => write!(f, "Volume type {id} could not be found."),
        Kind::CinderAttachment => write!(f, "Volume attachment could not be found with filter: attachment_id = {id}."),
        Kind::CinderMetadata { owner } => write!(f, "{owner} has no metadata with key {id}."),
        Kind::Keypair { user_id } => write!(f, "Keypair {id} not found for user {user_id}"),
        Kind::KeypairName => write!(f, "Keypair {id} not found."),
        Kind::AttachedKeypair { server_id } => write!(f, "Keypair {id} is not attached to instance {server_id}."),
        Kind::SecurityGroup => write!(f, "Security group {id} not found."),
        Kind::SecurityGroupRule => write!(f, "Security group rule {id} could not be found."),
        Kind::SecurityGroupName { project_id } => write!(f, "Security group {id} not found for project {project_id}."),
        Kind::SecurityGroupMember { server_id } => {
            write!(f, "Security group {id} not associated with the instance {server_id}")
        }
        Kind::ServerGroup => write!(f, "Instance group {id} could not be found."),
        Kind::FloatingIp => write!(f, "Floating IP not found for ID {id}"),
        Kind::FloatingIpAddress => write!(f, "floating IP not found for address {id}"),
        Kind::FloatingIpPool => write!(f, "Floating IP pool not found."),
        Kind::Bandwidth => write!(f, "Bandwidth {id} does not exist."),
        Kind::FreeFloatingIp => write!(f, "No more floating IPs in pool {id}."),
        Kind::MetadataItem => write!(f, "Metadata item was not found"),
        Kind::Tag => write!(f, "Tag {id} not found"),
        Kind::LaunchTemplate => write!(f, "Launch template {id} does not exist."),
        Kind::ScheduledEvent => write!(f, "Scheduled event {id} does not exist."),
        Kind::InstanceAction { server_id } => {
            write!(f, "Action for request_id {id} on instance {server_id} not found")
        }
        Kind::ConsoleToken => write!(f, "The console token was not found or has expired."),
        Kind::Job => write!(f, "Job {id} could not be found."),
        Kind::Host => write!(f, "Host {id} could not be found."),
        Kind::Aggregate => write!(f, "Aggregate {id} could not be found."),
        Kind::AggregateHost { aggregate_id } => write!(f, "Cannot remove host {id} in aggregate {aggregate_id}"),
        Kind::ComputeHost => write!(f, "Compute host {id} could not be found."),
        Kind::DedicatedHost => write!(f, "The dedicated host {id} does not exist."),
        Kind::HostMapping => write!(f, "Host '{id}' is not mapped to any cell"),
        Kind::Hypervisor => write!(f, "Hypervisor with ID '{id}' could not be found."),
        Kind::Service => write!(f, "Service {id} could not be found."),
        Kind::HostBinary { binary } => write!(f, "Could not find binary {binary} on host {id}."),
        Kind::HypervisorMatch => write!(f, "No hypervisor matching '{id}' could be found."),
        Kind::Domain => write!(f, "Could not find domain: {id}."),
        Kind::Project => write!(f, "Could not find project: {id}."),
        Kind::User => write!(f, "Could not find user: {id}."),
        Kind::Role => write!(f, "Could not find role: {id}."),
        Kind::RoleAssignment { user_id, project_id } => write!(
            f,
            "Could not find role assignment with role: {id}, user or group: {user_id}, project, domain, or system: \
             {project_id}."
        ),
        Kind::HeldRole => write!(f, "Could not find role assignment with role: {id}."),
        Kind::Credential => write!(f, "Could not find credential: {id}."),
        Kind::ApplicationCredential => write!(f, "Could not find Application Credential: {id}."),
        Kind::AccessRule => write!(f, "Could not find Access Rule: {id}."),
        Kind::Token => write!(f, "Could not find token."),
        Kind::Marker => write!(f, "marker [{id}] not found"),
        Kind::Router => write!(f, "Router {id} could not be found"),
        Kind::StateSnapshot => write!(f, "Snapshot {id} could not be found."),
        Kind::RouterInterface { router_id, by_subnet: true } => {
            write!(f, "Router {router_id} has no interface on subnet {id}")
        }
        Kind::RouterInterface { router_id, by_subnet: false } => {
            write!(f, "Router {router_id} does not have an interface with id {id}")
        }
        Kind::ExternalGateway { subnet_id, port_id } => write!(
            f,
            "External network {id} is not reachable from subnet {subnet_id}.  Therefore, cannot associate Port \
             {port_id} with a Floating IP."
        ),
        Kind::Migration { server_id } => write!(f, "Migration {id} not found for instance {server_id}"),
        Kind::LiveMigration { server_id } => {
            write!(f, "In-progress live migration {id} is not found for server {server_id}.")
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { kind, id } => write_not_found(f, kind, id),
            Error::InvalidState { action, server_id, attr, state } => {
                let attr = match attr {
                    StateAttr::VmState => "vm_state",
                    StateAttr::TaskState => "task_state",
                };
                write!(f, "Cannot '{action}' instance {server_id} while it is in {attr} {state}")
            }
            Error::Locked { server_id, .. } => write!(f, "Instance {server_id} is locked"),
            Error::QuotaExceeded { resource, requested, used, limit } => {
                let name = resource.name();
                match resource {
                    Resource::MetadataItems => write!(f, "Maximum number of metadata items exceeds {limit}"),
                    Resource::ImageMetadata => write!(f, "Image metadata limit exceeded"),
                    Resource::InjectedFiles => write!(f, "Personality file limit exceeded"),
                    Resource::InjectedFilePathBytes => write!(f, "Personality file path exceeds maximum {limit}"),
                    Resource::InjectedFileContentBytes => {
                        write!(f, "Personality file content exceeds maximum {limit}")
                    }
                    Resource::FloatingIps => write!(f, "Maximum number of floating IPs exceeded"),
                    Resource::KeyPairs => write!(f, "Quota exceeded, too many key pairs."),
                    Resource::SecurityGroups => write!(f, "Quota exceeded, too many security groups."),
                    Resource::SecurityGroupRules => write!(f, "Quota exceeded, too many security group rules."),
                    Resource::ServerGroups => write!(f, "Quota exceeded, too many server groups."),
                    Resource::ServerGroupMembers => write!(f, "Quota exceeded, too many servers in group"),
                    Resource::Volumes | Resource::Gigabytes | Resource::Snapshots => write!(
                        f,
                        "VolumeLimitExceeded: Maximum number of {name} allowed ({limit}) exceeded: requested \
                         {requested}, already used {used}"
                    ),
                    Resource::Instances | Resource::Cores | Resource::Ram => write!(
                        f,
                        "Quota exceeded for {name}: Requested {requested}, but already used {used} of {limit} {name}"
                    ),
                }
            }
            Error::NoValidHost { reason } => f.write_str(reason),
            Error::Unsupported => f.write_str("The requested functionality is not supported."),
            Error::Invalid(i) => match i {
                Invalid::Injected { message: Some(message), .. } => f.write_str(message),
                Invalid::Injected { code, message: None } => {
                    write!(f, "The request was refused by an ecsd fault scenario ({code}).")
                }
                Invalid::Unknown { kind: Kind::Keypair { .. }, .. } => f.write_str("Invalid key_name provided."),
                Invalid::Unknown { kind, id } => write_not_found(f, kind, id),
                Invalid::FlavorDisabled => f.write_str("Flavor is disabled."),
                Invalid::ImageNotActive { id } => write!(f, "Image {id} is not active."),
                Invalid::FlavorRamTooSmall => f.write_str("Flavor's memory is too small for requested image."),
                Invalid::FlavorDiskTooSmall => f.write_str("Flavor's disk is too small for requested image."),
                Invalid::RootDiskTooSmall { size_gb, min_gb } => write!(
                    f,
                    "Volume is smaller than the minimum size specified in image metadata. Volume size is {} bytes, \
                     minimum size is {} bytes.",
                    size_gb << 30,
                    min_gb << 30
                ),
                Invalid::InvalidFixedIp { ip } => write!(f, "Invalid fixed IP address ({ip})"),
                Invalid::FixedIpOutsideNetwork { ip, network_id } => {
                    write!(f, "Fixed IP address {ip} is not valid on network {network_id}.")
                }
                Invalid::FixedIpInUse { ip } => write!(f, "Fixed IP address {ip} is already in use."),
                Invalid::NoFixedIpLeft => f.write_str("No more fixed IPs available for network."),
                Invalid::FixedIpWithCount => {
                    f.write_str("max_count cannot be greater than 1 if an fixed_ip is specified.")
                }
                Invalid::AvailabilityZone => f.write_str("The requested availability zone is not available"),
                Invalid::FloatingIpBound { id } => write!(f, "EIP {id} is bound already."),
                Invalid::SystemDiskDetach => f.write_str("Cannot detach a root device volume"),
                Invalid::SystemDiskChange => f.write_str("The system disk's attachment cannot be modified."),
                Invalid::VolumeAttached { id, server_id, .. } => {
                    write!(f, "Invalid volume: volume {id} already attached to {server_id}")
                }
                Invalid::VolumeState { id, status } => {
                    write!(f, "Invalid volume: Volume {id} status must be available, but current status is: {status}")
                }
                Invalid::TooManyTags { max } => {
                    write!(f, "The number of tags exceeded the per-server limit {max}")
                }
                Invalid::TagCharacters { tag } => {
                    write!(f, "Tag {tag:?} is invalid: a tag must not contain control characters.")
                }
                Invalid::BatchSize { max, .. } => write!(f, "A batch names 1 to {max} servers."),
                Invalid::SameFlavor => f.write_str("When resizing, instances must change flavor!"),
                Invalid::HostStillUp { host } => write!(f, "Compute service of {host} is still in use."),
                Invalid::SameHost => f.write_str("The target host can't be the same one."),
                Invalid::SameDedicatedHost => {
                    f.write_str("Cold migration from a dedicated host to the same dedicated host is not supported.")
                }
                Invalid::NoAutoRecovery { flavor } => write!(f, "Flavor {flavor} does not support auto recovery."),
                Invalid::NotPrimaryNic { id } => write!(f, "NIC {id} is not the primary NIC of the ECS."),
                Invalid::NotAProject { id } => write!(f, "Project ID {id} is not a valid project."),
                Invalid::Neutron { message, .. } => f.write_str(message),
                Invalid::Other(m) => f.write_str(m),
            },
            Error::Conflict(c) => match c {
                Conflict::ClientTokenReused => {
                    f.write_str("The X-Client-Token was used before with a different request.")
                }
                Conflict::PortInUse { id } => write!(f, "Port {id} is still in use."),
                Conflict::MultipleNetworks => {
                    f.write_str("Multiple possible networks found, use a Network ID to be more specific.")
                }
                Conflict::DeviceInUse { device } => write!(f, "The supplied device path ({device}) is in use."),
                Conflict::NoConsole { server_id } => {
                    write!(f, "Guest does not have a console available for instance {server_id}.")
                }
                Conflict::HostUnavailable => f.write_str("Service is unavailable at this time."),
                Conflict::HostHasServers => f.write_str(
                    "Unable to delete compute service that is hosting instances. Migrate or delete the instances first.",
                ),
                Conflict::Neutron { message, .. } => f.write_str(message),
                Conflict::Other(m) => f.write_str(m),
            },
            Error::Forbidden(x) => match x {
                Forbidden::Policy { rule } => write!(f, "Policy doesn't allow {rule} to be performed."),
                Forbidden::ProjectScope => f.write_str("This operation needs a project-scoped token."),
                Forbidden::NoPaymentMethod => {
                    f.write_str("You have not associated a payment method with your account.")
                }
                Forbidden::Other(m) => f.write_str(m),
            },
            Error::Unauthorized(u) => match u {
                Unauthorized::Credentials => f.write_str(crate::identity::UNAUTHORIZED),
                Unauthorized::ConsoleToken { shown } => write!(f, "The token '{shown}***' is invalid or has expired"),
            },
            Error::Internal(detail) => write!(f, "internal error: {detail}"),
        }
    }
}
