//! The `ecsd` program: configuration, wiring of store, core and API, the
//! first-start seed and the start-up banner. `main.rs` parses the command
//! line; integration tests start servers through [`start`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use ecs_api::{ApiConfig, AppState};
use ecs_core::seed::{DEFAULT_ADMIN_PASSWORD, DEFAULT_DEMO_PASSWORD, SeedPasswords, SeedSummary};
use ecs_core::{Core, CoreConfig};
use ecs_store::Store;
use tokio::net::TcpListener;

pub mod http;
pub mod internal;
pub mod state;
pub use http::HttpLimits;

/// Everything `ecsd serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Overrides the SQLite file under `data_dir`.
    pub database_url: Option<String>,
    pub region: String,
    pub public_url: Option<String>,
    pub admin_password: Option<String>,
    pub demo_password: Option<String>,
    /// Token lifetime, quotas and other core settings.
    pub core: CoreConfig,
    pub compute: ComputeConfig,
    /// Where the VNC console proxy listens (None: no proxy).
    pub vnc_proxy_listen: Option<SocketAddr>,
    /// Whether `core.novncproxy_base_url` was set; if not, console URLs
    /// point at the proxy.
    pub novncproxy_base_url_given: bool,
    /// [`ApiConfig::early_policy_gates`]: always on but in tests.
    pub early_policy_gates: bool,
    /// Timeouts for slow and idle clients, and the connection cap.
    pub http: HttpLimits,
    /// The internal API: hosts run by agents (`ecsd agent`).
    pub internal: Option<InternalConfig>,
    /// Deterministic mode (`--seed`): ids, MACs, passwords, keys and host
    /// choices from ChaCha streams keyed by it ([`ecs_types::random`]).
    pub random_seed: Option<u64>,
    /// Where ecsd's clock starts (`--clock-start`); None: the real time.
    pub clock_start: Option<ecs_types::Timestamp>,
}

/// How an API node works with agents.
#[derive(Debug, Clone)]
pub struct InternalConfig {
    /// Where agents' heartbeats are taken (None: this node only drives
    /// the hosts that other nodes registered).
    pub listen: Option<SocketAddr>,
    pub secret: internal::Secret,
    pub timeouts: internal::remote::Timeouts,
    /// How often the agents' hosts are read from the database to drive
    /// those another node registered.
    pub sync_interval: std::time::Duration,
}

/// The compute hosts this process runs.
#[derive(Debug, Clone)]
pub struct ComputeConfig {
    /// How many simulated hosts to run (`<prefix>-1` …).
    pub sim_hosts: u32,
    /// Names the simulated hosts; every `ecsd api` node needs its own.
    pub sim_host_prefix: String,
    /// The availability zone of the simulated hosts.
    pub availability_zone: String,
    pub host_vcpus: i64,
    pub host_ram_mb: i64,
    pub host_disk_gb: i64,
    /// Latency, injected failures and lost hosts of the simulator at start.
    pub sim: ecs_hypervisor::sim::SimSettings,
    /// A fault scenario file to load at start (`--scenario`).
    pub scenario: Option<PathBuf>,
    /// Single node: every task lease left by a previous run is this
    /// node's own and is released at start. Off for `ecsd api`, whose
    /// peers may hold live leases.
    pub single_node: bool,
    /// Real guests on this machine instead of the simulated hosts.
    pub qemu: Option<QemuSettings>,
    /// How often this process tells the others its hosts are alive
    /// (shorter than `CoreConfig::service_down_time`).
    pub heartbeat_interval: std::time::Duration,
}

/// `--hypervisor qemu`: this machine is one compute host.
#[derive(Debug, Clone)]
pub struct QemuSettings {
    /// The host's name (default: the machine's hostname).
    pub host: String,
    pub accel: ecs_hypervisor::qemu::AccelChoice,
    /// None: bridges when this process may make them, else user mode.
    pub network: Option<ecs_hypervisor::qemu::NetworkMode>,
    pub shutdown_timeout: std::time::Duration,
}

impl Default for ComputeConfig {
    fn default() -> Self {
        ComputeConfig {
            sim_hosts: 4,
            sim_host_prefix: "sim-host".into(),
            availability_zone: "nova".into(),
            host_vcpus: 64,
            host_ram_mb: 256 * 1024,
            host_disk_gb: 4096,
            sim: Default::default(),
            scenario: None,
            single_node: true,
            qemu: None,
            heartbeat_interval: std::time::Duration::from_secs(10),
        }
    }
}

/// The database to use: the given URL, or the SQLite file under `data_dir`.
pub fn database_url(data_dir: &std::path::Path, database_url: Option<&str>) -> String {
    match database_url {
        Some(url) => url.to_string(),
        None => format!("sqlite://{}?mode=rwc", data_dir.join("ecsd.sqlite").display()),
    }
}

/// Opens (creating if needed) and migrates the database.
pub async fn open_store(data_dir: &std::path::Path, database_url_given: Option<&str>) -> anyhow::Result<Store> {
    if database_url_given.is_none() {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
    }
    let url = database_url(data_dir, database_url_given);
    let store = Store::connect(&url).await.with_context(|| format!("connecting to {}", redact(&url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Opens and migrates a database that must exist already: the admin
/// subcommands work on a cloud `ecsd serve` made, and never create an
/// empty one where none was found (a mistyped --data-dir would otherwise
/// answer "user demo: not found" from a new, empty database).
pub async fn open_existing_store(
    data_dir: &std::path::Path,
    database_url_given: Option<&str>,
) -> anyhow::Result<Store> {
    let url = match database_url_given {
        Some(url) => url.to_string(),
        None => {
            let file = data_dir.join("ecsd.sqlite");
            if !file.is_file() {
                bail!("no ecsd database at {}; start `ecsd serve` first or pass --data-dir", file.display());
            }
            format!("sqlite://{}", file.display())
        }
    };
    let store = Store::connect(&url).await.with_context(|| format!("connecting to {}", redact(&url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// A URL with any password replaced, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// Where the VNC console proxy listens.
    pub vnc_addr: Option<SocketAddr>,
    pub core: Arc<Core>,
    pub seed: SeedSummary,
    /// The simulator's controls, shared by the simulated hosts.
    pub sim: ecs_hypervisor::sim::SimControl,
    /// Where the internal API (agents' heartbeats) listens.
    pub internal_addr: Option<SocketAddr>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    engine: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, finishes requests in flight, closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await??;
        // Tasks in flight are abandoned as in a crash; they resume at the next start.
        self.engine.abort();
        let _ = self.engine.await;
        self.core.close().await;
        Ok(())
    }

    /// Waits until the server stops by itself (or forever).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }
}

/// Refuses to listen beyond loopback while a seeded user still has its
/// well-known default password.
async fn check_exposure(core: &Core, config: &ServeConfig) -> anyhow::Result<()> {
    if config.listen.ip().is_loopback() {
        return Ok(());
    }
    if config.random_seed.is_some() {
        // Seeded, token secrets and generated passwords can be foretold.
        bail!("refusing to listen on {} with --seed: deterministic mode is for loopback test clouds", config.listen);
    }
    for (user, default) in [("admin", DEFAULT_ADMIN_PASSWORD), ("demo", DEFAULT_DEMO_PASSWORD)] {
        if core.identity.password_is(user, default).await? {
            bail!(
                "refusing to listen on {} while user '{user}' has its default password: \
                 pass --{user}-password (or ECSD_{}_PASSWORD)",
                config.listen,
                user.to_uppercase()
            );
        }
    }
    Ok(())
}

/// Registers this machine as a QEMU host.
async fn start_qemu(core: &Arc<Core>, config: &ServeConfig, qemu: &QemuSettings) -> anyhow::Result<()> {
    use ecs_hypervisor::qemu::{NetworkMode, QemuConfig, QemuHypervisor, detect_accel, host_capacity};
    let (accel, why) = detect_accel(qemu.accel).map_err(|e| anyhow::anyhow!(e))?;
    let network = match qemu.network {
        Some(mode) => mode,
        None => NetworkMode::detect().await,
    };
    let mut qemu_config = QemuConfig::under(&config.data_dir, &qemu.host, accel, network);
    qemu_config.shutdown_timeout = qemu.shutdown_timeout;
    let driver = QemuHypervisor::new(qemu_config).context("opening the QEMU host's directories")?;
    let (vcpus, ram_mb, disk_gb) = host_capacity(&config.data_dir);
    tracing::info!(host = %qemu.host, accelerator = %why, network = ?network, vcpus, ram_mb, disk_gb, "QEMU hypervisor");
    let registration = ecs_store::HostRegistration {
        name: qemu.host.clone(),
        driver: ecs_hypervisor::Hypervisor::kind(&driver).into(),
        availability_zone: config.compute.availability_zone.clone(),
        vcpus,
        ram_mb,
        disk_gb,
        // Nova's defaults for a real host.
        cpu_ratio: 4.0,
        ram_ratio: 1.0,
        disk_ratio: 1.0,
    };
    core.host_add(&registration, Arc::new(driver)).await?;
    Ok(())
}

/// The hypervisor an agent runs.
#[derive(Debug, Clone)]
pub enum AgentDriver {
    /// A simulated host, with the simulator's settings.
    Sim { latency: ecs_hypervisor::sim::SimSettings },
    /// Real guests on this machine.
    Qemu(QemuSettings),
}

/// Starts `ecsd agent`: its driver over `config.data_dir`, its internal
/// API and its heartbeat. A QEMU host reports the machine's capacity.
pub async fn start_agent(
    mut config: internal::agent::AgentConfig,
    driver: AgentDriver,
) -> anyhow::Result<internal::agent::RunningAgent> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let (listener, url) = internal::agent::bind(&config).await?;
    let driver: Arc<dyn ecs_hypervisor::Hypervisor> = match driver {
        AgentDriver::Sim { latency } => {
            let control = ecs_hypervisor::sim::SimControl::default();
            control.apply(&latency);
            let state_dir = config.data_dir.join("sim");
            // Guests moving here come from other agents' processes, over HTTP.
            let transfers = format!("{url}{}", internal::TRANSFERS_PREFIX.trim_end_matches('/'));
            Arc::new(
                ecs_hypervisor::sim::SimHypervisor::new(config.host.clone(), control, Some(state_dir))
                    .with_context(|| format!("opening simulated host {}", config.host))?
                    .with_transfer(transfers, config.secret.expose().to_string()),
            )
        }
        AgentDriver::Qemu(qemu) => {
            use ecs_hypervisor::qemu::{NetworkMode, QemuConfig, QemuHypervisor, detect_accel, host_capacity};
            let (accel, why) = detect_accel(qemu.accel).map_err(|e| anyhow::anyhow!(e))?;
            let network = match qemu.network {
                Some(mode) => mode,
                None => NetworkMode::detect().await,
            };
            let mut qemu_config = QemuConfig::under(&config.data_dir, &config.host, accel, network);
            qemu_config.shutdown_timeout = qemu.shutdown_timeout;
            // Other hosts reach this one where its agent is advertised: the
            // live stream and disk exports listen there, and files moving
            // here come to the agent's transfer endpoint with the secret.
            qemu_config.migration_address = internal::url_host(&url).unwrap_or("127.0.0.1").to_string();
            qemu_config.migration_bandwidth = config.migration_bandwidth;
            qemu_config.transfer_url = Some(format!("{url}{}", internal::TRANSFERS_PREFIX.trim_end_matches('/')));
            qemu_config.transfer_token = Some(config.secret.expose().to_string());
            let driver = QemuHypervisor::new(qemu_config).context("opening the QEMU host's directories")?;
            let (vcpus, ram_mb, disk_gb) = host_capacity(&config.data_dir);
            tracing::info!(host = %config.host, accelerator = %why, ?network, vcpus, ram_mb, disk_gb, "QEMU hypervisor");
            (config.report.vcpus, config.report.ram_mb, config.report.disk_gb) = (vcpus, ram_mb, disk_gb);
            Arc::new(driver)
        }
    };
    internal::agent::start(config, driver, (listener, url)).await
}

/// Registers the hosts (simulated, or this machine under QEMU), resumes
/// the tasks a previous run left and reconciles guests with servers.
async fn start_compute(core: &Arc<Core>, config: &ServeConfig) -> anyhow::Result<ecs_hypervisor::sim::SimControl> {
    let c = &config.compute;
    let sim = ecs_hypervisor::sim::SimControl::with_scenarios(core.scenarios.clone());
    sim.apply(&c.sim);
    let state_dir = config.data_dir.join("sim");
    if let Some(qemu) = &c.qemu {
        start_qemu(core, config, qemu).await?;
    }
    let sim_hosts = if c.qemu.is_some() { 0 } else { c.sim_hosts };
    for i in 1..=sim_hosts {
        let name = format!("{}-{i}", c.sim_host_prefix);
        let registration = ecs_store::HostRegistration {
            name: name.clone(),
            driver: "sim".into(),
            availability_zone: c.availability_zone.clone(),
            vcpus: c.host_vcpus,
            ram_mb: c.host_ram_mb,
            disk_gb: c.host_disk_gb,
            cpu_ratio: 4.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
        };
        let driver = ecs_hypervisor::sim::SimHypervisor::new(name.clone(), sim.clone(), Some(state_dir.clone()))
            .with_context(|| format!("opening simulated host {name}"))?;
        core.host_add(&registration, Arc::new(driver)).await?;
    }
    if c.single_node {
        let resumed = core.task_leases_release_all().await?;
        if resumed > 0 {
            tracing::info!(tasks = resumed, "resuming tasks left by the previous run");
        }
    }
    let done = core.reconcile_guests().await?;
    if done != Default::default() {
        tracing::info!(?done, "reconciled hosts with servers");
    }
    // Its copies of servers evacuated while it was down are gone now.
    for host in core.local_hosts() {
        core.evacuations_complete(&host).await?;
    }
    Ok(sim)
}

/// Opens the database, seeds it, applies password settings and starts
/// serving. Returns once the listener is bound.
pub async fn start(config: ServeConfig) -> anyhow::Result<Running> {
    // Before anything draws an id or reads the time (the first-start seed
    // included): one service per process, and each start begins afresh.
    ecs_types::random::reseed(config.random_seed);
    ecs_types::clock::reset(config.clock_start);
    let store = open_store(&config.data_dir, config.database_url.as_deref()).await?;
    let vnc_listener = match config.vnc_proxy_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| {
            format!("binding the VNC console proxy on {addr} (pass --vnc-proxy-listen ADDR, or off)")
        })?),
        None => None,
    };
    let vnc_addr = vnc_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let mut core_config = config.core.clone();
    if core_config.images_dir.is_none() {
        core_config.images_dir = Some(config.data_dir.join("images"));
    }
    if let Some(addr) = vnc_addr
        && !config.novncproxy_base_url_given
    {
        core_config.novncproxy_base_url = format!("http://{}/vnc_auto.html", reachable(addr));
    }
    // No proxy and no proxy URL: a console URL would lead nowhere.
    if vnc_addr.is_none() && !config.novncproxy_base_url_given {
        core_config.vnc_console = false;
    }
    // Deterministic mode runs one task at a time, in the order they were
    // queued: the builds of a multi-server create then draw their ids,
    // MACs, addresses and hosts in the same order in every run.
    if config.random_seed.is_some() {
        core_config.engine.concurrency = 1;
    }
    let core = Core::new(store, core_config);
    let passwords = SeedPasswords {
        admin: config.admin_password.clone().unwrap_or_else(|| DEFAULT_ADMIN_PASSWORD.into()),
        demo: config.demo_password.clone().unwrap_or_else(|| DEFAULT_DEMO_PASSWORD.into()),
    };
    let seed = core.seed(&passwords).await.context("seeding")?;
    // Passwords given on a later start replace the stored ones.
    for (name, given) in [("admin", &config.admin_password), ("demo", &config.demo_password)] {
        if let Some(password) = given
            && !core.identity.password_is(name, password).await?
        {
            core.identity.set_password_by_name(name, password).await?;
        }
    }
    check_exposure(&core, &config).await?;
    let sim = start_compute(&core, &config).await?;

    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState {
        core: core.clone(),
        config: Arc::new(ApiConfig {
            region: config.region.clone(),
            public_url: config.public_url.clone(),
            early_policy_gates: config.early_policy_gates,
        }),
        sim: Some(sim.clone()),
    };
    if let Some(path) = &config.compute.scenario {
        ecs_api::admin::scenario::load_file(&state, path).await.map_err(|e| anyhow::anyhow!("fault scenario {e}"))?;
    }
    let (shutdown, _) = tokio::sync::watch::channel(false);
    if let Some(listener) = vnc_listener {
        let proxy = ecs_api::vnc_proxy::router(state.clone());
        let mut stopped = shutdown.subscribe();
        tokio::spawn(async move {
            let served = axum::serve(listener, proxy)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "the VNC console proxy stopped");
            }
        });
    }
    let service = ecs_api::service(state);
    let mut engine_stop = shutdown.subscribe();
    let engine = tokio::spawn(ecs_core::compute::engine::run(core.clone(), async move {
        let _ = engine_stop.wait_for(|s| *s).await;
    }));
    let task = tokio::spawn(http::serve(listener, service, config.http.clone(), shutdown.subscribe()));
    let internal_addr = match &config.internal {
        Some(internal) => start_internal(&core, internal, &shutdown).await?,
        None => None,
    };

    // The hosts this process drives are alive while it is: say so, so
    // that every node sees them up (and, when this process dies, down).
    // A simulated host the simulator has lost does not beat.
    let beating = core.clone();
    let lost = sim.clone();
    let interval = config.compute.heartbeat_interval;
    let mut stopped = shutdown.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            if let Err(e) = beating.heartbeat_local_hosts(&lost.hosts_down()).await {
                tracing::warn!(error = %e, "host heartbeat failed");
            }
        }
    });

    // Real guests power off or die by themselves: their servers follow,
    // as Nova's periodic power-state sync makes them.
    if config.compute.qemu.is_some() {
        let reconciler = core.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = reconciler.reconcile_guests().await {
                    tracing::warn!(error = %e, "reconciling guests failed");
                }
            }
        });
    }

    // Deferred states: soft-deleted servers are reclaimed and shelved
    // ones offloaded once their time is up (Nova's periodic tasks), each
    // through a task of the engine.
    let deferred = core.clone();
    let reclaim = deferred.config.reclaim_instance_interval;
    let offload = deferred.config.shelved_offload_time;
    // (Always: the ECS recycle bin and auto-terminate times are per project
    // and per server, not settings of the process.)
    {
        let mut period = std::time::Duration::from_secs(60);
        if !reclaim.is_zero() {
            period = period.min(reclaim);
        }
        if offload > 0 {
            period = period.min(std::time::Duration::from_secs(offload as u64));
        }
        let mut stopped = shutdown.subscribe();
        // An admin advance of the clock runs them at once.
        let mut advanced = ecs_types::clock::subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period.max(std::time::Duration::from_secs(1)));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = advanced.changed() => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
                match deferred.run_deferred().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(queued = n, "deferred deletes and offloads queued"),
                    Err(e) => tracing::warn!(error = %e, "deferred deletes and offloads failed"),
                }
            }
        });
    }

    // Expired tokens are of no use to anyone: drop them hourly.
    let janitor = core.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match janitor.identity.purge_expired_tokens().await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired tokens purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "token purge failed"),
            }
        }
    });

    Ok(Running { addr, vnc_addr, core, seed, sim, internal_addr, shutdown, task, engine })
}

/// Drives the agents' hosts and, given a listener, takes agents'
/// heartbeats on it. Returns where it listens.
async fn start_internal(
    core: &Arc<Core>,
    config: &InternalConfig,
    shutdown: &tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<Option<SocketAddr>> {
    let connector: Arc<dyn ecs_core::compute::agents::Connector> =
        Arc::new(internal::remote::RemoteConnector::new(config.secret.clone(), config.timeouts)?);
    // Hosts another node registered are driven here too: any node may
    // claim any task, and runs its host steps through the host's agent.
    let syncing = core.clone();
    let sync_connector = connector.clone();
    let period = config.sync_interval;
    let mut stopped = shutdown.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            match syncing.sync_remote_drivers(sync_connector.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(changed = n, "drivers of agents' hosts updated"),
                Err(e) => tracing::warn!(error = %e, "reading the agents' hosts failed"),
            }
        }
    });
    // Agents' guests power off or die by themselves too: their servers
    // follow (Nova's power-state sync), and leaked guests go.
    let reconciler = core.clone();
    let mut stopped = shutdown.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            if let Err(e) = reconciler.reconcile_guests().await {
                tracing::warn!(error = %e, "reconciling guests failed");
            }
        }
    });
    let Some(addr) = config.listen else { return Ok(None) };
    let listener = TcpListener::bind(addr).await.with_context(|| format!("binding the internal API on {addr}"))?;
    let bound = listener.local_addr()?;
    let state = internal::control::ControlState { core: core.clone(), connector };
    let router = internal::authenticated(internal::control::router(state), config.secret.clone());
    let stopped = shutdown.subscribe();
    tokio::spawn(async move {
        if let Err(e) = internal::serve(listener, router, stopped).await {
            tracing::warn!(error = %e, "the internal API stopped");
        }
    });
    tracing::info!(addr = %bound, "internal API (agents) listening");
    Ok(Some(bound))
}

/// An address to reach a listener at: loopback for a wildcard one.
fn reachable(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("127.0.0.1:{}", addr.port()) } else { addr.to_string() }
}

/// What a first-time user needs to see: where, who, and a clouds.yaml.
pub fn banner(running: &Running, config: &ServeConfig) -> String {
    let host = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let ip = if running.addr.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                running.addr.ip().to_string()
            };
            format!("http://{ip}:{}", running.addr.port())
        }
    };
    let admin_password = config.admin_password.as_deref().unwrap_or(DEFAULT_ADMIN_PASSWORD);
    let demo_password = config.demo_password.as_deref().unwrap_or(DEFAULT_DEMO_PASSWORD);
    let seed = &running.seed;
    format!(
        "ecsd is serving on {host}\n\
         \n  identity (Keystone v3): {host}/identity/v3   (also {host}/v3)\
         \n  compute  (Nova):        {host}/v2.1\
         \n  web console:            {host}/console/\
         \n  OpenAPI (ECS, admin):   {host}/openapi.json   (admin APIs under {host}/admin/v1)\
         \n  health:                 {host}/healthz, {host}/readyz{metrics}\
         \n  database:               {db}\
         \n  hypervisor:             {hypervisor}\
         \n  VNC console proxy:      {vnc}{internal}{deterministic}\
         \n\n  admin:  user 'admin' / password '{admin_password}' / project 'admin' ({admin_pid})\
         \n  member: user 'demo'  / password '{demo_password}' / project 'demo'  ({demo_pid})\
         \n  image:   {image}\
         \n  network: {network}\
         \n  floating IP pool: {pool}\
         \n\nclouds.yaml entry:\n\
         \nclouds:\
         \n  ecsd:\
         \n    auth:\
         \n      auth_url: {host}/identity/v3\
         \n      username: admin\
         \n      password: {admin_password}\
         \n      project_name: admin\
         \n      user_domain_name: Default\
         \n      project_domain_name: Default\
         \n    region_name: {region}\
         \n    identity_api_version: 3\
         \n\nthen: OS_CLOUD=ecsd openstack flavor list\n",
        metrics = if config.core.metrics { format!("   metrics: {host}/metrics") } else { String::new() },
        db = redact(&database_url(&config.data_dir, config.database_url.as_deref())),
        admin_pid = seed.admin_project.id,
        demo_pid = seed.demo_project.id,
        image = seed.image_id.as_deref().unwrap_or("-"),
        network = seed.network_id.as_deref().unwrap_or("-"),
        pool = seed.external_network.as_ref().map(|n| format!("{} ({})", n.name, n.id)).unwrap_or_else(|| "-".into()),
        region = config.region,
        hypervisor = match &config.compute.qemu {
            Some(q) => format!("QEMU on host {} (accelerator in the log; os-hypervisors)", q.host),
            None => format!("{} simulated hosts", config.compute.sim_hosts),
        },
        vnc = running.vnc_addr.map(|a| format!("ws://{}/?token=…", reachable(a))).unwrap_or_else(|| "off".into()),
        internal = running
            .internal_addr
            .map(|a| format!("\n  internal API (agents):  http://{} (HTTP/2)", reachable(a)))
            .unwrap_or_default(),
        deterministic = config
            .random_seed
            .map(|n| {
                format!(
                    "\n  deterministic mode:     seed {n}, clock at {} ({host}/admin/v1/clock)",
                    ecs_types::clock::rfc3339(ecs_types::clock::now())
                )
            })
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("sqlite://x?mode=rwc"), "sqlite://x?mode=rwc");
    }
}
