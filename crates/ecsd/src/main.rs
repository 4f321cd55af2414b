//! `ecsd`: an Elastic Cloud Server. See README.md.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// Rendering JSON allocates a lot; mimalloc keeps that cheap under concurrency.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use ecsd::ServeConfig;

#[derive(Parser)]
#[command(name = "ecsd", version = env!("ECSD_VERSION"), about = "Elastic Cloud Server: an ECS- and Nova-compatible compute service")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// All in one: API and everything behind it, embedded SQLite by default.
    Serve(ServeArgs),
    /// The API on a shared PostgreSQL database (one of several API nodes).
    Api(ServeArgs),
    /// One compute host: runs its hypervisor for the API nodes (`ecsd api --internal-listen`).
    Agent(AgentArgs),
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Network administration, straight on the database.
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
    /// AK/SK credentials (access keys for signed requests), straight on the database.
    Credential {
        #[command(subcommand)]
        command: CredentialCommand,
    },
    /// Image administration.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Print the OpenAPI document of the ECS-native and admin APIs (as served at
    /// `/openapi.json`; `ecsd openapi > docs/openapi.json` regenerates the checked-in copy).
    Openapi,
    /// The whole cloud in a file: every table and the simulated hosts' guests (stop `ecsd serve` first).
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
}

#[derive(Subcommand)]
enum StateCommand {
    /// Write the whole state of an existing database to FILE.
    Export(StateFileArgs),
    /// Replace the whole state of the database with FILE's (all or nothing; creates the database if there is none).
    Import(StateFileArgs),
}

#[derive(Args)]
struct StateFileArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The state file.
    file: PathBuf,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Register a bootable image: a qcow2 or raw disk file, or a kernel and initramfs booted directly.
    Import(ImageImportArgs),
}

#[derive(Args)]
struct ImageImportArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The disk file (qcow2 or raw).
    #[arg(long, required_unless_present = "kernel")]
    file: Option<PathBuf>,
    /// A kernel to boot directly (QEMU's -kernel), with --initrd.
    #[arg(long)]
    kernel: Option<PathBuf>,
    #[arg(long, requires = "kernel")]
    initrd: Option<PathBuf>,
    /// Kernel command line added to ecsd's own (console, root device).
    #[arg(long, requires = "kernel")]
    cmdline: Option<String>,
    #[arg(long)]
    name: String,
    #[arg(long, default_value_t = 0)]
    min_disk_gb: i64,
    #[arg(long, default_value_t = 0)]
    min_ram_mb: i64,
    /// Visible to every project (default: the owning project only).
    #[arg(long)]
    public: bool,
    /// The owning project (by name, Default domain).
    #[arg(long, default_value = "admin")]
    project: String,
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Create an access key (AK) and secret key (SK) of a user on a project.
    Create(CredentialCreateArgs),
}

#[derive(Args)]
struct CredentialCreateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The user (by name, Default domain).
    #[arg(long)]
    user: String,
    /// The project the key acts in (by name, Default domain); the user must hold a role on it.
    #[arg(long)]
    project: String,
}

#[derive(Subcommand)]
enum NetworkCommand {
    /// Create a network with one IPv4 subnet.
    Create(NetworkCreateArgs),
}

#[derive(Args)]
struct NetworkCreateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The network's name.
    #[arg(long)]
    name: String,
    /// The subnet, e.g. 10.10.0.0/24.
    #[arg(long)]
    cidr: String,
    /// Gateway address (default: the first host address).
    #[arg(long)]
    gateway: Option<String>,
    /// DNS servers (repeatable).
    #[arg(long)]
    dns: Vec<String>,
    /// Allocation pool START-END (repeatable; default: the whole subnet).
    #[arg(long)]
    pool: Vec<String>,
    /// Visible to every project.
    #[arg(long)]
    shared: bool,
    /// An external network: a pool of floating IPs.
    #[arg(long)]
    external: bool,
    /// The owning project (by name, Default domain).
    #[arg(long, default_value = "admin")]
    project: String,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply pending migrations and exit.
    Migrate(DatabaseArgs),
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// Where the embedded SQLite database lives.
    #[arg(long, env = "ECSD_DATA_DIR", default_value = "./ecsd-data")]
    data_dir: PathBuf,
    /// A database URL (`postgres://user:pass@host/db`, or `sqlite://file?mode=rwc`)
    /// instead of the SQLite file under --data-dir.
    #[arg(long, env = "ECSD_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on. Anything but loopback requires non-default passwords.
    #[arg(long, env = "ECSD_LISTEN", default_value = "127.0.0.1:8774")]
    listen: SocketAddr,
    /// Region named in the service catalog.
    #[arg(long, env = "ECSD_REGION", default_value = "RegionOne")]
    region: String,
    /// Base URL for links and the catalog, when clients reach ecsd through a proxy.
    #[arg(long, env = "ECSD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Password of the seeded `admin` user (set at first start, replaced at later ones).
    #[arg(long, env = "ECSD_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Password of the seeded `demo` user.
    #[arg(long, env = "ECSD_DEMO_PASSWORD", hide_env_values = true)]
    demo_password: Option<String>,
    /// Record metrics and serve them at /metrics (`off`: nothing is
    /// recorded and /metrics answers 404, to measure what recording costs).
    #[arg(long, env = "ECSD_METRICS", default_value = "on", value_parser = ["on", "off"])]
    metrics: String,
    #[command(flatten)]
    compute: ComputeArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    internal: InternalArgs,
    /// Deterministic mode: ids, MACs, generated passwords and key pairs,
    /// host choices come from this seed, so two fresh runs fed the same
    /// requests answer the same; tasks run one at a time. Test clouds only:
    /// token secrets follow it.
    #[arg(long, env = "ECSD_SEED")]
    seed: Option<u64>,
    /// Where ecsd's clock starts (RFC 3339, e.g. 2026-01-01T00:00:00Z);
    /// it runs at the real pace from there, and admins advance it
    /// (POST /admin/v1/clock/advance). Default: the real time.
    #[arg(long, env = "ECSD_CLOCK_START")]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
}

/// The internal API to agents (`ecsd agent`).
#[derive(Args, Clone)]
struct InternalArgs {
    /// Where agents send their heartbeats (HTTP/2, their own listener;
    /// user tokens are never valid there). Needs --internal-secret.
    #[arg(long, env = "ECSD_INTERNAL_LISTEN", requires = "internal_secret")]
    internal_listen: Option<SocketAddr>,
    /// The service secret shared by API nodes and agents (at least 16
    /// characters). With it, this node drives the hosts agents registered.
    #[arg(long, env = "ECSD_INTERNAL_SECRET", hide_env_values = true)]
    internal_secret: Option<String>,
    /// Seconds a call to an agent may take before its host counts as down
    /// (moving a guest may take longer: 30 times this).
    #[arg(long, env = "ECSD_AGENT_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    agent_timeout: u64,
}

impl InternalArgs {
    fn config(&self) -> anyhow::Result<Option<ecsd::InternalConfig>> {
        let Some(secret) = &self.internal_secret else { return Ok(None) };
        let call = std::time::Duration::from_secs(self.agent_timeout);
        Ok(Some(ecsd::InternalConfig {
            listen: self.internal_listen,
            secret: ecsd::internal::Secret::new(secret)?,
            timeouts: ecsd::internal::remote::Timeouts { call, moving: call * 30 },
            sync_interval: std::time::Duration::from_secs(1),
        }))
    }
}

#[derive(Args, Clone)]
struct AgentArgs {
    /// This host's name, as the compute service and hypervisor lists show it.
    #[arg(long, env = "ECSD_AGENT_HOST")]
    host: String,
    /// The API nodes' internal listeners (`http://ADDR:PORT`, comma-separated), tried in turn.
    #[arg(long, env = "ECSD_CONTROL_PLANE", value_delimiter = ',', required = true)]
    control_plane: Vec<String>,
    /// Where this agent serves the API nodes' calls.
    #[arg(long, env = "ECSD_AGENT_LISTEN", default_value = "127.0.0.1:8776")]
    listen: SocketAddr,
    /// The URL API nodes reach this agent at (default: from --listen).
    #[arg(long, env = "ECSD_AGENT_ADVERTISE")]
    advertise: Option<String>,
    /// What runs the guests: `sim` or `qemu` (real guests on this machine).
    #[arg(long, env = "ECSD_HYPERVISOR", default_value = "sim", value_parser = ["sim", "qemu"])]
    hypervisor: String,
    /// Where the host keeps its guests' state and its fences.
    #[arg(long, env = "ECSD_DATA_DIR", default_value = "./ecsd-agent-data")]
    data_dir: PathBuf,
    /// Seconds between heartbeats (fractions allowed).
    #[arg(long, env = "ECSD_HEARTBEAT_INTERVAL", default_value_t = 10.0)]
    heartbeat_interval: f64,
    /// The service secret shared with the API nodes.
    #[arg(long, env = "ECSD_INTERNAL_SECRET", hide_env_values = true)]
    internal_secret: String,
    /// The host's availability zone.
    #[arg(long, env = "ECSD_AVAILABILITY_ZONE", default_value = "nova")]
    availability_zone: String,
    /// A simulated host's vCPUs, RAM (MiB) and disk (GiB); QEMU reports the machine's.
    #[arg(long, env = "ECSD_SIM_HOST_VCPUS", default_value_t = 64)]
    sim_host_vcpus: i64,
    #[arg(long, env = "ECSD_SIM_HOST_RAM_MB", default_value_t = 262144)]
    sim_host_ram_mb: i64,
    #[arg(long, env = "ECSD_SIM_HOST_DISK_GB", default_value_t = 4096)]
    sim_host_disk_gb: i64,
    /// Simulated operation times: `zero` or `realistic`.
    #[arg(long, env = "ECSD_SIM_LATENCY", default_value = "zero", value_parser = ["zero", "realistic"])]
    sim_latency: String,
    /// A JSON file of simulator settings (latency_ms, faults), as `ecsd serve --sim-config` takes.
    #[arg(long, env = "ECSD_SIM_CONFIG")]
    sim_config: Option<PathBuf>,
    /// QEMU accelerator.
    #[arg(long, env = "ECSD_ACCEL", default_value = "auto", value_parser = ["auto", "kvm", "tcg"])]
    accel: String,
    /// How QEMU guests' NICs connect.
    #[arg(long, env = "ECSD_QEMU_NETWORK", default_value = "auto", value_parser = ["auto", "bridge", "user"])]
    qemu_network: String,
    /// Seconds a graceful stop waits for the guest before forcing it.
    #[arg(long, env = "ECSD_SHUTDOWN_TIMEOUT", default_value_t = 60)]
    shutdown_timeout: u64,
    /// A live move's stream cap in bytes per second (QEMU's max-bandwidth; default: QEMU's).
    #[arg(long, env = "ECSD_MIGRATION_BANDWIDTH", value_parser = clap::value_parser!(u64).range(1..))]
    migration_bandwidth: Option<u64>,
}

/// Limits on slow and idle clients (`ecsd::HttpLimits`).
#[derive(Args, Clone)]
struct HttpArgs {
    /// Seconds a client has to send a request's head (request line and
    /// headers), from connecting or from the head's first byte.
    #[arg(long, env = "ECSD_HEADER_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "ECSD_IDLE_TIMEOUT", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Seconds a client has to send a whole request body, from the end of its head (408 after).
    #[arg(long, env = "ECSD_BODY_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Connections served at once; further ones wait to be accepted.
    #[arg(long, env = "ECSD_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
}

impl HttpArgs {
    fn limits(&self) -> ecsd::HttpLimits {
        use std::time::Duration;
        ecsd::HttpLimits {
            header_timeout: Duration::from_secs(self.header_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            max_connections: self.max_connections,
        }
    }
}

#[derive(Args, Clone)]
struct ComputeArgs {
    /// What runs the servers: `sim` (simulated hosts) or `qemu` (real guests on this machine).
    #[arg(long, env = "ECSD_HYPERVISOR", default_value = "sim", value_parser = ["sim", "qemu"])]
    hypervisor: String,
    /// QEMU accelerator: `auto` uses KVM only where kvm_intel or kvm_amd is loaded, else TCG.
    #[arg(long, env = "ECSD_ACCEL", default_value = "auto", value_parser = ["auto", "kvm", "tcg"])]
    accel: String,
    /// This QEMU host's name (default: the machine's hostname).
    #[arg(long, env = "ECSD_QEMU_HOST")]
    qemu_host: Option<String>,
    /// How QEMU guests' NICs connect: `bridge` (TAP on a Linux bridge per
    /// network, needs root), `user` (QEMU user-mode, outbound only), or `auto`.
    #[arg(long, env = "ECSD_QEMU_NETWORK", default_value = "auto", value_parser = ["auto", "bridge", "user"])]
    qemu_network: String,
    /// Seconds a graceful stop or soft reboot waits for the guest before forcing it (Nova's shutdown_timeout).
    #[arg(long, env = "ECSD_SHUTDOWN_TIMEOUT", default_value_t = 60)]
    shutdown_timeout: u64,
    /// Seconds a task's claim holds without a heartbeat: a node that dies
    /// leaves its tasks to others (or to its own restart) after this long.
    /// A running task renews it every third of this.
    #[arg(long, env = "ECSD_TASK_LEASE", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    task_lease: u64,
    /// Seconds between the heartbeats this process writes for the hosts it drives.
    #[arg(long, env = "ECSD_HEARTBEAT_INTERVAL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_interval: u64,
    /// Seconds without a heartbeat after which a host is down (Nova's service_down_time).
    #[arg(long, env = "ECSD_SERVICE_DOWN_TIME", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    service_down_time: u64,
    /// Simulated compute hosts to run (sim-host-1 …).
    #[arg(long, env = "ECSD_SIM_HOSTS", default_value_t = 4)]
    sim_hosts: u32,
    /// Prefix of the simulated hosts' names; each `ecsd api` node needs its own.
    #[arg(long, env = "ECSD_SIM_HOST_PREFIX", default_value = "sim-host")]
    sim_host_prefix: String,
    /// vCPUs, RAM (MiB) and disk (GiB) of each simulated host.
    #[arg(long, env = "ECSD_SIM_HOST_VCPUS", default_value_t = 64)]
    sim_host_vcpus: i64,
    #[arg(long, env = "ECSD_SIM_HOST_RAM_MB", default_value_t = 262144)]
    sim_host_ram_mb: i64,
    #[arg(long, env = "ECSD_SIM_HOST_DISK_GB", default_value_t = 4096)]
    sim_host_disk_gb: i64,
    /// Availability zone of the simulated hosts.
    #[arg(long, env = "ECSD_AVAILABILITY_ZONE", default_value = "nova")]
    availability_zone: String,
    /// Simulated operation times: `zero` (instant) or `realistic` (seconds, like a real host).
    #[arg(long, env = "ECSD_SIM_LATENCY", default_value = "zero", value_parser = ["zero", "realistic"])]
    sim_latency: String,
    /// A JSON file of simulator settings (latency_ms, faults, hosts_down), as `/v2.1/os-simulator` takes.
    #[arg(long, env = "ECSD_SIM_CONFIG")]
    sim_config: Option<PathBuf>,
    /// A fault scenario (JSON, or YAML if named .yaml/.yml: rules, each a trigger and an effect), as
    /// `PUT /admin/v1/scenario` takes; one that does not parse or hold together stops ecsd at start.
    #[arg(long, env = "ECSD_SCENARIO")]
    scenario: Option<PathBuf>,
    /// Default quotas of every project (Nova's defaults; -1 is unlimited).
    #[arg(long, allow_negative_numbers = true, env = "ECSD_QUOTA_INSTANCES", default_value_t = 10)]
    quota_instances: i64,
    #[arg(long, allow_negative_numbers = true, env = "ECSD_QUOTA_CORES", default_value_t = 20)]
    quota_cores: i64,
    #[arg(long, allow_negative_numbers = true, env = "ECSD_QUOTA_RAM_MB", default_value_t = 51200)]
    quota_ram_mb: i64,
    /// Disks per project (volumes, ECS system and data disks) and their size (Cinder's defaults).
    #[arg(long, allow_negative_numbers = true, env = "ECSD_QUOTA_VOLUMES", default_value_t = 10)]
    quota_volumes: i64,
    #[arg(long, allow_negative_numbers = true, env = "ECSD_QUOTA_GIGABYTES", default_value_t = 1000)]
    quota_gigabytes: i64,
    /// The noVNC page that console URLs point at (Nova's `novncproxy_base_url`;
    /// default: the VNC proxy's own address).
    #[arg(long, env = "ECSD_NOVNCPROXY_BASE_URL")]
    novncproxy_base_url: Option<String>,
    /// Where the VNC console proxy (Nova's nova-novncproxy) listens, or `off`.
    #[arg(long, env = "ECSD_VNC_PROXY_LISTEN", default_value = "127.0.0.1:6080")]
    vnc_proxy_listen: String,
    /// Whether a resize may stay on the server's host (Nova's
    /// `allow_resize_to_same_host`). Default: false, as Nova's, except
    /// under `--hypervisor qemu`, where this machine is the only host and a
    /// resize could go nowhere else.
    #[arg(long, env = "ECSD_ALLOW_RESIZE_TO_SAME_HOST")]
    allow_resize_to_same_host: Option<bool>,
    /// Seconds a deleted server stays SOFT_DELETED, restorable, before it
    /// is reclaimed (Nova's `reclaim_instance_interval`); 0 deletes at once.
    #[arg(long, env = "ECSD_RECLAIM_INSTANCE_INTERVAL", default_value_t = 0)]
    reclaim_instance_interval: u64,
    /// Seconds a shelved server keeps its host before it is offloaded
    /// (Nova's `shelved_offload_time`): 0 at once, -1 never.
    #[arg(long, allow_negative_numbers = true, env = "ECSD_SHELVED_OFFLOAD_TIME", default_value_t = 0,
        value_parser = clap::value_parser!(i64).range(-1..))]
    shelved_offload_time: i64,
}

impl ComputeArgs {
    fn qemu_settings(&self) -> anyhow::Result<Option<ecsd::QemuSettings>> {
        use ecs_hypervisor::qemu::{AccelChoice, NetworkMode};
        if self.hypervisor != "qemu" {
            return Ok(None);
        }
        let host = match &self.qemu_host {
            Some(h) => h.clone(),
            None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "qemu-host".into()),
        };
        Ok(Some(ecsd::QemuSettings {
            host,
            accel: match self.accel.as_str() {
                "kvm" => AccelChoice::Kvm,
                "tcg" => AccelChoice::Tcg,
                _ => AccelChoice::Auto,
            },
            network: match self.qemu_network.as_str() {
                "bridge" => Some(NetworkMode::Bridge),
                "user" => Some(NetworkMode::User),
                _ => None,
            },
            shutdown_timeout: std::time::Duration::from_secs(self.shutdown_timeout),
        }))
    }

    fn sim_settings(&self) -> anyhow::Result<ecs_hypervisor::sim::SimSettings> {
        let mut settings = if self.sim_latency == "realistic" {
            ecs_hypervisor::sim::SimControl::realistic().settings()
        } else {
            Default::default()
        };
        if let Some(path) = &self.sim_config {
            let text = std::fs::read_to_string(path)?;
            let file: ecs_hypervisor::sim::SimSettings = serde_json::from_str(&text)?;
            settings.latency_ms.extend(file.latency_ms);
            settings.faults = file.faults;
            settings.hosts_down = file.hosts_down;
        }
        Ok(settings)
    }
}

impl ServeArgs {
    fn into_config(self, single_node: bool) -> anyhow::Result<ServeConfig> {
        let c = &self.compute;
        let mut core = ecs_core::CoreConfig::default();
        core.quota.instances = c.quota_instances;
        core.quota.cores = c.quota_cores;
        core.quota.ram_mb = c.quota_ram_mb;
        core.quota.volumes = c.quota_volumes;
        core.quota.gigabytes = c.quota_gigabytes;
        core.engine.lease = std::time::Duration::from_secs(c.task_lease);
        core.service_down_time = std::time::Duration::from_secs(c.service_down_time);
        if c.heartbeat_interval >= c.service_down_time {
            anyhow::bail!("--heartbeat-interval must be shorter than --service-down-time");
        }
        if let Some(url) = &c.novncproxy_base_url {
            core.novncproxy_base_url = url.clone();
        }
        core.allow_resize_to_same_host = c.allow_resize_to_same_host.unwrap_or(c.hypervisor == "qemu");
        core.reclaim_instance_interval = std::time::Duration::from_secs(c.reclaim_instance_interval);
        core.shelved_offload_time = c.shelved_offload_time;
        core.metrics = self.metrics == "on";
        let vnc_proxy_listen = match c.vnc_proxy_listen.as_str() {
            "off" => None,
            addr => Some(addr.parse().with_context(|| format!("--vnc-proxy-listen {addr}"))?),
        };
        let compute = ecsd::ComputeConfig {
            sim_hosts: c.sim_hosts,
            sim_host_prefix: c.sim_host_prefix.clone(),
            availability_zone: c.availability_zone.clone(),
            host_vcpus: c.sim_host_vcpus,
            host_ram_mb: c.sim_host_ram_mb,
            host_disk_gb: c.sim_host_disk_gb,
            sim: c.sim_settings()?,
            scenario: c.scenario.clone(),
            single_node,
            qemu: c.qemu_settings()?,
            heartbeat_interval: std::time::Duration::from_secs(c.heartbeat_interval),
        };
        Ok(ServeConfig {
            listen: self.listen,
            data_dir: self.database.data_dir,
            database_url: self.database.database_url,
            region: self.region,
            public_url: self.public_url,
            admin_password: self.admin_password,
            demo_password: self.demo_password,
            core,
            compute,
            vnc_proxy_listen,
            novncproxy_base_url_given: c.novncproxy_base_url.is_some(),
            early_policy_gates: true,
            http: self.http.limits(),
            internal: self.internal.config()?,
            random_seed: self.seed,
            clock_start: self.clock_start,
        })
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only on a terminal: a log redirected to a file stays greppable.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Raises the soft open-file limit to the hard one (as Go programs do), so
/// that the connection cap, not a default limit of 1024 descriptors, is
/// what stops accepting.
fn raise_open_files_limit(max_connections: u32) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "could not raise the open-file limit");
        }
    }
    // Descriptors beside the connections: database, hosts' files, logs.
    let needed = u64::from(max_connections) + 256;
    if let Some(current) = getrlimit(Resource::Nofile).current
        && current < needed
    {
        tracing::warn!(
            open_files = current,
            max_connections,
            "the open-file limit is below --max-connections: raise it (ulimit -n) or lower the cap"
        );
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    raise_open_files_limit(config.http.max_connections);
    let running = ecsd::start(config.clone()).await?;
    // A closed stdout (a supervisor that stopped reading) must not stop the service.
    let _ = writeln!(std::io::stdout().lock(), "{}", ecsd::banner(&running, &config));
    tracing::info!(addr = %running.addr, "listening");
    tokio::select! {
        result = async { tokio::signal::ctrl_c().await } => {
            result?;
            tracing::info!("shutting down");
            running.stop().await
        }
        result = terminate() => {
            result?;
            tracing::info!("shutting down");
            running.stop().await
        }
    }
}

async fn terminate() -> std::io::Result<()> {
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    sigterm.recv().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(args.into_config(true)?).await,
        Command::Api(args) => {
            if args.database.database_url.as_deref().is_none_or(|u| !u.starts_with("postgres")) {
                anyhow::bail!("`ecsd api` runs on a shared PostgreSQL database: pass --database-url postgres://…");
            }
            serve(args.into_config(false)?).await
        }
        Command::Agent(args) => agent(args).await,
        Command::Network { command: NetworkCommand::Create(args) } => network_create(args).await,
        Command::Image { command: ImageCommand::Import(args) } => image_import(args).await,
        Command::Credential { command: CredentialCommand::Create(args) } => credential_create(args).await,
        Command::Openapi => {
            std::io::stdout().write_all(ecs_api::openapi::document_json().as_bytes())?;
            Ok(())
        }
        Command::State { command: StateCommand::Export(args) } => state_export(args).await,
        Command::State { command: StateCommand::Import(args) } => state_import(args).await,
        Command::Db { command: DbCommand::Migrate(args) } => {
            let store = ecsd::open_store(&args.data_dir, args.database_url.as_deref()).await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
    }
}

async fn agent(args: AgentArgs) -> anyhow::Result<()> {
    use ecs_hypervisor::qemu::{AccelChoice, NetworkMode};
    use ecsd::internal::agent::{AgentConfig, HostReport};
    if !args.heartbeat_interval.is_finite() || args.heartbeat_interval <= 0.0 {
        anyhow::bail!("--heartbeat-interval must be a positive number of seconds");
    }
    let secret = ecsd::internal::Secret::new(&args.internal_secret)?;
    let driver = match args.hypervisor.as_str() {
        "qemu" => ecsd::AgentDriver::Qemu(ecsd::QemuSettings {
            host: args.host.clone(),
            accel: match args.accel.as_str() {
                "kvm" => AccelChoice::Kvm,
                "tcg" => AccelChoice::Tcg,
                _ => AccelChoice::Auto,
            },
            network: match args.qemu_network.as_str() {
                "bridge" => Some(NetworkMode::Bridge),
                "user" => Some(NetworkMode::User),
                _ => None,
            },
            shutdown_timeout: std::time::Duration::from_secs(args.shutdown_timeout),
        }),
        _ => {
            let mut settings = if args.sim_latency == "realistic" {
                ecs_hypervisor::sim::SimControl::realistic().settings()
            } else {
                ecs_hypervisor::sim::SimSettings::default()
            };
            if let Some(path) = &args.sim_config {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let file: ecs_hypervisor::sim::SimSettings = serde_json::from_str(&text)?;
                settings.latency_ms.extend(file.latency_ms);
                settings.faults = file.faults;
            }
            ecsd::AgentDriver::Sim { latency: settings }
        }
    };
    let config = AgentConfig {
        host: args.host.clone(),
        control_plane: args.control_plane,
        listen: args.listen,
        advertise: args.advertise,
        data_dir: args.data_dir,
        heartbeat_interval: std::time::Duration::from_secs_f64(args.heartbeat_interval),
        secret,
        report: HostReport {
            availability_zone: args.availability_zone,
            vcpus: args.sim_host_vcpus,
            ram_mb: args.sim_host_ram_mb,
            disk_gb: args.sim_host_disk_gb,
            cpu_ratio: 4.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
        },
        migration_bandwidth: args.migration_bandwidth,
    };
    let running = ecsd::start_agent(config, driver).await?;
    let _ = writeln!(std::io::stdout().lock(), "ecsd agent {} is serving on {}", args.host, running.url);
    tokio::select! {
        result = async { tokio::signal::ctrl_c().await } => result?,
        result = terminate() => result?,
    }
    tracing::info!("shutting down");
    running.stop().await
}

async fn network_create(args: NetworkCreateArgs) -> anyhow::Result<()> {
    let store = ecsd::open_existing_store(&args.database.data_dir, args.database.database_url.as_deref()).await?;
    let core = ecs_core::Core::new(store.clone(), ecs_core::CoreConfig::default());
    let project = store.project_get_by_name(ecs_types::identity::DEFAULT_DOMAIN_ID, &args.project).await?;
    let pools = args
        .pool
        .iter()
        .map(|p| {
            p.split_once('-')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| anyhow::anyhow!("a pool is START-END: {p}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let network = ecs_types::Network {
        id: ecs_types::random::uuid().to_string(),
        name: args.name,
        project_id: Some(project.id),
        shared: args.shared,
        external: args.external,
        created_at: ecs_types::clock::now(),
    };
    let subnet = core
        .checked_subnet(ecs_core::network::SubnetRequest {
            network_id: network.id.clone(),
            name: format!("{}-subnet", network.name),
            cidr: args.cidr,
            gateway_ip: args.gateway.map(Some),
            dns_nameservers: args.dns,
            allocation_pools: pools,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.network_create(&network, std::slice::from_ref(&subnet)).await?;
    println!("network {} ({}) with subnet {} ({})", network.name, network.id, subnet.cidr, subnet.id);
    store.close().await;
    Ok(())
}

async fn credential_create(args: CredentialCreateArgs) -> anyhow::Result<()> {
    let store = ecsd::open_existing_store(&args.database.data_dir, args.database.database_url.as_deref()).await?;
    let core = ecs_core::Core::new(store.clone(), ecs_core::CoreConfig::default());
    let domain = ecs_types::identity::DEFAULT_DOMAIN_ID;
    let user =
        store.user_get_by_name(domain, &args.user).await.map_err(|e| anyhow::anyhow!("user {}: {e}", args.user))?;
    let project = store
        .project_get_by_name(domain, &args.project)
        .await
        .map_err(|e| anyhow::anyhow!("project {}: {e}", args.project))?;
    if store.roles_for(&user.id, &project.id).await?.is_empty() {
        anyhow::bail!("user {} has no role on project {}", user.name, project.name);
    }
    let credential = core.credential_insert(&user.id, &project.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("access key (AK): {}", credential.access);
    println!("secret key (SK): {}", credential.secret);
    println!("project id:      {}", project.id);
    store.close().await;
    Ok(())
}

/// `ecsd state export FILE`: never creates a database.
async fn state_export(args: StateFileArgs) -> anyhow::Result<()> {
    let db = &args.database;
    if db.database_url.is_none() && !db.data_dir.join("ecsd.sqlite").exists() {
        anyhow::bail!("no ecsd database under {} (pass --data-dir or --database-url)", db.data_dir.display());
    }
    let url = ecsd::database_url(&db.data_dir, db.database_url.as_deref()).replace("?mode=rwc", "?mode=rw");
    let store = ecs_store::Store::connect(&url).await.context("connecting to the database")?;
    if store.schema_version().await? == 0 {
        store.close().await;
        anyhow::bail!("the database has no ecsd schema: nothing to export");
    }
    let counts = ecsd::state::export(&store, &db.data_dir.join("sim"), &args.file).await;
    store.close().await;
    let counts = counts?;
    println!(
        "exported {} tables, {} rows and {} simulated guests to {}",
        counts.tables,
        counts.rows,
        counts.guests,
        args.file.display()
    );
    Ok(())
}

/// `ecsd state import FILE`: the file is read and checked whole before
/// the database is touched; a database this command created is removed
/// again when the import fails.
async fn state_import(args: StateFileArgs) -> anyhow::Result<()> {
    let db = &args.database;
    let state = ecsd::state::read(&args.file)?;
    let sqlite_file = db.database_url.is_none().then(|| db.data_dir.join("ecsd.sqlite"));
    let created = sqlite_file.as_ref().is_some_and(|f| !f.exists());
    if created {
        std::fs::create_dir_all(&db.data_dir)
            .with_context(|| format!("creating data directory {}", db.data_dir.display()))?;
    }
    let url = ecsd::database_url(&db.data_dir, db.database_url.as_deref());
    let store = ecs_store::Store::connect(&url).await.context("connecting to the database")?;
    let fresh = store.schema_version().await? == 0;
    let imported = ecsd::state::import(&store, &db.data_dir.join("sim"), &state, fresh).await;
    store.close().await;
    if let Err(e) = imported {
        if created && let Some(file) = &sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let mut name = file.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
        return Err(e);
    }
    let c = state.counts;
    println!(
        "imported {} tables, {} rows and {} simulated guests from {} (schema version {}, ecsd {})",
        c.tables,
        c.rows,
        c.guests,
        args.file.display(),
        state.header.schema_version,
        state.header.ecsd_version
    );
    Ok(())
}

/// Copies the files under the data directory (where the QEMU driver
/// boots them from) and registers them as an active image.
async fn image_import(args: ImageImportArgs) -> anyhow::Result<()> {
    use std::io::Read;
    let store = ecsd::open_existing_store(&args.database.data_dir, args.database.database_url.as_deref()).await?;
    let project = store.project_get_by_name(ecs_types::identity::DEFAULT_DOMAIN_ID, &args.project).await?;
    let id = ecs_types::random::uuid().to_string();
    let dir = args.database.data_dir.join("images");
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let mut size = 0;
    let mut copy = |from: &std::path::Path, suffix: &str| -> anyhow::Result<PathBuf> {
        let to = dir.join(format!("{id}.{suffix}"));
        size +=
            ecsd::state::copy_with_progress(from, &to).with_context(|| format!("copying {}", from.display()))? as i64;
        Ok(to)
    };
    let mut format = "raw";
    let mut boot = ecs_hypervisor::BootSource::default();
    if let Some(file) = &args.file {
        let mut magic = [0u8; 4];
        let read = std::fs::File::open(file)?.read(&mut magic)?;
        format = if read == 4 && magic == *b"QFI\xfb" { "qcow2" } else { "raw" };
        boot.disk = Some(copy(file, format)?);
    }
    if let Some(kernel) = &args.kernel {
        boot.kernel = Some(copy(kernel, "vmlinuz")?);
    }
    if let Some(initrd) = &args.initrd {
        boot.initrd = Some(copy(initrd, "initrd")?);
    }
    boot.cmdline = args.cmdline.clone();
    store
        .image_create(&ecs_types::Image {
            id: id.clone(),
            name: args.name.clone(),
            status: "active".into(),
            visibility: if args.public { "public" } else { "private" }.into(),
            owner_project_id: Some(project.id),
            disk_format: format.into(),
            container_format: "bare".into(),
            min_ram_mb: args.min_ram_mb,
            min_disk_gb: args.min_disk_gb,
            size_bytes: size,
            os_type: "Linux".into(),
            properties: boot.to_properties(),
            created_at: ecs_types::clock::now(),
        })
        .await?;
    // The disk's hashes, as Glance shows them (`checksum`, `os_hash_value`).
    if let Some(disk) = &boot.disk {
        let data = ecs_core::glance::image_file_data(disk).await.map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
        store.image_set_data(&id, "active", "active", Some(&data), &boot.to_properties()).await?;
    }
    println!("image {} ({id}): {format}, {size} bytes", args.name);
    store.close().await;
    Ok(())
}
