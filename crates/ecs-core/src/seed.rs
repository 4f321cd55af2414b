//! What a first start creates so that a user can begin at once: roles,
//! the `admin` and `demo` projects and users, a flavor set with ECS-style
//! ids, one image, one shared network with a subnet, and an external
//! network (`public`, as devstack names it) that floating IPs come from.
//! Every step checks first, so seeding again changes nothing.

use std::collections::BTreeMap;

use ecs_store::StoreError;
use ecs_types::identity::DEFAULT_DOMAIN_ID;
use ecs_types::{FlavorSpec, Image, Network, Project, Role, RoleAssignment, Subnet, new_hex_id};

use crate::{Core, Result};

pub const DEFAULT_ADMIN_PASSWORD: &str = "admin";
pub const DEFAULT_DEMO_PASSWORD: &str = "demo";
pub const SEED_IMAGE_NAME: &str = "cirros-0.6.2-x86_64";
pub const SEED_NETWORK_NAME: &str = "default-net";
pub const SEED_EXTERNAL_NETWORK_NAME: &str = "public";
/// devstack's public range: apart from default-net's 192.168.0.0/24.
pub const SEED_EXTERNAL_CIDR: &str = "172.24.4.0/24";

/// Passwords for the seeded users (used only when creating them).
#[derive(Debug, Clone)]
pub struct SeedPasswords {
    pub admin: String,
    pub demo: String,
}

impl Default for SeedPasswords {
    fn default() -> Self {
        SeedPasswords { admin: DEFAULT_ADMIN_PASSWORD.into(), demo: DEFAULT_DEMO_PASSWORD.into() }
    }
}

/// What the seed found or made, for the start-up banner.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub admin_project: Project,
    pub demo_project: Project,
    pub image_id: Option<String>,
    pub network_id: Option<String>,
    /// The external network floating IPs come from, if any.
    pub external_network: Option<Network>,
    pub created: bool,
}

/// `(id, vcpus, ram MiB, disk GiB, performance type, generation)`.
const FLAVORS: &[(&str, i64, i64, i64, &str, &str)] = &[
    ("m1.tiny", 1, 512, 1, "normal", "m1"),
    ("m1.small", 1, 2048, 20, "normal", "m1"),
    ("s3.small.1", 1, 1024, 40, "normal", "s3"),
    ("s3.medium.2", 1, 2048, 40, "normal", "s3"),
    ("s3.medium.4", 1, 4096, 40, "normal", "s3"),
    ("s3.large.2", 2, 4096, 40, "normal", "s3"),
    ("s3.large.4", 2, 8192, 40, "normal", "s3"),
    ("s3.xlarge.2", 4, 8192, 40, "normal", "s3"),
    ("s3.2xlarge.2", 8, 16384, 40, "normal", "s3"),
    ("c1.large", 2, 4096, 40, "computingv3", "c1"),
    ("c3.large.2", 2, 4096, 40, "computingv3", "c3"),
    ("c3.xlarge.2", 4, 8192, 40, "computingv3", "c3"),
    ("m3.large.8", 2, 16384, 40, "highmem", "m3"),
];

fn flavor_spec(&(id, vcpus, ram_mb, disk_gb, perf, generation): &(&str, i64, i64, i64, &str, &str)) -> FlavorSpec {
    let extra_specs: BTreeMap<String, String> = [
        ("ecs:performancetype", perf.to_string()),
        ("ecs:generation", generation.to_string()),
        ("ecs:virtualization_env_types", "CloudCompute".to_string()),
        ("resource_type", format!("IOoptimized{}", generation.to_uppercase())),
        ("cond:operation:status", "normal".to_string()),
        ("instance_vnic:max_count", "4".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    FlavorSpec {
        id: id.into(),
        name: id.into(),
        vcpus,
        ram_mb,
        disk_gb,
        ephemeral_gb: 0,
        swap_mb: 0,
        rxtx_factor: 1.0,
        is_public: true,
        description: None,
        extra_specs,
    }
}

impl Core {
    async fn seed_role(&self, name: &str) -> Result<Role> {
        match self.store.role_get_by_name(name).await {
            Ok(role) => Ok(role),
            Err(StoreError::NotFound) => {
                let role = Role::named(new_hex_id(), name);
                self.store.role_create(&role).await?;
                Ok(role)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn seed_project(&self, name: &str, description: &str) -> Result<(Project, bool)> {
        match self.store.project_get_by_name(DEFAULT_DOMAIN_ID, name).await {
            Ok(p) => Ok((p, false)),
            Err(StoreError::NotFound) => {
                let p = Project {
                    id: new_hex_id(),
                    name: name.into(),
                    domain_id: DEFAULT_DOMAIN_ID.into(),
                    description: description.into(),
                    enabled: true,
                };
                self.store.project_create(&p).await?;
                Ok((p, true))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn seed_user(&self, name: &str, password: &str, project: &Project, roles: &[&Role]) -> Result<()> {
        let user = match self.store.user_get_by_name(DEFAULT_DOMAIN_ID, name).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => self.identity.user_insert(name, Some(password), Some(&project.id)).await?,
            Err(e) => return Err(e.into()),
        };
        for role in roles {
            self.store
                .role_assignment_add(&RoleAssignment {
                    user_id: user.id.clone(),
                    project_id: project.id.clone(),
                    role_id: role.id.clone(),
                })
                .await?;
        }
        Ok(())
    }

    /// Creates whatever of the seed is missing.
    pub async fn seed(&self, passwords: &SeedPasswords) -> Result<SeedSummary> {
        // Keystone's bootstrap roles. `manager` and `service` came later
        // (Keystone 2023.2): databases seeded before them gain them here.
        let admin_role = self.seed_role("admin").await?;
        self.seed_role("manager").await?;
        let member_role = self.seed_role("member").await?;
        let reader_role = self.seed_role("reader").await?;
        self.seed_role("service").await?;
        let (admin_project, created) = self.seed_project("admin", "Administrators' project").await?;
        let (demo_project, _) = self.seed_project("demo", "Demonstration project").await?;
        self.seed_user("admin", &passwords.admin, &admin_project, &[&admin_role, &member_role, &reader_role]).await?;
        self.seed_user("demo", &passwords.demo, &demo_project, &[&member_role, &reader_role]).await?;

        if created {
            for f in FLAVORS {
                match self.store.flavor_create(&flavor_spec(f)).await {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let now = ecs_types::clock::now();
            self.store
                .image_create(&Image {
                    id: ecs_types::random::uuid().to_string(),
                    name: SEED_IMAGE_NAME.into(),
                    status: "active".into(),
                    visibility: "public".into(),
                    owner_project_id: Some(admin_project.id.clone()),
                    disk_format: "qcow2".into(),
                    container_format: "bare".into(),
                    min_ram_mb: 0,
                    min_disk_gb: 1,
                    size_bytes: 21_430_272,
                    os_type: "Linux".into(),
                    properties: Default::default(),
                    created_at: now,
                })
                .await?;
            let network_id = ecs_types::random::uuid().to_string();
            self.store
                .network_create(
                    &Network {
                        id: network_id.clone(),
                        name: SEED_NETWORK_NAME.into(),
                        project_id: None,
                        shared: true,
                        external: false,
                        created_at: now,
                    },
                    &[Subnet {
                        id: ecs_types::random::uuid().to_string(),
                        network_id: network_id.clone(),
                        name: "default-subnet".into(),
                        cidr: "192.168.0.0/24".into(),
                        gateway_ip: Some("192.168.0.1".into()),
                        ip_version: 4,
                        allocation_pools: Vec::new(),
                        dns_nameservers: vec!["100.125.1.250".into()],
                        created_at: now,
                    }],
                )
                .await?;
        }
        let external_network = Some(self.seed_external_network(&admin_project).await?);
        // The seeded network is a VPC subnet too (of the admin project's VPC).
        let seeded = self
            .store
            .network_list()
            .await?
            .into_iter()
            .find(|n| n.name == SEED_NETWORK_NAME && n.project_id.is_none() && n.shared && !n.external);
        if let Some(network) = seeded {
            self.seed_vpc(&admin_project.id, &network.id).await?;
        }
        let image_id = self.store.image_list().await?.into_iter().next().map(|i| i.id);
        let network_id = self.store.network_list().await?.into_iter().find(|n| !n.external).map(|n| n.id);
        Ok(SeedSummary { admin_project, demo_project, image_id, network_id, external_network, created })
    }

    /// The floating IP pool: made when no external network exists, so a
    /// database from before this seed gains one, and one an operator made
    /// is left alone. Like devstack's, it belongs to the admin project and
    /// is not shared: every project sees it because it is external.
    async fn seed_external_network(&self, admin_project: &Project) -> Result<Network> {
        if let Some(existing) = self.store.network_list().await?.into_iter().find(|n| n.external) {
            return Ok(existing);
        }
        let now = ecs_types::clock::now();
        let network = Network {
            id: ecs_types::random::uuid().to_string(),
            name: SEED_EXTERNAL_NETWORK_NAME.into(),
            project_id: Some(admin_project.id.clone()),
            shared: false,
            external: true,
            created_at: now,
        };
        let subnet = Subnet {
            id: ecs_types::random::uuid().to_string(),
            network_id: network.id.clone(),
            name: "public-subnet".into(),
            cidr: SEED_EXTERNAL_CIDR.into(),
            gateway_ip: Some("172.24.4.1".into()),
            ip_version: 4,
            allocation_pools: Vec::new(),
            dns_nameservers: Vec::new(),
            created_at: now,
        };
        self.store.network_create(&network, &[subnet]).await?;
        Ok(network)
    }
}
